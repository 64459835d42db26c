"""Who to call, and when.

Each planning day gets exactly ``per_day`` calls (fewer only when too few people are free),
chosen in this order: follow-ups due (and thank-you calls for a win), referrals not yet
called, retries (no answer / missed) after ``[calls] retry_after_days`` planning days — the
first retry after the first number, the next after the second, ... — then the rotation:
never-called people first, then those called fewest times and longest ago, ties in a stable
shuffled order.
Nobody has two open calls; nobody is called twice in a day; a thank-you call never comes
within a week of another call to that person; planning a day again changes nothing.

A pure function of facts and a clock: the store (``store/planning.py``) gathers the facts
for a day — with indexed, LIMITed queries, so planning does not load the whole name list —
this module decides, and the store records the decision (``syncsvc/scheduling.py`` runs the
three in one transaction). Nothing here reads or writes the database.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from syncsvc.config import CallsConfig

# A thank-you call for a win waits until this many days lie between it and any other call to
# the person, planned or done: "never a second call to the same person within a week".
UPDATE_GAP_DAYS = 7


@dataclass(frozen=True)
class Pick:
    person_id: int
    kind: str  # rotation | referral | retry | follow_up
    origin_call: str | None = None
    win_call: str | None = None  # an update call telling them about this call's win


@dataclass(frozen=True)
class Due:
    """A call an earlier call asks for: ``call_id`` is the follow-up's origin, or the win an
    update call tells ``person_id`` about."""

    person_id: int
    call_id: str


@dataclass(frozen=True)
class RetryCandidate:
    """A call not answered (or missed) long enough ago for its depth, and how many retries in
    a row led to it (counted up to ``max_retries + 1``)."""

    person_id: int
    call_id: str
    depth: int


@dataclass(frozen=True)
class PlanningFacts:
    """What the store knows that planning ``day`` depends on; each lane in its order.

    ``rotation`` holds free people only (no open call, no call that day, no fresh no-answer),
    at least twice as many as calls still wanted; ``not_free`` holds the people with an open
    call or a call on ``day`` (the lanes before the rotation are not filtered by the store).
    No lane holds a paused person (asked not to be called, wrong number, never).
    ``update_call_days``: for the people in ``updates``, the days of their planned or done
    calls less than ``UPDATE_GAP_DAYS`` before or after ``day``.
    """

    day: date
    taken: tuple[tuple[datetime, datetime], ...] = ()  # the day's existing calls
    follow_ups: tuple[Due, ...] = ()
    updates: tuple[Due, ...] = ()
    referrals: tuple[int, ...] = ()
    retries: tuple[RetryCandidate, ...] = ()
    rotation: tuple[int, ...] = ()
    not_free: frozenset[int] = field(default_factory=frozenset)
    update_call_days: Mapping[int, Collection[date]] = field(default_factory=dict)
    max_retries: int = 2  # len([calls] retry_after_days): retries in a row, then the rotation


@dataclass(frozen=True)
class WhyFacts:
    """What the store knows about one pick that explains it, for ``reason``: the person's
    last call that reached them, who referred them and when, the call a follow-up or retry
    comes from (its day, outcome, retry depth), the win a thank-you call is about."""

    last_contacted: date | None = None
    referrer: str | None = None
    referred_on: date | None = None
    origin_day: date | None = None
    origin_outcome: str | None = None
    origin_depth: int = 0
    win_person: str | None = None
    win_day: date | None = None
    win_text: str | None = None


@dataclass(frozen=True)
class NewCall:
    """A call to insert: who, why, when."""

    call_id: str
    day: date
    start: datetime
    end: datetime
    pick: Pick


# ------------------------------------------------------------------------------ days
def is_planning_day(cfg: CallsConfig, day: date) -> bool:
    return day.weekday() in cfg.weekdays


def planning_days(cfg: CallsConfig, first: date, count: int) -> list[date]:
    """The next ``count`` planning days from ``first`` (inclusive)."""
    days: list[date] = []
    day = first
    while len(days) < count:
        if is_planning_day(cfg, day):
            days.append(day)
        day += timedelta(days=1)
    return days


def next_planning_day(cfg: CallsConfig, after: date) -> date:
    return planning_days(cfg, after + timedelta(days=1), 1)[0]


def first_day_to_plan(cfg: CallsConfig, now: datetime) -> date:
    """Today if it is a planning day whose window has not ended yet, else the next one."""
    local = now.astimezone(cfg.zone)
    today = local.date()
    window_end = local_datetime(today, cfg.window_end, cfg.zone)
    if is_planning_day(cfg, today) and local < window_end:
        return today
    return next_planning_day(cfg, today)


# ------------------------------------------------------------------------------ slots
def local_datetime(day: date, at: time, zone: ZoneInfo) -> datetime:
    """``day`` at wall time ``at`` in ``zone``; a time that does not exist that day (the
    spring-forward gap) moves to the next valid time."""
    wall = datetime.combine(day, at)
    for minutes in range(0, 24 * 60):
        candidate = (wall + timedelta(minutes=minutes)).replace(tzinfo=zone)
        roundtrip = candidate.astimezone(UTC).astimezone(zone)
        if roundtrip.replace(tzinfo=None) == candidate.replace(tzinfo=None):
            return candidate
    raise AssertionError(f"no valid local time on {day} in {zone}")  # pragma: no cover


def slots(cfg: CallsConfig, day: date) -> list[tuple[datetime, datetime]]:
    """``per_day`` (start, end) pairs spread over the window, each inside it."""
    zone = cfg.zone
    start = local_datetime(day, cfg.window_start, zone)
    end = local_datetime(day, cfg.window_end, zone)
    duration = timedelta(minutes=cfg.duration_minutes)
    length = end.astimezone(UTC) - start.astimezone(UTC)
    if length < duration:  # the window was squeezed by a DST gap: keep the calls in it
        duration = max(length, timedelta(minutes=5))
    n = cfg.per_day
    step = length / n
    if step < duration and n > 1:
        step = (length - duration) / (n - 1)
    step = timedelta(minutes=int(step.total_seconds() // 60 // 5 * 5))
    out = []
    for i in range(n):
        s = (start.astimezone(UTC) + step * i).astimezone(zone)
        out.append((s, (s.astimezone(UTC) + duration).astimezone(zone)))
    return out


# ------------------------------------------------------------------------------ choosing
def planning_days_before(cfg: CallsConfig, day: date, n: int) -> date:
    """The ``n``-th planning day before ``day`` (``day`` itself not counted)."""
    for _ in range(n):
        day -= timedelta(days=1)
        while not is_planning_day(cfg, day):
            day -= timedelta(days=1)
    return day


def retry_cutoffs(cfg: CallsConfig, day: date) -> tuple[date, ...]:
    """Per retry depth: a no-answer (or missed call) on this day or before may be retried on
    ``day`` — ``retry_after_days[depth]`` planning days later (a no-answer on Monday is tried
    again on Thursday with 3). The last one also keeps a person just not reached out of the
    rotation until then."""
    return tuple(planning_days_before(cfg, day, n) for n in cfg.retry_after_days)


def rotation_limit(wanted: int) -> int:
    """Rotation candidates the store must supply for ``wanted`` calls: the earlier lanes
    can take at most ``wanted - 1`` people who might also be first in the rotation."""
    return 2 * wanted


def update_window(day: date) -> tuple[date, date]:
    """The first and last day a call to a person keeps a thank-you call off ``day``."""
    gap = timedelta(days=UPDATE_GAP_DAYS - 1)
    return day - gap, day + gap


def update_due(facts: PlanningFacts, person_id: int) -> bool:
    """A thank-you call to ``person_id`` may be planned on ``facts.day``: no other call of
    theirs, planned or done, lies within a week of it (else it waits until the week passed)."""
    first, last = update_window(facts.day)
    return not any(first <= d <= last for d in facts.update_call_days.get(person_id, ()))


def choose(facts: PlanningFacts, wanted: int) -> list[Pick]:
    """Up to ``wanted`` people for ``facts.day``, in lane order; nobody twice, nobody who
    is not free, no thank-you call within a week of another call to that person."""
    lanes: tuple[Sequence[Pick], ...] = (
        [Pick(d.person_id, "follow_up", d.call_id) for d in facts.follow_ups],
        [
            Pick(d.person_id, "follow_up", win_call=d.call_id)
            for d in facts.updates
            if update_due(facts, d.person_id)
        ],
        [Pick(person_id, "referral") for person_id in facts.referrals],
        [
            Pick(r.person_id, "retry", r.call_id)
            for r in facts.retries
            if r.depth < facts.max_retries
        ],
        [Pick(person_id, "rotation") for person_id in facts.rotation],
    )
    picks: list[Pick] = []
    chosen: set[int] = set()
    for lane in lanes:
        for pick in lane:
            if len(picks) >= wanted:
                return picks
            if pick.person_id not in chosen and pick.person_id not in facts.not_free:
                picks.append(pick)
                chosen.add(pick.person_id)
    return picks


def call_id(install_id: str, day: date, person_id: int) -> str:
    return f"{install_id}-{day:%Y%m%d}-{person_id}"


def calls_wanted(cfg: CallsConfig, day: date, existing: int) -> int:
    """How many calls ``day`` still lacks (0 on a day that is not a planning day)."""
    if not is_planning_day(cfg, day):
        return 0
    return max(cfg.per_day - existing, 0)


def open_slots(
    cfg: CallsConfig,
    day: date,
    taken: Sequence[tuple[datetime, datetime]],
    busy: Sequence[tuple[datetime, datetime]] | None,
    wanted: int,
) -> list[tuple[datetime, datetime]]:
    """Up to ``wanted`` slots for new calls on ``day``: the spread-out slots not taken by
    the day's calls; with ``busy`` (avoid_busy), none overlaps the person's own events — a
    slot that would is moved to the first free time in the window, and when the window is
    full there are fewer slots (those calls go to the next planning day)."""
    preferred = slots(cfg, day)
    if busy is None:
        starts = {s for s, _ in taken}
        return [s for s in preferred if s[0] not in starts][:wanted]
    blocked = [*taken, *busy]

    def free(s: datetime, e: datetime) -> bool:
        return all(e <= bs or s >= be for bs, be in blocked)

    out: list[tuple[datetime, datetime]] = []
    window_end = local_datetime(day, cfg.window_end, cfg.zone)
    duration = preferred[0][1] - preferred[0][0]
    for s, e in preferred:
        if len(out) < wanted and free(s, e):
            out.append((s, e))
            blocked.append((s, e))
    s = preferred[0][0]
    while len(out) < wanted and s + duration <= window_end:
        e = s + duration
        if free(s, e):
            out.append((s.astimezone(cfg.zone), e.astimezone(cfg.zone)))
            blocked.append((s, e))
        s += timedelta(minutes=5)
    return sorted(out)


def plan_day(
    cfg: CallsConfig,
    facts: PlanningFacts,
    install_id: str,
    busy: Sequence[tuple[datetime, datetime]] | None = None,
) -> list[NewCall]:
    """The calls to add so ``facts.day`` has ``per_day`` (none if it has them already, or
    is not a planning day). ``busy``: the person's own events that day, to plan around
    (None: not considered)."""
    day = facts.day
    wanted = calls_wanted(cfg, day, len(facts.taken))
    if wanted <= 0:
        return []
    free_slots = open_slots(cfg, day, facts.taken, busy, wanted)
    picks = choose(facts, len(free_slots))
    return [
        NewCall(call_id(install_id, day, pick.person_id), day, slot[0], slot[1], pick)
        for slot, pick in zip(free_slots, picks, strict=False)
    ]


def retry_day(cfg: CallsConfig, day: date, person_days: Collection[date]) -> date:
    """The day for a rescheduled call: ``day``, or the next planning day after it on which
    the person has no call (``person_days``: the days they have one, from ``day`` on)."""
    while day in person_days:
        day = next_planning_day(cfg, day)
    return day


def retry_call(
    cfg: CallsConfig,
    install_id: str,
    person_id: int,
    origin_call: str,
    day: date,
    taken_starts: Collection[datetime],
) -> NewCall:
    """A rescheduled call on ``day`` in its earliest slot not taken (the first slot when
    all are)."""
    options = slots(cfg, day)
    start, end = next((s for s in options if s[0] not in taken_starts), options[0])
    pick = Pick(person_id, "retry", origin_call=origin_call)
    return NewCall(call_id(install_id, day, person_id), day, start, end, pick)


# ------------------------------------------------------------------------------ why
ROTATION_NEVER = "never called yet — everyone comes round once before anyone twice"
ROTATION_YEARS = (
    "not spoken since {year} — people you haven't talked to in years often know the most "
    "about openings"
)
ROTATION_LONGEST = "last spoken on {day} — the longest ago of everyone free"
ORDINALS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh")
ORIGIN_WORDS = {
    "no_answer": "no answer on {weekday}",
    "missed": "nothing written on {weekday}",
}


def _short(day: date) -> str:
    return f"{day.day} {day:%b}"


def reason(pick: Pick, why: WhyFacts, day: date) -> str:
    """Why ``pick`` was chosen for ``day``, in one line the person reads in the event:
    "referred by Ada on 2 Dec", "follow-up you asked for on 12 Nov", "no answer on Monday,
    second try", or the rotation's own reason in words."""
    if pick.win_call is not None:
        parts = [why.win_text] if why.win_text else []
        with_whom = f"with {why.win_person}" if why.win_person else ""
        when = f"on {_short(why.win_day)}" if why.win_day else ""
        if with_whom or when:
            parts.append(" ".join(p for p in (with_whom, when) if p))
        detail = f" ({'; '.join(parts)})" if parts else ""
        return f"thank you: your referral led to a win{detail}"
    if pick.kind == "follow_up":
        when = f" on {_short(why.origin_day)}" if why.origin_day else ""
        return f"follow-up you asked for{when}"
    if pick.kind == "referral":
        by = f"referred by {why.referrer}" if why.referrer else "referred to you"
        return by + (f" on {_short(why.referred_on)}" if why.referred_on else "")
    if pick.kind == "retry" and why.origin_outcome == "rescheduled":
        return f"you moved it here from {why.origin_day:%A}" if why.origin_day else "you moved it"
    if pick.kind == "retry":
        words = ORIGIN_WORDS.get(why.origin_outcome or "", "not reached on {weekday}")
        first = words.format(weekday=f"{why.origin_day:%A}" if why.origin_day else "the last call")
        attempt = why.origin_depth + 2
        nth = ORDINALS[attempt - 1] if attempt <= len(ORDINALS) else f"{attempt}th"
        return f"{first}, {nth} try"
    if why.last_contacted is None:
        return ROTATION_NEVER
    if why.last_contacted.year < day.year - 1:
        return ROTATION_YEARS.format(year=why.last_contacted.year)
    return ROTATION_LONGEST.format(day=_short(why.last_contacted))
