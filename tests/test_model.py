"""A stateful model of the whole loop, as vdirsyncer's SyncMachine, on every backend: the
local folder (vdir), CalDAV (a real Radicale), Google and Microsoft Graph (the loopback fakes),
each example on a calendar of its own (tests/model_rigs.py). Hypothesis plans, lets days pass,
writes the person's notes from the grammar (and changes them), moves and deletes events, lets
another app store its own property in them, changes the topic, syncs — and kills a sync at a
random remote write, then carries on with a fresh App on the same store and calendar. After
every step: one event per call, no second open call for a person, deleted stays deleted, a
receipt at most once per event, another app's property kept; after every completed sync also:
no note the person wrote is lost, every untouched future event carries the current topic.

Bounded by default (see BUDGET: about a minute for the four); ``-m slow`` runs many more."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from syncsvc import config as config_mod
from syncsvc import events
from syncsvc.app import App
from syncsvc.clock import FixedClock
from syncsvc.store import calls as calls_db
from tests.conftest import BERLIN, add_people
from tests.flow_phones import VdirPhone
from tests.model_rigs import (
    PASSWORD_ENV,
    RigFactory,
    caldav_rigs,
    google_rig,
    microsoft_rigs,
    vdir_rig,
)
from tests.radicale_server import PASSWORD, RadicaleServer, radicale_fixture

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
    def __init__(self, rigs: RigFactory = vdir_rig) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="syncsvc-model-"))
        self.rig = rigs(self.dir)
        self.config = self.rig.config
        self.clock = FixedClock(START)
        self.app = self.rig.new_app(self.clock)
        add_people(self.app, 5)
        self.app.set_topic(TOPICS[0])
        self.topic = TOPICS[0]
        self.phone = self.rig.phone
        self.notes: dict[str, str] = {}  # call id -> what the person has in it now
        self.touched: set[str] = set()  # the person wrote in it or moved it
        self.deleted: set[str] = set()
        self.other_apps: dict[str, str | None] = {}  # call id -> what another app stored in it

    def teardown(self) -> None:
        try:
            self.app.close()
            self.rig.close()
        finally:
            shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------------ helpers
    def _events(self) -> list[str]:
        return [c for c in self.phone.call_ids() if c not in self.deleted]

    def _unrecorded(self) -> list[str]:
        """Events a kill left between their create and its record (the outbox redoes them)."""
        outbox = calls_db.unwritten(self.app.store.conn, self.app.calendar.key)
        return sorted(set(outbox) & set(self._events())) if outbox else []

    def _fresh_app(self) -> None:
        self.app.close()
        self.app = self.rig.new_app(self.clock)

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
        self._deletes(data.draw(st.sampled_from(self._events())))

    def _deletes(self, call_id: str) -> None:
        state = calls_db.event_state(self.app.store.conn, self.app.calendar.key, call_id)
        self.phone.delete(call_id)
        self.notes.pop(call_id, None)
        self.other_apps.pop(call_id, None)
        if state is not None and state.state == "pending":
            # a kill between a remote create and its record: a vdir records first, so never
            # shows one; Google keeps the deleted event's id (the redone create finds it
            # cancelled); elsewhere the next run cannot tell this from a create that never
            # happened and writes it again (a known limit, docs/RELIABILITY.md)
            assert not self.app.calendar.key.startswith("vdir:"), call_id
            if not self.rig.keeps_unrecorded_deletions:
                self.touched.discard(call_id)
                return
        self.deleted.add(call_id)

    @precondition(lambda self: bool(self._events()))
    @rule(data=st.data())
    def another_app_touches(self, data: st.DataObject) -> None:
        """Another app stores a property of its own (Thunderbird's alarm acknowledgement, a
        Google colour, an Outlook category): the event changes, its text does not."""
        call_id = data.draw(st.sampled_from(self._events()))
        self.phone.other_app_touch(call_id, self.clock.now())
        self.other_apps[call_id] = self.phone.other_app_marks()[call_id]

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
        a_day_later=st.booleans(),
        then_deletes=st.booleans(),
    )
    def kill(
        self,
        method: str,
        after: bool,
        nth: int,
        command: str,
        a_day_later: bool,
        then_deletes: bool,
    ) -> None:
        """A kill at the ``nth`` remote ``method`` call (before or after it wrote; a create:
        before or after its record), then a fresh App on the same store and calendar.
        ``a_day_later``: the run comes a day after the last step, so it has new calls to
        create (else the ``plan`` rule has mostly written them already, and a kill between a
        create and its record is rarely seen).
        ``then_deletes``: the person deletes an event the killed run created but did not
        record, before the next run (as ``person_deletes``, which almost never picks it:
        none in 1,000 examples of 30 steps)."""
        if a_day_later:
            self.clock.set(self.clock.now() + timedelta(hours=24))
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
        unrecorded = self._unrecorded() if then_deletes else []
        if unrecorded and len(self._events()) >= 2:
            self._deletes(unrecorded[0])

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
    def another_apps_property_stays(self) -> None:
        """A rewrite changes only syncsvc's own fields and keeps what another app added
        (PRODUCT.md: X-MOZ-LASTACK, categories, colour...)."""
        if not self.other_apps:
            return
        marks = self.phone.other_app_marks()
        for call_id, mark in self.other_apps.items():
            if call_id in marks:
                assert marks[call_id] == mark, call_id

    @invariant()
    def receipt_at_most_once(self) -> None:
        for call_id, desc in self.phone.descriptions().items():
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
    make_app: Callable[..., App],
    make_config: Callable[..., config_mod.Config],
    record: str,
    monkeypatch: pytest.MonkeyPatch,
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

    monkeypatch.setattr(sync_mod, "_mark_written", killed)
    with pytest.raises(Killed):
        app.plan()
    monkeypatch.setattr(sync_mod, "_mark_written", real)
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


def test_on_google_an_event_deleted_before_its_create_was_recorded_stays_deleted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Why the model keeps Google out of remote calendars' known limit (an event deleted
    after a create killed before its record is written again): the deleted event keeps its id
    (cancelled), so the redone create answers 409, finds it cancelled, and the next read
    reports the deletion: nothing comes back."""
    from syncsvc import sync as sync_mod

    rig = google_rig(tmp_path)
    clock = FixedClock(START)
    try:
        app = rig.new_app(clock)
        add_people(app, 3)
        real = sync_mod._mark_written

        def killed(*args: Any, **kw: Any) -> None:
            raise Killed("after create")

        monkeypatch.setattr(sync_mod, "_mark_written", killed)
        with pytest.raises(Killed):
            app.plan()
        monkeypatch.setattr(sync_mod, "_mark_written", real)
        app.close()
        (call_id,) = rig.phone.call_ids()
        rig.phone.delete(call_id)  # the person deletes it before the next run
        fresh = rig.new_app(clock)
        fresh.sync()
        assert call_id not in rig.phone.call_ids()
        clock.set(clock.now() + timedelta(hours=1))
        fresh.plan()
        fresh.sync()
        assert call_id not in rig.phone.call_ids()
        fresh.close()
    finally:
        rig.close()


radicale = radicale_fixture("module")

# (examples, steps) per backend. The default tier stays cheap: a step on CalDAV costs a few
# loopback requests to Radicale (about 20 s for its budget here), the fakes far less; the
# three network backends add about 30 s together. -m slow hunts with many more.
BUDGET = {"vdir": (25, 20), "caldav": (12, 20), "google": (30, 20), "microsoft": (30, 20)}
SLOW_BUDGET = {"vdir": (500, 40), "caldav": (150, 30), "google": (300, 40), "microsoft": (300, 40)}


@pytest.fixture(params=["vdir", "caldav", "google", "microsoft"])
def rigs(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> RigFactory:
    """How the machine makes each example's calendar on this backend (tests/model_rigs.py)."""
    if request.param == "caldav":
        server: RadicaleServer = request.getfixturevalue("radicale")
        monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
        return caldav_rigs(server)
    if request.param == "google":
        return google_rig
    if request.param == "microsoft":
        return microsoft_rigs(monkeypatch.setenv)
    return vdir_rig


def test_a_changed_reschedule_note_is_read_after_its_retry_was_moved(
    rigs: RigFactory, tmp_path: Path
) -> None:
    """Found by the model (on Google; the same on every backend): the person moved the retry
    a "reschedule" made to the next day, then added a line to the note that still says
    "reschedule later". The retry made again for the same day got the id the moved one still
    holds (day and person), the insert failed, and the changed note was never applied. Now
    the note is applied, and the moved retry is kept: it is the "later" the note asks for."""
    rig = rigs(tmp_path)
    clock = FixedClock(START)
    try:
        app = rig.new_app(clock)
        add_people(app, 5)
        call = app.plan()[0]
        rig.phone.write(call.id, "\nreschedule later")
        app.sync()
        (retry,) = calls_db.open_retries_from(app.store.conn, call.id)
        app.sync()  # the retry's event
        rig.phone.write(retry.id, start=rig.phone.event(retry.id).start + timedelta(days=1))
        app.sync()  # the retry moves to the next day
        seen = rig.phone.event(call.id)
        changed = seen.description.replace("reschedule later", "reschedule later\nshe was busy")
        rig.phone.write(call.id, replace_description=changed)
        app.sync()
        got = calls_db.get(app.store.conn, call.id)
        assert got is not None and got.outcome == "rescheduled"
        assert "she was busy" in (got.notes or "")
        # the note still says "reschedule later": the retry the person moved is that retry
        (again,) = calls_db.open_retries_from(app.store.conn, call.id)
        assert again.id == retry.id and again.day == retry.day + timedelta(days=1)
        assert sorted(rig.phone.call_ids()).count(retry.id) == 1
        app.close()
    finally:
        rig.close()


def _run(rigs: RigFactory, examples: int, steps: int) -> None:
    class OnThisBackend(LoopMachine):
        def __init__(self) -> None:
            super().__init__(rigs)

    run_state_machine_as_test(
        OnThisBackend,
        settings=settings(
            max_examples=examples,
            stateful_step_count=steps,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        ),
    )


def test_the_loop_model(rigs: RigFactory, request: pytest.FixtureRequest) -> None:
    _run(rigs, *BUDGET[request.node.callspec.params["rigs"]])


@pytest.mark.slow
@pytest.mark.timeout(1800)  # CalDAV's budget takes 5-10 minutes (300 s is the default limit)
def test_the_loop_model_long(rigs: RigFactory, request: pytest.FixtureRequest) -> None:
    _run(rigs, *SLOW_BUDGET[request.node.callspec.params["rigs"]])
