"""Target 1's correctness half: the fast vCard engine gives exactly what the vobject engine gives.

On every file of the shared corpus, on a generated benchmark-style file (photos, Apple/Google
groups, 2.1 QUOTED-PRINTABLE with charsets, escapes, non-ASCII), and on random property values.
No timings here: benchmarks/bench_import.py measures the speed.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from syncsvc.contacts import vcard
from syncsvc.contacts.vcard import Card, Skipped, read_cards

ROOT = Path(__file__).resolve().parents[1]
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus" / "vcard"
NO_CORPUS = f"vCard corpus not found at {CORPUS} (it lives beside the checkout in ../shared)"
CORPUS_FILES = sorted(CORPUS.glob("*.vcf")) if CORPUS.is_dir() else []


def _generator():  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(
        "bench_common", ROOT / "benchmarks" / "_common.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def both(path: Path) -> tuple[list[Card | Skipped], list[Card | Skipped]]:
    return list(read_cards(path, engine="fast")), list(read_cards(path, engine="vobject"))


@pytest.mark.parametrize(
    "path",
    CORPUS_FILES or [pytest.param(None, marks=pytest.mark.skip(reason=NO_CORPUS))],
    ids=lambda p: p.name if p else "no-corpus",
)
def test_fast_engine_equals_vobject_on_corpus(path: Path) -> None:
    fast, slow = both(path)
    assert fast == slow


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("engines")
    return _generator().write_vcards(folder / "bench.vcf", 1200, seed=11, variety=True)


def test_fast_engine_equals_vobject_on_generated_file(generated: Path) -> None:
    fast, slow = both(generated)
    assert fast == slow
    cards = [c for c in fast if isinstance(c, Card)]
    assert len(cards) == 1200
    text = generated.read_bytes().decode("utf-8")
    # the file has what the comparison is meant to cover ...
    assert "PHOTO;ENCODING=b" in text and "PHOTO;ENCODING=BASE64" in text
    assert "item1.EMAIL" in text and "X-ABLabel" in text
    assert "ENCODING=QUOTED-PRINTABLE" in text and "=\r\n" in text
    # ... and it was read as meant: QP with charsets decoded, groups kept, non-ASCII intact
    assert any("Wärmepumpen" in (c.note or "") for c in cards)
    assert any(not c.name.isascii() for c in cards)
    assert any(c.org and "," in c.org for c in cards)
    assert any(c.phones and "ext." in c.phones[-1] for c in cards)


def test_fast_engine_does_not_import_vobject(generated: Path) -> None:
    code = (
        "import sys\n"
        "from syncsvc.contacts.vcard import read_cards\n"
        f"n = sum(1 for _ in read_cards({str(generated)!r}))\n"
        "print(n, 'vobject' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    ).stdout.split()
    assert out == ["1200", "False"]


def test_unknown_engine_is_refused(generated: Path) -> None:
    with pytest.raises(ValueError, match="engine"):
        list(read_cards(generated, engine="magic"))  # type: ignore[arg-type]


VALUE_CHARS = st.sampled_from(
    ["a", "Z", " ", ",", ";", ":", "\\", "\n", "n", "N", '"', "=", "é", "日", "\t", "x@y.z",
     "tel:+1 555", ";ext=2", "mailto:", "<a@b.c>", "quoted-printable", "QUOTED-PRINTABLE"]
)  # fmt: skip
PROPS = st.lists(
    st.builds(
        vcard._Prop,
        name=st.sampled_from(sorted(vcard._WANTED)),
        value=st.lists(VALUE_CHARS, max_size=12).map("".join),
        lineno=st.just(1),
    ),
    min_size=1,
    max_size=6,
)


@settings(max_examples=400, deadline=None)
@given(PROPS)
def test_fast_fields_equal_vobject_fields(props: list[vcard._Prop]) -> None:
    assert vcard._fields_fast(props) == vcard._fields(props)
