"""One transport-time formula: the simulation's moves and the live view's animation agree."""

from __future__ import annotations

import pytest
from sim_plants import plant

from factory_twin.app.plant_state import PlantState
from factory_twin.model.layout import manhattan_m
from factory_twin.model.schema import Transport
from factory_twin.model.transport import move_time_s, transit_time_s
from factory_twin.sim.model import FabModel


def test_formula() -> None:
    tr = Transport(kind="ohs", speed_m_s=2.0, handling_s=30.0)
    assert move_time_s(tr, 10.0) == 35.0
    assert transit_time_s(tr, (0.0, 0.0), (6.0, 4.0)) == 35.0
    assert transit_time_s(Transport(kind="none"), (0.0, 0.0), (6.0, 4.0)) == 0.0
    fixed = Transport(fixed_time={"dist": "uniform", "low": 300, "high": 600})
    assert transit_time_s(fixed, (0.0, 0.0), (6.0, 4.0)) == 450.0


def test_simulated_moves_and_live_view_use_the_same_time() -> None:
    spec = plant(
        [{"id": "A", "time": 100.0}, {"id": "B", "time": 100.0}, {"id": "C", "time": 100.0}],
        release={"mode": "rate", "interarrival": 1000.0},
        transport={"kind": "agv", "speed_m_s": 0.8, "handling_s": 45.0},
    )
    m = FabModel(spec, seed=1)
    m.run(20_000.0)
    m.finalize()
    steps = m.rec.frames()["steps"]
    pos = {e.id: e.position_m for e in spec.equipment}
    expected = {
        2: transit_time_s(spec.transport, pos["A-1"], pos["B-1"]),
        3: transit_time_s(spec.transport, pos["B-1"], pos["C-1"]),
    }
    assert expected[2] == pytest.approx(45.0 + manhattan_m(pos["A-1"], pos["B-1"]) / 0.8)
    for step, t in expected.items():
        got = set(steps.loc[steps["step"] == step, "transport_s"])
        assert got == {t}, f"step {step}: simulated moves took {got}, the formula gives {t}"
    ps = PlantState(spec)
    assert ps.transit_s(0, 1) == expected[2]
    assert ps.transit_s(1, 2) == expected[3]
