"""The contract every calendar backend keeps (see syncsvc/calendars/base.py).

A backend's test module subclasses ``CalendarContract`` (``class TestVdirContract(
CalendarContract)``) and supplies these fixtures:

- ``calendar``: a fresh, empty backend instance;
- ``edit_remote``: a callable ``edit_remote(uid, description=None, start=None, end=None,
  summary=None, delete=False)`` that changes the event AS THE PERSON WOULD, outside syncsvc
  (rewrite the .ics file, PUT through the CalDAV server, PATCH through the Google API);
- optionally ``add_foreign``: a callable ``add_foreign(uid)`` that puts an event syncsvc did
  not write into the calendar (no X-SYNCSVC-CALL / private property) and returns nothing.
  Without it the tests that need one are skipped.
- optionally ``add_foreign_event``: a callable taking a :class:`Foreign` (the person's own
  event with given times, all-day, free, cancelled or weekly) and putting it into the calendar
  as the person's calendar app would. Without it the ``busy()`` tests are skipped.
- optionally ``app``: an :class:`App`, the person's calendar app adding data of its own to one
  of syncsvc's events (an acknowledged alarm, a category or colour) and maybe a location.
  Without it the tests that a rewrite keeps such data are skipped.

UIDs used here are lowercase letters a-v and digits only, so a backend that uses them as
Google event ids (base32hex) needs no mapping.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import pytest

from syncsvc.calendars.base import Calendar, CallEvent, RemoteEvent
from syncsvc.errors import ConflictError, NotFoundError

ZONE = ZoneInfo("Europe/Berlin")
START = datetime(2026, 6, 15, 10, 0, tzinfo=ZONE)
MARKER = "--- notes (write below this line) ---"

EditRemote = Callable[..., None]
AddForeign = Callable[[str], None]


@dataclasses.dataclass(frozen=True)
class Foreign:
    """One of the person's own events, as the ``busy()`` tests need them.

    ``start``/``end`` are aware datetimes, or dates for an all-day event (``end`` exclusive).
    """

    uid: str
    start: datetime | date
    end: datetime | date
    summary: str = "Meeting"
    transparent: bool = False  # marked free (TRANSP:TRANSPARENT / transparency)
    cancelled: bool = False  # STATUS:CANCELLED / status cancelled
    weekly: bool = False  # RRULE:FREQ=WEEKLY / recurrence

    @property
    def all_day(self) -> bool:
        return not isinstance(self.start, datetime)


AddForeignEvent = Callable[[Foreign], None]


@dataclasses.dataclass(frozen=True)
class AppView:
    """One of syncsvc's events as the person's calendar app shows it."""

    location: str | None
    dial: str | None  # the tel: URI a phone offers to dial (None where the backend has none)
    apps_data: bool  # what ``App.touch`` added is still there


class App:
    """The person's calendar app, acting on syncsvc's events outside syncsvc."""

    def touch(self, uid: str, location: str | None = None) -> None:
        """Add data of the app's own to the event, and set ``location`` if given."""
        raise NotImplementedError

    def view(self, uid: str) -> AppView:
        raise NotImplementedError


def app_touch_ics(data: bytes | str, location: str | None) -> bytes:
    """What Thunderbird does to an event: X-MOZ-LASTACK when the alarm is dismissed, a
    category, and the location the person typed. For vdir and CalDAV."""
    cal = icalendar.Calendar.from_ical(data)
    (vevent,) = cal.walk("VEVENT")
    vevent.add("X-MOZ-LASTACK", "20260601T080000Z")
    vevent.add("CATEGORIES", ["Networking"])
    if location is not None:
        vevent.pop("LOCATION", None)
        vevent.add("LOCATION", location)
    return cal.to_ical()


def app_view_ics(data: bytes | str) -> AppView:
    cal = icalendar.Calendar.from_ical(data)  # it parses: strict icalendar reads it back
    (vevent,) = cal.walk("VEVENT")
    location = vevent.get("LOCATION")
    conference = vevent.get("CONFERENCE")
    if isinstance(conference, list):
        (conference,) = conference
    if conference is not None:
        assert conference.params["FEATURE"] == "PHONE"
        assert conference.params["VALUE"] == "URI"
    return AppView(
        location=None if location is None else str(location),
        dial=None if conference is None else str(conference),
        apps_data=vevent.get("X-MOZ-LASTACK") is not None
        and "Networking" in vevent.to_ical().decode(),
    )


def foreign_event_ics(event: Foreign) -> bytes:
    """``event`` as a calendar app writes it (VTIMEZONE included): for vdir and CalDAV."""
    cal = icalendar.Calendar()
    cal.add("prodid", "-//person's calendar app//EN")
    cal.add("version", "2.0")
    vevent = icalendar.Event.new(uid=event.uid, summary=event.summary)
    vevent.add("dtstart", event.start)
    vevent.add("dtend", event.end)
    if event.transparent:
        vevent.add("transp", "TRANSPARENT")
    if event.cancelled:
        vevent.add("status", "CANCELLED")
    if event.weekly:
        vevent.add("rrule", {"freq": "weekly"})
    cal.add_component(vevent)
    cal.add_missing_timezones()
    return cal.to_ical()


def make_event(n: int = 1, **changes: Any) -> CallEvent:
    """A call event with a uid and call id derived from ``n``; ``changes`` override fields."""
    event = CallEvent(
        uid=f"call{n:04d}",
        call_id=f"c{n}",
        summary=f"Call Person {n}",
        description=(
            f'Do you know of anyone I might be able to spend 30 minutes talking to about "x{n}"?\n'
            "tel:+491701234567\n"
            f"{MARKER}\n\n"
        ),
        start=START + timedelta(days=n),
        end=START + timedelta(days=n, minutes=30),
        alarm_minutes=10,
    )
    return dataclasses.replace(event, **changes)


def by_uid(events: list[RemoteEvent]) -> dict[str, RemoteEvent]:
    uids = [event.uid for event in events]
    assert len(uids) == len(set(uids)), f"a uid listed twice: {uids}"
    return {event.uid: event for event in events}


def assert_same_instant_and_offset(got: datetime | None, want: datetime) -> None:
    assert got is not None
    assert got.tzinfo is not None and got.utcoffset() is not None, "times must be aware"
    assert got == want
    # the right zone: same UTC offset on that day, hence the same local wall time
    assert got.utcoffset() == want.utcoffset()
    assert got.replace(tzinfo=None) == want.replace(tzinfo=None)


class CalendarContract:
    """Shared tests; subclasses provide the ``calendar`` and ``edit_remote`` fixtures."""

    @pytest.fixture
    def add_foreign(self) -> AddForeign:
        pytest.skip("this backend's tests supply no add_foreign fixture")

    @pytest.fixture
    def add_foreign_event(self) -> AddForeignEvent:
        pytest.skip("this backend's tests supply no add_foreign_event fixture")

    @pytest.fixture
    def app(self) -> App:
        pytest.skip("this backend's tests supply no app fixture")

    # --- create / list -------------------------------------------------------------------

    def test_create_then_full_listing_has_our_fields(self, calendar: Calendar) -> None:
        event = make_event(1)
        etag = calendar.create(event)
        assert isinstance(etag, str) and etag

        changes = calendar.changes(None, {})
        listed = by_uid(changes.changed)
        assert set(listed) == {event.uid}
        got = listed[event.uid]
        assert got.call_id == event.call_id
        assert got.summary == event.summary
        assert got.description == event.description
        assert got.etag == etag
        assert_same_instant_and_offset(got.start, event.start)
        assert_same_instant_and_offset(got.end, event.end)
        assert changes.deleted == []

    def test_text_round_trips_exactly(self, calendar: Calendar) -> None:
        text = (
            'Ask about "Grüne Energie; Wind, Solar" \\ 🚀\n'
            "tel:+491701234567, mailto:a@b.example\n"
            "line with trailing punctuation;,\n"
            f"{MARKER}\n\n"
        )
        event = make_event(2, description=text, summary="Call Zoë O'Brien-Łukasz")
        calendar.create(event)
        got = by_uid(calendar.changes(None, {}).changed)[event.uid]
        assert got.description == text
        assert got.summary == event.summary

    def test_create_twice_is_one_event_with_the_same_etag(self, calendar: Calendar) -> None:
        event = make_event(3)
        first = calendar.create(event)
        second = calendar.create(event)
        assert second == first
        # a second create with other content (a retry after a crash) keeps what is there
        third = calendar.create(dataclasses.replace(event, summary="Call Someone Else"))
        assert third == first
        listed = calendar.changes(None, {}).changed
        assert [e.uid for e in listed] == [event.uid]
        assert listed[0].summary == event.summary

    def test_several_events_listed_once_each(self, calendar: Calendar) -> None:
        events = [make_event(n) for n in (4, 5, 6)]
        etags = {event.uid: calendar.create(event) for event in events}
        listed = by_uid(calendar.changes(None, {}).changed)
        assert {uid: e.etag for uid, e in listed.items()} == etags
        assert {uid: e.call_id for uid, e in listed.items()} == {
            event.uid: event.call_id for event in events
        }

    # --- update --------------------------------------------------------------------------

    def test_update_with_current_etag(self, calendar: Calendar) -> None:
        event = make_event(7)
        etag = calendar.create(event)
        moved = START + timedelta(days=20, hours=3)
        new = dataclasses.replace(
            event,
            description=event.description.replace("x7", "y7"),
            start=moved,
            end=moved + timedelta(minutes=45),
        )
        new_etag = calendar.update(new, etag)
        assert isinstance(new_etag, str) and new_etag and new_etag != etag
        got = by_uid(calendar.changes(None, {}).changed)[event.uid]
        assert got.etag == new_etag
        assert got.description == new.description
        assert_same_instant_and_offset(got.start, new.start)
        assert_same_instant_and_offset(got.end, new.end)

    def test_update_with_stale_etag_conflicts_and_keeps_the_persons_edit(
        self, calendar: Calendar, edit_remote: EditRemote
    ) -> None:
        event = make_event(8)
        etag = calendar.create(event)
        persons = event.description + "done\nref: Jane Roe <jane@example.org>"
        edit_remote(event.uid, description=persons)
        with pytest.raises(ConflictError):
            calendar.update(dataclasses.replace(event, summary="Call Overwritten"), etag)
        got = by_uid(calendar.changes(None, {}).changed)[event.uid]
        assert got.description == persons
        assert got.summary == event.summary

    def test_update_of_an_event_the_person_deleted_fails(
        self, calendar: Calendar, edit_remote: EditRemote
    ) -> None:
        event = make_event(9)
        etag = calendar.create(event)
        edit_remote(event.uid, delete=True)
        with pytest.raises((NotFoundError, ConflictError)):
            calendar.update(dataclasses.replace(event, summary="Call Again"), etag)
        assert event.uid not in by_uid(calendar.changes(None, {}).changed)

    # --- the phone as the event's location -----------------------------------------------

    def test_the_phone_is_the_location_and_dials(self, calendar: Calendar, app: App) -> None:
        event = make_event(40, location="+1 (415) 555-0100", tel="tel:+14155550100")
        calendar.create(event)
        seen = app.view(event.uid)
        assert seen.location == "+1 (415) 555-0100"
        assert seen.dial in ("tel:+14155550100", None)  # None: Google has no phone field
        bare = make_event(41)
        calendar.create(bare)
        assert app.view(bare.uid) == AppView(location=None, dial=None, apps_data=False)

    def test_rewrite_keeps_what_the_app_added_and_moves_our_location_along(
        self, calendar: Calendar, app: App
    ) -> None:
        event = make_event(42, location="+1 (415) 555-0100", tel="tel:+14155550100")
        calendar.create(event)
        app.touch(event.uid)  # e.g. the alarm dismissed: the etag changes, the text does not
        etag = by_uid(calendar.changes(None, {}).changed)[event.uid].etag
        new = dataclasses.replace(
            event,
            description=event.description.replace("x42", "y42"),
            location="+1 415 555 0199",
            tel="tel:+14155550199",
        )
        calendar.update(new, etag)
        seen = app.view(event.uid)
        assert seen.apps_data
        assert seen.location == "+1 415 555 0199"
        assert seen.dial in ("tel:+14155550199", None)
        assert by_uid(calendar.changes(None, {}).changed)[event.uid].description == (
            new.description
        )

    def test_rewrite_keeps_a_location_the_person_set(self, calendar: Calendar, app: App) -> None:
        event = make_event(43, location="+1 (415) 555-0100", tel="tel:+14155550100")
        calendar.create(event)
        app.touch(event.uid, location="Café Luna, Hauptstraße 5")
        etag = by_uid(calendar.changes(None, {}).changed)[event.uid].etag
        new = dataclasses.replace(
            event, description="new text\n" + MARKER + "\n\n", location="+1 415 555 0199"
        )
        calendar.update(new, etag)
        seen = app.view(event.uid)
        assert seen.apps_data
        assert seen.location == "Café Luna, Hauptstraße 5"
        got = by_uid(calendar.changes(None, {}).changed)[event.uid]
        assert got.description == new.description
        # and a later rewrite still keeps it
        calendar.update(dataclasses.replace(new, description="again\n" + MARKER), got.etag)
        assert app.view(event.uid).location == "Café Luna, Hauptstraße 5"

    def test_rewrite_without_a_phone_drops_only_our_location(
        self, calendar: Calendar, app: App
    ) -> None:
        event = make_event(44, location="+1 (415) 555-0100", tel="tel:+14155550100")
        etag = calendar.create(event)
        calendar.update(dataclasses.replace(event, location=None, tel=None), etag)
        seen = app.view(event.uid)
        assert (seen.location, seen.dial) == (None, None)

    # --- changes -------------------------------------------------------------------------

    def test_nothing_changed_means_nothing_reported(self, calendar: Calendar) -> None:
        events = [make_event(n) for n in (10, 11)]
        for event in events:
            calendar.create(event)
        first = calendar.changes(None, {})
        known = {e.uid: e.etag for e in first.changed}
        assert set(known) == {event.uid for event in events}
        second = calendar.changes(first.token, known)
        assert second.changed == []
        assert second.deleted == []
        third = calendar.changes(second.token, known)
        assert third.changed == []
        assert third.deleted == []

    def test_persons_description_edit_is_reported(
        self, calendar: Calendar, edit_remote: EditRemote
    ) -> None:
        event = make_event(12)
        other = make_event(13)
        calendar.create(event)
        calendar.create(other)
        first = calendar.changes(None, {})
        known = {e.uid: e.etag for e in first.changed}

        persons = event.description + "talked, great call\noffer: send her the article\n"
        edit_remote(event.uid, description=persons)
        second = calendar.changes(first.token, known)
        changed = by_uid(second.changed)
        assert set(changed) == {event.uid}  # the untouched one is not reported
        got = changed[event.uid]
        assert got.description == persons
        assert got.call_id == event.call_id
        assert got.etag != known[event.uid]
        assert second.deleted == []

        known[event.uid] = got.etag
        third = calendar.changes(second.token, known)
        assert third.changed == [] and third.deleted == []

    def test_persons_summary_edit_is_reported(
        self, calendar: Calendar, edit_remote: EditRemote
    ) -> None:
        event = make_event(14)
        calendar.create(event)
        first = calendar.changes(None, {})
        known = {e.uid: e.etag for e in first.changed}
        edit_remote(event.uid, summary="✓ " + event.summary)
        got = by_uid(calendar.changes(first.token, known).changed)[event.uid]
        assert got.summary == "✓ " + event.summary

    def test_persons_delete_is_reported(self, calendar: Calendar, edit_remote: EditRemote) -> None:
        event = make_event(15)
        kept = make_event(16)
        calendar.create(event)
        calendar.create(kept)
        first = calendar.changes(None, {})
        known = {e.uid: e.etag for e in first.changed}
        edit_remote(event.uid, delete=True)
        second = calendar.changes(first.token, known)
        assert event.uid in second.deleted
        assert kept.uid not in second.deleted
        assert event.uid not in {e.uid for e in second.changed}

        del known[event.uid]
        third = calendar.changes(second.token, known)
        assert third.changed == [] and third.deleted == []

    def test_persons_move_is_reported(self, calendar: Calendar, edit_remote: EditRemote) -> None:
        event = make_event(17)
        calendar.create(event)
        first = calendar.changes(None, {})
        known = {e.uid: e.etag for e in first.changed}
        new_start = datetime(2026, 7, 1, 16, 15, tzinfo=ZONE)
        new_end = new_start + timedelta(hours=1)
        edit_remote(event.uid, start=new_start, end=new_end)
        got = by_uid(calendar.changes(first.token, known).changed)[event.uid]
        assert got.start == new_start
        assert got.end == new_end
        assert got.start is not None and got.start.tzinfo is not None
        assert got.description == event.description

    # --- delete --------------------------------------------------------------------------

    def test_delete_by_us(self, calendar: Calendar) -> None:
        event = make_event(18)
        kept = make_event(19)
        etag = calendar.create(event)
        calendar.create(kept)
        first = calendar.changes(None, {})
        known = {e.uid: e.etag for e in first.changed}

        calendar.delete(event.uid, etag)
        assert set(by_uid(calendar.changes(None, {}).changed)) == {kept.uid}
        second = calendar.changes(first.token, known)
        assert event.uid in second.deleted
        assert kept.uid not in second.deleted
        # already gone: no error, with or without an etag
        calendar.delete(event.uid, etag)
        calendar.delete(event.uid, None)

    def test_delete_without_etag(self, calendar: Calendar) -> None:
        event = make_event(20)
        calendar.create(event)
        calendar.delete(event.uid, None)
        assert calendar.changes(None, {}).changed == []

    def test_delete_of_a_never_created_uid_is_no_error(self, calendar: Calendar) -> None:
        calendar.delete("call9999", None)

    # --- events that are not ours --------------------------------------------------------

    def test_events_not_ours_are_never_returned(
        self, calendar: Calendar, add_foreign: AddForeign
    ) -> None:
        add_foreign("foreign0001")
        event = make_event(22)
        calendar.create(event)
        first = calendar.changes(None, {})
        assert [e.uid for e in first.changed] == [event.uid]
        known = {e.uid: e.etag for e in first.changed}
        add_foreign("foreign0002")
        second = calendar.changes(first.token, known)
        assert second.changed == []
        assert second.deleted == []

    def test_check_describes_the_calendar(self, calendar: Calendar) -> None:
        description = calendar.check()
        assert isinstance(description, str) and description.strip()
        assert "\n" not in description.strip()

    # --- busy(): the person's own events block call slots ([calls] avoid_busy) --------------
    #
    # base.py: the times between start and end taken by the person's own events (not syncsvc's,
    # not all-day, not marked free), as aware pairs; README "Calls around your meetings":
    # recurring events are expanded. A cancelled event takes no time either (ics.py).

    def test_busy_lists_the_persons_events_that_overlap(
        self, calendar: Calendar, add_foreign_event: AddForeignEvent
    ) -> None:
        day = START.date() + timedelta(days=30)
        add_foreign_event(Foreign("meetinga", at(day, 10), at(day, 11)))
        add_foreign_event(Foreign("meetingb", at(day, 8, 30), at(day, 9, 15)))  # overlaps start
        add_foreign_event(Foreign("meetingc", at(day, 8), at(day, 9)))  # ends as the window opens
        add_foreign_event(Foreign("meetingd", at(day, 12), at(day, 13)))  # starts as it closes
        next_day = day + timedelta(days=1)
        add_foreign_event(Foreign("meetinge", at(next_day, 10), at(next_day, 11)))
        busy = busy_in(calendar, at(day, 9), at(day, 12))
        assert busy == [(at(day, 9), at(day, 9, 15)), (at(day, 10), at(day, 11))]

    def test_busy_ignores_our_own_call_events(
        self, calendar: Calendar, add_foreign_event: AddForeignEvent
    ) -> None:
        day = START.date() + timedelta(days=31)
        calendar.create(make_event(31, start=at(day, 17), end=at(day, 17, 20)))
        add_foreign_event(Foreign("meetingf", at(day, 18), at(day, 18, 30)))
        assert busy_in(calendar, at(day, 16), at(day, 20)) == [(at(day, 18), at(day, 18, 30))]

    def test_busy_ignores_all_day_free_and_cancelled_events(
        self, calendar: Calendar, add_foreign_event: AddForeignEvent
    ) -> None:
        day = START.date() + timedelta(days=32)
        add_foreign_event(Foreign("anniversa", day, day + timedelta(days=1), summary="Birthday"))
        add_foreign_event(Foreign("holidates", day - timedelta(days=1), day + timedelta(days=2)))
        add_foreign_event(Foreign("freeslot", at(day, 17), at(day, 18), transparent=True))
        add_foreign_event(Foreign("cancelled", at(day, 18), at(day, 19), cancelled=True))
        add_foreign_event(Foreign("realone", at(day, 19), at(day, 19, 30)))
        assert busy_in(calendar, at(day, 0), at(day, 23)) == [(at(day, 19), at(day, 19, 30))]

    def test_busy_expands_a_weekly_meeting(
        self, calendar: Calendar, add_foreign_event: AddForeignEvent
    ) -> None:
        first = START.date() + timedelta(days=33)
        add_foreign_event(Foreign("standup", at(first, 17, 30), at(first, 18), weekly=True))
        later = first + timedelta(weeks=3)
        assert busy_in(calendar, at(later, 17), at(later, 19)) == [
            (at(later, 17, 30), at(later, 18))
        ]
        # and not on the days in between
        assert busy_in(calendar, at(later, 17) - timedelta(days=2), at(later, 19)) == [
            (at(later, 17, 30), at(later, 18))
        ]

    def test_busy_keeps_a_weekly_meeting_on_the_wall_clock_across_dst(
        self, calendar: Calendar, add_foreign_event: AddForeignEvent
    ) -> None:
        first = date(2026, 3, 23)  # Berlin switches to summer time on Sunday 29 March
        add_foreign_event(Foreign("standupdst", at(first, 9), at(first, 9, 15), weekly=True))
        later = first + timedelta(weeks=2)
        assert busy_in(calendar, at(later, 8), at(later, 12)) == [(at(later, 9), at(later, 9, 15))]

    def test_busy_of_an_empty_window_is_empty(
        self, calendar: Calendar, add_foreign_event: AddForeignEvent
    ) -> None:
        day = START.date() + timedelta(days=34)
        add_foreign_event(Foreign("othertime", at(day, 10), at(day, 11)))
        assert busy_in(calendar, at(day, 12), at(day, 20)) == []


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=ZONE)


def busy_in(calendar: Calendar, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """``calendar.busy(start, end)`` checked for aware pairs, clipped to the window (the
    contract says which times are taken, not whether a backend clips) and sorted."""
    out = []
    for s, e in calendar.busy(start, end):
        assert s.tzinfo is not None and e.tzinfo is not None, "busy times must be aware"
        assert s < end and e > start, f"{s}-{e} lies outside {start}-{end}"
        out.append((max(s, start), min(e, end)))
    return sorted(out)
