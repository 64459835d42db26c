"""Planning against the store: the store supplies the facts, the pure planner decides, the
store records. Run inside the caller's transaction, so a day is planned all or not at all."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from syncsvc import planner
from syncsvc.config import CallsConfig
from syncsvc.store import Connection
from syncsvc.store import calls as calls_db
from syncsvc.store import planning as planning_db


def facts(
    conn: Connection, day: date, wanted: int, cfg: CallsConfig | None = None
) -> planner.PlanningFacts:
    """The facts for choosing ``wanted`` calls on ``day`` (``cfg``: the planning days and
    the retry cadence; the defaults when None)."""
    cfg = cfg or CallsConfig()
    return planning_db.facts_for_day(
        conn,
        day,
        rotation_limit=planner.rotation_limit(wanted),
        retry_cutoffs=planner.retry_cutoffs(cfg, day),
        update_window=planner.update_window(day),
    )


def choose(
    conn: Connection, day: date, wanted: int, cfg: CallsConfig | None = None
) -> list[planner.Pick]:
    """Up to ``wanted`` people for ``day``, in lane order (what ``plan_day`` would pick)."""
    return planner.choose(facts(conn, day, wanted, cfg), wanted)


def reasons(conn: Connection, new_calls: Sequence[planner.NewCall]) -> dict[str, str]:
    """Why each new call's person was picked, in one line (stored on the call)."""
    return {
        new.call_id: planner.reason(new.pick, planning_db.why_facts(conn, new.pick), new.day)
        for new in new_calls
    }


def plan_day(
    conn: Connection,
    cfg: CallsConfig,
    day: date,
    install_id: str,
    busy: Sequence[tuple[datetime, datetime]] | None = None,
) -> list[str]:
    """Fill ``day`` up to ``per_day`` calls. Returns the ids of all calls on that day.
    ``busy``: the person's own events that day, to plan around (None: not considered).
    A day already full is not queried further: planning it again changes nothing."""
    if not planner.is_planning_day(cfg, day):
        return []
    wanted = planner.calls_wanted(cfg, day, len(planning_db.day_slots(conn, day)))
    if wanted > 0:
        new_calls = planner.plan_day(cfg, facts(conn, day, wanted, cfg), install_id, busy)
        planning_db.record(conn, cfg.timezone, new_calls, reasons(conn, new_calls))
    return [c.id for c in calls_db.on_day(conn, day)]


def add_retry(
    conn: Connection, cfg: CallsConfig, origin: calls_db.Call, day: date, install_id: str
) -> str | None:
    """A rescheduled call: a new call for the same person on ``day`` (kind retry), once —
    moved on to the next planning day while the person has a call that day, in the earliest
    slot not taken. Returns the new call's id, or None if it exists already or the person
    has an open call anyway."""
    if planning_db.retry_exists(conn, origin.id, origin.person_id):
        return None
    # a call the person moved to another day keeps the id it was planned under (day and
    # person): its old day counts as one with a call, or the retry's id would be taken
    days = set(planning_db.call_days(conn, origin.person_id, day))
    day = planner.retry_day(cfg, day, days)
    while calls_db.get(conn, planner.call_id(install_id, day, origin.person_id)) is not None:
        days.add(day)
        day = planner.retry_day(cfg, day, days)
    new = planner.retry_call(
        cfg, install_id, origin.person_id, origin.id, day, planning_db.taken_starts(conn, day)
    )
    planning_db.record(conn, cfg.timezone, [new], reasons(conn, [new]))
    return new.call_id
