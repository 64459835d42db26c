"""The `syncsvc` command: thin click commands over ``App``; one place turns errors into
one line on stderr and an exit code."""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable, Iterable
from datetime import date
from typing import Any, TypeVar

import click

from syncsvc import __version__
from syncsvc.errors import SyncsvcError, UsageError

F = TypeVar("F", bound=Callable[..., Any])
log = logging.getLogger("syncsvc")


class Ctx:
    """What every command gets: the config path and, on demand, the App."""

    def __init__(self, config_path: str | None, verbose: bool) -> None:
        self.config_path = config_path
        self.verbose = verbose
        self._app: Any = None

    @property
    def app(self) -> Any:
        if self._app is None:
            from syncsvc import config
            from syncsvc.app import App

            self._app = App(config.load(self.config_path))
        return self._app


def catch_errors(fn: F) -> F:
    """Turn SyncsvcError into one line and its exit code; other errors into one line too
    (with the traceback only under --verbose)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        ctx = click.get_current_context()
        verbose = bool(ctx.find_object(Ctx) and ctx.find_object(Ctx).verbose)  # type: ignore[union-attr]
        try:
            return fn(*args, **kwargs)
        except SyncsvcError as e:
            for line in str(e).splitlines() or [type(e).__name__]:
                click.echo(f"syncsvc: {line}", err=True)
            sys.exit(e.exit_code)
        except KeyboardInterrupt:
            click.echo("syncsvc: interrupted", err=True)
            sys.exit(130)
        except (click.exceptions.Exit, click.ClickException, SystemExit):
            raise
        except Exception as e:
            if verbose:
                log.exception("internal error")
            click.echo(
                f"syncsvc: internal error: {type(e).__name__}: {e} (run with -v for details)",
                err=True,
            )
            sys.exit(70)
        finally:
            obj = ctx.find_object(Ctx)
            if obj is not None and obj._app is not None:
                obj._app.close()

    return wrapper  # type: ignore[return-value]


def emit_json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


def stream_json_list(items: Iterable[dict[str, Any]]) -> None:
    """Print a JSON list item by item, so a long list starts printing at once."""
    out = sys.stdout
    out.write("[")
    first = True
    for item in items:
        out.write("\n  " if first else ",\n  ")
        out.write(json.dumps(item, ensure_ascii=False))
        first = False
    out.write("\n]\n" if not first else "]\n")
    out.flush()


def parse_day(value: str | None, option: str) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{option} {value!r} is not a date; use YYYY-MM-DD") from None


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--config", "config_path", metavar="PATH", help="Config file (TOML).")
@click.option("-v", "--verbose", is_flag=True, help="More log output; tracebacks on errors.")
@click.version_option(__version__, prog_name="syncsvc")
@click.pass_context
def main(ctx: click.Context, config_path: str | None, verbose: bool) -> None:
    """syncsvc — your networking plan, run inside the calendar you already use.

    Import the people you know, set your topic, and syncsvc puts 1–3 calls a day into your
    calendar, then reads back what you wrote after each call."""
    from syncsvc.log import setup_logging

    setup_logging(verbose)
    ctx.obj = Ctx(config_path, verbose)


# ---------------------------------------------------------------------------- import
@main.command("import")
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--google", is_flag=True, help="Import Google Contacts (People API).")
@click.option(
    "--linkedin",
    metavar="PATH",
    type=click.Path(),
    help="Import LinkedIn's Connections.csv (from your LinkedIn data export).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_obj
@catch_errors
def import_(
    obj: Ctx, paths: tuple[str, ...], google: bool, linkedin: str | None, as_json: bool
) -> None:
    """Import vCard files or folders of .vcf files (or --google, --linkedin)."""
    if not paths and not google and not linkedin:
        raise UsageError("name vCard files or folders to import, or use --google or --linkedin")
    app = obj.app
    from syncsvc.contacts import linkedin as linkedin_import
    from syncsvc.contacts.merge import ImportResult

    if linkedin:
        linkedin_import.check_export(linkedin)  # a bad file imports nothing at all
    result = ImportResult()
    if paths:
        result = _import_with_progress(app, paths, quiet=as_json)
    if linkedin:
        li = linkedin_import.import_linkedin(app, linkedin)
        result.added += li.added
        result.updated += li.updated
        result.unchanged += li.unchanged
        result.skipped += li.skipped
    if google:
        g = app.import_google()
        result.added += g.added
        result.updated += g.updated
        result.unchanged += g.unchanged
        result.skipped += g.skipped
    if as_json:
        emit_json(result.as_json())
        return
    for s in result.skipped:
        click.echo(
            f"skipped {s['source']}: card {s['card']} (line {s['line']}): {s['reason']}", err=True
        )
    click.echo(f"Imported: {result.summary()}. {app.store_count()} people on your list.")


def _import_with_progress(app: Any, paths: tuple[str, ...], quiet: bool) -> Any:
    """Import, with a progress bar on stderr once it passes a few hundred cards (not with
    --json, not when stderr is not a terminal)."""
    progress = _CardProgress(enabled=not quiet and sys.stderr.isatty())
    try:
        return app.import_vcards(paths, progress=progress)
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
@main.command()
@click.argument("name")
@click.option("--email", multiple=True, help="Email address (repeatable).")
@click.option("--phone", multiple=True, help="Phone number (repeatable).")
@click.option("--org", help="Organisation.")
@click.option("--note", help="A note about them.")
@click.option("--referred-by", metavar="NAME", help="Who referred them (name, email or id).")
@click.pass_obj
@catch_errors
def add(
    obj: Ctx,
    name: str,
    email: tuple[str, ...],
    phone: tuple[str, ...],
    org: str | None,
    note: str | None,
    referred_by: str | None,
) -> None:
    """Add one name by hand."""
    from syncsvc.app import PersonInput

    person_id = obj.app.add_person(
        PersonInput(
            name=name, emails=email, phones=phone, org=org, note=note, referred_by=referred_by
        )
    )
    click.echo(f"Added {name} (id {person_id}).")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("--search", metavar="TEXT", help="Only people whose name, org, email or phone match.")
@click.option("--duplicates", is_flag=True, help="Possible duplicates (same name) to merge.")
@click.pass_obj
@catch_errors
def people(obj: Ctx, as_json: bool, search: str | None, duplicates: bool) -> None:
    """The name list: who, how to reach them, last contact, next call, referred by."""
    from syncsvc import views

    app = obj.app
    if duplicates:
        groups = app.duplicates()
        if as_json:
            emit_json([[views.person_json(app, p) for p in g] for g in groups])
        else:
            views.print_duplicates(groups)
        return
    rows = (views.person_json(app, p) for p in app.people(search))
    if as_json:
        stream_json_list(rows)
    else:
        views.print_people(rows)


@main.command()
@click.argument("keep")
@click.argument("other")
@click.pass_obj
@catch_errors
def merge(obj: Ctx, keep: str, other: str) -> None:
    """Merge person OTHER into KEEP (names, emails or ids)."""
    person_id = obj.app.merge(keep, other)
    click.echo(f"Merged into id {person_id}.")


@main.command()
@click.argument("text", required=False)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_obj
@catch_errors
def topic(obj: Ctx, text: str | None, as_json: bool) -> None:
    """Show or set the topic you are exploring (earlier topics are kept)."""
    from syncsvc.store import people as people_db

    app = obj.app
    if text is not None:
        app.set_topic(text)
    history = people_db.topic_history(app.store.conn)
    if as_json:
        emit_json(
            {
                "topic": history[-1][0] if history else None,
                "history": [{"text": t, "set_at": at} for t, at in history],
            }
        )
    elif history:
        click.echo(history[-1][0] if text is None else f"Topic set: {history[-1][0]}")
    else:
        click.echo('No topic yet. Set one: syncsvc topic "product management in climate tech"')


# ---------------------------------------------------------------------------- calls
@main.command()
@click.option("--date", "day", metavar="YYYY-MM-DD", help="First day to plan.")
@click.option("--days", default=1, show_default=True, help="How many planning days.")
@click.option("--dry-run", is_flag=True, help="Show what would be planned; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_obj
@catch_errors
def plan(obj: Ctx, day: str | None, days: int, dry_run: bool, as_json: bool) -> None:
    """Choose who to call and write those call events."""
    from syncsvc import views

    app = obj.app
    calls = app.plan(parse_day(day, "--date"), days, dry_run=dry_run)
    if as_json:
        emit_json([c.as_json(full=False) for c in calls])
        return
    views.print_plan(app, calls, dry_run)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_obj
@catch_errors
def sync(obj: Ctx, as_json: bool) -> None:
    """Read completion notes back from the calendar and apply them."""
    report = obj.app.sync()
    if as_json:
        emit_json(report.as_json())
        return
    click.echo(
        f"Synced: {report.written} events written, {report.changed} changed, "
        f"{len(report.applied)} with new notes, {report.deleted} deleted, {report.missed} missed."
    )


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.option("--person", metavar="NAME", help="Only this person's calls.")
@click.option("--since", metavar="YYYY-MM-DD", help="Only calls on or after this day.")
@click.pass_obj
@catch_errors
def calls(obj: Ctx, as_json: bool, person: str | None, since: str | None) -> None:
    """The call history with outcomes, notes, referrals, offers and follow-ups."""
    from syncsvc import views

    rows = obj.app.calls(person, parse_day(since, "--since"))
    if as_json:
        emit_json([c.as_json() for c in rows])
    else:
        views.print_calls(rows)


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_obj
@catch_errors
def status(obj: Ctx, as_json: bool) -> None:
    """Today's calls, outcomes, streak, referrals gained, open offers."""
    from syncsvc import views

    data = obj.app.status()
    if as_json:
        emit_json(data)
    else:
        views.print_status(data)


@main.command()
@click.option("--once", is_flag=True, help="Plan and sync once, then exit.")
@click.pass_obj
@catch_errors
def run(obj: Ctx, once: bool) -> None:
    """The daemon: plans every planning day, syncs every few minutes."""
    app = obj.app
    if once:
        planned = app.plan()
        report = app.sync()
        days = ", ".join(sorted({c.day.isoformat() for c in planned})) or "no day"
        click.echo(
            f"Planned {len(planned)} calls ({days}); synced: "
            f"{len(report.applied)} with new notes, {report.missed} missed."
        )
        return
    from syncsvc import daemon

    cfg = app.config
    jobs = daemon.Jobs(
        plan=app.plan_due,
        sync=app.sync,
        reimport=app.reimport if (cfg.contacts.vcard or cfg.contacts.google) else None,
    )
    sys.exit(
        daemon.run(
            jobs,
            plan_at=cfg.calls.plan_at,
            zone=cfg.calls.zone,
            poll_minutes=cfg.sync.poll_minutes,
            clock=app.clock,
        )
    )


# ---------------------------------------------------------------------------- report
@main.command()
@click.option(
    "--html",
    "html_path",
    metavar="PATH",
    type=click.Path(dir_okay=False),
    help="Also write the report as one self-contained HTML page.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_obj
@catch_errors
def report(obj: Ctx, html_path: str | None, as_json: bool) -> None:
    """Progress: calls per week, outcomes, streak, referrals, list growth, wins."""
    from syncsvc import report as report_mod

    data = report_mod.collect(obj.app)
    written = report_mod.write_html(data, html_path) if html_path else None
    if as_json:
        emit_json({**data, "html": str(written) if written else None})
        return
    click.echo(report_mod.render_text(data))
    if written:
        click.echo(f"\nHTML report written to {written} (open it in any browser).")


# ---------------------------------------------------------------------------- export
@main.command()
@click.argument("path", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--vcard", "fmt", flag_value="vcard", help="vCard 3.0 (history as X- properties).")
@click.option("--json", "fmt", flag_value="json", help="JSON with everything (the default).")
@click.pass_obj
@catch_errors
def export(obj: Ctx, path: str, fmt: str | None) -> None:
    """Write the whole name list with its history to PATH (- for stdout)."""
    from syncsvc import export as export_mod

    fmt = fmt or export_mod.guess_format(path)
    result = export_mod.export(obj.app.store.conn, path, fmt)
    where = "stdout" if path == "-" else path
    click.echo(
        f"Exported {result.people} people and {result.calls} calls to {where} ({fmt}).",
        err=path == "-",
    )


@main.group()
def auth() -> None:
    """Sign in to services."""


@auth.command("google")
@click.option("--no-browser", is_flag=True, help="Only print the sign-in URL.")
@click.pass_obj
@catch_errors
def auth_google(obj: Ctx, no_browser: bool) -> None:
    """Sign in to Google (installed-app OAuth on a loopback port)."""
    from syncsvc.google_auth import sign_in

    sign_in(obj.app.config, open_browser=not no_browser)
    click.echo(f"Signed in; token stored in {obj.app.config.google_token_path} (mode 0600).")


@main.command()
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@click.pass_obj
@catch_errors
def doctor(obj: Ctx, as_json: bool) -> None:
    """Check the config, the store and the calendar, with a fix for each problem."""
    from syncsvc import doctor as doctor_mod

    results = doctor_mod.run_checks(obj.config_path)
    if as_json:
        emit_json([r.as_json() for r in results])
    else:
        for r in results:
            mark = "ok    " if r.ok else "FAILED"
            click.echo(f"{mark} {r.name}: {r.detail}")
    if not all(r.ok for r in results):
        sys.exit(1)
