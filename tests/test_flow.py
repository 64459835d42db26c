"""The whole loop on every backend: plan, the person writes in the event, sync reads it back.
Every grammar row of the contract, idempotence, missed, deleted, moved — on the local folder
(vdir), on CalDAV (a real Radicale) and on Google (the loopback fake), through one
:class:`~tests.flow_phones.Phone` per backend that edits as the person's app would."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import pytest

from syncsvc import events
from syncsvc.app import App, PersonInput
from syncsvc.calendars.caldav import CaldavCalendar
from syncsvc.calendars.google import GoogleCalendar
from syncsvc.clock import FixedClock
from syncsvc.config import Config
from syncsvc.store import calls as calls_db
from syncsvc.store import people as people_db
from tests.conftest import BERLIN, add_people
from tests.flow_phones import GooglePhone, OutlookPhone, Phone, RadicalePhone, VdirPhone
from tests.google_fake import FakeGoogle, google_fake_fixture
from tests.graph_fake import FakeGraph, graph_fake_fixture, microsoft_section, sign_in
from tests.radicale_server import PASSWORD, USER, RadicaleServer, radicale_fixture
from tests.test_caldav import Phone as CaldavPhone

FRIDAY = date(2026, 11, 27)
MONDAY = date(2026, 11, 30)

radicale = radicale_fixture("module")
google = google_fake_fixture()
graph = graph_fake_fixture()
PASSWORD_ENV = "SYNCSVC_TEST_FLOW_CALDAV_PASSWORD"


@dataclass
class Backend:
    """Apps wired to one calendar backend, and the person's app on that calendar."""

    name: str
    make_app: Callable[..., App]  # conftest's make_app(**sections), calendar sections added
    phone: Phone


def _with_calendar(sections: dict[str, Any], calendar: dict[str, Any]) -> dict[str, Any]:
    return {**sections, "calendar": {**calendar, **sections.get("calendar", {})}}


@pytest.fixture(params=["vdir", "caldav", "google", "microsoft"])
def backend(
    request: pytest.FixtureRequest,
    make_app: Callable[..., App],
    make_config: Callable[..., Config],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Backend]:
    if request.param == "vdir":
        yield Backend("vdir", make_app, VdirPhone(make_config().calendar_path))
    elif request.param == "caldav":
        server: RadicaleServer = request.getfixturevalue("radicale")
        monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
        section = {
            "backend": "caldav",
            "url": server.url,
            "username": USER,
            "calendar": f"Calls {uuid.uuid4().hex[:8]}",
            "password_env": PASSWORD_ENV,
            "timeout_seconds": 5,
        }
        probe = CaldavCalendar.from_config(make_config(calendar=section))
        probe.check()  # create the calendar, so the phone can open it
        device = CaldavPhone(server, probe._collection_path)
        probe.close()
        yield Backend(
            "caldav", lambda **kw: make_app(**_with_calendar(kw, section)), RadicalePhone(device)
        )
        device.client.close()
    elif request.param == "microsoft":
        outlook: FakeGraph = request.getfixturevalue("graph")
        cal_section = {"backend": "microsoft", "timeout_seconds": 5}
        ms_section = microsoft_section(outlook)
        sign_in(make_config(calendar=cal_section, microsoft=ms_section), outlook)

        def make_ms(**sections: Any) -> App:
            return make_app(**_with_calendar(sections, cal_section), microsoft=ms_section)

        yield Backend("microsoft", make_ms, OutlookPhone(outlook))
    else:
        fake: FakeGoogle = request.getfixturevalue("google")

        def make(**sections: Any) -> App:
            app = make_app(**_with_calendar(sections, {"backend": "google"}))
            service = fake.service("calendar", "v3", config=app.config)
            app._calendar = GoogleCalendar(service, sleep=lambda s: None)
            return app

        yield Backend("google", make, GooglePhone(fake))


@pytest.fixture
def setup(backend: Backend, clock: FixedClock) -> tuple[App, Phone, FixedClock]:
    app = backend.make_app(calls={"per_day": 3})
    add_people(app, 6)
    app.set_topic('renewable "energy" policy — Übergang')
    return app, backend.phone, clock


def todays(app: App, day: date = FRIDAY) -> list[calls_db.Call]:
    return calls_db.on_day(app.store.conn, day)


def test_plan_writes_one_event_per_call_with_the_question(setup: Any) -> None:
    app, phone, _ = setup
    planned = app.plan()
    assert len(planned) == 3
    assert phone.call_ids() == sorted(c.id for c in planned)
    ev = phone.event(planned[0].id)
    desc = ev.description
    assert (
        "Do you know of anyone I might be able to spend 30 minutes talking to about "
        'renewable "energy" policy — Übergang?'
    ) in desc
    assert desc.rstrip().endswith("--- notes (write below this line) ---")
    assert ev.summary == f"Call {planned[0].person_name}"
    assert ev.start.tzinfo is not None
    assert ev.start == planned[0].start
    assert ev.call_marker == planned[0].id


def test_planning_again_writes_nothing_new(setup: Any) -> None:
    app, phone, _ = setup
    first = app.plan()
    versions = phone.versions()
    assert len(versions) == 3
    again = app.plan()
    assert [c.id for c in first] == [c.id for c in again]
    assert phone.versions() == versions


def test_dry_run_changes_nothing(setup: Any) -> None:
    app, phone, _ = setup
    planned = app.plan(dry_run=True)
    assert len(planned) == 3
    assert phone.call_ids() == []
    assert app.store.conn.execute("SELECT count(*) FROM calls").fetchone()[0] == 0


def _one(setup: Any, notes: str, **kw: Any) -> tuple[App, calls_db.Call]:
    app, phone, clock = setup
    call = app.plan()[0]
    phone.write(call.id, notes, **kw)
    clock.set(datetime(2026, 11, 27, 20, 0, tzinfo=BERLIN))
    app.sync()
    got = calls_db.get(app.store.conn, call.id)
    assert got is not None
    return app, got


@pytest.mark.parametrize(
    ("notes", "outcome"),
    [
        ("done\nGreat chat about grid storage.", "done"),
        ("Called!", "done"),
        ("✓", "done"),
        ("[x] talked 20 min", "done"),
        ("no answer", "no_answer"),
        ("Left a voicemail.", "no_answer"),
        ("couldn't reach him", "no_answer"),
        ("VM", "no_answer"),
        ("skip", "skipped"),
        ("She's moving to Lisbon, says hi", "done"),
    ],
)
def test_outcomes(setup: Any, notes: str, outcome: str) -> None:
    _, call = _one(setup, notes)
    assert call.outcome == outcome
    assert call.notes == notes.strip()


def test_done_updates_last_contact(setup: Any) -> None:
    app, call = _one(setup, "done")
    person = people_db.get(app.store.conn, call.person_id)
    assert person is not None and person.last_contacted == "2026-11-27"


def test_title_check_mark_means_done(setup: Any) -> None:
    app, phone, _clock = setup
    call = app.plan()[0]
    phone.write(call.id, "", title=f"✓ Call {call.person_name}")
    app.sync()
    assert calls_db.get(app.store.conn, call.id).outcome == "done"  # type: ignore[union-attr]


def test_reschedule_makes_a_retry_on_that_day(setup: Any) -> None:
    app, call = _one(setup, "reschedule tuesday")
    phone = setup[1]
    assert call.outcome == "rescheduled"
    assert call.follow_up is None
    retry = [
        c
        for c in calls_db.on_day(app.store.conn, date(2026, 12, 1))
        if c.person_id == call.person_id
    ]
    assert [(c.kind, c.origin_call, c.outcome) for c in retry] == [("retry", call.id, "planned")]
    # and it is in the calendar after the next sync
    app.sync()
    assert phone.has(retry[0].id)


def test_later_goes_to_the_next_planning_day(setup: Any) -> None:
    app, call = _one(setup, "later")
    retry = calls_db.next_open(app.store.conn, call.person_id)
    assert retry == MONDAY


def test_referral_line_adds_a_person_referred_by_the_callee(setup: Any) -> None:
    app, call = _one(setup, "done\nref: Jane Roe <jane@example.org> +1 555 0100")
    assert call.referrals == ["Jane Roe"]
    jane = people_db.find(app.store.conn, "jane@example.org")[0]
    assert jane.referred_by == call.person_id
    assert jane.phones and jane.phones[0][0] == "+1 555 0100"
    # called soon: the referral lane comes first on the next planning day
    monday = app.plan(MONDAY)
    assert {c.person_id: c.kind for c in monday}[jane.id] == "referral"


def test_referral_matches_an_existing_person_by_email(setup: Any) -> None:
    app, phone, _clock = setup
    known = app.add_person(PersonInput(name="Jane R.", emails=["JANE@example.org"]))
    before = people_db.count(app.store.conn)
    # a call to someone else (the rotation's shuffle is random: Jane may be called today too)
    call = next(c for c in app.plan() if c.person_id != known)
    phone.write(call.id, "done\nref: Jane Roe (jane@example.org)")
    app.sync()
    assert people_db.count(app.store.conn) == before
    got = calls_db.get(app.store.conn, call.id)
    assert got is not None and got.referrals == ["Jane R."]
    assert people_db.get(app.store.conn, known).referred_by == call.person_id  # type: ignore[union-attr]


def test_offer_and_follow_up(setup: Any) -> None:
    app, call = _one(setup, "done\noffer: send her the article\nfollow up in 2 weeks")
    assert call.offers == ["send her the article"]
    assert call.follow_up == date(2026, 12, 11)
    status = app.status()
    assert status["open_offers"][0]["text"] == "send her the article"
    follow = app.plan(date(2026, 12, 11))
    assert [c.kind for c in follow if c.person_id == call.person_id] == ["follow_up"]


def test_html_notes_as_google_writes_them(setup: Any) -> None:
    notes = (
        '<b>Done</b>&nbsp;- lovely call<br>ref: Jane Roe &lt;<a href="mailto:jane@example.org">'
        "jane@example.org</a>&gt;<br>offer:&nbsp;send the article"
    )
    _app, call = _one(setup, notes, html=True)
    assert call.outcome == "done"
    assert call.referrals == ["Jane Roe"]
    assert call.offers == ["send the article"]
    assert (
        call.notes
        == "Done - lovely call\nref: Jane Roe <jane@example.org>\noffer: send the article"
    )


def test_sync_twice_changes_nothing(setup: Any) -> None:
    app, phone, _clock = setup
    call = app.plan()[0]
    phone.write(
        call.id, "done\nref: Jane Roe <jane@example.org>\noffer: the article\nfollow up in 1 week"
    )
    app.sync()

    def snapshot() -> list[Any]:
        conn = app.store.conn
        return [
            conn.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
            for t in ("people", "calls", "referrals", "offers", "addresses")
        ]

    before = [list(map(tuple, rows)) for rows in snapshot()]
    app.sync()
    app.sync()
    assert [list(map(tuple, rows)) for rows in snapshot()] == before


class Killed(BaseException):
    """A kill: not an ``Exception``, so nothing in syncsvc catches it (as SIGKILL)."""


def test_a_kill_before_a_receipt_is_sent_loses_no_line_it_repeats(
    setup: Any, backend: Backend, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the crash harness: killed after a receipt was recorded as being sent and
    before it was, the next read took the receipt for the event's own, and the person's lines
    it repeats ("offer: ...") for syncsvc's: the offer was undone."""
    app, phone, _ = setup
    call = app.plan()[0]
    phone.write(call.id, "done\nref: Jane Roe <jane@example.org>\noffer: offer number 16")
    clock.set(datetime(2026, 11, 27, 20, 0, tzinfo=BERLIN))

    def killed(*args: Any, **kw: Any) -> str:
        raise Killed("before the receipt is sent")

    monkeypatch.setattr(app.calendar, "update", killed)
    with pytest.raises(Killed):
        app.sync()
    app.close()
    fresh = backend.make_app(calls={"per_day": 3})
    fresh.sync()
    got = calls_db.get(fresh.store.conn, call.id)
    assert got is not None and got.offers == ["offer number 16"]
    assert got.referrals == ["Jane Roe"]
    desc = phone.event(call.id).description
    assert desc.count(events.RECEIPT_LINE) == 1
    assert events.user_text(desc, None, desc[desc.index(events.RECEIPT_LINE) :]).endswith(
        "offer: offer number 16"
    )


def test_a_note_in_an_event_whose_create_was_not_recorded_is_read(
    setup: Any, backend: Backend, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the model: killed between a remote create and its record, the person writes
    their note into that event before the next run; the redone create used to record the
    edited event's etag as syncsvc's own, so the note was never read. (A vdir records first:
    the event is not in place until then, so the person writes into the one the next run
    puts there.)"""
    from syncsvc import sync as sync_mod

    app, phone, _ = setup
    real = sync_mod._mark_written

    def killed(*args: Any, **kw: Any) -> None:
        raise Killed("after create")

    monkeypatch.setattr(sync_mod, "_mark_written", killed)
    with pytest.raises(Killed):
        app.plan()
    monkeypatch.setattr(sync_mod, "_mark_written", real)
    app.close()
    fresh = backend.make_app(calls={"per_day": 3})
    if backend.name == "vdir":
        assert phone.call_ids() == []
        fresh.plan()
    (call_id,) = phone.call_ids()[:1]
    phone.write(call_id, "done\nref: Jane Roe <jane@example.org>")
    clock.set(clock.now() + timedelta(hours=12))
    fresh.plan()  # redoes the create (remote): the event is there, as the person left it
    fresh.sync()
    call = calls_db.get(fresh.store.conn, call_id)
    assert call is not None and call.outcome == "done"
    assert "Jane Roe" in (call.notes or "")


def test_a_day_an_event_was_moved_away_from_can_be_planned_again(backend: Backend) -> None:
    """Found by the model: the person moves Monday's call to Tuesday and skips it; Monday has
    a free slot again and the planner picks the same person there, whose call id (install,
    day, person) the moved call still has: ``plan`` failed with an internal error (UNIQUE
    constraint failed: calls.id)."""
    app = backend.make_app(calls={"per_day": 1})
    add_people(app, 1)
    phone = backend.phone
    (moved,) = app.plan(MONDAY)
    phone.write(moved.id, start=phone.event(moved.id).start + timedelta(hours=24))
    app.sync()
    phone.write(moved.id, "\nskip")
    app.sync()
    (again,) = app.plan(MONDAY)
    assert again.id != moved.id and again.person_id == moved.person_id
    assert again.day == MONDAY
    assert sorted(phone.call_ids()) == sorted([moved.id, again.id])
    assert phone.event(again.id).start.date() == MONDAY
    assert app.plan(MONDAY) == [again]  # planning again changes nothing


def test_edited_notes_are_read_again_without_doubling(setup: Any) -> None:
    app, phone, _clock = setup
    call = app.plan()[0]
    phone.write(call.id, "done\nref: Jane Roe <jane@example.org>")
    app.sync()
    phone.write(call.id, "\noffer: intro to Sam")
    app.sync()
    got = calls_db.get(app.store.conn, call.id)
    assert got is not None
    assert got.referrals == ["Jane Roe"]
    assert got.offers == ["intro to Sam"]
    assert len(people_db.find(app.store.conn, "jane@example.org")) == 1


def test_a_call_with_nothing_written_becomes_missed_and_is_retried(setup: Any) -> None:
    app, _phone, clock = setup
    planned = app.plan()
    clock.set(datetime(2026, 11, 28, 20, 0, tzinfo=BERLIN))
    app.sync()
    assert {c.outcome for c in todays(app)} == {"missed"}
    # [calls] retry_after_days = [3, ...]: Friday's missed calls come back on Wednesday
    clock.set(datetime(2026, 12, 2, 8, 0, tzinfo=BERLIN))
    tuesday = app.plan()
    retried = {c.person_id for c in tuesday if c.kind == "retry"}
    assert retried == {c.person_id for c in planned}


def test_people_awaiting_a_retry_are_not_free_so_a_day_gets_fewer_calls(
    backend: Backend, clock: FixedClock
) -> None:
    """Issue 15, the planner's promise where it bends: 3 people, per_day = 2, Friday's two
    calls missed. Monday (and Tuesday) those two await their retry and are not free: exactly 1
    call, to the third; Wednesday (3 planning days on) the 2 retries."""
    app = backend.make_app(calls={"per_day": 2})
    people = add_people(app, 3)
    friday = app.plan()
    assert len(friday) == 2
    clock.set(datetime(2026, 11, 30, 8, 0, tzinfo=BERLIN))
    app.sync()
    assert {c.outcome for c in todays(app)} == {"missed"}
    (other,) = set(people) - {c.person_id for c in friday}
    monday = app.plan()
    assert [(c.person_id, c.kind) for c in monday] == [(other, "rotation")]
    backend.phone.write(monday[0].id, "done")
    clock.set(datetime(2026, 12, 1, 8, 0, tzinfo=BERLIN))
    app.sync()
    tuesday = app.plan()
    assert [(c.person_id, c.kind) for c in tuesday] == [(other, "rotation")]
    backend.phone.write(tuesday[0].id, "done")
    clock.set(datetime(2026, 12, 2, 8, 0, tzinfo=BERLIN))
    app.sync()
    wednesday = app.plan()
    assert sorted((c.person_id, c.kind) for c in wednesday) == sorted(
        (c.person_id, "retry") for c in friday
    )
    assert sorted(backend.phone.call_ids()) == sorted(
        c.id for c in [*friday, *monday, *tuesday, *wednesday]
    )


def test_a_deleted_event_counts_as_skipped_and_is_not_written_again(setup: Any) -> None:
    app, phone, _clock = setup
    call = app.plan()[0]
    phone.delete(call.id)
    app.sync()
    assert calls_db.get(app.store.conn, call.id).outcome == "skipped"  # type: ignore[union-attr]
    app.plan()
    app.sync()
    assert not phone.has(call.id)


def test_a_moved_event_keeps_its_new_time(setup: Any) -> None:
    app, phone, _clock = setup
    call = app.plan()[0]
    new_start = datetime(2026, 11, 27, 12, 15, tzinfo=BERLIN)
    phone.write(call.id, "", start=new_start)
    app.sync()
    got = calls_db.get(app.store.conn, call.id)
    assert got is not None and got.start == new_start and got.outcome == "planned"
    app.set_topic("something else entirely")
    app.sync()
    assert phone.event(call.id).start == new_start


def test_a_new_topic_refreshes_untouched_future_events_only(setup: Any) -> None:
    app, phone, _clock = setup
    a, b, _ = app.plan()
    phone.write(a.id, "my own words")
    app.sync()
    app.set_topic("urban farming")
    app.sync()
    assert "urban farming" in phone.event(b.id).description
    desc_a = phone.event(a.id).description
    assert "my own words" in desc_a and "urban farming" not in desc_a


def test_a_quiet_poll_rebuilds_nothing_and_writes_nothing(
    setup: Any, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from syncsvc import sync as calendar_sync

    app, _phone, _clock = setup
    app.plan()
    app.sync()
    built: list[str] = []
    real = calendar_sync.build_event

    def counting(conn: Any, config: Any, call: calls_db.Call) -> Any:
        built.append(call.id)
        return real(conn, config, call)

    monkeypatch.setattr(calendar_sync, "build_event", counting)
    before = app.store.conn.total_changes
    app.sync()
    app.sync()
    assert built == []  # nothing the events' text is made of has changed
    # not even the same sync token again; Google (and Graph: a new delta link) hands out a new
    # one on every listing, and that one row (per poll) is all that is written
    token_rows = 2 if backend.name in ("google", "microsoft") else 0
    assert app.store.conn.total_changes == before + token_rows


def test_a_topic_set_by_another_process_reaches_the_daemons_next_poll(
    setup: Any, backend: Backend
) -> None:
    daemon, phone, _clock = setup
    planned = daemon.plan()
    daemon.sync()
    daemon.sync()  # quiet: the next poll would skip the refresh if nothing changed
    backend.make_app(calls={"per_day": 3}).set_topic("urban farming")  # `syncsvc topic`
    daemon.sync()
    for call in planned:
        assert "urban farming" in phone.event(call.id).description


def test_a_store_reopened_between_polls_refreshes(
    setup: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from syncsvc.store import Store

    app, phone, _clock = setup
    (call, *_) = app.plan()
    # a new connection counts from scratch: its marks may equal the old one's by chance
    monkeypatch.setattr(Store, "change_mark", lambda self: (0, 1))
    app.sync()
    app.close()
    with app.store.tx() as conn:
        conn.execute("UPDATE people SET org = 'Acme Wind' WHERE id = ?", (call.person_id,))
    app.sync()
    assert "Acme Wind" in phone.event(call.id).description


def test_without_a_topic_the_question_still_reads_well(backend: Backend) -> None:
    app = backend.make_app()
    add_people(app, 1)
    call = app.plan()[0]
    desc = backend.phone.event(call.id).description
    assert "talking to about the field you want to explore?" in desc
    assert "syncsvc topic" in desc


def test_status_and_calls(setup: Any) -> None:
    app, phone, clock = setup
    planned = app.plan()
    phone.write(planned[0].id, "done\nref: Jane Roe <jane@example.org>")
    phone.write(planned[1].id, "no answer")
    clock.set(datetime(2026, 11, 27, 20, 0, tzinfo=BERLIN))
    app.sync()
    status = app.status()
    assert status["done_this_week"] == 1
    assert status["streak"] == 1
    assert status["referrals"] == 1
    assert sorted(c["outcome"] for c in status["today"]) == ["done", "no_answer", "planned"]
    history = app.calls(person=planned[0].person_name)
    assert [c.as_json()["referrals"] for c in history] == [["Jane Roe"]]
    assert app.calls(since=date(2026, 11, 28)) == []


def test_past_window_plans_the_next_planning_day(setup: Any) -> None:
    app, _, clock = setup
    clock.set(datetime(2026, 11, 27, 19, 30, tzinfo=BERLIN))
    assert {c.day for c in app.plan()} == {MONDAY}


def test_crash_between_remote_write_and_local_commit_doubles_nothing(
    setup: Any, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A remote calendar has the event before syncsvc records it; vdir records first and
    makes the event visible only after (so the person never sees an unrecorded one)."""
    app, phone, _clock = setup
    from syncsvc import sync as sync_mod

    real = sync_mod.calls_db.upsert_event_state

    def crash_after_write(conn: Any, calendar: str, call_id: str, uid: str, **kw: Any) -> None:
        if kw.get("state") == "written":
            raise KeyboardInterrupt("killed")
        real(conn, calendar, call_id, uid, **kw)

    monkeypatch.setattr(sync_mod.calls_db, "upsert_event_state", crash_after_write)
    with pytest.raises(KeyboardInterrupt):
        app.plan()
    monkeypatch.setattr(sync_mod.calls_db, "upsert_event_state", real)
    assert len(phone.call_ids()) == (0 if backend.name == "vdir" else 1)
    app.sync()
    assert len(phone.call_ids()) == 3
    states = app.store.conn.execute("SELECT state, count(*) FROM calendar_events GROUP BY state")
    assert dict(states.fetchall()) == {"written": 3}


def test_a_kill_after_a_topic_rewrite_leaves_the_event_ours_to_refresh(
    setup: Any, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stale-event defect (issue 15): killed between ``calendar.update`` and its record,
    the event carries the new text; the next run must read that as syncsvc's, not as the
    person's edit, so a later topic still reaches it (and no receipt is written into it)."""
    from syncsvc import sync as sync_mod

    app, phone, _clock = setup
    app.plan()
    app.sync()
    app.set_topic("urban farming")
    real = sync_mod._mark_written
    updates: list[str] = []

    def killed(store: Any, calendar: Any, event: Any, etag: str) -> None:
        if "urban farming" in event.description:
            updates.append(event.call_id)
            raise KeyboardInterrupt("killed")
        real(store, calendar, event, etag)

    monkeypatch.setattr(sync_mod, "_mark_written", killed)
    with pytest.raises(KeyboardInterrupt):
        app.sync()
    monkeypatch.setattr(sync_mod, "_mark_written", real)
    app.close()
    assert updates and "urban farming" in phone.event(updates[0]).description
    fresh = backend.make_app(calls={"per_day": 3})
    fresh.sync()
    fresh.set_topic("tidal power")
    fresh.sync()
    for call_id in phone.call_ids():
        desc = phone.event(call_id).description
        assert "tidal power" in desc and "urban farming" not in desc, call_id
        assert events.RECEIPT_LINE not in desc
    state = calls_db.event_state(fresh.store.conn, fresh.calendar.key, updates[0])
    assert state is not None and not state.edited and not state.rewriting
    assert calls_db.get(fresh.store.conn, updates[0]).prep_notes in (None, "")  # type: ignore[union-attr]


def test_a_killed_rewrite_then_a_refused_one_leaves_the_event_syncsvcs(
    setup: Any, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the model: a rewrite (topic A) killed after its write; before any read, the
    topic changes again and ``plan`` tries a rewrite to B, which the calendar refuses (the
    event changed: by the first write). The record of text A was replaced by B's, so the next
    read saw neither of syncsvc's texts on the event, took it for the person's edit, and the
    event never got a topic again."""
    from syncsvc import sync as sync_mod

    app, phone, _clock = setup
    app.plan()
    app.sync()
    app.set_topic("urban farming")
    real = sync_mod._mark_written
    killed_ids: list[str] = []

    def killed(store: Any, calendar: Any, event: Any, etag: str) -> None:
        killed_ids.append(event.call_id)
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(sync_mod, "_mark_written", killed)
    with pytest.raises(KeyboardInterrupt):
        app.plan()  # the first rewrite is written, not recorded
    monkeypatch.setattr(sync_mod, "_mark_written", real)
    app.close()
    (first,) = killed_ids
    fresh = backend.make_app(calls={"per_day": 3})
    fresh.set_topic("soil science")
    fresh.plan()  # refused for ``first`` (changed since its etag), written for the others
    assert "urban farming" in phone.event(first).description
    fresh.sync()
    fresh.set_topic("tidal power")
    fresh.sync()
    for call_id in phone.call_ids():
        assert "tidal power" in phone.event(call_id).description, call_id
    state = calls_db.event_state(fresh.store.conn, fresh.calendar.key, first)
    assert state is not None and not state.edited and not state.rewriting


def test_a_kill_after_a_receipt_is_written_neither_doubles_it_nor_reads_it_as_a_note(
    setup: Any, backend: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Found by the model (tests/test_model.py): killed between the receipt's write and its
    record, the next read took the receipt for the person's text and appended a second one."""
    from syncsvc import sync as sync_mod

    app, phone, clock = setup
    (call, *_) = app.plan()
    phone.write(call.id, "done\noffer: intro to Sam")
    clock.set(datetime(2026, 11, 27, 20, 0, tzinfo=BERLIN))

    def killed(*args: Any, **kw: Any) -> None:
        raise KeyboardInterrupt("killed")

    real = sync_mod.calls_db.set_receipt
    monkeypatch.setattr(sync_mod.calls_db, "set_receipt", killed)
    with pytest.raises(KeyboardInterrupt):
        app.sync()
    monkeypatch.setattr(sync_mod.calls_db, "set_receipt", real)
    app.close()
    assert phone.event(call.id).description.count(events.RECEIPT_LINE) == 1
    fresh = backend.make_app(calls={"per_day": 3})
    fresh.sync()
    fresh.sync()
    assert phone.event(call.id).description.count(events.RECEIPT_LINE) == 1
    got = calls_db.get(fresh.store.conn, call.id)
    assert got is not None and got.outcome == "done"
    assert events.RECEIPT_LINE not in (got.notes or "") and "intro to Sam" in (got.notes or "")
    state = calls_db.event_state(fresh.store.conn, fresh.calendar.key, call.id)
    assert state is not None and state.receipt_sending is None and state.receipt


def test_plan_within_days_range(setup: Any) -> None:
    app, _, _ = setup
    planned = app.plan(FRIDAY, 2)
    assert {c.day for c in planned} == {FRIDAY, MONDAY}
    assert all(c.start.astimezone(BERLIN).hour in (17, 18) for c in planned)
    assert len(planned) == 6
    assert planned[0].start.utcoffset() == timedelta(hours=1)


def test_an_app_that_drops_our_x_property_is_still_read(setup: Any) -> None:
    app, phone, _ = setup
    call = app.plan()[0]
    phone.drop_marker(call.id, "done\nGood talk")
    app.sync()
    got = calls_db.get(app.store.conn, call.id)
    assert got is not None and got.outcome == "done" and got.notes == "done\nGood talk"


def test_a_win_plans_one_update_call_to_everyone_up_the_referral_chain(
    backend: Backend, clock: FixedClock
) -> None:
    app = backend.make_app(calls={"per_day": 3})
    add_people(app, 5, prefix="Other")
    a = app.add_person(PersonInput(name="Ana First", emails=["ana@example.org"]))
    b = app.add_person(
        PersonInput(name="Ben Second", emails=["ben@example.org"], referred_by="ana@example.org")
    )
    c = app.add_person(
        PersonInput(name="Cleo Third", emails=["cleo@example.org"], referred_by="ben@example.org")
    )
    phone = backend.phone
    with app.store.tx() as conn:  # Cleo is called on Friday
        calls_db.insert(
            conn,
            call_id="win-call",
            person_id=c,
            day=FRIDAY,
            start=datetime(2026, 11, 27, 17, tzinfo=BERLIN),
            end=datetime(2026, 11, 27, 17, 20, tzinfo=BERLIN),
            tz="Europe/Berlin",
            kind="referral",
        )
    app.sync()
    phone.write("win-call", "done\nwin: got an interview at Acme")
    clock.set(datetime(2026, 11, 27, 20, 0, tzinfo=BERLIN))
    app.sync()
    monday = app.plan(MONDAY)
    updates = {x.person_id: x for x in monday if x.kind == "follow_up"}
    assert set(updates) == {a, b}  # not Cleo: the win is hers (issue 13)
    desc = phone.event(updates[a].id).description
    assert "Tell them: got an interview at Acme" in desc
    # once: the next days plan no more update calls, and re-reading the note adds none
    app.sync()
    for day in (date(2026, 12, 1), date(2026, 12, 2)):
        assert [x for x in app.plan(day) if x.kind == "follow_up"] == []
    (win,) = app.status()["wins"]
    assert win["chain"] == ["Cleo Third", "Ben Second", "Ana First"]
    assert win["text"] == "got an interview at Acme"
