"""Microsoft 365 and Outlook.com calendars through Microsoft Graph (v1.0) as a backend.

syncsvc's events live in a calendar of their own, named by ``[calendar] calendar`` (created
if missing). Each carries three single-value extended properties (``syncsvc`` = "1", the call
id and the uid): Outlook keeps them through any edit the person makes, and a listing can filter
on them server-side. A create sends a ``transactionId`` derived from the uid, so a retried POST
(a lost answer, a crash before the local commit) returns the event it made the first time.

Read-back is Graph's incremental ``calendarView/delta`` over a fixed, wide window (a moving
window would report events leaving it as removed). The delta link is the sync token; a quiet
poll is one request. Delta answers carry no extended properties, so the token also remembers
which Graph ids are ours (``{"delta": link, "ids": {graph id: [uid, call id]}}``); an id never
seen is looked up once. 410 / ``syncStateNotFound`` / ``resyncRequired``: one full resync.

Times are read as UTC (``Prefer: outlook.timezone="UTC"``) and shown in the event's own zone,
``originalStartTimeZone`` (Windows names such as "W. Europe Standard Time" are mapped to
IANA ones). Bodies are written as HTML and read back through ``syncsvc.text``.

HTTP is ``requests`` (a dependency of ``msal``, the ``microsoft`` extra), imported only here.
No token or URL (a delta link is a token) is ever put into a message.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import re
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from syncsvc.calendars.base import Calendar, CallEvent, Changes, RemoteEvent
from syncsvc.errors import (
    AuthError,
    BackendError,
    ConflictError,
    NotFoundError,
    RateLimitedError,
    SignInExpiredError,
    TokenExpiredError,
    UnreachableError,
)
from syncsvc.microsoft_auth import SIGN_IN_HINT
from syncsvc.text import description_html, html_to_text

if TYPE_CHECKING:
    from syncsvc.config import Config

log = logging.getLogger(__name__)

GUID = "{66f5a359-4659-4830-9070-00047ec6ac6e}"
TAG_PROP = f"String {GUID} Name syncsvc"
CALL_PROP = f"String {GUID} Name syncsvcCall"
UID_PROP = f"String {GUID} Name syncsvcUid"
#: the location syncsvc last wrote: a location that differs is the person's, and stays
LOCATION_PROP = f"String {GUID} Name syncsvcLocation"
TX_NAMESPACE = uuid.UUID("5f0e7c52-3d6b-4c1e-9a57-2b8f1c4d9e61")
#: the delta window: fixed, so no event ever leaves it (a call is never planned outside it)
WINDOW = ("2020-01-01T00:00:00Z", "2100-01-01T00:00:00Z")
PAGE_SIZE = 100
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
RESYNC_CODES = frozenset({"syncStateNotFound", "resyncRequired", "syncStateInvalid"})

Token = Callable[[bool], str]  # force_refresh -> access token


def transaction_id(uid: str) -> str:
    """The ``transactionId`` for ``uid``: the same on every retry, so Graph makes one event."""
    return str(uuid.uuid5(TX_NAMESPACE, uid))


def event_body(event: CallEvent, *, create: bool = True) -> dict[str, Any]:
    """The Graph event syncsvc writes for ``event`` (a create adds ``transactionId``).

    A rewrite is a PATCH of syncsvc's own fields only: the reminder and the location (the
    phone, so Outlook offers to dial it) are set when the event is made and then left as the
    person keeps them, like everything else another app or the person put there."""
    body: dict[str, Any] = {
        "subject": event.summary,
        "body": {"contentType": "html", "content": description_html(event.description)},
        "start": _when(event.start),
        "end": _when(event.end),
        "singleValueExtendedProperties": [
            {"id": TAG_PROP, "value": "1"},
            {"id": CALL_PROP, "value": event.call_id},
            {"id": UID_PROP, "value": event.uid},
        ],
    }
    if create:
        body |= {
            "isReminderOn": event.alarm_minutes > 0,
            "reminderMinutesBeforeStart": event.alarm_minutes,
            "showAs": "busy",
        }
        fields = location_fields(event.location)
        body["location"] = fields["location"]
        body["singleValueExtendedProperties"] += fields["singleValueExtendedProperties"]
    return body


def location_fields(location: str | None) -> dict[str, Any]:
    """The event's location (the phone, which Outlook offers to dial) and our record of it."""
    return {
        "location": {"displayName": location or ""},
        "singleValueExtendedProperties": [{"id": LOCATION_PROP, "value": location or ""}],
    }


def _when(dt: datetime) -> dict[str, str]:
    """Local wall time and its IANA zone name: Graph accepts IANA as well as Windows names."""
    key = getattr(dt.tzinfo, "key", None)
    if dt.tzinfo is None:
        raise ValueError(f"call event time {dt} has no time zone")
    if not key:
        dt, key = dt.astimezone(UTC), "UTC"
    return {"dateTime": dt.replace(tzinfo=None).isoformat(timespec="seconds"), "timeZone": key}


def zone_named(name: str | None) -> ZoneInfo | None:
    """An IANA zone for an IANA or Windows time-zone name; None when unknown."""
    if not name:
        return None
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        pass
    from icalendar.timezone.windows_to_olson import WINDOWS_TO_OLSON

    iana = WINDOWS_TO_OLSON.get(name)
    return ZoneInfo(iana) if iana else None


def parse_when(value: Mapping[str, Any] | None, zone_name: str | None = None) -> datetime | None:
    """An aware datetime from Graph's ``{"dateTime", "timeZone"}``, shown in ``zone_name``
    (the event's ``originalStartTimeZone``) when that is a known zone."""
    if not value or not value.get("dateTime"):
        return None
    text = str(value["dateTime"])
    text = re.sub(r"(\.\d{6})\d+", r"\1", text)  # Graph sends 7 fractional digits
    dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if dt.tzinfo is None:
        given = zone_named(str(value.get("timeZone") or "UTC"))
        if given is None:
            raise ValueError(f"unknown time zone {value.get('timeZone')!r}")
        dt = dt.replace(tzinfo=given)
    shown = zone_named(zone_name)
    return dt.astimezone(shown) if shown else dt


def body_text(item: Mapping[str, Any]) -> str:
    """The event's body as text: Outlook stores ``<html><head>…</head><body>…</body></html>``
    around whatever was written; only the body's inside is the description."""
    body = item.get("body") or {}
    content = str(body.get("content") or "")
    if str(body.get("contentType", "")).lower() != "html":
        return content.replace("\r\n", "\n")
    m = re.search(r"<body[^>]*>(?:\r?\n)?(.*?)(?:\r?\n)?</body>", content, re.S | re.I)
    if m:
        content = m.group(1)
    return html_to_text(content)


def _etag(item: Mapping[str, Any]) -> str:
    etag = item.get("@odata.etag")
    if etag:
        return str(etag)
    return f'W/"{item.get("changeKey", "")}"'


def _props(item: Mapping[str, Any]) -> dict[str, str]:
    out: dict[str, str] = {}
    for prop in item.get("singleValueExtendedProperties") or []:
        if isinstance(prop, dict) and isinstance(prop.get("value"), str):
            out[str(prop.get("id", "")).lower()] = prop["value"]
    return out


def _identity(item: Mapping[str, Any]) -> tuple[str, str] | None:
    """(uid, call id) of one of syncsvc's events; None for anyone else's."""
    props = _props(item)
    uid, call_id = props.get(UID_PROP.lower()), props.get(CALL_PROP.lower())
    return (uid, call_id) if uid and call_id else None


def _remote(item: Mapping[str, Any], uid: str, call_id: str) -> RemoteEvent:
    try:
        start = parse_when(item.get("start"), item.get("originalStartTimeZone"))
        end = parse_when(item.get("end"), item.get("originalEndTimeZone"))
    except ValueError as e:
        raise BackendError(f"Microsoft Graph: event {uid} has an unreadable time ({e})") from None
    return RemoteEvent(
        uid=uid,
        call_id=call_id,
        etag=_etag(item),
        summary=str(item.get("subject") or ""),
        description=body_text(item),
        start=start,
        end=end,
    )


def _graph_error(response: Any) -> tuple[str, str]:
    """(code, message) of Graph's ``{"error": {"code", "message"}}``."""
    try:
        err = response.json().get("error")
    except (ValueError, AttributeError):
        return "", ""
    if isinstance(err, dict):
        return str(err.get("code", "")), " ".join(str(err.get("message", "")).split())[:200]
    return (str(err), "") if isinstance(err, str) else ("", "")


def _retry_after(response: Any) -> float | None:
    try:
        return max(0.0, float(response.headers.get("Retry-After")))
    except (TypeError, ValueError):
        return None


class MicrosoftCalendar(Calendar):
    """syncsvc's call events in one Outlook calendar, through Microsoft Graph."""

    def __init__(
        self,
        graph_url: str,
        token: Token,
        calendar_name: str = "syncsvc",
        *,
        timeout: float = 30,
        sleep: Callable[[float], None] = time.sleep,
        retry_budget: float = 60.0,
    ) -> None:
        import requests

        self.base = graph_url.rstrip("/")
        self._token = token
        self.calendar_name = calendar_name
        self.key = f"microsoft:{calendar_name}"
        self.timeout = timeout
        self._sleep = sleep
        self._budget = retry_budget
        self._session = requests.Session()
        self._calendar_id: str | None = None
        self._default_id: str | None = None
        self._ids: dict[str, tuple[str, str]] = {}  # graph id -> (uid, call id)
        self._by_uid: dict[str, str] = {}  # uid -> graph id

    @classmethod
    def from_config(cls, config: Config) -> MicrosoftCalendar:
        from syncsvc.microsoft_auth import MicrosoftSignIn

        auth = MicrosoftSignIn(config)

        def token(force_refresh: bool) -> str:
            return auth.token(force_refresh=force_refresh)

        return cls(
            config.microsoft.graph_url,
            token,
            config.calendar.calendar,
            timeout=config.calendar.timeout_seconds,
        )

    def close(self) -> None:
        self._session.close()

    # ------------------------------------------------------------------ requests

    def _request(
        self,
        method: str,
        url: str,
        what: str,
        *,
        body: Any = None,
        params: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        delta: bool = False,
    ) -> Any:
        """One Graph request: bearer token (refreshed once on 401), retries of 429/5xx that
        honour ``Retry-After``, and every failure as a one-line ``BackendError``. Returns the
        parsed JSON (None for 204)."""
        import requests

        url = url if url.startswith(("https://", "http://")) else self.base + url
        waited, attempt, refreshed = 0.0, 0, False
        # MSAL answers from its cache and refreshes ahead of expiry: no request of its own
        access = self._token(False)
        while True:
            prefer = 'outlook.timezone="UTC", outlook.body-content-type="html"'
            if delta:  # the first round lists every event: fewer, larger pages
                prefer += f", odata.maxpagesize={PAGE_SIZE}"
            send = {
                "Authorization": f"Bearer {access}",
                "Prefer": prefer,
                "Accept": "application/json",
                **(headers or {}),
            }
            try:
                response = self._session.request(
                    method, url, json=body, params=params, headers=send, timeout=self.timeout
                )
            except requests.RequestException as e:
                raise UnreachableError(
                    f"{what}: cannot reach Microsoft Graph ({type(e).__name__})"
                ) from None
            status = response.status_code
            if status == 401 and not refreshed:  # revoked early, or a clock out of step
                access = self._token(True)
                refreshed = True
                continue
            if status in RETRY_STATUSES:
                wait = _retry_after(response)
                delay = wait if wait is not None else min(32.0, 2.0**attempt)
                if wait is None:
                    delay *= random.uniform(0.5, 1.0)
                if waited + delay > self._budget:
                    raise self._error(response, what, gave_up_after=waited)
                log.info("%s: HTTP %s, retrying in %.1f s", what, status, delay)
                self._sleep(delay)
                waited += delay
                attempt += 1
                continue
            if status >= 400:
                raise self._error(response, what, delta=delta)
            if status == 204 or not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                raise UnreachableError(f"{what}: Graph's answer was cut off; will retry") from None

    def _error(
        self, response: Any, what: str, *, gave_up_after: float | None = None, delta: bool = False
    ) -> BackendError:
        status = response.status_code
        code, message = _graph_error(response)
        detail = (
            f"HTTP {status}" + (f" {code}" if code else "") + (f": {message}" if message else "")
        )
        tail = f" (gave up after {gave_up_after:.0f} s of retries)" if gave_up_after else ""
        wait = _retry_after(response)
        if delta and (status == 410 or code in RESYNC_CODES):
            return TokenExpiredError(f"{what}: the delta link expired ({detail})", status=status)
        if status == 401:
            return SignInExpiredError(
                f"{what}: Microsoft rejected the sign-in ({detail}): {SIGN_IN_HINT}", status=status
            )
        if status == 403:
            return AuthError(f"{what}: no permission ({detail}); {SIGN_IN_HINT}", status=status)
        if status == 404:
            return NotFoundError(f"{what}: not found ({detail})", status=status)
        if status == 412:
            return ConflictError(
                f"{what}: changed in Outlook since syncsvc last read it", status=status
            )
        if status == 429:
            return RateLimitedError(
                f"{what}: Microsoft Graph throttling ({detail}){tail}",
                status=status,
                retry_after=wait,
            )
        return BackendError(
            f"{what}: Microsoft Graph error ({detail}){tail}", status=status, retry_after=wait
        )

    def _pages(
        self, url: str, what: str, params: Mapping[str, str] | None = None, *, delta: bool = False
    ) -> Iterator[dict[str, Any]]:
        """Every page of a collection, following ``@odata.nextLink`` (absolute URLs)."""
        page = self._request("GET", url, what, params=params, delta=delta)
        while True:
            yield page
            link = page.get("@odata.nextLink")
            if not link:
                return
            page = self._request("GET", link, what, delta=delta)

    # ------------------------------------------------------------------ the calendar

    def _calendar(self) -> str:
        """The id of the calendar named ``calendar_name``; created when missing."""
        if self._calendar_id is not None:
            return self._calendar_id
        what = f"Microsoft Graph: find calendar {self.calendar_name!r}"
        found: str | None = None
        for page in self._pages("/me/calendars", what, {"$top": str(PAGE_SIZE)}):
            for cal in page.get("value") or []:
                if cal.get("isDefaultCalendar"):
                    self._default_id = str(cal["id"])
                if found is None and str(cal.get("name", "")).casefold() == (
                    self.calendar_name.casefold()
                ):
                    found = str(cal["id"])
        if found is None:
            created = self._request(
                "POST",
                "/me/calendars",
                f"Microsoft Graph: create calendar {self.calendar_name!r}",
                body={"name": self.calendar_name},
            )
            found = str(created["id"])
        self._calendar_id = found
        return found

    def _remember(self, graph_id: str, uid: str, call_id: str) -> None:
        self._ids[graph_id] = (uid, call_id)
        self._by_uid[uid] = graph_id

    def _find(self, uid: str, what: str) -> str | None:
        """The Graph id of syncsvc's event ``uid``, from memory or one filtered listing."""
        if uid in self._by_uid:
            return self._by_uid[uid]
        escaped = uid.replace("'", "''")
        params = {
            "$filter": (
                f"singleValueExtendedProperties/Any(ep: ep/id eq '{UID_PROP}' "
                f"and ep/value eq '{escaped}')"
            ),
            "$expand": _EXPAND,
            "$select": "id",
        }
        url = f"/me/calendars/{self._calendar()}/events"
        for page in self._pages(url, what, params):
            for item in page.get("value") or []:
                ident = _identity(item)
                if ident and ident[0] == uid:
                    self._remember(str(item["id"]), *ident)
                    return str(item["id"])
        return None

    # ------------------------------------------------------------------ Calendar

    def create(self, event: CallEvent) -> str:
        body = dict(event_body(event), transactionId=transaction_id(event.uid))
        created = self._request(
            "POST",
            f"/me/calendars/{self._calendar()}/events",
            f"Microsoft Graph: create event {event.uid}",
            body=body,
        )
        self._remember(str(created["id"]), event.uid, event.call_id)
        return _etag(created)

    def update(self, event: CallEvent, etag: str) -> str:
        what = f"Microsoft Graph: update event {event.uid}"
        graph_id = self._find(event.uid, what)
        if graph_id is None:
            raise NotFoundError(f"{what}: not found (deleted in Outlook)")
        body = event_body(event, create=False)
        current = self._request(
            "GET",
            f"/me/events/{quote(graph_id, safe='')}",
            what,
            params={
                "$select": "location",
                "$expand": f"singleValueExtendedProperties($filter=id eq '{LOCATION_PROP}')",
            },
        )
        now = str((current.get("location") or {}).get("displayName") or "")
        ours = _props(current).get(LOCATION_PROP.lower(), "")
        if now in ("", ours):  # the person has not put a location of their own there
            fields = location_fields(event.location)
            body["location"] = fields["location"]
            body["singleValueExtendedProperties"] += fields["singleValueExtendedProperties"]
        try:
            updated = self._request(
                "PATCH",
                f"/me/events/{quote(graph_id, safe='')}",
                what,
                body=body,
                headers={"If-Match": etag},
            )
        except NotFoundError:
            self._forget(graph_id)
            raise
        return _etag(updated)

    def delete(self, uid: str, etag: str | None) -> None:
        what = f"Microsoft Graph: delete event {uid}"
        graph_id = self._find(uid, what)
        if graph_id is None:
            return
        with contextlib.suppress(NotFoundError):  # gone already
            self._request(
                "DELETE",
                f"/me/events/{quote(graph_id, safe='')}",
                what,
                headers={"If-Match": etag} if etag else None,
            )
        self._forget(graph_id)

    def _forget(self, graph_id: str) -> None:
        uid, _ = self._ids.pop(graph_id, ("", ""))
        self._by_uid.pop(uid, None)

    def check(self) -> str:
        self._calendar()
        return f"{self.key} (Microsoft Graph)"

    def changes(self, token: str | None, known: Mapping[str, str]) -> Changes:
        state = _load_token(token)
        if state is not None:
            link, ids = state
            for graph_id, (uid, call_id) in ids.items():
                self._ids.setdefault(graph_id, (uid, call_id))
                self._by_uid.setdefault(uid, graph_id)
            try:
                return self._incremental(link, known)
            except TokenExpiredError:
                log.info("Microsoft Graph: the delta link expired; reading everything again")
        return self._full(known)

    def busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The person's own timed events overlapping [start, end) in their default calendar
        and in syncsvc's: not syncsvc's, not ``showAs: free``, not all-day, not cancelled."""
        ours = self._calendar()
        out: list[tuple[datetime, datetime]] = []
        params = {
            "startDateTime": start.astimezone(UTC).isoformat(),
            "endDateTime": end.astimezone(UTC).isoformat(),
            "$select": "subject,start,end,showAs,isAllDay,isCancelled,originalStartTimeZone",
            "$expand": f"singleValueExtendedProperties($filter=id eq '{TAG_PROP}')",
            "$top": str(PAGE_SIZE),
        }
        for cal_id in dict.fromkeys(c for c in (self._default_id, ours) if c):
            url = f"/me/calendars/{cal_id}/calendarView"
            for page in self._pages(url, "Microsoft Graph: reading busy times", params):
                for item in page.get("value") or []:
                    if TAG_PROP.lower() in _props(item):
                        continue
                    if item.get("isAllDay") or item.get("isCancelled"):
                        continue
                    if str(item.get("showAs", "busy")).lower() == "free":
                        continue
                    s = parse_when(item.get("start"), item.get("originalStartTimeZone"))
                    e = parse_when(item.get("end"), item.get("originalStartTimeZone"))
                    if s is not None and e is not None and e > start and s < end:
                        out.append((s, e))
        return sorted(out)

    # ------------------------------------------------------------------ listings

    def _delta_round(self, url: str, params: Mapping[str, str] | None) -> tuple[list[Any], str]:
        """All pages of a delta round; (items, the deltaLink its last page hands out)."""
        items: list[Any] = []
        for page in self._pages(url, "Microsoft Graph: sync events", params, delta=True):
            items.extend(page.get("value") or [])
            if page.get("@odata.deltaLink"):
                return items, str(page["@odata.deltaLink"])
        raise BackendError("Microsoft Graph: sync events: the answer had no delta link")

    def _full(self, known: Mapping[str, str]) -> Changes:
        cal = self._calendar()
        # the delta round first: an edit made while we list is in the next delta
        _, link = self._delta_round(
            f"/me/calendars/{cal}/calendarView/delta",
            {"startDateTime": WINDOW[0], "endDateTime": WINDOW[1]},
        )
        params = {
            "$filter": (
                f"singleValueExtendedProperties/Any(ep: ep/id eq '{TAG_PROP}' and ep/value eq '1')"
            ),
            "$expand": _EXPAND,
            "$top": str(PAGE_SIZE),
        }
        self._ids.clear()
        self._by_uid.clear()
        out = Changes()
        alive: set[str] = set()
        what = "Microsoft Graph: list events"
        for page in self._pages(f"/me/calendars/{cal}/events", what, params):
            for item in page.get("value") or []:
                ident = _identity(item)
                if ident is None or item.get("isCancelled"):
                    continue
                self._remember(str(item["id"]), *ident)
                remote = _remote(item, *ident)
                alive.add(remote.uid)
                if known.get(remote.uid) != remote.etag:
                    out.changed.append(remote)
        out.deleted = [uid for uid in known if uid not in alive]
        out.token = self._token_for(link)
        return out

    def _incremental(self, link: str, known: Mapping[str, str]) -> Changes:
        items, next_link = self._delta_round(link, None)
        out = Changes()
        latest: dict[str, Any] = {}
        for item in items:  # one entry per id, but keep the last if repeated
            latest[str(item.get("id", ""))] = item
        for graph_id, item in latest.items():
            if "@removed" in item or item.get("isCancelled"):
                if graph_id in self._ids:
                    out.deleted.append(self._ids[graph_id][0])
                    self._forget(graph_id)
                continue
            ident = self._ids.get(graph_id) or self._identify(graph_id)
            if ident is None:
                continue
            remote = _remote(item, *ident)
            if known.get(remote.uid) != remote.etag:
                out.changed.append(remote)
        out.token = self._token_for(next_link)
        return out

    def _identify(self, graph_id: str) -> tuple[str, str] | None:
        """Whose is an event first seen in a delta (which carries no extended properties)?"""
        try:
            item = self._request(
                "GET",
                f"/me/events/{quote(graph_id, safe='')}",
                "Microsoft Graph: read event",
                params={"$select": "id", "$expand": _EXPAND},
            )
        except NotFoundError:
            return None
        ident = _identity(item)
        if ident is not None:
            self._remember(graph_id, *ident)
        return ident

    def _token_for(self, link: str) -> str:
        ids = {graph_id: list(pair) for graph_id, pair in sorted(self._ids.items())}
        return json.dumps({"delta": link, "ids": ids}, separators=(",", ":"))


_EXPAND = f"singleValueExtendedProperties($filter=id eq '{CALL_PROP}' or id eq '{UID_PROP}')"


def _load_token(token: str | None) -> tuple[str, dict[str, tuple[str, str]]] | None:
    """The delta link and the id map from a token we made; None (a full sync) otherwise."""
    if not token:
        return None
    try:
        data = json.loads(token)
        link = data["delta"]
        ids = {str(k): (str(v[0]), str(v[1])) for k, v in data["ids"].items()}
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None
    return (link, ids) if isinstance(link, str) and link else None


__all__ = ["MicrosoftCalendar", "event_body", "parse_when", "transaction_id"]
