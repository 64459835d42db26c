"""The daemon loop, driven through simulated days by a fake clock and a fake wait (no sleeping),
plus one real subprocess that speaks the notify protocol and stops on SIGTERM."""

from __future__ import annotations

import logging
import os
import random
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time as real_time
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from syncsvc import daemon
from syncsvc import log as syncsvc_log
from syncsvc.clock import FixedClock, SystemClock
from syncsvc.errors import AuthError, UnreachableError

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = NY = ZoneInfo("America/New_York")
REPO = Path(__file__).resolve().parents[1]


class Sim:
    """A fake clock plus a fake ``wait`` that jumps the clock forward by the timeout and sets
    ``stop`` once the clock has passed the end of the simulation."""

    def __init__(self, start: datetime, end: datetime) -> None:
        self.clock = FixedClock(start.astimezone(UTC))
        self.end = end.astimezone(UTC)
        self.stop = threading.Event()
        self.timeouts: list[float] = []

    def now(self) -> datetime:
        return self.clock.now()

    def wait(self, stop: threading.Event, timeout: float) -> bool:
        assert stop is self.stop
        assert timeout >= 0
        assert len(self.timeouts) < 100_000, "the loop is spinning"
        self.timeouts.append(timeout)
        self.clock.advance(seconds=timeout)
        if self.clock.now() > self.end:  # jobs due exactly at the end still run
            stop.set()
        return stop.is_set()

    def recorder(
        self, runs: list[datetime], fail: Callable[[int], BaseException | None] | None = None
    ) -> Callable[[], None]:
        """A job that notes when it ran; ``fail(n)`` may return an exception for the n-th call."""

        def job() -> None:
            runs.append(self.clock.now())
            if fail is not None:
                exc = fail(len(runs))
                if exc is not None:
                    raise exc

        return job

    def run(self, jobs: daemon.Jobs, **kwargs: object) -> int:
        options: dict[str, object] = {
            "plan_at": time(7, 0),
            "zone": BERLIN,
            "poll_minutes": 5,
            "rng": random.Random(1),
        }
        options.update(kwargs)
        run: Callable[..., int] = daemon.run
        return run(jobs, stop=self.stop, clock=self.clock, wait=self.wait, **options)


class NoJitter(random.Random):
    def random(self) -> float:
        return 0.0


def local(dt: datetime, zone: ZoneInfo = BERLIN) -> datetime:
    return dt.astimezone(zone)


def at(y: int, m: int, d: int, hh: int, mm: int = 0, zone: ZoneInfo = BERLIN) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=zone)


@pytest.fixture(autouse=True)
def _no_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID", "JOURNAL_STREAM"):
        monkeypatch.delenv(name, raising=False)


# --------------------------------------------------------------------------- next_daily


@pytest.mark.parametrize(
    ("now", "at_time", "zone", "expected_local"),
    [
        # An ordinary day: later today, or tomorrow once it has passed.
        (at(2025, 6, 2, 6, 59), time(7), BERLIN, at(2025, 6, 2, 7)),
        (at(2025, 6, 2, 7, 0), time(7), BERLIN, at(2025, 6, 3, 7)),
        # Spring forward in Berlin (30 March 2025, 02:00 -> 03:00): 07:00 is still 07:00 ...
        (at(2025, 3, 29, 8), time(7), BERLIN, at(2025, 3, 30, 7)),
        # ... and 02:30 does not exist that day: the first valid instant after it, 03:00.
        (at(2025, 3, 29, 8), time(2, 30), BERLIN, at(2025, 3, 30, 3, 0)),
        # Fall back (26 October 2025, 03:00 -> 02:00): 02:30 happens twice, we take the first.
        (at(2025, 10, 25, 8), time(2, 30), BERLIN, datetime(2025, 10, 26, 0, 30, tzinfo=UTC)),
        (at(2025, 10, 25, 8), time(7), BERLIN, at(2025, 10, 26, 7)),
        # New York springs forward on 9 March 2025.
        (at(2025, 3, 8, 12, zone=NY), time(2, 30), NY, at(2025, 3, 9, 3, zone=NY)),
        (at(2025, 3, 8, 12, zone=NY), time(7), NY, at(2025, 3, 9, 7, zone=NY)),
    ],
)
def test_next_daily(now: datetime, at_time: time, zone: ZoneInfo, expected_local: datetime) -> None:
    got = daemon.next_daily(now.astimezone(UTC), at_time, zone)
    assert got == expected_local
    assert got.utcoffset() == timedelta(0)


def test_next_daily_does_not_repeat_on_the_second_occurrence_of_a_fall_back_hour() -> None:
    first = datetime(2025, 10, 26, 0, 30, tzinfo=UTC)  # 02:30 CEST, the first 02:30
    after = daemon.next_daily(first, time(2, 30), BERLIN)
    assert after == datetime(2025, 10, 27, 1, 30, tzinfo=UTC)  # 02:30 CET next day, not 01:30Z


# --------------------------------------------------------------------------- a simulated week


def test_a_week_across_the_spring_dst_change() -> None:
    start = at(2025, 3, 27, 10, 0)  # Thursday; clocks spring forward Sunday 30 March
    end = at(2025, 4, 3, 10, 0)
    sim = Sim(start, end)
    plans: list[datetime] = []
    syncs: list[datetime] = []

    assert sim.run(daemon.Jobs(plan=sim.recorder(plans), sync=sim.recorder(syncs))) == 0

    # Catch-up at start, then once a day at 07:00 Berlin time, DST or not.
    assert plans[0] == start
    daily = [local(p) for p in plans[1:]]
    assert [p.date() for p in daily] == [date(2025, 3, d) for d in range(28, 32)] + [
        date(2025, 4, d) for d in range(1, 4)
    ]
    assert all((p.hour, p.minute, p.second) == (7, 0, 0) for p in daily)
    assert daily[1].utcoffset() == timedelta(hours=1)  # Saturday 29th, CET
    assert daily[2].utcoffset() == timedelta(hours=2)  # Sunday 30th, CEST
    assert plans[3] - plans[2] == timedelta(hours=23)  # the short day, in real time
    # The catch-up sync follows the catch-up plan, then every 5 minutes, without drift.
    assert syncs[0] == start
    assert plans[0] <= syncs[0]
    gaps = {b - a for a, b in pairwise(syncs)}
    assert gaps == {timedelta(minutes=5)}
    # Both ends inclusive; the week is an hour short in real time (167 h).
    assert len(syncs) == 167 * 12 + 1
    # It slept until the next job, never in tiny steps, never more than MAX_SLEEP.
    assert min(sim.timeouts) > 0
    assert max(sim.timeouts) <= daemon.MAX_SLEEP
    assert len(sim.timeouts) <= len(syncs) + len(plans) + 1


def test_plan_once_a_day_across_the_autumn_change_with_a_plan_time_in_the_repeated_hour() -> None:
    sim = Sim(at(2025, 10, 23, 12), at(2025, 10, 30, 12))
    plans: list[datetime] = []
    syncs: list[datetime] = []
    sim.run(
        daemon.Jobs(plan=sim.recorder(plans), sync=sim.recorder(syncs)),
        plan_at=time(2, 30),
        poll_minutes=60,
    )
    daily = [local(p) for p in plans[1:]]
    assert [p.day for p in daily] == [24, 25, 26, 27, 28, 29, 30]
    assert all((p.hour, p.minute) == (2, 30) for p in daily)
    gaps = {b - a for a, b in pairwise(syncs)}
    assert gaps == {timedelta(hours=1)}


def test_a_plan_time_in_the_spring_gap_runs_at_the_change() -> None:
    sim = Sim(at(2025, 3, 29, 12), at(2025, 3, 31, 12))
    plans: list[datetime] = []
    sim.run(
        daemon.Jobs(plan=sim.recorder(plans), sync=lambda: None),
        plan_at=time(2, 30),
        poll_minutes=30,
    )
    assert [local(p).replace(tzinfo=None) for p in plans[1:]] == [
        datetime(2025, 3, 30, 3, 0),
        datetime(2025, 3, 31, 2, 30),
    ]


def test_new_york_week_with_a_long_poll_interval() -> None:
    sim = Sim(at(2025, 3, 6, 9, zone=NEW_YORK), at(2025, 3, 13, 9, zone=NEW_YORK))
    plans: list[datetime] = []
    syncs: list[datetime] = []
    sim.run(
        daemon.Jobs(plan=sim.recorder(plans), sync=sim.recorder(syncs)),
        plan_at=time(8, 15),
        zone=NEW_YORK,
        poll_minutes=24 * 60,
    )
    daily = [local(p, NEW_YORK) for p in plans[1:]]
    assert len(daily) == 7
    assert all((p.hour, p.minute) == (8, 15) for p in daily)
    # Every 24 real hours; the DST week is an hour short, so the 8th falls after the end.
    assert len(syncs) == 7
    assert {b - a for a, b in pairwise(syncs)} == {timedelta(days=1)}
    assert max(sim.timeouts) <= daemon.MAX_SLEEP  # wakes to notice clock jumps


def test_reimport_runs_daily_just_before_the_plan_but_not_at_start() -> None:
    sim = Sim(at(2025, 6, 2, 12), at(2025, 6, 5, 12))
    order: list[tuple[str, datetime]] = []

    def job(name: str) -> Callable[[], None]:
        return lambda: order.append((name, sim.now()))

    sim.run(daemon.Jobs(plan=job("plan"), sync=lambda: None, reimport=job("reimport")))
    assert [name for name, _ in order] == ["plan"] + ["reimport", "plan"] * 3
    for name, when in order[1:]:
        assert (local(when).hour, local(when).minute) == (7, 0), name


# --------------------------------------------------------------------------- failures


def test_unreachable_sync_backs_off_and_recovers(caplog: pytest.LogCaptureFixture) -> None:
    start = at(2025, 6, 2, 10)
    sim = Sim(start, start + timedelta(hours=1))
    syncs: list[datetime] = []
    plans: list[datetime] = []

    def fail(n: int) -> BaseException | None:
        return UnreachableError("caldav.example.org cannot be reached") if n <= 4 else None

    caplog.set_level(logging.INFO, logger="syncsvc")
    sim.run(
        daemon.Jobs(plan=sim.recorder(plans), sync=sim.recorder(syncs, fail)),
        rng=NoJitter(),
    )
    offsets = [(s - start).total_seconds() for s in syncs]
    # Four failures: retried after 30 s, 60 s, 120 s, 240 s; the fifth attempt succeeds and
    # the sync is back on its 5-minute rhythm.
    assert offsets[:6] == [0, 30, 90, 210, 450, 750]
    assert {b - a for a, b in pairwise(offsets[5:])} == {300}
    failures = [r for r in caplog.records if "sync failed" in r.getMessage()]
    assert len(failures) == 4
    assert all(r.levelno == logging.WARNING for r in failures)
    assert "caldav.example.org cannot be reached" in failures[0].getMessage()
    assert "retrying in 30 s" in failures[0].getMessage()
    assert all("\n" not in r.getMessage() and r.exc_info is None for r in failures)
    assert any("succeeded again" in r.getMessage() for r in caplog.records)
    assert len(plans) == 1  # the plan was not disturbed


def test_back_off_grows_with_jitter_and_is_capped() -> None:
    start = at(2025, 6, 2, 10)
    sim = Sim(start, start + timedelta(hours=12))
    syncs: list[datetime] = []
    sim.run(
        daemon.Jobs(
            plan=lambda: None, sync=sim.recorder(syncs, lambda n: UnreachableError("down"))
        ),
        rng=random.Random(42),
    )
    gaps = [(b - a).total_seconds() for a, b in pairwise(syncs)]
    for n, gap in enumerate(gaps, start=1):
        nominal = min(daemon.BACKOFF_CAP, daemon.BACKOFF_BASE * 2 ** (n - 1))
        assert nominal * (1 - daemon.BACKOFF_JITTER) <= gap <= nominal, (n, gap)
    assert max(gaps) <= daemon.BACKOFF_CAP
    assert len(set(gaps[-5:])) == 5  # jittered, not lock-step
    assert 20 < len(syncs) < 40  # about 2 per hour once capped, not every 5 minutes


def test_back_off_delay_function() -> None:
    rng = NoJitter()
    assert [daemon.backoff_delay(n, rng) for n in range(1, 9)] == [
        30,
        60,
        120,
        240,
        480,
        960,
        1800,
        1800,
    ]
    assert daemon.backoff_delay(10_000, rng) == 1800


def test_an_exception_in_sync_does_not_stop_plan(caplog: pytest.LogCaptureFixture) -> None:
    sim = Sim(at(2025, 6, 2, 10), at(2025, 6, 5, 10))
    plans: list[datetime] = []
    syncs: list[datetime] = []
    caplog.set_level(logging.INFO, logger="syncsvc")
    assert (
        sim.run(
            daemon.Jobs(
                plan=sim.recorder(plans),
                sync=sim.recorder(syncs, lambda n: KeyError("DTSTART")),
            )
        )
        == 0
    )
    assert [local(p).day for p in plans] == [2, 3, 4, 5]
    assert len(syncs) > 100  # kept retrying all along
    errors = [r for r in caplog.records if "sync failed" in r.getMessage()]
    assert errors and all(r.levelno == logging.ERROR for r in errors)
    assert "KeyError: 'DTSTART'" in errors[0].getMessage()
    # The traceback is only logged at DEBUG.
    assert all(r.levelno == logging.DEBUG for r in caplog.records if r.exc_info)


def test_traceback_of_an_unexpected_error_is_logged_at_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    sim = Sim(at(2025, 6, 2, 10), at(2025, 6, 2, 10, 1))
    caplog.set_level(logging.DEBUG, logger="syncsvc")

    def broken() -> None:
        raise ValueError("bad event")

    sim.run(daemon.Jobs(plan=lambda: None, sync=broken))
    tracebacks = [r for r in caplog.records if r.exc_info]
    assert tracebacks and tracebacks[0].levelno == logging.DEBUG
    assert isinstance(tracebacks[0].exc_info[1], ValueError)  # type: ignore[index]


def test_a_multi_line_or_empty_error_is_still_one_line(caplog: pytest.LogCaptureFixture) -> None:
    sim = Sim(at(2025, 6, 2, 10), at(2025, 6, 2, 10, 1))
    caplog.set_level(logging.INFO, logger="syncsvc")

    def multi() -> None:
        raise RuntimeError("line one\nline two")

    def empty() -> None:
        raise TimeoutError()

    sim.run(daemon.Jobs(plan=multi, sync=empty), rng=NoJitter())
    messages = [r.getMessage() for r in caplog.records if "failed" in r.getMessage()]
    assert messages[:2] == [
        "plan failed: RuntimeError: line one line two (retrying in 30 s)",
        "sync failed: TimeoutError (retrying in 30 s)",
    ]


def test_auth_error_in_plan_does_not_stop_sync(caplog: pytest.LogCaptureFixture) -> None:
    start = at(2025, 6, 2, 6)
    sim = Sim(start, start + timedelta(hours=3))
    plans: list[datetime] = []
    syncs: list[datetime] = []
    message = "Google sign-in expired: run `syncsvc auth google`"
    caplog.set_level(logging.INFO, logger="syncsvc")
    sim.run(
        daemon.Jobs(
            plan=sim.recorder(plans, lambda n: AuthError(message)), sync=sim.recorder(syncs)
        )
    )
    assert len(syncs) == 3 * 12 + 1
    assert {b - a for a, b in pairwise(syncs)} == {timedelta(minutes=5)}
    assert len(plans) > 3  # retried with back-off
    errors = [r for r in caplog.records if r.getMessage().startswith("plan failed")]
    assert errors[0].levelno == logging.ERROR
    assert message in errors[0].getMessage()


def test_rate_limit_honours_retry_after() -> None:
    from syncsvc.errors import RateLimitedError

    class SlowDown(RateLimitedError):
        retry_after = 600.0

    start = at(2025, 6, 2, 10)
    sim = Sim(start, start + timedelta(minutes=30))
    syncs: list[datetime] = []
    sim.run(
        daemon.Jobs(
            plan=lambda: None,
            sync=sim.recorder(syncs, lambda n: SlowDown("429") if n == 1 else None),
        ),
        rng=NoJitter(),
    )
    assert syncs[1] - syncs[0] == timedelta(minutes=10)


def test_retry_after_of_a_backend_error_is_honoured() -> None:
    """The attribute the backends set (``BackendError(retry_after=...)``) is the one read."""
    from syncsvc.errors import BackendError

    start = at(2025, 6, 2, 10)
    sim = Sim(start, start + timedelta(minutes=30))
    syncs: list[datetime] = []
    sim.run(
        daemon.Jobs(
            plan=lambda: None,
            sync=sim.recorder(
                syncs,
                lambda n: BackendError("503", status=503, retry_after=600) if n == 1 else None,
            ),
        ),
        rng=NoJitter(),
    )
    assert syncs[1] - syncs[0] == timedelta(minutes=10)


# --------------------------------------------------------------------------- stopping


def test_stop_from_a_job_ends_the_loop_without_waiting() -> None:
    sim = Sim(at(2025, 6, 2, 10), at(2025, 6, 9, 10))
    plans: list[datetime] = []

    def sync() -> None:
        sim.stop.set()

    assert sim.run(daemon.Jobs(plan=sim.recorder(plans), sync=sync)) == 0
    assert sim.timeouts == []
    assert len(plans) == 1


def test_stop_set_by_another_thread_ends_a_real_wait_quickly() -> None:
    stop = threading.Event()
    ran = threading.Event()
    result: list[int] = []

    def target() -> None:
        result.append(
            daemon.run(
                daemon.Jobs(plan=lambda: None, sync=ran.set),
                plan_at=time(7),
                zone=BERLIN,
                poll_minutes=60,
                stop=stop,
                clock=SystemClock(),
            )
        )

    thread = threading.Thread(target=target)  # not the main thread: no signal handlers
    thread.start()
    assert ran.wait(5)
    began = real_time.monotonic()
    stop.set()
    thread.join(5)
    assert not thread.is_alive()
    assert real_time.monotonic() - began < 1
    assert result == [0]


def test_poll_minutes_must_be_positive() -> None:
    with pytest.raises(ValueError):
        daemon.run(
            daemon.Jobs(plan=lambda: None, sync=lambda: None),
            plan_at=time(7),
            zone=BERLIN,
            poll_minutes=0,
        )


# --------------------------------------------------------------------------- systemd protocol


@pytest.fixture
def notify_socket(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, list[str]]]:
    """A notify socket drained by a thread (the kernel queues only a few datagrams)."""
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.1)
    received: list[str] = []
    done = threading.Event()

    def drain() -> None:
        while not done.is_set():
            try:
                received.append(sock.recv(4096).decode())
            except TimeoutError:
                continue

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    yield path, received
    real_time.sleep(0.3)
    done.set()
    thread.join(2)
    sock.close()


def test_watchdog_ready_status_and_stopping(
    notify_socket: tuple[str, list[str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    _, received = notify_socket
    monkeypatch.setenv("WATCHDOG_USEC", "120000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    start = at(2025, 6, 2, 10)
    sim = Sim(start, start + timedelta(hours=2))
    sim.run(daemon.Jobs(plan=lambda: None, sync=lambda: None), poll_minutes=30)
    deadline = real_time.monotonic() + 5
    while real_time.monotonic() < deadline and (not received or received[-1] != "STOPPING=1"):
        real_time.sleep(0.05)
    assert max(sim.timeouts) <= 60  # woken for the watchdog every WATCHDOG_USEC/2
    assert received[0].startswith("READY=1")
    assert received[-1] == "STOPPING=1"
    assert received.count("WATCHDOG=1") >= 2 * 60
    statuses = [m for m in received if m.startswith("STATUS=")]
    assert "STATUS=next sync at 10:30, next plan at Tue 07:00" in statuses
    assert "STATUS=next sync at 11:00, next plan at Tue 07:00" in statuses
    assert len(statuses) == len(set(statuses))  # only sent when it changes


def test_status_shows_a_failing_job(notify_socket: tuple[str, list[str]]) -> None:
    _, received = notify_socket
    start = at(2025, 6, 2, 10)
    sim = Sim(start, start + timedelta(minutes=1))

    def down() -> None:
        raise UnreachableError("down")

    sim.run(daemon.Jobs(plan=lambda: None, sync=down), rng=NoJitter())
    deadline = real_time.monotonic() + 5
    while real_time.monotonic() < deadline and (not received or received[-1] != "STOPPING=1"):
        real_time.sleep(0.05)
    assert received[1:] == [
        "STATUS=sync failing, retry at 10:00 (1 failure), next plan at Tue 07:00",
        "STATUS=sync failing, retry at 10:01 (2 failures), next plan at Tue 07:00",
        "STOPPING=1",
    ]


# --------------------------------------------------------------------------- logging


def _log_in_subprocess(tmp_path: Path, journal: bool, verbose: bool = False) -> str:
    script = textwrap.dedent(
        """
        import logging, os, sys
        from syncsvc.log import setup_logging
        if sys.argv[1] == "1":
            st = os.fstat(2)
            os.environ["JOURNAL_STREAM"] = f"{st.st_dev}:{st.st_ino}"
        setup_logging(sys.argv[2] == "1")
        log = logging.getLogger("syncsvc.daemon")
        log.debug("details")
        log.info("started")
        log.warning("sync failed: down")
        log.error("plan failed: nope")
        logging.getLogger("urllib3").info("library chatter")
        """
    )
    err = tmp_path / "stderr.txt"
    env = {k: v for k, v in os.environ.items() if k != "JOURNAL_STREAM"}
    env["PYTHONPATH"] = str(REPO)
    with err.open("w") as f:
        subprocess.run(
            [sys.executable, "-c", script, "1" if journal else "0", "1" if verbose else "0"],
            stderr=f,
            env=env,
            check=True,
            timeout=30,
        )
    return err.read_text()


def test_logging_with_journal_prefixes(tmp_path: Path) -> None:
    assert _log_in_subprocess(tmp_path, journal=True) == (
        "<6>started\n<4>sync failed: down\n<3>plan failed: nope\n"
    )


def test_logging_verbose_with_journal(tmp_path: Path) -> None:
    assert _log_in_subprocess(tmp_path, journal=True, verbose=True).startswith("<7>details\n")


def test_logging_without_journal(tmp_path: Path) -> None:
    assert _log_in_subprocess(tmp_path, journal=False) == (
        "INFO started\nWARNING sync failed: down\nERROR plan failed: nope\n"
    )


def test_journal_formatter_prefixes_every_line() -> None:
    formatter = syncsvc_log.JournalFormatter("%(message)s")
    record = logging.LogRecord("syncsvc", logging.ERROR, __file__, 1, "a\nb", None, None)
    assert formatter.format(record) == "<3>a\n<3>b"


# --------------------------------------------------------------------------- a real process

CHILD = textwrap.dedent(
    """
    import sys
    from datetime import time
    from zoneinfo import ZoneInfo
    from syncsvc import daemon, log

    out = sys.argv[1]

    def job(name):
        def run():
            with open(out, "a") as f:
                f.write(name + "\\n")
        return run

    log.setup_logging(False)
    sys.exit(daemon.run(
        daemon.Jobs(plan=job("plan"), sync=job("sync")),
        plan_at=time(7, 0), zone=ZoneInfo("Europe/Berlin"), poll_minutes=60,
    ))
    """
)


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_subprocess_ready_watchdog_and_clean_stop(tmp_path: Path, sig: signal.Signals) -> None:
    path = str(tmp_path / "notify")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(10)
    out = tmp_path / "jobs.txt"
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("JOURNAL_STREAM", "WATCHDOG_PID", "NOTIFY_SOCKET")
    }
    env.update(
        NOTIFY_SOCKET=path,
        WATCHDOG_USEC="1000000",  # ping every 0.5 s
        PYTHONPATH=str(REPO),
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(out)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        messages: list[str] = []
        while not any(m.startswith("READY=1") for m in messages):
            messages.append(sock.recv(4096).decode())
        while "WATCHDOG=1" not in messages[1:] or not any(
            m.startswith("STATUS=next") for m in messages
        ):
            messages.append(sock.recv(4096).decode())
        assert out.read_text() == "plan\nsync\n"

        proc.send_signal(sig)
        began = real_time.monotonic()
        code = proc.wait(timeout=5)
        assert real_time.monotonic() - began < 5
        assert code == 0
        sock.settimeout(2)
        while messages[-1] != "STOPPING=1":
            messages.append(sock.recv(4096).decode())
        stderr = proc.stderr.read() if proc.stderr else ""
        assert f"INFO stopping ({sig.name})" in stderr
        assert "Traceback" not in stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        sock.close()
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
