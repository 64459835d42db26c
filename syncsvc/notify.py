"""A nudge at call time: a desktop notification a few minutes before each call.

khal has no alarms and a folder of ``.ics`` files rings nowhere, so for the local calendar
(``vdir``) the daemon sends a freedesktop notification (``org.freedesktop.Notifications``
``Notify`` on the session bus, via ``jeepney`` — the ``notify`` extra) ``[calls]
notify_minutes`` before each call: the person's name, the question, the number. Where there
is no session bus (``DBUS_SESSION_BUS_ADDRESS`` unset, the connection fails, jeepney not
installed) it is skipped quietly: one DEBUG line, once.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from syncsvc.app import App

log = logging.getLogger("syncsvc.notify")

APP_NAME = "syncsvc"
EXPIRE_MS = 0  # stays until dismissed: a call is not something to miss
TIMEOUT_SECONDS = 5.0


@dataclass(frozen=True)
class Nudge:
    call_id: str
    summary: str
    body: str


def compose(
    call_id: str, name: str, question: str, phones: Sequence[str], start: datetime
) -> Nudge:
    """What the notification says: who and when, the question, the number to dial."""
    body = [question]
    body += [f"Phone: {p}" for p in phones[:2]] or ["No phone on file: see the event."]
    return Nudge(call_id, f"Call {name} at {start:%H:%M}", "\n".join(body))


class DesktopNotifier:
    """Sends notifications on the session bus; quiet where there is none."""

    def __init__(self, address: str | None = None) -> None:
        self._address = address
        self._conn: Any = None
        self._unavailable = False

    def _connect(self) -> Any:
        if self._conn is not None or self._unavailable:
            return self._conn
        address = self._address or os.environ.get("DBUS_SESSION_BUS_ADDRESS")
        if not address:
            return self._give_up("no session bus (DBUS_SESSION_BUS_ADDRESS is not set)")
        try:
            from jeepney.io.blocking import open_dbus_connection
        except ImportError:
            return self._give_up("jeepney is not installed (pip install 'syncsvc[notify]')")
        try:
            self._conn = open_dbus_connection(bus=address)
        except Exception as exc:  # any failure to reach the bus: no notifications, no noise
            return self._give_up(f"cannot connect to the session bus ({exc})")
        return self._conn

    def _give_up(self, why: str) -> None:
        log.debug("desktop notifications off: %s", why)
        self._unavailable = True
        return None

    def send(self, nudge: Nudge) -> bool:
        """Show ``nudge``; False if it could not be shown (logged at DEBUG)."""
        conn = self._connect()
        if conn is None:
            return False
        from jeepney import DBusAddress, new_method_call
        from jeepney.wrappers import unwrap_msg

        target = DBusAddress(
            "/org/freedesktop/Notifications",
            bus_name="org.freedesktop.Notifications",
            interface="org.freedesktop.Notifications",
        )
        hints = {"urgency": ("y", 2), "category": ("s", "call")}
        msg = new_method_call(
            target,
            "Notify",
            "susssasa{sv}i",
            (APP_NAME, 0, "call-start", nudge.summary, nudge.body, [], hints, EXPIRE_MS),
        )
        try:
            unwrap_msg(conn.send_and_get_reply(msg, timeout=TIMEOUT_SECONDS))  # raises on error
        except Exception as exc:  # no notification service, a timeout: skip this one
            log.debug("desktop notification not shown: %s", exc)
            return False
        return True

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def due(
    calls: Sequence[tuple[str, datetime]], now: datetime, minutes: int, sent: set[str]
) -> list[str]:
    """The calls (id, start) to nudge now: starting within ``minutes`` and not yet begun,
    not nudged before."""
    if minutes <= 0:
        return []
    lead = timedelta(minutes=minutes)
    return [cid for cid, start in calls if cid not in sent and start - lead <= now < start]


class CallNudger:
    """The daemon's job: every minute, nudge the calls about to start (each once, remembered
    in the store, so a daemon restarted inside the window does not nudge again)."""

    def __init__(self, app: App, notifier: DesktopNotifier | None = None) -> None:
        self.app = app
        self.notifier = notifier or DesktopNotifier()

    def __call__(self) -> list[str]:
        from syncsvc import sync
        from syncsvc.store import calls as calls_db
        from syncsvc.store import people as people_db

        app = self.app
        minutes = app.config.calls.notify_minutes
        now = app.clock.now()
        conn = app.store.conn
        days = {now.astimezone(app.config.calls.zone).date()}
        days.add((now + timedelta(minutes=minutes)).astimezone(app.config.calls.zone).date())
        planned = [
            c for d in sorted(days) for c in calls_db.on_day(conn, d) if c.outcome == "planned"
        ]
        shown: list[str] = []
        sent = calls_db.nudged(conn, [c.id for c in planned])
        for call_id in due([(c.id, c.start) for c in planned], now, minutes, sent):
            call = next(c for c in planned if c.id == call_id)
            person = people_db.get(conn, call.person_id)
            phones = [written for written, _ in person.phones] if person else []
            question = sync.question(app.config, people_db.current_topic(conn))
            start = call.start.astimezone(app.config.calls.zone)
            with app.store.tx() as tx:  # before it is shown: a crash never shows it twice
                calls_db.mark_nudged(tx, call_id, now)
            if self.notifier.send(compose(call_id, call.person_name, question, phones, start)):
                shown.append(call_id)
        return shown


def job_for(app: App) -> Callable[[], object] | None:
    """The daemon's notification job, or None: off (``notify_minutes = 0``) or not the
    local calendar (CalDAV and Google calendars ring on the person's devices already)."""
    if app.config.calls.notify_minutes <= 0 or app.config.calendar.backend != "vdir":
        return None
    return CallNudger(app)
