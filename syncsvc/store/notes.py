"""Applying the person's notes to a call: the outcome, and what the notes produced (referrals,
offers, offers made good, wins, the thank-you updates a win earns the people whose referrals
led to it, and a pause for someone who asked not to be called or whose number was wrong).

The notes are parsed (``syncsvc/notes.py``) and their addresses normalised by the caller; this
module only records them, and says what it did (``Applied``): the receipt must not claim a new
name for someone who was already on the list. Applying the same notes twice changes nothing:
every row is keyed, and an offer already made good is matched again, not a second one closed.
"""

from __future__ import annotations

import difflib
import re
import sqlite3
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from syncsvc.store import calls as calls_db
from syncsvc.store import people as people_db

# The outcomes that take the person out of every planning lane, by the pause they set.
PAUSING = ("stop", "wrong_number")
# How alike a "gave: ..." text and an open offer must be (difflib's ratio of their
# normalised words) when neither contains the other.
OFFER_MATCH_RATIO = 0.6


@dataclass(frozen=True)
class Referral:
    """One ``ref:`` line: a name and/or addresses, each as (as written, normalised)."""

    name: str | None
    emails: Sequence[tuple[str, str]] = ()
    phones: Sequence[tuple[str, str]] = ()


@dataclass(frozen=True)
class Notes:
    """What the person's notes say about one call."""

    outcome: str  # done | no_answer | rescheduled | skipped | stop | wrong_number
    text: str
    digest: str  # of the notes as read: the same digest again is not applied again
    follow_up: date | None = None
    referrals: Sequence[Referral] = ()
    offers: Sequence[str] = ()
    wins: Sequence[str] = ()
    closed_offers: Sequence[str] = ()  # "gave: the article": offers from earlier calls now done


@dataclass(frozen=True)
class Referred:
    """Who one ``ref:`` line of a call's note turned out to be, for the receipt.

    ``matched_by`` is None when this call's note added the person (a new name), else how the
    line matched someone already on the list: 'email', 'phone' or 'name'. It is kept with the
    referral row (``referrals.matched_by``) as the note's first reading found it, so a later
    reading of the same or a changed note, which now finds the person it added itself, still
    says "new name" (the receipt never flip-flops)."""

    person_id: int
    name: str  # as on the list now
    matched_by: str | None


@dataclass(frozen=True)
class Closing:
    """What one "gave: ..." text of a call's note did, for the receipt: ``offer`` is the
    offer it matched (None: none, so nothing was closed), ``now`` says whether this note
    closed it (else it was already done: by hand, or by another call's note). A note read
    again unchanged finds the same (``closings_read``): the receipt never flip-flops."""

    said: str  # the text as the note says it ("the article")
    offer: calls_db.Offer | None
    now: bool = False


@dataclass
class Applied:
    """What applying a call's notes did beyond the call itself, for the receipt and the log."""

    closed_offers: list[str] = field(default_factory=list)  # the offers' own texts, now done
    closings: list[Closing] = field(default_factory=list)  # one per "gave:" text, in order
    people: list[int] = field(default_factory=list)  # the people its referrals name
    referrals: list[Referred] = field(default_factory=list)  # the same, one per ref line
    updates: list[int] = field(default_factory=list)  # people queued a thank-you call
    paused: str | None = None  # the pause the outcome asks for (stop | wrong_number), if any


def apply_notes(
    conn: sqlite3.Connection, call: calls_db.Call, notes: Notes, now: datetime
) -> Applied:
    """Record ``notes`` on ``call``: its outcome and text; a done call updates the person's
    last contact; referrals are matched or added (referred by the call's person); offers and
    wins are kept; offers the notes say were made good are closed; a win queues a thank-you
    update for the people up the referral chain; ``stop`` and ``wrong_number`` pause the
    person (and a changed note that no longer says so lifts the pause it set)."""
    applied = Applied()
    before = conn.execute("SELECT outcome FROM calls WHERE id = ?", (call.id,)).fetchone()
    _repause(conn, call.person_id, before[0] if before else None, notes.outcome, applied)
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
        person_id, matched_by = _refer(conn, ref, call.person_id)
        applied.people.append(person_id)
        conn.execute(  # a row an earlier reading of this note made keeps its matched_by
            "INSERT OR IGNORE INTO referrals(call_id, person_id, matched_by) VALUES (?, ?, ?)",
            (call.id, person_id, matched_by),
        )
        referred = _referred(conn, call.id, person_id)
        assert referred is not None  # the row was just made, or was there
        applied.referrals.append(referred)
    for text in notes.offers:
        conn.execute(
            "INSERT OR IGNORE INTO offers(call_id, person_id, text) VALUES (?, ?, ?)",
            (call.id, call.person_id, text),
        )
    if notes.closed_offers:
        applied.closings = close_offers(conn, call, notes.closed_offers, now)
        applied.closed_offers = [c.offer.text for c in applied.closings if c.offer is not None]
    for text in notes.wins:
        conn.execute("INSERT OR IGNORE INTO wins(call_id, text) VALUES (?, ?)", (call.id, text))
    if notes.wins:
        applied.updates = queue_updates(conn, call.id, call.person_id)
    return applied


def _repause(
    conn: sqlite3.Connection, person_id: int, before: str | None, outcome: str, applied: Applied
) -> None:
    """Pause the person for a ``stop`` or ``wrong_number`` outcome. A pause this call's note
    set before (its previous outcome) is lifted first: the person changed the note, so it
    follows the new text. A stronger pause is never weakened: 'never' (by hand) over 'stop'
    over 'wrong_number' (which a new address lifts by itself)."""
    current = people_db.paused(conn, person_id)
    if before in PAUSING and before != outcome and current == before:
        people_db.set_paused(conn, person_id, None)
        current = None
    if outcome in PAUSING:
        rank = {None: 0, "wrong_number": 1, "stop": 2, "never": 3}
        if rank[outcome] > rank.get(current, 3):
            people_db.set_paused(conn, person_id, outcome)
        applied.paused = outcome


def queue_updates(conn: sqlite3.Connection, win_call: str, person_id: int) -> list[int]:
    """Everyone whose referrals led to ``person_id`` gets a thank-you update call about the
    win on ``win_call`` (the planner's update lane). Not ``person_id``: the win is theirs, and
    they were just on the phone. Returns the people, nearest first."""
    chain = people_db.referral_chain(conn, person_id)[1:]
    for someone in chain:
        conn.execute(
            "INSERT OR IGNORE INTO updates(win_call, person_id) VALUES (?, ?)",
            (win_call, someone),
        )
    return chain


# ------------------------------------------------------------------ offers made good
def close_offers(
    conn: sqlite3.Connection, call: calls_db.Call, texts: Sequence[str], now: datetime
) -> list[Closing]:
    """Close the offers ``texts`` ("gave: the article") say were made good: offers made to
    the call's person on their earlier calls, never anyone else's. Each text closes the offer
    it matches best (``offer_match``), an open one before one already done; when it matches
    none and the person has exactly one open offer, that one. Returns, per text in order,
    what it did: the offer closed now, the one it matched that was already done (by hand,
    another note, or an earlier reading of the same note), or none."""
    candidates = calls_db.earlier_offers(conn, call.person_id, call.id, call.day)
    out: list[Closing] = []
    for said, best in zip(texts, _match_offers(texts, candidates, set()), strict=True):
        if best is None:
            out.append(Closing(said, None))
        elif best.done_at is None:
            calls_db.close_offer(conn, best.id, now, closed_by=call.id)
            out.append(Closing(said, best, now=True))
        else:
            out.append(Closing(said, best))
    return out


def closings_read(
    conn: sqlite3.Connection, call: calls_db.Call, texts: Sequence[str]
) -> list[Closing]:
    """What ``close_offers`` reported for ``texts`` when this call's note was applied, found
    again without changing anything: for a note read again unchanged (its digest already
    applied), so its receipt says the same as the first time. The offers this note closed
    (``offers.closed_by``) were open then, so they are matched as open again. An offer
    matched that is open now (reopened since) reads as nothing closed: that is true now."""
    candidates = calls_db.earlier_offers(conn, call.person_id, call.id, call.day)
    mine = _closed_by(conn, call.id)
    out: list[Closing] = []
    for said, best in zip(texts, _match_offers(texts, candidates, mine), strict=True):
        if best is None or best.done_at is None:
            out.append(Closing(said, None))
        else:
            out.append(Closing(said, best, now=best.id in mine))
    return out


def _closed_by(conn: sqlite3.Connection, call_id: str) -> set[int]:
    """The offers ``call_id``'s note closed (and that nobody pinned by hand since)."""
    rows = conn.execute("SELECT id FROM offers WHERE closed_by = ?", (call_id,))
    return {r[0] for r in rows}


def _match_offers(
    texts: Sequence[str], candidates: Sequence[calls_db.Offer], reopened: set[int]
) -> list[calls_db.Offer | None]:
    """The offer each of ``texts`` means, in order (``close_offers``' rule), without
    writing: the best match not already taken by an earlier text, an open one before one
    done; else the only open one left; else None. ``reopened``: offers to count as open
    although done (closed by the very note being read again)."""

    def is_open(o: calls_db.Offer) -> bool:
        return o.done_at is None or o.id in reopened

    taken: set[int] = set()
    out: list[calls_db.Offer | None] = []
    for text in texts:
        scored = [
            (score, is_open(o), o)
            for o in candidates
            if o.id not in taken and (score := offer_match(text, o.text)) > 0
        ]
        best: calls_db.Offer | None
        if scored:
            best = max(scored, key=lambda s: (s[0], s[1]))[2]
        else:
            still_open = [o for o in candidates if is_open(o) and o.id not in taken]
            best = still_open[0] if len(still_open) == 1 else None
        if best is not None:
            taken.add(best.id)
        out.append(best)
    return out


# Words that say nothing about which offer is meant ("send HER THE article"): articles,
# pronouns, a few prepositions; English and German, the languages the notes grammar reads.
_ARTICLES = frozenset(
    {"a", "an", "the", "her", "his", "their", "him", "them", "she", "he", "it", "my", "your"}
    | {"our", "to", "for", "of", "der", "die", "das", "den", "dem", "des", "ein", "eine"}
    | {"einen", "einem", "einer", "ihr", "ihm", "ihnen"}
)


def _words(text: str) -> list[str]:
    """The words of ``text`` that say what it is: case-folded, accents and punctuation
    gone, articles and pronouns ("her", "the") left out."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(ch for ch in folded if not unicodedata.combining(ch))
    return [w for w in re.findall(r"\w+", plain) if w not in _ARTICLES]


def offer_match(said: str, offer: str) -> float:
    """How well "gave: ``said``" names the offer ``offer``: 1.0 when the words of one are
    within the other's ("the article" and "send her the article"), else difflib's ratio of
    the normalised texts when it is at least ``OFFER_MATCH_RATIO``, else 0."""
    a, b = " ".join(_words(said)), " ".join(_words(offer))
    if not a or not b:
        return 0.0
    if f" {a} " in f" {b} " or f" {b} " in f" {a} ":
        return 1.0
    ratio = difflib.SequenceMatcher(None, a, b).ratio()
    return ratio if ratio >= OFFER_MATCH_RATIO else 0.0


def known_person(conn: sqlite3.Connection, ref: Referral) -> tuple[int, str] | None:
    """The person already on the list a ``ref:`` line names, and how it matched: by email,
    else by phone (``people.match``'s rule, the first address someone has), else by the
    exact full name ('email' | 'phone' | 'name'). None: nobody. Reads only."""
    person_id = people_db.match(conn, emails=[n for _, n in ref.emails])
    if person_id is not None:
        return person_id, "email"
    person_id = people_db.match(conn, phones=[n for _, n in ref.phones])
    if person_id is not None:
        return person_id, "phone"
    person_id = people_db.first_named(conn, ref.name) if ref.name else None
    return (person_id, "name") if person_id is not None else None


def _refer(conn: sqlite3.Connection, ref: Referral, referrer: int) -> tuple[int, str | None]:
    """``referred_person``, and how the line matched (``known_person``; None: added now)."""
    known = known_person(conn, ref)
    if known is None:
        name = ref.name or (
            ref.emails[0][0] if ref.emails else ref.phones[0][0] if ref.phones else "?"
        )
        person_id = people_db.add(conn, name=name, source="referral", referred_by=referrer)
        matched_by = None
    else:
        person_id, matched_by = known
        if person_id != referrer:
            people_db.set_referrer_if_unknown(conn, person_id, referrer)
    for value, norm in ref.emails:
        people_db.add_address(conn, person_id, "email", value, norm)
    for value, norm in ref.phones:
        people_db.add_address(conn, person_id, "phone", value, norm)
    return person_id, matched_by


def referred_person(conn: sqlite3.Connection, ref: Referral, referrer: int) -> int:
    """Match a ``ref:`` line to a known person by email or phone, else by exact full name;
    otherwise add them, referred by ``referrer``. A known person gets ``referrer`` as their
    referrer only if they had none (and are not the referrer); new addresses are added."""
    return _refer(conn, ref, referrer)[0]


def _referred(conn: sqlite3.Connection, call_id: str, person_id: int) -> Referred | None:
    """What the referral row of ``call_id`` naming ``person_id`` says, if there is one."""
    row = conn.execute(
        "SELECT r.matched_by, p.name FROM referrals r JOIN people p ON p.id = r.person_id "
        "WHERE r.call_id = ? AND r.person_id = ?",
        (call_id, person_id),
    ).fetchone()
    return Referred(person_id, row[1], row[0]) if row else None


def referrals_read(
    conn: sqlite3.Connection, call_id: str, refs: Sequence[Referral]
) -> list[Referred | None]:
    """What ``apply_notes`` reported for each of ``refs`` when the note was applied, found
    again without changing anything: for a note read again unchanged (its digest already
    applied), so its receipt says the same as the first time. None for a line whose person
    is no longer found (an address removed since, a merge): the receipt then says what the
    line says."""
    out: list[Referred | None] = []
    for ref in refs:
        known = known_person(conn, ref)
        out.append(_referred(conn, call_id, known[0]) if known else None)
    return out


def undo_notes(conn: sqlite3.Connection, call: calls_db.Call) -> None:
    """The person changed their mind about ``call``'s note: take back what its earlier
    reading produced that the new reading decides again — offers not yet done, wins, the
    thank-you updates a win queued that are not planned yet, and the offers its "gave:" lines
    closed (reopened: the new reading closes again those it still names; one closed by hand,
    ``offers done``, or by another call's note stays closed). People it added stay on the list
    (and their referral rows): a name once written down is never lost."""
    calls_db.reopen_offers_closed_by(conn, call.id)
    conn.execute("DELETE FROM offers WHERE call_id = ? AND done_at IS NULL", (call.id,))
    conn.execute("DELETE FROM updates WHERE win_call = ? AND call_id IS NULL", (call.id,))
    conn.execute("DELETE FROM wins WHERE call_id = ?", (call.id,))
