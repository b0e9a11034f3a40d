"""The KPI strip shows "—" for a rate until a plant minute of data has come in."""

from __future__ import annotations

import pytest

from factory_twin.app.plant_state import PlantState
from factory_twin.model.config import load_plant
from factory_twin.model.events import LotMove
from factory_twin.ui.qt_kpi_strip import QtKpiStrip

pytestmark = pytest.mark.gui


def test_moves_read_a_dash_for_the_first_minute_then_a_rate(qtbot, mini_plant_path):
    state = PlantState(load_plant(mini_plant_path).spec)
    strip = QtKpiStrip()
    qtbot.addWidget(strip)
    strip.set_state(state)
    strip.refresh()
    assert "—" in strip.moves.text() and "—" in strip.throughput.text()  # no data at all
    for t in (0.0, 20.0, 40.0):  # a move every 20 s from t=0: 40 s of data
        state.apply([LotMove(f"L{t:g}", "p1", "LITHO-01", "ETCH-01", t, t)])
    strip.refresh()
    assert strip.moves.text() == "<b>Moves</b> — (3 total)"
    state.apply([LotMove("L60", "p1", "ETCH-01", "ETCH-02", 60.0, 60.0)])
    strip.refresh()
    assert strip.moves.text() == "<b>Moves</b> 240/h (4 total)"  # 4 in the minute since t=0
