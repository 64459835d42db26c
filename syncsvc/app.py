"""The core the CLI and the daemon call: one object holding the config, the store, the
calendar and the clock. Each method is one unit of work done inside the data dir lock."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from syncsvc.clock import Clock, SystemClock
from syncsvc.config import Config
from syncsvc.errors import ConflictError, NotFoundError, UsageError
from syncsvc.store import Store, data_dir_lock
from syncsvc.store import calls as calls_db
from syncsvc.store import people as people_db

if TYPE_CHECKING:
    from syncsvc import sync as calendar_sync
    from syncsvc.calendars.base import Calendar
    from syncsvc.contacts.google import ContactsPage
    from syncsvc.contacts.merge import ImportResult
    from syncsvc.store import Connection

# Start-up time (docs/PERFORMANCE.md): the planner, syncsvc.sync (notes, phonenumbers) and the
# import code are imported where they are used, not here, so `syncsvc status` does not pay for them.

log = logging.getLogger("syncsvc")

GOOGLE_SCOPE = "contacts:google"  # the store's sync-token scope for Google Contacts


class _DryRun(Exception):
    """Raised inside a transaction to roll a dry run back."""


@dataclass
class PersonInput:
    name: str
    emails: Sequence[str] = ()
    phones: Sequence[str] = ()
    org: str | None = None
    note: str | None = None
    referred_by: str | None = None


def _reach(p: people_db.Person) -> str:
    return ", ".join([*p.emails[:1], *(w for w, _ in p.phones[:1])])


class App:
    def __init__(
        self,
        config: Config,
        *,
        clock: Clock | None = None,
        calendar: Calendar | None = None,
        lock_timeout: float = 60.0,
    ) -> None:
        self.config = config
        self.clock = clock or SystemClock()
        self._calendar = calendar
        self._store: Store | None = None
        self.lock_timeout = lock_timeout
        # log at INFO what each job did (the daemon, whose log is the person's story of the
        # day); a one-off command prints it on stdout instead
        self.narrate = False
        # the store (a reopened one starts counting afresh) and its change mark after a push
        self._pushed_at: tuple[Store, tuple[int, int]] | None = None

    # ------------------------------------------------------------------ resources
    @property
    def store(self) -> Store:
        if self._store is None:
            self._store = Store.open(self.config.db_path)
        return self._store

    @property
    def calendar(self) -> Calendar:
        if self._calendar is None:
            from syncsvc.calendars import open_calendar

            self._calendar = open_calendar(self.config)
        return self._calendar

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
        if self._calendar is not None:
            self._calendar.close()

    @contextmanager
    def locked(self) -> Iterator[None]:
        with data_dir_lock(self.config.data_dir, self.lock_timeout):
            yield

    def now(self) -> datetime:
        return self.clock.now()

    def today(self) -> date:
        return self.now().astimezone(self.config.calls.zone).date()

    @property
    def region(self) -> str | None:
        from syncsvc.contacts.phones import default_region

        return self.config.calls.region or default_region()

    # ------------------------------------------------------------------ the name list
    def import_vcards(
        self, paths: Sequence[str | Path], progress: Callable[[], None] | None = None
    ) -> ImportResult:
        """``import_contacts`` of vCard files and folders only (the daemon's re-import)."""
        return self.import_contacts(paths, progress=progress)

    def import_contacts(
        self,
        vcard_paths: Sequence[str | Path] = (),
        linkedin_paths: Sequence[str | Path] = (),
        progress: Callable[[], None] | None = None,
        *,
        google: bool = False,
    ) -> ImportResult:
        """One import command: vCard files and folders, LinkedIn Connections.csv files and,
        with ``google``, Google Contacts (incrementally, with the stored sync token).

        Every path is checked first (LinkedIn's, then the vCards'), and Google's changes are
        fetched before anything is written: a bad path or an unreachable Google imports
        nothing. Then all of it is one transaction, so an interrupted or failed import leaves
        the list as it was. A vCard file imported before and unchanged since is not read
        again (store/files.py). A contact deleted in Google (or missing from a full listing)
        is marked, never deleted from the list. ``progress`` is called once per card read."""
        from syncsvc.contacts import linkedin
        from syncsvc.contacts.merge import ImportResult, import_cards
        from syncsvc.contacts.vcard import vcard_files
        from syncsvc.store import files

        # a Connections.csv is a few MB: read whole, so it cannot fail once the import started
        exports = [list(linkedin.read_connections(path)) for path in linkedin_paths]
        paths_found = vcard_files(vcard_paths)
        result = ImportResult()
        key = files.key(self.region)
        with self.locked():
            page = self._fetch_google() if google else None
            with self.store.tx() as conn:
                self._import_files(conn, paths_found, key, result, progress)
                for rows in exports:
                    import_cards(
                        self.store,
                        rows,
                        source=linkedin.SOURCE,
                        region=self.region,
                        result=result,
                        progress=progress,
                    )
                if page is not None:
                    self._import_google_page(conn, page, result)
        return result

    def _import_files(
        self,
        conn: Connection,
        paths_found: Sequence[Path],
        key: str,
        result: ImportResult,
        progress: Callable[[], None] | None,
    ) -> None:
        from syncsvc.contacts import worker
        from syncsvc.contacts.merge import import_cards
        from syncsvc.store import files

        for path in paths_found:
            sha256 = files.digest(path)
            known = files.unchanged(conn, path, sha256, key)
            if known is not None:
                result.unchanged += known[0]
                result.skipped += known[1]
                continue
            with worker.cards(path) as items:  # a big file is parsed by a second process
                this = import_cards(
                    self.store, items, source="vcard", region=self.region, progress=progress
                )
            files.remember(
                conn,
                path,
                sha256,
                key,
                this.added + this.updated + this.unchanged,
                this.skipped,
            )
            result.add(this)

    def import_google(self) -> ImportResult:
        """Google Contacts alone (``import_contacts`` with ``google``)."""
        return self.import_contacts(google=True)

    def _fetch_google(self) -> ContactsPage:
        from syncsvc.contacts.google import build_people_service, fetch_contacts

        return fetch_contacts(build_people_service(self.config), self.store.token(GOOGLE_SCOPE))

    def _import_google_page(
        self, conn: Connection, page: ContactsPage, result: ImportResult
    ) -> None:
        from syncsvc.contacts.merge import import_cards

        import_cards(self.store, page.cards, source="google", region=self.region, result=result)
        result.skipped += [
            {"source": resource, "card": 0, "line": 0, "reason": "no name, email or phone"}
            for resource in page.skipped
        ]
        gone = list(page.deleted)
        if page.full:
            present = {c.uid for c in page.cards}
            gone += [e for e in people_db.ext_ids(conn, "google") if e not in present]
        for resource in gone:
            people_db.mark_removed_at_source(conn, "google", resource)
        self.store.set_token(GOOGLE_SCOPE, page.sync_token)

    def add_person(self, person: PersonInput) -> int:
        """Add one name by hand (or update the person with that email/phone)."""
        from syncsvc.contacts.merge import merge_card
        from syncsvc.contacts.vcard import Card

        name = person.name.strip()
        if not name:
            raise UsageError("the name is empty")
        card = Card(
            name=name,
            emails=list(person.emails),
            phones=list(person.phones),
            org=person.org,
            title=None,
            note=person.note,
            uid=None,
            categories=[],
            source="manual",
            card_no=1,
            line=1,
        )
        with self.locked(), self.store.tx() as conn:
            referrer = self.find_one(person.referred_by) if person.referred_by else None
            _, person_id = merge_card(conn, card, source="manual", region=self.region)
            people_db.update_fields(conn, person_id, note=person.note)
            if referrer is not None and referrer != person_id:
                people_db.set_referrer(conn, person_id, referrer)
        return person_id

    def people(
        self, search: str | None = None, limit: int | None = None
    ) -> Iterator[people_db.Person]:
        return people_db.iter_people(self.store.conn, search, limit)

    def people_rows(
        self, search: str | None = None, limit: int | None = None
    ) -> Iterator[people_db.ListRow]:
        """The name list's lines (``people`` without --json), streamed from one query."""
        return people_db.list_rows(self.store.conn, search, limit)

    def store_count(self) -> int:
        return people_db.count(self.store.conn)

    def duplicates(self) -> list[list[people_db.Person]]:
        return people_db.possible_duplicates(self.store.conn)

    def find_one(self, text: str) -> int:
        """The id of the one person ``text`` means (PERSON: ``resolve``)."""
        return self.resolve(text).id

    def resolve(self, text: str) -> people_db.Person:
        """The one person ``text`` means: an id, an email, a phone, or a name without regard
        to case or accents, a unique prefix being enough. Nobody, or several (listed one a
        line, for the person to pick an id), is a usage error (exit 2)."""
        phone_norm = None
        if any(c.isdigit() for c in text) and not text.strip().isdigit():
            from syncsvc.contacts.phones import normalize_phone

            phone_norm = normalize_phone(text, self.region) or None
        found = people_db.find(self.store.conn, text, phone_norm)
        if not found:
            raise UsageError(f"nobody on the list matches '{text}' (see `syncsvc people`)")
        if len(found) > 1:
            lines = [f"'{text}' matches {len(found)} people; say which (an id will do):"]
            lines += [f"  {p.id}\t{p.name}\t{_reach(p)}" for p in found[:20]]
            if len(found) > 20:
                lines.append(f"  ... and {len(found) - 20} more")
            raise UsageError("\n".join(lines))
        return found[0]

    def person_details(self, person: people_db.Person) -> dict[str, Any]:
        """One person whole, for `show`: reach, notes, calls, open offers, referral chain."""
        conn = self.store.conn
        chain = people_db.referral_chain(conn, person.id)[1:]
        referred = [{"id": p.id, "name": p.name} for p in people_db.referred_by(conn, person.id)]
        next_call = calls_db.next_open(conn, person.id)
        return {
            "id": person.id,
            "name": person.name,
            "emails": person.emails,
            "phones": [written for written, _ in person.phones],
            "urls": person.urls,
            "org": person.org,
            "title": person.title,
            "note": person.note,
            "source": person.source,
            "added_at": person.added_at,
            "last_contacted": person.last_contacted,
            "next_call": next_call.isoformat() if next_call else None,
            "paused": person.paused,
            "removed_at_source": person.removed_at_source,
            "referral_chain": [{"id": i, "name": people_db.name_of(conn, i)} for i in chain],
            "referred": referred,
            "calls": [c.as_json() for c in calls_db.history(conn, person_id=person.id)],
            "offers": [
                o.as_json() for o in calls_db.oldest_first(calls_db.offers_open(conn, person.id))
            ],
        }

    def edit(
        self,
        person: str,
        *,
        name: str | None = None,
        emails: Sequence[str] = (),
        phones: Sequence[str] = (),
        org: str | None = None,
        note: str | None = None,
        drop_emails: Sequence[str] = (),
        drop_phones: Sequence[str] = (),
    ) -> people_db.Person:
        """Change one person by hand: set name/org/note, add or drop emails and phones.
        Returns them as they are now."""
        from syncsvc.contacts.phones import normalize_email, normalize_phone

        if name is not None and not name.strip():
            raise UsageError("the name is empty")
        with self.locked(), self.store.tx() as conn:
            person_id = self.find_one(person)
            people_db.update_fields(
                conn, person_id, name=name.strip() if name else None, org=org, note=note
            )
            for email in emails:
                people_db.add_address(conn, person_id, "email", email, normalize_email(email))
            for phone in phones:
                norm = normalize_phone(phone, self.region)
                people_db.add_address(conn, person_id, "phone", phone, norm)
            for email in drop_emails:
                if not people_db.drop_address(
                    conn, person_id, "email", email, normalize_email(email)
                ):
                    raise UsageError(f"they have no email {email!r}")
            for phone in drop_phones:
                norm = normalize_phone(phone, self.region)
                if not people_db.drop_address(conn, person_id, "phone", phone, norm):
                    raise UsageError(f"they have no phone {phone!r}")
            edited = people_db.get(conn, person_id)
        assert edited is not None
        return edited

    def remove(self, person_id: int) -> None:
        """Delete the person and their history. Their planned call's event leaves the
        calendar too (unless they edited it: then it stays theirs)."""
        with self.locked():
            planned = [
                c
                for c in calls_db.history(self.store.conn, person_id=person_id)
                if c.outcome == "planned"
            ]
            for call in planned:
                self._drop_event(call)
            with self.store.tx() as conn:
                people_db.delete(conn, person_id)

    def never(self, person_id: int, undo: bool = False) -> int:
        """Out of the rotation for good (history kept): their planned call is skipped and its
        event leaves the calendar (unless they edited it). ``undo``: back in the rotation.
        Returns how many planned calls were dropped."""
        if undo:
            self.pause(str(person_id), None)
            return 0
        with self.locked():
            with self.store.tx() as conn:
                people_db.set_paused(conn, person_id, "never")
            planned = [
                c
                for c in calls_db.history(self.store.conn, person_id=person_id)
                if c.outcome == "planned"
            ]
            for call in planned:
                with self.store.tx() as conn:
                    calls_db.set_outcome(conn, call.id, "skipped")
                self._drop_event(call)
        return len(planned)

    def _drop_event(self, call: calls_db.Call) -> None:
        """Take a planned call's event out of the calendar, unless the person edited it."""

        state = calls_db.event_state(self.store.conn, self.calendar.key, call.id)
        if state is None or state.state != "written" or state.edited:
            return
        with suppress(ConflictError, NotFoundError):
            self.calendar.delete(state.uid, state.etag)

    def merge(self, keep: str, other: str) -> int:
        """Fold OTHER into KEEP (both PERSON); what both were is kept for ``merge_undo``."""
        from syncsvc.store import merges

        with self.locked(), self.store.tx() as conn:
            a, b = self.find_one(keep), self.find_one(other)
            if a == b:
                raise UsageError("those are the same person")
            before = merges.snapshot(conn, a, b)
            people_db.merge(conn, a, b)
            merges.record(conn, a, b, before)
        return a

    def merge_undo(self) -> tuple[int, int]:
        """Undo the last merge exactly: both people as they were. Returns (keep, other)."""
        from syncsvc.store import merges

        with self.locked(), self.store.tx() as conn:
            last = merges.last(conn)
            if last is None:
                raise UsageError("no merge to undo")
            blocker = merges.undo_blocker(conn, last)
            if blocker:
                raise UsageError(
                    f"cannot undo the merge of {last.other} into {last.keep}: {blocker}"
                )
            merges.undo(conn, last)
        return last.keep, last.other

    def topic(self) -> str | None:
        return people_db.current_topic(self.store.conn)

    def first_time(self, what: str) -> bool:
        """True the first time this is asked about ``what`` in this store (a hint shown
        once)."""
        key = f"shown:{what}"
        if self.store.meta(key) is not None:
            return False
        with self.locked(), self.store.tx():
            self.store.set_meta(key, self.now().isoformat(timespec="seconds"))
        return True

    def set_topic(self, text: str) -> None:
        text = text.strip()
        if not text:
            raise UsageError("the topic is empty; say what you want to explore")
        with self.locked(), self.store.tx() as conn:
            people_db.set_topic(conn, text)

    # ------------------------------------------------------------------ planning
    def plan(
        self, first: date | None = None, days: int = 1, *, dry_run: bool = False
    ) -> list[calls_db.Call]:
        """Plan ``days`` planning days from ``first`` (default: today, or the next planning
        day once today's window has passed) and write the calls to the calendar."""
        from syncsvc import planner, scheduling
        from syncsvc import sync as calendar_sync

        if days < 1:
            raise UsageError("--days must be at least 1")
        cfg = self.config.calls
        start = first or planner.first_day_to_plan(cfg, self.now())
        day_list = planner.planning_days(cfg, start, days)
        with self.locked():
            store = self.store
            if not dry_run:
                # a new store adopts the calendar's events before it plans, and a calendar
                # emptied of them (a folder gone) refuses before a call is planned: its
                # "nothing was changed" holds for the store too, not only for the calendar
                calendar_sync.guard_storage(store, self.calendar, self.config, self.now())
            busy = self._busy(day_list) if cfg.avoid_busy else {}
            planned: list[calls_db.Call] = []
            try:
                with store.tx() as conn:
                    for day in day_list:
                        scheduling.plan_day(conn, cfg, day, store.install_id, busy.get(day))
                        planned += calls_db.on_day(conn, day)
                    if dry_run:
                        raise _DryRun
            except _DryRun:
                return planned
            calendar_sync.push(store, self.calendar, self.config, self.now())
        if self.narrate:  # the daemon's log tells the day: who it planned, and when
            self._log_planned(day_list, planned)
        return planned

    def _log_planned(self, days: Sequence[date], planned: Sequence[calls_db.Call]) -> None:
        for day in days:
            calls = [c for c in planned if c.day == day]
            who = ", ".join(
                f"{c.start.astimezone(self.config.calls.zone):%H:%M} {c.person_name} ({c.kind})"
                for c in calls
            )
            log.info("planned %d call(s) for %s: %s", len(calls), day.isoformat(), who or "-")

    def _busy(self, days: list[date]) -> dict[date, list[tuple[datetime, datetime]]]:
        """The person's own events in each not-yet-full day's window (read before the
        transaction: no network call while the store is locked for writing)."""
        from syncsvc import planner

        cfg = self.config.calls
        out: dict[date, list[tuple[datetime, datetime]]] = {}
        for day in days:
            if len(calls_db.on_day(self.store.conn, day)) >= cfg.per_day:
                continue
            start = planner.local_datetime(day, cfg.window_start, cfg.zone)
            end = planner.local_datetime(day, cfg.window_end, cfg.zone)
            out[day] = self.calendar.busy(start, end)
        return out

    def plan_due(self) -> list[calls_db.Call]:
        """For the daemon: plan today once its planning time has come (a no-op otherwise)."""
        from syncsvc import planner

        cfg = self.config.calls
        now = self.now().astimezone(cfg.zone)
        today = now.date()
        if not planner.is_planning_day(cfg, today):
            return []
        if now < planner.local_datetime(today, cfg.plan_at, cfg.zone):
            return []
        if now >= planner.local_datetime(today, cfg.window_end, cfg.zone):
            return []
        return self.plan(today)

    def sync(self, *, force_delete: bool = False) -> calendar_sync.SyncReport:
        """Read the person's notes back, then write what is due.

        ``force_delete`` (``syncsvc sync --force-delete``; the daemon never passes it): the
        calendar's storage refused as emptied or missing is the person's doing, so every
        vanished event is read as their deletion, this once. When the storage is gone
        altogether (a vdir folder removed), nothing is written: the next ``plan`` starts the
        folder afresh, as on a first run."""
        # read first: the person's edits are seen before anything is refreshed, and calls
        # the notes created (a reschedule) are written in the same run
        from syncsvc import sync as calendar_sync

        with self.locked():
            read = calendar_sync.read_back(
                self.store, self.calendar, self.config, self.now(), force_delete=force_delete
            )
            if read.storage_gone:
                return read
            # the text of our future events is made from the store and the config: when the
            # store has not changed since the last push (the daemon's quiet polls), it has not
            unchanged = self._pushed_at == (self.store, self.store.change_mark())
            report = calendar_sync.push(
                self.store, self.calendar, self.config, self.now(), refresh=not unchanged
            )
            self._pushed_at = (self.store, self.store.change_mark())
        read.written, read.updated = report.written, report.updated
        for call in read.calls:
            if call.error:
                log.warning("could not apply the note of %s", call.line())
            elif self.narrate:  # the daemon: `journalctl --user -u syncsvc` tells the day
                log.info("read the note of %s", call.line())
        return read

    def reimport(self) -> None:
        """For the daemon: re-import the configured contact sources."""
        if self.config.contacts.vcard:
            result = self.import_vcards(self.config.contacts.vcard)
            log.info("re-imported vCards: %s", result.summary())
        if self.config.contacts.google:
            result = self.import_google()
            log.info("re-imported Google Contacts: %s", result.summary())

    # ------------------------------------------------------------------ insight
    def calls(self, person: str | None = None, since: date | None = None) -> list[calls_db.Call]:
        conn = self.store.conn
        person_id = self.find_one(person) if person else None
        return list(calls_db.history(conn, person_id=person_id, since=since))

    def status(self) -> dict[str, Any]:
        from syncsvc import insight

        return insight.status(self.store.conn, self.today(), self.config.calls)

    def wins(self) -> list[dict[str, Any]]:
        """Every win with the referral chain that led to it (nearest first)."""
        from syncsvc import insight

        return insight.status_wins(self.store.conn)

    # ------------------------------------------------------------------ offers and pauses
    def offers(self) -> list[calls_db.Offer]:
        """Open offers, oldest first (by the day of the call they were made on)."""
        return calls_db.oldest_first(calls_db.offers_open(self.store.conn))

    def offer_done(self, offer_id: int) -> tuple[calls_db.Offer, bool]:
        """Mark offer ``offer_id`` done. Returns it, and False if it was done already."""
        with self.locked(), self.store.tx() as conn:
            if calls_db.offer(conn, offer_id) is None:
                raise UsageError(f"no offer has the id {offer_id} (see `syncsvc offers`)")
            closed = calls_db.close_offer(conn, offer_id, self.now())
            offer = calls_db.offer(conn, offer_id)
        assert offer is not None
        return offer, closed

    def pause(self, person: str, reason: str | None) -> int:
        """Take ``person`` out of every planning lane ('never', 'stop', 'wrong_number'), or
        bring them back (None). Returns their id."""
        with self.locked(), self.store.tx() as conn:
            person_id = self.find_one(person)
            people_db.set_paused(conn, person_id, reason)
        return person_id
