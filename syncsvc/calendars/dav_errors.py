"""The one translation of CalDAV failures into syncsvc's errors.

An HTTP status, an exception of the ``caldav`` library (reduced to its status and
Retry-After first, so a status means the same whichever way it arrived), a ``requests``
transport error or a socket error: each condition has one message here, naming the server
and what to check, never a password. Errors carry ``status`` and, when the server sent
``Retry-After``, ``retry_after`` in seconds (the daemon waits at least that long). Compare
vdirsyncer's ``storage/dav.py`` and its single ``_check_response``.
"""

from __future__ import annotations

from typing import Any

from syncsvc.errors import (
    AuthError,
    BackendError,
    NotFoundError,
    RateLimitedError,
    UnreachableError,
)

#: statuses a PROPFIND gets from something that is not a CalDAV server at all
NO_DAV_STATUSES = frozenset({400, 405, 501})


def dav_error(
    what: str,
    failure: int | BaseException,
    *,
    server: str,
    username: str,
    timeout: float,
    method: str = "",
    retry_after: float | None = None,
) -> BackendError:
    """The syncsvc error for ``failure`` met while ``what`` (``method``: the request's)."""
    prefix = f"CalDAV server {server}"
    if isinstance(failure, BaseException):
        status, wait = _library_status(failure)
        if status is None:
            return _transport_error(failure, prefix, what, timeout)
        retry_after = wait if wait is not None else retry_after
    else:
        status = failure
    if status == 401:
        return AuthError(
            f"{prefix}: wrong username or password for {username!r} (401); "
            "check username and password_command/password_env",
            status=status,
        )
    if status == 403:
        return AuthError(
            f"{prefix}: access denied (403) while {what}; check username and that the "
            "calendar belongs to you",
            status=status,
        )
    if status == 404:
        return NotFoundError(
            f"{prefix}: not found (404) while {what}; check [calendar] url and calendar",
            status=status,
        )
    if status == 429:
        return RateLimitedError(
            f"{prefix}: too many requests (429) while {what}; slowing down",
            status=status,
            retry_after=retry_after,
        )
    if method == "PROPFIND" and status in NO_DAV_STATUSES:
        return NotFoundError(
            f"{prefix}: no CalDAV service found while {what} (HTTP {status}); check [calendar] url",
            status=status,
        )
    if status >= 500:
        return BackendError(
            f"{prefix}: server error {status} while {what}; will retry (check the "
            "server's log if it persists)",
            status=status,
            retry_after=retry_after,
        )
    return BackendError(f"{prefix}: unexpected HTTP {status} while {what}", status=status)


def _library_status(e: BaseException) -> tuple[int | None, float | None]:
    """(status, Retry-After seconds) of a ``caldav`` library error; (None, None) otherwise."""
    from caldav.lib import error as lib

    if isinstance(e, lib.AuthorizationError):
        return (403 if _dav_status(e) == 403 else 401), None
    if isinstance(e, lib.RateLimitError):  # 429, or 503 with Retry-After
        return (_dav_status(e) or 429), e.retry_after_seconds
    if isinstance(e, lib.NotFoundError):
        return 404, None
    if isinstance(e, lib.DAVError):
        return _dav_status(e), None
    return None, None


def _transport_error(e: BaseException, prefix: str, what: str, timeout: float) -> BackendError:
    """The error for a failure without an HTTP status: network, TLS, a garbled answer."""
    from caldav.lib import error as lib
    from caldav.lib.http_sync import requests

    net = requests.exceptions
    if isinstance(e, net.SSLError):
        text = str(e).lower()
        if "certificate" in text or "verify" in text or "hostname" in text:
            return UnreachableError(
                f"{prefix}: its TLS certificate is not trusted or not valid for this host "
                f"({_reason(e)}); check the url and the server's certificate"
            )
        return UnreachableError(
            f"{prefix}: the TLS handshake failed while {what} (is it https on this port?); "
            "check the url and the server's certificate"
        )
    if isinstance(e, net.Timeout):
        return UnreachableError(
            f"{prefix}: no answer within {timeout:g} s while {what}; check that the "
            "server is up and the url is right"
        )
    if isinstance(e, net.ConnectionError):
        return UnreachableError(
            f"{prefix}: cannot connect while {what} ({_reason(e)}); check the url and your network"
        )
    if isinstance(e, net.InvalidURL | net.MissingSchema | net.InvalidSchema):
        return UnreachableError(f"{prefix}: not a usable URL; check [calendar] url")
    if isinstance(e, net.RequestException):
        return UnreachableError(
            f"{prefix}: request failed while {what} ({_reason(e)}); check the url and your network"
        )
    if isinstance(e, lib.DAVError):  # one without a status
        return BackendError(
            f"{prefix}: unexpected answer while {what} ({type(e).__name__}); check [calendar] url"
        )
    if isinstance(e, NotImplementedError):
        return AuthError(
            f"{prefix}: the server offers no supported way to log in (basic, digest, "
            "bearer); check [calendar] url"
        )
    if isinstance(e, OSError):
        return UnreachableError(
            f"{prefix}: cannot connect while {what} ({e.strerror or e}); check the url "
            "and your network"
        )
    return BackendError(  # lxml parse errors and the like
        f"{prefix}: unreadable answer while {what} ({type(e).__name__}); check [calendar] url"
    )


def _dav_status(e: Any) -> int | None:
    """The HTTP status of a caldav library error: its ``status``, else from its reason."""
    status = getattr(e, "status", None)
    if isinstance(status, int):
        return status
    reason = str(getattr(e, "reason", "") or "")
    head = reason.strip().split(" ", 1)[0]
    return int(head) if head.isdigit() and len(head) == 3 else None


def _reason(e: BaseException) -> str:
    text = str(e).lower()
    if "refused" in text:
        return "connection refused"
    if any(s in text for s in ("name or service", "resolve", "nodename", "getaddrinfo",
                               "no address", "name resolution")):  # fmt: skip
        return "host name not found"
    if "self-signed" in text or "self signed" in text:
        return "self-signed certificate"
    if "expired" in text:
        return "certificate expired"
    if "hostname" in text or "doesn't match" in text or "not valid for" in text:
        return "certificate is for another host name"
    if "certificate" in text:
        return "certificate verify failed"
    if "reset" in text:
        return "connection reset"
    if "timed out" in text or "timeout" in text:
        return "timed out"
    return type(e).__name__
