"""The systemd notify protocol against real AF_UNIX datagram sockets."""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from syncsvc import sdnotify


@pytest.fixture
def path_socket(tmp_path: Path) -> Iterator[tuple[socket.socket, str]]:
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2)
    yield sock, str(path)
    sock.close()


def test_ready_reaches_a_socket_in_the_file_system(
    path_socket: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sock, path = path_socket
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    assert sdnotify.notify("READY=1") is True
    assert sock.recv(4096) == b"READY=1"


def test_one_datagram_per_call_with_multiple_lines(
    path_socket: tuple[socket.socket, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sock, path = path_socket
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    assert sdnotify.notify("READY=1\nSTATUS=next sync at 10:05")
    assert sdnotify.notify("STOPPING=1")
    assert sock.recv(4096) == b"READY=1\nSTATUS=next sync at 10:05"
    assert sock.recv(4096) == b"STOPPING=1"


def test_ready_reaches_an_abstract_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    name = f"syncsvc-test-{uuid.uuid4().hex}"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        sock.bind(b"\0" + name.encode())
        sock.settimeout(2)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert sdnotify.notify("READY=1") is True
        assert sock.recv(4096) == b"READY=1"
    finally:
        sock.close()


def test_no_socket_is_false(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    assert sdnotify.notify("READY=1") is False
    monkeypatch.setenv("NOTIFY_SOCKET", "")
    assert sdnotify.notify("READY=1") is False


def test_missing_or_bad_socket_is_false_and_never_raises(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "gone"))
    assert sdnotify.notify("READY=1") is False
    monkeypatch.setenv("NOTIFY_SOCKET", f"@syncsvc-nobody-listens-{uuid.uuid4().hex}")
    assert sdnotify.notify("READY=1") is False
    monkeypatch.setenv("NOTIFY_SOCKET", "relative/path")
    assert sdnotify.notify("READY=1") is False
    (tmp_path / "file").write_text("not a socket")
    monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "file"))
    assert sdnotify.notify("READY=1") is False


@pytest.mark.parametrize(
    ("usec", "pid", "expected"),
    [
        ("120000000", None, 60.0),
        ("120000000", "self", 60.0),
        ("120000000", "other", None),
        ("2000000", None, 1.0),
        (None, None, None),
        ("", None, None),
        ("0", None, None),
        ("-5", None, None),
        ("soon", None, None),
        ("120000000", "notapid", None),
    ],
)
def test_watchdog_interval(
    usec: str | None, pid: str | None, expected: float | None, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in (("WATCHDOG_USEC", usec), ("WATCHDOG_PID", pid)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            if value == "self":
                value = str(os.getpid())
            elif value == "other":
                value = str(os.getpid() + 1)
            monkeypatch.setenv(name, value)
    assert sdnotify.watchdog_interval() == expected
