"""The default backend: a vdir, i.e. a folder of ``.ics`` files, one event per file.

This is the layout khal and vdirsyncer use (https://vdirsyncer.pimutils.org/en/stable/vdir.html):
syncsvc's event ``uid`` lives in ``{uid}.ics``. Writes are atomic (a dotfile in the same folder,
fsync, ``os.replace``), so a reader never sees half a file. Files that do not carry
``X-SYNCSVC-CALL`` belong to the person and are never touched.

The etag of a file is ``"{st_mtime_ns}-{st_size}-{st_ino}"``. The inode number is there because
file timestamps are only as fine as the kernel's clock tick: two writes of the same size within
one tick have the same mtime, but an atomic replace (ours, khal's, vdirsyncer's) always makes a
new inode.

A hostile or messy folder never stops the rest (docs/RELIABILITY.md): only regular files are
read, opened with ``O_NOFOLLOW | O_NONBLOCK`` (a symlink, a FIFO or a device is skipped with one
log line, never followed, never waited on), at most ``MAX_EVENT_BYTES`` each. A file that is not
ours is parsed once per change (kept by name and etag for the life of the process), not on every
poll. A folder that is missing, or suddenly holds none of the events syncsvc knows it wrote, is a
storage problem (an unmounted disk, a moved folder), never the person deleting every call:
``expect_events`` refuses before anything is read or written, unless the person says they did
(``syncsvc sync --force-delete``: ``sync.guard_storage`` lets the refusal pass that once).
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import stat
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path

from syncsvc.calendars import ics
from syncsvc.calendars.base import Calendar, CallEvent, Changes, RemoteEvent
from syncsvc.errors import (
    FORCE_DELETE_HINT,
    BackendError,
    ConflictError,
    NotFoundError,
    StorageGoneError,
)

log = logging.getLogger("syncsvc")

UID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9@._-]*")
MAX_UID_LENGTH = 200  # file names are at most 255 bytes on most file systems
SUFFIX = ".ics"
#: no event file is read beyond this: a /dev/zero symlink or a 2 GB "event" costs nothing
MAX_EVENT_BYTES = 10 * 1024 * 1024
_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)


class UnsafeFileError(ConflictError, ValueError):
    """Where syncsvc's event file should be there is a symlink or something that is not a
    regular file: it is left alone. (A ValueError too, as a uid leaving the folder is.)"""


class BadFile(Exception):
    """An event file that cannot be read safely; ``str()`` says why in a few words.
    ``transient``: it was being replaced while we read (the next look sees it whole)."""

    def __init__(self, why: str, *, transient: bool = False) -> None:
        super().__init__(why)
        self.transient = transient


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
        #: file name -> etag of files that are not syncsvc's: not parsed again until they change
        self._foreign: dict[str, str] = {}
        #: path -> why, for bad files already reported (one log line per change)
        self._reported: dict[str, str] = {}

    # --- the interface -------------------------------------------------------------------

    def create(self, event: CallEvent) -> str:
        target = self._file(event.uid)
        existing = self._etag(target)
        if existing is not None:
            return existing
        return self._write(target, ics.to_ical(event), replace=False)

    def create_recorded(self, event: CallEvent, record: Callable[[str, bool], None]) -> None:
        """Record first, then make the event visible: the file is written to a temp file in
        the folder, ``record`` commits its etag (a hard link or rename keeps mtime, size and
        inode), and only then is it linked into place. A crash before the record leaves an
        unrecorded temp file nobody saw (removed later); one after it leaves a temp file whose
        etag the store knows, which the next run links into place (``_finish_creates``). So
        an event the person deletes was always recorded first: deleted stays deleted."""
        target = self._file(event.uid)
        existing = self._etag(target)
        if existing is not None:
            record(existing, False)
            return
        tmp = self._write_temp(target, ics.to_ical(event))
        try:
            record(etag_of(tmp.lstat()), True)
        except Exception:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise
        # from here the store says the event is there: only putting it in place ends this
        self._publish(tmp, target)

    def busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The person's events in this folder and in ``busy_calendars`` (each a vdir, a
        folder of vdirs as khal and vdirsyncer keep them, or a single .ics file) that
        overlap [start, end)."""
        out: list[tuple[datetime, datetime]] = []
        for folder in [self.path, *self.busy_calendars]:
            files = [folder] if folder.is_file() else busy_files(folder)
            for file in files:
                try:  # the person's own files: a symlink is theirs to make, a FIFO is not
                    data, _ = self._read(file, follow=True)
                except BadFile as err:
                    self._report(file, err)
                    continue
                out += ics.busy_intervals(data, start, end)
        return sorted(out)

    def expect_events(self, known: Mapping[str, str]) -> None:
        """Refuse (``StorageGoneError``) when the folder that held syncsvc's ``known`` events
        is missing, or holds none of them: an unmounted disk or a moved folder, which must
        never read as the person deleting every call, nor get a fresh folder planted where
        the old one will come back. Cheap: one listing, no file opened. The message ends with
        ``FORCE_DELETE_HINT``: the way out for a person who deleted them all on purpose."""
        self._refuse_symlinked_folder()
        if not known:
            return
        try:
            entries = list(os.scandir(self.path))
            if self._finish_creates(entries, known):
                log.info("finished syncsvc's interrupted writes in %s", self.path)
                entries = list(os.scandir(self.path))
            names = {entry.name for entry in entries}
        except FileNotFoundError:
            raise self._folder_missing(known) from None
        except OSError as err:
            raise BackendError(f"cannot list calendar folder {self.path}: {err}") from err
        if len(known) >= 2 and not any(f"{uid}{SUFFIX}" in names for uid in known):
            raise StorageGoneError(
                f"calendar folder {self.path} holds none of the {len(known)} events syncsvc "
                "wrote there; check the disk is mounted and the folder was not replaced or "
                f"emptied (nothing was changed); {FORCE_DELETE_HINT}"
            )

    def _folder_missing(self, known: Mapping[str, str]) -> StorageGoneError:
        """The refusal for a folder that is gone although it held ``known`` events."""
        return StorageGoneError(
            f"calendar folder {self.path} is missing but held {len(known)} of syncsvc's "
            "events; check the disk is mounted and [calendar] path is right (nothing "
            f"was changed); {FORCE_DELETE_HINT}"
        )

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
        self._refuse_symlinked_folder()
        try:
            entries = list(os.scandir(self.path))
        except FileNotFoundError:
            if known:
                # Never report every event as deleted because a folder is missing (an
                # unmounted disk, a typo in the config): that would count every call skipped.
                # Only ``sync --force-delete`` reads this as every event deleted (sync.py).
                raise self._folder_missing(known) from None
            return result
        except OSError as err:
            raise BackendError(f"cannot list calendar folder {self.path}: {err}") from err
        if self._finish_creates(entries, known):
            entries = list(os.scandir(self.path))

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
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue  # vanished while we looked
            if stat.S_ISDIR(st.st_mode):
                continue
            stems.add(stem)
            present.add(stem)  # even a bad file where ours was: never read as a deletion
            etag = etag_of(st)
            if known.get(stem) == etag or self._foreign.get(name) == etag:
                continue  # unchanged since we saw it: not opened, not parsed
            try:
                data, etag = self._read(entry.path)
            except BadFile as err:
                self._report(Path(entry.path), err)
                if not err.transient:
                    result.problems.append(f"{entry.path}: {err}")
                continue
            event = ics.from_ical(data, etag)
            if event is None:
                # not ours (parsed once per change), or mid-write by some other program
                self._foreign[name] = etag
                continue
            self._foreign.pop(name, None)
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
                data, _ = self._read(target)
            except BadFile as err:
                raise ConflictError(f"{target}: {err}; left alone") from None
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
        self._refuse_symlinked_folder()
        if self.path.exists() and not self.path.is_dir():
            raise NotFoundError(f"calendar path {self.path} is not a folder")
        if self.path.is_dir() and not os.access(self.path, os.W_OK | os.X_OK):
            raise BackendError(f"calendar folder {self.path} is not writable by this user")
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

    def _refuse_symlinked_folder(self) -> None:
        """The configured folder itself must not be a symlink: syncsvc would write where it
        points (another user's folder, a disk that is not mounted). One line naming both."""
        if self.path.is_symlink():
            raise BackendError(
                f"calendar folder {self.path} is a symlink (to {os.readlink(self.path)}); "
                "set [calendar] path to the folder itself"
            )

    def _report(self, path: Path, err: BadFile) -> None:
        """One log line per bad file and change, not one per poll; none for a file that was
        being replaced while we read it."""
        if err.transient:
            return
        why, key = str(err), str(path)
        if self._reported.get(key) != why:
            self._reported[key] = why
            log.warning("calendar file %s skipped: %s", path, why)

    @staticmethod
    def _read(path: str | Path, *, follow: bool = False) -> tuple[bytes, str]:
        """The bytes of a regular file and the etag of exactly those bytes. ``BadFile`` for a
        symlink, a FIFO, a device, a folder, a file over ``MAX_EVENT_BYTES``, one gone or
        changed while we read it (the next ``changes()`` sees the finished version)."""
        try:
            fd = os.open(path, _OPEN_FLAGS & ~os.O_NOFOLLOW if follow else _OPEN_FLAGS)
        except FileNotFoundError:
            raise BadFile("gone while being read", transient=True) from None
        except OSError as err:
            if err.errno == getattr(os, "ELOOP", 40) or os.path.islink(path):
                raise BadFile("a symlink, not followed") from None
            raise BadFile(f"cannot be read ({err.strerror})") from None
        try:
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                raise BadFile("not a regular file (a FIFO, a device or a folder)")
            if st.st_size > MAX_EVENT_BYTES:
                raise BadFile(f"larger than {MAX_EVENT_BYTES:,} bytes")
            chunks: list[bytes] = []
            size = 0
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
                size += len(chunk)
                if size > MAX_EVENT_BYTES:
                    raise BadFile(f"larger than {MAX_EVENT_BYTES:,} bytes")
            after = os.fstat(fd)
        except OSError as err:
            raise BadFile(f"cannot be read ({err.strerror})") from None
        finally:
            os.close(fd)
        before = etag_of(st)
        if before != etag_of(after):
            raise BadFile("changed while being read", transient=True)
        return b"".join(chunks), before

    @staticmethod
    def _etag(target: Path) -> str | None:
        """The etag of syncsvc's event file; ``UnsafeFileError`` if a symlink or anything but a
        regular file stands where it should be (never followed, never written through)."""
        try:
            st = target.lstat()
        except FileNotFoundError:
            return None
        except OSError as err:
            raise BackendError(f"cannot read {target}: {err}") from err
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeFileError(
                f"{target} is a symlink or not a regular file; syncsvc left it alone"
            )
        return etag_of(st)

    def _write(self, target: Path, data: bytes, *, replace: bool) -> str:
        """Write ``data`` to ``target`` atomically; return the new etag.

        ``replace=False``: if ``target`` appeared meanwhile, keep it and return its etag.
        """
        tmp = self._write_temp(target, data)
        try:
            try:
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

    def _write_temp(self, target: Path, data: bytes) -> Path:
        """``data`` in a new temp file beside ``target`` (``.{uid}.XXXXXXXX.tmp``), synced."""
        folder = target.parent
        self._refuse_symlinked_folder()
        try:
            if not folder.is_dir():
                self._make_folder(folder)
            fd, tmp_name = tempfile.mkstemp(dir=folder, prefix=f".{target.stem}.", suffix=".tmp")
        except OSError as err:
            raise BackendError(f"cannot write to calendar folder {folder}: {err}") from err
        tmp = Path(tmp_name)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
        except BaseException as err:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            if isinstance(err, OSError):
                raise BackendError(f"cannot write {target}: {err}") from err
            raise
        return tmp

    def _publish(self, tmp: Path, target: Path) -> None:
        """Put the recorded temp file ``tmp`` at ``target`` (never over a file there)."""
        try:
            self._link_no_clobber(tmp, target)
        except OSError as err:
            raise BackendError(f"cannot write {target}: {err}") from err
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        self._fsync_dir()

    def _finish_creates(
        self, entries: Sequence[os.DirEntry[str]], known: Mapping[str, str]
    ) -> bool:
        """Link into place each temp file of ours whose etag the store already recorded for an
        event that is not there: a create killed between its record and its link. True if any
        was finished."""
        finished = False
        for entry in entries:
            if not _OUR_TEMP.match(entry.name):
                continue
            uid = entry.name[1:].rsplit(".", 2)[0]
            want = known.get(uid)
            if not want:
                continue
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode) or etag_of(st) != want:
                continue
            target = self._file(uid)
            if self._etag(target) is not None:
                continue
            self._publish(Path(entry.path), target)
            finished = True
        return finished

    def _make_folder(self, folder: Path) -> None:
        """Create the calendar folder (0700) on the first write only: ``expect_events``
        refuses before a write when the folder held syncsvc's events and is gone. Every folder
        made here is 0700 whatever the umask; an existing parent is never chmodded."""
        from syncsvc.paths import ensure_private_dir

        ensure_private_dir(folder)

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
