"""Queries on the name list: people, their addresses and source ids, and the topic."""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any


def utcnow_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class Person:
    id: int
    name: str
    org: str | None
    title: str | None
    note: str | None
    categories: list[str]
    source: str
    source_detail: str | None
    referred_by: int | None
    referred_by_name: str | None
    added_at: str
    last_contacted: str | None
    removed_at_source: str | None
    emails: list[str] = field(default_factory=list)
    phones: list[tuple[str, str]] = field(default_factory=list)  # (as written, normalised)
    urls: list[str] = field(default_factory=list)
    paused: str | None = None  # out of every lane: 'never' | 'stop' | 'wrong_number'


_PERSON_SQL = """
SELECT p.*, r.name AS referred_by_name FROM people p
LEFT JOIN people r ON r.id = p.referred_by
"""


def _person(conn: sqlite3.Connection, row: sqlite3.Row) -> Person:
    p = Person(
        id=row["id"],
        name=row["name"],
        org=row["org"],
        title=row["title"],
        note=row["note"],
        categories=[c for c in row["categories"].split(",") if c],
        source=row["source"],
        source_detail=row["source_detail"],
        referred_by=row["referred_by"],
        referred_by_name=row["referred_by_name"],
        added_at=row["added_at"],
        last_contacted=row["last_contacted"],
        removed_at_source=row["removed_at_source"],
        paused=row["paused"],
    )
    for a in conn.execute(
        "SELECT kind, value, norm FROM addresses WHERE person_id = ? ORDER BY position, rowid",
        (p.id,),
    ):
        if a["kind"] == "email":
            p.emails.append(a["value"])
        elif a["kind"] == "phone":
            p.phones.append((a["value"], a["norm"]))
        else:
            p.urls.append(a["value"])
    return p


def get(conn: sqlite3.Connection, person_id: int) -> Person | None:
    row = conn.execute(_PERSON_SQL + " WHERE p.id = ?", (person_id,)).fetchone()
    return _person(conn, row) if row else None


def _search_sql(search: str | None) -> tuple[str, dict[str, str]]:
    """The WHERE of a ``--search``: name, org, title, note, email or phone contain the text
    (case-insensitive; the name also without regard to accents)."""
    if not search:
        return "", {}
    like = f"%{_like_escape(search.strip())}%"
    return (
        r""" WHERE p.name LIKE :q ESCAPE '\' OR fold(p.name) LIKE fold(:q) ESCAPE '\'
              OR p.org LIKE :q ESCAPE '\' OR p.title LIKE :q ESCAPE '\'
              OR p.note LIKE :q ESCAPE '\'
              OR EXISTS (SELECT 1 FROM addresses a WHERE a.person_id = p.id
                         AND (a.value LIKE :q ESCAPE '\' OR a.norm LIKE :q ESCAPE '\'))""",
        {"q": like},
    )


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _limit_sql(limit: int | None) -> str:
    return f" LIMIT {int(limit)}" if limit is not None else ""


# names as a person expects them sorted: Émilie next to Emma, not after Zoë (db.fold)
_BY_NAME = " ORDER BY fold(p.name), p.name, p.id"


def iter_people(
    conn: sqlite3.Connection, search: str | None = None, limit: int | None = None
) -> Iterator[Person]:
    """Everyone, by name; ``search`` matches name, org, email or phone (case-insensitive)."""
    where, params = _search_sql(search)
    rows = conn.execute(_PERSON_SQL + where + _BY_NAME + _limit_sql(limit), params)
    for row in rows:
        yield _person(conn, row)


@dataclass
class ListRow:
    """One line of the name list as `syncsvc people` shows it (one query for all of them)."""

    id: int
    name: str
    email: str | None
    phone: str | None
    org: str | None
    last_contacted: str | None
    next_call: str | None
    referred_by: str | None


def list_rows(
    conn: sqlite3.Connection, search: str | None = None, limit: int | None = None
) -> Iterator[ListRow]:
    """The name list's lines, by name, streamed: one query, not one per person (20,000
    people print into a pipe in a fraction of a second)."""
    where, params = _search_sql(search)
    sql = (
        """SELECT p.id, p.name,
             (SELECT value FROM addresses a WHERE a.person_id = p.id AND a.kind = 'email'
              ORDER BY position, rowid LIMIT 1),
             (SELECT value FROM addresses a WHERE a.person_id = p.id AND a.kind = 'phone'
              ORDER BY position, rowid LIMIT 1),
             p.org, p.last_contacted,
             (SELECT day FROM calls c WHERE c.person_id = p.id AND c.outcome = 'planned'),
             r.name
           FROM people p LEFT JOIN people r ON r.id = p.referred_by"""
        + where
        + _BY_NAME
        + _limit_sql(limit)
    )
    for row in conn.execute(sql, params):
        yield ListRow(*row)


def count(conn: sqlite3.Connection) -> int:
    return conn.execute("SELECT count(*) FROM people").fetchone()[0]


def find(conn: sqlite3.Connection, text: str, phone_norm: str | None = None) -> list[Person]:
    """People a user means by ``text`` (PERSON on the command line): an id, an email, a
    phone (``phone_norm``: the text normalised as a phone, by the caller who knows the
    region), or a name without regard to case or accents. The best kind of match wins: a
    whole name over the start of a name over the start of a word in it (``emilie`` finds
    Émilie Durand, ``durand`` too) over the start of an email. Several people: all of them,
    for the caller to list."""
    text = text.strip()
    if not text:
        return []
    if text.isdigit() and (p := get(conn, int(text))):
        return [p]
    ids = [
        r[0]
        for r in conn.execute(
            "SELECT person_id FROM addresses WHERE (kind = 'email' AND norm = lower(?)) "
            "OR (kind = 'phone' AND norm = ?) OR value = ?",
            (text, phone_norm or text, text),
        )
    ]
    if not ids:
        prefix = _like_escape(text) + "%"
        for sql, arg in (
            ("fold(name) = fold(?)", text),
            (r"fold(name) LIKE fold(?) ESCAPE '\'", prefix),
            (r"fold(name) LIKE '% ' || fold(?) ESCAPE '\'", prefix),
        ):
            ids = [r[0] for r in conn.execute(f"SELECT id FROM people WHERE {sql}", (arg,))]
            if ids:
                break
        else:  # the start of an email
            ids = [
                r[0]
                for r in conn.execute(
                    r"SELECT person_id FROM addresses WHERE kind = 'email' "
                    r"AND norm LIKE lower(?) ESCAPE '\'",
                    (prefix,),
                )
            ]
    return [p for i in sorted(set(ids)) if (p := get(conn, i))]


class Owners:
    """Who has which address: the lowest person id per (kind, normalised address).

    The matching rule lives here once (``first``). ``match`` fills one for a single card;
    the import fills one per block of cards and notes its own additions as it goes
    (contacts/merge.py: Merger), which is what makes a block cost one query per kind."""

    __slots__ = ("_ids",)

    def __init__(self) -> None:
        self._ids: dict[tuple[str, str], int] = {}

    def load(self, conn: sqlite3.Connection, kind: str, norms: Iterable[str]) -> None:
        """Read who has these addresses (in chunks under SQLite's limit on parameters)."""
        for chunk in _chunks(list(set(norms))):
            marks = ", ".join("?" * len(chunk))
            for norm, person_id in conn.execute(
                "SELECT norm, min(person_id) FROM addresses "
                f"WHERE kind = ? AND norm IN ({marks}) GROUP BY norm",
                [kind, *chunk],
            ):
                self.note(kind, norm, person_id)

    def note(self, kind: str, norm: str, person_id: int) -> None:
        """This person has this address (the lower id stays the owner)."""
        current = self._ids.get((kind, norm))
        if current is None or person_id < current:
            self._ids[(kind, norm)] = person_id

    def clear(self) -> None:
        self._ids.clear()

    def first(self, emails: Iterable[str], phones: Iterable[str]) -> int | None:
        """The matching rule: the person with the first of these emails, else of these
        phones (normalised, in the card's order) that someone has; the lowest id if several
        have it."""
        ids = self._ids
        for kind, norms in (("email", emails), ("phone", phones)):
            for norm in norms:
                found = ids.get((kind, norm))
                if found is not None:
                    return found
        return None


def match(
    conn: sqlite3.Connection,
    *,
    emails: Iterable[str] = (),
    phones: Iterable[str] = (),
) -> int | None:
    """The person with one of these emails, else phones (normalised): ``Owners.first``."""
    emails, phones = list(emails), list(phones)
    owners = Owners()
    owners.load(conn, "email", emails)
    owners.load(conn, "phone", phones)
    return owners.first(emails, phones)


def known_source_ids(
    conn: sqlite3.Connection, source: str, ext_ids: Iterable[str]
) -> dict[str, tuple[int, str | None]]:
    """(person id, hash of the card last imported) of each of these ids at ``source`` that
    is known; one query per 500 ids."""
    out: dict[str, tuple[int, str | None]] = {}
    for chunk in _chunks(list(set(ext_ids))):
        marks = ", ".join("?" * len(chunk))
        for ext_id, person_id, card_hash in conn.execute(
            "SELECT ext_id, person_id, card_hash FROM source_ids "
            f"WHERE source = ? AND ext_id IN ({marks})",
            [source, *chunk],
        ):
            out[ext_id] = (person_id, card_hash)
    return out


def next_id(conn: sqlite3.Connection) -> int:
    """The id SQLite gives the next person added (``people.id`` is a plain rowid), so a
    caller can add several at once with ``insert_rows``."""
    return 1 + int(conn.execute("SELECT coalesce(max(id), 0) FROM people").fetchone()[0])


def _chunks(values: list[str], size: int = 500) -> Iterator[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


_INSERT_PERSON = """
INSERT INTO people(id, name, org, title, note, categories, source, source_detail, referred_by,
                   added_at, shuffle)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
"""


def new_row(
    *,
    name: str,
    source: str,
    source_detail: str | None = None,
    org: str | None = None,
    title: str | None = None,
    note: str | None = None,
    categories: Iterable[str] = (),
    referred_by: int | None = None,
) -> tuple[object, ...]:
    """A new person's columns after ``id``, for ``add`` or ``insert_rows``."""
    return (
        name,
        org,
        title,
        note,
        ",".join(c.replace(",", " ") for c in categories),
        source,
        source_detail,
        referred_by,
        utcnow_iso(),
        random.getrandbits(62),
    )


def add(conn: sqlite3.Connection, **fields: Any) -> int:
    """Add one person (the keywords of ``new_row``); their id."""
    cur = conn.execute(_INSERT_PERSON, (None, *new_row(**fields)))
    assert cur.lastrowid is not None
    return cur.lastrowid


def insert_rows(conn: sqlite3.Connection, rows: Iterable[tuple[object, ...]]) -> None:
    """Add people whose ids are chosen by the caller: ``(id, *new_row(...))`` each."""
    conn.executemany(_INSERT_PERSON, rows)


def insert_addresses(conn: sqlite3.Connection, rows: Iterable[tuple[object, ...]]) -> None:
    """Add addresses, ``(person_id, kind, value, norm, position)`` each; one a person has
    already is left as it is."""
    conn.executemany(
        "INSERT OR IGNORE INTO addresses(person_id, kind, value, norm, position) "
        "VALUES (?, ?, ?, ?, ?)",
        rows,
    )


def insert_source_ids(conn: sqlite3.Connection, rows: Iterable[tuple[object, ...]]) -> None:
    """Add source ids, ``(source, ext_id, person_id, card_hash)`` each; a known one is left
    as it is."""
    conn.executemany(
        "INSERT OR IGNORE INTO source_ids(source, ext_id, person_id, card_hash) "
        "VALUES (?, ?, ?, ?)",
        rows,
    )


def add_address(
    conn: sqlite3.Connection,
    person_id: int,
    kind: str,
    value: str,
    norm: str,
    position: int | None = None,
) -> bool:
    """Add an email/phone/url unless the person has it already. True if added.
    ``position``: its place in the person's list (default: after the ones they have).

    Every address a KNOWN person gains comes through here (an import's update, ``add``, a
    referral line naming them; a new person's go through ``insert_addresses``), so this is
    where a new phone or email lifts a ``wrong_number`` pause: there is a new way to reach
    them."""
    if not norm:
        return False
    if position is None:
        position = conn.execute(
            "SELECT count(*) FROM addresses WHERE person_id = ? AND kind = ?", (person_id, kind)
        ).fetchone()[0]
    cur = conn.execute(
        "INSERT OR IGNORE INTO addresses(person_id, kind, value, norm, position) "
        "VALUES (?, ?, ?, ?, ?)",
        (person_id, kind, value, norm, position),
    )
    added = cur.rowcount > 0
    if added and kind in ("email", "phone"):
        conn.execute(
            "UPDATE people SET paused = NULL WHERE id = ? AND paused = 'wrong_number'",
            (person_id,),
        )
    return added


def add_source_id(
    conn: sqlite3.Connection,
    source: str,
    ext_id: str,
    person_id: int,
    card_hash: str | None = None,
) -> bool:
    """Record that ``ext_id`` at ``source`` is this person (and the hash of the card last
    imported from it). True if the source id is new."""
    cur = conn.execute(
        "INSERT OR IGNORE INTO source_ids(source, ext_id, person_id, card_hash) "
        "VALUES (?, ?, ?, ?)",
        (source, ext_id, person_id, card_hash),
    )
    if cur.rowcount > 0:
        return True
    if card_hash is not None:
        conn.execute(
            "UPDATE source_ids SET card_hash = ? WHERE source = ? AND ext_id = ? "
            "AND card_hash IS NOT ?",
            (card_hash, source, ext_id, card_hash),
        )
    return False


def update_fields(conn: sqlite3.Connection, person_id: int, **fields: str | None) -> bool:
    """Set the given non-empty fields where they differ. True if anything changed."""
    row = conn.execute("SELECT * FROM people WHERE id = ?", (person_id,)).fetchone()
    changes = {k: v for k, v in fields.items() if v and row[k] != v}
    if not changes:
        return False
    assignments = ", ".join(f"{k} = :{k}" for k in changes)
    conn.execute(f"UPDATE people SET {assignments} WHERE id = :id", {**changes, "id": person_id})
    return True


def better_name(conn: sqlite3.Connection, person_id: int, name: str) -> bool:
    """Replace a stand-in name (an email or phone) by a real one from a later card. True if
    the name changed."""
    row = conn.execute("SELECT name FROM people WHERE id = ?", (person_id,)).fetchone()
    current = row[0]
    is_stand_in = "@" in current or current.replace(" ", "").lstrip("+").isdigit()
    if is_stand_in and name and name != current and "@" not in name:
        conn.execute("UPDATE people SET name = ? WHERE id = ?", (name, person_id))
        return True
    return False


def drop_address(conn: sqlite3.Connection, person_id: int, kind: str, text: str, norm: str) -> bool:
    """Remove one of the person's emails or phones (given as written or normalised). True if
    one went."""
    cur = conn.execute(
        "DELETE FROM addresses WHERE person_id = ? AND kind = ? AND (norm = ? OR value = ?)",
        (person_id, kind, norm, text),
    )
    return cur.rowcount > 0


def delete(conn: sqlite3.Connection, person_id: int) -> bool:
    """Delete the person and all their history (calls, notes, offers, referrals cascade);
    people they referred stay, referred by nobody. True if they existed."""
    return conn.execute("DELETE FROM people WHERE id = ?", (person_id,)).rowcount > 0


# ---------------------------------------------------------------------------- pauses
PAUSES = ("never", "stop", "wrong_number")


def set_paused(conn: sqlite3.Connection, person_id: int, reason: str | None) -> bool:
    """Take the person out of every planning lane (``reason``: 'never' by hand, 'stop' they
    asked not to be called, 'wrong_number' until a new phone or email), or bring them back
    (None). True if anything changed."""
    if reason is not None and reason not in PAUSES:
        raise ValueError(f"not a pause: {reason!r}")
    cur = conn.execute(
        "UPDATE people SET paused = ? WHERE id = ? AND paused IS NOT ?",
        (reason, person_id, reason),
    )
    return cur.rowcount > 0


def paused(conn: sqlite3.Connection, person_id: int) -> str | None:
    """Why the person is out of the rotation, or None."""
    row = conn.execute("SELECT paused FROM people WHERE id = ?", (person_id,)).fetchone()
    return row[0] if row else None


def mark_removed_at_source(conn: sqlite3.Connection, source: str, ext_id: str) -> bool:
    cur = conn.execute(
        """UPDATE people SET removed_at_source = ? WHERE removed_at_source IS NULL AND id IN
           (SELECT person_id FROM source_ids WHERE source = ? AND ext_id = ?)""",
        (utcnow_iso(), source, ext_id),
    )
    return cur.rowcount > 0


def ext_ids(conn: sqlite3.Connection, source: str) -> list[str]:
    """Every external id recorded for ``source`` (e.g. the Google resource names)."""
    return [r[0] for r in conn.execute("SELECT ext_id FROM source_ids WHERE source = ?", (source,))]


# ---------------------------------------------------------------------------- referrals
def first_named(conn: sqlite3.Connection, name: str) -> int | None:
    """The lowest id of anyone with exactly this name."""
    row = conn.execute(
        "SELECT id FROM people WHERE name = ? ORDER BY id LIMIT 1", (name,)
    ).fetchone()
    return row[0] if row else None


def set_referrer(conn: sqlite3.Connection, person_id: int, referrer: int) -> None:
    """``referrer`` brought ``person_id`` onto the list (said by hand: replaces any)."""
    conn.execute("UPDATE people SET referred_by = ? WHERE id = ?", (referrer, person_id))


def set_referrer_if_unknown(conn: sqlite3.Connection, person_id: int, referrer: int) -> None:
    """``referrer`` referred a person already known: recorded only if nobody had been."""
    conn.execute(
        "UPDATE people SET referred_by = ? WHERE id = ? AND referred_by IS NULL",
        (referrer, person_id),
    )


def referral_chain(conn: sqlite3.Connection, person_id: int) -> list[int]:
    """The person and everyone whose referrals led to them, nearest first (loops stop)."""
    chain: list[int] = []
    current: int | None = person_id
    while current is not None and current not in chain:
        chain.append(current)
        row = conn.execute("SELECT referred_by FROM people WHERE id = ?", (current,)).fetchone()
        current = row[0] if row else None
    return chain


def referred_by(conn: sqlite3.Connection, person_id: int) -> list[Person]:
    """The people this person referred, by name."""
    rows = conn.execute(_PERSON_SQL + " WHERE p.referred_by = ?" + _BY_NAME, (person_id,))
    return [_person(conn, row) for row in rows]


def name_of(conn: sqlite3.Connection, person_id: int) -> str | None:
    row = conn.execute("SELECT name FROM people WHERE id = ?", (person_id,)).fetchone()
    return row[0] if row else None


def possible_duplicates(conn: sqlite3.Connection) -> list[list[Person]]:
    """Groups of people with the same name (case-insensitive) who share no address."""
    groups: list[list[Person]] = []
    rows = conn.execute(
        """SELECT group_concat(id) AS ids FROM people
           GROUP BY lower(trim(name)) HAVING count(*) > 1 ORDER BY lower(trim(name))"""
    )
    for row in rows:
        people = [p for i in row["ids"].split(",") if (p := get(conn, int(i)))]
        groups.append(sorted(people, key=lambda p: p.id))
    return groups


def merge(conn: sqlite3.Connection, keep: int, other: int) -> None:
    """Fold ``other`` into ``keep``: addresses, source ids, calls, referrals; then drop it.

    Nothing either of them has is lost: every call moves to ``keep``. Where both had a call on
    the same day (one call per person and day), the other's call is folded into ``keep``'s:
    its notes are appended, its referrals, offers, wins and thank-you updates move over, and
    the more final outcome wins (a done call stays done)."""
    conn.execute(
        """INSERT OR IGNORE INTO addresses(person_id, kind, value, norm, position)
           SELECT ?, kind, value, norm, position + 1000 FROM addresses WHERE person_id = ?""",
        (keep, other),
    )
    conn.execute("UPDATE OR IGNORE source_ids SET person_id = ? WHERE person_id = ?", (keep, other))
    # two open calls cannot both stay open: the other's is closed (kept, as skipped)
    conn.execute(
        """UPDATE calls SET outcome = 'skipped' WHERE person_id = ? AND outcome = 'planned'
           AND EXISTS (SELECT 1 FROM calls c WHERE c.person_id = ? AND c.outcome = 'planned')""",
        (other, keep),
    )
    other_name = conn.execute("SELECT name FROM people WHERE id = ?", (other,)).fetchone()[0]
    clashes = conn.execute(
        """SELECT o.id, k.id FROM calls o JOIN calls k ON k.day = o.day AND k.person_id = ?
           WHERE o.person_id = ?""",
        (keep, other),
    ).fetchall()
    for folded, into in clashes:
        _fold_call(conn, folded, into, other_name)
    conn.execute("UPDATE calls SET person_id = ? WHERE person_id = ?", (keep, other))
    conn.execute("UPDATE OR IGNORE referrals SET person_id = ? WHERE person_id = ?", (keep, other))
    conn.execute("UPDATE offers SET person_id = ? WHERE person_id = ?", (keep, other))
    conn.execute("UPDATE people SET referred_by = ? WHERE referred_by = ?", (keep, other))
    o = conn.execute("SELECT * FROM people WHERE id = ?", (other,)).fetchone()
    k = conn.execute("SELECT * FROM people WHERE id = ?", (keep,)).fetchone()
    conn.execute(
        """UPDATE people SET org = coalesce(org, ?), title = coalesce(title, ?),
                  note = coalesce(note, ?), referred_by = coalesce(referred_by, ?),
                  last_contacted = max(coalesce(last_contacted, ''), coalesce(?, '')),
                  rotation_key = max(rotation_key, ?)
           WHERE id = ?""",
        (
            o["org"],
            o["title"],
            o["note"],
            o["referred_by"],
            o["last_contacted"],
            o["rotation_key"],
            keep,
        ),
    )
    if k["last_contacted"] is None and o["last_contacted"] is None:
        conn.execute("UPDATE people SET last_contacted = NULL WHERE id = ?", (keep,))
    conn.execute("DELETE FROM people WHERE id = ?", (other,))


def _fold_call(conn: sqlite3.Connection, folded: str, into: str, other_name: str) -> None:
    """Move everything call ``folded`` holds onto call ``into`` (the same day), then drop it."""
    f = conn.execute("SELECT * FROM calls WHERE id = ?", (folded,)).fetchone()
    k = conn.execute("SELECT * FROM calls WHERE id = ?", (into,)).fetchone()

    def joined(mine: str, theirs: str) -> str:
        if not theirs.strip() or theirs.strip() in mine:
            return mine
        label = f"(merged from {other_name}'s call) {theirs.strip()}"
        return f"{mine.rstrip()}\n\n{label}" if mine.strip() else label

    outcome = k["outcome"]
    if f["outcome"] in _HAPPENED and outcome not in _HAPPENED:
        outcome = f["outcome"]
    conn.execute(
        """UPDATE calls SET notes = ?, prep_notes = ?, outcome = ?,
                  follow_up = coalesce(follow_up, ?) WHERE id = ?""",
        (
            joined(k["notes"], f["notes"]),
            joined(k["prep_notes"], f["prep_notes"]),
            outcome,
            f["follow_up"],
            into,
        ),
    )
    for table, column in (
        ("referrals", "call_id"),
        ("offers", "call_id"),
        ("wins", "call_id"),
        ("updates", "win_call"),
        ("updates", "call_id"),
        ("calls", "origin_call"),
    ):
        # a row the kept call already has (the same offer text) is a duplicate, not a loss
        conn.execute(
            f"UPDATE OR IGNORE {table} SET {column} = ? WHERE {column} = ?",
            (into, folded),
        )
    conn.execute("DELETE FROM calls WHERE id = ?", (folded,))


#: outcomes of a call that happened: on a merge they win over the other call's outcome
_HAPPENED = {"done", "stop", "wrong_number"}


# ---------------------------------------------------------------------------- topic
def current_topic(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT text FROM topics ORDER BY id DESC LIMIT 1").fetchone()
    return row[0] if row else None


def set_topic(conn: sqlite3.Connection, text: str) -> None:
    conn.execute("INSERT INTO topics(text, set_at) VALUES (?, ?)", (text, utcnow_iso()))


def topic_history(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in conn.execute("SELECT text, set_at FROM topics ORDER BY id")]
