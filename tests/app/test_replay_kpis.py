"""Rate KPIs of a replayed recording: the window starts at t=0, no rate before 60 plant s.

A recording starts at plant time 0. Its first events must count (the rates' span starts at
the first event, t=0 included), and a rate from a few seconds of data is not shown (None,
"—" in the KPI strip) rather than extrapolated to an hour.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from factory_twin.app.controller import Controller
from factory_twin.app.plant_state import KPI_WINDOW_S, RATE_MIN_S, PlantState
from factory_twin.model.config import load_plant
from factory_twin.model.events import E10State, LotMove, PlantEvent, StateChange, TagUpdate

MINI = Path(__file__).resolve().parents[1] / "data" / "mini_plant.yaml"
TOOLS = ("LITHO-01", "ETCH-01", "ETCH-02")


def _recording(end_s: float = 2 * KPI_WINDOW_S) -> list[PlantEvent]:
    """One lot move every 20 plant seconds from t=0 on, one lot out every 600 s (from 300),
    wafer counts of LITHO-01 rising by 25 every 100 s, ETCH-01 productive from t=0."""
    evs: list[PlantEvent] = [
        StateChange("ETCH-01", E10State.PRODUCTIVE, 0.0),
        StateChange("LITHO-01", E10State.STANDBY, 0.0),
    ]
    t, k = 0.0, 0
    while t <= end_s:
        a, b = TOOLS[k % 3], TOOLS[(k + 1) % 3]
        evs.append(LotMove(f"L{k}", "p1", a, b, t, t + 5.0))
        if t % 100 == 0:
            evs.append(TagUpdate("LITHO-01", "wafer_count", int(t // 100) * 25, t))
        if t % 600 == 300:
            evs.append(LotMove(f"L{k}", "p1", b, None, t, t + 1.0))
        t += 20.0
        k += 1
    return evs


@pytest.fixture
def controller(tmp_path):
    c = Controller(journal_path=tmp_path / "journal.sqlite")
    c.open_plant(MINI)
    yield c
    c.close()


def _at(c: Controller, t: float) -> PlantState:
    """Move the paused replay to plant time ``t`` and apply what is due."""
    assert c.replay is not None
    c.seek_replay(t)
    c.apply_pending()
    assert c.state is not None
    return c.state


def test_no_rate_before_a_minute_of_data(controller):
    src = controller.start_replay_events(_recording(), speed=1.0)
    src.pause()
    k = _at(controller, 0.0).kpis()
    assert k.moves_total == 1  # the move at t=0 is in
    assert k.moves_h is None and k.wafers_h is None and k.throughput_lots_h is None
    k = _at(controller, 40.0).kpis()
    assert k.moves_total == 3
    assert k.moves_h is None and k.wafers_h is None  # 40 s: too little to extrapolate
    k = _at(controller, RATE_MIN_S).kpis()
    assert k.moves_h is not None and k.wafers_h is not None


def test_rates_count_from_t0(controller):
    src = controller.start_replay_events(_recording(), speed=1.0)
    src.pause()
    for t in (0.0, 20.0, 40.0, 60.0):  # one batch per step, as the GUI tick drains them
        k = _at(controller, t).kpis()
    # 4 moves (t = 0, 20, 40, 60) over the 60 s since the first event at t=0
    assert k.moves_total == 4
    assert k.moves_h == pytest.approx(4 * 3600 / 60)
    # LITHO-01 has counted no wafer since t=0 yet (its next count comes at t=100)
    assert k.wafers_h == pytest.approx(0.0)
    k = _at(controller, 1000.0).kpis()
    # moves at 0, 20, ..., 1000: 51 over 1000 s; lots out at 300 and 900: 2
    assert k.moves_total == 51 and k.lots_out_total == 2
    assert k.moves_h == pytest.approx(51 * 3600 / 1000)
    assert k.throughput_lots_h == pytest.approx(2 * 3600 / 1000)
    assert k.wafers_h == pytest.approx(10 * 25 * 3600 / 1000)
    # E10 time is accounted from t=0 too: ETCH-01 was productive for all of it
    st = controller.state
    assert st._state_time.sum() == pytest.approx(2 * 1000.0)  # two tools with a state


def test_the_window_rolls_after_an_hour_and_a_rewind_starts_over(controller):
    src = controller.start_replay_events(_recording(), speed=1.0)
    src.pause()
    _at(controller, 0.0)
    k = _at(controller, KPI_WINDOW_S + 600.0).kpis()
    # a full hour: moves at 600, 620, ..., 4200 (181); lots out at 900, 1500, ..., 3900 (6)
    assert k.moves_h == pytest.approx(181.0)
    assert k.throughput_lots_h == pytest.approx(6.0)
    # seeking back rebuilds the state: the rewound replay measures from t=0 again
    k = _at(controller, 30.0).kpis()
    assert controller.state.moves_total == 2
    assert k.moves_h is None
    k = _at(controller, 120.0).kpis()
    assert k.moves_h == pytest.approx(7 * 3600 / 120)


def test_live_data_stamped_at_60x_counts_plant_seconds():
    """An embedded simulator at 60x stamps with the wall clock: 1 data s = 60 plant s."""
    st = PlantState(load_plant(MINI).spec)
    st.time_scale = 60.0
    st.apply([TagUpdate("LITHO-01", "wafer_count", 0, 1000.0)])
    st.apply([TagUpdate("LITHO-01", "wafer_count", 25, 1000.5)])  # 30 plant s later
    assert st.kpis().wafers_h is None
    st.apply([TagUpdate("LITHO-01", "wafer_count", 50, 1001.0)])  # a plant minute in
    assert st.kpis().wafers_h == pytest.approx(50 * 60.0)
