"""Shared fixtures: every test runs with its own XDG dirs, a fixed clock, and no network."""

from __future__ import annotations

import random
import zlib
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import pytest

from syncsvc import config as config_mod
from syncsvc.clock import FixedClock

if TYPE_CHECKING:
    from syncsvc.app import App

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO.parent / "shared" / "corpus"
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture(autouse=True)
def _seeded_random(request: pytest.FixtureRequest) -> None:
    """Every test draws the same "random" numbers on every run (the rotation's shuffle keys,
    retry jitter), seeded by its own id: a failure repeats instead of coming and going."""
    random.seed(zlib.crc32(request.node.nodeid.encode()))


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.delenv("SYNCSVC_CONFIG", raising=False)


@pytest.fixture
def corpus() -> Path:
    if not CORPUS.is_dir():
        pytest.skip(f"the shared corpus is not beside this checkout ({CORPUS})")
    return CORPUS


@pytest.fixture
def clock() -> FixedClock:
    # a Friday morning in Berlin
    return FixedClock(datetime(2026, 11, 27, 9, 0, tzinfo=BERLIN))


@pytest.fixture
def make_config(tmp_path: Path) -> Callable[..., config_mod.Config]:
    def make(**sections: dict[str, Any]) -> config_mod.Config:
        raw: dict[str, Any] = {"data_dir": str(tmp_path / "data")}
        raw["calls"] = {"timezone": "Europe/Berlin", **sections.pop("calls", {})}
        raw.update(sections)
        return config_mod.build(raw, None)

    return make


@pytest.fixture
def make_app(
    make_config: Callable[..., config_mod.Config], clock: FixedClock
) -> Callable[..., App]:
    from syncsvc.app import App

    apps: list[App] = []

    def make(**sections: dict[str, Any]) -> App:
        app = App(make_config(**sections), clock=clock)
        apps.append(app)
        return app

    yield make  # type: ignore[misc]
    for app in apps:
        app.close()


@pytest.fixture
def app(make_app: Callable[..., App]) -> App:
    return make_app()


def add_people(app: App, n: int, prefix: str = "Person") -> list[int]:
    from syncsvc.app import PersonInput

    return [
        app.add_person(
            PersonInput(name=f"{prefix} {i:03d}", emails=[f"p{i}@{prefix.lower()}.example"])
        )
        for i in range(n)
    ]
