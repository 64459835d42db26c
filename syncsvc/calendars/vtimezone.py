"""A compact VTIMEZONE for a zoneinfo zone, written as calendar apps write it (issue 17).

icalendar's ``add_missing_timezones`` writes every transition from 1970 to 2037 as RDATEs
(about 3 KB of a 3.7 KB event). Apple Calendar, Google and Thunderbird write one STANDARD and
one DAYLIGHT sub-component with a yearly RRULE instead ("last Sunday of March at 02:00").

``vtimezone(zone, year)`` reads the zone's transitions in ``year`` from zoneinfo and finds the
yearly rule (the n-th or last weekday of the month) that gives the same transition days in the
next years too. A zone without daylight saving is one STANDARD. A zone whose transitions follow
no such rule (Morocco's Ramadan breaks, a zone changing its rules) gets ``None``: the caller
keeps icalendar's full listing for it. Readers with their own zone database use the TZID (the
zoneinfo key) anyway; the VTIMEZONE is for those without one.
"""

from __future__ import annotations

import calendar as calendar_mod
import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Component, Timezone, TimezoneDaylight, TimezoneStandard, vRecur

#: the rule found for ``year`` must also give zoneinfo's transitions in this many later years
CHECK_YEARS = 15
#: DTSTART's year for the observances, as calendar apps write it (before any event)
EPOCH_YEAR = 1970
#: icalendar writes these as UTC times ("...Z"), with no VTIMEZONE
_UTC_KEYS = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Zulu", "Etc/Zulu", "Universal"})
_DAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True)
class Transition:
    at: datetime  # the instant, UTC
    offset_from: timedelta
    offset_to: timedelta
    name: str  # the abbreviation after the transition (CEST)

    @property
    def local(self) -> datetime:
        """The wall-clock time it happens at, in the offset before it (naive): 02:00 in March."""
        return (self.at + self.offset_from).replace(tzinfo=None)


def vtimezone(zone: ZoneInfo, year: int) -> Timezone | None:
    """The VTIMEZONE for ``zone`` as of ``year``, or None if no yearly rule describes it."""
    transitions = transitions_in(zone, year)
    tz = Timezone()
    tz.add("tzid", zone.key)
    if not transitions:
        moment = datetime(year, 7, 1, tzinfo=UTC).astimezone(zone)
        offset = moment.utcoffset() or timedelta(0)
        tz.add_component(_observance(TimezoneStandard, moment.tzname() or "", offset, offset))
        return tz
    if len(transitions) != 2:
        return None
    later = {y: transitions_in(zone, y) for y in range(year + 1, year + 1 + CHECK_YEARS)}
    for index, transition in enumerate(transitions):
        rule = _yearly_rule(transition, [t[index] for t in later.values() if len(t) == 2])
        if rule is None or any(len(t) != 2 for t in later.values()):
            return None
        daylight = transition.offset_to > transition.offset_from
        kind = TimezoneDaylight if daylight else TimezoneStandard
        first = _first_on_rule(rule, transition.local)
        tz.add_component(
            _observance(kind, transition.name, transition.offset_from, transition.offset_to)
        )
        component = tz.subcomponents[-1]
        component.add("dtstart", first)
        component.add("rrule", rule)
    return tz


@functools.lru_cache(maxsize=512)
def transitions_in(zone: ZoneInfo, year: int) -> tuple[Transition, ...]:
    """The zone's offset changes in ``year``, in order (a day's scan, then to the second).
    Cached: a zone's 16 years cost about 20 ms, and every event written needs them."""
    out: list[Transition] = []
    start = int(datetime(year, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime(year + 1, 1, 1, tzinfo=UTC).timestamp())
    step = 86400

    def offset(ts: int) -> timedelta:
        return datetime.fromtimestamp(ts, zone).utcoffset() or timedelta(0)

    previous = offset(start)
    ts = start
    while ts < end:
        nxt = min(ts + step, end)
        current = offset(nxt)
        if current != previous:
            low, high = ts, nxt  # offset(low) == previous, offset(high) == current
            while high - low > 1:
                middle = (low + high) // 2
                if offset(middle) == previous:
                    low = middle
                else:
                    high = middle
            moment = datetime.fromtimestamp(high, UTC)
            name = moment.astimezone(zone).tzname() or ""
            out.append(Transition(moment, previous, current, name))
            previous = current
        ts = nxt
    return tuple(out)


def _yearly_rule(transition: Transition, later: list[Transition]) -> vRecur | None:
    """FREQ=YEARLY;BYMONTH=m;BYDAY=nSU for the n-th (or last, -1) weekday of the month that
    matches this transition's local day and every later year's."""
    day = transition.local.date()
    weekday = _DAYS[day.weekday()]
    nth = (day.day - 1) // 7 + 1
    candidates = [nth]
    if day.day + 7 > calendar_mod.monthrange(day.year, day.month)[1]:
        candidates.insert(0, -1)  # the last one: "last Sunday" rather than "4th Sunday"
    for n in candidates:
        if all(
            t.local.date() == _nth_weekday(t.local.year, day.month, day.weekday(), n)
            and t.local.time() == transition.local.time()
            for t in later
        ):
            return vRecur({"FREQ": "YEARLY", "BYMONTH": day.month, "BYDAY": f"{n}{weekday}"})
    return None


def _nth_weekday(year: int, month: int, weekday: int, n: int) -> date:
    days = [
        date(year, month, d)
        for d in range(1, calendar_mod.monthrange(year, month)[1] + 1)
        if date(year, month, d).weekday() == weekday
    ]
    return days[n - 1] if n > 0 else days[n]


def _first_on_rule(rule: vRecur, local: datetime) -> datetime:
    """DTSTART: the rule's day in EPOCH_YEAR, at the transition's wall-clock time."""
    byday = str(rule["BYDAY"][0] if isinstance(rule["BYDAY"], list) else rule["BYDAY"])
    month = rule["BYMONTH"]
    month = int(month[0] if isinstance(month, list) else month)
    n = int(byday[:-2])
    day = _nth_weekday(EPOCH_YEAR, month, _DAYS.index(byday[-2:]), n)
    return datetime.combine(day, local.time())


def _observance(
    kind: type[TimezoneStandard] | type[TimezoneDaylight],
    name: str,
    offset_from: timedelta,
    offset_to: timedelta,
) -> TimezoneStandard | TimezoneDaylight:
    component = kind()
    if name:
        component.add("tzname", name)
    component.add("tzoffsetfrom", offset_from)
    component.add("tzoffsetto", offset_to)
    if offset_from == offset_to:  # no daylight saving: one observance since the epoch
        component.add("dtstart", datetime(EPOCH_YEAR, 1, 1))
    return component


def add_compact_timezones(cal: Component, times: list[datetime]) -> None:
    """Put the compact VTIMEZONE of each zoneinfo zone among ``times`` first in ``cal``
    (icalendar's ``add_missing_timezones`` then adds only what this could not describe)."""
    done: set[str] = set()
    for moment in times:
        zone = moment.tzinfo
        if not isinstance(zone, ZoneInfo) or zone.key in done or zone.key in _UTC_KEYS:
            continue
        done.add(zone.key)
        tz = vtimezone(zone, moment.year)
        if tz is not None:
            cal.subcomponents.insert(0, tz)
