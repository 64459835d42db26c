"""Google Contacts import (People API) against the loopback fake, through the real client."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from syncsvc.contacts.google import PERSON_FIELDS, fetch_contacts, person_to_card
from syncsvc.errors import BackendError

try:  # tests/ as a package (tests/__init__.py) or as a plain folder on sys.path
    from tests.google_fake import FakeGoogle, google_fake_fixture
except ModuleNotFoundError:
    from google_fake import FakeGoogle, google_fake_fixture  # type: ignore[no-redef]

google = google_fake_fixture()
CONNECTIONS = "/people/v1/people/me/connections"


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def people(google: FakeGoogle) -> Any:
    return google.service("people", "v1")


def fill(google: FakeGoogle, n: int) -> list[str]:
    return [
        google.add_contact(
            f"Given{i:04d}",
            f"Family{i:04d}",
            emails=[f"p{i}@example.org"],
            phones=[f"+49 170 {i:07d}"],
        )
        for i in range(n)
    ]


def test_2500_connections_over_3_pages(google: FakeGoogle, people: Any) -> None:
    names = fill(google, 2500)
    page = fetch_contacts(people, None)
    assert page.full and page.sync_token and page.deleted == []
    assert len(page.cards) == 2500
    assert {c.uid for c in page.cards} == set(names)
    lists = [r for r in google.requests if r.path == CONNECTIONS]
    assert len(lists) == 3
    first = lists[0]
    assert first.param("pageSize") == "1000"
    assert first.param("requestSyncToken") == "true"
    assert first.param("personFields") == PERSON_FIELDS
    assert first.param("syncToken") is None
    card = page.cards[0]
    assert card.name == "Given0000 Family0000"
    assert card.emails == ["p0@example.org"] and card.phones == ["+49 170 0000000"]
    assert card.source == "google" and card.uid == names[0]


def test_second_fetch_with_the_token_returns_only_changes(google: FakeGoogle, people: Any) -> None:
    names = fill(google, 2500)
    first = fetch_contacts(people, None)
    new = google.add_contact("Jane", "Roe", emails=["jane@example.org"])
    google.update_contact(names[10], emailAddresses=[{"value": "new10@example.org"}])
    google.delete_contact(names[20])
    google.reset_counts()

    second = fetch_contacts(people, first.sync_token)
    assert not second.full
    assert sorted(c.uid or "" for c in second.cards) == sorted([new, names[10]])
    assert second.deleted == [names[20]]
    changed = {c.uid: c for c in second.cards}
    assert changed[names[10]].emails == ["new10@example.org"]
    assert google.count(CONNECTIONS) == 1
    assert google.requests[0].param("syncToken") == first.sync_token
    assert second.sync_token and second.sync_token != first.sync_token

    third = fetch_contacts(people, second.sync_token)
    assert third.cards == [] and third.deleted == [] and not third.full


def test_expired_token_falls_back_to_a_full_fetch(google: FakeGoogle, people: Any) -> None:
    names = fill(google, 1200)
    first = fetch_contacts(people, None)
    google.delete_contact(names[0])
    google.expire_people_tokens()  # seven days later
    google.reset_counts()
    again = fetch_contacts(people, first.sync_token)
    assert again.full
    assert len(again.cards) == 1199 and names[0] not in {c.uid for c in again.cards}
    assert again.deleted == []  # a full listing does not list deleted ones: caller compares
    assert google.count(CONNECTIONS) == 1 + 2  # the 400 EXPIRED_SYNC_TOKEN, then 2 pages
    assert again.sync_token


def test_rate_limits_are_retried(google: FakeGoogle, people: Any) -> None:
    fill(google, 3)
    sleeps = Sleeps()
    google.fail_next(2, "429")
    page = fetch_contacts(people, None, sleep=sleeps)
    assert len(page.cards) == 3 and len(sleeps) == 2


def test_other_errors_are_one_line_backend_errors(google: FakeGoogle, people: Any) -> None:
    google.fail_next(1, "403")  # rateLimitExceeded is retried; this one is not
    google.fail_next(1, "500")
    google.fail_next(3, "401")  # a refresh and a retry, twice, then the 401 stands
    with pytest.raises(BackendError) as err:
        fetch_contacts(people, None, sleep=Sleeps())
    assert "syncsvc auth google" in str(err.value) and "\n" not in str(err.value)


def test_names_fall_back_like_vcard_and_empty_contacts_are_skipped(
    google: FakeGoogle, people: Any
) -> None:
    unstructured = google.add_contact(unstructured="Dr. Who", emails=["who@example.org"])
    org = google.add_contact(org="ACME GmbH", title="CTO", phones=["+49 30 1234"])
    email = google.add_contact(emails=["only@example.org"])
    phone = google.add_contact(phones=["+1 555 0100"])
    bio = google.add_contact("Ann", "Lee", bio="Met at the meetup\nlikes climbing")
    empty = google.add_contact()
    page = fetch_contacts(people, None)
    cards = {c.uid: c for c in page.cards}
    assert cards[unstructured].name == "Dr. Who"
    assert cards[org].name == "ACME GmbH" and cards[org].org == "ACME GmbH"
    assert cards[org].title == "CTO"
    assert cards[email].name == "only@example.org"
    assert cards[phone].name == "+1 555 0100"
    assert cards[bio].note == "Met at the meetup\nlikes climbing"
    assert empty not in cards and page.skipped == [empty]


def test_person_to_card_prefers_primary_entries() -> None:
    card = person_to_card(
        {
            "resourceName": "people/c7",
            "names": [
                {"displayName": "Old Name"},
                {"displayName": "Jane Roe", "metadata": {"primary": True}},
            ],
            "emailAddresses": [
                {"value": "b@example.org"},
                {"value": "a@example.org", "metadata": {"primary": True}},
                {"value": "b@example.org"},
            ],
        },
        3,
    )
    assert card is not None
    assert card.name == "Jane Roe"
    assert card.emails == ["a@example.org", "b@example.org"]
    assert (card.uid, card.source, card.card_no) == ("people/c7", "google", 3)


def test_merges_with_an_earlier_vcard_import(
    google: FakeGoogle, people: Any, tmp_path: Path
) -> None:
    from syncsvc.contacts.merge import import_cards
    from syncsvc.contacts.vcard import read_cards
    from syncsvc.store import people as people_store
    from syncsvc.store.db import Store

    vcf = tmp_path / "a.vcf"
    vcf.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jane Roe\r\nEMAIL:jane@example.org\r\nEND:VCARD\r\n"
    )
    google.add_contact("Jane", "Roe", emails=["Jane@Example.org"], org="ACME")
    google.add_contact("Bob", "Stone", phones=["+49 170 1234567"])
    store = Store.memory()
    try:
        import_cards(store, list(read_cards(vcf)), source="vcard", region="DE")
        result = import_cards(
            store, fetch_contacts(people, None).cards, source="google", region="DE"
        )
        assert (result.added, result.updated) == (1, 1)
        with store.tx() as conn:
            assert people_store.count(conn) == 2
    finally:
        store.close()


def test_people_errors_come_in_the_rpc_shape_and_read_as_one_line(
    google: FakeGoogle, people: Any
) -> None:
    """The People API answers errors as v1 RPC bodies (``error.status``, ``error.details``),
    not Calendar's v3 ``error.errors``: the fake does too, and syncsvc reads both."""
    import json

    from googleapiclient.errors import HttpError

    google.fail_next(1, "403quota")
    request = people.people().connections().list(resourceName="people/me", personFields="names")
    with pytest.raises(HttpError) as raw:
        request.execute()
    body = json.loads(raw.value.content)["error"]
    assert body["status"] == "PERMISSION_DENIED" and "errors" not in body
    assert body["details"][0]["reason"] == "quotaExceeded"
    google.fail_next(1, "403quota")
    with pytest.raises(BackendError) as err:
        fetch_contacts(people, None, sleep=Sleeps())
    assert "quotaExceeded" in str(err.value) and "\n" not in str(err.value)
