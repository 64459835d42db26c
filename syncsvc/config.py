"""The typed configuration: one schema gives defaults, validation and error messages.

Loading collects every problem and reports them together, each naming the file, the key and
what is allowed (never a traceback). With no config file at all, the defaults work.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from syncsvc import paths
from syncsvc.errors import ConfigError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_QUESTION = (
    "Do you know of anyone I might be able to spend 30 minutes talking to about {topic}?"
)
BACKENDS = ("vdir", "caldav", "google", "microsoft")


@dataclass(frozen=True)
class CallsConfig:
    per_day: int = 3
    days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    window_start: time = time(17, 0)
    window_end: time = time(19, 0)
    duration_minutes: int = 20
    timezone: str = "UTC"
    plan_at: time = time(7, 0)
    question: str = DEFAULT_QUESTION
    reminder_minutes: int = 10
    region: str | None = None  # default phone region, e.g. "DE"; None: from the locale
    avoid_busy: bool = False  # place calls around the person's own events
    # A no-answer is tried again after the first number of planning days, a second no-answer
    # after the next, ...; after the last the person goes back to the rotation.
    retry_after_days: tuple[int, ...] = (3, 7)
    notify_minutes: int = 5  # desktop notification this long before a call; 0: none

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @property
    def weekdays(self) -> frozenset[int]:
        return frozenset(WEEKDAYS.index(d) for d in self.days)


@dataclass(frozen=True)
class CalendarConfig:
    backend: str = "vdir"
    path: Path | None = None  # vdir; default <data dir>/calendar
    url: str | None = None  # caldav
    username: str | None = None
    calendar: str = "syncsvc"  # caldav: display name or collection URL; microsoft: name
    password_command: str | None = None
    password_env: str | None = None
    calendar_id: str = "primary"  # google
    timeout_seconds: int = 30
    busy_calendars: tuple[Path, ...] = ()  # vdir: other local calendars whose events are busy


@dataclass(frozen=True)
class GoogleConfig:
    client_secrets: Path | None = None


@dataclass(frozen=True)
class MicrosoftConfig:
    """``[microsoft]``: the person's own app registration (README "Microsoft 365 and
    Outlook.com"); no shared client id ships with syncsvc, so ``client_id`` has no default."""

    client_id: str | None = None
    authority: str = "https://login.microsoftonline.com/common"
    graph_url: str = "https://graph.microsoft.com/v1.0"  # tests and national clouds only


@dataclass(frozen=True)
class ContactsConfig:
    vcard: tuple[Path, ...] = ()
    google: bool = False


@dataclass(frozen=True)
class SyncConfig:
    poll_minutes: int = 5


@dataclass(frozen=True)
class Config:
    source: Path | None = None  # the file it came from, None for pure defaults
    data_dir: Path = field(default_factory=paths.default_data_dir)
    calls: CallsConfig = field(default_factory=CallsConfig)
    calendar: CalendarConfig = field(default_factory=CalendarConfig)
    google: GoogleConfig = field(default_factory=GoogleConfig)
    microsoft: MicrosoftConfig = field(default_factory=MicrosoftConfig)
    contacts: ContactsConfig = field(default_factory=ContactsConfig)
    sync: SyncConfig = field(default_factory=SyncConfig)

    @property
    def db_path(self) -> Path:
        return self.data_dir / "syncsvc.db"

    @property
    def calendar_path(self) -> Path:
        return self.calendar.path or self.data_dir / "calendar"

    @property
    def google_token_path(self) -> Path:
        return self.data_dir / "google-token.json"

    @property
    def microsoft_token_path(self) -> Path:
        return self.data_dir / "microsoft-token.json"

    @property
    def client_secrets_path(self) -> Path:
        return self.google.client_secrets or paths.config_home() / "syncsvc" / "client_secret.json"


# --------------------------------------------------------------------------- validators
# Each takes the raw TOML value and returns the typed value or raises ValueError(allowed).

Validator = Callable[[Any], Any]


def _int_range(lo: int, hi: int) -> Validator:
    def check(v: Any) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or not lo <= v <= hi:
            raise ValueError(f"a whole number from {lo} to {hi}")
        return v

    return check


def _text(v: Any) -> str:
    if not isinstance(v, str) or not v.strip():
        raise ValueError("a non-empty string")
    return v


def _bool(v: Any) -> bool:
    if not isinstance(v, bool):
        raise ValueError("true or false")
    return v


def _path(v: Any) -> Path:
    return Path(os.path.expandvars(_text(v))).expanduser()


def _paths(v: Any) -> tuple[Path, ...]:
    if isinstance(v, str):
        v = [v]
    if not isinstance(v, list):
        raise ValueError("a list of file or folder paths")
    return tuple(_path(p) for p in v)


def _clock_time(v: Any) -> time:
    if isinstance(v, time):
        return v
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*", v) if isinstance(v, str) else None
    if not m or int(m[1]) > 23 or int(m[2]) > 59:
        raise ValueError('a time of day "HH:MM", e.g. "07:00"')
    return time(int(m[1]), int(m[2]))


def _window(v: Any) -> tuple[time, time]:
    parts = v.split("-") if isinstance(v, str) else []
    if len(parts) != 2:
        raise ValueError('a range "HH:MM-HH:MM", e.g. "17:00-19:00"')
    start, end = _clock_time(parts[0]), _clock_time(parts[1])
    if end <= start:
        raise ValueError(f'a range whose end is after its start ("{v}" ends before it starts)')
    return start, end


def _days(v: Any) -> tuple[str, ...]:
    if not isinstance(v, list) or not v:
        raise ValueError(f"a non-empty list of weekdays from {list(WEEKDAYS)}")
    out: list[str] = []
    for d in v:
        key = d.strip().lower()[:3] if isinstance(d, str) else ""
        if key not in WEEKDAYS:
            raise ValueError(f"weekdays from {list(WEEKDAYS)} (got {d!r})")
        if key not in out:
            out.append(key)
    return tuple(sorted(out, key=WEEKDAYS.index))


def _timezone(v: Any) -> str:
    name = _text(v).strip()
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            'an IANA time zone name such as "Europe/Berlin" or "America/New_York"'
        ) from None
    return name


def _question(v: Any) -> str:
    q = _text(v)
    try:
        q.format(topic="x")
    except (KeyError, IndexError, ValueError):
        raise ValueError('text with at most one placeholder, "{topic}"') from None
    return q


def _choice(*allowed: str) -> Validator:
    def check(v: Any) -> str:
        if v not in allowed:
            raise ValueError("one of " + ", ".join(f'"{a}"' for a in allowed))
        return v

    return check


def _retry_days(v: Any) -> tuple[int, ...]:
    allowed = "a list of 1 to 5 increasing whole numbers from 1 to 60, e.g. [3, 7]"
    if not isinstance(v, list) or not 1 <= len(v) <= 5:
        raise ValueError(allowed)
    if any(isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 60 for n in v):
        raise ValueError(allowed)
    if any(b <= a for a, b in itertools.pairwise(v)):
        raise ValueError(allowed)
    return tuple(v)


def _region(v: Any) -> str:
    if not isinstance(v, str) or not re.fullmatch(r"[A-Za-z]{2}", v):
        raise ValueError('a two-letter country code such as "DE" or "US"')
    return v.upper()


def _https_url(v: Any) -> str:
    """An https URL (http only for 127.0.0.1: the tests' loopback fakes)."""
    text = _text(v).strip().rstrip("/")
    if not re.fullmatch(r"https://[^/\s]+(/\S*)?|http://127\.0\.0\.1(:\d+)?(/\S*)?", text):
        raise ValueError('an https URL such as "https://login.microsoftonline.com/common"')
    return text


# section -> key -> (validator, dataclass field name)
SCHEMA: dict[str, dict[str, tuple[Validator, str]]] = {
    "": {"data_dir": (_path, "data_dir")},
    "calls": {
        "per_day": (_int_range(1, 3), "per_day"),
        "days": (_days, "days"),
        "window": (_window, "window"),
        "duration_minutes": (_int_range(5, 240), "duration_minutes"),
        "timezone": (_timezone, "timezone"),
        "plan_at": (_clock_time, "plan_at"),
        "question": (_question, "question"),
        "reminder_minutes": (_int_range(0, 1440), "reminder_minutes"),
        "region": (_region, "region"),
        "avoid_busy": (_bool, "avoid_busy"),
        "retry_after_days": (_retry_days, "retry_after_days"),
        "notify_minutes": (_int_range(0, 120), "notify_minutes"),
    },
    "calendar": {
        "backend": (_choice(*BACKENDS), "backend"),
        "path": (_path, "path"),
        "url": (_text, "url"),
        "username": (_text, "username"),
        "calendar": (_text, "calendar"),
        "password_command": (_text, "password_command"),
        "password_env": (_text, "password_env"),
        "calendar_id": (_text, "calendar_id"),
        "timeout_seconds": (_int_range(1, 300), "timeout_seconds"),
        "busy_calendars": (_paths, "busy_calendars"),
    },
    "google": {"client_secrets": (_path, "client_secrets")},
    "microsoft": {
        "client_id": (_text, "client_id"),
        "authority": (_https_url, "authority"),
        "graph_url": (_https_url, "graph_url"),
    },
    "contacts": {"vcard": (_paths, "vcard"), "google": (_bool, "google")},
    "sync": {"poll_minutes": (_int_range(1, 1440), "poll_minutes")},
}


def system_timezone() -> str:
    """The system's IANA zone name: $TZ, /etc/timezone, the /etc/localtime link; else UTC."""
    candidates: list[str] = []
    if tz := os.environ.get("TZ", "").lstrip(":"):
        candidates.append(tz)
    with contextlib.suppress(OSError):
        candidates.append(Path("/etc/timezone").read_text().strip())
    try:
        target = os.readlink("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    for name in candidates:
        try:
            ZoneInfo(name)
            return name
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return "UTC"


def config_path(explicit: str | Path | None = None) -> Path:
    if explicit:
        return Path(explicit).expanduser()
    if env := os.environ.get("SYNCSVC_CONFIG"):
        return Path(env).expanduser()
    return paths.default_config_path()


def load(explicit: str | Path | None = None) -> Config:
    """Load and validate the config. A missing file is fine unless it was named explicitly."""
    path = config_path(explicit)
    named = bool(explicit or os.environ.get("SYNCSVC_CONFIG"))
    if not path.exists():
        if named:
            raise ConfigError(f"{path}: config file not found (check --config / $SYNCSVC_CONFIG)")
        return build({}, None)
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path}: cannot read the config file ({e})") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML: {e}") from None
    return build(raw, path)


def build(raw: dict[str, Any], source: Path | None) -> Config:
    """Validate a parsed TOML document into a Config; report every problem at once."""
    where = str(source) if source else "config"
    problems: list[str] = []
    values: dict[str, dict[str, Any]] = {s: {} for s in SCHEMA}
    sections = [k for k in SCHEMA if k]

    for key, value in raw.items():
        if key in SCHEMA[""]:
            _check(where, "", key, value, values, problems)
        elif key in SCHEMA and isinstance(value, dict):
            for sub, subvalue in value.items():
                _check(where, key, sub, subvalue, values, problems)
        elif key in SCHEMA:
            problems.append(f"{where}: [{key}] must be a table (a [{key}] section)")
        else:
            hint = _suggest(key, sections + list(SCHEMA[""]))
            problems.append(f"{where}: unknown section or key '{key}'{hint}")

    calls = values["calls"]
    if "window" in calls:
        calls["window_start"], calls["window_end"] = calls.pop("window")
    cal = values["calendar"]
    backend = cal.get("backend", "vdir")
    if backend == "caldav":
        for needed in ("url", "username"):
            if needed not in cal:
                problems.append(f'{where}: [calendar] {needed} is required for backend "caldav"')
        if "password_command" not in cal and "password_env" not in cal:
            problems.append(
                f'{where}: [calendar] backend "caldav" needs password_command or password_env'
            )
    if problems:
        raise ConfigError("\n".join(problems))

    calls.setdefault("timezone", system_timezone())
    calls_cfg = CallsConfig(**calls)
    window_minutes = (
        calls_cfg.window_end.hour * 60
        + calls_cfg.window_end.minute
        - calls_cfg.window_start.hour * 60
        - calls_cfg.window_start.minute
    )
    if calls_cfg.duration_minutes > window_minutes:
        raise ConfigError(
            f"{where}: [calls] duration_minutes = {calls_cfg.duration_minutes} does not fit in "
            f"the {window_minutes}-minute window; use at most {window_minutes} or widen window"
        )
    top = values[""]
    return Config(
        source=source,
        data_dir=top.get("data_dir", paths.default_data_dir()),
        calls=calls_cfg,
        calendar=CalendarConfig(**cal),
        google=GoogleConfig(**values["google"]),
        microsoft=MicrosoftConfig(**values["microsoft"]),
        contacts=ContactsConfig(**values["contacts"]),
        sync=SyncConfig(**values["sync"]),
    )


def _check(
    where: str,
    section: str,
    key: str,
    value: Any,
    values: dict[str, dict[str, Any]],
    problems: list[str],
) -> None:
    label = f"[{section}] {key}" if section else key
    spec = SCHEMA[section].get(key)
    if spec is None:
        hint = _suggest(key, list(SCHEMA[section]))
        problems.append(f"{where}: unknown key {label}{hint}")
        return
    validator, name = spec
    try:
        values[section][name] = validator(value)
    except ValueError as e:
        problems.append(f"{where}: {label} = {_show(value)} is not allowed; use {e}")


def _suggest(key: str, options: list[str]) -> str:
    import difflib  # only for a mistyped key

    close = difflib.get_close_matches(key, options, n=1, cutoff=0.6)
    return f" (did you mean '{close[0]}'?)" if close else ""


def _show(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, bool):
        return str(value).lower()
    return repr(value)
