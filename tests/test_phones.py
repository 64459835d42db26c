"""Phone and email keys for matching people."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncsvc.contacts.phones import default_region, normalize_email, normalize_phone


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("+49 170 1234567", "DE", "+491701234567"),
        ("0170 1234567", "DE", "+491701234567"),
        ("0170/123 45 67", "de", "+491701234567"),
        ("+49 170 1234567", None, "+491701234567"),
        ("0049 170 1234567", None, "+491701234567"),
        ("(650) 555-1212", "US", "+16505551212"),
        ("+1 650-555-1212", "DE", "+16505551212"),
        ("tel:+1-650-555-1212", None, "+16505551212"),
    ],
)
def test_e164_when_parseable(raw: str, region: str | None, expected: str) -> None:
    assert normalize_phone(raw, region) == expected


def test_same_person_same_key() -> None:
    assert normalize_phone("+49 170 1234567", "DE") == normalize_phone("0170 1234567", "DE")


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("0170 1234567", None, "01701234567"),  # no region: cannot know the country
        ("+1 (555) 12", None, "+155512"),  # too short to be possible
        ("12", "US", "12"),
        ("mobile", "DE", ""),  # nothing to match on
        ("", None, ""),
        ("0170 1234567", "XX", "01701234567"),  # unknown region
    ],
)
def test_fallback_key_is_digits(raw: str, region: str | None, expected: str) -> None:
    assert normalize_phone(raw, region) == expected


@given(st.text(max_size=300), st.sampled_from([None, "DE", "US", "JP", "XX", "", "de"]))
def test_never_raises(raw: str, region: str | None) -> None:
    key = normalize_phone(raw, region)
    assert isinstance(key, str)
    assert key == "" or key.lstrip("+").isdigit()


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({"LANG": "de_DE.UTF-8"}, "DE"),
        ({"LANG": "en_US"}, "US"),
        ({"LANG": "C.UTF-8"}, None),
        ({"LANG": "de_DE.UTF-8", "LC_ALL": "fr_FR.UTF-8"}, "FR"),
        ({"LANG": "de_DE.UTF-8", "LC_ALL": "C"}, None),
        ({"LANG": "de_DE.UTF-8", "LC_TELEPHONE": "en_GB.UTF-8"}, "GB"),
        ({"LANG": "sr_RS@latin"}, "RS"),
        ({}, None),
    ],
)
def test_default_region(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], expected: str | None
) -> None:
    for var in ("LC_ALL", "LC_TELEPHONE", "LANG"):
        monkeypatch.delenv(var, raising=False)
    for var, value in env.items():
        monkeypatch.setenv(var, value)
    assert default_region() == expected


def test_normalize_email() -> None:
    assert normalize_email("  Jane.Roe@Example.ORG ") == "jane.roe@example.org"
