"""The whole loop against a real Radicale: syncsvc plans a week into it, the person's phone
(an independent caldav client) writes notes, moves, deletes and edits; sync reads it all.
The server going away mid-way loses nothing and doubles nothing."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

import pytest

from syncsvc.app import App
from syncsvc.calendars.caldav import CaldavCalendar
from syncsvc.clock import FixedClock
from syncsvc.errors import AuthError, BackendError, NotFoundError
from syncsvc.store import calls as calls_db
from syncsvc.store import people as people_db
from syncsvc.sync import uid_for
from tests.conftest import BERLIN, add_people
from tests.radicale_server import PASSWORD, USER, RadicaleServer, radicale_fixture
from tests.test_caldav import Phone

radicale = radicale_fixture("module")

MONDAY = date(2026, 11, 30)


@pytest.fixture
def caldav_app(
    radicale: RadicaleServer,
    make_app: Callable[..., App],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[tuple[App, Phone]]:
    monkeypatch.setenv("SYNCSVC_TEST_CALDAV_PASSWORD", PASSWORD)
    app = make_app(
        calls={"per_day": 2},
        calendar={
            "backend": "caldav",
            "url": radicale.proxy_url,
            "username": USER,
            "calendar": f"Calls {uuid.uuid4().hex[:6]}",
            "password_env": "SYNCSVC_TEST_CALDAV_PASSWORD",
            "timeout_seconds": 5,
        },
    )
    add_people(app, 12)
    app.set_topic("hydrogen logistics")
    cal = app.calendar
    assert isinstance(cal, CaldavCalendar)
    cal.check()  # find or create the calendar now
    yield app, Phone(radicale, cal._collection_path)


def week(app: App) -> list[calls_db.Call]:
    return app.plan(MONDAY, 5)


def test_a_week_in_radicale_read_back_whatever_the_phone_did(caldav_app: Any) -> None:
    app, phone = caldav_app
    planned = week(app)
    assert len(planned) == 10
    assert sorted(phone.uids()) == sorted(uid_for(c.id) for c in planned)
    c = planned
    base = {
        c[0].id: "done\nref: Jane Roe <jane@example.org> +1 555 0100",
        c[1].id: "no answer",
        c[2].id: "reschedule friday",
        c[3].id: "skip",
        c[4].id: "Lovely chat about ports\noffer: send the port study\nfollow up in 2 weeks",
    }
    for call in c[:5]:
        desc = str(phone.event(uid_for(call.id)).icalendar_component["DESCRIPTION"])
        phone.edit(uid_for(call.id), description=desc + base[call.id])
    moved_to = datetime(2026, 12, 3, 12, 30, tzinfo=BERLIN)
    phone.edit(uid_for(c[5].id), start=moved_to, end=moved_to.replace(minute=50))
    phone.edit(uid_for(c[6].id), delete=True)

    # after Wednesday's calls: text first seen before a call's start would be a preparation note
    app.clock.set(datetime(2026, 12, 2, 21, 0, tzinfo=BERLIN))
    app.sync()
    conn = app.store.conn
    got = {call.id: calls_db.get(conn, call.id) for call in c}
    assert got[c[0].id].outcome == "done" and got[c[0].id].referrals == ["Jane Roe"]
    assert got[c[1].id].outcome == "no_answer"
    assert got[c[2].id].outcome == "rescheduled"
    assert got[c[3].id].outcome == "skipped"
    assert got[c[4].id].offers == ["send the port study"]
    assert got[c[4].id].follow_up is not None
    assert got[c[5].id].start == moved_to and got[c[5].id].outcome == "planned"
    assert got[c[6].id].outcome == "skipped"
    jane = people_db.find(conn, "jane@example.org")
    assert len(jane) == 1 and jane[0].referred_by == c[0].person_id
    # the retry for "reschedule friday" went into the calendar, once
    retry = [x for x in calls_db.history(conn) if x.origin_call == c[2].id]
    assert len(retry) == 1 and retry[0].day == date(2026, 12, 4)
    assert uid_for(retry[0].id) in phone.uids()
    assert uid_for(c[6].id) not in phone.uids(), "a deleted event is not written again"

    # a second sync changes nothing and costs one request at the server
    before = [tuple(r) for r in conn.execute("SELECT * FROM calls ORDER BY id")]
    mark = app.calendar  # same connection as the daemon keeps
    proxy_count = _proxy(app).count
    app.sync()
    assert _proxy(app).count - proxy_count == 1
    assert [tuple(r) for r in conn.execute("SELECT * FROM calls ORDER BY id")] == before
    assert mark is app.calendar


def _proxy(app: App) -> Any:
    return _RADICALE[0].proxy


_RADICALE: list[RadicaleServer] = []


@pytest.fixture(autouse=True)
def _remember(radicale: RadicaleServer) -> None:
    _RADICALE[:] = [radicale]


def test_the_persons_edit_wins_over_a_refresh(caldav_app: Any) -> None:
    app, phone = caldav_app
    planned = week(app)
    uid = uid_for(planned[-1].id)
    desc = str(phone.event(uid).icalendar_component["DESCRIPTION"])
    phone.edit(uid, description=desc + "she asked to talk on Thursday instead")
    app.set_topic("a different topic")  # would refresh every untouched future event
    app.sync()
    text = str(phone.event(uid).icalendar_component["DESCRIPTION"])
    assert "she asked to talk on Thursday instead" in text
    assert "hydrogen logistics" in text
    untouched = str(phone.event(uid_for(planned[0].id)).icalendar_component["DESCRIPTION"])
    assert "a different topic" in untouched


def test_server_down_mid_plan_and_sync_loses_nothing(
    caldav_app: Any, radicale: RadicaleServer
) -> None:
    app, phone = caldav_app
    app.plan(MONDAY)  # the connection is set up
    radicale.stop()  # behind the proxy a down server answers 502, as with nginx in front
    try:
        with pytest.raises(BackendError) as err:
            app.plan(date(2026, 12, 1), 2)
        assert "\n" not in str(err.value) and PASSWORD not in str(err.value)
        with pytest.raises(BackendError):
            app.sync()
    finally:
        radicale.start()
    app.sync()
    app.plan(date(2026, 12, 1), 2)
    uids = phone.uids()
    calls = list(calls_db.history(app.store.conn))
    assert len(calls) == 6
    assert sorted(uids) == sorted(uid_for(c.id) for c in calls), "every call once, no doubles"
    # notes written while syncsvc could not reach the server are read afterwards
    first = calls[0]
    desc = str(phone.event(uid_for(first.id)).icalendar_component["DESCRIPTION"])
    phone.edit(uid_for(first.id), description=desc + "done")
    radicale.stop()
    try:
        with pytest.raises(BackendError):
            app.sync()
    finally:
        radicale.start()
    app.sync()
    assert calls_db.get(app.store.conn, first.id).outcome == "done"  # type: ignore[union-attr]


def test_wrong_password_and_unknown_calendar_are_one_line(
    radicale: RadicaleServer, make_app: Callable[..., App], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PW", "wrong-password-123")
    app = make_app(
        calendar={
            "backend": "caldav",
            "url": radicale.url,
            "username": USER,
            "password_env": "PW",
            "timeout_seconds": 5,
        }
    )
    add_people(app, 1)
    with pytest.raises(AuthError) as err:
        app.plan(MONDAY)
    assert "\n" not in str(err.value) and "wrong-password-123" not in str(err.value)
    monkeypatch.setenv("PW", PASSWORD)
    other = make_app(
        calendar={
            "backend": "caldav",
            "url": radicale.url,
            "username": USER,
            "calendar": f"{radicale.url}{USER}/no-such-calendar/",
            "password_env": "PW",
            "timeout_seconds": 5,
        }
    )
    add_people(other, 1)
    with pytest.raises(NotFoundError) as err2:
        other.plan(MONDAY)
    assert "\n" not in str(err2.value)


def test_clock_fixture_is_shared(caldav_app: Any, clock: FixedClock) -> None:
    app, _ = caldav_app
    assert app.clock is clock


def test_doctor_names_the_failing_check_and_the_fix(
    radicale: RadicaleServer, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from syncsvc.doctor import run_checks

    monkeypatch.setenv("PW", "not-the-password")
    cfg = tmp_path / "c.toml"
    cfg.write_text(
        f'data_dir = "{tmp_path / "d"}"\n[calls]\ntimezone = "UTC"\n[calendar]\n'
        f'backend = "caldav"\nurl = "{radicale.url}"\nusername = "{USER}"\npassword_env = "PW"\n'
    )
    checks = {c.name: c for c in run_checks(str(cfg))}
    assert checks["config"].ok and checks["store"].ok
    bad = checks["calendar (caldav)"]
    assert not bad.ok
    assert "password_command/password_env" in bad.detail
    assert "not-the-password" not in bad.detail
    monkeypatch.setenv("PW", PASSWORD)
    assert all(c.ok for c in run_checks(str(cfg)))
