"""The systemd notify protocol without libsystemd: one datagram to ``$NOTIFY_SOCKET``.

``notify("READY=1")``, ``notify("WATCHDOG=1")``, ``notify("STATUS=...")``, ``notify("STOPPING=1")``.
Outside systemd (no ``$NOTIFY_SOCKET``) every call is a cheap no-op that returns False.
"""

from __future__ import annotations

import os
import socket

SEND_TIMEOUT = 2.0  # seconds


def _address(env: str) -> str | bytes | None:
    if not env or env[0] not in "/@":
        return None  # unset, or a vsock:/relative address we do not speak
    if env[0] == "@":
        # Abstract namespace: the leading "@" stands for a NUL byte.
        return b"\0" + env[1:].encode()
    return env


def notify(state: str) -> bool:
    """Send ``state`` (one or more ``KEY=value`` lines) to systemd.

    Returns True if the datagram was sent; False when there is no notify socket or sending
    failed. Never raises: a service must not die because its supervisor went away.
    """
    address = _address(os.environ.get("NOTIFY_SOCKET", ""))
    if address is None:
        return False
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            # systemd reads promptly; never let a full queue hang the service for long.
            sock.settimeout(SEND_TIMEOUT)
            sock.connect(address)
            sock.sendall(state.encode())
    except (OSError, ValueError, UnicodeError):
        return False
    return True


def watchdog_interval() -> float | None:
    """How often to send ``WATCHDOG=1``, in seconds: half of ``$WATCHDOG_USEC``.

    None when the watchdog is off: no or a malformed ``WATCHDOG_USEC``, or a ``WATCHDOG_PID``
    that names another process (the variable was inherited from a parent).
    """
    pid = os.environ.get("WATCHDOG_PID")
    if pid:
        try:
            if int(pid) != os.getpid():
                return None
        except ValueError:
            return None
    try:
        usec = int(os.environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    if usec <= 0:
        return None
    return usec / 1_000_000 / 2
