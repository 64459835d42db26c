"""The CalDAV backend (Nextcloud, Radicale, Baïkal, Fastmail, iCloud, ...).

Transport and authentication come from the ``caldav`` library's ``DAVClient`` (its session,
its auth negotiation, a timeout on every request); the WebDAV requests themselves are built
here so that the headers are exact:

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
  etag listing instead (still one request per poll).

Events that syncsvc did not write (no ``X-SYNCSVC-CALL``) are never returned, changed or
deleted. Errors become one line naming the server and what to check; never a password.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn, cast
from urllib.parse import quote, unquote, urljoin, urlsplit, urlunsplit
from uuid import uuid4
from xml.sax.saxutils import escape

from syncsvc.calendars.base import Calendar, CallEvent, Changes, RemoteEvent
from syncsvc.errors import (
    AuthError,
    BackendError,
    ConfigError,
    ConflictError,
    NotFoundError,
    RateLimitedError,
    SyncsvcError,
    UnreachableError,
)

if TYPE_CHECKING:
    from caldav.davclient import DAVClient
    from caldav.response import DAVResponse

    from syncsvc.config import Config

log = logging.getLogger(__name__)

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
CS = "http://calendarserver.org/ns/"
ICS_TYPE = "text/calendar; charset=utf-8"
XML_TYPE = "application/xml; charset=utf-8"
MULTIGET_BATCH = 100
#: our own token for servers without sync-collection (every poll is an etag listing)
LISTING_TOKEN = "syncsvc-etag-listing"


def _tag(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


class _InvalidToken(Exception):
    """The server no longer accepts our sync token."""


class _SyncUnsupported(Exception):
    """The server rejects sync-collection REPORTs altogether."""


class _Forbidden(AuthError):
    """403: authenticated, but not allowed (or, on a sync REPORT, an invalid token)."""


@dataclass
class _Item:
    """One <response> of a multistatus."""

    path: str  # unquoted URL path
    status: int
    etag: str | None = None
    data: str | None = None
    displayname: str | None = None
    resourcetypes: tuple[str, ...] = ()
    reports: tuple[str, ...] = ()


def _server_of(url: str) -> str:
    """``url`` without credentials, for messages and keys."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


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
        self.server = _server_of(self.url)
        self.key = f"caldav:{self.server}#{calendar}"
        self._password = password
        self._client: DAVClient | None = None
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
        body = to_ical(event)
        resp = self._request(
            "PUT",
            url,
            body,
            {"If-None-Match": "*", "Content-Type": ICS_TYPE},
            what=f"writing event {event.uid}",
        )
        path = self._path_of(url)
        if resp.status in (200, 201, 204):
            self._remember(path, event.uid)
            return self._etag_from(resp) or self._fetch_etag(url, event.uid)
        if resp.status == 412:  # exists already (crash recovery): keep it as it is
            log.info("%s: event %s exists already; keeping it", self.server, event.uid)
            self._remember(path, event.uid)
            return self._fetch_etag(url, event.uid)
        if resp.status == 409:
            # the server has this UID under another name (RFC 4791 no-uid-conflict)
            found = self._find_by_uid(coll, event.uid)
            if found is not None:
                self._remember(found.path, event.uid)
                assert found.etag is not None
                return found.etag
        self._raise_status(resp, f"writing event {event.uid}")

    def update(self, event: CallEvent, etag: str) -> str:
        from syncsvc.calendars.ics import to_ical

        self._coll()
        url = self._resource_url(event.uid)
        resp = self._request(
            "PUT",
            url,
            to_ical(event),
            {"If-Match": etag, "Content-Type": ICS_TYPE},
            what=f"updating event {event.uid}",
        )
        if resp.status in (200, 201, 204):
            self._remember(self._path_of(url), event.uid)
            return self._etag_from(resp) or self._fetch_etag(url, event.uid)
        if resp.status == 412:
            raise ConflictError(
                f"CalDAV server {self.server}: event {event.uid} was changed or deleted in the "
                "calendar since syncsvc last read it; keeping the calendar's version"
            )
        self._raise_status(resp, f"updating event {event.uid}")

    def delete(self, uid: str, etag: str | None) -> None:
        self._coll()
        url = self._resource_url(uid)
        headers = {"If-Match": etag} if etag else {}
        resp = self._request("DELETE", url, None, headers, what=f"deleting event {uid}")
        if resp.status in (200, 202, 204, 404, 410):
            self._path_uid.pop(self._path_of(url), None)
            return
        if resp.status == 412:
            raise ConflictError(
                f"CalDAV server {self.server}: event {uid} was changed in the calendar since "
                "syncsvc last read it; not deleting it"
            )
        self._raise_status(resp, f"deleting event {uid}")

    def changes(self, token: str | None, known: Mapping[str, str]) -> Changes:
        self._coll()
        if not self._sync_supported:
            listing = self._propfind_listing()
            return self._diff(listing, known, LISTING_TOKEN)
        if token and token != LISTING_TOKEN and not token.startswith("fake-"):
            try:
                new_token, items = self._sync_collection(token)
            except _InvalidToken:
                log.info("%s: the sync token is no longer valid; resyncing by etag", self.server)
            else:
                return self._apply_sync(items, known, new_token)
        try:
            new_token, items = self._sync_collection("")
        except _SyncUnsupported:
            log.info("%s: no sync-collection support; polling by etag listing", self.server)
            self._sync_supported = False
            return self._diff(self._propfind_listing(), known, LISTING_TOKEN)
        listing = {i.path: i.etag or "" for i in items if i.status == 200}
        return self._diff(listing, known, new_token)

    def busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """A time-range calendar-query on the calendar: the person's own events in it."""
        from syncsvc.calendars.ics import busy_intervals

        def utc(t: datetime) -> str:
            return t.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<C:calendar-query xmlns:D="{DAV}" xmlns:C="{CALDAV}">'
            "<D:prop><D:getetag/><C:calendar-data/></D:prop>"
            '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
            f'<C:time-range start="{utc(start)}" end="{utc(end)}"/>'
            "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
        )
        resp = self._request(
            "REPORT", self._coll(), body, {"Depth": "1"}, what="reading busy times"
        )
        if resp.status != 207:
            self._raise_status(resp, "reading busy times")
        out: list[tuple[datetime, datetime]] = []
        for item in self._parse(resp):
            if item.status == 200 and item.data:
                out += busy_intervals(item.data, start, end)
        return sorted(out)

    def check(self) -> str:
        self._coll()
        self._propfind(self._coll(), ["getetag"], depth=0, what="reading the calendar")
        sync = "sync tokens" if self._sync_supported else "no sync tokens: etag listings"
        return (
            f"CalDAV calendar {self._display!r} at {_server_of(self._coll())} "
            f"(user {self.username}, {sync})"
        )

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # closing must never fail a shutdown
                log.debug("closing the CalDAV session failed", exc_info=True)
            self._client = None

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

    def _apply_sync(self, items: list[_Item], known: Mapping[str, str], token: str) -> Changes:
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
        for start in range(0, len(paths), MULTIGET_BATCH):
            batch = paths[start : start + MULTIGET_BATCH]
            hrefs = "".join(f"<D:href>{escape(quote(p))}</D:href>" for p in batch)
            body = (
                '<?xml version="1.0" encoding="utf-8"?>'
                f'<C:calendar-multiget xmlns:D="{DAV}" xmlns:C="{CALDAV}">'
                "<D:prop><D:getetag/><C:calendar-data/></D:prop>"
                f"{hrefs}</C:calendar-multiget>"
            )
            # no Depth header: RFC 4791 section 7.9
            resp = self._request("REPORT", self._coll(), body, {}, what="reading changed events")
            if resp.status != 207:
                self._raise_status(resp, "reading changed events")
            for item in self._parse(resp):
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

    def _sync_collection(self, token: str) -> tuple[str, list[_Item]]:
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<D:sync-collection xmlns:D="{DAV}">'
            f"<D:sync-token>{escape(token)}</D:sync-token>"
            "<D:sync-level>1</D:sync-level>"
            "<D:prop><D:getetag/></D:prop>"
            "</D:sync-collection>"
        )
        resp = self._request(
            "REPORT", self._coll(), body, {"Depth": "0"}, what="polling for changes",
            sync_token=bool(token),
        )  # fmt: skip
        if token and resp.status in (400, 403, 409, 412):
            raise _InvalidToken()
        if not token and resp.status in (400, 405, 415, 422, 501):
            raise _SyncUnsupported()
        if resp.status != 207:
            self._raise_status(resp, "polling for changes")
        tree = resp.tree
        new_token = tree.findtext(_tag(DAV, "sync-token")) if tree is not None else None
        if not new_token:
            raise _InvalidToken() if token else _SyncUnsupported()
        coll_path = self._collection_path
        items = [i for i in self._parse(resp) if i.path.rstrip("/") != coll_path.rstrip("/")]
        return new_token.strip(), items

    def _propfind_listing(self) -> dict[str, str]:
        items = self._propfind(self._coll(), ["getetag"], depth=1, what="listing events")
        coll_path = self._collection_path.rstrip("/")
        return {
            i.path: i.etag or ""
            for i in items
            if i.status == 200 and i.path.rstrip("/") != coll_path and i.etag is not None
        }

    def _find_by_uid(self, coll: str, uid: str) -> _Item | None:
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<C:calendar-query xmlns:D="{DAV}" xmlns:C="{CALDAV}">'
            "<D:prop><D:getetag/></D:prop>"
            '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
            '<C:prop-filter name="UID">'
            f'<C:text-match collation="i;octet">{escape(uid)}</C:text-match>'
            "</C:prop-filter></C:comp-filter></C:comp-filter></C:filter>"
            "</C:calendar-query>"
        )
        resp = self._request("REPORT", coll, body, {"Depth": "1"}, what=f"looking up {uid}")
        if resp.status != 207:
            self._raise_status(resp, f"looking up {uid}")
        for item in self._parse(resp):
            if item.status == 200 and item.etag:
                return item
        return None

    # ------------------------------------------------------------------ discovery

    def _coll(self) -> str:
        if self._collection is None:
            self._discover()
        assert self._collection is not None
        return self._collection

    def _discover(self) -> None:
        if _is_url(self.calendar):
            url = urljoin(self.url, self.calendar)
            if not url.endswith("/"):
                url += "/"
            try:
                items = self._propfind(
                    url,
                    ["resourcetype", "displayname", "supported-report-set"],
                    depth=0,
                    what=f"opening calendar {self.calendar}",
                    missing=(
                        f"CalDAV server {self.server}: calendar {self.calendar} does not "
                        "exist; check [calendar] calendar (a display name or the calendar's URL)"
                    ),
                )
            except _Forbidden:
                raise NotFoundError(
                    f"CalDAV server {self.server}: calendar {self.calendar} does not exist or "
                    f"is not accessible for {self.username!r}; check [calendar] calendar"
                ) from None
            item = next((i for i in items if i.status == 200), None)
            if item is None or "calendar" not in item.resourcetypes:
                raise NotFoundError(
                    f"CalDAV server {self.server}: {self.calendar} is not a calendar; "
                    "check [calendar] calendar"
                )
            self._set_collection(url, item)
            return
        home = self._calendar_home()
        items = self._propfind(
            home,
            ["resourcetype", "displayname", "supported-report-set"],
            depth=1,
            what="listing calendars",
        )
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

    def _calendar_home(self) -> str:
        client = self._get_client()
        with self._translate("finding your calendars"):
            principal = client.principal()
            home = principal.calendar_home_set
        return str(home.url)

    def _make_calendar(self, home: str, name: str) -> None:
        slug = "".join(c if c.isalnum() or c in "-_" else "-" for c in name.lower()).strip("-")
        base = home if home.endswith("/") else home + "/"
        url = urljoin(base, f"{slug or 'syncsvc'}-{uuid4().hex[:8]}/")
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<C:mkcalendar xmlns:D="{DAV}" xmlns:C="{CALDAV}"><D:set><D:prop>'
            f"<D:displayname>{escape(name)}</D:displayname>"
            '<C:supported-calendar-component-set><C:comp name="VEVENT"/>'
            "</C:supported-calendar-component-set>"
            "</D:prop></D:set></C:mkcalendar>"
        )
        cannot = (
            f"CalDAV server {self.server}: calendar {name!r} does not exist and could not be "
            "created"
        )
        try:
            resp = self._request("MKCALENDAR", url, body, {}, what=f"creating calendar {name!r}")
        except _Forbidden:
            raise NotFoundError(
                f"{cannot} (not allowed); create it in your calendar app or check "
                "[calendar] calendar"
            ) from None
        if resp.status not in (200, 201, 204):
            if resp.status >= 500:
                self._raise_status(resp, f"creating calendar {name!r}")
            raise NotFoundError(
                f"{cannot} (HTTP {resp.status}); create it in your calendar app or check "
                "[calendar] calendar"
            )
        log.info("%s: created calendar %r at %s", self.server, name, url)
        items = self._propfind(url, ["resourcetype", "supported-report-set"], depth=0,
                               what=f"opening calendar {name!r}")  # fmt: skip
        item = next((i for i in items if i.status == 200), None)
        if item is None:
            raise NotFoundError(f"{cannot} (it is not there after creating it)")
        item.displayname = name
        self._set_collection(url, item)

    def _set_collection(self, url: str, item: _Item) -> None:
        self._collection = url
        self._collection_path = unquote(urlsplit(url).path)
        if item.displayname:
            self._display = item.displayname
        # absent supported-report-set (some servers omit it): try sync-collection anyway;
        # a server that rejects it falls back in _sync_collection's caller on the next poll
        self._sync_supported = not item.reports or "sync-collection" in item.reports

    # ------------------------------------------------------------------ HTTP

    def _get_client(self) -> DAVClient:
        if self._client is None:
            with self._translate("connecting"):
                from caldav.davclient import DAVClient

                self._client = DAVClient(
                    url=self.url,
                    username=self.username,
                    password=self._password,
                    timeout=self.timeout,  # type: ignore[arg-type]
                    enable_rfc6764=False,
                )
        return self._client

    def _resource_url(self, uid: str) -> str:
        coll = self._coll()
        for path, known_uid in self._path_uid.items():
            if known_uid == uid:
                return urljoin(coll, quote(path))
        return coll + quote(uid, safe="@._-") + ".ics"

    @staticmethod
    def _path_of(url: str) -> str:
        return unquote(urlsplit(url).path)

    def _remember(self, path: str, uid: str) -> None:
        self._path_uid[path] = uid
        self._ours.add(uid)
        self._foreign.pop(path, None)

    @staticmethod
    def _etag_from(resp: DAVResponse) -> str | None:
        etag = resp.headers.get("ETag")
        return str(etag) if etag else None

    def _fetch_etag(self, url: str, uid: str) -> str:
        items = self._propfind(url, ["getetag"], depth=0, what=f"reading event {uid}")
        for item in items:
            if item.status == 200 and item.etag:
                return item.etag
        raise BackendError(
            f"CalDAV server {self.server}: event {uid} has no etag; the server does not "
            "support conditional writes"
        )

    def _propfind(
        self,
        url: str,
        props: Iterable[str],
        depth: int,
        what: str,
        missing: str | None = None,
    ) -> list[_Item]:
        ns_of = {"getetag": "D", "resourcetype": "D", "displayname": "D",
                 "supported-report-set": "D"}  # fmt: skip
        prop_xml = "".join(f"<{ns_of[p]}:{p}/>" for p in props)
        body = (
            '<?xml version="1.0" encoding="utf-8"?>'
            f'<D:propfind xmlns:D="{DAV}" xmlns:C="{CALDAV}"><D:prop>{prop_xml}</D:prop>'
            "</D:propfind>"
        )
        resp = self._request("PROPFIND", url, body, {"Depth": str(depth)}, what=what)
        if resp.status == 404 and missing:
            raise NotFoundError(missing)
        if resp.status in (405, 501):
            raise NotFoundError(
                f"CalDAV server {self.server}: no CalDAV service there (PROPFIND gives HTTP "
                f"{resp.status}); check [calendar] url"
            )
        if resp.status != 207:
            self._raise_status(resp, what)
        return self._parse(resp)

    def _request(
        self,
        method: str,
        url: str,
        body: bytes | str | None,
        headers: Mapping[str, str],
        what: str,
        sync_token: bool = False,
    ) -> DAVResponse:
        client = self._get_client()
        hdrs = dict(headers)
        if method in ("PROPFIND", "REPORT", "MKCALENDAR") and "Content-Type" not in hdrs:
            hdrs["Content-Type"] = XML_TYPE
        try:
            with self._translate(what):
                # caldav annotates body as str, but its to_wire() sends bytes unchanged
                return client.request(url, method, cast("str", body or ""), hdrs)
        except _Forbidden:
            if sync_token:  # Radicale: 403 with DAV:valid-sync-token
                raise _InvalidToken() from None
            raise

    @contextmanager
    def _translate(self, what: str) -> Iterator[None]:
        """Turn library and network exceptions into one-line syncsvc errors."""
        from caldav.lib import error as dav_error
        from caldav.lib.http_sync import requests

        exc = requests.exceptions
        try:
            yield
        except SyncsvcError:
            raise
        except dav_error.AuthorizationError as e:
            status = getattr(e, "status", None)
            if status == 403:
                raise _Forbidden(
                    f"CalDAV server {self.server}: access denied (403) while {what}; check "
                    "username and that the calendar belongs to you"
                ) from e
            raise AuthError(
                f"CalDAV server {self.server}: wrong username or password for "
                f"{self.username!r} (401); check username and password_command/password_env"
            ) from e
        except dav_error.RateLimitError as e:
            if getattr(e, "status", None) == 503 or "503" in str(e):
                raise BackendError(
                    f"CalDAV server {self.server}: service unavailable (503) while {what}; "
                    "will retry"
                ) from None
            raise RateLimitedError(
                f"CalDAV server {self.server}: too many requests (429) while {what}; slowing down"
            ) from None
        except exc.SSLError as e:
            text = str(e).lower()
            if "certificate" in text or "verify" in text or "hostname" in text:
                raise UnreachableError(
                    f"CalDAV server {self.server}: its TLS certificate is not trusted or not "
                    f"valid for this host ({_reason(e)}); check the url and the server's "
                    "certificate"
                ) from None
            raise UnreachableError(
                f"CalDAV server {self.server}: the TLS handshake failed while {what} (is it "
                "https on this port?); check the url and the server's certificate"
            ) from None
        except exc.Timeout:
            raise UnreachableError(
                f"CalDAV server {self.server}: no answer within {self.timeout:g} s while "
                f"{what}; check that the server is up and the url is right"
            ) from None
        except exc.ConnectionError as e:
            raise UnreachableError(
                f"CalDAV server {self.server}: cannot connect while {what} ({_reason(e)}); "
                "check the url and your network"
            ) from None
        except (exc.InvalidURL, exc.MissingSchema, exc.InvalidSchema):
            raise UnreachableError(
                f"CalDAV server {self.server}: not a usable URL; check [calendar] url"
            ) from None
        except exc.RequestException as e:
            raise UnreachableError(
                f"CalDAV server {self.server}: request failed while {what} ({_reason(e)}); "
                "check the url and your network"
            ) from None
        except dav_error.NotFoundError:
            raise NotFoundError(
                f"CalDAV server {self.server}: not found while {what}; check [calendar] url"
            ) from None
        except dav_error.DAVError as e:
            status = _dav_status(e)
            if status in (400, 404, 405, 501):
                raise NotFoundError(
                    f"CalDAV server {self.server}: no CalDAV service found while {what} "
                    f"(HTTP {status}); check [calendar] url"
                ) from None
            if status is not None and status >= 500:
                raise BackendError(
                    f"CalDAV server {self.server}: server error {status} while {what}; "
                    "will retry (check the server's log if it persists)"
                ) from None
            raise BackendError(
                f"CalDAV server {self.server}: unexpected answer while {what} "
                f"({type(e).__name__}{f' {status}' if status else ''}); check [calendar] url"
            ) from None
        except NotImplementedError:
            raise AuthError(
                f"CalDAV server {self.server}: the server offers no supported way to log in "
                "(basic, digest, bearer); check [calendar] url"
            ) from None
        except OSError as e:
            raise UnreachableError(
                f"CalDAV server {self.server}: cannot connect while {what} ({e.strerror or e}); "
                "check the url and your network"
            ) from None
        except Exception as e:  # lxml parse errors and the like
            raise BackendError(
                f"CalDAV server {self.server}: unreadable answer while {what} "
                f"({type(e).__name__}); check [calendar] url"
            ) from None

    def _raise_status(self, resp: DAVResponse, what: str) -> NoReturn:
        status = int(resp.status)
        prefix = f"CalDAV server {self.server}"
        if status == 401:
            raise AuthError(
                f"{prefix}: wrong username or password for {self.username!r} (401); "
                "check username and password_command/password_env"
            )
        if status == 403:
            raise _Forbidden(
                f"{prefix}: access denied (403) while {what}; check username and that the "
                "calendar belongs to you"
            )
        if status == 404:
            raise NotFoundError(
                f"{prefix}: not found (404) while {what}; check [calendar] url and calendar"
            )
        if status == 429:
            raise RateLimitedError(f"{prefix}: too many requests (429) while {what}")
        if status >= 500:
            raise BackendError(
                f"{prefix}: server error {status} while {what}; will retry (check the "
                "server's log if it persists)"
            )
        raise BackendError(f"{prefix}: unexpected HTTP {status} while {what}")

    # ------------------------------------------------------------------ XML

    def _parse(self, resp: DAVResponse) -> list[_Item]:
        tree = resp.tree
        if tree is None:
            return []
        out: list[_Item] = []
        for r in tree.iter(_tag(DAV, "response")):
            href = r.findtext(_tag(DAV, "href"))
            if not href:
                continue
            path = unquote(urlsplit(href.strip()).path)
            top_status = _status(r.findtext(_tag(DAV, "status")))
            item = _Item(path=path, status=top_status or 0)
            for ps in r.iter(_tag(DAV, "propstat")):
                st = _status(ps.findtext(_tag(DAV, "status")))
                if st != 200:
                    continue
                item.status = 200
                prop = ps.find(_tag(DAV, "prop"))
                if prop is None:
                    continue
                for el in prop:
                    _read_prop(item, el)
            if item.status == 0:
                item.status = 200 if top_status is None else top_status
            out.append(item)
        return out


def _read_prop(item: _Item, el: Any) -> None:
    if el.tag == _tag(DAV, "getetag"):
        item.etag = (el.text or "").strip() or None
    elif el.tag == _tag(CALDAV, "calendar-data"):
        item.data = el.text or ""
    elif el.tag == _tag(DAV, "displayname"):
        item.displayname = (el.text or "").strip() or None
    elif el.tag == _tag(DAV, "resourcetype"):
        item.resourcetypes = tuple(_local(c.tag) for c in el if isinstance(c.tag, str))
    elif el.tag == _tag(DAV, "supported-report-set"):
        reports: list[str] = []
        for rep in el.iter(_tag(DAV, "report")):
            reports.extend(_local(c.tag) for c in rep if isinstance(c.tag, str))
        item.reports = tuple(reports)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _status(line: str | None) -> int | None:
    """``HTTP/1.1 404 Not Found`` -> 404."""
    if not line:
        return None
    parts = line.split()
    if len(parts) >= 2 and parts[1].isdigit():
        return int(parts[1])
    return None


def _dav_status(e: Any) -> int | None:
    """The HTTP status of a caldav library error: its ``status``, else from its reason."""
    status = getattr(e, "status", None)
    if isinstance(status, int):
        return status
    reason = str(getattr(e, "reason", "") or "")
    head = reason.strip().split(" ", 1)[0]
    return int(head) if head.isdigit() and len(head) == 3 else None


def _reason(e: BaseException) -> str:
    text = str(e).lower()
    if "refused" in text:
        return "connection refused"
    if any(s in text for s in ("name or service", "resolve", "nodename", "getaddrinfo",
                               "no address", "name resolution")):  # fmt: skip
        return "host name not found"
    if "self-signed" in text or "self signed" in text:
        return "self-signed certificate"
    if "expired" in text:
        return "certificate expired"
    if "hostname" in text or "doesn't match" in text or "not valid for" in text:
        return "certificate is for another host name"
    if "certificate" in text:
        return "certificate verify failed"
    if "reset" in text:
        return "connection reset"
    if "timed out" in text or "timeout" in text:
        return "timed out"
    return type(e).__name__
