"""The compact VTIMEZONE (calendars/vtimezone.py): a yearly RRULE per observance, as calendar
apps write it, that gives zoneinfo's UTC offsets; and events about a third of their old size."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import icalendar
import pytest

from syncsvc.calendars.base import CallEvent
from syncsvc.calendars.ics import from_ical, to_ical
from syncsvc.calendars.vdir import VdirCalendar
from syncsvc.calendars.vtimezone import transitions_in, vtimezone
from tests.test_vdir import khal_list

ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "Australia/Sydney",  # southern: daylight saving from October to April
    "Asia/Kolkata",  # no daylight saving, a half-hour offset
    "Europe/Moscow",  # daylight saving until 2011, none now
    "America/Sao_Paulo",  # daylight saving until 2019, none now
    "Pacific/Chatham",  # +12:45/+13:45, transitions at 02:45
]


def event(zone: str, year: int = 2026, month: int = 12, day: int = 3) -> CallEvent:
    start = datetime(year, month, day, 17, 0, tzinfo=ZoneInfo(zone))
    return CallEvent(
        uid="call42@syncsvc",
        call_id="call42",
        summary="Call Jane Roe",
        description="Ask: do you know anyone ...",
        start=start,
        end=start + timedelta(minutes=20),
    )


def parsed_timezone(data: bytes) -> icalendar.Timezone:
    timezones = icalendar.Calendar.from_ical(data).walk("VTIMEZONE")
    assert len(timezones) == 1
    return timezones[0]


@pytest.mark.parametrize("zone", ZONES)
def test_the_vtimezone_gives_zoneinfos_offsets_from_2026_to_2040(zone: str) -> None:
    data = to_ical(event(zone))
    component = parsed_timezone(data)
    assert str(component["TZID"]) == zone
    assert "RDATE" not in data.decode()
    observances = component.subcomponents
    assert 1 <= len(observances) <= 2
    assert all(o.name in ("STANDARD", "DAYLIGHT") for o in observances)
    if len(observances) == 2:
        assert {o.name for o in observances} == {"STANDARD", "DAYLIGHT"}
        assert all("RRULE" in o for o in observances)
    # built from the VTIMEZONE itself, not looked up by its name
    tz = component.to_tz(lookup_tzid=False)
    reference = ZoneInfo(zone)
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    checked = 0
    while moment < datetime(2041, 1, 1, tzinfo=UTC):
        assert moment.astimezone(tz).utcoffset() == moment.astimezone(reference).utcoffset(), (
            zone,
            moment,
        )
        moment += timedelta(hours=7)  # every hour of the day comes round, transitions too
        checked += 1
    # and right around every transition, to the minute
    for year in range(2026, 2041):
        for t in transitions_in(reference, year):
            for delta in (timedelta(minutes=-1), timedelta(0), timedelta(minutes=1)):
                at = t.at + delta
                assert at.astimezone(tz).utcoffset() == at.astimezone(reference).utcoffset()
    assert checked > 18000


@pytest.mark.parametrize("zone", ["Europe/Berlin", "Australia/Sydney", "Asia/Kolkata"])
def test_the_event_reads_back_at_the_same_instant(zone: str) -> None:
    call = event(zone, month=4, day=5)  # Sydney leaves daylight saving that night
    back = from_ical(to_ical(call), etag="e")
    assert back is not None and back.start is not None and back.end is not None
    assert back.start == call.start and back.end == call.end


def test_rules_are_as_calendar_apps_write_them() -> None:
    text = vtimezone(ZoneInfo("Europe/Berlin"), 2026)
    assert text is not None
    ical = text.to_ical().decode()
    assert "DTSTART:19700329T020000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3" in ical
    assert "DTSTART:19701025T030000\r\nRRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=10" in ical
    ny = vtimezone(ZoneInfo("America/New_York"), 2026)
    assert ny is not None
    assert "BYDAY=2SU;BYMONTH=3" in ny.to_ical().decode()
    assert "BYDAY=1SU;BYMONTH=11" in ny.to_ical().decode()


def test_a_zone_without_a_yearly_rule_keeps_icalendars_full_listing() -> None:
    # Morocco suspends its offset for Ramadan: four changes a year, on no weekday rule
    assert vtimezone(ZoneInfo("Africa/Casablanca"), 2026) is None
    data = to_ical(event("Africa/Casablanca"))
    tz = parsed_timezone(data).to_tz(lookup_tzid=False)
    start = datetime(2026, 12, 3, 17, 0, tzinfo=ZoneInfo("Africa/Casablanca"))
    assert start.astimezone(tz).utcoffset() == start.utcoffset()


def test_a_utc_event_has_no_vtimezone() -> None:
    assert b"VTIMEZONE" not in to_ical(event("UTC"))


def test_an_event_is_about_a_third_of_its_old_size() -> None:
    size = len(to_ical(event("Europe/Berlin")))
    assert size < 1400, size  # icalendar's 1970-2037 RDATE listing made it about 3.3 KB


def test_khal_reads_the_events_at_their_local_time(tmp_path: Path) -> None:
    folder = tmp_path / "calendar"
    cal = VdirCalendar(folder)
    sydney = datetime(2026, 4, 5, 10, 0, tzinfo=ZoneInfo("Australia/Sydney"))  # after 03:00
    cal.create(
        CallEvent("call1@syncsvc", "call1", "Call Kim", "", sydney, sydney + timedelta(minutes=30))
    )
    kolkata = datetime(2026, 10, 25, 18, 0, tzinfo=ZoneInfo("Asia/Kolkata"))
    cal.create(
        CallEvent("call2@syncsvc", "call2", "Call Ravi", "", kolkata, kolkata + timedelta(hours=1))
    )
    assert "10:00-10:30 Call Kim" in khal_list(tmp_path, folder, "Australia/Sydney", "2026-04-05")
    assert "18:00-19:00 Call Ravi" in khal_list(tmp_path, folder, "Asia/Kolkata", "2026-10-25")
    # the Kolkata call seen from Berlin on the night Berlin leaves summer time: +0530 vs +0100
    assert "13:30-14:30 Call Ravi" in khal_list(tmp_path, folder, "Europe/Berlin", "2026-10-25")
