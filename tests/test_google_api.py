"""google_api.map_http_error: the one place a Google HTTP error becomes ours, with the
attributes callers read (``status``, ``retry_after``) and the sync-token case."""

from __future__ import annotations

import json
from typing import Any

import httplib2
import pytest
from googleapiclient.errors import HttpError

from syncsvc.errors import (
    AuthError,
    BackendError,
    NotFoundError,
    RateLimitedError,
    SignInExpiredError,
    TokenExpiredError,
)
from syncsvc.google_api import map_http_error


def http_error(status: int, reason: str = "", headers: dict[str, str] | None = None) -> Any:
    body: dict[str, Any] = {"code": status, "message": f"injected {status}"}
    if reason:
        body["errors"] = [{"reason": reason, "message": "x", "domain": "global"}]
    resp = httplib2.Response({"status": str(status), **(headers or {})})
    return HttpError(resp, json.dumps({"error": body}).encode())


@pytest.mark.parametrize(
    ("status", "reason"), [(429, "rateLimitExceeded"), (403, "rateLimitExceeded"), (429, "")]
)
def test_rate_limits_carry_retry_after_and_status(status: int, reason: str) -> None:
    err = map_http_error(http_error(status, reason, {"retry-after": "120"}), "Google Calendar")
    assert type(err) is RateLimitedError
    assert err.retry_after == 120 and err.status == status
    assert str(err).startswith("Google Calendar: Google rate limit (HTTP")


def test_without_retry_after_the_daemon_chooses_the_wait() -> None:
    err = map_http_error(http_error(429, "rateLimitExceeded"), "w", gave_up_after=61)
    assert isinstance(err, RateLimitedError) and err.retry_after is None
    assert "gave up after 61 s of retries" in str(err)


def test_server_errors_keep_their_status_and_retry_after() -> None:
    err = map_http_error(http_error(503, "backendError", {"retry-after": "30"}), "w")
    assert type(err) is BackendError and err.status == 503 and err.retry_after == 30


def test_expired_sync_tokens_only_when_one_was_sent() -> None:
    gone = http_error(410, "fullSyncRequired")
    assert isinstance(map_http_error(gone, "w", sync_token=True), TokenExpiredError)
    assert type(map_http_error(gone, "w")) is NotFoundError
    expired = {
        "code": 400,
        "status": "FAILED_PRECONDITION",
        "details": [{"reason": "EXPIRED_SYNC_TOKEN"}],
    }
    people = HttpError(
        httplib2.Response({"status": "400"}), json.dumps({"error": expired}).encode()
    )
    err = map_http_error(people, "Google Contacts", sync_token=True)
    assert isinstance(err, TokenExpiredError) and err.status == 400


def test_a_rejected_sign_in_says_how_to_sign_in_again() -> None:
    err = map_http_error(http_error(401, "authError"), "Google Calendar: list events")
    assert isinstance(err, SignInExpiredError) and isinstance(err, AuthError)
    assert err.exit_code == 77 and "run `syncsvc auth google`" in str(err)
    forbidden = map_http_error(http_error(403, "forbidden"), "w")
    assert type(forbidden) is AuthError and forbidden.status == 403
