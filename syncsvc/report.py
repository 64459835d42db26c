"""The progress report: what the calls have produced so far.

``collect`` reads the store into one JSON-able dict (what ``syncsvc report --json`` prints);
``render_text`` is the terminal summary; ``render_html`` is one self-contained page — inline CSS
and SVG charts drawn here, no scripts, no external resources (a Content-Security-Policy that
forbids both is in the page), every name and text HTML-escaped.
"""

from __future__ import annotations

import html
import re
import sqlite3
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from syncsvc.errors import InputError

if TYPE_CHECKING:
    from syncsvc.app import App

WEEKS = 8
# outcomes in the order they are stacked and listed; anything else comes after them
OUTCOMES = ("done", "no_answer", "missed", "rescheduled", "skipped", "planned")
LABELS = {
    "done": "done",
    "no_answer": "no answer",
    "missed": "missed",
    "rescheduled": "rescheduled",
    "skipped": "skipped",
    "planned": "planned",
}
COLORS = {
    "done": "#2e7d6b",
    "no_answer": "#e0a030",
    "missed": "#c8553d",
    "rescheduled": "#7b6fc4",
    "skipped": "#9aa5b1",
    "planned": "#8cc7e8",
}
OTHER_COLOR = "#5c6b7a"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
MAX_TREE_DEPTH = 100
# nothing may load or run: the page is only its own markup, inline CSS and inline SVG
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


# --------------------------------------------------------------------------------------------
# Reading the store


def collect(app: App, weeks: int = WEEKS) -> dict[str, Any]:
    """Everything the report shows, as plain JSON-able data."""
    conn = app.store.conn
    today = app.today()
    zone = app.config.calls.zone
    first_week = today - timedelta(days=today.weekday()) - timedelta(weeks=weeks - 1)
    week_starts = [first_week + timedelta(weeks=i) for i in range(weeks)]

    per_week: list[Counter[str]] = [Counter() for _ in week_starts]
    for day_text, outcome, n in conn.execute(
        "SELECT day, outcome, count(*) FROM calls WHERE day >= ? AND day < ? GROUP BY day, outcome",
        (first_week.isoformat(), (first_week + timedelta(weeks=weeks)).isoformat()),
    ):
        index = (date.fromisoformat(day_text) - first_week).days // 7
        per_week[index][outcome] += n

    added_days = sorted(_local_day(r[0], zone) for r in conn.execute("SELECT added_at FROM people"))
    weeks_out = []
    for start, counts in zip(week_starts, per_week, strict=True):
        end = start + timedelta(days=6)
        weeks_out.append(
            {
                "week": f"{start.isocalendar().year}-W{start.isocalendar().week:02d}",
                "start": start.isoformat(),
                "calls": sum(counts.values()),
                "outcomes": dict(_ordered(counts)),
                "added": sum(1 for d in added_days if start <= d <= end),
                "people": sum(1 for d in added_days if d <= end),
            }
        )

    outcomes = Counter(
        {r[0]: r[1] for r in conn.execute("SELECT outcome, count(*) FROM calls GROUP BY outcome")}
    )
    referred = {
        r[0]
        for r in conn.execute(
            "SELECT person_id FROM referrals UNION "
            "SELECT id FROM people WHERE referred_by IS NOT NULL"
        )
    }
    names, parent, orgs = _people(conn)
    wins = _wins(conn, names, parent)
    return {
        "date": today.isoformat(),
        "topic": _topic(conn),
        "people": len(names),
        "streak": int(app.status()["streak"]),
        "referrals": len(referred),
        "done_total": outcomes.get("done", 0),
        "weeks": weeks_out,
        "outcomes": dict(_ordered(outcomes)),
        "wins": wins,
        "tree": _tree(names, parent, orgs, wins),
        "open_offers": _open_offers(conn),
        "follow_ups": _follow_ups(conn, today),
    }


def _ordered(counts: Counter[str]) -> list[tuple[str, int]]:
    known = [(k, counts[k]) for k in OUTCOMES if counts.get(k)]
    return known + sorted((k, n) for k, n in counts.items() if k not in OUTCOMES and n)


def _local_day(timestamp: str, zone: Any) -> date:
    try:
        moment = datetime.fromisoformat(timestamp)
    except ValueError:
        return date.fromisoformat(timestamp[:10])
    return moment.astimezone(zone).date() if moment.tzinfo else moment.date()


def _topic(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("SELECT text FROM topics ORDER BY id DESC LIMIT 1").fetchone()
    return row[0] if row else None


def _people(
    conn: sqlite3.Connection,
) -> tuple[dict[int, str], dict[int, int], dict[int, str]]:
    names: dict[int, str] = {}
    parent: dict[int, int] = {}
    orgs: dict[int, str] = {}
    for pid, name, org, referred_by in conn.execute(
        "SELECT id, name, org, referred_by FROM people ORDER BY id"
    ):
        names[pid] = name
        if org:
            orgs[pid] = org
        if referred_by is not None and referred_by != pid:
            parent[pid] = referred_by
    return names, parent, orgs


def chain(person: int, parent: dict[int, int]) -> list[int]:
    """The referral chain that led to ``person``: the first referrer first, ``person`` last."""
    out = [person]
    while (up := parent.get(out[-1])) is not None and up not in out:
        out.append(up)
    return out[::-1]


def _wins(
    conn: sqlite3.Connection, names: dict[int, str], parent: dict[int, int]
) -> list[dict[str, Any]]:
    wins = []
    for text, day, pid in conn.execute(
        "SELECT w.text, c.day, c.person_id FROM wins w JOIN calls c ON c.id = w.call_id "
        "ORDER BY c.day, w.rowid"
    ):
        ids = chain(pid, parent)
        wins.append(
            {
                "date": day,
                "person": names.get(pid, "?"),
                "person_id": pid,
                "text": text,
                "chain": [names.get(i, "?") for i in ids],
                "chain_ids": ids,
            }
        )
    return wins


def _tree(
    names: dict[int, str],
    parent: dict[int, int],
    orgs: dict[int, str],
    wins: list[dict[str, Any]],
) -> list[dict[str, Any]]:
    """Who led to whom: everyone who referred someone or was referred, as nested nodes."""
    children: dict[int, list[int]] = {}
    for child, up in parent.items():
        if up in names:
            children.setdefault(up, []).append(child)
    involved = set(children) | {c for c in parent if parent[c] in names}
    win_texts: dict[int, list[str]] = {}
    in_chain: set[int] = set()
    for w in wins:
        win_texts.setdefault(w["person_id"], []).append(w["text"])
        in_chain.update(w["chain_ids"])

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
            "org": orgs.get(pid),
            "wins": win_texts.get(pid, []),
            "in_win_chain": pid in in_chain,
            "children": kids,
        }

    roots = [p for p in sorted(involved) if parent.get(p) not in names]
    tree = [node(p, 0) for p in roots]
    for p in sorted(involved):  # a cycle of referrals has no root: start it at its first id
        if p not in placed:
            tree.append(node(p, 0))
    return tree


def _open_offers(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [
        {"person": name, "text": text, "date": day}
        for name, text, day in conn.execute(
            "SELECT p.name, o.text, c.day FROM offers o JOIN people p ON p.id = o.person_id "
            "JOIN calls c ON c.id = o.call_id WHERE o.done_at IS NULL ORDER BY c.day, o.id"
        )
    ]


def _follow_ups(conn: sqlite3.Connection, today: date) -> list[dict[str, Any]]:
    """Follow-up calls planned, and follow-ups asked for that have no call yet."""
    rows = conn.execute(
        """SELECT c.day, p.name, o.day FROM calls c JOIN people p ON p.id = c.person_id
             LEFT JOIN calls o ON o.id = c.origin_call
           WHERE c.kind = 'follow_up' AND c.outcome = 'planned'
           UNION
           SELECT c.follow_up, p.name, c.day FROM calls c JOIN people p ON p.id = c.person_id
           WHERE c.follow_up >= ? AND NOT EXISTS (
             SELECT 1 FROM calls f WHERE f.origin_call = c.id AND f.kind = 'follow_up')
           ORDER BY 1, 2""",
        (today.isoformat(),),
    )
    return [{"date": day, "person": name, "from": origin} for day, name, origin in rows]


# --------------------------------------------------------------------------------------------
# The terminal summary

_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f]")


def _plain(text: object) -> str:
    """Text safe for a terminal: no escape sequences or line breaks from a contact's name."""
    return _CONTROLS.sub(" ", str(text))


def _short(day_text: str) -> str:
    d = date.fromisoformat(day_text)
    return f"{MONTHS[d.month - 1]} {d.day:2d}"


def render_text(data: dict[str, Any]) -> str:
    lines = [
        f"Progress report, {data['date']}"
        + (f" — topic: {_plain(data['topic'])}" if data["topic"] else ""),
        f"Streak: {data['streak']} planning day(s)   calls done: {data['done_total']}   "
        f"referrals: {data['referrals']}   wins: {len(data['wins'])}   "
        f"people on the list: {data['people']}",
        "",
        "Calls per week (done / all)          list growth",
    ]
    top = max([w["calls"] for w in data["weeks"]] + [1])
    for w in data["weeks"]:
        done = w["outcomes"].get("done", 0)
        bar = "█" * round(20 * done / top) + "░" * (
            round(20 * w["calls"] / top) - round(20 * done / top)
        )
        lines.append(
            f"  week of {_short(w['start'])}  {bar:<20} {done:>3} / {w['calls']:<3}"
            f"   +{w['added']:<4} ({w['people']} total)"
        )
    if data["outcomes"]:
        lines += [
            "",
            "Outcomes: "
            + ", ".join(f"{LABELS.get(k, k)} {n}" for k, n in data["outcomes"].items()),
        ]
    else:
        lines += ["", "No calls yet: `syncsvc plan`."]
    if data["wins"]:
        lines += ["", "Wins"]
        for w in data["wins"]:
            via = " → ".join(_plain(n) for n in w["chain"])
            lines.append(f"  {w['date']}  {_plain(w['text'])}  ({via})")
    if data["open_offers"]:
        lines += ["", "Open offers"]
        lines += [
            f"  {_plain(o['person'])}: {_plain(o['text'])} (call on {o['date']})"
            for o in data["open_offers"]
        ]
    if data["follow_ups"]:
        lines += ["", "Follow-ups"]
        lines += [
            f"  {f['date']}  {_plain(f['person'])}"
            + (f" (from the call on {f['from']})" if f["from"] else "")
            for f in data["follow_ups"]
        ]
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------
# The HTML page


def esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _color(outcome: str) -> str:
    return COLORS.get(outcome, OTHER_COLOR)


def _ticks(top: int) -> list[int]:
    step = 1
    for candidate in (1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000):
        step = candidate
        if top / candidate <= 5:
            break
    else:
        step = max(1, top // 5)
    return list(range(0, top + step, step))


def _svg_open(width: int, height: int, label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" aria-label="{esc(label)}">'
        f"<title>{esc(label)}</title>"
    )


def calls_chart(weeks: list[dict[str, Any]]) -> str:
    """Stacked bars: calls per week by outcome."""
    width, height, left, right, top_pad, bottom = 560, 260, 36, 10, 14, 36
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    top = max([w["calls"] for w in weeks] + [1])
    ticks = _ticks(top)
    scale = plot_h / ticks[-1]
    parts = [_svg_open(width, height, "Calls per week by outcome")]
    for t in ticks:
        y = top_pad + plot_h - t * scale
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">{t}</text>'
        )
    slot = plot_w / max(len(weeks), 1)
    bar_w = slot * 0.62
    for i, w in enumerate(weeks):
        x = left + i * slot + (slot - bar_w) / 2
        y = top_pad + plot_h
        for outcome, n in w["outcomes"].items():
            h = n * scale
            y -= h
            parts.append(
                f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
                f'fill="{_color(outcome)}"><title>week of {esc(w["start"])}: '
                f"{n} {esc(LABELS.get(outcome, outcome))}</title></rect>"
            )
        if w["calls"]:
            parts.append(
                f'<text x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" class="value" '
                f'text-anchor="middle">{w["calls"]}</text>'
            )
        parts.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{height - bottom + 18}" class="axis" '
            f'text-anchor="middle">{esc(_short(w["start"]))}</text>'
        )
    if not any(w["calls"] for w in weeks):
        parts.append(
            f'<text x="{left + plot_w / 2:.1f}" y="{top_pad + plot_h / 2:.1f}" class="empty" '
            f'text-anchor="middle">No calls in these weeks yet</text>'
        )
    parts.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 4}" class="axis" '
        f'text-anchor="middle">week starting</text></svg>'
    )
    return "".join(parts)


def outcomes_chart(outcomes: dict[str, int]) -> str:
    """Horizontal bars: every call so far by outcome."""
    rows = list(outcomes.items()) or [("done", 0)]
    width, row_h, label_w = 420, 34, 110
    height = row_h * len(rows) + 12
    top = max([n for _, n in rows] + [1])
    parts = [_svg_open(width, height, "Calls by outcome")]
    for i, (outcome, n) in enumerate(rows):
        y = 6 + i * row_h
        w = (width - label_w - 50) * n / top
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 19}" class="label" text-anchor="end">'
            f"{esc(LABELS.get(outcome, outcome))}</text>"
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 10}" rx="3" '
            f'fill="{_color(outcome)}"><title>{n} {esc(LABELS.get(outcome, outcome))}</title>'
            f"</rect>"
            f'<text x="{label_w + w + 6:.1f}" y="{y + 19}" class="value">{n}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def growth_chart(weeks: list[dict[str, Any]]) -> str:
    """People on the list at the end of each week (line) and added that week (bars)."""
    width, height, left, right, top_pad, bottom = 560, 200, 44, 10, 18, 30
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    top = max([w["people"] for w in weeks] + [1])
    ticks = _ticks(top)
    scale = plot_h / ticks[-1]
    slot = plot_w / max(len(weeks), 1)
    parts = [_svg_open(width, height, "People on the list per week")]
    for t in ticks:
        y = top_pad + plot_h - t * scale
        parts.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" class="axis" text-anchor="end">{t}</text>'
        )
    points = []
    for i, w in enumerate(weeks):
        cx = left + i * slot + slot / 2
        h = w["added"] * scale
        parts.append(
            f'<rect x="{cx - slot * 0.3:.1f}" y="{top_pad + plot_h - h:.1f}" '
            f'width="{slot * 0.6:.1f}" height="{h:.1f}" class="added">'
            f"<title>+{w['added']} in the week of {esc(w['start'])}</title></rect>"
        )
        points.append((cx, top_pad + plot_h - w["people"] * scale, w["people"]))
        parts.append(
            f'<text x="{cx:.1f}" y="{height - bottom + 18}" class="axis" '
            f'text-anchor="middle">{esc(_short(w["start"]))}</text>'
        )
    parts.append(
        '<polyline class="total" points="'
        + " ".join(f"{x:.1f},{y:.1f}" for x, y, _ in points)
        + '"/>'
    )
    for x, y, _ in points:
        parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3.5" class="total-dot"/>')
    if points:
        x, y, n = points[-1]
        parts.append(
            f'<text x="{x:.1f}" y="{max(y - 8, 12):.1f}" class="value" '
            f'text-anchor="middle">{n}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _tree_html(nodes: list[dict[str, Any]]) -> str:
    if not nodes:
        return ""
    items = []
    for n in nodes:
        classes = "node" + (" win" if n["wins"] else "") + (" chain" if n["in_win_chain"] else "")
        org = f' <span class="org">{esc(n["org"])}</span>' if n["org"] else ""
        wins = "".join(f'<span class="win-text">★ {esc(t)}</span>' for t in n["wins"])
        items.append(
            f'<li><span class="{classes}">{esc(n["name"])}{org}</span>{wins}'
            f"{_tree_html(n['children'])}</li>"
        )
    return "<ul>" + "".join(items) + "</ul>"


_CSS = """
:root { --ink: #1d2733; --muted: #5c6b7a; --line: #dde3ea; --bg: #f6f8fa; --card: #fff;
        --accent: #2e7d6b; --win: #b7791f; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--ink);
       font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
main { max-width: 1160px; margin: 0 auto; padding: 24px; }
h1 { font-size: 26px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 0 0 12px; }
.sub { color: var(--muted); margin: 0 0 20px; }
.stats { display: grid; grid-template-columns: repeat(5, 1fr); gap: 12px; margin-bottom: 16px; }
.stat { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
        padding: 12px 14px; }
.stat b { display: block; font-size: 28px; color: var(--accent); }
.stat span { color: var(--muted); font-size: 13px; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; margin-bottom: 16px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 10px;
          padding: 16px; margin-bottom: 16px; overflow: hidden; }
svg { max-width: 100%; height: auto; display: block; }
svg .grid { stroke: var(--line); stroke-width: 1; }
svg .axis { fill: var(--muted); font-size: 11px; }
svg .label { fill: var(--ink); font-size: 13px; }
svg .value { fill: var(--ink); font-size: 12px; font-weight: 600; }
svg .empty { fill: var(--muted); font-size: 14px; }
svg .added { fill: #c9e4dc; }
svg .total { fill: none; stroke: var(--accent); stroke-width: 2.5; }
svg .total-dot { fill: var(--accent); }
.legend { display: flex; flex-wrap: wrap; gap: 12px; margin-top: 8px; font-size: 13px;
          color: var(--muted); padding: 0; list-style: none; }
.legend i { display: inline-block; width: 12px; height: 12px; border-radius: 2px;
            margin-right: 5px; vertical-align: -1px; }
.tree ul { list-style: none; margin: 0; padding-left: 22px; position: relative; }
.tree > ul { padding-left: 0; }
.tree li { position: relative; padding: 4px 0 4px 18px; }
.tree > ul > li { padding-left: 0; }
.tree ul ul li::before { content: ""; position: absolute; left: 0; top: 0; height: 100%;
                         border-left: 2px solid var(--line); }
.tree ul ul li:last-child::before { height: 17px; }
.tree ul ul li::after { content: ""; position: absolute; left: 0; top: 16px; width: 14px;
                        border-top: 2px solid var(--line); }
.node { display: inline-block; padding: 2px 10px; border-radius: 14px; background: #eef2f6;
        border: 1px solid var(--line); }
.node.chain { border-color: var(--win); background: #fdf5e6; }
.node.win { background: var(--win); color: #fff; border-color: var(--win); font-weight: 600; }
.node .org { color: var(--muted); font-size: 12px; }
.node.win .org { color: #fdf0d8; }
.win-text { margin-left: 8px; color: var(--win); font-weight: 600; }
table { border-collapse: collapse; width: 100%; font-size: 14px; }
th, td { text-align: left; padding: 6px 8px; border-bottom: 1px solid var(--line);
         vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: 12px; text-transform: uppercase; }
.none { color: var(--muted); font-style: italic; }
.wins li { margin: 4px 0; }
.wins .via { color: var(--muted); }
"""


def render_html(data: dict[str, Any]) -> str:
    stats = [
        (data["streak"], "day streak"),
        (data["done_total"], "calls done"),
        (data["referrals"], "referrals"),
        (len(data["wins"]), "wins"),
        (data["people"], "people on the list"),
    ]
    stat_html = "".join(
        f'<div class="stat"><b>{esc(n)}</b><span>{esc(label)}</span></div>' for n, label in stats
    )
    seen = list(data["outcomes"]) or ["done"]
    for w in data["weeks"]:
        seen += [k for k in w["outcomes"] if k not in seen]
    legend = "".join(
        f'<li><i style="background:{_color(k)}"></i>{esc(LABELS.get(k, k))}</li>' for k in seen
    )
    tree = _tree_html(data["tree"]) or (
        '<p class="none">No referrals yet: ask the question on every call.</p>'
    )
    wins = (
        '<ul class="wins">'
        + "".join(
            f"<li><b>{esc(w['text'])}</b> — {esc(w['date'])}, "
            f'<span class="via">via {" → ".join(esc(n) for n in w["chain"])}</span></li>'
            for w in data["wins"]
        )
        + "</ul>"
        if data["wins"]
        else '<p class="none">No wins recorded yet (write <code>win: ...</code> in a call).</p>'
    )
    offers = (
        "<table><thead><tr><th>for</th><th>offer</th><th>from the call on</th></tr></thead><tbody>"
        + "".join(
            f"<tr><td>{esc(o['person'])}</td><td>{esc(o['text'])}</td>"
            f"<td>{esc(o['date'])}</td></tr>"
            for o in data["open_offers"]
        )
        + "</tbody></table>"
        if data["open_offers"]
        else '<p class="none">No open offers.</p>'
    )
    follow_ups = (
        "<table><thead><tr><th>date</th><th>with</th><th>asked for on</th></tr></thead><tbody>"
        + "".join(
            f"<tr><td>{esc(f['date'])}</td><td>{esc(f['person'])}</td>"
            f"<td>{esc(f['from'] or '')}</td></tr>"
            for f in data["follow_ups"]
        )
        + "</tbody></table>"
        if data["follow_ups"]
        else '<p class="none">No follow-ups coming up.</p>'
    )
    topic = f" — {esc(data['topic'])}" if data["topic"] else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>syncsvc progress report {esc(data["date"])}</title>
<style>{_CSS}</style>
</head>
<body>
<main id="report">
<h1>Networking progress</h1>
<p class="sub">{esc(data["date"])}{topic}</p>
<div class="stats" id="stats">{stat_html}</div>
<div class="grid2">
<section id="calls-per-week"><h2>Calls per week</h2>{calls_chart(data["weeks"])}
<ul class="legend">{legend}</ul></section>
<section id="outcomes"><h2>Outcomes so far</h2>{outcomes_chart(data["outcomes"])}</section>
</div>
<div class="grid2">
<section id="referral-tree" class="tree"><h2>Who led to whom</h2>{tree}</section>
<section id="growth"><h2>Your list, week by week</h2>{growth_chart(data["weeks"])}
<h2 style="margin-top:16px">Wins</h2>{wins}</section>
</div>
<div class="grid2">
<section id="open-offers"><h2>Open offers</h2>{offers}</section>
<section id="follow-ups"><h2>Upcoming follow-ups</h2>{follow_ups}</section>
</div>
</main>
</body>
</html>
"""


def write_html(data: dict[str, Any], path: str | Path) -> Path:
    path = Path(path).expanduser()
    try:
        path.write_text(render_html(data), encoding="utf-8")
    except OSError as err:
        raise InputError(f"{path}: cannot write the report ({err.strerror or err})") from err
    return path
