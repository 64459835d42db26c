"""The progress report: what the calls have produced so far.

``collect`` gathers the figures (``syncsvc/insight.py``, shared with ``syncsvc status``) into one
JSON-able dict (what ``syncsvc report --json`` prints);
``render_text`` is the terminal summary; ``render_html`` is one self-contained page — inline CSS
and SVG charts drawn here, no scripts, no external resources (a Content-Security-Policy that
forbids both is in the page), every name and text HTML-escaped.
"""

from __future__ import annotations

import html
import re
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from syncsvc import insight
from syncsvc.errors import InputError
from syncsvc.paths import private_output

if TYPE_CHECKING:
    from syncsvc.app import App

WEEKS = insight.WEEKS
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
# nothing may load or run: the page is only its own markup, inline CSS and inline SVG
CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


# --------------------------------------------------------------------------------------------
# The figures (computed in syncsvc/insight.py, shared with `syncsvc status`)


def collect(app: App, weeks: int = WEEKS) -> dict[str, Any]:
    """Everything the report shows, as plain JSON-able data."""
    from syncsvc import updates

    conn = app.store.conn
    data = insight.report(conn, app.today(), app.config.calls, weeks, now=app.clock.now())
    data["updates"] = updates.pending_json(conn)  # drafts to send, as mailto: links
    return data


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
    lines += _funnel_text(data)
    return "\n".join(lines)


FUNNEL_STAGES = (
    ("planned", "planned"),
    ("reached", "reached"),
    ("referrals", "referrals"),
    ("referred_conversations", "talks with referred people"),
    ("wins", "wins"),
)
FUNNEL_COLORS = ("#4a90c2", "#1f6f5c", "#6a4fb3", "#d98e04", "#a0522d")
NO_TOPIC = "(before any topic)"


def _percent(share: float | None) -> str:
    return "–" if share is None else f"{round(share * 100)}%"


def _funnel_text(data: dict[str, Any]) -> list[str]:
    """The funnel per topic and the notes not understood, for the terminal."""
    lines: list[str] = []
    if data.get("funnel"):
        lines += ["", "Funnel per topic"]
        for f in data["funnel"]:
            stages = " → ".join(f"{f[key]} {label}" for key, label in FUNNEL_STAGES)
            yield_ = "–" if f["referral_yield"] is None else f"{f['referral_yield']:.2f}"
            lines += [
                f"  {_plain(f['topic'] or NO_TOPIC)}: {stages}",
                f"    referrals per conversation: {yield_}   "
                f"outcome written within 48 h: {_percent(f['outcome_within_48h'])}",
            ]
    if data.get("not_understood"):
        lines += ["", "Notes not understood (fix them in the event; the next sync reads it again)"]
        for n in data["not_understood"]:
            for line in n["lines"]:
                lines.append(f"  {n['date']}  {_plain(n['person'])}: {_plain(line)}")
    if data.get("updates"):
        lines += ["", f"Updates to send: {len(data['updates'])} draft(s) (`syncsvc updates`)"]
    return lines


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


def funnel_chart(f: dict[str, Any]) -> str:
    """Horizontal bars, one topic: planned → reached → referrals → talks with referred
    people → wins, each bar as long as its count (the first is the longest)."""
    width, row_h, label_w = 460, 30, 190
    height = row_h * len(FUNNEL_STAGES) + 10
    top = max([f[key] for key, _ in FUNNEL_STAGES] + [1])
    label = f"Funnel for {f['topic'] or NO_TOPIC}"
    parts = [_svg_open(width, height, label)]
    for i, (key, name) in enumerate(FUNNEL_STAGES):
        y = 5 + i * row_h
        n = f[key]
        w = (width - label_w - 44) * n / top
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 18}" class="label" text-anchor="end">'
            f"{esc(name)}</text>"
            f'<rect x="{label_w}" y="{y + 4}" width="{w:.1f}" height="{row_h - 10}" rx="3" '
            f'fill="{FUNNEL_COLORS[i]}"><title>{n} {esc(name)}</title></rect>'
            f'<text x="{label_w + w + 6:.1f}" y="{y + 18}" class="value">{n}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _funnel_html(data: dict[str, Any]) -> str:
    if not data.get("funnel"):
        return '<p class="none">No calls yet: the funnel fills as you call.</p>'
    out = []
    for f in data["funnel"]:
        yield_ = "–" if f["referral_yield"] is None else f"{f['referral_yield']:.2f}"
        out.append(
            f'<div class="funnel"><h3>{esc(f["topic"] or NO_TOPIC)}</h3>{funnel_chart(f)}'
            f'<p class="sub">referrals per conversation: <b>{esc(yield_)}</b> · '
            f"outcome written within 48 h: <b>{esc(_percent(f['outcome_within_48h']))}</b>"
            "</p></div>"
        )
    return "".join(out)


def _not_understood_html(data: dict[str, Any]) -> str:
    if not data.get("not_understood"):
        return '<p class="none">Every note was understood.</p>'
    rows = "".join(
        f"<tr><td>{esc(n['date'])}</td><td>{esc(n['person'])}</td><td>{esc(line)}</td></tr>"
        for n in data["not_understood"]
        for line in n["lines"]
    )
    return (
        '<p class="sub">Fix them in the call\'s event; the next sync reads it again.</p>'
        "<table><thead><tr><th>call on</th><th>with</th><th>line</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )


def _updates_html(data: dict[str, Any]) -> str:
    """The open update drafts, each a ``mailto:`` link that opens it in the mail client."""
    if not data.get("updates"):
        return '<p class="none">No update drafts open (<code>syncsvc updates</code>).</p>'
    items = "".join(
        f'<li><a href="{esc(u["mailto"])}">{esc(u["subject"])}</a> — to '
        f"{esc(u['person']['name'])}"
        + (f" &lt;{esc(u['to'])}&gt;" if u["to"] else " (no email on file)")
        + "</li>"
        for u in data["updates"]
    )
    return (
        f'<ul class="wins">{items}</ul><p class="sub">Sent one? '
        "<code>syncsvc updates --done ID</code></p>"
    )


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
h3 { font-size: 15px; margin: 8px 0 6px; }
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
<div class="grid2">
<section id="funnel"><h2>Funnel per topic</h2>{_funnel_html(data)}</section>
<section id="not-understood"><h2>Notes not understood</h2>{_not_understood_html(data)}</section>
</div>
<section id="updates"><h2>Updates to send</h2>{_updates_html(data)}</section>
</main>
</body>
</html>
"""


def write_html(data: dict[str, Any], path: str | Path) -> Path:
    """Write the page as a personal file (``paths.private_output``): 0600 and atomic for a
    regular file, written into a pipe or ``/dev/stdout`` and never over it, never through a
    symbolic link planted in its place."""
    path = Path(path).expanduser()
    page = render_html(data)
    try:
        with private_output(path, "the report") as out:
            out.write(page)
    except OSError as err:
        raise InputError(f"{path}: cannot write the report ({err.strerror or err})") from err
    return path
