"""``syncsvc sync --force-delete`` (vdirsyncer's option of the same name): the way out of the
"all of syncsvc's events vanished" refusal for a person who really deleted them all.

The refusal itself stays (tests/test_safety.py): it now ends with the hint, ``sync`` with the
option reads every vanished event as the person's deletion — the store effect of one deleted
event (``calls_db.event_deleted``) — and the next ``plan`` plans as usual. On every backend
through the flow ``backend`` fixture, plus the CLI (exit code, hint, ``--json``) and the daemon
(never forces, logs the refusal at the back-off's pace, not every poll)."""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from syncsvc import daemon
from syncsvc.app import App
from syncsvc.clock import FixedClock
from syncsvc.config import Config
from syncsvc.errors import FORCE_DELETE_HINT, StorageGoneError
from syncsvc.store import calls as calls_db
from tests.cli_helper import run_cli
from tests.conftest import BERLIN, add_people
from tests.google_fake import google_fake_fixture
from tests.graph_fake import graph_fake_fixture
from tests.radicale_server import radicale_fixture
from tests.test_daemon import Sim
from tests.test_flow import FRIDAY, MONDAY, Backend, backend

__all__ = ["backend"]  # the fixture, on every backend

radicale = radicale_fixture("module")
google = google_fake_fixture()
graph = graph_fake_fixture()

HINT = "if you deleted them yourself, run `syncsvc sync --force-delete`"


def outcomes(app: App) -> list[str]:
    return sorted(c.outcome for c in calls_db.history(app.store.conn))


def event_states(app: App) -> dict[str, str]:
    """call id -> the store's state of its event (what a refused sync must leave as it was)."""
    conn = app.store.conn
    return {
        c.id: s.state
        for c in calls_db.history(conn)
        if (s := calls_db.event_state(conn, app.calendar.key, c.id)) is not None
    }


def planned_friday(backend: Backend) -> tuple[App, list[calls_db.Call]]:
    app = backend.make_app(calls={"per_day": 3})
    add_people(app, 6)
    friday = app.plan()
    app.sync()
    assert sorted(backend.phone.call_ids()) == sorted(c.id for c in friday)
    return app, friday


def assert_refused(action: Callable[[], object], needle: str = "nothing was changed") -> str:
    with pytest.raises(StorageGoneError) as caught:
        action()
    message = str(caught.value)
    assert "\n" not in message  # one line
    assert needle in message
    assert message.endswith(f"(nothing was changed); {HINT}")
    return message


def assert_fresh_plan(app: App, backend: Backend, friday: list[calls_db.Call]) -> None:
    """After the forced deletion: Friday's calls are skipped as one deletion would leave them,
    the next day is planned as usual and only its events are in the calendar (none doubled,
    none of the deleted ones written again)."""
    assert {c.outcome for c in calls_db.on_day(app.store.conn, FRIDAY)} == {"skipped"}
    monday = app.plan(MONDAY)
    assert len(monday) == 3
    assert {c.id for c in monday}.isdisjoint(c.id for c in friday)
    report = app.sync()
    assert (report.deleted, report.written) == (0, 0)
    assert sorted(backend.phone.call_ids()) == sorted(c.id for c in monday)
    assert outcomes(app) == ["planned"] * 3 + ["skipped"] * 3


# --------------------------------------------------------------------- every backend
def test_deleting_every_event_is_refused_with_the_hint_then_forced(backend: Backend) -> None:
    app, friday = planned_friday(backend)
    for call in friday:
        backend.phone.delete(call.id)
    before = event_states(app)

    assert_refused(app.sync)
    assert outcomes(app) == ["planned"] * 3  # store unchanged
    assert event_states(app) == before

    report = app.sync(force_delete=True)
    assert report.deleted == 3
    assert event_states(app) == {c.id: "deleted" for c in friday}
    assert backend.phone.call_ids() == []  # nothing written back
    assert_fresh_plan(app, backend, friday)


def test_force_delete_without_a_disappearance_changes_nothing(backend: Backend) -> None:
    app, friday = planned_friday(backend)
    backend.phone.delete(friday[0].id)  # one deletion: read as such, with or without the option
    report = app.sync(force_delete=True)
    assert report.deleted == 1
    assert outcomes(app) == ["planned", "planned", "skipped"]
    again = app.sync(force_delete=True)
    assert (again.deleted, again.written) == (0, 0)
    assert outcomes(app) == ["planned", "planned", "skipped"]
    assert sorted(backend.phone.call_ids()) == sorted(c.id for c in friday[1:])


# --------------------------------------------------------------------- the vdir folder
def test_a_removed_calendar_folder_is_refused_then_forced_and_replanted(
    make_app: Callable[..., App], make_config: Callable[..., Config]
) -> None:
    from tests.flow_phones import VdirPhone

    folder = make_config().calendar_path
    vdir = Backend("vdir", make_app, VdirPhone(folder))
    app, friday = planned_friday(vdir)
    shutil.rmtree(folder)
    before = event_states(app)

    assert_refused(app.sync, "is missing but held 3")
    assert_refused(lambda: app.plan(MONDAY), "is missing but held 3")  # plan too, same hint
    assert not folder.exists()  # no fresh folder planted where the old one may come back
    assert outcomes(app) == ["planned"] * 3
    assert event_states(app) == before

    report = app.sync(force_delete=True)
    assert (report.deleted, report.written) == (3, 0)
    assert not folder.exists()  # not created by sync: the next plan does, as on a first run
    assert event_states(app) == {c.id: "deleted" for c in friday}
    assert_fresh_plan(app, vdir, friday)
    assert folder.is_dir()


def test_an_emptied_folder_is_refused_by_plan_with_the_hint(app: App) -> None:
    add_people(app, 3)
    app.plan(FRIDAY)
    folder = app.config.calendar_path
    for file in folder.glob("*.ics"):
        file.unlink()
    assert_refused(lambda: app.plan(MONDAY), "holds none of the 3")
    assert_refused(app.sync, "holds none of the 3")
    assert app.sync(force_delete=True).deleted == 3
    assert len(app.plan(MONDAY)) == 3
    assert len(list(folder.glob("*.ics"))) == 3


def test_a_removed_folder_that_held_one_event_is_forced_the_same_way(app: App) -> None:
    add_people(app, 1)
    app.plan(FRIDAY)
    shutil.rmtree(app.config.calendar_path)
    assert_refused(app.sync, "is missing but held 1")
    assert app.sync(force_delete=True).deleted == 1
    assert outcomes(app) == ["skipped"]


# --------------------------------------------------------------------- the command line
def cli_config(tmp_path: Path) -> tuple[list[str], Path]:
    folder = tmp_path / "calendar"
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'data_dir = "{tmp_path / "data"}"\n[calls]\ntimezone = "Europe/Berlin"\n'
        'days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\nwindow = "00:00-23:59"\n'
        f'[calendar]\npath = "{folder}"\n'
    )
    return ["--config", str(cfg)], folder


def test_the_cli_refuses_with_exit_69_and_the_hint_then_forces(tmp_path: Path) -> None:
    base, folder = cli_config(tmp_path)
    for name in ("Ann Example", "Bo Example"):
        assert run_cli([*base, "add", name]).exit_code == 0
    assert run_cli([*base, "plan"]).exit_code == 0
    assert len(list(folder.glob("*.ics"))) == 2
    shutil.rmtree(folder)

    for command in (["sync"], ["sync", "--json"], ["plan"]):
        refused = run_cli([*base, *command])
        assert refused.exit_code == 69, refused.output  # a StorageGoneError, as before
        assert refused.stdout == ""
        (line,) = refused.stderr.splitlines()
        assert line.startswith("syncsvc: calendar folder ")
        assert line.endswith(f"(nothing was changed); {HINT}")
    assert not folder.exists()

    forced = run_cli([*base, "sync", "--force-delete", "--json"])
    assert forced.exit_code == 0, forced.output
    data = json.loads(forced.stdout)
    assert (data["deleted"], data["written"]) == (2, 0)
    assert not folder.exists()

    again = run_cli([*base, "sync", "--force-delete"])
    assert again.exit_code == 0, again.output
    assert "0 deleted" in again.stdout  # nothing vanished now: the option changes nothing
    assert "created again by the next `syncsvc plan`" not in again.stdout
    assert run_cli([*base, "plan", "--date", "tomorrow"]).exit_code == 0
    assert folder.is_dir()


def test_the_forced_sync_says_what_it_did_in_plain_text(tmp_path: Path) -> None:
    base, folder = cli_config(tmp_path)
    for name in ("Ann Example", "Bo Example", "Cy Example"):
        assert run_cli([*base, "add", name]).exit_code == 0
    assert run_cli([*base, "plan"]).exit_code == 0
    shutil.rmtree(folder)
    forced = run_cli([*base, "sync", "--force-delete"])
    assert forced.exit_code == 0, forced.output
    assert "0 events written" in forced.stdout and "3 deleted" in forced.stdout
    assert "The calendar folder is created again by the next `syncsvc plan`." in forced.stdout


def test_the_option_is_in_the_help() -> None:
    assert "--force-delete" in run_cli(["sync", "--help"]).stdout


def test_the_hint_is_one_constant() -> None:
    assert FORCE_DELETE_HINT == HINT


# --------------------------------------------------------------------- the daemon
def test_the_daemon_never_forces_and_logs_the_refusal_at_the_back_off_pace(
    make_config: Callable[..., Config], caplog: pytest.LogCaptureFixture
) -> None:
    start = datetime(2026, 11, 27, 9, 0, tzinfo=BERLIN)
    app = App(make_config(calls={"per_day": 3}), clock=FixedClock(start))
    try:
        add_people(app, 3)
        app.plan()
        shutil.rmtree(app.config.calendar_path)
        sim = Sim(start, start + timedelta(hours=12))
        app.clock = sim.clock
        caplog.set_level(logging.INFO, logger="syncsvc")
        sim.run(daemon.Jobs(plan=app.plan_due, sync=app.sync), poll_minutes=5)
    finally:
        app.close()
    failures = [r.getMessage() for r in caplog.records if "sync failed" in r.getMessage()]
    assert failures and all(HINT in line and "\n" not in line for line in failures)
    # today's rule for a failing job: one line per attempt, attempts backed off to at most
    # one each 30 min: about 2 an hour, not one per 5-minute poll (144 in 12 hours)
    assert len(failures) < 40
    assert outcomes(app) == ["planned"] * 3  # never read as deleted on its own
    assert not app.config.calendar_path.exists()


def test_run_once_does_not_force_either(tmp_path: Path) -> None:
    base, folder = cli_config(tmp_path)
    for name in ("Ann Example", "Bo Example"):
        assert run_cli([*base, "add", name]).exit_code == 0
    assert run_cli([*base, "plan"]).exit_code == 0
    shutil.rmtree(folder)
    result = run_cli([*base, "run", "--once"])
    assert result.exit_code == 69
    assert HINT in result.stderr
    assert not folder.exists()
