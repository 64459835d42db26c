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
  A reschedule or follow-up day before the call's day or more than ``HORIZON_YEARS`` after it
  (``31.12.9999``) is not used either: ``None``, and the line is "not understood".

Issue 13 (people type on phones):

- Typos: every word of four or more letters is compared with a small keyword vocabulary
  (``FUZZY_WORDS``) by Damerau–Levenshtein distance: same first letter; four letters only by
  a swap (``mial``); then one edit; from eight letters two (``refferal``, ``reschedual``).
  Never corrected: shorter words (``vm``, ``fu``, ``dune``), inflections (``answered``), real
  words listed in ``NOT_TYPOS`` (``fellow``, ``sipped``), a word two keywords are equally close
  to, capitalised words inside a sentence (names) and anything inside an email. Words meaning
  "done" are not in the vocabulary: any text already means done.
- Shorthand: ``vm``, ``lm``, ``lvm`` (no answer); ``fu``, ``f/u``, ``f-up`` (follow-up);
  ``ref``/``refs``/``referral`` without a separator at the start of a line, followed by a
  capitalised word, a number or an email; ``->`` at the start of a line (a referral).
- ``stop``: ``don't call again``, ``do not call``, ``DNC``, ``not interested`` (but not "not
  interested in <a topic>"), ``asked not to be called``, ``remove me``, ``kein Interesse``.
  ``wrong_number``: ``wrong number``/``#``/``nr``, ``number disconnected``, ``not in service``,
  ``no longer her number``, ``falsche Nummer``, ``kein Anschluss``. Both also count anywhere
  in a first line whose first clauses say nothing else ("She hung up. Not interested.").
- Referrals in a sentence: in any part of a line that is not a note line, an email or phone
  with a capitalised name right before it (labels such as ``email:``, ``on``, ``at``, brackets
  between) is a referral: "she said ask Bob Smith bob@x.org". "Tom Baker at Stripe, tom@..."
  is Tom Baker. No name before it (``she prefers email jane@x.org``), or a name after
  ``called``/``talked``/``spoke`` (the person called), is no referral; an email or phone right
  after another one belongs to the same person. Phones are found by the regular expressions
  below (7-15 digits, kept as written), not by ``phonenumbers``: this module stays pure and
  region-free, and the store normalises what it is given.
- Closed offers (``closed_offers``): ``gave:``, ``sent:``, ``offer done:``, ``delivered:`` and
  ``sent/gave/forwarded her|him|them the ...``; the text after the keyword (or the pronoun).
- Several meanings on one line: after ``,`` ``;`` ``.`` ``!`` ``?``, a spaced dash or an emoji,
  a new note line may start: ``ref:``, ``offer:``, ``gave:``/``sent:``, ``win:`` (keyword and
  separator forms), or a follow-up word with a date after it. The line is cut there.
- Understood / not understood: ``understood`` lists what was read, one receipt line each
  (``outcome: done``, ``reschedule: 2026-12-04``, ``new name: Lena Hoffmann
  <lena@example.com>``, ``offer: ...``, ``offer done: ...``, ``follow-up: 2026-12-23``,
  ``win: ...``). ``not_understood`` lists, as written, each part of a line that starts like an
  instruction and gave nothing usable: a referral line with no usable person (``referal Sam``
  without a separator and without email or phone; ``referral: ask her`` which is no name), a
  line starting with a follow-up word with no usable day (``follow up on the blursday``), and
  any reschedule or follow-up day that is impossible or outside the horizon. Everything else
  that matches no keyword is plain prose: the note itself, never "not understood". A name-only
  referral with a separator (``ref: Gina Rossi``) is understood: the store adds Gina Rossi.
- Preparation notes (``before_start=True``): the outcome is None unless the first line says
  one plainly: ``done`` or a check mark, a no-answer, reschedule (or a bare later date), skip,
  stop or wrong-number keyword. With outcome None nothing but ``text`` is filled in.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from functools import lru_cache, partial
from typing import Literal

from syncsvc.text import html_to_text

__all__ = ["Outcome", "ParsedNotes", "Referral", "new_name_line", "parse_notes", "referral_says"]

Outcome = Literal["done", "no_answer", "rescheduled", "skipped", "stop", "wrong_number"]


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
    # "gave: the article", "sent her the article": texts of offers now done (the store matches
    # them to the person's open offers).
    closed_offers: tuple[str, ...] = ()
    # What was read, one receipt line each, in the order: outcome, reschedule day, new names,
    # offers, offers done, follow-up, wins. Empty when the outcome is None.
    understood: tuple[str, ...] = ()
    # The lines (or parts of lines after a separator) that start like an instruction but gave
    # nothing usable, as written, e.g. "referal Sam", "follow up on the blursday".
    not_understood: tuple[str, ...] = ()


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
    # shorthand: left message, left voicemail
    r"lm", r"l/m", r"lvm", r"lmtcb",
    # German
    r"nicht (?:erreicht|erreichbar|rangegangen|abgenommen)", r"keine antwort",
    r"anrufbeantworter", r"mailbox",
)
# The person asked to leave the rotation for good.
STOP_PHRASES = (
    r"do(?:n'?t| not) (?:ever )?(?:call|contact|ring|phone)(?: (?:me|her|him|them|us))?"
    r" (?:again|anymore|any more|ever)",
    r"do not (?:call|contact)", r"dnc",
    r"never (?:call|contact) (?:me |her |him |them )?again",
    r"(?:asked|wants?|told me|said) (?:me |us )?not to (?:be )?(?:call|contact)\w*",
    # "not interested", but not "not interested in fintech" (a topic, not the calls)
    r"not (?:really |at all )?interested(?! in (?!(?:talking|calls?|this|being|speaking|chatting"
    r"|hearing|any)\b))",
    r"no interest", r"kein interesse", r"remove (?:me|her|him|them)(?: from)?",
    r"take (?:me|her|him|them) off", r"stop (?:calling|contacting)", r"unsubscribe\w*",
    r"leave (?:me|her|him|them) alone", r"nicht mehr anrufen",
)
# The number reaches someone else or nobody: out until a new phone or email.
WRONG_NUMBER_PHRASES = (
    r"wrong (?:number|no\.?|nr\.?|num|#|person|guy|lady)",
    r"(?:number|line|phone) (?:is |was |got |has been )?(?:disconnected|dead|invalid|"
    r"out of (?:service|order)|not in (?:service|use)|no longer (?:in (?:service|use)|valid|"
    r"active|works?|working)|not (?:working|valid))",
    r"not in service", r"out of service", r"disconnected number", r"invalid number",
    r"no longer (?:her|his|their|the right|a valid) number",
    r"not (?:her|his|their|the right) number", r"number (?:has )?changed",
    r"falsche nummer", r"kein anschluss", r"nummer (?:existiert|gibt es) nicht",
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
    r"verschoben", r"verschieben",
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
    r"circle back", r"touch base", r"reconnect", r"catch up", r"fu", r"f-?up", r"fup",
    r"wiedervorlage", r"nachfassen",
)
# Note-line keywords seen in the first line: evidence that a call happened.
NOTE_KEYWORDS = (
    r"(?:refs?|referrals?|intros?|offers?|offered|wins?|gave|sent)\s*:", r"introduc\w+",
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
    r"offers?", r"offered", r"give", r"to\s+give", r"promised", r"owe",
    r"i\s+owe(?:\s+(?:her|him|them))?", r"to-?\s?dos?\s+for\s+(?:them|her|him)",
    r"for\s+(?:them|her|him)",
)
OFFER_VERBS = (r"(?:i\s+)?(?:offered|promised)\s+(?:to\s+)?",)
# An offer now done: "gave: the article", "offer done: ...", "sent her the article".
CLOSED_KEYWORDS = (
    r"offer\s+(?:is\s+)?(?:done|sent|delivered|given|closed)", r"done\s+offer", r"gave",
    r"sent", r"delivered", r"given", r"forwarded",
)
CLOSED_VERBS = (
    r"(?:i\s+)?(?:sent|gave|forwarded|emailed|mailed|passed)\s+(?:her|him|them)\s+"
    r"(?=(?:the|my|a|an|our|that|this|those|some)\s)",
)
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
# The same heads after a separator inside a line ("great chat, ref: ...", "done - offer: ..."):
# keyword and separator forms only.
_REF_MID_RE = re.compile(_alternation(REF_KEYWORDS) + _SEP, re.I)
_OFFER_MID_RE = re.compile(_alternation(OFFER_KEYWORDS) + _SEP, re.I)
_CLOSED_MID_RE = re.compile(
    r"(?:" + _alternation(CLOSED_KEYWORDS) + _SEP + r"|" + _alternation(CLOSED_VERBS) + r")",
    re.I,
)
_WIN_MID_RE = re.compile(_WIN_RE.pattern[len(_BULLET) :], re.I)
_CLOSED_RE = re.compile(_BULLET + _CLOSED_MID_RE.pattern, re.I)
# "ref Ann Apple ann@x.org": a ref keyword with no separator, at the start of a line, followed
# by something capitalised, a number or an email (so "Referral question: ..." is prose).
_REF_BARE_RE = re.compile(
    _BULLET + r"(?i:refs?|referrals?)\s+(?=[A-ZÀ-ÖØ-Þ\d+(<]|[\w.+%-]+@)"
)
_FOLLOW_UP_MID_RE = re.compile(r"(?:" + _alternation(FOLLOW_UP_WORDS) + r")(?![\w'])", re.I)
_FOLLOW_UP_HEAD_RE = re.compile(_BULLET + _FOLLOW_UP_MID_RE.pattern, re.I)

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
    _Rule("stop", _words_re(STOP_PHRASES), "any", -1),
    _Rule("wrong_number", _words_re(WRONG_NUMBER_PHRASES), "any", -1),
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
    "montag": 0, "dienstag": 1, "mittwoch": 2, "donnerstag": 3, "freitag": 4, "samstag": 5,
    "sonntag": 6,
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
    "tage": "d", "tagen": "d", "tag": "d", "wochen": "w", "woche": "w", "monate": "m",
    "monaten": "m", "monat": "m", "jahre": "y", "jahr": "y",
}
TOMORROW_WORDS = (
    "tomorrow", "tomorow", "tommorow", "tommorrow", "tmrw", "tmrrw", "tmr", "tmw", "2moro",
    "2morrow",
)
DATE_FILLERS = (
    r"to", r"for", r"on", r"until", r"till", r"til", r"by", r"around", r"at", r"auf", r"am",
)
DATE_FILLER_SYMBOLS = (r"->", r"→", r"=>", r":", r"-", r"–", r"—", r"~")
HORIZON_YEARS = 2  # a reschedule or follow-up day further ahead (or before the call) is unusable
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


def _date_after(s: str, start: int, call_day: date) -> tuple[date | None, bool]:
    """The first date within a few words after ``start``, in the same sentence, and whether a
    date expression was there at all (an impossible one, ``2026-02-30``, gives ``(None, True)``;
    a day outside the horizon too)."""
    window_end = min(len(s), start + DATE_SEARCH_CHARS)
    stop = _SENTENCE_END_RE.search(s, start, window_end)
    end = stop.start() if stop else window_end
    found = _date_at(s, start, call_day, endpos=end)
    if found is None:
        for count, pos in enumerate(_word_starts(s, start, end)):
            if count >= MAX_DATE_SEARCH_WORDS:
                break
            found = _date_at(s, pos, call_day, endpos=end, abbreviations=False)
            if found is not None:
                break
    if found is None:
        return None, False
    return _sane(found[0], call_day), True


def _sane(day: date | None, call_day: date) -> date | None:
    """``day`` if it lies between the call's day and HORIZON_YEARS after it, else None."""
    if day is None or day < call_day:
        return None
    limit = _safe(lambda: _add_months(call_day, 12 * HORIZON_YEARS)) or date.max
    return day if day <= limit else None


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


def parse_day(text: str, today: date) -> date | None:
    """A day as a person writes it on the command line, in the words notes take ("today",
    "tomorrow", "friday", "next week", "2026-12-04", "4 dec"), counted from ``today``; None
    if the whole text is not one day."""
    line = _fold(text).rstrip(_TRAILING_PUNCTUATION)
    found = _date_at(line, 0, today) if line else None
    if found is None or found[1] != len(line):
        return None
    return found[0]


@dataclass(frozen=True)
class _Reading:
    """What a first line says: the outcome, the reschedule day, whether it named a day that
    cannot be used, and whether it said so plainly (a keyword, not just "some text")."""

    outcome: Outcome
    day: date | None = None
    bad_day: bool = False
    plain: bool = False


_PLAIN_DONE_RE = re.compile(r"(?:" + _alternation(DONE_MARKS) + r"|(?<!\w)(?:done|erledigt)(?!\w))")


def _classify(line: str, call_day: date) -> _Reading:
    """The outcome a first line (already typo-corrected) states."""
    if _line_head(line) is not None:
        return _Reading("done")
    folded = _fold(line)
    whole = _whole_line_date(folded, call_day)
    if whole is not None:
        day = _sane(whole, call_day)
        return _Reading("rescheduled", day, day is None, plain=True)
    for start, end in _clauses(folded):
        hit = _first_hit(folded, start, end, call_day)
        if hit is not None:
            if hit.rule.outcome == "rescheduled":
                day, seen = _date_after(folded, hit.end, call_day)
                return _Reading("rescheduled", day, seen and day is None, plain=True)
            plain = hit.rule.outcome != "done" or bool(
                _PLAIN_DONE_RE.match(folded, hit.start, hit.end)
            )
            return _Reading(hit.rule.outcome, plain=plain)
        words = len(folded[start:end].split())
        if not (_ATTEMPT_RE.search(folded, start, end) or words <= FILLER_CLAUSE_WORDS):
            break
    # "She hung up. Not interested.": a stop or wrong number counts anywhere in the line.
    for rule in _RULES:
        if rule.outcome in ("stop", "wrong_number") and rule.pattern.search(folded):
            return _Reading(rule.outcome, plain=True)
    return _Reading("done")


def _title_says_done(title: str) -> bool:
    return _TITLE_DONE_RE.match(_fold(title)) is not None


# --------------------------------------------------------------------------------------------
# Note lines: referrals, offers, wins, follow-ups
# --------------------------------------------------------------------------------------------

# Both scan in linear time (a match starts only where a run of its characters starts; the
# phone's digit groups cannot backtrack), so a huge line costs little.
_EMAIL_RE = re.compile(r"(?:mailto:\s*)?(?<![\w.+%-])([\w.+%-]+@[\w-]+(?:\.[\w-]+)+)", re.I)
_PHONE_RE = re.compile(r"(?<![\w@+])(?:tel:\s*)?(\+?\(?\d(?:[\s().\-/]*+\d)++)(?![\w@])", re.I)
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


def _line_head(line: str) -> tuple[str, int] | None:
    """The note-line head a (typo-corrected) line starts with, if any, and where its body
    begins: "closed", "ref", "offer", "win", "ref_bare" or "follow_up"."""
    for start in dict.fromkeys((0, _lead_end(line))):
        for kind, pattern in _LINE_HEADS:
            m = pattern.match(line, start)
            if m and (kind == "ref_bare" or line[m.end() :].strip()):
                return kind, m.end()
        m = _FOLLOW_UP_HEAD_RE.match(line, start)
        if m:
            return "follow_up", m.end()
    return None


def _lead_end(line: str) -> int:
    """Where a line's text starts after a bullet and emoji or other symbols (👉, 📅, ✓)."""
    i = _BULLET_RE.match(line).end()  # type: ignore[union-attr]
    while i < len(line) and (line[i].isspace() or _is_symbol(line[i])):
        i += 1
    return i


def _is_symbol(ch: str) -> bool:
    return unicodedata.category(ch)[0] == "S" or ch in "\ufe0f\u200d"


_LINE_HEADS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("closed", _CLOSED_RE),
    ("ref", _REF_RE),
    ("offer", _OFFER_RE),
    ("win", _WIN_RE),
    ("ref_bare", _REF_BARE_RE),
)
_MID_HEADS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("closed", _CLOSED_MID_RE),
    ("ref", _REF_MID_RE),
    ("offer", _OFFER_MID_RE),
    ("win", _WIN_MID_RE),
)


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
    while s and _is_symbol(s[-1]):  # "Ines Costa 🙏"
        s = s[:-1].rstrip(_NAME_STRIP)
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


def _follow_up(folded: str, call_day: date) -> tuple[date | None, bool]:
    """The first usable follow-up day in a line, and whether a follow-up named a day that
    cannot be used (impossible, before the call, beyond the horizon)."""
    bad = False
    for m in _FOLLOW_UP_RE.finditer(folded):
        found, seen = _date_after(folded, m.end(), call_day)
        if found is not None:
            return found, bad
        bad = bad or seen
    return None, bad


# --------------------------------------------------------------------------------------------
# parse_notes
# --------------------------------------------------------------------------------------------


def _clean_text(text: str) -> str:
    """HTML stripped, LF line ends, no trailing whitespace, no leading/trailing blank lines."""
    lines = [line.rstrip() for line in html_to_text(text).split("\n")]
    kept = [i for i, line in enumerate(lines) if line]
    return "\n".join(lines[kept[0] : kept[-1] + 1]) if kept else ""


# --------------------------------------------------------------------------------------------
# Typos: words close to a keyword by edit distance
# --------------------------------------------------------------------------------------------

# fmt: off
# The keywords a typo is corrected to. Words that mean "done" are not here: any text is done.
FUZZY_WORDS = (
    "answer", "voicemail", "mail", "message", "mailbox", "reschedule", "rescheduled",
    "postpone", "postponed", "skipped", "cancelled", "canceled", "follow", "followup",
    "referral", "referrals", "interested", "number", "disconnected", "service", "wrong",
    "tomorrow", "offer", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
    "sunday", "erreicht", "verschoben", "unreachable",
)
# Real words within reach of a keyword: never corrected.
NOT_TYPOS = frozenset({
    "fellow", "fallow", "reversal", "referrer", "skipper", "slipped", "shipped", "sipped",
    "snipped", "sundry", "sundae", "wring", "wrung", "nummer", "mouth", "coffer", "offen",
    "fridge", "follower",
})
# fmt: on
_FUZZY_TOKEN_RE = re.compile(r"(?<![\w@.+/-])[^\W\d_]{4,}(?![\w@]|\.\w|/\w)")


def _starts_sentence(line: str, pos: int) -> bool:
    """Whether only punctuation, symbols or spaces lie between ``pos`` and the start of the
    line or the last ``. ! ? ; , :``."""
    for i in range(pos - 1, -1, -1):
        if line[i] in ".!?;,:":
            return True
        if line[i].isalnum():
            return False
    return True


def _max_edits(length: int) -> int:
    """Edits allowed for a word of this length: short words must match exactly (``vm``,
    ``fu``), four letters only by swapping two (``mial``), then one edit, from eight two."""
    return 0 if length < 4 else 1 if length < 8 else 2


def _edit_distance(a: str, b: str, limit: int) -> int:
    """Damerau–Levenshtein distance (optimal string alignment), or ``limit + 1`` if above."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    before: list[int] = []
    previous = list(range(len(b) + 1))
    for i in range(1, len(a) + 1):
        current = [i] + [0] * len(b)
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                current[j] = min(current[j], before[j - 2] + 1)
        if min(current) > limit:
            return limit + 1
        before, previous = previous, current
    return previous[-1]


@lru_cache(maxsize=4096)
def _keyword_for(word: str) -> str | None:
    """The one keyword ``word`` (lower case) is a typo of, or None.

    Same first letter, within ``_max_edits`` of the shorter of the two; never a real word in
    ``NOT_TYPOS``, an inflection (``answered``) or a word two keywords are equally close to.
    """
    if word in FUZZY_WORDS or word in NOT_TYPOS:
        return None
    best: list[str] = []
    best_distance = 3
    for keyword in FUZZY_WORDS:
        if keyword[0] != word[0] or word.startswith(keyword) or keyword.startswith(word):
            continue
        limit = _max_edits(min(len(word), len(keyword)))
        distance = _edit_distance(word, keyword, limit)
        if distance > limit or (limit == 1 and len(word) == 4 and sorted(word) != sorted(keyword)):
            continue
        if distance < best_distance:
            best, best_distance = [keyword], distance
        elif distance == best_distance:
            best.append(keyword)
    return best[0] if len(best) == 1 else None


@dataclass(frozen=True)
class _Fixed:
    """A line with its typos corrected, and the way back to the line as written."""

    text: str
    original: str
    shifts: tuple[tuple[int, int], ...] = field(default=())  # (end in text, original - text)

    def to_original(self, pos: int) -> int:
        shift = 0
        for end, delta in self.shifts:
            if end > pos:
                break
            shift = delta
        return max(0, min(len(self.original), pos + shift))


def _fix_typos(line: str) -> _Fixed:
    """``line`` with words close to a keyword replaced by it. Capitalised words inside a
    sentence are names (``Dune``, ``Mali``) and stay as written, as does anything in an email."""
    parts: list[str] = []
    shifts: list[tuple[int, int]] = []
    last = 0
    length = 0
    for m in _FUZZY_TOKEN_RE.finditer(line):
        word = m.group()
        if word[0].isupper() and not word.isupper() and not _starts_sentence(line, m.start()):
            continue
        keyword = _keyword_for(word.lower())
        if keyword is None:
            continue
        parts.append(line[last : m.start()])
        length += m.start() - last + len(keyword)
        parts.append(keyword)
        last = m.end()
        shifts.append((length, last - length))
    if not shifts:
        return _Fixed(line, line)
    parts.append(line[last:])
    return _Fixed("".join(parts), line, tuple(shifts))


# --------------------------------------------------------------------------------------------
# Referrals named in a sentence: "she said ask Bob Smith bob@x.org"
# --------------------------------------------------------------------------------------------

# fmt: off
# Capitalised words that start a sentence or a request, not a name.
NOT_NAME_WORDS = frozenset({
    "i", "she", "he", "they", "we", "you", "it", "ask", "call", "email", "e-mail", "mail",
    "talk", "contact", "ping", "text", "phone", "tel", "mobile", "cell", "her", "his", "their",
    "the", "a", "an", "and", "or", "also", "maybe", "try", "reach", "write", "message",
    "whatsapp", "said", "says", "tell", "mention", "new", "ok", "done", "talked", "good",
    "great", "nice", "please", "pls", "via", "at", "on", "to", "with", "number", "nr",
    "ref", "refs", "intro", "referral", "contacts", "name", "names", "him", "me",
    "frau", "herr", "mit", "bei", "anrufen", "fragen",
    *WEEKDAYS, *WEEKDAY_ABBREVIATIONS, *MONTHS,
})
# "Tom Baker at Stripe, tom@stripe.com": a capitalised run after these is a company.
ORGANISATION_WORDS = frozenset({"at", "from", "of", "@", "bei", "von"})
# "Called Jane Roe on 555 0100": the person called, not someone new.
SELF_WORDS = frozenset({"called", "rang", "phoned", "reached", "talked", "spoke", "met"})
NAME_PARTICLES = frozenset({
    "van", "von", "de", "der", "den", "da", "del", "della", "di", "du", "la", "le", "bin",
    "al", "el", "ten", "ter", "zu", "y",
})
MAX_NAME_WORDS = 4
NAME_WINDOW = 120  # a name is looked for in this many characters before an email or phone
# fmt: on
_GLUE_RE = re.compile(
    r"(?:[\s,:;<>()\[\]\-–—/|]|(?<!\w)(?:"
    + _alternation(CONTACT_LABELS)
    + r"|on|at|via|under|unter|nr|no)(?!\w))*$",
    re.I,
)
_NAME_WORD_RE = re.compile(r"^(?:[A-ZÀ-ÖØ-Þ][^\W\d_]*(?:['’-][^\W\d_]+)*\.?|[A-Z]\.)$")


def _contact_spans(s: str) -> list[tuple[int, int, str, str]]:
    """The emails and phone numbers in ``s``: (start, end, "email" or "phone", value)."""
    spans = [(m.start(), m.end(), "email", m.group(1)) for m in _EMAIL_RE.finditer(s)]
    blanked = _EMAIL_RE.sub(lambda m: " " * len(m.group()), s)
    low, high = PHONE_DIGITS
    for m in _PHONE_RE.finditer(blanked):
        number = m.group(1).strip()
        if not _NOT_A_PHONE_RE.fullmatch(number) and low <= len(_digits(number)) <= high:
            spans.append((m.start(), m.end(), "phone", number))
    return sorted(spans)


def _name_before(s: str, *, line_start: bool, phone: bool) -> str:
    """The capitalised name that ends ``s`` (after labels such as "email:" or "on").

    ``line_start``: ``s`` begins where the line does. A single capitalised word that starts a
    sentence ("Salary 120000 - 130000") is too weak for a phone number; with an email it is
    taken ("Dave: dave@acme.com")."""
    words = s[: _GLUE_RE.search(s).start()].split()  # type: ignore[union-attr]
    name = _name_run(words)
    if not name:
        return ""
    rest = words[: len(words) - len(name)]
    if rest and rest[-1].lower() in ORGANISATION_WORDS:
        name = _name_run(rest[:-1])  # "Tom Baker at Stripe"
        rest = rest[: len(rest) - 1 - len(name)]
    if len(rest) > 1 and rest[-1].lower() in ("to", "with"):
        rest = rest[:-1]  # "spoke with Jane Roe": look at the verb
    if rest and rest[-1].lower().strip(".,") in SELF_WORDS:
        return ""
    sentence_start = (not rest and line_start) or (rest and rest[-1][-1] in ".!?:;")
    if phone and len(name) == 1 and sentence_start:
        return ""
    return " ".join(name)


def _name_run(words: list[str]) -> list[str]:
    """The capitalised words (and particles) ending ``words``, without a leading request word."""
    run: list[str] = []
    for word in reversed(words):
        if len(run) >= MAX_NAME_WORDS:
            break
        if _NAME_WORD_RE.match(word) or (run and word in NAME_PARTICLES):
            run.insert(0, word)
        else:
            break
    while run and (
        run[0].lower().strip(".") in NOT_NAME_WORDS | SELF_WORDS or run[0] in NAME_PARTICLES
    ):
        run.pop(0)
    return run


def _named_contacts(s: str, line: str) -> list[Referral]:
    """People named in a sentence next to their email or phone. An email or phone with no
    name before it belongs to the person just before it, else to nobody ("she prefers email
    jane@x.org" is the person's own address, not a referral)."""
    referrals: list[tuple[str, list[str], list[str]]] = []
    previous_end: int | None = None
    for start, end, kind, value in _contact_spans(s):
        window = max(0, start - NAME_WINDOW)
        name = _name_before(s[window:start], line_start=window == 0, phone=kind == "phone")
        if name and (previous_end is None or s[previous_end:start].strip(" ,;/|()<>-")):
            referrals.append((name, [], []))
        elif not (
            referrals and previous_end is not None and _GLUE_RE.fullmatch(s[previous_end:start])
        ):
            previous_end = end
            continue
        _, emails, phones = referrals[-1]
        (emails if kind == "email" else phones).append(value)
        previous_end = end
    return [Referral(n, tuple(e), tuple(p), line) for n, e, p in referrals]


def _looks_like_name(name: str) -> bool:
    """A name without email or phone must look like one: capitalised words (``ask her`` is
    not a person)."""
    words = name.split()
    return (
        0 < len(words) <= MAX_NAME_WORDS
        and bool(_NAME_WORD_RE.match(words[0]))
        and all(_NAME_WORD_RE.match(w) or w in NAME_PARTICLES for w in words)
        and words[0].lower() not in NOT_NAME_WORDS
    )


# --------------------------------------------------------------------------------------------
# parse_notes
# --------------------------------------------------------------------------------------------


@dataclass
class _Found:
    """What the note lines say, collected line by line."""

    referrals: list[Referral] = field(default_factory=list)
    offers: list[str] = field(default_factory=list)
    closed: list[str] = field(default_factory=list)
    wins: list[str] = field(default_factory=list)
    follow_up: date | None = None
    not_understood: list[str] = field(default_factory=list)

    def not_used(self, text: str) -> None:
        text = text.strip(" \t,;")
        if text and text not in self.not_understood:
            self.not_understood.append(text)


def _heads(fixed: str, call_day: date) -> list[tuple[str, int, int]]:
    """The note-line heads in a line: (kind, head start, body start), in order. One at the
    start of the line, more after a separator (``,`` ``;`` ``.`` ``!`` ``?``, a spaced dash or
    an emoji): keyword forms (``ref:``, ``offer:``, ``gave:``, ``win:``), and a follow-up
    word when a date comes after it."""
    heads: list[tuple[str, int, int]] = []
    first = _line_head(fixed)
    if first is not None:
        heads.append((first[0], 0, first[1]))
    body_start = heads[0][2] if heads else 0
    lowered = fixed.translate(_ASCII_LOWER)  # same length, for the date grammar
    last, before_last = "", ""  # the last two non-space characters before i
    for i in range(len(fixed)):
        ch = fixed[i]
        if ch.isspace():
            continue
        if i > body_start and fixed[i - 1].isspace() and _is_boundary(last, before_last):
            head = _mid_head(fixed, lowered, i, call_day)
            if head is not None:
                heads.append(head)
                body_start = head[2]
        before_last = " " if i > 0 and fixed[i - 1].isspace() else last
        last = ch
    return heads


def _is_boundary(last: str, before_last: str) -> bool:
    """A new note line may start after ``, ; . ! ?``, a spaced dash or an emoji."""
    if not last:
        return False
    return last in ",;.!?" or (last in "-–—|" and before_last == " ") or _is_symbol(last)


def _mid_head(fixed: str, lowered: str, i: int, call_day: date) -> tuple[str, int, int] | None:
    for kind, pattern in _MID_HEADS:
        m = pattern.match(fixed, i)
        if m and _NON_SPACE_RE.search(fixed, m.end()):
            return kind, i, m.end()
    m = _FOLLOW_UP_MID_RE.match(fixed, i)
    if m and _date_after(lowered, m.end(), call_day)[1]:
        return "follow_up", i, m.end()
    return None


_NON_SPACE_RE = re.compile(r"\S")
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def _read_line(line: str, call_day: date, found: _Found) -> None:
    """Collect what one line says into ``found``."""
    fixed = _fix_typos(line)
    text = fixed.text
    heads = _heads(text, call_day)
    bounds = [h[1] for h in heads[1:]] + [len(text)] if heads else []
    if not heads or heads[0][1] > 0:
        end = heads[0][1] if heads else len(text)
        found.referrals.extend(_named_contacts(line[: fixed.to_original(end)], line))
    follow_up_segment = ""
    for (kind, head, body), end in zip(heads, bounds, strict=True):
        cut = end < len(text)
        segment = line[fixed.to_original(head) : fixed.to_original(end)]
        if head == 0:
            segment = line[_BULLET_RE.match(line).end() : fixed.to_original(end)]  # type: ignore[union-attr]
        content = line[fixed.to_original(body) : fixed.to_original(end)].strip()
        content = content.rstrip(",;." if cut else ",;").strip()
        if kind in ("ref", "ref_bare"):
            _read_referrals(kind, text[head:], content, segment, line, found)
        elif kind == "offer" and content:
            found.offers.append(content)
        elif kind == "closed" and content:
            found.closed.append(content)
        elif kind == "win" and content:
            found.wins.append(content)
        elif kind == "follow_up":
            follow_up_segment = follow_up_segment or segment
    day, bad = _follow_up(_fold(text), call_day)
    if day is not None and found.follow_up is None:
        found.follow_up = day
    elif day is None and (bad or follow_up_segment):
        found.not_used(follow_up_segment or line[_BULLET_RE.match(line).end() :])  # type: ignore[union-attr]


def _read_referrals(
    kind: str, head_text: str, content: str, segment: str, line: str, found: _Found
) -> None:
    plural = _PLURAL_REF_RE.match(_BULLET_RE.sub("", head_text, count=1)) is not None
    if kind == "ref_bare" and not _contact_spans(content):
        found.not_used(segment)  # "referal Sam": no way to reach Sam, maybe not a referral
        return
    people = [
        r
        for r in _referrals(content, line, plural=plural)
        if r.emails or r.phones or _looks_like_name(r.name)
    ]
    if people:
        found.referrals.extend(people)
    elif content and _clean_name(content):
        found.not_used(segment)


def referral_says(r: Referral) -> str:
    """A ``ref:`` line as the receipt repeats it: ``Name <email> phone``."""
    parts = [r.name, *(f"<{e}>" for e in r.emails), *r.phones]
    return " ".join(p for p in parts if p)


def new_name_line(r: Referral) -> str:
    """The receipt line ``understood`` has for a ``ref:`` line: ``new name: ...``. Sync
    replaces it when the store found the person already on the list (sync.py)."""
    return "new name: " + referral_says(r)


def offer_done_line(said: str) -> str:
    """The receipt line ``understood`` has for a ``gave:`` line: ``offer done: ...``. Sync
    replaces it with what the store did: the offer closed, or none (sync.py)."""
    return "offer done: " + said


def _receipt(outcome: Outcome, reschedule_to: date | None, found: _Found) -> tuple[str, ...]:
    lines = [f"outcome: {outcome}"]
    if outcome == "rescheduled":
        lines.append(f"reschedule: {reschedule_to or 'next planning day'}")
    lines += [new_name_line(r) for r in found.referrals]
    lines += [f"offer: {o}" for o in found.offers]
    lines += [offer_done_line(o) for o in found.closed]
    if found.follow_up is not None:
        lines.append(f"follow-up: {found.follow_up.isoformat()}")
    lines += [f"win: {w}" for w in found.wins]
    return tuple(lines)


def parse_notes(
    text: str, *, call_day: date, title: str = "", before_start: bool = False
) -> ParsedNotes:
    """Read what the person wrote (see the module docstring). ``before_start``: the text was
    first seen before the call's start, so it is a preparation note unless its first line
    plainly states an outcome."""
    cleaned = _clean_text(text)
    lines = cleaned.split("\n") if cleaned else []
    outcome: Outcome | None = None
    reading = _Reading("done")
    if lines:
        reading = _classify(_fix_typos(lines[0]).text, call_day)
        outcome = reading.outcome if reading.plain or not before_start else None
    elif _title_says_done(title):
        outcome = "done"
    if outcome is None:
        return ParsedNotes(None, None, (), (), None, (), cleaned)
    found = _Found()
    if reading.bad_day:
        found.not_used(lines[0])
    for line in lines:
        _read_line(line, call_day, found)
    reschedule_to = reading.day if outcome == "rescheduled" else None
    return ParsedNotes(
        outcome=outcome,
        reschedule_to=reschedule_to,
        referrals=tuple(found.referrals),
        offers=tuple(found.offers),
        follow_up=found.follow_up,
        wins=tuple(found.wins),
        text=cleaned,
        closed_offers=tuple(found.closed),
        understood=_receipt(outcome, reschedule_to, found),
        not_understood=tuple(found.not_understood),
    )
