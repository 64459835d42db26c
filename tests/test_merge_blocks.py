"""Merging a block of cards at once gives exactly what merging them one by one gives.

The import merges cards in blocks (contacts/merge.py: ``Merger``): one lookup per kind for a
block, new people written together at its end. The cards here share emails (in other cases),
phones (in other formats), UIDs and stand-in names, so later cards match earlier ones of the
same block, update people not yet written, and re-use UIDs with other content.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from syncsvc.contacts.merge import BLOCK_SIZE, ImportResult, import_cards
from syncsvc.contacts.vcard import Card, Skipped
from syncsvc.store import Store

NAMES = ["Ann Example", "Bo", "ann@example.org", "+49 170 1234567", "Chen Wei"]
EMAILS = ["ann@example.org", "ANN@Example.org", "bo@example.com", "chen@example.net"]
PHONES = ["+49 170 1234567", "0170 1234567", "tel:+491701234567", "+1 212 555 0100", "mobile"]
UIDS = [None, None, "u1", "u2", "u3"]
ORGS = [None, "Acme", "Beta GmbH"]


@st.composite
def cards(draw: st.DrawFn) -> Card | Skipped:
    if draw(st.integers(0, 19)) == 0:
        return Skipped("x.vcf", 1, 1, "truncated")
    return Card(
        name=draw(st.sampled_from(NAMES)),
        emails=draw(st.lists(st.sampled_from(EMAILS), max_size=3)),
        phones=draw(st.lists(st.sampled_from(PHONES), max_size=3)),
        org=draw(st.sampled_from(ORGS)),
        title=draw(st.sampled_from(ORGS)),
        note=draw(st.sampled_from([None, "met at a fair"])),
        uid=draw(st.sampled_from(UIDS)),
        categories=draw(st.lists(st.sampled_from(["work", "school"]), max_size=2)),
        source="x.vcf",
        card_no=1,
        line=1,
    )


def dump(conn: sqlite3.Connection) -> dict[str, Any]:
    return {
        "people": conn.execute(
            "SELECT id, name, org, title, note, categories, source, source_detail, referred_by "
            "FROM people ORDER BY id"
        ).fetchall(),
        "addresses": sorted(
            tuple(r)
            for r in conn.execute("SELECT person_id, kind, value, norm, position FROM addresses")
        ),
        "source_ids": sorted(
            tuple(r)
            for r in conn.execute("SELECT source, ext_id, person_id, card_hash FROM source_ids")
        ),
    }


def run(batches: list[list[Card | Skipped]], block_size: int) -> tuple[list[tuple], dict]:
    store = Store.memory()
    try:
        results = []
        for batch in batches:
            r: ImportResult = import_cards(
                store, batch, source="vcard", region="DE", block_size=block_size
            )
            results.append((r.added, r.updated, r.unchanged, len(r.skipped)))
        state = dump(store.conn)
        state["people"] = [tuple(row) for row in state["people"]]
        return results, state
    finally:
        store.close()


@settings(max_examples=300, deadline=None)
@given(
    batches=st.lists(st.lists(cards(), max_size=12), min_size=1, max_size=3),
    block_size=st.sampled_from([2, 3, 5, BLOCK_SIZE]),
)
def test_blocks_merge_like_single_cards(
    batches: list[list[Card | Skipped]], block_size: int
) -> None:
    assert run(batches, block_size) == run(batches, 1)


def test_a_card_updating_a_person_of_its_own_block() -> None:
    """Card 2 matches card 1's new person (by a phone in another format) before the block is
    written: it still gets card 2's email and org, and no second person appears."""
    ann = Card("Ann", [], ["+49 170 1234567"], None, None, None, None, [], "x.vcf", 1, 1)
    ann2 = Card(
        "Ann E.", ["ann@example.org"], ["0170 1234567"], "Acme", None, None, None, [], "x.vcf", 2, 5
    )
    results, state = run([[ann, ann2]], BLOCK_SIZE)
    assert results == [(1, 1, 0, 0)]
    assert [(p[1], p[2]) for p in state["people"]] == [("Ann", "Acme")]
    assert [(a[1], a[3]) for a in state["addresses"]] == [
        ("email", "ann@example.org"),
        ("phone", "+491701234567"),
    ]


def test_a_uid_seen_twice_in_a_block_with_other_content() -> None:
    """A re-import where the first of two cards with one UID changes it: the second (equal to
    what is stored) is then a change back, not 'unchanged'."""
    a = Card("Bo", ["bo@example.com"], [], None, None, None, "u1", [], "x.vcf", 1, 1)
    b = Card("Bo", ["bo@example.com"], [], "Beta GmbH", None, None, "u1", [], "x.vcf", 2, 5)
    assert run([[a], [b, a]], BLOCK_SIZE) == run([[a], [b, a]], 1)
    results, _ = run([[a], [b, a]], BLOCK_SIZE)
    assert results[1] == (0, 1, 1, 0)  # b updates the org; a changes nothing (org stays)
