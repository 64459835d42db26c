"""The rest of issue 14 (PRODUCT.md "The person's data is safe"): the HTML report as a personal
file, extreme dates as usage errors, adoption on every backend, bad event files reported in
``sync`` and ``doctor``. Each test failed before its fix. FIFOs and files live in tmp_path; no
real device node is touched."""

from __future__ import annotations

import os
import stat
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncsvc import report
from syncsvc.app import App
from syncsvc.errors import InputError
from tests.cli_helper import run_cli
from tests.conftest import add_people


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
