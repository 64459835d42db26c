"""Microsoft sign-in (Microsoft 365 and Outlook.com) through MSAL, Microsoft's own library.

- ``sign_in`` runs the public-client device-code flow (the person opens a URL on any device
  and types a code), so it works on a headless machine too, and stores MSAL's token cache with
  mode 0600 in the data dir.
- ``MicrosoftSignIn.token()`` hands the Graph client an access token, refreshed silently
  from that cache; a refresh Microsoft refuses (revoked, password changed, consent withdrawn)
  becomes one line naming ``syncsvc auth microsoft``.

The app registration is the person's own (``[microsoft] client_id``, README "Microsoft 365
and Outlook.com"). ``msal`` is the ``microsoft`` extra, imported only here and only when used.
Tokens are never logged, printed or put into an error message.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from syncsvc.errors import AuthError, ConfigError, SignInExpiredError, UnreachableError
from syncsvc.paths import write_private_file

if TYPE_CHECKING:
    from syncsvc.config import Config

log = logging.getLogger(__name__)

SIGN_IN_HINT = "run `syncsvc auth microsoft`"
#: MSAL adds offline_access (a refresh token), openid and profile itself and refuses them here.
SCOPES = ["Calendars.ReadWrite"]
#: OAuth errors that only a new sign-in cures.
SIGN_IN_ERRORS = frozenset({"invalid_grant", "interaction_required", "consent_required"})


def sign_in_expired() -> SignInExpiredError:
    return SignInExpiredError(f"Microsoft sign-in expired or was revoked: {SIGN_IN_HINT}")


def _client_id(config: Config) -> str:
    client_id = config.microsoft.client_id
    if not client_id:
        raise ConfigError(
            f"{config.source or 'config'}: [microsoft] client_id is not set; register an app "
            'as README "Microsoft 365 and Outlook.com" shows and put its Application (client) '
            "ID there"
        )
    return client_id


def _short(e: BaseException) -> str:
    text = " ".join(str(e).split())
    text = f"{type(e).__name__}: {text}" if text else type(e).__name__
    return text if len(text) <= 160 else text[:159] + "…"


class MicrosoftSignIn:
    """MSAL's public client app with its token cache in ``config.microsoft_token_path``."""

    def __init__(self, config: Config, *, http_client: Any | None = None) -> None:
        from syncsvc import extras

        extras.require("microsoft", "Microsoft sign-in")
        self.config = config
        self.path = config.microsoft_token_path
        client_id = _client_id(config)
        import msal
        import requests

        self.cache = msal.SerializableTokenCache()
        try:
            self.cache.deserialize(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            pass
        except (OSError, UnicodeDecodeError, ValueError) as e:
            raise AuthError(
                f"{self.path}: unreadable Microsoft token cache ({type(e).__name__}): "
                f"{SIGN_IN_HINT}"
            ) from None
        try:
            # instance_discovery=False: the authority is the person's own config; discovery
            # would only ask login.microsoftonline.com whether an unknown host is one of theirs
            self.app = msal.PublicClientApplication(
                client_id,
                authority=config.microsoft.authority,
                token_cache=self.cache,
                timeout=config.calendar.timeout_seconds,
                instance_discovery=False,
                http_client=http_client,
            )
        except requests.RequestException as e:
            raise UnreachableError(
                f"cannot reach the Microsoft sign-in service ({_short(e)})"
            ) from None
        except ValueError as e:  # tenant discovery failed: a wrong authority
            raise ConfigError(
                f"[microsoft] authority = {config.microsoft.authority!r} is not a Microsoft "
                f"sign-in authority ({_short(e)})"
            ) from None

    def save(self) -> None:
        if self.cache.has_state_changed:
            write_private_file(self.path, self.cache.serialize())
            self.cache.has_state_changed = False

    def token(self, *, force_refresh: bool = False) -> str:
        """A current access token for Graph; ``force_refresh`` after Graph answered 401."""
        import requests

        accounts = self.app.get_accounts()
        if not accounts:
            raise AuthError(f"not signed in to Microsoft: {SIGN_IN_HINT}")
        try:
            result = self.app.acquire_token_silent_with_error(
                SCOPES, account=accounts[0], force_refresh=force_refresh
            )
        except requests.RequestException as e:
            raise UnreachableError(
                f"cannot reach Microsoft to refresh the sign-in ({_short(e)})"
            ) from None
        self.save()
        if not result:  # no refresh token in the cache
            raise sign_in_expired()
        if "access_token" in result:
            return str(result["access_token"])
        error = str(result.get("error", ""))
        if error in SIGN_IN_ERRORS:
            raise sign_in_expired()
        raise AuthError(f"Microsoft sign-in failed ({error or 'no token'}): {SIGN_IN_HINT}")

    def device_flow(self, show: Callable[[str], None]) -> str:
        """The device-code flow: ``show`` gets Microsoft's instruction (a URL and a code);
        blocks until the person has signed in (or the code expires). Returns the account."""
        import requests

        try:
            flow = self.app.initiate_device_flow(scopes=SCOPES)
            if "user_code" not in flow:
                raise AuthError(
                    "Microsoft refused to start a sign-in "
                    f"({flow.get('error', 'no code')}); check [microsoft] client_id and that "
                    '"Allow public client flows" is on in the app registration'
                )
            show(str(flow["message"]))
            result = self.app.acquire_token_by_device_flow(flow)
        except requests.RequestException as e:
            raise UnreachableError(
                f"cannot reach the Microsoft sign-in service ({_short(e)})"
            ) from None
        if "access_token" not in result:
            raise AuthError(
                f"Microsoft sign-in failed ({result.get('error', 'no token')}): try again"
            )
        self.cache.has_state_changed = True
        self.save()
        accounts = self.app.get_accounts()
        return str(accounts[0].get("username", "")) if accounts else ""


def sign_in(config: Config, show: Callable[[str], None] = print) -> str:
    """``syncsvc auth microsoft``: the device-code flow; returns the account signed in."""
    return MicrosoftSignIn(config).device_flow(show)
