"""Who to call, and when.

Each planning day gets exactly ``per_day`` calls (fewer only when too few people are free),
chosen in this order: follow-ups due (and thank-you calls for a win), referrals not yet
called, retries (no answer / missed) a few days old, then the rotation: never-called people
first, then those called fewest times and longest ago, ties in a stable shuffled order.
Nobody has two open calls; nobody is called twice in a day; planning a day again changes
nothing.

Times come from the config and an injected clock; every query is indexed, so planning a
day does not load the whole name list.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from syncsvc.config import CallsConfig
from syncsvc.store import calls as calls_db

RETRY_AFTER_DAYS = 2  # "a few days": a no-answer on Monday is tried again from Wednesday
MAX_RETRIES = 2  # consecutive retries of one call before the person goes back to the rotation


@dataclass(frozen=True)
class Pick:
    person_id: int
    kind: str  # rotation | referral | retry | follow_up
    origin_call: str | None = None
    win_call: str | None = None  # an update call telling them about this call's win


# ------------------------------------------------------------------------------ days
def is_planning_day(cfg: CallsConfig, day: date) -> bool:
    return day.weekday() in cfg.weekdays


def planning_days(cfg: CallsConfig, first: date, count: int) -> list[date]:
    """The next ``count`` planning days from ``first`` (inclusive)."""
    days: list[date] = []
    day = first
    while len(days) < count:
        if is_planning_day(cfg, day):
            days.append(day)
        day += timedelta(days=1)
    return days


def next_planning_day(cfg: CallsConfig, after: date) -> date:
    return planning_days(cfg, after + timedelta(days=1), 1)[0]


def first_day_to_plan(cfg: CallsConfig, now: datetime) -> date:
    """Today if it is a planning day whose window has not ended yet, else the next one."""
    local = now.astimezone(cfg.zone)
    today = local.date()
    window_end = local_datetime(today, cfg.window_end, cfg.zone)
    if is_planning_day(cfg, today) and local < window_end:
        return today
    return next_planning_day(cfg, today)


# ------------------------------------------------------------------------------ slots
def local_datetime(day: date, at: time, zone: ZoneInfo) -> datetime:
    """``day`` at wall time ``at`` in ``zone``; a time that does not exist that day (the
    spring-forward gap) moves to the next valid time."""
    wall = datetime.combine(day, at)
    for minutes in range(0, 24 * 60):
        candidate = (wall + timedelta(minutes=minutes)).replace(tzinfo=zone)
        roundtrip = candidate.astimezone(UTC).astimezone(zone)
        if roundtrip.replace(tzinfo=None) == candidate.replace(tzinfo=None):
            return candidate
    raise AssertionError(f"no valid local time on {day} in {zone}")  # pragma: no cover


def slots(cfg: CallsConfig, day: date) -> list[tuple[datetime, datetime]]:
    """``per_day`` (start, end) pairs spread over the window, each inside it."""
    zone = cfg.zone
    start = local_datetime(day, cfg.window_start, zone)
    end = local_datetime(day, cfg.window_end, zone)
    duration = timedelta(minutes=cfg.duration_minutes)
    length = end.astimezone(UTC) - start.astimezone(UTC)
    if length < duration:  # the window was squeezed by a DST gap: keep the calls in it
        duration = max(length, timedelta(minutes=5))
    n = cfg.per_day
    step = length / n
    if step < duration and n > 1:
        step = (length - duration) / (n - 1)
    step = timedelta(minutes=int(step.total_seconds() // 60 // 5 * 5))
    out = []
    for i in range(n):
        s = (start.astimezone(UTC) + step * i).astimezone(zone)
        out.append((s, (s.astimezone(UTC) + duration).astimezone(zone)))
    return out


# ------------------------------------------------------------------------------ choosing
def _free(conn: sqlite3.Connection, person_id: int, day: date, chosen: set[int]) -> bool:
    if person_id in chosen:
        return False
    row = conn.execute(
        "SELECT 1 FROM calls WHERE person_id = ? AND (outcome = 'planned' OR day = ?) LIMIT 1",
        (person_id, day.isoformat()),
    ).fetchone()
    return row is None


def _follow_ups(conn: sqlite3.Connection, day: date) -> list[Pick]:
    rows = conn.execute(
        """SELECT c.id, c.person_id FROM calls c
           WHERE c.follow_up IS NOT NULL AND c.follow_up <= ?
             AND NOT EXISTS (SELECT 1 FROM calls f
                             WHERE f.origin_call = c.id AND f.kind = 'follow_up')
           ORDER BY c.follow_up, c.id""",
        (day.isoformat(),),
    )
    return [Pick(r[1], "follow_up", r[0]) for r in rows]


def _updates(conn: sqlite3.Connection) -> list[Pick]:
    """People to thank and tell about a win their referral led to (kind follow_up)."""
    rows = conn.execute(
        """SELECT u.win_call, u.person_id FROM updates u JOIN calls w ON w.id = u.win_call
           WHERE u.call_id IS NULL ORDER BY w.day, u.win_call, u.person_id"""
    )
    return [Pick(r[1], "follow_up", win_call=r[0]) for r in rows]


def _referrals(conn: sqlite3.Connection) -> list[Pick]:
    # "+rotation_key": use the small referred_by index, not the rotation index over everyone
    rows = conn.execute(
        """SELECT id FROM people WHERE referred_by IS NOT NULL AND +rotation_key = ''
             AND removed_at_source IS NULL
           ORDER BY added_at, id"""
    )
    return [Pick(r[0], "referral") for r in rows]


def _retries(conn: sqlite3.Connection, day: date) -> list[Pick]:
    cutoff = (day - timedelta(days=RETRY_AFTER_DAYS)).isoformat()
    rows = conn.execute(
        """SELECT c.id, c.person_id FROM calls c
           WHERE c.outcome IN ('no_answer', 'missed') AND c.day <= ?
             AND NOT EXISTS (SELECT 1 FROM calls f WHERE f.origin_call = c.id AND f.kind = 'retry')
             AND NOT EXISTS (SELECT 1 FROM calls later
                             WHERE later.person_id = c.person_id AND later.day > c.day)
           ORDER BY c.day, c.id""",
        (cutoff,),
    )
    return [Pick(r[1], "retry", r[0]) for r in rows if _retry_depth(conn, r[0]) < MAX_RETRIES]


def _retry_depth(conn: sqlite3.Connection, call_id: str) -> int:
    """How many retries in a row led to this call."""
    depth = 0
    current: str | None = call_id
    while current is not None and depth <= MAX_RETRIES:
        row = conn.execute(
            "SELECT kind, origin_call FROM calls WHERE id = ?", (current,)
        ).fetchone()
        if row is None or row[0] != "retry":
            break
        depth += 1
        current = row[1]
    return depth


def _rotation(conn: sqlite3.Connection, day: date, limit: int) -> list[Pick]:
    """Free people, never-called first, then longest since their last call; a person just
    not reached waits for their retry instead."""
    rows = conn.execute(
        """SELECT p.id FROM people p
           WHERE p.removed_at_source IS NULL
             AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.person_id = p.id
                             AND c.outcome = 'planned')
             AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.person_id = p.id AND c.day = ?)
             AND NOT EXISTS (SELECT 1 FROM calls c WHERE c.person_id = p.id
                             AND c.outcome IN ('no_answer', 'missed') AND c.day > ?)
           ORDER BY p.rotation_key, p.shuffle
           LIMIT ?""",
        (day.isoformat(), (day - timedelta(days=RETRY_AFTER_DAYS)).isoformat(), limit),
    )
    return [Pick(r[0], "rotation") for r in rows]


def choose(conn: sqlite3.Connection, day: date, wanted: int) -> list[Pick]:
    """Up to ``wanted`` people for ``day``, in lane order."""
    picks: list[Pick] = []
    chosen: set[int] = set()
    lanes = (
        lambda: _follow_ups(conn, day),
        lambda: _updates(conn),
        lambda: _referrals(conn),
        lambda: _retries(conn, day),
        lambda: _rotation(conn, day, wanted + len(chosen)),
    )
    for lane in lanes:
        if len(picks) >= wanted:
            break
        for pick in lane():
            if len(picks) >= wanted:
                break
            if _free(conn, pick.person_id, day, chosen):
                picks.append(pick)
                chosen.add(pick.person_id)
    return picks


def call_id(install_id: str, day: date, person_id: int) -> str:
    return f"{install_id}-{day:%Y%m%d}-{person_id}"


def open_slots(
    cfg: CallsConfig,
    day: date,
    taken: Sequence[tuple[datetime, datetime]],
    busy: Sequence[tuple[datetime, datetime]] | None,
    wanted: int,
) -> list[tuple[datetime, datetime]]:
    """Up to ``wanted`` slots for new calls on ``day``: the spread-out slots not taken by
    the day's calls; with ``busy`` (avoid_busy), none overlaps the person's own events — a
    slot that would is moved to the first free time in the window, and when the window is
    full there are fewer slots (those calls go to the next planning day)."""
    preferred = slots(cfg, day)
    if busy is None:
        starts = {s for s, _ in taken}
        return [s for s in preferred if s[0] not in starts][:wanted]
    blocked = [*taken, *busy]

    def free(s: datetime, e: datetime) -> bool:
        return all(e <= bs or s >= be for bs, be in blocked)

    out: list[tuple[datetime, datetime]] = []
    window_end = local_datetime(day, cfg.window_end, cfg.zone)
    duration = preferred[0][1] - preferred[0][0]
    for s, e in preferred:
        if len(out) < wanted and free(s, e):
            out.append((s, e))
            blocked.append((s, e))
    s = preferred[0][0]
    while len(out) < wanted and s + duration <= window_end:
        e = s + duration
        if free(s, e):
            out.append((s.astimezone(cfg.zone), e.astimezone(cfg.zone)))
            blocked.append((s, e))
        s += timedelta(minutes=5)
    return sorted(out)


def plan_day(
    conn: sqlite3.Connection,
    cfg: CallsConfig,
    day: date,
    install_id: str,
    busy: Sequence[tuple[datetime, datetime]] | None = None,
) -> list[str]:
    """Fill ``day`` up to ``per_day`` calls. Returns the ids of all calls on that day.
    ``busy``: the person's own events that day, to plan around (None: not considered)."""
    if not is_planning_day(cfg, day):
        return []
    existing = calls_db.on_day(conn, day)
    wanted = cfg.per_day - len(existing)
    if wanted <= 0:
        return [c.id for c in existing]
    taken = [(c.start, c.end) for c in existing]
    free_slots = open_slots(cfg, day, taken, busy, wanted)
    for slot, pick in zip(free_slots, choose(conn, day, len(free_slots)), strict=False):
        new_id = _insert_call(conn, cfg, install_id, day, slot, pick)
        if pick.win_call:
            conn.execute(
                "UPDATE updates SET call_id = ? WHERE win_call = ? AND person_id = ?",
                (new_id, pick.win_call, pick.person_id),
            )
    return [c.id for c in calls_db.on_day(conn, day)]


def add_retry(
    conn: sqlite3.Connection, cfg: CallsConfig, origin: calls_db.Call, day: date, install_id: str
) -> str | None:
    """A rescheduled call: a new call for the same person on ``day`` (kind retry), once.

    The earliest slot of that day that is not taken is used. Returns the new call's id, or
    None if it exists already or the person has an open call anyway."""
    if conn.execute(
        "SELECT 1 FROM calls WHERE (origin_call = ? AND kind = 'retry') "
        "OR (person_id = ? AND outcome = 'planned')",
        (origin.id, origin.person_id),
    ).fetchone():
        return None
    while conn.execute(
        "SELECT 1 FROM calls WHERE person_id = ? AND day = ?", (origin.person_id, day.isoformat())
    ).fetchone():
        day = next_planning_day(cfg, day)
    taken = {c.start for c in calls_db.on_day(conn, day)}
    options = slots(cfg, day)
    start, end = next((s for s in options if s[0] not in taken), options[0])
    pick = Pick(origin.person_id, "retry", origin_call=origin.id)
    return _insert_call(conn, cfg, install_id, day, (start, end), pick)


def _insert_call(
    conn: sqlite3.Connection,
    cfg: CallsConfig,
    install_id: str,
    day: date,
    slot: tuple[datetime, datetime],
    pick: Pick,
) -> str:
    new_id = call_id(install_id, day, pick.person_id)
    calls_db.insert(
        conn,
        call_id=new_id,
        person_id=pick.person_id,
        day=day,
        start=slot[0],
        end=slot[1],
        tz=cfg.timezone,
        kind=pick.kind,
        origin_call=pick.origin_call,
    )
    return new_id
