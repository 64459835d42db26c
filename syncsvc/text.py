"""Text as calendars and people hand it to us: HTML a calendar app stored, control and bidi
characters, runs of whitespace. One place for these rules, used by every calendar backend, the
event writer and the notes reader. Pure functions, standard library only; none raises on a
``str``.
"""

from __future__ import annotations

import html
import re
import unicodedata
from urllib.parse import unquote

__all__ = ["BIDI", "description_html", "html_to_text", "is_break", "one_line", "strip_controls"]

# Bidirectional embedding/override/isolate controls and marks: they can make a name display
# as something else (e.g. reversed text); removed everywhere.
BIDI = dict.fromkeys(
    map(ord, "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
)


# C0/C1 control characters other than tab and newline: dropped from decoded vCard text.
CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def strip_controls(text: str) -> str:
    """``text`` without C0/C1 control characters (tab, LF and CR stay)."""
    return CONTROLS.sub("", text)


def is_break(ch: str) -> bool:
    """Control characters and line/paragraph separators."""
    return unicodedata.category(ch) in ("Cc", "Zl", "Zp")


def one_line(value: object) -> str:
    """One line of text: control characters and line/paragraph separators become spaces,
    bidi controls are removed, whitespace is collapsed."""
    text = str(value)
    if not text.isprintable():  # the common case needs no per-character pass
        text = text.translate(BIDI)
        text = "".join(" " if is_break(ch) else ch for ch in text)
    return " ".join(text.split())


def description_html(text: str) -> str:
    """Text for a calendar that treats a description as HTML (Google): escaped, lines as
    ``<br>``, so a name like ``<a href=...>`` stays text; ``html_to_text`` reads it back."""
    return html.escape(text, quote=False).replace("\n", "<br>")


# --------------------------------------------------------------------------------------------
# HTML → text
# --------------------------------------------------------------------------------------------

# fmt: off
BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "body", "caption", "center", "dd", "details",
    "dir", "div", "dl", "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2",
    "h3", "h4", "h5", "h6", "head", "header", "hr", "html", "html-blob", "li", "main", "menu",
    "nav", "ol", "p", "pre", "section", "summary", "table", "tbody", "td", "tfoot", "th",
    "thead", "title", "tr", "ul",
})
INLINE_TAGS = frozenset({
    "a", "abbr", "acronym", "b", "bdi", "bdo", "big", "cite", "code", "col", "colgroup", "data",
    "del", "dfn", "em", "font", "i", "img", "ins", "kbd", "label", "link", "mark", "meta", "o:p",
    "q", "s", "samp", "small", "span", "strike", "strong", "sub", "sup", "time", "tt", "u", "var",
    "wbr",
})
# fmt: on
LINE_BREAK_TAGS = frozenset({"br"})
KNOWN_TAGS = BLOCK_TAGS | INLINE_TAGS | LINE_BREAK_TAGS
# Tags that exist without a closing tag: seeing one is proof the text is HTML.
VOID_TAGS = frozenset({"br", "hr", "img", "wbr", "meta", "link", "col"})

_TAG_RE = re.compile(
    r"<!--.{0,1000}?-->|<(/?)([A-Za-z][A-Za-z0-9]*(?:[:-][A-Za-z0-9]+)*)([^<>]{0,2000})>", re.S
)
_ATTRS_RE = re.compile(r"""(?:\s+[^\s"'<>/=]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'=<>`]+))?)*\s*/?""")
_HREF_RE = re.compile(r"""href\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+))""", re.I)
_ENTITY_RE = re.compile(r"&(?:#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});")
_NEWLINE_RE = re.compile(r"\r\n?")
_LEADING_BREAK_RE = re.compile(r"^[ \t]*\n")


def _normalise_newlines(s: str) -> str:
    return _NEWLINE_RE.sub("\n", s)


def _decode_entity(m: re.Match[str]) -> str:
    ch = html.unescape(m.group())
    return " " if ch == "\xa0" else ch


def _decode_entities(s: str) -> str:
    return _ENTITY_RE.sub(_decode_entity, s) if "&" in s else s


def _is_known_tag(m: re.Match[str]) -> bool:
    if m.group(2) is None:  # a comment
        return True
    if m.group(2).lower() not in KNOWN_TAGS:
        return False
    attrs = m.group(3)
    if m.group(1):  # closing tag
        return attrs.strip() == ""
    return attrs == "" or (attrs[0] in " \t\n/" and _ATTRS_RE.fullmatch(attrs) is not None)


def _proves_html(m: re.Match[str]) -> bool:
    """A closing tag, a void tag, a comment or a tag with attributes: not a stray ``<b>``."""
    if m.group(2) is None or m.group(1):
        return True
    return m.group(2).lower() in VOID_TAGS or "=" in m.group(3) or m.group(3).endswith("/")


def _link_target(attrs: str) -> str:
    """The address of a ``mailto:``/``tel:`` link, else ""."""
    found = _HREF_RE.search(attrs)
    if not found:
        return ""
    href = html.unescape(next(g for g in found.groups() if g is not None)).strip()
    scheme, _, rest = href.partition(":")
    if scheme.lower() not in ("mailto", "tel") or not rest:
        return ""
    return unquote(rest.split("?")[0]).strip()


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def _mentions(text: str, target: str) -> bool:
    if "@" in target:
        return target.casefold() in text.casefold()
    return bool(_digits(target)) and _digits(target) in _digits(text)


def _source_text(text: str, at_line_start: bool) -> str:
    """Text between tags. A source line break right after a block tag or ``<br>``
    (``</li>\n<li>``, ``<br>\n``) is formatting, not a second line break."""
    if at_line_start:
        text = _LEADING_BREAK_RE.sub("", text, count=1)
    return _decode_entities(text)


def html_to_text(s: str) -> str:
    """Strip the HTML a calendar app adds and decode entities; plain text passes unchanged.

    Only known HTML tags are removed, and only if the text is HTML at all (it has a closing
    tag, a ``<br>``, a comment, ...): ``Jane Roe <jane@example.org>`` and ``x < y > z`` survive.
    Block tags and ``<br>`` become line breaks. A ``mailto:``/``tel:`` link whose text does not
    show its address keeps the address in parentheses. CRLF and CR become LF.
    """
    s = _normalise_newlines(s)
    tags = [m for m in _TAG_RE.finditer(s) if _is_known_tag(m)] if "<" in s else []
    if not any(_proves_html(m) for m in tags):
        return _normalise_newlines(_decode_entities(s))
    out: list[str] = []
    at_line_start = True
    link: tuple[int, str] | None = None  # (index in out where the link text starts, target)
    pos = 0

    def emit(piece: str) -> None:
        nonlocal at_line_start
        if piece:
            out.append(piece)
            if "\n" in piece or piece.strip():
                at_line_start = piece.endswith("\n")

    for m in tags:
        emit(_source_text(s[pos : m.start()], at_line_start))
        pos = m.end()
        name = (m.group(2) or "").lower()
        if name in LINE_BREAK_TAGS or (name in BLOCK_TAGS and not at_line_start):
            emit("\n")
        elif name == "a" and not m.group(1):
            target = _link_target(m.group(3))
            link = (len(out), target) if target else None
        elif name == "a" and link is not None:
            if not _mentions("".join(out[link[0] :]), link[1]):
                emit(f" ({link[1]})")
            link = None
    emit(_source_text(s[pos:], at_line_start))
    return _normalise_newlines("".join(out))
