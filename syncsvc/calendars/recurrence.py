"""Occurrences of the events in an iCalendar object within a time window: what a calendar's
busy times need (``ics.busy_intervals``).

RRULE (with UNTIL, COUNT, and the wall clock kept across DST), RDATE, EXDATE and modified
instances (RECURRENCE-ID) are handled with dateutil's rrule, which icalendar depends on anyway:
the core install needs no recurring-ical-events (and its x-wr-timezone and click) for this
(issue 17). ``tests/test_recurrence.py`` compares the result with recurring-ical-events.
Floating times are in the calendar's ``X-WR-TIMEZONE`` if it names a zone, else UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr
from icalendar import Component

from syncsvc.calendars.ics import decoded

#: a guard against a rule like FREQ=SECONDLY since 1970: at most this many instances per series
MAX_INSTANCES = 100_000


@dataclass(frozen=True)
class Occurrence:
    """One instance: its component (the master's, or the modified instance's own), its start
    and end (aware datetimes, or dates for an all-day instance)."""

    component: Component
    start: datetime | date
    end: datetime | date


def occurrences(calendar: Component, start: datetime, end: datetime) -> list[Occurrence]:
    """The VEVENT instances that overlap [start, end) (an instance of no duration counts when
    it starts inside). ``start`` and ``end`` are aware."""
    floating = _floating_zone(calendar)
    series: dict[str, list[Component]] = {}
    for vevent in calendar.walk("VEVENT"):
        series.setdefault(str(vevent.get("UID", "")), []).append(vevent)
    out: list[Occurrence] = []
    for components in series.values():
        masters = [c for c in components if c.get("RECURRENCE-ID") is None]
        modified = [c for c in components if c.get("RECURRENCE-ID") is not None]
        replaced = {_key(decoded(c, "RECURRENCE-ID"), floating) for c in modified}
        for master in masters:
            for occurrence in _instances(master, start, end, floating):
                if _key(occurrence.start, floating) not in replaced:
                    out.append(occurrence)
        for component in modified:
            single = _single(component, floating)
            if single is not None and _overlaps(single, start, end, floating):
                out.append(single)
    return out


def _instances(
    master: Component, start: datetime, end: datetime, floating: tzinfo
) -> Iterator[Occurrence]:
    first = _single(master, floating)
    if first is None:
        return
    duration = _minus(first.end, first.start)
    rules = _as_list(master.get("RRULE"))
    # a floating EXDATE or RDATE of a series in a zone (not RFC 5545, but written) is in it
    zone = first.start.tzinfo if isinstance(first.start, datetime) else None
    own = zone or floating
    excluded = {_key(v, own) for v in _date_values(master, "EXDATE")}
    starts: set[datetime | date] = {first.start}
    for value in _date_values(master, "RDATE"):
        starts.add(_aware(value, own))
    # the earliest start whose instance can still reach into the window
    earliest = start - duration if isinstance(duration, timedelta) else start
    for rule in rules:
        starts.update(_expand(rule, first.start, earliest, end, floating))
    for instance_start in sorted(starts, key=lambda s: _as_instant(s, floating)):
        if _key(instance_start, own) in excluded:
            continue
        occurrence = Occurrence(master, instance_start, _plus(instance_start, duration))
        if _overlaps(occurrence, start, end, floating):
            yield occurrence


def _expand(
    rule: Any, dtstart: datetime | date, earliest: datetime, end: datetime, floating: tzinfo
) -> Iterator[datetime | date]:
    """The rule's starts from ``earliest`` up to ``end``, dates for an all-day series."""
    all_day = not isinstance(dtstart, datetime)
    anchor = datetime.combine(dtstart, time(0), floating) if all_day else dtstart
    assert isinstance(anchor, datetime)
    text = rule.to_ical().decode() if hasattr(rule, "to_ical") else str(rule)
    parts = [p for p in text.split(";") if p and not p.upper().startswith("UNTIL=")]
    until = _until(rule, anchor, floating)
    try:
        parsed = rrulestr(";".join(parts), dtstart=anchor)
    except (ValueError, TypeError):
        return  # a rule nobody can read blocks nothing
    if not isinstance(parsed, rrule):
        return
    if until is not None:
        parsed = parsed.replace(until=until)
    window_end = end.astimezone(anchor.tzinfo)
    window_start = earliest.astimezone(anchor.tzinfo)
    for count, value in enumerate(parsed):
        if count >= MAX_INSTANCES or value >= window_end:
            return
        if value >= window_start or (all_day and value.date() >= window_start.date()):
            yield value.date() if all_day else value


def _until(rule: Any, anchor: datetime, floating: tzinfo) -> datetime | None:
    """UNTIL as an aware datetime in the anchor's zone (dateutil refuses a naive UNTIL with an
    aware DTSTART; apps write all three forms: UTC, floating and a date)."""
    values = rule.get("UNTIL") if hasattr(rule, "get") else None
    value = values[0] if isinstance(values, list) and values else values
    if value is None:
        return None
    if isinstance(value, datetime):
        if value.tzinfo is None:
            return value.replace(tzinfo=anchor.tzinfo or floating)
        return value.astimezone(anchor.tzinfo)
    if isinstance(value, date):  # a date: the whole day is included
        return datetime.combine(value, time(23, 59, 59), anchor.tzinfo or floating)
    return None


def _single(component: Component, floating: tzinfo) -> Occurrence | None:
    """The component's own start and end (DTEND, else DURATION, else RFC 5545's default)."""
    raw_start = decoded(component, "DTSTART")
    if raw_start is None:
        return None
    start = _aware(raw_start, floating)
    raw_end = decoded(component, "DTEND")
    if raw_end is not None:
        end = _aware(raw_end, floating)
    else:
        duration = decoded(component, "DURATION")
        if isinstance(duration, timedelta):
            end = _plus(start, duration)
        elif isinstance(start, datetime):
            end = start
        else:
            end = start + timedelta(days=1)
    return Occurrence(component, start, end)


def _overlaps(occurrence: Occurrence, start: datetime, end: datetime, floating: tzinfo) -> bool:
    s = _as_instant(occurrence.start, floating)
    e = _as_instant(occurrence.end, floating)
    if e <= s:
        return start <= s < end
    return s < end and e > start


# --------------------------------------------------------------------------- values


def _floating_zone(calendar: Component) -> tzinfo:
    name = str(calendar.get("X-WR-TIMEZONE", "") or "")
    if name:
        try:
            return ZoneInfo(name)
        except (ValueError, KeyError, OSError):
            pass
    return UTC


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _date_values(component: Component, name: str) -> list[datetime | date]:
    """Every date or date-time of EXDATE/RDATE (each property may be repeated and hold a list;
    an RDATE period counts by its start)."""
    out: list[datetime | date] = []
    for prop in _as_list(component.get(name)):
        for item in getattr(prop, "dts", []):
            value = item.dt
            if isinstance(value, tuple):
                value = value[0]
            if isinstance(value, datetime | date):
                out.append(value)
    return out


def _aware(value: datetime | date, floating: tzinfo) -> datetime | date:
    if isinstance(value, datetime) and (value.tzinfo is None or value.utcoffset() is None):
        return value.replace(tzinfo=floating)
    return value


def _as_instant(value: datetime | date, floating: tzinfo) -> datetime:
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            value = value.replace(tzinfo=floating)
        return value.astimezone(UTC)
    return datetime.combine(value, time(0), floating).astimezone(UTC)


def _key(value: Any, floating: tzinfo) -> datetime | date | None:
    """What identifies an instance: its UTC instant, or its day for an all-day one."""
    if isinstance(value, datetime):
        return _as_instant(value, floating)
    if isinstance(value, date):
        return value
    return None


def _minus(end: datetime | date, start: datetime | date) -> timedelta:
    if isinstance(end, datetime) and isinstance(start, datetime):
        return end - start
    if not isinstance(end, datetime) and not isinstance(start, datetime):
        return end - start
    return timedelta(0)


def _plus(start: datetime | date, duration: timedelta) -> datetime | date:
    if isinstance(start, datetime):
        # the same wall-clock length across a DST change, as calendar apps show it
        return start + duration
    return start + timedelta(days=duration.days)
