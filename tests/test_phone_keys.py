"""phonenumberslite (the core's choice, issue 17) gives the same matching keys as the full
phonenumbers library: two people merge by phone exactly as before the switch.

``data/phone_keys_full_library.json`` holds the keys the full library (with its geocoding and
carrier data) gave for every phone in the shared vCard corpus and the phone-like strings of the
tests, in nine regions. Regenerate it with the full library installed if the corpus grows.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from syncsvc.contacts.phones import normalize_phone
from syncsvc.contacts.vcard import Card, read_cards

GOLDEN = Path(__file__).parent / "data" / "phone_keys_full_library.json"
CORPUS = Path(os.environ.get("SYNCSVC_VCARD_CORPUS", "/work/shared/corpus/vcard"))


def golden_keys() -> dict[str, str]:
    keys: dict[str, str] = json.loads(GOLDEN.read_text(encoding="utf-8"))["keys"]
    return keys


def test_the_installed_library_gives_the_full_librarys_keys() -> None:
    keys = golden_keys()
    assert len(keys) > 1000
    different = {}
    for entry, expected in keys.items():
        raw, _, region = entry.rpartition("|")
        got = normalize_phone(raw, None if region == "None" else region)
        if got != expected:
            different[entry] = (got, expected)
    assert different == {}


@pytest.mark.skipif(not CORPUS.is_dir(), reason=f"no vCard corpus at {CORPUS}")
def test_every_phone_of_the_corpus_is_in_the_comparison() -> None:
    phones = {
        phone
        for path in sorted(CORPUS.glob("*.vcf"))
        for card in read_cards(path)
        if isinstance(card, Card)
        for phone in card.phones
    }
    assert phones, "the corpus has phones"
    compared = {entry.rpartition("|")[0] for entry in golden_keys()}
    assert phones <= compared, f"regenerate {GOLDEN.name}: {sorted(phones - compared)[:5]}"
