"""One backend wired up for a single example of the loop model (tests/test_model.py).

Why a "rig" and not the flow tests' ``backend`` fixture: a Hypothesis state machine runs many
examples inside one test, and pytest fixtures are made once per test, not per example. So the
test builds a :data:`RigFactory` once (with whatever is started once per test: the Radicale
server), and the machine calls it for every example with that example's own folder. A rig
gives the machine the config, a way to open a fresh :class:`App` the way production opens this
backend (the same way again after a kill), the person's app on the calendar, and a clean-up.

Wiring as in tests/test_flow.py's ``backend`` fixture: CalDAV on a new calendar of a real
Radicale (its password from the environment); Google on a fresh strict loopback fake, with the
service built as production builds it and ``GoogleCalendar(service, sleep=lambda s: None)``
swapped in; Microsoft on a fresh Graph fake after the product's own device-code sign-in.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from syncsvc import config as config_mod
from syncsvc.app import App
from syncsvc.calendars.caldav import CaldavCalendar
from syncsvc.calendars.google import GoogleCalendar
from syncsvc.clock import FixedClock
from tests.flow_phones import GooglePhone, OutlookPhone, Phone, RadicalePhone, VdirPhone
from tests.google_fake import FakeGoogle
from tests.graph_fake import FakeGraph, microsoft_section, sign_in
from tests.radicale_server import USER, RadicaleServer
from tests.test_caldav import Phone as CaldavPhone

# the CalDAV password's environment variable; the test sets it (to radicale_server.PASSWORD)
PASSWORD_ENV = "SYNCSVC_TEST_MODEL_CALDAV_PASSWORD"


@dataclass
class Rig:
    """One example's calendar: how to open an App on it, and the person's app on it."""

    config: config_mod.Config
    new_app: Callable[[FixedClock], App]  # the production way, every time (also after a kill)
    phone: Phone
    close: Callable[[], None] = field(default=lambda: None)
    # the backend remembers a deletion even of an event whose create syncsvc never recorded
    # (killed in between), so redoing that create cannot bring it back: Google (the id stays
    # taken by the cancelled event; insert answers 409 and syncsvc keeps it as it is)
    keeps_unrecorded_deletions: bool = False


RigFactory = Callable[[Path], Rig]  # the example's own folder -> its rig


def _config(folder: Path, **sections: Any) -> config_mod.Config:
    raw: dict[str, Any] = {
        "data_dir": str(folder / "data"),
        "calls": {"timezone": "Europe/Berlin", "per_day": 2},
        **sections,
    }
    return config_mod.build(raw, None)


def vdir_rig(folder: Path) -> Rig:
    config = _config(folder)
    return Rig(config, lambda clock: App(config, clock=clock), VdirPhone(config.calendar_path))


def caldav_rigs(server: RadicaleServer) -> RigFactory:
    """A new calendar on ``server`` per example, deleted again in clean-up."""

    def make(folder: Path) -> Rig:
        config = _config(
            folder,
            calendar={
                "backend": "caldav",
                "url": server.url,
                "username": USER,
                "calendar": f"Calls {uuid.uuid4().hex[:8]}",
                "password_env": PASSWORD_ENV,
                "timeout_seconds": 5,
            },
        )
        probe = CaldavCalendar.from_config(config)
        probe.check()  # create the calendar, so the phone can open it
        device = CaldavPhone(server, probe._collection_path)
        probe.close()

        def close() -> None:
            try:
                device.cal.delete()
            finally:
                device.client.close()

        return Rig(config, lambda clock: App(config, clock=clock), RadicalePhone(device), close)

    return make


def google_rig(folder: Path) -> Rig:
    """A fresh fake per example (its primary calendar empty), stopped in clean-up."""
    fake = FakeGoogle().start()
    config = _config(folder, calendar={"backend": "google"})

    def new_app(clock: FixedClock) -> App:
        service = fake.service("calendar", "v3", config=config)
        return App(config, clock=clock, calendar=GoogleCalendar(service, sleep=lambda s: None))

    return Rig(config, new_app, GooglePhone(fake), fake.stop, keeps_unrecorded_deletions=True)


def microsoft_rigs(setenv: Callable[[str, str], None]) -> RigFactory:
    """A fresh Graph fake per example, signed in as ``syncsvc auth microsoft`` does;
    ``setenv`` (the test's monkeypatch) points ``REQUESTS_CA_BUNDLE`` at its certificate."""

    def make(folder: Path) -> Rig:
        fake = FakeGraph().start()
        try:
            setenv("REQUESTS_CA_BUNDLE", fake.ca_file)
            config = _config(
                folder,
                calendar={"backend": "microsoft", "timeout_seconds": 5},
                microsoft=microsoft_section(fake),
            )
            sign_in(config, fake)
        except BaseException:
            fake.stop()
            raise
        return Rig(config, lambda clock: App(config, clock=clock), OutlookPhone(fake), fake.stop)

    return make
