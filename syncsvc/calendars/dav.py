"""WebDAV and CalDAV on the wire: requests, their XML bodies and multistatus answers.

Transport and authentication come from the ``caldav`` library's ``DAVClient`` (its session,
its auth negotiation, a timeout on every request); the requests themselves are built here so
that the headers are exact. Every failure goes through ``DavSession.fail`` /
``translating`` to ``dav_errors.dav_error``, the one translation into syncsvc's errors.

What the answers mean for syncsvc's events is ``calendars/caldav.py``'s business.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, NoReturn
from urllib.parse import quote, unquote, urlsplit, urlunsplit
from xml.sax.saxutils import escape

from syncsvc.calendars.dav_errors import dav_error
from syncsvc.errors import (
    AuthError,
    BackendError,
    NotFoundError,
    SyncsvcError,
    TokenExpiredError,
)

if TYPE_CHECKING:
    from caldav.davclient import DAVClient
    from caldav.response import DAVResponse

log = logging.getLogger(__name__)

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
XML_TYPE = "application/xml; charset=utf-8"
XML_HEAD = '<?xml version="1.0" encoding="utf-8"?>'
MULTIGET_BATCH = 100  # hrefs per calendar-multiget REPORT


def _tag(ns: str, name: str) -> str:
    return f"{{{ns}}}{name}"


class SyncUnsupported(Exception):
    """The server rejects sync-collection REPORTs altogether (control flow, never shown)."""


@dataclass
class Item:
    """One <response> of a multistatus."""

    path: str  # unquoted URL path
    status: int
    etag: str | None = None
    data: str | None = None
    displayname: str | None = None
    resourcetypes: tuple[str, ...] = ()
    reports: tuple[str, ...] = ()


def server_of(url: str) -> str:
    """``url`` without credentials, for messages and keys."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, ""))


def path_of(url: str) -> str:
    """The unquoted path of ``url``: how a multistatus names a resource."""
    return unquote(urlsplit(url).path)


def etag_of(resp: DAVResponse) -> str | None:
    etag = resp.headers.get("ETag")
    return str(etag) if etag else None


class DavSession:
    """One account on one CalDAV server: the requests syncsvc makes, with errors translated."""

    def __init__(self, url: str, username: str, password: str, timeout: float) -> None:
        self.url = url
        self.username = username
        self.timeout = timeout
        self.server = server_of(url)
        self._password = password
        self._client: DAVClient | None = None

    def close(self) -> None:
        if self._client is not None:
            try:
                self._client.close()
            except Exception:  # closing must never fail a shutdown
                log.debug("closing the CalDAV session failed", exc_info=True)
            self._client = None

    # ------------------------------------------------------------------ requests

    def request(
        self,
        method: str,
        url: str,
        body: bytes | str | None,
        headers: Mapping[str, str],
        what: str,
    ) -> DAVResponse:
        """One request; transport failures are raised translated, any status is returned."""
        client = self._get_client()
        hdrs = dict(headers)
        if method in ("PROPFIND", "REPORT", "MKCALENDAR") and "Content-Type" not in hdrs:
            hdrs["Content-Type"] = XML_TYPE
        with self.translating(what, method):
            # the library sends bytes as they are (its to_wire), though typed for str
            return client.request(url, method, body or "", hdrs)  # type: ignore[arg-type]

    def multistatus(
        self, method: str, url: str, body: str, depth: str | None, what: str
    ) -> list[Item]:
        """A PROPFIND or REPORT that must answer 207; its responses."""
        resp = self.request(method, url, body, {"Depth": depth} if depth else {}, what)
        if resp.status != 207:
            self.fail(resp, what, method)
        return parse(resp)

    def propfind(
        self, url: str, props: Iterable[str], depth: int, what: str, missing: str | None = None
    ) -> list[Item]:
        """PROPFIND of DAV: properties; ``missing`` is the message for a 404."""
        prop_xml = "".join(f"<D:{p}/>" for p in props)
        body = f'{XML_HEAD}<D:propfind xmlns:D="{DAV}"><D:prop>{prop_xml}</D:prop></D:propfind>'
        resp = self.request("PROPFIND", url, body, {"Depth": str(depth)}, what)
        if resp.status == 404 and missing:
            raise NotFoundError(missing, status=404)
        if resp.status != 207:
            self.fail(resp, what, "PROPFIND")
        return parse(resp)

    def sync_collection(self, url: str, token: str) -> tuple[str, list[Item]]:
        """RFC 6578 sync-collection asking only for etags: (new token, changed members).

        A token the server no longer accepts raises ``TokenExpiredError`` (Radicale: 403 with
        ``DAV:valid-sync-token``); a server without the REPORT raises ``SyncUnsupported``.
        """
        what = "polling for changes"
        body = (
            f'{XML_HEAD}<D:sync-collection xmlns:D="{DAV}">'
            f"<D:sync-token>{escape(token)}</D:sync-token><D:sync-level>1</D:sync-level>"
            "<D:prop><D:getetag/></D:prop></D:sync-collection>"
        )
        try:
            resp = self.request("REPORT", url, body, {"Depth": "0"}, what)
        except AuthError as e:
            if token and e.status == 403:
                raise self._token_expired(403) from None
            raise
        if token and resp.status in (400, 403, 409, 412):
            raise self._token_expired(resp.status)
        if not token and resp.status in (400, 405, 415, 422, 501):
            raise SyncUnsupported()
        if resp.status != 207:
            self.fail(resp, what, "REPORT")
        tree = resp.tree
        new_token = tree.findtext(_tag(DAV, "sync-token")) if tree is not None else None
        if not new_token:
            if token:
                raise self._token_expired(207)
            raise SyncUnsupported()
        coll = path_of(url).rstrip("/")
        return new_token.strip(), [i for i in parse(resp) if i.path.rstrip("/") != coll]

    def _token_expired(self, status: int) -> TokenExpiredError:
        return TokenExpiredError(
            f"CalDAV server {self.server}: the sync token is no longer valid (HTTP {status})",
            status=status,
        )

    def multiget(self, url: str, paths: list[str]) -> Iterator[Item]:
        """calendar-multiget of ``paths`` (etag and data), in batches of MULTIGET_BATCH."""
        for start in range(0, len(paths), MULTIGET_BATCH):
            batch = paths[start : start + MULTIGET_BATCH]
            hrefs = "".join(f"<D:href>{escape(quote(p))}</D:href>" for p in batch)
            body = (
                f'{XML_HEAD}<C:calendar-multiget xmlns:D="{DAV}" xmlns:C="{CALDAV}">'
                f"<D:prop><D:getetag/><C:calendar-data/></D:prop>{hrefs}</C:calendar-multiget>"
            )
            # no Depth header: RFC 4791 section 7.9
            yield from self.multistatus("REPORT", url, body, None, "reading changed events")

    def events_between(self, url: str, start: datetime, end: datetime) -> list[Item]:
        """A time-range calendar-query: every event (etag and data) overlapping the range."""

        def utc(t: datetime) -> str:
            return t.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")

        body = (
            f'{XML_HEAD}<C:calendar-query xmlns:D="{DAV}" xmlns:C="{CALDAV}">'
            "<D:prop><D:getetag/><C:calendar-data/></D:prop>"
            '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
            f'<C:time-range start="{utc(start)}" end="{utc(end)}"/>'
            "</C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
        )
        return self.multistatus("REPORT", url, body, "1", "reading busy times")

    def find_uid(self, url: str, uid: str) -> Item | None:
        """The resource in the collection ``url`` whose event has UID ``uid``, if any."""
        body = (
            f'{XML_HEAD}<C:calendar-query xmlns:D="{DAV}" xmlns:C="{CALDAV}">'
            "<D:prop><D:getetag/></D:prop>"
            '<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">'
            '<C:prop-filter name="UID">'
            f'<C:text-match collation="i;octet">{escape(uid)}</C:text-match>'
            "</C:prop-filter></C:comp-filter></C:comp-filter></C:filter></C:calendar-query>"
        )
        items = self.multistatus("REPORT", url, body, "1", f"looking up {uid}")
        return next((i for i in items if i.status == 200 and i.etag), None)

    def mkcalendar(self, url: str, name: str, what: str) -> int:
        """MKCALENDAR for VEVENTs named ``name``; the status (the caller judges it)."""
        body = (
            f'{XML_HEAD}<C:mkcalendar xmlns:D="{DAV}" xmlns:C="{CALDAV}"><D:set><D:prop>'
            f"<D:displayname>{escape(name)}</D:displayname>"
            '<C:supported-calendar-component-set><C:comp name="VEVENT"/>'
            "</C:supported-calendar-component-set></D:prop></D:set></C:mkcalendar>"
        )
        return int(self.request("MKCALENDAR", url, body, {}, what).status)

    def calendar_home(self) -> str:
        """The calendar-home-set URL, through the library's principal discovery."""
        client = self._get_client()
        with self.translating("finding your calendars", "PROPFIND"):
            return str(client.principal().calendar_home_set.url)

    def _get_client(self) -> DAVClient:
        if self._client is None:
            with self.translating("connecting"):
                from caldav.davclient import DAVClient

                self._client = DAVClient(
                    url=self.url,
                    username=self.username,
                    password=self._password,
                    timeout=self.timeout,  # type: ignore[arg-type]
                    enable_rfc6764=False,
                )
        return self._client

    # ------------------------------------------------------------------ errors

    def fail(self, resp: DAVResponse, what: str, method: str = "") -> NoReturn:
        """Raise the error for an answer the caller cannot use."""
        from caldav.lib.error import parse_retry_after

        header = resp.headers.get("Retry-After")
        wait = parse_retry_after(str(header)) if header else None
        raise self.error(what, int(resp.status), method=method, retry_after=wait)

    @contextmanager
    def translating(self, what: str, method: str = "") -> Iterator[None]:
        """Raise exceptions from the library and the network as ``error`` translates them."""
        try:
            yield
        except SyncsvcError:
            raise
        except Exception as e:
            raise self.error(what, e, method=method) from None

    def error(
        self,
        what: str,
        failure: int | BaseException,
        *,
        method: str = "",
        retry_after: float | None = None,
    ) -> BackendError:
        """The syncsvc error for ``failure`` (a status or an exception) met while ``what``."""
        return dav_error(
            what,
            failure,
            server=self.server,
            username=self.username,
            timeout=self.timeout,
            method=method,
            retry_after=retry_after,
        )


# --------------------------------------------------------------------------- multistatus


def parse(resp: DAVResponse) -> list[Item]:
    """The <response> elements of a 207 answer, with the properties syncsvc asks for."""
    tree = resp.tree
    if tree is None:
        return []
    out: list[Item] = []
    for r in tree.iter(_tag(DAV, "response")):
        href = r.findtext(_tag(DAV, "href"))
        if not href:
            continue
        top_status = _status(r.findtext(_tag(DAV, "status")))
        item = Item(path=path_of(href.strip()), status=top_status or 0)
        for ps in r.iter(_tag(DAV, "propstat")):
            if _status(ps.findtext(_tag(DAV, "status"))) != 200:
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


def _read_prop(item: Item, el: Any) -> None:
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
