"""Fixtures for the model tests: the shipped plants and the tiny test plant."""

from __future__ import annotations

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PLANTS = REPO / "plant_configs"
DATA = REPO / "tests" / "data"


@pytest.fixture
def mini_text() -> str:
    """The text of tests/data/mini_plant.yaml."""
    return (DATA / "mini_plant.yaml").read_text(encoding="utf-8")


@pytest.fixture
def demo_path() -> Path:
    """The shipped demo fab."""
    return PLANTS / "demo_fab.yaml"


def _line_of(text: str, needle: str, occurrence: int = 1) -> int:
    seen = 0
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return i
    msg = f"{needle!r} not in the text"
    raise AssertionError(msg)


@pytest.fixture
def line_of():
    """``line_of(text, needle, occurrence=1)``: 1-based line of a line containing ``needle``."""
    return _line_of
