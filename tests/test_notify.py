"""A nudge at call time: the daemon sends a freedesktop notification ``notify_minutes``
before each call — checked against a real ``dbus-daemon --session`` with a small
notification service that records what it received; quiet where there is no bus."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import pytest

from syncsvc import daemon, notify
from syncsvc.app import App, PersonInput
from syncsvc.clock import FixedClock
from tests.conftest import BERLIN
from tests.dbus_session import NotificationService, notifications, session_bus

__all__ = ["notifications", "session_bus"]  # the fixtures, used by name

START = datetime(2026, 11, 27, 17, 0, tzinfo=BERLIN)


def test_due_is_the_few_minutes_before_the_start_once() -> None:
    calls = [("a", START), ("b", START + timedelta(minutes=40))]
    assert notify.due(calls, START - timedelta(minutes=6), 5, set()) == []
    assert notify.due(calls, START - timedelta(minutes=5), 5, set()) == ["a"]
    assert notify.due(calls, START - timedelta(minutes=1), 5, {"a"}) == []
    assert notify.due(calls, START, 5, set()) == []  # begun: too late for a nudge
    assert notify.due(calls, START - timedelta(minutes=5), 0, set()) == []  # off


def test_a_notification_reaches_the_session_bus(
    session_bus: str, notifications: NotificationService
) -> None:
    sender = notify.DesktopNotifier(session_bus)
    nudge = notify.compose("c1", "Ada Lovelace", "Who should I talk to?", ["+49 30 1234"], START)
    assert sender.send(nudge)
    sender.close()
    (got,) = notifications.received
    app_name, _replaces, _icon, summary, body, _actions, hints, _expire = got
    assert app_name == "syncsvc"
    assert summary == "Call Ada Lovelace at 17:00"
    assert body == "Who should I talk to?\nPhone: +49 30 1234"
    assert hints["urgency"] == ("y", 2)


def test_no_session_bus_is_skipped_quietly_with_one_debug_line(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv("DBUS_SESSION_BUS_ADDRESS", raising=False)
    caplog.set_level(logging.DEBUG, logger="syncsvc.notify")
    sender = notify.DesktopNotifier()
    nudge = notify.compose("c1", "Ada", "Q?", [], START)
    assert not sender.send(nudge) and not sender.send(nudge)
    lines = [r for r in caplog.records if r.name == "syncsvc.notify"]
    assert len(lines) == 1 and lines[0].levelno == logging.DEBUG
    assert "DBUS_SESSION_BUS_ADDRESS" in lines[0].getMessage()


def test_a_bus_that_cannot_be_reached_is_skipped_quietly(
    tmp_path: object, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="syncsvc.notify")
    sender = notify.DesktopNotifier("unix:path=/nonexistent/syncsvc-test-bus")
    assert not sender.send(notify.compose("c1", "Ada", "Q?", [], START))
    (line,) = [r for r in caplog.records if r.name == "syncsvc.notify"]
    assert line.levelno == logging.DEBUG and "cannot connect" in line.getMessage()


def test_no_notification_service_on_the_bus_is_skipped(
    session_bus: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="syncsvc.notify")
    sender = notify.DesktopNotifier(session_bus)
    assert not sender.send(notify.compose("c1", "Ada", "Q?", [], START))
    sender.close()
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.name == "syncsvc.notify")


def test_the_job_is_only_for_the_local_calendar_and_can_be_off(
    make_app: Callable[..., App],
) -> None:
    assert isinstance(notify.job_for(make_app()), notify.CallNudger)
    assert notify.job_for(make_app(calls={"notify_minutes": 0})) is None


def test_the_daemon_nudges_each_call_before_it_starts(
    make_app: Callable[..., App],
    clock: FixedClock,
    session_bus: str,
    notifications: NotificationService,
) -> None:
    app = make_app(calls={"per_day": 3, "window": "17:00-19:00", "duration_minutes": 20})
    for i in range(3):
        app.add_person(PersonInput(name=f"Person {i}", phones=[f"+49 30 555 {i:04d}"]))
    app.set_topic("grid storage")
    nudger = notify.CallNudger(app, notify.DesktopNotifier(session_bus))
    stop = threading.Event()
    end = datetime(2026, 11, 27, 19, 0, tzinfo=BERLIN)
    seen: list[tuple[datetime, int]] = []

    def wait(_stop: threading.Event, timeout: float) -> bool:
        clock.advance(seconds=timeout)
        seen.append((clock.now(), len(notifications.received)))
        if clock.now() >= end:
            stop.set()
        return stop.is_set()

    jobs = daemon.Jobs(plan=app.plan_due, sync=lambda: None, notify=nudger)
    daemon.run(
        jobs, plan_at=time(7), zone=BERLIN, poll_minutes=5, stop=stop, clock=clock, wait=wait
    )
    nudger.notifier.close()
    assert notifications.got.wait(5)
    summaries = [r[3] for r in notifications.received]
    assert len(summaries) == 3, summaries
    assert [s.rsplit(" at ", 1)[1] for s in summaries] == ["17:00", "17:40", "18:20"]
    assert all(s.startswith("Call Person ") for s in summaries)
    bodies = [r[4] for r in notifications.received]
    assert all("grid storage" in b and "Phone: +49 30 555" in b for b in bodies)
    # each came within the five minutes before its call
    first_seen = next(t for t, n in seen if n >= 1)
    assert datetime(2026, 11, 27, 16, 55, tzinfo=BERLIN) <= first_seen.astimezone(UTC) < START


class _Recorder(notify.DesktopNotifier):
    """Records what would be shown; no bus."""

    def __init__(self) -> None:
        super().__init__("unix:path=/nonexistent")
        self.shown: list[str] = []

    def send(self, nudge: notify.Nudge) -> bool:
        self.shown.append(nudge.summary)
        return True


def test_a_daemon_restarted_inside_the_window_does_not_nudge_again(
    make_app: Callable[..., App], clock: FixedClock
) -> None:
    """Noticed at the last stop: the nudges sent were remembered in memory only, so a daemon
    restarted in the minutes before a call nudged it a second time."""
    app = make_app(calls={"per_day": 1, "window": "17:00-18:00"})
    app.add_person(PersonInput(name="Ann Lee", phones=["+49 30 555 0000"]))
    (call,) = app.plan()
    clock.set(call.start - timedelta(minutes=4))
    first = _Recorder()
    assert notify.CallNudger(app, first)() == [call.id]
    assert notify.CallNudger(app, first)() == []  # the same daemon, a minute later
    app.close()
    again = _Recorder()
    clock.advance(seconds=60)
    assert notify.CallNudger(make_app(calls={"per_day": 1}), again)() == []  # restarted
    assert len(first.shown) == 1 and again.shown == []
