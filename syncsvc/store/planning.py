"""Planning facts: what the planner needs to know about a day, and recording its decision.

The planner (``syncsvc/planner.py``) is a pure function; every query it depends on lives here.
Each lane is one indexed query, and the rotation is LIMITed, so a day is planned without
loading the name list (docs/PERFORMANCE.md: ~1 ms with 100,000 people). A paused person
(``people.paused``: never, stop, wrong number) is in no lane.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Collection, Iterable, Mapping
from datetime import date, datetime

from syncsvc.planner import Due, NewCall, Pick, PlanningFacts, RetryCandidate, WhyFacts
from syncsvc.store import calls as calls_db


def facts_for_day(
    conn: sqlite3.Connection,
    day: date,
    *,
    rotation_limit: int,
    retry_cutoffs: tuple[date, ...],
    update_window: tuple[date, date],
) -> PlanningFacts:
    """Everything planning ``day`` depends on. ``rotation_limit``: how many rotation
    candidates to supply; ``retry_cutoffs``: per retry depth, a no-answer on this day or
    before may be retried (one after the last keeps the person out of the rotation);
    ``update_window``: the days whose calls to a person keep a thank-you call to them off
    ``day``."""
    updates = pending_updates(conn)
    return PlanningFacts(
        day=day,
        taken=day_slots(conn, day),
        follow_ups=follow_ups_due(conn, day),
        updates=updates,
        update_call_days=call_days_between(conn, {u.person_id for u in updates}, *update_window),
        referrals=referrals_not_called(conn),
        retries=retry_candidates(conn, retry_cutoffs),
        rotation=rotation_candidates(conn, day, retry_cutoffs[-1], rotation_limit),
        not_free=not_free(conn, day),
        max_retries=len(retry_cutoffs),
    )


def day_slots(conn: sqlite3.Connection, day: date) -> tuple[tuple[datetime, datetime], ...]:
    """(start, end) of the calls on ``day``, earliest first."""
    rows = conn.execute(
        "SELECT start_at, end_at FROM calls WHERE day = ? ORDER BY start_at, id",
        (day.isoformat(),),
    )
    return tuple((datetime.fromisoformat(r[0]), datetime.fromisoformat(r[1])) for r in rows)


def follow_ups_due(conn: sqlite3.Connection, day: date) -> tuple[Due, ...]:
    """Calls whose follow-up date has come and that have no follow-up call yet."""
    rows = conn.execute(
        """SELECT c.id, c.person_id FROM calls c JOIN people p ON p.id = c.person_id
           WHERE c.follow_up IS NOT NULL AND c.follow_up <= ? AND p.paused IS NULL
             AND NOT EXISTS (SELECT 1 FROM calls f
                             WHERE f.origin_call = c.id AND f.kind = 'follow_up')
           ORDER BY c.follow_up, c.id""",
        (day.isoformat(),),
    )
    return tuple(Due(r[1], r[0]) for r in rows)


def pending_updates(conn: sqlite3.Connection) -> tuple[Due, ...]:
    """People to thank and tell about a win their referral led to, not yet given a call."""
    rows = conn.execute(
        """SELECT u.win_call, u.person_id FROM updates u JOIN calls w ON w.id = u.win_call
             JOIN people p ON p.id = u.person_id
           WHERE u.call_id IS NULL AND p.paused IS NULL
           ORDER BY w.day, u.win_call, u.person_id"""
    )
    return tuple(Due(r[1], r[0]) for r in rows)


def call_days_between(
    conn: sqlite3.Connection, person_ids: Collection[int], first: date, last: date
) -> dict[int, frozenset[date]]:
    """The days from ``first`` to ``last`` on which each of these people has a call planned
    or done (a call that did not reach them does not count)."""
    out: dict[int, set[date]] = {}
    for person_id in sorted(person_ids):
        for (day,) in conn.execute(
            "SELECT day FROM calls WHERE person_id = ? AND day BETWEEN ? AND ? "
            "AND outcome IN ('planned', 'done')",
            (person_id, first.isoformat(), last.isoformat()),
        ):
            out.setdefault(person_id, set()).add(date.fromisoformat(day))
    return {person_id: frozenset(days) for person_id, days in out.items()}


def referrals_not_called(conn: sqlite3.Connection) -> tuple[int, ...]:
    """Referred people never called, oldest first."""
    # "+rotation_key": use the small referred_by index, not the rotation index over everyone
    rows = conn.execute(
        """SELECT id FROM people WHERE referred_by IS NOT NULL AND +rotation_key = ''
             AND removed_at_source IS NULL AND paused IS NULL
           ORDER BY added_at, id"""
    )
    return tuple(r[0] for r in rows)


def retry_candidates(
    conn: sqlite3.Connection, cutoffs: tuple[date, ...]
) -> tuple[RetryCandidate, ...]:
    """Calls not answered or missed, not retried yet, and the person's last call, old enough
    for their retry depth (``cutoffs[depth]``: on that day or before); each with its depth.
    A call past the last depth is left out: the person goes back to the rotation."""
    max_depth = len(cutoffs)
    rows = conn.execute(
        """SELECT c.id, c.person_id, c.day FROM calls c JOIN people p ON p.id = c.person_id
           WHERE c.outcome IN ('no_answer', 'missed') AND c.day <= ? AND p.paused IS NULL
             AND NOT EXISTS (SELECT 1 FROM calls f WHERE f.origin_call = c.id AND f.kind = 'retry')
             AND NOT EXISTS (SELECT 1 FROM calls later
                             WHERE later.person_id = c.person_id AND later.day > c.day)
           ORDER BY c.day, c.id""",
        (max(cutoffs).isoformat(),),
    ).fetchall()
    out: list[RetryCandidate] = []
    for call_id, person_id, day in rows:
        depth = retry_depth(conn, call_id, max_depth)
        if depth < max_depth and date.fromisoformat(day) <= cutoffs[depth]:
            out.append(RetryCandidate(person_id, call_id, depth))
    return tuple(out)


def retry_depth(conn: sqlite3.Connection, call_id: str, max_depth: int) -> int:
    """How many retries in a row led to this call (counting stops after ``max_depth + 1``)."""
    depth = 0
    current: str | None = call_id
    while current is not None and depth <= max_depth:
        row = conn.execute(
            "SELECT kind, origin_call FROM calls WHERE id = ?", (current,)
        ).fetchone()
        if row is None or row[0] != "retry":
            break
        depth += 1
        current = row[1]
    return depth


def rotation_candidates(
    conn: sqlite3.Connection, day: date, retry_cutoff: date, limit: int
) -> tuple[int, ...]:
    """Free people, never-called first, then longest since their last call. A person awaiting
    a retry is not free: their last call, not reached (no answer, missed), after
    ``retry_cutoff`` keeps them out (the retry lane calls them when it is due); once a retry is
    made it is their open call, and once that is over they are free again. Walks the rotation
    index, ``limit`` rows."""
    rows = conn.execute(
        """SELECT p.id FROM people p
           WHERE p.removed_at_source IS NULL AND p.paused IS NULL
             AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.person_id = p.id
                             AND c.outcome = 'planned')
             AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.person_id = p.id AND c.day = ?)
             AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.person_id = p.id
                             AND c.outcome IN ('no_answer', 'missed') AND c.day > ?
                             AND NOT EXISTS (SELECT 1 FROM calls later
                                             WHERE later.person_id = p.id AND later.day > c.day))
           ORDER BY p.rotation_key, p.shuffle
           LIMIT ?""",
        (day.isoformat(), retry_cutoff.isoformat(), limit),
    )
    return tuple(r[0] for r in rows)


def not_free(conn: sqlite3.Connection, day: date) -> frozenset[int]:
    """People with an open call, or a call on ``day``: nobody has two open calls or two
    calls a day."""
    rows = conn.execute(
        """SELECT person_id FROM calls WHERE outcome = 'planned'
           UNION SELECT person_id FROM calls WHERE day = ?""",
        (day.isoformat(),),
    )
    return frozenset(r[0] for r in rows)


def record(
    conn: sqlite3.Connection,
    tz: str,
    new_calls: Iterable[NewCall],
    reasons: Mapping[str, str] | None = None,
) -> list[str]:
    """Insert the planner's calls (a non-retry call moves the person on in the rotation),
    each with its reason (``reasons``: by call id); an update call is linked to the win it
    tells about. Returns the ids inserted: the planner's, or ``{id}-2``, ``-3``... where a
    call of the person's that was moved to another day still has that id."""
    ids: list[str] = []
    for new in new_calls:
        pick = new.pick
        call_id = _free_call_id(conn, new.call_id)
        ids.append(call_id)
        calls_db.insert(
            conn,
            call_id=call_id,
            person_id=pick.person_id,
            day=new.day,
            start=new.start,
            end=new.end,
            tz=tz,
            kind=pick.kind,
            origin_call=pick.origin_call,
        )
        if reasons and (why := reasons.get(new.call_id)):
            conn.execute("UPDATE calls SET reason = ? WHERE id = ?", (why, call_id))
        if pick.win_call:
            conn.execute(
                "UPDATE updates SET call_id = ? WHERE win_call = ? AND person_id = ?",
                (call_id, pick.win_call, pick.person_id),
            )
    return ids


def _free_call_id(conn: sqlite3.Connection, call_id: str) -> str:
    """``call_id`` (install, day, person) unless a call has it already: one the person moved
    to another day in their calendar keeps the id of the day it was planned for."""
    candidate, n = call_id, 1
    while conn.execute("SELECT 1 FROM calls WHERE id = ?", (candidate,)).fetchone():
        n += 1
        candidate = f"{call_id}-{n}"
    return candidate


def why_facts(conn: sqlite3.Connection, pick: Pick) -> WhyFacts:
    """The facts that explain ``pick`` (for ``planner.reason``): a handful of lookups by key,
    made only for the day's few picks."""
    person = conn.execute(
        """SELECT p.last_contacted, r.name, p.added_at,
                  (SELECT c.day FROM referrals x JOIN calls c ON c.id = x.call_id
                   WHERE x.person_id = p.id ORDER BY c.day LIMIT 1)
           FROM people p LEFT JOIN people r ON r.id = p.referred_by WHERE p.id = ?""",
        (pick.person_id,),
    ).fetchone()
    last, referrer, added_at, referred_day = person or (None, None, None, None)
    origin_day = origin_outcome = None
    depth = 0
    if pick.origin_call is not None:
        row = conn.execute(
            "SELECT day, outcome FROM calls WHERE id = ?", (pick.origin_call,)
        ).fetchone()
        if row is not None:
            origin_day, origin_outcome = date.fromisoformat(row[0]), row[1]
            depth = retry_depth(conn, pick.origin_call, 8)
    win_person = win_day = win_text = None
    if pick.win_call is not None:
        row = conn.execute(
            """SELECT p.name, c.day, (SELECT text FROM wins WHERE call_id = c.id LIMIT 1)
               FROM calls c JOIN people p ON p.id = c.person_id WHERE c.id = ?""",
            (pick.win_call,),
        ).fetchone()
        if row is not None:
            win_person, win_day, win_text = row[0], date.fromisoformat(row[1]), row[2]
    referred_on = referred_day or (added_at[:10] if added_at and referrer else None)
    return WhyFacts(
        last_contacted=date.fromisoformat(last[:10]) if last else None,
        referrer=referrer,
        referred_on=date.fromisoformat(referred_on) if referred_on else None,
        origin_day=origin_day,
        origin_outcome=origin_outcome,
        origin_depth=depth,
        win_person=win_person,
        win_day=win_day,
        win_text=win_text,
    )


# ------------------------------------------------------------------ rescheduled calls
def retry_exists(conn: sqlite3.Connection, origin_call: str, person_id: int) -> bool:
    """True if ``origin_call`` was retried already, or the person has an open call anyway."""
    row = conn.execute(
        "SELECT 1 FROM calls WHERE (origin_call = ? AND kind = 'retry') "
        "OR (person_id = ? AND outcome = 'planned')",
        (origin_call, person_id),
    ).fetchone()
    return row is not None


def call_days(conn: sqlite3.Connection, person_id: int, since: date) -> frozenset[date]:
    """The days from ``since`` on that the person has a call."""
    rows = conn.execute(
        "SELECT day FROM calls WHERE person_id = ? AND day >= ?", (person_id, since.isoformat())
    )
    return frozenset(date.fromisoformat(r[0]) for r in rows)


def taken_starts(conn: sqlite3.Connection, day: date) -> frozenset[datetime]:
    """The start times of the calls on ``day``."""
    rows = conn.execute("SELECT start_at FROM calls WHERE day = ?", (day.isoformat(),))
    return frozenset(datetime.fromisoformat(r[0]) for r in rows)
