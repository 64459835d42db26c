"""Between the store and a calendar: write planned calls out, read the person's notes back.

Writing uses an outbox: a call's event row is committed as ``pending`` before the remote
write and marked ``written`` after it, so a crash at any point is finished by the next run;
``Calendar.create`` is idempotent by UID, so nothing is doubled.

Reading applies every change from ``Calendar.changes`` and stores the new sync token in one
transaction: a crash before the commit means the same changes are read again, and applying
the same notes twice changes nothing (``calls.notes_hash``).
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from syncsvc import adopt, events, planner, scheduling
from syncsvc.calendars.base import UID_SUFFIX, Calendar, CallEvent, RemoteEvent
from syncsvc.config import Config
from syncsvc.errors import ConflictError, NotFoundError, StorageGoneError
from syncsvc.store import Connection, Store
from syncsvc.store import calls as calls_db
from syncsvc.store import db as store_db
from syncsvc.store import notes as notes_db
from syncsvc.store import people as people_db
from syncsvc.text import html_to_text

if TYPE_CHECKING:
    from syncsvc import notes

# Start-up time: notes (many regexes) and phones (phonenumbers) are imported where they are
# used, so commands that only import this module for a query (`syncsvc status`) start faster.

log = logging.getLogger("syncsvc")

MISSED_AFTER = timedelta(days=1)
NO_TOPIC = "the field you want to explore"


@dataclass
class SyncReport:
    written: int = 0
    updated: int = 0
    changed: int = 0
    deleted: int = 0
    missed: int = 0
    applied: list[str] = field(default_factory=list)  # call ids whose notes were applied

    def as_json(self) -> dict[str, object]:
        return {
            "written": self.written,
            "updated": self.updated,
            "changed": self.changed,
            "deleted": self.deleted,
            "missed": self.missed,
            "applied": self.applied,
        }


def uid_for(call_id: str) -> str:
    return f"{call_id}{UID_SUFFIX}"


# ------------------------------------------------------------------------ event content
def question(config: Config, topic: str | None) -> str:
    return config.calls.question.format(topic=topic or NO_TOPIC)


def build_event(conn: Connection, config: Config, call: calls_db.Call) -> CallEvent:
    person = people_db.get(conn, call.person_id)
    assert person is not None
    topic = people_db.current_topic(conn)
    last = calls_db.last_finished(conn, person.id, call.day)
    source = {
        "vcard": f"imported from {person.source_detail or 'a vCard file'}",
        "google": "imported from Google Contacts",
        "manual": "added by hand",
        "referral": "referred to you",
        "linkedin": "a LinkedIn connection",
    }.get(person.source, person.source)
    wins = calls_db.update_wins(conn, call.id)  # the win their referral led to
    ctx = events.EventContext(
        name=person.name,
        question=question(config, topic),
        topic_missing=topic is None,
        kind=call.kind,
        phones=person.phones,
        emails=person.emails,
        org=person.org,
        title=person.title,
        source=source,
        referred_by=person.referred_by_name,
        last_call=(last.day, last.notes) if last else None,
        open_offers=[text for _, _, text in calls_db.open_offers(conn, person.id)],
        wins=wins,
        urls=person.urls,
    )
    return CallEvent(
        uid=uid_for(call.id),
        call_id=call.id,
        summary=events.summary(person.name),
        description=events.description(ctx),
        start=call.start.astimezone(ZoneInfo(call.tz)),
        end=call.end.astimezone(ZoneInfo(call.tz)),
        alarm_minutes=config.calls.reminder_minutes,
    )


# ------------------------------------------------------------------------ writing
def push(
    store: Store, calendar: Calendar, config: Config, now: datetime, *, refresh: bool = True
) -> SyncReport:
    """Write every open call that has no event yet; refresh our untouched future events
    (``refresh=False``: the caller knows nothing their text is made of has changed)."""
    report = SyncReport()
    conn = store.conn
    guard_storage(store, calendar, config, now)
    for call_id in calls_db.unwritten(conn, calendar.key):
        with store.tx():
            call = calls_db.get(conn, call_id)
            assert call is not None
            event = build_event(conn, config, call)
            calls_db.upsert_event_state(
                conn, calendar.key, call_id, event.uid, state="pending", written=event.description
            )
        etag = calendar.create(event)  # idempotent: a crash before here is simply redone
        _mark_written(store, calendar, event, etag)
        report.written += 1
    if refresh:
        report.updated = _refresh(store, calendar, config, now)
    return report


def _refresh(store: Store, calendar: Calendar, config: Config, now: datetime) -> int:
    """Rewrite future events whose generated text changed (a new topic, new context),
    unless the person has touched them: their edits are never overwritten."""
    conn = store.conn
    updated = 0
    for call_id, etag, written in calls_db.refreshable(conn, calendar.key, now):
        call = calls_db.get(conn, call_id)
        if call is None or call.start <= now:
            continue
        event = build_event(conn, config, call)
        if event.description == written:
            continue
        try:
            new_etag = calendar.update(event, etag)
        except (ConflictError, NotFoundError):
            continue  # the person changed or removed it meanwhile: the next read sees it
        _mark_written(store, calendar, event, new_etag)
        updated += 1
    return updated


def _mark_written(store: Store, calendar: Calendar, event: CallEvent, etag: str) -> None:
    """The calendar has ``event`` as syncsvc wrote it, with ``etag``."""
    with store.tx() as conn:
        calls_db.upsert_event_state(
            conn,
            calendar.key,
            event.call_id,
            event.uid,
            state="written",
            etag=etag,
            written=event.description,
        )


# ------------------------------------------------------------------------ the guard
#: this many of syncsvc's events vanishing in one read, and all of them, is a storage problem
MASS_DISAPPEARANCE = 2


def guard_storage(
    store: Store, calendar: Calendar, config: Config, now: datetime
) -> dict[str, str]:
    """Before anything is read or written: a calendar that held syncsvc's events and is now
    missing or emptied of them (a vdir on an unmounted disk) refuses, so ``plan`` never plants a
    fresh folder there and ``sync`` never reads every call as deleted; a new store adopts the
    events it finds (adopt.py). Returns the known etags."""
    adopt.adopt_if_fresh(store, calendar, config, now)
    known = calls_db.known_etags(store.conn, calendar.key)
    expect = getattr(calendar, "expect_events", None)  # backends that can check cheaply
    if expect is not None:
        expect(known)
    return known


def refuse_mass_disappearance(
    calendar: Calendar, known: dict[str, str], deleted: list[str]
) -> None:
    """Every one of syncsvc's events reported deleted in one read (at least two): a calendar
    replaced, emptied or swapped for another one, not the person deleting each call. Nothing is
    applied (vdirsyncer refuses an emptied storage the same way)."""
    if len(known) >= MASS_DISAPPEARANCE and set(known) <= set(deleted):
        raise StorageGoneError(
            f"calendar {calendar.key}: all {len(known)} of syncsvc's events vanished at once; "
            "check the calendar is the right one and its storage is there (nothing was changed)"
        )


# ------------------------------------------------------------------------ reading
def read_back(store: Store, calendar: Calendar, config: Config, now: datetime) -> SyncReport:
    """Apply what changed in the calendar since the last read; mark missed calls."""
    report = SyncReport()
    conn = store.conn
    known = guard_storage(store, calendar, config, now)
    changes = calendar.changes(store.token(calendar.key), known)
    refuse_mass_disappearance(calendar, known, changes.deleted)
    with store.tx():
        for remote in changes.changed:
            if apply_remote(conn, config, calendar.key, remote, now):
                report.applied.append(remote.call_id)
            report.changed += 1
        for uid in changes.deleted:
            report.deleted += calls_db.event_deleted(conn, calendar.key, uid)
        store.set_token(calendar.key, changes.token)
        report.missed = calls_db.mark_missed(conn, now - MISSED_AFTER)
    return report


def apply_remote(
    conn: Connection, config: Config, calendar: str, remote: RemoteEvent, now: datetime
) -> bool:
    """Take one event as the person left it. True if new notes were applied."""
    from syncsvc import notes

    call = calls_db.get(conn, remote.call_id)
    if call is None:
        return False  # another installation's event in a shared calendar: not ours to read
    state = calls_db.event_state(conn, calendar, call.id)
    written = state.written if state else None
    text_now = html_to_text(remote.description).strip()
    edited = written is not None and text_now != html_to_text(written).strip()
    calls_db.upsert_event_state(
        conn, calendar, call.id, remote.uid, state="written", etag=remote.etag
    )
    moved = _moved(call, remote)
    if (edited or moved) and not (state and state.edited):
        calls_db.mark_edited(conn, calendar, call.id)
    if moved:
        _move(conn, call, remote)
        call = calls_db.get(conn, call.id) or call
    user = events.user_text(remote.description, written)
    parsed = notes.parse_notes(user, call_day=call.day, title=remote.summary)
    if parsed.outcome is None:
        return False
    digest = hashlib.sha256(f"{remote.summary}\n{parsed.text}".encode()).hexdigest()
    if digest == call.notes_hash:
        return False
    apply_notes(conn, config, call, parsed, digest, now)
    return True


def _moved(call: calls_db.Call, remote: RemoteEvent) -> bool:
    return remote.start is not None and remote.start != call.start


def _move(conn: Connection, call: calls_db.Call, remote: RemoteEvent) -> None:
    """The person moved the event: the call keeps its new time (and day, if free)."""
    assert remote.start is not None
    zone = ZoneInfo(call.tz)
    start = remote.start.astimezone(zone)
    end = (remote.end or remote.start + (call.end - call.start)).astimezone(zone)
    calls_db.move(conn, call, start, end)


def apply_notes(
    conn: Connection,
    config: Config,
    call: calls_db.Call,
    parsed: notes.ParsedNotes,
    digest: str,
    now: datetime,
) -> None:
    """Record the notes (store/notes.py); a rescheduled call gets its retry, on the day the
    notes name or else the next planning day (never a day already gone)."""
    assert parsed.outcome is not None
    recorded = notes_db.Notes(
        outcome=parsed.outcome,
        text=parsed.text,
        digest=digest,
        follow_up=parsed.follow_up,
        referrals=[_referral(ref, config.calls.region) for ref in parsed.referrals],
        offers=parsed.offers,
        wins=parsed.wins,
    )
    notes_db.apply_notes(conn, call, recorded, now)
    if parsed.outcome == "rescheduled":
        today = now.astimezone(config.calls.zone).date()
        earliest = max(call.day + timedelta(days=1), today)
        day = parsed.reschedule_to
        if day is None or day < earliest:  # "later", or a day already gone
            day = planner.planning_days(config.calls, earliest, 1)[0]
        scheduling.add_retry(conn, config.calls, call, day, store_db.install_id(conn))


def _referral(ref: notes.Referral, region: str | None) -> notes_db.Referral:
    """A ``ref:`` line with its addresses normalised, as the store matches them."""
    from syncsvc.contacts.phones import default_region, normalize_email, normalize_phone

    region = region or default_region()
    return notes_db.Referral(
        name=ref.name,
        emails=[(e, normalize_email(e)) for e in ref.emails],
        phones=[(p, normalize_phone(p, region)) for p in ref.phones],
    )
