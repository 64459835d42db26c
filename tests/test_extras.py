"""The core install without the backends (issue 17): the core never imports a backend library,
and a command that needs a missing extra says which `pip install` to run in one line, exit 78.

A missing library is simulated in a fresh interpreter with ``sys.modules[name] = None`` (which
makes ``import name`` raise ImportError), so the test venv can keep every extra installed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from syncsvc import extras
from syncsvc.errors import ConfigError, MissingExtraError

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "config" / "sample-contacts.vcf"
#: the libraries of the extras and the stacks under them; none of them is the core's
BACKEND_LIBRARIES = (
    "caldav",
    "googleapiclient",
    "google",
    "google_auth_oauthlib",
    "google_auth_httplib2",
    "httplib2",
    "requests",
    "niquests",
    "urllib3",
    "lxml",
    "yaml",
    "recurring_ical_events",
)
EXTRA_LIBRARIES = {"caldav": ("caldav",), "google": ("googleapiclient", "google_auth_oauthlib")}

RUNNER = """
import json, sys
for name in json.loads(sys.argv[1]):
    sys.modules[name] = None  # `import name` now raises ImportError: as if not installed
from syncsvc.cli import main
codes = [main(argv) for argv in json.loads(sys.argv[2])]
loaded = sorted({m.split(".")[0] for m in sys.modules if sys.modules[m] is not None})
print(json.dumps({"codes": codes, "loaded": loaded}))
"""


def run(
    tmp_path: Path, commands: list[list[str]], blocked: tuple[str, ...] = ()
) -> tuple[list[int], list[str], str]:
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "HOME": str(tmp_path),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
    }
    env.pop("SYNCSVC_CONFIG", None)
    proc = subprocess.run(
        [sys.executable, "-c", RUNNER, json.dumps(blocked), json.dumps(commands)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return result["codes"], result["loaded"], proc.stderr


def write_config(tmp_path: Path, calendar: str, *, google_contacts: bool = False) -> str:
    path = tmp_path / "syncsvc.toml"
    path.write_text(
        f'data_dir = "{tmp_path / "store"}"\n'
        f'[calls]\ntimezone = "Europe/Berlin"\n{calendar}\n'
        f"[contacts]\ngoogle = {'true' if google_contacts else 'false'}\n",
        encoding="utf-8",
    )
    return str(path)


CALDAV = (
    '[calendar]\nbackend = "caldav"\nurl = "http://127.0.0.1:9/"\nusername = "u"\n'
    'password_env = "NO_SUCH_VAR"'
)
GOOGLE = '[calendar]\nbackend = "google"'
VDIR = '[calendar]\nbackend = "vdir"'


def test_the_core_commands_on_a_vdir_calendar_import_no_backend_library(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, VDIR)
    commands = [
        ["--config", cfg, "import", str(SAMPLE)],
        ["--config", cfg, "topic", "product roles in climate tech"],
        ["--config", cfg, "plan", "--date", "2031-03-03", "--days", "2"],
        ["--config", cfg, "sync"],
        ["--config", cfg, "status"],
        ["--config", cfg, "people"],
        ["--config", cfg, "report", "--html", str(tmp_path / "report.html")],
        ["--config", cfg, "doctor"],
    ]
    codes, loaded, stderr = run(tmp_path, commands)
    assert codes == [0] * len(commands), stderr
    assert sorted(set(loaded) & set(BACKEND_LIBRARIES)) == []
    assert len(list((tmp_path / "store" / "calendar").glob("*.ics"))) >= 2


def test_the_core_works_with_every_backend_library_missing(tmp_path: Path) -> None:
    cfg = write_config(tmp_path, VDIR)
    commands = [
        ["--config", cfg, "import", str(SAMPLE)],
        ["--config", cfg, "plan", "--date", "2031-03-03"],
        ["--config", cfg, "sync"],
        ["--config", cfg, "doctor"],
    ]
    codes, _, stderr = run(tmp_path, commands, blocked=BACKEND_LIBRARIES)
    assert codes == [0] * len(commands), stderr


@pytest.mark.parametrize(
    ("extra", "calendar", "argv"),
    [
        ("google", VDIR, ["auth", "google"]),
        ("google", VDIR, ["import", "--google"]),
        ("google", GOOGLE, ["plan", "--date", "2031-03-03"]),
        ("google", GOOGLE, ["sync"]),
        ("google", GOOGLE, ["run"]),
        ("google", GOOGLE, ["doctor"]),
        ("caldav", CALDAV, ["plan", "--date", "2031-03-03"]),
        ("caldav", CALDAV, ["run", "--once"]),
        ("caldav", CALDAV, ["doctor"]),
    ],
)
def test_a_missing_extra_is_one_line_with_the_pip_install_and_exit_78(
    tmp_path: Path, extra: str, calendar: str, argv: list[str]
) -> None:
    cfg = write_config(tmp_path, calendar)
    codes, _, stderr = run(tmp_path, [["--config", cfg, *argv]], blocked=EXTRA_LIBRARIES[extra])
    assert codes == [78]
    assert "Traceback" not in stderr
    # `doctor` prints its checks on stdout (the rest ok), the others one line on stderr
    if argv != ["doctor"]:
        assert len(stderr.strip().splitlines()) == 1, stderr
        assert stderr.startswith("syncsvc: ")
        assert "pip install '" in stderr and f"[{extra}]'" in stderr


def test_doctor_names_the_missing_extra_once(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    cfg = write_config(tmp_path, GOOGLE, google_contacts=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "HOME": str(tmp_path)}
    code = (
        "import sys\n"
        "sys.modules['googleapiclient'] = None\n"
        "from syncsvc.cli import main\n"
        f"sys.exit(main(['--config', {cfg!r}, 'doctor']))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 78
    failed = [line for line in proc.stdout.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 1, proc.stdout
    assert "[google]'" in failed[0] and "pip install" in failed[0]


def test_require_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "caldav", None)
    with pytest.raises(MissingExtraError) as info:
        extras.require("caldav")
    assert isinstance(info.value, ConfigError)
    assert info.value.exit_code == 78
    message = str(info.value)
    assert "\n" not in message
    assert "no module caldav" in message
    assert message.endswith(f"run {extras.pip_command('caldav')}")


def test_the_pip_command_names_the_extra() -> None:
    for extra in ("caldav", "google"):
        command = extras.pip_command(extra)  # type: ignore[arg-type]
        assert command.startswith("pip install ")
        assert command.endswith(f"[{extra}]'")
