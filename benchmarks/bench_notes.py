"""How many realistic phone-typed notes the parser understands exactly as meant.

Reads the labelled set in ``tests/data/notes_labelled.py``, parses every note and counts a note
as understood only when every labelled field matches (outcome, reschedule day, referrals,
offers, closed offers, follow-up, wins, lines not understood). Prints the share overall and per
category, then every miss with what differed.

    python benchmarks/bench_notes.py            # summary and misses
    python benchmarks/bench_notes.py --quiet    # summary only
"""

from __future__ import annotations

import argparse
import inspect
import re
import runpy
import sys
from collections import Counter
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from syncsvc.notes import parse_notes  # noqa: E402

DATA = ROOT / "tests" / "data" / "notes_labelled.py"


def _norm(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def _texts(values: Iterable[str]) -> list[str]:
    return sorted(_norm(v) for v in values)


def _refs(values: Iterable[Any]) -> list[tuple[str, tuple[str, ...], tuple[str, ...]]]:
    out = []
    for name, emails, phones in values:
        digits = tuple(sorted(re.sub(r"\D", "", p) for p in phones))
        out.append((name, tuple(sorted(e.lower() for e in emails)), digits))
    return sorted(out)


def expected(labels: dict[str, Any]) -> dict[str, Any]:
    return {
        "outcome": labels.get("o", "done"),
        "reschedule_to": labels.get("r"),
        "referrals": _refs(labels.get("refs", [])),
        "offers": _texts(labels.get("offers", [])),
        "closed_offers": _texts(labels.get("closed", [])),
        "follow_up": labels.get("fu"),
        "wins": _texts(labels.get("wins", [])),
        "not_understood": _texts(labels.get("nu", [])),
    }


def actual(text: str, labels: dict[str, Any], day: date) -> dict[str, Any]:
    kwargs: dict[str, Any] = {"call_day": day, "title": labels.get("title", "")}
    if labels.get("prep") and "before_start" in inspect.signature(parse_notes).parameters:
        kwargs["before_start"] = True
    p = parse_notes(text, **kwargs)
    iso = lambda d: d.isoformat() if d else None  # noqa: E731
    return {
        "outcome": p.outcome,
        "reschedule_to": iso(p.reschedule_to),
        "referrals": _refs((r.name, r.emails, r.phones) for r in p.referrals),
        "offers": _texts(p.offers),
        "closed_offers": _texts(getattr(p, "closed_offers", ())),
        "follow_up": iso(p.follow_up),
        "wins": _texts(p.wins),
        "not_understood": _texts(getattr(p, "not_understood", ())),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quiet", action="store_true", help="summary only, no misses")
    args = parser.parse_args(argv)
    data = runpy.run_path(str(DATA))
    default_day = date.fromisoformat(data["DAY"])
    total: Counter[str] = Counter()
    good: Counter[str] = Counter()
    misses: list[str] = []
    for category, text, labels in [*data["NOTES"], *data.get("HELD_OUT", [])]:
        day = date.fromisoformat(labels.get("day", "")) if labels.get("day") else default_day
        want, got = expected(labels), actual(text, labels, day)
        total[category] += 1
        if want == got:
            good[category] += 1
            continue
        diffs = [f"{k}: want {want[k]!r}, got {got[k]!r}" for k in want if want[k] != got[k]]
        misses.append(f"[{category}] {text!r}\n    " + "\n    ".join(diffs))
    all_good = sum(n for c, n in good.items() if c != "held_out")
    all_total = sum(n for c, n in total.items() if c != "held_out")
    print(f"understood exactly as labelled: {all_good}/{all_total} = {all_good / all_total:.0%}")
    print("(held_out, written after the changes and not tuned on, is listed apart)")
    for category in total:
        share = good[category] / total[category]
        print(f"  {category:<15} {good[category]:>3}/{total[category]:<3} {share:5.0%}")
    if not args.quiet and misses:
        print(f"\nmisses ({len(misses)}):")
        print("\n".join(misses))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
