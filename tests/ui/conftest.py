"""Shared fixtures of the window tests: software GL settings, temporary settings and data."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import pyvista as pv

os.environ.setdefault("FACTORY_TWIN_NO_SPLASH", "1")

pv.global_theme.multi_samples = 1  # MSAA costs ~30 ms/frame on llvmpipe
pv.OFF_SCREEN = False

REPO = Path(__file__).resolve().parents[2]
DATA = REPO / "tests" / "data"
IMAGE_CACHE = Path(__file__).resolve().parent / "image_cache"


@pytest.fixture
def mini_plant_path() -> Path:
    """The tiny two-bay plant of the test data."""
    return DATA / "mini_plant.yaml"


@pytest.fixture
def image_cache() -> Path:
    """Directory of the committed reference images."""
    return IMAGE_CACHE


@pytest.fixture
def etcher_panel(qtbot, mini_plant_path: Path):  # type: ignore[no-untyped-def]
    """A shown tool detail panel on the mini plant's state, and the id of its etcher."""
    from factory_twin.app.plant_state import PlantState
    from factory_twin.model.config import load_plant
    from factory_twin.ui.qt_detail_panel import QtDetailPanel

    spec = load_plant(mini_plant_path).spec
    tool = next(e.id for e in spec.equipment if e.type == "etcher")
    state = PlantState(spec)
    panel = QtDetailPanel()
    qtbot.addWidget(panel)
    panel.resize(500, 600)
    panel.show()
    panel.set_state(state)
    return panel, state, tool
