"""The rest of issue 14 (PRODUCT.md "The person's data is safe"): the HTML report as a personal
file, extreme dates as usage errors, adoption on every backend, bad event files reported in
``sync`` and ``doctor``. Each test failed before its fix. FIFOs and files live in tmp_path; no
real device node is touched."""

from __future__ import annotations

import json
import os
import stat
import threading
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest

from syncsvc import report
from syncsvc.app import App
from syncsvc.clock import FixedClock
from syncsvc.errors import InputError
from syncsvc.store import calls as calls_db
from tests.cli_helper import run_cli
from tests.conftest import BERLIN, add_people
from tests.google_fake import google_fake_fixture
from tests.graph_fake import graph_fake_fixture
from tests.radicale_server import radicale_fixture
from tests.test_flow import Backend, backend

__all__ = ["backend"]  # the fixture, on every backend

radicale = radicale_fixture("module")
google = google_fake_fixture()
graph = graph_fake_fixture()


@pytest.fixture
def umask_000() -> Iterator[None]:
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


# --------------------------------------------------------------------- report --html
def test_the_html_report_is_private_and_atomic_at_umask_000(
    app: App, tmp_path: Path, umask_000: None
) -> None:
    add_people(app, 2)
    target = tmp_path / "report.html"
    target.write_text("an older report")
    target.chmod(0o666)
    report.write_html(report.collect(app), target)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_the_html_report_into_a_fifo_writes_into_it_and_leaves_the_fifo(
    app: App, tmp_path: Path, umask_000: None
) -> None:
    fifo = tmp_path / "report.pipe"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    report.write_html(report.collect(app), fifo)
    reader.join(5)
    assert stat.S_ISFIFO(fifo.lstat().st_mode)  # not replaced by a regular file
    assert got and got[0].startswith(b"<!DOCTYPE html>")


def test_the_html_report_never_writes_through_a_planted_symlink(app: App, tmp_path: Path) -> None:
    precious = tmp_path / "bashrc"
    precious.write_text("keep me")
    link = tmp_path / "report.html"
    link.symlink_to(precious)
    with pytest.raises(InputError, match="symbolic link"):
        report.write_html(report.collect(app), link)
    assert precious.read_text() == "keep me" and link.is_symlink()


def cli_config(tmp_path: Path) -> list[str]:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "data"}"\n[calls]\ntimezone = "Europe/Berlin"\n')
    return ["--config", str(cfg)]


def test_the_html_report_to_stdout_goes_there_and_the_summary_to_stderr(tmp_path: Path) -> None:
    result = run_cli([*cli_config(tmp_path), "report", "--html", "-"])
    assert result.exit_code == 0
    assert result.stdout.startswith("<!DOCTYPE html>")
    assert "Progress report" in result.stderr


# --------------------------------------------------------------------- extreme dates
@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["plan", "--days", "100000"], "--days 100000 is out of range; plan 1 to 60 days"),
        (["plan", "--days", "0"], "--days 0 is out of range"),
        (["plan", "--date", "9999-12-31"], "--date 9999-12-31 is out of range"),
        (["plan", "--date", "9999-12-31", "--dry-run"], "out of range"),
        (["calls", "--since", "0001-01-01"], "--since 0001-01-01 is out of range"),
        (["calls", "--since", "9999-12-31"], "--since 9999-12-31 is out of range"),
        (["plan", "--date", "2000-01-01"], "is in the past"),  # still refused as before
    ],
)
def test_extreme_dates_and_days_are_one_line_usage_errors(
    tmp_path: Path, args: list[str], needle: str
) -> None:
    base = cli_config(tmp_path)
    assert run_cli([*base, "add", "Ann Example"]).exit_code == 0
    result = run_cli([*base, *args])
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and len(result.stderr.splitlines()) == 1
    assert needle in result.stderr and "internal error" not in result.stderr


# --------------------------------------------------------------------- adoption, every backend
FRIDAY = date(2026, 11, 27)


def lose_the_store(app: App) -> None:
    """The store is gone (deleted, damaged and moved aside); tokens and the calendar stay."""
    app.close()
    for file in app.config.data_dir.glob("syncsvc.db*"):
        file.unlink()


def test_a_new_store_adopts_on_every_backend_and_reads_the_note(
    backend: Backend, clock: FixedClock
) -> None:
    old = backend.make_app(calls={"per_day": 3})
    add_people(old, 6)
    planned = old.plan()
    assert len(planned) == 3
    backend.phone.write(planned[0].id, "done\nlovely talk about grid storage")
    lose_the_store(old)

    new = backend.make_app(calls={"per_day": 3})
    add_people(new, 6)
    again = new.plan()
    assert sorted(c.id for c in again) == sorted(c.id for c in planned)  # no second set
    assert backend.phone.call_ids() == sorted(c.id for c in planned)
    clock.set(datetime(2026, 11, 27, 20, 0, tzinfo=BERLIN))
    new.sync()
    got = calls_db.get(new.store.conn, planned[0].id)
    assert got is not None and got.outcome == "done"
    assert got.notes == "done\nlovely talk about grid storage"
    assert got.person_name == planned[0].person_name  # matched by name, not added again


def test_events_of_two_installations_are_not_adopted_and_the_prefixes_named(
    backend: Backend, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    first = backend.make_app(calls={"per_day": 2})
    add_people(first, 6)
    ours = first.plan()
    lose_the_store(first)
    second = backend.make_app(calls={"per_day": 2})  # adopts, then plans Monday anew
    add_people(second, 6)
    second.plan()
    later = second.plan(date(2026, 11, 30))
    lose_the_store(second)
    prefixes = sorted({c.id.split("-")[0] for c in [*ours, *later]})
    assert len(prefixes) == 2

    third = backend.make_app(calls={"per_day": 2})
    add_people(third, 6)
    with caplog.at_level("WARNING", logger="syncsvc"):
        mine = third.plan()
    assert f"2 installations ({', '.join(prefixes)})" in caplog.text
    assert all(c.id.split("-")[0] not in prefixes for c in mine)  # nothing taken


# --------------------------------------------------------------------- bad files reported
def hostile_folder(tmp_path: Path) -> tuple[list[str], Path]:
    """A config whose calendar folder has syncsvc's events and, among them, a FIFO, a symlink
    to a (valid) calendar file elsewhere and a sparse file over the size cap."""
    base = cli_config(tmp_path)
    folder = tmp_path / "calendar"
    cfg = Path(base[1])
    cfg.write_text(cfg.read_text() + f'[calendar]\npath = "{folder}"\n')
    assert run_cli([*base, "add", "Ann Example"]).exit_code == 0
    assert run_cli([*base, "add", "Bo Example"]).exit_code == 0
    assert run_cli([*base, "plan", "--days", "2"]).exit_code == 0
    assert run_cli([*base, "sync"]).exit_code == 0
    ours = sorted(folder.glob("*.ics"))
    assert ours
    os.mkfifo(folder / "trap.ics")
    elsewhere = tmp_path / "elsewhere.ics"
    elsewhere.write_bytes(ours[0].read_bytes())
    (folder / "link.ics").symlink_to(elsewhere)
    with (folder / "huge.ics").open("wb") as f:
        f.truncate(vdir_cap() + 1)  # sparse: nothing is really written
    return base, folder


def vdir_cap() -> int:
    from syncsvc.calendars.vdir import MAX_EVENT_BYTES

    return MAX_EVENT_BYTES


def in_thread(args: list[str]) -> Any:
    """run_cli in a thread, so a hang fails the test instead of stopping the suite."""
    box: list[Any] = []
    worker = threading.Thread(target=lambda: box.append(run_cli(args)), daemon=True)
    worker.start()
    worker.join(20)
    assert box, f"{args} hung"
    return box[0]


def test_sync_names_each_skipped_event_file_and_goes_on(tmp_path: Path) -> None:
    base, folder = hostile_folder(tmp_path)
    result = in_thread([*base, "sync"])
    assert result.exit_code == 0, result.output
    skipped = [line for line in result.stderr.splitlines() if "skipped" in line]
    assert len(skipped) == 3, result.stderr
    assert any(f"{folder / 'trap.ics'} skipped: not a regular file" in s for s in skipped)
    assert any(f"{folder / 'link.ics'} skipped: a symlink, not followed" in s for s in skipped)
    assert any(f"{folder / 'huge.ics'} skipped: larger than" in s for s in skipped)
    assert "3 bad event files skipped" in result.stdout
    data = json.loads(in_thread([*base, "sync", "--json"]).stdout)
    assert sorted(Path(p.split(": ")[0]).name for p in data["problems"]) == [
        "huge.ics",
        "link.ics",
        "trap.ics",
    ]


def test_doctor_lists_symlinks_fifos_and_oversized_event_files_without_hanging(
    tmp_path: Path,
) -> None:
    base, folder = hostile_folder(tmp_path)
    result = in_thread([*base, "doctor", "--json"])
    details = [c["detail"] for c in json.loads(result.stdout) if not c["ok"]]
    for name, why in (
        ("trap.ics", "not a regular file"),
        ("link.ics", "a symlink, not followed"),
        ("huge.ics", "larger than"),
    ):
        assert any(d.startswith(f"{folder / name}: {why}") for d in details), details
    assert result.exit_code == 1
