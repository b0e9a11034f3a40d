"""The live window must not corrupt Python's reference counts while it paints.

PySide6 6.12.0 returns ``None`` from ``QPainter.setRenderHint`` (and other painter calls)
without taking a reference, so every paint of a pyqtgraph trend drops one reference to
``None``; after a few minutes of a live trend the count reaches zero and Python aborts with
"Fatal Python error: none_dealloc". pyproject.toml excludes that release. This test paints
the real detail panel's trends many times and checks that the count of ``None`` does not
fall (it may rise: some releases leak references to it, which is harmless).
"""

from __future__ import annotations

import sys

from factory_twin.app.plant_state import PlantState
from factory_twin.model.config import load_plant
from factory_twin.model.events import TagUpdate
from factory_twin.ui.qt_detail_panel import QtDetailPanel

PAINTS = 400


def test_trend_painting_keeps_references_to_none(qtbot, mini_plant_path) -> None:
    spec = load_plant(mini_plant_path).spec
    tool = next(e.id for e in spec.equipment if e.type == "etcher")
    state = PlantState(spec)
    panel = QtDetailPanel()
    qtbot.addWidget(panel)
    panel.resize(500, 600)
    panel.show()
    panel.set_state(state)
    panel.show_tool(tool)
    t = 1000.0
    for k in range(20):  # warm-up: caches, first paints
        state.apply([TagUpdate(tool, "chamber_pressure", 4.0 + (k % 5) * 0.1, t + k)])
        panel.refresh()
        panel.grab()
    assert panel._curves, "the panel shows no trend to paint"
    before = sys.getrefcount(None)
    for k in range(PAINTS):
        state.apply([TagUpdate(tool, "chamber_pressure", 4.0 + (k % 7) * 0.1, t + 20 + k)])
        panel.refresh()
        panel.grab()  # paints the table and the trend plot now
    lost = before - sys.getrefcount(None)
    assert lost < PAINTS // 4, f"{lost} references to None lost in {PAINTS} paints"
