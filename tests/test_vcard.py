"""vCard import: the real-world corpus, hand-made broken files, and a round-trip property."""

from __future__ import annotations

import base64
import io
import itertools
import re
import time
import tracemalloc
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncsvc.contacts import vcard
from syncsvc.contacts.vcard import Card, Skipped, read_cards, vcard_files
from syncsvc.errors import InputError

CORPUS = Path(__file__).parents[2] / "shared" / "corpus" / "vcard"
NO_CORPUS = f"vCard corpus not found at {CORPUS} (it lives beside the checkout in ../shared)"
CORPUS_FILES = sorted(CORPUS.glob("*.vcf")) if CORPUS.is_dir() else []
EXPECTED_SKIPS = {
    ("aosp__android-custom-no-version.vcf", 1, 1, vcard.NO_NAME),
    ("sabre-vobject__2.1-photo-only-no-name.vcf", 1, 1, vcard.NO_NAME),
    ("khard__4.0-truncated-no-end.vcf", 1, 1, vcard.TRUNCATED),
}


def corpus_file(name: str) -> Path:
    path = CORPUS / name
    if not path.is_file():
        pytest.skip(NO_CORPUS)
    return path


def read(path: Path) -> tuple[list[Card], list[Skipped]]:
    items = list(read_cards(path))
    return [i for i in items if isinstance(i, Card)], [i for i in items if isinstance(i, Skipped)]


def only_card(name: str) -> Card:
    cards, skipped = read(corpus_file(name))
    assert len(cards) == 1
    assert skipped == []
    return cards[0]


def write(path: Path, text: str | bytes, newline: str = "\r\n") -> Path:
    data = text if isinstance(text, bytes) else text.replace("\n", newline).encode("utf-8")
    path.write_bytes(data)
    return path


# --------------------------------------------------------------------------------------------
# The corpus: every file


@pytest.mark.parametrize(
    "path",
    CORPUS_FILES or [pytest.param(None, marks=pytest.mark.skip(reason=NO_CORPUS))],
    ids=lambda p: p.name if p else "no-corpus",
)
def test_every_corpus_file_reads(path: Path) -> None:
    assert vcard_files([path]) == [path]
    items = list(read_cards(path))
    assert items, "every corpus file has at least one card"
    assert [i.card_no if isinstance(i, Card) else i.card for i in items] == list(
        range(1, len(items) + 1)
    )
    lines = [i.line for i in items]
    assert lines == sorted(lines) and len(set(lines)) == len(lines)
    for item in items:
        assert item.source == str(path)
        if isinstance(item, Skipped):
            assert item.reason.strip()
        else:
            assert item.name.strip() == item.name and item.name
            assert not re.search(r"[\x00-\x1f]", item.name)
            assert all(e and e == e.strip() for e in item.emails)
            assert all(p and p == p.strip() for p in item.phones)


def test_corpus_folder_expands_to_all_files() -> None:
    if not CORPUS_FILES:
        pytest.skip(NO_CORPUS)
    assert vcard_files([CORPUS]) == CORPUS_FILES
    assert len(CORPUS_FILES) == 56


def test_corpus_skips_only_the_unusable_cards() -> None:
    if not CORPUS_FILES:
        pytest.skip(NO_CORPUS)
    skips = {
        (Path(s.source).name, s.card, s.line, s.reason)
        for path in CORPUS_FILES
        for s in read(path)[1]
    }
    assert skips == EXPECTED_SKIPS


@pytest.mark.parametrize(
    "path",
    CORPUS_FILES or [pytest.param(None, marks=pytest.mark.skip(reason=NO_CORPUS))],
    ids=lambda p: p.name if p else "no-corpus",
)
def test_fallback_parser_agrees_with_vobject(path: Path) -> None:
    """The vobject engine's own fallback (used when vobject raises on a card) reads every
    corpus card as vobject does. The vobject engine, explicitly: the default fast engine
    never calls vobject, so patching vobject under it would compare it with itself."""
    with_vobject = list(read_cards(path, engine="vobject"))
    with mock.patch.object(vcard.vobject, "readOne", side_effect=RuntimeError("boom")) as read_one:
        without = list(read_cards(path, engine="vobject"))
    if any(isinstance(i, Card) for i in with_vobject):
        assert read_one.called, "the fallback was never exercised"
    assert without == with_vobject


# --------------------------------------------------------------------------------------------
# The corpus: exporters


def test_apple_ios_item_groups_and_cr_cr_lf() -> None:
    card = only_card("aosp__ios613-3.0-photo-crcrlf.vcf")
    assert card.name == "Bob Smith"
    assert card.emails == ["bob@smithauto.com"]  # item1.EMAIL
    assert card.phones == ["(650) 555-1212"]
    assert card.org == "Smith Auto Repair"

    card = only_card("ezvcard__iphone-ios5-3.0-photo-crcrlf.vcf")
    assert card.name == "Mr. John Richter James Doe Sr."
    assert card.emails == ["john.doe@ibm.com"]
    assert card.phones[0] == "905-555-1234"
    assert card.phones[-1] == "905-222-1234"  # item2.TEL
    assert len(card.phones) == 7
    assert (card.org, card.title) == ("IBM, Accounting", "Money Counter")


def test_outlook_2003_qp_soft_break_inside_an_escape() -> None:
    card = only_card("ezvcard__outlook-2003-2.1-qp-softbreak-key.vcf")
    assert card.name == "John Doe III"
    assert card.emails == ["jdoe@hotmail.com"]
    assert card.org == "Company, The, TheDepartment"
    assert card.note == "This is the note field!!\nSecond line\n\nThird line is empty"


def test_outlook_2_1_qp_photo_with_blank_line() -> None:
    card = only_card("ezvcard__outlook-2.1-qp-photo.vcf")
    assert card.name == "Mr. John Richter James Doe Sr."
    assert card.emails == ["john.doe@ibm.cm"]
    assert card.phones == ["(905) 555-1234", "(905) 666-1234"]


def test_xing_2_1_iso_8859_1_charset() -> None:
    card = only_card("node-vcf__xing-2.1-iso8859-charset.vcf")
    assert card.name == "Hans-Peter Mustermann"
    assert card.org == "Example GmbH"
    assert card.title == "CTO"
    assert card.uid == "XING-UID-XXXXXXXX"
    assert card.categories == ["Consulting"]
    assert card.note == (
        "17.02.2016, 19:18 - XING - http://www.xing.com/profile/Hans-Peter-Mustermann"
    )


def test_shift_jis_raw_bytes_and_qp() -> None:
    card = only_card("aosp__2.1-shiftjis-qp-japanese.vcf")
    assert card.name == "安藤 ロイド 1"
    assert card.note == "メモ"  # CHARSET=SHIFT_JIS;ENCODING=QUOTED-PRINTABLE

    cards, skipped = read(corpus_file("aosp__2.1-shiftjis-multi-blank-lines.vcf"))
    assert skipped == []
    assert [c.name for c in cards] == ["安藤ロイド3", "安藤ロイド4", "安藤ロイド5"]  # N only
    assert cards[0].phones == ["9", "10", "11", "12"]
    assert [c.line for c in cards] == [1, 12, 23]


def test_utf8_qp_chinese_with_param_order_varied() -> None:
    card = only_card("eds__2.1-qp-utf8-chinese.vcf")
    assert card.name == "十城目管理大型知座"
    assert card.org == "十城目管理大型知座"
    assert card.emails == ["weird@weird.com"]


def test_android_qp_cards_without_names() -> None:
    cards, skipped = read(corpus_file("ezvcard__android-2.1-qp-utf8-multi.vcf"))
    assert skipped == []
    assert [c.name for c in cards[:3]] == [
        "john.doe@company.com",
        "jane.doe@company.com",
        "Ñ Ñ Ñ Ñ Ñ",
    ]
    assert cards[4].emails[0] == "bob@company.com"
    assert cards[5].phones == ["55556666"]


def test_gmail_export() -> None:
    card = only_card("syncevolution__gmail-export-3.0.vcf")
    assert card.name == "Mr. John 1 Doe Sr."
    assert card.emails == ["john.doe@home.com", "doe@work.com", "john@custom.com"]
    assert card.org == "at company"
    assert card.title == "tester"

    card = only_card("ezvcard__gmail-3.0-ablabel.vcf")
    assert card.name == "Mr. John Richter, James Doe Sr."  # unescaped comma in FN kept
    assert card.note is not None and 'CONTRIBUTORS "AS IS"' in card.note  # \" unescaped


def test_google_takeout_cards_named_after_their_email() -> None:
    cards, skipped = read(corpus_file("audriga__google-takeout-3.0-multi-empty-ablabel.vcf"))
    assert skipped == []
    assert len(cards) == 9
    assert cards[0].name == "audriga.test@mailbox.org"
    assert cards[0].emails == ["audriga.test@mailbox.org"]
    assert cards[3].name == "firstName lastName"
    assert cards[3].phones == ["17911111111"]
    assert cards[3].categories == ["myContacts"]
    assert [c.line for c in cards[:3]] == [1, 6, 11]


def test_vcard_4_tel_uri() -> None:
    cards, _ = read(corpus_file("node-vcf__mixed-versions-multi.vcf"))
    assert [c.phones for c in cards] == [
        ["+49-221-9999123", "+49-221-1234567"],  # 4.0 TEL;VALUE=uri:tel:...
        ["(0221) 9999123", "(0221) 1234567"],
        ["+49 221 9999123", "+49 221 1234567"],
    ]
    assert {c.name for c in cards} == {"Dr. Erika Mustermann"}


def test_vcard_4_exporters() -> None:
    assert only_card("khard__4.0-korean-hangul-lf.vcf").name == "최유림"
    card = only_card("ezvcard__4.0-adr-label-param-escaping.vcf")
    assert card.name == "Dummy, Dummy"
    assert card.phones == ["+49 1234 56789", "+49 9876 54321"]
    card = only_card("aosp__4.0-sort-as-japanese.vcf")
    assert card.name == "安藤 ロイド"
    assert card.org == "グーグル, 検索部門"


def test_truncated_khard_card_is_skipped() -> None:
    cards, skipped = read(corpus_file("khard__4.0-truncated-no-end.vcf"))
    assert cards == []
    assert [(s.card, s.line) for s in skipped] == [(1, 1)]
    assert skipped[0].reason.startswith("truncated")


def test_roundcube_garbage_line_card_imported() -> None:
    card = only_card("audriga__roundcube-3.0-garbage-line.vcf")
    assert card.name == "testemailaddress@example.com"
    assert card.emails == ["testemailaddress@example.com", "miscmail@miscmail.com"]
    assert card.phones == ["555123789", "0123 456 789", "00 98765", "00 111 222 333"]
    assert (card.org, card.title) == ("Test Inc.", "Software Engineer")


def test_malformed_files_from_other_parsers_test_suites() -> None:
    assert only_card("aosp__2.1-invalid-comment-lines.vcf").note == (
        "This is an (sharp ->#<- sharp) example. This message must NOT be ignored."
    )
    assert only_card("aosp__2.1-invalid-unfolded-continuation.vcf").emails == ["omega@example.com"]
    assert only_card("aosp__2.1-malformed-photo-base64.vcf").name == "fullname"
    assert only_card("radicale__3.0-photo-encoding-b-with-data-uri.vcf").name == "Contact"
    assert only_card("eds__3.0-invalid-empty-params.vcf").name == "Invalid AttributeParam"
    assert only_card("ezvcard__lotus-notes-3.0.vcf").emails == [
        "john.doe@ibm.com",
        "billy_bob@gmail.com",
    ]
    card = only_card("eds__3.0-evil-folding-qp.vcf")
    assert card.emails == ["Frank_Dawson@Lotus.com", "semicolon;@points.net"]
    assert card.phones == ["+1-919-676-9515", "+1-919-676-9564"]


def test_nested_card_does_not_break_the_outer_one() -> None:
    card = only_card("aosp__2.1-nested-vcard.vcf")
    assert card.name == "parent"
    assert card.phones == ["1"]


@pytest.mark.parametrize(
    "name",
    ["l0b0-vcard__3.0-cr-only-line-endings.vcf", "l0b0-vcard__3.0-mixed-line-endings.vcf"],
)
def test_old_mac_and_mixed_line_endings(name: str) -> None:
    assert only_card(name).name == "John Doe"


def test_davx5_named_groups_and_charset_in_3_0() -> None:
    card = only_card("davx5__3.0-allfields-groups-charset.vcf")
    assert card.name == "Ämi Display"
    assert card.emails == ["private@example.com", "work@example.com"]  # workEmail.EMAIL
    assert card.phones == ["+49 1234 56788", "+1-800-MYFAX"]
    assert card.org == "ABC, Inc., North American Division, Marketing"
    assert card.note == "This fax number is operational 0800 to 1715 EST, Mon-Fri.\nSecond note"


def test_evolution_edge_cases_line_numbers_and_escapes() -> None:
    cards, skipped = read(corpus_file("syncevolution__evolution-3.0-multi-edgecases.vcf"))
    assert skipped == []
    assert len(cards) == 17
    assert (cards[1].name, cards[1].line, cards[1].emails) == ("incomplete", 11, [])
    assert cards[8].name == "Umlaut Ä Ö Ü ß"
    assert cards[14].name == "Mr. First ; special ; middle Last"


# --------------------------------------------------------------------------------------------
# vcard_files: bad input is refused up front


@pytest.mark.parametrize(
    ("filename", "content", "words"),
    [
        ("garbage.vcf", b"hello\nthis is not a contact\n", "no BEGIN:VCARD"),
        ("empty.vcf", b"", "empty"),
        ("binary.vcf", bytes(range(256)) * 64, "binary"),
        ("notes.txt", b"BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "no BEGIN:VCARD"),
    ],
)
def test_not_vcard_files_are_refused(
    tmp_path: Path, filename: str, content: bytes, words: str
) -> None:
    path = tmp_path / filename
    path.write_bytes(content)
    with pytest.raises(InputError) as err:
        vcard_files([path])
    message = str(err.value)
    assert str(path) in message and words in message
    assert "\n" not in message


def test_missing_path_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file") as err:
        vcard_files([tmp_path / "nope.vcf"])
    assert str(tmp_path / "nope.vcf") in str(err.value)


def test_folder_without_vcf_is_refused(tmp_path: Path) -> None:
    (tmp_path / "readme.txt").write_text("BEGIN:VCARD\n")
    with pytest.raises(InputError, match=r"no \.vcf files") as err:
        vcard_files([tmp_path])
    assert str(tmp_path) in str(err.value)


def test_every_path_is_checked_before_returning(tmp_path: Path) -> None:
    good = write(tmp_path / "good.vcf", "BEGIN:VCARD\nFN:A\nEND:VCARD\n")
    bad = write(tmp_path / "bad.vcf", "nothing here\n")
    with pytest.raises(InputError, match=r"bad\.vcf"):
        vcard_files([good, bad])


def test_folders_expand_recursively_sorted(tmp_path: Path) -> None:
    card = "BEGIN:VCARD\nFN:A\nEND:VCARD\n"
    (tmp_path / "contacts" / "work").mkdir(parents=True)
    b = write(tmp_path / "contacts" / "b.vcf", card)
    a = write(tmp_path / "contacts" / "work" / "A.VCF", card)
    write(tmp_path / "contacts" / "._b.vcf", b"\x00\x05\x16\x07 AppleDouble")  # macOS junk
    write(tmp_path / "contacts" / "notes.txt", "x")
    assert vcard_files([tmp_path / "contacts", b]) == [b, a]


def test_utf16_file_is_read(tmp_path: Path) -> None:
    text = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Jürgen\r\nEMAIL:j@example.org\r\nEND:VCARD\r\n"
    path = write(tmp_path / "u16.vcf", text.encode("utf-16"))
    assert vcard_files([path]) == [path]
    cards, _ = read(path)
    assert [(c.name, c.emails) for c in cards] == [("Jürgen", ["j@example.org"])]


# --------------------------------------------------------------------------------------------
# read_cards: hand-made cards


def test_big_photo_does_not_matter(tmp_path: Path) -> None:
    photo = base64.b64encode(bytes(range(256)) * (3 * 4096)).decode()  # 4 MB of base64
    folded = "\n ".join(photo[i : i + 74] for i in range(0, len(photo), 74))
    text = (
        "BEGIN:VCARD\nVERSION:3.0\nFN:Big Photo\n"
        f"PHOTO;ENCODING=b;TYPE=JPEG:{folded}\nEMAIL:big@example.org\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:2.1\nN:Photo;Unfolded\n"
        f"PHOTO;ENCODING=BASE64;TYPE=JPEG:{photo}\n\nTEL:+49 170 1234567\nEND:VCARD\n"
    )
    path = write(tmp_path / "photo.vcf", text)
    assert len(photo) > 4_000_000
    started = time.monotonic()
    cards, skipped = read(path)
    assert time.monotonic() - started < 10
    assert skipped == []
    assert [(c.name, c.emails, c.phones) for c in cards] == [
        ("Big Photo", ["big@example.org"], []),
        ("Unfolded Photo", [], ["+49 170 1234567"]),
    ]


def test_file_is_streamed_not_loaded(tmp_path: Path) -> None:
    card = "BEGIN:VCARD\nVERSION:3.0\nFN:Person {n}\nEMAIL:p{n}@example.org\nEND:VCARD\n"
    photo = "PHOTO;ENCODING=b:" + "\n ".join(["QUJD" * 18] * 40_000) + "\n"  # 3 MB folded
    text = "".join(card.format(n=n).replace("END:VCARD", photo + "END:VCARD") for n in range(4))
    path = write(tmp_path / "many.vcf", text)
    assert path.stat().st_size > 10_000_000
    tracemalloc.start()
    try:
        names = [c.name for c in read_cards(path) if isinstance(c, Card)]
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert names == [f"Person {n}" for n in range(4)]
    assert peak < 2_000_000


MIDDLE_BROKEN = {
    "truncated": (b"BEGIN:VCARD\nVERSION:3.0\nFN:Broken\nEMAIL:b@example.org\n", "truncated"),
    "nameless": (b"BEGIN:VCARD\nVERSION:3.0\nNOTE:who?\nEND:VCARD\n", "no name"),
    "undecodable": (
        b"BEGIN:VCARD\nVERSION:2.1\nFN:\x81\x8d\x8f\x90\x00\x01\nEND:VCARD\n",
        "undecodable text (not UTF-8 and no CHARSET) in FN on line 8",
    ),
}


@pytest.mark.parametrize("kind", sorted(MIDDLE_BROKEN))
def test_broken_middle_card_costs_only_that_card(tmp_path: Path, kind: str) -> None:
    middle, reason = MIDDLE_BROKEN[kind]
    text = (
        b"BEGIN:VCARD\nVERSION:3.0\nFN:First\nEMAIL:first@example.org\nEND:VCARD\n"
        + middle
        + b"BEGIN:VCARD\nVERSION:3.0\nFN:Third\nTEL:+1 212 555 0100\nEND:VCARD\n"
    )
    path = write(tmp_path / "three.vcf", text)
    assert vcard_files([path]) == [path]
    items = list(read_cards(path))
    assert [type(i) for i in items] == [Card, Skipped, Card]
    first, skipped, third = items
    assert isinstance(first, Card) and isinstance(third, Card) and isinstance(skipped, Skipped)
    assert (first.name, first.card_no, first.line) == ("First", 1, 1)
    assert (skipped.card, skipped.line, skipped.source) == (2, 6, str(path))
    assert reason in skipped.reason
    assert (third.name, third.card_no, third.phones) == ("Third", 3, ["+1 212 555 0100"])


def test_raw_latin1_and_windows_1252_qp(tmp_path: Path) -> None:
    text = (
        b"BEGIN:VCARD\r\nVERSION:2.1\r\nFN:J\xfcrgen M\xfcller\r\nEND:VCARD\r\n"
        b"BEGIN:VCARD\r\nVERSION:2.1\r\n"
        b"N;CHARSET=windows-1252;ENCODING=QUOTED-PRINTABLE:M=FCller;J=FCrgen=\r\n"
        b" \x80;;;\r\nEND:VCARD\r\n"
    )
    cards, _ = read(write(tmp_path / "latin.vcf", text))
    assert [c.name for c in cards] == ["Jürgen Müller", "Jürgen € Müller"]


def test_bom_blank_lines_cr_cr_lf_and_no_final_newline(tmp_path: Path) -> None:
    text = b"\xef\xbb\xbfBEGIN:VCARD\r\r\nVERSION:3.0\r\r\n\r\r\nFN:Bom\r\r\n\r\r\nEND:VCARD"
    cards, skipped = read(write(tmp_path / "bom.vcf", text))
    assert ([c.name for c in cards], skipped) == (["Bom"], [])


def test_values_cleaned(tmp_path: Path) -> None:
    text = (
        "BEGIN:VCARD\nVERSION:4.0\nN:Roe;Jane;;;\n"
        "EMAIL: mailto:Jane@Example.org \nitem1.EMAIL:jane@example.ORG\nEMAIL:\n"
        "TEL;VALUE=uri;TYPE=cell:tel:+1-555-555-0100;ext=12\nTEL: \n"
        "ORG:;ACME\\, Inc.;;Sales\nCATEGORIES:a,b\\,c\nTITLE:Boss\\nof all\nEND:VCARD\n"
    )
    cards, _ = read(write(tmp_path / "clean.vcf", text))
    card = cards[0]
    assert card.name == "Jane Roe"
    assert card.emails == ["Jane@Example.org"]
    assert card.phones == ["+1-555-555-0100 ext. 12"]
    assert card.org == "ACME, Inc., Sales"
    assert card.categories == ["a", "b,c"]
    assert card.title == "Boss\nof all"


def test_name_fallbacks(tmp_path: Path) -> None:
    text = (
        "BEGIN:VCARD\nN:Doe;John;;;\nEND:VCARD\n"
        "BEGIN:VCARD\nN:山田;太郎;;;\nEND:VCARD\n"
        "BEGIN:VCARD\nORG:ACME;Sales\nEND:VCARD\n"
        "BEGIN:VCARD\nTEL:+1 555 0100\nEND:VCARD\n"
        "BEGIN:VCARD\nFN: \nN:;;;;\nEND:VCARD\n"
    )
    items = list(read_cards(write(tmp_path / "names.vcf", text)))
    assert [i.name if isinstance(i, Card) else i.reason for i in items] == [
        "John Doe",
        "山田太郎",
        "ACME, Sales",
        "+1 555 0100",
        vcard.NO_NAME,
    ]


def test_truncated_card_before_the_next_one(tmp_path: Path) -> None:
    text = (
        "BEGIN:VCARD\nFN:Cut off\nEMAIL:cut@example.org\n"
        "BEGIN:VCARD\nFN:Two\nEND:VCARD\n"
        "BEGIN:VCARD\nFN:Three\nEND:VCARD\n"
    )
    items = list(read_cards(write(tmp_path / "cut.vcf", text)))
    assert [(type(i).__name__, i.line) for i in items] == [
        ("Skipped", 1),
        ("Card", 4),
        ("Card", 7),
    ]
    assert [i.card_no for i in items if isinstance(i, Card)] == [2, 3]


def test_vobject_failure_falls_back(tmp_path: Path) -> None:
    text = "BEGIN:VCARD\nN:Roe;Jane\\;Ann;;;\nEMAIL:jane@example.org\nORG:A\\, B;C\nEND:VCARD\n"
    path = write(tmp_path / "fallback.vcf", text)
    with mock.patch.object(
        vcard.vobject, "readOne", side_effect=ValueError("vobject bug")
    ) as read_one:
        items = list(read_cards(path, engine="vobject"))
    assert read_one.call_count == 1  # vobject was asked, failed, and the fallback answered
    cards = [i for i in items if isinstance(i, Card)]
    assert [(c.name, c.emails, c.org) for c in cards] == [
        ("Jane;Ann Roe", ["jane@example.org"], "A, B, C")
    ]


# --------------------------------------------------------------------------------------------
# Line splitting: chunk boundaries never change the lines


@given(st.text(alphabet="ab\r\n", max_size=60), st.integers(min_value=1, max_value=7))
def test_line_splitting_ignores_chunk_boundaries(text: str, chunk: int) -> None:
    data = text.encode()
    expected = re.split(rb"\r?\r\n|\n|\r", data)
    if expected and expected[-1] == b"":
        expected.pop()
    with mock.patch.object(vcard, "CHUNK_SIZE", chunk):
        assert list(vcard._iter_lines(io.BytesIO(data))) == expected


# --------------------------------------------------------------------------------------------
# Round trip: generated cards written as 3.0 and as 2.1 QUOTED-PRINTABLE

NAMES = (
    st.text(
        alphabet=st.characters(blacklist_categories=("Cc", "Cs", "Zl", "Zp")),
        min_size=1,
        max_size=40,
    )
    .map(str.strip)
    .filter(bool)
)
EMAILS = st.lists(st.emails(), max_size=3, unique_by=str.casefold)
PHONES = st.lists(st.from_regex(r"\A\+?[0-9][0-9 ()./-]{2,18}[0-9]\Z"), max_size=3, unique=True)
NEWLINES = st.sampled_from(["\r\n", "\n", "\r", "\r\r\n"])


def escape_30(text: str) -> str:
    return text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;")


def fold_30(line: str) -> list[str]:
    """Fold at 75 octets without splitting a UTF-8 sequence."""
    lines: list[str] = []
    current, size = "", 0
    for char in line:
        width = len(char.encode())
        if size + width > (75 if not lines else 74):
            lines.append(current)
            current, size = "", 0
        current += char
        size += width
    segments = [*lines, current]
    return [segments[0], *(" " + rest for rest in segments[1:])]


def as_30(name: str, emails: list[str], phones: list[str]) -> list[str]:
    props = [f"FN:{escape_30(name)}", f"N:{escape_30(name)};;;;"]
    props += [f"EMAIL;TYPE=INTERNET:{escape_30(e)}" for e in emails]
    props += [f"item{i}.TEL;TYPE=CELL:{escape_30(p)}" for i, p in enumerate(phones)]
    props.append("PHOTO;ENCODING=b;TYPE=JPEG:" + "QUJD" * 40)
    lines = ["BEGIN:VCARD", "VERSION:3.0"]
    for prop in props:
        lines += fold_30(prop)
    return [*lines, "END:VCARD"]


def qp_encode(text: str) -> list[str]:
    """QUOTED-PRINTABLE pieces of at most 75 characters, to be joined with '=' soft breaks."""
    tokens = [chr(b) if 33 <= b <= 126 and b != 61 else f"={b:02X}" for b in text.encode()]
    pieces: list[str] = []
    current = ""
    for token in tokens:
        if len(current) + len(token) > 70:
            pieces.append(current)
            current = ""
        current += token
    return [*pieces, current]


def as_21_qp(name: str, emails: list[str], phones: list[str]) -> list[str]:
    escaped = name.replace("\\", "\\\\").replace(";", "\\;")
    pieces = qp_encode(escaped)
    lines = ["BEGIN:VCARD", "VERSION:2.1"]
    lines += [
        ("FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:" if i == 0 else "") + piece + "="
        for i, piece in enumerate(pieces[:-1])
    ]
    head = "FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:" if len(pieces) == 1 else ""
    lines.append(head + pieces[-1])
    lines += [f"EMAIL;PREF;INTERNET:{e}" for e in emails]
    lines += [f"TEL;CELL;VOICE:{p}" for p in phones]
    lines += ["PHOTO;ENCODING=BASE64;TYPE=JPEG:" + "QUJD" * 30, "    QUJD", ""]
    return [*lines, "END:VCARD"]


@settings(max_examples=150, deadline=None)
@given(
    name=NAMES,
    emails=EMAILS,
    phones=PHONES.map(lambda ps: [p.strip() for p in ps]),
    style=st.sampled_from(["3.0", "2.1-qp"]),
    newline=NEWLINES,
    bom=st.booleans(),
)
def test_generated_cards_round_trip(
    tmp_path_factory: pytest.TempPathFactory,
    name: str,
    emails: list[str],
    phones: list[str],
    style: str,
    newline: str,
    bom: bool,
) -> None:
    lines = (as_30 if style == "3.0" else as_21_qp)(name, emails, phones)
    data = ("\ufeff" if bom else "") + newline.join(lines) + newline
    path = tmp_path_factory.mktemp("rt") / "card.vcf"
    path.write_bytes(data.encode("utf-8"))
    assert vcard_files([path]) == [path]
    items = list(read_cards(path))
    assert len(items) == 1
    card = items[0]
    assert isinstance(card, Card), card
    assert (card.name, card.emails, card.phones) == (name, emails, phones)


def test_line_splitting_exhaustive_small_inputs() -> None:
    for size in range(7):
        for combo in itertools.product(b"a\r\n", repeat=size):
            data = bytes(combo)
            expected = re.split(rb"\r?\r\n|\n|\r", data)
            if expected and expected[-1] == b"":
                expected.pop()
            for chunk in (1, 2, 3):
                with mock.patch.object(vcard, "CHUNK_SIZE", chunk):
                    assert list(vcard._iter_lines(io.BytesIO(data))) == expected, (data, chunk)


def test_many_unended_cards_stay_linear(tmp_path: Path) -> None:
    path = write(tmp_path / "begins.vcf", "BEGIN:VCARD\nFN:x\n" * 20_000)
    started = time.monotonic()
    items = list(read_cards(path))
    assert time.monotonic() - started < 5
    assert len(items) == 20_000
    assert all(isinstance(i, Skipped) and i.reason == vcard.TRUNCATED for i in items)
