"""Where things live: XDG config and data dirs, created with safe modes."""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from syncsvc.errors import ConfigError, InputError, UsageError

log = logging.getLogger("syncsvc")
_warned: set[Path] = set()  # data dirs already warned about in this process


def config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def default_config_path() -> Path:
    return config_home() / "syncsvc" / "config.toml"


def default_data_dir() -> Path:
    return data_home() / "syncsvc"


def ensure_private_dir(path: Path) -> Path:
    """Make sure ``path`` is a directory syncsvc can write in.

    Every directory created here (``path`` and any missing parent) is 0700 whatever the umask.
    A directory that already exists is never chmodded: it may be ``$HOME``, ``~/Documents`` or a
    shared sticky ``/tmp``-like dir; when others can read it, one warning says so. A directory
    that cannot be created or written is a ``ConfigError`` naming it (not a traceback)."""
    missing: list[Path] = []
    probe = path
    while not probe.is_dir() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    try:
        for directory in reversed(missing):
            try:
                directory.mkdir(mode=0o700)
            except FileExistsError:
                if not directory.is_dir():
                    raise ConfigError(
                        f"{directory} is not a directory; syncsvc needs a directory there"
                    ) from None
                continue  # made by someone else meanwhile: not ours to chmod
            directory.chmod(0o700)  # mkdir's mode is masked by the umask
    except OSError as err:
        raise ConfigError(
            f"cannot create directory {err.filename or path} ({err.strerror}); "
            "check data_dir in the config and its permissions"
        ) from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(
            f"directory {path} is not writable by this user; "
            "fix its permissions or set data_dir in the config"
        )
    if path not in missing and path not in _warned:
        with contextlib.suppress(OSError):
            if path.stat().st_mode & 0o077:
                _warned.add(path)
                log.warning(
                    "%s can be read by other users; syncsvc keeps personal data there "
                    "(chmod 700 it if it is syncsvc's own)",
                    path,
                )
    return path


def write_private_file(path: Path, data: str | bytes) -> None:
    """Write a secret file with mode 0600 from the start (no world-readable window), atomically."""
    ensure_private_dir(path.parent)
    with private_file_writer(path) as f:
        f.write(data.encode() if isinstance(data, str) else data)


def _remove_dead_temps(path: Path) -> None:
    """Remove ``.{name}.{pid}.tmp`` files beside ``path`` left by a killed write (personal data
    in a hidden file): those whose process is gone."""
    prefix, suffix = f".{path.name}.", ".tmp"
    with contextlib.suppress(OSError):
        for entry in os.scandir(path.parent):
            name = entry.name
            pid = name[len(prefix) : -len(suffix)]
            if not (name.startswith(prefix) and name.endswith(suffix) and pid.isdigit()):
                continue
            try:
                os.kill(int(pid), 0)
                continue  # still running: its write is in progress
            except ProcessLookupError:
                pass
            except OSError:
                continue  # someone else's process
            with contextlib.suppress(OSError):
                if entry.is_file(follow_symlinks=False):
                    os.unlink(entry.path)


@contextlib.contextmanager
def private_file_writer(path: Path, mode: str = "wb", **open_args: Any) -> Iterator[IO[Any]]:
    """A file object whose content replaces ``path`` atomically once the block ends: written to
    a temporary file beside it, created with mode 0600 by the open() itself, fsynced, renamed
    over ``path``. On any error nothing is left behind and ``path`` is as it was.
    ``OSError`` from creating the temporary file reaches the caller."""
    _remove_dead_temps(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.unlink(missing_ok=True)  # a dead process's leftover: never write into someone's file
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, mode, **open_args) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


# the system's own links to an open file (``/dev/stdout`` -> ``/proc/self/fd/1``): the only
# symbolic links a personal file is written through
_SYSTEM_LINK_DIRS = ("/dev/", "/proc/")


def is_stdout(fd_or_path: int | str) -> bool:
    """Whether ``fd_or_path`` is the very file this process's stdout writes to (a path only
    when it is not itself a regular file: ``/dev/stdout``, a pipe, a terminal)."""
    try:
        if isinstance(fd_or_path, str) and stat.S_ISREG(os.lstat(fd_or_path).st_mode):
            return False
        mine = os.fstat(sys.stdout.fileno())
        theirs = os.fstat(fd_or_path) if isinstance(fd_or_path, int) else os.stat(fd_or_path)
    except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is both
        return False
    return (mine.st_dev, mine.st_ino) == (theirs.st_dev, theirs.st_ino)


@contextlib.contextmanager
def private_output(path: str | Path, what: str) -> Iterator[IO[str]]:
    """A text stream for a personal file the person named (an export, the HTML report).

    - ``-``, or the file stdout already writes to (``/dev/stdout``): ``sys.stdout`` itself.
    - a new or regular file: ``private_file_writer`` — mode 0600 from the start, atomic.
    - a FIFO, a terminal, a device: opened and written into, never renamed over (a rename
      would put a regular file where the pipe or device node was).
    - a symbolic link: only the system's own (``/dev/stdout``, ``/dev/fd/N``) is followed; any
      other is refused — a link planted in a shared folder must not redirect personal data.
    ``what`` names the file in the one-line errors ("the export", "the report")."""
    if str(path) == "-":
        yield sys.stdout
        sys.stdout.flush()
        return
    target = Path(path).expanduser()
    try:
        st: os.stat_result | None = os.lstat(target)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise InputError(f"{target}: cannot write {what} ({e.strerror})") from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise UsageError(f"{target} is a folder; name the file for {what}")
    if st is not None and stat.S_ISLNK(st.st_mode):
        if not str(target.absolute()).startswith(_SYSTEM_LINK_DIRS):
            raise InputError(
                f"{target} is a symbolic link; name the file itself for {what}, not a link to it"
            )
        if target.is_dir():
            raise UsageError(f"{target} is a folder; name the file for {what}")
    elif st is None or stat.S_ISREG(st.st_mode):
        if not target.parent.is_dir():
            raise InputError(f"{target.parent}: no such folder; cannot write {what}")
        with contextlib.ExitStack() as stack:
            try:
                out = stack.enter_context(
                    private_file_writer(target, "w", encoding="utf-8", newline="")
                )
            except OSError as e:
                raise InputError(f"{target}: cannot write {what} ({e.strerror})") from None
            yield out
        return
    # a pipe, a device, or the system's link to one: written into (no O_CREAT, no O_TRUNC)
    if is_stdout(str(target)):
        yield sys.stdout
        sys.stdout.flush()
        return
    flags = os.O_WRONLY | (0 if stat.S_ISLNK(st.st_mode) else os.O_NOFOLLOW)
    with contextlib.suppress(OSError):
        if stat.S_ISREG(os.stat(target).st_mode):  # /dev/stderr redirected to a log: append
            flags |= os.O_APPEND
    try:
        fd = os.open(target, flags)
    except OSError as e:
        raise InputError(f"{target}: cannot write {what} ({e.strerror})") from None
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as stream:
        yield stream
