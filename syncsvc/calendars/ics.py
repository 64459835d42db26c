"""iCalendar (RFC 5545) text for a call event, written and read with the icalendar library.

Shared by the backends that store ``.ics`` data (vdir, CalDAV). ``to_ical`` writes one
VCALENDAR with one VEVENT; ``patch_ical`` rewrites syncsvc's fields of an existing one and keeps
everything a calendar app added; ``from_ical`` reads back whatever the person's calendar app made of
it, tolerantly: it never raises, and returns ``None`` for anything that is not syncsvc's.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from icalendar import Alarm, Component, Event, vText, vUri
from icalendar import Calendar as ICalendar
from icalendar.parser import unescape_backslash

from syncsvc.calendars.base import UID_SUFFIX, CallEvent, RemoteEvent
from syncsvc.calendars.vtimezone import add_compact_timezones

PRODID = "-//syncsvc//syncsvc//EN"
CALL_PROPERTY = "X-SYNCSVC-CALL"
# What syncsvc last wrote as LOCATION / CONFERENCE: a rewrite replaces only a value still equal
# to it, so a location the person changed stays theirs.
LOCATION_RECORD = "X-SYNCSVC-LOCATION"
CONFERENCE_RECORD = "X-SYNCSVC-CONFERENCE"


def to_ical(event: CallEvent) -> bytes:
    """The event as a complete iCalendar object (VCALENDAR + VTIMEZONE + one VEVENT).

    Start and end carry ``TZID`` = the zoneinfo key of their tzinfo, with a matching VTIMEZONE.
    The output is deterministic apart from DTSTAMP (the current UTC time).
    """
    _check_times(event)
    cal = ICalendar()
    cal.add("prodid", PRODID)
    cal.add("version", "2.0")
    vevent = Event()
    vevent.add("uid", event.uid)
    _write_ours(vevent, event)
    if event.alarm_minutes > 0:
        alarm = Alarm()
        alarm.add("action", "DISPLAY")
        alarm.add("trigger", timedelta(minutes=-event.alarm_minutes))
        alarm.add("description", event.summary)
        vevent.add_component(alarm)
    cal.add_component(vevent)
    add_compact_timezones(cal, [event.start, event.end])  # RRULEs, not 1970-2037 RDATEs
    cal.add_missing_timezones()
    return cal.to_ical()


def patch_ical(existing: bytes | str, event: CallEvent) -> bytes:
    """``existing`` (our event as the calendar has it now) with syncsvc's own fields rewritten.

    Changed: DTSTAMP, DTSTART/DTEND, SUMMARY, DESCRIPTION, X-SYNCSVC-CALL, and LOCATION and the
    phone CONFERENCE only while they are still what syncsvc wrote (or absent). Kept: whatever a
    calendar app added (``X-MOZ-LASTACK``, CATEGORIES, COLOR, ATTENDEE, alarms, other events in
    the object). Data that does not parse, or holds no event of ours, is written anew.
    """
    _check_times(event)
    try:
        cal = ICalendar.from_ical(existing)
        vevent = _our_vevent([cal])
    except Exception:
        vevent = None
    if vevent is None:
        return to_ical(event)
    _write_ours(vevent, event)
    cal.add_missing_timezones()
    return cal.to_ical()


def _check_times(event: CallEvent) -> None:
    for name, value in (("start", event.start), ("end", event.end)):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError(f"CallEvent.{name} must be timezone-aware, got {value!r}")


def _write_ours(vevent: Component, event: CallEvent) -> None:
    """Set syncsvc's own properties on ``vevent`` (new or an existing one of ours)."""
    for name in ("DTSTAMP", "DTSTART", "DTEND", "DURATION", "SUMMARY", "DESCRIPTION"):
        vevent.pop(name, None)
    vevent.pop(CALL_PROPERTY, None)
    vevent.add("dtstamp", datetime.now(UTC).replace(microsecond=0))
    vevent.add("dtstart", event.start)
    vevent.add("dtend", event.end)
    vevent.add("summary", event.summary)
    vevent.add("description", event.description)
    # vText, not a bare str: a bare str in an X- property is written unescaped.
    vevent.add(CALL_PROPERTY, vText(event.call_id))
    _write_own_value(vevent, "LOCATION", LOCATION_RECORD, event.location, vText)
    _write_own_value(vevent, "CONFERENCE", CONFERENCE_RECORD, event.tel, _phone_uri)


def _phone_uri(tel: str) -> vUri:
    """RFC 7986 CONFERENCE for a phone number: a calendar app offers to dial it."""
    return vUri(tel, params={"VALUE": "URI", "FEATURE": "PHONE", "LABEL": "Phone"})


def _write_own_value(
    vevent: Component, name: str, record: str, value: str | None, make: Callable[[str], Any]
) -> None:
    """Write ``value`` as ``name`` unless the person put their own ``name`` there.

    Ours is a value equal to what we recorded in ``record`` when we wrote it (or to the new
    value). Another value with none of ours beside it is the person's (they changed the
    location): kept, and ours not added. An app that dropped ``record`` leaves us unable to
    tell, so a differing value is then kept too: the person's edit is never overwritten.
    """
    recorded = _text(vevent.get(record)) or None
    current = vevent.get(name)
    present = current if isinstance(current, list) else [] if current is None else [current]
    ours = [p for p in present if _text(p) in (recorded, value)]
    theirs = [p for p in present if p not in ours]
    if theirs and not ours:
        return
    vevent.pop(name, None)
    vevent.pop(record, None)
    for prop in theirs:
        vevent.add(name, prop)
    if value:
        vevent.add(name, make(value))
        vevent.add(record, vText(value))


def from_ical(data: bytes | str, etag: str) -> RemoteEvent | None:
    """Read a RemoteEvent from iCalendar text. Never raises.

    ``None`` if the data does not parse or carries no VEVENT with ``X-SYNCSVC-CALL``.
    Times come back timezone-aware: floating times and unknown TZIDs are taken as UTC, an
    all-day (DATE) start as midnight UTC.
    """
    try:
        return _from_ical(data, etag)
    except Exception:
        return None


def _from_ical(data: bytes | str, etag: str) -> RemoteEvent | None:
    if isinstance(data, bytes):
        data = data.decode("utf-8", errors="replace")
    components = Component.from_ical(data, multiple=True)
    vevent = _our_vevent(components)
    if vevent is None:
        return None
    uid = _text(vevent.get("UID"))
    call_id = _text(vevent.get(CALL_PROPERTY)) or _call_id_from_uid(uid)
    if not call_id or not uid:
        return None
    raw_start = decoded(vevent, "DTSTART")
    start = _as_datetime(raw_start)
    end = _as_datetime(decoded(vevent, "DTEND"))
    if end is None and start is not None:
        duration = decoded(vevent, "DURATION")
        if isinstance(duration, timedelta):
            end = start + duration
        elif not isinstance(raw_start, datetime):
            end = start + timedelta(days=1)  # RFC 5545: an all-day event lasts one day
    return RemoteEvent(
        uid=uid,
        call_id=call_id,
        etag=etag,
        summary=_text(vevent.get("SUMMARY")),
        description=_text(vevent.get("DESCRIPTION")),
        start=start,
        end=end,
    )


def _call_id_from_uid(uid: str) -> str:
    """Some calendar apps drop unknown X- properties when they save an event; our UID
    (``{call_id}@syncsvc``) still says whose it is."""
    return uid[: -len(UID_SUFFIX)] if uid.endswith(UID_SUFFIX) else ""


def _is_ours(vevent: Component) -> bool:
    return vevent.get(CALL_PROPERTY) is not None or bool(
        _call_id_from_uid(_text(vevent.get("UID")))
    )


def _our_vevent(components: list[Component]) -> Component | None:
    """The first VEVENT carrying X-SYNCSVC-CALL (or our UID), preferring a master."""
    ours = [
        vevent
        for component in components
        for vevent in component.walk("VEVENT")
        if _is_ours(vevent)
    ]
    masters = [vevent for vevent in ours if vevent.get("RECURRENCE-ID") is None]
    return next(iter(masters or ours), None)


def _text(value: Any) -> str:
    """A text property's value as str ("" if absent); the first one if repeated."""
    if value is None:
        return ""
    if isinstance(value, list):
        return _text(value[0]) if value else ""
    if isinstance(value, vText):
        return str(value)
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    # X- properties come back as vUnknown: still escaped TEXT.
    return unescape_backslash(str(value))


def decoded(component: Component, name: str) -> Any:
    """A property's decoded value (the first if repeated), or None if absent or unreadable."""
    try:
        value = component.decoded(name)
    except Exception:
        return None
    if isinstance(value, list):
        value = value[0] if value else None
    return value


def _as_datetime(value: Any) -> datetime | None:
    """An aware datetime from a decoded DTSTART/DTEND value, or None."""
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            return value.replace(tzinfo=UTC)  # floating, or a TZID nobody could resolve
        return value
    if isinstance(value, date):
        return datetime.combine(value, time(0, 0), tzinfo=UTC)
    return None


def busy_intervals(
    data: bytes | str, start: datetime, end: datetime
) -> list[tuple[datetime, datetime]]:
    """The person's own timed events in ``data`` overlapping [start, end), recurrences
    expanded. Not counted: syncsvc's own events, all-day events, events marked free
    (TRANSP:TRANSPARENT) and cancelled ones. Never raises: unreadable data is no meeting."""
    from syncsvc.calendars.recurrence import occurrences

    try:
        calendar = ICalendar.from_ical(data)
        found = occurrences(calendar, start, end)
    except Exception:
        return []
    out: list[tuple[datetime, datetime]] = []
    for occurrence in found:
        vevent = occurrence.component
        if _is_ours(vevent):
            continue
        if _text(vevent.get("TRANSP")).upper() == "TRANSPARENT":
            continue
        if _text(vevent.get("STATUS")).upper() == "CANCELLED":
            continue
        s, e = occurrence.start, occurrence.end
        if not isinstance(s, datetime) or not isinstance(e, datetime):
            continue  # all-day: a birthday or a holiday does not block a call
        if e > start and s < end:
            out.append((s, e))
    return sorted(out)
