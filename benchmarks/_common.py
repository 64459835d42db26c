"""Shared helpers for the benchmarks: deterministic synthetic data, timing, memory.

Everything here uses only the standard library, so the generators are also usable from tests
(``tests/test_vcard_engines.py`` imports ``write_vcards``).
"""

from __future__ import annotations

import base64
import json
import os
import random
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SEED = 20240607
ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable

_GIVEN = [
    "Anna",
    "Ben",
    "Carla",
    "Dmitri",
    "Élodie",
    "Farid",
    "Grete",
    "Hiroshi",
    "Ingrid",
    "Jonas",
    "Kateřina",
    "Luis",
    "Mária",
    "Nils",
    "Oğuz",
    "Paula",
    "Quentin",
    "Renée",
    "Søren",
    "Tomás",
    "Uma",
    "Viktor",
    "Wiebke",
    "Xavier",
    "Yara",
    "Zoë",
    "José",
    "Zoltán",
    "Łucja",
    "Ahmet",
]
_FAMILY = [
    "Andersen",
    "Becker",
    "Castro",
    "Dubois",
    "Eriksson",
    "Fischer",
    "García",
    "Håkansson",
    "Ivanov",
    "Jäger",
    "Kowalski",
    "López",
    "Müller",
    "Nowak",
    "O'Brien",
    "Petrović",
    "Quinn",
    "Rossi",
    "Schröder",
    "Tanaka",
    "Újvári",
    "Vogel",
    "Weiß",
    "Xu",
    "Yılmaz",
    "Zieliński",
]
_CJK = [("安藤", "ロイド"), ("山田", "太郎"), ("김", "민준"), ("王", "小明"), ("佐藤", "花子")]
_ORGS = [
    "Acme GmbH",
    "Globex, Inc.",
    "Initech",
    "Umbrella; Research",
    "Stark Industries",
    "Wayne Enterprises",
    "Hooli",
    "Pied Piper",
    "Tyrell Corp.",
    "Cyberdyne Systems",
]
_TITLES = ["Engineer", "Product Manager", "Designer", "CTO", "Sales, EMEA", "Researcher", ""]
_CATS = ["myContacts", "Friends", "Work", "Family", "Climate", "Alumni"]
_LABELS = ["_$!<Mobile>!$_", "_$!<Home>!$_", "_$!<Work>!$_", "_$!<Other>!$_", "Zweitnummer"]


def _fold(line: str, width: int = 75) -> list[str]:
    """RFC 6350 folding (by characters, which is what most exporters do)."""
    out = [line[:width]]
    rest = line[width:]
    while rest:
        out.append(" " + rest[: width - 1])
        rest = rest[width - 1 :]
    return out


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace(",", "\\,").replace(";", "\\;").replace("\n", "\\n")


def _photo(rng: random.Random, size: int) -> str:
    return base64.b64encode(rng.randbytes(size)).decode("ascii")


def card_lines(rng: random.Random, index: int, *, variety: bool = False) -> list[str]:
    """One Google/Apple-style vCard 3.0 card (every 10th with a 6 KB photo).

    variety=True mixes in what a test wants to see: 2.1 QUOTED-PRINTABLE with soft line
    breaks and charsets, escapes, bare commas, tel:/mailto: URIs, CJK names, odd groups.
    """
    if rng.random() < 0.05:
        family, given = rng.choice(_CJK)
    else:
        family, given = rng.choice(_FAMILY), rng.choice(_GIVEN)
    org = rng.choice(_ORGS)
    title = rng.choice(_TITLES)
    user = f"{given}.{family}.{index}".lower().encode("ascii", "ignore").decode()
    user = "".join(c for c in user if c.isalnum() or c == ".") or f"user{index}"
    if variety and index % 7 == 3:
        return _card_21_qp(rng, index, given, family, org, user)
    lines = ["BEGIN:VCARD", "VERSION:3.0", "PRODID:-//Apple Inc.//macOS 14.5//EN"]
    lines.append(f"N:{_escape(family)};{_escape(given)};;;")
    lines.append(f"FN:{_escape(given)} {_escape(family)}")
    lines.append(f"ORG:{_escape(org)};{'Research' if index % 3 else ''}")
    if title:
        lines.append(f"TITLE:{_escape(title)}")
    lines.append(f"item1.EMAIL;type=INTERNET;type=pref:{user}@example.org")
    lines.append("item1.X-ABLabel:_$!<Other>!$_")
    if index % 4 == 0:
        lines.append(f"EMAIL;type=INTERNET;type=WORK:{user}@work.example.com")
    lines.append(f"TEL;type=CELL;type=VOICE;type=pref:+49 151 {index:08d}")
    if index % 2:
        lines.append(f"item2.TEL:+1 (212) {200 + index // 10000:03d}-{index % 10000:04d}")
        lines.append(f"item2.X-ABLabel:{rng.choice(_LABELS)}")
    lines.append(f"item3.ADR;type=HOME:;;{index} Main Street;Springfield;;{index % 99999:05d};USA")
    lines.append("item3.X-ABADR:us")
    lines.append("item4.ADR:;;;;;;")  # Google's empty address
    if index % 3 == 0:
        note = f"Met at conference {index % 50}, talked about heat pumps.\nFollow up; maybe Q3."
        lines.append(f"NOTE:{_escape(note)}")
    lines.append(f"CATEGORIES:{','.join(rng.sample(_CATS, 1 + index % 3))}")
    lines.append(f"BDAY:19{50 + index % 50}-0{1 + index % 9}-1{index % 10}")
    lines.append(f"UID:{index:08x}-{rng.getrandbits(64):016x}")
    lines.append(f"REV:2024-05-0{1 + index % 9}T12:00:00Z")
    if index % 10 == 0:
        lines.append(f"PHOTO;ENCODING=b;TYPE=JPEG:{_photo(rng, 4400)}")  # 6 KB of base64 text
    if variety:
        lines.extend(_extras(rng, index))
    lines.append("END:VCARD")
    return [folded for line in lines for folded in _fold(line)]


def _extras(rng: random.Random, index: int) -> list[str]:
    kind = index % 5
    if kind == 0:
        return ['NOTE:back\\\\slash\\, comma, bare comma\\; semi \\: colon \\"q\\" end\\']
    if kind == 1:
        return [
            f"TEL;VALUE=uri:tel:+1-555-555-{index % 10000:04d};ext={index % 100}",
            f'EMAIL:mailto:"Omega {index}" <omega{index}@example.com>',
        ]
    if kind == 2:
        return [
            "X-SOCIALPROFILE;type=twitter:http\\://twitter.com/x",
            f"CATEGORIES:a\\,b,c\\;d,,{'ü' * (index % 4)}",
        ]
    if kind == 3:
        return [f'item9.EMAIL;TYPE="a,b:c":group{index}@example.net', "NOTE:ends with = sign="]
    return ["TITLE:Ünïcödé — “quoted” ✓", "NOTE:line one\\nline two\\Nline three"]


def _card_21_qp(
    rng: random.Random, index: int, given: str, family: str, org: str, user: str
) -> list[str]:
    charset = "UTF-8" if index % 2 else "ISO-8859-1"
    encoding = "utf-8" if charset == "UTF-8" else "cp1252"

    def qp(text: str) -> str:
        raw = text.encode(encoding, "replace")
        encoded = "".join(f"={b:02X}" if b > 126 or b in b"=;" else chr(b) for b in raw)
        # soft line breaks every 40 characters, as Outlook/Android do
        parts = [encoded[i : i + 40] for i in range(0, len(encoded), 40)]
        return "=\r\n".join(parts)

    note = f"Gespräch über Wärmepumpen – Nr. {index}; bitte zurückrufen. " * 2
    lines = [
        "BEGIN:VCARD",
        "VERSION:2.1",
        f"N;CHARSET={charset};ENCODING=QUOTED-PRINTABLE:{qp(family)};{qp(given)};;;",
        f"FN;CHARSET={charset};ENCODING=QUOTED-PRINTABLE:{qp(given + ' ' + family)}",
        f"ORG;CHARSET={charset};QUOTED-PRINTABLE:{qp(org)}",
        f"TEL;CELL;PREF:+44 7700 {index:06d}",
        f"EMAIL;INTERNET:{user}@mail.example.co.uk",
        f"NOTE;CHARSET={charset};ENCODING=QUOTED-PRINTABLE:{qp(note)}",
    ]
    if index % 10 == 3:
        lines.append("PHOTO;ENCODING=BASE64;TYPE=JPEG:")
        photo = _photo(rng, 1500)
        lines += ["  " + photo[i : i + 72] for i in range(0, len(photo), 72)]
        lines.append("")
    lines.append("END:VCARD")
    return "\r\n".join(lines).split("\r\n")


def write_vcards(path: Path, count: int, *, seed: int = SEED, variety: bool = False) -> Path:
    """Write count cards to path (CRLF, UTF-8), deterministically from seed; streams."""
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as out:
        for index in range(count):
            out.write("\r\n".join(card_lines(rng, index, variety=variety)) + "\r\n")
    return path


# --------------------------------------------------------------------------------------------
# Measuring


@contextmanager
def tempdir(prefix: str = "syncsvc-bench-") -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix=prefix) as name:
        yield Path(name)


def child_env(data_dir: Path | None = None) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("SYNCSVC_CONFIG", None)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["PYTHONPATH"] = str(ROOT)
    if data_dir is not None:
        env["HOME"] = str(data_dir)
        env["XDG_CONFIG_HOME"] = str(data_dir / "xdg-config")
        env["XDG_DATA_HOME"] = str(data_dir / "xdg-data")
    return env


def run_measured(code: str, *args: str, env: dict[str, str] | None = None) -> dict[str, float]:
    """Run python -c code in a fresh process; the code ends by calling _done(**figures).

    _done adds the child's own wall and CPU time since start and its peak RSS (MB, VmHWM from
    /proc/self/status: Linux carries a forking parent's peak over exec into ru_maxrss, so the
    benchmark's own memory would show up there), the peak RSS and CPU time of the processes it
    started (RUSAGE_CHILDREN: the import's vCard worker; its ru_maxrss is an upper bound, as it
    includes the importing process's RSS when the worker was started) and prints it all as JSON.
    """
    wrapper = (
        "import json, resource, sys, time\n"
        "_t0 = time.perf_counter(); _c0 = time.process_time()\n"
        "def _peak_rss_mb():\n"
        "    try:  # VmHWM: this process's own peak (ru_maxrss keeps the forking parent's)\n"
        "        with open('/proc/self/status') as f:\n"
        "            return next(int(l.split()[1]) for l in f if l.startswith('VmHWM')) / 1024\n"
        "    except (OSError, StopIteration):\n"
        "        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024\n"
        "def _done(**kw):\n"
        "    kw.setdefault('wall_s', time.perf_counter() - _t0)\n"
        "    kw.setdefault('cpu_s', time.process_time() - _c0)\n"
        "    kw['peak_rss_mb'] = _peak_rss_mb()\n"
        "    kids = resource.getrusage(resource.RUSAGE_CHILDREN)\n"
        "    kw['child_peak_rss_mb'] = kids.ru_maxrss / 1024\n"
        "    kw['child_cpu_s'] = kids.ru_utime + kids.ru_stime\n"
        "    print(json.dumps(kw), flush=True)\n"
        f"{code}\n"
    )
    proc = subprocess.run(
        [PYTHON, "-c", wrapper, *args], capture_output=True, text=True, env=env or child_env()
    )
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark child failed:\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def best_of(n: int, fn):  # type: ignore[no-untyped-def]
    """Run fn n times; return the result with the smallest 'seconds'."""
    results = [fn() for _ in range(n)]
    return min(results, key=lambda r: r["seconds"])


def report(title: str, rows: list[tuple[str, str]]) -> None:
    print(f"\n== {title}")
    width = max(len(k) for k, _ in rows)
    for key, value in rows:
        print(f"  {key.ljust(width)}  {value}")


def verdict(ok: bool) -> str:
    return "MET" if ok else "NOT MET"
