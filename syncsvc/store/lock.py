"""One syncsvc process at a time works on a data dir.

The daemon takes the lock for each job, not for its whole life, so a manual ``syncsvc plan``
waits at most for the job in progress; after ``timeout`` seconds it gives up with one line.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from syncsvc.errors import LockedError
from syncsvc.paths import ensure_private_dir


@contextmanager
def data_dir_lock(data_dir: Path, timeout: float = 60.0) -> Iterator[None]:
    ensure_private_dir(data_dir)
    path = data_dir / "lock"
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        deadline = time.monotonic() + timeout
        delay = 0.05
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    raise LockedError(
                        f"{data_dir}: another syncsvc process is busy with this data dir "
                        f"(waited {timeout:.0f} s); try again when it has finished"
                    ) from None
                time.sleep(delay)
                delay = min(delay * 2, 0.5)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # closing releases the flock
