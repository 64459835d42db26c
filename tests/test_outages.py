"""A calendar server that is down, resets connections, hangs, answers 500/503/429, or drops the
connection mid-response.

- One-off commands (``syncsvc plan`` / ``sync`` in a subprocess) fail with ONE clear line and a
  non-zero exit (never 70, never a traceback) well within 60 s.
- The daemon (in-process ``syncsvc.daemon.run`` with the App's jobs, a fake clock and a fake
  wait) logs each failure in one line, backs off, and catches up when the server returns:
  every planned day has its events once, a note written during the outage is applied once.
"""

from __future__ import annotations

import contextlib
import logging
import random
import socket
import struct
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any

import pytest

from syncsvc import config as config_mod
from syncsvc import daemon
from syncsvc.app import App
from syncsvc.calendars.caldav import CaldavCalendar
from syncsvc.calendars.google import GoogleCalendar
from syncsvc.clock import FixedClock
from syncsvc.errors import RateLimitedError
from syncsvc.google_api import build_service
from syncsvc.store import calls as calls_db
from syncsvc.sync import uid_for
from tests.conftest import BERLIN, add_people
from tests.crash_harness import CaldavBackend, GoogleBackend
from tests.google_fake import FakeGoogle, running
from tests.radicale_server import PASSWORD, USER, RadicaleServer, radicale_fixture

radicale = radicale_fixture("module")
REPO = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"


# --------------------------------------------------------------------------- the bad server
class FaultServer:
    """A loopback TCP server whose behaviour can be switched at any time:

    ``pass``     relay bytes to ``upstream`` (a real server) both ways
    ``down``     nothing listens (connection refused)
    ``reset``    accept, then close at once with RST
    ``hang``     accept, read, never answer
    ``drop``     relay the request upstream (the write happens!), then send only the first
                 bytes of the answer's head and close: the connection dies mid-response
    ``cut``      the same, but the whole head and half of the body (Content-Length says more)
    ``500``/``503``/``429``  answer that status (429 with ``Retry-After``) without forwarding
    """

    def __init__(self, upstream_port: int | None = None, mode: str = "pass") -> None:
        self.upstream_port = upstream_port
        self.mode = mode
        self.retry_after = 120
        self.connections = 0
        self._open: set[socket.socket] = set()
        self._sock: socket.socket | None = None
        self._stop = threading.Event()
        self.port = self._listen()
        threading.Thread(target=self._accept_loop, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/"

    def _listen(self, port: int = 0) -> int:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((HOST, port))
        sock.listen(64)
        sock.settimeout(0.1)
        self._sock = sock
        return int(sock.getsockname()[1])

    def set(self, mode: str) -> None:
        """Switch behaviour; open connections are cut (as an outage would)."""
        for s in list(self._open):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)
        self._open.clear()
        if mode == "down" and self._sock is not None:
            self._sock.close()
            self._sock = None
        elif mode != "down" and self._sock is None:
            self._listen(self.port)
        self.mode = mode

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            sock = self._sock
            if sock is None:
                time.sleep(0.02)
                continue
            try:
                conn, _ = sock.accept()
            except (TimeoutError, OSError):
                continue
            self.connections += 1
            threading.Thread(target=self._serve, args=(conn, self.mode), daemon=True).start()

    def _serve(self, conn: socket.socket, mode: str) -> None:
        self._open.add(conn)
        try:
            if mode == "reset":
                linger = struct.pack("ii", 1, 0)  # on, 0 s: close() sends RST
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
                conn.close()
                return
            if mode == "hang":
                with contextlib.suppress(OSError):
                    while conn.recv(65536):
                        pass
                return
            if mode in ("500", "503", "429"):
                self._answer_status(conn, int(mode))
                return
            self._relay(conn, truncate=mode if mode in ("drop", "cut") else None)
        except OSError:
            pass
        finally:
            self._open.discard(conn)
            with contextlib.suppress(OSError):
                conn.close()

    def _read_request(self, conn: socket.socket) -> bytes:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return data
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        while len(body) < length:
            chunk = conn.recv(65536)
            if not chunk:
                break
            body += chunk
        return head + b"\r\n\r\n" + body

    def _answer_status(self, conn: socket.socket, status: int) -> None:
        while True:
            if not self._read_request(conn):
                return
            body = f'{{"error": {{"code": {status}, "message": "injected {status}"}}}}'.encode()
            extra = f"Retry-After: {self.retry_after}\r\n" if status == 429 else ""
            conn.sendall(
                f"HTTP/1.1 {status} Injected\r\nContent-Type: application/json\r\n{extra}"
                f"Content-Length: {len(body)}\r\n\r\n".encode()
                + body
            )

    def _relay(self, conn: socket.socket, truncate: str | None) -> None:
        assert self.upstream_port is not None
        up = socket.create_connection((HOST, self.upstream_port), timeout=30)
        self._open.update((conn, up))
        try:
            if truncate:
                up.sendall(self._read_request(conn))
                answer = self._read_request(up)  # an HTTP response has the same framing
                head, _, body = answer.partition(b"\r\n\r\n")
                if truncate == "drop" or not body:  # cut inside the status line/headers
                    conn.sendall(answer[: min(len(head) // 2, 40)])
                else:  # complete headers, half the body
                    conn.sendall(head + b"\r\n\r\n" + body[: len(body) // 2])
                return

            def pump(src: socket.socket, dst: socket.socket) -> None:
                with contextlib.suppress(OSError):
                    while data := src.recv(65536):
                        dst.sendall(data)
                with contextlib.suppress(OSError):
                    dst.shutdown(socket.SHUT_WR)

            t = threading.Thread(target=pump, args=(up, conn), daemon=True)
            t.start()
            pump(conn, up)
            t.join(timeout=60)
        finally:
            self._open.discard(conn)
            self._open.discard(up)
            up.close()

    def close(self) -> None:
        self._stop.set()
        if self._sock is not None:
            self._sock.close()
        for s in list(self._open):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def google() -> Iterator[FakeGoogle]:
    with running() as fake:
        yield fake


def _port(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/", 1)[0])


# --------------------------------------------------------------------------- one-off commands
MODES = ["down", "reset", "hang", "drop", "cut", "500", "503", "429"]
TIMEOUT = 2
DAY = (date.today() + timedelta(days=10)).isoformat()


def _write_config(tmp_path: Path, calendar: dict[str, Any]) -> Path:
    lines = [f'data_dir = "{tmp_path / "data"}"', "[calls]", 'timezone = "Europe/Berlin"',
             "[calendar]"]  # fmt: skip
    for k, v in calendar.items():
        lines.append(f'{k} = "{v}"' if isinstance(v, str) else f"{k} = {v}")
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n")
    return path


def _vcf(tmp_path: Path, n: int = 5) -> Path:
    path = tmp_path / "people.vcf"
    path.write_text(
        "".join(
            f"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Outage Person {i}\r\nEMAIL:o{i}@example.org\r\n"
            "END:VCARD\r\n"
            for i in range(n)
        )
    )
    return path


def _one_off(tmp_path: Path, endpoint: str, calendar: dict[str, Any],
             env: dict[str, str], command: list[str]) -> tuple[int, str, float]:  # fmt: skip
    config = _write_config(tmp_path, calendar)
    base = [sys.executable, "-m", "tests.google_launcher", endpoint]
    full_env = {**_clean_env(), **env, "PYTHONPATH": str(REPO)}
    subprocess.run(
        [*base, "--", "--config", str(config), "import", str(_vcf(tmp_path))],
        env=full_env, cwd=REPO, check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    started = time.monotonic()
    proc = subprocess.run(
        [*base, "--", "--config", str(config), *command],
        env=full_env, cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    return proc.returncode, proc.stderr, time.monotonic() - started


def _clean_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "JOURNAL_STREAM")}


def _assert_one_clear_line(rc: int, stderr: str, elapsed: float, limit: float = 60) -> str:
    assert rc not in (0, 70), (rc, stderr)
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("syncsvc: ")]
    assert len(errors) == 1, stderr
    # nothing else but INFO/WARNING progress lines of the retries
    others = [line for line in stderr.splitlines() if not line.startswith("syncsvc: ")]
    assert all(line.startswith(("INFO ", "WARNING ")) for line in others), stderr
    assert elapsed < limit, f"took {elapsed:.1f} s: {stderr}"
    return errors[0]


@pytest.mark.parametrize("command", [["plan", "--date", DAY], ["sync"]])
@pytest.mark.parametrize("mode", MODES)
def test_caldav_one_off_command_fails_with_one_line(
    mode: str, command: list[str], tmp_path: Path, radicale: RadicaleServer
) -> None:
    server = FaultServer(radicale.port, mode)
    server.set(mode)
    try:
        rc, err, elapsed = _one_off(
            tmp_path, "-",
            {"backend": "caldav", "url": server.url, "username": USER,
             "calendar": f"Calls {uuid.uuid4().hex[:6]}", "password_env": "OUTAGE_PW",
             "timeout_seconds": TIMEOUT},
            {"OUTAGE_PW": PASSWORD}, command,
        )  # fmt: skip
    finally:
        server.close()
    line = _assert_one_clear_line(rc, err, elapsed, limit=30)
    assert PASSWORD not in err
    assert rc == 69 or (mode == "drop" and rc in (69, 1)), line


GOOGLE_FAST = [
    "down", "reset", "hang",
    "drop", "cut",  # an answer cut off mid-response: UnreachableError, one line
    "429",
]  # fmt: skip


@pytest.mark.parametrize("command", [["plan", "--date", DAY], ["sync"]])
@pytest.mark.parametrize("mode", GOOGLE_FAST)
def test_google_one_off_command_fails_with_one_line(
    mode: str, command: list[str], tmp_path: Path, google: FakeGoogle
) -> None:
    server = FaultServer(_port(google.url), mode)
    server.set(mode)
    google.write_token_file(tmp_path / "data" / "google-token.json")  # signed in
    try:
        rc, err, elapsed = _one_off(
            tmp_path, server.url + "calendar/v3/",
            {"backend": "google", "timeout_seconds": TIMEOUT},
            {"SYNCSVC_TEST_GOOGLE_TOKEN_URI": google.token_uri}, command,
        )  # fmt: skip
    finally:
        server.close()
    line = _assert_one_clear_line(rc, err, elapsed, limit=30)
    assert rc == 69, line
    if mode == "429":
        assert "rate limit" in line


def test_a_429_with_retry_after_reaches_the_daemon_as_retry_after() -> None:
    """Both backends put the server's ``Retry-After: 120`` on the error they raise, as
    ``retry_after`` (which the daemon waits at least), and the status as ``status``."""
    server = FaultServer(mode="429")
    try:
        caldav = CaldavCalendar(server.url, USER, PASSWORD, "Calls", timeout=TIMEOUT)
        with pytest.raises(RateLimitedError) as dav_err:
            caldav.changes(None, {})
        service = build_service("calendar", "v3", None, TIMEOUT,
                                api_endpoint=server.url + "calendar/v3/")  # fmt: skip
        waits: list[float] = []
        with pytest.raises(RateLimitedError) as google_err:
            GoogleCalendar(service, sleep=waits.append).changes(None, {})
    finally:
        server.close()
    for err in (dav_err.value, google_err.value):
        assert err.retry_after == 120 and err.status == 429, err
        assert "\n" not in str(err)
    assert sum(waits) <= 60  # Google: the wait it asks for is longer than our retry budget


@pytest.mark.slow
@pytest.mark.timeout(600)
@pytest.mark.parametrize("mode", ["500", "503"])
def test_google_server_errors_give_up_within_the_minute(
    mode: str, tmp_path: Path, google: FakeGoogle
) -> None:
    """5xx are retried with back-off for up to 60 s of waiting, then one line."""
    server = FaultServer(_port(google.url), mode)
    google.write_token_file(tmp_path / "data" / "google-token.json")  # signed in
    try:
        rc, err, elapsed = _one_off(
            tmp_path, server.url + "calendar/v3/",
            {"backend": "google", "timeout_seconds": TIMEOUT},
            {"SYNCSVC_TEST_GOOGLE_TOKEN_URI": google.token_uri}, ["sync"],
        )  # fmt: skip
    finally:
        server.close()
    print(f"google {mode}: gave up after {elapsed:.1f} s")
    _assert_one_clear_line(rc, err, elapsed, limit=65)


# --------------------------------------------------------------------------- the daemon
MONDAY = date(2026, 11, 30)
TUESDAY = date(2026, 12, 1)


class OutageSim:
    """Fake clock + fake wait; the server is broken from the start until ``back_at``."""

    def __init__(self, server: FaultServer, mode: str, start: datetime, back_at: datetime,
                 end: datetime) -> None:  # fmt: skip
        self.clock = FixedClock(start.astimezone(UTC))
        self.server, self.mode = server, mode
        self.back_at, self.end = back_at.astimezone(UTC), end.astimezone(UTC)
        self.stop = threading.Event()

    def wait(self, stop: threading.Event, timeout: float) -> bool:
        self.clock.advance(seconds=max(timeout, 1.0))
        if self.clock.now() >= self.back_at and self.server.mode != "pass":
            self.server.set("pass")
        if self.clock.now() > self.end:
            stop.set()
        return stop.is_set()


def _daemon_app(tmp_path: Path, calendar: dict[str, Any], clock: FixedClock) -> App:
    raw = {
        "data_dir": str(tmp_path / "data"),
        "calls": {"timezone": "Europe/Berlin", "per_day": 3},
        "calendar": calendar,
    }
    return App(config_mod.build(raw, None), clock=clock, lock_timeout=5)


def _drive(app: App, sim: OutageSim, caplog: pytest.LogCaptureFixture) -> list[str]:
    logger = logging.getLogger("syncsvc.test_outage_daemon")
    jobs = daemon.Jobs(plan=app.plan_due, sync=app.sync)
    with caplog.at_level(logging.INFO, logger="syncsvc"):
        daemon.run(jobs, plan_at=dtime(7, 0), zone=BERLIN, poll_minutes=5, stop=sim.stop,
                   clock=sim.clock, wait=sim.wait, log=logger, rng=random.Random(3))  # fmt: skip
    return [r.getMessage() for r in caplog.records if r.name == logger.name]


def _check_caught_up(app: App, events: list[tuple[str, str, str]], messages: list[str],
                     noted: str) -> None:  # fmt: skip
    conn = app.store.conn
    uids = Counter(uid for uid, _, _ in events)
    assert all(n == 1 for n in uids.values()), uids
    for day in (MONDAY, TUESDAY):
        calls = calls_db.on_day(conn, day)
        assert len(calls) == 3, (day, calls)
        assert all(uids[uid_for(c.id)] == 1 for c in calls)
    assert len(uids) == 6
    noted_call = calls_db.get(conn, noted)
    assert noted_call is not None and noted_call.outcome == "done"
    assert noted_call.referrals == ["Outage Referral"]
    assert noted_call.offers == ["the port study"]
    assert conn.execute("SELECT count(*) FROM referrals").fetchone()[0] == 1
    failed = [m for m in messages if " failed: " in m]
    assert failed, messages
    assert all("\n" not in m for m in failed)
    assert any("retrying in" in m for m in failed)
    assert any("succeeded again" in m for m in messages), messages
    assert app.store.integrity_ok()


NOTE = "done\nref: Outage Referral <outage.ref@example.org>\noffer: the port study"


@pytest.mark.parametrize("mode", MODES)
def test_daemon_caldav_backs_off_and_catches_up(
    mode: str, tmp_path: Path, radicale: RadicaleServer, caplog: pytest.LogCaptureFixture
) -> None:
    server = FaultServer(radicale.port, "pass")
    backend = CaldavBackend(radicale, f"outage-{uuid.uuid4().hex[:8]}")
    clock = FixedClock(datetime(2026, 11, 30, 6, 0, tzinfo=BERLIN))
    collection = backend.collection_url.replace(radicale.url, server.url)
    app = _daemon_app(
        tmp_path,
        {"backend": "caldav", "url": server.url, "username": USER, "calendar": collection,
         "password_env": "OUTAGE_DAEMON_PW", "timeout_seconds": 1},
        clock,
    )  # fmt: skip
    try:
        with pytest.MonkeyPatch.context() as mp:
            mp.setenv("OUTAGE_DAEMON_PW", PASSWORD)
            add_people(app, 12)
            first = app.plan(MONDAY)
            backend.write_note(uid_for(first[0].id), NOTE)
            app.close()  # a fresh connection, as the daemon process would have
            server.set(mode)
            sim = OutageSim(server, mode, datetime(2026, 12, 1, 6, 30, tzinfo=BERLIN),
                            datetime(2026, 12, 1, 7, 20, tzinfo=BERLIN),
                            datetime(2026, 12, 1, 10, 0, tzinfo=BERLIN))  # fmt: skip
            app.clock = sim.clock
            messages = _drive(app, sim, caplog)
            _check_caught_up(app, backend.events(), messages, first[0].id)
            assert all(PASSWORD not in m for m in messages)
    finally:
        app.close()
        server.close()


@pytest.mark.parametrize("mode", MODES)
def test_daemon_google_backs_off_and_catches_up(
    mode: str, tmp_path: Path, google: FakeGoogle, caplog: pytest.LogCaptureFixture
) -> None:
    server = FaultServer(_port(google.url), "pass")
    clock = FixedClock(datetime(2026, 11, 30, 6, 0, tzinfo=BERLIN))
    app = _daemon_app(tmp_path, {"backend": "google", "timeout_seconds": 1}, clock)
    service = google.service("calendar", "v3", timeout=1, config=app.config,
                             api_endpoint=server.url + "calendar/v3/")  # fmt: skip
    app._calendar = GoogleCalendar(service, sleep=lambda s: None)
    backend = GoogleBackend(google)
    try:
        add_people(app, 12)
        first = app.plan(MONDAY)
        backend.write_note(uid_for(first[0].id), NOTE)
        server.set(mode)
        sim = OutageSim(server, mode, datetime(2026, 12, 1, 6, 30, tzinfo=BERLIN),
                        datetime(2026, 12, 1, 7, 20, tzinfo=BERLIN),
                        datetime(2026, 12, 1, 10, 0, tzinfo=BERLIN))  # fmt: skip
        app.clock = sim.clock
        messages = _drive(app, sim, caplog)
        _check_caught_up(app, backend.events(), messages, first[0].id)
    finally:
        app.close()
        server.close()
