"""Where the CalDAV password comes from: password_command or password_env."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

import pytest

from syncsvc import secrets
from syncsvc.config import CalendarConfig
from syncsvc.errors import ConfigError

SECRET = "correct horse battery staple"


def script(tmp_path: Path, body: str) -> str:
    """A password_command running ``body`` with this Python."""
    path = tmp_path / "pw.py"
    path.write_text(body)
    return f"{shlex.quote(sys.executable)} {shlex.quote(str(path))}"


def cfg(**kw: str) -> CalendarConfig:
    return CalendarConfig(backend="caldav", url="http://x/", username="alice", **kw)


def one_line_without_secret(err: pytest.ExceptionInfo[ConfigError]) -> str:
    text = str(err.value)
    assert text and "\n" not in text
    assert SECRET not in text and "battery" not in text
    return text


def test_command_first_line(tmp_path: Path) -> None:
    cmd = script(tmp_path, f"print({SECRET!r}); print('second line: login alice')")
    assert secrets.caldav_password(cfg(password_command=cmd)) == SECRET


def test_command_with_arguments_and_no_shell(tmp_path: Path) -> None:
    cmd = script(tmp_path, "import sys; print(sys.argv[1])") + " 'two words;$HOME'"
    assert secrets.caldav_password(cfg(password_command=cmd)) == "two words;$HOME"


def test_command_output_keeps_inner_spaces_and_handles_crlf(tmp_path: Path) -> None:
    cmd = script(tmp_path, "import sys; sys.stdout.write(' pw with spaces \\r\\n')")
    assert secrets.caldav_password(cfg(password_command=cmd)) == " pw with spaces "


def test_command_failing_names_the_key_not_the_output(tmp_path: Path) -> None:
    cmd = script(tmp_path, f"print({SECRET!r}); raise SystemExit(3)")
    with pytest.raises(ConfigError) as err:
        secrets.caldav_password(cfg(password_command=cmd))
    text = one_line_without_secret(err)
    assert "password_command" in text and "3" in text


def test_command_with_empty_output(tmp_path: Path) -> None:
    cmd = script(tmp_path, "print(); print('something on line two')")
    with pytest.raises(ConfigError) as err:
        secrets.caldav_password(cfg(password_command=cmd))
    assert "password_command" in one_line_without_secret(err)


def test_command_not_found() -> None:
    with pytest.raises(ConfigError) as err:
        secrets.caldav_password(cfg(password_command="no-such-password-program --get x"))
    text = one_line_without_secret(err)
    assert "password_command" in text and "no-such-password-program" in text


def test_command_with_bad_quoting() -> None:
    with pytest.raises(ConfigError) as err:
        secrets.caldav_password(cfg(password_command="pass show 'caldav"))
    assert "password_command" in one_line_without_secret(err)


def test_command_timeout(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(secrets, "COMMAND_TIMEOUT_SECONDS", 0.5)
    cmd = script(tmp_path, f"import time; print({SECRET!r}, flush=True); time.sleep(10)")
    with pytest.raises(ConfigError) as err:
        secrets.caldav_password(cfg(password_command=cmd))
    assert "password_command" in one_line_without_secret(err)


def test_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_CALDAV_PW", SECRET)
    assert secrets.caldav_password(cfg(password_env="MY_CALDAV_PW")) == SECRET


@pytest.mark.parametrize("value", [None, ""])
def test_env_unset_or_empty(monkeypatch: pytest.MonkeyPatch, value: str | None) -> None:
    if value is None:
        monkeypatch.delenv("MY_CALDAV_PW", raising=False)
    else:
        monkeypatch.setenv("MY_CALDAV_PW", value)
    with pytest.raises(ConfigError) as err:
        secrets.caldav_password(cfg(password_env="MY_CALDAV_PW"))
    text = one_line_without_secret(err)
    assert "password_env" in text and "MY_CALDAV_PW" in text


def test_command_wins_over_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MY_CALDAV_PW", "from-env")
    cmd = script(tmp_path, "print('from-command')")
    got = secrets.caldav_password(cfg(password_command=cmd, password_env="MY_CALDAV_PW"))
    assert got == "from-command"


def test_neither() -> None:
    with pytest.raises(ConfigError) as err:
        secrets.caldav_password(cfg())
    text = one_line_without_secret(err)
    assert "password_command" in text and "password_env" in text
