"""The update messages ``syncsvc updates`` drafts: who helped and what happened since, and
the drafts themselves (``update_drafts``, each (person, kind, key) once). Plain reads and
writes; the rules and the wording live in ``syncsvc/updates.py``."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import date

from syncsvc.store.people import utcnow_iso


@dataclass(frozen=True)
class Helper:
    """Someone who helped: gave a referral or an offer on a call, first on ``since``."""

    person_id: int
    name: str
    email: str | None
    since: date


@dataclass(frozen=True)
class Referred:
    """Someone ``helper`` referred, and how far it went."""

    name: str
    reached: bool  # a call to them is done
    wins: tuple[str, ...]


@dataclass(frozen=True)
class Since:
    """What happened from a day on: calls done, people referred, wins."""

    calls_done: int
    referrals: int
    wins: tuple[str, ...]


@dataclass(frozen=True)
class Draft:
    id: int
    person_id: int
    name: str
    kind: str  # win | news
    key: str
    email: str | None
    subject: str
    body: str
    path: str | None
    created_at: str
    sent_at: str | None

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "person": {"id": self.person_id, "name": self.name},
            "kind": self.kind,
            "to": self.email,
            "subject": self.subject,
            "body": self.body,
            "path": self.path,
            "created_at": self.created_at,
            "sent_at": self.sent_at,
        }


def first_email(conn: sqlite3.Connection, person_id: int) -> str | None:
    row = conn.execute(
        "SELECT value FROM addresses WHERE person_id = ? AND kind = 'email' "
        "ORDER BY position, rowid LIMIT 1",
        (person_id,),
    ).fetchone()
    return row[0] if row else None


def person_name(conn: sqlite3.Connection, person_id: int) -> str | None:
    row = conn.execute("SELECT name FROM people WHERE id = ?", (person_id,)).fetchone()
    return row[0] if row else None


def may_write_to(conn: sqlite3.Connection, person_id: int) -> bool:
    """Not someone who asked not to be contacted (paused 'stop' or 'never')."""
    row = conn.execute("SELECT paused FROM people WHERE id = ?", (person_id,)).fetchone()
    return row is not None and row[0] not in ("stop", "never")


def helpers(conn: sqlite3.Connection) -> list[Helper]:
    """Everyone who gave a referral or an offer on a call, with the day they first did."""
    rows = conn.execute(
        """SELECT h.person_id, p.name, min(h.day) FROM (
             SELECT c.person_id, c.day FROM referrals r JOIN calls c ON c.id = r.call_id
             UNION ALL
             SELECT o.person_id, c.day FROM offers o JOIN calls c ON c.id = o.call_id
           ) h JOIN people p ON p.id = h.person_id
           WHERE p.paused IS NULL OR p.paused NOT IN ('stop', 'never')
           GROUP BY h.person_id ORDER BY min(h.day), h.person_id"""
    ).fetchall()
    return [Helper(r[0], r[1], first_email(conn, r[0]), date.fromisoformat(r[2])) for r in rows]


def referred_by(conn: sqlite3.Connection, person_id: int) -> list[Referred]:
    """The people ``person_id`` referred, oldest first, and how far each went."""
    rows = conn.execute(
        """SELECT p.id, p.name,
                  EXISTS (SELECT 1 FROM calls c WHERE c.person_id = p.id AND c.outcome = 'done')
           FROM people p WHERE p.referred_by = ? AND p.id != ? ORDER BY p.added_at, p.id""",
        (person_id, person_id),
    ).fetchall()
    out = []
    for pid, name, reached in rows:
        wins = tuple(
            r[0]
            for r in conn.execute(
                "SELECT w.text FROM wins w JOIN calls c ON c.id = w.call_id "
                "WHERE c.person_id = ? ORDER BY c.day, w.rowid",
                (pid,),
            )
        )
        out.append(Referred(name, bool(reached), wins))
    return out


def since(conn: sqlite3.Connection, day: date) -> Since:
    """Calls done, referrals noted and wins recorded on calls after ``day``."""
    first = day.isoformat()
    done = conn.execute(
        "SELECT count(*) FROM calls WHERE outcome = 'done' AND day > ?", (first,)
    ).fetchone()[0]
    referrals = conn.execute(
        "SELECT count(*) FROM referrals r JOIN calls c ON c.id = r.call_id WHERE c.day > ?",
        (first,),
    ).fetchone()[0]
    wins = tuple(
        r[0]
        for r in conn.execute(
            "SELECT w.text FROM wins w JOIN calls c ON c.id = w.call_id WHERE c.day > ? "
            "ORDER BY c.day, w.rowid",
            (first,),
        )
    )
    return Since(int(done), int(referrals), wins)


def last_drafted(conn: sqlite3.Connection, person_id: int) -> str | None:
    """When the newest draft to this person was made (UTC ISO), None if never."""
    row = conn.execute(
        "SELECT max(created_at) FROM update_drafts WHERE person_id = ?", (person_id,)
    ).fetchone()
    return row[0] if row else None


def exists(conn: sqlite3.Connection, person_id: int, kind: str, key: str) -> bool:
    row = conn.execute(
        "SELECT 1 FROM update_drafts WHERE person_id = ? AND kind = ? AND key = ?",
        (person_id, kind, key),
    ).fetchone()
    return row is not None


def insert(
    conn: sqlite3.Connection,
    *,
    person_id: int,
    kind: str,
    key: str,
    email: str | None,
    subject: str,
    body: str,
    created_at: str | None = None,
) -> int:
    """A new draft; returns its id."""
    cur = conn.execute(
        "INSERT INTO update_drafts(person_id, kind, key, email, subject, body, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (person_id, kind, key, email, subject, body, created_at or utcnow_iso()),
    )
    return int(cur.lastrowid or 0)


def set_path(conn: sqlite3.Connection, draft_id: int, path: str) -> None:
    conn.execute("UPDATE update_drafts SET path = ? WHERE id = ?", (path, draft_id))


_DRAFT_SQL = (
    "SELECT d.id, d.person_id, p.name, d.kind, d.key, d.email, d.subject, d.body, d.path, "
    "d.created_at, d.sent_at FROM update_drafts d JOIN people p ON p.id = d.person_id"
)


def _draft(r: sqlite3.Row) -> Draft:
    return Draft(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10])


def get(conn: sqlite3.Connection, draft_id: int) -> Draft | None:
    row = conn.execute(_DRAFT_SQL + " WHERE d.id = ?", (draft_id,)).fetchone()
    return _draft(row) if row else None


def pending(conn: sqlite3.Connection) -> list[Draft]:
    """Drafts not marked sent, oldest first."""
    return [_draft(r) for r in conn.execute(_DRAFT_SQL + " WHERE d.sent_at IS NULL ORDER BY d.id")]


def mark_sent(conn: sqlite3.Connection, draft_id: int, at: str) -> bool:
    """Mark a draft sent; False if it was already."""
    cur = conn.execute(
        "UPDATE update_drafts SET sent_at = ? WHERE id = ? AND sent_at IS NULL", (at, draft_id)
    )
    return cur.rowcount == 1
