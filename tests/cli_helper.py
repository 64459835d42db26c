"""Run the `syncsvc` command in-process, as a shell would, with stdout and stderr captured.

``run_cli(["--config", cfg, "status"])`` calls ``syncsvc.cli.main`` and returns its exit code
and output; argparse's ``SystemExit`` (usage errors, --help, --version) becomes an exit code
too. Any other exception propagates: ``main`` is meant to turn every one into an exit code.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Sequence
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from unittest import mock

from syncsvc.cli import main


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str
    output: str  # stdout and stderr interleaved, in the order they were written


class _Capture(io.StringIO):
    """One stream's text, also copied to the interleaved ``output``."""

    def __init__(self, both: io.StringIO) -> None:
        super().__init__()
        self._both = both

    def write(self, text: str) -> int:
        self._both.write(text)
        return super().write(text)


def run_cli(args: Sequence[str], input: str | None = None) -> CliResult:
    both = io.StringIO()
    out, err = _Capture(both), _Capture(both)
    stdin = io.StringIO(input or "")
    with redirect_stdout(out), redirect_stderr(err), mock.patch.object(sys, "stdin", stdin):
        try:
            code: int | str | None = main(list(args))
        except SystemExit as e:
            code = e.code
    if isinstance(code, str):  # SystemExit("message"), as the interpreter would show it
        err.write(code + "\n")
        code = 1
    return CliResult(code or 0, out.getvalue(), err.getvalue(), both.getvalue())
