"""Applying the person's notes to a call: the outcome, and what the notes produced (referrals,
offers, wins, and the thank-you updates a win earns everyone in its referral chain).

The notes are parsed (``syncsvc/notes.py``) and their addresses normalised by the caller; this
module only records them. Applying the same notes twice changes nothing: every row is keyed.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from syncsvc.store import calls as calls_db
from syncsvc.store import people as people_db


@dataclass(frozen=True)
class Referral:
    """One ``ref:`` line: a name and/or addresses, each as (as written, normalised)."""

    name: str | None
    emails: Sequence[tuple[str, str]] = ()
    phones: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True)
class Notes:
    """What the person's notes say about one call."""

    outcome: str  # done | no_answer | rescheduled | skipped
    text: str
    digest: str  # of the notes as read: the same digest again is not applied again
    follow_up: date | None = None
    referrals: Sequence[Referral] = ()
    offers: Sequence[str] = ()
    wins: Sequence[str] = ()


def apply_notes(conn: sqlite3.Connection, call: calls_db.Call, notes: Notes, now: datetime) -> None:
    """Record ``notes`` on ``call``: its outcome and text; a done call updates the person's
    last contact; referrals are matched or added (referred by the call's person); offers and
    wins are kept; a win queues a thank-you update for everyone in the referral chain."""
    conn.execute(
        "UPDATE calls SET outcome = ?, notes = ?, notes_hash = ?, follow_up = ?, updated_at = ? "
        "WHERE id = ?",
        (
            notes.outcome,
            notes.text,
            notes.digest,
            notes.follow_up.isoformat() if notes.follow_up else None,
            now.isoformat(timespec="seconds"),
            call.id,
        ),
    )
    if notes.outcome == "done":
        conn.execute(
            "UPDATE people SET last_contacted = max(coalesce(last_contacted, ''), ?) WHERE id = ?",
            (call.day.isoformat(), call.person_id),
        )
    for ref in notes.referrals:
        person_id = referred_person(conn, ref, call.person_id)
        conn.execute(
            "INSERT OR IGNORE INTO referrals(call_id, person_id) VALUES (?, ?)",
            (call.id, person_id),
        )
    for text in notes.offers:
        conn.execute(
            "INSERT OR IGNORE INTO offers(call_id, person_id, text) VALUES (?, ?, ?)",
            (call.id, call.person_id, text),
        )
    for text in notes.wins:
        conn.execute("INSERT OR IGNORE INTO wins(call_id, text) VALUES (?, ?)", (call.id, text))
    if notes.wins:
        queue_updates(conn, call.id, call.person_id)


def queue_updates(conn: sqlite3.Connection, win_call: str, person_id: int) -> None:
    """Everyone whose referrals led to ``person_id`` (and they themselves) gets a thank-you
    update call about the win on ``win_call`` (the planner's update lane)."""
    for someone in people_db.referral_chain(conn, person_id):
        conn.execute(
            "INSERT OR IGNORE INTO updates(win_call, person_id) VALUES (?, ?)",
            (win_call, someone),
        )


def referred_person(conn: sqlite3.Connection, ref: Referral, referrer: int) -> int:
    """Match a ``ref:`` line to a known person by email or phone, else by exact full name;
    otherwise add them, referred by ``referrer``. A known person gets ``referrer`` as their
    referrer only if they had none (and are not the referrer); new addresses are added."""
    person_id = people_db.match(
        conn, emails=[n for _, n in ref.emails], phones=[n for _, n in ref.phones]
    )
    if person_id is None and ref.name:
        person_id = people_db.first_named(conn, ref.name)
    if person_id is None:
        name = ref.name or (
            ref.emails[0][0] if ref.emails else ref.phones[0][0] if ref.phones else "?"
        )
        person_id = people_db.add(conn, name=name, source="referral", referred_by=referrer)
    elif person_id != referrer:
        people_db.set_referrer_if_unknown(conn, person_id, referrer)
    for value, norm in ref.emails:
        people_db.add_address(conn, person_id, "email", value, norm)
    for value, norm in ref.phones:
        people_db.add_address(conn, person_id, "phone", value, norm)
    return person_id


def undo_notes(conn: sqlite3.Connection, call: calls_db.Call) -> None:
    """The person changed their mind about ``call``'s note: take back what its earlier
    reading produced that the new reading decides again — offers not yet done, wins, and the
    thank-you updates a win queued that are not planned yet. People it added stay on the list
    (and their referral rows): a name once written down is never lost."""
    conn.execute("DELETE FROM offers WHERE call_id = ? AND done_at IS NULL", (call.id,))
    conn.execute("DELETE FROM updates WHERE win_call = ? AND call_id IS NULL", (call.id,))
    conn.execute("DELETE FROM wins WHERE call_id = ?", (call.id,))
