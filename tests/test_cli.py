"""The command line as a person meets it: output shapes, --json, one-line errors, exit codes."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from syncsvc import __version__
from tests.cli_helper import run_cli

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "config" / "sample-contacts.vcf"


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'data_dir = "{tmp_path / "data"}"\n[calls]\ntimezone = "Europe/Berlin"\n'
        'days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\nwindow = "00:00-23:59"\n'
    )
    return path


def run(cfg: Path, *args: str) -> tuple[int, str, str]:
    result = run_cli(["--config", str(cfg), *args])
    return result.exit_code, result.stdout, result.stderr


def test_import_people_and_json_shapes(cfg: Path) -> None:
    code, out, _ = run(cfg, "import", str(SAMPLE), "--json")
    assert code == 0
    assert json.loads(out) == {"added": 8, "updated": 0, "unchanged": 0, "skipped": []}
    code, out, _ = run(cfg, "import", str(SAMPLE), "--json")
    assert json.loads(out)["added"] == 0 and json.loads(out)["unchanged"] == 8
    code, out, _ = run(cfg, "people", "--json")
    people = json.loads(out)
    assert len(people) == 8
    ada = next(p for p in people if p["name"] == "Ada Brightwater")
    assert {
        "id",
        "name",
        "emails",
        "phones",
        "org",
        "source",
        "referred_by",
        "last_contacted",
        "next_call",
    } <= set(ada)
    assert ada["emails"] == ["ada.brightwater@example.org"]
    assert ada["org"] == "Tidewater Energy"
    assert ada["next_call"] is None


def test_people_search_and_duplicates(cfg: Path) -> None:
    run(cfg, "import", str(SAMPLE))
    run(cfg, "add", "Ada Brightwater", "--email", "ada@other.example")
    code, out, _ = run(cfg, "people", "--search", "tidewater", "--json")
    assert [p["name"] for p in json.loads(out)] == ["Ada Brightwater"]
    code, out, _ = run(cfg, "people", "--duplicates", "--json")
    groups = json.loads(out)
    assert len(groups) == 1 and len(groups[0]) == 2
    ids = [str(p["id"]) for p in groups[0]]
    code, out, _ = run(cfg, "merge", ids[0], ids[1], "--yes")  # not a terminal: --yes
    assert code == 0
    code, out, _ = run(cfg, "people", "--search", "Ada", "--json")
    (ada,) = json.loads(out)
    assert sorted(ada["emails"]) == ["ada.brightwater@example.org", "ada@other.example"]


def test_add_with_referrer_and_topic_history(cfg: Path) -> None:
    run(cfg, "add", "Sam Lee", "--email", "sam@example.org", "--phone", "+49 170 1234567")
    code, _, _ = run(cfg, "add", "Kim Park", "--referred-by", "sam@example.org", "--org", "Acme")
    assert code == 0
    _, out, _ = run(cfg, "people", "--json")
    kim = next(p for p in json.loads(out) if p["name"] == "Kim Park")
    assert kim["referred_by"] == "Sam Lee" and kim["org"] == "Acme"
    run(cfg, "topic", "first idea")
    run(cfg, "topic", "climate tech product roles")
    _, out, _ = run(cfg, "topic", "--json")
    data = json.loads(out)
    assert data["topic"] == "climate tech product roles"
    assert [h["text"] for h in data["history"]] == ["first idea", "climate tech product roles"]


def test_plan_json_sync_calls_status(cfg: Path) -> None:
    run(cfg, "import", str(SAMPLE))
    first = date.today() + timedelta(days=30)  # plan refuses a day in the past
    code, out, _ = run(cfg, "plan", "--date", first.isoformat(), "--days", "2", "--json")
    assert code == 0
    planned = json.loads(out)
    assert len(planned) == 6
    assert set(planned[0]) == {"call_id", "person", "date", "start", "end", "kind", "reason"}
    second = first + timedelta(days=1)
    assert {p["date"] for p in planned} == {first.isoformat(), second.isoformat()}
    code, out, _ = run(cfg, "sync", "--json")
    assert code == 0 and json.loads(out)["written"] == 0
    code, out, _ = run(cfg, "calls", "--json")
    calls = json.loads(out)
    assert len(calls) == 6
    assert {"outcome", "notes", "referrals", "offers", "follow_up"} <= set(calls[0])
    code, out, _ = run(cfg, "status", "--json")
    assert code == 0 and json.loads(out)["people"] == 8
    code, out, _ = run(cfg, "plan", "--date", first.isoformat(), "--dry-run", "--json")
    assert len(json.loads(out)) == 3


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["import", "/nonexistent/contacts.vcf"], 1, "/nonexistent/contacts.vcf"),
        (["plan", "--date", "someday"], 2, "is not a date; use YYYY-MM-DD"),
        (["calls", "--person", "Nobody Here"], 2, "nobody on the list matches"),
        (["import"], 2, "name vCard files or folders"),
    ],
)
def test_errors_are_one_line_with_exit_codes(
    cfg: Path, args: list[str], code: int, needle: str
) -> None:
    got, _out, err = run(cfg, *args)
    assert got == code
    lines = err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0] and lines[0].startswith("syncsvc: ")


def test_a_bad_file_imports_nothing(cfg: Path, tmp_path: Path) -> None:
    junk = tmp_path / "junk.vcf"
    junk.write_bytes(b"\x00\x01\x02 not a vcard at all")
    code, _, err = run(cfg, "import", str(SAMPLE), str(junk))
    assert code == 1 and str(junk) in err
    _, out, _ = run(cfg, "people", "--json")
    assert json.loads(out) == []


def test_bad_config_is_reported_without_traceback(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("[calls]\nper_day = 4\n")
    proc = subprocess.run(
        [sys.executable, "-m", "syncsvc", "--config", str(bad), "status"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 78
    assert "Traceback" not in proc.stderr
    assert proc.stderr.strip() == (
        f"syncsvc: {bad}: [calls] per_day = 4 is not allowed; use a whole number from 1 to 3"
    )


COMMANDS = (
    "import",
    "add",
    "people",
    "merge",
    "topic",
    "plan",
    "sync",
    "calls",
    "status",
    "run",
    "report",
    "export",
    "auth",
    "doctor",
)


def test_help_lists_every_command_with_its_description() -> None:
    result = run_cli(["--help"])
    assert result.exit_code == 0 and result.stderr == ""
    assert result.stdout.startswith("usage: syncsvc ")
    for command in COMMANDS:
        # the name, then the first words of its one-line description on the same line
        assert re.search(rf"^    {command} +[A-Z]\w", result.stdout, re.MULTILINE), command
    for option in ("--config PATH", "-v, --verbose", "--version"):
        assert option in result.stdout


def test_each_command_has_its_own_help() -> None:
    for command in [*COMMANDS[:-2], "auth google", "doctor"]:
        result = run_cli([*command.split(), "--help"])
        assert result.exit_code == 0, command
        assert result.stdout.startswith(f"usage: syncsvc {command} "), result.stdout
    plan = run_cli(["plan", "--help"]).stdout
    for option in ("--date YYYY-MM-DD", "--days N", "(default: 1)", "--dry-run", "--json"):
        assert option in plan


def test_version() -> None:
    result = run_cli(["--version"])
    assert (result.exit_code, result.stdout) == (0, f"syncsvc, version {__version__}\n")


def test_no_command_shows_the_help_as_a_usage_error() -> None:
    result = run_cli([])
    assert result.exit_code == 2 and result.stdout == ""
    assert "usage: syncsvc " in result.stderr and "status" in result.stderr
    result = run_cli(["auth"])
    assert result.exit_code == 2 and "google" in result.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["bogus"], "invalid choice: 'bogus'"),
        (["plan", "--days", "two"], "argument --days: invalid int value: 'two'"),
        (["people", "--dup"], "unrecognized arguments: --dup"),  # no abbreviations
        (["merge", "only-one"], "the following arguments are required: OTHER"),
        (["status", "--bogus"], "unrecognized arguments: --bogus"),
        (["export", "out.json", "--vcard", "--json"], "not allowed with argument --vcard"),
    ],
)
def test_usage_errors_exit_2_with_a_short_usage(
    cfg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], needle: str
) -> None:
    monkeypatch.chdir(tmp_path)  # should one run after all, its files land here
    result = run_cli(["--config", str(cfg), *args])
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith("usage: syncsvc") and needle in result.stderr
    assert len(result.stderr.splitlines()) <= 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["config.toml"], "nothing ran"


def test_export_formats_are_one_or_the_other(cfg: Path, tmp_path: Path) -> None:
    run(cfg, "add", "Sam Lee", "--email", "sam@example.org")
    out = tmp_path / "out.json"
    assert run(cfg, "export", str(out), "--vcard", "--json")[0] == 2
    assert not out.exists()
    code, said, _ = run(cfg, "export", "--vcard", str(out))
    assert code == 0 and "(vcard)" in said and out.read_text().startswith("BEGIN:VCARD")


def test_the_global_config_option_goes_before_the_command(cfg: Path, tmp_path: Path) -> None:
    result = run_cli(["--config", str(cfg), "add", "Sam Lee"])
    assert result.exit_code == 0 and (tmp_path / "data" / "syncsvc.db").exists()
    result = run_cli(["-v", "--config", str(cfg), "status", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["people"] == 1
    # without it the default data dir is used: nobody there
    result = run_cli(["status", "--json"])
    assert result.exit_code == 0 and json.loads(result.stdout)["people"] == 0


def test_main_is_callable_and_returns_the_exit_code(cfg: Path) -> None:
    from syncsvc.cli import main

    assert main(["--config", str(cfg), "doctor", "--json"]) == 0
    assert main(["--config", str(cfg), "plan", "--date", "someday"]) == 2


def test_paths_and_options_can_be_mixed(cfg: Path, tmp_path: Path) -> None:
    other = tmp_path / "b.vcf"
    other.write_text("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Cy\r\nEMAIL:cy@example.org\r\nEND:VCARD\r\n")
    code, out, _ = run(cfg, "import", str(SAMPLE), "--json", str(other))
    assert code == 0 and json.loads(out)["added"] == 9


def test_an_unexpected_error_is_one_line_exit_70_and_the_app_is_closed(
    cfg: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from syncsvc.app import App

    closed: list[bool] = []
    real_close = App.close

    def close(self: App) -> None:
        closed.append(True)
        real_close(self)

    def boom(self: App) -> None:
        raise RuntimeError("boom-4711")

    monkeypatch.setattr(App, "close", close)
    monkeypatch.setattr(App, "status", boom)
    code, out, err = run(cfg, "status")
    assert (code, out) == (70, "")
    assert err == ("syncsvc: internal error: RuntimeError: boom-4711 (run with -v for details)\n")
    assert closed == [True]
    result = run_cli(["--config", str(cfg), "-v", "status"])
    assert result.exit_code == 70
    assert "Traceback" in result.stderr and "boom-4711" in result.stderr
    assert closed == [True, True]


def test_ctrl_c_is_one_line_exit_130(cfg: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from syncsvc.app import App

    def interrupted(self: App) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(App, "status", interrupted)
    assert run(cfg, "status")[::2] == (130, "syncsvc: interrupted\n")


def test_a_closed_pipe_ends_quietly(cfg: Path, tmp_path: Path) -> None:
    """`syncsvc people --json | head -1`: exit 1 without a second word on stderr."""
    cards = "".join(
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Person {i}\r\nEMAIL:p{i}@example.org\r\n"
        f"NOTE:{'x' * 200}\r\nEND:VCARD\r\n"
        for i in range(1500)
    )
    (tmp_path / "many.vcf").write_text(cards)
    assert run(cfg, "import", str(tmp_path / "many.vcf"))[0] == 0
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncsvc", "--config", str(cfg), "people", "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline() == b"[\n"
    proc.stdout.close()  # the people list is far bigger than a pipe's buffer
    err = proc.stderr.read()
    assert proc.wait(timeout=60) == 1
    assert err == b""


def test_doctor_reports_each_check(
    cfg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))  # no unit installed
    code, out, _ = run(cfg, "doctor", "--json")
    checks = {c["check"]: c["ok"] for c in json.loads(out)}
    assert code == 0
    # an empty list, no topic, no service: worth a line each (warnings), not failures
    assert checks == {
        "config": True,
        "store": True,
        "people": True,
        "topic": True,
        "calendar (vdir)": True,
        "service": True,
    }


def _zone_where_it_is_midday() -> str:
    """A fixed-offset IANA zone in which it is now between 10:00 and 14:00, so that a daemon
    run in a child process (whose clock cannot be injected) is past any plan_at and inside
    any window whatever the hour the test runs at. Etc/GMT signs are inverted: Etc/GMT-3 is
    UTC+3."""
    offset = 12 - datetime.now(UTC).hour  # -11 .. +12, all of which Etc/GMT has
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"


def test_daemon_notifies_plans_and_stops_on_sigterm(cfg: Path, tmp_path: Path) -> None:
    # the catch-up plans today only once plan_at has passed and while the window is open:
    # make that true at any hour (the bug this fixes: red between 00:00 and 07:00 Berlin)
    cfg.write_text(
        cfg.read_text().replace('"Europe/Berlin"', f'"{_zone_where_it_is_midday()}"')
        + 'plan_at = "07:00"\n'
    )
    sock_path = tmp_path / "notify.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(sock_path))
    sock.settimeout(30)
    env = {**os.environ, "NOTIFY_SOCKET": str(sock_path)}
    subprocess.run(
        [sys.executable, "-m", "syncsvc", "--config", str(cfg), "import", str(SAMPLE)],
        check=True,
        capture_output=True,
        env=env,
        timeout=60,
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncsvc", "--config", str(cfg), "run"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        messages: list[str] = []
        while not any("READY=1" in m for m in messages):
            messages.append(sock.recv(4096).decode())
        deadline = time.monotonic() + 30
        calendar = tmp_path / "data" / "calendar"
        while len(list(calendar.glob("*.ics"))) < 3 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(list(calendar.glob("*.ics"))) == 3, "the catch-up planned today"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=5) == 0
        while not any("STOPPING=1" in m for m in messages):
            messages.append(sock.recv(4096).decode())
    finally:
        proc.kill()
        proc.wait()
        sock.close()


def test_run_once_plans_and_syncs(cfg: Path) -> None:
    run(cfg, "import", str(SAMPLE))
    code, out, _ = run(cfg, "run", "--once")
    assert code == 0 and out.startswith("Planned 3 calls")


def test_names_are_never_read_as_terminal_markup(cfg: Path) -> None:
    run(cfg, "add", "[red]Eve[/red] \x1b[31mX", "--email", "eve@example.org")
    code, out, _ = run(cfg, "people")
    assert code == 0 and "[red]" in out and "\x1b" not in out
    _, out, _ = run(cfg, "people", "--json")
    assert json.loads(out)[0]["name"] == "[red]Eve[/red] [31mX"


def test_the_import_progress_bar_appears_only_after_a_few_hundred_cards() -> None:
    from syncsvc.cli import _CardProgress

    quiet = _CardProgress(enabled=False)
    for _ in range(1000):
        quiet()
    assert quiet._bar is None and quiet.count == 1000
    small = _CardProgress(enabled=True)
    for _ in range(_CardProgress.SHOW_AFTER - 1):
        small()
    assert small._bar is None
    small()
    assert small._bar is not None
    small.close()
