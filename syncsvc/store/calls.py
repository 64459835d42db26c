"""Queries on calls and what their notes produced (referrals, offers, wins), and on the
per-calendar event state."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from syncsvc.store.people import utcnow_iso

OPEN = "planned"


@dataclass
class Call:
    id: str
    person_id: int
    person_name: str
    day: date
    start: datetime
    end: datetime
    tz: str
    kind: str
    outcome: str
    notes: str
    notes_hash: str | None
    follow_up: date | None
    origin_call: str | None
    prep_notes: str = ""  # what the person wrote before the call's start
    reason: str = ""  # why the planner picked this person that day, in one line
    referrals: list[str] = field(default_factory=list)
    offers: list[str] = field(default_factory=list)
    wins: list[str] = field(default_factory=list)

    def as_json(self, *, full: bool = True) -> dict[str, object]:
        out: dict[str, object] = {
            "call_id": self.id,
            "person": {"id": self.person_id, "name": self.person_name},
            "date": self.day.isoformat(),
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "kind": self.kind,
            "reason": self.reason,
        }
        if full:
            out |= {
                "outcome": self.outcome,
                "notes": self.notes,
                "prep_notes": self.prep_notes,
                "referrals": self.referrals,
                "offers": self.offers,
                "follow_up": self.follow_up.isoformat() if self.follow_up else None,
                "wins": self.wins,
            }
        return out


_CALL_SQL = "SELECT c.*, p.name AS person_name FROM calls c JOIN people p ON p.id = c.person_id"


def _call(conn: sqlite3.Connection, row: sqlite3.Row, *, details: bool = True) -> Call:
    call = Call(
        id=row["id"],
        person_id=row["person_id"],
        person_name=row["person_name"],
        day=date.fromisoformat(row["day"]),
        start=datetime.fromisoformat(row["start_at"]),
        end=datetime.fromisoformat(row["end_at"]),
        tz=row["tz"],
        kind=row["kind"],
        outcome=row["outcome"],
        notes=row["notes"],
        notes_hash=row["notes_hash"],
        follow_up=date.fromisoformat(row["follow_up"]) if row["follow_up"] else None,
        origin_call=row["origin_call"],
        prep_notes=row["prep_notes"],
        reason=row["reason"],
    )
    if details:
        call.referrals = [
            r[0]
            for r in conn.execute(
                "SELECT p.name FROM referrals r JOIN people p ON p.id = r.person_id "
                "WHERE r.call_id = ? ORDER BY r.rowid",
                (call.id,),
            )
        ]
        call.offers = [
            r[0]
            for r in conn.execute(
                "SELECT text FROM offers WHERE call_id = ? ORDER BY id", (call.id,)
            )
        ]
        call.wins = [
            r[0] for r in conn.execute("SELECT text FROM wins WHERE call_id = ?", (call.id,))
        ]
    return call


def get(conn: sqlite3.Connection, call_id: str) -> Call | None:
    row = conn.execute(_CALL_SQL + " WHERE c.id = ?", (call_id,)).fetchone()
    return _call(conn, row) if row else None


def on_day(conn: sqlite3.Connection, day: date) -> list[Call]:
    rows = conn.execute(
        _CALL_SQL + " WHERE c.day = ? ORDER BY c.start_at, c.id", (day.isoformat(),)
    )
    return [_call(conn, r) for r in rows]


def next_planned(conn: sqlite3.Connection, after: date) -> list[Call]:
    """The planned calls of the first day after ``after`` that has any."""
    row = conn.execute(
        "SELECT min(day) FROM calls WHERE outcome = 'planned' AND day > ?", (after.isoformat(),)
    ).fetchone()
    return on_day(conn, date.fromisoformat(row[0])) if row and row[0] else []


def history(
    conn: sqlite3.Connection, *, person_id: int | None = None, since: date | None = None
) -> Iterator[Call]:
    where: list[str] = []
    args: list[int | str] = []
    if person_id is not None:
        where.append("c.person_id = ?")
        args.append(person_id)
    if since is not None:
        where.append("c.day >= ?")
        args.append(since.isoformat())
    sql = _CALL_SQL + (" WHERE " + " AND ".join(where) if where else "")
    for row in conn.execute(sql + " ORDER BY c.day, c.start_at, c.id", args):
        yield _call(conn, row)


def last_finished(conn: sqlite3.Connection, person_id: int, before: date) -> Call | None:
    """The person's last call before ``before`` that has an outcome."""
    row = conn.execute(
        _CALL_SQL + " WHERE c.person_id = ? AND c.day < ? AND c.outcome != 'planned' "
        "ORDER BY c.day DESC LIMIT 1",
        (person_id, before.isoformat()),
    ).fetchone()
    return _call(conn, row) if row else None


def next_open(conn: sqlite3.Connection, person_id: int) -> date | None:
    row = conn.execute(
        "SELECT day FROM calls WHERE person_id = ? AND outcome = 'planned'", (person_id,)
    ).fetchone()
    return date.fromisoformat(row[0]) if row else None


def insert(
    conn: sqlite3.Connection,
    *,
    call_id: str,
    person_id: int,
    day: date,
    start: datetime,
    end: datetime,
    tz: str,
    kind: str,
    origin_call: str | None = None,
) -> None:
    now = utcnow_iso()
    conn.execute(
        """INSERT INTO calls(id, person_id, day, start_at, end_at, tz, kind, origin_call,
                             created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        (
            call_id,
            person_id,
            day.isoformat(),
            start.isoformat(),
            end.isoformat(),
            tz,
            kind,
            origin_call,
            now,
            now,
        ),
    )
    if kind != "retry":  # a retry keeps the person's place in the rotation
        conn.execute(
            """UPDATE people SET rotation_key =
                 printf('%05d:%s', CAST(substr(rotation_key, 1, 5) AS INTEGER) + 1, ?)
               WHERE id = ?""",
            (day.isoformat(), person_id),
        )


def set_outcome(conn: sqlite3.Connection, call_id: str, outcome: str) -> None:
    conn.execute(
        "UPDATE calls SET outcome = ?, updated_at = ? WHERE id = ?",
        (outcome, utcnow_iso(), call_id),
    )


@dataclass(frozen=True)
class Offer:
    """Something the person offered someone on a call: open until ``done_at``."""

    id: int
    call_id: str
    person_id: int
    person_name: str
    text: str
    day: date  # the day of the call it was offered on
    done_at: str | None

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "person": {"id": self.person_id, "name": self.person_name},
            "text": self.text,
            "date": self.day.isoformat(),
            "call_id": self.call_id,
            "done_at": self.done_at,
        }


_OFFER_SQL = """SELECT o.id, o.call_id, o.person_id, p.name, o.text, c.day, o.done_at
                FROM offers o JOIN people p ON p.id = o.person_id
                JOIN calls c ON c.id = o.call_id"""


def _offer(row: sqlite3.Row) -> Offer:
    return Offer(row[0], row[1], row[2], row[3], row[4], date.fromisoformat(row[5]), row[6])


def offer(conn: sqlite3.Connection, offer_id: int) -> Offer | None:
    row = conn.execute(_OFFER_SQL + " WHERE o.id = ?", (offer_id,)).fetchone()
    return _offer(row) if row else None


def offers_open(conn: sqlite3.Connection, person_id: int | None = None) -> list[Offer]:
    """Offers not yet done (of ``person_id``, or everyone's), in the order they were noted.
    The one query for open offers: the event text, status, report and `offers` use it."""
    if person_id is None:
        rows = conn.execute(_OFFER_SQL + " WHERE o.done_at IS NULL ORDER BY o.id")
    else:
        rows = conn.execute(
            _OFFER_SQL + " WHERE o.done_at IS NULL AND o.person_id = ? ORDER BY o.id",
            (person_id,),
        )
    return [_offer(r) for r in rows]


def oldest_first(offers: list[Offer]) -> list[Offer]:
    """``offers`` by the day of the call they were made on, then as noted."""
    return sorted(offers, key=lambda o: (o.day, o.id))


def earlier_offers(
    conn: sqlite3.Connection, person_id: int, call_id: str, day: date
) -> list[Offer]:
    """The person's offers (open or done) from their calls other than ``call_id`` up to
    ``day``: what a "gave: ..." line on that call can mean, as noted."""
    rows = conn.execute(
        _OFFER_SQL + " WHERE o.person_id = ? AND o.call_id != ? AND c.day <= ? ORDER BY o.id",
        (person_id, call_id, day.isoformat()),
    )
    return [_offer(r) for r in rows]


def close_offer(
    conn: sqlite3.Connection, offer_id: int, when: datetime, *, closed_by: str | None = None
) -> bool:
    """The offer was made good: it no longer shows as open. True if it was open.
    ``closed_by``: the call whose note said so ("gave: ..."), so that taking that line back
    reopens it (``reopen_offers_closed_by``); None: closed by hand (``offers done``), which
    also pins an offer a note closed already: the person said so themselves, it stays done."""
    cur = conn.execute(
        "UPDATE offers SET done_at = ?, closed_by = ? WHERE id = ? AND done_at IS NULL",
        (when.isoformat(timespec="seconds"), closed_by, offer_id),
    )
    if closed_by is None and cur.rowcount == 0:
        conn.execute("UPDATE offers SET closed_by = NULL WHERE id = ?", (offer_id,))
    return cur.rowcount > 0


def reopen_offers_closed_by(conn: sqlite3.Connection, call_id: str) -> int:
    """Open again the offers ``call_id``'s note closed (its note changed: the new reading
    decides); offers closed by hand or by another call stay closed. How many."""
    cur = conn.execute(
        "UPDATE offers SET done_at = NULL, closed_by = NULL WHERE closed_by = ?", (call_id,)
    )
    return cur.rowcount


def update_wins(conn: sqlite3.Connection, call_id: str) -> list[str]:
    """The wins an update call tells its person about (their referral led to them)."""
    return [
        r[0]
        for r in conn.execute(
            "SELECT w.text FROM updates u JOIN wins w ON w.call_id = u.win_call "
            "WHERE u.call_id = ? ORDER BY w.rowid",
            (call_id,),
        )
    ]


def move(conn: sqlite3.Connection, call: Call, start: datetime, end: datetime) -> None:
    """The person moved the call's event: the call takes its new time, and its new day
    unless the person has another call that day (one call a day per person)."""
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


def mark_missed(conn: sqlite3.Connection, cutoff: datetime) -> int:
    """Open calls that ended at ``cutoff`` or before become ``missed``; how many."""
    ids = [
        r[0]
        for r in conn.execute(
            "SELECT id, end_at FROM calls WHERE outcome = 'planned' AND day <= ?",
            (cutoff.date().isoformat(),),
        )
        if datetime.fromisoformat(r[1]) <= cutoff
    ]
    for call_id in ids:
        set_outcome(conn, call_id, "missed")
    return len(ids)


# ------------------------------------------------------------------ calendar event state
@dataclass
class EventState:
    calendar: str
    call_id: str
    uid: str
    etag: str | None
    state: str
    written: str | None
    edited: bool
    receipt: str | None  # the receipt block syncsvc last wrote into the event
    #: rewrites of ``written`` sent and not yet known to have landed, oldest first (the event
    #: may carry any one of them: a kill after one write, then a conflict on the next)
    rewriting: tuple[str, ...]
    receipt_sending: str | None  # a receipt sent, not yet known to have landed


def event_state(conn: sqlite3.Connection, calendar: str, call_id: str) -> EventState | None:
    row = conn.execute(
        "SELECT * FROM calendar_events WHERE calendar = ? AND call_id = ?", (calendar, call_id)
    ).fetchone()
    return _state(row) if row else None


def event_state_by_uid(conn: sqlite3.Connection, calendar: str, uid: str) -> EventState | None:
    row = conn.execute(
        "SELECT * FROM calendar_events WHERE calendar = ? AND uid = ?", (calendar, uid)
    ).fetchone()
    return _state(row) if row else None


def _state(row: sqlite3.Row) -> EventState:
    return EventState(
        calendar=row["calendar"],
        call_id=row["call_id"],
        uid=row["uid"],
        etag=row["etag"],
        state=row["state"],
        written=row["written"],
        edited=bool(row["edited"]),
        receipt=row["receipt"],
        rewriting=tuple(t for t in (row["rewriting"] or "").split(_REWRITES_SEP) if t),
        receipt_sending=row["receipt_sending"],
    )


def known_etags(conn: sqlite3.Connection, calendar: str) -> dict[str, str]:
    return {
        r[0]: r[1] or ""
        for r in conn.execute(
            "SELECT uid, etag FROM calendar_events WHERE calendar = ? AND state = 'written'",
            (calendar,),
        )
    }


def upsert_event_state(
    conn: sqlite3.Connection,
    calendar: str,
    call_id: str,
    uid: str,
    *,
    state: str,
    etag: str | None = None,
    written: str | None = None,
) -> None:
    conn.execute(
        """INSERT INTO calendar_events(calendar, call_id, uid, etag, state, written)
           VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT(calendar, call_id) DO UPDATE SET
             etag = coalesce(excluded.etag, etag), state = excluded.state,
             written = coalesce(excluded.written, written)""",
        (calendar, call_id, uid, etag, state, written),
    )


#: between the texts of ``rewriting`` (a control character no event text carries: contact
#: data is cleaned of them, syncsvc's own text has none)
_REWRITES_SEP = "\x1e"
MAX_REWRITES = 8


def set_rewriting(conn: sqlite3.Connection, calendar: str, call_id: str, text: str) -> None:
    """syncsvc is about to rewrite the event's text to ``text``: until a write is recorded
    (``settle_rewrite``), an event read back with ``written`` or any text sent since is
    syncsvc's. Earlier texts are kept: a rewrite killed after its write and then refused
    (the event changed: by that write) must not make the event read as the person's."""
    row = conn.execute(
        "SELECT rewriting FROM calendar_events WHERE calendar = ? AND call_id = ?",
        (calendar, call_id),
    ).fetchone()
    texts = [t for t in ((row[0] if row else None) or "").split(_REWRITES_SEP) if t != text and t]
    texts = [*texts, text][-MAX_REWRITES:]
    conn.execute(
        "UPDATE calendar_events SET rewriting = ? WHERE calendar = ? AND call_id = ?",
        (_REWRITES_SEP.join(texts), calendar, call_id),
    )


def settle_rewrite(
    conn: sqlite3.Connection, calendar: str, call_id: str, written: str | None
) -> None:
    """The event's text is known again: ``written`` is what syncsvc wrote (no rewrite open)."""
    conn.execute(
        "UPDATE calendar_events SET written = coalesce(?, written), rewriting = NULL "
        "WHERE calendar = ? AND call_id = ?",
        (written, calendar, call_id),
    )


def unwritten(conn: sqlite3.Connection, calendar: str) -> list[str]:
    """Open calls with no event in ``calendar`` yet (or one not confirmed written), in
    order: the outbox."""
    rows = conn.execute(
        """SELECT c.id FROM calls c
           LEFT JOIN calendar_events e ON e.call_id = c.id AND e.calendar = ?
           WHERE c.outcome = 'planned' AND (e.state IS NULL OR e.state = 'pending')
           ORDER BY c.day, c.start_at""",
        (calendar,),
    )
    return [r[0] for r in rows]


def refreshable(
    conn: sqlite3.Connection, calendar: str, after: datetime
) -> list[tuple[str, str, str | None]]:
    """(call id, etag, text written) of open calls starting after ``after`` whose event we
    wrote and the person has not touched: their text may be rewritten. (An event with no etag
    recorded is not known as it stands — a redone create, a receipt that lost a conflict —
    and waits for the next read.)"""
    rows = conn.execute(
        """SELECT c.id, e.etag, e.written FROM calls c
           JOIN calendar_events e ON e.call_id = c.id AND e.calendar = ?
           WHERE c.outcome = 'planned' AND e.state = 'written' AND e.edited = 0
             AND e.etag IS NOT NULL AND c.notes_hash IS NULL AND c.start_at > ?""",
        (calendar, after.isoformat()),
    )
    return [(r[0], r[1] or "", r[2]) for r in rows]


def mark_edited(conn: sqlite3.Connection, calendar: str, call_id: str) -> None:
    """The person edited or moved the event: syncsvc never rewrites it again."""
    conn.execute(
        "UPDATE calendar_events SET edited = 1 WHERE calendar = ? AND call_id = ?",
        (calendar, call_id),
    )


def event_deleted(conn: sqlite3.Connection, calendar: str, uid: str) -> int:
    """The person deleted our event: never write it again; an open call counts as skipped.
    1 if this is news, 0 if the event is unknown or known deleted."""
    state = event_state_by_uid(conn, calendar, uid)
    if state is None or state.state == "deleted":
        return 0
    upsert_event_state(conn, calendar, state.call_id, uid, state="deleted")
    call = get(conn, state.call_id)
    if call is not None and call.outcome == OPEN:
        set_outcome(conn, call.id, "skipped")
    return 1


def set_receipt(
    conn: sqlite3.Connection, calendar: str, call_id: str, etag: str, receipt: str
) -> None:
    """The event now ends with ``receipt`` (written by syncsvc) and has ``etag``."""
    conn.execute(
        "UPDATE calendar_events SET etag = ?, receipt = ?, receipt_sending = NULL "
        "WHERE calendar = ? AND call_id = ?",
        (etag, receipt, calendar, call_id),
    )


def set_receipt_sending(
    conn: sqlite3.Connection, calendar: str, call_id: str, receipt: str
) -> None:
    """syncsvc is about to write ``receipt`` into the event: until that is recorded
    (``set_receipt``, ``settle_receipt``), either receipt in the event is syncsvc's."""
    conn.execute(
        "UPDATE calendar_events SET receipt_sending = ? WHERE calendar = ? AND call_id = ?",
        (receipt, calendar, call_id),
    )


def settle_receipt(
    conn: sqlite3.Connection, calendar: str, call_id: str, receipt: str | None
) -> None:
    """The event's receipt is known again: ``receipt`` (None: none)."""
    conn.execute(
        "UPDATE calendar_events SET receipt = ?, receipt_sending = NULL "
        "WHERE calendar = ? AND call_id = ?",
        (receipt, calendar, call_id),
    )


def set_prep_notes(conn: sqlite3.Connection, call_id: str, text: str) -> None:
    """What the person wrote into the event before the call's start (not an outcome)."""
    conn.execute(
        "UPDATE calls SET prep_notes = ?, updated_at = ? WHERE id = ?",
        (text, utcnow_iso(), call_id),
    )


def open_retries_from(conn: sqlite3.Connection, call_id: str) -> list[Call]:
    """The still-open retry calls that ``call_id``'s notes made (a reschedule)."""
    rows = conn.execute(
        _CALL_SQL + " WHERE c.origin_call = ? AND c.kind = 'retry' AND c.outcome = 'planned'",
        (call_id,),
    )
    return [_call(conn, r) for r in rows]


def cancel_retry(conn: sqlite3.Connection, call_id: str) -> None:
    """A retry no longer wanted: skipped, and no longer the retry of its origin call (so a
    new reschedule of that call can make another)."""
    conn.execute(
        "UPDATE calls SET outcome = 'skipped', origin_call = NULL, updated_at = ? WHERE id = ?",
        (utcnow_iso(), call_id),
    )


def any_call(conn: sqlite3.Connection) -> bool:
    """Whether the store has any call at all (a new store adopts the calendar's events)."""
    return conn.execute("SELECT 1 FROM calls LIMIT 1").fetchone() is not None


def nudged(conn: sqlite3.Connection, call_ids: Sequence[str]) -> set[str]:
    """Which of these calls the desktop nudge was shown for already."""
    out: set[str] = set()
    for call_id in call_ids:
        row = conn.execute(
            "SELECT 1 FROM calls WHERE id = ? AND nudged_at IS NOT NULL", (call_id,)
        ).fetchone()
        if row:
            out.add(call_id)
    return out


def mark_nudged(conn: sqlite3.Connection, call_id: str, at: datetime) -> None:
    """The nudge for ``call_id`` was shown (or tried: it is never repeated)."""
    conn.execute("UPDATE calls SET nudged_at = ? WHERE id = ?", (at.isoformat(), call_id))
