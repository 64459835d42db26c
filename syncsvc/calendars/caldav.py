"""The CalDAV backend (Nextcloud, Radicale, Baïkal, Fastmail, iCloud, ...): syncsvc's events
in one calendar collection. Requests, XML and error translation are ``calendars/dav.py``'s;
this module decides what to ask and what the answers mean for our events:

- create: ``PUT <collection>/<uid>.ics`` with ``If-None-Match: *``; 412 (it exists already:
  a crash between the write and the local commit) -> keep it and return its current etag.
- update: ``PUT`` with ``If-Match: <etag>``; 412 -> ConflictError (the person's edit wins).
- delete: ``DELETE`` (``If-Match`` when an etag is given); 404 -> fine.
- changes: an RFC 6578 ``sync-collection`` REPORT asking only for etags (a poll with nothing
  changed costs exactly one request), then one ``calendar-multiget`` for the resources whose
  etag differs from ``known``. An invalid or expired token (Radicale: 403 with
  ``DAV:valid-sync-token``) is never handed to the caldav library's silent "download
  everything" fallback: we start a fresh sync (one REPORT listing hrefs and etags) and fetch
  only what is new or changed. Servers without sync-collection get a ``PROPFIND Depth: 1``
  etag listing instead (still one request per poll). The server saying a token is no
  longer valid is ``TokenExpiredError``, caught here.

Events that syncsvc did not write (no ``X-SYNCSVC-CALL``) are never returned, changed or
deleted. Errors become one line naming the server and what to check; never a password.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urljoin, urlsplit
from uuid import uuid4

from syncsvc.calendars.base import Calendar, CallEvent, Changes, RemoteEvent
from syncsvc.calendars.dav import DavSession, Item, SyncUnsupported, etag_of, path_of, server_of
from syncsvc.errors import (
    AuthError,
    BackendError,
    ConfigError,
    ConflictError,
    NotFoundError,
    SyncsvcError,
    TokenExpiredError,
)

if TYPE_CHECKING:
    from syncsvc.config import Config

log = logging.getLogger(__name__)

ICS_TYPE = "text/calendar; charset=utf-8"
#: our own token for servers without sync-collection (every poll is an etag listing)
LISTING_TOKEN = "syncsvc-etag-listing"


def _is_url(calendar: str) -> bool:
    return "://" in calendar or calendar.startswith("/")


class CaldavCalendar(Calendar):
    def __init__(
        self,
        url: str,
        username: str,
        password: str,
        calendar: str,
        timeout: float = 30,
    ) -> None:
        self.url = url if url.endswith("/") or urlsplit(url).path else url + "/"
        self.username = username
        self.calendar = calendar
        self.timeout = timeout
        self.server = server_of(self.url)
        self.key = f"caldav:{self.server}#{calendar}"
        self._dav = DavSession(self.url, username, password, timeout)
        self._collection: str | None = None  # absolute URL of the calendar, ending in "/"
        self._collection_path = ""  # its unquoted path
        self._display = calendar
        self._sync_supported = True
        self._path_uid: dict[str, str] = {}  # resource path -> uid of our events
        self._ours: set[str] = set()  # uids written by this process
        self._foreign: dict[str, str] = {}  # path -> etag of resources that are not ours

    @classmethod
    def from_config(cls, config: Config) -> CaldavCalendar:
        from syncsvc.secrets import caldav_password

        cal = config.calendar
        where = str(config.source) if config.source else "config"
        if not cal.url or not cal.username:
            raise ConfigError(
                f'{where}: [calendar] url and username are required for backend "caldav"'
            )
        return cls(
            url=cal.url,
            username=cal.username,
            password=caldav_password(cal),
            calendar=cal.calendar,
            timeout=cal.timeout_seconds,
        )

    def __repr__(self) -> str:
        return f"CaldavCalendar({self.key!r})"

    # ------------------------------------------------------------------ interface

    def create(self, event: CallEvent) -> str:
        from syncsvc.calendars.ics import to_ical

        coll = self._coll()
        url = self._resource_url(event.uid)
        what = f"writing event {event.uid}"
        headers = {"If-None-Match": "*", "Content-Type": ICS_TYPE}
        resp = self._dav.request("PUT", url, to_ical(event), headers, what)
        path = path_of(url)
        if resp.status in (200, 201, 204):
            self._remember(path, event.uid)
            return etag_of(resp) or self._fetch_etag(url, event.uid)
        if resp.status == 412:  # exists already (crash recovery): keep it as it is
            log.info("%s: event %s exists already; keeping it", self.server, event.uid)
            self._remember(path, event.uid)
            return self._fetch_etag(url, event.uid)
        if resp.status == 409:
            # the server has this UID under another name (RFC 4791 no-uid-conflict)
            found = self._dav.find_uid(coll, event.uid)
            if found is not None:
                self._remember(found.path, event.uid)
                assert found.etag is not None
                return found.etag
        self._dav.fail(resp, what)

    def update(self, event: CallEvent, etag: str) -> str:
        from syncsvc.calendars.ics import patch_ical

        self._coll()
        url = self._resource_url(event.uid)
        what = f"updating event {event.uid}"
        current = self._current(url, event.uid)
        headers = {"If-Match": etag, "Content-Type": ICS_TYPE}
        # what the person's calendar app added to the event stays (X-MOZ-LASTACK, location...)
        resp = self._dav.request("PUT", url, patch_ical(current, event), headers, what)
        if resp.status in (200, 201, 204):
            self._remember(path_of(url), event.uid)
            return etag_of(resp) or self._fetch_etag(url, event.uid)
        if resp.status == 412:
            raise ConflictError(
                f"CalDAV server {self.server}: event {event.uid} was changed or deleted in the "
                "calendar since syncsvc last read it; keeping the calendar's version",
                status=412,
            )
        self._dav.fail(resp, what)

    def _current(self, url: str, uid: str) -> bytes:
        """The event's data as the server has it: the base a rewrite patches. The PUT that
        follows is conditional (If-Match), so a version newer than ours is never overwritten."""
        what = f"reading event {uid}"
        resp = self._dav.request("GET", url, None, {}, what)
        if resp.status == 200:
            return resp.raw.encode("utf-8")
        if resp.status in (404, 410):
            raise ConflictError(
                f"CalDAV server {self.server}: event {uid} was deleted in the calendar since "
                "syncsvc last read it",
                status=resp.status,
            )
        self._dav.fail(resp, what)

    def delete(self, uid: str, etag: str | None) -> None:
        self._coll()
        url = self._resource_url(uid)
        headers = {"If-Match": etag} if etag else {}
        what = f"deleting event {uid}"
        resp = self._dav.request("DELETE", url, None, headers, what)
        if resp.status in (200, 202, 204, 404, 410):
            self._path_uid.pop(path_of(url), None)
            return
        if resp.status == 412:
            raise ConflictError(
                f"CalDAV server {self.server}: event {uid} was changed in the calendar since "
                "syncsvc last read it; not deleting it",
                status=412,
            )
        self._dav.fail(resp, what)

    def changes(self, token: str | None, known: Mapping[str, str]) -> Changes:
        coll = self._coll()
        if not self._sync_supported:
            return self._diff(self._listing(), known, LISTING_TOKEN)
        if token and token != LISTING_TOKEN and not token.startswith("fake-"):
            try:
                new_token, items = self._dav.sync_collection(coll, token)
            except TokenExpiredError:
                log.info("%s: the sync token is no longer valid; resyncing by etag", self.server)
            else:
                return self._apply_sync(items, known, new_token)
        try:
            new_token, items = self._dav.sync_collection(coll, "")
        except SyncUnsupported:
            log.info("%s: no sync-collection support; polling by etag listing", self.server)
            self._sync_supported = False
            return self._diff(self._listing(), known, LISTING_TOKEN)
        listing = {i.path: i.etag or "" for i in items if i.status == 200}
        return self._diff(listing, known, new_token)

    def busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """A time-range calendar-query on the calendar: the person's own events in it."""
        from syncsvc.calendars.ics import busy_intervals

        out: list[tuple[datetime, datetime]] = []
        for item in self._dav.events_between(self._coll(), start, end):
            if item.status == 200 and item.data:
                out += busy_intervals(item.data, start, end)
        return sorted(out)

    def check(self) -> str:
        self._coll()
        self._dav.propfind(self._coll(), ["getetag"], depth=0, what="reading the calendar")
        sync = "sync tokens" if self._sync_supported else "no sync tokens: etag listings"
        return (
            f"CalDAV calendar {self._display!r} at {server_of(self._coll())} "
            f"(user {self.username}, {sync})"
        )

    def close(self) -> None:
        self._dav.close()

    # ------------------------------------------------------------------ changes helpers

    def _uid_for(self, path: str) -> str:
        """The uid of the event at ``path``: learned, else the file name (``<uid>.ics``)."""
        uid = self._path_uid.get(path)
        if uid is not None:
            return uid
        name = posixpath.basename(path.rstrip("/"))
        return name[:-4] if name.endswith(".ics") else name

    def _unchanged(self, path: str, etag: str | None, known: Mapping[str, str]) -> bool:
        if etag is None:
            return False
        if self._foreign.get(path) == etag:
            return True
        uid = self._uid_for(path)
        return known.get(uid) == etag

    def _apply_sync(self, items: list[Item], known: Mapping[str, str], token: str) -> Changes:
        fetch: list[str] = []
        deleted: list[str] = []
        for item in items:
            if item.status in (404, 410):
                self._foreign.pop(item.path, None)
                uid = self._uid_for(item.path)
                if (uid in known or uid in self._ours) and uid not in deleted:
                    deleted.append(uid)
                self._path_uid.pop(item.path, None)
            elif not self._unchanged(item.path, item.etag, known):
                fetch.append(item.path)
        changed, gone = self._multiget(fetch)
        for path in gone:
            uid = self._uid_for(path)
            if (uid in known or uid in self._ours) and uid not in deleted:
                deleted.append(uid)
        return Changes(changed=changed, deleted=deleted, token=token)

    def _diff(self, listing: Mapping[str, str], known: Mapping[str, str], token: str) -> Changes:
        """Compare a full href -> etag listing with ``known``; fetch only what differs."""
        fetch = [p for p, etag in listing.items() if not self._unchanged(p, etag, known)]
        for path in list(self._foreign):
            if path not in listing:
                del self._foreign[path]
        present = {self._uid_for(p) for p in listing}
        changed, gone = self._multiget(fetch)
        present -= {self._uid_for(p) for p in gone}
        present |= {e.uid for e in changed}
        deleted = [uid for uid in known if uid not in present]
        for path in [p for p, uid in self._path_uid.items() if uid in deleted]:
            del self._path_uid[path]
        return Changes(changed=changed, deleted=deleted, token=token)

    def _multiget(self, paths: list[str]) -> tuple[list[RemoteEvent], list[str]]:
        """Fetch ``paths``; our events, and the paths that are gone."""
        from syncsvc.calendars.ics import from_ical

        events: list[RemoteEvent] = []
        gone: list[str] = []
        for item in self._dav.multiget(self._coll(), paths):
            if item.status in (404, 410):
                gone.append(item.path)
                continue
            if item.status != 200 or item.data is None:
                continue
            etag = item.etag or ""
            try:
                event = from_ical(item.data, etag)
            except SyncsvcError:
                raise
            except Exception as e:  # a broken event must not stop the sync of the rest
                log.warning("%s: cannot read %s (%s); skipping it", self.server, item.path, e)
                self._foreign[item.path] = etag
                continue
            if event is None:
                self._foreign[item.path] = etag
                continue
            self._path_uid[item.path] = event.uid
            events.append(event)
        return events, gone

    def _listing(self) -> dict[str, str]:
        """path -> etag of every resource in the calendar (PROPFIND Depth: 1)."""
        items = self._dav.propfind(self._coll(), ["getetag"], depth=1, what="listing events")
        coll_path = self._collection_path.rstrip("/")
        return {
            i.path: i.etag or ""
            for i in items
            if i.status == 200 and i.path.rstrip("/") != coll_path and i.etag is not None
        }

    # ------------------------------------------------------------------ discovery

    def _coll(self) -> str:
        if self._collection is None:
            self._discover()
        assert self._collection is not None
        return self._collection

    def _discover(self) -> None:
        props = ["resourcetype", "displayname", "supported-report-set"]
        if _is_url(self.calendar):
            url = urljoin(self.url, self.calendar)
            if not url.endswith("/"):
                url += "/"
            try:
                items = self._dav.propfind(
                    url,
                    props,
                    depth=0,
                    what=f"opening calendar {self.calendar}",
                    missing=(
                        f"CalDAV server {self.server}: calendar {self.calendar} does not "
                        "exist; check [calendar] calendar (a display name or the calendar's URL)"
                    ),
                )
            except AuthError as e:
                if e.status != 403:
                    raise
                raise NotFoundError(
                    f"CalDAV server {self.server}: calendar {self.calendar} does not exist or "
                    f"is not accessible for {self.username!r}; check [calendar] calendar",
                    status=403,
                ) from None
            item = next((i for i in items if i.status == 200), None)
            if item is None or "calendar" not in item.resourcetypes:
                raise NotFoundError(
                    f"CalDAV server {self.server}: {self.calendar} is not a calendar; "
                    "check [calendar] calendar"
                )
            self._set_collection(url, item)
            return
        home = self._dav.calendar_home()
        items = self._dav.propfind(home, props, depth=1, what="listing calendars")
        wanted = self.calendar.strip()
        candidates = [i for i in items if i.status == 200 and "calendar" in i.resourcetypes]
        for match in (
            lambda i: i.displayname == wanted,
            lambda i: (i.displayname or "").strip().casefold() == wanted.casefold(),
            lambda i: posixpath.basename(i.path.rstrip("/")) == wanted,
        ):
            found = next((i for i in candidates if match(i)), None)
            if found is not None:
                url = urljoin(home, quote(found.path))
                self._set_collection(url if url.endswith("/") else url + "/", found)
                return
        self._make_calendar(home, wanted)

    def _make_calendar(self, home: str, name: str) -> None:
        slug = "".join(c if c.isalnum() or c in "-_" else "-" for c in name.lower()).strip("-")
        base = home if home.endswith("/") else home + "/"
        url = urljoin(base, f"{slug or 'syncsvc'}-{uuid4().hex[:8]}/")
        what = f"creating calendar {name!r}"
        cannot = (
            f"CalDAV server {self.server}: calendar {name!r} does not exist and could not be "
            "created"
        )
        hint = "create it in your calendar app or check [calendar] calendar"
        try:
            status = self._dav.mkcalendar(url, name, what)
        except AuthError as e:
            if e.status != 403:
                raise
            raise NotFoundError(f"{cannot} (not allowed); {hint}", status=403) from None
        if status not in (200, 201, 204):
            if status >= 500:
                raise self._dav.error(what, status)
            raise NotFoundError(f"{cannot} (HTTP {status}); {hint}", status=status)
        log.info("%s: created calendar %r at %s", self.server, name, url)
        items = self._dav.propfind(url, ["resourcetype", "supported-report-set"], depth=0,
                                   what=f"opening calendar {name!r}")  # fmt: skip
        item = next((i for i in items if i.status == 200), None)
        if item is None:
            raise NotFoundError(f"{cannot} (it is not there after creating it)")
        item.displayname = name
        self._set_collection(url, item)

    def _set_collection(self, url: str, item: Item) -> None:
        self._collection = url
        self._collection_path = unquote(urlsplit(url).path)
        if item.displayname:
            self._display = item.displayname
        # absent supported-report-set (some servers omit it): try sync-collection anyway;
        # a server that rejects it falls back in changes() on the next poll
        self._sync_supported = not item.reports or "sync-collection" in item.reports

    # ------------------------------------------------------------------ resources

    def _resource_url(self, uid: str) -> str:
        coll = self._coll()
        for path, known_uid in self._path_uid.items():
            if known_uid == uid:
                return urljoin(coll, quote(path))
        return coll + quote(uid, safe="@._-") + ".ics"

    def _remember(self, path: str, uid: str) -> None:
        self._path_uid[path] = uid
        self._ours.add(uid)
        self._foreign.pop(path, None)

    def _fetch_etag(self, url: str, uid: str) -> str:
        items = self._dav.propfind(url, ["getetag"], depth=0, what=f"reading event {uid}")
        for item in items:
            if item.status == 200 and item.etag:
                return item.etag
        raise BackendError(
            f"CalDAV server {self.server}: event {uid} has no etag; the server does not "
            "support conditional writes"
        )
