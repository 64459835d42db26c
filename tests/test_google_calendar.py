"""GoogleCalendar against the loopback fake, through the real google-api-python-client."""

from __future__ import annotations

import dataclasses
import re
import socket
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from syncsvc.calendars.base import CallEvent
from syncsvc.calendars.google import GoogleCalendar, event_body, event_id, parse_when
from syncsvc.errors import (
    AuthError,
    BackendError,
    ConflictError,
    NotFoundError,
    RateLimitedError,
    UnreachableError,
)
from syncsvc.google_api import build_service

try:  # tests/ as a package (tests/__init__.py) or as a plain folder on sys.path
    from tests.calendar_contract import App, AppView, CalendarContract, Foreign
    from tests.google_fake import FakeGoogle, google_fake_fixture
except ModuleNotFoundError:
    from calendar_contract import App, AppView, CalendarContract, Foreign  # type: ignore[no-redef]
    from google_fake import FakeGoogle, google_fake_fixture  # type: ignore[no-redef]

google = google_fake_fixture()
ZONE = ZoneInfo("Europe/Berlin")
MARKER = "--- notes (write below this line) ---"
LIST = "/calendar/v3/calendars/primary/events"
SCOPE = "https://www.googleapis.com/auth/"


class Sleeps(list[float]):
    """An injectable sleep that records instead of waiting."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


def make_calendar(fake: FakeGoogle, sleep: Callable[[float], None], **kw: Any) -> GoogleCalendar:
    service = fake.service("calendar", "v3")  # signed in as production is: a token file
    return GoogleCalendar(service, sleep=sleep, **kw)


@pytest.fixture
def calendar(google: FakeGoogle, sleeps: Sleeps) -> Iterator[GoogleCalendar]:
    cal = make_calendar(google, sleeps)
    yield cal
    cal.close()


@pytest.fixture
def edit_remote(google: FakeGoogle) -> Callable[..., None]:
    def edit(
        uid: str,
        description: str | None = None,
        start: datetime | None = None,
        end: datetime | None = None,
        summary: str | None = None,
        delete: bool = False,
    ) -> None:
        eid = event_id(uid)
        if delete:
            google.ui_delete(eid)
            return
        if description is not None or summary is not None:
            google.ui_edit(eid, description=description, summary=summary)
        if start is not None or end is not None:
            ev = google.event(eid)
            google.ui_move(
                eid,
                start or parse_when(ev["start"]),  # type: ignore[arg-type]
                end or parse_when(ev["end"]),  # type: ignore[arg-type]
            )

    return edit


class TestGoogleContract(CalendarContract):
    """The shared backend contract, against the fake Google Calendar."""

    @pytest.fixture
    def add_foreign(self, google: FakeGoogle) -> Callable[[str], None]:
        def add(uid: str) -> None:
            start = datetime(2026, 6, 20, 9, tzinfo=ZONE)
            google.ui_create(f"Dentist {uid}", start, start + timedelta(hours=1), event_id=uid)

        return add

    @pytest.fixture
    def add_foreign_event(self, google: FakeGoogle) -> Callable[[Foreign], None]:
        def add(event: Foreign) -> None:
            google.ui_create(
                event.summary,
                event.start,
                event.end,
                event_id=event.uid,
                transparent=event.transparent,
                recurrence=["RRULE:FREQ=WEEKLY"] if event.weekly else None,
            )
            if event.cancelled:
                google.ui_delete(event.uid)

        return add

    @pytest.fixture
    def app(self, google: FakeGoogle) -> App:
        return GoogleApp(google)


class GoogleApp(App):
    """Google's web UI: a colour, another app's shared property, the location typed in."""

    def __init__(self, google: FakeGoogle) -> None:
        self.google = google

    def touch(self, uid: str, location: str | None = None) -> None:
        with self.google.lock:
            ev = self.google.calendars["primary"][event_id(uid)]
            ev["colorId"] = "5"
            ev.setdefault("extendedProperties", {})["shared"] = {"otherApp": "1"}
            if location is not None:
                ev["location"] = location
            self.google._touch(ev)

    def view(self, uid: str) -> AppView:
        ev = self.google.event(event_id(uid))
        shared = (ev.get("extendedProperties") or {}).get("shared") or {}
        return AppView(
            location=ev.get("location"),
            dial=None,
            apps_data=ev.get("colorId") == "5" and shared.get("otherApp") == "1",
        )


# --------------------------------------------------------------------------- helpers


def call(n: int, day: date, slot: int = 0) -> CallEvent:
    start = datetime.combine(day, datetime.min.time(), tzinfo=ZONE).replace(hour=17) + timedelta(
        minutes=40 * slot
    )
    return CallEvent(
        uid=f"call-{n}@syncsvc.example",
        call_id=str(n),
        summary=f"Call Person {n}",
        description=f"Do you know of anyone ...?\ntel:+491701234{n:03d}\n{MARKER}\n",
        start=start,
        end=start + timedelta(minutes=20),
        alarm_minutes=10,
    )


def plan_week(cal: GoogleCalendar) -> list[CallEvent]:
    monday = date(2026, 3, 23)  # the week Berlin switches to summer time (Sun 29 March)
    events = [
        call(day * 3 + slot, monday + timedelta(days=day), slot)
        for day in range(7)
        if day < 5
        for slot in range(3)
    ]
    for event in events:
        cal.create(event)
    return events


# --------------------------------------------------------------------------- the event


def test_event_id_is_a_valid_google_id() -> None:
    eid = event_id("call-1@syncsvc.example")
    assert re.fullmatch(r"[0-9a-v]{5,1024}", eid)
    assert eid == event_id("call-1@syncsvc.example") != event_id("call-2@syncsvc.example")


def test_event_body_has_zone_reminder_and_private_properties(
    google: FakeGoogle, calendar: GoogleCalendar
) -> None:
    event = call(1, date(2026, 3, 30))
    calendar.create(event)
    stored = google.event(event_id(event.uid))
    assert stored["start"] == {"dateTime": "2026-03-30T17:00:00+02:00", "timeZone": "Europe/Berlin"}
    assert stored["end"]["timeZone"] == "Europe/Berlin"
    assert stored["reminders"] == {
        "useDefault": False,
        "overrides": [{"method": "popup", "minutes": 10}],
    }
    assert stored["extendedProperties"]["private"]["syncsvcCall"] == "1"
    assert stored["extendedProperties"]["private"]["syncsvcUid"] == event.uid
    assert stored["summary"] == "Call Person 1"
    assert event_body(event)["id"] == stored["id"]


def test_the_phone_is_the_events_location(google: FakeGoogle, calendar: GoogleCalendar) -> None:
    event = dataclasses.replace(
        call(2, date(2026, 3, 30)), location="+1 (415) 555-0100", tel="tel:+14155550100"
    )
    calendar.create(event)
    stored = google.event(event_id(event.uid))
    assert stored["location"] == "+1 (415) 555-0100"
    bare = call(3, date(2026, 3, 31))  # no phone: no location
    calendar.create(bare)
    assert "location" not in google.event(event_id(bare.uid))


def test_rewrite_changes_only_our_fields(google: FakeGoogle, calendar: GoogleCalendar) -> None:
    event = dataclasses.replace(call(4, date(2026, 3, 30)), location="+1 (415) 555-0100")
    calendar.create(event)
    eid = event_id(event.uid)
    with google.lock:  # the person, in the web UI: a guest, their own reminder, a colour
        ev = google.calendars["primary"][eid]
        ev["attendees"] = [{"email": "jane@example.org"}]
        ev["reminders"] = {"useDefault": False, "overrides": [{"method": "email", "minutes": 60}]}
        ev["colorId"] = "11"
        ev["location"] = "Café Luna"
        google._touch(ev)
    etag = calendar.changes(None, {}).changed[0].etag
    new = dataclasses.replace(event, summary="Call Person Four", location="+1 415 555 0199")
    calendar.update(new, etag)
    stored = google.event(eid)
    assert stored["summary"] == "Call Person Four"
    assert stored["attendees"] == [{"email": "jane@example.org"}]
    assert stored["reminders"]["overrides"] == [{"method": "email", "minutes": 60}]
    assert stored["colorId"] == "11"
    assert stored["location"] == "Café Luna"
    private = stored["extendedProperties"]["private"]
    assert private["syncsvcCall"] == "4" and private["syncsvcUid"] == event.uid


# --------------------------------------------------------------------------- a week, web UI


def test_week_planned_then_web_ui_edit_delete_move_are_read_back(
    google: FakeGoogle, calendar: GoogleCalendar
) -> None:
    events = plan_week(calendar)
    assert len(google.events()) == 15
    first = calendar.changes(None, {})
    assert len(first.changed) == 15 and first.deleted == [] and first.token
    known = {e.uid: e.etag for e in first.changed}
    tuesday = next(e for e in first.changed if e.uid == events[3].uid)
    assert tuesday.start == events[3].start and tuesday.start.tzinfo is not None

    edited, deleted, moved = events[0], events[4], events[14]
    google.ui_write_notes(event_id(edited.uid), "done  great call\nref: Jane Roe <jane@x.org>")
    google.ui_edit(
        event_id(edited.uid),
        description=google.event(event_id(edited.uid))["description"] + "<br><b>offer:</b> cv",
    )
    google.ui_delete(event_id(deleted.uid))
    new_start = datetime(2026, 3, 28, 10, 30, tzinfo=ZONE)  # Saturday morning
    google.ui_move(event_id(moved.uid), new_start, new_start + timedelta(minutes=20))
    google.ui_create("Lunch", new_start, new_start + timedelta(hours=1))  # not ours

    second = calendar.changes(first.token, known)
    changed = {e.uid: e for e in second.changed}
    assert set(changed) == {edited.uid, moved.uid}
    assert second.deleted == [deleted.uid]
    html = changed[edited.uid].description
    # the web editor's HTML comes back as text: lines, spaces and <email> decoded
    assert "<br>" not in html and "&nbsp;" not in html and "<b>" not in html
    assert "ref: Jane Roe <jane@x.org>" in html and "\noffer: cv" in html
    assert changed[moved.uid].start == new_start
    assert changed[moved.uid].start.utcoffset() == timedelta(hours=1)
    assert changed[moved.uid].call_id == moved.call_id


@pytest.mark.parametrize("filtered_token", [True, False], ids=["filtered-token", "no-token"])
def test_second_sync_with_nothing_changed_is_one_request(
    google: FakeGoogle, calendar: GoogleCalendar, filtered_token: bool
) -> None:
    """Google does not document whether a privateExtendedProperty-filtered listing ends in a
    sync token: the one-request quiet poll holds both ways."""
    google.filtered_sync_tokens = filtered_token
    google.ui_create("Dentist", datetime(2026, 3, 24, 9, tzinfo=ZONE),
                     datetime(2026, 3, 24, 10, tzinfo=ZONE))  # fmt: skip
    plan_week(calendar)
    google.reset_counts()
    first = calendar.changes(None, {})
    assert google.count(LIST) == (1 if filtered_token else 2)  # + the unfiltered listing
    assert first.token
    known = {e.uid: e.etag for e in first.changed}
    second = calendar.changes(first.token, known)
    google.reset_counts()
    third = calendar.changes(second.token, known)
    assert google.count() == 1
    assert third.changed == [] and third.deleted == []
    assert len(first.changed) == 15  # syncsvc's events only, not the dentist
    seen = google.requests[0]
    assert seen.param("syncToken") == second.token
    # nothing but the token (and paging): Google refuses other filters with syncToken
    assert set(seen.query) <= {"syncToken", "maxResults", "alt", "pageToken"}


def test_the_fake_hands_out_sync_tokens_as_google_does(
    google: FakeGoogle, calendar: GoogleCalendar
) -> None:
    """No nextSyncToken for expanded or ordered listings; syncToken refuses every filter."""
    plan_week(calendar)
    events = calendar.service.events()

    def listing(**params: Any) -> dict[str, Any]:
        return dict(events.list(calendarId="primary", **params).execute())

    assert listing().get("nextSyncToken")
    assert "nextSyncToken" not in listing(singleEvents=True)
    assert "nextSyncToken" not in listing(singleEvents=True, orderBy="startTime")
    assert "nextSyncToken" not in listing(orderBy="updated")
    token = listing()["nextSyncToken"]
    from googleapiclient.errors import HttpError

    for bad in (
        {"timeMin": "2026-03-23T00:00:00Z"},
        {"timeMax": "2026-03-23T00:00:00Z"},
        {"updatedMin": "2026-03-23T00:00:00Z"},
        {"q": "Call"},
        {"orderBy": "updated"},
        {"iCalUID": "x@example.org"},
        {"privateExtendedProperty": "syncsvc=1"},
    ):
        with pytest.raises(HttpError) as err:
            listing(syncToken=token, **bad)
        assert err.value.resp.status == 400, bad


def test_our_own_update_is_not_reported_as_a_change(calendar: GoogleCalendar) -> None:
    events = plan_week(calendar)
    first = calendar.changes(None, {})
    known = {e.uid: e.etag for e in first.changed}
    new = dataclasses.replace(events[0], summary="Call Person 0 (2nd try)")
    known[new.uid] = calendar.update(new, known[new.uid])
    later = calendar.changes(first.token, known)
    assert later.changed == [] and later.deleted == []


def test_410_means_one_full_resync_without_duplicates(
    google: FakeGoogle, calendar: GoogleCalendar
) -> None:
    events = plan_week(calendar)
    first = calendar.changes(None, {})
    known = {e.uid: e.etag for e in first.changed}
    google.expire_sync_tokens()
    google.ui_write_notes(event_id(events[2].uid), "no answer")
    google.ui_delete(event_id(events[5].uid))
    google.reset_counts()

    again = calendar.changes(first.token, known)
    lists = [r for r in google.requests if r.path == LIST]
    assert len(lists) == 2  # the 410, then one full listing (one page)
    assert lists[0].param("syncToken") == first.token
    assert lists[1].param("syncToken") is None
    assert [e.uid for e in again.changed] == [events[2].uid]
    assert again.deleted == [events[5].uid]
    assert len(google.events(deleted=True)) == 15  # nothing written twice
    assert again.token and again.token != first.token
    google.reset_counts()
    known[events[2].uid] = again.changed[0].etag
    del known[events[5].uid]
    settled = calendar.changes(again.token, known)
    assert settled.changed == [] and settled.deleted == [] and google.count() == 1


def test_full_listing_pages_and_reports_purged_events(
    google: FakeGoogle, calendar: GoogleCalendar
) -> None:
    monday = date(2026, 1, 5)
    events = [call(n, monday + timedelta(days=n // 3), n % 3) for n in range(260)]
    for event in events:
        calendar.create(event)
    google.purge(event_id(events[7].uid))  # deleted so long ago Google no longer lists it
    google.reset_counts()
    known = {"call-gone@syncsvc.example": '"1"', events[7].uid: '"2"'}
    full = calendar.changes(None, known)
    assert google.count(LIST) == 2  # 250 + 9
    assert len({e.uid for e in full.changed}) == 259
    assert sorted(full.deleted) == sorted(known)


def test_cancelled_entry_with_only_an_id_maps_back_through_known(
    google: FakeGoogle, calendar: GoogleCalendar
) -> None:
    event = call(1, date(2026, 3, 30))
    calendar.create(event)
    first = calendar.changes(None, {})
    google.ui_delete(event_id(event.uid))
    # the fake lists a cancelled event as {id, etag, status} only, like Google may
    later = calendar.changes(first.token, {event.uid: first.changed[0].etag})
    assert later.deleted == [event.uid]
    stranger = calendar.changes(first.token, {})  # not known: nothing to say about it
    assert stranger.deleted == [] and stranger.changed == []


# --------------------------------------------------------------------------- create, update


def test_create_after_a_crash_answers_409_and_makes_no_duplicate(
    google: FakeGoogle, calendar: GoogleCalendar
) -> None:
    event = call(1, date(2026, 3, 30))
    etag = calendar.create(event)  # ...and the process dies before recording it
    google.reset_counts()
    restarted = make_calendar(google, Sleeps())
    assert restarted.create(event) == etag
    assert [r.method for r in google.requests] == ["POST", "GET"]
    assert len(google.events(deleted=True)) == 1


def test_create_over_an_event_the_person_deleted_does_not_resurrect_it(
    google: FakeGoogle, calendar: GoogleCalendar
) -> None:
    event = call(1, date(2026, 3, 30))
    calendar.create(event)
    first = calendar.changes(None, {})
    google.ui_delete(event_id(event.uid))
    etag = calendar.create(event)
    assert google.event(event_id(event.uid))["status"] == "cancelled"
    assert etag == google.event(event_id(event.uid))["etag"]
    later = calendar.changes(first.token, {event.uid: first.changed[0].etag})
    assert later.deleted == [event.uid] and later.changed == []


def test_update_sends_if_match_and_a_stale_etag_conflicts(
    google: FakeGoogle, calendar: GoogleCalendar
) -> None:
    event = call(1, date(2026, 3, 30))
    etag = calendar.create(event)
    new_etag = calendar.update(dataclasses.replace(event, summary="Call P. One"), etag)
    put = [r for r in google.requests if r.method == "PUT"][-1]
    assert put.headers["if-match"] == etag
    assert new_etag != etag
    google.ui_write_notes(event_id(event.uid), "talked")
    persons = google.event(event_id(event.uid))["description"]
    with pytest.raises(ConflictError) as err:
        calendar.update(dataclasses.replace(event, summary="Overwrite"), new_etag)
    assert "\n" not in str(err.value)
    assert google.event(event_id(event.uid))["description"] == persons


def test_updating_an_event_the_person_deleted_is_their_deletion(
    google: FakeGoogle, calendar: GoogleCalendar
) -> None:
    """Google answers 403 to an update of a cancelled event; that is "the person deleted it"
    (NotFoundError, which sync treats as such), never "run `syncsvc auth google`"."""
    event = call(1, date(2026, 3, 30))
    calendar.create(event)
    eid = event_id(event.uid)
    google.ui_delete(eid)
    current = google.event(eid)["etag"]
    with pytest.raises(NotFoundError) as err:
        calendar.update(dataclasses.replace(event, summary="Call P. One"), current)
    assert "auth google" not in str(err.value) and "deleted" in str(err.value)
    assert google.event(eid)["status"] == "cancelled"  # not resurrected


def test_an_update_refused_for_want_of_scope_is_still_an_auth_error(
    google: FakeGoogle, calendar: GoogleCalendar
) -> None:
    event = call(1, date(2026, 3, 30))
    etag = calendar.create(event)
    readonly = GoogleCalendar(
        google.service("calendar", "v3", scopes=[SCOPE + "contacts.readonly"]),
        sleep=lambda s: None,
    )
    with pytest.raises(AuthError) as err:
        readonly.update(dataclasses.replace(event, summary="x"), etag)
    assert err.value.status == 403 and "syncsvc auth google" in str(err.value)
    assert not isinstance(err.value, NotFoundError)


def test_freebusy_needs_more_than_the_events_scope(google: FakeGoogle) -> None:
    """NOTES: freebusy.query is refused with calendar.events alone - why busy() lists events."""
    from googleapiclient.errors import HttpError

    body = {"timeMin": "2026-03-23T00:00:00Z", "timeMax": "2026-03-24T00:00:00Z",
            "items": [{"id": "primary"}]}  # fmt: skip
    ours = google.service("calendar", "v3")  # syncsvc's scopes
    with pytest.raises(HttpError) as err:
        ours.freebusy().query(body=body).execute()
    assert err.value.resp.status == 403
    wider = google.service("calendar", "v3", scopes=[SCOPE + "calendar.readonly"])
    assert wider.freebusy().query(body=body).execute()["calendars"]["primary"]["busy"] == []


def test_requests_without_a_live_token_are_401(google: FakeGoogle) -> None:
    from syncsvc.google_api import build_service

    anonymous = build_service("calendar", "v3", None, 5, api_endpoint=google.calendar_endpoint)
    with pytest.raises(AuthError):
        GoogleCalendar(anonymous, sleep=lambda s: None).changes(None, {})
    people = google.service("people", "v1", scopes=[SCOPE + "calendar.events"])
    from googleapiclient.errors import HttpError

    with pytest.raises(HttpError) as err:
        people.people().connections().list(resourceName="people/me", personFields="names").execute()
    assert err.value.resp.status == 403
    assert google.count("/people/") == 1


def test_delete_is_idempotent_and_respects_the_persons_edit(
    google: FakeGoogle, calendar: GoogleCalendar
) -> None:
    event = call(1, date(2026, 3, 30))
    etag = calendar.create(event)
    google.ui_write_notes(event_id(event.uid), "done")
    with pytest.raises(ConflictError):
        calendar.delete(event.uid, etag)
    calendar.delete(event.uid, None)
    assert google.event(event_id(event.uid))["status"] == "cancelled"
    calendar.delete(event.uid, etag)  # gone already (410 / 412 on a cancelled one): fine
    calendar.delete("never-written", None)  # 404: fine


# --------------------------------------------------------------------------- errors, retries


@pytest.mark.parametrize("kind", ["429", "403", "403user", "500", "503"])
def test_rate_limit_and_server_error_bursts_are_retried(
    google: FakeGoogle, calendar: GoogleCalendar, sleeps: Sleeps, kind: str
) -> None:
    event = call(1, date(2026, 3, 30))
    google.fail_next(4, kind)
    etag = calendar.create(event)
    assert etag == google.event(event_id(event.uid))["etag"]
    assert len(google.events()) == 1
    # what a user sees: each failure waited out (no hammering), backing off, and the whole
    # burst costing seconds, not the minute's budget
    assert len(sleeps) == 4 and min(sleeps) > 0
    assert sleeps[-1] > sleeps[0]
    assert sum(sleeps) < 20
    google.fail_next(3, kind)
    first = calendar.changes(None, {})
    assert [e.uid for e in first.changed] == [event.uid]


def test_a_retried_insert_that_had_landed_is_not_duplicated(
    google: FakeGoogle, calendar: GoogleCalendar
) -> None:
    event = call(1, date(2026, 3, 30))
    etag = calendar.create(event)
    # as if the first answer had been lost: the insert is retried and meets its own event
    google.fail_next(1, "503")
    assert calendar.create(event) == etag
    assert len(google.events(deleted=True)) == 1


@pytest.mark.parametrize(("kind", "error"), [("429", RateLimitedError), ("503", BackendError)])
def test_retries_are_bounded(
    google: FakeGoogle, calendar: GoogleCalendar, sleeps: Sleeps, kind: str, error: type
) -> None:
    google.fail_next(1000, kind)
    with pytest.raises(error) as err:
        calendar.changes(None, {})
    assert sum(sleeps) <= 60
    assert 4 <= len(sleeps) <= 12
    assert "\n" not in str(err.value) and "gave up" in str(err.value)


def test_quota_exceeded_is_not_hammered(
    google: FakeGoogle, calendar: GoogleCalendar, sleeps: Sleeps
) -> None:
    google.fail_next(1, "403quota")
    with pytest.raises(RateLimitedError):
        calendar.changes(None, {})
    assert sleeps == []


def test_401_is_an_auth_error_with_the_sign_in_hint(
    google: FakeGoogle, calendar: GoogleCalendar
) -> None:
    # google-auth answers a 401 with a refresh and a retry, twice; a third 401 is final
    google.fail_next(3, "401")
    with pytest.raises(AuthError, match="syncsvc auth google"):
        calendar.create(call(1, date(2026, 3, 30)))
    assert google.count("/token") == 2


def test_a_single_401_is_refreshed_and_retried(
    google: FakeGoogle, calendar: GoogleCalendar
) -> None:
    google.fail_next(1, "401")
    calendar.create(call(1, date(2026, 3, 30)))
    assert google.count("/token") == 1 and len(google.events()) == 1


def test_unreachable_server(sleeps: Sleeps) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    service = build_service(
        "calendar", "v3", None, 2, api_endpoint=f"http://127.0.0.1:{port}/calendar/v3/"
    )
    cal = GoogleCalendar(service, sleep=sleeps)
    with pytest.raises(UnreachableError) as err:
        cal.changes(None, {})
    assert "\n" not in str(err.value)


def test_timeout_is_unreachable(sleeps: Sleeps) -> None:
    with socket.socket() as server:  # accepts, never answers
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        service = build_service(
            "calendar", "v3", None, 0.5, api_endpoint=f"http://127.0.0.1:{port}/calendar/v3/"
        )
        with pytest.raises(UnreachableError):
            GoogleCalendar(service, sleep=sleeps).changes(None, {})


def test_other_calendar_id_and_key(google: FakeGoogle, sleeps: Sleeps) -> None:
    google.add_calendar("team@group.calendar.google.com")
    cal = make_calendar(google, sleeps, calendar_id="team@group.calendar.google.com")
    assert cal.key == "google:team@group.calendar.google.com"
    cal.create(call(1, date(2026, 3, 30)))
    assert len(google.events("team@group.calendar.google.com")) == 1
    assert google.events() == []
    missing = make_calendar(google, sleeps, calendar_id="nope")
    with pytest.raises(BackendError, match="not found"):
        missing.check()


def test_parse_when() -> None:
    assert parse_when({"date": "2026-03-30"}) is None
    got = parse_when({"dateTime": "2026-03-30T15:00:00Z", "timeZone": "Europe/Berlin"})
    assert got == datetime(2026, 3, 30, 17, tzinfo=ZONE)
    assert got is not None and got.tzinfo == ZONE
    plain = parse_when({"dateTime": "2026-03-30T17:00:00+02:00"})
    assert plain is not None and plain.utcoffset() == timedelta(hours=2)
