"""A big vCard file is parsed by a worker process (contacts/worker.py) while the import merges:
the items are exactly read_cards', errors are one line, and the worker never outlives the
import."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from syncsvc.app import App
from syncsvc.contacts import worker
from syncsvc.contacts.vcard import read_cards
from syncsvc.errors import InputError
from syncsvc.store import people as people_db


def write_cards(path: Path, n: int, *, broken_every: int = 0) -> Path:
    chunks = []
    for i in range(n):
        if broken_every and i % broken_every == 1:
            chunks.append(f"BEGIN:VCARD\r\nVERSION:3.0\r\nEMAIL;CHARSET=UTF-8:x\xff{i}\r\n")
            continue  # no END:VCARD before the next BEGIN: truncated
        chunks.append(
            "BEGIN:VCARD\r\nVERSION:3.0\r\n"
            f"UID:uid-{i}\r\nFN:Person {i} Ünal\r\nN:Ünal;Person {i};;;\r\n"
            f"EMAIL;TYPE=INTERNET:p{i}@example.org\r\nTEL;TYPE=CELL:+49 151 {i:08d}\r\n"
            f"NOTE:line one\\nline two\\, with a comma {i}\r\nEND:VCARD\r\n"
        )
    path.write_bytes("".join(chunks).encode("utf-8", "surrogateescape"))
    return path


@pytest.fixture
def started(monkeypatch: pytest.MonkeyPatch) -> list[subprocess.Popen[bytes]]:
    """The worker processes started during the test."""
    children: list[subprocess.Popen[bytes]] = []
    real_start = worker._start

    def spy(*args: object) -> subprocess.Popen[bytes] | None:
        child = real_start(*args)  # type: ignore[arg-type]
        if child is not None:
            children.append(child)
        return child

    monkeypatch.setattr(worker, "_start", spy)
    monkeypatch.setattr(worker, "_spare_cores", lambda: 1)  # also on a one-core CI machine
    return children


def test_the_worker_gives_exactly_what_read_cards_gives(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    path = write_cards(tmp_path / "many.vcf", 1_300, broken_every=97)
    with worker.cards(path, worker_from=0) as items:
        through_worker = list(items)
    assert len(started) == 1 and started[0].returncode == 0
    assert through_worker == list(read_cards(path))
    assert len(through_worker) == 1_300
    assert any(type(i).__name__ == "Skipped" for i in through_worker)


def test_corpus_files_through_the_worker(
    corpus: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    files = sorted((corpus / "vcard").rglob("*.vcf"))
    assert files
    for path in files:
        with worker.cards(path, worker_from=0) as items:
            assert list(items) == list(read_cards(path)), path
    assert len(started) == len(files)


def test_a_small_file_is_read_in_this_process(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    path = write_cards(tmp_path / "few.vcf", 3)
    with worker.cards(path) as items:
        assert len(list(items)) == 3
    assert started == []


def test_a_file_that_cannot_be_read_is_the_same_one_line_error(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    folder = tmp_path / "not-a-file.vcf"
    folder.mkdir()
    with pytest.raises(InputError) as here:
        list(read_cards(folder))
    with pytest.raises(InputError) as there, worker.cards(folder, worker_from=0) as items:
        list(items)
    assert str(there.value) == str(here.value)
    assert "\n" not in str(there.value)
    assert started and started[0].returncode == 0


def test_stopping_early_stops_the_worker(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    path = write_cards(tmp_path / "many.vcf", 5_000)
    with worker.cards(path, worker_from=0) as items:
        first = [next(items) for _ in range(3)]
    assert [c.uid for c in first] == ["uid-0", "uid-1", "uid-2"]  # type: ignore[union-attr]
    (child,) = started
    assert child.returncode is not None  # reaped, not left running


def test_a_killed_worker_is_one_line_not_a_hang(
    tmp_path: Path, started: list[subprocess.Popen[bytes]]
) -> None:
    path = write_cards(tmp_path / "many.vcf", 5_000)  # far more than the pipe holds
    with pytest.raises(worker.WorkerError) as err, worker.cards(path, worker_from=0) as items:
        next(items)
        started[0].send_signal(signal.SIGKILL)
        list(items)
    assert "killed by signal 9" in str(err.value)
    assert "run the import again" in str(err.value)


def test_an_interrupted_import_writes_nothing_and_leaves_no_worker(
    app: App,
    tmp_path: Path,
    started: list[subprocess.Popen[bytes]],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(worker, "WORKER_FROM_BYTES", 0)
    path = write_cards(tmp_path / "many.vcf", 3_000)

    def interrupt_after(n: int) -> Callable[[], None]:
        seen = iter(range(n))

        def progress() -> None:
            if next(seen, None) is None:
                raise KeyboardInterrupt

        return progress

    with pytest.raises(KeyboardInterrupt):
        app.import_vcards([path], progress=interrupt_after(1_200))
    assert people_db.count(app.store.conn) == 0  # the transaction was rolled back
    assert started and all(c.returncode is not None for c in started)

    result = app.import_vcards([path])  # and the next import does the whole job
    assert (result.added, result.unchanged) == (3_000, 0)
    assert len(started) == 2


def test_a_worker_that_cannot_start_means_reading_here(
    tmp_path: Path, started: list[subprocess.Popen[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(worker, "_BOOT", "import sys; sys.exit(3)")  # e.g. a broken sys.path
    path = write_cards(tmp_path / "many.vcf", 700, broken_every=50)
    with worker.cards(path, worker_from=0) as items:
        assert list(items) == list(read_cards(path))
    assert started and started[0].returncode == 3
