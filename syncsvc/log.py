"""Logging to stderr, as the journal likes it. Standard library only: every command sets
up logging, so this must cost nothing at start-up."""

from __future__ import annotations

import logging
import os
import sys

_SYSLOG_PREFIX = ((logging.ERROR, "<3>"), (logging.WARNING, "<4>"), (logging.INFO, "<6>"))


def _syslog_prefix(levelno: int) -> str:
    for threshold, prefix in _SYSLOG_PREFIX:
        if levelno >= threshold:
            return prefix
    return "<7>"


class JournalFormatter(logging.Formatter):
    """``<N>message``: the journal reads the level from the prefix and adds its own timestamp.
    Every line of a multi-line message (a traceback) carries the prefix."""

    def format(self, record: logging.LogRecord) -> str:
        prefix = _syslog_prefix(record.levelno)
        return "\n".join(prefix + line for line in super().format(record).splitlines())


def stderr_is_journal() -> bool:
    """True when stderr is connected to the journal: ``$JOURNAL_STREAM`` ("device:inode") names
    our stderr. Comparing the numbers (as systemd recommends) ignores a variable merely inherited
    by a process whose stderr was redirected elsewhere."""
    value = os.environ.get("JOURNAL_STREAM", "")
    if not value:
        return False
    try:
        dev, ino = (int(part) for part in value.split(":"))
        st = os.fstat(sys.stderr.fileno())
    except (ValueError, OSError, AttributeError):
        return False
    return (st.st_dev, st.st_ino) == (dev, ino)


class _SyncsvcHandler(logging.StreamHandler):
    """Marks the handler installed by :func:`setup_logging`, so a second call replaces it."""


def setup_logging(verbose: bool) -> None:
    """Log to stderr: ``<N>message`` under systemd's journal, else ``LEVEL message``.

    syncsvc's own loggers log INFO (DEBUG with ``verbose``); other libraries only WARNING+.
    Calling it again replaces the earlier set-up.
    """
    root = logging.getLogger()
    for handler in [h for h in root.handlers if isinstance(h, _SyncsvcHandler)]:
        root.removeHandler(handler)
    handler = _SyncsvcHandler(sys.stderr)
    if stderr_is_journal():
        handler.setFormatter(JournalFormatter("%(message)s"))
    else:
        handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.WARNING)
    logging.getLogger("syncsvc").setLevel(logging.DEBUG if verbose else logging.INFO)
