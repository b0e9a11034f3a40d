"""Turning a selection about its centre (the Plan view's Ctrl-drag) and the pair a from-to
grid cell lights: pure functions, no Qt."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from factory_twin.app.flow_matrix import flow_pair
from factory_twin.app.plan_session import PlanSession
from factory_twin.app.plan_turn import onto_grid, snap_angle, turn_about, turn_by_pointer

PLANTS = Path(__file__).resolve().parents[2] / "plant_configs"


def test_snap_angle_to_15_degree_steps() -> None:
    assert snap_angle(7.4) == 0.0
    assert snap_angle(7.6) == 15.0
    assert snap_angle(-20.0) == 345.0
    assert snap_angle(359.0) == 0.0
    assert snap_angle(33.3, 0) == pytest.approx(33.3)


def test_turn_about_moves_origins_round_the_centre() -> None:
    got = turn_about({"A": ((3.0, 1.0), 350.0), "B": ((1.0, 1.0), 0.0)}, (1.0, 1.0), 30.0)
    c, s = math.cos(math.radians(30)), math.sin(math.radians(30))
    assert got["A"][0] == pytest.approx((1.0 + 2 * c, 1.0 + 2 * s))
    assert got["A"][1] == pytest.approx(20.0)
    assert got["B"] == ((1.0, 1.0), 30.0)


def test_turn_by_pointer_snaps_the_lead_tool_and_turns_the_rest_alike() -> None:
    start = {"A": ((0.0, 0.0), 10.0), "B": ((2.0, 0.0), 90.0)}
    # the pointer goes from east to north-east-ish (50 degrees): A's 10 + 50 = 60 -> 60
    got, delta = turn_by_pointer(
        start, (1.0, 0.0), (5.0, 0.0), (1.0 + math.cos(0.87), math.sin(0.87)), "A"
    )
    assert got["A"][1] == 60.0 and delta == pytest.approx(50.0)
    assert got["B"][1] == pytest.approx(140.0)
    free, d2 = turn_by_pointer(start, (1.0, 0.0), (5.0, 0.0), (1.0, -4.0), "A", free=True)
    assert d2 == pytest.approx(-90.0) and free["A"][1] == pytest.approx(280.0)


def test_flow_pair_names_the_tools_and_centres_of_a_cell() -> None:
    ses = PlanSession(PLANTS / "demo_fab.yaml")
    table = ses.flow_table()
    f = max((f for f in table.flows if f.src != f.dst), key=lambda f: f.moves_per_day)
    p = flow_pair(ses.plant, table, f.src, f.dst)
    groups = ses.plant.groups()
    assert p.from_tools == [e.id for e in groups[f.src]]
    assert p.to_tools == [e.id for e in groups[f.dst]]
    assert p.arrow == (table.group_centres[f.src], table.group_centres[f.dst])
    assert p.moves_per_day == f.moves_per_day and "moves/day" in p.text()
    same = flow_pair(ses.plant, table, f.src, f.src)
    assert same.to_tools == [] and same.arrow is None and "within" in same.text()
    box = ses.footprint_box(p.from_tools)
    assert box[0] < box[2] and box[1] < box[3]


def test_onto_grid_shifts_the_turned_selection_as_one_piece() -> None:
    turned = {"A": ((3.26, 7.74), 105.0), "B": ((5.0, 7.0), 15.0)}
    got = onto_grid(turned, "A", 0.5)
    assert got["A"] == ((3.5, 7.5), 105.0)  # the pressed tool's origin on the grid
    assert got["B"] == ((5.24, 6.76), 15.0)  # the others keep their offsets from it
    assert onto_grid(turned, "B", 0.5) == turned  # already on the grid: as it was
    assert onto_grid(turned, "A", 0.0) == turned  # no grid
