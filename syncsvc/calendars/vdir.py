"""The default backend: a vdir, i.e. a folder of ``.ics`` files, one event per file.

This is the layout khal and vdirsyncer use (https://vdirsyncer.pimutils.org/en/stable/vdir.html):
syncsvc's event ``uid`` lives in ``{uid}.ics``. Writes are atomic (a dotfile in the same folder,
fsync, ``os.replace``), so a reader never sees half a file. Files that do not carry
``X-SYNCSVC-CALL`` belong to the person and are never touched.

The etag of a file is ``"{st_mtime_ns}-{st_size}-{st_ino}"``. The inode number is there because
file timestamps are only as fine as the kernel's clock tick: two writes of the same size within
one tick have the same mtime, but an atomic replace (ours, khal's, vdirsyncer's) always makes a
new inode.
"""

from __future__ import annotations

import contextlib
import os
import re
import tempfile
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path

from syncsvc.calendars import ics
from syncsvc.calendars.base import Calendar, CallEvent, Changes, RemoteEvent
from syncsvc.errors import BackendError, ConflictError, NotFoundError

UID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9@._-]*")
MAX_UID_LENGTH = 200  # file names are at most 255 bytes on most file systems
SUFFIX = ".ics"


def etag_of(st: os.stat_result) -> str:
    return f"{st.st_mtime_ns}-{st.st_size}-{st.st_ino}"


#: our own temp files (``.{uid}.XXXXXXXX.tmp``, see _write); one left by a process killed
#: mid-write is removed once it is this old
_OUR_TEMP = re.compile(r"^\.[A-Za-z0-9][A-Za-z0-9@._-]*@syncsvc\.[A-Za-z0-9_]+\.tmp$")
STALE_TEMP_SECONDS = 3600


def _remove_if_stale_temp(entry: os.DirEntry[str]) -> None:
    if not _OUR_TEMP.match(entry.name):
        return
    with contextlib.suppress(OSError):
        if time.time() - entry.stat().st_mtime > STALE_TEMP_SECONDS:
            os.unlink(entry.path)


class VdirCalendar(Calendar):
    """A folder of ``.ics`` files; created (mode 0700) on the first write."""

    def __init__(self, path: Path, busy_calendars: Sequence[Path] = ()) -> None:
        self.path = Path(path).expanduser()
        self.key = f"vdir:{self.path.resolve()}"
        #: other local calendar folders (e.g. khal's) whose events make a time busy
        self.busy_calendars = [Path(p).expanduser() for p in busy_calendars]

    # --- the interface -------------------------------------------------------------------

    def create(self, event: CallEvent) -> str:
        target = self._file(event.uid)
        existing = self._etag(target)
        if existing is not None:
            return existing
        return self._write(target, ics.to_ical(event), replace=False)

    def busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The person's events in this folder and in ``busy_calendars`` (each a vdir, a
        folder of vdirs as khal and vdirsyncer keep them, or a single .ics file) that
        overlap [start, end)."""
        out: list[tuple[datetime, datetime]] = []
        for folder in [self.path, *self.busy_calendars]:
            files = [folder] if folder.is_file() else busy_files(folder)
            for file in files:
                with contextlib.suppress(OSError):
                    out += ics.busy_intervals(file.read_bytes(), start, end)
        return sorted(out)

    def update(self, event: CallEvent, etag: str) -> str:
        target = self._file(event.uid)
        current = self._etag(target)
        if current is None:
            raise NotFoundError(f"event {event.uid} is gone from {self.path}")
        read = self._read(target) if current == etag else None
        if read is None or read[1] != etag:
            raise ConflictError(
                f"event {event.uid} in {self.path} was changed since syncsvc wrote it"
            )
        # what the person's calendar app added to the event stays (X-MOZ-LASTACK, location...)
        return self._write(target, ics.patch_ical(read[0], event), replace=True)

    def changes(self, token: str | None, known: Mapping[str, str]) -> Changes:
        result = Changes(token=None)
        try:
            entries = list(os.scandir(self.path))
        except FileNotFoundError:
            if known:
                # Never report every event as deleted because a folder is missing (an
                # unmounted disk, a typo in the config): that would count every call skipped.
                raise NotFoundError(f"calendar folder {self.path} does not exist") from None
            return result
        except OSError as err:
            raise BackendError(f"cannot list calendar folder {self.path}: {err}") from err

        stems: set[str] = set()  # names of the .ics files, without the suffix
        present: set[str] = set()  # uids whose file is there (ours or not parseable now)
        found: dict[str, tuple[bool, RemoteEvent]] = {}  # uid -> (from {uid}.ics?, event)
        for entry in sorted(entries, key=lambda e: e.name):
            name = entry.name
            if name.startswith("."):
                _remove_if_stale_temp(entry)
                continue
            if not name.endswith(SUFFIX):
                continue
            stem = name[: -len(SUFFIX)]
            try:
                if not entry.is_file():
                    continue
                st = entry.stat()
            except OSError:
                continue  # vanished while we looked
            etag = etag_of(st)
            stems.add(stem)
            present.add(stem)
            if known.get(stem) == etag:
                continue  # unchanged since we saw it: not opened, not parsed
            read = self._read(entry.path)
            if read is None:
                continue
            data, etag = read
            event = ics.from_ical(data, etag)
            if event is None:
                continue  # not ours, or mid-write by some other program: leave it
            present.add(event.uid)
            exact = event.uid == stem
            if event.uid not in found or (exact and not found[event.uid][0]):
                found[event.uid] = (exact, event)

        # a copy of our event under another name counts only while {uid}.ics is not there
        result.changed = [
            event for uid, (exact, event) in found.items() if exact or uid not in stems
        ]
        result.deleted = sorted(uid for uid in known if uid not in present)
        return result

    def delete(self, uid: str, etag: str | None) -> None:
        target = self._file(uid)
        current = self._etag(target)
        if current is None:
            return
        if etag is not None and current != etag:
            raise ConflictError(f"event {uid} in {self.path} was changed since syncsvc wrote it")
        if etag is None:
            try:
                data = target.read_bytes()
            except FileNotFoundError:
                return
            except OSError as err:
                raise BackendError(f"cannot read {target}: {err}") from err
            if ics.from_ical(data, current) is None:
                raise ConflictError(f"{target} is not an event syncsvc wrote; left alone")
        try:
            target.unlink()
        except FileNotFoundError:
            return
        except OSError as err:
            raise BackendError(f"cannot delete {target}: {err}") from err
        self._fsync_dir()

    def check(self) -> str:
        if self.path.exists() and not self.path.is_dir():
            raise NotFoundError(f"calendar path {self.path} is not a folder")
        self.changes(None, {})
        state = "" if self.path.exists() else " (created on the first write)"
        return f"{self.key}{state}"

    # --- helpers -------------------------------------------------------------------------

    def _file(self, uid: str) -> Path:
        """``{uid}.ics`` inside the folder; ValueError for a uid that could escape it."""
        if not isinstance(uid, str) or len(uid) > MAX_UID_LENGTH or not UID_RE.fullmatch(uid):
            raise ValueError(f"not a valid event uid for a vdir file name: {uid!r}")
        folder = self.path.resolve()
        target = (folder / f"{uid}{SUFFIX}").resolve()
        if target.parent != folder:
            raise ValueError(f"event uid {uid!r} would leave the calendar folder")
        return folder / f"{uid}{SUFFIX}"

    @staticmethod
    def _read(path: str | Path) -> tuple[bytes, str] | None:
        """The file's bytes and the etag of exactly those bytes; None if it is gone or
        changed while we read it (the next ``changes()`` sees the finished version)."""
        try:
            with open(path, "rb") as f:
                before = etag_of(os.fstat(f.fileno()))
                data = f.read()
                after = etag_of(os.fstat(f.fileno()))
        except OSError:
            return None
        return (data, before) if before == after else None

    @staticmethod
    def _etag(target: Path) -> str | None:
        try:
            return etag_of(target.stat())
        except FileNotFoundError:
            return None
        except OSError as err:
            raise BackendError(f"cannot read {target}: {err}") from err

    def _write(self, target: Path, data: bytes, *, replace: bool) -> str:
        """Write ``data`` to ``target`` atomically; return the new etag.

        ``replace=False``: if ``target`` appeared meanwhile, keep it and return its etag.
        """
        folder = target.parent
        try:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{target.stem}.", suffix=".tmp")
        except OSError as err:
            raise BackendError(f"cannot write to calendar folder {folder}: {err}") from err
        tmp = Path(tmp_name)
        try:
            try:
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
                    f.flush()
                    os.fsync(f.fileno())
                if replace:
                    os.replace(tmp, target)
                else:
                    existing = self._link_no_clobber(tmp, target)
                    if existing is not None:
                        return existing
            except OSError as err:
                raise BackendError(f"cannot write {target}: {err}") from err
        finally:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        self._fsync_dir()
        etag = self._etag(target)
        if etag is None:
            raise BackendError(f"{target} vanished right after it was written")
        return etag

    def _link_no_clobber(self, tmp: Path, target: Path) -> str | None:
        """Put ``tmp`` at ``target`` unless ``target`` exists; then return its etag."""
        try:
            os.link(tmp, target)
        except FileExistsError:
            return self._etag(target)
        except OSError:
            # file systems without hard links: a small race window, but still atomic
            existing = self._etag(target)
            if existing is not None:
                return existing
            os.replace(tmp, target)
        return None

    def _fsync_dir(self) -> None:
        with contextlib.suppress(OSError):
            fd = os.open(self.path, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)


def busy_files(folder: Path) -> list[Path]:
    """The event files of a busy calendar folder: its own ``*.ics``, or, for a folder of
    calendars (khal's and vdirsyncer's layout, one vdir per calendar), theirs."""
    files = sorted(folder.glob("*.ics"))
    return files or sorted(folder.glob("*/*.ics"))
