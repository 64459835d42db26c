"""Reading a big vCard file in a second process while this one merges (docs/PERFORMANCE.md).

Parsing is about half the work of importing a big file; cleaning, normalising phone numbers and
writing to the store is the other half. With a spare core, a worker process parses the file
(``read_cards``) and sends the items over a pipe in blocks, in file order, while the importing
process merges the blocks it has. The items are exactly what ``read_cards`` gives in-process.

The worker is a plain child process (``python -I -c _BOOT``), not ``multiprocessing``: no
re-import of the parent's main module, no resource tracker, and safe from a process with
threads; it works the same from the CLI, the daemon and tests. Each message is
one pickle on the pipe (``("items", [...])``, then ``("done",)`` or ``("error", kind, text)``);
it only ever comes from the child this process started. The child ignores SIGINT (the
importing process decides) and stops when the pipe is closed. A child that cannot start, or
dies before its first message, means the file is read in this process instead.
"""

from __future__ import annotations

import contextlib
import json
import os
import pickle
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO

from syncsvc.contacts.vcard import Card, Engine, Skipped, read_cards
from syncsvc.errors import InputError, SyncsvcError

WORKER_FROM_BYTES = 2 * 1024 * 1024  # below this, starting the worker costs what it saves
BLOCK = 500  # items per message


class WorkerError(SyncsvcError):
    """The reading process failed in a way that is not about the file."""


@contextlib.contextmanager
def cards(
    path: str | Path, engine: Engine = "fast", *, worker_from: int | None = None
) -> Iterator[Iterator[Card | Skipped]]:
    """``read_cards(path, engine)``, read by a worker process when the file has at least
    ``worker_from`` bytes (default WORKER_FROM_BYTES) and this machine has a core to spare;
    in this process otherwise."""
    threshold = WORKER_FROM_BYTES if worker_from is None else worker_from
    try:
        big = Path(path).stat().st_size >= threshold
    except OSError:
        big = False  # read_cards reports it
    if not big or _spare_cores() < 1:
        yield read_cards(path, engine)
        return
    read_fd, write_fd = os.pipe()
    try:
        child = _start(write_fd, path, engine)
    finally:
        os.close(write_fd)  # the child has its own copy
    if child is None:  # no process to spare: read it here
        os.close(read_fd)
        yield read_cards(path, engine)
        return
    with os.fdopen(read_fd, "rb", buffering=1 << 16) as pipe:
        try:
            yield _receive(pipe, child, lambda: read_cards(path, engine))
        finally:
            pipe.close()  # a child still writing gets EPIPE at its next block and stops
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()


def _start(write_fd: int, path: str | Path, engine: Engine) -> subprocess.Popen[bytes] | None:
    try:
        return subprocess.Popen(
            [
                sys.executable,
                "-I",
                "-c",
                _BOOT,
                json.dumps(sys.path),
                str(write_fd),
                str(path),
                engine,
            ],
            pass_fds=(write_fd,),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    except OSError:
        return None


# The child: isolated (-I: no current folder, no PYTHON* variables), with exactly the module
# path of this process, so it runs this same code however syncsvc was installed or started.
_BOOT = (
    "import json, sys; sys.path[:] = json.loads(sys.argv[1]); "
    "from syncsvc.contacts.worker import main; sys.exit(main(sys.argv[2:]))"
)


def _spare_cores() -> int:
    try:
        return len(os.sched_getaffinity(0)) - 1
    except (AttributeError, OSError):
        return (os.cpu_count() or 1) - 1


def _receive(
    pipe: IO[bytes],
    child: subprocess.Popen[bytes],
    here: Callable[[], Iterator[Card | Skipped]],
) -> Iterator[Card | Skipped]:
    """The child's items; ``here()`` (reading in this process) if it stops before sending any."""
    started = False
    while True:
        try:
            message = pickle.load(pipe)
        except (EOFError, pickle.UnpicklingError):
            if not started:  # it could not even start (an odd install or sandbox)
                yield from here()
                return
            code = child.wait()
            how = f"was killed by signal {-code}" if code < 0 else f"exited with code {code}"
            raise WorkerError(
                f"the process reading the vCard file {how}; run the import again"
            ) from None
        started = True
        if message[0] == "items":
            yield from message[1]
        elif message[0] == "done":
            return
        else:
            _, kind, text = message
            raise (InputError if kind == "input" else WorkerError)(text)


# --------------------------------------------------------------------------------------------
# The worker process


def main(argv: list[str]) -> int:
    """The worker process: ``FD PATH ENGINE``."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the importing process decides
    fd, path, engine = int(argv[0]), argv[1], argv[2]
    try:
        with os.fdopen(fd, "wb", buffering=1 << 16) as out:
            _send_cards(out, path, engine)  # type: ignore[arg-type]
    except BrokenPipeError:
        pass  # the importing process stopped reading: nothing more to do
    return 0


def _send_cards(out: IO[bytes], path: str, engine: Engine) -> None:
    try:
        block: list[Card | Skipped] = []
        for item in read_cards(path, engine):
            block.append(item)
            if len(block) >= BLOCK:
                pickle.dump(("items", block), out, pickle.HIGHEST_PROTOCOL)
                block = []
        pickle.dump(("items", block), out, pickle.HIGHEST_PROTOCOL)
        pickle.dump(("done",), out)
    except InputError as err:
        pickle.dump(("error", "input", str(err)), out)
    except BrokenPipeError:
        raise
    except Exception as err:  # reported as one line by the importing process
        pickle.dump(("error", "other", f"reading {path}: {type(err).__name__}: {err}"), out)
