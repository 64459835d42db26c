"""The one small interface every calendar backend implements.

syncsvc owns only the events it wrote (they carry the call id in ``X-SYNCSVC-CALL`` or, on
Google, ``extendedProperties.private.syncsvcCall``). A backend never touches anything else.

Semantics every backend keeps (the shared contract tests in tests/calendar_contract.py
run against each of them):

- ``create(event)`` is idempotent: if an event with ``event.uid`` already exists (a crash
  after a write and before the local commit), it is left as it is and its current etag
  returned. Never two events for one uid.
- ``update(event, etag)`` rewrites syncsvc's event only if its etag is still ``etag``;
  otherwise ``ConflictError`` (the person edited it; their text wins). It changes only
  syncsvc's own fields (summary, description, time, its own properties) and keeps what a
  calendar app added (``X-MOZ-LASTACK``, categories, colour, attendees, alarms); the location
  is rewritten only while it is still the one syncsvc wrote (or there is none).
- ``changes(token, known)`` says what changed since ``token`` (``None``: everything).
  ``known`` maps uid -> etag of what we saw last; backends without server-side sync tokens
  compare against it. Returns the changed/new events, the uids deleted, and the next token.
- ``delete(uid, etag)`` removes an event syncsvc wrote (not used for user-owned events).

Every network call has a timeout; failures raise subclasses of ``BackendError``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

#: every UID syncsvc writes ends so: ``{call_id}@syncsvc``
UID_SUFFIX = "@syncsvc"


@dataclass(frozen=True)
class CallEvent:
    """What syncsvc writes: one call as a calendar event."""

    uid: str  # stable, [A-Za-z0-9@._-] only; also the vdir file name stem
    call_id: str  # the store's call id; X-SYNCSVC-CALL / extendedProperties.private
    summary: str  # "Call {name}"
    description: str  # see events.py: question, reach, context, listening line, hint, marker
    start: datetime  # timezone-aware, tzinfo is a zoneinfo.ZoneInfo (a real TZID)
    end: datetime
    alarm_minutes: int = 10  # a display reminder this many minutes before start
    # The first phone as written: the event's location, so a phone's calendar offers to
    # dial it with one tap; ``tel`` is its ``tel:`` URI (RFC 7986 CONFERENCE, FEATURE=PHONE).
    location: str | None = None
    tel: str | None = None


@dataclass(frozen=True)
class RemoteEvent:
    """What a backend reads back: the event as the person's calendar now has it."""

    uid: str
    call_id: str
    etag: str
    summary: str
    description: str  # as stored; may contain HTML (Google web editor)
    start: datetime | None  # timezone-aware
    end: datetime | None


@dataclass
class Changes:
    changed: list[RemoteEvent] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)  # uids
    token: str | None = None  # pass back to the next changes() call
    # "FILE: reason" for each event file skipped as unreadable or unsafe (a symlink, a FIFO, too
    # large): the rest proceeded; ``sync`` shows these. Backends without files leave it empty.
    problems: list[str] = field(default_factory=list)


class Calendar(ABC):
    """A calendar syncsvc writes call events into and reads notes back from."""

    #: a stable key naming this calendar in the store's sync state, e.g. "vdir:/home/x/cal"
    key: str

    @abstractmethod
    def create(self, event: CallEvent) -> str:
        """Write a new event; if one with this uid exists, keep it. Returns its etag."""

    def create_recorded(self, event: CallEvent, record: Callable[[str, bool], None]) -> None:
        """Create ``event`` and let the caller record it: ``record(etag, exact)`` commits the
        store's knowledge that syncsvc's event is there; ``exact``: the backend wrote it just
        now, so ``etag`` is of exactly syncsvc's text (False: it may have kept an event that was
        already there, perhaps edited by the person since).

        Here the write comes first and the record after it: a crash between the two leaves a
        create the next run redoes (``create`` keeps what is there), which cannot tell an
        event the person deleted meanwhile from one never written (docs/RELIABILITY.md). A
        backend that can record before its event becomes visible to anyone, and finish the
        write after a crash, overrides this and has no such window (vdir)."""
        record(self.create(event), False)

    @abstractmethod
    def update(self, event: CallEvent, etag: str) -> str:
        """Replace our event if its etag is still ``etag``; else ConflictError. New etag."""

    @abstractmethod
    def changes(self, token: str | None, known: Mapping[str, str]) -> Changes:
        """What changed since ``token`` (None: a full listing of syncsvc's events)."""

    @abstractmethod
    def delete(self, uid: str, etag: str | None) -> None:
        """Remove syncsvc's event ``uid``. Missing already: no error."""

    def busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """Times between ``start`` and ``end`` taken by the person's own events (not
        syncsvc's, not all-day, not marked free), as aware (start, end) pairs.
        Backends that cannot tell return []."""
        return []

    def check(self) -> str:
        """Reach the calendar (for ``syncsvc doctor``); return a one-line description."""
        self.changes(None, {})
        return self.key

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""
