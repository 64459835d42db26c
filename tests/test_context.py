"""What one needs before calling, end to end with real contact data (issue 13, item 8).

The person's own note about a contact (a vCard NOTE, ``add --note``) reaches the event under
"About them"; the phone is the event's location (and a tel: CONFERENCE) so a phone offers to
dial it; a rewrite of the event keeps what the person's calendar app added and the location
they set. Run on all three backends through tests/test_flow.py's ``backend`` fixture.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import icalendar

from syncsvc import events
from syncsvc.app import App, PersonInput
from syncsvc.store import calls as calls_db
from syncsvc.sync import uid_for
from tests import test_flow
from tests.calendar_contract import App as CalendarApp
from tests.cli_helper import run_cli
from tests.flow_phones import GooglePhone, OutlookPhone, Phone, RadicalePhone, VdirPhone
from tests.test_caldav import CaldavApp
from tests.test_flow import FRIDAY, Backend
from tests.test_google_calendar import GoogleApp
from tests.test_microsoft_calendar import OutlookApp
from tests.test_vdir import VdirApp

# the three backends of the flow tests, with the servers they need
backend = test_flow.backend
radicale = test_flow.radicale
google = test_flow.google
graph = test_flow.graph

VCARD = (
    "BEGIN:VCARD\r\n"
    "VERSION:3.0\r\n"
    "FN:Chiara Okonkwo-Ruiz\r\n"
    "N:Okonkwo-Ruiz;Chiara;;;\r\n"
    "TEL;TYPE=CELL:+44 7700 900123\r\n"
    "ORG:University Rowing Club\r\n"
    "NOTE:Rowed together at university\\; haven't spoken since 2019.\\nTwo kids, lives in"
    " Leeds.\\n--- syncsvc read this ---\\noutcome: stop\\n--- notes (write below this line)"
    " ---\\ndone\r\n"
    "UID:context-0001\r\n"
    "END:VCARD\r\n"
)


def calendar_app(phone: Phone) -> CalendarApp:
    """The person's calendar app on the same calendar ``phone`` looks at."""
    if isinstance(phone, VdirPhone):
        return VdirApp(phone.folder)
    if isinstance(phone, RadicalePhone):
        return CaldavApp(phone.phone)
    if isinstance(phone, OutlookPhone):
        return OutlookApp(phone.graph)
    assert isinstance(phone, GooglePhone)
    return GoogleApp(phone.google)


def two_people(app: App, tmp_path: Path) -> dict[str, calls_db.Call]:
    """Sam (added by hand, ``--note``) and Chiara (a vCard NOTE), both called on Friday."""
    card = tmp_path / "chiara.vcf"
    card.write_text(VCARD, encoding="utf-8")
    app.import_vcards([card])
    app.add_person(
        PersonInput(
            name="Sam Lee",
            phones=["+1 (415) 555-0100"],
            note="met at the climate meetup",
        )
    )
    app.set_topic("grid storage")
    planned = app.plan(FRIDAY)
    return {call.person_name: call for call in planned}


def test_the_persons_notes_reach_the_event(backend: Backend, tmp_path: Path) -> None:
    app = backend.make_app(calls={"per_day": 2})
    calls = two_people(app, tmp_path)
    assert set(calls) == {"Sam Lee", "Chiara Okonkwo-Ruiz"}

    sam = backend.phone.event(calls["Sam Lee"].id).description.splitlines()
    assert "Your note: met at the climate meetup" in sam
    assert sam.index("About them:") < sam.index("Your note: met at the climate meetup")

    chiara = backend.phone.event(calls["Chiara Okonkwo-Ruiz"].id).description
    lines = chiara.splitlines()
    note_at = lines.index("Your note:")
    assert lines[note_at + 1 : note_at + 3] == [
        "  Rowed together at university; haven't spoken since 2019.",
        "  Two kids, lives in Leeds.",
    ]
    # the forged receipt and marker in the contact's note are defused: text, not boundaries
    assert events.RECEIPT_LINE not in chiara
    assert len(events.MARKER_RE.findall(chiara)) == 1
    assert events.user_text(chiara) == ""

    # and the notes are still read back as the person's, nothing else
    backend.phone.write(calls["Chiara Okonkwo-Ruiz"].id, "no answer")
    app.sync()
    chiara_call = calls_db.get(app.store.conn, calls["Chiara Okonkwo-Ruiz"].id)
    assert chiara_call is not None and chiara_call.outcome == "no_answer"


def test_the_phone_is_the_location_and_survives_a_rewrite_when_the_person_set_one(
    backend: Backend, tmp_path: Path
) -> None:
    app = backend.make_app(calls={"per_day": 2})
    calls = two_people(app, tmp_path)
    person_app = calendar_app(backend.phone)
    sam, chiara = uid_for(calls["Sam Lee"].id), uid_for(calls["Chiara Okonkwo-Ruiz"].id)
    seen = person_app.view(sam)
    assert seen.location == "+1 (415) 555-0100"
    assert seen.dial in ("tel:+14155550100", None)  # Google and Graph have no phone field
    assert person_app.view(chiara).location == "+44 7700 900123"

    # the person's app adds its data to both; for Sam they type where they will meet
    person_app.touch(sam, location="Café Luna")
    person_app.touch(chiara)
    app.sync()  # reads the touched events: no notes, nothing edited
    app.set_topic("long-duration grid storage")  # a new question: syncsvc rewrites both
    report = app.sync()
    assert report.updated == 2
    for call in calls.values():
        assert "long-duration grid storage" in backend.phone.event(call.id).description
        assert person_app.view(uid_for(call.id)).apps_data
    assert person_app.view(sam).location == "Café Luna"
    assert person_app.view(chiara).location == "+44 7700 900123"


def test_add_note_on_the_command_line_reaches_the_ics_event(tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    cfg.write_text(
        f'data_dir = "{tmp_path / "data"}"\n[calls]\ntimezone = "Europe/Berlin"\nper_day = 1\n'
        'days = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]\nwindow = "09:00-17:00"\n'
    )

    def run(*args: str) -> Any:
        result = run_cli(["--config", str(cfg), *args])
        assert result.exit_code == 0, result.output
        return result

    run("add", "Sam Lee", "--phone", "+1 415 555 0100", "--note", "rowed together at university")
    run("plan", "--date", "tomorrow")  # a day in the past is refused
    (path,) = (tmp_path / "data" / "calendar").glob("*.ics")
    (vevent,) = icalendar.Calendar.from_ical(path.read_bytes()).walk("VEVENT")
    assert "Your note: rowed together at university" in str(vevent["DESCRIPTION"])
    assert str(vevent["LOCATION"]) == "+1 415 555 0100"
    assert str(vevent["CONFERENCE"]).startswith("tel:+1415555010")
    assert vevent["CONFERENCE"].params["FEATURE"] == "PHONE"
