"""A small client for Google's REST APIs (Calendar v3, People v1): services, retries, errors.

- ``build_service`` builds a google-api-python-client resource from the static discovery
  documents (no discovery request) with an http timeout.
- ``execute`` runs one API request with bounded exponential back-off on rate limits and server
  errors, and turns every failure into a one-line ``BackendError`` subclass; ``execute_raw``
  leaves answers a caller understands (409, 412, 410 ...) to the caller.
- ``map_http_error`` is the one place an HTTP error from Google becomes one of ours: it sets
  ``status``, ``retry_after`` (a ``Retry-After`` header) and, for a listing that sent a sync
  token, raises ``TokenExpiredError`` so the caller lists everything again.

Used by the calendar (``calendars/google.py``) and the contacts source (``contacts/google.py``);
sign-in and the token file are ``google_auth``'s. The Google libraries cost 0.3-0.4 s to
import, so they are imported inside the functions. No token or URL (it may carry a sync
token) is ever put into a message.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import time
from collections.abc import Callable
from typing import Any

from syncsvc.errors import (
    AuthError,
    BackendError,
    NotFoundError,
    RateLimitedError,
    SignInExpiredError,
    TokenExpiredError,
    UnreachableError,
)

log = logging.getLogger(__name__)

SIGN_IN_HINT = "run `syncsvc auth google`"

#: 403 reasons that mean "slow down" (retried); quotaExceeded needs minutes: not retried here.
RATE_LIMIT_REASONS = frozenset({"rateLimitExceeded", "userRateLimitExceeded"})
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
#: People API's reason for a sync token older than 7 days (HTTP 400); Calendar answers 410.
EXPIRED_SYNC_TOKEN = "EXPIRED_SYNC_TOKEN"

Sleep = Callable[[float], None]


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
    from syncsvc import extras

    extras.require("google")
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
            delay = retry_after(e) or min(max_delay, base_delay * 2**attempt)
            delay *= random.uniform(0.5, 1.0)  # jitter: many clients do not retry in step
            if waited + delay > budget:
                raise map_http_error(e, what, gave_up_after=waited) from None
            log.info("%s: HTTP %s %s, retrying in %.1f s", what, status, reason, delay)
            sleep(delay)
            waited += delay
            attempt += 1
        except RefreshError:
            raise sign_in_expired() from None
        except TransportError as e:
            raise UnreachableError(f"{what}: cannot reach Google ({short_reason(e)})") from None
        except (OSError, http.client.HTTPException, _httplib2_errors()) as e:
            raise UnreachableError(f"{what}: cannot reach Google ({short_reason(e)})") from None


# --------------------------------------------------------------------------- errors


def map_http_error(
    e: Any, what: str, gave_up_after: float | None = None, *, sync_token: bool = False
) -> BackendError:
    """A one-line BackendError for an ``HttpError`` (no URL: it may carry sync tokens).

    ``sync_token``: the request sent a sync token, so 410 (Calendar) or 400
    ``EXPIRED_SYNC_TOKEN`` (People) mean "that token expired", not a failure.
    """
    status = e.resp.status
    reason, message = error_reason(e.content)
    wait = retry_after(e)
    detail = f"HTTP {status}" + (f" {reason}" if reason else "")
    if message:
        detail += f": {one_line(message)}"
    tail = f" (gave up after {gave_up_after:.0f} s of retries)" if gave_up_after else ""
    if sync_token and (status == 410 or (status == 400 and reason == EXPIRED_SYNC_TOKEN)):
        return TokenExpiredError(f"{what}: the sync token expired ({detail})", status=status)
    if status == 401:
        return SignInExpiredError(
            f"{what}: Google rejected the sign-in ({detail}): {SIGN_IN_HINT}", status=status
        )
    if status == 429 or (status == 403 and reason in RATE_LIMIT_REASONS | {"quotaExceeded"}):
        return RateLimitedError(
            f"{what}: Google rate limit ({detail}){tail}", status=status, retry_after=wait
        )
    if status == 403:
        return AuthError(
            f"{what}: no permission ({detail}); {SIGN_IN_HINT} if scopes changed", status=status
        )
    if status in (404, 410):
        return NotFoundError(f"{what}: not found ({detail})", status=status)
    return BackendError(f"{what}: Google error ({detail}){tail}", status=status, retry_after=wait)


def sign_in_expired() -> SignInExpiredError:
    """The error for a refresh token Google no longer accepts (``invalid_grant``): raised by
    ``google_auth.load_credentials`` and by a refresh in the middle of a request."""
    return SignInExpiredError(f"Google sign-in expired or was revoked: {SIGN_IN_HINT}")


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


def retry_after(e: Any) -> float | None:
    """Seconds from an ``HttpError``'s ``Retry-After`` header (delta-seconds form); None when
    absent or unreadable. Google sends seconds; an HTTP date is not worth parsing here."""
    value = e.resp.get("retry-after") if hasattr(e.resp, "get") else None
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


def _httplib2_errors() -> type[Exception]:
    import httplib2

    return httplib2.HttpLib2Error


def one_line(text: str, limit: int = 200) -> str:
    """``text`` on one line, cut to ``limit`` characters (error details Google sends)."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def short_reason(e: BaseException) -> str:
    """A library exception as a short reason for a message ("TransportError: ...")."""
    return one_line(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__, 160)
