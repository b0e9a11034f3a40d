"""The simulator's transport follows the edited layout, as the flow figures predict."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import pytest

from factory_twin.model import schema as s
from factory_twin.model.flows import FlowTable, flow_table
from factory_twin.sim.runner import RunOptions, run_replication
from factory_twin.sim.stats import t_interval

DAY = 86400.0
DAYS = 120.0


def three_tools(etch_at: tuple[float, float]) -> s.PlantSpec:
    """Two litho tools equally far from one etch tool; sampling and rework mix the flows."""
    doc: dict[str, Any] = {
        "schema_version": 1,
        "site": {
            "name": "three tools",
            "floor_m": [60, 30],
            "bays": [{"id": "b", "origin_m": [0, 0], "size_m": [60, 30]}],
        },
        "equipment_types": [
            {"id": "t", "kind": "other", "shape": {"parts": [{"name": "p", "box": [1, 1, 1]}]}}
        ],
        "equipment": [
            {"id": "L-1", "type": "t", "group": "LITHO", "bay": "b", "position_m": [5, 5]},
            {"id": "L-2", "type": "t", "group": "LITHO", "bay": "b", "position_m": [5, 15]},
            {"id": "E-1", "type": "t", "group": "ETCH", "bay": "b", "position_m": list(etch_at)},
        ],
        "routes": [
            {
                "id": "r",
                "steps": [
                    {"tool_group": "LITHO", "process_time": {"dist": "exponential", "mean": 600}},
                    {"tool_group": "ETCH", "process_time": 600, "sample_pct": 50},
                    {
                        "tool_group": "LITHO",
                        "process_time": 600,
                        "rework": {"probability": 0.2, "to_step": 2},
                    },
                ],
            }
        ],
        "products": [
            {
                "id": "p",
                "route": "r",
                "release": {"mode": "rate", "interarrival": {"dist": "exponential", "mean": 3600}},
            }
        ],
        "transport": {"kind": "agv", "speed_m_s": 0.5, "handling_s": 30.0},
    }
    return s.PlantSpec.model_validate(doc)


def simulated_moves(spec: s.PlantSpec) -> pd.DataFrame:
    """Every tool-to-tool move of a run: lot, from group, to group, transport time."""
    res = run_replication(spec, RunOptions(days=DAYS, seed=7, keep_frames=True), 0)
    assert res.frames is not None
    steps = res.frames["steps"].sort_values(["lot", "end_s"])
    prev = steps.groupby("lot")["group"].shift(1)
    moves = steps.assign(src=prev, dst=steps["group"]).dropna(subset=["src"])
    return moves[["lot", "src", "dst", "transport_s"]]


def check(table: FlowTable, moves: pd.DataFrame) -> None:
    for f in table.flows:
        got = moves[(moves["src"] == f.src) & (moves["dst"] == f.dst)]
        # the litho tools are equally far from etch: every move of a flow takes its time
        assert len(got) > 0
        assert got["transport_s"].to_numpy() == pytest.approx(f.move_time_s), (f.src, f.dst)
        # moves per day: a Poisson count, 4 sigma
        expected = f.moves_per_day * DAYS
        assert abs(len(got) - expected) < 4 * math.sqrt(expected), (f.src, f.dst, len(got))
    # mean transport time per move: random through sampling and rework; batch means by lot
    per_lot = moves.groupby("lot")["transport_s"].agg(["sum", "count"])
    batches = per_lot.reset_index(drop=True).groupby(lambda i: i % 30).sum()
    ci = t_interval(batches["sum"] / batches["count"], level=0.99)
    predicted = table.total_transport_s_per_day / table.total_moves_per_day
    assert ci.low - 1e-9 <= predicted <= ci.high + 1e-9, (predicted, ci)


def test_sim_transport_follows_the_moved_tool() -> None:
    before_spec = three_tools((25.0, 10.0))
    after_spec = three_tools((40.0, 10.0))
    before, after = flow_table(before_spec), flow_table(after_spec)
    le_b, le_a = before.flow("LITHO", "ETCH"), after.flow("LITHO", "ETCH")
    assert le_b is not None and le_a is not None
    assert le_b.move_time_s == pytest.approx(30 + 25 / 0.5)
    assert le_a.move_time_s - le_b.move_time_s == pytest.approx(15 / 0.5)
    # moves per lot: L->E 0.75, L->L 0.5, E->L 0.75 (see tests/model/test_flows.py)
    assert before.total_transport_s_per_day / before.total_moves_per_day == pytest.approx(67.5)
    assert after.total_transport_s_per_day / after.total_moves_per_day == pytest.approx(90.0)
    check(before, simulated_moves(before_spec))
    check(after, simulated_moves(after_spec))
