"""The exception hierarchy. Every error a user can cause or meet is a SyncsvcError;
the CLI turns it into one line on stderr and the exit code below. Messages never carry secrets."""

from __future__ import annotations


class SyncsvcError(Exception):
    """Base class. ``str(err)`` is the one line shown to the user."""

    exit_code = 1


class ConfigError(SyncsvcError):
    """A bad config file, key or value. The message names file, key and what is allowed."""

    exit_code = 78  # EX_CONFIG


class MissingExtraError(ConfigError):
    """The config or command needs a backend whose libraries are an extra of the install
    (``pip install 'syncsvc[google]'``) that is not installed. One line that says which
    ``pip install`` to run; raised by ``syncsvc.extras.require``."""


class UsageError(SyncsvcError):
    """A bad command-line value (a date, a name that matches nobody, ...)."""

    exit_code = 2


class InputError(SyncsvcError):
    """Input that cannot be used at all: a missing path, a file that is not vCard."""

    exit_code = 1


class StoreError(SyncsvcError):
    """The SQLite store cannot be opened, is newer than this program, or is locked."""

    exit_code = 1


class LockedError(StoreError):
    """Another syncsvc process holds the data dir lock for longer than we wait."""

    exit_code = 75  # EX_TEMPFAIL


class BackendError(SyncsvcError):
    """A calendar or contacts server problem. Subclasses say which kind.

    Callers read two attributes rather than parsing the message: ``status``, the HTTP status
    the server answered (None for a transport failure), and ``retry_after``, the seconds the
    server asked us to wait (a ``Retry-After`` header), which the daemon honours. Both are
    class-level ``None`` unless given, so a subclass may declare its own default.
    """

    exit_code = 69  # EX_UNAVAILABLE
    status: int | None = None
    retry_after: float | None = None

    def __init__(
        self, message: str = "", *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        if status is not None:
            self.status = status
        if retry_after is not None:
            self.retry_after = retry_after


class UnreachableError(BackendError):
    """The server cannot be reached (down, refused, timed out, TLS failure)."""


class AuthError(BackendError):
    """Wrong password, no permission (``status`` 403), or no usable Google sign-in."""

    exit_code = 77  # EX_NOPERM


class SignInExpiredError(AuthError):
    """The Google or Microsoft sign-in was revoked or has expired (``invalid_grant`` /
    ``interaction_required`` on refresh, or 401): only ``syncsvc auth google`` (or
    ``syncsvc auth microsoft``) helps, so the message says so and nothing retries sooner."""


class NotFoundError(BackendError):
    """The calendar (or an event) does not exist."""


class StorageGoneError(NotFoundError):
    """A calendar that held syncsvc's events is missing or emptied of all of them at once (an
    unmounted disk, a moved folder, another calendar): a storage problem, never the person
    deleting every call. ``plan`` and ``sync`` refuse and change nothing; every message ends
    with ``FORCE_DELETE_HINT``, the way out for a person who did delete them all."""


#: the end of every ``StorageGoneError`` message: what to do if the person deleted them
FORCE_DELETE_HINT = "if you deleted them yourself, run `syncsvc sync --force-delete`"


class ConflictError(BackendError):
    """The event changed on the server since we last saw it (stale etag)."""


class RateLimitedError(BackendError):
    """The server asks us to slow down; retried with back-off (at least ``retry_after``)."""


class TokenExpiredError(BackendError):
    """A sync token is no longer valid (CalDAV ``DAV:valid-sync-token``, Google 410 or
    ``EXPIRED_SYNC_TOKEN``): the backend catches it and does a full resync, so a user sees it
    only if the resync itself fails the same way."""
