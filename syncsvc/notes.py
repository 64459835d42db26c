"""Completion notes: what the person writes into a call event after the call.

A pure module (standard library and ``syncsvc.text``, which turns the HTML a calendar app
stored into plain text). ``parse_notes`` reads the outcome, referrals, offers, follow-up date
and wins out of the person's text. It never raises on a ``str``, and it is deterministic.

The grammar (keywords case-insensitive; the vocabularies below are examples of each meaning,
the parser is forgiving because people type on phones):

- The outcome comes from the first non-empty line. The line is cut into clauses at ``, ; . ! ?``,
  ``:`` and spaced dashes; the first clause that carries a keyword decides, the earliest keyword
  in it wins. Clauses that only say "I tried" (``called``, ``tried twice``) or are one or two
  filler words (``Sadly``, ``Jane Roe``) are read past, so ``called, no answer`` is a no-answer;
  any other clause without a keyword stops the search: the call happened (``done``).
  Negated contact verbs (``not done``, ``didn't reach``, ``couldn't talk``) are ``no_answer``:
  the call did not happen, try again in a few days.
  A few ambiguous words (``busy``, ``later``, ``nope``) count only in a clause of at most four
  words, ``call back``/``try again`` also at the start of a longer clause, and
  ``move/push/shift to`` only with a date right after it.
  A first line that is nothing but a date after the call's day (``tomorrow``, ``friday``,
  ``2026-12-01``) means "reschedule to that day".
- A title starting with a check mark, ``[x]``, ``done`` or ``called`` means done even with no text.
- A ``ref:``/``offer:``/``win:``/follow-up line as the first line is note text: done.
- Note lines may start anywhere in the text (after an optional bullet). ``ref:`` lines: the
  email in ``<...>``, parentheses, after a comma or bare, phones in any common format (7-15
  digits, kept as written), a name cut before a description (``Jane Roe - VP at Acme``,
  ``Jane Roe (Acme)``, ``Jane Roe from Acme``). Several people: one per line, or separated by
  ``;``; after a plural keyword (``refs:``) also by ``,`` and ``and``. After a singular one a
  ``,`` starts a new person only after one with an email or phone.
- Dates: ISO ``2026-12-01``; ``1.12.`` / ``1.12.2026`` (day.month); ``12/01`` (month/day, or
  day/month when the first number is above 12); ``dec 1``, ``1st of december``; ``today``,
  ``tomorrow``, ``day after tomorrow``; a weekday (the next such day strictly after the call's
  day); ``next week`` (Monday of next week), ``next month``, ``next year``, ``end of week``
  (Friday), ``end of month``; ``in 3 days`` / ``2 weeks`` / ``a couple of weeks`` / ``2w``;
  ``the 15th``. A date without a year is the first such day on or after the call's day.
  Anything unparseable gives ``None``; an impossible date (``2026-02-30``) gives ``None``.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from functools import partial
from typing import Literal

from syncsvc.text import html_to_text

__all__ = ["Outcome", "ParsedNotes", "Referral", "parse_notes"]

Outcome = Literal["done", "no_answer", "rescheduled", "skipped"]


@dataclass(frozen=True)
class Referral:
    name: str  # "Jane Roe" ("" if the line only had an email/phone)
    emails: tuple[str, ...]
    phones: tuple[str, ...]  # as written, e.g. "+1 555 0100"
    line: str  # the original line


@dataclass(frozen=True)
class ParsedNotes:
    outcome: Outcome | None  # None: nothing written and the title has no done marker
    reschedule_to: date | None  # only with "rescheduled"; None = next planning day
    referrals: tuple[Referral, ...]
    offers: tuple[str, ...]
    follow_up: date | None
    wins: tuple[str, ...]
    text: str  # the person's cleaned text, kept whole as the call's note


# --------------------------------------------------------------------------------------------
# Vocabularies (regular-expression fragments, matched on lower-cased text)
# --------------------------------------------------------------------------------------------

# fmt: off
# Check marks and boxes that mean "done".
DONE_MARKS = (r"✓", r"✔", r"✅", r"☑", r"👍", r"\[\s*[x✓✔]\s*\]", r"\(x\)")
# Words that mean the call happened (a keyword that wins over anything later in its clause).
DONE_WORDS = (
    r"done", r"talked", r"spoke", r"spoken", r"met", r"chatted", r"connected", r"caught up",
    r"completed?", r"finished", r"conversation", r"convo", r"great", r"good", r"nice",
    r"excellent", r"helpful", r"productive", r"lovely", r"awesome", r"fantastic", r"wonderful",
    r"useful", r"amazing", r"brilliant", r"perfect",
)
# "I tried": an attempt that is done unless a later clause says otherwise.
ATTEMPT_WORDS = (
    r"called", r"call", r"calling", r"rang", r"phoned", r"dialed", r"dialled", r"tried",
    r"trying", r"attempted", r"reached", r"texted", r"messaged", r"pinged",
)
NO_ANSWER_PHRASES = (
    r"no[\s-]*answer", r"no (?:reply|response|pick[\s-]?up|pickup)", r"voice[\s-]?mail\w*",
    r"vm", r"v/m", r"answering machine", r"mail[\s-]?box(?: (?:is|was))? full",
    r"left (?:a |an |her |him |them )?(?:voice )?(?:message|msg|voicemail|vm|note)",
    r"unreachable", r"unavailable", r"unanswered", r"not (?:reachable|available|reached)",
    r"(?:nobody|no one|no-one) (?:answered|picked up|home|there)", r"not picking up",
    r"rang out", r"missed (?:her|him|them|the call|each other)", r"forgot", r"not yet",
    r"no[\s-]?show", r"line (?:was )?(?:busy|dead)",
)
# A negated contact verb: "not done", "didn't reach", "couldn't get to talk", "no time to talk".
_NEGATION = (
    r"(?:not|never|no|cannot|(?:did|could|can|ca|wo|was|were|is|has|have|had|would|should)"
    r"n'?t|(?:did|could|can|would|was) not)"
)
_NEGATION_FILLER = (
    r"(?:yet|really|actually|even|able|to|get|got|manage|managed|quite|properly|time|a|the|"
    r"any|chance|have|had|i|we|he|she|they)"
)
_CONTACT_VERBS = (
    r"(?:done|do|call|called|calling|reach|reached|talk|talked|speak|spoke|spoken|meet|met|"
    r"connect|connected|happen|happened|work|worked|get through|got through|get hold|"
    r"pick up|picked up|answer|answered|chat|chatted|catch|caught|make it|made it)"
)
# ... but "couldn't talk long" / "didn't talk about salary" is a call that happened.
_NOT_NEGATED_AFTER = r"(?!\s+(?:long|much|for long|more|about|to (?:her|him|them) (?:long|much)))"
NEGATED_CONTACT = (
    rf"{_NEGATION}\s+(?:{_NEGATION_FILLER}\s+){{0,4}}{_CONTACT_VERBS}{_NOT_NEGATED_AFTER}"
)
# Ambiguous words: only in a clause of at most SHORT_CLAUSE_WORDS words ("she was busy").
NO_ANSWER_SHORT = (r"busy", r"nope", r"no luck", r"n/a")
RESCHEDULE_WORDS = (
    r"re[\s-]?sched\w*", r"postpon\w*", r"re[\s-]?book\w*", r"defer(?:red)?",
    r"push(?:ed)? back", r"another (?:time|day)", r"some other (?:time|day)", r"rain ?check",
)
RESCHEDULE_SHORT = (r"later", r"not now")
# Only at the start of a clause, or in a short one: "call back tomorrow after 5".
RESCHEDULE_LEADING = (r"call (?:her |him |them )?(?:back|again)", r"try (?:again|later)")
# Only with a date right after: "move to friday", not "moved to Berlin".
RESCHEDULE_MOVE = (
    r"(?:move|moved|moving|push|pushed|shift|shifted|bump|bumped)(?: it| the call| call)?"
    r"(?: to| until| till)?",
)
SKIP_WORDS = (
    r"skip\w*", r"not this time", r"cancel+\w*", r"called off", r"not today",
)
FOLLOW_UP_WORDS = (
    r"follow(?:ing)?[\s-]*ups?", r"followups?", r"f/u", r"check(?:ing)? back", r"check in",
    r"circle back", r"touch base", r"reconnect", r"catch up",
)
# Note-line keywords seen in the first line: evidence that a call happened.
NOTE_KEYWORDS = (
    r"(?:refs?|referrals?|intros?|offers?|offered|wins?)\s*:", r"introduc\w+",
    *FOLLOW_UP_WORDS,
)
TITLE_DONE = (r"✓", r"✔", r"✅", r"☑", r"\[\s*[x✓✔]\s*\]", r"done(?!\w)", r"called(?!\w)")

# Line prefixes (matched on the original line, case-insensitive).
_BULLET = r"^\s*(?:[-*•·◦‣▪+]\s+|\d{1,2}[.)]\s+)?"
_SEP = r"\s*(?::|=>|->|→|[-–—=]+)\s*"
REF_KEYWORDS = (
    r"refs?", r"referrals?", r"referred", r"referee", r"intros?", r"introductions?",
    r"new\s+(?:contacts?|names?|leads?)",
)
REF_VERBS = (r"introduc(?:e|ed|es|ing)", r"intro(?:['’]?d)?", r"refer(?:s|red|ring)?", r"referral")
REF_VERB_LEADS = (
    r"she", r"he", r"they", r"i", r"we", r"will", r"would", r"could", r"can", r"may", r"might",
    r"wants?", r"offered", r"promised", r"to", r"gonna", r"going", r"is", r"was", r"got",
    r"has", r"have", r"kindly",
)
REF_ARROWS = (r"-->", r"->", r"→", r"⟶", r"=>", r"⇒", r"➡", r"➜", r"➔")
OFFER_KEYWORDS = (
    r"offers?", r"offered", r"give", r"to\s+give", r"gave", r"promised", r"owe",
    r"i\s+owe(?:\s+(?:her|him|them))?", r"to-?\s?dos?\s+for\s+(?:them|her|him)",
    r"for\s+(?:them|her|him)",
)
OFFER_VERBS = (r"(?:i\s+)?(?:offered|promised)\s+(?:to\s+)?",)
WIN_KEYWORDS = (r"(?:big\s+)?wins?", r"won", r"success(?:es)?", r"yay")
WIN_EMOJI = (r"🎉", r"🏆", r"🥳")
# A ref whose "name" is one of these is no ref at all ("refs: none").
NO_NAMES = frozenset(
    {"none", "nobody", "no one", "noone", "n/a", "na", "nothing", "no", "nope", "not yet",
     "none yet", "-", "0", "zero", "?"}
)


def _digits(s: str) -> str:
    return re.sub(r"\D", "", s)


def _alternation(words: tuple[str, ...]) -> str:
    return "(?:" + "|".join(words) + ")"


def _words_re(words: tuple[str, ...]) -> re.Pattern[str]:
    return re.compile(r"(?<![\w'])" + _alternation(words) + r"(?![\w'])")


_DONE_MARK_RE = re.compile(_alternation(DONE_MARKS))
_TITLE_DONE_RE = re.compile(r"^[\W_]*?" + _alternation(TITLE_DONE))
_ATTEMPT_RE = _words_re(ATTEMPT_WORDS)
_BULLET_RE = re.compile(_BULLET)
_FOLLOW_UP_RE = _words_re(FOLLOW_UP_WORDS)
_REF_RE = re.compile(
    _BULLET
    + r"(?:"
    + _alternation(REF_KEYWORDS) + _SEP
    + r"|(?:" + _alternation(REF_VERB_LEADS) + r"(?:['’](?:ll|d|s))?\s+){0,3}"
    + _alternation(REF_VERBS) + r"\s+(?:me\s+|us\s+)?(?:to|with)\s+"
    + r"|" + _alternation(REF_ARROWS) + r"\s*"
    + r")",
    re.I,
)
_OFFER_RE = re.compile(
    _BULLET + r"(?:" + _alternation(OFFER_KEYWORDS) + _SEP + r"|" + _alternation(OFFER_VERBS)
    + r")",
    re.I,
)
_WIN_RE = re.compile(
    _BULLET + r"(?:" + _alternation(WIN_KEYWORDS) + r"\s*(?::|!+|=>|->|[-–—=]+)\s*|"
    + _alternation(WIN_EMOJI) + r"\s*(?:[:\-–—]\s*)?)",
    re.I,
)


# fmt: on


@dataclass(frozen=True)
class _Rule:
    """One outcome vocabulary: how it is matched and what it means."""

    outcome: Outcome
    pattern: re.Pattern[str]
    # any: anywhere in the clause; short: in a clause of <= 4 words; leading: also at the
    # start of a longer clause; move: only with a date right after it
    kind: Literal["any", "short", "leading", "move"]
    priority: int  # lower wins when two keywords start at the same place


_RULES = (
    _Rule("no_answer", re.compile(r"(?<![\w'])" + NEGATED_CONTACT + r"(?![\w'])"), "any", 0),
    _Rule("no_answer", _words_re(NO_ANSWER_PHRASES), "any", 1),
    _Rule("no_answer", _words_re(NO_ANSWER_SHORT), "short", 1),
    _Rule("skipped", _words_re(SKIP_WORDS), "any", 2),
    _Rule("rescheduled", _words_re(RESCHEDULE_WORDS), "any", 3),
    _Rule("rescheduled", _words_re(RESCHEDULE_SHORT), "short", 3),
    _Rule("rescheduled", _words_re(RESCHEDULE_LEADING), "leading", 3),
    _Rule("rescheduled", _words_re(RESCHEDULE_MOVE), "move", 3),
    _Rule("done", _DONE_MARK_RE, "any", 4),
    _Rule("done", _words_re(DONE_WORDS), "any", 4),
    _Rule("done", re.compile(r"(?<![\w'])" + _alternation(NOTE_KEYWORDS)), "any", 4),
)
SHORT_CLAUSE_WORDS = 4  # "short" and "leading" keywords count anywhere in a clause this short
FILLER_CLAUSE_WORDS = 2  # a keyword-less clause this short is read past

# --------------------------------------------------------------------------------------------
# Dates
# --------------------------------------------------------------------------------------------

# fmt: off
MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3, "april": 4,
    "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7, "august": 8, "aug": 8,
    "september": 9, "sept": 9, "sep": 9, "october": 10, "oct": 10, "november": 11, "nov": 11,
    "december": 12, "dec": 12,
}
WEEKDAYS = {
    "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5,
    "sunday": 6,
}
WEEKDAY_ABBREVIATIONS = {
    "mon": 0, "tues": 1, "tue": 1, "weds": 2, "wed": 2, "thurs": 3, "thur": 3, "thu": 3,
    "fri": 4, "sat": 5, "sun": 6,
}
NUMBER_WORDS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "a couple of": 2, "a couple": 2, "couple of": 2, "couple": 2, "a few": 3, "few": 3,
    "several": 3,
}
UNITS = {
    "days": "d", "day": "d", "d": "d", "weeks": "w", "week": "w", "wks": "w", "wk": "w",
    "w": "w", "fortnights": "f", "fortnight": "f", "months": "m", "month": "m", "mths": "m",
    "mth": "m", "mos": "m", "mo": "m", "years": "y", "year": "y", "yrs": "y", "yr": "y",
    "y": "y",
}
TOMORROW_WORDS = (
    "tomorrow", "tomorow", "tommorow", "tommorrow", "tmrw", "tmrrw", "tmr", "tmw", "2moro",
    "2morrow",
)
DATE_FILLERS = (r"to", r"for", r"on", r"until", r"till", r"til", r"by", r"around", r"at")
DATE_FILLER_SYMBOLS = (r"->", r"→", r"=>", r":", r"-", r"–", r"—", r"~")
MAX_YEARS_AHEAD = 8  # a date without a year looks this far for a valid day (29 February)
MAX_DATE_SEARCH_WORDS = 8  # a date must come within this many words after its keyword
DATE_SEARCH_CHARS = 200  # ... and within this many characters


def _keys(d: dict[str, int] | dict[str, str] | tuple[str, ...]) -> str:
    """An alternation of the (literal) words, longest first."""
    return "(?:" + "|".join(re.escape(k) for k in sorted(d, key=len, reverse=True)) + ")"


_END = r"(?![\w'])"
_FILLERS_RE = re.compile(
    r"\s*(?:(?:" + "|".join(DATE_FILLERS) + r")" + _END + r"\s*|"
    + _alternation(DATE_FILLER_SYMBOLS) + r"\s*)*"
)
_ISO_RE = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?!\d)")
_DOTTED_RE = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4}|\d{2})?(?![\d.])")
_SLASHED_RE = re.compile(r"(\d{1,2})/(\d{1,2})(?:/(\d{4}|\d{2}))?(?![\d/])")
_MONTH_DAY_RE = re.compile(
    r"(" + _keys(MONTHS) + r")\.?\s*(\d{1,2})(?:st|nd|rd|th)?(?:,?\s*(\d{4}))?(?![\w'])"
)
_DAY_MONTH_RE = re.compile(
    r"(\d{1,2})(?:st|nd|rd|th)?\.?\s*(?:of\s+)?(" + _keys(MONTHS) + r")\.?(?:,?\s*(\d{4}))?"
    + _END
)
_DAY_OF_MONTH_RE = re.compile(r"the\s+(\d{1,2})(?:st|nd|rd|th)" + _END)
_TODAY_RE = re.compile(r"(?:today|tonight)" + _END)
_TOMORROW_RE = re.compile(r"(?:the\s+)?(?:(day\s+after)\s+)?" + _keys(TOMORROW_WORDS) + _END)
_WEEKDAY_RE = re.compile(r"(?:(?:next|this|coming|the)\s+)?(" + _keys(WEEKDAYS) + r")" + _END)
_WEEKDAY_ABBR_RE = re.compile(
    r"(?:(?:next|this|coming|the)\s+)?(" + _keys(WEEKDAY_ABBREVIATIONS) + r")\.?" + _END
)
_NEXT_RE = re.compile(r"next\s+(week|month|year)" + _END)
_END_OF_RE = re.compile(r"(?:the\s+)?end\s+of\s+(?:the\s+|this\s+)?(week|month)" + _END)
_START_OF_NEXT_MONTH_RE = re.compile(
    r"(?:the\s+)?(?:start|beginning)\s+of\s+(?:the\s+)?next\s+month" + _END
)
_IN_N_RE = re.compile(
    r"(?:(?:in|after|within)\s+)?(?:(?:about|around|approx\.?|~)\s*)?"
    r"(\d{1,3}|" + _keys(NUMBER_WORDS).replace(r"\ ", r"\s+") + r")"
    r"\s*(?:[-–]\s*\d{1,3}\s*)?(" + _keys(UNITS) + r")" + _END
)
_SENTENCE_END_RE = re.compile(r"(?<=[^\d\s])\.(?=\s|$)|[;!?]")
# fmt: on


def _safe(make: Callable[[], date | None]) -> date | None:
    """Date arithmetic that cannot raise: out-of-range or impossible dates are None."""
    try:
        return make()
    except (ValueError, OverflowError):
        return None


def _add_months(d: date, months: int) -> date:
    index = d.year * 12 + d.month - 1 + months
    year, month = divmod(index, 12)
    day = min(d.day, calendar.monthrange(year, month + 1)[1])
    return date(year, month + 1, day)


def _next_weekday(call_day: date, weekday: int) -> date:
    """The next such weekday strictly after ``call_day``."""
    return call_day + timedelta(days=(weekday - call_day.weekday() - 1) % 7 + 1)


def _year(text: str | None) -> int | None:
    if text is None:
        return None
    return int(text) + 2000 if len(text) == 2 else int(text)


def _month_day(call_day: date, month: int, day: int, year: int | None) -> date | None:
    """An explicit date; without a year the first such valid day on or after ``call_day``."""
    if year is not None:
        return _safe(lambda: date(year, month, day))
    for offset in range(MAX_YEARS_AHEAD + 1):
        found = _safe(partial(date, call_day.year + offset, month, day))
        if found is not None and found >= call_day:
            return found
    return None


def _slashed(call_day: date, m: re.Match[str]) -> date | None:
    first, second = int(m.group(1)), int(m.group(2))
    month, day = (second, first) if first > 12 >= second else (first, second)
    return _month_day(call_day, month, day, _year(m.group(3)))


def _day_of_month(call_day: date, day: int) -> date | None:
    """The next day ``day`` of a month strictly after ``call_day``."""
    first = call_day.replace(day=1)
    for months in range(13):
        month_start = _safe(partial(_add_months, first, months))
        if month_start is None:
            return None
        candidate = _safe(partial(month_start.replace, day=day))
        if candidate is not None and candidate > call_day:
            return candidate
    return None


def _relative(call_day: date, count: int, unit: str) -> date | None:
    if unit == "d":
        return _safe(lambda: call_day + timedelta(days=count))
    if unit in ("w", "f"):
        return _safe(lambda: call_day + timedelta(weeks=count * (2 if unit == "f" else 1)))
    return _safe(lambda: _add_months(call_day, count * (12 if unit == "y" else 1)))


def _count(word: str) -> int:
    word = re.sub(r"\s+", " ", word)
    return int(word) if word.isdigit() else NUMBER_WORDS.get(word, 1)


def _next(call_day: date, what: str) -> date | None:
    if what == "week":
        return _safe(lambda: _next_weekday(call_day, 0))
    return _relative(call_day, 1, "m" if what == "month" else "y")


def _last_of_month(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def _end_of(call_day: date, what: str) -> date | None:
    if what == "week":
        return _safe(lambda: _next_weekday(call_day, 4))
    last = _last_of_month(call_day)
    if call_day < last:
        return last
    return _safe(lambda: _last_of_month(_add_months(call_day.replace(day=1), 1)))


_DateRule = tuple[re.Pattern[str], Callable[[date, re.Match[str]], date | None]]

_DATE_RULES: tuple[_DateRule, ...] = (
    (_ISO_RE, lambda d, m: _safe(lambda: date(*map(int, m.groups())))),
    (_DOTTED_RE, lambda d, m: _month_day(d, int(m[2]), int(m[1]), _year(m[3]))),
    (_SLASHED_RE, _slashed),
    (_DAY_MONTH_RE, lambda d, m: _month_day(d, MONTHS[m[2]], int(m[1]), _year(m[3]))),
    (_MONTH_DAY_RE, lambda d, m: _month_day(d, MONTHS[m[1]], int(m[2]), _year(m[3]))),
    (_DAY_OF_MONTH_RE, lambda d, m: _day_of_month(d, int(m[1]))),
    (_TODAY_RE, lambda d, m: d),
    (_TOMORROW_RE, lambda d, m: _relative(d, 2 if m[1] else 1, "d")),
    (_NEXT_RE, lambda d, m: _next(d, m[1])),
    (_END_OF_RE, lambda d, m: _end_of(d, m[1])),
    (_START_OF_NEXT_MONTH_RE, lambda d, m: _safe(lambda: _add_months(d.replace(day=1), 1))),
    (_WEEKDAY_RE, lambda d, m: _safe(lambda: _next_weekday(d, WEEKDAYS[m[1]]))),
    (_IN_N_RE, lambda d, m: _relative(d, _count(m[1]), UNITS[m[2]])),
)
_ABBREVIATED_WEEKDAY_RULE: _DateRule = (
    _WEEKDAY_ABBR_RE,
    lambda d, m: _safe(lambda: _next_weekday(d, WEEKDAY_ABBREVIATIONS[m[1]])),
)


def _date_at(
    s: str, pos: int, call_day: date, *, endpos: int | None = None, abbreviations: bool = True
) -> tuple[date | None, int] | None:
    """A date expression starting at ``pos`` (after fillers such as "to", ":").

    None if there is none; else (the date, or None if it is impossible, and where it ends).
    """
    endpos = len(s) if endpos is None else endpos
    fillers = _FILLERS_RE.match(s, pos, endpos)
    pos = fillers.end() if fillers else pos
    rules = (*_DATE_RULES, _ABBREVIATED_WEEKDAY_RULE) if abbreviations else _DATE_RULES
    for pattern, compute in rules:
        m = pattern.match(s, pos, endpos)
        if m:
            return compute(call_day, m), m.end()
    return None


def _word_starts(s: str, start: int, end: int) -> Iterator[int]:
    for i in range(start + 1, end):
        if (s[i - 1].isspace() or s[i - 1] in "([") and not s[i].isspace():
            yield i


def _date_after(s: str, start: int, call_day: date) -> date | None:
    """The first date within a few words after ``start``, in the same sentence."""
    window_end = min(len(s), start + DATE_SEARCH_CHARS)
    stop = _SENTENCE_END_RE.search(s, start, window_end)
    end = stop.start() if stop else window_end
    found = _date_at(s, start, call_day, endpos=end)
    if found is not None:
        return found[0]
    for count, pos in enumerate(_word_starts(s, start, end)):
        if count >= MAX_DATE_SEARCH_WORDS:
            break
        found = _date_at(s, pos, call_day, endpos=end, abbreviations=False)
        if found is not None:
            return found[0]
    return None


# --------------------------------------------------------------------------------------------
# The outcome (first non-empty line)
# --------------------------------------------------------------------------------------------

_APOSTROPHES = str.maketrans({"’": "'", "‘": "'", "ʼ": "'", "´": "'", "`": "'", "\ufe0f": None})
_CLAUSE_SEPARATOR_RE = re.compile(r"[,;.!?…]+(?=\s|$)|\s[-–—/|]+(?=\s|$)|:(?=\s|$)")
_TRAILING_PUNCTUATION = " \t.!?,;:-–—"


def _fold(s: str) -> str:
    """Lower case, plain apostrophes, no emoji variation selectors, single spaces."""
    return re.sub(r"\s+", " ", s.translate(_APOSTROPHES).lower()).strip()


def _clauses(s: str) -> Iterator[tuple[int, int]]:
    start = 0
    for sep in _CLAUSE_SEPARATOR_RE.finditer(s):
        if sep.start() > start:
            yield start, sep.start()
        start = sep.end()
    if start < len(s):
        yield start, len(s)


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    rule: _Rule


def _first_hit(s: str, start: int, end: int, call_day: date) -> _Hit | None:
    """The earliest valid outcome keyword in the clause ``s[start:end]``."""
    clause = s[start:end]
    first_char = start + len(clause) - len(clause.lstrip())
    short = len(clause.split()) <= SHORT_CLAUSE_WORDS
    hits: list[_Hit] = []
    for rule in _RULES:
        for m in rule.pattern.finditer(s, start, end):
            if rule.kind == "short" and not short:
                continue
            if rule.kind == "leading" and not (short or m.start() == first_char):
                continue
            if rule.kind == "move":
                found = _date_at(s, m.end(), call_day)
                if found is None or found[0] is None:
                    continue
            hits.append(_Hit(m.start(), m.end(), rule))
            break
    return min(hits, key=lambda h: (h.start, h.rule.priority), default=None)


def _whole_line_date(folded: str, call_day: date) -> date | None:
    """A first line that is only a date after the call's day: reschedule to it."""
    line = folded.rstrip(_TRAILING_PUNCTUATION)
    found = _date_at(line, 0, call_day) if line else None
    if found is None or found[1] != len(line) or found[0] is None:
        return None
    return found[0] if found[0] > call_day else None


def _classify(line: str, call_day: date) -> tuple[Outcome, date | None]:
    """The outcome a first line states, and the reschedule day if it names one."""
    if _note_line_kind(line) is not None:
        return "done", None
    folded = _fold(line)
    day = _whole_line_date(folded, call_day)
    if day is not None:
        return "rescheduled", day
    for start, end in _clauses(folded):
        hit = _first_hit(folded, start, end, call_day)
        if hit is not None:
            if hit.rule.outcome == "rescheduled":
                return "rescheduled", _date_after(folded, hit.end, call_day)
            return hit.rule.outcome, None
        words = len(folded[start:end].split())
        if not (_ATTEMPT_RE.search(folded, start, end) or words <= FILLER_CLAUSE_WORDS):
            break
    return "done", None


def _title_says_done(title: str) -> bool:
    return _TITLE_DONE_RE.match(_fold(title)) is not None


# --------------------------------------------------------------------------------------------
# Note lines: referrals, offers, wins, follow-ups
# --------------------------------------------------------------------------------------------

_EMAIL_RE = re.compile(r"(?:mailto:\s*)?([\w.+%-]+@[\w-]+(?:\.[\w-]+)+)", re.I)
_PHONE_RE = re.compile(r"(?<![\w@+])(?:tel:\s*)?(\+?\(?\d[\d\s().\-/]{4,}\d)(?![\w@])", re.I)
_NOT_A_PHONE_RE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}\.\d{1,2}\.\d{2,4}")
PHONE_DIGITS = (7, 15)  # a phone number has this many digits (inclusive)
# fmt: off
CONTACT_LABELS = (
    r"e-?mail", r"mail", r"mailto", r"tel", r"phone", r"ph", r"mobile", r"mob", r"cell",
    r"cellphone", r"whatsapp", r"number",
)
# fmt: on
_LABEL_RE = re.compile(r"(?<!\w)" + _alternation(CONTACT_LABELS) + r"\s*[:.]", re.I)
_TRAILING_LABEL_RE = re.compile(r"(?<!\w)" + _alternation(CONTACT_LABELS) + r"\s*$", re.I)
_BRACKETED_RE = re.compile(r"\([^()]*\)|\[[^\[\]]*\]|\{[^{}]*\}|<\s*>")
# Where a name ends and a description begins: "Jane Roe - VP at Acme", "Jane Roe from Acme".
_NAME_END_RE = re.compile(r"\s+[-–—|/]\s+|\s+(?:at|from|@|and|&)\s+|[(<\[]", re.I)
_PLURAL_REF_RE = re.compile(r"(?:refs|referrals|intros|introductions|contacts|names|leads)\W", re.I)
_AND_RE = re.compile(r"\s+(?:and|&)\s+", re.I)
_NAME_STRIP = " \t,;:.-–—<>()[]{}\"'“”‘’/|&*_"


def _note_line_kind(line: str) -> str | None:
    """Which kind of note line this is, if any: "ref", "offer", "win" or "follow_up"."""
    for kind, pattern in (("ref", _REF_RE), ("offer", _OFFER_RE), ("win", _WIN_RE)):
        m = pattern.match(line)
        if m and line[m.end() :].strip():
            return kind
    unbulleted = _BULLET_RE.sub("", line, count=1)
    return "follow_up" if _FOLLOW_UP_RE.match(_fold(unbulleted)) else None


def _body(pattern: re.Pattern[str], line: str) -> str | None:
    m = pattern.match(line)
    return line[m.end() :].strip() if m else None


def _phones(s: str) -> tuple[list[str], str]:
    """The phone numbers in ``s`` and ``s`` without them."""
    found: list[str] = []

    def take(m: re.Match[str]) -> str:
        number = m.group(1).strip()
        low, high = PHONE_DIGITS
        if _NOT_A_PHONE_RE.fullmatch(number) or not low <= len(_digits(number)) <= high:
            return m.group()
        found.append(number)
        return " "

    return found, _PHONE_RE.sub(take, s)


def _contacts(chunk: str) -> tuple[str, list[str], list[str]]:
    """Split one piece of a ref line into (name, emails, phones)."""
    emails = [m.group(1) for m in _EMAIL_RE.finditer(chunk)]
    rest = _EMAIL_RE.sub(" ", chunk)
    phones, rest = _phones(rest)
    rest = _LABEL_RE.sub(" ", rest)
    rest = _BRACKETED_RE.sub(" ", rest)
    return _clean_name(rest), emails, phones


def _clean_name(s: str) -> str:
    s = s.strip(_NAME_STRIP)
    cut = _NAME_END_RE.search(s)
    if cut:
        s = s[: cut.start()]
    s = _TRAILING_LABEL_RE.sub("", s.strip(_NAME_STRIP))
    s = re.sub(r"\s+", " ", s).strip(_NAME_STRIP)
    return "" if s.lower() in NO_NAMES else s


def _referrals(body: str, line: str, *, plural: bool) -> list[Referral]:
    """The people on one ref line, in pieces split by ";". A "," starts a new person after one
    with an email or phone ("Jane Roe, jane@x.org" is one person, "Jane Roe, VP at Acme" too);
    after a plural keyword ("refs: Jane Roe, Bob Smith and Ann Lee") every named part does."""
    referrals: list[Referral] = []
    for piece in body.split(";"):
        groups: list[tuple[list[str], list[str], list[str]]] = []
        chunks = _AND_RE.sub(",", piece).split(",") if plural else piece.split(",")
        for chunk in chunks:
            name, emails, phones = _contacts(chunk)
            current = groups[-1] if groups else None
            if current is None or (name and (plural or current[1] or current[2])):
                groups.append(([], [], []))
            names, all_emails, all_phones = groups[-1]
            names.extend([name] if name else [])
            all_emails.extend(emails)
            all_phones.extend(phones)
        for names, emails, phones in groups:
            if names or emails or phones:
                referrals.append(
                    Referral(names[0] if names else "", tuple(emails), tuple(phones), line)
                )
    return referrals


def _follow_up(folded: str, call_day: date) -> date | None:
    for m in _FOLLOW_UP_RE.finditer(folded):
        found = _date_after(folded, m.end(), call_day)
        if found is not None:
            return found
    return None


# --------------------------------------------------------------------------------------------
# parse_notes
# --------------------------------------------------------------------------------------------


def _clean_text(text: str) -> str:
    """HTML stripped, LF line ends, no trailing whitespace, no leading/trailing blank lines."""
    lines = [line.rstrip() for line in html_to_text(text).split("\n")]
    kept = [i for i, line in enumerate(lines) if line]
    return "\n".join(lines[kept[0] : kept[-1] + 1]) if kept else ""


def parse_notes(text: str, *, call_day: date, title: str = "") -> ParsedNotes:
    """Read what the person wrote below the notes marker (see the module docstring)."""
    cleaned = _clean_text(text)
    lines = cleaned.split("\n") if cleaned else []
    outcome: Outcome | None = None
    reschedule_to: date | None = None
    if lines:
        outcome, reschedule_to = _classify(lines[0], call_day)
    elif _title_says_done(title):
        outcome = "done"
    referrals: list[Referral] = []
    offers: list[str] = []
    wins: list[str] = []
    follow_up: date | None = None
    for line in lines:
        kind = _note_line_kind(line)
        if kind == "ref":
            plural = _PLURAL_REF_RE.match(_BULLET_RE.sub("", line, count=1)) is not None
            referrals.extend(_referrals(_body(_REF_RE, line) or "", line, plural=plural))
        elif kind == "offer":
            offers.append(_body(_OFFER_RE, line) or "")
        elif kind == "win":
            wins.append(_body(_WIN_RE, line) or "")
        if follow_up is None:
            follow_up = _follow_up(_fold(line), call_day)
    return ParsedNotes(
        outcome=outcome,
        reschedule_to=reschedule_to if outcome == "rescheduled" else None,
        referrals=tuple(referrals),
        offers=tuple(offers),
        follow_up=follow_up,
        wins=tuple(wins),
        text=cleaned,
    )
