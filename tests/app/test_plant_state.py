"""Plant state built from plant events: states, tags, history, alarms, lots, KPIs."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from factory_twin.app.plant_state import PlantState, RingBuffer, limit_status
from factory_twin.model.config import load_plant
from factory_twin.model.events import (
    AlarmEvent,
    AlarmState,
    ConnectionStatus,
    E10State,
    LotMove,
    Quality,
    TagUpdate,
)

MINI = Path(__file__).resolve().parents[1] / "data" / "mini_plant.yaml"


@pytest.fixture
def state() -> PlantState:
    return PlantState(load_plant(MINI).spec, history_len=8)


def test_ring_buffer_keeps_newest_in_order():
    rb = RingBuffer(4)
    for i in range(6):
        rb.append(float(i), float(i * 10))
    t, v = rb.arrays()
    assert list(t) == [2, 3, 4, 5] and list(v) == [20, 30, 40, 50]
    assert rb.total == 6 and len(rb) == 4


def test_ring_buffer_grows_then_wraps():
    rb = RingBuffer(100)  # storage starts small and doubles up to the capacity
    for i in range(40):
        rb.append(float(i), float(-i))
    t, v = rb.arrays()
    assert list(t) == list(range(40)) and list(v) == [-x for x in range(40)]
    for i in range(40, 250):
        rb.append(float(i), float(-i))
    t, v = rb.arrays()
    assert list(t) == list(range(150, 250)) and list(v) == [-x for x in range(150, 250)]
    assert len(rb) == 100 and rb.total == 250


def test_batch_emits_each_signal_once(state):
    seen = {"states": [], "tags": [], "kpis": 0}
    state.states_changed.connect(lambda idx: seen["states"].append(list(idx)))
    state.tags_changed.connect(lambda keys: seen["tags"].append(set(keys)))
    state.kpis_changed.connect(lambda: seen.__setitem__("kpis", seen["kpis"] + 1))
    batch = [
        TagUpdate("ETCH-01", "state", E10State.PRODUCTIVE.value, 10.0),
        TagUpdate("ETCH-02", "state", E10State.STANDBY.code, 10.0),
        TagUpdate("ETCH-01", "chamber_pressure", 4.0, 10.0),
        TagUpdate("ETCH-01", "chamber_pressure", 4.5, 11.0),
        TagUpdate("ETCH-01", "lot", "L1", 11.0),
    ]
    state.apply(batch)
    assert seen["states"] == [[0, 1]]
    assert seen["tags"] == [
        {
            ("ETCH-01", "state"),
            ("ETCH-02", "state"),
            ("ETCH-01", "chamber_pressure"),
            ("ETCH-01", "lot"),
        }
    ]
    assert seen["kpis"] == 1
    assert state.state_of("ETCH-01") is E10State.PRODUCTIVE
    assert state.state_of("ETCH-02") is E10State.STANDBY
    assert state.state_of("LITHO-01") is None
    assert state.lot[0] == "L1"
    _t, v = state.history[("ETCH-01", "chamber_pressure")].arrays()
    assert list(v) == [4.0, 4.5]
    assert state.clock_s == 11.0


def test_connection_loss_makes_tools_stale_and_back(state):
    state.apply([TagUpdate("ETCH-01", "state", "productive", 1.0)])
    state.apply([ConnectionStatus("sim", False, "lost")])
    assert state.stale.all()
    state.apply([ConnectionStatus("sim", True, "ok")])
    assert not state.stale.any()
    state.apply([TagUpdate("ETCH-01", "state", "productive", 2.0, quality=Quality.STALE)])
    assert state.stale[0]


def test_alarm_lifecycle_isa_18_2(state):
    raised = AlarmEvent(
        "a1", "ETCH-01", "chamber_pressure.hi", 700, "pressure high", 5.0, active=True, acked=False
    )
    state.apply([raised])
    assert state.alarms["a1"].state is AlarmState.ACTIVE_UNACKED
    state.apply(
        [
            AlarmEvent(
                "a1",
                "ETCH-01",
                "chamber_pressure.hi",
                700,
                "pressure high",
                6.0,
                active=True,
                acked=True,
                user="op",
                comment="seen",
            )
        ]
    )
    assert state.alarms["a1"].state is AlarmState.ACTIVE_ACKED
    assert state.alarms["a1"].raised_s == 5.0
    state.apply(
        [
            AlarmEvent(
                "a1",
                "ETCH-01",
                "chamber_pressure.hi",
                700,
                "pressure high",
                7.0,
                active=False,
                acked=True,
            )
        ]
    )
    assert "a1" not in state.alarms


def test_lots_kpis_and_positions(state):
    state.apply(
        [
            LotMove("L1", "p1", None, "LITHO-01", 0.0, 10.0),
            LotMove("L2", "p1", None, "ETCH-01", 0.0, 10.0),
            TagUpdate("ETCH-01", "state", "productive", 10.0),
            TagUpdate("LITHO-01", "state", "standby", 10.0),
        ]
    )
    state.apply(
        [
            LotMove("L1", "p1", "LITHO-01", "ETCH-02", 100.0, 200.0),
            TagUpdate("ETCH-02", "state", "productive", 100.0),
        ]
    )
    state.apply(
        [
            LotMove("L2", "p1", "ETCH-01", None, 150.0, 160.0),
            TagUpdate("ETCH-02", "state", "productive", 300.0),
        ]
    )
    k = state.kpis()
    assert k.moves_total == 1 and k.lots_out_total == 1 and k.wip_lots == 1
    assert k.state_counts["productive"] == 2 and k.state_counts["standby"] == 1
    # one lot out over the 300 s since the first data: the lots entering at t=0 count
    assert k.throughput_lots_h == pytest.approx(3600 / 300)
    assert sum(k.state_time_share.values()) == pytest.approx(1.0)
    pos, _prod, ids = state.lot_positions(150.0)  # half-way LITHO-01 -> ETCH-02: up on the track
    assert ids == ["L1"]
    assert pos[0, 2] == pytest.approx(3.2)
    assert 7.0 < pos[0, 0] < 15.0
    pos_end, _, _ = state.lot_positions(250.0)  # arrived: on ETCH-02's load port
    assert pos_end[0, 2] == pytest.approx(0.9) and abs(pos_end[0, 0] - 7.0) < 1.0


def test_limit_status(state):
    spec = state.tag_spec("ETCH-01", "chamber_pressure")
    assert limit_status(spec, 5.0) == ""
    assert limit_status(spec, 8.5) == "hi"
    assert limit_status(spec, 11.0) == "hihi"
    assert limit_status(None, 1.0) == ""


def test_unknown_tools_and_bad_values_are_ignored(state):
    state.apply(
        [
            TagUpdate("NOPE", "state", "productive", 1.0),
            TagUpdate("ETCH-01", "state", "not-a-state", 1.0),
        ]
    )
    assert (state.codes == -1).all()
    assert np.isfinite(state.estimated_clock())


def test_lots_followed_through_lot_tags_without_lot_moves(state):
    """The OPC UA path has only the tools' 'lot' tags: moves are derived from them."""
    state.time_scale = 60.0  # data stamped with the wall clock of a 60x simulator
    state.apply(
        [TagUpdate("LITHO-01", "lot", "L7", 100.0), TagUpdate("LITHO-01", "wafer_count", 0, 100.0)]
    )
    assert state.lot_count() == 1
    pos, _, ids = state.lot_positions(100.0)
    assert ids == ["L7"] and pos[0, 2] == pytest.approx(0.9)  # on LITHO-01's load port
    state.apply(
        [TagUpdate("LITHO-01", "lot", "", 130.0), TagUpdate("LITHO-01", "wafer_count", 25, 130.0)]
    )
    state.apply([TagUpdate("ETCH-02", "lot", "L7", 131.0)])
    mv = state.lot_moves["L7"]
    assert (mv.from_equipment, mv.to_equipment) == ("LITHO-01", "ETCH-02")
    assert 0.5 <= mv.arrive_s - mv.depart_s <= 4.0
    mid, _, _ = state.lot_positions((mv.depart_s + mv.arrive_s) / 2)
    assert mid[0, 2] == pytest.approx(3.2)  # on the overhead track
    k = state.kpis()
    assert k.moves_total == 1
    assert k.wafers_h > 0
    assert k.throughput_lots_h is None  # no fab exits are visible over OPC UA
