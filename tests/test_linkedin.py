"""LinkedIn's Connections.csv: preamble, quoted commas, missing emails, non-ASCII names, BOM,
idempotent re-import, merging with vCard people by email, and a clear error for other CSVs."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from syncsvc.app import App
from syncsvc.contacts.linkedin import check_export, normalize_url, read_connections
from syncsvc.contacts.merge import ImportResult
from syncsvc.contacts.vcard import Card, Skipped
from syncsvc.errors import InputError
from syncsvc.store import people as people_db

PREAMBLE = (
    "Notes:\r\n"
    '"When exporting your connection data, you may notice that some of the email addresses are '
    "missing. You will only see email addresses for connections who have allowed their "
    "connections to see or download their email address using this setting "
    'https://www.linkedin.com/psettings/privacy/email. You can learn more here"\r\n'
    "\r\n"
)
HEADER = "First Name,Last Name,URL,Email Address,Company,Position,Connected On\r\n"
ROWS = (
    "Ann,Example,https://www.linkedin.com/in/ann-example,ann@example.org,Acme,Engineer,"
    "12 Mar 2021\r\n"
    'Jürgen,Müller-Lüdenscheidt,https://www.linkedin.com/in/j%C3%BCrgen,,"Solar, Wind & Co KG",'
    '"Head of Sales, DACH",01 Feb 2020\r\n'
    "Zoë,Ørsted,https://www.linkedin.com/in/zoe-orsted,,,,05 Jan 2019\r\n"
    '李,小龍,https://www.linkedin.com/in/li-xl,,"Studio ""Dragon""",Producer,30 Jun 2022\r\n'
    ",,,,,,07 Jul 2023\r\n"
)


def export(tmp_path: Path, body: str = ROWS, *, bom: bool = False, name: str = "c.csv") -> Path:
    path = tmp_path / name
    data = (PREAMBLE + HEADER + body).encode("utf-8")
    path.write_bytes((b"\xef\xbb\xbf" if bom else b"") + data)
    return path


def import_linkedin(app: App, path: Path) -> ImportResult:
    return app.import_contacts(linkedin_paths=[path])


def everyone(app: App) -> dict[str, people_db.Person]:
    return {p.name: p for p in people_db.iter_people(app.store.conn)}


def test_rows_after_the_preamble_become_cards(tmp_path: Path) -> None:
    items = list(read_connections(export(tmp_path)))
    cards = [i for i in items if isinstance(i, Card)]
    skipped = [i for i in items if isinstance(i, Skipped)]
    assert [c.name for c in cards] == [
        "Ann Example",
        "Jürgen Müller-Lüdenscheidt",
        "Zoë Ørsted",
        "李 小龍",
    ]
    ann, jurgen, zoe, li = cards
    assert ann.emails == ["ann@example.org"]
    assert (ann.org, ann.title) == ("Acme", "Engineer")
    assert ann.uid == "linkedin.com/in/ann-example"
    # quoted commas and quotes stay inside their field
    assert (jurgen.org, jurgen.title) == ("Solar, Wind & Co KG", "Head of Sales, DACH")
    assert li.org == 'Studio "Dragon"'
    # missing emails, companies and positions are simply absent
    assert jurgen.emails == [] and zoe.emails == []
    assert (zoe.org, zoe.title) == (None, None)
    assert zoe.note == "LinkedIn connection since 05 Jan 2019"
    # line numbers count the preamble (3 lines) and the header
    assert (ann.line, li.line) == (5, 8)
    assert [(s.card, s.line, s.reason) for s in skipped] == [(5, 9, "no name and no email")]


def test_bom_and_windows_1252(tmp_path: Path) -> None:
    names = [i.name for i in read_connections(export(tmp_path, bom=True)) if isinstance(i, Card)]
    assert names[0] == "Ann Example" and "Zoë Ørsted" in names
    path = tmp_path / "excel.csv"
    path.write_bytes((HEADER + "Zoë,Ørsted,,,,,\r\n").encode("cp1252"))
    (zoe,) = read_connections(path)
    assert isinstance(zoe, Card) and zoe.name == "Zoë Ørsted"


def test_import_stores_url_org_title_and_reimport_adds_nobody(app: App, tmp_path: Path) -> None:
    path = export(tmp_path)
    first = import_linkedin(app, path)
    assert (first.added, first.updated, first.unchanged) == (4, 0, 0)
    assert [s["reason"] for s in first.skipped] == ["no name and no email"]
    people = everyone(app)
    jurgen = people["Jürgen Müller-Lüdenscheidt"]
    assert jurgen.urls == ["https://www.linkedin.com/in/j%C3%BCrgen"]
    assert (jurgen.org, jurgen.title, jurgen.source) == (
        "Solar, Wind & Co KG",
        "Head of Sales, DACH",
        "linkedin",
    )
    assert jurgen.source_detail == "c.csv"

    again = import_linkedin(app, path)
    assert (again.added, again.updated, again.unchanged) == (0, 0, 4)
    assert len(everyone(app)) == 4
    assert everyone(app)["Zoë Ørsted"].urls == ["https://www.linkedin.com/in/zoe-orsted"]

    # a later export with a changed position updates that person, adds nobody
    moved = ROWS.replace("Acme,Engineer", "Acme,Staff Engineer")
    later = import_linkedin(app, export(tmp_path, moved, name="later.csv"))
    assert (later.added, later.updated, later.unchanged) == (0, 1, 3)
    assert everyone(app)["Ann Example"].title == "Staff Engineer"


def test_merges_with_a_vcard_person_by_email(app: App, tmp_path: Path) -> None:
    vcf = tmp_path / "a.vcf"
    vcf.write_text(
        "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Ann Example\r\nEMAIL:ANN@example.org\r\n"
        "TEL:+49 170 1234567\r\nEND:VCARD\r\n",
        encoding="utf-8",
    )
    app.import_vcards([vcf])
    result = import_linkedin(app, export(tmp_path))
    assert (result.added, result.updated) == (3, 1)
    people = everyone(app)
    assert len(people) == 4
    ann = people["Ann Example"]
    assert ann.source == "vcard"  # she came from the vCard first
    assert ann.emails == ["ANN@example.org"]
    assert ann.urls == ["https://www.linkedin.com/in/ann-example"]
    assert (ann.org, ann.title) == ("Acme", "Engineer")
    again = import_linkedin(app, export(tmp_path))
    assert (again.added, again.updated) == (0, 0)


def test_same_profile_with_a_different_url_spelling_is_the_same_person(
    app: App, tmp_path: Path
) -> None:
    import_linkedin(app, export(tmp_path))
    body = "Zoë,Ørsted,http://de.linkedin.com/in/Zoe-Orsted/?trk=x,,,,05 Jan 2019\r\n"
    result = import_linkedin(app, export(tmp_path, body, name="again.csv"))
    assert (result.added, result.unchanged) == (0, 1)
    assert normalize_url("https://www.linkedin.com/in/Zoe-Orsted/") == "linkedin.com/in/zoe-orsted"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("name,email\nAnn,ann@example.org\n", "no header First Name,Last Name,URL"),
        ("BEGIN:VCARD\nFN:Ann\nEND:VCARD\n", "not a LinkedIn Connections.csv"),
        ("", "the file is empty"),
        ("Notes:\n" * 25 + HEADER, "in the first 20 lines"),
    ],
)
def test_a_csv_that_is_not_the_export_is_one_line_naming_the_file(
    make_app: Callable[..., App], tmp_path: Path, content: str, expected: str
) -> None:
    app = make_app()
    path = tmp_path / "other.csv"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as err:
        import_linkedin(app, path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: ")
    assert expected in message
    assert "Get a copy of your data" in message
    with pytest.raises(InputError):
        check_export(path)
    assert everyone(app) == {}


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="no such file"):
        check_export(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="is a folder"):
        check_export(tmp_path)


def test_cli_import_linkedin_combines_with_vcards(tmp_path: Path) -> None:
    import json

    from tests.cli_helper import run_cli

    cfg = tmp_path / "config.toml"
    cfg.write_text(f'data_dir = "{tmp_path / "data"}"\n[calls]\ntimezone = "Europe/Berlin"\n')
    vcf = tmp_path / "a.vcf"
    vcf.write_text("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bo\r\nEMAIL:bo@example.org\r\nEND:VCARD\r\n")
    args = ["--config", str(cfg), "import", str(vcf), "--linkedin", str(export(tmp_path))]
    result = run_cli([*args, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["added"], data["updated"], data["unchanged"]) == (5, 0, 0)
    assert len(data["skipped"]) == 1

    result = run_cli(args)
    assert result.exit_code == 0
    assert "0 added, 0 updated, 5 unchanged" in result.stdout

    # a bad LinkedIn file imports nothing, not even the good vCard next to it
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    other = tmp_path / "b.vcf"
    other.write_text("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Cy\r\nEMAIL:cy@example.org\r\nEND:VCARD\r\n")
    result = run_cli(["--config", str(cfg), "import", str(other), "--linkedin", str(bad)])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1 and "bad.csv" in result.stderr
    result = run_cli(["--config", str(cfg), "people", "--json"])
    assert "Cy" not in [p["name"] for p in json.loads(result.stdout)]


def test_the_profile_url_is_in_the_call_event(tmp_path: Path, make_app: Callable[..., App]) -> None:
    app = make_app()
    path = tmp_path / "Connections.csv"
    path.write_text(
        "Notes:\n\nFirst Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
        "Jo,Lind,https://www.linkedin.com/in/jo-lind,,Acme,CTO,01 Jan 2024\n"
    )
    import_linkedin(app, path)
    call = app.plan()[0]
    ics = (app.config.calendar_path / f"{call.id}@syncsvc.ics").read_text()
    assert "Profile: https://www.linkedin.com/in/jo-lind" in ics.replace("\r\n ", "")


def test_vcards_and_linkedin_are_one_transaction(app: App, tmp_path: Path) -> None:
    """One command, one transaction: stopped during the LinkedIn rows, the vCards before them
    are not written either; a bad vCard path next to a good export imports nothing."""
    vcf = tmp_path / "a.vcf"
    vcf.write_text("BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Bo\r\nEMAIL:bo@example.org\r\nEND:VCARD\r\n")
    seen: list[None] = []

    def progress() -> None:
        seen.append(None)
        if len(seen) == 3:  # the vCard, then the export's first two rows
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        app.import_contacts([vcf], [export(tmp_path)], progress=progress)
    assert everyone(app) == {}
    with pytest.raises(InputError, match="no such file"):
        app.import_contacts([vcf, tmp_path / "missing.vcf"], [export(tmp_path)])
    assert everyone(app) == {}

    result = app.import_contacts([vcf], [export(tmp_path)], progress=lambda: None)
    assert (result.added, result.updated, len(result.skipped)) == (5, 0, 1)
    assert "Bo" in everyone(app) and "Ann Example" in everyone(app)
