"""The package's layering, checked on the source (issue 12, item 7).

Why: the layout only stays clean if a forbidden import fails CI the day it is written. The
checker parses every module with ``ast`` (never imports it), so it sees imports at any depth —
inside functions, under ``if TYPE_CHECKING:``, ``importlib.import_module("...")`` — and it lists
every violation in one failure, each as ``file:line  rule``.

The rules are a table (:data:`RULES`): which files a rule applies to (glob patterns relative to
the repository root) and which modules they may not import (a module and all its submodules).
A second check keeps SQL inside ``syncsvc/store/``: no string constant outside it may look like
an SQL statement.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

PURE_CORE = ("syncsvc/planner.py", "syncsvc/notes.py", "syncsvc/events.py", "syncsvc/text.py")
BACKENDS = ("syncsvc/calendars/*", "syncsvc/contacts/*")
STORE = ("syncsvc/store/*",)


@dataclass(frozen=True)
class Rule:
    """Files matching ``applies_to`` (minus ``exempt``) may not import any of ``forbidden``."""

    name: str
    applies_to: tuple[str, ...]
    forbidden: tuple[str, ...]
    exempt: tuple[str, ...] = ()

    def covers(self, rel: str) -> bool:
        def hit(patterns: tuple[str, ...]) -> bool:
            return any(fnmatchcase(rel, p) for p in patterns)

        return hit(self.applies_to) and not hit(self.exempt)

    def forbids(self, module: str) -> str | None:
        """The forbidden module that ``module`` is (or lies under), else None."""
        for bad in self.forbidden:
            if module == bad or module.startswith(bad + "."):
                return bad
        return None


RULES: tuple[Rule, ...] = (
    Rule(
        "pure core imports no storage, backend or front end",
        applies_to=PURE_CORE,
        forbidden=(
            "sqlite3",
            "syncsvc.store",
            "syncsvc.calendars",
            "syncsvc.contacts",
            "syncsvc.app",
            "syncsvc.cli",
            "syncsvc.daemon",
        ),
    ),
    Rule(
        "backends do not import the app, cli or daemon",
        applies_to=BACKENDS,
        forbidden=("syncsvc.app", "syncsvc.cli", "syncsvc.daemon"),
    ),
    Rule(
        "contacts do not import calendars",
        applies_to=("syncsvc/contacts/*",),
        forbidden=("syncsvc.calendars",),
    ),
    Rule(
        "only syncsvc/store/ imports sqlite3",
        applies_to=("syncsvc/*",),
        exempt=STORE,
        forbidden=("sqlite3",),
    ),
)

SQL = re.compile(
    r"^\s*(SELECT\s[\s\S]*\bFROM\b|INSERT\s+(OR\s+\w+\s+)?INTO\b|UPDATE\s+\w+\s+SET\b"
    r"|DELETE\s+FROM\b|CREATE\s+(TABLE|INDEX)\b|PRAGMA\s+\w+)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Violation:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}  {self.what}"


def _modules(root: Path) -> Iterator[tuple[str, ast.Module]]:
    """Every module under ``root/syncsvc`` as (path relative to root, parsed tree)."""
    for path in sorted((root / "syncsvc").rglob("*.py")):
        rel = path.relative_to(root).as_posix()
        yield rel, ast.parse(path.read_text(encoding="utf-8"), filename=rel)


def _package_of(rel: str) -> list[str]:
    """The package a module lives in, as parts: syncsvc/calendars/x.py -> [syncsvc, calendars]."""
    return rel.removesuffix(".py").split("/")[:-1]


def imported_modules(rel: str, tree: ast.Module) -> Iterator[tuple[int, str]]:
    """(line, absolute module name) for every import anywhere in the tree.

    ``from a import b`` yields both ``a`` and ``a.b`` (b may be a submodule); relative imports
    are resolved against the module's package; ``importlib.import_module("x")`` and
    ``__import__("x")`` with a literal name count too.
    """
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = _package_of(rel)
                base_parts = package[: len(package) - (node.level - 1)]
                base = ".".join([*base_parts, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            if node.module:
                yield node.lineno, base
            for alias in node.names:
                if alias.name != "*":
                    yield node.lineno, f"{base}.{alias.name}"
        elif isinstance(node, ast.Call) and _is_dynamic_import(node.func):
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                yield node.lineno, arg.value


def _is_dynamic_import(func: ast.expr) -> bool:
    if isinstance(func, ast.Name):
        return func.id in ("__import__", "import_module")
    return isinstance(func, ast.Attribute) and func.attr == "import_module"


def import_violations(root: Path, rules: tuple[Rule, ...] = RULES) -> list[Violation]:
    found: list[Violation] = []
    for rel, tree in _modules(root):
        applicable = [rule for rule in rules if rule.covers(rel)]
        if not applicable:
            continue
        seen: set[tuple[int, str, str]] = set()
        for line, module in imported_modules(rel, tree):
            for rule in applicable:
                bad = rule.forbids(module)
                if bad is not None and (line, bad, rule.name) not in seen:
                    seen.add((line, bad, rule.name))
                    found.append(Violation(rel, line, f"imports {bad}: {rule.name}"))
    return found


def sql_violations(root: Path) -> list[Violation]:
    found: list[Violation] = []
    for rel, tree in _modules(root):
        if any(fnmatchcase(rel, p) for p in STORE):
            continue
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and SQL.match(node.value)
            ):
                snippet = " ".join(node.value.split())[:50]
                what = f"SQL outside syncsvc/store/: {snippet!r}"
                found.append(Violation(rel, node.lineno, what))
    return sorted(found, key=lambda v: (v.path, v.line))


def _report(title: str, violations: list[Violation]) -> str:
    return f"{len(violations)} {title}:\n" + "\n".join(f"  {v}" for v in violations)


# ---------------------------------------------------------------------------- the real tree


def test_no_module_imports_across_a_forbidden_line() -> None:
    violations = import_violations(REPO)
    assert not violations, _report("forbidden imports", violations)


def test_all_sql_lives_in_the_store() -> None:
    violations = sql_violations(REPO)
    assert not violations, _report("SQL literals outside syncsvc/store/", violations)


def test_every_rule_matches_some_file_in_the_tree() -> None:
    """A rule whose patterns match no file (a module renamed away) would guard nothing."""
    rels = [rel for rel, _ in _modules(REPO)]
    for rule in RULES:
        assert any(rule.covers(rel) for rel in rels), rule.name


# ---------------------------------------------------------------------------- the checker


def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    for pkg in ("syncsvc", "syncsvc/store", "syncsvc/calendars", "syncsvc/contacts"):
        (root / pkg).mkdir(parents=True, exist_ok=True)
        (root / pkg / "__init__.py").touch()
    return root


def test_checker_catches_every_kind_of_forbidden_import(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "syncsvc/planner.py": (
                "from typing import TYPE_CHECKING\n"
                "if TYPE_CHECKING:\n"
                "    from syncsvc.store.calls import Call\n"  # line 3
                "def f():\n"
                "    import sqlite3\n"  # line 5
                "    from . import cli\n"  # line 6
                "    return sqlite3\n"
            ),
            "syncsvc/calendars/google.py": "from ..app import App\n",
            "syncsvc/contacts/vcard.py": (
                "import importlib\n"
                "from syncsvc import calendars\n"  # line 2
                "mod = importlib.import_module('syncsvc.daemon')\n"  # line 3
            ),
            "syncsvc/report.py": "import sqlite3 as db\n",
        },
    )
    got = {(v.path, v.line, v.what.split(":")[0]) for v in import_violations(root)}
    assert got == {
        ("syncsvc/planner.py", 3, "imports syncsvc.store"),
        ("syncsvc/planner.py", 5, "imports sqlite3"),
        ("syncsvc/planner.py", 6, "imports syncsvc.cli"),
        ("syncsvc/calendars/google.py", 1, "imports syncsvc.app"),
        ("syncsvc/contacts/vcard.py", 2, "imports syncsvc.calendars"),
        ("syncsvc/contacts/vcard.py", 3, "imports syncsvc.daemon"),
        ("syncsvc/report.py", 1, "imports sqlite3"),
    }
    # both sqlite3 rules fire on planner.py:5, each named in the message
    rules_at_5 = sorted(
        v.what for v in import_violations(root) if v.path == "syncsvc/planner.py" and v.line == 5
    )
    assert len(rules_at_5) == 2
    assert any("pure core" in w for w in rules_at_5)
    assert any("only syncsvc/store/" in w for w in rules_at_5)


def test_checker_allows_what_the_rules_allow(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "syncsvc/store/db.py": "import sqlite3\nQ = 'SELECT id FROM people'\n",
            "syncsvc/planner.py": "from syncsvc.text import clean\nfrom syncsvc import clock\n",
            "syncsvc/calendars/vdir.py": "from syncsvc.store import files\nfrom . import ics\n",
            "syncsvc/contacts/vcard.py": "from syncsvc.contacts import phones\n",
            "syncsvc/app.py": (
                "from syncsvc.store import db\nfrom syncsvc.calendars import vdir\n"
                # prose that mentions SQL words but is no statement
                "s = 'Update your calendar, then set a reminder'\n"
                "t = 'Could not delete the event from CalDAV'\n"
                "u = 'Selected 3 people'\n"
            ),
            # a module name that merely starts like a forbidden one is not that module
            "syncsvc/text.py": "import sqlite3x\nfrom syncsvc import applications\n",
        },
    )
    assert import_violations(root) == []
    assert sql_violations(root) == []


def test_sql_checker_finds_statements_outside_the_store(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {
            "syncsvc/planner.py": 'Q = """\n    SELECT p.id\n    FROM people p"""\n',
            "syncsvc/sync.py": 'def f(t):\n    return f"INSERT OR REPLACE INTO {t} VALUES (?)"\n',
            "syncsvc/export.py": "A = 'update calls set x = 1'\nB = 'DELETE FROM x'\n",
            "syncsvc/report.py": "P = 'PRAGMA user_version'\nC = 'create index i on t(x)'\n",
            "syncsvc/store/calls.py": "Q = 'DELETE FROM calls'\n",
        },
    )
    got = sorted((v.path, v.line) for v in sql_violations(root))
    assert got == [
        ("syncsvc/export.py", 1),
        ("syncsvc/export.py", 2),
        ("syncsvc/planner.py", 1),
        ("syncsvc/report.py", 1),
        ("syncsvc/report.py", 2),
        ("syncsvc/sync.py", 2),
    ]


def test_failure_message_lists_every_violation(tmp_path: Path) -> None:
    root = _tree(
        tmp_path,
        {"syncsvc/notes.py": "import sqlite3\n", "syncsvc/events.py": "import syncsvc.cli\n"},
    )
    message = _report("forbidden imports", import_violations(root))
    assert message.startswith("3 forbidden imports:")
    assert "syncsvc/notes.py:1  imports sqlite3: pure core" in message
    assert "syncsvc/notes.py:1  imports sqlite3: only syncsvc/store/ imports sqlite3" in message
    assert "syncsvc/events.py:1  imports syncsvc.cli: pure core" in message
