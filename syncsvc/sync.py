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
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from syncsvc import events, planner
from syncsvc.calendars.base import UID_SUFFIX, Calendar, CallEvent, RemoteEvent
from syncsvc.config import Config
from syncsvc.errors import ConflictError, NotFoundError
from syncsvc.store import Store
from syncsvc.store import calls as calls_db
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


def build_event(conn: sqlite3.Connection, config: Config, call: calls_db.Call) -> CallEvent:
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
    wins = [  # an update call tells them about the win their referral led to
        r[0]
        for r in conn.execute(
            "SELECT w.text FROM updates u JOIN wins w ON w.call_id = u.win_call "
            "WHERE u.call_id = ? ORDER BY w.rowid",
            (call.id,),
        )
    ]
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
    rows = conn.execute(
        """SELECT c.id FROM calls c
           LEFT JOIN calendar_events e ON e.call_id = c.id AND e.calendar = ?
           WHERE c.outcome = 'planned' AND (e.state IS NULL OR e.state = 'pending')
           ORDER BY c.day, c.start_at""",
        (calendar.key,),
    ).fetchall()
    for (call_id,) in rows:
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
    rows = conn.execute(
        """SELECT c.id, e.etag, e.written FROM calls c
           JOIN calendar_events e ON e.call_id = c.id AND e.calendar = ?
           WHERE c.outcome = 'planned' AND e.state = 'written' AND e.edited = 0
             AND c.notes_hash IS NULL AND c.start_at > ?""",
        (calendar.key, now.isoformat()),
    ).fetchall()
    updated = 0
    for call_id, etag, written in rows:
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


# ------------------------------------------------------------------------ reading
def read_back(store: Store, calendar: Calendar, config: Config, now: datetime) -> SyncReport:
    """Apply what changed in the calendar since the last read; mark missed calls."""
    report = SyncReport()
    conn = store.conn
    known = calls_db.known_etags(conn, calendar.key)
    changes = calendar.changes(store.token(calendar.key), known)
    with store.tx():
        for remote in changes.changed:
            if apply_remote(conn, config, calendar.key, remote, now):
                report.applied.append(remote.call_id)
            report.changed += 1
        for uid in changes.deleted:
            report.deleted += apply_deleted(conn, calendar.key, uid)
        store.set_token(calendar.key, changes.token)
        report.missed = mark_missed(conn, now)
    return report


def apply_deleted(conn: sqlite3.Connection, calendar: str, uid: str) -> int:
    """The person deleted our event: never write it again; an open call counts as skipped."""
    state = calls_db.event_state_by_uid(conn, calendar, uid)
    if state is None or state.state == "deleted":
        return 0
    calls_db.upsert_event_state(conn, calendar, state.call_id, uid, state="deleted")
    call = calls_db.get(conn, state.call_id)
    if call is not None and call.outcome == "planned":
        calls_db.set_outcome(conn, call.id, "skipped")
    return 1


def apply_remote(
    conn: sqlite3.Connection, config: Config, calendar: str, remote: RemoteEvent, now: datetime
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
        conn.execute(
            "UPDATE calendar_events SET edited = 1 WHERE calendar = ? AND call_id = ?",
            (calendar, call.id),
        )
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


def _move(conn: sqlite3.Connection, call: calls_db.Call, remote: RemoteEvent) -> None:
    """The person moved the event: the call keeps its new time (and day, if free)."""
    assert remote.start is not None
    zone = ZoneInfo(call.tz)
    start = remote.start.astimezone(zone)
    end = (remote.end or remote.start + (call.end - call.start)).astimezone(zone)
    day = start.date().isoformat()
    clash = conn.execute(
        "SELECT 1 FROM calls WHERE person_id = ? AND day = ? AND id != ?",
        (call.person_id, day, call.id),
    ).fetchone()
    conn.execute(
        "UPDATE calls SET start_at = ?, end_at = ?, day = CASE WHEN ? THEN day ELSE ? END "
        "WHERE id = ?",
        (start.isoformat(), end.isoformat(), bool(clash), day, call.id),
    )


def apply_notes(
    conn: sqlite3.Connection,
    config: Config,
    call: calls_db.Call,
    parsed: notes.ParsedNotes,
    digest: str,
    now: datetime,
) -> None:
    assert parsed.outcome is not None
    conn.execute(
        "UPDATE calls SET outcome = ?, notes = ?, notes_hash = ?, follow_up = ?, updated_at = ? "
        "WHERE id = ?",
        (
            parsed.outcome,
            parsed.text,
            digest,
            parsed.follow_up.isoformat() if parsed.follow_up else None,
            now.isoformat(timespec="seconds"),
            call.id,
        ),
    )
    if parsed.outcome == "done":
        conn.execute(
            "UPDATE people SET last_contacted = max(coalesce(last_contacted, ''), ?) WHERE id = ?",
            (call.day.isoformat(), call.person_id),
        )
    if parsed.outcome == "rescheduled":
        today = now.astimezone(config.calls.zone).date()
        earliest = max(call.day + timedelta(days=1), today)
        day = parsed.reschedule_to
        if day is None or day < earliest:  # "later", or a day already gone
            day = planner.planning_days(config.calls, earliest, 1)[0]
        install = conn.execute("SELECT value FROM meta WHERE key = 'install_id'").fetchone()[0]
        planner.add_retry(conn, config.calls, call, day, install)
    region = config.calls.region
    for ref in parsed.referrals:
        person_id = _referred_person(conn, ref, call.person_id, region)
        conn.execute(
            "INSERT OR IGNORE INTO referrals(call_id, person_id) VALUES (?, ?)",
            (call.id, person_id),
        )
    for text in parsed.offers:
        conn.execute(
            "INSERT OR IGNORE INTO offers(call_id, person_id, text) VALUES (?, ?, ?)",
            (call.id, call.person_id, text),
        )
    for text in parsed.wins:
        conn.execute("INSERT OR IGNORE INTO wins(call_id, text) VALUES (?, ?)", (call.id, text))
    if parsed.wins:
        for person_id in people_db.referral_chain(conn, call.person_id):
            conn.execute(
                "INSERT OR IGNORE INTO updates(win_call, person_id) VALUES (?, ?)",
                (call.id, person_id),
            )


def _referred_person(
    conn: sqlite3.Connection, ref: notes.Referral, referrer: int, region: str | None
) -> int:
    """Match a ``ref:`` line to a known person by email or phone, else by exact full name;
    otherwise add them, referred by ``referrer``."""
    from syncsvc.contacts.phones import default_region, normalize_email, normalize_phone

    region = region or default_region()
    emails = [(e, normalize_email(e)) for e in ref.emails]
    phones = [(p, normalize_phone(p, region)) for p in ref.phones]
    person_id = people_db.match(conn, emails=[n for _, n in emails], phones=[n for _, n in phones])
    if person_id is None and ref.name:
        row = conn.execute(
            "SELECT id FROM people WHERE name = ? ORDER BY id LIMIT 1", (ref.name,)
        ).fetchone()
        person_id = row[0] if row else None
    if person_id is None:
        name = ref.name or (ref.emails[0] if ref.emails else ref.phones[0] if ref.phones else "?")
        person_id = people_db.add(conn, name=name, source="referral", referred_by=referrer)
    elif person_id != referrer:
        conn.execute(
            "UPDATE people SET referred_by = ? WHERE id = ? AND referred_by IS NULL",
            (referrer, person_id),
        )
    for value, norm in emails:
        people_db.add_address(conn, person_id, "email", value, norm)
    for value, norm in phones:
        people_db.add_address(conn, person_id, "phone", value, norm)
    return person_id


def mark_missed(conn: sqlite3.Connection, now: datetime) -> int:
    """Open calls whose end passed a day ago with nothing written become ``missed``."""
    cutoff = now - MISSED_AFTER
    ids = [
        r[0]
        for r in conn.execute(
            "SELECT id, end_at FROM calls WHERE outcome = 'planned' AND day <= ?",
            (cutoff.date().isoformat(),),
        )
        if datetime.fromisoformat(r[1]) <= cutoff
    ]
    for call_id in ids:
        calls_db.set_outcome(conn, call_id, "missed")
    return len(ids)
