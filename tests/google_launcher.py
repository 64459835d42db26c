"""Run the real ``syncsvc`` command line in a subprocess, with test-only wiring that production
code does not have:

    python -m tests.google_launcher ENDPOINT -- ARGS... [-- ARGS...]

- ``ENDPOINT`` is the loopback Google fake's calendar endpoint, or ``-`` for none. With an
  endpoint, ``GoogleCalendar.from_config`` builds its service against the fake, with the
  production credentials: the data dir's token file (``FakeGoogle.write_token_file``), its
  token endpoint the fake's (everything else, retries included, is the production code).
- Several ``--``-separated command lines run one after the other in this process (each a whole
  ``syncsvc`` invocation); the exit code is the first non-zero one. A "normal run" after a kill
  (``plan`` then ``sync``) costs one interpreter start instead of two.
- ``SYNCSVC_TEST_KILL`` = ``point:probability,...`` and ``SYNCSVC_TEST_KILL_SEED``: at each
  named point the process sends itself SIGKILL with that probability (seeded, so a failing run
  can be repeated). Points:

  ``create.before`` / ``create.after`` / ``create.recorded``  around a create's record (after:
  the remote write is done - on vdir the temp file - and the local ``written`` commit is not;
  recorded: committed - on vdir not yet linked into place), ``update.after`` (a refresh
  written remotely, not recorded), ``changes.after`` (notes read, not applied), ``tx.commit``
  (right after any store transaction committed), ``lock.taken`` (inside the data dir lock,
  before any work).
- ``SYNCSVC_TEST_GOOGLE_TOKEN_URI``: the token endpoint (default: the fake's beside
  ``ENDPOINT``), for an endpoint that is a fault proxy in front of the fake.
- ``SYNCSVC_TEST_LOCK_TIMEOUT``: seconds ``App`` waits for the data dir lock (the CLI has no
  option for it; production waits 60 s).
"""

from __future__ import annotations

import os
import random
import signal
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

KILL_ENV = "SYNCSVC_TEST_KILL"
SEED_ENV = "SYNCSVC_TEST_KILL_SEED"
LOCK_ENV = "SYNCSVC_TEST_LOCK_TIMEOUT"
TOKEN_URI_ENV = "SYNCSVC_TEST_GOOGLE_TOKEN_URI"
POINTS = ("create.before", "create.after", "create.recorded", "update.after", "changes.after",
          "tx.commit", "lock.taken")  # fmt: skip


def _parse_kill(spec: str) -> dict[str, float]:
    out: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, prob = part.partition(":")
        if name not in POINTS:
            raise SystemExit(f"google_launcher: unknown kill point {name!r}")
        out[name] = float(prob or 1.0)
    return out


def install_kill_points(spec: str, seed: int) -> None:
    points = _parse_kill(spec)
    if not points:
        return
    rng = random.Random(seed)

    def maybe(point: str) -> None:
        p = points.get(point)
        if p is not None and rng.random() < p:
            sys.stdout.flush()
            sys.stderr.flush()
            os.kill(os.getpid(), signal.SIGKILL)

    from syncsvc.calendars.caldav import CaldavCalendar
    from syncsvc.calendars.google import GoogleCalendar
    from syncsvc.calendars.vdir import VdirCalendar

    for cls in (VdirCalendar, CaldavCalendar, GoogleCalendar):
        _wrap_create(cls, maybe)
        _wrap(cls, "update", after=lambda: maybe("update.after"))
        _wrap(cls, "changes", after=lambda: maybe("changes.after"))

    from syncsvc.store import db

    original_tx = db.Store.tx

    @contextmanager
    def tx(self: Any) -> Iterator[Any]:
        outer = self._depth == 0
        with original_tx(self) as conn:
            yield conn
        if outer:
            maybe("tx.commit")

    db.Store.tx = tx  # type: ignore[method-assign]

    from syncsvc import app as app_mod

    original_locked = app_mod.App.locked

    @contextmanager
    def locked(self: Any) -> Iterator[None]:
        with original_locked(self):
            maybe("lock.taken")
            yield

    app_mod.App.locked = locked  # type: ignore[method-assign]


def _wrap_create(cls: type, maybe: Callable[[str], None]) -> None:
    """The create points around ``create_recorded``'s record: on a remote backend the event is
    written before ``record`` is called; on vdir it is written to a temp file, recorded, and
    only then put in place (``create.recorded`` kills between the two)."""
    original = cls.create_recorded  # type: ignore[attr-defined]

    def wrapper(self: Any, event: Any, record: Callable[[str, bool], None]) -> None:
        def recording(etag: str, exact: bool) -> None:
            maybe("create.after")
            record(etag, exact)
            maybe("create.recorded")

        maybe("create.before")
        original(self, event, recording)

    cls.create_recorded = wrapper  # type: ignore[attr-defined]


def _wrap(
    cls: type,
    name: str,
    before: Callable[[], None] | None = None,
    after: Callable[[], None] | None = None,
) -> None:
    original = getattr(cls, name)

    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if before:
            before()
        result = original(self, *args, **kwargs)
        if after:
            after()
        return result

    setattr(cls, name, wrapper)


def use_google_fake(endpoint: str) -> None:
    """Point ``GoogleCalendar.from_config`` at the fake's API endpoint - and nothing else: the
    credentials are production's (``load_credentials`` on the data dir's token file, refreshed
    through the fake's token endpoint), so a missing, revoked or expired sign-in behaves as it
    would against Google."""
    from syncsvc.calendars.google import GoogleCalendar
    from syncsvc.google_api import build_service
    from syncsvc.google_auth import load_credentials

    token_uri = os.environ.get(TOKEN_URI_ENV) or endpoint.split("calendar/v3/")[0] + "token"

    def from_config(cls: type[GoogleCalendar], config: Any) -> GoogleCalendar:
        creds = load_credentials(config, token_uri=token_uri)
        service = build_service(
            "calendar", "v3", creds, config.calendar.timeout_seconds, api_endpoint=endpoint
        )
        return cls(service, config.calendar.calendar_id)

    GoogleCalendar.from_config = classmethod(from_config)  # type: ignore[assignment,method-assign]


def set_lock_timeout(seconds: float) -> None:
    from syncsvc import app as app_mod

    original = app_mod.App.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("lock_timeout", seconds)
        original(self, *args, **kwargs)

    app_mod.App.__init__ = init  # type: ignore[method-assign]


def split_commands(argv: list[str]) -> list[list[str]]:
    commands: list[list[str]] = [[]]
    for arg in argv:
        if arg == "--":
            commands.append([])
        else:
            commands[-1].append(arg)
    return [c for c in commands if c]


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[1] != "--":
        raise SystemExit("usage: python -m tests.google_launcher ENDPOINT|- -- ARGS [-- ARGS]")
    endpoint = argv[0]
    if endpoint != "-":
        use_google_fake(endpoint)
    install_kill_points(os.environ.get(KILL_ENV, ""), int(os.environ.get(SEED_ENV, "0")))
    if os.environ.get(LOCK_ENV):
        set_lock_timeout(float(os.environ[LOCK_ENV]))
    from syncsvc.cli import main as cli_main

    status = 0
    for command in split_commands(argv[2:]):
        try:
            code = cli_main(command)
        except SystemExit as e:  # argparse: a usage error, --help
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
        sys.stdout.flush()
        if code and not status:
            status = code
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
