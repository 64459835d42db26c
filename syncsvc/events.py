"""The text of a call event: its title, its description, and the person's part of it.

Pure functions, no I/O. The description follows PRODUCT.md ("A call event"): the question, how
to reach the person, context, the listening line, a one-line hint of the notes grammar, and last
the marker line. Everything the person writes below the marker is theirs; ``user_text`` gets it
back out of whatever their calendar app made of the description.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from syncsvc.text import BIDI, html_to_text, is_break, one_line

NOTES_MARKER = "--- notes (write below this line) ---"
LISTEN_LINE = "Listen for opportunities — and for something you can offer them."
NOTES_HINT = (
    "Notes: first line done / no answer / reschedule friday / skip; "
    "then lines ref: Name <email> phone, offer: ..., follow up in 2 weeks"
)
FOLLOW_UP_LINE = "Follow-up: tell them how it is going."
TOPIC_MISSING_LINE = (
    'No topic set yet: choose what you want to explore and set it with syncsvc topic "..."'
)

MAX_VALUE = 300  # one context value (a name, an offer, ...)
MAX_NOTE = 1500  # the last call's note, shown in the next event
MAX_ABOUT = 1000  # the person's own note about a contact (vCard NOTE, `add --note`)

# Dashes an editor may have made of "---": hyphen-minus, hyphen, non-breaking hyphen, figure
# dash, en dash, em dash, horizontal bar, minus sign, small/full-width hyphen-minus.
_DASHES = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\ufe63\uff0d"
_SP = r"[^\S\n]"  # whitespace within one line
MARKER_RE = re.compile(
    rf"[{_DASHES}]+{_SP}*notes{_SP}*\({_SP}*write{_SP}+below{_SP}+this{_SP}+line{_SP}*\)"
    rf"{_SP}*[{_DASHES}]*",
    re.IGNORECASE,
)
#: the first line of the receipt syncsvc appends after reading a note (PRODUCT.md)
RECEIPT_LINE = "--- syncsvc read this ---"
RECEIPT_RE = re.compile(
    rf"[{_DASHES}]+{_SP}*syncsvc{_SP}+read{_SP}+this{_SP}*[{_DASHES}]*", re.IGNORECASE
)


@dataclass(frozen=True)
class EventContext:
    """Everything the description says about one call."""

    name: str
    question: str  # already formatted with the topic by the caller
    topic_missing: bool  # True: add a line reminding to set one with `syncsvc topic "..."`
    kind: str  # rotation | referral | retry | follow_up
    phones: Sequence[tuple[str, str]]  # (as written, E.164 or digits for the tel: link)
    emails: Sequence[str]
    org: str | None = None
    title: str | None = None
    source: str | None = None  # how they came onto the list, e.g. "imported from contacts.vcf"
    referred_by: str | None = None
    last_call: tuple[date, str] | None = None  # (date, its note text or "")
    open_offers: Sequence[str] = ()
    wins: Sequence[str] = ()  # successes to tell them about (update calls)
    urls: Sequence[str] = ()  # profile pages (LinkedIn)
    about: str | None = None  # the person's own note about them (vCard NOTE, `add --note`)
    reason: str | None = None  # why the planner picked them today, in one line


# --- sanitising -------------------------------------------------------------------------


def _defuse_marker(text: str) -> str:
    """Take the dashes off anything that would read as the marker line or as the first line
    of a receipt: contact data must never move the boundary of the person's text."""
    for pattern in (MARKER_RE, RECEIPT_RE):
        while True:
            match = pattern.search(text)
            if match is None:
                break
            inner = match.group(0).strip(_DASHES + " \t")
            text = text[: match.start()] + inner + text[match.end() :]
    return text


def clean_line(value: object, limit: int | None = MAX_VALUE) -> str:
    """One line of text: control characters and newlines become spaces, bidi controls are
    removed, whitespace is collapsed; never contains the marker; cut at ``limit``."""
    text = _defuse_marker(one_line(value))
    if limit is not None and len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


def clean_block(value: object, limit: int = MAX_NOTE) -> list[str]:
    """Several lines (the person's own old note): each line cleaned, runs of blank lines
    collapsed, leading/trailing blank lines dropped, cut at about ``limit`` characters."""
    text = str(value).replace("\r\n", "\n").replace("\r", "\n")
    lines: list[str] = []
    total = 0
    for raw in text.split("\n"):
        line = clean_line(raw, limit=None)
        if not line and (not lines or not lines[-1]):
            continue
        if total + len(line) > limit:
            room = limit - total  # a long line is cut, not lost: its start is what counts
            lines.append(line[: room - 1].rstrip() + "…" if room > 20 else "…")
            break
        lines.append(line)
        total += len(line) + 1
    while lines and not lines[-1]:
        lines.pop()
    return lines


def _question(text: str) -> str:
    """The question word for word; only characters that must not be there are changed."""
    if not text.replace("\n", "").isprintable():  # the common case needs no per-character pass
        text = text.translate(BIDI)
        text = "".join(" " if is_break(ch) and ch != "\n" else ch for ch in text)
    return _defuse_marker(text).strip("\n")


def tel_uri(written: str, number: str = "") -> str | None:
    """A ``tel:`` URI a phone dials with one tap (the normalised number preferred), or None."""
    for candidate in (number.strip(), written.strip()):
        digits = re.sub(r"[^0-9]", "", candidate)
        if digits:
            return f"tel:{'+' if candidate.startswith('+') else ''}{digits}"
    return None


def phone_location(phones: Sequence[tuple[str, str]]) -> tuple[str | None, str | None]:
    """The event's location and its ``tel:`` URI: the first phone, as written (cleaned like
    any contact data), so a phone's calendar offers to dial it with one tap. (None, None)
    without a phone."""
    for written, number in phones:
        shown = clean_line(written) or clean_line(number)
        if shown:
            return shown, tel_uri(clean_line(written), clean_line(number))
    return None, None


def _own_note(about: str | None) -> list[str]:
    """The person's own note about them ("rowed together at university"): what one wants
    to remember before calling an old contact. Its lines are kept, each cleaned."""
    lines = clean_block(about or "", limit=MAX_ABOUT)
    if len(lines) == 1:
        return [f"Your note: {lines[0]}"]
    return ["Your note:", *(f"  {line}" if line else "" for line in lines)] if lines else []


# --- the event text ---------------------------------------------------------------------


def summary(name: str) -> str:
    """The event title: ``Call {name}``."""
    clean = clean_line(name)
    return f"Call {clean}" if clean else "Call"


def description(ctx: EventContext) -> str:
    """The event description, ending with the marker line and an empty line."""
    lines: list[str] = [_question(ctx.question)]
    if ctx.topic_missing:
        lines.append(TOPIC_MISSING_LINE)
    if ctx.kind == "follow_up":
        lines.append(FOLLOW_UP_LINE)
    if ctx.reason and clean_line(ctx.reason):
        lines.append(f"Why today: {clean_line(ctx.reason)}")

    lines += ["", "How to reach them:"]
    reach: list[str] = []
    for written, number in ctx.phones:
        shown = clean_line(written) or clean_line(number)
        tel = tel_uri(clean_line(written), clean_line(number))
        if tel and shown:
            reach.append(f"Phone: {shown} ({tel})")
        elif shown:
            reach.append(f"Phone: {shown}")
    for email in ctx.emails:
        address = clean_line(email).replace(" ", "")
        if address:
            reach.append(f"Email: {address}")
    for url in ctx.urls:
        if clean_line(url):
            reach.append(f"Profile: {clean_line(url).replace(' ', '')}")
    lines += reach or ["No phone or email on file: look them up before the call."]

    context: list[str] = []
    org, title = clean_line(ctx.org or ""), clean_line(ctx.title or "")
    if org or title:
        context.append(f"Work: {title} at {org}" if org and title else f"Work: {org or title}")
    context += _own_note(ctx.about)
    if ctx.source and clean_line(ctx.source):
        context.append(f"On your list: {clean_line(ctx.source)}")
    if ctx.referred_by and clean_line(ctx.referred_by):
        context.append(f"Referred by: {clean_line(ctx.referred_by)}")
    if ctx.last_call is None:
        context.append("Last call: none recorded yet")
    else:
        day, note = ctx.last_call
        shown_day = day.isoformat() if isinstance(day, date) else clean_line(day)
        note_lines = clean_block(note or "")
        if note_lines:
            context.append(f"Last call: {shown_day}, your notes:")
            context += [f"  {line}" if line else "" for line in note_lines]
        else:
            context.append(f"Last call: {shown_day} (no notes)")
    for offer in ctx.open_offers:
        if clean_line(offer):
            context.append(f"You offered: {clean_line(offer)}")
    for win in ctx.wins:
        if clean_line(win):
            context.append(f"Tell them: {clean_line(win)}")
    lines += ["", "About them:", *context]

    lines += ["", LISTEN_LINE, NOTES_HINT, NOTES_MARKER, ""]
    return "\n".join(lines) + "\n"


# --- reading the person's part back -----------------------------------------------------


def user_text(description: str, generated: str | None = None, receipt: str | None = None) -> str:
    """What the person wrote: everything they added to the description, anywhere.

    ``generated`` is the text syncsvc wrote into the event and ``receipt`` the receipt block it
    appended last (``with_receipt``); the person's text is the difference: lines added above,
    between or below syncsvc's, with the marker line deleted or not, and what they typed at
    the end or start of one of syncsvc's lines. Nothing in syncsvc's own text (a contact's
    name or organisation that looks like the marker line) can move that boundary. HTML a
    calendar app added is converted to text first. Without ``generated`` (an event syncsvc
    has no record of writing) the text below the marker line counts, minus the receipt.
    Never raises: ``html_to_text`` never raises on a ``str``, and neither does anything else
    here.
    """
    text = _as_text(description)
    if generated:
        added = _added_lines(text, _as_text(generated))
    else:
        match = MARKER_RE.search(text)
        if match is None:
            return ""
        added = text[match.end() :].strip()
    return _without_receipt(added, receipt) if receipt else added


def _receipt_start(lines: Sequence[str]) -> int | None:
    """The index of the last line that starts a receipt (``RECEIPT_LINE``, loosely)."""
    for i in range(len(lines) - 1, -1, -1):
        if RECEIPT_RE.match(lines[i].strip()):
            return i
    return None


def _without_receipt(text: str, receipt: str) -> str:
    """``text`` (the lines others added to syncsvc's) without ``receipt`` where it stands:
    from its first line on, the lines that match the receipt's in order. A line of the
    person's that only says the same as a receipt line ("offer: intro to Sam") stays, above
    the receipt or when the receipt is not there at all (deleted, or never written)."""
    lines = text.splitlines()
    start = _receipt_start(lines)
    if start is None:
        return text.strip()
    typed = _added_lines("\n".join(lines[start:]), receipt)  # into or below the receipt
    return "\n".join(x for x in ("\n".join(lines[:start]).strip(), typed) if x)


def up_to_marker(description: str) -> str | None:
    """The text of an event up to and including its marker line (what syncsvc wrote, when
    nothing else records it), or None without a marker line."""
    text = _as_text(description)
    match = MARKER_RE.search(text)
    return text[: match.end()] if match else None


def added_text(text: str, earlier: str) -> str:
    """The lines of ``text`` (the person's text now) that are not in ``earlier`` (their text
    at an earlier read, e.g. a preparation note), compared as ``user_text`` does."""
    return _added_lines(text, earlier) if earlier.strip() else text.strip()


def same_text(a: str, b: str) -> bool:
    """``a`` and ``b`` say the same once HTML, blank lines, spacing, case and dash variants
    are set aside: a calendar app's reformatting is not an edit."""
    return _comparable_lines(_as_text(a)) == _comparable_lines(_as_text(b))


def receipt_block(lines: Sequence[str]) -> str:
    """The receipt syncsvc writes back into an event: ``RECEIPT_LINE`` and then one line
    each for what it understood and what it could not use."""
    body = [line for line in (clean_line(x, limit=None) for x in lines) if line]
    return "\n".join([RECEIPT_LINE, *body])


def with_receipt(text: str, receipt: str, old_receipt: str | None = None) -> str:
    """``text`` (the event's description as text) with ``old_receipt`` taken out where it
    still stands as syncsvc wrote it, and ``receipt`` appended last: replaced, never doubled.
    Lines the person typed into or below the old receipt stay."""
    if old_receipt:
        text = _without_block(text, old_receipt)
    return text.rstrip() + "\n\n" + receipt + "\n"


def ends_with(text: str, receipt: str) -> bool:
    """Whether ``receipt`` is the last thing in ``text`` (compared loosely)."""
    ours = _comparable_lines(receipt)
    return bool(ours) and _comparable_lines(_as_text(text))[-len(ours) :] == ours


def _comparable_lines(text: str) -> list[str]:
    return [c for c in (_comparable(line) for line in text.splitlines()) if c]


def _without_block(text: str, block: str) -> str:
    """``text`` without the lines that match the receipt ``block``'s lines in order (loosely),
    from the line where that receipt starts: the person's lines above it are never taken."""
    lines = text.splitlines()
    start = _receipt_start(lines)
    if start is None:
        return text
    filled = [i for i, line in enumerate(lines) if line.strip() and i >= start]
    ours = _comparable_lines(block)
    matcher = difflib.SequenceMatcher(
        None, ours, [_comparable(lines[i]) for i in filled], autojunk=False
    )
    drop: set[int] = set()
    for tag, _i1, _i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            drop.update(filled[j1:j2])
    return "\n".join(line for i, line in enumerate(lines) if i not in drop)


def _as_text(value: object) -> str:
    text = value if isinstance(value, str) else ("" if value is None else str(value))
    return html_to_text(text)


def _comparable(line: str) -> str:
    line = line.translate(BIDI)
    for dash in _DASHES[1:]:
        line = line.replace(dash, "-")
    return " ".join(line.split()).casefold()


def _added_lines(text: str, generated: str) -> str:
    """Lines of ``text`` that are not in ``generated`` (compared loosely, in order); blank
    lines are kept only between two kept lines. A line of ``generated`` with something
    typed before or after it gives only what was typed."""
    lines = text.splitlines()
    filled = [i for i, line in enumerate(lines) if line.strip()]
    original_lines = [line for line in generated.splitlines() if line.strip()]
    original = [_comparable(line) for line in original_lines]
    matcher = difflib.SequenceMatcher(
        None, original, [_comparable(lines[i]) for i in filled], autojunk=False
    )
    added: list[int] = []
    pieces: dict[int, str] = {}  # a line of ours with text typed onto it: just that text
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag not in ("insert", "replace"):
            continue
        for j in filled[j1:j2]:
            added.append(j)
            if tag == "replace":
                extra = _typed_onto(lines[j], original_lines[i1:i2])
                if extra is not None:
                    pieces[j] = extra
    kept: list[str] = []
    for previous, index in zip([None, *added], added, strict=False):
        if previous is not None and all(not line.strip() for line in lines[previous + 1 : index]):
            kept += lines[previous + 1 : index]  # the blank lines between two of theirs
        kept.append(pieces.get(index, lines[index]))
    return "\n".join(kept).strip()


def _typed_onto(line: str, candidates: Sequence[str]) -> str | None:
    """If ``line`` is one of ``candidates`` (syncsvc's lines) with text typed before or after
    it, that text; else None (the whole line is the person's)."""
    for original in candidates:
        pattern = _loose_pattern(original)
        if pattern is None:
            continue
        at_start = re.match(pattern + r"(?=\s|$)", line, re.IGNORECASE)
        if at_start:
            return line[at_start.end() :].strip()
        at_end = re.search(r"(?:^|(?<=\s))" + pattern + r"\s*$", line, re.IGNORECASE)
        if at_end:
            return line[: at_end.start()].strip()
    return None


def _loose_pattern(line: str) -> str | None:
    """A regex matching ``line`` as ``_comparable`` compares: any run of spaces, any dash,
    bidi marks ignored, case-insensitive (the caller's flag)."""
    words = line.translate(BIDI).split()
    if not words:
        return None
    dash = f"[{re.escape(_DASHES)}]"
    return r"\s*" + r"\s+".join(
        "".join(dash if ch in _DASHES else re.escape(ch) for ch in word) for word in words
    )
