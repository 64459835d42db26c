"""Our recurrence expansion (calendars/recurrence.py, the core's busy times without
recurring-ical-events) gives the same busy times as recurring-ical-events."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from syncsvc.calendars.ics import busy_intervals
from syncsvc.calendars.recurrence import occurrences

BERLIN = ZoneInfo("Europe/Berlin")
ZONES = [BERLIN, ZoneInfo("America/New_York"), ZoneInfo("Australia/Sydney"), UTC, None]


def calendar(*events: icalendar.Event, wr_timezone: str | None = None) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", "-//test//EN")
    cal.add("version", "2.0")
    if wr_timezone:
        cal.add("x-wr-timezone", wr_timezone)
    for ev in events:
        cal.add_component(ev)
    cal.add_missing_timezones()
    return cal.to_ical()


def event(
    start: datetime | date, end: datetime | date, uid: str = "m1", **props: object
) -> icalendar.Event:
    ev = icalendar.Event()
    ev.add("uid", uid)
    ev.add("summary", "Meeting")
    ev.add("dtstart", start)
    ev.add("dtend", end)
    for name, value in props.items():
        ev.add(name.replace("_", "-"), value)
    return ev


def reference(data: bytes, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    out = []
    for ev in recurring_ical_events.of(icalendar.Calendar.from_ical(data)).between(start, end):
        s, e = ev.decoded("DTSTART"), ev.decoded("DTEND")
        if isinstance(s, datetime):
            s = s if s.tzinfo else s.replace(tzinfo=UTC)
            e = e if e.tzinfo else e.replace(tzinfo=UTC)
            if e > start and s < end:
                out.append((s.astimezone(UTC), e.astimezone(UTC)))
    return sorted(out)


def ours(data: bytes, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    return [(s.astimezone(UTC), e.astimezone(UTC)) for s, e in busy_intervals(data, start, end)]


@st.composite
def series(draw: st.DrawFn) -> tuple[bytes, datetime, datetime]:
    zone = draw(st.sampled_from(ZONES))
    day = date(2026, 1, 1) + timedelta(days=draw(st.integers(0, 700)))
    start = datetime.combine(day, time(draw(st.integers(0, 23)), draw(st.sampled_from([0, 30]))))
    start = start.replace(tzinfo=zone) if zone else start
    length = timedelta(minutes=draw(st.sampled_from([15, 30, 60, 90, 180])))
    freq = draw(st.sampled_from(["DAILY", "WEEKLY", "MONTHLY"]))
    rule = f"FREQ={freq};INTERVAL={draw(st.integers(1, 3))}"
    if freq == "WEEKLY" and draw(st.booleans()):
        rule += ";BYDAY=" + ",".join(draw(st.sets(st.sampled_from(["MO", "WE", "FR"]), min_size=1)))
    end_kind = draw(st.sampled_from(["none", "count", "until"]))
    if end_kind == "count":
        rule += f";COUNT={draw(st.integers(1, 40))}"
    elif end_kind == "until":
        until = start + timedelta(days=draw(st.integers(1, 300)))
        rule += ";UNTIL=" + (
            until.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
            if zone
            else until.strftime("%Y%m%dT%H%M%S")
        )
    master = event(start, start + length, rrule=icalendar.vRecur.from_ical(rule))
    extra = []
    nth = draw(st.integers(0, 6))
    expansion = recurring_ical_events.of(
        icalendar.Calendar.from_ical(
            calendar(event(start, start + length, rrule=icalendar.vRecur.from_ical(rule)))
        )
    ).between(start, start + timedelta(days=400))
    instances = sorted(ev.decoded("DTSTART") for ev in expansion)
    if nth < len(instances) and draw(st.booleans()):
        master.add("exdate", instances[nth])
    elif nth < len(instances) and draw(st.booleans()):
        moved = event(instances[nth] + timedelta(hours=2), instances[nth] + timedelta(hours=3))
        moved.add("recurrence-id", instances[nth])
        extra.append(moved)
    window_start = start + timedelta(
        days=draw(st.integers(-3, 14) | st.integers(-3, 200)), hours=draw(st.integers(0, 23))
    )
    window_end = window_start + timedelta(days=draw(st.integers(1, 40)))
    aware = [w if w.tzinfo else w.replace(tzinfo=UTC) for w in (window_start, window_end)]
    return calendar(master, *extra), aware[0], aware[1]


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(series())
def test_the_same_busy_times_as_recurring_ical_events(
    case: tuple[bytes, datetime, datetime],
) -> None:
    data, start, end = case
    assert ours(data, start, end) == reference(data, start, end)


def at(day: date, h: int, m: int = 0) -> datetime:
    return datetime.combine(day, time(h, m), tzinfo=BERLIN)


def test_weekly_keeps_the_wall_clock_across_dst_and_honours_exdate_and_a_moved_instance() -> None:
    first = date(2026, 3, 16)  # Berlin changes to summer time on 29 March
    master = event(at(first, 9), at(first, 9, 30), rrule=icalendar.vRecur.from_ical("FREQ=WEEKLY"))
    master.add("exdate", at(first + timedelta(weeks=1), 9))
    moved = event(at(first + timedelta(weeks=3), 15), at(first + timedelta(weeks=3), 16))
    moved.add("recurrence-id", at(first + timedelta(weeks=3), 9))
    data = calendar(master, moved)
    busy = busy_intervals(data, at(first, 0), at(first + timedelta(weeks=4), 0))
    assert busy == [
        (at(first, 9), at(first, 9, 30)),
        (at(first + timedelta(weeks=2), 9), at(first + timedelta(weeks=2), 9, 30)),
        (at(first + timedelta(weeks=3), 15), at(first + timedelta(weeks=3), 16)),
    ]


def test_until_as_a_date_includes_that_day_and_all_day_series_block_nothing() -> None:
    first = date(2026, 5, 4)
    rule = icalendar.vRecur.from_ical("FREQ=DAILY;UNTIL=20260506")
    data = calendar(
        event(at(first, 17), at(first, 18), rrule=rule),
        event(
            first,
            first + timedelta(days=1),
            uid="birthday",
            rrule=icalendar.vRecur.from_ical("FREQ=DAILY"),
        ),
    )
    busy = busy_intervals(data, at(first, 0), at(first + timedelta(days=7), 0))
    assert [s.day for s, _ in busy] == [4, 5, 6]


def test_floating_times_are_in_the_calendars_x_wr_timezone() -> None:
    first = date(2026, 7, 1)
    naive = datetime.combine(first, time(10))
    data = calendar(event(naive, naive + timedelta(hours=1)), wr_timezone="Europe/Berlin")
    assert busy_intervals(data, at(first, 0), at(first, 23)) == [(at(first, 10), at(first, 11))]


def test_a_daily_rule_since_long_ago_is_cheap_and_bounded() -> None:
    old = datetime(1990, 1, 1, 8, tzinfo=BERLIN)
    cal = icalendar.Calendar.from_ical(
        calendar(
            event(old, old + timedelta(hours=1), rrule=icalendar.vRecur.from_ical("FREQ=DAILY"))
        )
    )
    found = occurrences(cal, at(date(2026, 6, 1), 0), at(date(2026, 6, 3), 0))
    assert [o.start for o in found] == [at(date(2026, 6, 1), 8), at(date(2026, 6, 2), 8)]
