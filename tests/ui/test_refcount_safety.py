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

from factory_twin.model.events import TagUpdate

PAINTS = 400


def test_trend_painting_keeps_references_to_none(etcher_panel) -> None:
    panel, state, tool = etcher_panel
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
