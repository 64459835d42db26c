"""Issue 17: the size of the core install, and the README's quickstart on a fresh machine.

For each source (the working tree, and the commit before the extras as the baseline) this
makes a fresh virtual environment in a temporary folder with an empty pip cache (a fresh
machine: everything is downloaded), runs ``pip install .`` (or ``.[EXTRAS]``) and measures

- the distributions installed (``pip list`` without pip and setuptools),
- the size of site-packages without pip's and setuptools' own files (MB, 10^6 bytes),
- the wall time of the install,
- then runs the quickstart's three syncsvc commands (import, topic, plan) in that environment,
  with HOME in the temporary folder, and lists the backend libraries ``syncsvc plan`` imported.

Targets: the core ≤ 15 distributions, ≤ 40 MB, the install at most half the baseline's time.
Usage: bench_install.py [--extras caldav,google] [--before REV | --no-before] [--runs N] [--json]
The network and the machine's load make the time noisy: compare figures of the same run, and
with ``--runs N`` the fastest of N alternating installs of each.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from io import BytesIO
from pathlib import Path

from _common import ROOT, report, verdict

#: The last commit before the extras (issue 17): everything in the core install.
BEFORE_REV = "27ab659"
#: The issue's figures, used when the baseline cannot be measured (no git history).
ISSUE_BEFORE = {"distributions": 56, "site_packages_mb": 295.0, "install_s": 24.0}
TARGET_DISTRIBUTIONS = 15
TARGET_MB = 40.0
NOT_COUNTED = frozenset({"pip", "setuptools"})
BACKEND_MODULES = ("googleapiclient", "google", "caldav", "requests", "niquests", "lxml", "yaml")

QUICKSTART = (
    ["import", "config/sample-contacts.vcf"],
    ["topic", "product roles in climate tech"],
    ["plan"],
)
# After `plan`: which backend libraries did the core load? Printed as JSON by the child.
PLAN_PROBE = (
    "import json, sys\n"
    "from syncsvc.cli import main\n"
    "code = main(['plan', '--json'])\n"
    f"mods = {BACKEND_MODULES!r}\n"
    "loaded = sorted(m for m in sys.modules if m.split('.')[0] in mods)\n"
    "print(json.dumps({'code': code, 'backend_modules': loaded}), file=sys.stderr)\n"
)


def export_source(rev: str | None, dest: Path) -> Path:
    """The project's files (a commit's, or the working tree's tracked and new files) in dest,
    so building the wheel never writes build/ or *.egg-info into the checkout."""
    dest.mkdir(parents=True)
    if rev is not None:
        archive = subprocess.run(
            ["git", "-C", str(ROOT), "archive", "--format=tar", rev],
            check=True,
            capture_output=True,
        ).stdout
        with tarfile.open(fileobj=BytesIO(archive)) as tar:
            tar.extractall(dest, filter="data")
        return dest
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        check=True,
        capture_output=True,
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name)
    return dest


def site_packages(venv: Path) -> Path:
    return next((venv / "lib").glob("python3*/site-packages"))


def not_counted_files(python: Path) -> set[Path]:
    """The files pip and setuptools own (their RECORDs), which a fresh venv has anyway."""
    code = (
        "import json, importlib.metadata as md\n"
        "out = []\n"
        f"for name in {sorted(NOT_COUNTED)!r}:\n"
        "    try:\n"
        "        d = md.distribution(name)\n"
        "    except md.PackageNotFoundError:\n"
        "        continue\n"
        "    out += [str(d.locate_file(f)) for f in d.files or []]\n"
        "print(json.dumps(out))\n"
    )
    proc = subprocess.run([str(python), "-c", code], check=True, capture_output=True, text=True)
    return {Path(p).resolve() for p in json.loads(proc.stdout)}


def size_mb(root: Path, skip: set[Path]) -> float:
    """Bytes of every file under root except ``skip`` and the directories only they fill
    (pip's and setuptools' packages and their __pycache__)."""
    skip_dirs = {p.parent for p in skip}
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        here = Path(dirpath).resolve()
        if here in skip_dirs and here.name == "__pycache__":
            continue
        for name in files:
            path = here / name
            if path in skip or (here.name == "__pycache__" and here.parent in skip_dirs):
                continue
            total += path.lstat().st_size
    return total / 1e6


def measure(label: str, source: Path, extras: str, tmp: Path) -> dict[str, object]:
    venv = tmp / f"venv-{label}"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = venv / "bin" / "python"
    env = dict(os.environ)
    env.pop("PYTHONPATH", None)
    env.pop("SYNCSVC_CONFIG", None)
    env["PIP_CACHE_DIR"] = str(tmp / f"pip-cache-{label}")  # empty: as on a fresh machine
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    target = f".[{extras}]" if extras else "."
    start = time.perf_counter()
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", target],
        cwd=source,
        env=env,
        check=True,
    )
    install_s = time.perf_counter() - start
    listed = subprocess.run(
        [str(python), "-m", "pip", "list", "--format=json"],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    names = sorted(d["name"] for d in json.loads(listed) if d["name"].lower() not in NOT_COUNTED)
    mb = size_mb(site_packages(venv), not_counted_files(python))

    home = tmp / f"home-{label}"
    home.mkdir()
    run_env = {**env, "HOME": str(home), "XDG_CONFIG_HOME": str(home / ".config")}
    run_env["XDG_DATA_HOME"] = str(home / ".local" / "share")
    run_env["TZ"] = "Europe/Berlin"
    syncsvc = venv / "bin" / "syncsvc"
    quickstart_ok = True
    start = time.perf_counter()
    for argv in QUICKSTART:
        proc = subprocess.run(
            [str(syncsvc), *argv], cwd=source, env=run_env, capture_output=True, text=True
        )
        if proc.returncode != 0:
            quickstart_ok = False
            print(f"  {label}: syncsvc {' '.join(argv)} exited {proc.returncode}: {proc.stderr}")
    commands_s = time.perf_counter() - start
    probe = subprocess.run(
        [str(python), "-c", PLAN_PROBE], cwd=tmp, env=run_env, capture_output=True, text=True
    )
    try:
        backend_modules = json.loads(probe.stderr.strip().splitlines()[-1])["backend_modules"]
    except (IndexError, ValueError, KeyError):
        backend_modules = [f"probe failed: {probe.stderr.strip()[-200:]}"]
    return {
        "distributions": len(names),
        "names": names,
        "site_packages_mb": round(mb, 1),
        "install_s": round(install_s, 1),
        "quickstart_ok": quickstart_ok,
        "commands_s": round(commands_s, 2),
        "backend_modules_after_plan": backend_modules,
    }


def main() -> dict[str, object]:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--extras", default="", help="e.g. caldav,google (default: the core)")
    parser.add_argument("--before", default=BEFORE_REV, help="git revision of the baseline")
    parser.add_argument(
        "--no-before", action="store_true", help="use the issue's figures as the baseline"
    )
    parser.add_argument(
        "--runs", type=int, default=1, help="installs of each, alternating; the fastest counts"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="syncsvc-bench-install-") as name:
        tmp = Path(name)
        src_now = export_source(None, tmp / "src-now")
        src_before: Path | None = None
        before: dict[str, object] = dict(ISSUE_BEFORE, source="issue 17")
        if not args.no_before:
            try:
                src_before = export_source(args.before, tmp / "src-before")
            except subprocess.CalledProcessError:
                print(f"  no revision {args.before}: the issue's figures are the baseline")
        nows: list[dict[str, object]] = []
        befores: list[dict[str, object]] = []
        for run in range(max(1, args.runs)):  # alternating, so both see the same machine
            nows.append(measure(f"now{run}", src_now, args.extras, tmp))
            if src_before is not None:
                befores.append(measure(f"before{run}", src_before, "", tmp))
        now = min(nows, key=lambda r: float(r["install_s"]))  # type: ignore[arg-type]
        now["install_runs_s"] = [r["install_s"] for r in nows]
        if befores:
            before = min(befores, key=lambda r: float(r["install_s"]))  # type: ignore[arg-type]
            before["install_runs_s"] = [r["install_s"] for r in befores]
            before["source"] = f"commit {args.before}"
    what = f".[{args.extras}]" if args.extras else ". (the core)"
    n, mb, t = now["distributions"], now["site_packages_mb"], now["install_s"]
    bn, bmb, bt = before["distributions"], before["site_packages_mb"], before["install_s"]
    assert isinstance(n, int) and isinstance(mb, float) and isinstance(t, float)
    assert isinstance(bn, int) and isinstance(bmb, float) and isinstance(bt, float)
    rows = [
        ("pip install", f"{what} vs {before['source']}"),
        ("distributions", f"{n} (before {bn})  {verdict(n <= TARGET_DISTRIBUTIONS)} ≤ 15"),
        ("site-packages", f"{mb:.1f} MB (before {bmb:.1f} MB)  {verdict(mb <= TARGET_MB)} ≤ 40"),
        ("install time", f"{t:.1f} s (before {bt:.1f} s)  {verdict(t <= bt / 2)} ≤ half"),
        ("install runs", f"{now['install_runs_s']} (before {before.get('install_runs_s', '-')})"),
        ("quickstart commands", f"{now['commands_s']} s, ok={now['quickstart_ok']}"),
        ("backend modules after plan", ", ".join(now["backend_modules_after_plan"]) or "none"),  # type: ignore[arg-type]
        ("installed", ", ".join(now["names"])),  # type: ignore[arg-type]
    ]
    report("Install size (issue 17)", rows)
    result = {"now": now, "before": before}
    if args.json:
        print(json.dumps(result, indent=2))
    return result


if __name__ == "__main__":
    main()
