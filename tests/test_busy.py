"""Calls placed around the person's own meetings ([calls] avoid_busy) on all three backends."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import date, datetime, time
from pathlib import Path

import icalendar
import pytest

from syncsvc.app import App
from syncsvc.calendars.google import GoogleCalendar
from syncsvc.store import calls as calls_db
from tests.conftest import BERLIN, add_people
from tests.google_fake import FakeGoogle, google_fake_fixture
from tests.radicale_server import PASSWORD, USER, RadicaleServer, radicale_fixture
from tests.test_caldav import Phone

radicale = radicale_fixture("module")
google = google_fake_fixture()

FRIDAY = date(2026, 11, 27)
MONDAY = date(2026, 11, 30)


def at(day: date, h: int, m: int = 0) -> datetime:
    return datetime.combine(day, time(h, m), tzinfo=BERLIN)


def ics_event(
    start: datetime,
    end: datetime,
    *,
    rrule: str | None = None,
    transparent: bool = False,
    all_day: bool = False,
) -> bytes:
    cal = icalendar.Calendar()
    cal.add("prodid", "-//khal//EN")
    cal.add("version", "2.0")
    ev = icalendar.Event.new(uid=f"meeting-{uuid.uuid4().hex}", summary="Meeting")
    if all_day:
        ev.add("dtstart", start.date())
    else:
        ev.add("dtstart", start)
        ev.add("dtend", end)
    if rrule:
        ev.add("rrule", icalendar.vRecur.from_ical(rrule))
    if transparent:
        ev.add("transp", "TRANSPARENT")
    cal.add_component(ev)
    cal.add_missing_timezones()
    return cal.to_ical()


def assert_around(calls: list[calls_db.Call], meetings: list[tuple[datetime, datetime]]) -> None:
    for c in calls:
        assert time(17) <= c.start.astimezone(BERLIN).time()
        assert c.end.astimezone(BERLIN).time() <= time(19)
        for s, e in meetings:
            assert c.end <= s or c.start >= e, f"{c.start:%H:%M} overlaps {s:%H:%M}-{e:%H:%M}"


def test_vdir_busy_calendars_move_calls_and_spill_to_the_next_day(
    make_app: Callable[..., App], tmp_path: Path
) -> None:
    khal = tmp_path / "khal-home"
    khal.mkdir()
    meeting = (at(FRIDAY, 17), at(FRIDAY, 18, 20))
    weekly = (at(MONDAY, 17, 30), at(MONDAY, 18))
    (khal / "a.ics").write_bytes(ics_event(*meeting))
    (khal / "b.ics").write_bytes(
        ics_event(at(date(2026, 11, 2), 17, 30), at(date(2026, 11, 2), 18), rrule="FREQ=WEEKLY")
    )
    (khal / "c.ics").write_bytes(ics_event(at(FRIDAY, 18, 40), at(FRIDAY, 19), transparent=True))
    (khal / "d.ics").write_bytes(ics_event(at(FRIDAY, 0), at(FRIDAY, 0), all_day=True))
    app = make_app(calls={"avoid_busy": True}, calendar={"busy_calendars": [str(khal)]})
    add_people(app, 6)
    friday = app.plan(FRIDAY)
    assert len(friday) == 2, "only 18:20-19:00 is free: the third call moves on"
    assert_around(friday, [meeting])
    monday = app.plan(MONDAY)
    assert len(monday) == 3
    assert_around(monday, [weekly])
    assert {c.person_id for c in friday}.isdisjoint({c.person_id for c in monday})


def test_without_avoid_busy_meetings_are_ignored(
    make_app: Callable[..., App], tmp_path: Path
) -> None:
    khal = tmp_path / "khal"
    khal.mkdir()
    (khal / "a.ics").write_bytes(ics_event(at(FRIDAY, 17), at(FRIDAY, 19)))
    app = make_app(calendar={"busy_calendars": [str(khal)]})
    add_people(app, 3)
    assert len(app.plan(FRIDAY)) == 3


def test_a_full_window_plans_nothing_that_day(make_app: Callable[..., App]) -> None:
    app = make_app(calls={"avoid_busy": True})
    folder = app.config.calendar_path
    folder.mkdir(parents=True)
    (folder / "mine.ics").write_bytes(ics_event(at(FRIDAY, 16), at(FRIDAY, 20)))
    add_people(app, 3)
    assert app.plan(FRIDAY) == []
    assert (folder / "mine.ics").exists(), "the person's own event is never touched"


def test_caldav_meetings_are_avoided(
    radicale: RadicaleServer, make_app: Callable[..., App], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PW", PASSWORD)
    app = make_app(
        calls={"avoid_busy": True},
        calendar={
            "backend": "caldav",
            "url": radicale.url,
            "username": USER,
            "calendar": f"Busy {uuid.uuid4().hex[:6]}",
            "password_env": "PW",
        },
    )
    app.calendar.check()
    phone = Phone(radicale, app.calendar._collection_path)  # type: ignore[attr-defined]
    meeting = (at(FRIDAY, 17, 10), at(FRIDAY, 18, 10))
    phone.cal.add_event(ics_event(*meeting).decode())
    add_people(app, 4)
    friday = app.plan(FRIDAY)
    assert len(friday) == 2  # 17:10-18:10 busy: 18:10-19:00 has room for two 20-minute calls
    assert_around(friday, [meeting])


def test_google_meetings_are_avoided(google: FakeGoogle, make_app: Callable[..., App]) -> None:
    app = make_app(calls={"avoid_busy": True}, calendar={"backend": "google"})
    service = google.service("calendar", "v3", config=app.config)
    app._calendar = GoogleCalendar(service, sleep=lambda s: None)
    meeting = (at(FRIDAY, 17, 30), at(FRIDAY, 18, 30))
    google.ui_create("Dentist", *meeting)
    google.ui_create("Yesterday", at(date(2026, 11, 26), 17), at(date(2026, 11, 26), 19))
    add_people(app, 4)
    friday = app.plan(FRIDAY)
    assert len(friday) == 2  # 17:00-17:20 and 18:30-18:50
    assert_around(friday, [meeting])
