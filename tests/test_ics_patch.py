"""Rewriting one of syncsvc's .ics events (vdir, CalDAV): only syncsvc's own fields change.

PRODUCT.md: a rewrite keeps everything a calendar app added (X-MOZ-LASTACK, categories, colour,
location, attendees, alarms the person changed). The phone is the event's LOCATION and an
RFC 7986 ``CONFERENCE;VALUE=URI;FEATURE=PHONE`` so a phone's calendar offers to dial it.
"""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from icalendar import Alarm, Event
from icalendar import Calendar as ICalendar

from syncsvc.calendars import ics
from syncsvc.calendars.base import CallEvent

BERLIN = ZoneInfo("Europe/Berlin")
START = datetime(2026, 12, 3, 9, 0, tzinfo=BERLIN)
EVENT = CallEvent(
    uid="c1@syncsvc",
    call_id="c1",
    summary="Call Jane Roe",
    description="Q?\nPhone: +1 (415) 555-0100 (tel:+14155550100)\n--- notes ---\n",
    start=START,
    end=START + timedelta(minutes=30),
    location="+1 (415) 555-0100",
    tel="tel:+14155550100",
)
NEW = dataclasses.replace(
    EVENT,
    description="Q2?\nPhone: +1 415 555 0199\n",
    start=START + timedelta(days=1),
    end=START + timedelta(days=1, minutes=30),
    location="+1 415 555 0199",
    tel="tel:+14155550199",
)


def vevent_of(data: bytes) -> Any:
    (vevent,) = [v for v in ICalendar.from_ical(data).walk("VEVENT") if "RECURRENCE-ID" not in v]
    return vevent


def app_edits(data: bytes, edit: Any) -> bytes:
    """Parse, let ``edit`` change the VEVENT, write back: what a calendar app does."""
    cal = ICalendar.from_ical(data)
    edit(cal.walk("VEVENT")[0])
    return cal.to_ical()


def test_location_and_a_phone_conference_are_written() -> None:
    data = ics.to_ical(EVENT)
    vevent = vevent_of(data)
    assert str(vevent["LOCATION"]) == "+1 (415) 555-0100"
    conference = vevent["CONFERENCE"]
    assert str(conference) == "tel:+14155550100"
    assert conference.params["VALUE"] == "URI"
    assert conference.params["FEATURE"] == "PHONE"
    assert b"CONFERENCE;" in data and b":tel:+14155550100" in data
    back = ics.from_ical(data, "e1")
    assert back is not None and back.description == EVENT.description


def test_no_phone_no_location() -> None:
    vevent = vevent_of(ics.to_ical(dataclasses.replace(EVENT, location=None, tel=None)))
    assert "LOCATION" not in vevent and "CONFERENCE" not in vevent


def test_a_location_with_commas_and_semicolons_round_trips() -> None:
    odd = dataclasses.replace(EVENT, location="+1 415; ext. 12, office")
    assert str(vevent_of(ics.to_ical(odd))["LOCATION"]) == "+1 415; ext. 12, office"


def _thunderbird(vevent: Any) -> None:
    vevent.add("X-MOZ-LASTACK", "20261203T075000Z")
    vevent.add("X-MOZ-GENERATION", "3")
    vevent.add("CATEGORIES", ["Networking"])
    vevent.add("COLOR", "turquoise")
    vevent.add("ATTENDEE", "mailto:jane@example.org")
    for alarm in vevent.walk("VALARM"):
        alarm["TRIGGER"] = alarm.types_factory.for_property("TRIGGER")(timedelta(minutes=-30))


def test_rewrite_keeps_what_a_calendar_app_added() -> None:
    data = app_edits(ics.to_ical(EVENT), _thunderbird)
    vevent = vevent_of(ics.patch_ical(data, NEW))
    assert str(vevent["X-MOZ-LASTACK"]) == "20261203T075000Z"
    assert str(vevent["X-MOZ-GENERATION"]) == "3"
    assert "Networking" in vevent.to_ical().decode()
    assert str(vevent["COLOR"]) == "turquoise"
    assert str(vevent["ATTENDEE"]) == "mailto:jane@example.org"
    (alarm,) = vevent.walk("VALARM")
    assert alarm.decoded("TRIGGER") == timedelta(minutes=-30)  # the person's alarm time
    # ours rewritten
    assert str(vevent["DESCRIPTION"]) == NEW.description
    assert vevent.decoded("DTSTART") == NEW.start
    assert str(vevent["LOCATION"]) == NEW.location
    assert str(vevent["CONFERENCE"]) == NEW.tel
    assert str(vevent["UID"]) == EVENT.uid


def test_rewrite_keeps_the_location_the_person_set() -> None:
    def person(vevent: Any) -> None:
        del vevent["LOCATION"]
        vevent.add("LOCATION", "Café Luna")
        del vevent["CONFERENCE"]
        vevent.add("CONFERENCE", "https://meet.example.org/jane", parameters={"VALUE": "URI"})

    vevent = vevent_of(ics.patch_ical(app_edits(ics.to_ical(EVENT), person), NEW))
    assert str(vevent["LOCATION"]) == "Café Luna"
    assert str(vevent["CONFERENCE"]) == "https://meet.example.org/jane"
    assert str(vevent["DESCRIPTION"]) == NEW.description


def test_an_added_conference_is_kept_beside_ours() -> None:
    def person(vevent: Any) -> None:
        vevent.add("CONFERENCE", "https://meet.example.org/jane", parameters={"VALUE": "URI"})

    vevent = vevent_of(ics.patch_ical(app_edits(ics.to_ical(EVENT), person), NEW))
    assert sorted(str(c) for c in vevent["CONFERENCE"]) == [
        "https://meet.example.org/jane",
        "tel:+14155550199",
    ]


def test_an_app_that_drops_our_records_keeps_a_differing_location() -> None:
    """Without X-SYNCSVC-LOCATION nobody can tell ours from theirs: the person's wins."""

    def strip(vevent: Any) -> None:
        for name in [k for k in vevent if k.startswith("X-SYNCSVC")]:
            del vevent[name]

    vevent = vevent_of(ics.patch_ical(app_edits(ics.to_ical(EVENT), strip), NEW))
    assert str(vevent["LOCATION"]) == EVENT.location
    assert str(vevent["X-SYNCSVC-CALL"]) == "c1"  # ours again


def test_no_phone_any_more_drops_only_our_location() -> None:
    gone = dataclasses.replace(NEW, location=None, tel=None)
    vevent = vevent_of(ics.patch_ical(ics.to_ical(EVENT), gone))
    assert "LOCATION" not in vevent and "CONFERENCE" not in vevent
    assert not [k for k in vevent if k in ("X-SYNCSVC-LOCATION", "X-SYNCSVC-CONFERENCE")]


def test_rewrite_keeps_other_components_and_a_moved_occurrence() -> None:
    cal = ICalendar.from_ical(ics.to_ical(EVENT))
    override = Event()
    override.add("uid", EVENT.uid)
    override.add("recurrence-id", START)
    override.add("dtstart", START + timedelta(hours=2))
    override.add("summary", "theirs")
    cal.add_component(override)
    todo = ICalendar.from_ical(
        "BEGIN:VCALENDAR\r\nBEGIN:VTODO\r\nUID:t1\r\nSUMMARY:buy milk\r\nEND:VTODO\r\nEND:VCALENDAR"
    ).walk("VTODO")[0]
    cal.add_component(todo)
    patched = ICalendar.from_ical(ics.patch_ical(cal.to_ical(), NEW))
    assert [str(v["SUMMARY"]) for v in patched.walk("VEVENT")] == [NEW.summary, "theirs"]
    assert [str(t["SUMMARY"]) for t in patched.walk("VTODO")] == ["buy milk"]


def test_unreadable_or_foreign_data_is_written_anew() -> None:
    for existing in (b"garbage", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n"):
        vevent = vevent_of(ics.patch_ical(existing, NEW))
        assert str(vevent["DESCRIPTION"]) == NEW.description
        assert str(vevent["LOCATION"]) == NEW.location


def test_a_new_zone_gets_its_vtimezone() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    moved = dataclasses.replace(
        NEW, start=START.astimezone(tokyo), end=START.astimezone(tokyo) + timedelta(minutes=30)
    )
    patched = ICalendar.from_ical(ics.patch_ical(ics.to_ical(EVENT), moved))
    assert "Asia/Tokyo" in {str(tz["TZID"]) for tz in patched.walk("VTIMEZONE")}
    assert vevent_of(patched.to_ical()).decoded("DTSTART") == moved.start


def test_alarm_the_person_removed_stays_removed() -> None:
    def person(vevent: Any) -> None:
        vevent.subcomponents = [c for c in vevent.subcomponents if not isinstance(c, Alarm)]

    vevent = vevent_of(ics.patch_ical(app_edits(ics.to_ical(EVENT), person), NEW))
    assert vevent.walk("VALARM") == []
