"""The stepped mode: events, tags following the tool state, operator actions, speed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from sim_plants import plant

from factory_twin.errors import SimulationError
from factory_twin.model import schema as s
from factory_twin.model.config import load_plant
from factory_twin.model.events import E10State, LotMove, StateChange, TagUpdate
from factory_twin.sim.live import LiveSimulation

ROOT = Path(__file__).parents[2]

TYPES = [
    {
        "id": "t",
        "kind": "dry_etch",
        "shape": {"parts": [{"name": "p", "box": [1, 1, 1]}]},
        "tags": [
            {
                "name": "pressure",
                "unit": "Pa",
                "normal_range": [4.0, 6.0],
                "idle_value": 0.5,
                "noise": 0.05,
            },
            {"name": "rf_on", "data_type": "bool"},
        ],
    }
]


def one_tool(times: list[float], time_s: float = 600.0) -> s.PlantSpec:
    return plant(
        [{"id": "T", "time": time_s}], release={"mode": "schedule", "times_s": times}, types=TYPES
    )


def tags(events: list, tool: str, tag: str) -> list[TagUpdate]:
    return [e for e in events if isinstance(e, TagUpdate) and e.equipment == tool and e.tag == tag]


def test_tags_follow_state_and_are_sampled_every_period() -> None:
    sim = LiveSimulation(one_tool([100.0]), seed=3, tag_period_s=2.0)
    ev = sim.advance(100.0)
    p = tags(ev, "T-1", "pressure")
    assert [u.source_ts for u in p] == pytest.approx([float(t) for t in range(0, 100, 2)])
    assert all(abs(u.value - 0.5) < 0.3 for u in p)  # idle
    ev = sim.advance(400.0)  # processing from t=100
    assert sim.now_s == 500.0
    p = tags(ev, "T-1", "pressure")
    late = [u.value for u in p if u.source_ts > 250]
    assert late and all(4.0 <= v <= 6.0 for v in late)  # held inside normal_range
    assert tags(ev, "T-1", "rf_on")[-1].value is True
    states = [e for e in ev if isinstance(e, StateChange)]
    assert states == [] or states[0].state is E10State.PRODUCTIVE
    ev = sim.advance(600.0)  # done at 700, then idle again
    p = tags(ev, "T-1", "pressure")
    assert p[-1].value < 1.0
    assert [st.state for st in ev if isinstance(st, StateChange)] == [E10State.STANDBY]
    assert tags(ev, "T-1", "state")[-1].value == "standby"
    assert tags(ev, "T-1", "wafer_count")[-1].value == 1


def test_machine_tags_lot_moves_and_snapshot() -> None:
    sim = LiveSimulation(one_tool([10.0]), seed=0)
    ev = sim.advance(20.0)
    assert tags(ev, "T-1", "lot")[-1].value == "p.1"
    assert tags(ev, "T-1", "state")[-1].value == "productive"
    assert any(isinstance(e, LotMove) and e.lot == "p.1" for e in ev)
    snap = sim.snapshot()
    assert StateChange("T-1", E10State.PRODUCTIVE, 20.0, "") in snap
    names = {(e.equipment, e.tag) for e in snap if isinstance(e, TagUpdate)}
    assert names == {
        ("T-1", n) for n in ("state", "lot", "recipe", "wafer_count", "pressure", "rf_on")
    }
    ev = sim.advance(1000.0)
    assert any(isinstance(e, LotMove) and e.lot == "p.1" and e.to_equipment is None for e in ev)


def test_hold_and_resume() -> None:
    sim = LiveSimulation(one_tool([10.0, 20.0]), seed=0)
    sim.advance(15.0)  # p.1 processing until 610
    assert sim.hold("T-1") is True  # takes effect after the current lot
    assert sim.hold("T-1") is False  # already (pending) on hold
    ev = sim.advance(1000.0)
    assert sim.state_of("T-1") == (E10State.ENGINEERING, "hold")
    assert StateChange("T-1", E10State.ENGINEERING, 610.0, "hold") in ev
    assert sim.queue_lengths()["T"] == 1  # p.2 waits: the held tool starts nothing
    assert sim.resume("T-1") is True
    assert sim.resume("T-1") is False
    ev = sim.advance(10.0)
    assert sim.state_of("T-1")[0] is E10State.PRODUCTIVE
    with pytest.raises(SimulationError, match="no tool 'NOPE'"):
        sim.hold("NOPE")


def test_breakdown_blocks_hold_and_force_tag() -> None:
    sim = LiveSimulation(one_tool([10.0]), seed=0)
    sim.advance(5.0)
    assert sim.inject_breakdown("T-1", 100.0) is True
    assert sim.inject_breakdown("T-1", 100.0) is False
    assert sim.state_of("T-1") == (E10State.UNSCHEDULED_DOWN, "repair")
    assert sim.hold("T-1") is False
    sim.force_tag("T-1", "pressure", 99.0, 30.0)
    ev = sim.drain()
    assert tags(ev, "T-1", "pressure")[-1].value == 99.0
    ev = sim.advance(20.0)
    assert {u.value for u in tags(ev, "T-1", "pressure")} == {99.0}
    ev = sim.advance(100.0)
    assert tags(ev, "T-1", "pressure")[-1].value != 99.0
    assert sim.state_of("T-1")[0] is E10State.PRODUCTIVE  # repaired at 105, lot p.1 running
    with pytest.raises(SimulationError, match="no process tag 'nope'"):
        sim.force_tag("T-1", "nope", 1.0, 10.0)


def test_same_seed_same_events() -> None:
    a = LiveSimulation(one_tool([10.0, 50.0]), seed=9).advance(2000.0)
    b = LiveSimulation(one_tool([10.0, 50.0]), seed=9).advance(2000.0)
    assert a == b


def test_demo_fab_advance_is_fast() -> None:
    spec = load_plant(ROOT / "plant_configs" / "demo_fab.yaml").spec
    sim = LiveSimulation(spec, seed=1)
    sim.advance(7200.0)  # fill the fab a little
    walls = []
    for _ in range(10):
        t0 = time.process_time()  # CPU time: the box is shared, wall time is not ours
        ev = sim.advance(60.0)  # one wall second at speed-up 60
        walls.append(time.process_time() - t0)
        assert ev
    walls.sort()
    assert walls[len(walls) // 2] < 0.05, walls  # median, on a shared 2-core box


def test_fast_tag_update_equals_the_dataclass() -> None:
    """The live mode builds TagUpdates without __init__; they must be the same records."""
    import dataclasses

    from factory_twin.sim.live import _tag_update

    fast = _tag_update("T-1", "pressure", 4.5, 12.0)
    slow = TagUpdate("T-1", "pressure", 4.5, 12.0)
    assert fast == slow and hash(fast) == hash(slow)
    for f in dataclasses.fields(TagUpdate):  # a new field would be left unset
        assert getattr(fast, f.name) == getattr(slow, f.name)
