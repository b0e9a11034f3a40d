"""The from-to matrix of the Plan workspace: pivot, order, figures, shades, words, copy."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from factory_twin.app.flow_matrix import (
    FlowFigure,
    compact,
    flow_matrix,
    route_order,
    short_name,
)
from factory_twin.model.config import load_plant
from factory_twin.model.flows import Flow, FlowTable, flow_table

PLANTS = Path(__file__).resolve().parents[2] / "plant_configs"


def table(*flows: tuple[str, str, float, float], groups: str = "ABCD") -> FlowTable:
    fs = [Flow(a, b, moves, m, 60.0) for a, b, moves, m in flows]
    return FlowTable(
        flows=fs,
        total_moves_per_day=sum(f.moves_per_day for f in fs),
        total_distance_m_per_day=sum(f.distance_m_per_day for f in fs),
        group_centres={g: (0.0, 0.0) for g in groups},
    )


BASE = table(("A", "B", 10.0, 5.0), ("B", "C", 4.0, 20.0), ("C", "A", 1.0, 2.0))
NOW = table(("A", "B", 10.0, 8.0), ("B", "C", 4.0, 10.0), ("C", "A", 1.0, 2.0))


def test_pivot_keeps_only_groups_with_flow_in_the_given_order() -> None:
    m = flow_matrix(BASE, NOW, order=["C", "B"])
    assert m.groups == ["C", "B", "A"]  # D has no flow; A follows in the table's order
    i, j = m.index("A"), m.index("B")
    assert m.now_moves[i, j] == 10.0
    assert m.now_m[i, j] == 8.0 and m.base_m[i, j] == 5.0
    assert m.now_moves[j, i] == 0.0 and math.isnan(m.now_m[j, i])


def test_figures_and_change_vs_base() -> None:
    m = flow_matrix(BASE, NOW)
    a, b, c = (m.index(g) for g in "ABC")
    assert m.values(FlowFigure.MOVES)[a, b] == 10.0
    assert m.values(FlowFigure.DISTANCE)[a, b] == pytest.approx(80.0)
    change = m.values(FlowFigure.CHANGE)
    assert change[a, b] == pytest.approx(30.0)  # longer in the scenario
    assert change[b, c] == pytest.approx(-40.0)  # shorter
    assert change[c, a] == 0.0
    assert m.values(FlowFigure.DISTANCE).sum() == pytest.approx(NOW.total_distance_m_per_day)


def test_a_flow_only_in_one_of_them_counts_as_all_change() -> None:
    now = table(("A", "B", 10.0, 5.0), ("A", "D", 2.0, 3.0))
    m = flow_matrix(table(("A", "B", 10.0, 5.0)), now)
    assert m.groups == ["A", "B", "D"]
    assert m.values(FlowFigure.CHANGE)[m.index("A"), m.index("D")] == pytest.approx(6.0)
    assert "base: no flow" in m.tip(m.index("A"), m.index("D"))


def test_shades_square_root_scale_and_sign() -> None:
    m = flow_matrix(BASE, NOW)
    a, b, c = (m.index(g) for g in "ABC")
    heat = m.shades(FlowFigure.MOVES)
    assert heat[a, b] == 1.0
    assert heat[b, c] == pytest.approx(math.sqrt(0.4))
    assert heat[b, a] == 0.0
    diverging = m.shades(FlowFigure.CHANGE)
    assert diverging[b, c] == -1.0 and 0 < diverging[a, b] < 1
    same = flow_matrix(BASE, BASE)
    assert not same.shades(FlowFigure.CHANGE).any()


def test_busiest_first_moves_rows_and_columns_together() -> None:
    m = flow_matrix(BASE, NOW).busiest_first(FlowFigure.MOVES)
    assert m.groups == ["B", "A", "C"]  # B: 10 in + 4 out
    assert m.now_moves[m.index("A"), m.index("B")] == 10.0
    assert m.now_m[m.index("B"), m.index("C")] == 10.0


def test_tip_names_the_pair_and_both_figures() -> None:
    m = flow_matrix(BASE, NOW)
    tip = m.tip(m.index("A"), m.index("B"))
    assert tip.splitlines()[0] == "A → B"
    assert "base: 10.0 moves/day x 5.0 m = 50 m/day" in tip
    assert "scenario: 10.0 moves/day x 8.0 m = 80 m/day" in tip
    assert "change: +30 m/day" in tip


def test_tsv_has_the_names_and_the_figures() -> None:
    m = flow_matrix(BASE, NOW)
    text = m.tsv([m.index("A")], [m.index("B"), m.index("C")], FlowFigure.DISTANCE)
    assert text == "from \\ to\tB\tC\nA\t80\t0\n"


def test_short_name_and_compact() -> None:
    assert short_name("SCAN", 8) == "SCAN"
    assert short_name("LithoTrack_FE_115", 9) == "Lith…_115"
    assert len(short_name("LithoTrack_FE_115", 9)) == 9
    assert [compact(v) for v in (0, 3.21, 128.4, 1_234, 12_345, 123_456, 1.4e6)] == [
        "",
        "3.2",
        "128",
        "1.2k",
        "12k",
        "123k",
        "1.4M",
    ]
    assert compact(-250, signed=True) == "-250" and compact(30, signed=True) == "+30"


def test_demo_fab_in_route_order() -> None:
    spec = load_plant(PLANTS / "demo_fab.yaml").spec
    order = route_order(spec)
    assert order[0] == spec.routes[0].steps[0].tool_group
    assert set(order) == set(spec.groups())
    t = flow_table(spec)
    m = flow_matrix(t, t, order)
    assert m.groups == [g for g in order if g in m.groups]
    assert np.count_nonzero(m.now_moves) == len([f for f in t.flows if f.moves_per_day > 0])
    assert m.values(FlowFigure.MOVES).sum() == pytest.approx(t.total_moves_per_day)
