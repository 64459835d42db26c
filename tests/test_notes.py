"""Completion notes: parse_notes (syncsvc/notes.py) and html_to_text (syncsvc/text.py)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from syncsvc.notes import ParsedNotes, Referral, parse_notes
from syncsvc.text import html_to_text

FRIDAY = date(2026, 11, 27)  # the contract's example day: a Friday
TUESDAY = date(2026, 12, 1)


def parse(text: str, title: str = "", day: date = FRIDAY) -> ParsedNotes:
    return parse_notes(text, call_day=day, title=title)


def outcome(text: str, title: str = "", day: date = FRIDAY) -> str | None:
    return parse(text, title, day).outcome


# --------------------------------------------------------------------------------------------
# Outcome: the first non-empty line
# --------------------------------------------------------------------------------------------

# fmt: off
DONE = [
    "done", "Done", "DONE", "done!", "Done.", "done -", "Done: good chat", "dOnE", "called",
    "Called", "reached", "talked", "spoke", "spoke to her", "met", "Met for coffee",
    "✓", "✔", "✔️", "✅", "☑", "👍", "[x]", "[X]", "[ x ]", "✅ talked 20 min", "  done  ",
    "- done", "Talked for an hour", "great call", "Nice chat, she's busy but will intro me",
    "Great chat with Jane, she's busy these days", "Met but she is busy", "called back",
    "Couldn't talk long but she gave me 2 names", "didn't talk about salary, but helpful",
]
NO_ANSWER = [
    "no answer", "No Answer", "NO ANSWER!", "noanswer", "no-answer", "voicemail", "Voicemail.",
    "voice mail", "vm", "VM;", "vm;", "vm - try again", "left message", "left a message",
    "left a voicemail", "Left her a VM", "busy", "Busy!", "line busy", "she was busy",
    "not reached", "couldn't reach him", "couldn’t reach him", "could not reach",
    "couldnt reach her", "can't reach her", "didn't pick up", "did not answer",
    "didn't answer", "no pickup", "no pick up", "unreachable", "mailbox full",
    "Mailbox was full", "no reply", "no response", "nobody answered", "went to voicemail",
    "reached voicemail", "Called, no answer", "called - vm", "Tried twice, no answer",
    "called but no answer", "Sadly, no answer", "Unfortunately no answer",
    "She didn't pick up", "Jane Roe, no answer", "✗ no answer",
    # negations must not read as done
    "not done", "Not done yet", "didn't reach", "didn't reach her", "couldn't talk",
    "could not talk", "didn't talk", "didn't get to talk", "haven't called yet",
    "wasn't able to reach her", "no time to talk", "never connected", "didn't call",
    "forgot to call", "not yet",
]
SKIPPED = [
    "skip", "Skip!", "SKIP", "skipped", "skipping this one", "not this time",
    "Not this time.", "cancel", "cancelled", "canceled", "she cancelled", "called off",
    "not today",
]
# fmt: on


@pytest.mark.parametrize("text", DONE)
def test_done(text: str) -> None:
    assert outcome(text) == "done"


@pytest.mark.parametrize("text", NO_ANSWER)
def test_no_answer(text: str) -> None:
    assert outcome(text) == "no_answer"


@pytest.mark.parametrize("text", SKIPPED)
def test_skipped(text: str) -> None:
    assert outcome(text) == "skipped"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("reschedule", None),
        ("Reschedule!", None),
        ("rescheduled", None),
        ("resched", None),
        ("later", None),
        ("Later.", None),
        ("maybe later", None),
        ("postpone", None),
        ("postponed", None),
        ("another time", None),
        ("call back", None),
        ("reschedule tomorrow", date(2026, 11, 28)),
        ("Reschedule: tomorrow", date(2026, 11, 28)),
        ("reschedule tmrw", date(2026, 11, 28)),
        ("reschedule monday", date(2026, 11, 30)),
        ("reschedule Monday!", date(2026, 11, 30)),
        ("reschedule to monday", date(2026, 11, 30)),
        ("reschedule mon", date(2026, 11, 30)),
        ("reschedule next monday", date(2026, 11, 30)),
        ("reschedule friday", date(2026, 12, 4)),  # strictly after the call's Friday
        ("reschedule next week", date(2026, 11, 30)),  # Monday of next week
        ("reschedule in 3 days", date(2026, 11, 30)),
        ("reschedule in a week", date(2026, 12, 4)),
        ("reschedule 2026-12-01", date(2026, 12, 1)),
        ("reschedule 12/01", date(2026, 12, 1)),
        ("reschedule 1.12.", date(2026, 12, 1)),
        ("reschedule 01.12.2026", date(2026, 12, 1)),
        ("reschedule dec 1", date(2026, 12, 1)),
        ("reschedule 1st of December", date(2026, 12, 1)),
        ("reschedule for the day after tomorrow", date(2026, 11, 29)),
        ("reschedule, she's away until 12/05", date(2026, 12, 5)),
        ("reschedule 2026-02-30", None),  # impossible date: next planning day
        ("reschedule someday", None),
        ("postpone to next week", date(2026, 11, 30)),
        ("move to friday", date(2026, 12, 4)),
        ("Moved to Tuesday", date(2026, 12, 1)),
        ("push to monday", date(2026, 11, 30)),
        ("call back tomorrow", date(2026, 11, 28)),
        ("try again monday", date(2026, 11, 30)),
        ("tomorrow", date(2026, 11, 28)),  # a first line that is only a later date
        ("Monday", date(2026, 11, 30)),
        ("next week", date(2026, 11, 30)),
        ("2026-12-03", date(2026, 12, 3)),
    ],
)
def test_rescheduled(text: str, expected: date | None) -> None:
    p = parse(text)
    assert p.outcome == "rescheduled"
    assert p.reschedule_to == expected
    assert p.follow_up is None  # only follow-up lines set follow_up


def test_reschedule_weekday_relative_to_call_day() -> None:
    assert parse("reschedule monday", day=TUESDAY).reschedule_to == date(2026, 12, 7)
    assert parse("reschedule wednesday", day=TUESDAY).reschedule_to == date(2026, 12, 2)
    assert parse("reschedule tuesday", day=TUESDAY).reschedule_to == date(2026, 12, 8)
    assert parse("reschedule tomorrow", day=date(2026, 12, 31)).reschedule_to == date(2027, 1, 1)


@pytest.mark.parametrize(
    "text",
    [
        "Moved to Berlin, now at Acme",  # "moved to" without a date is not a reschedule
        "She'll send me stuff later, very helpful",
        "2026-11-27",  # the call's own date as a heading is not a reschedule
        "Today",
        "Busy week for her but we talked 30 minutes",
    ],
)
def test_keywords_in_context_are_not_outcomes(text: str) -> None:
    assert outcome(text) == "done"


def test_only_the_first_line_decides() -> None:
    assert outcome("done\nno answer") == "done"
    assert outcome("no answer\ndone") == "no_answer"
    assert outcome("\n\n  \nvm\ntalked later") == "no_answer"


def test_rescheduled_only_sets_reschedule_to() -> None:
    p = parse("no answer, try monday")
    assert p.outcome == "no_answer"
    assert p.reschedule_to is None


# --------------------------------------------------------------------------------------------
# Title markers, empty notes, free text
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "title",
    [
        "✓ Call Jane Roe",
        "✔ Call Jane Roe",
        "✅ Call Jane Roe",
        "✔️ Call Jane",
        "Done: Call Jane",
        "done - Call Jane",
        "DONE Call Jane",
        "[x] Call Jane",
        " ✓Call Jane",
        "📞 ✓ Call Jane",
        "Called Jane Roe",
    ],
)
def test_title_marker_means_done(title: str) -> None:
    assert outcome("", title) == "done"
    assert outcome("  \n\t\n", title) == "done"
    assert outcome("<br>", title) == "done"


@pytest.mark.parametrize("title", ["", "Call Jane Roe", "📞 Call Jane Roe", "Call Donetsk office"])
def test_nothing_written_is_none(title: str) -> None:
    for text in ["", " ", "\n\n", "\r\n  \t", "<br><br>", "<div>&nbsp;</div>"]:
        p = parse(text, title)
        assert p == ParsedNotes(None, None, (), (), None, (), "")


def test_text_keyword_wins_over_title_marker() -> None:
    assert outcome("no answer", "✓ Call Jane") == "no_answer"


@pytest.mark.parametrize(
    "text",
    [
        "She works at Acme now, knows the CTO",
        "Interesting conversation about fintech",
        "yes",
        "ok",
        "💼",
        "Knows Bob from the old team.\nWill think about names.",
    ],
)
def test_any_other_text_is_done_and_kept_as_note(text: str) -> None:
    p = parse(text)
    assert p.outcome == "done"
    assert p.text == text


@pytest.mark.parametrize(
    "first",
    [
        "ref: Jane Roe <jane@example.org>",
        "offer: send her the article",
        "follow up in 2 weeks",
        "win: got an interview at Acme",
        "-> Jane Roe",
        "introduced to Jane Roe",
        "follow-up: friday",
        "give: my CV template",
    ],
)
def test_note_line_as_first_line_is_done(first: str) -> None:
    assert outcome(first + "\nsecond line") == "done"


# --------------------------------------------------------------------------------------------
# Referrals
# --------------------------------------------------------------------------------------------


def ref(text: str) -> tuple[Referral, ...]:
    return parse("done\n" + text).referrals


@pytest.mark.parametrize(
    "line",
    [
        "ref: Jane Roe <jane@example.org> +1 555 0100",
        "Ref: Jane Roe <jane@example.org> +1 555 0100",
        "REF:Jane Roe <jane@example.org> +1 555 0100",
        "referral: Jane Roe (jane@example.org) +1 555 0100",
        "refs: Jane Roe, jane@example.org, +1 555 0100",
        "intro: Jane Roe jane@example.org +1 555 0100",
        "-> Jane Roe <jane@example.org> +1 555 0100",
        "→ Jane Roe <jane@example.org> +1 555 0100",
        "introduced to Jane Roe <jane@example.org> +1 555 0100",
        "She'll introduce me to Jane Roe <jane@example.org> +1 555 0100",
        "- ref: Jane Roe <mailto:jane@example.org> tel: +1 555 0100",
        "ref: Jane Roe - email: jane@example.org, phone: +1 555 0100",
        "ref: Jane Roe &lt;jane@example.org&gt; +1 555 0100",
        "ref - Jane Roe <jane@example.org> +1 555 0100",
        "ref: Jane Roe (VP Eng at Acme) <jane@example.org> +1 555 0100",
        "ref: Jane Roe from Acme <jane@example.org> +1 555 0100",
    ],
)
def test_referral_forms(line: str) -> None:
    (r,) = ref(line)
    assert r.name == "Jane Roe"
    assert r.emails == ("jane@example.org",)
    assert r.phones == ("+1 555 0100",)
    assert r.line == html_to_text(line).strip()


@pytest.mark.parametrize(
    "phone",
    [
        "+1 555 0100",
        "+1-555-010-0100",
        "(555) 010-0100",
        "555.010.0100",
        "+49 30 1234567",
        "0151/1234567",
        "+44 (0)20 7946 0958",
        "555-0100",
        "+15550100",
    ],
)
def test_referral_phone_formats_kept_as_written(phone: str) -> None:
    (r,) = ref(f"ref: Jane Roe {phone}")
    assert r.name == "Jane Roe"
    assert r.phones == (phone,)


def test_referral_with_only_email_or_phone_has_empty_name() -> None:
    assert ref("ref: jane@example.org") == (
        Referral("", ("jane@example.org",), (), "ref: jane@example.org"),
    )
    assert ref("ref: +1 555 0100") == (Referral("", (), ("+1 555 0100",), "ref: +1 555 0100"),)


def test_referral_name_only() -> None:
    assert ref("ref: Jane Roe") == (Referral("Jane Roe", (), (), "ref: Jane Roe"),)


def test_several_referrals() -> None:
    refs = ref(
        "ref: Jane Roe <jane@example.org>\n"
        "some other text\n"
        "referral: Bob Smith +1 555 0199\n"
        "refs: Ann Lee <ann@a.org>, Ben Ng <ben@b.org>\n"
        "intro: Cy Twombly; Dee Dee <dee@d.org>"
    )
    assert [(r.name, r.emails, r.phones) for r in refs] == [
        ("Jane Roe", ("jane@example.org",), ()),
        ("Bob Smith", (), ("+1 555 0199",)),
        ("Ann Lee", ("ann@a.org",), ()),
        ("Ben Ng", ("ben@b.org",), ()),
        ("Cy Twombly", (), ()),
        ("Dee Dee", ("dee@d.org",), ()),
    ]


def test_plural_keyword_lists_several_people() -> None:
    refs = ref("refs: Jane Roe, Bob Smith and Ann Lee <ann@a.org>")
    assert [(r.name, r.emails) for r in refs] == [
        ("Jane Roe", ()),
        ("Bob Smith", ()),
        ("Ann Lee", ("ann@a.org",)),
    ]


def test_singular_keyword_comma_parts_describe_one_person() -> None:
    (r,) = ref("ref: Jane Roe, VP Eng at Acme, jane@acme.com, +1 555 0100")
    assert (r.name, r.emails, r.phones) == ("Jane Roe", ("jane@acme.com",), ("+1 555 0100",))
    (r,) = ref("ref: Jane Roe and her husband")
    assert r.name == "Jane Roe"


@pytest.mark.parametrize("line", ["refs: none", "Referrals: -", "ref: n/a", "ref:", "intro:  "])
def test_empty_referral_lines(line: str) -> None:
    assert ref(line) == ()


@pytest.mark.parametrize(
    "line",
    [
        "Referral question: she didn't know anyone",
        "references were great",
        "She prefers email jane@example.org",
        "We talked about my intro to the field",
    ],
)
def test_not_referral_lines(line: str) -> None:
    assert ref(line) == ()


def test_google_escaped_referral() -> None:
    text = 'done<br>ref: Jane Roe &lt;<a href="mailto:jane@example.org">jane@example.org</a>&gt;'
    (r,) = parse(text).referrals
    assert r == Referral("Jane Roe", ("jane@example.org",), (), "ref: Jane Roe <jane@example.org>")


# --------------------------------------------------------------------------------------------
# Offers, wins
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("offer: send her the article", "send her the article"),
        ("Offer:send her the article", "send her the article"),
        ("OFFERED: a CV review", "a CV review"),
        ("give: my notes on Acme", "my notes on Acme"),
        ("todo for them: intro to Sam", "intro to Sam"),
        ("to do for her - book recommendation", "book recommendation"),
        ("I offered to send the deck", "send the deck"),
        ("promised to forward the job ad", "forward the job ad"),
        ("* offer: coffee next time", "coffee next time"),
    ],
)
def test_offers(line: str, expected: str) -> None:
    assert parse("done\n" + line).offers == (expected,)


def test_several_offers_in_order() -> None:
    assert parse("offer: a\nx\ngive: b").offers == ("a", "b")


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("win: got an interview at Acme", "got an interview at Acme"),
        ("Win - got an interview at Acme", "got an interview at Acme"),
        ("WON: offer from Beta", "offer from Beta"),
        ("success: referral to the hiring manager", "referral to the hiring manager"),
        ("🎉 second interview!", "second interview!"),
        ("big win: job offer", "job offer"),
    ],
)
def test_wins(line: str, expected: str) -> None:
    assert parse("done\n" + line).wins == (expected,)


@pytest.mark.parametrize("line", ["Won't be around in December", "winter is hard for hiring"])
def test_not_wins(line: str) -> None:
    assert parse("done\n" + line).wins == ()


# --------------------------------------------------------------------------------------------
# Follow-ups and dates
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("follow up in 2 weeks", date(2026, 12, 11)),
        ("Follow up in 2 weeks.", date(2026, 12, 11)),
        ("follow up 2026-12-15", date(2026, 12, 15)),
        ("follow-up: friday", date(2026, 12, 4)),
        ("Follow-Up: Friday", date(2026, 12, 4)),
        ("followup tomorrow", date(2026, 11, 28)),
        ("follow up in 3 days", date(2026, 11, 30)),
        ("follow up next month", date(2026, 12, 27)),
        ("follow up next week", date(2026, 11, 30)),
        ("follow up in a month", date(2026, 12, 27)),
        ("follow up in a couple of weeks", date(2026, 12, 11)),
        ("follow up in two weeks", date(2026, 12, 11)),
        ("follow up 2w", date(2026, 12, 11)),
        ("follow up in 10 days", date(2026, 12, 7)),
        ("follow up 12/15", date(2026, 12, 15)),
        ("follow up 15.12.", date(2026, 12, 15)),
        ("follow up 15.12.2026", date(2026, 12, 15)),
        ("follow up 25/12", date(2026, 12, 25)),
        ("follow up Dec 15", date(2026, 12, 15)),
        ("follow up december 15th, 2026", date(2026, 12, 15)),
        ("follow up on the 15th", date(2026, 12, 15)),
        ("follow up end of month", date(2026, 11, 30)),
        ("follow up 01/05", date(2027, 1, 5)),  # no year: the next such day
        ("follow up in 1 year", date(2027, 11, 27)),
        ("she said follow up in 2 weeks", date(2026, 12, 11)),
        ("follow up with her in 2 weeks about the role", date(2026, 12, 11)),
        ("check back in 2 weeks", date(2026, 12, 11)),
        ("f/u monday", date(2026, 11, 30)),
        ("- follow up: 2026-12-15", date(2026, 12, 15)),
    ],
)
def test_follow_up(line: str, expected: date) -> None:
    p = parse("done\n" + line)
    assert p.follow_up == expected
    assert p.outcome == "done"
    assert line.strip() in p.text


@pytest.mark.parametrize(
    "line",
    [
        "follow up someday",
        "follow up 2026-02-30",
        "follow up 2026-13-01",
        "follow up 31/31",
        "follow up on the article",
        "I'll follow up with an email",
        "follow up",
    ],
)
def test_unparseable_follow_up_is_none_and_kept(line: str) -> None:
    p = parse("done\n" + line)
    assert p.follow_up is None
    assert line in p.text


def test_first_follow_up_wins() -> None:
    assert parse("follow up someday\nfollow up friday\nfollow up monday").follow_up == date(
        2026, 12, 4
    )


def test_follow_up_from_a_month_end() -> None:
    assert parse("follow up next month", day=date(2026, 1, 31)).follow_up == date(2026, 2, 28)
    assert parse("follow up next month", day=date(2028, 1, 31)).follow_up == date(2028, 2, 29)
    assert parse("follow up end of month", day=date(2026, 11, 30)).follow_up == date(2026, 12, 31)


def test_dates_near_the_end_of_time_do_not_raise() -> None:
    last = date.max
    assert parse("reschedule tomorrow", day=last).reschedule_to is None
    assert parse("done\nfollow up in 2 weeks", day=last).follow_up is None
    assert parse("done\nfollow up next month", day=last - timedelta(days=20)).follow_up is None
    assert parse("done\nfollow up 02/29", day=date(9999, 3, 1)).follow_up is None


def test_feb_29_without_year_finds_a_leap_year() -> None:
    assert parse("done\nfollow up 02/29").follow_up == date(2028, 2, 29)


# --------------------------------------------------------------------------------------------
# The whole note, as written
# --------------------------------------------------------------------------------------------


def test_full_note() -> None:
    text = (
        "Talked 30 min, very helpful!\r\n"
        "ref: Jane Roe <jane@example.org> +1 555 0100   \r\n"
        "\r\n"
        "offer: send her the article\r\n"
        "follow up in 2 weeks\r\n"
        "win: she'll forward my CV to Acme\r\n"
    )
    p = parse(text)
    assert p == ParsedNotes(
        outcome="done",
        reschedule_to=None,
        referrals=(
            Referral(
                "Jane Roe",
                ("jane@example.org",),
                ("+1 555 0100",),
                "ref: Jane Roe <jane@example.org> +1 555 0100",
            ),
        ),
        offers=("send her the article",),
        follow_up=date(2026, 12, 11),
        wins=("she'll forward my CV to Acme",),
        text=(
            "Talked 30 min, very helpful!\n"
            "ref: Jane Roe <jane@example.org> +1 555 0100\n"
            "\n"
            "offer: send her the article\n"
            "follow up in 2 weeks\n"
            "win: she'll forward my CV to Acme"
        ),
        understood=(
            "outcome: done",
            "new name: Jane Roe <jane@example.org> +1 555 0100",
            "offer: send her the article",
            "follow-up: 2026-12-11",
            "win: she'll forward my CV to Acme",
        ),
    )


def test_google_web_editor_note() -> None:
    text = (
        'done<br>ref: Jane Roe &lt;<a href="mailto:jane@example.org">jane@example.org</a>&gt;'
        "<br><b>offer:</b>&nbsp;send the article"
    )
    p = parse(text)
    assert p.outcome == "done"
    assert p.referrals == (
        Referral("Jane Roe", ("jane@example.org",), (), "ref: Jane Roe <jane@example.org>"),
    )
    assert p.offers == ("send the article",)
    assert p.text == "done\nref: Jane Roe <jane@example.org>\noffer: send the article"


def test_google_web_editor_divs_and_spans() -> None:
    text = (
        "<div>no answer</div><div><br></div>"
        '<div><span style="font-family: Arial">follow up&nbsp;<i>next</i> week</span></div>'
    )
    p = parse(text)
    assert p.outcome == "no_answer"
    assert p.follow_up == date(2026, 11, 30)
    assert p.text == "no answer\n\nfollow up next week"


def test_text_cleaning() -> None:
    p = parse("\n\n  \r\n  Talked  \r\n\r\n\r\n  second line\t \r\rthird\n\n")
    assert p.text == "  Talked\n\n\n  second line\n\nthird"


# --------------------------------------------------------------------------------------------
# html_to_text
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html_text", "expected"),
    [
        ("done<br>no", "done\nno"),
        ("done<br/>no<BR />x", "done\nno\nx"),
        ("<p>one</p><p>two</p>", "one\ntwo\n"),
        ("<div>one</div><div>two</div>", "one\ntwo\n"),
        ("<div>one</div><div><br></div><div>two</div>", "one\n\ntwo\n"),
        ("<ul><li>a</li><li>b</li></ul>", "a\nb\n"),
        ("<ol>\n<li>a</li>\n<li>b</li>\n</ol>\n", "a\nb\n"),
        ("a<br>\nb<br>\n<br>\nc", "a\nb\n\nc"),
        ("plain line\nsecond<br>third", "plain line\nsecond\nthird"),
        ("<b>bold</b> <i>it</i> <u>u</u> <strong>s</strong> <em>e</em>", "bold it u s e"),
        ('<span style="color: red">red</span>', "red"),
        ('<a href="mailto:x@y.org">x@y.org</a>', "x@y.org"),
        ('<a href="mailto:x@y.org">Xavier</a>', "Xavier (x@y.org)"),
        ('<a href="tel:+15550100">Jane</a>', "Jane (+15550100)"),
        ('<a href="tel:+1 555 0100">+1 555 0100</a>', "+1 555 0100"),
        ('<a href="https://example.org" target="_blank">site</a>', "site"),
        ("a&nbsp;b", "a b"),
        ("&lt;jane@example.org&gt;", "<jane@example.org>"),
        ("Tom &amp; Jerry", "Tom & Jerry"),
        ("it&#39;s", "it's"),
        ("&#x2713; done", "✓ done"),
        ("&#8594; Jane", "→ Jane"),
        ("&quot;q&quot; &apos;a&apos;", "\"q\" 'a'"),
        ("&unknownentity; &#99999999;", "&unknownentity; \ufffd"),
        ("<html-blob>done<br>x</html-blob>", "done\nx\n"),
        ("a<!-- comment -->b", "ab"),
        ("<p>line\r\nbreak</p>", "line\nbreak\n"),
        ("a<br>&lt;b&gt;bold?&lt;/b&gt;", "a\n<b>bold?</b>"),
    ],
)
def test_html_to_text(html_text: str, expected: str) -> None:
    assert html_to_text(html_text) == expected


@pytest.mark.parametrize(
    "plain",
    [
        "ref: Jane Roe <jane@example.org>",
        "ref: Bob <b@example.org>",  # <b...> but not a tag
        "ref: Pat <p.smith@example.org>",
        "x < y > z",
        "a<b and c>d",  # a lone <b ...> with no closing tag is not HTML
        "<i> think so",
        "1 <2> 3",
        "<3 this contact",
        "-> Jane <jane@x.org>",
        "<<jane@x.org>>",
        "R&D at AT&T",
        "Q&A tomorrow",
        "a\xa0b",  # a literal no-break space is the person's, not an entity
    ],
)
def test_html_to_text_leaves_plain_text_alone(plain: str) -> None:
    assert html_to_text(plain) == plain


def test_html_to_text_keeps_unknown_tags_inside_html() -> None:
    assert (
        html_to_text("<div>ref: Jane Roe <jane@example.org></div><div>x</div>")
        == "ref: Jane Roe <jane@example.org>\nx\n"
    )


def test_html_to_text_line_endings() -> None:
    assert html_to_text("a\r\nb\rc\n") == "a\nb\nc\n"
    assert html_to_text("a&#13;&#10;b") == "a\nb"


def test_html_to_text_whole_description() -> None:
    description = (
        "Do you know of anyone I might be able to spend 30 minutes talking to about fintech?"
        '<br><br>Phone: <a href="tel:+15550100">+1 555 0100</a><br>'
        'Email: <a href="mailto:jane@example.org">jane@example.org</a><br><br>'
        "Listen for opportunities — and for something you can offer them.<br>"
        "--- notes (write below this line) ---<br>"
        "<div>Talked!</div><div>ref: Bob Lee &lt;bob@example.org&gt;</div>"
    )
    text = html_to_text(description)
    assert text.split("\n") == [
        "Do you know of anyone I might be able to spend 30 minutes talking to about fintech?",
        "",
        "Phone: +1 555 0100",
        "Email: jane@example.org",
        "",
        "Listen for opportunities — and for something you can offer them.",
        "--- notes (write below this line) ---",
        "Talked!",
        "ref: Bob Lee <bob@example.org>",
        "",
    ]
    below = text.split("--- notes (write below this line) ---", 1)[1]
    p = parse(below)
    assert p.outcome == "done"
    assert [r.name for r in p.referrals] == ["Bob Lee"]


def test_html_to_text_is_idempotent_on_typical_html() -> None:
    for s in [
        'done<br>ref: Jane Roe &lt;<a href="mailto:jane@example.org">jane@example.org</a>&gt;',
        "<div>a</div><div><br></div><ul><li>b &amp; c</li></ul>",
    ]:
        once = html_to_text(s)
        assert html_to_text(once) == once


# --------------------------------------------------------------------------------------------
# Properties
# --------------------------------------------------------------------------------------------

PROPERTY_SETTINGS = settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)

# Fragments people and calendar apps write, to make hypothesis hit the grammar often.
# fmt: off
FRAGMENTS = [
    "done", "Done.", "✓", "[x]", "no answer", "vm;", "reschedule", "later", "skip", "not",
    "didn't", "reach", "ref:", "referral:", "->", "→", "offer:", "give:", "win:", "won:",
    "follow up", "follow-up:", "in", "2", "weeks", "a couple of", "days", "next", "month",
    "monday", "fri", "tomorrow", "2026-12-01", "2026-02-30", "12/01", "1.12.", "dec 1st",
    "the 31st", "end of month", "Jane Roe", "<jane@example.org>", "jane@example.org",
    "+1 555 0100", "(555) 010-0100", ",", ";", ":", ".", "!", " ", "\n", "\r\n", "\t",
    "<br>", "<div>", "</div>", "<b>", "</b>", "<p>", "&lt;", "&gt;", "&amp;", "&nbsp;", "&#39;",
    '<a href="mailto:j@x.org">', "</a>", "<li>", "<", ">", "&", "é", "日本", "😀", "\xa0",
    "\u2028", "\x85",
]
# fmt: on
notes_text = st.one_of(
    st.text(),
    st.lists(st.sampled_from(FRAGMENTS), max_size=30).map("".join),
    st.lists(st.one_of(st.sampled_from(FRAGMENTS), st.text(max_size=5)), max_size=20).map(" ".join),
)
call_days = st.dates()
titles = st.one_of(st.text(max_size=30), st.sampled_from(["", "✓ Call Jane", "Call Jane"]))


def non_space(s: str) -> list[str]:
    return [c for c in s if not c.isspace()]


def is_subsequence(needle: list[str], haystack: str) -> bool:
    chars = iter(haystack)
    return all(any(c == h for h in chars) for c in needle)


@PROPERTY_SETTINGS
@given(notes_text, call_days, titles)
@example("", date.max, "✓")
@example("reschedule tomorrow\nfollow up in 999 years", date.max, "")
@example("follow up next month", date.min, "")
def test_parse_notes_never_raises(text: str, day: date, title: str) -> None:
    p = parse_notes(text, call_day=day, title=title)
    assert p.outcome in (
        None,
        "done",
        "no_answer",
        "rescheduled",
        "skipped",
        "stop",
        "wrong_number",
    )
    assert p.reschedule_to is None or p.outcome == "rescheduled"
    assert (p.outcome is None) == (not p.text and not title_is_done(title))
    assert all(isinstance(r, Referral) and r.line in p.text.split("\n") for r in p.referrals)


def title_is_done(title: str) -> bool:
    return parse_notes("", call_day=FRIDAY, title=title).outcome == "done"


@PROPERTY_SETTINGS
@given(notes_text, call_days)
@example("a\r\n\r\n b \u2028 c\x85", FRIDAY)
def test_text_keeps_every_word(text: str, day: date) -> None:
    p = parse_notes(text, call_day=day)
    assert is_subsequence(non_space(html_to_text(text)), p.text)
    assert p.text == p.text.strip("\n")
    assert all(line == line.rstrip() for line in p.text.split("\n"))
    assert "\r" not in p.text


@PROPERTY_SETTINGS
@given(notes_text, call_days, titles)
def test_parse_notes_is_idempotent_and_deterministic(text: str, day: date, title: str) -> None:
    p = parse_notes(text, call_day=day, title=title)
    assert parse_notes(text, call_day=day, title=title) == p
    # Re-reading the note syncsvc kept gives the same reading. (Only text that decodes to
    # HTML again, e.g. a literally typed "&amp;lt;", could differ: html_to_text decodes once.)
    if html_to_text(p.text) == p.text:
        assert parse_notes(p.text, call_day=day, title=title) == p


@PROPERTY_SETTINGS
@given(st.text().filter(lambda s: "<" not in s and "&" not in s))
@example("a\r\nb\rc\n\xa0\u2028")
def test_html_to_text_is_identity_on_plain_text(text: str) -> None:
    assert html_to_text(text) == text.replace("\r\n", "\n").replace("\r", "\n")


@PROPERTY_SETTINGS
@given(
    st.text(
        alphabet=st.characters(blacklist_characters="<>&\r", blacklist_categories=("Cs",)),
        min_size=1,
    ),
    st.sampled_from(["b", "i", "u", "span", "strong", "em", "font"]),
)
def test_html_inline_tags_are_removed_and_words_kept(inner: str, tag: str) -> None:
    assert html_to_text(f"x <{tag}>{inner}</{tag}>") == f"x {inner}"


@PROPERTY_SETTINGS
@given(st.lists(st.text(alphabet="abc xyz@.", max_size=8).filter(str.strip), min_size=1))
def test_html_divs_become_lines(lines: list[str]) -> None:
    html_text = "".join(f"<div>{line}</div>" for line in lines)
    assert html_to_text(html_text) == "".join(f"{line}\n" for line in lines)
