"""Read contacts from vCard files (2.1, 3.0, 4.0) as real address books export them.

The file is streamed as bytes and split into cards here, not by vobject: one bad card must cost
only that card. Each card then goes through these steps:

1. PHOTO/LOGO/SOUND/KEY lines (and their folded or 2.1 blank-line-terminated base64) are dropped
   while splitting, undecoded: syncsvc stores no photos, and broken base64 must not cost a card.
2. Folded lines (leading space/TAB) and 2.1 QUOTED-PRINTABLE soft line breaks are joined.
3. Only the properties syncsvc uses are kept (FN, N, ORG, EMAIL, TEL, TITLE, NOTE, UID,
   CATEGORIES); their values are QP-decoded and decoded with the stated CHARSET, else UTF-8, else
   Windows-1252; group prefixes (``item1.``) and parameters are dropped.
4. The values are unescaped into fields. Two engines do this with identical results:
   ``engine="fast"`` (the default) applies vobject's text rules itself, in plain Python (the
   whole read is ~4x faster than with the vobject engine, ~7x faster than a bare vobject loop,
   see docs/PERFORMANCE.md); ``engine="vobject"`` writes a plain vCard 3.0 card and has vobject
   parse it (if vobject fails, a small tolerant parser of the same lines takes over). The few
   cards where vobject's line reader would do something odd (a value ending in ``=`` that
   mentions ``quoted-printable``) go through the vobject engine in both cases.
   ``tests/test_vcard_engines.py`` checks that both engines agree on the corpus and on a
   generated benchmark file; ``benchmarks/bench_import.py`` measures them.

A card is skipped (with a reason) only when it is truncated, its name cannot be decoded, or it has
neither a name nor an email or phone.
"""

from __future__ import annotations

import binascii
import codecs
import contextlib
import os
import re
import unicodedata
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Literal, cast

from syncsvc.errors import InputError
from syncsvc.text import CONTROLS

if TYPE_CHECKING:
    from types import ModuleType

Engine = Literal["fast", "vobject"]
ENGINES: tuple[Engine, ...] = ("fast", "vobject")

CHUNK_SIZE = 1 << 16
MAX_LINE = 4 << 20  # a longer physical or unfolded line is dropped: no card field is that long
SNIFF_LIMIT = 8 << 20  # a file with no BEGIN:VCARD in its first 8 MB is not a vCard file
MAX_NESTED_LINES = 10_000  # lines held in unfinished nested cards before the outer one is truncated
#: properties kept of one card (photos are never kept): a real card has tens; a hostile one with
#: a million property lines costs this many, not 57 times its size in memory. The rest is
#: dropped. (Folded continuation lines belong to their property; MAX_LINE bounds those.)
MAX_CARD_PROPERTIES = 5_000

TRUNCATED = "truncated: no END:VCARD"
NO_NAME = "no name and no email or phone"

_BOM = b"\xef\xbb\xbf"
_EOL = re.compile(rb"\r?\r\n|\n|\r")
_BEGIN = re.compile(rb"\s*BEGIN\s*:\s*VCARD\s*", re.IGNORECASE)
_END = re.compile(rb"\s*END\s*:\s*VCARD\s*", re.IGNORECASE)
_BEGIN_IN_TEXT = re.compile(
    rb"[\r\n][ \t]*(?:\xef\xbb\xbf)?[ \t]*BEGIN[ \t]*:[ \t]*VCARD[ \t]*(?:[\r\n]|\Z)", re.IGNORECASE
)
_PROP_START = re.compile(rb"(?:[A-Za-z0-9_-]+\.)?[A-Za-z0-9_-]+[ \t]*[;:]")
_BLOB_START = re.compile(rb"(?:[A-Za-z0-9_-]+\.)?(?:PHOTO|LOGO|SOUND|KEY)[ \t]*[;:]", re.IGNORECASE)
_NAME = re.compile(rb"(?:([A-Za-z0-9_-]+)\.)?([A-Za-z0-9_-]+)[ \t]*")
_CHARSET_IN_HEAD = re.compile(rb";[ \t]*CHARSET[ \t]*=[ \t]*\"?([A-Za-z0-9_.:-]+)", re.IGNORECASE)
_EXTRA_ESCAPES = re.compile(r"\\(.)", re.DOTALL)
_ANGLE_EMAIL = re.compile(r"<\s*([^<>\s]+@[^<>\s]+)\s*>\s*$")

_WANTED = frozenset({"FN", "N", "ORG", "EMAIL", "TEL", "TITLE", "NOTE", "UID", "CATEGORIES"})
# A line of a wanted property: what _NAME would match, with the name in _WANTED and ';' or ':'
# after it (the lookahead makes the alternatives whole names).
_WANTED_PROP = re.compile(
    rb"(?:[A-Za-z0-9_-]+\.)?("
    + b"|".join(n.encode() for n in sorted(_WANTED))
    + rb")[ \t]*(?=[;:])",
    re.IGNORECASE,
)
_NAME_PROPS = frozenset({"FN", "N"})
# Labels that are usually wrong: Windows-1252 is what "ISO-8859-1" text really is (as in browsers),
# and Japanese phones write Microsoft's Shift_JIS superset.
_CHARSET_ALIASES = {
    "iso-8859-1": ("cp1252", "latin-1"),
    "latin1": ("cp1252", "latin-1"),
    "shift_jis": ("cp932", "shift_jis"),
    "shift-jis": ("cp932", "shift_jis"),
    "sjis": ("cp932", "shift_jis"),
}


@dataclass
class Card:
    """One usable contact read from a vCard file."""

    name: str
    emails: list[str]
    phones: list[str]
    org: str | None
    title: str | None
    note: str | None
    uid: str | None
    categories: list[str]
    source: str
    card_no: int
    line: int
    # profile URLs as written (LinkedIn's export; vCard URL lines are not read): kept as the
    # person's ``url`` addresses, not matched on
    urls: list[str] = field(default_factory=list)


@dataclass
class Skipped:
    """A card that could not be used, with a short human-readable reason."""

    source: str
    card: int
    line: int
    reason: str


# --------------------------------------------------------------------------------------------
# Finding and checking files


def vcard_files(paths: Sequence[str | Path]) -> list[Path]:
    """Expand files and folders (recursively) into the vCard files to import, checking them all.

    Raises InputError (one line: the path and what to do) for a missing path, a folder without
    .vcf files, or a file that is not vCard at all. Nothing is returned unless every path is fine.
    """
    found: list[Path] = []
    seen: set[Path] = set()
    for given in paths:
        for path in _expand(Path(given).expanduser()):
            _check_vcard(path)
            if path not in seen:
                seen.add(path)
                found.append(path)
    return found


def _expand(path: Path) -> list[Path]:
    if path.is_dir():
        files = sorted(_walk_vcf(path))
        if not files:
            raise InputError(
                f"{path}: folder has no .vcf files — pass a folder of vCard files or a .vcf file"
            )
        return files
    if not path.exists():
        raise InputError(f"{path}: no such file or folder — check the path")
    if not path.is_file():
        raise InputError(f"{path}: not a regular file — pass a .vcf file or a folder of them")
    return [path]


def _walk_vcf(folder: Path) -> Iterator[Path]:
    """*.vcf files below folder, skipping hidden files and folders (e.g. macOS ._ files)."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in files:
            if name.lower().endswith(".vcf") and not name.startswith("."):
                yield Path(root) / name


def _check_vcard(path: Path) -> None:
    problem = _sniff(path)
    if problem:
        raise InputError(
            f"{path}: {problem} — export the contacts as vCard (.vcf) and import that file"
        )


def _sniff(path: Path) -> str | None:
    """Why path is not a vCard file, or None if it has a BEGIN:VCARD line in its first 8 MB."""
    try:
        if path.stat().st_size == 0:
            return "the file is empty, not vCard"
        with _open_stream(path) as stream:
            return _sniff_stream(stream)
    except OSError as err:
        return f"cannot be read ({err.strerror or err})"


def _sniff_stream(stream: BinaryIO) -> str | None:
    window, read = b"\n", 0
    while chunk := stream.read(CHUNK_SIZE) if read < SNIFF_LIMIT else b"":
        window = window[-64:] + chunk
        if _BEGIN_IN_TEXT.search(window):
            return None
        if read == 0 and b"\x00" in chunk:
            return "a binary file, not vCard"
        read += len(chunk)
    return "not a vCard file (no BEGIN:VCARD line)"


@contextlib.contextmanager
def _open_stream(path: Path) -> Iterator[BinaryIO]:
    """The file as a byte stream; UTF-16 files (BOM or NUL-interleaved ASCII) come out as UTF-8."""
    with path.open("rb") as raw:
        head = raw.read(4)
        raw.seek(0)
        encoding = _utf16_encoding(head)
        if encoding is None:
            yield raw
        else:
            yield cast(BinaryIO, codecs.EncodedFile(raw, "utf-8", encoding, errors="replace"))


def _utf16_encoding(head: bytes) -> str | None:
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if len(head) == 4 and head[1] == 0 and head[3] == 0 and head[0] and head[2]:
        return "utf-16-le"
    if len(head) == 4 and head[0] == 0 and head[2] == 0 and head[1] and head[3]:
        return "utf-16-be"
    return None


# --------------------------------------------------------------------------------------------
# Streaming lines and cards


def read_cards(path: str | Path, engine: Engine = "fast") -> Iterator[Card | Skipped]:
    """Stream the cards of one vCard file: a Card for each usable card, a Skipped for the rest.

    engine="fast" (default) and engine="vobject" give identical results; see the module doc.
    """
    if engine not in ENGINES:
        raise ValueError(f"engine must be one of {ENGINES}, not {engine!r}")
    fields = _fields_fast if engine == "fast" else _fields
    source = str(path)
    splitter = _Splitter()
    try:
        with _open_stream(Path(path)) as stream:
            for raw in splitter.run(_iter_lines(stream)):
                yield _to_result(raw, source, fields)
    except OSError as err:
        raise InputError(f"{path}: cannot be read ({err.strerror or err})") from err


def _iter_lines(stream: BinaryIO) -> Iterator[bytes]:
    """Lines without their ending; CRLF, LF, CR and iOS's CR CR LF each end one line.

    Each chunk is cut after its last complete line ending (an LF always completes one; a CR
    only once the next two bytes are known) and split in one go. A line longer than
    MAX_LINE is dropped (yielded empty, so line numbers stay right) without being held:
    memory stays bounded whatever the file.
    """
    buf = b""
    skipping = False  # inside an over-long line: drop bytes up to its end
    while chunk := stream.read(CHUNK_SIZE):
        buf += chunk
        cut = buf.rfind(b"\n") + 1
        if not cut:  # no LF: CR-only line endings, or a long line
            cut = buf.rfind(b"\r", 0, len(buf) - 2 if buf.endswith(b"\r") else len(buf)) + 1
        if cut:
            lines = _split_lines(buf[:cut])
            if skipping:
                lines[0] = b""
                skipping = False
            yield from lines
            buf = buf[cut:]
        if len(buf) > MAX_LINE:
            buf = b""
            skipping = True
    if buf or skipping:
        lines = _EOL.split(buf)
        if not lines[-1] and not skipping:
            lines.pop()
        if skipping:
            lines[0] = b""
        yield from lines


def _split_lines(block: bytes) -> list[bytes]:
    """The lines of a block that ends with a complete line ending."""
    crs = block.count(b"\r")
    if not crs:
        return block[:-1].split(b"\n")
    if crs == block.count(b"\n") == block.count(b"\r\n"):  # CRLF only
        return block[:-2].split(b"\r\n")
    lines = _EOL.split(block)
    lines.pop()
    return lines


@dataclass
class _RawCard:
    card_no: int
    line: int
    lines: list[tuple[int, bytes]]
    complete: bool


@dataclass
class _OpenCard:
    """A card whose END:VCARD has not been seen yet."""

    line: int
    lines: list[tuple[int, bytes]] = field(default_factory=list)
    nested: list[_OpenCard] = field(default_factory=list)  # complete cards inside this one
    in_blob: bool = False
    properties: int = 0  # property lines kept (folded continuations not counted)
    full: bool = False  # MAX_CARD_PROPERTIES reached: nothing more is kept, not even folds

    def add_property(self, lineno: int, line: bytes) -> None:
        """Keep a property's first line, unless the card has MAX_CARD_PROPERTIES already."""
        if self.properties >= MAX_CARD_PROPERTIES:
            self.full = True
            return
        self.properties += 1
        self.lines.append((lineno, line))

    def keep(self, line: bytes) -> bool:
        """False for the lines of a PHOTO/LOGO/SOUND/KEY property (never decoded)."""
        if self.in_blob:
            if not line.strip():
                self.in_blob = False  # 2.1 base64 ends with a blank line
                return False
            if line[:1] in b" \t" or not _PROP_START.match(line):
                return False
            self.in_blob = False
        if _BLOB_START.match(line):
            self.in_blob = True
            return False
        return True


_FOLD = frozenset((b" ", b"\t"))
_MAYBE_BEGIN_END = frozenset(bytes([c]) for c in b"BbEe \t\n\r\x0b\x0c" + _BOM[:1])


@dataclass
class _Splitter:
    """Splits a stream of lines into top-level cards, dropping photo-like properties on the way.

    A BEGIN:VCARD inside a card opens a nested card (2.1 AGENT); if the outer card ends, the
    nested ones are ignored. If the outer card never ends, it was truncated: it is reported as
    such and the complete cards inside it are top-level cards after all. Cards whose fate is
    unknown are held only up to MAX_NESTED_LINES lines; then the outermost counts as truncated.
    """

    card_no: int = 0
    stack: deque[_OpenCard] = field(default_factory=deque)
    held: int = 0  # lines in cards below the outermost open one

    def run(self, lines: Iterable[bytes]) -> Iterator[_RawCard]:
        """Feed all lines (numbered from 1), then finish.

        Lines of a card at nesting depth 1 that cannot be BEGIN or END (the first byte is not
        B, E, a BOM or whitespace; a folded line without ':') are handled here directly, with
        exactly the effect feed() would have; all others go through feed().
        """
        stack = self.stack
        lineno = 0
        for line in lines:
            lineno += 1
            if len(stack) == 1:
                first = line[:1]
                if first in _FOLD:
                    if b":" not in line:
                        card = stack[0]
                        if not card.in_blob:
                            if not card.full:
                                card.lines.append((lineno, line))
                        elif not line.strip():
                            card.in_blob = False  # 2.1 base64 ends with a blank line
                        continue
                elif first and first not in _MAYBE_BEGIN_END:
                    card = stack[0]
                    if card.in_blob:
                        if card.keep(line):
                            card.add_property(lineno, line)
                    elif _BLOB_START.match(line):
                        card.in_blob = True
                    else:
                        card.add_property(lineno, line)
                    continue
            yield from self.feed(lineno, line)
        yield from self.finish()

    def feed(self, lineno: int, line: bytes) -> Iterator[_RawCard]:
        line = line.removeprefix(_BOM)
        if _BEGIN.fullmatch(line):
            self.stack.append(_OpenCard(lineno))
        elif not self.stack:
            return  # anything between cards
        elif _END.fullmatch(line):
            card = self.stack.pop()
            if self.stack:
                self.stack[-1].nested.append(card)
            else:
                self.held = 0
                yield self._emit(card, complete=True)
        elif self.stack[-1].keep(line):
            card = self.stack[-1]
            kept = len(card.lines)
            if line[:1] in _FOLD:
                if not card.full:
                    card.lines.append((lineno, line))
            else:
                card.add_property(lineno, line)
            self.held += len(self.stack) > 1 and len(card.lines) > kept
        if self.held > MAX_NESTED_LINES:
            yield from self._truncate_outermost()

    def finish(self) -> Iterator[_RawCard]:
        while self.stack:
            yield from self._truncate_outermost()

    def _truncate_outermost(self) -> Iterator[_RawCard]:
        outer = self.stack.popleft()
        yield self._emit(outer, complete=False)
        for card in outer.nested:
            self.held -= len(card.lines)
            yield self._emit(card, complete=True)
        if self.stack:
            self.held -= len(self.stack[0].lines)  # the new outermost card

    def _emit(self, card: _OpenCard, complete: bool) -> _RawCard:
        self.card_no += 1
        return _RawCard(self.card_no, card.line, card.lines, complete)


# --------------------------------------------------------------------------------------------
# From raw card lines to properties


@dataclass
class _Prop:
    name: str
    value: str
    lineno: int


class _Undecodable(Exception):
    def __init__(self, name: str, lineno: int, why: str) -> None:
        super().__init__(f"undecodable text ({why}) in {name} on line {lineno}")


def _to_result(
    raw: _RawCard, source: str, to_fields: Callable[[list[_Prop]], _Fields]
) -> Card | Skipped:
    if not raw.complete:
        return Skipped(source, raw.card_no, raw.line, TRUNCATED)
    try:
        props = _props(_logical_lines(raw.lines))
    except _Undecodable as err:
        return Skipped(source, raw.card_no, raw.line, str(err))
    fields = to_fields(props)
    name = fields.name()
    if not name:
        return Skipped(source, raw.card_no, raw.line, NO_NAME)
    return Card(
        name=name,
        emails=fields.emails,
        phones=fields.phones,
        org=fields.org,
        title=fields.title,
        note="\n".join(fields.notes) or None,
        uid=fields.uid,
        categories=fields.categories,
        source=source,
        card_no=raw.card_no,
        line=raw.line,
    )


def _logical_lines(lines: Iterable[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    """Join folded lines (leading space/TAB) and QUOTED-PRINTABLE soft line breaks."""
    out: list[tuple[int, bytes]] = []
    for lineno, raw in lines:
        if out and out[-1][1][-1:] in _SOFT_BREAK_END and _qp_soft_break(out[-1][1]):
            if len(out[-1][1]) >= MAX_LINE:
                continue  # an endless QUOTED-PRINTABLE value: the rest of it is dropped
            number, current = out[-1]
            out[-1] = (number, current.rstrip(b" \t")[:-1] + raw)
        elif raw[:1] in _FOLD:
            if out and len(out[-1][1]) < MAX_LINE:  # past that, the rest of it is dropped
                number, current = out[-1]
                out[-1] = (number, current + raw[1:])
        elif raw.strip():
            out.append((lineno, raw))
    return out


_SOFT_BREAK_END = frozenset((b"=", b" ", b"\t"))


def _qp_soft_break(text: bytes) -> bool:
    if not text.rstrip(b" \t").endswith(b"="):
        return False
    head = _split_head(text)
    return head is not None and b"QUOTED-PRINTABLE" in head[0].upper()


def _split_head(text: bytes) -> tuple[bytes, bytes] | None:
    """(name;params, value) split at the first ':' outside double quotes; None if there is none."""
    colon = text.find(b":")
    if colon < 0:
        return None
    if b'"' not in text[:colon]:  # the usual case: the first ':' is the one
        return text[:colon], text[colon + 1 :]
    quoted = False
    for index, byte in enumerate(text):
        if byte == 0x22:  # "
            quoted = not quoted
        elif byte == 0x3A and not quoted:  # :
            return text[:index], text[index + 1 :]
    colon = text.find(b":")  # an unbalanced quote: fall back to the first colon
    return (text[:colon], text[colon + 1 :]) if colon >= 0 else None


def _props(logical: list[tuple[int, bytes]]) -> list[_Prop]:
    found: list[list[str]] = []

    def card_charsets() -> list[str]:  # only needed for a non-ASCII value: found lazily
        if not found:
            found.append(_card_charsets(logical))
        return found[0]

    props = []
    for lineno, text in logical:
        prop = _parse_prop(lineno, text, card_charsets)
        if prop is not None:
            props.append(prop)
    return props


def _card_charsets(logical: list[tuple[int, bytes]]) -> list[str]:
    found: list[str] = []
    for _, text in logical:
        if b"=" not in text or b"CHARSET" not in text[:300].upper():
            continue  # (no '=' in the line: none in its head, _CHARSET_IN_HEAD cannot match)
        head = _split_head(text)
        match = _CHARSET_IN_HEAD.search(head[0]) if head else None
        if match and match.group(1).decode("ascii").lower() not in found:
            found.append(match.group(1).decode("ascii").lower())
    return found


def _parse_prop(lineno: int, text: bytes, card_charsets: Callable[[], list[str]]) -> _Prop | None:
    """A wanted property with its decoded (still escaped) value; None for anything else."""
    match = _WANTED_PROP.match(text)  # [group.]NAME followed by ';' or ':'
    if not match:
        return None
    name = match.group(1).decode("ascii").upper()
    head = _split_head(text[match.end() :])
    if head is None:
        return None
    params = _params(head[0])
    value = _decode_value(head[1], params, card_charsets)
    if value is None:
        charset = params.get("CHARSET")
        why = f"not valid {charset}" if charset else "not UTF-8 and no CHARSET"
        if name in _NAME_PROPS:
            raise _Undecodable(name, lineno, why)
        return None  # an undecodable email/phone/note is dropped, the card stays
    if "\\" in value:
        value = _EXTRA_ESCAPES.sub(_drop_extra_escape, value)
    return _Prop(name, value, lineno)


def _drop_extra_escape(match: re.Match[str]) -> str:
    """Exporters also escape ':' and '"' (Gmail: http\\://); other escapes stay for later."""
    char = match.group(1)
    return char if char in ':"' else match.group(0)


def _params(head: bytes) -> dict[str, str]:
    """Parameters by upper-case name; bare 2.1 values go under ENCODING (QP, BASE64) or TYPE."""
    params: dict[str, str] = {}
    if not head:
        return params
    text = head.decode("latin-1")
    for part in _split_unquoted(text, ";") if '"' in text else text.split(";"):
        key, sep, value = part.strip().partition("=")
        if not sep:
            bare_encoding = key.upper() in ("QUOTED-PRINTABLE", "BASE64")
            key, value = ("ENCODING" if bare_encoding else "TYPE"), key
        if key.strip():
            params[key.strip().upper()] = value.strip().strip('"')
    return params


def _split_unquoted(text: str, sep: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted = False
    for char in text:
        if char == '"':
            quoted = not quoted
        if char == sep and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return parts


def _decode_value(
    value: bytes, params: dict[str, str], card_charsets: Callable[[], list[str]]
) -> str | None:
    if params.get("ENCODING", "").upper() in ("QUOTED-PRINTABLE", "QP"):
        value = binascii.a2b_qp(value)
    if value.isascii():
        text: str | None = value.decode("ascii")
    else:
        stated = params.get("CHARSET", "").lower()
        charsets = card_charsets()
        text = _decode_bytes(value, [stated, *charsets] if stated else charsets)
    if text is None:
        return None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return CONTROLS.sub("", text)


def _decode_bytes(data: bytes, charsets: list[str]) -> str | None:
    """Decode with the stated charsets, else UTF-8, else Windows-1252 if it looks like text."""
    for charset in charsets:
        for codec in _CHARSET_ALIASES.get(charset, (charset,)):
            with contextlib.suppress(LookupError, UnicodeDecodeError):
                return data.decode(codec)
    with contextlib.suppress(UnicodeDecodeError):
        return data.decode("utf-8")
    with contextlib.suppress(UnicodeDecodeError):
        text = data.decode("cp1252")
        if not CONTROLS.search(text.replace("\t", "").replace("\n", "").replace("\r", "")):
            return text
    return None


# --------------------------------------------------------------------------------------------
# From properties to fields: the vobject engine (vobject first, a tolerant parser of the same
# lines second) and the fast engine (vobject's rules for these lines, without vobject)


def __getattr__(name: str) -> Any:
    """``vcard.vobject``: vobject is imported only when the vobject engine first needs it."""
    if name == "vobject":
        return _vobject()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _vobject() -> ModuleType:
    import vobject

    return vobject


@dataclass
class _Fields:
    fn: str = ""
    given: str = ""
    family: str = ""
    org: str | None = None
    title: str | None = None
    uid: str | None = None
    emails: list[str] = field(default_factory=list)
    phones: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    categories: list[str] = field(default_factory=list)
    # what is in emails/phones already: de-duplication in linear time (40,000 emails took 139 s)
    _email_keys: set[str] = field(default_factory=set, repr=False)
    _phone_keys: set[str] = field(default_factory=set, repr=False)

    def name(self) -> str:
        return (
            self.fn
            or _join_name(self.given, self.family)
            or self.org
            or next(iter(self.emails), "")
            or next(iter(self.phones), "")
        )

    def add_email(self, raw: str) -> None:
        email = _clean_email(raw)
        key = email.casefold()
        if email and key not in self._email_keys:
            self._email_keys.add(key)
            self.emails.append(email)

    def add_phone(self, raw: str) -> None:
        phone = _clean_phone(raw)
        if phone and phone not in self._phone_keys:
            self._phone_keys.add(phone)
            self.phones.append(phone)


def _fields(props: list[_Prop]) -> _Fields:
    try:
        return _fields_from_vobject(props)
    except Exception:  # vobject raises many kinds of errors on odd input
        return _fields_fallback(props)


def _vobject_text(props: list[_Prop]) -> str:
    lines = ["BEGIN:VCARD", "VERSION:3.0"]
    for prop in props:
        value = prop.value.replace("\n", "\\n")
        if (len(value) - len(value.rstrip("\\"))) % 2:
            value += "\\"  # a lone trailing backslash is a literal one
        if prop.name != "CATEGORIES":
            value = _escape_bare_commas(value)  # vobject would keep only the text before a comma
        lines.append(f"{prop.name}:{value}")
    lines.append("END:VCARD")
    return "\r\n".join(lines) + "\r\n"


def _escape_bare_commas(text: str) -> str:
    """Put a backslash before each comma that no backslash escapes (pairs read left to right)."""
    return _ESCAPE_OR_COMMA.sub(_escape_comma, text) if "," in text else text


_ESCAPE_OR_COMMA = re.compile(r"\\.|,", re.DOTALL)


def _escape_comma(match: re.Match[str]) -> str:
    return "\\," if match.group(0) == "," else match.group(0)


def _fields_from_vobject(props: list[_Prop]) -> _Fields:
    component = _vobject().readOne(_vobject_text(props), allowQP=True, ignoreUnreadable=True)
    fields = _Fields()
    for child in component.getChildren():
        _apply(fields, child.name.upper(), child.value)
    return fields


def _apply(fields: _Fields, name: str, value: object) -> None:
    """Put one vobject value (str, list of str, or vobject.vcard.Name) into fields."""
    if name == "N":
        if not (fields.given or fields.family):
            fields.given = _text(getattr(value, "given", ""))
            fields.family = _text(getattr(value, "family", ""))
    elif name == "ORG":
        if fields.org is None:
            fields.org = ", ".join(p.strip() for p in _as_list(value) if p.strip()) or None
    elif name == "CATEGORIES":
        fields.categories += [c.strip() for c in _as_list(value) if c.strip()]
    else:
        _apply_text(fields, name, _text(value))


def _apply_text(fields: _Fields, name: str, text: str) -> None:
    if name == "FN" and not fields.fn:
        fields.fn = text
    elif name == "EMAIL":
        fields.add_email(text)
    elif name == "TEL":
        fields.add_phone(text)
    elif name == "NOTE" and text:
        fields.notes.append(text)
    elif name == "TITLE" and text and fields.title is None:
        fields.title = text
    elif name == "UID" and text and fields.uid is None:
        fields.uid = text


def _fields_fallback(props: list[_Prop]) -> _Fields:
    fields = _Fields()
    for prop in props:
        if prop.name == "N":
            parts = [*_split_escaped(prop.value, ";"), "", ""]
            value: object = _NameParts(family=_unescape(parts[0]), given=_unescape(parts[1]))
        elif prop.name in ("ORG", "CATEGORIES"):
            sep = ";" if prop.name == "ORG" else ","
            value = [_unescape(p) for p in _split_escaped(prop.value, sep)]
        else:
            value = _unescape(prop.value)
        _apply(fields, prop.name, value)
    return fields


@dataclass
class _NameParts:
    family: str
    given: str


# The fast engine: what vobject makes of the card _vobject_text writes, computed directly.
# vobject reads each "NAME:value" line and unescapes it with icalendar.stringToTextValues:
# FN, EMAIL, TEL, TITLE, NOTE, UID take the first item of the comma-separated list (bare commas
# are escaped by _vobject_text, so that is the whole value); N and ORG are split at ';' first
# (only "\;" unescaped) and each part again at ','; CATEGORIES is split at ','.

_ESCAPABLE = '\\;,Nn"'  # vobject's escapableCharList
_QP_MARK = "quoted-printable"


def _fields_fast(props: list[_Prop]) -> _Fields:
    fields = _Fields()
    for prop in props:
        name, value = prop.name, prop.value
        if value[-1:] == "=" and _QP_MARK in value.lower():
            # vobject's line reader would join the next line to this one (a QP soft break):
            # leave such a card to vobject itself, whatever it makes of it.
            return _fields(props)
        if name == "N" or name == "ORG":
            parts = [_list_or_str(p) for p in _text_values(_for_vobject(value, name), ";", ";")]
            if name == "N":
                parts += ["", ""]
                _apply(fields, "N", _NameParts(family=parts[0], given=parts[1]))  # type: ignore[arg-type]
            else:
                _apply(fields, "ORG", parts)
        elif name == "CATEGORIES":
            _apply(fields, name, _text_values(_for_vobject(value, name)))
        elif "\\" in value:
            _apply_text(fields, name, _text(_text_values(_for_vobject(value, name))[0]))
        else:  # nothing to unescape: the value as it is (_text of a str is str.strip)
            _apply_text(fields, name, value.strip())
    return fields


def _for_vobject(value: str, name: str) -> str:
    """The value exactly as _vobject_text writes it on its line."""
    value = value.replace("\n", "\\n")
    if (len(value) - len(value.rstrip("\\"))) % 2:
        value += "\\"
    if name != "CATEGORIES":
        value = _escape_bare_commas(value) if "\\" in value else value.replace(",", "\\,")
    return value


def _list_or_str(text: str) -> str | list[str]:
    """vobject.vcard.toListOrString."""
    values = _text_values(text)
    return values[0] if len(values) == 1 else values


_TOKENS: dict[str, re.Pattern[str]] = {}


def _text_values(text: str, sep: str = ",", escapable: str = _ESCAPABLE) -> list[str]:
    """vobject.icalendar.stringToTextValues(text, sep, escapable), quirks included: an empty
    last item is dropped, an unknown escape stays as it is, a lone trailing backslash becomes
    "\\eof"."""
    if "\\" not in text:
        if sep not in text:
            return [text]
        items = text.split(sep)
        if items[-1] == "":
            items.pop()
        return items
    tokens = _TOKENS.get(sep)
    if tokens is None:
        tokens = _TOKENS[sep] = re.compile(r"\\(.)|\\\Z|" + re.escape(sep), re.DOTALL)
    items, current, pos = [], [], 0
    for match in tokens.finditer(text):
        current.append(text[pos : match.start()])
        pos = match.end()
        token = match.group(0)
        if token == sep:
            items.append("".join(current))
            current = []
        elif len(token) == 1:
            current.append("\\eof")  # sic: vobject reads past the end as the character "eof"
        elif token[1] in escapable:
            current.append("\n" if token[1] in "nN" else token[1])
        else:
            current.append(token)
    current.append(text[pos:])
    last = "".join(current)
    if last or not items:
        items.append(last)
    return items


def _split_escaped(text: str, sep: str) -> list[str]:
    """Split at separators not escaped by a backslash; escapes stay for _unescape."""
    parts: list[str] = []
    current: list[str] = []
    escaped = False
    for char in text:
        if char == sep and not escaped:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
        escaped = char == "\\" and not escaped
    parts.append("".join(current))
    return parts


def _unescape(text: str) -> str:
    return re.sub(r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), text)


def _as_list(value: object) -> list[str]:
    if isinstance(value, list | tuple):
        return [item for v in value for item in _as_list(v)]
    return [str(value)] if value else []


def _text(value: object) -> str:
    return " ".join(p.strip() for p in _as_list(value) if p.strip()).strip()


def _join_name(given: str, family: str) -> str:
    """Given + family; CJK names run family first with no space (安藤 + ロイド → 安藤ロイド)."""
    if given and family and _is_cjk(given) and _is_cjk(family):
        return family + given
    return " ".join(p for p in (given, family) if p)


def _is_cjk(text: str) -> bool:
    names = (unicodedata.name(c, "") for c in text if not c.isspace())
    return all(n.startswith(("CJK", "HIRAGANA", "KATAKANA", "HANGUL")) for n in names)


def _clean_email(raw: str) -> str:
    email = raw.strip()
    if email[:7].lower() == "mailto:":
        email = email[7:].strip()
    match = _ANGLE_EMAIL.search(email)  # "Omega" <omega@example.com>
    return match.group(1) if match else email


def _clean_phone(raw: str) -> str:
    phone = raw.strip()
    if phone[:4].lower() != "tel:":
        return phone
    number, *uri_params = phone[4:].split(";")  # tel:+1-555-555-0100;ext=12
    ext = [p.partition("=")[2] for p in uri_params if p.lower().startswith("ext=")]
    return f"{number.strip()} ext. {ext[0]}" if ext and ext[0] else number.strip()
