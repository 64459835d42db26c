"""Secrets: token and password files are 0600 from the moment they exist, the data dir is 0700,
and a CalDAV password (password_env, password_command) or a Google token never shows up in
logs (``-v``), error messages, ``--json`` output or the SQLite file (its bytes are grepped,
WAL included)."""

from __future__ import annotations

import json
import os
import shlex
import stat
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest

from syncsvc import paths
from syncsvc.google_auth import SCOPES
from tests.crash_harness import REPO
from tests.google_fake import FakeGoogle, running
from tests.radicale_server import RadicaleServer, radicale_fixture

radicale = radicale_fixture("module")

CALDAV_USER = "exposure"
CALDAV_SECRET = "Pw-7f3a9c-DO-NOT-LEAK-caldav"
REFRESH = "1//refresh-9c41-DO-NOT-LEAK"
ACCESS = "ya29.access-52be-DO-NOT-LEAK"
CLIENT_SECRET = "GOCSPX-client-DO-NOT-LEAK"
DAY = (date.today() + timedelta(days=10)).isoformat()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _vcf(path: Path) -> Path:
    path.write_text("".join(
        f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Secret Person {i}\r\nEMAIL:s{i}@example.org\r\n"
        "END:VCARD\r\n" for i in range(6)))  # fmt: skip
    return path


def _run(tmp_path: Path, endpoint: str, commands: list[list[str]], env: dict[str, str],
         umask: int = 0o000) -> subprocess.CompletedProcess[str]:  # fmt: skip
    argv = [sys.executable, "-m", "tests.google_launcher", endpoint]
    for command in commands:
        argv += ["--", "--config", str(tmp_path / "config.toml"), *command]
    full = {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "JOURNAL_STREAM")}
    full.update(env, PYTHONPATH=str(REPO))
    return subprocess.run(
        argv, env=full, cwd=REPO, capture_output=True, text=True, timeout=120,
        preexec_fn=lambda: os.umask(umask),  # the most permissive umask: modes come from us
    )  # fmt: skip


def _store_bytes(data_dir: Path) -> bytes:
    return b"".join(p.read_bytes() for p in data_dir.glob("syncsvc.db*"))


def _assert_nowhere(secrets: list[str], *texts: str | bytes) -> None:
    for secret in secrets:
        for text in texts:
            blob = text.encode() if isinstance(text, str) else text
            assert secret.encode() not in blob, f"{secret!r} leaked"
            # a prefix long enough to identify it, too (a cut-off message)
            assert secret[:12].encode() not in blob, f"a prefix of {secret!r} leaked"


COMMANDS = [
    ["-v", "import", "PEOPLE"],
    ["-v", "topic", "secrets"],
    ["-v", "plan", "--date", DAY, "--json"],
    ["-v", "sync", "--json"],
    ["-v", "status", "--json"],
    ["-v", "calls", "--json"],
    ["-v", "people", "--json"],
    ["-v", "doctor", "--json"],
]


def _commands(tmp_path: Path) -> list[list[str]]:
    vcf = str(_vcf(tmp_path / "p.vcf"))
    return [[vcf if c == "PEOPLE" else c for c in cmd] for cmd in COMMANDS]


# --------------------------------------------------------------------------- CalDAV
@pytest.fixture(scope="module")
def caldav_user(radicale: RadicaleServer) -> str:
    """A second Radicale user whose password is unique enough to grep for."""
    with radicale.htpasswd.open("a") as f:
        f.write(f"{CALDAV_USER}:{CALDAV_SECRET}\n")
    return CALDAV_USER


def _caldav_config(tmp_path: Path, url: str, how: str) -> None:
    if how == "env":
        secret = 'password_env = "EXPOSURE_PW"'
    else:
        script = tmp_path / "pw.py"
        script.write_text(f"print({CALDAV_SECRET!r})\nprint('second line')\n")
        cmd = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}"
        secret = f"password_command = {json.dumps(cmd)}"
    (tmp_path / "config.toml").write_text(
        f'data_dir = "{tmp_path / "data"}"\n[calls]\ntimezone = "Europe/Berlin"\n'
        f'[calendar]\nbackend = "caldav"\nurl = "{url}"\nusername = "{CALDAV_USER}"\n'
        f'calendar = "Exposure {how}"\n{secret}\ntimeout_seconds = 5\n'
    )


@pytest.mark.parametrize("how", ["env", "command"])
def test_caldav_password_never_appears(
    how: str, tmp_path: Path, radicale: RadicaleServer, caldav_user: str
) -> None:
    _caldav_config(tmp_path, radicale.url, how)
    proc = _run(tmp_path, "-", _commands(tmp_path), {"EXPOSURE_PW": CALDAV_SECRET})
    assert proc.returncode == 0, proc.stderr
    assert '"call_id"' in proc.stdout  # the commands did their work
    _assert_nowhere([CALDAV_SECRET], proc.stdout, proc.stderr, _store_bytes(tmp_path / "data"))
    data = tmp_path / "data"
    assert mode(data) == 0o700
    assert mode(data / "lock") == 0o600


@pytest.mark.parametrize("how", ["env", "command"])
def test_a_wrong_caldav_password_is_not_echoed(
    how: str, tmp_path: Path, radicale: RadicaleServer, caldav_user: str
) -> None:
    wrong = CALDAV_SECRET + "-but-wrong"
    _caldav_config(tmp_path, radicale.url, how)
    if how == "command":
        (tmp_path / "pw.py").write_text(f"print({wrong!r})\n")
    proc = _run(tmp_path, "-", [["-v", "import", str(_vcf(tmp_path / "p.vcf"))],
                                ["-v", "plan", "--date", DAY]],
                {"EXPOSURE_PW": wrong})  # fmt: skip
    assert proc.returncode == 77, proc.stderr
    assert "wrong username or password" in proc.stderr
    _assert_nowhere([wrong, CALDAV_SECRET], proc.stdout, proc.stderr,
                    _store_bytes(tmp_path / "data"))  # fmt: skip


def test_caldav_server_errors_do_not_echo_the_password(
    tmp_path: Path, radicale: RadicaleServer, caldav_user: str
) -> None:
    _caldav_config(tmp_path, radicale.proxy_url, "env")
    radicale.proxy.fail("*", 500, times=100)
    try:
        proc = _run(tmp_path, "-", [["-v", "import", str(_vcf(tmp_path / "p.vcf"))],
                                    ["-v", "plan", "--date", DAY], ["-v", "sync"],
                                    ["-v", "doctor"]],
                    {"EXPOSURE_PW": CALDAV_SECRET})  # fmt: skip
    finally:
        radicale.proxy.reset()
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    _assert_nowhere([CALDAV_SECRET], proc.stdout, proc.stderr)


# --------------------------------------------------------------------------- Google
def _google_setup(tmp_path: Path, fake: FakeGoogle, refresh: str = REFRESH) -> Path:
    data = tmp_path / "data"
    (tmp_path / "config.toml").write_text(
        f'data_dir = "{data}"\n[calls]\ntimezone = "Europe/Berlin"\n'
        '[calendar]\nbackend = "google"\ntimeout_seconds = 5\n'
    )
    token = {
        "token": ACCESS, "refresh_token": refresh, "token_uri": fake.token_uri,
        "client_id": "123-abc.apps.googleusercontent.com", "client_secret": CLIENT_SECRET,
        "scopes": SCOPES, "expiry": "2020-01-01T00:00:00Z",  # expired: a refresh happens
    }  # fmt: skip
    paths.write_private_file(data / "google-token.json", json.dumps(token))
    return data


def test_google_tokens_never_appear(tmp_path: Path) -> None:
    with running() as fake:
        fake.refresh_tokens.add(REFRESH)
        data = _google_setup(tmp_path, fake)
        proc = _run(tmp_path, fake.calendar_endpoint, _commands(tmp_path),
                    {"SYNCSVC_TEST_GOOGLE_TOKEN_URI": fake.token_uri})  # fmt: skip
        issued = list(fake.access_tokens)
        sent = {r.headers.get("authorization", "") for r in fake.requests}
    assert proc.returncode in (0, 1), proc.stderr  # doctor may fail on the client file only
    assert '"call_id"' in proc.stdout, proc.stderr
    assert issued, "the expired token was refreshed through the fake"
    assert any(issued[-1] in h for h in sent), "the API calls carried the new token"
    secrets = [REFRESH, ACCESS, CLIENT_SECRET, *issued]
    _assert_nowhere(secrets, proc.stdout, proc.stderr, _store_bytes(data))
    token_file = data / "google-token.json"
    assert mode(token_file) == 0o600  # rewritten after the refresh: still 0600
    assert issued[-1] in token_file.read_text()  # ... and it is where the token lives
    assert mode(data) == 0o700


def test_a_revoked_google_token_is_one_line_without_it(tmp_path: Path) -> None:
    with running() as fake:  # REFRESH is not among the fake's valid refresh tokens
        data = _google_setup(tmp_path, fake)
        proc = _run(tmp_path, fake.calendar_endpoint,
                    [["-v", "import", str(_vcf(tmp_path / "p.vcf"))],
                     ["-v", "plan", "--date", DAY]],
                    {"SYNCSVC_TEST_GOOGLE_TOKEN_URI": fake.token_uri})  # fmt: skip
    assert proc.returncode == 77, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("syncsvc: ")]
    assert len(errors) == 1 and "syncsvc auth google" in errors[0], proc.stderr
    _assert_nowhere([REFRESH, ACCESS, CLIENT_SECRET], proc.stdout, proc.stderr,
                    _store_bytes(data))  # fmt: skip


# --------------------------------------------------------------------------- modes
def test_private_files_are_0600_from_the_first_byte(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every file write_private_file creates is created with mode 0600 by the open() itself
    (no chmod afterwards, so no moment in which it is readable by others), even at umask 0."""
    created: list[tuple[str, int, int]] = []
    real_open = os.open

    def spy(path: Any, flags: int, mode_: int = 0o777, *a: Any, **kw: Any) -> int:
        if flags & os.O_CREAT:
            created.append((str(path), flags, mode_))
        return real_open(path, flags, mode_, *a, **kw)

    monkeypatch.setattr(os, "open", spy)
    chmods: list[str] = []
    monkeypatch.setattr(os, "chmod", lambda p, m, **kw: chmods.append(str(p)))
    old = os.umask(0)
    try:
        target = tmp_path / "fresh" / "google-token.json"
        paths.write_private_file(target, '{"refresh_token": "x"}')
    finally:
        os.umask(old)
    assert created and all(m == 0o600 for _, _, m in created), created
    assert mode(target) == 0o600
    assert mode(target.parent) == 0o700
    assert not any("google-token" in p for p in chmods)


def test_the_data_dir_and_lock_are_private_even_at_umask_0(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        f'data_dir = "{tmp_path / "deep" / "data"}"\n[calls]\ntimezone = "UTC"\n'
    )
    proc = _run(tmp_path, "-", [["import", str(_vcf(tmp_path / "p.vcf"))]], {})
    assert proc.returncode == 0, proc.stderr
    data = tmp_path / "deep" / "data"
    assert mode(data) == 0o700
    assert mode(data / "lock") == 0o600
    # the store itself is inside the 0700 dir; its own mode is reported in RELIABILITY.md
    assert (data / "syncsvc.db").exists()


def test_the_store_file_is_private_from_the_start(tmp_path: Path) -> None:
    import os
    import stat

    from syncsvc.store import Store

    old = os.umask(0)
    try:
        store = Store.open(tmp_path / "data" / "syncsvc.db")
        with store.tx():
            store.set_meta("x", "y")
        store.close()
    finally:
        os.umask(old)
    for name in ("syncsvc.db", "syncsvc.db-wal", "syncsvc.db-shm"):
        path = tmp_path / "data" / name
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) & 0o077 == 0, name
