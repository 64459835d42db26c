"""Calendar backends behind one small interface (see base.py).

``open_calendar(config, store)`` picks the backend named by ``[calendar] backend``; the heavy
libraries (caldav, googleapiclient, msal) are imported only when their backend is used, and
are extras of the install: without them this says which ``pip install`` to run (extras.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from syncsvc.calendars.base import Calendar
    from syncsvc.config import Config


def open_calendar(config: Config) -> Calendar:
    backend = config.calendar.backend
    if backend == "vdir":
        from syncsvc.calendars.vdir import VdirCalendar

        return VdirCalendar(config.calendar_path, config.calendar.busy_calendars)
    from syncsvc import extras

    if backend == "caldav":
        extras.require("caldav", '[calendar] backend = "caldav"')
        from syncsvc.calendars.caldav import CaldavCalendar

        return CaldavCalendar.from_config(config)
    if backend == "google":
        extras.require("google", '[calendar] backend = "google"')
        from syncsvc.calendars.google import GoogleCalendar

        return GoogleCalendar.from_config(config)
    if backend == "microsoft":
        extras.require("microsoft", '[calendar] backend = "microsoft"')
        from syncsvc.calendars.microsoft import MicrosoftCalendar

        return MicrosoftCalendar.from_config(config)
    raise AssertionError(f"unknown backend {backend!r} passed config validation")
