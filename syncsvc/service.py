"""`syncsvc install-service`: the systemd user unit for THIS installation.

The unit in the repository (systemd/syncsvc.service) names ``%h/.local/bin/syncsvc``, which is
wrong for a virtual environment, and is not part of an installed package; so the unit is made
here, with the ``syncsvc`` being run as its ``ExecStart`` and the data and config folders this
config uses as its writable paths. The sandboxing directives are the repository unit's
(tests/test_shell.py checks that they stay the same)."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

from syncsvc.config import Config

UNIT_NAME = "syncsvc.service"

SANDBOX = """\
PrivateUsers=yes
NoNewPrivileges=yes
PrivateTmp=yes
ProtectSystem=strict
ProtectHome=read-only
ProtectKernelTunables=yes
ProtectKernelModules=yes
ProtectKernelLogs=yes
ProtectControlGroups=yes
ProtectClock=yes
ProtectHostname=yes
PrivateDevices=yes
RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6
RestrictNamespaces=yes
RestrictSUIDSGID=yes
RestrictRealtime=yes
LockPersonality=yes
MemoryDenyWriteExecute=yes
SystemCallArchitectures=native
SystemCallFilter=@system-service
SystemCallFilter=~@privileged
SystemCallErrorNumber=EPERM
CapabilityBoundingSet=
AmbientCapabilities=
DevicePolicy=closed
KeyringMode=private
ProtectProc=invisible
ProcSubset=pid
RemoveIPC=yes
"""


@dataclass
class Installed:
    path: Path
    exec_start: str
    changed: bool


def unit_dir() -> Path:
    """``$XDG_CONFIG_HOME/systemd/user`` (``~/.config/systemd/user``)."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def program() -> list[str]:
    """How to start the ``syncsvc`` being run: its absolute path, or this Python with
    ``-m syncsvc`` when it was started that way."""
    argv0 = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if argv0 is not None and argv0.name == "syncsvc":
        found = shutil.which(str(argv0)) if not argv0.is_absolute() else str(argv0)
        if found and os.access(found, os.X_OK):
            return [str(Path(found).absolute())]
    if argv0 is None or argv0.name not in ("__main__.py", "-m"):
        found = shutil.which("syncsvc")
        if found:
            return [str(Path(found).absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "syncsvc"]


def _quote(word: str) -> str:
    """One word of a systemd command line or path list (quoted if it has a space; % and $
    are systemd's own specifiers: doubled)."""
    word = word.replace("%", "%%").replace("$", "$$")
    if any(c.isspace() for c in word) or '"' in word:
        return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return word


def writable_dirs(config: Config) -> list[Path]:
    """The folders the daemon writes: the data dir, the config's folder, a local calendar
    folder outside the data dir."""
    dirs = [config.data_dir]
    dirs.append(config.source.parent if config.source else unit_dir().parent.parent / "syncsvc")
    if config.calendar.backend == "vdir":
        cal = config.calendar_path
        if config.data_dir not in cal.parents and cal != config.data_dir:
            dirs.append(cal)
    out: list[Path] = []
    for d in dirs:
        d = d.expanduser().absolute()
        if d not in out:
            out.append(d)
    return out


def unit_text(config: Config, config_path: str | None) -> str:
    """The unit file for this installation and config."""
    command = program()
    if config_path:
        command += ["--config", str(Path(config_path).expanduser().absolute())]
    exec_start = " ".join(_quote(w) for w in [*command, "run"])
    dirs = " ".join(_quote(str(d)) for d in writable_dirs(config))
    return f"""\
# Written by `syncsvc install-service` for {_quote(command[0])}.
# Start it:  systemctl --user daemon-reload && systemctl --user enable --now syncsvc
# Logs:      journalctl --user -u syncsvc -f
# Change settings with `systemctl --user edit syncsvc` (a drop-in); run install-service again
# after moving syncsvc or its data.

[Unit]
Description=syncsvc - daily networking calls planned into your calendar

[Service]
Type=notify
NotifyAccess=main
ExecStart={exec_start}
# the writable folders must exist before the sandbox is set up ("+": outside it)
ExecStartPre=+/bin/mkdir -p -m 0700 {dirs}
Restart=on-failure
RestartSec=30
WatchdogSec=120
TimeoutStopSec=10
UMask=0077

# Sandbox (see systemd/syncsvc.service in the source for why each line is there)
{SANDBOX}ReadWritePaths={dirs}

[Install]
WantedBy=default.target
"""


def install(config: Config, config_path: str | None) -> Installed:
    """Write the unit (0644, in ``unit_dir()``); ``changed`` is False when it was there
    already, byte for byte."""
    text = unit_text(config, config_path)
    path = unit_dir() / UNIT_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    changed = not path.exists() or path.read_text(encoding="utf-8") != text
    if changed:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.chmod(0o644)
        tmp.replace(path)
    exec_line = next(line for line in text.splitlines() if line.startswith("ExecStart="))
    return Installed(path, exec_line.removeprefix("ExecStart="), changed)
