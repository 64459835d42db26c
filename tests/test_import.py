"""Importing into the store: merging duplicates, idempotence, and bad input changing nothing."""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path

import pytest

from syncsvc.app import App, PersonInput
from syncsvc.errors import InputError
from syncsvc.store import people as people_db


def vcf(tmp_path: Path, name: str, *cards: str) -> Path:
    path = tmp_path / name
    body = "".join(
        f"BEGIN:VCARD\r\nVERSION:3.0\r\n{card.strip()}\r\nEND:VCARD\r\n" for card in cards
    )
    path.write_text(body.replace("\n", "\r\n").replace("\r\r\n", "\r\n"), encoding="utf-8")
    return path


@pytest.fixture
def app_de(make_app: Callable[..., App]) -> App:
    return make_app(calls={"region": "DE"})


def everyone(app: App) -> list[people_db.Person]:
    return list(people_db.iter_people(app.store.conn))


def test_reimport_adds_nobody(app_de: App, tmp_path: Path) -> None:
    path = vcf(tmp_path, "a.vcf", "FN:Ann Example\nEMAIL:ann@example.org", "FN:Bo\nTEL:+4917012")
    first = app_de.import_vcards([path])
    again = app_de.import_vcards([path])
    assert (first.added, first.updated, first.unchanged) == (2, 0, 0)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 2)
    assert len(everyone(app_de)) == 2


def test_merge_by_email_case_insensitive(app_de: App, tmp_path: Path) -> None:
    app_de.import_vcards([vcf(tmp_path, "a.vcf", "FN:Ann Example\nEMAIL:Ann@Example.org")])
    result = app_de.import_vcards(
        [vcf(tmp_path, "b.vcf", "FN:Ann E.\nEMAIL:ann@example.ORG\nTEL:+1 212 555 0100")]
    )
    assert (result.added, result.updated) == (0, 1)
    (ann,) = everyone(app_de)
    assert ann.name == "Ann Example"
    assert [p for p, _ in ann.phones] == ["+1 212 555 0100"]


def test_merge_by_phone_in_different_formats(app_de: App, tmp_path: Path) -> None:
    app_de.import_vcards([vcf(tmp_path, "a.vcf", "FN:Jonas Weber\nTEL:+49 170 1234567")])
    result = app_de.import_vcards(
        [vcf(tmp_path, "b.vcf", "FN:Jonas W.\nTEL;TYPE=CELL:0170 1234567\nEMAIL:jw@example.de")]
    )
    assert (result.added, result.updated) == (0, 1)
    (jonas,) = everyone(app_de)
    assert jonas.emails == ["jw@example.de"]
    assert {norm for _, norm in jonas.phones} == {"+491701234567"}


def test_merge_by_uid(app_de: App, tmp_path: Path) -> None:
    app_de.import_vcards([vcf(tmp_path, "a.vcf", "FN:Kai\nUID:abc-123\nEMAIL:kai@old.example")])
    result = app_de.import_vcards(
        [vcf(tmp_path, "b.vcf", "FN:Kai\nUID:abc-123\nEMAIL:kai@new.example\nORG:NewCo")]
    )
    assert (result.added, result.updated) == (0, 1)
    (kai,) = everyone(app_de)
    assert sorted(kai.emails) == ["kai@new.example", "kai@old.example"]
    assert kai.org == "NewCo"


def test_same_name_without_shared_address_is_two_people(app_de: App, tmp_path: Path) -> None:
    app_de.import_vcards(
        [
            vcf(
                tmp_path,
                "a.vcf",
                "FN:Alex Kim\nEMAIL:alex@a.example",
                "FN:Alex Kim\nTEL:+1 555 0101",
            )
        ]
    )
    assert len(everyone(app_de)) == 2
    (group,) = app_de.duplicates()
    assert [p.name for p in group] == ["Alex Kim", "Alex Kim"]
    app_de.merge(str(group[0].id), str(group[1].id))
    (alex,) = everyone(app_de)
    assert alex.emails == ["alex@a.example"] and len(alex.phones) == 1


def test_an_import_never_deletes_anyone(app_de: App, tmp_path: Path) -> None:
    app_de.add_person(PersonInput(name="By Hand", emails=["hand@example.org"]))
    app_de.import_vcards([vcf(tmp_path, "a.vcf", "FN:Ann\nEMAIL:ann@example.org")])
    app_de.import_vcards([vcf(tmp_path, "a.vcf", "FN:Other\nEMAIL:other@example.org")])
    assert sorted(p.name for p in everyone(app_de)) == ["Ann", "By Hand", "Other"]


def test_name_fallbacks_for_cards_without_fn(app_de: App, tmp_path: Path) -> None:
    path = vcf(
        tmp_path,
        "a.vcf",
        "N:Doe;Jane;;;",
        "ORG:Acme Corp",
        "EMAIL:only@example.org",
        "TEL:+1 555 0199",
    )
    result = app_de.import_vcards([path])
    assert result.added == 4
    names = sorted(p.name for p in everyone(app_de))
    assert names == ["+1 555 0199", "Acme Corp", "Jane Doe", "only@example.org"]


def test_a_later_card_gives_a_stand_in_name_a_real_one(app_de: App, tmp_path: Path) -> None:
    app_de.import_vcards([vcf(tmp_path, "a.vcf", "EMAIL:lee@example.org")])
    app_de.import_vcards([vcf(tmp_path, "b.vcf", "FN:Lee Chen\nEMAIL:lee@example.org")])
    assert [p.name for p in everyone(app_de)] == ["Lee Chen"]


def test_broken_card_is_skipped_and_the_rest_import(app_de: App, tmp_path: Path) -> None:
    path = tmp_path / "mixed.vcf"
    path.write_text(
        "BEGIN:VCARD\nVERSION:3.0\nFN:First\nEMAIL:first@example.org\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nNOTE:nothing to go on\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\nFN:Third\nEMAIL:third@example.org\nEND:VCARD\n"
    )
    result = app_de.import_vcards([path])
    assert result.added == 2
    (skipped,) = result.skipped
    assert skipped["card"] == 2 and skipped["line"] == 6 and skipped["source"] == str(path)


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00\x01\x02\x03" * 100, b"hello, this is a shopping list\n", b"\xff\xfe\x00garbage"],
)
def test_files_that_are_not_vcard_import_nothing(
    app_de: App, tmp_path: Path, content: bytes
) -> None:
    good = vcf(tmp_path, "good.vcf", "FN:Ann\nEMAIL:ann@example.org")
    bad = tmp_path / "bad.vcf"
    bad.write_bytes(content)
    with pytest.raises(InputError) as err:
        app_de.import_vcards([good, bad])
    assert str(bad) in str(err.value)
    assert "\n" not in str(err.value)
    assert everyone(app_de) == []


def test_missing_path_and_empty_folder(app_de: App, tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"missing\.vcf"):
        app_de.import_vcards([tmp_path / "missing.vcf"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="empty"):
        app_de.import_vcards([empty])


def test_a_folder_of_vcf_files(app_de: App, tmp_path: Path) -> None:
    folder = tmp_path / "contacts"
    folder.mkdir()
    vcf(folder, "one.vcf", "FN:One\nEMAIL:one@example.org")
    vcf(folder, "two.VCF", "FN:Two\nEMAIL:two@example.org")
    (folder / "notes.txt").write_text("not a card")
    result = app_de.import_vcards([folder])
    assert result.added == 2


def test_a_4mb_photo_does_not_matter(app_de: App, tmp_path: Path) -> None:
    photo = base64.b64encode(b"\xff\xd8" + bytes(range(256)) * 16384).decode()
    folded = "\r\n ".join(photo[i : i + 74] for i in range(0, len(photo), 74))
    path = vcf(
        tmp_path,
        "big.vcf",
        f"FN:Pic Ture\nEMAIL:pic@example.org\nPHOTO;ENCODING=b;TYPE=JPEG:{folded}",
    )
    assert path.stat().st_size > 4_000_000
    result = app_de.import_vcards([path])
    assert result.added == 1
    (pic,) = everyone(app_de)
    assert pic.emails == ["pic@example.org"]


@pytest.mark.parametrize("folded", [False, True])
def test_an_over_long_value_is_dropped_and_the_card_kept(
    app_de: App, tmp_path: Path, folded: bool
) -> None:
    from syncsvc.contacts.vcard import CHUNK_SIZE, MAX_LINE

    value = "y" * (2 * MAX_LINE)
    if folded:
        value = "\r\n ".join(value[i : i + 74] for i in range(0, len(value), 74))
    path = vcf(
        tmp_path,
        "long.vcf",
        f"FN:Long Note\nNOTE:{value}\nEMAIL:long@example.org",
        "FN:Next Card\nEMAIL:next@example.org",
    )
    result = app_de.import_vcards([path])
    assert result.added == 2
    long_one = people_db.find(app_de.store.conn, "long@example.org")[0]
    assert long_one.name == "Long Note"
    # bounded: dropped, or cut within one read chunk of the limit
    assert long_one.note is None or len(long_one.note) <= MAX_LINE + CHUNK_SIZE


# ------------------------------------------------------------------ unchanged files


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The vCard files an import actually reads."""
    from syncsvc.contacts import worker

    seen: list[Path] = []
    real = worker.cards

    def spy(path: Path, *args: object, **kwargs: object) -> object:
        seen.append(Path(path))
        return real(path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(worker, "cards", spy)
    return seen


def test_an_unchanged_file_is_not_read_again(
    app_de: App, tmp_path: Path, reads: list[Path]
) -> None:
    path = vcf(tmp_path, "a.vcf", "FN:Ann\nEMAIL:ann@example.org", "N:;;;;\nNOTE:nobody", "FN:Bo")
    first = app_de.import_vcards([path])
    changes = app_de.store.conn.total_changes
    again = app_de.import_vcards([path])
    assert reads == [path]
    assert app_de.store.conn.total_changes == changes  # nothing written
    assert (again.added, again.updated, again.unchanged) == (0, 0, first.added)
    assert again.skipped == first.skipped and len(again.skipped) == 1  # reported again


def test_a_touched_file_with_the_same_bytes_is_not_read_again(
    app_de: App, tmp_path: Path, reads: list[Path]
) -> None:
    import os

    path = vcf(tmp_path, "a.vcf", "FN:Ann\nEMAIL:ann@example.org")
    app_de.import_vcards([path])
    os.utime(path, (1, 1))
    assert app_de.import_vcards([path]).unchanged == 1
    assert reads == [path]


def test_a_changed_file_is_read_again(app_de: App, tmp_path: Path, reads: list[Path]) -> None:
    path = vcf(tmp_path, "a.vcf", "FN:Ann\nEMAIL:ann@example.org")
    app_de.import_vcards([path])
    vcf(tmp_path, "a.vcf", "FN:Ann\nEMAIL:ann@example.org\nTEL:0170 1234567")
    result = app_de.import_vcards([path])
    assert (result.added, result.updated) == (0, 1)
    assert reads == [path, path]
    (ann,) = everyone(app_de)
    assert ann.phones == [("0170 1234567", "+491701234567")]


def test_another_region_or_syncsvc_version_reads_the_file_again(
    make_app: Callable[..., App],
    tmp_path: Path,
    reads: list[Path],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from syncsvc.store import files

    path = vcf(tmp_path, "a.vcf", "FN:Ann\nTEL:0170 1234567")
    make_app(calls={"region": "DE"}).import_vcards([path])
    make_app(calls={"region": "DE"}).import_vcards([path])
    assert len(reads) == 1
    make_app(calls={"region": "AT"}).import_vcards([path])  # 0170… is another number there
    assert len(reads) == 2
    monkeypatch.setattr(files, "__version__", "99.0")
    make_app(calls={"region": "AT"}).import_vcards([path])
    assert len(reads) == 3


def test_the_same_file_named_another_way_is_recognised(
    app_de: App, tmp_path: Path, reads: list[Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = vcf(tmp_path, "a.vcf", "FN:Ann\nEMAIL:ann@example.org", "N:;;;;\nNOTE:nobody")
    app_de.import_vcards([path])
    monkeypatch.chdir(tmp_path)
    again = app_de.import_vcards(["a.vcf"])
    assert reads == [path]
    assert again.unchanged == 1
    assert [s["source"] for s in again.skipped] == ["a.vcf"]  # as named this time
