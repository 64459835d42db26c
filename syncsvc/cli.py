"""The `syncsvc` command: thin argparse commands over ``App``; one place turns errors into
one line on stderr and an exit code.

Start-up time is a target (docs/PERFORMANCE.md, target 6): before a command runs only the
standard library's argparse is loaded; each command imports what it uses, so `--help` and
`status` do not pay for the rest.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Sequence

from syncsvc import __version__
from syncsvc.errors import SyncsvcError, UsageError

# Annotations are not evaluated here (PEP 563): these imports are for type checkers only, which
# read the name TYPE_CHECKING as True. Not importing typing saves `--help` 2 ms.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from datetime import date
    from typing import Any

    from syncsvc.app import App

DESCRIPTION = """\
syncsvc — your networking plan, run inside the calendar you already use.

Import the people you know, set your topic, and syncsvc puts 1–3 calls a day into your
calendar, then reads back what you wrote after each call."""


class Ctx:
    """What every command gets: the config path and, on demand, the App."""

    def __init__(self, config_path: str | None, verbose: bool) -> None:
        self.config_path = config_path
        self.verbose = verbose
        self._app: App | None = None

    @property
    def app(self) -> App:
        if self._app is None:
            from syncsvc import config
            from syncsvc.app import App

            self._app = App(config.load(self.config_path))
        return self._app

    def close(self) -> None:
        if self._app is not None:
            self._app.close()
            self._app = None


Command = Callable[[Ctx, argparse.Namespace], "int | None"]


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns its exit code. ``argv`` defaults to ``sys.argv[1:]``.

    Usage errors, ``--help`` and ``--version`` end in argparse's ``SystemExit`` (2, 0, 0).
    """
    parser = build_parser()
    args = parse_args(parser, argv)
    command: Command | None = args.command
    if command is None:  # `syncsvc` or `syncsvc auth` alone: the help, as a usage error
        args.help_parser.print_help(sys.stderr)
        return 2
    from syncsvc.log import setup_logging

    setup_logging(args.verbose)
    ctx = Ctx(args.config_path, args.verbose)
    try:
        return command(ctx, args) or 0
    except SyncsvcError as e:
        for line in str(e).splitlines() or [type(e).__name__]:
            print(f"syncsvc: {line}", file=sys.stderr)
        return e.exit_code
    except KeyboardInterrupt:
        print("syncsvc: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `syncsvc people | head`: the reader has gone; stop quietly (and let the interpreter's
        # last flush of stdout go nowhere instead of printing a second error)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 1
    except Exception as e:
        if args.verbose:
            import logging

            logging.getLogger("syncsvc").exception("internal error")
        print(
            f"syncsvc: internal error: {type(e).__name__}: {e} (run with -v for details)",
            file=sys.stderr,
        )
        return 70
    finally:
        ctx.close()


GLOBAL_FLAGS = ("-v", "--verbose")
GLOBAL_VALUE = "--config"


def hoist_globals(argv: Sequence[str]) -> list[str]:
    """The global options moved before the command, wherever they were written
    (`syncsvc sync -v`, `syncsvc people --config X`): cheaper at start-up than repeating them
    on every command's parser. Nothing after ``--`` moves."""
    front: list[str] = []
    rest: list[str] = []
    items = iter(argv)
    for item in items:
        if item == "--":
            rest += [item, *items]
            break
        if item in GLOBAL_FLAGS or item.startswith(GLOBAL_VALUE + "="):
            front.append(item)
        elif item == GLOBAL_VALUE:
            front.append(item)
            value = next(items, None)
            if value is not None:
                front.append(value)
        else:
            rest.append(item)
    return front + rest


def parse_args(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    argv = hoist_globals(sys.argv[1:] if argv is None else argv)
    args, extra = parser.parse_known_args(argv)
    # argparse takes a command's list of paths only in one piece; `import a.vcf --json b.vcf`
    # leaves b.vcf over. It is one more path, not an unknown argument.
    if extra and args.command is cmd_import and not any(e.startswith("-") for e in extra):
        args.paths += extra
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command is cmd_merge and not args.undo:  # KEEP and OTHER, unless --undo
        missing = [m for m, v in (("KEEP", args.keep), ("OTHER", args.other)) if not v]
        if missing:
            args.help_parser.error(f"the following arguments are required: {', '.join(missing)}")
    return args


# ---------------------------------------------------------------------------- output
def emit_json(data: Any) -> None:
    import json

    print(json.dumps(data, ensure_ascii=False, indent=2))


def stream_json_list(items: Iterable[dict[str, Any]]) -> None:
    """Print a JSON list item by item, so a long list starts printing at once."""
    import json

    out = sys.stdout
    out.write("[")
    first = True
    for item in items:
        out.write("\n  " if first else ",\n  ")
        out.write(json.dumps(item, ensure_ascii=False))
        first = False
    out.write("\n]\n" if not first else "]\n")
    out.flush()


# what a day on the command line may be: dates far outside it are typos (or probes) that would
# otherwise reach date arithmetic and end as an internal error (OverflowError)
EARLIEST_DAY_ISO = "1900-01-01"
HORIZON_DAYS = 3653  # ten years ahead of today
MAX_PLAN_DAYS = 60  # `plan --days`: two months of planning days at most


def parse_day(ctx: Ctx, value: str | None, option: str, *, past: bool = False) -> date | None:
    """A day on the command line: ISO, or the words notes take ("friday", "next week"), between
    1900 and ten years from today (else a one-line usage error). ``past``: an option that
    looks back (``--since``) also takes "yesterday", "last monday", "last week", "last month"
    and "3 days ago" / "2 weeks ago"."""
    if value is None:
        return None
    from datetime import date, timedelta  # not before a command needs it (start-up time)

    try:
        day: date | None = date.fromisoformat(value)
    except ValueError:
        from syncsvc.notes import parse_day as day_in_words

        day = past_day(value, ctx.app.today()) if past else None
        day = day or day_in_words(value, ctx.app.today())
    if day is None:
        words = "yesterday, last monday, 2 weeks ago" if past else "tomorrow, a weekday"
        raise UsageError(
            f"{option} {value!r} is not a date; use YYYY-MM-DD, today, {words} "
            f"or e.g. '{'last week' if past else 'next week'}'"
        )
    latest = ctx.app.today() + timedelta(days=HORIZON_DAYS)
    if not date.fromisoformat(EARLIEST_DAY_ISO) <= day <= latest:
        raise UsageError(
            f"{option} {day.isoformat()} is out of range; "
            f"use a day from {EARLIEST_DAY_ISO} to {latest.isoformat()}"
        )
    return day


_WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")


def past_day(value: str, today: date) -> date | None:
    """A day before ``today`` in words: "yesterday", "last friday" (the latest Friday before
    today), "last week" (its Monday), "last month" (its first day), "N days/weeks ago"."""
    from datetime import timedelta

    words = value.strip().casefold().split()
    if words == ["yesterday"]:
        return today - timedelta(days=1)
    if len(words) == 2 and words[0] == "last":
        what = words[1]
        for i, name in enumerate(_WEEKDAYS):
            if what in (name, name[:3]):
                return today - timedelta(days=(today.weekday() - i - 1) % 7 + 1)
        if what == "week":
            return today - timedelta(days=today.weekday() + 7)
        if what == "month":
            return (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    if len(words) == 3 and words[2] == "ago" and (words[0].isdigit() or words[0] in ("a", "one")):
        n = int(words[0]) if words[0].isdigit() else 1
        unit = words[1].rstrip("s")
        days = n * (7 if unit == "week" else 1)
        if unit in ("day", "week") and days <= 73_000:  # beyond that: out of range anyway
            return today - timedelta(days=days)
    return None


def confirm(question: str, yes: bool, what: str) -> None:
    """Go on only if the person said so: ``--yes``, or "y" at a terminal's prompt. Elsewhere
    (a script, a pipe) without --yes nothing is changed: a usage error."""
    if yes:
        return
    if not (sys.stdin.isatty() and sys.stdout.isatty()):
        raise UsageError(f"{what} changes the list for good: add --yes to do it without asking")
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        answer = ""
    if answer.strip().lower() not in ("y", "yes"):
        raise UsageError("nothing changed")


# ---------------------------------------------------------------------------- import
def cmd_import(ctx: Ctx, args: argparse.Namespace) -> None:
    paths: list[str] = args.paths
    if not paths and not args.google and not args.linkedin:
        raise UsageError("name vCard files or folders to import, or use --google or --linkedin")
    app = ctx.app

    linkedin = [args.linkedin] if args.linkedin else []
    # one transaction: every path is checked, and Google read, before anything is imported
    result = _import_with_progress(app, paths, linkedin, quiet=args.json, google=args.google)
    if args.json:
        emit_json(result.as_json())
        return
    for s in result.skipped:
        print(
            f"skipped {s['source']}: card {s['card']} (line {s['line']}): {s['reason']}",
            file=sys.stderr,
        )
    print(f"Imported: {result.summary()}. {app.store_count()} people on your list.")


def _import_with_progress(
    app: App, paths: Sequence[str], linkedin: Sequence[str], quiet: bool, google: bool
) -> Any:
    """Import, with a progress bar on stderr once it passes a few hundred cards (not with
    --json, not when stderr is not a terminal)."""
    progress = _CardProgress(enabled=not quiet and sys.stderr.isatty())
    try:
        return app.import_contacts(paths, linkedin, progress=progress, google=google)
    finally:
        progress.close()


class _CardProgress:
    SHOW_AFTER = 300  # cards: a small import finishes before a bar is worth drawing

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.count = 0
        self._bar: Any = None
        self._task: Any = None

    def __call__(self) -> None:
        self.count += 1
        if self._bar is not None:
            self._bar.advance(self._task)
        elif self.enabled and self.count >= self.SHOW_AFTER:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self._bar = Progress(
                TextColumn("importing"),
                BarColumn(),
                TextColumn("{task.completed} cards"),
                TimeElapsedColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._bar.start()
            self._task = self._bar.add_task("import", total=None, completed=self.count)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()


# ---------------------------------------------------------------------------- people
def cmd_add(ctx: Ctx, args: argparse.Namespace) -> None:
    from syncsvc.app import PersonInput

    app = ctx.app
    before = app.store_count()
    person_id = app.add_person(
        PersonInput(
            name=args.name,
            emails=args.email,
            phones=args.phone,
            org=args.org,
            note=args.note,
            referred_by=args.referred_by,
        )
    )
    if app.store_count() > before:
        print(f"Added {args.name} (id {person_id}).")
    else:  # the email or phone was someone's already: they were updated, nobody was added
        name = app.resolve(str(person_id)).name
        print(f"Updated {name} (id {person_id}): they had that email or phone already.")


def cmd_people(ctx: Ctx, args: argparse.Namespace) -> None:
    from syncsvc import views

    app = ctx.app
    if args.duplicates:
        groups = app.duplicates()
        if args.json:
            emit_json([[views.person_json(app, p) for p in g] for g in groups])
        else:
            views.print_duplicates(groups)
        return
    if args.json:
        stream_json_list(views.person_json(app, p) for p in app.people(args.search, args.limit))
    else:
        views.print_people(app.people_rows(args.search, args.limit), args.search)


def cmd_merge(ctx: Ctx, args: argparse.Namespace) -> None:
    from syncsvc import views

    app = ctx.app
    if args.undo:
        if args.keep or args.other:
            raise UsageError("merge --undo takes no names: it undoes the last merge")
        kept, dropped = app.merge_undo()
        print(
            f"Undid the last merge: {app.resolve(str(kept)).name} (id {kept}) and "
            f"{app.resolve(str(dropped)).name} (id {dropped}) are two people again."
        )
        return
    if not (args.keep and args.other):
        raise UsageError(
            "name the person to keep and the one to merge into them: syncsvc merge KEEP OTHER"
        )
    keep, other = app.resolve(args.keep), app.resolve(args.other)
    if keep.id == other.id:
        raise UsageError("those are the same person")
    views.print_merge(app, keep, other)
    confirm("Merge them?", args.yes, "merge")
    person_id = app.merge(str(keep.id), str(other.id))
    print(
        f"Merged {other.name} (id {other.id}) into {keep.name} (id {person_id}). "
        "Undo with: syncsvc merge --undo"
    )


def cmd_show(ctx: Ctx, args: argparse.Namespace) -> None:
    from syncsvc import views

    app = ctx.app
    data = app.person_details(app.resolve(args.person))
    if args.json:
        emit_json(data)
    else:
        views.print_person(data)


def cmd_edit(ctx: Ctx, args: argparse.Namespace) -> None:
    changes = (
        args.name,
        args.email,
        args.phone,
        args.org,
        args.note,
        args.drop_email,
        args.drop_phone,
    )
    if not any(changes):
        raise UsageError(
            "say what to change: --name, --email, --phone, --org, --note, "
            "--drop-email or --drop-phone"
        )
    person = ctx.app.edit(
        args.person,
        name=args.name,
        emails=args.email,
        phones=args.phone,
        org=args.org,
        note=args.note,
        drop_emails=args.drop_email,
        drop_phones=args.drop_phone,
    )
    if args.json:
        emit_json(ctx.app.person_details(person))
        return
    reach = ", ".join([*person.emails, *(w for w, _ in person.phones)]) or "no email or phone"
    print(
        f"Changed {person.name} (id {person.id}): {reach}"
        + (f"; {person.org}" if person.org else "")
        + "."
    )


def cmd_never(ctx: Ctx, args: argparse.Namespace) -> None:
    app = ctx.app
    person = app.resolve(args.person)
    if args.undo:
        app.never(person.id, undo=True)
        print(f"{person.name} (id {person.id}) is back in the rotation.")
        return
    dropped = app.never(person.id)
    planned = " Their planned call was taken off the calendar." if dropped else ""
    print(
        f"{person.name} (id {person.id}) will not be called again; their history is kept."
        f"{planned} Undo with: syncsvc never {person.id} --undo"
    )


def cmd_remove(ctx: Ctx, args: argparse.Namespace) -> None:
    app = ctx.app
    person = app.resolve(args.person)
    calls = len(app.calls(str(person.id)))
    reach = ", ".join([*person.emails, *(w for w, _ in person.phones)]) or "-"
    print(f"{person.id}\t{person.name}\t{reach}\t{calls} call(s)")
    confirm(f"Delete {person.name} and their history?", args.yes, "remove")
    app.remove(person.id)
    print(
        f"Removed {person.name} (id {person.id}) and {calls} call(s). "
        f"To keep them but never call them: syncsvc never PERSON."
    )


def cmd_topic(ctx: Ctx, args: argparse.Namespace) -> None:
    from syncsvc.store import people as people_db

    app = ctx.app
    text: str | None = args.text
    if text is not None:
        app.set_topic(text)
    history = people_db.topic_history(app.store.conn)
    if args.json:
        emit_json(
            {
                "topic": history[-1][0] if history else None,
                "history": [{"text": t, "set_at": at} for t, at in history],
            }
        )
    elif history:
        print(history[-1][0] if text is None else f"Topic set: {history[-1][0]}")
    else:
        print('No topic yet. Set one: syncsvc topic "product management in climate tech"')


# ---------------------------------------------------------------------------- calls
def cmd_plan(ctx: Ctx, args: argparse.Namespace) -> None:
    from syncsvc import views

    app = ctx.app
    if not 1 <= args.days <= MAX_PLAN_DAYS:
        raise UsageError(f"--days {args.days} is out of range; plan 1 to {MAX_PLAN_DAYS} days")
    first = parse_day(ctx, args.day, "--date")
    if first is not None and first < app.today():
        raise UsageError(f"--date {first.isoformat()} is in the past; plan today or later")
    calls = app.plan(first, args.days, dry_run=args.dry_run)
    if app.topic() is None:
        print(
            'syncsvc: no topic set, so the events ask about "the field you want to explore"; '
            'set one: syncsvc topic "what you want to learn about"',
            file=sys.stderr,
        )
    if args.json:
        emit_json([c.as_json(full=False) for c in calls])
        return
    views.print_plan(app, calls, args.dry_run)
    days_planned = len({c.day for c in calls})
    if calls and days_planned < args.days:
        print(
            f"Calls on {days_planned} of the {args.days} days asked: everyone who can be "
            f"called now has a call ({app.store_count()} people on the list, "
            f"{app.config.calls.per_day} a day; paused people and those called this round "
            "wait). Add people: syncsvc import, syncsvc add."
        )
    if not args.dry_run and calls and app.first_time("khal_hint"):
        views.print_khal_hint(app)


def cmd_sync(ctx: Ctx, args: argparse.Namespace) -> None:
    # getattr: callers that build the Namespace by hand (tests/test_notes_loop.py) predate it
    report = ctx.app.sync(force_delete=getattr(args, "force_delete", False))
    if args.json:
        emit_json(report.as_json())
        return
    for read in report.calls:  # what was understood of each note, and what was not
        print(read.line())
    # one bad event file never stops the rest: each was named on stderr by the backend's log
    # line ("calendar file X skipped: why"); the summary counts them
    skipped = (
        f" {len(report.problems)} bad event files skipped (named above)." if report.problems else ""
    )
    print(
        f"Synced: {report.written} events written, {report.changed} changed, "
        f"{len(report.applied)} with new notes, {report.deleted} deleted, {report.missed} missed."
        + skipped
    )
    if report.storage_gone:  # --force-delete on a calendar folder that is gone
        print("The calendar folder is created again by the next `syncsvc plan`.")


def cmd_calls(ctx: Ctx, args: argparse.Namespace) -> None:
    from syncsvc import views

    rows = ctx.app.calls(args.person, parse_day(ctx, args.since, "--since", past=True))
    if args.limit is not None:
        rows = rows[: args.limit]
    if args.json:
        emit_json([c.as_json() for c in rows])
    else:
        views.print_calls(rows, filtered=bool(args.person or args.since))


def cmd_status(ctx: Ctx, args: argparse.Namespace) -> None:
    from syncsvc import views

    data = ctx.app.status()
    if args.json:
        emit_json(data)
    else:
        views.print_status(data)


def cmd_run(ctx: Ctx, args: argparse.Namespace) -> int:
    app = ctx.app
    app.narrate = True
    if args.once:
        planned = app.plan()
        report = app.sync()
        days = ", ".join(sorted({c.day.isoformat() for c in planned})) or "no day"
        print(
            f"Planned {len(planned)} calls ({days}); synced: "
            f"{len(report.applied)} with new notes, {report.missed} missed."
        )
        return 0
    from syncsvc import daemon, extras, notify

    cfg = app.config
    extras.require_for_config(cfg)  # not a job failing every few minutes: say it and stop
    jobs = daemon.Jobs(
        plan=app.plan_due,
        sync=app.sync,
        reimport=app.reimport if (cfg.contacts.vcard or cfg.contacts.google) else None,
        notify=notify.job_for(app),  # the desktop nudge before each call (local calendar)
    )
    return daemon.run(
        jobs,
        plan_at=cfg.calls.plan_at,
        zone=cfg.calls.zone,
        poll_minutes=cfg.sync.poll_minutes,
        clock=app.clock,
    )


def cmd_offers(ctx: Ctx, args: argparse.Namespace) -> None:
    from syncsvc import views

    offers = ctx.app.offers()
    if args.limit is not None:
        offers = offers[: args.limit]
    if args.json:
        emit_json([o.as_json() for o in offers])
    else:
        views.print_offers(offers)


def cmd_offer_done(ctx: Ctx, args: argparse.Namespace) -> None:
    offer, closed = ctx.app.offer_done(args.offer_id)
    if args.json:
        emit_json({**offer.as_json(), "was_open": closed})
    elif closed:
        print(f"Offer {offer.id} done: {offer.text} ({offer.person_name}).")
    else:
        print(f"Offer {offer.id} was done already ({offer.done_at}): {offer.text}.")


# ---------------------------------------------------------------------------- updates
def cmd_updates(ctx: Ctx, args: argparse.Namespace) -> None:
    """Draft the update messages that are due (never sent), list the open ones; --done ID
    marks one sent."""
    from syncsvc import updates as updates_mod

    app = ctx.app
    if args.done is not None:
        d, was_open = updates_mod.done(app.store, args.done, app.clock.now())
        if args.json:
            emit_json({**d.as_json(), "was_open": was_open})
        elif was_open:
            print(f"Update {d.id} to {d.name} marked sent.")
        else:
            print(f"Update {d.id} to {d.name} was marked sent already ({d.sent_at}).")
        return
    result = updates_mod.draft(app.store, app.config.data_dir, app.today(), app.clock.now())
    if args.json:
        emit_json(result.as_json())
        return
    if result.new:
        print(f"Drafted {len(result.new)} new update(s) in {result.folder}:")
    if not result.pending:
        print("No updates to send: they come after a win, and every few weeks to helpers.")
        return
    for d in result.pending:
        to = f" <{d.email}>" if d.email else " (no email on file)"
        name = os.path.basename(d.path) if d.path else ""
        print(f"  {d.id:>3}  {d.name}{to}: {d.subject}  {name}")
    print("Open each .eml file in your mail client and send it; then: syncsvc updates --done ID")


# ---------------------------------------------------------------------------- report
def cmd_report(ctx: Ctx, args: argparse.Namespace) -> None:
    from syncsvc import report as report_mod
    from syncsvc.paths import is_stdout

    data = report_mod.collect(ctx.app)
    written = report_mod.write_html(data, args.html_path) if args.html_path else None
    if args.json:
        emit_json({**data, "html": str(written) if written else None})
        return
    # the page itself went to stdout: the summary goes beside it, not into it
    page_on_stdout = args.html_path is not None and (
        args.html_path == "-" or is_stdout(os.path.expanduser(args.html_path))
    )
    out = sys.stderr if page_on_stdout else sys.stdout
    print(report_mod.render_text(data), file=out)
    if written and not page_on_stdout:
        print(f"\nHTML report written to {written} (open it in any browser).")


def cmd_export(ctx: Ctx, args: argparse.Namespace) -> None:
    from syncsvc import export as export_mod

    path: str = args.path
    fmt: str = args.fmt or export_mod.guess_format(path)
    result = export_mod.export(ctx.app.store.conn, path, fmt)
    where = "stdout" if path == "-" else path
    print(
        f"Exported {result.people} people and {result.calls} calls to {where} ({fmt}).",
        file=sys.stderr if path == "-" else sys.stdout,
    )


def cmd_auth_google(ctx: Ctx, args: argparse.Namespace) -> None:
    from syncsvc.google_auth import sign_in

    sign_in(ctx.app.config, open_browser=not args.no_browser)
    print(f"Signed in; token stored in {ctx.app.config.google_token_path} (mode 0600).")


def cmd_auth_microsoft(ctx: Ctx, args: argparse.Namespace) -> None:
    from syncsvc.microsoft_auth import sign_in

    account = sign_in(ctx.app.config, lambda message: print(message, flush=True))
    who = f" as {account}" if account else ""
    print(
        f"Signed in{who}; token cache stored in {ctx.app.config.microsoft_token_path} (mode 0600)."
    )


def cmd_doctor(ctx: Ctx, args: argparse.Namespace) -> int:
    from syncsvc import doctor as doctor_mod

    results = doctor_mod.run_checks(ctx.config_path)
    if args.json:
        emit_json([r.as_json() for r in results])
    else:
        for r in results:
            print(r.line())
    return max((r.exit_code for r in results if not r.ok), default=0)


def cmd_install_service(ctx: Ctx, args: argparse.Namespace) -> None:
    from syncsvc import config as config_mod
    from syncsvc import service

    installed = service.install(config_mod.load(ctx.config_path), ctx.config_path)
    verb = "Wrote" if installed.changed else "Unchanged:"
    print(f"{verb} {installed.path}")
    print(f"  ExecStart={installed.exec_start}")
    print("Start it now and at every login:")
    print("  systemctl --user daemon-reload && systemctl --user enable --now syncsvc")
    print("Keep it running while you are logged out (optional):")
    print(f"  loginctl enable-linger {os.environ.get('USER') or '$USER'}")


def cmd_completion(ctx: Ctx, args: argparse.Namespace) -> None:
    try:
        import shtab
    except ImportError:
        raise UsageError(
            "shell completion needs shtab: pip install 'syncsvc[shell]' (or pip install shtab)"
        ) from None
    print(shtab.complete(build_parser(), shell=args.shell), end="")


def cmd_manpage(ctx: Ctx, args: argparse.Namespace) -> None:
    try:
        from argparse_manpage.manpage import Manpage  # type: ignore[import-untyped]
    except ImportError:
        raise UsageError(
            "the man page needs argparse-manpage: pip install 'syncsvc[shell]'"
        ) from None
    parser = build_parser()
    parser.man_short_description = "networking calls planned into your calendar"  # type: ignore[attr-defined]
    print(str(Manpage(parser)), end="")


# ---------------------------------------------------------------------------- the parser
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="syncsvc",
        description=DESCRIPTION,
        epilog="Run `syncsvc COMMAND --help` for the options of a command. The global options\n"
        "(--config, -v, --json) work before or after the command.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument("--config", dest="config_path", metavar="PATH", help="Config file (TOML).")
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="More log output; tracebacks on errors."
    )
    parser.add_argument(
        "--json", action="store_true", help="Print one JSON document (commands that report)."
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s, version {__version__}")
    parser.set_defaults(command=None, help_parser=parser, limit=None)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(
        name: str,
        run: Command | None,
        help: str,
        examples: str = "",
        group: argparse._SubParsersAction[argparse.ArgumentParser] = commands,
        hidden: bool = False,
    ) -> argparse.ArgumentParser:
        epilog = "examples:\n" + examples if examples else None
        kwargs: dict[str, Any] = {} if hidden else {"help": help}
        sub = group.add_parser(
            name,
            description=help,
            epilog=epilog,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            allow_abbrev=False,
            **kwargs,
        )
        sub.set_defaults(command=run)
        return sub

    def json_flag(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--json",
            action="store_true",
            default=argparse.SUPPRESS,
            help="Print one JSON document.",
        )

    def limit_flag(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("--limit", type=_positive, metavar="N", help="Show the first N only.")

    p = command(
        "import",
        cmd_import,
        "Import vCard files or folders of .vcf files (or --google, --linkedin).",
        "  syncsvc import ~/contacts.vcf\n"
        "  syncsvc import ~/.local/share/khard/contacts/   # a folder of .vcf files\n"
        "  syncsvc import --google",
    )
    p.add_argument("paths", nargs="*", metavar="PATHS", help="vCard files or folders.")
    p.add_argument("--google", action="store_true", help="Import Google Contacts (People API).")
    p.add_argument(
        "--linkedin",
        metavar="PATH",
        help="Import LinkedIn's Connections.csv (from your LinkedIn data export).",
    )
    json_flag(p)

    p = command(
        "add",
        cmd_add,
        "Add one name by hand.",
        '  syncsvc add "Jane Roe" --email jane@example.org\n'
        '  syncsvc add "Kim Park" --phone "+49 170 1234567" --referred-by jane\n',
    )
    p.add_argument("name", metavar="NAME")
    p.add_argument("--email", action="append", default=[], help="Email address (repeatable).")
    p.add_argument("--phone", action="append", default=[], help="Phone number (repeatable).")
    p.add_argument("--org", help="Organisation.")
    p.add_argument("--note", help="A note about them.")
    p.add_argument(
        "--referred-by", metavar="PERSON", help="Who referred them (id, email, phone or name)."
    )

    p = command(
        "people",
        cmd_people,
        "The name list: who, how to reach them, last contact, next call, referred by.",
        "  syncsvc people --search brightwater\n"
        "  syncsvc people | grep -c Acme          # plain lines when piped\n"
        "  syncsvc people --json --limit 10",
    )
    json_flag(p)
    limit_flag(p)
    p.add_argument(
        "--search", metavar="TEXT", help="Only people whose name, org, email or phone match."
    )
    p.add_argument(
        "--duplicates", action="store_true", help="Possible duplicates (same name) to merge."
    )

    p = command(
        "show",
        cmd_show,
        "One person whole: reach, notes, calls, offers, referral chain.",
        "  syncsvc show emilie\n  syncsvc show jane@example.org --json",
    )
    p.add_argument("person", metavar="PERSON", help="An id, email, phone or (part of a) name.")
    json_flag(p)

    p = command(
        "edit",
        cmd_edit,
        "Change one person: name, emails, phones, org, note.",
        "  syncsvc edit jane --email jane@new.example --drop-email jane@old.example\n"
        '  syncsvc edit 42 --name "Émilie Durand" --org "Tidewater Energy"',
    )
    p.add_argument("person", metavar="PERSON", help="An id, email, phone or (part of a) name.")
    p.add_argument("--name", help="Their name.")
    p.add_argument("--email", action="append", default=[], help="Add an email (repeatable).")
    p.add_argument("--phone", action="append", default=[], help="Add a phone (repeatable).")
    p.add_argument("--org", help="Organisation.")
    p.add_argument("--note", help="Your note about them.")
    p.add_argument(
        "--drop-email", action="append", default=[], metavar="E", help="Remove this email."
    )
    p.add_argument(
        "--drop-phone", action="append", default=[], metavar="P", help="Remove this phone."
    )
    json_flag(p)

    p = command(
        "never",
        cmd_never,
        "Take a person out of the rotation for good (their history is kept).",
        "  syncsvc never 'Tom Baker'\n  syncsvc never tom --undo     # back in the rotation",
    )
    p.add_argument("person", metavar="PERSON", help="An id, email, phone or (part of a) name.")
    p.add_argument("--undo", action="store_true", help="Bring them back into the rotation.")

    p = command(
        "remove",
        cmd_remove,
        "Delete a person and their history (a terminal asks; elsewhere --yes is needed).",
        "  syncsvc remove 1234\n  syncsvc remove spam@example.com --yes",
    )
    p.add_argument("person", metavar="PERSON", help="An id, email, phone or (part of a) name.")
    p.add_argument("--yes", action="store_true", help="Do it without asking.")

    p = command(
        "merge",
        cmd_merge,
        "Merge person OTHER into KEEP after showing both (names, emails, phones or ids).",
        '  syncsvc merge "Jane Roe" jane.roe@work.example\n'
        "  syncsvc merge 12 57 --yes         # in a script\n"
        "  syncsvc merge --undo              # the last merge, exactly undone",
    )
    p.set_defaults(help_parser=p)
    p.add_argument("keep", metavar="KEEP", nargs="?")
    p.add_argument("other", metavar="OTHER", nargs="?")
    p.add_argument("--yes", action="store_true", help="Merge without asking.")
    p.add_argument("--undo", action="store_true", help="Undo the last merge.")

    p = command(
        "topic",
        cmd_topic,
        "Show or set the topic you are exploring (earlier topics are kept).",
        '  syncsvc topic "product management in climate tech"\n  syncsvc topic',
    )
    p.add_argument("text", nargs="?", metavar="TEXT")
    json_flag(p)

    p = command(
        "plan",
        cmd_plan,
        "Choose who to call and write those call events.",
        "  syncsvc plan\n  syncsvc plan --date friday --days 3\n  syncsvc plan --dry-run --json",
    )
    p.add_argument(
        "--date",
        dest="day",
        metavar="YYYY-MM-DD",
        help="First day to plan (also: today, tomorrow, friday, 'next week'; not in the past).",
    )
    p.add_argument(
        "--days",
        type=int,
        default=1,
        metavar="N",
        help=f"How many planning days, 1 to {MAX_PLAN_DAYS} (default: 1).",
    )
    p.add_argument(
        "--dry-run", action="store_true", help="Show what would be planned; change nothing."
    )
    json_flag(p)

    p = command(
        "sync",
        cmd_sync,
        "Read completion notes back from the calendar and apply them.",
        "  syncsvc sync\n  syncsvc sync -v --json\n  syncsvc sync --force-delete",
    )
    json_flag(p)
    p.add_argument(
        "--force-delete",
        action="store_true",
        help="You deleted all of syncsvc's events (or their calendar folder) yourself: read "
        "them as deleted this once instead of refusing. Without that refusal, no effect.",
    )

    p = command(
        "calls",
        cmd_calls,
        "The call history with outcomes, notes, referrals, offers and follow-ups.",
        '  syncsvc calls --person emilie\n  syncsvc calls --since "last monday"\n'
        "  syncsvc calls --since 2026-11-01 | cut -f2,4",
    )
    json_flag(p)
    limit_flag(p)
    p.add_argument("--person", metavar="PERSON", help="Only this person's calls.")
    p.add_argument(
        "--since",
        metavar="YYYY-MM-DD",
        help="Only calls on or after this day (also: yesterday, last monday, 3 days ago...).",
    )

    p = command(
        "status",
        cmd_status,
        "Today's calls, outcomes, streak, referrals gained, open offers.",
        "  syncsvc status\n  syncsvc status --json",
    )
    json_flag(p)

    p = command(
        "offers",
        cmd_offers,
        "Open offers, oldest first (offers done ID: mark one done).",
        "  syncsvc offers\n  syncsvc offers done 3",
    )
    p.set_defaults(help_parser=p)
    json_flag(p)
    limit_flag(p)
    actions = p.add_subparsers(title="actions", metavar="ACTION")
    p = command(
        "done",
        cmd_offer_done,
        "Mark offer ID done (the id `syncsvc offers` shows).",
        "  syncsvc offers done 3\n  syncsvc offers done 3 --json",
        group=actions,
    )
    p.add_argument("offer_id", metavar="ID", type=int)
    json_flag(p)

    p = command(
        "updates",
        cmd_updates,
        "Draft update messages to the people who helped (.eml files, never sent).",
        "  syncsvc updates\n  syncsvc updates --done 3",
    )
    p.add_argument("--done", type=int, metavar="ID", help="Mark draft ID sent.")
    json_flag(p)

    p = command(
        "run",
        cmd_run,
        "The daemon: plans every planning day, syncs every few minutes.",
        "  syncsvc run --once\n  syncsvc install-service    # run it under systemd instead",
    )
    p.add_argument("--once", action="store_true", help="Plan and sync once, then exit.")

    p = command(
        "report",
        cmd_report,
        "Progress: calls per week, outcomes, streak, referrals, list growth, wins.",
        "  syncsvc report\n  syncsvc report --html ~/report.html",
    )
    p.add_argument(
        "--html",
        dest="html_path",
        metavar="PATH",
        help="Also write the report as one self-contained HTML page.",
    )
    json_flag(p)

    p = command(
        "export",
        cmd_export,
        "Write the whole name list with its history to PATH (- for stdout).",
        "  syncsvc export backup.json\n  syncsvc export --vcard - > everyone.vcf",
    )
    p.add_argument("path", metavar="PATH")
    formats = p.add_mutually_exclusive_group()
    formats.add_argument(
        "--vcard",
        dest="fmt",
        action="store_const",
        const="vcard",
        help="vCard 3.0 (history as X- properties).",
    )
    formats.add_argument(
        "--json",
        dest="fmt",
        action="store_const",
        const="json",
        help="JSON with everything (the default).",
    )

    auth = command(
        "auth",
        None,
        "Sign in to services.",
        "  syncsvc auth google\n  syncsvc auth google --no-browser",
    )
    auth.set_defaults(help_parser=auth)  # `syncsvc auth` alone shows this help
    services = auth.add_subparsers(title="services", metavar="SERVICE")
    p = command(
        "google",
        cmd_auth_google,
        "Sign in to Google (installed-app OAuth on a loopback port).",
        "  syncsvc auth google\n  syncsvc auth google --no-browser   # on a machine without one",
        group=services,
    )
    p.add_argument("--no-browser", action="store_true", help="Only print the sign-in URL.")
    command(
        "microsoft",
        cmd_auth_microsoft,
        "Sign in to Microsoft 365 / Outlook.com (device code: open a URL, type a code).",
        group=services,
    )

    p = command(
        "doctor",
        cmd_doctor,
        "Check the config, the store and the calendar, with a fix for each problem.",
        "  syncsvc doctor\n  syncsvc doctor --json",
    )
    json_flag(p)

    command(
        "install-service",
        cmd_install_service,
        "Write the systemd user unit for this installation and say how to start it.",
        "  syncsvc install-service\n  systemctl --user enable --now syncsvc",
    )

    p = command(
        "completion",
        cmd_completion,
        "Print a shell completion script (bash, zsh or fish).",
        "  syncsvc completion bash > ~/.local/share/bash-completion/completions/syncsvc\n"
        "  syncsvc completion zsh > ~/.zfunc/_syncsvc\n"
        "  syncsvc completion fish > ~/.config/fish/completions/syncsvc.fish",
    )
    p.add_argument("shell", choices=("bash", "zsh", "fish"), metavar="SHELL")

    p = command("manpage", cmd_manpage, "Print the man page (roff).", hidden=True)
    return parser


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value
