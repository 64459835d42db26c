"""Google Calendar (API v3) as a calendar backend.

Each call is an event with a client-chosen id derived from its uid (base32hex of a SHA-1), so a
repeated insert answers 409 and never makes a second event. syncsvc's events carry
``extendedProperties.private`` = ``{"syncsvc": "1", "syncsvcCall": call id, "syncsvcUid": uid}``.

Read-back uses Google's incremental sync: a full listing (filtered server-side by the private
``syncsvc=1`` tag, deleted events included) hands out ``nextSyncToken`` on its last page; later
calls send only ``syncToken`` (no other filter is allowed with it) and cost one request when
nothing changed. Google does not document whether a filtered listing gets a sync token; when it
does not, the full listing is repeated once without the filter (syncsvc's events are picked out
here by their tag), which ends in a token, so a quiet poll still costs one request. Never
``singleEvents`` or ``orderBy`` on these listings: Google gives no sync token to those.
410 Gone means the token expired: a full listing again. Entries from an incremental listing
are filtered client-side; a cancelled entry is only guaranteed to carry its id, so deleted uids
are found through the ids of the ``known`` uids.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from syncsvc.calendars.base import Calendar, CallEvent, Changes, RemoteEvent
from syncsvc.errors import BackendError, ConflictError, NotFoundError, TokenExpiredError
from syncsvc.google_api import build_service, execute, execute_raw, map_http_error
from syncsvc.google_auth import load_credentials
from syncsvc.text import description_html, html_to_text

if TYPE_CHECKING:
    from syncsvc.config import Config

TAG_KEY, TAG_VALUE = "syncsvc", "1"
CALL_KEY, UID_KEY = "syncsvcCall", "syncsvcUid"
LOCATION_KEY = "syncsvcLocation"  # the location syncsvc last wrote
PAGE_SIZE = 250  # Google's default maxResults; up to 2500 allowed


def event_id(uid: str) -> str:
    """Google's client-chosen event id for ``uid``: lowercase base32hex (0-9a-v), 32 chars."""
    digest = hashlib.sha1(uid.encode("utf-8")).digest()
    return base64.b32hexencode(digest).decode("ascii").lower().rstrip("=")


def event_body(event: CallEvent) -> dict[str, Any]:
    """The Events resource syncsvc writes for ``event``."""
    return {
        "id": event_id(event.uid),
        "summary": event.summary,
        "description": description_html(event.description),
        "start": _when(event.start),
        "end": _when(event.end),
        "reminders": {
            "useDefault": False,
            "overrides": [{"method": "popup", "minutes": event.alarm_minutes}],
        },
        "extendedProperties": {"private": _our_private(event)},
        **({"location": event.location} if event.location else {}),
    }


def _our_private(event: CallEvent) -> dict[str, str]:
    private = {TAG_KEY: TAG_VALUE, CALL_KEY: event.call_id, UID_KEY: event.uid}
    if event.location:
        private[LOCATION_KEY] = event.location  # what we wrote: see rewritten_body
    return private


def rewritten_body(current: Mapping[str, Any], event: CallEvent) -> dict[str, Any]:
    """``current`` (our event as Google has it) with syncsvc's own fields rewritten: summary,
    description, time, our private properties, and the location while it is still the one we
    wrote (or none). Everything else stays: colour, attendees, reminders the person set,
    conference data, other apps' extended properties."""
    ours = event_body(event)
    body = {k: v for k, v in current.items() if k not in ("etag", "updated")}
    for key in ("summary", "description", "start", "end"):
        body[key] = ours[key]
    extended = dict(current.get("extendedProperties") or {})
    private = dict(_private(current))
    written = private.pop(LOCATION_KEY, None)
    private.update(_our_private(event))
    location = current.get("location") or None
    if location is not None and location not in (written, event.location):
        # the person's location: kept, and remembered as not ours
        if written is not None:
            private[LOCATION_KEY] = written
        else:
            private.pop(LOCATION_KEY, None)
    elif event.location:
        body["location"] = event.location
    else:
        body.pop("location", None)
        private.pop(LOCATION_KEY, None)
    extended["private"] = private
    body["extendedProperties"] = extended
    return body


def _when(dt: datetime) -> dict[str, str]:
    if dt.tzinfo is None:
        raise ValueError(f"call event time {dt} has no time zone")
    key = getattr(dt.tzinfo, "key", None)
    out = {"dateTime": dt.isoformat()}
    if key:
        out["timeZone"] = key
    return out


def parse_when(value: Mapping[str, Any] | None) -> datetime | None:
    """An aware datetime from an event's start/end; None for all-day or missing times."""
    if not value or not value.get("dateTime"):
        return None
    dt = datetime.fromisoformat(str(value["dateTime"]).replace("Z", "+00:00"))
    zone: Any = None
    if value.get("timeZone"):
        try:
            zone = ZoneInfo(str(value["timeZone"]))
        except (ZoneInfoNotFoundError, ValueError):
            zone = None
    if dt.tzinfo is None:  # only when timeZone says where it is (RFC 3339 requires an offset)
        return dt.replace(tzinfo=zone) if zone else None
    return dt.astimezone(zone) if zone else dt


class GoogleCalendar(Calendar):
    """syncsvc's call events in one Google calendar (``calendar_id``, default ``primary``)."""

    def __init__(
        self,
        service: Any,
        calendar_id: str = "primary",
        *,
        sleep: Callable[[float], None] = time.sleep,
        retry_budget: float = 60.0,
    ) -> None:
        self.service = service
        self.calendar_id = calendar_id
        self.key = f"google:{calendar_id}"
        self._sleep = sleep
        self._budget = retry_budget

    @classmethod
    def from_config(cls, config: Config) -> GoogleCalendar:
        creds = load_credentials(config)
        service = build_service("calendar", "v3", creds, config.calendar.timeout_seconds)
        return cls(service, config.calendar.calendar_id)

    # ------------------------------------------------------------------ requests

    def _run(self, request: Any, what: str) -> Any:
        return execute(request, what, sleep=self._sleep, budget=self._budget)

    def _run_raw(self, request: Any, what: str, *, expect_body: bool = True) -> Any:
        return execute_raw(
            request, what, sleep=self._sleep, budget=self._budget, expect_body=expect_body
        )

    @property
    def _events(self) -> Any:
        return self.service.events()

    # ------------------------------------------------------------------ Calendar

    def create(self, event: CallEvent) -> str:
        from googleapiclient.errors import HttpError

        body = event_body(event)
        what = f"Google Calendar: create event {event.uid}"
        try:
            created = self._run_raw(
                self._events.insert(calendarId=self.calendar_id, body=body), what
            )
            return str(created["etag"])
        except HttpError as e:
            if e.resp.status != 409:
                raise map_http_error(e, what) from None
        # The id exists: our own earlier insert (a crash before the local commit, or a retried
        # insert whose first answer was lost), or an event the person deleted (cancelled).
        # Keep it as it is - never resurrect a deletion; the next sync reports it as deleted.
        existing = self._run(
            self._events.get(calendarId=self.calendar_id, eventId=body["id"]), what
        )
        return str(existing["etag"])

    def update(self, event: CallEvent, etag: str) -> str:
        from googleapiclient.errors import HttpError

        eid = event_id(event.uid)
        what = f"Google Calendar: update event {event.uid}"
        current = self._run(self._events.get(calendarId=self.calendar_id, eventId=eid), what)
        if current.get("status") == "cancelled":  # the person deleted it: theirs to decide
            raise NotFoundError(f"{what}: deleted in Google Calendar")
        # the whole resource goes back (events.update replaces it), with only our fields
        # changed; If-Match makes sure it is the version we last read
        body = rewritten_body(current, event)
        request = self._events.update(calendarId=self.calendar_id, eventId=eid, body=body)
        request.headers["If-Match"] = etag
        try:
            updated = self._run_raw(request, what)
        except HttpError as e:
            if e.resp.status == 412:
                raise ConflictError(
                    f"{what}: changed in Google Calendar since syncsvc last read it"
                ) from None
            if e.resp.status in (403, 404, 410) and self._deleted(body["id"], what):
                # Google answers 403 forbidden to an update of an event the person deleted
                # (it stays as "cancelled"): that is their deletion, not a sign-in problem
                raise NotFoundError(
                    f"{what}: deleted in Google Calendar", status=e.resp.status
                ) from None
            raise map_http_error(e, what) from None
        return str(updated["etag"])

    def _deleted(self, eid: str, what: str) -> bool:
        """Whether event ``eid`` is deleted (cancelled, or gone) - asked after an update was
        refused, so a refusal for another reason (no permission) still says so."""
        from googleapiclient.errors import HttpError

        try:
            request = self._events.get(calendarId=self.calendar_id, eventId=eid)
            current = self._run_raw(request, what)
        except HttpError as e:
            if e.resp.status in (404, 410):
                return True
            raise map_http_error(e, what) from None
        return current.get("status") == "cancelled"

    def delete(self, uid: str, etag: str | None) -> None:
        from googleapiclient.errors import HttpError

        what = f"Google Calendar: delete event {uid}"
        request = self._events.delete(calendarId=self.calendar_id, eventId=event_id(uid))
        if etag:
            request.headers["If-Match"] = etag
        try:
            self._run_raw(request, what, expect_body=False)
            return
        except HttpError as e:
            if e.resp.status in (404, 410):
                return  # gone already
            if e.resp.status != 412:
                raise map_http_error(e, what) from None
        # 412: changed since we read it - unless the change is that it was deleted already.
        current = self._run(
            self._events.get(calendarId=self.calendar_id, eventId=event_id(uid)), what
        )
        if current.get("status") != "cancelled":
            raise ConflictError(f"{what}: changed in Google Calendar since syncsvc last read it")

    def changes(self, token: str | None, known: Mapping[str, str]) -> Changes:
        by_id = {event_id(uid): uid for uid in known}
        if token:
            try:
                return self._incremental(token, known, by_id)
            except TokenExpiredError:
                pass  # 410: the token expired; start over with a full listing
        return self._full(known, by_id)

    def busy(self, start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
        """The person's own timed events in this calendar overlapping [start, end).

        events.list with timeMin/timeMax works with the calendar.events scope; freebusy.query
        would need calendar.readonly as well, so it is not used."""
        items, _ = self._list(
            "reading busy times",
            timeMin=start.isoformat(),
            timeMax=end.isoformat(),
            singleEvents=True,
        )
        out: list[tuple[datetime, datetime]] = []
        for item in items:
            private = (item.get("extendedProperties") or {}).get("private") or {}
            if CALL_KEY in private or item.get("status") == "cancelled":
                continue
            if item.get("transparency") == "transparent":
                continue
            s, e = parse_when(item.get("start")), parse_when(item.get("end"))
            if s is not None and e is not None and e > start and s < end:
                out.append((s, e))
        return sorted(out)

    # ------------------------------------------------------------------ listings

    def _list(self, what: str, **params: Any) -> tuple[list[dict[str, Any]], str | None]:
        """All pages of events.list; (items, nextSyncToken of the last page)."""
        from googleapiclient.errors import HttpError

        items: list[dict[str, Any]] = []
        page_token: str | None = None
        while True:
            extra = {"pageToken": page_token} if page_token else {}
            request = self._events.list(calendarId=self.calendar_id, **params, **extra)
            try:
                page = self._run_raw(request, what)
            except HttpError as e:
                raise map_http_error(e, what, sync_token="syncToken" in params) from None
            items.extend(page.get("items") or [])
            page_token = page.get("nextPageToken")
            if not page_token:
                return items, page.get("nextSyncToken")

    def _full(self, known: Mapping[str, str], by_id: Mapping[str, str]) -> Changes:
        items, next_token = self._list(
            "Google Calendar: list events",
            showDeleted=True,
            privateExtendedProperty=f"{TAG_KEY}={TAG_VALUE}",
            maxResults=PAGE_SIZE,
        )
        if next_token is None:
            # Whether Google gives a sync token to a privateExtendedProperty-filtered listing
            # is not documented. Without one, every poll would be a full listing: list once
            # more without the filter (that listing does end in a token) and filter here, so
            # a quiet poll still costs one syncToken request.
            items, next_token = self._list(
                "Google Calendar: list events", showDeleted=True, maxResults=PAGE_SIZE
            )
        out = Changes(token=next_token)
        alive: set[str] = set()
        for item in items:
            uid = _uid_of(item, by_id)
            if uid is None:
                continue
            if item.get("status") == "cancelled":
                continue
            remote = _remote(item, uid)
            if remote is None:
                continue
            alive.add(uid)
            if known.get(uid) != remote.etag:
                out.changed.append(remote)
        # Deleted = known but not alive: cancelled, or purged so long ago it is not listed.
        out.deleted = [uid for uid in known if uid not in alive]
        return out

    def _incremental(
        self, token: str, known: Mapping[str, str], by_id: Mapping[str, str]
    ) -> Changes:
        # With syncToken no other filter is allowed; deleted entries always come back.
        items, next_token = self._list(
            "Google Calendar: sync events", syncToken=token, maxResults=PAGE_SIZE
        )
        out = Changes(token=next_token or token)
        latest: dict[str, dict[str, Any]] = {}
        for item in items:  # one entry per event id, but keep the last if repeated
            uid = _uid_of(item, by_id)
            if uid is not None:
                latest[uid] = item
        for uid, item in latest.items():
            if item.get("status") == "cancelled":
                out.deleted.append(uid)
                continue
            remote = _remote(item, uid)
            if remote is not None and known.get(uid) != remote.etag:
                out.changed.append(remote)
        return out


def _private(item: Mapping[str, Any]) -> Mapping[str, Any]:
    props = (item.get("extendedProperties") or {}).get("private") or {}
    return props if isinstance(props, Mapping) else {}


def _uid_of(item: Mapping[str, Any], by_id: Mapping[str, str]) -> str | None:
    """syncsvc's uid for a listed event, or None when it is not one of ours."""
    props = _private(item)
    uid = props.get(UID_KEY)
    if isinstance(uid, str) and uid and event_id(uid) == item.get("id"):
        return uid
    return by_id.get(str(item.get("id", "")))


def _remote(item: Mapping[str, Any], uid: str) -> RemoteEvent | None:
    props = _private(item)
    call_id = props.get(CALL_KEY)
    if not isinstance(call_id, str) or "etag" not in item:
        return None  # not (or no longer) tagged as ours: leave it alone
    try:
        start, end = parse_when(item.get("start")), parse_when(item.get("end"))
    except ValueError as e:
        raise BackendError(f"Google Calendar: event {uid} has an unreadable time ({e})") from None
    return RemoteEvent(
        uid=uid,
        call_id=call_id,
        etag=str(item["etag"]),
        summary=str(item.get("summary") or ""),
        description=html_to_text(str(item.get("description") or "")),
        start=start,
        end=end,
    )


__all__ = ["GoogleCalendar", "event_body", "event_id", "parse_when", "rewritten_body"]
