"""Google Contacts (People API v1) as a contact source, incremental with sync tokens.

``fetch_contacts(service, None)`` lists every connection (all pages, 1000 a page) and asks for a
sync token; with that token the next fetch returns only contacts changed since, deleted ones
marked ``metadata.deleted``. An expired token (7 days: 400 ``EXPIRED_SYNC_TOKEN``, or 410)
means a full fetch again, reported with ``full=True`` so the caller can tell.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from syncsvc.contacts.vcard import Card
from syncsvc.errors import TokenExpiredError
from syncsvc.google_api import build_service, execute_raw, map_http_error
from syncsvc.google_auth import load_credentials

if TYPE_CHECKING:
    from syncsvc.config import Config

SOURCE = "google"
PERSON_FIELDS = "names,emailAddresses,phoneNumbers,organizations,biographies,metadata"
PAGE_SIZE = 1000
WHAT = "Google Contacts"


@dataclass
class ContactsPage:
    """One fetch: the contacts new or changed, the resourceNames deleted, the next token."""

    cards: list[Card]
    deleted: list[str]
    sync_token: str | None
    full: bool  # True: a complete listing (first fetch or expired token), not just changes
    skipped: list[str] = field(default_factory=list)  # resourceNames with no name or address


def build_people_service(config: Config) -> Any:
    creds = load_credentials(config)
    return build_service("people", "v1", creds, config.calendar.timeout_seconds)


def fetch_contacts(
    service: Any,
    sync_token: str | None,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> ContactsPage:
    """All connections (``sync_token`` None) or the changes since ``sync_token``."""
    if sync_token:
        try:
            return _fetch(service, sync_token, sleep)
        except TokenExpiredError:
            pass  # older than 7 days: list everything again
    return _fetch(service, None, sleep)


def _fetch(service: Any, sync_token: str | None, sleep: Callable[[float], None]) -> ContactsPage:
    from googleapiclient.errors import HttpError

    out = ContactsPage(cards=[], deleted=[], sync_token=None, full=sync_token is None)
    params: dict[str, Any] = {
        "resourceName": "people/me",
        "personFields": PERSON_FIELDS,
        "pageSize": PAGE_SIZE,
        "requestSyncToken": True,
    }
    if sync_token:
        params["syncToken"] = sync_token
    page_token: str | None = None
    number = 0
    while True:
        extra = {"pageToken": page_token} if page_token else {}
        request = service.people().connections().list(**params, **extra)
        try:
            page = execute_raw(request, WHAT, sleep=sleep)
        except HttpError as e:
            raise map_http_error(e, WHAT, sync_token=bool(sync_token)) from None
        for person in page.get("connections") or []:
            number += 1
            name = str(person.get("resourceName") or "")
            if (person.get("metadata") or {}).get("deleted"):
                if name:
                    out.deleted.append(name)
                continue
            card = person_to_card(person, number)
            if card is None:
                out.skipped.append(name)
            else:
                out.cards.append(card)
        page_token = page.get("nextPageToken")
        if not page_token:
            out.sync_token = page.get("nextSyncToken") or (None if out.full else sync_token)
            return out


def _values(items: Any, key: str = "value") -> list[str]:
    """Non-empty, de-duplicated ``key`` values of a People field, primary first."""
    if not isinstance(items, list):
        return []
    ordered = sorted(
        (i for i in items if isinstance(i, Mapping)),
        key=lambda i: not (i.get("metadata") or {}).get("primary", False),
    )
    out: list[str] = []
    for item in ordered:
        value = str(item.get(key) or "").strip()
        if value and value not in out:
            out.append(value)
    return out


def _first(items: Any) -> Mapping[str, Any]:
    if not isinstance(items, list):
        return {}
    for item in items:
        if isinstance(item, Mapping) and (item.get("metadata") or {}).get("primary"):
            return item
    return next((i for i in items if isinstance(i, Mapping)), {})


def person_to_card(person: Mapping[str, Any], number: int = 0) -> Card | None:
    """A Card for a People API person; None when it has neither a name nor any address."""
    emails = _values(person.get("emailAddresses"))
    phones = _values(person.get("phoneNumbers"))
    org_entry = _first(person.get("organizations"))
    org = str(org_entry.get("name") or "").strip() or None
    title = str(org_entry.get("title") or "").strip() or None
    name_entry = _first(person.get("names"))
    name = (
        str(name_entry.get("displayName") or "").strip()
        or str(name_entry.get("unstructuredName") or "").strip()
        or " ".join(
            str(name_entry.get(k) or "").strip()
            for k in ("givenName", "middleName", "familyName")
            if str(name_entry.get(k) or "").strip()
        )
        or org
        or (emails[0] if emails else "")
        or (phones[0] if phones else "")
    )
    if not name:
        return None
    bios = _values(person.get("biographies"))
    return Card(
        name=name,
        emails=emails,
        phones=phones,
        org=org,
        title=title,
        note="\n\n".join(bios) or None,
        uid=str(person.get("resourceName") or "") or None,
        categories=[],
        source=SOURCE,
        card_no=number,
        line=0,
    )
