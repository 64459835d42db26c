"""The config schema: defaults, the example file, and one clear line per bad key."""

from __future__ import annotations

from datetime import time
from pathlib import Path

import pytest

from syncsvc import config
from syncsvc.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]


def test_no_file_gives_working_defaults(tmp_path: Path) -> None:
    cfg = config.load()
    assert cfg.source is None
    assert cfg.calls.per_day == 3
    assert cfg.calls.days == ("mon", "tue", "wed", "thu", "fri")
    assert (cfg.calls.window_start, cfg.calls.window_end) == (time(17), time(19))
    assert cfg.calendar.backend == "vdir"
    assert cfg.data_dir == tmp_path / "xdg-data" / "syncsvc"
    assert cfg.calendar_path == cfg.data_dir / "calendar"
    assert "{topic}" in cfg.calls.question


def test_example_config_loads_and_matches_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Europe/Berlin")
    cfg = config.load(REPO / "config" / "syncsvc.toml")
    default = config.load()
    assert cfg.calls == default.calls
    assert cfg.calendar == default.calendar
    assert cfg.sync == default.sync


def test_env_var_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.toml"
    path.write_text('[calls]\nper_day = 1\ntimezone = "America/New_York"\n')
    monkeypatch.setenv("SYNCSVC_CONFIG", str(path))
    cfg = config.load()
    assert cfg.calls.per_day == 1
    assert cfg.calls.timezone == "America/New_York"


def test_named_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="config file not found"):
        config.load(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("toml", "expected"),
    [
        (
            "[calls]\nper_day = 4",
            "[calls] per_day = 4 is not allowed; use a whole number from 1 to 3",
        ),
        ("[calls]\nper_day = true", "[calls] per_day = true is not allowed"),
        ('[calls]\nper_day = "3"', '[calls] per_day = "3" is not allowed'),
        ('[calls]\ntimezone = "Mars/Olympus"', "an IANA time zone name"),
        ('[calls]\nwindow = "19:00-17:00"', "end is after its start"),
        ('[calls]\nwindow = "5pm"', '"HH:MM-HH:MM"'),
        ('[calls]\ndays = ["monday", "funday"]', "weekdays from"),
        ('[calls]\nplan_at = "25:00"', '"HH:MM"'),
        ('[calls]\nquestion = "about {subject}"', '"{topic}"'),
        ('[calls]\nwindw = "17:00-19:00"', "unknown key [calls] windw (did you mean 'window'?)"),
        (
            "[calender]\nbackend = 'vdir'",
            "unknown section or key 'calender' (did you mean 'calendar'?)",
        ),
        ('[calendar]\nbackend = "outlook"', 'one of "vdir", "caldav", "google"'),
        ('[calendar]\nbackend = "caldav"', "[calendar] url is required"),
        ("calls = 3", "[calls] must be a table"),
        ("[calls\nper_day = 3", "not valid TOML"),
        ('[calls]\nwindow = "17:00-17:10"\nduration_minutes = 20', "does not fit"),
    ],
)
def test_bad_values_name_file_key_and_allowed(tmp_path: Path, toml: str, expected: str) -> None:
    path = tmp_path / "config.toml"
    path.write_text(toml)
    with pytest.raises(ConfigError) as err:
        config.load(path)
    message = str(err.value)
    assert expected in message
    assert str(path) in message
    assert "Traceback" not in message


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[calls]\nper_day = 0\ntimezone = "Nowhere"\n[sync]\npoll_minutes = 0\n')
    with pytest.raises(ConfigError) as err:
        config.load(path)
    lines = str(err.value).splitlines()
    assert len(lines) == 3
    assert all(line.startswith(str(path)) for line in lines)


def test_days_are_normalised() -> None:
    cfg = config.build({"calls": {"days": ["Friday", "mon", "MON"], "timezone": "UTC"}}, None)
    assert cfg.calls.days == ("mon", "fri")
    assert cfg.calls.weekdays == frozenset({0, 4})


def test_paths_expand_user(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    cfg = config.build({"calendar": {"path": "~/cal"}, "calls": {"timezone": "UTC"}}, None)
    assert cfg.calendar_path == tmp_path / "cal"


def test_system_timezone_from_tz(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    assert config.system_timezone() == "Asia/Tokyo"
    monkeypatch.setenv("TZ", "Not/AZone")
    assert config.system_timezone() != "Not/AZone"


def test_retry_after_days_is_a_short_increasing_list() -> None:
    assert config.build({}, None).calls.retry_after_days == (3, 7)
    assert config.build({"calls": {"retry_after_days": [2]}}, None).calls.retry_after_days == (2,)
    for bad in ([], [7, 3], [3, 3], [0, 2], [1, 61], [1, 2, 3, 4, 5, 6], "3", [True], [1.5]):
        with pytest.raises(ConfigError, match=r"retry_after_days .* increasing whole numbers"):
            config.build({"calls": {"retry_after_days": bad}}, None)


def test_notify_minutes_defaults_to_five_and_zero_is_off() -> None:
    assert config.build({}, None).calls.notify_minutes == 5
    assert config.build({"calls": {"notify_minutes": 0}}, None).calls.notify_minutes == 0
    with pytest.raises(ConfigError, match="notify_minutes"):
        config.build({"calls": {"notify_minutes": -1}}, None)
