"""Where the CalDAV password comes from: a command (``password_command``) or an environment
variable (``password_env``). Never from the config file itself.

Errors name the config key (and the program or variable), never the password or the command's
output: a failing ``pass``/``secret-tool`` may print half a secret.
"""

from __future__ import annotations

import os
import shlex
import subprocess
from typing import TYPE_CHECKING

from syncsvc.errors import ConfigError

if TYPE_CHECKING:
    from syncsvc.config import CalendarConfig

COMMAND_TIMEOUT_SECONDS = 30


def caldav_password(cfg: CalendarConfig) -> str:
    """The CalDAV password: the first line of ``password_command``'s output, else the value of
    the environment variable named by ``password_env``. ConfigError when neither works."""
    if cfg.password_command:
        return _from_command(cfg.password_command)
    if cfg.password_env:
        return _from_env(cfg.password_env)
    raise ConfigError(
        '[calendar] backend "caldav" needs password_command or password_env '
        '(e.g. password_command = "pass show caldav")'
    )


def _from_command(command: str) -> str:
    key = "[calendar] password_command"
    try:
        argv = shlex.split(command)
    except ValueError as e:
        raise ConfigError(f"{key} cannot be split into words ({e}); check its quoting") from None
    if not argv:
        raise ConfigError(f"{key} is empty; give a command that prints the password")
    program = argv[0]
    try:
        proc = subprocess.run(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=None,  # let prompts/diagnostics reach the terminal or the journal
            timeout=COMMAND_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError:
        raise ConfigError(f"{key}: program {program!r} not found; check the command") from None
    except PermissionError:
        raise ConfigError(f"{key}: program {program!r} is not executable") from None
    except subprocess.TimeoutExpired:
        raise ConfigError(
            f"{key}: {program!r} did not finish within {COMMAND_TIMEOUT_SECONDS} s "
            "(is it waiting for input?)"
        ) from None
    except OSError as e:
        raise ConfigError(f"{key}: cannot run {program!r} ({e.strerror})") from None
    if proc.returncode != 0:
        raise ConfigError(
            f"{key}: {program!r} exited with status {proc.returncode}; run it by hand to see why"
        )
    try:
        text = proc.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise ConfigError(f"{key}: {program!r} printed something that is not UTF-8") from None
    lines = text.splitlines()
    password = lines[0] if lines else ""
    if not password:
        raise ConfigError(
            f"{key}: {program!r} printed no password (its first line of output is empty)"
        )
    return password


def _from_env(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        state = "is empty" if value is not None else "is not set"
        raise ConfigError(
            f"[calendar] password_env: the environment variable {name} {state}; "
            "set it to the CalDAV password"
        )
    return value
