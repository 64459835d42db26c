"""``syncsvc run``: the background loop that plans the day's calls and reads notes back.

Jobs are kept in a :mod:`schedule` scheduler, but every instant comes from the injected
:class:`~syncsvc.clock.Clock` and every pause from the injected ``wait`` — schedule's own
``datetime.now()`` (naive process-local time) is never consulted, and the daily plan instant is
computed here from the configured zone, so the loop is exact across DST changes and can be
driven through a simulated week in a test without sleeping.

- At start-up: a catch-up — ``plan`` (a no-op if today is already planned) and then ``sync``.
- ``plan`` daily at ``plan_at`` in ``zone``; ``reimport`` daily at the same instant, just
  before it; ``sync`` every ``poll_minutes`` after the previous sync finished; ``notify`` (the
  desktop nudge before a call, ``syncsvc/notify.py``) every minute, when there is one.
- Between jobs the loop sleeps until the next one is due (at most ``MAX_SLEEP`` seconds so a
  suspend/resume or a clock change is noticed; with a systemd watchdog at most half its period).
- A failing job is logged in one line and retried with exponential back-off (30 s, 1 min,
  2 min, … capped at 30 min, with jitter); success puts it back on its normal schedule. One
  job's failure (e.g. a revoked Google sign-in) never stops the others.
- systemd: ``READY=1`` once set up, ``STATUS=…`` when the next run times change, ``WATCHDOG=1``
  pings, ``STOPPING=1`` on the way out. SIGTERM/SIGINT end the loop at once (after the job in
  progress, if any); :func:`run` then returns 0.
"""

from __future__ import annotations

import logging
import math
import random
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from types import FrameType
from zoneinfo import ZoneInfo

import schedule

from syncsvc import sdnotify
from syncsvc.clock import Clock, SystemClock
from syncsvc.errors import (
    LockedError,
    RateLimitedError,
    SyncsvcError,
    UnreachableError,
)

__all__ = [
    "BACKOFF_BASE",
    "BACKOFF_CAP",
    "MAX_SLEEP",
    "Jobs",
    "backoff_delay",
    "next_daily",
    "run",
]

BACKOFF_BASE = 30.0  # seconds before the first retry of a failed job
BACKOFF_CAP = 30 * 60.0  # never wait longer than this between retries
BACKOFF_JITTER = 0.2  # a retry waits between (1 - jitter) and 1 times the nominal delay
MAX_SLEEP = 300.0  # re-read the clock at least this often

# Failures that are expected to go away on their own: logged as warnings, not errors.
_TRANSIENT: tuple[type[SyncsvcError], ...] = (UnreachableError, RateLimitedError, LockedError)

_SYSTEM_CLOCK = SystemClock()

Wait = Callable[[threading.Event, float], bool]


@dataclass
class Jobs:
    """What the daemon runs. Each callable does one whole job and raises on failure."""

    plan: Callable[[], object]  # plan what is due (idempotent; safe to call often)
    sync: Callable[[], object]  # read back notes
    reimport: Callable[[], object] | None = None  # re-import configured contact sources (daily)
    notify: Callable[[], object] | None = None  # nudge the calls about to start (every minute)


NOTIFY_EVERY = timedelta(minutes=1)


# --------------------------------------------------------------------------- time arithmetic


def _wall(dt: datetime, zone: ZoneInfo) -> datetime:
    """``dt`` as naive wall-clock time in ``zone`` (via UTC: ``astimezone`` to the zone a datetime
    already carries returns it unchanged, which would hide a non-existent local time)."""
    return dt.astimezone(UTC).astimezone(zone).replace(tzinfo=None)


def _local_instant(day: date, at: time, zone: ZoneInfo) -> datetime:
    """The instant when the wall clock in ``zone`` first shows ``at`` on ``day``.

    An ambiguous time (autumn fall-back) is its first occurrence; a time that does not exist that
    day (the spring-forward gap) becomes the first valid instant after it, i.e. the change itself.
    """
    naive = datetime.combine(day, at.replace(tzinfo=None, fold=0))
    first = naive.replace(tzinfo=zone)  # fold=0: the offset in force before any change
    if _wall(first, zone) == naive:
        return first.astimezone(UTC)
    # In the gap: fold=1 applies the later offset and lands before the change, fold=0 after it.
    lo = naive.replace(tzinfo=zone, fold=1).astimezone(UTC)
    hi = first.astimezone(UTC)
    while hi - lo > timedelta(seconds=1):
        mid = lo + (hi - lo) / 2
        if _wall(mid, zone) >= naive:
            hi = mid
        else:
            lo = mid
    return hi.replace(microsecond=0)


def next_daily(now: datetime, at: time, zone: ZoneInfo) -> datetime:
    """The first instant strictly after ``now`` at which it is ``at`` o'clock in ``zone`` (UTC)."""
    day = now.astimezone(zone).date()
    for offset in range(3):
        candidate = _local_instant(day + timedelta(days=offset), at, zone)
        if candidate > now:
            return candidate
    raise AssertionError("unreachable: a wall-clock time recurs within three days")


def backoff_delay(failures: int, rng: random.Random) -> float:
    """Seconds to wait after the ``failures``-th failure in a row: 30 s, 60 s, 120 s, … ≤ 30 min,
    each shortened by up to 20 % at random so that many clients do not retry in lock-step."""
    nominal = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** min(max(failures, 1) - 1, 30))
    return nominal * (1.0 - BACKOFF_JITTER * rng.random())


def _human(seconds: float) -> str:
    seconds = round(seconds)
    if seconds < 120:
        return f"{seconds} s"
    return f"{round(seconds / 60)} min"


# --------------------------------------------------------------------------- the scheduler


class _Scheduler(schedule.Scheduler):
    """A schedule.Scheduler whose notion of "now" is the injected clock (aware datetimes)."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self.clock = clock

    def now(self) -> datetime:
        return self.clock.now()

    def add(self, job: _Job) -> _Job:
        self.jobs.append(job)
        return job

    def due(self) -> list[_Job]:
        """Jobs that are due, earliest first; ties keep registration order."""
        return sorted(job for job in self.jobs if isinstance(job, _Job) and job.should_run)

    @property
    def idle_seconds(self) -> float | None:
        next_run = self.get_next_run()
        if next_run is None:
            return None
        return (next_run - self.now()).total_seconds()


class _Job(schedule.Job):
    """One named job. ``next_slot(now)`` gives its next regular run; failures back off instead."""

    def __init__(
        self,
        name: str,
        func: Callable[[], object],
        scheduler: _Scheduler,
        next_slot: Callable[[datetime], datetime],
        *,
        rng: random.Random,
        log: logging.Logger,
    ) -> None:
        super().__init__(1, scheduler)
        self.name = name
        self.func = func
        self.clocked = scheduler
        self.next_slot = next_slot
        self.rng = rng
        self.log = log
        self.failures = 0
        self.next_run: datetime = next_slot(scheduler.now())

    def __repr__(self) -> str:
        return f"<job {self.name} next={self.next_run.isoformat()} failures={self.failures}>"

    __str__ = __repr__

    @property
    def should_run(self) -> bool:
        return self.clocked.now() >= self.next_run

    def _schedule_next_run(self) -> None:
        self.next_run = self.next_slot(self.clocked.now())

    def run(self) -> None:
        self.last_run = self.clocked.now()
        try:
            self.func()
        except Exception as exc:  # one bad job must never kill the loop
            self._failed(exc)
            return
        if self.failures:
            self.log.info("%s succeeded again after %d failed attempts", self.name, self.failures)
        self.failures = 0
        self._schedule_next_run()

    def _failed(self, exc: Exception) -> None:
        self.failures += 1
        delay = backoff_delay(self.failures, self.rng)
        retry_after = getattr(exc, "retry_after", None)  # a server's explicit "slow down"
        if isinstance(retry_after, int | float) and math.isfinite(retry_after):
            delay = min(BACKOFF_CAP, max(delay, float(retry_after)))
        self.next_run = self.clocked.now() + timedelta(seconds=delay)
        retry = f"retrying in {_human(delay)}"
        message = " ".join(str(exc).split())  # one line, whatever the exception says
        if isinstance(exc, SyncsvcError):
            level = logging.WARNING if isinstance(exc, _TRANSIENT) else logging.ERROR
            what = message or type(exc).__name__
            self.log.log(level, "%s failed: %s (%s)", self.name, what, retry)
        else:
            what = f"{type(exc).__name__}: {message}" if message else type(exc).__name__
            self.log.error("%s failed: %s (%s)", self.name, what, retry)
            self.log.debug("%s traceback", self.name, exc_info=exc)


# --------------------------------------------------------------------------- the loop


def _default_wait(stop: threading.Event, timeout: float) -> bool:
    return stop.wait(timeout)


def _install_signal_handlers(stop: threading.Event, received: list[int]) -> Callable[[], None]:
    """SIGTERM/SIGINT set ``stop``. Only possible (and only done) in the main thread."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, frame: FrameType | None) -> None:
        received.append(signum)  # no logging here: the logging lock is not reentrant
        stop.set()

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore


def _status(jobs: list[_Job], now: datetime, zone: ZoneInfo) -> str:
    today = now.astimezone(zone).date()
    parts = []
    for job in jobs:
        if job.name == "notify":  # every minute: it would change the status every minute
            continue
        local = job.next_run.astimezone(zone)
        when = local.strftime("%H:%M") if local.date() == today else local.strftime("%a %H:%M")
        if job.failures:
            count = f"{job.failures} failure{'s' if job.failures > 1 else ''}"
            parts.append(f"{job.name} failing, retry at {when} ({count})")
        else:
            parts.append(f"next {job.name} at {when}")
    return ", ".join(parts)


def run(
    jobs: Jobs,
    *,
    plan_at: time,
    zone: ZoneInfo,
    poll_minutes: int,
    stop: threading.Event | None = None,
    clock: Clock = _SYSTEM_CLOCK,
    wait: Wait | None = None,
    log: logging.Logger | None = None,
    rng: random.Random | None = None,
) -> int:
    """Run the jobs until ``stop`` is set (or SIGTERM/SIGINT arrives); return the exit code 0.

    ``wait(stop, timeout)`` pauses for up to ``timeout`` seconds and returns True if ``stop`` was
    set; the default is ``stop.wait``. ``rng`` supplies the back-off jitter.
    """
    if poll_minutes < 1:
        raise ValueError("poll_minutes must be at least 1")
    stop = stop if stop is not None else threading.Event()
    wait = wait if wait is not None else _default_wait
    log = log if log is not None else logging.getLogger("syncsvc.daemon")
    rng = rng if rng is not None else random.Random()
    poll = timedelta(minutes=poll_minutes)

    def daily(now: datetime) -> datetime:
        return next_daily(now, plan_at, zone)

    def every_poll(now: datetime) -> datetime:
        return now + poll

    scheduler = _Scheduler(clock)

    def add(name: str, func: Callable[[], object], slot: Callable[[datetime], datetime]) -> _Job:
        return scheduler.add(_Job(name, func, scheduler, slot, rng=rng, log=log))

    # Registration order breaks ties: a re-import lands before the plan that uses it.
    if jobs.reimport is not None:
        add("reimport", jobs.reimport, daily)
    plan_job = add("plan", jobs.plan, daily)
    sync_job = add("sync", jobs.sync, every_poll)
    if jobs.notify is not None:
        add("notify", jobs.notify, lambda now: now + NOTIFY_EVERY)
    start = clock.now()
    plan_job.next_run = start  # the catch-up: plan (a no-op if done) and sync right away
    sync_job.next_run = start

    watchdog = sdnotify.watchdog_interval()
    received: list[int] = []
    restore_signals = _install_signal_handlers(stop, received)
    last_status = ""
    try:
        log.info(
            "started: plan daily at %s %s, sync every %d min%s",
            plan_at.strftime("%H:%M"),
            zone.key,
            poll_minutes,
            ", re-import daily" if jobs.reimport is not None else "",
        )
        sdnotify.notify("READY=1\nSTATUS=catching up")
        if watchdog is not None:
            sdnotify.notify("WATCHDOG=1")
        while not stop.is_set():
            for job in scheduler.due():
                if stop.is_set():
                    break
                log.debug("running %s", job.name)
                job.run()
                if watchdog is not None:
                    sdnotify.notify("WATCHDOG=1")
            if stop.is_set():
                break
            ordered = sorted(j for j in scheduler.jobs if isinstance(j, _Job))
            status = _status(ordered, clock.now(), zone)
            if status != last_status:
                sdnotify.notify(f"STATUS={status}")
                log.debug("%s", status)
                last_status = status
            idle = scheduler.idle_seconds
            timeout = MAX_SLEEP if idle is None else min(max(idle, 0.0), MAX_SLEEP)
            if watchdog is not None:
                timeout = min(timeout, watchdog)
            if wait(stop, timeout):
                break
            if watchdog is not None:
                sdnotify.notify("WATCHDOG=1")
        if received:
            log.info("stopping (%s)", signal.Signals(received[0]).name)
        else:
            log.info("stopping")
        return 0
    finally:
        sdnotify.notify("STOPPING=1")
        restore_signals()
