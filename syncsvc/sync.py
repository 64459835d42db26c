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
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from syncsvc import adopt, events, planner, scheduling
from syncsvc.calendars.base import UID_SUFFIX, Calendar, CallEvent, Changes, RemoteEvent
from syncsvc.config import Config
from syncsvc.errors import FORCE_DELETE_HINT, ConflictError, NotFoundError, StorageGoneError
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
class CallRead:
    """What one sync understood of one call's event: said back in ``sync``'s output, the
    daemon's log and the receipt in the event."""

    call_id: str
    person: str
    understood: list[str] = field(default_factory=list)
    not_understood: list[str] = field(default_factory=list)
    error: str | None = None  # the note could not be applied (the other calls' were)

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "call_id": self.call_id,
            "person": self.person,
            "understood": self.understood,
            "not_understood": self.not_understood,
        }
        if self.error is not None:
            out["error"] = self.error
        return out

    def line(self) -> str:
        """One line: the person and what was understood, plus the lines not used."""
        said = "; ".join(events.clean_line(x) for x in self.understood) or "nothing to act on"
        out = f"{events.clean_line(self.person)}: {said}"
        if self.not_understood:
            out += " — not understood: " + " | ".join(
                events.clean_line(x) for x in self.not_understood
            )
        if self.error is not None:
            out += f" — could not be applied: {events.clean_line(self.error)}"
        return out


@dataclass
class SyncReport:
    written: int = 0
    updated: int = 0
    changed: int = 0
    deleted: int = 0
    missed: int = 0
    applied: list[str] = field(default_factory=list)  # call ids whose notes were applied
    calls: list[CallRead] = field(default_factory=list)  # every call whose note was read
    problems: list[str] = field(default_factory=list)  # "FILE: reason" for each file skipped
    #: ``--force-delete`` found the calendar's storage gone (a vdir folder removed): nothing is
    #: written this run, so the folder is not planted again until the next ``plan``
    storage_gone: bool = False

    def as_json(self) -> dict[str, object]:
        return {
            "written": self.written,
            "updated": self.updated,
            "changed": self.changed,
            "deleted": self.deleted,
            "missed": self.missed,
            "applied": self.applied,
            "calls": [c.as_json() for c in self.calls],
            "problems": self.problems,
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
        open_offers=[o.text for o in calls_db.offers_open(conn, person.id)],
        wins=wins,
        urls=person.urls,
        about=person.note,
        reason=call.reason or None,
    )
    location, tel = events.phone_location(person.phones)
    return CallEvent(
        uid=uid_for(call.id),
        call_id=call.id,
        summary=events.summary(person.name),
        description=events.description(ctx),
        start=call.start.astimezone(ZoneInfo(call.tz)),
        end=call.end.astimezone(ZoneInfo(call.tz)),
        alarm_minutes=config.calls.reminder_minutes,
        location=location,
        tel=tel,
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
            state = calls_db.event_state(conn, calendar.key, call_id)
            retried = state is not None and state.state == "pending" and bool(state.written)
            if retried and state is not None and state.written != event.description:
                # an earlier attempt may have written its text: either is ours (see _refresh)
                calls_db.set_rewriting(conn, calendar.key, call_id, event.description)
            else:
                calls_db.upsert_event_state(
                    conn,
                    calendar.key,
                    call_id,
                    event.uid,
                    state="pending",
                    written=event.description,
                )
        # idempotent: a crash before the record is simply redone
        calendar.create_recorded(event, _recorder(store, calendar, event, retried=retried))
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
        with store.tx() as conn:  # a crash after the write leaves the new text known as ours
            calls_db.set_rewriting(conn, calendar.key, call_id, event.description)
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
        calls_db.settle_rewrite(conn, calendar.key, event.call_id, None)


def _recorder(
    store: Store, calendar: Calendar, event: CallEvent, *, retried: bool
) -> Callable[[str, bool], None]:
    """What ``create_recorded`` calls once ``event`` is in the calendar (or, on vdir, just
    before it becomes visible there)."""

    def record(etag: str, exact: bool) -> None:
        if retried and not exact:
            _mark_unread(store, calendar, event)
        else:
            _mark_written(store, calendar, event, etag)

    return record


def _mark_unread(store: Store, calendar: Calendar, event: CallEvent) -> None:
    """A create redone after a crash: the calendar may hold the earlier attempt's event, which
    the person may have edited since (``create`` keeps what is there), so no etag is recorded:
    the next read takes the event as it is, and only then may it be refreshed."""
    with store.tx() as conn:
        calls_db.upsert_event_state(conn, calendar.key, event.call_id, event.uid, state="written")


# ------------------------------------------------------------------------ the guard
#: this many of syncsvc's events vanishing in one read, and all of them, is a storage problem
MASS_DISAPPEARANCE = 2


def guard_storage(
    store: Store,
    calendar: Calendar,
    config: Config,
    now: datetime,
    *,
    force_delete: bool = False,
) -> dict[str, str]:
    """Before anything is read or written: a calendar that held syncsvc's events and is now
    missing or emptied of them (a vdir on an unmounted disk) refuses, so ``plan`` never plants a
    fresh folder there and ``sync`` never reads every call as deleted; a new store adopts the
    events it finds (adopt.py). Returns the known etags.

    ``force_delete`` (``syncsvc sync --force-delete``, never the daemon): the person says they
    removed the events themselves, so the refusal is let through this once and ``read_back``
    reads every vanished event as their deletion."""
    adopt.adopt_if_fresh(store, calendar, config, now)
    known = calls_db.known_etags(store.conn, calendar.key)
    expect = getattr(calendar, "expect_events", None)  # backends that can check cheaply
    if expect is not None:
        try:
            expect(known)
        except StorageGoneError:
            if not force_delete:
                raise
    return known


def refuse_mass_disappearance(
    calendar: Calendar, known: dict[str, str], deleted: list[str]
) -> None:
    """Every one of syncsvc's events reported deleted in one read (at least two): a calendar
    replaced, emptied or swapped for another one, not the person deleting each call. Nothing is
    applied (vdirsyncer refuses an emptied storage the same way) unless the person says so with
    ``--force-delete``, which the message names."""
    if len(known) >= MASS_DISAPPEARANCE and set(known) <= set(deleted):
        raise StorageGoneError(
            f"calendar {calendar.key}: all {len(known)} of syncsvc's events vanished at once; "
            "check the calendar is the right one and its storage is there (nothing was "
            f"changed); {FORCE_DELETE_HINT}"
        )


def _changes(
    calendar: Calendar, token: str | None, known: dict[str, str], *, force_delete: bool
) -> tuple[Changes, bool]:
    """``calendar.changes``, guarded: all of syncsvc's events vanishing at once refuses
    (``refuse_mass_disappearance``), unless ``force_delete``; then a storage that is gone
    altogether (a vdir folder removed) reads as every known event deleted. Also returns
    whether the storage was gone."""
    try:
        changes = calendar.changes(token, known)
    except StorageGoneError:
        if not force_delete:
            raise
        changes, gone = Changes(deleted=sorted(known), token=token), True
    else:
        gone = False
        if not force_delete:
            refuse_mass_disappearance(calendar, known, changes.deleted)
    if force_delete and known and set(known) <= set(changes.deleted):
        log.info(
            "calendar %s: all %d of syncsvc's events read as deleted by you (--force-delete)",
            calendar.key,
            len(known),
        )
    return changes, gone


# ------------------------------------------------------------------------ reading
PREP_KEPT = "preparation note kept: after the call, write how it went"


@dataclass
class _Receipt:
    """A receipt to write back into an event once the notes are committed."""

    remote: RemoteEvent
    call: calls_db.Call
    text: str  # the event's description as text now
    old: str | None  # the receipt syncsvc wrote before (replaced, never doubled)
    new: str


def read_back(
    store: Store,
    calendar: Calendar,
    config: Config,
    now: datetime,
    *,
    force_delete: bool = False,
) -> SyncReport:
    """Apply what changed in the calendar since the last read; mark missed calls; then say
    what was understood back into each event (the receipt). ``force_delete``: every event
    that vanished is the person's deletion, even all of them at once (``guard_storage``).

    Each call's note is applied on its own (a savepoint): one that fails is reported and the
    others proceed. Receipts are written after the commit with the backend's conditional
    write, so an edit the person made meanwhile wins (the next read sees it). Until an event's
    receipt is written, neither its new etag nor the sync token is stored: a crash in between
    means the event is read again, and the same note read twice changes nothing."""
    report = SyncReport()
    conn = store.conn
    known = guard_storage(store, calendar, config, now, force_delete=force_delete)
    token = store.token(calendar.key)
    changes, report.storage_gone = _changes(calendar, token, known, force_delete=force_delete)
    report.problems = list(changes.problems)  # bad event files skipped: shown, not only logged
    receipts: list[_Receipt] = []
    cancelled: list[calls_db.Call] = []
    with store.tx():
        for remote in changes.changed:
            report.changed += 1
            read = _read_one(store, config, calendar.key, remote, now, receipts, cancelled)
            if read is None:
                continue
            report.calls.append(read)
            if read.understood and read.error is None:
                report.applied.append(remote.call_id)
        for uid in changes.deleted:
            report.deleted += calls_db.event_deleted(conn, calendar.key, uid)
        if not receipts:
            store.set_token(calendar.key, changes.token)
        report.missed = calls_db.mark_missed(conn, now - MISSED_AFTER)
    for receipt in receipts:
        _write_receipt(store, calendar, config, receipt)
    for call in cancelled:
        _remove_event(store, calendar, call)
    if receipts:
        with store.tx():
            store.set_token(calendar.key, changes.token)
    return report


def _read_one(
    store: Store,
    config: Config,
    calendar: str,
    remote: RemoteEvent,
    now: datetime,
    receipts: list[_Receipt],
    cancelled: list[calls_db.Call],
) -> CallRead | None:
    """``apply_remote`` for one event, isolated: a failure rolls back this event alone and is
    reported for it (sync output, log, receipt)."""
    try:
        with store.savepoint() as conn:
            return apply_remote(conn, config, calendar, remote, now, receipts, cancelled)
    except Exception as e:  # anything at all: the other calls' notes must still be read
        call = calls_db.get(store.conn, remote.call_id)
        if call is None:
            return None
        state = calls_db.event_state(store.conn, calendar, call.id)
        error = str(e) or type(e).__name__
        read = CallRead(call.id, call.person_name, error=error)
        new = events.receipt_block([f"could not be applied: {error}"])
        old = state.receipt if state else None
        _queue_receipt(receipts, _Receipt(remote, call, html_to_text(remote.description), old, new))
        return read


def apply_remote(
    conn: Connection,
    config: Config,
    calendar: str,
    remote: RemoteEvent,
    now: datetime,
    receipts: list[_Receipt] | None = None,
    cancelled: list[calls_db.Call] | None = None,
) -> CallRead | None:
    """Take one event as the person left it: its time, their text (the difference from what
    syncsvc wrote), and what that text means for the call. Returns what was read (None: not
    our call, or nothing written); a receipt to write goes to ``receipts``, and retry calls a
    changed note no longer wants to ``cancelled``."""
    from syncsvc import notes

    call = calls_db.get(conn, remote.call_id)
    if call is None:
        return None  # another installation's event in a shared calendar: not ours to read
    state = calls_db.event_state(conn, calendar, call.id)
    written = state.written if state else None
    old_receipt = state.receipt if state else None
    if state is not None and state.rewriting:
        written = _rewritten(remote.description, written, state.rewriting, old_receipt)
        calls_db.settle_rewrite(conn, calendar, call.id, written)
    if state is not None and state.receipt_sending is not None:
        old_receipt = _receipt_now(remote.description, written, old_receipt, state.receipt_sending)
        calls_db.settle_receipt(conn, calendar, call.id, old_receipt)
    text_now = html_to_text(remote.description)
    user = events.user_text(remote.description, written, old_receipt)
    expected = events.with_receipt(written or "", old_receipt) if old_receipt else written or ""
    edited = written is not None and (bool(user) or not events.same_text(text_now, expected))
    moved = _moved(call, remote)
    if (edited or moved) and not (state and state.edited):
        calls_db.mark_edited(conn, calendar, call.id)
    if moved:
        _move(conn, call, remote)
        call = calls_db.get(conn, call.id) or call

    before_start = now < call.start
    if before_start:
        parsed = notes.parse_notes(user, call_day=call.day, title=remote.summary, before_start=True)
        if parsed.outcome is None and user != call.prep_notes:
            calls_db.set_prep_notes(conn, call.id, user)
    else:
        after = events.added_text(user, call.prep_notes)
        parsed = notes.parse_notes(after, call_day=call.day, title=remote.summary)
        if parsed.outcome is None and call.prep_notes:  # only a plain outcome counts
            parsed = notes.parse_notes(
                call.prep_notes, call_day=call.day, title=remote.summary, before_start=True
            )

    read: CallRead | None = None
    if parsed.outcome is not None:
        digest = hashlib.sha256(f"{remote.summary}\n{parsed.text}".encode()).hexdigest()
        referred: Sequence[notes_db.Referred | None]
        closings: Sequence[notes_db.Closing]
        if digest != call.notes_hash:
            if call.notes_hash is not None:  # a change of mind: the new text decides
                _undo(conn, config, call, parsed, now, cancelled)
            applied = apply_notes(conn, config, call, parsed, digest, now)
            referred, closings = applied.referrals, applied.closings
        else:  # read again unchanged: the receipt says what the first reading did
            refs = [_referral(ref, config.calls.region) for ref in parsed.referrals]
            referred = notes_db.referrals_read(conn, call.id, refs)
            closings = notes_db.closings_read(conn, call, parsed.closed_offers)
        understood = _understood(parsed, referred, closings, call)
        read = CallRead(call.id, call.person_name, understood, list(parsed.not_understood))
    elif user:
        read = CallRead(call.id, call.person_name, [PREP_KEPT], list(parsed.not_understood))

    pending = False
    if read is not None and receipts is not None:
        new = events.receipt_block(
            [*read.understood, *(f"not understood: {line}" for line in read.not_understood)]
        )
        pending = _queue_receipt(receipts, _Receipt(remote, call, text_now, old_receipt, new))
    # the event's new etag is stored once its receipt is written (see read_back)
    calls_db.upsert_event_state(
        conn, calendar, call.id, remote.uid, state="written", etag=None if pending else remote.etag
    )
    return read


def _understood(
    parsed: notes.ParsedNotes,
    referred: Sequence[notes_db.Referred | None],
    closings: Sequence[notes_db.Closing],
    call: calls_db.Call,
) -> list[str]:
    """The receipt lines: the parser's, with each ``new name:`` line whose person the store
    found already on the list (``referred``, one per ``ref:`` line) saying so instead, and
    each ``offer done:`` line saying which offer it closed, or that it closed none
    (``closings``, one per ``gave:`` text): the receipt says what syncsvc did, never a guess."""
    from syncsvc import notes

    lines = list(parsed.understood)
    _say_instead(
        lines,
        (
            (
                notes.new_name_line(ref),
                known_name_line(ref, who, call.person_id)
                if who is not None and who.matched_by is not None
                else None,
            )
            for ref, who in zip(parsed.referrals, referred, strict=True)
        ),
    )
    _say_instead(
        lines,
        (
            (notes.offer_done_line(c.said), offer_done_line(c, call.person_name, call.day))
            for c in closings
        ),
    )
    return lines


def _say_instead(lines: list[str], changes: Iterable[tuple[str, str | None]]) -> None:
    """Replace, in order, each parser's line in ``lines`` with what the store found it did
    (None: leave it). The parser writes one line per referral / closed offer, in order; a
    line not found is left as the parser wrote it: the receipt never fails a note."""
    at = 0
    for line, instead in changes:
        try:
            at = lines.index(line, at)
        except ValueError:
            continue
        if instead is not None:
            lines[at] = instead
        at += 1


def offer_done_line(closing: notes_db.Closing, person: str, day: date) -> str:
    """The receipt line for a ``gave:`` line, saying what it did, e.g. ``offer done: the
    article — closed "send her the article" (offered 27 Nov)``, ``... — "send her the
    article" was already done (offered 27 Nov)``, or, matching no offer, ``nothing closed:
    the article — no open offer to Ann matches it (see syncsvc offers)``. That last one
    starts with no notes keyword: copied into a note, it must not close an offer; the others
    close again only the offer they name. ``day``: the call's, so an offer from another year
    says its year."""
    offer = closing.offer
    if offer is None:
        return (
            f"nothing closed: {closing.said} — no open offer to {person} matches it "
            "(see syncsvc offers)"
        )
    when = f"{offer.day.day} {offer.day:%b}" + (
        f" {offer.day.year}" if offer.day.year != day.year else ""
    )
    if closing.now:
        return f'offer done: {closing.said} — closed "{offer.text}" (offered {when})'
    return f'offer done: {closing.said} — "{offer.text}" was already done (offered {when})'


def known_name_line(ref: notes.Referral, who: notes_db.Referred, called: int) -> str:
    """The receipt line for a ``ref:`` line that named someone already on the list, e.g.
    ``known name: Jane Roe <jane@example.org> — already on your list (as "Jane R.", matched
    by email)``; the list's name is given when it is not the one written. Not a notes keyword
    (as ``referral:`` would be), like ``new name:``."""
    from syncsvc import notes

    where = "the person you called" if who.person_id == called else "already on your list"
    how = f"matched by {who.matched_by}"
    if who.name.strip().casefold() != ref.name.strip().casefold():
        how = f'as "{who.name}", {how}'
    return f"known name: {notes.referral_says(ref)} — {where} ({how})"


def _rewritten(
    description: str, written: str | None, rewriting: tuple[str, ...], receipt: str | None
) -> str:
    """Which of syncsvc's texts the event carries when rewrites were sent but never recorded
    (a crash in between): the one that leaves least of the event to the person (``written``
    on a tie, then the newest rewrite)."""
    best = written
    left = len(events.user_text(description, written, receipt)) if written is not None else None
    for text in reversed(rewriting):
        mine = len(events.user_text(description, text, receipt))
        if left is None or mine < left:
            best, left = text, mine
    assert best is not None  # rewriting is never empty here
    return best


def _receipt_now(
    description: str, written: str | None, old: str | None, sending: str
) -> str | None:
    """Which receipt the event ends with when one was sent but never recorded (a crash in
    between): the one that leaves less of the event to the person."""
    as_new = events.user_text(description, written, sending)
    as_old = events.user_text(description, written, old)
    return sending if len(as_new) < len(as_old) else old


def _queue_receipt(receipts: list[_Receipt], r: _Receipt) -> bool:
    """Queue ``r`` unless the event already ends with it; True if queued. An event under
    another uid than the call's (a copy some app or someone planted) gets none: syncsvc
    writes only its own events."""
    if r.remote.uid != uid_for(r.call.id):
        return False
    if r.new == r.old and events.ends_with(r.text, r.new):
        return False
    receipts.append(r)
    return True


def _undo(
    conn: Connection,
    config: Config,
    call: calls_db.Call,
    parsed: notes.ParsedNotes,
    now: datetime,
    cancelled: list[calls_db.Call] | None,
) -> None:
    """Before a changed note is applied: take back what the earlier reading produced (store
    rule ``undo_notes``), and the retry call an earlier "reschedule" made unless the new note
    still wants it: it asks for that same day, or for no day in particular ("reschedule
    later": the retry there is, on the day it was planned for or the one the person moved it
    to, is that). A retry taken back has its event removed after the commit."""
    notes_db.undo_notes(conn, call)
    keep = _reschedule_day(config, call, parsed, now) if parsed.outcome == "rescheduled" else None
    any_day = parsed.outcome == "rescheduled" and parsed.reschedule_to is None
    for retry in calls_db.open_retries_from(conn, call.id):
        if retry.day != keep and not any_day:
            calls_db.cancel_retry(conn, retry.id)
            if cancelled is not None:
                cancelled.append(retry)


def _write_receipt(store: Store, calendar: Calendar, config: Config, r: _Receipt) -> None:
    """Append the receipt to the event as the person left it (title, time and text kept),
    only if it is still as read: a conflict means they edited it meanwhile, and their edit
    wins; the next read sees it and writes a fresh receipt."""
    zone = ZoneInfo(r.call.tz)
    start = (r.remote.start or r.call.start).astimezone(zone)
    end = (r.remote.end or r.call.end).astimezone(zone)
    event = CallEvent(
        uid=r.remote.uid,
        call_id=r.call.id,
        summary=r.remote.summary,
        description=events.with_receipt(r.text, r.new, r.old),
        start=start,
        end=end if end > start else start + (r.call.end - r.call.start),
        alarm_minutes=config.calls.reminder_minutes,
    )
    with store.tx() as conn:  # a crash after the write leaves the receipt known as ours
        calls_db.set_receipt_sending(conn, calendar.key, r.call.id, r.new)
    try:
        etag = calendar.update(event, r.remote.etag)
    except (ConflictError, NotFoundError):
        return
    with store.tx() as conn:
        calls_db.set_receipt(conn, calendar.key, r.call.id, etag, r.new)


def _remove_event(store: Store, calendar: Calendar, call: calls_db.Call) -> None:
    """A retry call the person's changed note no longer wants (already skipped in the store):
    its event goes, unless they touched it (then it stays theirs)."""
    state = calls_db.event_state(store.conn, calendar.key, call.id)
    if state is None or state.state != "written" or state.edited:
        return
    try:
        calendar.delete(state.uid, state.etag)
    except (ConflictError, NotFoundError):
        return
    with store.tx() as conn:
        calls_db.upsert_event_state(conn, calendar.key, call.id, state.uid, state="deleted")


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
) -> notes_db.Applied:
    """Record the notes (store/notes.py); a rescheduled call gets its retry, on the day the
    notes name or else the next planning day (never a day already gone). Returns what the
    store did (who each referral turned out to be, for the receipt)."""
    assert parsed.outcome is not None
    recorded = notes_db.Notes(
        outcome=parsed.outcome,
        text=parsed.text,
        digest=digest,
        follow_up=parsed.follow_up,
        referrals=[_referral(ref, config.calls.region) for ref in parsed.referrals],
        offers=parsed.offers,
        wins=parsed.wins,
        closed_offers=parsed.closed_offers,
    )
    applied = notes_db.apply_notes(conn, call, recorded, now)
    if parsed.outcome == "rescheduled":
        day = _reschedule_day(config, call, parsed, now)
        scheduling.add_retry(conn, config.calls, call, day, store_db.install_id(conn))
    return applied


def _reschedule_day(
    config: Config, call: calls_db.Call, parsed: notes.ParsedNotes, now: datetime
) -> date:
    """The day a rescheduled call asks for; "later", or a day already gone, is the next
    planning day."""
    today = now.astimezone(config.calls.zone).date()
    earliest = max(call.day + timedelta(days=1), today)
    day = parsed.reschedule_to
    if day is None or day < earliest:
        day = planner.planning_days(config.calls, earliest, 1)[0]
    return day


def _referral(ref: notes.Referral, region: str | None) -> notes_db.Referral:
    """A ``ref:`` line with its addresses normalised, as the store matches them."""
    from syncsvc.contacts.phones import default_region, normalize_email, normalize_phone

    region = region or default_region()
    return notes_db.Referral(
        name=ref.name,
        emails=[(e, normalize_email(e)) for e in ref.emails],
        phones=[(p, normalize_phone(p, region)) for p in ref.phones],
    )
