"""The figures ``syncsvc status`` and ``syncsvc report`` show, each computed in one place.

The done-this-week count, the streak, wins with the referral chain that led to them and the
people thanked, open offers, calls per week and the referral tree are product rules; the
store (``store/insight.py``) only hands over rows. ``status`` and ``report`` build the two JSON
documents those commands print; ``views.py`` and ``report.py`` only render them.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from syncsvc.config import CallsConfig
from syncsvc.store import Connection
from syncsvc.store import calls as calls_db
from syncsvc.store import insight as insight_db
from syncsvc.store import people as people_db

WEEKS = 8
# outcomes in the order they are stacked and listed; anything else comes after them
OUTCOMES = ("done", "no_answer", "missed", "rescheduled", "skipped", "planned")
MAX_TREE_DEPTH = 100
# the streak looks back no further than this (a guard, ten years of planning days)
STREAK_HORIZON_DAYS = 3660


# ------------------------------------------------------------------------------- the rules
def streak(done_days: set[date], today: date, planning_weekdays: frozenset[int]) -> int:
    """Planning days in a row, up to today, with at least one call done (today counts
    only once a call is done; a day not yet done does not break the streak)."""
    count, day = 0, today
    if day not in done_days:
        day -= timedelta(days=1)
    while True:
        if day.weekday() in planning_weekdays:
            if day not in done_days:
                return count
            count += 1
        day -= timedelta(days=1)
        if (today - day).days > STREAK_HORIZON_DAYS:
            return count


def current_streak(conn: Connection, today: date, calls: CallsConfig) -> int:
    """The streak as of ``today`` on the configured planning days."""
    return streak(insight_db.done_days(conn, today), today, calls.weekdays)


def chain(person: int, parent: dict[int, int]) -> list[int]:
    """The referral chain that led to ``person``: the first referrer first, ``person`` last
    (a loop of referrals stops where it would come round again)."""
    out = [person]
    while (up := parent.get(out[-1])) is not None and up not in out:
        out.append(up)
    return out[::-1]


@dataclass(frozen=True)
class People:
    """The name list as the figures need it: names, orgs and who referred whom."""

    names: dict[int, str]
    parent: dict[int, int]  # person → who referred them (never themselves)
    orgs: dict[int, str]
    added_at: list[str]

    @classmethod
    def read(cls, conn: Connection) -> People:
        rows = insight_db.people_rows(conn)
        return cls(
            names={p.id: p.name for p in rows},
            parent=insight_db.referrers(conn),
            orgs={p.id: p.org for p in rows if p.org},
            added_at=[p.added_at for p in rows],
        )


@dataclass(frozen=True)
class Win:
    call_id: str
    day: str
    text: str
    person_id: int
    chain_ids: list[int]  # the first referrer first, the person who had the win last
    thanked: int  # update calls about it that are done


def wins(conn: Connection, parent: dict[int, int]) -> list[Win]:
    """Every win with the referral chain that led to it and how many were thanked."""
    thanked = insight_db.thanked(conn)
    return [
        Win(
            w.call_id,
            w.day,
            w.text,
            w.person_id,
            chain(w.person_id, parent),
            thanked.get(w.call_id, 0),
        )
        for w in insight_db.wins(conn)
    ]


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


# ------------------------------------------------------------------------------- status
def status_wins(conn: Connection) -> list[dict[str, Any]]:
    """Wins as ``status`` shows them: the chain nearest first. Only the names in a chain are
    read, not the whole list (``status`` stays quick on a list of thousands)."""
    found = wins(conn, insight_db.referrers(conn))
    names = insight_db.names(conn, (i for w in found for i in w.chain_ids))
    return [
        {
            "call_id": w.call_id,
            "date": w.day,
            "text": w.text,
            "chain": [names[i] for i in reversed(w.chain_ids) if i in names],
            "thanked": w.thanked,
        }
        for w in found
    ]


def status(conn: Connection, today: date, calls: CallsConfig) -> dict[str, Any]:
    """What ``syncsvc status`` shows: today's calls and the running figures."""
    return {
        "date": today.isoformat(),
        "topic": people_db.current_topic(conn),
        "today": [c.as_json() for c in calls_db.on_day(conn, today)],
        # the calls of the next day that has some: what `status` shows on a day without
        "next": [c.as_json() for c in calls_db.next_planned(conn, today)],
        "done_this_week": insight_db.done_between(conn, week_start(today), today),
        "streak": current_streak(conn, today, calls),
        # two different figures share the name: status counts the referrals noted in calls,
        # the report the people who came by referral (noted, or added --referred-by)
        "referrals": insight_db.referrals_noted(conn),
        "open_offers": [
            {"id": o.id, "person": o.person_name, "text": o.text}
            for o in calls_db.offers_open(conn)
        ],
        "wins": status_wins(conn),
        "people": people_db.count(conn),
        "never_called": insight_db.never_called(conn),
    }


# ------------------------------------------------------------------------------- report
def report(
    conn: Connection,
    today: date,
    calls: CallsConfig,
    weeks: int = WEEKS,
    now: datetime | None = None,
) -> dict[str, Any]:
    """Everything ``syncsvc report`` shows, as plain JSON-able data (``now``: for the
    funnel's 48 hours; the end of ``today`` when None)."""
    if now is None:
        now = datetime.combine(today + timedelta(days=1), datetime.min.time(), calls.zone)
    people = People.read(conn)
    all_wins = wins(conn, people.parent)
    win_rows = [
        {
            "date": w.day,
            "person": people.names.get(w.person_id, "?"),
            "person_id": w.person_id,
            "text": w.text,
            "chain": [people.names.get(i, "?") for i in w.chain_ids],
            "chain_ids": w.chain_ids,
        }
        for w in all_wins
    ]
    outcomes = Counter(insight_db.outcome_totals(conn))
    return {
        "date": today.isoformat(),
        "topic": people_db.current_topic(conn),
        "people": len(people.names),
        "streak": current_streak(conn, today, calls),
        "referrals": insight_db.people_referred(conn),
        "done_total": outcomes.get("done", 0),
        "weeks": calls_per_week(conn, people, today, calls.zone, weeks),
        "outcomes": dict(ordered(outcomes)),
        "wins": win_rows,
        "tree": tree(people, all_wins),
        "open_offers": [
            {"person": o.person_name, "text": o.text, "date": o.day.isoformat()}
            for o in calls_db.oldest_first(calls_db.offers_open(conn))
        ],
        "follow_ups": [
            {"date": f.day, "person": f.person, "from": f.origin_day}
            for f in insight_db.follow_ups(conn, today)
        ],
        "funnel": funnel(conn, now),
        "not_understood": not_understood(conn),
    }


def calls_per_week(
    conn: Connection, people: People, today: date, zone: ZoneInfo, weeks: int
) -> list[dict[str, Any]]:
    """The last ``weeks`` weeks up to this one: calls by outcome, people added, list size."""
    first_week = week_start(today) - timedelta(weeks=weeks - 1)
    starts = [first_week + timedelta(weeks=i) for i in range(weeks)]
    per_week: list[Counter[str]] = [Counter() for _ in starts]
    for day, outcome, n in insight_db.outcomes_by_day(
        conn, first_week, first_week + timedelta(weeks=weeks)
    ):
        per_week[(day - first_week).days // 7][outcome] += n
    added_days = sorted(_local_day(stamp, zone) for stamp in people.added_at)
    out = []
    for start, counts in zip(starts, per_week, strict=True):
        end = start + timedelta(days=6)
        iso = start.isocalendar()
        out.append(
            {
                "week": f"{iso.year}-W{iso.week:02d}",
                "start": start.isoformat(),
                "calls": sum(counts.values()),
                "outcomes": dict(ordered(counts)),
                "added": sum(1 for d in added_days if start <= d <= end),
                "people": sum(1 for d in added_days if d <= end),
            }
        )
    return out


def ordered(counts: Counter[str]) -> list[tuple[str, int]]:
    """Outcomes in the fixed order, then any other in name order; zeros left out."""
    known = [(k, counts[k]) for k in OUTCOMES if counts.get(k)]
    return known + sorted((k, n) for k, n in counts.items() if k not in OUTCOMES and n)


def _local_day(timestamp: str, zone: ZoneInfo) -> date:
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return date.fromisoformat(timestamp[:10])
    return moment.astimezone(zone).date() if moment.tzinfo else moment.date()


def tree(people: People, all_wins: list[Win]) -> list[dict[str, Any]]:
    """Who led to whom: everyone who referred someone or was referred, as nested nodes."""
    names, parent = people.names, people.parent
    children: dict[int, list[int]] = {}
    for child, up in parent.items():
        if up in names:
            children.setdefault(up, []).append(child)
    involved = set(children) | {c for c in parent if parent[c] in names}
    win_texts: dict[int, list[str]] = {}
    in_chain: set[int] = set()
    for w in all_wins:
        win_texts.setdefault(w.person_id, []).append(w.text)
        in_chain.update(w.chain_ids)

    placed: set[int] = set()

    def node(pid: int, depth: int) -> dict[str, Any]:
        placed.add(pid)
        kids = [
            node(c, depth + 1)
            for c in sorted(children.get(pid, []))
            if c not in placed and depth < MAX_TREE_DEPTH
        ]
        return {
            "id": pid,
            "name": names[pid],
            "org": people.orgs.get(pid),
            "wins": win_texts.get(pid, []),
            "in_win_chain": pid in in_chain,
            "children": kids,
        }

    roots = [p for p in sorted(involved) if parent.get(p) not in names]
    out = [node(p, 0) for p in roots]
    for p in sorted(involved):  # a cycle of referrals has no root: start it at its first id
        if p not in placed:
            out.append(node(p, 0))
    return out


# ------------------------------------------------------------------------------- the funnel
# outcomes the person wrote (a missed call is syncsvc's, a skipped one a deleted event)
WRITTEN = frozenset({"done", "no_answer", "rescheduled", "stop", "wrong_number"})
OUTCOME_WITHIN = timedelta(hours=48)
NOT_UNDERSTOOD = "not understood: "


def topic_on(day: str, topics: list[tuple[str, str]]) -> str | None:
    """The topic current on ``day`` (``topics``: (set_at, text), oldest first); None
    before the first one was set."""
    current = None
    for set_at, text in topics:
        if set_at[:10] > day:
            break
        current = text
    return current


def written_in_time(call: insight_db.FunnelCall) -> bool:
    """The person wrote the call's outcome within ``OUTCOME_WITHIN`` of its end."""
    if call.outcome not in WRITTEN or call.outcome_at is None:
        return False
    at = datetime.fromisoformat(call.outcome_at)
    end = datetime.fromisoformat(call.end_at)
    if at.tzinfo is None or end.tzinfo is None:  # pragma: no cover - always written with offset
        return False
    return at - end <= OUTCOME_WITHIN


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 3) if whole else None


def funnel(conn: Connection, now: datetime) -> list[dict[str, Any]]:
    """Per topic (a call belongs to the topic current on its day), oldest topic first:
    calls planned → reached (done) → referrals their notes gave → conversations with referred
    people (done calls to someone who came by referral) → wins; referrals per conversation;
    and the share of the calls whose end is 48 h past, or whose outcome is in, that had their
    outcome written within 48 h of the call's end."""
    topics = insight_db.topics(conn)
    stages: dict[str | None, Counter[str]] = {}
    for call in insight_db.funnel_calls(conn):
        c = stages.setdefault(topic_on(call.day, topics), Counter())
        c["planned"] += 1
        done = call.outcome == "done"
        c["reached"] += done
        c["referrals"] += call.referrals
        c["referred_conversations"] += done and call.referred
        c["wins"] += call.wins
        in_time = written_in_time(call)
        due = datetime.fromisoformat(call.end_at) + OUTCOME_WITHIN <= now
        if call.outcome != "skipped" and (due or in_time):
            c["outcome_due"] += 1
            c["outcome_in_time"] += in_time
    return [
        {
            "topic": topic,
            "planned": c["planned"],
            "reached": c["reached"],
            "referrals": c["referrals"],
            "referred_conversations": c["referred_conversations"],
            "wins": c["wins"],
            "referral_yield": _share(c["referrals"], c["reached"]),
            "outcome_within_48h": _share(c["outcome_in_time"], c["outcome_due"]),
        }
        for topic, c in stages.items()
    ]


def not_understood(conn: Connection) -> list[dict[str, Any]]:
    """The note lines syncsvc could not use, per call, from the receipts it wrote back: the
    person can fix them in the event (the next sync reads it again)."""
    out = []
    for r in insight_db.receipts_with(conn, NOT_UNDERSTOOD):
        lines = [
            line.strip()[len(NOT_UNDERSTOOD) :]
            for line in r.receipt.splitlines()
            if line.strip().startswith(NOT_UNDERSTOOD)
        ]
        if lines:
            out.append({"call_id": r.call_id, "date": r.day, "person": r.person, "lines": lines})
    return out
