"""Keep everyone informed: short, personal update messages, drafted — never sent.

After a win, everyone up its referral chain gets a note saying what their help led to; every
``NEWS_EVERY_DAYS`` days, everyone who helped (gave a referral or an offer on a call) gets a
note on what happened since. Each draft is made once (``update_drafts``: person, kind, key)
and written as an ``.eml`` file (standard ``email`` package, ``X-Unsent: 1`` so mail clients
open it as a draft) to ``<data_dir>/updates/`` (0700, files 0600); the person opens it in
their mail client, sends it, and marks it with ``syncsvc updates --done ID``. The HTML report
links each open draft as a ``mailto:``.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import quote

from syncsvc import insight
from syncsvc.errors import InputError
from syncsvc.paths import ensure_private_dir, write_private_file
from syncsvc.store import Connection, Store
from syncsvc.store import insight as insight_db
from syncsvc.store import updates as updates_db
from syncsvc.store.updates import Draft, Referred, Since

NEWS_EVERY_DAYS = 21  # "every few weeks"
FOLDER = "updates"


# ------------------------------------------------------------------------------ wording
def first_name(name: str) -> str:
    return (name.split() or ["there"])[0]


def _day(day: date) -> str:
    return f"{day.day} {day:%b}"


def compose_win(chain: Sequence[str], at: int, win: str, day: date) -> tuple[str, str]:
    """Subject and body to ``chain[at]`` about the win of ``chain[-1]`` (``chain``: the
    first referrer first)."""
    after = list(chain[at + 1 :])
    path = f"you put me in touch with {after[0]}"
    for name in after[1:]:
        path += f", who put me in touch with {name}"
    body = (
        f"Hi {first_name(chain[at])},\n\n"
        f"Good news, and it started with you: {path} — and that led to: {win} "
        f"({_day(day)}).\n\n"
        "Thank you for your help. I'll keep you posted.\n"
    )
    return "Good news — thanks to you", body


def compose_news(name: str, helped_on: date, since: Since, referred: Sequence[Referred]) -> str:
    """The body of a "what happened since you helped" note."""
    lines = [f"Hi {first_name(name)},", ""]
    told = f"Since we spoke on {_day(helped_on)}, I've had {since.calls_done} more conversation"
    told += "s" if since.calls_done != 1 else ""
    if since.referrals:
        told += f", which led to {since.referrals} new introduction"
        told += "s" if since.referrals != 1 else ""
    lines.append(told + ".")
    if since.wins:
        lines.append("The best of it: " + "; ".join(since.wins) + ".")
    for r in referred:
        if r.wins:
            lines.append(f"You put me in touch with {r.name} — that led to: {'; '.join(r.wins)}.")
        elif r.reached:
            lines.append(f"You put me in touch with {r.name} — we've spoken, thank you.")
        else:
            lines.append(f"You put me in touch with {r.name} — I'm still trying to reach them.")
    lines += ["", "Thanks again for your help.", ""]
    return "\n".join(lines)


NEWS_SUBJECT = "A quick update since we spoke"


# ------------------------------------------------------------------------------ the rules
def _win_drafts(conn: Connection, now: str) -> list[int]:
    """A draft to everyone up each win's referral chain, once per win."""
    found = insight.wins(conn, insight_db.referrers(conn))
    new: list[int] = []
    for w in found:
        names = [updates_db.person_name(conn, pid) or "?" for pid in w.chain_ids]
        for at, pid in enumerate(w.chain_ids[:-1]):
            if updates_db.exists(conn, pid, "win", w.call_id):
                continue
            if not updates_db.may_write_to(conn, pid):
                continue
            subject, body = compose_win(names, at, w.text, date.fromisoformat(w.day))
            new.append(
                updates_db.insert(
                    conn,
                    person_id=pid,
                    kind="win",
                    key=w.call_id,
                    email=updates_db.first_email(conn, pid),
                    subject=subject,
                    body=body,
                    created_at=now,
                )
            )
    return new


def _news_drafts(conn: Connection, today: date, now: str) -> list[int]:
    """Every ``NEWS_EVERY_DAYS`` days a note to each helper, once something happened since
    their help (a call done after it)."""
    every = timedelta(days=NEWS_EVERY_DAYS)
    new: list[int] = []
    for h in updates_db.helpers(conn):
        if today - h.since < every:
            continue
        last = updates_db.last_drafted(conn, h.person_id)
        if last and today - date.fromisoformat(last[:10]) < every:
            continue
        if updates_db.exists(conn, h.person_id, "news", today.isoformat()):
            continue
        happened = updates_db.since(conn, h.since)
        if happened.calls_done == 0:
            continue
        body = compose_news(h.name, h.since, happened, updates_db.referred_by(conn, h.person_id))
        new.append(
            updates_db.insert(
                conn,
                person_id=h.person_id,
                kind="news",
                key=today.isoformat(),
                email=h.email,
                subject=NEWS_SUBJECT,
                body=body,
                created_at=now,
            )
        )
    return new


# ------------------------------------------------------------------------------ the files
def folder(data_dir: Path) -> Path:
    return data_dir / FOLDER


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:40] or "someone"


def message(d: Draft, now: datetime) -> EmailMessage:
    """The draft as an email: To (when an address is known), Subject, Date, the body;
    ``X-Unsent: 1`` makes mail clients open it as a message to send."""
    msg = EmailMessage()
    if d.email:
        # an address the email package refuses is left out: the person fills it in
        with contextlib.suppress(ValueError, TypeError):
            msg["To"] = d.email
    msg["Subject"] = d.subject
    msg["Date"] = format_datetime(now)
    msg["X-Unsent"] = "1"
    msg.set_content(d.body)
    return msg


def write_eml(d: Draft, where: Path, now: datetime) -> Path:
    ensure_private_dir(where)
    path = where / f"{d.id:04d}-{d.kind}-{_slug(d.name)}.eml"
    write_private_file(path, message(d, now).as_bytes())
    return path


def mailto(d: Draft) -> str:
    """A ``mailto:`` link that opens the draft in the mail client."""
    to = quote(d.email or "", safe="@")
    return f"mailto:{to}?subject={quote(d.subject)}&body={quote(d.body)}"


# ------------------------------------------------------------------------------ the service
@dataclass(frozen=True)
class Drafted:
    new: list[Draft]
    pending: list[Draft]
    folder: Path

    def as_json(self) -> dict[str, object]:
        return {
            "folder": str(self.folder),
            "drafted": [d.id for d in self.new],
            "pending": [{**d.as_json(), "mailto": mailto(d)} for d in self.pending],
        }


def draft(store: Store, data_dir: Path, today: date, now: datetime) -> Drafted:
    """Draft what is due (each once), write the new ``.eml`` files, and list what is open."""
    stamp = now.isoformat(timespec="seconds")
    where = folder(data_dir)
    with store.tx() as conn:
        ids = _win_drafts(conn, stamp) + _news_drafts(conn, today, stamp)
        new: list[Draft] = []
        for draft_id in ids:
            d = updates_db.get(conn, draft_id)
            assert d is not None
            path = write_eml(d, where, now)
            updates_db.set_path(conn, draft_id, str(path))
            new.append(updates_db.get(conn, draft_id) or d)
    return Drafted(new, updates_db.pending(store.conn), where)


def done(store: Store, draft_id: int, now: datetime) -> tuple[Draft, bool]:
    """Mark draft ``draft_id`` sent; returns it and whether it was still open."""
    with store.tx() as conn:
        if updates_db.get(conn, draft_id) is None:
            raise InputError(f"no update draft {draft_id}: `syncsvc updates` lists them")
        was_open = updates_db.mark_sent(conn, draft_id, now.isoformat(timespec="seconds"))
        d = updates_db.get(conn, draft_id)
    assert d is not None
    return d, was_open


def pending_json(conn: Connection) -> list[dict[str, object]]:
    """The open drafts for the report, each with its ``mailto:`` link."""
    return [{**d.as_json(), "mailto": mailto(d)} for d in updates_db.pending(conn)]
