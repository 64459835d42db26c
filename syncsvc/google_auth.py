"""Google sign-in and API access: the OAuth token file, service objects, and request execution.

- ``sign_in`` runs the installed-app flow (a redirect to a loopback port) with the person's own
  OAuth client file and stores the token with mode 0600 in the data dir.
- ``load_credentials`` reads that token, refreshes it when expired and saves the refreshed one.
- ``build_service`` builds a google-api-python-client resource from the static discovery
  documents (no discovery request) with an http timeout.
- ``execute`` runs one API request with bounded exponential back-off on rate limits and server
  errors, and turns every failure into a one-line ``BackendError`` subclass.

The Google libraries cost 0.3-0.4 s to import, so they are imported inside the functions.
Tokens are never logged, printed or put into an error message.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from syncsvc.errors import (
    AuthError,
    BackendError,
    ConfigError,
    NotFoundError,
    RateLimitedError,
    UnreachableError,
)
from syncsvc.paths import write_private_file

if TYPE_CHECKING:
    from google.oauth2.credentials import Credentials

    from syncsvc.config import Config

log = logging.getLogger(__name__)

SCOPES = [
    "https://www.googleapis.com/auth/calendar.events",
    "https://www.googleapis.com/auth/contacts.readonly",
]
SIGN_IN_HINT = "run `syncsvc auth google`"

#: 403 reasons that mean "slow down" (retried); quotaExceeded needs minutes: not retried here.
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


# --------------------------------------------------------------------------- sign-in, tokens


def sign_in(config: Config, open_browser: bool = True) -> None:
    """The installed-app OAuth flow; stores the token at ``config.google_token_path`` (0600).

    With ``open_browser=False`` the authorization URL is printed (run_local_server prints it)
    and the person opens it themselves; the redirect still comes back to 127.0.0.1.
    """
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
            raise AuthError(f"Google sign-in expired or was revoked: {SIGN_IN_HINT}") from None
        except TransportError as e:
            raise UnreachableError(
                f"cannot reach Google to refresh the sign-in ({_short(e)})"
            ) from None
        save_credentials(config, creds)
    return creds


# --------------------------------------------------------------------------- services


def build_service(
    name: str,
    version: str,
    credentials: Any | None,
    timeout: float,
    *,
    api_endpoint: str | None = None,
) -> Any:
    """A discovery-based service from the bundled static documents, with an http timeout.

    ``credentials=None`` makes an unauthenticated client (tests against a loopback fake).
    """
    import httplib2
    from googleapiclient.discovery import build

    http: Any = httplib2.Http(timeout=timeout)
    if credentials is not None:
        import google_auth_httplib2

        http = google_auth_httplib2.AuthorizedHttp(credentials, http=http)
    options = {"api_endpoint": api_endpoint} if api_endpoint else None
    return build(
        name,
        version,
        http=http,
        static_discovery=True,
        cache_discovery=False,
        client_options=options,
    )


# --------------------------------------------------------------------------- requests

Sleep = Callable[[float], None]


def error_reason(content: bytes) -> tuple[str, str]:
    """(reason, message) from a Google JSON error body; ("", "") when there is none.

    Two shapes exist: v3 ``error.errors[0].reason`` and v1 ``error.details[].reason`` /
    ``error.status``; OAuth endpoints answer ``{"error": "invalid_grant"}``.
    """
    try:
        data = json.loads(content.decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError):
        return "", ""
    err = data.get("error") if isinstance(data, dict) else None
    if isinstance(err, str):
        return err, str(data.get("error_description", ""))
    if not isinstance(err, dict):
        return "", ""
    message = str(err.get("message", ""))
    for item in err.get("errors") or []:
        if isinstance(item, dict) and item.get("reason"):
            return str(item["reason"]), message
    for item in err.get("details") or []:
        if isinstance(item, dict) and item.get("reason"):
            return str(item["reason"]), message
    return str(err.get("status", "")), message


def execute(
    request: Any,
    what: str,
    *,
    sleep: Sleep = time.sleep,
    budget: float = 60.0,
    base_delay: float = 1.0,
    max_delay: float = 32.0,
) -> Any:
    """Run ``request.execute()``; retry rate limits and server errors with back-off + jitter.

    Gives up once the back-off would exceed ``budget`` seconds in total. Every failure becomes
    a ``BackendError`` subclass with a one-line message starting with ``what``.
    """
    from googleapiclient.errors import HttpError

    try:
        return execute_raw(
            request, what, sleep=sleep, budget=budget, base_delay=base_delay, max_delay=max_delay
        )
    except HttpError as e:
        raise map_http_error(e, what) from None


def execute_raw(
    request: Any,
    what: str,
    *,
    sleep: Sleep = time.sleep,
    budget: float = 60.0,
    base_delay: float = 1.0,
    max_delay: float = 32.0,
    expect_body: bool = True,
) -> Any:
    """Like ``execute`` but a non-retryable HTTP error is raised as ``HttpError`` for the caller
    to inspect (status 409, 412, 404, 410 ...). Retries, auth and connection errors are handled.
    ``expect_body``: the answer is a JSON object (all but DELETE); one cut short is an error.
    """
    from google.auth.exceptions import RefreshError, TransportError
    from googleapiclient.errors import HttpError

    waited = 0.0
    attempt = 0
    while True:
        try:
            result = request.execute(num_retries=0)
            if expect_body and not isinstance(result, dict):  # a body cut short parses as ''
                raise UnreachableError(f"{what}: Google's answer was cut off; will retry")
            return result
        except HttpError as e:
            status = e.resp.status
            reason, _ = error_reason(e.content)
            retryable = status in RETRY_STATUSES or (status == 403 and reason in RATE_LIMIT_REASONS)
            if not retryable:
                raise
            delay = _retry_after(e) or min(max_delay, base_delay * 2**attempt)
            delay *= random.uniform(0.5, 1.0)  # jitter: many clients do not retry in step
            if waited + delay > budget:
                raise map_http_error(e, what, gave_up_after=waited) from None
            log.info("%s: HTTP %s %s, retrying in %.1f s", what, status, reason, delay)
            sleep(delay)
            waited += delay
            attempt += 1
        except RefreshError:
            raise AuthError(f"Google sign-in expired or was revoked: {SIGN_IN_HINT}") from None
        except TransportError as e:
            raise UnreachableError(f"{what}: cannot reach Google ({_short(e)})") from None
        except (OSError, http.client.HTTPException, _httplib2_errors()) as e:
            raise UnreachableError(f"{what}: cannot reach Google ({_short(e)})") from None


def map_http_error(e: Any, what: str, gave_up_after: float | None = None) -> BackendError:
    """A one-line BackendError for an ``HttpError`` (no URL: it may carry sync tokens)."""
    status = e.resp.status
    reason, message = error_reason(e.content)
    detail = f"HTTP {status}" + (f" {reason}" if reason else "")
    if message:
        detail += f": {_oneline(message)}"
    tail = f" (gave up after {gave_up_after:.0f} s of retries)" if gave_up_after else ""
    if status == 401:
        return AuthError(f"{what}: Google rejected the sign-in ({detail}): {SIGN_IN_HINT}")
    if status == 429 or (status == 403 and reason in RATE_LIMIT_REASONS | {"quotaExceeded"}):
        return RateLimitedError(f"{what}: Google rate limit ({detail}){tail}")
    if status == 403:
        return AuthError(f"{what}: no permission ({detail}); {SIGN_IN_HINT} if scopes changed")
    if status in (404, 410):
        return NotFoundError(f"{what}: not found ({detail})")
    return BackendError(f"{what}: Google error ({detail}){tail}")


def _retry_after(e: Any) -> float | None:
    value = e.resp.get("retry-after") if hasattr(e.resp, "get") else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _httplib2_errors() -> type[Exception]:
    import httplib2

    return httplib2.HttpLib2Error


def _oneline(text: str, limit: int = 200) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short(e: BaseException) -> str:
    return _oneline(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__, 160)
