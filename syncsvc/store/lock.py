"""One syncsvc process at a time works on a data dir.

The lock file is opened with ``O_NOFOLLOW`` and written only when it is a plain file of this
user holding a pid (or nothing): a planted symlink, a FIFO, or a file of the same name that is
someone's data (``data_dir = "~/Documents"``) is refused with one line, never overwritten.

The daemon takes the lock for each job, not for its whole life, so a manual ``syncsvc plan``
waits at most for the job in progress; after ``timeout`` seconds it gives up with one line.
"""

from __future__ import annotations

import fcntl
import os
import re
import stat
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from syncsvc.errors import LockedError, StoreError
from syncsvc.paths import ensure_private_dir

#: what syncsvc writes in its lock file: a pid (or nothing yet); anything else is someone's file
_PID = re.compile(rb"[0-9]{0,10}\n?")


@contextmanager
def data_dir_lock(data_dir: Path, timeout: float = 60.0) -> Iterator[None]:
    ensure_private_dir(data_dir)
    path = data_dir / "lock"
    try:
        # never through a symlink, never into a FIFO or another program's file
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600)
    except OSError as err:
        raise StoreError(
            f"{path}: cannot open the lock file ({err.strerror}); "
            "if it is a symlink or not syncsvc's, remove it"
        ) from None
    try:
        st = os.fstat(fd)
        plain = stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() and st.st_nlink == 1
        if not plain or not _PID.fullmatch(os.pread(fd, 64, 0)):
            raise StoreError(
                f"{path} is not syncsvc's lock file (a pid, in a plain file of this user); "
                "move it away or choose another data_dir"
            )
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
        os.ftruncate(fd, 0)  # our own plain file, checked above
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # closing releases the flock
