"""A real D-Bus session bus for tests (``dbus-daemon --session``, started and stopped here)
and a tiny notification service on it that owns ``org.freedesktop.Notifications`` and
records every ``Notify`` call it receives."""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

DBUS_DAEMON = Path("/usr/bin/dbus-daemon")


class NotificationService:
    """Owns org.freedesktop.Notifications on ``address``; ``received`` holds each Notify's
    arguments (app_name, replaces_id, icon, summary, body, actions, hints, expire_timeout)."""

    def __init__(self, address: str) -> None:
        from jeepney.bus_messages import message_bus
        from jeepney.io.blocking import open_dbus_connection

        self.received: list[tuple[Any, ...]] = []
        self.got = threading.Event()
        self._stop = threading.Event()
        self._conn = open_dbus_connection(bus=address)
        reply = self._conn.send_and_get_reply(
            message_bus.RequestName("org.freedesktop.Notifications"), timeout=5
        )
        assert reply.body[0] == 1, "could not own org.freedesktop.Notifications"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        from jeepney import HeaderFields, MessageType, new_error, new_method_return

        while not self._stop.is_set():
            try:
                msg = self._conn.receive(timeout=0.1)
            except TimeoutError:
                continue
            except OSError:
                return
            if msg.header.message_type != MessageType.method_call:
                continue
            member = msg.header.fields.get(HeaderFields.member)
            if member == "Notify":
                self.received.append(tuple(msg.body))
                self._conn.send(new_method_return(msg, "u", (len(self.received),)))
                self.got.set()
            else:
                self._conn.send(new_error(msg, "org.freedesktop.DBus.Error.UnknownMethod"))

    def close(self) -> None:
        self._stop.set()
        self._thread.join(5)
        self._conn.close()


@pytest.fixture
def session_bus() -> Iterator[str]:
    """The address of a private session bus, for this test only."""
    if not DBUS_DAEMON.exists() or shutil.which("dbus-daemon") is None:
        pytest.skip("/usr/bin/dbus-daemon is missing (apt-get install dbus): no session bus")
    proc = subprocess.Popen(
        [str(DBUS_DAEMON), "--session", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        address = proc.stdout.readline().strip()
        if not address:
            pytest.skip(f"dbus-daemon did not start: {proc.stderr.read() if proc.stderr else ''}")
        yield address
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture
def notifications(session_bus: str) -> Iterator[NotificationService]:
    service = NotificationService(session_bus)
    yield service
    service.close()
