"""How things look in a terminal (rich tables, plain lines) and as JSON objects.

A list is a rich table that fits the terminal's width on a terminal; when stdout is not a
terminal (a pipe, a file) it is plain tab-separated lines with a header, one row a line and no
value cut, printed as the rows come (rich is not even imported), so `syncsvc people | grep`
works and 20,000 people print in a fraction of a second."""

from __future__ import annotations

import functools
import sys
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from syncsvc.store import calls as calls_db

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table

    from syncsvc.app import App
    from syncsvc.store import people as people_db
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


def is_terminal() -> bool:
    """Whether stdout is a terminal (tables) or not (plain tab-separated lines)."""
    try:
        return sys.stdout.isatty()
    except (AttributeError, ValueError):
        return False


def _plain(value: str) -> str:
    """A value on one plain line: a tab or a line break in it would split the row."""
    if "\t" in value or "\n" in value or "\r" in value:
        return value.replace("\r\n", " ").replace("\t", " ").replace("\n", " ").replace("\r", " ")
    return value


def print_rows(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> int:
    """Print a list: a table on a terminal, tab-separated lines with a header elsewhere.
    Returns how many rows there were (nothing is printed for none: the caller says why)."""
    n = 0
    if not is_terminal():
        write = sys.stdout.write
        for row in rows:
            if not n:
                write("\t".join(columns) + "\n")
            write("\t".join(_plain(v) for v in row) + "\n")
            n += 1
        return n
    table = _table(*columns)
    for row in rows:
        table.add_row(*row)
        n += 1
    if n:
        _console().print(table)
    return n


def _note(text: str) -> None:
    """A line about a list (a count, a hint): on a terminal after the table; in a pipe on
    stderr, so the lines a script reads are the rows."""
    print(text, file=sys.stdout if is_terminal() else sys.stderr)


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


PEOPLE_COLUMNS = ("id", "name", "reach", "org", "last contact", "next call", "referred by")


def print_people(rows: Iterable[people_db.ListRow], search: str | None = None) -> None:
    lines = (
        (
            str(r.id),
            r.name,
            ", ".join(x for x in (r.email, r.phone) if x),
            r.org or "",
            r.last_contacted or "",
            r.next_call or "",
            r.referred_by or "",
        )
        for r in rows
    )
    n = print_rows(PEOPLE_COLUMNS, lines)
    if n:
        _note(f"{n} people.")
    elif search:
        _line(f"Nobody matches '{search}' (names, orgs, emails, phones, notes).")
    else:
        _line("Nobody yet: `syncsvc import FILE.vcf` or `syncsvc add NAME`.")


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
    print_rows(
        ("date", "time", "person", "kind", "outcome", "why"),
        (
            (
                c.day.isoformat(),
                c.start.strftime("%H:%M"),
                c.person_name,
                c.kind,
                c.outcome,
                c.reason,
            )
            for c in calls
        ),
    )
    if dry_run:
        _line("Dry run: nothing was written.")
    elif app.config.calendar.backend == "vdir":
        _line(f"Calls written to {app.config.calendar_path} (one .ics file per call).")
        _line("Look at them with `khal list`, or sync the folder to your phone with vdirsyncer.")
        _line("After a call, write your notes below the marker line in the event; then")
        _line("`syncsvc sync` reads them (the daemon does it every few minutes).")
    else:
        _line(f"Calls written to your {app.config.calendar.backend} calendar.")


def print_calls(rows: Sequence[calls_db.Call], *, filtered: bool = False) -> None:
    if not rows:
        if filtered:
            _line("No calls match (try without --person or --since, or `syncsvc calls`).")
        else:
            _line("No calls yet: `syncsvc plan`.")
        return
    short = is_terminal()  # a table cuts long notes; a pipe gets them whole
    print_rows(
        ("date", "person", "kind", "outcome", "notes", "referrals", "offers", "follow up", "why"),
        (
            (
                c.day.isoformat(),
                c.person_name,
                c.kind,
                c.outcome,
                c.notes[:60] + ("…" if len(c.notes) > 60 else "") if short else c.notes,
                ", ".join(c.referrals),
                "; ".join(c.offers),
                c.follow_up.isoformat() if c.follow_up else "",
                (c.reason or "")[:40] + ("…" if len(c.reason or "") > 40 else "")
                if short
                else c.reason or "",
            )
            for c in rows
        ),
    )


def print_offers(offers: Sequence[calls_db.Offer]) -> None:
    if not offers:
        _line("No open offers.")
        return
    print_rows(
        ("id", "date", "person", "offer"),
        ((str(o.id), o.day.isoformat(), o.person_name, o.text) for o in offers),
    )
    _line("When you have made one good: syncsvc offers done ID")


def print_status(data: dict[str, Any]) -> None:
    _line(f"{data['date']}  topic: {data['topic'] or '(none yet: syncsvc topic TEXT)'}")
    if data["today"]:
        for c in data["today"]:
            _line(f"  {c['start'][11:16]}  {c['person']['name']:<30} {c['outcome']}")
    else:
        _line("  No calls today.")
        if data.get("next"):
            _line(f"  Next calls, {data['next'][0]['date']}:")
            for c in data["next"]:
                _line(f"  {c['start'][11:16]}  {c['person']['name']:<30} {c['outcome']}")
        else:
            _line("  No calls planned: `syncsvc plan` (the daemon plans each planning day).")
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


def _reach_of(p: Person) -> str:
    return ", ".join([*p.emails, *(w for w, _ in p.phones)]) or "-"


def print_merge(app: App, keep: Person, other: Person) -> None:
    """Both people and what the merge makes of them, before anyone is asked."""
    conn = app.store.conn
    for label, p in (("keep ", keep), ("merge", other)):
        calls = sum(1 for _ in calls_db.history(conn, person_id=p.id))
        _line(
            f"{label}  {p.id}  {p.name}  {_reach_of(p)}  org: {p.org or '-'}  "
            f"last contact: {p.last_contacted or '-'}  {calls} call(s)"
        )
    emails = list(dict.fromkeys([*keep.emails, *other.emails]))
    phones = list(dict.fromkeys([w for w, _ in keep.phones] + [w for w, _ in other.phones]))
    last = max(filter(None, (keep.last_contacted, other.last_contacted)), default=None)
    _line(
        f"result {keep.id}  {keep.name}  {', '.join(emails + phones) or '-'}  "
        f"org: {keep.org or other.org or '-'}  last contact: {last or '-'}; every call, note, "
        "offer and referral of both is kept"
    )


def print_person(data: dict[str, Any]) -> None:
    """`show`: one person whole."""
    _line(f"{data['name']}  (id {data['id']})")
    rows = [
        ("emails", ", ".join(data["emails"])),
        ("phones", ", ".join(data["phones"])),
        ("org", " · ".join(x for x in (data["org"], data["title"]) if x)),
        ("note", data["note"] or ""),
        ("source", data["source"]),
        ("last contact", data["last_contacted"] or "never"),
        ("next call", data["next_call"] or "none planned"),
        ("paused", data["paused"] or ""),
        ("referred by", " ← ".join(p["name"] or str(p["id"]) for p in data["referral_chain"])),
        ("referred", ", ".join(p["name"] for p in data["referred"])),
    ]
    for label, value in rows:
        if value:
            _line(f"  {label + ':':<13} {value}")
    if data["calls"]:
        _line("  calls:")
        for c in data["calls"]:
            extra = "; ".join(
                x
                for x in (
                    c["notes"].replace("\n", " / ") if c["notes"] else "",
                    ("referred " + ", ".join(c["referrals"])) if c["referrals"] else "",
                    ("offered " + "; ".join(c["offers"])) if c["offers"] else "",
                )
                if x
            )
            _line(f"    {c['date']}  {c['kind']:<9} {c['outcome']:<12} {extra}".rstrip())
    else:
        _line("  no calls yet")
    for o in data["offers"]:
        _line(f"  open offer {o['id']}: {o['text']} ({o['date']})")


def print_khal_hint(app: App) -> None:
    """After the first plan into the local folder: what khal needs to show these calls."""
    if app.config.calendar.backend != "vdir":
        return
    _line("")
    _line("To see these calls in khal, add this to ~/.config/khal/config:")
    _line("  [calendars]")
    _line("  [[syncsvc]]")
    _line(f"  path = {app.config.calendar_path}")
    _line("  type = calendar")
