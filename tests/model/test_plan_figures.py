"""Capacity of a scenario against its base: the planner's live estimate."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from factory_twin.model import schema as s
from factory_twin.model.capacity import capacity_table
from factory_twin.model.config import load_plant
from factory_twin.model.plan_figures import changes_capacity, compare_capacity
from factory_twin.model.scenario import load_scenario

PLANTS = Path(__file__).resolve().parents[2] / "plant_configs"


def line(n_etch: int, interarrival: float = 1000.0) -> s.PlantSpec:
    """One litho tool and ``n_etch`` identical etch tools (failures, a calendar PM, setups)."""
    etch = {
        "type": "t",
        "group": "ETCH",
        "bay": "b",
        "reliability": {"mtbf": 36000, "mttr": 1800},
        "pm": [{"name": "weekly", "interval": 604800, "duration": 7200}],
    }
    doc: dict[str, Any] = {
        "schema_version": 1,
        "site": {
            "name": "line",
            "floor_m": [100, 20],
            "bays": [{"id": "b", "origin_m": [0, 0], "size_m": [100, 20]}],
        },
        "equipment_types": [
            {"id": "t", "kind": "other", "shape": {"parts": [{"name": "p", "box": [1, 1, 1]}]}}
        ],
        "equipment": [
            {"id": "L-1", "type": "t", "group": "LITHO", "bay": "b", "position_m": [2, 2]},
            *({**etch, "id": f"E-{k}", "position_m": [10 + 3 * k, 2]} for k in range(n_etch)),
        ],
        "tool_groups": [{"id": "ETCH", "setup_default": 300}],
        "routes": [
            {
                "id": "r",
                "steps": [
                    {"tool_group": "LITHO", "process_time": 500},
                    {"tool_group": "ETCH", "process_time": 900, "setup": "a"},
                    {"tool_group": "ETCH", "process_time": 700, "setup": "b"},
                ],
            }
        ],
        "products": [
            {"id": "p", "route": "r", "release": {"mode": "rate", "interarrival": interarrival}}
        ],
    }
    return s.PlantSpec.model_validate(doc)


@pytest.mark.parametrize("n", [1, 2, 3, 5])
def test_one_more_tool_lowers_the_loading_by_n_over_n_plus_1(n: int) -> None:
    cmp = compare_capacity(line(n), line(n + 1))
    etch = cmp.row("ETCH")
    assert etch.base is not None and etch.scenario is not None
    assert (etch.base.tools, etch.scenario.tools) == (n, n + 1)
    assert etch.scenario_utilisation / etch.base_utilisation == pytest.approx(
        n / (n + 1), rel=0, abs=1e-9
    )
    assert cmp.row("LITHO").change == 0.0


def test_the_fourth_scanner_scenario() -> None:
    base = load_plant(PLANTS / "demo_fab.yaml").spec
    scenario = load_scenario(PLANTS / "demo_fab_fourth_scanner.scenario.yaml").apply()
    cmp = compare_capacity(base, scenario)
    scan = cmp.row("SCAN")
    assert scan.base is not None and scan.scenario is not None
    assert (scan.base.tools, scan.scenario.tools) == (3, 4)
    # the fourth scanner copies SCAN-01; the three are alike, so the loading drops by 3/4
    assert scan.scenario_utilisation == pytest.approx(scan.base_utilisation * 3 / 4, abs=1e-9)
    others = [r for r in cmp.rows if r.group != "SCAN"]
    assert all(r.change == pytest.approx(0.0, abs=1e-12) for r in others)
    assert cmp.base_bottleneck == next(r.group for r in capacity_table(base) if r.is_bottleneck)
    assert cmp.scenario_bottleneck is not None


def test_over_capacity_and_a_moved_bottleneck() -> None:
    # one lot every 700 s: LITHO at 71 % leads six etch tools; one etch tool is far over 100 %
    cmp = compare_capacity(line(6, 700.0), line(1, 700.0))
    assert cmp.over_capacity == ["ETCH"]
    assert cmp.row("ETCH").scenario_over and not cmp.row("ETCH").base_over
    assert cmp.base_bottleneck == "LITHO" and cmp.scenario_bottleneck == "ETCH"
    assert cmp.bottleneck_moved
    with pytest.raises(KeyError):
        cmp.row("NOPE")


def test_new_and_vanished_groups() -> None:
    base = line(2)
    extra = base.model_copy(
        update={
            "equipment": [
                *base.equipment,
                base.equipment[0].model_copy(update={"id": "M-1", "group": "METRO"}),
            ]
        }
    )
    cmp = compare_capacity(base, extra)
    assert [r.group for r in cmp.rows] == ["LITHO", "ETCH", "METRO"]
    metro = cmp.row("METRO")
    assert metro.base is None and metro.base_utilisation == 0.0
    assert metro.scenario is not None and metro.scenario_utilisation == 0.0  # no route visits it


def test_the_demo_fab_compares_within_a_frame() -> None:
    base = load_plant(PLANTS / "demo_fab.yaml").spec
    rows = capacity_table(base)
    compare_capacity(base, base, base_rows=rows)
    t0 = time.perf_counter()
    for _ in range(10):
        compare_capacity(base, base, base_rows=rows)
    per_call = (time.perf_counter() - t0) / 10
    # the budget is 20 ms per edit; a loaded CI machine gets five times that
    assert per_call < 0.1, per_call


def test_capacity_neutral_changes_leave_the_table_alone() -> None:
    base = load_plant(PLANTS / "demo_fab.yaml").spec
    moved = load_scenario(PLANTS / "demo_fab_etch_next_to_litho.scenario.yaml")
    kinds = {c.change for c in moved.spec.changes}
    assert kinds == {"move_tool"}
    assert not any(changes_capacity(k) for k in kinds)
    assert capacity_table(moved.apply()) == capacity_table(base)
    other = base.model_copy(
        update={
            "transport": base.transport.model_copy(update={"speed_m_s": 0.1, "vehicles": 1}),
            "tool_groups": [
                g.model_copy(update={"dispatch": s.DispatchRule.SETUP_AVOID})
                for g in base.tool_groups
            ],
        }
    )
    assert capacity_table(other) == capacity_table(base)
    assert changes_capacity("add_tool") and changes_capacity("set_release")
