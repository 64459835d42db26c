"""The queries behind ``syncsvc status`` and ``syncsvc report``: plain reads, no rules.

The rules that turn these rows into figures (the streak, a win's referral chain, calls per
week) live in ``syncsvc/insight.py``; every query here returns rows or counts and nothing else,
so each figure has one home and the SQL has one home.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

_CHUNK = 500  # ids per IN (...): well under SQLite's oldest limit of 999 variables


@dataclass(frozen=True)
class PersonRow:
    """One person as the referral tree and the list-growth chart need them."""

    id: int
    name: str
    org: str | None
    added_at: str


@dataclass(frozen=True)
class WinRow:
    call_id: str
    text: str
    day: str
    person_id: int


@dataclass(frozen=True)
class FollowUp:
    day: str
    person: str
    origin_day: str | None  # the call it came from, if known


def people_rows(conn: sqlite3.Connection) -> list[PersonRow]:
    """Everyone, by id: name, org and when they came onto the list."""
    return [
        PersonRow(r[0], r[1], r[2], r[3])
        for r in conn.execute("SELECT id, name, org, added_at FROM people ORDER BY id")
    ]


def referrers(conn: sqlite3.Connection) -> dict[int, int]:
    """Person → who referred them, for everyone referred by someone else."""
    return {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT id, referred_by FROM people WHERE referred_by IS NOT NULL AND referred_by != id"
        )
    }


def names(conn: sqlite3.Connection, ids: Iterable[int]) -> dict[int, str]:
    """The names of these people (an id nobody has is left out)."""
    wanted = sorted(set(ids))
    out: dict[int, str] = {}
    for i in range(0, len(wanted), _CHUNK):
        chunk = wanted[i : i + _CHUNK]
        marks = ", ".join("?" * len(chunk))
        out.update(conn.execute(f"SELECT id, name FROM people WHERE id IN ({marks})", chunk))
    return out


def done_between(conn: sqlite3.Connection, first: date, last: date) -> int:
    """Calls done from ``first`` to ``last``, both included."""
    row = conn.execute(
        "SELECT count(*) FROM calls WHERE outcome = 'done' AND day BETWEEN ? AND ?",
        (first.isoformat(), last.isoformat()),
    ).fetchone()
    return int(row[0])


def done_days(conn: sqlite3.Connection, until: date) -> set[date]:
    """The days up to ``until`` with at least one call done."""
    return {
        date.fromisoformat(r[0])
        for r in conn.execute(
            "SELECT DISTINCT day FROM calls WHERE outcome = 'done' AND day <= ?",
            (until.isoformat(),),
        )
    }


def outcomes_by_day(
    conn: sqlite3.Connection, first: date, end: date
) -> list[tuple[date, str, int]]:
    """(day, outcome, calls) for every day from ``first`` up to but not including ``end``."""
    return [
        (date.fromisoformat(r[0]), r[1], r[2])
        for r in conn.execute(
            "SELECT day, outcome, count(*) FROM calls WHERE day >= ? AND day < ? "
            "GROUP BY day, outcome",
            (first.isoformat(), end.isoformat()),
        )
    ]


def outcome_totals(conn: sqlite3.Connection) -> dict[str, int]:
    """Every call so far, counted by outcome."""
    return {
        r[0]: r[1] for r in conn.execute("SELECT outcome, count(*) FROM calls GROUP BY outcome")
    }


def referrals_noted(conn: sqlite3.Connection) -> int:
    """Referrals written in call notes (one per call and person named)."""
    return int(conn.execute("SELECT count(*) FROM referrals").fetchone()[0])


def people_referred(conn: sqlite3.Connection) -> int:
    """People who came through a referral: named in a call's notes, or added as referred by
    someone (``syncsvc add --referred-by``)."""
    row = conn.execute(
        "SELECT count(*) FROM (SELECT person_id FROM referrals UNION "
        "SELECT id FROM people WHERE referred_by IS NOT NULL)"
    ).fetchone()
    return int(row[0])


def never_called(conn: sqlite3.Connection) -> int:
    """People never called: no call of theirs has happened (a planned call, or one that was
    missed, is not a call)."""
    return int(
        conn.execute(
            "SELECT count(*) FROM people p WHERE NOT EXISTS (SELECT 1 FROM calls c "
            "WHERE c.person_id = p.id AND c.outcome NOT IN ('planned', 'missed'))"
        ).fetchone()[0]
    )


def wins(conn: sqlite3.Connection) -> list[WinRow]:
    """Every win, oldest call first, in the order they were noted."""
    return [
        WinRow(r[0], r[1], r[2], r[3])
        for r in conn.execute(
            "SELECT w.call_id, w.text, c.day, c.person_id FROM wins w "
            "JOIN calls c ON c.id = w.call_id ORDER BY c.day, w.rowid"
        )
    ]


def thanked(conn: sqlite3.Connection) -> dict[str, int]:
    """Per win call: the update calls about it that are done (people thanked)."""
    return {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT u.win_call, count(*) FROM updates u JOIN calls c ON c.id = u.call_id "
            "WHERE c.outcome = 'done' GROUP BY u.win_call"
        )
    }


def follow_ups(conn: sqlite3.Connection, today: date) -> list[FollowUp]:
    """Follow-up calls planned, and follow-ups asked for from ``today`` on that have no call
    yet; by day, then name."""
    rows = conn.execute(
        """SELECT c.day, p.name, o.day FROM calls c JOIN people p ON p.id = c.person_id
             LEFT JOIN calls o ON o.id = c.origin_call
           WHERE c.kind = 'follow_up' AND c.outcome = 'planned'
           UNION
           SELECT c.follow_up, p.name, c.day FROM calls c JOIN people p ON p.id = c.person_id
           WHERE c.follow_up >= ? AND NOT EXISTS (
             SELECT 1 FROM calls f WHERE f.origin_call = c.id AND f.kind = 'follow_up')
           ORDER BY 1, 2""",
        (today.isoformat(),),
    )
    return [FollowUp(r[0], r[1], r[2]) for r in rows]


# ------------------------------------------------------------------------------- the funnel
@dataclass(frozen=True)
class FunnelCall:
    """One call as the funnel counts it."""

    call_id: str
    day: str
    outcome: str
    end_at: str  # ISO datetime with offset
    outcome_at: str | None  # when it first got an outcome (UTC ISO), None while planned
    referred: bool  # the person came by referral
    referrals: int  # referrals its notes gave
    wins: int  # wins its notes recorded


def funnel_calls(conn: sqlite3.Connection) -> list[FunnelCall]:
    """Every call with what the funnel needs, oldest first."""
    rows = conn.execute(
        """SELECT c.id, c.day, c.outcome, c.end_at, c.outcome_at, p.referred_by IS NOT NULL,
                  (SELECT count(*) FROM referrals r WHERE r.call_id = c.id),
                  (SELECT count(*) FROM wins w WHERE w.call_id = c.id)
           FROM calls c JOIN people p ON p.id = c.person_id ORDER BY c.day, c.id"""
    )
    return [FunnelCall(r[0], r[1], r[2], r[3], r[4], bool(r[5]), r[6], r[7]) for r in rows]


def topics(conn: sqlite3.Connection) -> list[tuple[str, str]]:
    """Every topic ever set, (set_at, text), oldest first."""
    return [
        (r[0], r[1]) for r in conn.execute("SELECT set_at, text FROM topics ORDER BY set_at, id")
    ]


@dataclass(frozen=True)
class Receipt:
    call_id: str
    day: str
    person: str
    receipt: str  # the block syncsvc last wrote back into the event


def receipts_with(conn: sqlite3.Connection, needle: str) -> list[Receipt]:
    """The receipts (one per call, whichever calendar) that contain ``needle``, by day."""
    rows = conn.execute(
        """SELECT e.call_id, c.day, p.name, e.receipt FROM calendar_events e
             JOIN calls c ON c.id = e.call_id JOIN people p ON p.id = c.person_id
           WHERE instr(e.receipt, ?) > 0
           GROUP BY e.call_id ORDER BY c.day, e.call_id""",
        (needle,),
    )
    return [Receipt(r[0], r[1], r[2], r[3]) for r in rows]
