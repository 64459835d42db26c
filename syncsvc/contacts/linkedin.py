"""Read LinkedIn's data export ``Connections.csv`` into Cards.

The export (Settings → Data privacy → Get a copy of your data → Connections) starts with a few
lines of notes, then the header ``First Name,Last Name,URL,Email Address,Company,Position,
Connected On``. Most rows have no email (people choose whether connections may download it);
names are often non-ASCII; fields with commas are quoted; Excel may have added a BOM or re-saved
it as Windows-1252.

Each row becomes a Card whose uid is the profile URL (normalised), so a re-import matches the same
people again; a row with an email also merges with a person already on the list by that email.
The profile URL is kept as the person's ``url`` address (``Card.urls``). The cards are merged
like vCards' (contacts/merge.py), by ``App.import_contacts``.
"""

from __future__ import annotations

import csv
import io
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from syncsvc.contacts.phones import normalize_url
from syncsvc.contacts.vcard import Card, Skipped
from syncsvc.errors import InputError

SOURCE = "linkedin"
HEADER_LIMIT = 20  # the header must be among the first 20 lines
MAX_BYTES = 64 << 20  # a Connections.csv is a few MB at most
HOW_TO_EXPORT = (
    "export it from LinkedIn: Settings → Data privacy → Get a copy of your data → Connections"
)

# column keys as they appear in the header (compared case-insensitively)
FIRST, LAST, URL, EMAIL, COMPANY, POSITION, CONNECTED = (
    "first name",
    "last name",
    "url",
    "email address",
    "company",
    "position",
    "connected on",
)
_REQUIRED = (FIRST, LAST)
_SIGNATURE = (URL, EMAIL, COMPANY, POSITION, CONNECTED)  # at least two of these beside names


@dataclass
class Connection:
    """One row of the export, as read."""

    first: str
    last: str
    url: str
    email: str
    company: str
    position: str
    connected_on: str
    line: int


# --------------------------------------------------------------------------------------------
# Reading the file


def _not_export(path: Path, why: str) -> InputError:
    return InputError(f"{path}: {why} — {HOW_TO_EXPORT}, and import Connections.csv")


def _read_text(path: Path) -> str:
    if path.is_dir():
        raise InputError(f"{path}: is a folder — pass the Connections.csv file from the export")
    if not path.exists():
        raise InputError(f"{path}: no such file — check the path")
    try:
        # never wait on a FIFO nor read a device (/dev/zero) without end: regular files only,
        # and never more than MAX_BYTES even if the file grows while we read
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as f:
            st = os.fstat(f.fileno())
            if not stat.S_ISREG(st.st_mode):
                raise _not_export(path, "not a regular file (a device, a pipe)")
            if st.st_size > MAX_BYTES:
                raise _not_export(path, "far too large for a LinkedIn Connections.csv")
            data = f.read(MAX_BYTES + 1)
        if len(data) > MAX_BYTES:
            raise _not_export(path, "far too large for a LinkedIn Connections.csv")
    except OSError as err:
        raise InputError(f"{path}: cannot be read ({err.strerror or err})") from err
    if not data.strip():
        raise _not_export(path, "the file is empty, not a LinkedIn Connections.csv")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16", errors="replace")
    if b"\x00" in data[:4096]:
        raise _not_export(path, "a binary file, not a LinkedIn Connections.csv")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1252", errors="replace")  # re-saved by Excel


def _key(cell: str) -> str:
    return " ".join(cell.replace("\ufeff", "").strip().strip('"').lower().split())


def _is_header(row: list[str]) -> bool:
    keys = {_key(c) for c in row}
    return all(k in keys for k in _REQUIRED) and sum(k in keys for k in _SIGNATURE) >= 2


def _rows(path: Path) -> tuple[dict[str, int], Iterator[tuple[int, list[str] | None]]]:
    """The header's column positions and the rows after it (with their first line number)."""
    reader = csv.reader(io.StringIO(_read_text(path), newline=""))
    line = 1
    try:
        for row in reader:
            if _is_header(row):
                columns: dict[str, int] = {}
                for i, cell in enumerate(row):
                    columns.setdefault(_key(cell), i)
                return columns, _rest(reader, reader.line_num + 1)
            if reader.line_num >= HEADER_LIMIT:
                break
            line = reader.line_num + 1
    except csv.Error as err:
        raise _not_export(path, f"line {line}: unreadable CSV ({err})") from err
    header = "First Name,Last Name,URL,Email Address,Company,Position,Connected On"
    raise _not_export(
        path,
        f"not a LinkedIn Connections.csv (no header {header} in the first {HEADER_LIMIT} lines)",
    )


def _rest(reader: Iterator[list[str]], first_line: int) -> Iterator[tuple[int, list[str] | None]]:
    """Rows with the line each starts on; None for a row the csv module cannot read."""
    line = first_line
    while True:
        try:
            row: list[str] | None = next(reader)
        except StopIteration:
            return
        except csv.Error:
            row = None
        yield line, row
        line = reader.line_num + 1  # type: ignore[attr-defined]


def check_export(path: str | Path) -> None:
    """Raise InputError (one line naming the file) unless path is a LinkedIn Connections.csv."""
    _rows(Path(path).expanduser())


def read_connections(path: str | Path) -> Iterator[Card | Skipped]:
    """The export's rows as Cards (uid: the normalised profile URL); a row with neither a name
    nor an email is Skipped with a reason.

    Raises InputError before yielding anything if the file is not this export."""
    path = Path(path).expanduser()
    columns, rows = _rows(path)
    return _cards(path, columns, rows)


def _cards(
    path: Path, columns: dict[str, int], rows: Iterator[tuple[int, list[str] | None]]
) -> Iterator[Card | Skipped]:
    source = str(path)

    def cell(row: list[str], key: str) -> str:
        i = columns.get(key)
        return " ".join(row[i].split()) if i is not None and i < len(row) else ""

    for n, (line, row) in enumerate(rows, start=1):
        if row is None:
            yield Skipped(source, n, line, "unreadable CSV row")
            continue
        if not any(c.strip() for c in row):
            continue
        conn = Connection(
            first=cell(row, FIRST),
            last=cell(row, LAST),
            url=cell(row, URL),
            email=cell(row, EMAIL),
            company=cell(row, COMPANY),
            position=cell(row, POSITION),
            connected_on=cell(row, CONNECTED),
            line=line,
        )
        yield to_card(conn, source, n)


def _uid(url: str) -> str | None:
    return normalize_url(url) if "linkedin." in url.lower() else None


def to_card(conn: Connection, source: str, card_no: int) -> Card | Skipped:
    name = " ".join(p for p in (conn.first, conn.last) if p)
    email = conn.email if "@" in conn.email else ""
    if not name:
        name = email
    if not name:
        return Skipped(source, card_no, conn.line, "no name and no email")
    uid = _uid(conn.url)
    urls = [conn.url] if uid is not None else []  # kept as the person's profile URL
    if uid is None and not email:
        # an older export has no URL column: the name and the day connected identify the row
        uid = f"name:{name.lower()}|{conn.connected_on.lower()}"
    return Card(
        name=name,
        emails=[email] if email else [],
        phones=[],
        org=conn.company or None,
        title=conn.position or None,
        note=f"LinkedIn connection since {conn.connected_on}" if conn.connected_on else None,
        uid=uid,
        categories=[],
        source=source,
        card_no=card_no,
        line=conn.line,
        urls=urls,
    )
