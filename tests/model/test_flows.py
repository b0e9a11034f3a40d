"""Flows between tool groups: hand-computed moves, distances and transport times."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factory_twin.model import schema as s
from factory_twin.model.capacity import expected_visits
from factory_twin.model.config import load_plant
from factory_twin.model.flows import FlowModel, flow_table, route_moves, route_visits
from factory_twin.model.transport import nearest_destination

PLANTS = Path(__file__).resolve().parents[2] / "plant_configs"
DAY = 86400.0


def three_tools(
    steps: list[dict[str, Any]] | None = None,
    positions: dict[str, tuple[float, float]] | None = None,
    transport: dict[str, Any] | None = None,
) -> s.PlantSpec:
    """Two litho tools and one etch tool; one lot an hour runs LITHO -> ETCH -> LITHO."""
    pos = {"L-1": (5.0, 5.0), "L-2": (5.0, 15.0), "E-1": (25.0, 5.0), **(positions or {})}
    groups = {k: "LITHO" if k.startswith("L") else "ETCH" for k in pos}
    doc = {
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
            {"id": k, "type": "t", "group": groups[k], "bay": "b", "position_m": list(v)}
            for k, v in pos.items()
        ],
        "routes": [
            {
                "id": "r",
                "steps": steps
                or [
                    {"tool_group": "LITHO", "process_time": 600},
                    {"tool_group": "ETCH", "process_time": 600},
                    {"tool_group": "LITHO", "process_time": 600},
                ],
            }
        ],
        "products": [{"id": "p", "route": "r", "release": {"mode": "rate", "interarrival": 3600}}],
        "transport": transport or {"kind": "agv", "speed_m_s": 1.0, "handling_s": 20.0},
    }
    return s.PlantSpec.model_validate(doc)


def moved(spec: s.PlantSpec, tool: str, pos: tuple[float, float]) -> s.PlantSpec:
    """A copy of ``spec`` with ``tool`` standing at ``pos``."""
    return spec.model_copy(
        update={
            "equipment": [
                e.model_copy(update={"position_m": pos}) if e.id == tool else e
                for e in spec.equipment
            ]
        }
    )


def test_hand_computed_matrix_distances_and_times() -> None:
    table = flow_table(three_tools())
    m = table.matrix()
    assert list(m.index) == ["LITHO", "ETCH"] and list(m.columns) == ["LITHO", "ETCH"]
    assert m.loc["LITHO", "ETCH"] == pytest.approx(24.0)
    assert m.loc["ETCH", "LITHO"] == pytest.approx(24.0)
    assert m.loc["LITHO", "LITHO"] == 0.0 and m.loc["ETCH", "ETCH"] == 0.0
    out = table.flow("LITHO", "ETCH")
    back = table.flow("ETCH", "LITHO")
    assert out is not None and back is not None
    # from L-1 20 m, from L-2 20 + 10 m: the mean over the litho tools
    assert out.distance_m == pytest.approx(25.0)
    assert out.move_time_s == pytest.approx(20.0 + 25.0)
    # etch sends to the nearest litho tool, L-1
    assert back.distance_m == pytest.approx(20.0)
    assert back.move_time_s == pytest.approx(40.0)
    assert table.total_moves_per_day == pytest.approx(48.0)
    assert table.total_distance_m_per_day == pytest.approx(24 * 25 + 24 * 20)
    assert table.total_transport_s_per_day == pytest.approx(24 * 45 + 24 * 40)
    assert table.group_centres == {"LITHO": (5.0, 10.0), "ETCH": (25.0, 5.0)}


def test_moving_a_tool_further_raises_its_flows_by_the_hand_computed_amount() -> None:
    before = flow_table(three_tools())
    after = flow_table(three_tools(positions={"E-1": (35.0, 5.0)}))
    for src, dst in (("LITHO", "ETCH"), ("ETCH", "LITHO")):
        b, a = before.flow(src, dst), after.flow(src, dst)
        assert a is not None and b is not None
        assert a.distance_m - b.distance_m == pytest.approx(10.0)
        assert a.move_time_s - b.move_time_s == pytest.approx(10.0)  # 1 m/s
        assert a.moves_per_day == b.moves_per_day
    assert after.total_distance_m_per_day - before.total_distance_m_per_day == pytest.approx(480)


def test_the_nearest_destination_switches_when_the_nearest_tool_moves_away() -> None:
    fm = FlowModel(three_tools())
    fm.move_tool("L-1", (5.0, 29.0))  # now L-2 (30 m) is nearer to E-1 than L-1 (44 m)
    back = fm.table().flow("ETCH", "LITHO")
    assert back is not None and back.distance_m == pytest.approx(30.0)
    out = fm.table().flow("LITHO", "ETCH")
    assert out is not None and out.distance_m == pytest.approx((44.0 + 30.0) / 2)


def test_sampling_and_rework_follow_the_simulator() -> None:
    steps = [
        {"tool_group": "LITHO", "process_time": 600},
        {"tool_group": "ETCH", "process_time": 600, "sample_pct": 50},
        {"tool_group": "LITHO", "process_time": 600, "rework": {"probability": 0.2, "to_step": 2}},
    ]
    spec = three_tools(steps)
    # v2 = 0.5 + 0.2 v3, v3 = 0.5 + v2: v3 = 1.25, v2 = 0.75
    assert route_visits(spec.routes[0]) == pytest.approx([1.0, 0.75, 1.25])
    assert route_moves(spec.routes[0]) == pytest.approx(
        {(0, 1): 0.5, (0, 2): 0.5, (1, 2): 0.75, (2, 1): 0.25}
    )
    table = flow_table(spec)
    ll = table.flow("LITHO", "LITHO")
    assert ll is not None
    assert ll.moves_per_day == pytest.approx(12.0)
    # a lot staying on its group goes to the nearest tool of it: the same tool, handling only
    assert ll.distance_m == 0.0 and ll.move_time_s == 20.0
    le = table.flow("LITHO", "ETCH")
    assert le is not None and le.moves_per_day == pytest.approx(24 * (0.5 + 0.25))


def test_transport_kinds() -> None:
    none = flow_table(three_tools(transport={"kind": "none"}))
    assert all(f.move_time_s == 0.0 for f in none.flows)
    assert none.total_distance_m_per_day > 0  # lots still cover the distance, instantly
    fixed = flow_table(
        three_tools(transport={"fixed_time": {"dist": "uniform", "low": 300, "high": 600}})
    )
    assert {f.move_time_s for f in fixed.flows} == {450.0}


def test_release_rate_overrides() -> None:
    table = flow_table(three_tools(), {"p": 2 / 3600})
    assert table.total_moves_per_day == pytest.approx(96.0)


def test_nearest_destination_takes_the_first_on_a_tie() -> None:
    assert nearest_destination((0.0, 0.0), [(3.0, 0.0), (0.0, 3.0), (1.0, 0.0)]) == (2, 1.0)
    assert nearest_destination((0.0, 0.0), [(3.0, 0.0), (0.0, 3.0)]) == (0, 3.0)
    with pytest.raises(ValueError, match="no tool"):
        nearest_destination((0.0, 0.0), [])


@pytest.mark.parametrize("name", ["demo_fab.yaml", "led_line.yaml"])
def test_route_visits_equal_the_capacity_visits_on_the_shipped_plants(name: str) -> None:
    spec = load_plant(PLANTS / name).spec
    for r in spec.routes:
        assert route_visits(r) == pytest.approx(expected_visits(r), abs=1e-9)
    table = flow_table(spec)
    assert table.flows == sorted(table.flows, key=lambda f: -f.moves_per_day)
    m = table.matrix()
    assert m.to_numpy().sum() == pytest.approx(table.total_moves_per_day)


def test_a_distance_function_plugs_in() -> None:
    def euclid(a: tuple[float, float], b: tuple[float, float]) -> float:
        return float(((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2) ** 0.5)

    out = flow_table(three_tools(), distance_fn=euclid).flow("LITHO", "ETCH")
    assert out is not None
    assert out.distance_m == pytest.approx((20.0 + (20.0**2 + 10.0**2) ** 0.5) / 2)


_DEMO = load_plant(PLANTS / "demo_fab.yaml").spec
_DEMO_TOOLS = [e.id for e in _DEMO.equipment]
_move = st.tuples(
    st.sampled_from(_DEMO_TOOLS),
    st.floats(0, 80, allow_nan=False).map(lambda v: round(v, 1)),
    st.floats(0, 40, allow_nan=False).map(lambda v: round(v, 1)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_move, min_size=1, max_size=25))
def test_incremental_moves_equal_a_rebuild(moves: list[tuple[str, float, float]]) -> None:
    fm = FlowModel(_DEMO)
    spec = _DEMO
    for tool, x, y in moves:
        fm.move_tool(tool, (x, y))
        spec = moved(spec, tool, (x, y))
    assert fm.table() == flow_table(spec)


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["L-1", "L-2", "E-1"]),
            st.integers(0, 60).map(float),
            st.integers(0, 30).map(float),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_incremental_moves_equal_a_rebuild_with_ties(
    moves: list[tuple[str, float, float]],
) -> None:
    spec = three_tools(
        [
            {"tool_group": "LITHO", "process_time": 600},
            {"tool_group": "LITHO", "process_time": 600},
            {"tool_group": "ETCH", "process_time": 600},
            {"tool_group": "LITHO", "process_time": 600},
        ]
    )
    fm = FlowModel(spec)
    for tool, x, y in moves:
        fm.move_tool(tool, (x, y))
        spec = moved(spec, tool, (x, y))
        assert fm.table() == flow_table(spec)


_edit = st.tuples(
    st.sampled_from(["move", "add", "remove"]),
    st.integers(0, 10_000),
    st.floats(0, 80, allow_nan=False).map(lambda v: round(v, 1)),
    st.floats(0, 40, allow_nan=False).map(lambda v: round(v, 1)),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_edit, min_size=1, max_size=30))
def test_adding_and_removing_tools_equals_a_rebuild(
    edits: list[tuple[str, int, float, float]],
) -> None:
    fm = FlowModel(_DEMO)
    equipment = list(_DEMO.equipment)
    for n, (kind, k, x, y) in enumerate(edits):
        if kind == "add" or not equipment:
            like = _DEMO.equipment[k % len(_DEMO.equipment)]
            eq = like.model_copy(update={"id": f"NEW-{n}", "position_m": (x, y)})
            equipment.append(eq)
            fm.add_tool(eq)
        elif kind == "move":
            i = k % len(equipment)
            equipment[i] = equipment[i].model_copy(update={"position_m": (x, y)})
            fm.move_tool(equipment[i].id, (x, y))
        else:
            fm.remove_tool(equipment.pop(k % len(equipment)).id)
        rebuilt = flow_table(_DEMO.model_copy(update={"equipment": list(equipment)}))
        got = fm.table()
        assert got == rebuilt
        assert list(got.group_centres) == list(rebuilt.group_centres)


def test_a_group_losing_its_last_tool_loses_its_flows_until_the_next_comes() -> None:
    spec = three_tools()
    fm = FlowModel(spec)
    fm.remove_tool("E-1")
    assert fm.table().flows == [] and list(fm.table().group_centres) == ["LITHO"]
    fm.add_tool(spec.tool("E-1").model_copy(update={"id": "E-9", "position_m": (35.0, 5.0)}))
    out = fm.table().flow("LITHO", "ETCH")
    assert out is not None and out.distance_m == pytest.approx((30.0 + 40.0) / 2)
    with pytest.raises(ValueError, match="already on the floor"):
        fm.add_tool(spec.tool("L-1"))
    with pytest.raises(KeyError):
        fm.remove_tool("E-1")


def test_removing_a_tool_keeps_the_nearest_tools_straight() -> None:
    spec = three_tools(positions={"L-3": (24.0, 8.0)})  # L-3 is nearest to E-1
    fm = FlowModel(spec)
    fm.remove_tool("L-1")  # L-3 is now the second litho tool, not the third
    fm.move_tool("L-3", (59.0, 29.0))  # and leaves: L-2 (30 m) is nearest again
    back = fm.table().flow("ETCH", "LITHO")
    assert back is not None and back.distance_m == pytest.approx(30.0)


@settings(max_examples=60, deadline=None)
@given(st.lists(_edit, min_size=1, max_size=20))
def test_edits_on_a_small_plant_equal_a_rebuild(
    edits: list[tuple[str, int, float, float]],
) -> None:
    spec = three_tools(
        [
            {"tool_group": "LITHO", "process_time": 600},
            {"tool_group": "ETCH", "process_time": 600},
            {"tool_group": "ETCH", "process_time": 600},
            {"tool_group": "LITHO", "process_time": 600},
        ],
        positions={"L-3": (24.0, 8.0), "E-2": (40.0, 20.0)},
    )
    fm = FlowModel(spec)
    equipment = list(spec.equipment)
    for n, (kind, k, x, y) in enumerate(edits):
        x, y = round(x / 2), round(y / 2)  # whole metres on a small floor: many ties
        if kind == "add" or not equipment:
            like = spec.equipment[k % len(spec.equipment)]
            eq = like.model_copy(update={"id": f"NEW-{n}", "position_m": (x, y)})
            equipment.append(eq)
            fm.add_tool(eq)
        elif kind == "move":
            i = k % len(equipment)
            equipment[i] = equipment[i].model_copy(update={"position_m": (x, y)})
            fm.move_tool(equipment[i].id, (x, y))
        else:
            fm.remove_tool(equipment.pop(k % len(equipment)).id)
        assert fm.table() == flow_table(spec.model_copy(update={"equipment": list(equipment)}))
