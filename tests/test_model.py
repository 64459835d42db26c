"""A stateful model of the whole loop on the local folder (vdir), as vdirsyncer's SyncMachine:
Hypothesis plans, lets days pass, writes the person's notes from the grammar (and changes
them), moves and deletes events, lets another app touch them, changes the topic, syncs — and
kills a sync at a random remote write, then carries on with a fresh App on the same store and
folder. After every step: one event per call, no second open call for a person, deleted stays
deleted, a receipt at most once per event; after every completed sync also: no note the
person wrote is lost, every untouched future event carries the current topic.

Bounded by default (~25 examples of ~20 steps); ``-m slow`` runs many more."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import icalendar
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from syncsvc import config as config_mod
from syncsvc import events
from syncsvc.app import App
from syncsvc.clock import FixedClock
from syncsvc.store import calls as calls_db
from tests.conftest import BERLIN, add_people
from tests.flow_phones import VdirPhone

TOPICS = ["urban farming", "tidal power", "soil science"]
START = datetime(2026, 11, 27, 9, 0, tzinfo=BERLIN)  # a Friday morning


def _notes(today: date) -> st.SearchStrategy[str]:
    """The person's notes, from the contract's grammar."""
    return st.sampled_from(
        [
            "done",
            "no answer",
            "skip",
            "reschedule later",
            f"reschedule {(today + timedelta(days=5)).isoformat()}",
            "done\nref: Jane Roe <jane@example.org>",
            "done\noffer: intro to Sam",
            "done\nfollow up in 2 weeks",
            "ask about the new job",  # a preparation note before the call
        ]
    )


class Killed(BaseException):
    """A kill: not an ``Exception``, so nothing in syncsvc catches it (as SIGKILL)."""


class LoopMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="syncsvc-model-"))
        raw: dict[str, Any] = {
            "data_dir": str(self.dir / "data"),
            "calls": {"timezone": "Europe/Berlin", "per_day": 2},
        }
        self.config = config_mod.build(raw, None)
        self.clock = FixedClock(START)
        self.app = App(self.config, clock=self.clock)
        add_people(self.app, 5)
        self.app.set_topic(TOPICS[0])
        self.topic = TOPICS[0]
        self.phone = VdirPhone(self.config.calendar_path)
        self.notes: dict[str, str] = {}  # call id -> what the person has in it now
        self.touched: set[str] = set()  # the person wrote in it or moved it
        self.deleted: set[str] = set()

    def teardown(self) -> None:
        self.app.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------------ helpers
    def _events(self) -> list[str]:
        return [c for c in self.phone.call_ids() if c not in self.deleted]

    def _fresh_app(self) -> None:
        self.app.close()
        self.app = App(self.config, clock=self.clock)

    def _today(self) -> date:
        return self.clock.now().astimezone(BERLIN).date()

    # ------------------------------------------------------------------ rules
    @rule()
    def plan(self) -> None:
        self.app.plan()

    @rule(hours=st.sampled_from([5, 10, 24, 72]))
    def time_passes(self, hours: int) -> None:
        self.clock.set(self.clock.now() + timedelta(hours=hours))

    @precondition(lambda self: bool(self._events()))
    @rule(data=st.data(), change_of_mind=st.booleans())
    def person_writes(self, data: st.DataObject, change_of_mind: bool) -> None:
        call_id = data.draw(st.sampled_from(self._events()))
        note = data.draw(_notes(self._today()))
        seen = self.phone.event(call_id)
        earlier = self.notes.get(call_id)
        if change_of_mind and earlier and earlier in seen.description:
            self.phone.write(call_id, replace_description=seen.description.replace(earlier, note))
        else:
            self.phone.write(call_id, "\n" + note)
            note = f"{earlier}\n{note}" if earlier else note
        self.notes[call_id] = note
        self.touched.add(call_id)

    @precondition(lambda self: bool(self._events()))
    @rule(data=st.data(), hours=st.sampled_from([-1, 1, 24]))
    def person_moves(self, data: st.DataObject, hours: int) -> None:
        call_id = data.draw(st.sampled_from(self._events()))
        self.phone.write(call_id, start=self.phone.event(call_id).start + timedelta(hours=hours))
        self.touched.add(call_id)

    # the last events deleted at once read as an emptied calendar (refused, README): the
    # person keeps one
    @precondition(lambda self: len(self._events()) >= 2)
    @rule(data=st.data())
    def person_deletes(self, data: st.DataObject) -> None:
        call_id = data.draw(st.sampled_from(self._events()))
        state = calls_db.event_state(self.app.store.conn, self.app.calendar.key, call_id)
        self.phone.delete(call_id)
        self.notes.pop(call_id, None)
        if state is not None and state.state == "pending":
            # a kill between a remote create and its record: the next run cannot tell this
            # from a create that never happened and writes it again (a known limit of remote
            # calendars, docs/RELIABILITY.md); a vdir records first, so never shows one
            assert not self.app.calendar.key.startswith("vdir:"), call_id
            self.touched.discard(call_id)
            return
        self.deleted.add(call_id)

    @precondition(lambda self: bool(self._events()))
    @rule(data=st.data())
    def another_app_touches(self, data: st.DataObject) -> None:
        """Thunderbird acknowledging the alarm: a property added, the text unchanged."""
        call_id = data.draw(st.sampled_from(self._events()))
        path = self.phone.path(call_id)
        cal = icalendar.Calendar.from_ical(path.read_bytes())
        vevent = next(iter(cal.walk("VEVENT")))
        vevent.pop("X-MOZ-LASTACK", None)
        vevent.add("X-MOZ-LASTACK", self.clock.now())
        path.write_bytes(cal.to_ical())

    @rule(topic=st.sampled_from(TOPICS))
    def topic_changes(self, topic: str) -> None:
        self.app.set_topic(topic)
        self.topic = topic

    @rule()
    def sync(self) -> None:
        report = self.app.sync()
        # every note here is from the grammar: one that cannot be applied is a defect
        assert [c.line() for c in report.calls if c.error] == []
        self._check_after_sync()

    @rule(
        method=st.sampled_from(["create", "update", "delete"]),
        after=st.booleans(),
        nth=st.integers(min_value=0, max_value=2),
        command=st.sampled_from(["sync", "plan"]),
    )
    def kill(self, method: str, after: bool, nth: int, command: str) -> None:
        """A kill at the ``nth`` remote ``method`` call (before or after it wrote; a create:
        before or after its record), then a fresh App on the same store and folder."""
        calendar = self.app.calendar
        if method == "create":
            method = "create_recorded"
        real: Callable[..., Any] = getattr(calendar, method)
        seen = [0]

        def dying(*args: Any, **kw: Any) -> Any:
            seen[0] += 1
            if seen[0] - 1 != nth:
                return real(*args, **kw)
            if method == "create_recorded":
                event, record = args

                def recording(etag: str, exact: bool) -> None:
                    if not after:
                        raise Killed("create, before its record")
                    record(etag, exact)
                    raise Killed("create, after its record")

                return real(event, recording)
            if not after:
                raise Killed(method)
            real(*args, **kw)
            raise Killed(method)

        setattr(calendar, method, dying)
        try:
            getattr(self.app, command)()
        except Killed:
            pass
        finally:
            setattr(calendar, method, real)
        self._fresh_app()

    # ------------------------------------------------------------------ invariants
    @invariant()
    def one_event_per_call_and_no_strays(self) -> None:
        on_disk = self.phone.call_ids()
        assert len(on_disk) == len(set(on_disk))
        known = {
            r[0] for r in self.app.store.conn.execute("SELECT id FROM calls")
        }  # every event in the folder is one of syncsvc's calls
        assert set(on_disk) <= known, set(on_disk) - known

    @invariant()
    def no_second_open_call(self) -> None:
        rows = self.app.store.conn.execute(
            "SELECT person_id FROM calls WHERE outcome = 'planned' "
            "GROUP BY person_id HAVING count(*) > 1"
        ).fetchall()
        assert rows == []

    @invariant()
    def deleted_stays_deleted(self) -> None:
        assert not self.deleted & set(self.phone.call_ids())

    @invariant()
    def receipt_at_most_once(self) -> None:
        for call_id in self.phone.call_ids():
            desc = self.phone.event(call_id).description
            assert desc.count(events.RECEIPT_LINE) <= 1, call_id

    def _check_after_sync(self) -> None:
        conn = self.app.store.conn
        now = self.clock.now()
        for call_id, note in self.notes.items():  # no lost note
            call = calls_db.get(conn, call_id)
            assert call is not None
            kept = f"{call.notes or ''}\n{call.prep_notes or ''}".lower()
            for line in note.splitlines():
                assert line.lower() in kept, (call_id, line, kept)
        for call_id in self.phone.call_ids():  # untouched future events carry the topic
            call = calls_db.get(conn, call_id)
            assert call is not None
            if call_id in self.touched or call.outcome != "planned" or call.start <= now:
                continue
            assert self.topic in self.phone.event(call_id).description, call_id


@pytest.mark.parametrize("record", ["fails", "commits"])
def test_an_event_deleted_after_a_killed_create_stays_deleted(
    make_app: Callable[..., App], make_config: Callable[..., config_mod.Config], record: str
) -> None:
    """Once a known limit (issue 15's model): killed between calendar.create and its record,
    an event the person deleted before the next run was written again. A vdir now records the
    create before the event is in place: killed before the record, nobody ever saw it; killed
    after, the next run puts it in place - and a deletion after that is the person's."""
    from syncsvc import sync as sync_mod

    app = make_app(calls={"per_day": 2})
    add_people(app, 3)
    phone = VdirPhone(make_config().calendar_path)
    real = sync_mod._mark_written

    killed_ids: list[str] = []

    def killed(store: Any, calendar: Any, event: Any, etag: str) -> None:
        killed_ids.append(event.call_id)
        if record == "commits":
            real(store, calendar, event, etag)
        raise Killed("at the record")

    sync_mod._mark_written = killed  # type: ignore[assignment]
    try:
        with pytest.raises(Killed):
            app.plan()
    finally:
        sync_mod._mark_written = real  # type: ignore[assignment]
    app.close()
    assert phone.call_ids() == []  # not in place: the person cannot have seen it
    fresh = make_app(calls={"per_day": 2})
    fresh.sync()
    (call_id,) = killed_ids
    assert call_id in phone.call_ids()  # finished ("commits") or written afresh ("fails")
    phone.delete(call_id)  # the person deletes it
    fresh.sync()
    fresh.plan()
    assert call_id not in phone.call_ids()
    call = calls_db.get(fresh.store.conn, call_id)
    assert call is not None and call.outcome != "planned"
    leftovers = [p.name for p in make_config().calendar_path.iterdir() if p.name.startswith(".")]
    assert leftovers == [] or record == "fails"  # an unrecorded temp file goes after an hour


def _run(examples: int, steps: int) -> None:
    LoopMachine.TestCase.settings = settings(
        max_examples=examples,
        stateful_step_count=steps,
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    LoopMachine.TestCase().runTest()


def test_the_loop_model() -> None:
    _run(25, 20)


@pytest.mark.slow
def test_the_loop_model_long() -> None:
    _run(500, 40)
