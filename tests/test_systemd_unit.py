"""systemd/syncsvc.service: parsed as a unit file, then checked by systemd-analyze when present."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[1] / "systemd" / "syncsvc.service"
MAX_EXPOSURE = 4.0


def parse_unit(text: str) -> dict[str, dict[str, list[str]]]:
    """A systemd unit as {section: {key: [values in order]}}. Strict about the syntax that
    systemd would reject or misread: keys outside a section, lines without "=", duplicate
    sections, trailing-backslash continuations (not used here)."""
    sections: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] | None = None
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line[0] in "#;":
            continue
        assert not line.endswith("\\"), f"line {number}: continuation lines are not used"
        if line.startswith("["):
            assert line.endswith("]"), f"line {number}: bad section header {line!r}"
            name = line[1:-1]
            assert name not in sections, f"line {number}: section [{name}] repeated"
            current = sections[name] = {}
            continue
        assert current is not None, f"line {number}: {line!r} outside a section"
        key, sep, value = line.partition("=")
        assert sep, f"line {number}: no '=' in {line!r}"
        assert re.fullmatch(r"[A-Za-z][A-Za-z0-9]*", key.strip()), f"line {number}: bad key"
        current.setdefault(key.strip(), []).append(value.strip())
    return sections


@pytest.fixture(scope="module")
def unit() -> dict[str, dict[str, list[str]]]:
    return parse_unit(UNIT.read_text())


def last(unit: dict[str, dict[str, list[str]]], section: str, key: str) -> str:
    values = unit[section].get(key)
    assert values, f"[{section}] {key}= missing"
    return values[-1]


def test_exec_start_runs_the_daemon(unit: dict[str, dict[str, list[str]]]) -> None:
    """ExecStart= is a command line the CLI parses as the daemon (``run``), at the path
    ``pipx``/``pip --user`` install to (the comment above it says to adjust it)."""
    from syncsvc import cli

    exe, *args = last(unit, "Service", "ExecStart").split()
    assert exe == "%h/.local/bin/syncsvc"
    parsed = cli.build_parser().parse_args(args)
    assert parsed.command is cli.cmd_run


def test_notify_type_is_what_the_daemon_speaks(unit: dict[str, dict[str, list[str]]]) -> None:
    """Type=notify: systemd waits for READY=1, which the daemon itself (the main process)
    sends, so NotifyAccess must let the main process through; a watchdog needs it too."""
    assert last(unit, "Service", "Type") == "notify"
    assert last(unit, "Service", "NotifyAccess") in ("main", "all")
    daemon_source = (UNIT.parents[1] / "syncsvc" / "daemon.py").read_text()
    assert "READY=1" in daemon_source and "WATCHDOG=1" in daemon_source


def _rw_paths(unit: dict[str, dict[str, list[str]]], home: Path) -> list[Path]:
    return [
        Path(p.replace("%h", str(home)))
        for value in unit["Service"].get("ReadWritePaths", [])
        for p in value.split()
    ]


def test_the_sandbox_lets_syncsvc_write_where_it_writes(
    unit: dict[str, dict[str, list[str]]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With the home read-only and the system strict, the daemon can still write its data
    dir and config dir (their defaults under $HOME, XDG variables unset as under systemd)."""
    from syncsvc import paths

    home = tmp_path / "home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    assert last(unit, "Service", "ProtectHome") in ("read-only", "tmpfs", "yes")
    assert last(unit, "Service", "ProtectSystem") == "strict"
    writable = _rw_paths(unit, home)
    for needed in (paths.default_data_dir(), paths.default_config_path().parent):
        assert any(needed == w or w in needed.parents for w in writable), needed
    # ... and ExecStartPre creates them (ReadWritePaths= on a missing path fails the start)
    pre = last(unit, "Service", "ExecStartPre").replace("%h", str(home)).split()
    for w in writable:
        assert str(w) in pre


def test_the_sandbox_is_in_force_for_a_user_manager(
    unit: dict[str, dict[str, list[str]]],
) -> None:
    """An unprivileged user manager silently skips ProtectSystem=, ProtectHome=, PrivateTmp=,
    ReadWritePaths= ... unless the unit runs in a user namespace (systemd.exec(5),
    "Sandboxing"): PrivateUsers=yes is what makes the rest real."""
    assert last(unit, "Service", "PrivateUsers") == "yes"


def test_network_families_cover_every_backend(unit: dict[str, dict[str, list[str]]]) -> None:
    """CalDAV and Google need IPv4/IPv6; the notify socket and password commands AF_UNIX."""
    families = set(last(unit, "Service", "RestrictAddressFamilies").split())
    assert {"AF_UNIX", "AF_INET", "AF_INET6"} <= families
    assert not any(f.startswith("~") for f in families)


def test_files_are_private_and_a_crash_restarts(unit: dict[str, dict[str, list[str]]]) -> None:
    """Tokens and the store must not be world-readable even if a write forgot its mode; a
    crash (watchdog timeout included) restarts the daemon, but not in a tight loop, and a
    stop does not outlast the daemon's own SIGTERM handling."""
    assert int(last(unit, "Service", "UMask"), 8) & 0o077 == 0o077
    assert last(unit, "Service", "Restart") in ("on-failure", "on-abnormal", "always")
    assert int(last(unit, "Service", "RestartSec")) >= 10
    assert 5 <= int(last(unit, "Service", "TimeoutStopSec")) <= 90


def test_sections_and_install(unit: dict[str, dict[str, list[str]]]) -> None:
    assert set(unit) == {"Unit", "Service", "Install"}
    assert last(unit, "Unit", "Description")
    assert last(unit, "Install", "WantedBy") == "default.target"
    # A user unit: nothing that only a system manager understands.
    for key in ("User", "Group", "DynamicUser"):
        assert key not in unit["Service"]


def test_system_call_filter_allows_system_service(unit: dict[str, dict[str, list[str]]]) -> None:
    assert unit["Service"]["SystemCallFilter"][0] == "@system-service"


def test_watchdog_matches_the_daemon_ping_interval(unit: dict[str, dict[str, list[str]]]) -> None:
    from syncsvc import sdnotify

    usec = int(last(unit, "Service", "WatchdogSec")) * 1_000_000
    os.environ["WATCHDOG_USEC"] = str(usec)
    try:
        assert sdnotify.watchdog_interval() == 60.0
    finally:
        del os.environ["WATCHDOG_USEC"]


def test_comments_say_how_to_adjust_the_path_and_install() -> None:
    text = UNIT.read_text()
    assert re.search(r"#.*[Aa]djust.*path", text)
    assert "pipx" in text and "venv" in text
    assert "systemctl --user enable --now syncsvc" in text
    assert "journalctl --user -u syncsvc" in text


def test_parser_rejects_broken_units() -> None:
    with pytest.raises(AssertionError):
        parse_unit("Type=notify\n")
    with pytest.raises(AssertionError):
        parse_unit("[Service]\nType notify\n")
    with pytest.raises(AssertionError):
        parse_unit("[Service\nType=notify\n")


# --------------------------------------------------------------------------- systemd-analyze

ANALYZE = shutil.which("systemd-analyze")
needs_analyze = pytest.mark.skipif(
    ANALYZE is None,
    reason="systemd-analyze not installed (apt-get install systemd); unit only checked by parsing",
)


def _analyze_env(tmp_path: Path) -> dict[str, str]:
    """A home with an executable where ExecStart= points (verify checks it exists), and a
    runtime dir (the --user manager wants one)."""
    home = tmp_path / "home"
    exe = home / ".local" / "bin" / "syncsvc"
    exe.parent.mkdir(parents=True)
    exe.write_text("#!/bin/sh\nexit 0\n")
    exe.chmod(0o755)
    runtime = tmp_path / "run"
    runtime.mkdir(mode=0o700)
    env = dict(os.environ)
    env.update(HOME=str(home), XDG_RUNTIME_DIR=str(runtime), SYSTEMD_LOG_LEVEL="info")
    env.pop("SYSTEMD_UNIT_PATH", None)
    return env


def _copy(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "syncsvc.service"
    path.write_text(text)
    return path


def _verify(path: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    assert ANALYZE is not None
    return subprocess.run(
        [ANALYZE, "--user", "verify", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@needs_analyze
def test_systemd_analyze_verify_is_clean(tmp_path: Path) -> None:
    env = _analyze_env(tmp_path)
    result = _verify(_copy(tmp_path, UNIT.read_text()), env)
    # verify exits 0 even for unknown keys or bad values; those show up as messages.
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr
    assert result.stdout.strip() == "", result.stdout


@needs_analyze
def test_systemd_analyze_verify_would_catch_mistakes(tmp_path: Path) -> None:
    env = _analyze_env(tmp_path)
    broken = UNIT.read_text().replace("ProtectHome=read-only", "ProtectHome=maybe\nBogusKey=1")
    result = _verify(_copy(tmp_path, broken), env)
    assert "BogusKey" in result.stderr
    assert "protect home" in result.stderr.lower()


@needs_analyze
def test_systemd_analyze_security_exposure(tmp_path: Path) -> None:
    env = _analyze_env(tmp_path)
    path = _copy(tmp_path, UNIT.read_text())
    assert ANALYZE is not None
    result = subprocess.run(
        [ANALYZE, "security", "--user", "--offline=yes", "--no-pager", str(path)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    if "--offline" in result.stderr and "unrecognized" in result.stderr:
        pytest.skip(f"systemd-analyze too old for --offline: {result.stderr.strip()}")
    match = re.search(r"Overall exposure level for \S+: ([0-9.]+)", result.stdout)
    assert match, result.stdout + result.stderr
    exposure = float(match.group(1))
    assert exposure <= MAX_EXPOSURE, result.stdout
