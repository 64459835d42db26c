"""Google sign-in: the OAuth flow and the token file.

- ``sign_in`` runs the installed-app flow (a redirect to a loopback port) with the person's own
  OAuth client file and stores the token with mode 0600 in the data dir.
- ``load_credentials`` reads that token, refreshes it when expired and saves the refreshed one.
Calling the APIs (service objects, retries, and turning Google's errors into ours, a
revoked sign-in included) is ``syncsvc.google_api``'s job.
The Google libraries cost 0.3-0.4 s to import, so they are imported inside the functions.
Tokens are never logged, printed or put into an error message.
"""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from syncsvc import extras
from syncsvc.errors import AuthError, ConfigError, UnreachableError
from syncsvc.google_api import SIGN_IN_HINT, short_reason, sign_in_expired
from syncsvc.paths import write_private_file

if TYPE_CHECKING:
    from google.oauth2.credentials import Credentials

    from syncsvc.config import Config

log = logging.getLogger(__name__)

SCOPES = [
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/contacts.readonly",
]


# --------------------------------------------------------------------------- sign-in, tokens


def sign_in(config: Config, open_browser: bool = True) -> None:
    """The installed-app OAuth flow; stores the token at ``config.google_token_path`` (0600).

    With ``open_browser=False`` the authorization URL is printed (run_local_server prints it)
    and the person opens it themselves; the redirect still comes back to 127.0.0.1.
    """
    extras.require("google", "Google sign-in")
    secrets = config.client_secrets_path
    if not secrets.is_file():
        raise ConfigError(
            f"{secrets}: Google OAuth client file not found; create an OAuth client ID of type "
            '"Desktop app" in the Google Cloud console (APIs & Services > Credentials), download '
            "its JSON there or set [google] client_secrets to its path"
        )
    from google_auth_oauthlib.flow import InstalledAppFlow

    try:
        flow = InstalledAppFlow.from_client_secrets_file(str(secrets), scopes=SCOPES)
    except (ValueError, KeyError, TypeError, AttributeError, OSError) as e:
        raise ConfigError(
            f"{secrets}: not a Google OAuth client file for an installed app "
            f'({type(e).__name__}); download the JSON of a "Desktop app" client again'
        ) from None
    try:
        creds = flow.run_local_server(host="127.0.0.1", port=0, open_browser=open_browser)
    except Exception as e:  # oauthlib raises many kinds; never echo a token or code
        raise AuthError(f"Google sign-in failed ({type(e).__name__}): try again") from None
    save_credentials(config, creds)


def save_credentials(config: Config, creds: Credentials) -> None:
    write_private_file(config.google_token_path, creds.to_json())


def load_credentials(config: Config, *, token_uri: str | None = None) -> Credentials:
    """The stored credentials, refreshed (and saved again) when the access token has expired.

    ``token_uri`` overrides the token endpoint (tests use a loopback one). google-auth's
    ``from_authorized_user_info`` always resets it to Google's, ignoring the file's value.
    """
    extras.require("google")
    from google.auth.exceptions import RefreshError, TransportError
    from google.oauth2.credentials import Credentials

    path = config.google_token_path
    try:
        info = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise AuthError(f"not signed in to Google: {SIGN_IN_HINT}") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise AuthError(
            f"{path}: unreadable Google token ({type(e).__name__}): {SIGN_IN_HINT}"
        ) from None
    try:
        creds = Credentials.from_authorized_user_info(info, scopes=info.get("scopes"))
    except (ValueError, TypeError, AttributeError):
        raise AuthError(f"{path}: not a Google token file: {SIGN_IN_HINT}") from None
    if token_uri:
        expiry = creds.expiry
        creds = creds.with_token_uri(token_uri)
        creds.expiry = expiry  # with_token_uri() drops the expiry (google-auth 2.x)
    if not creds.valid:
        from google.auth.transport.requests import Request

        try:
            creds.refresh(Request())
        except RefreshError:
            raise sign_in_expired() from None
        except TransportError as e:
            raise UnreachableError(
                f"cannot reach Google to refresh the sign-in ({short_reason(e)})"
            ) from None
        save_credentials(config, creds)
    return creds
