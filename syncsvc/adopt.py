"""A new, empty store adopts syncsvc's events it finds in a local calendar folder.

A store moved aside (damaged, lost with a disk, deleted by hand) leaves its events in the
calendar. Without adoption a fresh store would ignore them — the notes written there never
read — and plan a second set of calls on the same days. So before a new store plans or reads,
each event of ours in the folder becomes a call again: the same call id (its UID stays linked),
the person matched by exact name from the event's title (``Call {name}``) or added under that
name, the event's day and times; the notes in it are then read by the normal read-back.

Every backend adopts, through the Calendar interface alone (``changes(None, {})`` lists
syncsvc's events everywhere). The safety rule: only a store with no call at all adopts, and only
events whose call id is in the planner's format (``{install}-{YYYYMMDD}-{person}``). A calendar
whose events carry more than one install prefix may be shared with another installation (a
colleague's syncsvc writing into the same Google or CalDAV calendar, or a folder vdirsyncer
syncs with one): whose events are ours cannot be told, and taking another person's contacts and
notes into this store would be worse than planning anew — so nothing is adopted and one warning
names the prefixes (docs/RELIABILITY.md). A store lost twice (events of two generations of this
person's own installs) meets the same refusal and plans anew.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import TYPE_CHECKING

from syncsvc import events
from syncsvc.calendars.base import RemoteEvent
from syncsvc.store import calls as calls_db
from syncsvc.store import people as people_db

if TYPE_CHECKING:
    from syncsvc.calendars.base import Calendar
    from syncsvc.config import Config
    from syncsvc.store import Connection, Store

log = logging.getLogger("syncsvc")

PLACEHOLDER = "Unknown (adopted from the calendar)"
#: a call id as the planner makes them (planner.call_id): install id, day, person id. Only
#: such events are adopted; a look-alike UID ending in ``@syncsvc`` is not enough.
CALL_ID = re.compile(r"[0-9a-f]{8}-[0-9]{8}-[0-9]+")


def adopt_if_fresh(store: Store, calendar: Calendar, config: Config, now: datetime) -> int:
    """Adopt the calendar's syncsvc events when the store has no call yet; how many."""
    if calls_db.any_call(store.conn):
        return 0
    listed = calendar.changes(None, {}).changed
    events = sorted(
        (e for e in listed if e.start is not None and CALL_ID.fullmatch(e.call_id)),
        key=lambda e: (e.start is None, e.start),
    )
    if not events:
        return 0
    prefixes = sorted({install_of(e.call_id) for e in events})
    if len(prefixes) > 1:
        log.warning(
            "a new store: %s holds syncsvc events of %d installations (%s), perhaps a calendar "
            "shared with someone else's syncsvc; none adopted, new calls are planned",
            calendar.key,
            len(prefixes),
            ", ".join(prefixes),
        )
        return 0
    adopted = 0
    with store.tx() as conn:
        for event in events:
            adopted += _adopt(conn, calendar.key, config, event, now)
    if adopted:
        log.warning(
            "a new store: adopted %d of syncsvc's events from %s (their notes are read next)",
            adopted,
            calendar.key,
        )
    return adopted


def install_of(call_id: str) -> str:
    """The installation prefix of a planner's call id (``{install}-{YYYYMMDD}-{person}``)."""
    return call_id.split("-", 1)[0]


def _adopt(
    conn: Connection, calendar: str, config: Config, event: RemoteEvent, now: datetime
) -> int:
    if event.start is None or not CALL_ID.fullmatch(event.call_id):
        return 0
    if calls_db.get(conn, event.call_id) is not None:
        return 0
    zone = config.calls.zone
    start = event.start.astimezone(zone)
    end = (event.end or event.start).astimezone(zone)
    name = event.summary.removeprefix("Call ").strip() or PLACEHOLDER
    person_id = people_db.first_named(conn, name)
    if person_id is None:
        person_id = people_db.add(conn, name=name, source="manual")
    day = start.date()
    if any(c.person_id == person_id for c in calls_db.on_day(conn, day)):
        return 0  # one call per person and day: the first event of that day is kept
    open_call = next(
        (c for c in calls_db.history(conn, person_id=person_id) if c.outcome == "planned"), None
    )
    if open_call is not None:  # one open call per person: it steps aside while this one lands
        calls_db.set_outcome(conn, open_call.id, "missed")
    calls_db.insert(
        conn,
        call_id=event.call_id,
        person_id=person_id,
        day=day,
        start=start,
        end=end,
        tz=config.calls.timezone,
        kind="rotation",
    )
    if open_call is not None or start < now:
        calls_db.set_outcome(conn, event.call_id, "missed")  # its notes may say otherwise
    if open_call is not None:
        calls_db.set_outcome(conn, open_call.id, "planned")
    # an etag that never matches: the next read-back reads the event and applies its notes;
    # and never rewritten (edited): it is the old store's text, perhaps with notes in it.
    # What syncsvc wrote is taken to end at the marker line: the person's text is below it.
    calls_db.upsert_event_state(
        conn,
        calendar,
        event.call_id,
        event.uid,
        state="written",
        etag="",
        written=events.up_to_marker(event.description),
    )
    calls_db.mark_edited(conn, calendar, event.call_id)
    return 1
