"""Fab-level figures (the server's Fab object, FAB_EQUIPMENT records) drive the live KPIs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from factory_twin.app.controller import ConnectionSettings, Controller
from factory_twin.app.plant_state import KPI_WINDOW_S, PlantState
from factory_twin.model.config import load_plant
from factory_twin.model.events import FAB_EQUIPMENT, Quality, TagUpdate

MINI = Path(__file__).resolve().parents[1] / "data" / "mini_plant.yaml"


def _fab(t: float, lots: int, wafers: int, wip: int, moves: int, ts: float) -> list[TagUpdate]:
    vals = {
        "plant_clock": t,
        "lots_completed": lots,
        "wafers_completed": wafers,
        "wip": wip,
        "moves": moves,
    }
    return [TagUpdate(FAB_EQUIPMENT, k, v, ts) for k, v in vals.items()]


def test_fab_figures_give_rates_over_the_plant_clock():
    st = PlantState(load_plant(MINI).spec)
    k = st.kpis()
    assert not k.from_fab and k.plant_clock_s is None
    st.apply(_fab(1000.0, 10, 250, 7, 100, ts=1.7e9))
    k = st.kpis()
    assert k.from_fab and k.plant_clock_s == 1000.0
    assert k.throughput_lots_h is None  # one sample: no rate yet
    assert k.wip_lots == 7 and k.lots_out_total == 10 and k.moves_total == 100
    # half an hour later: 3 lots (75 wafers) and 40 moves more
    st.apply(_fab(2800.0, 13, 325, 6, 140, ts=1.7e9 + 30))
    k = st.kpis()
    assert k.throughput_lots_h == pytest.approx(6.0)
    assert k.wafers_h == pytest.approx(150.0)
    assert k.moves_h == pytest.approx(80.0)
    assert k.wip_lots == 6 and k.lots_out_total == 13
    # the window rolls: after two more hours only the last hour counts
    st.apply(_fab(2800.0 + KPI_WINDOW_S, 15, 375, 6, 200, ts=1.7e9 + 60))
    st.apply(_fab(2800.0 + 2 * KPI_WINDOW_S, 19, 475, 6, 260, ts=1.7e9 + 90))
    k = st.kpis()
    assert k.throughput_lots_h == pytest.approx(4.0)
    assert k.moves_h == pytest.approx(60.0)


def test_stale_fab_values_and_counter_resets():
    st = PlantState(load_plant(MINI).spec)
    st.apply(_fab(1000.0, 10, 250, 7, 100, ts=1.7e9))
    st.apply(_fab(4600.0, 14, 350, 7, 160, ts=1.7e9 + 10))
    assert st.kpis().throughput_lots_h == pytest.approx(4.0)
    st.apply([TagUpdate(FAB_EQUIPMENT, "lots_completed", 99, 1.7e9 + 20, Quality.STALE)])
    assert st.kpis().lots_out_total == 14  # a stale value is no news
    # a restarted source counts from 0 again: rates start over, never negative
    st.apply(_fab(10.0, 0, 0, 3, 0, ts=1.7e9 + 30))
    k = st.kpis()
    assert k.throughput_lots_h is None and k.wip_lots == 3


@pytest.mark.timeout(120)
def test_live_demo_fab_has_throughput_from_the_server(tmp_path):
    c = Controller(journal_path=tmp_path / "journal.sqlite")
    try:
        c.open_plant(MINI)
        c.connect(ConnectionSettings(use_simulator=True, simulator_speed=20000.0)).result(60)
        deadline = time.monotonic() + 60
        k = c.state.kpis()
        while time.monotonic() < deadline:
            c.apply_pending()
            k = c.state.kpis()
            if k.from_fab and k.lots_out_total >= 2 and (k.throughput_lots_h or 0) > 0:
                break
            time.sleep(0.05)
        assert k.from_fab, "no fab-level figures arrived"
        assert k.lots_out_total >= 2, k
        assert k.throughput_lots_h is not None and k.throughput_lots_h > 0, k
        assert k.plant_clock_s is not None and k.plant_clock_s > 3600
        sim_now = c.plant_time_s()
        assert sim_now is not None and k.plant_clock_s <= sim_now
        assert k.wip_lots >= 0
    finally:
        c.close()
