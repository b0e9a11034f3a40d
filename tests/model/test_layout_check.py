"""Live layout checks: penetration depth, clearance, bay and floor, agreement with the loader."""

from __future__ import annotations

import random
import re
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factory_twin.model import schema as s
from factory_twin.model.config import load_plant
from factory_twin.model.config_checks import check_references
from factory_twin.model.layout import (
    footprint_polygon,
    penetration_depth_m,
    polygon_gap_m,
    polygons_overlap,
)
from factory_twin.model.layout_check import LayoutChecker

PLANTS = Path(__file__).resolve().parents[2] / "plant_configs"
SQUARE = [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)]


def shifted(poly: list[tuple[float, float]], dx: float, dy: float) -> list[tuple[float, float]]:
    return [(x + dx, y + dy) for x, y in poly]


def test_penetration_depth_hand_cases() -> None:
    assert penetration_depth_m(SQUARE, shifted(SQUARE, 1.6, 0.5)) == pytest.approx(0.4)
    assert penetration_depth_m(SQUARE, shifted(SQUARE, 0.3, 1.9)) == pytest.approx(0.1)
    assert penetration_depth_m(SQUARE, shifted(SQUARE, 2.0, 0.0)) == 0.0  # touching
    assert penetration_depth_m(SQUARE, shifted(SQUARE, 3.0, 0.0)) == 0.0
    # a 1 m square in the middle of the 2 m one: pushed out 1.5 m along x or y
    inner = [(0.5, 0.5), (1.5, 0.5), (1.5, 1.5), (0.5, 1.5)]
    assert penetration_depth_m(SQUARE, inner) == pytest.approx(1.5)
    # a diamond (the square turned 45 degrees, half-diagonal sqrt 2) centred at x = 2.3:
    # its left corner reaches x = 2.3 - h, the shortest push is along x
    h = 2**0.5
    diamond = [(2.3 + h, 1.0), (2.3, 1.0 + h), (2.3 - h, 1.0), (2.3, 1.0 - h)]
    assert penetration_depth_m(SQUARE, diamond) == pytest.approx(2.0 - (2.3 - h))


def test_gap_hand_cases() -> None:
    assert polygon_gap_m(SQUARE, shifted(SQUARE, 2.3, 0.0)) == pytest.approx(0.3)
    assert polygon_gap_m(SQUARE, shifted(SQUARE, 5.0, 6.0)) == pytest.approx(5.0)
    assert polygon_gap_m(SQUARE, shifted(SQUARE, 1.0, 1.0)) == 0.0


def plant(
    tools: list[dict[str, Any]],
    *,
    clearance: float | None = None,
    types: list[dict[str, Any]] | None = None,
) -> s.PlantSpec:
    """A 40 x 20 m floor with bays A (left half) and B (right half); 2 x 2 m tools."""
    t: dict[str, Any] = {
        "id": "t",
        "kind": "other",
        "shape": {"parts": [{"name": "p", "box": [2, 2, 1]}]},
    }
    if clearance is not None:
        t["service_clearance_m"] = clearance
    doc = {
        "schema_version": 1,
        "site": {
            "name": "checks",
            "floor_m": [40, 20],
            "bays": [
                {"id": "A", "origin_m": [0, 0], "size_m": [20, 20]},
                {"id": "B", "origin_m": [20, 0], "size_m": [20, 20]},
            ],
        },
        "equipment_types": types or [t],
        "equipment": [
            {"type": "t", "group": "G", "bay": "A", "rotation_deg": 0.0, **tool} for tool in tools
        ],
    }
    return s.PlantSpec.model_validate(doc)


def test_overlap_message_gives_the_penetration_depth() -> None:
    spec = plant(
        [{"id": "SCAN-03", "position_m": [5, 5]}, {"id": "SCAN-04", "position_m": [6.6, 5.5]}]
    )
    checker = LayoutChecker(spec)
    [p] = checker.problems()
    assert (p.tool_id, p.kind, p.other, p.blocking) == ("SCAN-04", "overlap", "SCAN-03", True)
    assert p.message == "SCAN-04 overlaps SCAN-03 by 0.4 m"
    assert checker.problems_of("SCAN-03") == [p] == checker.problems_of("SCAN-04")


def test_clearance_is_a_warning_with_the_larger_clearance() -> None:
    tools = [{"id": "ETCH-01", "position_m": [5, 5]}, {"id": "ETCH-02", "position_m": [7.3, 5]}]
    [p] = LayoutChecker(plant(tools)).problems()
    assert (p.kind, p.blocking, p.tool_id, p.other) == ("clearance", False, "ETCH-02", "ETCH-01")
    assert p.message == "ETCH-02 is 0.3 m from ETCH-01; service clearance is 0.6 m"
    assert LayoutChecker(plant(tools, clearance=0.25)).problems() == []
    box = {"parts": [{"name": "p", "box": [2, 2, 1]}]}
    types = [
        {"id": "t", "kind": "other", "shape": box, "service_clearance_m": 0.0},
        {"id": "wide", "kind": "other", "shape": box, "service_clearance_m": 1.0},
    ]
    mixed = [
        {"id": "A-1", "position_m": [5, 5]},
        {"id": "W-1", "type": "wide", "position_m": [7.5, 5]},
    ]
    [p] = LayoutChecker(plant(mixed, types=types)).problems()
    assert p.message == "W-1 is 0.5 m from A-1; service clearance is 1 m"


def test_bay_and_floor() -> None:
    spec = plant(
        [
            {"id": "IN", "position_m": [10, 10]},
            {"id": "EDGE", "position_m": [19.5, 10]},  # footprint reaches 0.5 m into bay B
            {"id": "WRONG", "position_m": [25, 10]},  # origin in bay B
            {"id": "OFF", "position_m": [10, 19.8]},  # footprint 0.8 m beyond the floor
            {"id": "GONE", "position_m": [45, 10]},
        ]
    )
    got = {(p.tool_id, p.kind, p.blocking): p.message for p in LayoutChecker(spec).problems()}
    assert got == {
        ("EDGE", "outside_bay", False): "EDGE reaches 0.5 m outside its bay A",
        ("WRONG", "outside_bay", True): "WRONG at (25, 10) is outside its bay A",
        ("OFF", "outside_floor", False): "OFF reaches 0.8 m beyond the edge of the floor",
        ("OFF", "outside_bay", False): "OFF reaches 0.8 m outside its bay A",
        ("GONE", "outside_floor", True): "GONE at (45, 10) is outside the 40 x 20 m floor",
    }


_OVERLAP = re.compile(r"tool '([^']+)' overlaps tool '([^']+)'")
_OUTSIDE = re.compile(r"tool '([^']+)' at .* is outside")


def loader_verdict(spec: s.PlantSpec) -> tuple[set[tuple[str, str]], set[str]]:
    """(overlapping pairs, tools outside floor or bay) as the plant loader reports them."""
    pairs, outside = set(), set()
    for _, msg in check_references(spec):
        if m := _OVERLAP.search(msg):
            pairs.add((m.group(1), m.group(2)))
        elif m := _OUTSIDE.search(msg):
            outside.add(m.group(1))
    return pairs, outside


def checker_verdict(checker: LayoutChecker) -> tuple[set[tuple[str, str]], set[str]]:
    pairs, outside = set(), set()
    for p in checker.blocking():
        if p.kind == "overlap":
            assert p.other is not None
            pairs.add((p.tool_id, p.other))
        else:
            outside.add(p.tool_id)
    return pairs, outside


@pytest.mark.parametrize("name", ["demo_fab.yaml", "led_line.yaml", "smt2020_hvlm.yaml"])
def test_shipped_plants_have_no_blocking_problems(name: str) -> None:
    path = PLANTS / name
    checker = LayoutChecker(load_plant(path).spec, base_dir=path.parent)
    assert checker.blocking() == []
    if name == "demo_fab.yaml":  # each scanner stands 0.1 m from its track (docked)
        got = {(p.kind, p.tool_id[:4], (p.other or "")[:3]) for p in checker.problems()}
        assert got == {("clearance", "SCAN", "TRK")}
    else:
        assert checker.problems() == []


def test_agrees_with_the_loader_on_an_edited_demo_fab() -> None:
    spec = load_plant(PLANTS / "demo_fab.yaml").spec
    a, b = spec.equipment[0], spec.equipment[1]
    edited = [
        e.model_copy(update={"position_m": b.position_m}) if e.id == a.id else e
        for e in spec.equipment
    ]
    edited[2] = edited[2].model_copy(update={"position_m": (-1.0, 3.0)})
    spec = spec.model_copy(update={"equipment": edited})
    checker = LayoutChecker(spec)
    assert checker_verdict(checker) == loader_verdict(spec)
    assert checker_verdict(checker)[0]  # the moved tool overlaps


_tool = st.fixed_dictionaries(
    {
        # the whole floor and beyond, or a crowded corner where tools come close
        "position_m": st.one_of(
            st.tuples(st.floats(-2, 42), st.floats(-2, 22)),
            st.tuples(st.floats(3, 13), st.floats(3, 9)),
        ).map(lambda p: (round(p[0], 1), round(p[1], 1))),
        "rotation_deg": st.sampled_from([0.0, 90.0, 30.0, 45.0, 180.0]),
        "type": st.sampled_from(["t", "long", "round"]),
        "bay": st.sampled_from(["A", "B"]),
    }
)
_TYPES = [
    {"id": "t", "kind": "other", "shape": {"parts": [{"name": "p", "box": [2, 2, 1]}]}},
    {
        "id": "long",
        "kind": "other",
        "service_clearance_m": 1.0,
        "shape": {"parts": [{"name": "p", "box": [4, 1.5, 1], "at": [1, 0, 0]}]},
    },
    {
        "id": "round",
        "kind": "other",
        "service_clearance_m": 0.0,
        "shape": {"parts": [{"name": "p", "cylinder": [0.8, 2]}]},
    },
]


def brute_force_pairs(spec: s.PlantSpec) -> set[tuple[str, str, str]]:
    """Every (later tool, earlier tool, kind) pair problem, each pair tested directly."""
    types = {t.id: t for t in spec.equipment_types}
    polys = [
        footprint_polygon(types[e.type].shape.footprint_m(), e.position_m, e.rotation_deg)
        for e in spec.equipment
    ]
    out = set()
    for j, b in enumerate(spec.equipment):
        for i, a in enumerate(spec.equipment[:j]):
            limit = max(types[a.type].service_clearance_m, types[b.type].service_clearance_m)
            if polygons_overlap(polys[i], polys[j]):
                out.add((b.id, a.id, "overlap"))
            elif polygon_gap_m(polys[i], polys[j]) < limit - 1e-6:
                out.add((b.id, a.id, "clearance"))
    return out


def generated(tools: list[dict[str, Any]]) -> s.PlantSpec:
    return plant([{"id": f"T{i}", **t} for i, t in enumerate(tools)], types=_TYPES)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_tool, min_size=1, max_size=14))
def test_agrees_with_the_loader_on_generated_plants(tools: list[dict[str, Any]]) -> None:
    spec = generated(tools)
    checker = LayoutChecker(spec)
    assert checker_verdict(checker) == loader_verdict(spec)
    assert (not checker.blocking()) == (
        not loader_verdict(spec)[0] and not loader_verdict(spec)[1]
    )


_edit = st.one_of(
    st.tuples(st.just("move"), st.integers(0, 30), _tool),
    st.tuples(st.just("add"), st.integers(0, 30), _tool),
    st.tuples(st.just("remove"), st.integers(0, 30), _tool),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_tool, min_size=1, max_size=12), st.lists(_edit, min_size=1, max_size=15))
def test_incremental_checks_equal_a_fresh_check(
    tools: list[dict[str, Any]], edits: list[tuple[str, int, dict[str, Any]]]
) -> None:
    spec = generated(tools)
    checker = LayoutChecker(spec)
    equipment = list(spec.equipment)
    n = len(equipment)
    for kind, k, tool in edits:
        if kind == "add" or not equipment:
            eq = s.Equipment.model_validate({"id": f"N{n}", "group": "G", **tool})
            n += 1
            equipment.append(eq)
            checker.add(eq)
        elif kind == "move":
            i = k % len(equipment)
            eq = equipment[i].model_copy(
                update={"position_m": tool["position_m"], "rotation_deg": tool["rotation_deg"]}
            )
            equipment[i] = eq
            checker.move(eq.id, eq.position_m, eq.rotation_deg)
        else:
            gone = equipment.pop(k % len(equipment))
            checker.remove(gone.id)
        fresh = LayoutChecker(spec.model_copy(update={"equipment": list(equipment)}))
        assert checker.problems() == fresh.problems()
        for e in equipment:
            assert checker.problems_of(e.id) == fresh.problems_of(e.id)


def test_move_keeps_rotation_and_unknown_tools_raise() -> None:
    spec = plant([{"id": "A", "position_m": [5, 5], "rotation_deg": 30.0}])
    checker = LayoutChecker(spec)
    checker.move("A", (6.0, 5.0))
    assert checker.problems() == []
    with pytest.raises(KeyError):
        checker.move("NOPE", (1.0, 1.0))
    with pytest.raises(KeyError):
        checker.remove("NOPE")
    assert checker.problems_of("NOPE") == []


@pytest.mark.parametrize("seed", range(5))
def test_crowded_layouts_equal_a_pairwise_check(seed: int) -> None:
    # many near misses across grid cells: the spatial index must not lose a neighbour
    rng = random.Random(seed)
    tools = [
        {
            "position_m": (round(rng.uniform(3, 25), 1), round(rng.uniform(3, 15), 1)),
            "rotation_deg": rng.choice([0.0, 90.0, 30.0]),
            "type": rng.choice(["t", "long", "round"]),
            "bay": "A",
        }
        for _ in range(40)
    ]
    spec = generated(tools)
    checker = LayoutChecker(spec)
    pairs = {(p.tool_id, p.other, p.kind) for p in checker.problems() if p.other is not None}
    assert pairs == brute_force_pairs(spec)
    assert {k for *_, k in pairs} == {"overlap", "clearance"}
