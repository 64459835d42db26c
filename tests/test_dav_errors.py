"""dav_errors.dav_error: one translation of CalDAV failures, whichever way a status arrives
(an answer's status, or an exception of the caldav library), with ``status`` and
``retry_after`` set for callers (the daemon waits at least ``retry_after``)."""

from __future__ import annotations

from functools import partial

import pytest
from caldav.lib import error as lib

from syncsvc.calendars.dav_errors import dav_error
from syncsvc.errors import (
    AuthError,
    BackendError,
    NotFoundError,
    RateLimitedError,
    UnreachableError,
)

error = partial(dav_error, server="https://dav.example.org/", username="ann", timeout=5)


@pytest.mark.parametrize(
    ("status", "raised", "kind"),
    [
        (401, lib.AuthorizationError(url="u", reason="Unauthorized", status=401), AuthError),
        (403, lib.AuthorizationError(url="u", reason="Forbidden", status=403), AuthError),
        (404, lib.NotFoundError(url="u", reason="404 Not Found"), NotFoundError),
        (429, lib.RateLimitError(url="u", status=429), RateLimitedError),
    ],
)
def test_a_status_means_the_same_as_the_library_error_for_it(
    status: int, raised: Exception, kind: type[BackendError]
) -> None:
    by_status, by_exception = error("polling", status), error("polling", raised)
    assert type(by_status) is kind and type(by_exception) is kind
    assert str(by_status) == str(by_exception)
    assert by_status.status == by_exception.status == status
    assert str(by_status).startswith("CalDAV server https://dav.example.org/: ")


def test_retry_after_comes_from_the_library_error_or_the_caller() -> None:
    limited = lib.RateLimitError(url="u", status=429, retry_after="120", retry_after_seconds=120)
    err = error("polling", limited)
    assert isinstance(err, RateLimitedError) and err.retry_after == 120
    unavailable = lib.RateLimitError(url="u", status=503, retry_after_seconds=30)
    err = error("polling", unavailable)
    assert type(err) is BackendError and err.status == 503 and err.retry_after == 30
    assert "will retry" in str(err)
    err = error("polling", 503, retry_after=45.0)
    assert type(err) is BackendError and err.retry_after == 45


def test_no_caldav_service_only_for_propfind() -> None:
    assert type(error("listing", 405, method="PROPFIND")) is NotFoundError
    assert type(error("writing", 405, method="PUT")) is BackendError


def test_transport_failures_have_no_status() -> None:
    err = error("connecting", ConnectionRefusedError(111, "Connection refused"))
    assert isinstance(err, UnreachableError) and err.status is None
    assert "Connection refused" in str(err)
