"""Living with the list from a shell (issue 16): plain output in pipes, PERSON everywhere, the
people commands, a merge that asks and can be undone, options anywhere, dates in words, the
messages, install-service, completion and the man page. Through the command line."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from syncsvc import config
from syncsvc.app import App
from syncsvc.store import people as people_db
from tests.cli_helper import run_cli
from tests.conftest import BERLIN

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "config" / "sample-contacts.vcf"
FUTURE = date.today() + timedelta(days=30)


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


def ok(cfg: Path, *args: str) -> str:
    code, out, err = run(cfg, *args)
    assert code == 0, err
    return out


def people_json(cfg: Path) -> list[dict[str, object]]:
    return json.loads(ok(cfg, "people", "--json"))  # type: ignore[no-any-return]


# ------------------------------------------------------------------------ plain output
def test_people_into_a_pipe_are_tab_separated_lines_never_cut(cfg: Path) -> None:
    ok(cfg, "import", str(SAMPLE))
    long_org = ("The Very Long Organisation Name That A Table Would Cut " * 3).strip()
    ok(cfg, "add", "Zoë Brightwater-Long", "--org", long_org, "--email", "zoe@example.org")
    code, out, err = run(cfg, "people")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split("\t") == [
        "id",
        "name",
        "reach",
        "org",
        "last contact",
        "next call",
        "referred by",
    ]
    assert len(lines) == 1 + 9  # a header and one line a person; the count goes to stderr
    assert "9 people." in err
    assert sum("Brightwater" in line for line in lines) == 2  # `grep -c Brightwater`
    zoe = next(line for line in lines if line.split("\t")[1].startswith("Zoë"))
    assert zoe.split("\t")[3] == long_org  # whole, not cut to a terminal's width
    assert all(line.count("\t") == 6 for line in lines)


def test_limit_and_names_sort_without_regard_to_case_or_accents(cfg: Path) -> None:
    for name in ("Zoë Adams", "emma Stone", "Émilie Durand", "Tom Baker", "Ada Lovelace"):
        ok(cfg, "add", name)
    names = [p["name"] for p in people_json(cfg)]
    assert names == ["Ada Lovelace", "Émilie Durand", "emma Stone", "Tom Baker", "Zoë Adams"]
    out = ok(cfg, "people", "--limit", "2")
    assert [line.split("\t")[1] for line in out.splitlines()[1:]] == names[:2]
    assert len(json.loads(ok(cfg, "people", "--json", "--limit", "3"))) == 3
    code, _, err = run(cfg, "people", "--limit", "0")
    assert code == 2 and "--limit" in err


def test_lists_with_nothing_say_why(cfg: Path) -> None:
    ok(cfg, "add", "Sam Lee")
    assert ok(cfg, "people", "--search", "nobody-like-this").startswith("Nobody matches")
    assert ok(cfg, "calls", "--since", "2030-01-01").startswith("No calls match")
    assert ok(cfg, "calls").startswith("No calls yet")


def test_calls_into_a_pipe_keep_whole_notes(cfg: Path) -> None:
    ok(cfg, "import", str(SAMPLE))
    ok(cfg, "plan", "--date", FUTURE.isoformat())
    out = ok(cfg, "calls")
    header, *rows = out.splitlines()
    assert header.startswith("date\tperson\tkind\toutcome\tnotes")
    assert len(rows) == 3 and all(r.startswith(FUTURE.isoformat()) for r in rows)
    # the last column says why the call was planned, whole (as `plan` and the event say it)
    assert header.endswith("\tfollow up\twhy")
    reasons = [json.loads(ok(cfg, "calls", "--json"))[i]["reason"] for i in range(3)]
    assert sorted(r.split("\t")[-1] for r in rows) == sorted(reasons)
    assert all(reasons)


def test_twenty_thousand_people_into_a_pipe_in_well_under_a_second(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "data"}"\n')
    app = App(config.load(str(cfg)))
    with app.store.tx() as conn:
        first = people_db.next_id(conn)
        rows = [
            (first + i, *people_db.new_row(name=f"Person {i:05d}", source="vcard", org="Acme"))
            for i in range(20_000)
        ]
        people_db.insert_rows(conn, rows)
        people_db.insert_addresses(
            conn,
            [
                (first + i, "email", f"p{i}@example.org", f"p{i}@example.org", 0)
                for i in range(20_000)
            ],
        )
    app.close()
    command = [sys.executable, "-m", "syncsvc", "--config", str(cfg), "people"]
    start = time.perf_counter()
    proc = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)
    seconds = time.perf_counter() - start
    lines = proc.stdout.splitlines()
    assert len(lines) == 20_001 and "p19999@example.org" in proc.stdout
    # generous for a shared CI machine; the figure is about 0.3 s (a rich table took 15-25 s)
    assert seconds < 3, seconds


# ------------------------------------------------------------------------ PERSON
def test_person_is_an_id_email_phone_or_a_name_without_case_or_accents(cfg: Path) -> None:
    ok(cfg, "add", "Émilie Durand", "--email", "emilie@example.org", "--phone", "+49 170 1234567")
    ok(cfg, "add", "Dmitri Ivanov")
    ok(cfg, "add", "Kim Park", "--referred-by", "dmitri")  # a unique prefix is enough
    kim = next(p for p in people_json(cfg) if p["name"] == "Kim Park")
    assert kim["referred_by"] == "Dmitri Ivanov"
    for text in ("emilie", "EMILIE DURAND", "durand", "emilie@example.org", "+491701234567"):
        data = json.loads(ok(cfg, "show", text, "--json"))
        assert data["name"] == "Émilie Durand", text
    ok(cfg, "plan", "--date", FUTURE.isoformat())
    calls = json.loads(ok(cfg, "calls", "--person", "emilie", "--json"))
    assert {c["person"]["name"] for c in calls} <= {"Émilie Durand"}


def test_an_ambiguous_person_lists_the_candidates_and_exits_2(cfg: Path) -> None:
    ok(cfg, "add", "Jane Roe", "--email", "jane@example.org")
    ok(cfg, "add", "Jane Doe", "--email", "doe@example.org")
    code, out, err = run(cfg, "show", "jane")
    assert code == 2 and out == ""
    assert "matches 2 people" in err
    assert "Jane Roe" in err and "Jane Doe" in err and "jane@example.org" in err
    code, _, err = run(cfg, "show", "nobody")
    assert code == 2 and "nobody on the list matches 'nobody'" in err


# ------------------------------------------------------------------------ people commands
def test_show_edit_never(cfg: Path) -> None:
    ok(cfg, "add", "Sam Lee", "--email", "sam@example.org", "--note", "met at the meetup")
    out = ok(cfg, "show", "sam")
    assert "Sam Lee" in out and "sam@example.org" in out and "met at the meetup" in out
    ok(cfg, "edit", "sam", "--email", "sam@new.example", "--drop-email", "sam@example.org")
    ok(cfg, "edit", "sam", "--name", "Samuel Lee", "--org", "Acme", "--phone", "+1 415 555 0100")
    data = json.loads(ok(cfg, "show", "samuel", "--json"))
    assert (data["name"], data["org"], data["emails"]) == (
        "Samuel Lee",
        "Acme",
        ["sam@new.example"],
    )
    assert data["phones"] == ["+1 415 555 0100"]
    code, _, err = run(cfg, "edit", "sam", "--drop-email", "nope@example.org")
    assert code == 2 and "no email" in err
    ok(cfg, "plan", "--date", FUTURE.isoformat())
    out = ok(cfg, "never", "sam")
    assert "will not be called again" in out and "taken off the calendar" in out
    assert not list((cfg.parent / "data" / "calendar").glob("*.ics"))
    assert json.loads(ok(cfg, "show", "sam", "--json"))["paused"] == "never"
    ok(cfg, "plan", "--date", (FUTURE + timedelta(days=1)).isoformat())
    outcomes = [c["outcome"] for c in json.loads(ok(cfg, "calls", "--json"))]
    assert outcomes == ["skipped"]  # the planned one was dropped, and no new one came
    ok(cfg, "never", "sam", "--undo")
    assert json.loads(ok(cfg, "show", "sam", "--json"))["paused"] is None


def test_remove_needs_yes_outside_a_terminal(cfg: Path) -> None:
    ok(cfg, "add", "Sam Lee", "--email", "sam@example.org")
    ok(cfg, "add", "Kim Park")
    ok(cfg, "plan", "--date", FUTURE.isoformat())
    code, _, err = run(cfg, "remove", "sam")
    assert code == 2 and "--yes" in err
    assert len(people_json(cfg)) == 2
    assert "Removed Sam Lee" in ok(cfg, "remove", "sam", "--yes")
    assert [p["name"] for p in people_json(cfg)] == ["Kim Park"]
    assert all(c["person"]["name"] == "Kim Park" for c in json.loads(ok(cfg, "calls", "--json")))
    assert len(list((cfg.parent / "data" / "calendar").glob("*.ics"))) == 1


def test_add_of_someone_known_says_updated(cfg: Path) -> None:
    assert ok(cfg, "add", "Sam Lee", "--email", "sam@example.org").startswith("Added Sam Lee")
    out = ok(cfg, "add", "Samuel", "--email", "sam@example.org", "--org", "Acme")
    assert out.startswith("Updated Sam Lee") and "Added" not in out


def _table_rows(cfg: Path) -> dict[str, list[tuple[object, ...]]]:
    app = App(config.load(str(cfg)))
    conn = app.store.conn
    out = {
        t: sorted(tuple(r) for r in conn.execute(f"SELECT * FROM {t}"))
        for t in ("people", "addresses", "source_ids", "calls", "referrals", "offers")
    }
    app.close()
    return out


def test_merge_shows_both_asks_and_undo_restores_exactly(cfg: Path) -> None:
    ok(cfg, "add", "Jane Roe", "--email", "jane@example.org", "--org", "Acme")
    ok(cfg, "add", "J. Roe", "--email", "jane@work.example", "--phone", "+49 170 7654321")
    ok(cfg, "add", "Kim Park", "--referred-by", "J. Roe")
    ok(cfg, "plan", "--date", FUTURE.isoformat())
    before = _table_rows(cfg)
    code, out, err = run(cfg, "merge", "jane@example.org", "jane@work.example")
    assert code == 2 and "--yes" in err
    assert "keep " in out and "merge" in out and "result" in out  # both shown, and the result
    assert "jane@work.example" in out.splitlines()[-1]
    assert _table_rows(cfg) == before  # nothing changed
    out = ok(cfg, "merge", "jane@example.org", "jane@work.example", "--yes")
    assert "Merged J. Roe" in out
    (jane,) = [p for p in people_json(cfg) if "Roe" in str(p["name"])]
    assert sorted(jane["emails"]) == ["jane@example.org", "jane@work.example"]  # type: ignore[arg-type]
    assert "two people again" in ok(cfg, "merge", "--undo")
    assert _table_rows(cfg) == before
    code, _, err = run(cfg, "merge", "--undo")
    assert code == 2 and "no merge to undo" in err


# ------------------------------------------------------------------------ options, dates
def test_global_options_work_after_the_command(cfg: Path) -> None:
    ok(cfg, "add", "Sam Lee")
    result = run_cli(["people", "--json", "--config", str(cfg)])
    assert result.exit_code == 0 and json.loads(result.stdout)[0]["name"] == "Sam Lee"
    result = run_cli(["--json", "--config", str(cfg), "status"])
    assert result.exit_code == 0 and json.loads(result.stdout)["people"] == 1
    result = run_cli(["status", "-v", "--config", str(cfg)])
    assert result.exit_code == 0


def test_dates_in_words_and_no_plan_in_the_past(cfg: Path) -> None:
    ok(cfg, "add", "Sam Lee")
    planned = json.loads(ok(cfg, "plan", "--date", "tomorrow", "--json"))
    today = datetime.now(BERLIN).date()  # the config's zone: not the machine's (UTC in CI)
    assert planned[0]["date"] == (today + timedelta(days=1)).isoformat()
    assert json.loads(ok(cfg, "calls", "--since", "today", "--json"))
    yesterday = (today - timedelta(days=1)).isoformat()
    code, out, err = run(cfg, "plan", "--date", yesterday)
    assert (
        code == 2
        and out == ""
        and err == f"syncsvc: --date {yesterday} is in the past; plan today or later\n"
    )


def test_plan_warns_without_a_topic_and_says_why_days_stay_empty(cfg: Path) -> None:
    ok(cfg, "add", "Sam Lee")
    ok(cfg, "add", "Kim Park")
    code, out, err = run(cfg, "plan", "--date", FUTURE.isoformat(), "--days", "3")
    assert code == 0
    assert "no topic set" in err
    assert "Calls on 1 of the 3 days asked" in out
    assert "[[syncsvc]]" in out and "type = calendar" in out  # khal's lines, the first time
    ok(cfg, "topic", "climate tech")
    code, out, err = run(cfg, "plan", "--date", FUTURE.isoformat())
    assert "no topic" not in err and "[[syncsvc]]" not in out


def test_status_on_a_day_without_calls_shows_the_next_ones(cfg: Path) -> None:
    ok(cfg, "add", "Sam Lee")
    ok(cfg, "plan", "--date", FUTURE.isoformat())
    out = ok(cfg, "status")
    assert f"Next calls, {FUTURE.isoformat()}:" in out and "Sam Lee" in out
    assert "never called: 1 of 1" in out  # a planned call is not a call


# ------------------------------------------------------------------------ service, help
def test_install_service_writes_the_unit_for_this_installation(
    cfg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    out = ok(cfg, "install-service")
    unit = tmp_path / "xdg" / "systemd" / "user" / "syncsvc.service"
    text = unit.read_text()
    exec_start = next(x for x in text.splitlines() if x.startswith("ExecStart="))
    program = exec_start.removeprefix("ExecStart=").split()[0]
    assert Path(program).is_absolute() and os.access(program, os.X_OK)
    assert exec_start.endswith(f"--config {cfg} run")
    assert "systemctl --user enable --now syncsvc" in out and "loginctl enable-linger" in out
    # the repository unit's sandboxing, every line of it
    shipped = (REPO / "systemd" / "syncsvc.service").read_text().split("# --- Sandbox")[1]
    for line in shipped.splitlines():
        if "=" in line and not line.startswith(("#", "ReadWritePaths", "WantedBy")):
            assert line in text.splitlines(), line
    assert f"ReadWritePaths={tmp_path / 'data'} {tmp_path}" in text


def test_install_service_unit_verifies(
    cfg: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    if not shutil.which("systemd-analyze"):
        pytest.skip("no systemd-analyze here")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    ok(cfg, "install-service")
    unit = tmp_path / "xdg" / "systemd" / "user" / "syncsvc.service"
    runtime = tmp_path / "run"  # a user manager's runtime dir, which a CI container lacks
    runtime.mkdir(mode=0o700)
    proc = subprocess.run(
        ["systemd-analyze", "verify", "--user", str(unit)],
        capture_output=True,
        text=True,
        env={**os.environ, "XDG_RUNTIME_DIR": str(runtime)},
    )
    # verify reports a bad line on stderr and still exits 0: no line about the unit at all
    assert proc.returncode == 0 and "syncsvc.service" not in proc.stderr, proc.stderr


def test_help_ends_with_examples_completion_and_man_page() -> None:
    from syncsvc.cli import build_parser

    (commands,) = [a for a in build_parser()._actions if a.dest == "==SUPPRESS==" and a.choices]
    visible = [c.dest for c in commands._choices_actions]  # type: ignore[attr-defined]
    assert {"show", "edit", "never", "remove", "install-service", "completion"} <= set(visible)
    for command in [*visible, "offers done", "auth google"]:
        out = run_cli([*command.split(), "--help"]).stdout
        examples = out.split("examples:\n")[1].splitlines()
        assert 2 <= len(examples) <= 3 and all("syncsvc" in e for e in examples), command
    for shell in ("bash", "zsh", "fish"):
        result = run_cli(["completion", shell])
        assert result.exit_code == 0 and "install-service" in result.stdout, shell
    page = run_cli(["manpage"]).stdout
    assert page.startswith(".TH SYNCSVC") and "merge" in page


# ------------------------------------------------------------------------ doctor, the log
def test_doctor_names_each_problem_with_its_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    cal = tmp_path / "cal"
    cal.mkdir()
    (cal / "broken.ics").write_text("this is not a calendar\n")
    khal = tmp_path / "khal"  # khal's layout: a folder of vdirs
    (khal / "work").mkdir(parents=True)
    (khal / "work" / "a.ics").write_text("BEGIN:VCALENDAR\nEND:VCALENDAR\n")
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'data_dir = "{tmp_path / "data"}"\n[calendar]\nbackend = "vdir"\npath = "{cal}"\n'
        f'busy_calendars = ["{tmp_path / "nowhere"}", "{khal}"]\n'
    )
    code, out, _ = run(cfg, "doctor")
    assert code == 1
    lines = out.splitlines()
    assert any(line.startswith("FAILED calendar (vdir)") and "broken.ics" in line for line in lines)
    assert any(
        line.startswith(f"FAILED busy calendar {tmp_path / 'nowhere'}") and "busy_calendars" in line
        for line in lines
    )
    assert any(line.startswith(f"ok     busy calendar {khal}") and "work" in line for line in lines)
    assert any(line.startswith("warn   people") and "syncsvc import" in line for line in lines)
    assert any(line.startswith("warn   topic") and "syncsvc topic" in line for line in lines)
    assert any(line.startswith("warn   service") and "install-service" in line for line in lines)


def test_doctor_puts_each_config_problem_on_its_own_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('data_dir = 5\n[calls]\nper_day = "x"\nbogus = 1\n')
    result = run_cli(["--config", str(bad), "doctor"])
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert len(lines) == 4 and "; bad.toml" not in result.stdout
    assert lines[0] == f"FAILED config: {bad}: 3 problem(s); fix each in the file"
    assert sum(str(bad) in line for line in lines) == 1


def test_the_daemon_logs_the_calls_it_planned(cfg: Path, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    ok(cfg, "add", "Sam Lee")
    app = App(config.load(str(cfg)))
    app.narrate = True
    with caplog.at_level(logging.INFO, logger="syncsvc"):
        app.plan(FUTURE)
    app.close()
    (line,) = [r.getMessage() for r in caplog.records if "planned" in r.getMessage()]
    assert line.startswith(f"planned 1 call(s) for {FUTURE.isoformat()}: ") and "Sam Lee" in line


def test_busy_calendars_accept_a_folder_of_vdirs(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    from syncsvc.calendars.vdir import VdirCalendar

    khal = tmp_path / "khal"
    (khal / "work").mkdir(parents=True)
    (khal / "work" / "meeting.ics").write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//t//EN\r\nBEGIN:VEVENT\r\n"
        "UID:m1\r\nDTSTAMP:20261201T000000Z\r\nDTSTART:20261210T100000Z\r\n"
        "DTEND:20261210T110000Z\r\nSUMMARY:Meeting\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"
    )
    cal = VdirCalendar(tmp_path / "ours", busy_calendars=[khal])
    busy = cal.busy(datetime(2026, 12, 10, 8, tzinfo=UTC), datetime(2026, 12, 10, 18, tzinfo=UTC))
    assert busy == [
        (datetime(2026, 12, 10, 10, tzinfo=UTC), datetime(2026, 12, 10, 11, tzinfo=UTC))
    ]


def _on_a_terminal(args: list[str], answer: str) -> tuple[int, str]:
    """Run the installed command with a pseudo-terminal as stdin/stdout, answering a prompt."""
    import pty
    import select

    master, slave = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "syncsvc", *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env={**os.environ, "COLUMNS": "200", "NO_COLOR": "1"},
    )
    os.close(slave)
    output = b""
    answered = False
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            output += chunk
            if not answered and b"[y/N]" in output:
                os.write(master, answer.encode() + b"\n")
                answered = True
        elif proc.poll() is not None:
            break
    code = proc.wait(timeout=30)
    os.close(master)
    return code, output.decode(errors="replace")


def test_merge_and_remove_ask_on_a_terminal(cfg: Path) -> None:
    ok(cfg, "add", "Jane Roe", "--email", "jane@example.org")
    ok(cfg, "add", "J. Roe", "--email", "jane@work.example")
    code, out = _on_a_terminal(["--config", str(cfg), "merge", "jane@ex", "jane@work"], "n")
    assert code == 2 and "Merge them? [y/N]" in out and "nothing changed" in out, out
    assert len(people_json(cfg)) == 2
    code, out = _on_a_terminal(["--config", str(cfg), "merge", "jane roe", "j. roe"], "y")
    assert code == 0 and "Merged J. Roe" in out, out
    assert len(people_json(cfg)) == 1
    code, out = _on_a_terminal(["--config", str(cfg), "remove", "jane"], "y")
    assert code == 0 and "Removed Jane Roe" in out, out
    assert people_json(cfg) == []


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        ("yesterday", date(2026, 12, 1)),  # today: Wednesday 2 December 2026
        ("last monday", date(2026, 11, 30)),
        ("Last Wed", date(2026, 11, 25)),  # a week back, never today
        ("last thursday", date(2026, 11, 26)),
        ("last week", date(2026, 11, 23)),  # its Monday
        ("last month", date(2026, 11, 1)),
        ("3 days ago", date(2026, 11, 29)),
        ("a week ago", date(2026, 11, 25)),
        ("2 weeks ago", date(2026, 11, 18)),
        ("next monday", None),
        ("last", None),
        ("99999999 weeks ago", None),
    ],
)
def test_since_takes_days_in_the_past_in_words(words: str, expected: date | None) -> None:
    from syncsvc.cli import past_day

    assert past_day(words, date(2026, 12, 2)) == expected


def test_calls_since_last_week_in_words(cfg: Path) -> None:
    ok(cfg, "add", "Sam Lee")
    ok(cfg, "plan", "--date", "tomorrow")
    assert len(json.loads(ok(cfg, "calls", "--since", "last week", "--json"))) == 1
    assert json.loads(ok(cfg, "calls", "--since", "3 days ago", "--json"))
    code, out, err = run(cfg, "calls", "--since", "the other day")
    assert code == 2 and out == ""
    assert "last monday" in err and err.count("\n") == 1
    code, _, err = run(cfg, "calls", "--since", "9999 weeks ago")
    assert code == 2 and "out of range" in err
