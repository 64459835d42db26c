"""Two (or ten) syncsvc processes on one data dir at once: the daemon and manual ``plan`` /
``import`` / ``sync`` / ``status``. The data dir lock serialises them: no double planning, no
"database is locked", no traceback. A holder that keeps the lock past the wait makes the next
process exit 75 with one clear line."""

from __future__ import annotations

import contextlib
import fcntl
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from tests.crash_harness import REPO, VdirBackend, first_monday_after

PER_DAY = 3


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text(
        f'data_dir = "{tmp_path / "data"}"\n[calls]\nper_day = {PER_DAY}\n'
        f'timezone = "Europe/Berlin"\n[calendar]\npath = "{tmp_path / "calendar"}"\n'
        "[sync]\npoll_minutes = 1\n"
    )
    return path


def _vcf(path: Path, start: int, n: int) -> Path:
    path.write_text(
        "".join(
            f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Lock Person {i:04d}\r\n"
            f"EMAIL:lock{i}@example.org\r\nEND:VCARD\r\n"
            for i in range(start, start + n)
        )
    )
    return path


def _argv(config: Path, *commands: list[str]) -> list[str]:
    argv = [sys.executable, "-m", "tests.google_launcher", "-"]
    for command in commands:
        argv += ["--", "--config", str(config), *command]
    return argv


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "JOURNAL_STREAM")}
    env["PYTHONPATH"] = str(REPO)
    env.update(extra)
    return env


def _popen(config: Path, *commands: list[str], **env: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        _argv(config, *commands), env=_env(**env), cwd=REPO, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip


def _no_lock_noise(stderr: str) -> None:
    assert "Traceback" not in stderr, stderr
    assert "database is locked" not in stderr, stderr
    assert "internal error" not in stderr, stderr


def test_daemons_and_manual_commands_at_once(tmp_path: Path) -> None:
    config = _config(tmp_path)
    subprocess.run(
        _argv(config, ["import", str(_vcf(tmp_path / "a.vcf", 0, 60))], ["topic", "locks"]),
        env=_env(), cwd=REPO, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    first = first_monday_after(date.today(), 7).isoformat()
    daemons = [_popen(config, ["run"]) for _ in range(2)]
    manual: list[tuple[list[str], subprocess.Popen[str]]] = []
    for round_ in range(3):
        for cmd in (
            ["plan", "--date", first, "--days", str(3 + round_)],
            ["plan", "--date", first, "--days", "4"],
            ["import", str(_vcf(tmp_path / f"b{round_}.vcf", 100 + 20 * round_, 20))],
            ["sync"],
            ["status", "--json"],
            ["people", "--json"],
        ):
            manual.append((cmd, _popen(config, cmd)))
        time.sleep(0.2)
    for cmd, proc in manual:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, (cmd, proc.returncode, err)
        _no_lock_noise(err)
    time.sleep(1.0)  # the daemons' start-up jobs
    for proc in daemons:
        assert proc.poll() is None, proc.communicate()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        _no_lock_noise(err)

    import sqlite3

    conn = sqlite3.connect(tmp_path / "data" / "syncsvc.db")
    try:
        per_day = Counter(r[0] for r in conn.execute("SELECT day FROM calls"))
        assert per_day and all(n == PER_DAY for n in per_day.values()), per_day
        open_per_person = Counter(
            r[0] for r in conn.execute("SELECT person_id FROM calls WHERE outcome = 'planned'")
        )
        assert all(n == 1 for n in open_per_person.values())
        assert conn.execute("SELECT count(*) FROM people").fetchone()[0] == 120
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        calls = {r[0] for r in conn.execute("SELECT id FROM calls")}
    finally:
        conn.close()
    events = VdirBackend(tmp_path / "calendar").events()
    assert Counter(u for u, _, _ in events).most_common(1)[0][1] == 1
    assert {c for _, c, _ in events} == calls


def _wait_until_it_holds_open(proc: subprocess.Popen[str], path: Path) -> None:
    """Poll (deadline 30 s) until ``proc`` has ``path`` open: it has got as far as the lock.
    A fixed sleep would also pass for a process that had not even started."""
    fds = Path(f"/proc/{proc.pid}/fd")
    if not fds.is_dir():
        pytest.skip("needs /proc to see the process's open files")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        with contextlib.suppress(OSError):
            if any(os.readlink(f) == str(path) for f in fds.iterdir()):
                return
        time.sleep(0.02)
    raise AssertionError(f"the command never opened {path}")


def _hold_lock(data_dir: Path) -> int:
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(data_dir / "lock", os.O_RDWR | os.O_CREAT, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)
    return fd


@pytest.mark.parametrize("command", [["plan"], ["import", "PEOPLE"], ["sync"], ["topic", "x"]])
def test_a_holder_past_the_wait_makes_the_next_exit_75(command: list[str], tmp_path: Path) -> None:
    config = _config(tmp_path)
    command = [str(_vcf(tmp_path / "p.vcf", 0, 3)) if c == "PEOPLE" else c for c in command]
    fd = _hold_lock(tmp_path / "data")
    try:
        started = time.monotonic()
        proc = subprocess.run(
            _argv(config, command), env=_env(SYNCSVC_TEST_LOCK_TIMEOUT="1"), cwd=REPO,
            capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        elapsed = time.monotonic() - started
    finally:
        os.close(fd)
    assert proc.returncode == 75, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert "another syncsvc process is busy" in lines[0]
    assert "try again" in lines[0]
    assert elapsed < 20


def test_a_waiting_command_goes_ahead_once_the_holder_lets_go(tmp_path: Path) -> None:
    config = _config(tmp_path)
    subprocess.run(
        _argv(config, ["import", str(_vcf(tmp_path / "a.vcf", 0, 10))]),
        env=_env(), cwd=REPO, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    fd = _hold_lock(tmp_path / "data")
    proc = _popen(config, ["plan", "--json"], SYNCSVC_TEST_LOCK_TIMEOUT="30")
    _wait_until_it_holds_open(proc, tmp_path / "data" / "lock")  # it reached the lock...
    assert proc.poll() is None  # ... and waits there, not failing
    os.close(fd)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    _no_lock_noise(err)


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_the_real_wait_is_sixty_seconds(tmp_path: Path) -> None:
    config = _config(tmp_path)
    fd = _hold_lock(tmp_path / "data")
    try:
        started = time.monotonic()
        proc = subprocess.run(
            _argv(config, ["plan"]), env=_env(), cwd=REPO, capture_output=True, text=True,
            timeout=200,
        )  # fmt: skip
        elapsed = time.monotonic() - started
    finally:
        os.close(fd)
    assert proc.returncode == 75
    assert "waited 60 s" in proc.stderr
    assert 59 < elapsed < 80
