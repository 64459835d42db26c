"""`syncsvc doctor`: check the config, the store and the calendar; say how to fix each."""

from __future__ import annotations

from dataclasses import dataclass

from syncsvc import extras
from syncsvc.errors import MissingExtraError, SyncsvcError


@dataclass
class Check:
    name: str
    ok: bool
    detail: str
    #: what `doctor` exits with when this check fails: 78 for a missing extra of the install
    exit_code: int = 1

    def as_json(self) -> dict[str, object]:
        return {"check": self.name, "ok": self.ok, "detail": self.detail}


def run_checks(config_path: str | None) -> list[Check]:
    from syncsvc import config as config_mod

    results: list[Check] = []
    try:
        cfg = config_mod.load(config_path)
    except SyncsvcError as e:
        return [Check("config", False, str(e).replace("\n", "; "))]
    where = str(cfg.source) if cfg.source else "no config file (defaults)"
    results.append(Check("config", True, where))

    from syncsvc.store import Store

    try:
        store = Store.open(cfg.db_path)
        ok = store.integrity_ok()
        store.close()
        results.append(
            Check(
                "store",
                ok,
                str(cfg.db_path)
                if ok
                else f"{cfg.db_path}: integrity check failed; restore a backup",
            )
        )
    except SyncsvcError as e:
        results.append(Check("store", False, str(e)))

    from syncsvc.calendars import open_calendar

    try:
        calendar = open_calendar(cfg)
        detail = calendar.check()
        calendar.close()
        results.append(Check(f"calendar ({cfg.calendar.backend})", True, detail))
    except MissingExtraError as e:
        results.append(Check(f"calendar ({cfg.calendar.backend})", False, str(e), e.exit_code))
    except SyncsvcError as e:
        results.append(Check(f"calendar ({cfg.calendar.backend})", False, str(e)))

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
    return results
