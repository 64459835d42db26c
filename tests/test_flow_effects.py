"""The notes' effects on planning, the whole loop on every backend (vdir, CalDAV on a real
Radicale, Google on the loopback fake): an offer made good in a later call's note, a win
thanking the people up the referral chain (and not the person herself, and never twice in a
week), ``stop`` taking someone out of the rotation, and ``wrong_number`` until a new phone."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from syncsvc.app import App, PersonInput
from syncsvc.clock import FixedClock
from syncsvc.store import calls as calls_db
from syncsvc.store import people as people_db
from tests.conftest import BERLIN, add_people
from tests.google_fake import google_fake_fixture
from tests.graph_fake import graph_fake_fixture
from tests.radicale_server import radicale_fixture
from tests.test_flow import FRIDAY, MONDAY, Backend, backend, setup

__all__ = ["backend", "setup"]  # the fixtures, on the three backends

radicale = radicale_fixture("module")
google = google_fake_fixture()
graph = graph_fake_fixture()
TUESDAY, WEDNESDAY, THURSDAY = (date(2026, 12, d) for d in (1, 2, 3))


def evening(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 20, 0, tzinfo=BERLIN)


def finish_all(app: App, day: date) -> None:
    """Every call still open on ``day`` happened."""
    with app.store.tx() as conn:
        for call in calls_db.on_day(conn, day):
            if call.outcome == "planned":
                calls_db.set_outcome(conn, call.id, "done")


def test_gave_in_a_later_call_closes_the_offer(setup: Any) -> None:
    app, phone, clock = setup
    call = app.plan()[0]
    phone.write(call.id, "done\noffer: send her the article\nfollow up monday")
    clock.set(evening(FRIDAY))
    app.sync()
    (open_offer,) = app.offers()
    assert (open_offer.text, open_offer.person_id, open_offer.day) == (
        "send her the article",
        call.person_id,
        FRIDAY,
    )
    follow = next(c for c in app.plan(MONDAY) if c.person_id == call.person_id)
    assert follow.kind == "follow_up"
    assert "send her the article" in phone.event(follow.id).description  # still open
    phone.write(follow.id, "talked again\ngave: the article")
    clock.set(evening(MONDAY))
    app.sync()
    assert app.offers() == []
    assert app.status()["open_offers"] == []


def test_a_win_thanks_the_chain_not_the_person_and_never_twice_in_a_week(
    backend: Backend, clock: FixedClock
) -> None:
    app = backend.make_app(calls={"per_day": 3})
    add_people(app, 5, prefix="Other")
    ana = app.add_person(PersonInput(name="Ana First", emails=["ana@example.org"]))
    ben = app.add_person(
        PersonInput(name="Ben Second", emails=["ben@example.org"], referred_by="ana@example.org")
    )
    cleo = app.add_person(
        PersonInput(name="Cleo Third", emails=["cleo@example.org"], referred_by="ben@example.org")
    )
    with app.store.tx() as conn:
        # Ben was called on Wednesday (done); Cleo is called on Friday
        for call_id, person_id, day in (
            ("ben-call", ben, date(2026, 11, 25)),
            ("win-call", cleo, FRIDAY),
        ):
            calls_db.insert(
                conn,
                call_id=call_id,
                person_id=person_id,
                day=day,
                start=datetime(day.year, day.month, day.day, 17, tzinfo=BERLIN),
                end=datetime(day.year, day.month, day.day, 17, 20, tzinfo=BERLIN),
                tz="Europe/Berlin",
                kind="referral",
            )
        calls_db.set_outcome(conn, "ben-call", "done")
    app.sync()
    backend.phone.write("win-call", "done\nwin: got an interview at Acme")
    clock.set(evening(FRIDAY))
    app.sync()

    def updates(day: date) -> set[int]:
        return {c.person_id for c in app.plan(day) if c.kind == "follow_up"}

    # Monday: Ana; Ben was called five days ago and waits; Cleo is never thanked for her win
    assert updates(MONDAY) == {ana}
    assert updates(TUESDAY) == set()
    assert updates(WEDNESDAY) == {ben}  # a week after his call
    assert updates(THURSDAY) == set()
    assert cleo not in {c.person_id for c in app.calls() if c.kind == "follow_up"}


def test_stop_takes_the_person_out_of_the_rotation(setup: Any) -> None:
    app, phone, clock = setup
    friday = app.plan()
    stopped = friday[0]
    phone.write(stopped.id, "Not interested, please don't call again.")
    clock.set(evening(FRIDAY))
    app.sync()
    assert calls_db.get(app.store.conn, stopped.id).outcome == "stop"  # type: ignore[union-attr]
    assert people_db.get(app.store.conn, stopped.person_id).paused == "stop"  # type: ignore[union-attr]
    finish_all(app, FRIDAY)
    for day in (MONDAY, TUESDAY, WEDNESDAY, THURSDAY):
        planned = app.plan(day)
        assert len(planned) == 3  # five people left: everyone else comes round
        assert stopped.person_id not in {c.person_id for c in planned}
        finish_all(app, day)


def test_wrong_number_until_a_new_phone_is_added(setup: Any) -> None:
    app, phone, clock = setup
    friday = app.plan()
    wrong = friday[0]
    phone.write(wrong.id, "She hung up. Wrong number.")
    clock.set(evening(FRIDAY))
    app.sync()
    person = people_db.get(app.store.conn, wrong.person_id)
    assert person is not None and person.paused == "wrong_number"
    finish_all(app, FRIDAY)
    assert wrong.person_id not in {c.person_id for c in app.plan(MONDAY)}
    # `syncsvc add` with her email and a new phone: she is reachable again
    app.add_person(PersonInput(name=person.name, emails=person.emails, phones=["+49 170 5550199"]))
    assert people_db.get(app.store.conn, wrong.person_id).paused is None  # type: ignore[union-attr]
    assert wrong.person_id in {c.person_id for c in app.plan(TUESDAY)}
