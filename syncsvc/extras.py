"""The optional parts of the install: which extra a backend needs, and the one place a missing
library becomes a ``MissingExtraError`` (issue 17).

The core (``pip install .``) is the local calendar folder, vCard and LinkedIn import, the
planner, notes, daemon and report. The CalDAV backend needs ``[caldav]``, everything Google
``[google]``, Microsoft 365 ``[microsoft]``. Their libraries are imported only inside the
functions that use them; each entry point (``open_calendar``, the Google and Microsoft sign-ins
and the Google API client) first calls
``require``, so a missing library is one line with the ``pip install`` to run, exit 78, instead
of a traceback.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from syncsvc.errors import MissingExtraError

if TYPE_CHECKING:
    from syncsvc.config import Config

Extra = Literal["caldav", "google", "microsoft"]

#: What each extra must make importable (the modules syncsvc imports, not their dependencies).
MODULES: dict[Extra, tuple[str, ...]] = {
    "caldav": ("caldav",),
    "google": (
        "googleapiclient.discovery",
        "google_auth_httplib2",
        "google_auth_oauthlib.flow",
        "google.oauth2.credentials",
        "httplib2",
    ),
    "microsoft": ("msal", "requests"),
}

WHAT: dict[Extra, str] = {
    "caldav": "the CalDAV calendar",
    "google": "Google",
    "microsoft": "Microsoft 365 / Outlook.com",
}


def require(extra: Extra, what: str | None = None) -> None:
    """Import the extra's libraries; raise ``MissingExtraError`` naming the ``pip install`` to
    run if one is not installed (or is broken: any ImportError counts)."""
    for name in MODULES[extra]:
        try:
            importlib.import_module(name)
        except ImportError as e:
            missing = e.name or name
            raise MissingExtraError(
                f"{what or WHAT[extra]} needs the {extra} extra, which is not installed "
                f"(no module {missing}): run {pip_command(extra)}"
            ) from None


def require_for_config(config: Config) -> None:
    """Every extra the configured backends need (the daemon checks this before it starts)."""
    backend = config.calendar.backend
    if backend == "caldav":
        require("caldav", '[calendar] backend = "caldav"')
    if backend == "google":
        require("google", '[calendar] backend = "google"')
    if backend == "microsoft":
        require("microsoft", '[calendar] backend = "microsoft"')
    if config.contacts.google:
        require("google", "[contacts] google = true")


def pip_command(extra: Extra) -> str:
    """``pip install 'syncsvc[google]'``, or for a copy installed from a checkout (``pip
    install .``, ``-e``) the same with that checkout's path, which is what works there."""
    source = _local_source()
    if source is None:
        return f"pip install 'syncsvc[{extra}]'"
    path, editable = source
    return f"pip install {'-e ' if editable else ''}'{path}[{extra}]'"


def _local_source() -> tuple[str, bool] | None:
    """(checkout path, editable?) when the running syncsvc was installed from a local folder."""
    import json  # only on the way to an error message: not at every calendar's start-up
    from importlib import metadata
    from urllib.parse import urlsplit
    from urllib.request import url2pathname

    try:
        text = metadata.distribution("syncsvc").read_text("direct_url.json")
        info = json.loads(text or "null")
        url: str = info["url"]
        editable = bool(info.get("dir_info", {}).get("editable", False))
    except (metadata.PackageNotFoundError, ValueError, KeyError, TypeError, AttributeError):
        return None
    if not url.startswith("file://"):
        return None
    path = Path(url2pathname(urlsplit(url).path))
    here = Path(__file__).resolve().parent
    # a copy installed from a checkout other than the running one (PYTHONPATH, tests): no path
    if editable and (path / "syncsvc").resolve() != here:
        return None
    if not (path / "pyproject.toml").is_file():
        return None
    return str(path), editable
