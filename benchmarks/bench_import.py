"""Targets 1 and 2: importing a big Google/Apple-style vCard 3.0 file, then re-importing it.

Baseline (same run, same file): a bare ``vobject.readComponents`` loop. Each figure is measured
in a fresh process (its own peak RSS). Usage: bench_import.py [--cards N] [--big N] [--repeat N]
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

from _common import child_env, report, run_measured, tempdir, verdict, write_vcards

BASELINE = """
import vobject
with open(sys.argv[1], encoding="utf-8") as f:
    n = sum(1 for _ in vobject.readComponents(f))
_done(seconds=time.perf_counter() - _t0, cards=n)
"""

PARSE = """
from syncsvc.contacts.vcard import read_cards
t = time.perf_counter()
n = sum(1 for _ in read_cards(sys.argv[1], engine=sys.argv[2]))
_done(seconds=time.perf_counter() - t, cards=n, vobject_loaded="vobject" in sys.modules)
"""

# The import as `syncsvc import FILE` runs it (progress bar on stderr), timed from process start,
# i.e. including Python and syncsvc start-up. Then total_changes of a second import of the same
# file in a second process (re-import: the unchanged file is recognised by its SHA-256), and a
# third of a copy with one more card (read again, card by card).
IMPORT = """
from syncsvc.cli import main
from syncsvc.contacts import worker
if sys.argv[3] == "one-process":
    worker.WORKER_FROM_BYTES = 1 << 62  # never start the parsing worker
if main(["--config", sys.argv[2], "import", sys.argv[1]]):
    raise SystemExit("the import failed")
_done(seconds=time.perf_counter() - _t0)
"""

REIMPORT = """
from syncsvc import config
from syncsvc.app import App
app = App(config.load(sys.argv[2]))
t = time.perf_counter()
before = app.store.conn.total_changes
result = app.import_vcards([sys.argv[1]], progress=lambda: None)
changes = app.store.conn.total_changes - before
seconds = time.perf_counter() - t
app.close()
_done(seconds=seconds, changes=changes, summary=result.summary())
"""


def config_file(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "config.toml"
    path.write_text(
        f'data_dir = "{folder / "data"}"\n[calls]\ntimezone = "Europe/Berlin"\nregion = "DE"\n'
    )
    return path


def measure(cards: int, big: int, repeat: int) -> dict[str, object]:
    out: dict[str, object] = {}
    with tempdir() as tmp:
        vcf = write_vcards(tmp / f"{cards}.vcf", cards)
        out["file_mb"] = vcf.stat().st_size / 1e6
        env = child_env(tmp)
        base = min(
            (run_measured(BASELINE, str(vcf), env=env) for _ in range(repeat)),
            key=lambda r: r["seconds"],
        )
        fast = min(
            (run_measured(PARSE, str(vcf), "fast", env=env) for _ in range(repeat)),
            key=lambda r: r["seconds"],
        )
        slow = run_measured(PARSE, str(vcf), "vobject", env=env)
        imports = []
        for i in range(repeat):
            cfg = config_file(tmp / f"store{i}")
            first = run_measured(IMPORT, str(vcf), str(cfg), "worker", env=env)
            again = run_measured(REIMPORT, str(vcf), str(cfg), env=env)
            # the same cards plus one new card at the end: the file is read again, card by card
            grown = tmp / f"{cards}-plus-one.vcf"
            with vcf.open("rb") as src, grown.open("wb") as dst:  # not held here: see _common
                shutil.copyfileobj(src, dst)
                dst.write(b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:New One\r\nEND:VCARD\r\n")
            reread = run_measured(REIMPORT, str(grown), str(cfg), env=env)
            single = run_measured(
                IMPORT, str(vcf), str(config_file(tmp / f"single{i}")), "one-process", env=env
            )
            imports.append((first, again, single, reread))
        first, again, _, reread = min(imports, key=lambda p: p[0]["seconds"])
        single = min((p[2] for p in imports), key=lambda r: r["seconds"])
        out.update(
            baseline=base,
            parse_fast=fast,
            parse_vobject=slow,
            import_=first,
            reimport=again,
            reread=reread,
            single=single,
        )
        if big:
            big_vcf = write_vcards(tmp / f"{big}.vcf", big, seed=7)
            out["big_file_mb"] = big_vcf.stat().st_size / 1e6
            out["big_parse"] = run_measured(PARSE, str(big_vcf), "fast", env=env)
            cfg = config_file(tmp / "big")
            out["big_import"] = run_measured(IMPORT, str(big_vcf), str(cfg), "worker", env=env)
    return out


def main() -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cards", type=int, default=20_000)
    parser.add_argument("--big", type=int, default=100_000, help="0 to skip the memory check")
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args()
    r = measure(args.cards, args.big, args.repeat)
    base, imp, again = r["baseline"], r["import_"], r["reimport"]
    single = r["single"]
    ratio = base["seconds"] / imp["seconds"]
    rss = imp["peak_rss_mb"] + imp["child_peak_rss_mb"]
    rows = [
        ("file", f"{args.cards} cards, {r['file_mb']:.1f} MB (every 10th with a 6 KB photo)"),
        (
            "baseline: bare vobject loop",
            f"{base['seconds']:.2f} s, peak RSS {base['peak_rss_mb']:.0f} MB",
        ),
        ("parse, engine=vobject", f"{r['parse_vobject']['seconds']:.2f} s"),
        (
            "parse, engine=fast",
            f"{r['parse_fast']['seconds']:.2f} s "
            f"({base['seconds'] / r['parse_fast']['seconds']:.1f}x the baseline;"
            f" vobject imported: {r['parse_fast']['vobject_loaded']})",
        ),
        (
            "import (syncsvc import, empty store)",
            f"{imp['seconds']:.2f} s, peak RSS {imp['peak_rss_mb']:.0f} MB"
            f" + parsing worker <= {imp['child_peak_rss_mb']:.0f} MB;"
            f" CPU {imp['cpu_s']:.2f} s + worker {imp['child_cpu_s']:.2f} s",
        ),
        (
            "  target 1: >= 3x faster, <= 150 MB (both processes)",
            f"{ratio:.2f}x -> {verdict(ratio >= 3 and rss <= 150)}",
        ),
        (
            "import in one process (no spare core)",
            f"{single['seconds']:.2f} s, peak RSS {single['peak_rss_mb']:.0f} MB;"
            f" {base['seconds'] / single['seconds']:.2f}x the baseline",
        ),
        (
            "re-import (unchanged file)",
            f"{again['seconds']:.2f} s, {again['changes']} rows changed ({again['summary']})",
        ),
        (
            "  target 2: <= first import, 0 writes",
            f"{again['seconds'] / imp['seconds']:.2f}x the first -> "
            f"{verdict(again['seconds'] <= imp['seconds'] and again['changes'] == 0)}",
        ),
        (
            "re-import with one card added (read again)",
            f"{r['reread']['seconds']:.2f} s ({r['reread']['summary']}),"
            f" {r['reread']['seconds'] / imp['seconds']:.2f}x the first",
        ),
    ]
    if args.big:
        bp = r["big_parse"]
        rows.append(
            (
                f"{args.big} cards, {r['big_file_mb']:.0f} MB: parse only",
                f"{bp['seconds']:.1f} s, peak RSS {bp['peak_rss_mb']:.0f} MB",
            )
        )
        bi = r["big_import"]
        big_rss = bi["peak_rss_mb"] + bi["child_peak_rss_mb"]
        rows.append(
            (
                "  import, target <= 200 MB (both processes)",
                f"{bi['seconds']:.1f} s, peak RSS {bi['peak_rss_mb']:.0f} MB + worker <="
                f" {bi['child_peak_rss_mb']:.0f} MB -> {verdict(big_rss <= 200)}",
            )
        )
    report("import (targets 1, 2)", rows)
    return r


if __name__ == "__main__":
    main()
