"""Where things live: XDG config and data dirs, created with safe modes."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any


def config_home() -> Path:
    return Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")


def data_home() -> Path:
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")


def default_config_path() -> Path:
    return config_home() / "syncsvc" / "config.toml"


def default_data_dir() -> Path:
    return data_home() / "syncsvc"


def ensure_private_dir(path: Path) -> Path:
    """Create ``path`` (and parents) with mode 0700 for the last component."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    if path.stat().st_mode & 0o077:
        path.chmod(0o700)
    return path


def write_private_file(path: Path, data: str | bytes) -> None:
    """Write a secret file with mode 0600 from the start (no world-readable window), atomically."""
    ensure_private_dir(path.parent)
    with private_file_writer(path) as f:
        f.write(data.encode() if isinstance(data, str) else data)


@contextlib.contextmanager
def private_file_writer(path: Path, mode: str = "wb", **open_args: Any) -> Iterator[IO[Any]]:
    """A file object whose content replaces ``path`` atomically once the block ends: written to
    a temporary file beside it, created with mode 0600 by the open() itself, fsynced, renamed
    over ``path``. On any error nothing is left behind and ``path`` is as it was.
    ``OSError`` from creating the temporary file reaches the caller."""
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
