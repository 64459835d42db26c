"""How things look in a terminal (rich tables, plain lines) and as JSON objects."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from syncsvc.store import calls as calls_db

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from syncsvc.app import App
    from syncsvc.store.people import Person


@functools.cache
def _console() -> Console:
    """rich only where a table is printed (it costs start-up time)."""
    from rich.console import Console

    # markup off: names and notes are the person's text, never rich markup
    return Console(highlight=False, markup=False)


def _table(*columns: str) -> Table:
    from rich.table import Table

    return Table(*columns)


def _line(text: str) -> None:
    print(text)


def person_json(app: App, p: Person) -> dict[str, Any]:
    next_call = calls_db.next_open(app.store.conn, p.id)
    return {
        "id": p.id,
        "name": p.name,
        "emails": p.emails,
        "phones": [written for written, _ in p.phones],
        "org": p.org,
        "title": p.title,
        "note": p.note,
        "urls": p.urls,
        "source": p.source,
        "referred_by": p.referred_by_name,
        "last_contacted": p.last_contacted,
        "next_call": next_call.isoformat() if next_call else None,
        "removed_at_source": p.removed_at_source,
        "paused": p.paused,
    }


def print_people(rows: Iterable[dict[str, Any]]) -> None:
    table = _table("id", "name", "reach", "org", "last contact", "next call", "referred by")
    n = 0
    for r in rows:
        reach = ", ".join([*r["emails"][:1], *r["phones"][:1]])
        table.add_row(
            str(r["id"]),
            r["name"],
            reach,
            r["org"] or "",
            r["last_contacted"] or "",
            r["next_call"] or "",
            r["referred_by"] or "",
        )
        n += 1
    if n:
        _console().print(table)
    _line(f"{n} people." if n else "Nobody yet: `syncsvc import FILE.vcf` or `syncsvc add NAME`.")


def print_duplicates(groups: Sequence[Sequence[Person]]) -> None:
    if not groups:
        _line("No possible duplicates.")
        return
    for group in groups:
        ids = " ".join(str(p.id) for p in group)
        reach = "; ".join(
            f"{p.id}: {', '.join(p.emails + [w for w, _ in p.phones]) or '-'}" for p in group
        )
        _line(f"{group[0].name}  (ids {ids})  {reach}")
    _line("Merge with: syncsvc merge KEEP-ID OTHER-ID")


def print_plan(app: App, calls: Sequence[calls_db.Call], dry_run: bool) -> None:
    if not calls:
        _line("Nobody to call: add people with `syncsvc import` or `syncsvc add`.")
        return
    table = _table("date", "time", "person", "kind", "outcome", "why")
    for c in calls:
        table.add_row(
            c.day.isoformat(),
            c.start.strftime("%H:%M"),
            c.person_name,
            c.kind,
            c.outcome,
            c.reason,
        )
    _console().print(table)
    if dry_run:
        _line("Dry run: nothing was written.")
    elif app.config.calendar.backend == "vdir":
        _line(f"Calls written to {app.config.calendar_path} (one .ics file per call).")
        _line("Look at them with `khal list`, or sync the folder to your phone with vdirsyncer.")
        _line("After a call, write your notes below the marker line in the event; then")
        _line("`syncsvc sync` reads them (the daemon does it every few minutes).")
    else:
        _line(f"Calls written to your {app.config.calendar.backend} calendar.")


def print_calls(rows: Sequence[calls_db.Call]) -> None:
    if not rows:
        _line("No calls yet: `syncsvc plan`.")
        return
    table = _table("date", "person", "kind", "outcome", "notes", "referrals", "offers", "follow up")
    for c in rows:
        table.add_row(
            c.day.isoformat(),
            c.person_name,
            c.kind,
            c.outcome,
            c.notes[:60] + ("…" if len(c.notes) > 60 else ""),
            ", ".join(c.referrals),
            "; ".join(c.offers),
            c.follow_up.isoformat() if c.follow_up else "",
        )
    _console().print(table)


def print_offers(offers: Sequence[calls_db.Offer]) -> None:
    if not offers:
        _line("No open offers.")
        return
    table = _table("id", "date", "person", "offer")
    for o in offers:
        table.add_row(str(o.id), o.day.isoformat(), o.person_name, o.text)
    _console().print(table)
    _line("When you have made one good: syncsvc offers done ID")


def print_status(data: dict[str, Any]) -> None:
    _line(f"{data['date']}  topic: {data['topic'] or '(none yet: syncsvc topic TEXT)'}")
    if data["today"]:
        for c in data["today"]:
            _line(f"  {c['start'][11:16]}  {c['person']['name']:<30} {c['outcome']}")
    else:
        _line("  No calls today.")
    _line(
        f"Done this week: {data['done_this_week']}   streak: {data['streak']} day(s)   "
        f"referrals: {data['referrals']}   never called: {data['never_called']} of "
        f"{data['people']}"
    )
    for win in data.get("wins", []):
        chain = " ← ".join(win["chain"])
        _line(f"  win {win['date']}: {win['text']}  (thanks to {chain})")
    for offer in data["open_offers"]:
        _line(f"  open offer for {offer['person']}: {offer['text']}")
