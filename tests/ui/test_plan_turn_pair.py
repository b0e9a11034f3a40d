"""The Plan workspace under Xvfb: turning the selection by a Ctrl-drag on the floor or by
its rotate knob, and a from-to grid cell lighting its pair of groups on the floor.

Turns are real mouse events on the 3-D view's widget: Ctrl-pressed on a selected tool (or
pressed on the knob), moved round the selection's centre to where a floor point is drawn,
released. The pointer goes out at a few metres from the centre, so that a pixel's rounding
moves the angle by far less than half a 15° step; the expected places are turned by hand
about the centre, then shifted as one piece to put the pressed (or first selected) tool's
origin on the 0.5 m grid.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np
import pytest
from _plan_window import demo_plan_window, plan_ws
from plan_helpers import colour as _colour
from plan_helpers import render as _render
from PySide6.QtCore import QEvent, QPoint, QPointF, Qt
from PySide6.QtGui import QMouseEvent
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from factory_twin.ui.plan_scene import FROM_RGB, PLAIN_RGB, TO_RGB
from factory_twin.ui.qt_plan_workspace import QtPlanWorkspace

pytestmark = pytest.mark.gui

PLANTS = Path(__file__).resolve().parents[2] / "plant_configs"
CTRL = Qt.KeyboardModifier.ControlModifier
NONE = Qt.KeyboardModifier.NoModifier
LEFT = Qt.MouseButton.LeftButton


@pytest.fixture
def win(qtbot, tmp_path):
    yield from demo_plan_window(qtbot, tmp_path)


_ws = plan_ws


def _move(ws: QtPlanWorkspace, pos: QPoint, mods=CTRL) -> None:
    """A pointer move with the left button held and ``mods`` down (QTest's move has none)."""
    p = QPointF(pos)
    ev = QMouseEvent(
        QEvent.Type.MouseMove, p, QPointF(ws.interactor.mapToGlobal(pos)), Qt.MouseButton.NoButton,
        LEFT, mods,
    )  # fmt: skip
    QApplication.sendEvent(ws.interactor, ev)


def _press_turn(ws: QtPlanWorkspace, tool: str) -> tuple[tuple[float, float], float]:
    """Ctrl-press on ``tool``; return the turn's centre and the pointer's angle about it."""
    _render(ws)
    press = ws.view.widget_position_of(tool)
    assert ws.tool_at(press) == tool
    QTest.mousePress(ws.interactor, LEFT, CTRL, press)
    d = ws.input.drag
    assert d is not None and d["kind"] == "turn"
    (cx, cy), (ax, ay) = d["centre"], d["anchor"]
    return (cx, cy), math.degrees(math.atan2(ay - cy, ax - cx))


def _pointer(ws, centre, angle_deg: float, radius_m: float = 6.0) -> QPoint:
    a = math.radians(angle_deg)
    return ws.widget_position_of_floor(
        (centre[0] + radius_m * math.cos(a), centre[1] + radius_m * math.sin(a))
    )


def _turned(place, centre, deg):
    (x, y), rot = place
    a = math.radians(deg)
    dx, dy = x - centre[0], y - centre[1]
    return (
        (centre[0] + math.cos(a) * dx - math.sin(a) * dy, centre[1] + math.sin(a) * dx + math.cos(a) * dy),
        (rot + deg) % 360,
    )  # fmt: skip


def _on_grid(places: dict, lead: str, grid: float = 0.5) -> dict:
    """``places`` shifted as one piece so that ``lead``'s origin is on the grid."""
    (lx, ly), _ = places[lead]
    dx, dy = round(lx / grid) * grid - lx, round(ly / grid) * grid - ly
    return {t: ((x + dx, y + dy), rot) for t, ((x, y), rot) in places.items()}


def test_ctrl_drag_turns_in_15_degree_steps_as_one_undo_step(qtbot, win):
    ws = _ws(win)
    ws.new_scenario("turned")
    ses = ws.session
    assert ses is not None and ws.overlay is not None
    ws.select(["ETCH-01", "ETCH-02"])
    start = {t: ses.placement(t) for t in ws.selection}
    assert start["ETCH-01"][1] == 90.0
    undo_n = ws.undo_stack.count()
    centre, a0 = _press_turn(ws, "ETCH-01")
    x0, y0, x1, y1 = ses.footprint_box(["ETCH-01", "ETCH-02"])
    assert centre == pytest.approx(((x0 + x1) / 2, (y0 + y1) / 2))
    # live: 20 degrees round snaps to 15, the ring and the angle are shown, nothing recorded
    _move(ws, _pointer(ws, centre, a0 + 20))
    assert ses.placement("ETCH-01")[1] == pytest.approx(105.0)
    assert ws.overlay.mark_visible("turn_ring")
    assert "+15°" in ws.info.text() and "Esc" in ws.info.text()
    if os.environ.get("PLAN_TURN_SHOT"):
        _render(ws)
        win.grab().save(os.environ["PLAN_TURN_SHOT"])
    assert ses.changes() == []
    # 47 degrees round: 90 + 47 snaps to 135 for the pressed tool; both turn by 45 about the centre
    end = _pointer(ws, centre, a0 + 47)
    _move(ws, end)
    QTest.mouseRelease(ws.interactor, LEFT, CTRL, end)
    assert ws.input.drag is None and not ws.overlay.mark_visible("turn_ring")
    assert ws.undo_stack.count() == undo_n + 1
    want = _on_grid({t: _turned(start[t], centre, 45.0) for t in start}, "ETCH-01")
    assert want["ETCH-01"][0][0] % 0.5 == pytest.approx(0.0, abs=1e-6)
    for t in ("ETCH-01", "ETCH-02"):
        (want_pos, want_rot) = want[t]
        (pos, rot) = ses.placement(t)
        assert rot == pytest.approx(want_rot)
        assert pos == pytest.approx(want_pos, abs=1e-5)
        assert ses.tool(t).rotation_deg == pytest.approx(want_rot)
        assert ws.overlay.shown[t][1] == pytest.approx(want_rot)
    assert [c["id"] for c in ses.changes()] == ["ETCH-01", "ETCH-02"]
    assert all(c["change"] == "move_tool" for c in ses.changes())
    # one undo puts both back
    ws.undo_action.trigger()
    assert ses.changes() == []
    assert {t: ses.placement(t) for t in start} == start
    assert ws.overlay.shown["ETCH-01"] == start["ETCH-01"]


def test_shift_turns_freely_and_esc_cancels(qtbot, win):
    ws = _ws(win)
    ws.new_scenario("free")
    ses = ws.session
    assert ses is not None and ws.overlay is not None
    ws.select(["ETCH-03"])
    start = ses.placement("ETCH-03")
    centre, a0 = _press_turn(ws, "ETCH-03")
    shift = CTRL | Qt.KeyboardModifier.ShiftModifier
    _move(ws, _pointer(ws, centre, a0 + 10), shift)
    _move(ws, _pointer(ws, centre, a0 + 22), shift)
    rot = ses.placement("ETCH-03")[1]
    assert (rot - start[1]) % 360 == pytest.approx(22.0, abs=1.5)
    assert abs(rot / 15 - round(rot / 15)) > 0.02  # not on a 15 degree step
    assert ws.overlay.shown["ETCH-03"][1] == rot
    # Esc: back where it was, no change, no undo step, the ring gone
    n = ws.undo_stack.count()
    ws.escape()
    QTest.mouseRelease(ws.interactor, LEFT, CTRL, _pointer(ws, centre, a0 + 22))
    assert ses.placement("ETCH-03") == start
    assert ws.overlay.shown["ETCH-03"] == start
    assert ses.changes() == [] and ws.undo_stack.count() == n
    assert not ws.overlay.mark_visible("turn_ring")
    assert ws.selection == ["ETCH-03"]  # a turn ended by Esc is no Ctrl-click


def test_ctrl_click_on_a_selected_tool_still_takes_it_away(qtbot, win):
    ws = _ws(win)
    ws.new_scenario("click")
    ws.select(["ETCH-01", "ETCH-02"])
    _render(ws)
    p = ws.view.widget_position_of("ETCH-02")
    QTest.mouseClick(ws.interactor, LEFT, CTRL, p)
    assert ws.selection == ["ETCH-01"]
    assert ws.session is not None and ws.session.changes() == []
    assert "Ctrl-drag turns" in ws.info.text()
    assert "Ctrl-drag" in ws.rotate_action.toolTip()


def _hover(ws: QtPlanWorkspace, pos: QPoint) -> None:
    """A pointer move with no button held."""
    ev = QMouseEvent(
        QEvent.Type.MouseMove, QPointF(pos), QPointF(ws.interactor.mapToGlobal(pos)),
        Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier,
    )  # fmt: skip
    QApplication.sendEvent(ws.interactor, ev)


def _knob(ws: QtPlanWorkspace) -> QPoint:
    """Where the selection's rotate knob is drawn in the view."""
    assert ws.overlay is not None and ws.overlay.knob is not None
    x, y, z = ws.overlay.knob
    return ws.widget_position_of_floor((x, y), z)


def _press_knob(ws: QtPlanWorkspace) -> tuple[tuple[float, float], float]:
    """Press the knob (no modifier); return the turn's centre and the pointer's angle."""
    _render(ws)
    press = _knob(ws)
    QTest.mousePress(ws.interactor, LEFT, NONE, press)
    d = ws.input.drag
    assert d is not None and d["kind"] == "turn" and d["knob"]
    assert ws.interactor.cursor().shape() == Qt.CursorShape.ClosedHandCursor
    (cx, cy), (ax, ay) = d["centre"], d["anchor"]
    return (cx, cy), math.degrees(math.atan2(ay - cy, ax - cx))


def test_knob_shown_for_a_scenario_selection_only(qtbot, win):
    ws = _ws(win)
    ov = ws.overlay
    assert ws.session is not None and not ws.session.editable and ov is not None
    ws.select(["ETCH-01"])  # the base plant: read-only, no knob
    assert not ws.overlay.mark_visible("knob") and ws.overlay.knob is None
    ws.new_scenario("knob")
    ov = ws.overlay
    assert ov is not None and ws.selection == []
    assert not ov.mark_visible("knob")
    ws.select(["ETCH-01", "ETCH-02"])
    assert ov.mark_visible("knob")
    x0, _y0, x1, y1 = ws.session.footprint_box(["ETCH-01", "ETCH-02"])
    kx, ky, _z = ov.knob
    assert kx == pytest.approx((x0 + x1) / 2) and ky > y1  # just beyond the box
    _render(ws)
    if os.environ.get("PLAN_KNOB_SHOT"):
        win.grab().save(os.environ["PLAN_KNOB_SHOT"])
    # an open hand over the knob, the usual cursor off it
    p = _knob(ws)
    assert ws.input.knob_at(p) and ws.input.knob_at(p + QPoint(7, -6))
    assert not ws.input.knob_at(p + QPoint(40, 40))
    _hover(ws, p)
    assert ws.interactor.cursor().shape() == Qt.CursorShape.OpenHandCursor
    _hover(ws, p + QPoint(60, 60))
    assert ws.interactor.cursor().shape() != Qt.CursorShape.OpenHandCursor
    # it follows a move of the selection
    ws.edits.move_tools({"ETCH-01": (8.0, 20.0)})
    assert ov.knob[1] > ws.session.footprint_box(ws.selection)[3] > y1
    ws.select([])
    assert not ov.mark_visible("knob") and ov.knob is None


def test_knob_drag_turns_by_90_degrees_in_one_undo_step(qtbot, win):
    ws = _ws(win)
    ws.new_scenario("knob_turn")
    ses, ov = ws.session, ws.overlay
    assert ses is not None and ov is not None
    ws.select(["ETCH-01", "ETCH-02"])
    start = {t: ses.placement(t) for t in ws.selection}
    undo_n = ws.undo_stack.count()
    centre, a0 = _press_knob(ws)
    x0, y0, x1, y1 = ses.footprint_box(["ETCH-01", "ETCH-02"])
    assert centre == pytest.approx(((x0 + x1) / 2, (y0 + y1) / 2))
    _move(ws, _pointer(ws, centre, a0 + 40), NONE)
    assert ov.mark_visible("turn_ring") and not ov.mark_visible("knob")
    assert "+45°" in ws.info.text()
    end = _pointer(ws, centre, a0 + 88)  # a quarter circle (snapped)
    _move(ws, end, NONE)
    QTest.mouseRelease(ws.interactor, LEFT, NONE, end)
    assert ws.input.drag is None and not ov.mark_visible("turn_ring")
    assert ov.mark_visible("knob")
    assert ws.undo_stack.count() == undo_n + 1
    assert ws.selection == ["ETCH-01", "ETCH-02"]
    # by hand: ETCH-01 (90°) at (8.05, 4.9), ETCH-02 (-90°) at (17.45, 4.9) go a quarter
    # round the centre: x' = cx - (y - cy), y' = cy + (x - cx); then ETCH-01 onto the grid
    assert start == {"ETCH-01": ((8.05, 4.9), 90.0), "ETCH-02": ((17.45, 4.9), -90.0)}
    cx, cy = centre
    want = _on_grid(
        {t: ((cx - (y - cy), cy + (x - cx)), (r + 90) % 360) for t, ((x, y), r) in start.items()},
        "ETCH-01",
    )
    for t, want_rot in (("ETCH-01", 180.0), ("ETCH-02", 0.0)):
        pos, rot = ses.placement(t)
        assert rot == pytest.approx(want_rot) and want[t][1] == pytest.approx(want_rot)
        assert pos == pytest.approx(want[t][0], abs=1e-5)
        assert ov.shown[t][1] == pytest.approx(want_rot)
    p1, p2 = ses.placement("ETCH-01")[0], ses.placement("ETCH-02")[0]
    assert p2[0] - p1[0] == pytest.approx(0.0, abs=1e-5)  # side by side along y now
    assert p2[1] - p1[1] == pytest.approx(17.45 - 8.05, abs=1e-5)
    assert [c["id"] for c in ses.changes()] == ["ETCH-01", "ETCH-02"]
    ws.undo_action.trigger()
    assert ses.changes() == [] and {t: ses.placement(t) for t in start} == start


def test_esc_during_a_knob_drag_restores_the_places(qtbot, win):
    ws = _ws(win)
    ws.new_scenario("knob_esc")
    ses, ov = ws.session, ws.overlay
    assert ses is not None and ov is not None
    ws.select(["ETCH-03"])
    start = ses.placement("ETCH-03")
    n = ws.undo_stack.count()
    centre, a0 = _press_knob(ws)
    _move(ws, _pointer(ws, centre, a0 + 60), NONE)
    assert ses.placement("ETCH-03") != start
    ws.escape()
    QTest.mouseRelease(ws.interactor, LEFT, NONE, _pointer(ws, centre, a0 + 60))
    assert ses.placement("ETCH-03") == start and ov.shown["ETCH-03"] == start
    assert ses.changes() == [] and ws.undo_stack.count() == n
    assert not ov.mark_visible("turn_ring") and ov.mark_visible("knob")
    assert ws.selection == ["ETCH-03"]
    # a click on the knob turns nothing and keeps the selection
    _render(ws)
    p = _knob(ws)
    QTest.mouseClick(ws.interactor, LEFT, NONE, p)
    assert ses.changes() == [] and ws.selection == ["ETCH-03"]


def _click_cell(ws: QtPlanWorkspace, src: str, dst: str) -> None:
    g = ws.flows.grid
    m = g.grid_model
    ix = m.index(m.matrix.index(src), m.matrix.index(dst))
    g.scrollTo(ix)
    QTest.mouseClick(g.viewport(), LEFT, Qt.KeyboardModifier.NoModifier, g.visualRect(ix).center())


def test_grid_cell_lights_its_pair_on_the_floor(qtbot, win, tmp_path):
    ws = _ws(win)
    ses = ws.session
    assert ses is not None and ws.overlay is not None
    ws.right_tabs.setCurrentWidget(ws.flows)
    qtbot.waitExposed(ws.flows.grid)
    flows = sorted(
        (f for f in ses.flow_table().flows if f.src != f.dst and f.moves_per_day > 0),
        key=lambda f: -f.distance_m_per_day,
    )
    f = flows[0]
    groups = ses.plant.groups()
    src_tools = [e.id for e in groups[f.src]]
    dst_tools = [e.id for e in groups[f.dst]]
    _click_cell(ws, f.src, f.dst)
    assert ws.pair == (f.src, f.dst)
    assert ws.lit is not None
    assert ws.lit.from_tools == src_tools and ws.lit.to_tools == dst_tools
    bad, warn = ses.problem_tools()
    for t in src_tools:
        assert t in bad or _colour(ws, t) == FROM_RGB
    for t in dst_tools:
        assert t in bad or _colour(ws, t) == TO_RGB
    assert ws.overlay.mark_visible("pair_arrow")
    assert ws.overlay.flow_actor is not None and ws.overlay.flow_actor.prop.opacity < 0.5
    assert f"from {f.src}" in ws.info.text() and "moves/day" in ws.info.text()
    _render(ws)
    shot = os.environ.get("PLAN_PAIR_SHOT") or str(tmp_path / "pair.png")
    assert win.grab().save(shot)
    img = np.asarray(ws.view.screenshot()).reshape(-1, 3).astype(int)
    green = (np.abs(img - FROM_RGB).sum(axis=1) < 90).sum()
    assert green > 30  # the "from" tools are drawn green
    # another cell: the other pair lit, the first one's tools plain again
    g = flows[1]
    _click_cell(ws, g.src, g.dst)
    assert ws.pair == (g.src, g.dst)
    gone = [t for t in src_tools if t not in ws.lit.from_tools + ws.lit.to_tools]
    for t in gone:
        assert t in bad or t in warn or _colour(ws, t) == PLAIN_RGB
    # the diagonal: one group lit, no arrow
    _click_cell(ws, f.src, f.src)
    assert ws.lit.from_tools == src_tools and ws.lit.to_tools == []
    assert not ws.overlay.mark_visible("pair_arrow")
    assert "within" in ws.info.text()
    # cleared: nothing lit
    ws.flows.grid.clearSelection()
    assert ws.pair is None and ws.lit is None
    assert not ws.overlay.mark_visible("pair_arrow")
    assert ws.overlay.flow_actor.prop.opacity > 0.5
    for t in src_tools:
        assert _colour(ws, t) != FROM_RGB
