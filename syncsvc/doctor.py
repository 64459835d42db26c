"""`syncsvc doctor`: one line per check and per problem, each problem with its fix.

What it looks at is what has made syncsvc quietly do less than the person thinks: the config,
the store, the calendar (missing, read-only, event files it cannot read), busy calendars that
do not exist (meeting avoidance silently off), no topic, nobody on the list, and the service
(not installed, not running, no linger so it stops at log-out). A problem is ``FAILED`` (exit
1); something worth knowing that does not stop anything is ``warn``."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from syncsvc import extras
from syncsvc.errors import MissingExtraError, SyncsvcError

if TYPE_CHECKING:
    from syncsvc.config import Config

MAX_FILE_PROBLEMS = 5  # unreadable event files listed one a line; the rest counted


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    #: what `doctor` exits with when this check fails: 78 for a missing extra of the install
    exit_code: int = 1
    warning: bool = False  # ok, but worth a line: syncsvc works, less well than it could

    def as_json(self) -> dict[str, object]:
        return {"check": self.name, "ok": self.ok, "detail": self.detail, "warning": self.warning}

    def line(self) -> str:
        mark = "FAILED" if not self.ok else "warn  " if self.warning else "ok    "
        return f"{mark} {self.name}: {self.detail}"


def run_checks(config_path: str | None) -> list[Check]:
    from syncsvc import config as config_mod

    try:
        cfg = config_mod.load(config_path)
    except SyncsvcError as e:
        return _config_problems(str(e))
    where = str(cfg.source) if cfg.source else "no config file (defaults)"
    results = [Check("config", True, where)]
    results += _store(cfg)
    results += _calendar(cfg)
    results += _busy_calendars(cfg)
    if cfg.contacts.google or cfg.calendar.backend == "google":
        try:
            from syncsvc.google_auth import load_credentials

            load_credentials(cfg)
            results.append(Check("google sign-in", True, str(cfg.google_token_path)))
        except MissingExtraError as e:
            said = extras.pip_command("google")
            if not any(said in r.detail for r in results):  # the calendar check said it
                results.append(Check("google sign-in", False, str(e), e.exit_code))
        except SyncsvcError as e:
            results.append(Check("google sign-in", False, str(e)))
    if cfg.calendar.backend == "microsoft":
        try:
            from syncsvc.microsoft_auth import MicrosoftSignIn

            # a forced refresh: proves the refresh token is still accepted, not just cached
            MicrosoftSignIn(cfg).token(force_refresh=True)
            results.append(Check("microsoft sign-in", True, str(cfg.microsoft_token_path)))
        except MissingExtraError as e:
            if not any(extras.pip_command("microsoft") in r.detail for r in results):
                results.append(Check("microsoft sign-in", False, str(e), e.exit_code))
        except SyncsvcError as e:
            results.append(Check("microsoft sign-in", False, str(e)))
    for path in cfg.contacts.vcard:
        ok = path.exists()
        results.append(
            Check(
                f"contacts {path}",
                ok,
                "found" if ok else "missing: fix [contacts] vcard in the config",
            )
        )
    results += _service()
    return results


def _config_problems(message: str) -> list[Check]:
    """A bad config: the file once, then each problem on its own line."""
    lines = [line for line in message.splitlines() if line.strip()] or [message]
    path, _, _ = lines[0].partition(": ")
    prefix = f"{path}: "
    if all(line.startswith(prefix) for line in lines):
        head = Check("config", False, f"{path}: {len(lines)} problem(s); fix each in the file")
        return [head, *(Check("config", False, line.removeprefix(prefix)) for line in lines)]
    return [Check("config", False, line) for line in lines]


def _store(cfg: Config) -> list[Check]:
    from syncsvc.store import Store
    from syncsvc.store import people as people_db

    try:
        store = Store.open(cfg.db_path)
    except SyncsvcError as e:
        return [Check("store", False, str(e))]
    try:
        if not store.integrity_ok():
            return [
                Check("store", False, f"{cfg.db_path}: integrity check failed; restore a backup")
            ]
        out = [Check("store", True, str(cfg.db_path))]
        count = people_db.count(store.conn)
        if count:
            out.append(Check("people", True, f"{count} on the list"))
        else:
            out.append(
                Check(
                    "people",
                    True,
                    "nobody on the list, so nobody is called: syncsvc import FILE.vcf "
                    "(or --google), or syncsvc add NAME",
                    warning=True,
                )
            )
        topic = people_db.current_topic(store.conn)
        if topic:
            out.append(Check("topic", True, topic))
        else:
            out.append(
                Check(
                    "topic",
                    True,
                    'none: the events ask about "the field you want to explore"; set one: '
                    'syncsvc topic "what you want to learn about"',
                    warning=True,
                )
            )
        return out
    finally:
        store.close()


def _calendar(cfg: Config) -> list[Check]:
    name = f"calendar ({cfg.calendar.backend})"
    if cfg.calendar.backend == "vdir":
        problems = _vdir_problems(cfg.calendar_path, cfg.data_dir)
        if problems:
            return problems
    from syncsvc.calendars import open_calendar

    try:
        calendar = open_calendar(cfg)
        detail = calendar.check()
        calendar.close()
        return [Check(name, True, detail)]
    except MissingExtraError as e:
        return [Check(name, False, str(e), e.exit_code)]
    except SyncsvcError as e:
        return [Check(name, False, str(e))]


def _vdir_problems(path: Path, data_dir: Path) -> list[Check]:
    """The local calendar folder: missing, not writable, event files that cannot be read."""
    name = "calendar (vdir)"
    if not path.exists():
        if data_dir in path.parents:  # the default place: the first plan creates it
            return [
                Check(
                    name,
                    True,
                    f"{path} does not exist yet; the first `syncsvc plan` creates it",
                    warning=True,
                )
            ]
        return [
            Check(
                name,
                False,
                f"{path} does not exist: create it (mkdir -p {path}) or fix [calendar] path",
            )
        ]
    if not path.is_dir():
        return [Check(name, False, f"{path} is not a folder: fix [calendar] path")]
    out: list[Check] = []
    if not os.access(path, os.W_OK | os.X_OK):
        out.append(
            Check(name, False, f"{path} is read-only: syncsvc cannot write calls; chmod u+w {path}")
        )
    from syncsvc.calendars.vdir import BadFile, VdirCalendar

    bad: list[str] = []
    try:
        entries = sorted(os.scandir(path), key=lambda e: e.name)
    except OSError as e:
        return [*out, Check(name, False, f"{path} cannot be listed ({e.strerror})")]
    for entry in entries:
        if entry.name.startswith(".") or not entry.name.endswith(".ics"):
            continue
        if entry.is_dir(follow_symlinks=False):
            continue
        # the backend's own reading: a symlink is not followed, a FIFO never waited on, at
        # most MAX_EVENT_BYTES read — doctor must not hang where sync would not
        try:
            data, _ = VdirCalendar._read(entry.path)
        except BadFile as e:
            if e.transient:
                continue
            hint = "check its owner and mode" if "cannot be read" in str(e) else "move it away"
            bad.append(f"{entry.path}: {e}; skipped by sync, {hint}")
            continue
        if b"BEGIN:VCALENDAR" not in data[:4096].upper():
            bad.append(f"{entry.path}: not an iCalendar file; move it out of the calendar folder")
    for line in bad[:MAX_FILE_PROBLEMS]:
        out.append(Check(name, False, line))
    if len(bad) > MAX_FILE_PROBLEMS:
        out.append(Check(name, False, f"... and {len(bad) - MAX_FILE_PROBLEMS} more such files"))
    return out


def _busy_calendars(cfg: Config) -> list[Check]:
    """Busy calendars that do not exist turn meeting avoidance off without a word."""
    out: list[Check] = []
    for raw in cfg.calendar.busy_calendars:
        path = Path(raw).expanduser()
        name = f"busy calendar {path}"
        if not path.exists():
            out.append(
                Check(
                    name,
                    False,
                    "does not exist, so its meetings are not avoided: fix [calendar] "
                    "busy_calendars (a vdir folder, a folder of them such as khal's, or a "
                    ".ics file)",
                )
            )
        elif path.is_file():
            out.append(Check(name, True, "a calendar file"))
        elif any(path.glob("*.ics")):
            out.append(Check(name, True, f"{sum(1 for _ in path.glob('*.ics'))} events"))
        elif folders := sorted({f.parent.name for f in path.glob("*/*.ics")}):
            out.append(
                Check(name, True, f"a folder of {len(folders)} calendars: {', '.join(folders)}")
            )
        else:
            out.append(
                Check(
                    name,
                    True,
                    "no events in it (no .ics files, nor in its subfolders): is it the right "
                    "folder?",
                    warning=True,
                )
            )
    return out


def _run(command: list[str]) -> tuple[int, str] | None:
    """(exit code, output) of a systemd tool, or None where there is none to ask."""
    if shutil.which(command[0]) is None:
        return None
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.returncode, (proc.stdout + proc.stderr).strip()


def _service() -> list[Check]:
    from syncsvc.service import UNIT_NAME, unit_dir

    unit = unit_dir() / UNIT_NAME
    out: list[Check] = []
    if not unit.exists():
        out.append(
            Check(
                "service",
                True,
                f"not installed ({unit} is missing): syncsvc install-service",
                warning=True,
            )
        )
        return out
    state = _run(["systemctl", "--user", "is-active", "syncsvc"])
    if state is None or "bus" in state[1].lower() or "failed to connect" in state[1].lower():
        out.append(
            Check("service", True, f"{unit} installed; no user systemd to ask here", warning=True)
        )
    elif state[0] == 0:
        out.append(Check("service", True, "running"))
    else:
        out.append(
            Check(
                "service",
                False,
                f"installed but {state[1] or 'not running'}: "
                "systemctl --user enable --now syncsvc; logs: journalctl --user -u syncsvc",
            )
        )
    user = os.environ.get("USER") or os.environ.get("LOGNAME") or ""
    linger = _run(["loginctl", "show-user", user, "--property=Linger"]) if user else None
    if linger is not None and linger[0] == 0:
        if linger[1].strip() == "Linger=no":
            out.append(
                Check(
                    "linger",
                    True,
                    "off: the service stops when you log out; loginctl enable-linger " + user,
                    warning=True,
                )
            )
        else:
            out.append(Check("linger", True, "on: the service runs while you are logged out"))
    return out
