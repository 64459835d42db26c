"""The call event's text: title, description, and reading the person's notes back."""

from __future__ import annotations

import html
import re
import unicodedata
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from icalendar import Calendar as ICalendar

from syncsvc import events
from syncsvc.calendars import ics
from syncsvc.calendars.base import CallEvent
from syncsvc.events import (
    LISTEN_LINE,
    NOTES_MARKER,
    EventContext,
    description,
    summary,
    user_text,
)

QUESTION = (
    "Do you know of anyone I might be able to spend 30 minutes talking to about "
    '"Grüne Energie — Wind & Solar" (日本語, 🚀)?'
)


def ctx_with(**changes: object) -> EventContext:
    base: dict[str, object] = {
        "name": "Jane Roe",
        "question": QUESTION,
        "topic_missing": False,
        "kind": "rotation",
        "phones": [("+49 170 1234567", "+491701234567"), ("(030) 123 45", "")],
        "emails": ["jane@example.org"],
        "org": "ACME GmbH",
        "title": "CTO",
        "source": "imported from contacts.vcf",
        "referred_by": "Bob Smith",
        "last_call": (date(2026, 1, 5), "talked about wind farms\nshe knows Max"),
        "open_offers": ["send her the article"],
        "wins": ["got an interview at Foo"],
        "about": "rowed together at university",
    }
    base.update(changes)
    return EventContext(**base)  # type: ignore[arg-type]


# --- description ------------------------------------------------------------------------


def test_description_in_contract_order() -> None:
    text = description(ctx_with(kind="follow_up"))
    order = [
        QUESTION,
        "Follow-up: tell them how it is going.",
        "tel:+491701234567",
        "jane@example.org",
        "ACME GmbH",
        "Your note: rowed together at university",
        "imported from contacts.vcf",
        "Bob Smith",
        "2026-01-05",
        "talked about wind farms",
        "send her the article",
        "got an interview at Foo",
        LISTEN_LINE,
        "Notes: first line done / no answer / reschedule",
        NOTES_MARKER,
    ]
    positions = [text.index(part) for part in order]
    assert positions == sorted(positions), list(zip(order, positions, strict=True))


def test_question_is_first_and_word_for_word() -> None:
    text = description(ctx_with())
    assert text.startswith(QUESTION + "\n")


def test_marker_is_last_followed_by_an_empty_line() -> None:
    text = description(ctx_with())
    assert text.endswith("\n" + NOTES_MARKER + "\n\n")
    assert text.count(NOTES_MARKER) == 1


def test_phones_are_tappable_tel_links_with_the_written_form() -> None:
    text = description(ctx_with())
    line = next(line for line in text.splitlines() if "tel:+491701234567" in line)
    assert "+49 170 1234567" in line
    assert re.search(r"(^|\s|\()tel:\+491701234567($|\s|\))", line)
    # no normalised form: digits of the written one
    line2 = next(line for line in text.splitlines() if "(030) 123 45" in line)
    assert "tel:03012345" in line2


def test_no_way_to_reach_them_says_so() -> None:
    text = description(ctx_with(phones=[], emails=[]))
    assert "tel:" not in text
    assert "no phone or email" in text.lower()


def test_topic_missing_reminder() -> None:
    without = description(ctx_with(topic_missing=False))
    with_reminder = description(ctx_with(topic_missing=True))
    assert "syncsvc topic" not in without
    assert 'syncsvc topic "' in with_reminder
    assert with_reminder.index("syncsvc topic") < with_reminder.index("tel:")


@pytest.mark.parametrize("kind", ["rotation", "referral", "retry"])
def test_follow_up_line_only_for_follow_ups(kind: str) -> None:
    assert "Follow-up:" not in description(ctx_with(kind=kind))
    assert "Follow-up: tell them how it is going." in description(ctx_with(kind="follow_up"))


def test_last_call_variants() -> None:
    assert "none recorded" in description(ctx_with(last_call=None))
    no_note = description(ctx_with(last_call=(date(2026, 2, 1), "")))
    assert "2026-02-01" in no_note and "no notes" in no_note
    note = description(ctx_with(last_call=(date(2026, 2, 1), "line one\r\nline two")))
    assert "line one\n" in note and "line two" in note
    long = description(ctx_with(last_call=(date(2026, 2, 1), "x" * 10_000)))
    assert len(long) < 3000


def test_minimal_context() -> None:
    ctx = EventContext(
        name="A", question="Q?", topic_missing=False, kind="rotation", phones=(), emails=()
    )
    text = description(ctx)
    assert text.startswith("Q?\n")
    assert LISTEN_LINE in text
    assert text.endswith(NOTES_MARKER + "\n\n")


def test_context_values_are_single_clean_lines() -> None:
    hostile = "ACME\r\nATTENDEE:mailto:x@y\x00\x1b[31m\u202eevil\u2028x"
    text = description(
        ctx_with(
            org=hostile,
            title=hostile,
            source=hostile,
            referred_by=hostile,
            open_offers=[hostile],
            wins=[hostile],
            emails=["a@b.example\nATTENDEE:x"],
            phones=[("+1 555\n0100", "+15550100\r\n")],
        )
    )
    assert "\r" not in text and "\x00" not in text and "\x1b" not in text
    assert "\u202e" not in text and "\u2028" not in text
    for line in text.splitlines():
        assert not line.startswith("ATTENDEE")
    assert "tel:+15550100" in text


def test_marker_text_in_context_is_defused() -> None:
    sneaky = "--- notes (write below this line) --- done"
    text = description(
        ctx_with(
            question="Q " + sneaky,
            org=sneaky,
            last_call=(date(2026, 1, 1), f"old\n{NOTES_MARKER}\nskip"),
            open_offers=["— NOTES (write below this line) —"],
        )
    )
    assert len(events.MARKER_RE.findall(text)) == 1
    assert text.endswith(NOTES_MARKER + "\n\n")
    assert user_text(text) == ""
    assert user_text(text + "reached") == "reached"


def test_own_note_is_in_about_them() -> None:
    text = description(ctx_with(about="rowed together at university"))
    lines = text.splitlines()
    assert "Your note: rowed together at university" in lines
    assert lines.index("About them:") < lines.index("Your note: rowed together at university")
    assert "Your note" not in description(ctx_with(about=None))
    assert "Your note" not in description(ctx_with(about=" \n\t\n"))


def test_own_note_keeps_its_lines_cleaned_and_bounded() -> None:
    note = "rowed together\r\n\n\n\u202eat university\n  has two kids  \n"
    lines = description(ctx_with(about=note)).splitlines()
    start = lines.index("Your note:")
    assert lines[start + 1 : start + 5] == [
        "  rowed together",
        "",
        "  at university",
        "  has two kids",
    ]
    long = description(ctx_with(about="word " * 2000))
    assert len(long) < len(description(ctx_with(about=None))) + events.MAX_ABOUT + 100
    assert "Your note: word word" in long and long.count("word") < events.MAX_ABOUT // 4
    many = description(ctx_with(about="line\n" * 2000))
    assert "  …" in many.splitlines() and many.count("line") < events.MAX_ABOUT // 4


@pytest.mark.parametrize(
    "forged",
    [
        NOTES_MARKER,
        "— notes (write below this line) —",
        events.RECEIPT_LINE,
        "\u2014\u2014 SyncSvc  read this \u2014",
        f"met at a party\n{events.RECEIPT_LINE}\noutcome: stop\n{NOTES_MARKER}\ndone",
    ],
)
def test_forged_marker_or_receipt_in_a_note_is_defused(forged: str) -> None:
    text = description(ctx_with(about=forged, org=events.RECEIPT_LINE))
    assert len(events.MARKER_RE.findall(text)) == 1
    assert not events.RECEIPT_RE.search(text)
    assert events.RECEIPT_LINE not in text
    assert text.endswith(NOTES_MARKER + "\n\n")
    assert user_text(text) == ""
    assert user_text(text + "reached") == "reached"


def test_tel_uri_prefers_the_normalised_number() -> None:
    assert events.tel_uri("+1 (415) 555-0100", "+14155550100") == "tel:+14155550100"
    assert events.tel_uri("(030) 123 45") == "tel:03012345"
    assert events.tel_uri("call me", "") is None


# --- summary ----------------------------------------------------------------------------


def test_summary() -> None:
    assert summary("Jane Roe") == "Call Jane Roe"
    assert summary("  Eve\nATTENDEE:mailto:x@y ") == "Call Eve ATTENDEE:mailto:x@y"
    assert summary("Ma\u202erk\u2066 \t\r\n Smith") == "Call Mark Smith"
    assert summary("\x00\x07") == "Call"


def test_hostile_name_stays_in_summary_through_icalendar() -> None:
    name = "Eve\nATTENDEE:mailto:x@y"
    ctx = ctx_with(name=name, org="Org\r\nATTENDEE:mailto:z@y", last_call=(date(2026, 1, 1), name))
    zone = ZoneInfo("Europe/Berlin")
    start = datetime(2026, 6, 15, 10, 0, tzinfo=zone)
    event = CallEvent(
        uid="call0001",
        call_id="c1",
        summary=summary(name),
        description=description(ctx),
        start=start,
        end=start + timedelta(minutes=30),
    )
    raw = ics.to_ical(event)
    parsed = ICalendar.from_ical(raw)
    (vevent,) = parsed.walk("VEVENT")
    assert "ATTENDEE" not in vevent
    assert b"\r\nATTENDEE" not in raw
    got = ics.from_ical(raw, "e")
    assert got is not None
    assert got.summary == "Call Eve ATTENDEE:mailto:x@y"
    assert got.description == event.description

    # even an unsanitised summary cannot inject a property
    raw = ics.to_ical(CallEvent(**{**event.__dict__, "summary": "Call " + name}))
    (vevent,) = ICalendar.from_ical(raw).walk("VEVENT")
    assert "ATTENDEE" not in vevent
    assert vevent.decoded("SUMMARY") == "Call " + name


# --- user_text --------------------------------------------------------------------------


def test_user_text_is_what_is_below_the_marker() -> None:
    generated = description(ctx_with())
    assert user_text(generated) == ""
    assert user_text(generated + "done\nref: Jane Roe <jane@example.org>\n\n") == (
        "done\nref: Jane Roe <jane@example.org>"
    )


@pytest.mark.parametrize(
    "marker",
    [
        NOTES_MARKER,
        "  --- NOTES (Write Below This Line) ---  ",
        "— notes (write below this line) —",
        "—- notes (write below this line) -—",
        "– notes  ( write below this line ) –",
        "--- notes (write below this line)",
        "\u00a0--- notes (write below this line) ---\u00a0",
    ],
)
def test_marker_found_tolerantly(marker: str) -> None:
    generated = description(ctx_with())
    edited = generated.replace(NOTES_MARKER, marker)
    assert user_text(edited + "no answer") == "no answer"
    assert user_text(edited.replace("\n", "\r\n") + "no answer\r\n") == "no answer"


def test_user_text_from_google_html() -> None:
    generated = description(ctx_with())
    as_html = (
        html.escape(generated.rstrip("\n")).replace("\n", "<br>")
        + "<br>done<br><b>ref:</b> Jane Roe &lt;jane@example.org&gt;<br>offer: lunch &amp; a book"
    )
    assert user_text(as_html) == ("done\nref: Jane Roe <jane@example.org>\noffer: lunch & a book")


def test_marker_deleted_returns_only_the_persons_lines() -> None:
    generated = description(ctx_with())
    without_marker = generated.replace(NOTES_MARKER + "\n", "")
    edited = without_marker + "talked\n\nref: Max <max@x.example>\n"
    assert user_text(edited) == ""  # no marker, nothing generated to compare with
    assert user_text(edited, generated) == "talked\n\nref: Max <max@x.example>"
    assert user_text(without_marker, generated) == ""
    # typed at the top, above everything
    assert user_text("voicemail\n" + without_marker, generated) == "voicemail"


def test_marker_deleted_and_text_rewrapped_by_an_app() -> None:
    generated = description(ctx_with())
    without_marker = generated.replace(NOTES_MARKER, "")
    rewrapped = "\r\n".join("  " + line + " " for line in without_marker.splitlines())
    assert user_text(rewrapped + "\r\nskip", generated) == "skip"


@pytest.mark.parametrize("value", ["", "\x00", "<br>", "<<<>>>&&&;", NOTES_MARKER, "\ud800"])
def test_user_text_never_raises(value: str) -> None:
    assert isinstance(user_text(value), str)
    assert isinstance(user_text(value, value), str)
    assert isinstance(user_text(value, ""), str)


# --- properties -------------------------------------------------------------------------

# Plain text as typed on a phone. "<", ">" and "&" are left out: they make text look like HTML
# to html_to_text, which is right to decode it.
notes_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="<>&"),
    max_size=300,
)
any_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)


@st.composite
def contexts(draw: st.DrawFn) -> EventContext:
    return EventContext(
        name=draw(any_text),
        question=draw(any_text),
        topic_missing=draw(st.booleans()),
        kind=draw(st.sampled_from(["rotation", "referral", "retry", "follow_up"])),
        phones=draw(st.lists(st.tuples(any_text, any_text), max_size=3)),
        emails=draw(st.lists(any_text, max_size=3)),
        org=draw(st.none() | any_text),
        title=draw(st.none() | any_text),
        source=draw(st.none() | any_text),
        referred_by=draw(st.none() | any_text),
        last_call=draw(st.none() | st.tuples(st.dates(), any_text)),
        open_offers=draw(st.lists(any_text, max_size=3)),
        wins=draw(st.lists(any_text, max_size=3)),
        about=draw(st.none() | notes_text | any_text),
    )


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(ctx=contexts(), notes=notes_text)
def test_user_text_gives_back_exactly_the_notes(ctx: EventContext, notes: str) -> None:
    # html_to_text turns CRLF and CR into LF, as it should for text typed on any device
    expected = notes.replace("\r\n", "\n").replace("\r", "\n").strip()
    assert user_text(description(ctx) + notes) == expected


@settings(max_examples=300)
@given(ctx=contexts())
def test_description_is_well_formed(ctx: EventContext) -> None:
    text = description(ctx)
    assert text.endswith(NOTES_MARKER + "\n\n")
    assert len(events.MARKER_RE.findall(text)) == 1
    assert user_text(text) == ""
    for ch in text:
        assert ch == "\n" or unicodedata.category(ch) not in ("Cc", "Zl", "Zp"), repr(ch)
    assert not set(text) & set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    assert "\n" not in summary(ctx.name)


@settings(max_examples=200)
@given(ctx=contexts(), above=notes_text, below=notes_text)
def test_marker_deleted_keeps_the_persons_lines(ctx: EventContext, above: str, below: str) -> None:
    generated = description(ctx)
    lines = [line for line in (above + "\n" + below).splitlines() if line.strip()]
    # lines identical to a generated line cannot be told apart from it; keep the rest
    generated_lines = {" ".join(g.split()).casefold() for g in generated.splitlines()}
    if any(" ".join(line.split()).casefold() in generated_lines for line in lines):
        return
    edited = above + "\n" + generated.replace(NOTES_MARKER, "") + below
    got = user_text(edited, generated)
    assert [line.strip() for line in got.splitlines() if line.strip()] == [
        line.strip() for line in lines
    ]


# --- a receipt that repeats the person's own lines ----------------------------------------
# Found by the crash harness: the receipt echoes the person's lines ("offer: offer number 16");
# when the event did not carry that receipt (a kill between recording a receipt as being sent
# and sending it, or the person deleting it), the lines it repeats were taken for syncsvc's
# and the offer was undone.

_ECHOED = "done\nref: Ref Person <ref@example.net>\noffer: offer number 16"
_RECEIPT = events.receipt_block(
    ["outcome: done", "new name: Ref Person <ref@example.net>", "offer: offer number 16"]
)


def _generated() -> str:
    return description(EventContext(name="Ann", question="Q?", topic_missing=False,
                                    kind="rotation", phones=[], emails=[]))  # fmt: skip


def test_a_receipt_not_on_the_event_takes_none_of_the_persons_lines() -> None:
    generated = _generated()
    assert user_text(generated + _ECHOED, generated, _RECEIPT) == _ECHOED
    assert user_text(generated + _ECHOED, None, _RECEIPT) == _ECHOED


def test_a_receipt_on_the_event_takes_only_its_own_lines() -> None:
    generated = _generated()
    on_event = events.with_receipt(generated + _ECHOED, _RECEIPT)
    assert user_text(on_event, generated, _RECEIPT) == _ECHOED
    below = on_event + "\nsent the intro"
    assert user_text(below, generated, _RECEIPT) == _ECHOED + "\nsent the intro"


def test_replacing_a_receipt_keeps_the_persons_line_that_repeats_it() -> None:
    generated = _generated()
    # the person deleted one line of the old receipt: its other lines still match theirs
    on_event = events.with_receipt(generated + _ECHOED, _RECEIPT).replace("outcome: done\n", "")
    new = events.receipt_block(["outcome: done"])
    rewritten = events.with_receipt(on_event, new, _RECEIPT)
    assert "offer: offer number 16\n\n" + new in rewritten
    assert rewritten.count("offer: offer number 16") == 1


@settings(max_examples=200)
@given(
    lines=st.lists(st.text(alphabet="abcdefgh :", min_size=1, max_size=12), min_size=1,
                   max_size=6),
    echo=st.lists(st.integers(min_value=0, max_value=5), max_size=6),
    on_event=st.booleans(),
)  # fmt: skip
def test_the_persons_lines_survive_any_receipt_that_repeats_them(
    lines: list[str], echo: list[int], on_event: bool
) -> None:
    generated = _generated()
    mine = [" ".join(x.split()) for x in lines if x.strip()]
    if not mine:
        return
    receipt = events.receipt_block([mine[i % len(mine)] for i in echo] or ["outcome: done"])
    text = "\n".join(mine)
    event = generated + text
    if on_event:
        event = events.with_receipt(event, receipt)
    assert user_text(event, generated, receipt).splitlines() == mine
