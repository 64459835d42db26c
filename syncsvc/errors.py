"""The exception hierarchy. Every error a user can cause or meet is a SyncsvcError;
the CLI turns it into one line on stderr and the exit code below. Messages never carry secrets."""

from __future__ import annotations


class SyncsvcError(Exception):
    """Base class. ``str(err)`` is the one line shown to the user."""

    exit_code = 1


class ConfigError(SyncsvcError):
    """A bad config file, key or value. The message names file, key and what is allowed."""

    exit_code = 78  # EX_CONFIG


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
    """A calendar or contacts server problem. Subclasses say which kind."""

    exit_code = 69  # EX_UNAVAILABLE


class UnreachableError(BackendError):
    """The server cannot be reached (down, refused, timed out, TLS failure)."""


class AuthError(BackendError):
    """Wrong password, or a Google sign-in that is revoked/expired."""

    exit_code = 77  # EX_NOPERM


class NotFoundError(BackendError):
    """The calendar (or an event) does not exist."""


class ConflictError(BackendError):
    """The event changed on the server since we last saw it (stale etag)."""


class RateLimitedError(BackendError):
    """The server asks us to slow down; retried with back-off."""


class TokenExpiredError(BackendError):
    """A sync token is no longer valid: do a full resync."""
