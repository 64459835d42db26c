"""`merge --undo`: before a merge, every row of both people and every row that names them is
kept (table ``merges``, migration V8); an undo drops the merged person and puts those rows
back, so both are exactly as they were. Rows are copied generically (``SELECT *``), so a column
added later is kept too; whatever ``people.merge`` does to them, the undo restores them."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from typing import Any

from syncsvc.store.people import utcnow_iso

_PEOPLE = ":a, :b"
_CALLS = "SELECT id FROM calls WHERE person_id IN (:a, :b)"
# every table with rows about a person, and which of its rows those are (parents first: the
# order they are put back in)
_ROWS = (
    ("people", f"id IN ({_PEOPLE})"),
    ("addresses", f"person_id IN ({_PEOPLE})"),
    ("source_ids", f"person_id IN ({_PEOPLE})"),
    ("calls", f"person_id IN ({_PEOPLE})"),
    ("referrals", f"person_id IN ({_PEOPLE}) OR call_id IN ({_CALLS})"),
    ("offers", f"person_id IN ({_PEOPLE}) OR call_id IN ({_CALLS})"),
    ("wins", f"call_id IN ({_CALLS})"),
    ("updates", f"person_id IN ({_PEOPLE}) OR win_call IN ({_CALLS}) OR call_id IN ({_CALLS})"),
    ("calendar_events", f"call_id IN ({_CALLS})"),
)


@dataclass
class Merge:
    id: int
    keep: int
    other: int
    at: str


def snapshot(conn: sqlite3.Connection, keep: int, other: int) -> dict[str, Any]:
    """Every row of ``keep`` and ``other`` and every row naming them, as they are now."""
    ids = {"a": keep, "b": other}
    rows = {
        table: [dict(r) for r in conn.execute(f"SELECT * FROM {table} WHERE {where}", ids)]
        for table, where in _ROWS
    }
    referred = {
        str(person_id): [
            r[0] for r in conn.execute("SELECT id FROM people WHERE referred_by = ?", (person_id,))
        ]
        for person_id in (keep, other)
    }
    return {"rows": rows, "referred_by": referred}


def _fingerprint(conn: sqlite3.Connection, keep: int) -> str:
    """What has to be unchanged for an undo to lose nothing: keep's calls and their notes."""
    return json.dumps(
        [
            list(r)
            for r in conn.execute(
                "SELECT id, outcome, notes_hash, day FROM calls WHERE person_id = ? ORDER BY id",
                (keep,),
            )
        ]
    )


def record(conn: sqlite3.Connection, keep: int, other: int, before: dict[str, Any]) -> int:
    """Remember a merge just done (``before``: its ``snapshot``). Its id."""
    cur = conn.execute(
        "INSERT INTO merges(keep, other, at, snapshot, after) VALUES (?, ?, ?, ?, ?)",
        (keep, other, utcnow_iso(), json.dumps(before), _fingerprint(conn, keep)),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


def last(conn: sqlite3.Connection) -> Merge | None:
    row = conn.execute("SELECT id, keep, other, at FROM merges ORDER BY id DESC LIMIT 1").fetchone()
    return Merge(*row) if row else None


def undo_blocker(conn: sqlite3.Connection, merge: Merge) -> str | None:
    """Why the last merge cannot be undone exactly, or None."""
    if conn.execute("SELECT 1 FROM people WHERE id = ?", (merge.keep,)).fetchone() is None:
        return f"person {merge.keep} was removed since"
    if conn.execute("SELECT 1 FROM people WHERE id = ?", (merge.other,)).fetchone():
        return f"the id {merge.other} belongs to someone added since"
    row = conn.execute("SELECT after FROM merges WHERE id = ?", (merge.id,)).fetchone()
    if row[0] != _fingerprint(conn, merge.keep):
        return "their calls changed since (planned, or notes read); undoing would lose that"
    return None


def undo(conn: sqlite3.Connection, merge: Merge) -> None:
    """Put both people back as they were before ``merge`` (the caller checked
    ``undo_blocker``); the merge is forgotten. Run inside a transaction."""
    row = conn.execute("SELECT snapshot FROM merges WHERE id = ?", (merge.id,)).fetchone()
    before = json.loads(row[0])
    referred_now = [
        r[0] for r in conn.execute("SELECT id FROM people WHERE referred_by = ?", (merge.keep,))
    ]
    conn.execute("PRAGMA defer_foreign_keys = ON")  # calls name calls; checked at commit
    # the merged person goes with everything cascading from them, then all comes back
    conn.execute("DELETE FROM people WHERE id = ?", (merge.keep,))
    for table, _ in _ROWS:
        for values in before["rows"][table]:
            columns = list(values)
            conn.execute(
                f"INSERT OR REPLACE INTO {table}({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))})",
                [values[c] for c in columns],
            )
    of_other = set(before["referred_by"][str(merge.other)])
    for person_id in set(referred_now) | set(before["referred_by"][str(merge.keep)]):
        if person_id not in of_other:
            conn.execute("UPDATE people SET referred_by = ? WHERE id = ?", (merge.keep, person_id))
    for person_id in of_other:
        conn.execute("UPDATE people SET referred_by = ? WHERE id = ?", (merge.other, person_id))
    conn.execute("DELETE FROM merges WHERE id = ?", (merge.id,))
