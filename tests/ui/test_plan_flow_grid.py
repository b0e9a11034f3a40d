"""The Plan workspace's from-to grid: cells against the flows, change colours, tooltips,
order, copy; the demo fab with three etchers moved, and SMT2020 (a hundred groups)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QModelIndex, Qt
from PySide6.QtGui import QGuiApplication

from factory_twin.app.flow_matrix import FlowFigure, route_order
from factory_twin.app.plan_session import PlanSession
from factory_twin.model.flows import FlowTable
from factory_twin.ui.qt_flow_grid import LESS, MORE, text_colour
from factory_twin.ui.qt_plan_panels import QtFlowPanel

pytestmark = pytest.mark.gui

PLANTS = Path(__file__).resolve().parents[2] / "plant_configs"
MOVED = "ETCH_SI"


def _panel(qtbot, ses: PlanSession, move: str | None = None) -> tuple[QtFlowPanel, FlowTable]:
    if move is not None:
        for e in [e for e in ses.plant.equipment if e.group == move][:3]:
            (x, y), _rot = ses.placement(e.id)
            ses.preview_move(e.id, (x + 40.0, y + 15.0))
    now = ses.flow_table()
    p = QtFlowPanel()
    qtbot.addWidget(p)
    p.order = route_order(ses.plant)
    p.show_flows(ses.base_flows, now)
    p.resize(440, 700)
    p.show()
    qtbot.waitExposed(p)
    return p, now


def _at(p: QtFlowPanel, src: str, dst: str) -> QModelIndex:
    m = p.grid.grid_model
    return m.index(m.matrix.index(src), m.matrix.index(dst))


def _text(p: QtFlowPanel, src: str, dst: str) -> str:
    return str(p.grid.grid_model.data(_at(p, src, dst)))


@pytest.fixture
def demo(qtbot) -> tuple[QtFlowPanel, FlowTable, PlanSession]:
    ses = PlanSession(PLANTS / "demo_fab.yaml")
    p, now = _panel(qtbot, ses, MOVED)
    return p, now, ses


def test_cells_are_the_flows_in_route_order(demo) -> None:
    p, now, ses = demo
    model = p.grid.grid_model
    groups = model.matrix.groups
    assert model.rowCount() == model.columnCount() == len(groups)
    order = route_order(ses.plant)
    assert groups == [g for g in order if g in groups]
    busy = now.flows[0]
    assert _text(p, busy.src, busy.dst) == f"{busy.moves_per_day:.0f}"
    assert model.headerData(0, Qt.Orientation.Vertical) == groups[0]
    assert p.headline.text().startswith("<b>Transport: ")
    # distance-weighted: moves x metres
    p.figure.setCurrentIndex(list(FlowFigure).index(FlowFigure.DISTANCE))
    f = next(f for f in now.flows if 10 <= f.distance_m_per_day < 999)
    assert _text(p, f.src, f.dst) == f"{f.distance_m_per_day:.0f}"
    # an empty pair is an empty cell without colour
    i = model.matrix.index(busy.dst)
    empty = next(j for j in range(len(groups)) if model.matrix.now_moves[i, j] == 0)
    assert model.data(model.index(i, empty)) == ""
    assert model.data(model.index(i, empty), Qt.ItemDataRole.BackgroundRole) is None


def test_change_mode_colours_by_sign_with_both_figures_in_the_tip(demo) -> None:
    p, now, ses = demo
    p.figure.setCurrentIndex(list(FlowFigure).index(FlowFigure.CHANGE))
    model = p.grid.grid_model
    signs = set()
    for f in now.flows:
        b = ses.base_flows.flow(f.src, f.dst)
        assert b is not None
        d = f.distance_m_per_day - b.distance_m_per_day
        ix = _at(p, f.src, f.dst)
        bg = model.data(ix, Qt.ItemDataRole.BackgroundRole)
        if abs(d) < 0.5:
            assert model.data(ix) == "" and bg is None
            continue
        signs.add(d > 0)
        assert model.data(ix).startswith("+" if d > 0 else "-")
        hue = MORE if d > 0 else LESS
        # the stronger channel of the pure colour stays the stronger one
        k = max(range(3), key=lambda c: hue[c])
        assert bg.getRgb()[k] == max(bg.getRgb()[:3])
        fg = model.data(ix, Qt.ItemDataRole.ForegroundRole)
        assert fg == text_colour(bg)
        tip = model.data(ix, Qt.ItemDataRole.ToolTipRole)
        assert tip.startswith(f"{f.src} → {f.dst}")
        assert f"base: {b.moves_per_day:.1f} moves/day x {b.distance_m:.1f} m" in tip
        assert f"scenario: {f.moves_per_day:.1f} moves/day x {f.distance_m:.1f} m" in tip
    assert signs  # moving the etchers changed some flows
    head = model.headerData(model.matrix.index(MOVED), Qt.Orientation.Vertical, 3)
    assert head.startswith(f"from {MOVED}: ") and head.endswith("change vs base, m/day")


def test_heat_is_stronger_for_larger_flows_and_text_stays_readable(demo) -> None:
    p, now, _ses = demo
    model = p.grid.grid_model
    big, small = now.flows[0], now.flows[-1]
    bg_big = model.data(_at(p, big.src, big.dst), Qt.ItemDataRole.BackgroundRole)
    bg_small = model.data(_at(p, small.src, small.dst), Qt.ItemDataRole.BackgroundRole)
    assert bg_big.lightness() < bg_small.lightness()
    assert model.data(_at(p, big.src, big.dst), Qt.ItemDataRole.ForegroundRole).lightness() > 200
    assert (
        model.data(_at(p, small.src, small.dst), Qt.ItemDataRole.ForegroundRole).lightness() < 50
    )


def test_busiest_first_and_copy(demo, qtbot) -> None:
    p, now, _ses = demo
    p.order_box.setCurrentIndex(1)
    model = p.grid.grid_model
    rows, cols = model.matrix.totals(FlowFigure.MOVES)
    score = rows + cols
    assert list(score) == sorted(score, reverse=True)
    busy = now.flows[0]
    p.grid.setCurrentIndex(_at(p, busy.src, busy.dst))
    p.grid.setFocus()
    qtbot.keyClick(p.grid, Qt.Key.Key_C, Qt.KeyboardModifier.ControlModifier)
    text = QGuiApplication.clipboard().text()
    assert text == f"from \\ to\t{busy.dst}\n{busy.src}\t{busy.moves_per_day:.6g}\n"


def test_smt2020_grid_stays_compact(qtbot) -> None:
    ses = PlanSession(PLANTS / "smt2020_hvlm.yaml")
    p, _now = _panel(qtbot, ses)
    model = p.grid.grid_model
    n = len(model.matrix.groups)
    assert 50 < n <= len(ses.plant.groups())
    head = p.grid.horizontalHeader()
    widths = [head.sectionSize(j) for j in range(n)]
    assert max(widths) < 90
    long = next(g for g in model.matrix.groups if len(g) > 14)
    j = model.matrix.index(long)
    assert len(model.headerData(j, Qt.Orientation.Horizontal)) <= 9
    assert long in model.headerData(j, Qt.Orientation.Horizontal, Qt.ItemDataRole.ToolTipRole)
    assert p.grid.verticalHeader().sectionSize(0) < 30
