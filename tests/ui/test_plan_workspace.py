"""The Plan workspace under Xvfb: drag with snapping, live checks, undo, palette, close.

Drags are real mouse events on the 3-D view's widget: pressed on a tool where the scene
draws it, moved to where a floor point is drawn, released. The expected place is worked
out by hand from the tool's position in the plant file and the grid.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from _plan_window import plan_window
from plan_helpers import colour as _colour
from plan_helpers import drag as _drag
from plan_helpers import drop_type as _drop_type
from plan_helpers import focus as _focus
from plan_helpers import render as _render
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QMessageBox

from factory_twin.model.config import load_plant
from factory_twin.ui.plan_scene import CHANGED_RGB, PLAIN_RGB, PROBLEM_RGB, SELECTED_RGB
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_plan_workspace import QtPlanWorkspace

pytestmark = pytest.mark.gui

REPO = Path(__file__).resolve().parents[2]
PLANTS = REPO / "plant_configs"
SCENARIO = "demo_fab_fourth_scanner.scenario.yaml"


@pytest.fixture
def plant(tmp_path) -> Path:
    for f in ("demo_fab.yaml", SCENARIO):
        shutil.copy(PLANTS / f, tmp_path / f)
    return tmp_path / "demo_fab.yaml"


@pytest.fixture
def win(qtbot, tmp_path, plant):
    yield from plan_window(qtbot, tmp_path, plant)


def _ws(w: MainWindow) -> QtPlanWorkspace:
    return w.workspace("Plan")  # type: ignore[return-value]


def test_drag_moves_a_tool_by_the_snapped_metres(qtbot, win):
    ws = _ws(win)
    ws.new_scenario("dragged")
    assert ws.session is not None and ws.session.editable
    assert ws.view.scene is not None
    i = ws.view.scene.index["ETCH-01"]
    before = ws.view.scene.geometry.centers[i].copy()
    # ETCH-01 stands at (8.05, 4.9); 3 m east on a 0.5 m grid: (11.05, 4.9) -> (11.0, 5.0)
    _drag(ws, "ETCH-01", (3.0, 0.0))
    assert ws.session.tool("ETCH-01").position_m == (11.0, 5.0)
    assert ws.session.changes() == [
        {"change": "move_tool", "id": "ETCH-01", "position_m": [11.0, 5.0]}
    ]
    # the drawn tool followed: its box centre moved by the same metres
    assert ws.overlay is not None and ws.overlay.shown["ETCH-01"] == ((11.0, 5.0), 90.0)
    moved = ws.view.scene.geometry.centers[i] - before
    assert moved[:2] == pytest.approx([2.95, 0.1], abs=1e-9)
    assert load_plant(ws.session.plant_path).spec.tool("ETCH-01").position_m == (8.05, 4.9)
    assert _colour(ws, "ETCH-01") in (SELECTED_RGB, CHANGED_RGB)
    # a 1 m grid with bay edges: ETCH-01 (turned 90 degrees) west edge onto the bay's x = 3
    ws.grid.setCurrentIndex(ws.grid.findData(1.0))
    ws.edge_snap.setChecked(True)
    off = ws.session.offsets("ETCH-01")
    _drag(ws, "ETCH-01", (3.2 - off[0] - 11.0, 0.0))
    x, _y = ws.session.tool("ETCH-01").position_m
    assert x + off[0] == pytest.approx(3.0, abs=1e-6)
    # Esc during a drag puts the tool back, nothing recorded
    n = len(ws.session.changes())
    _drag(ws, "ETCH-03", (4.0, 0.0), release=False)
    assert ws.session.placement("ETCH-03")[0] != (8.05, 10.45)
    ws.escape()
    QTest.mouseRelease(ws.interactor, Qt.MouseButton.LeftButton)
    assert ws.session.placement("ETCH-03")[0] == (8.05, 10.45)
    assert len(ws.session.changes()) == n


def test_overlap_turns_red_while_dragging_and_is_listed(qtbot, win):
    ws = _ws(win)
    ws.new_scenario("crowded")
    ses = ws.session
    assert ses is not None
    assert _colour(ws, "ETCH-02") == PLAIN_RGB
    # ETCH-02 at (17.45, 4.9) dragged 9.5 m west lands on ETCH-01 at (8.05, 4.9)
    _drag(ws, "ETCH-02", (-9.5, 0.0), release=False)
    assert _colour(ws, "ETCH-02") == PROBLEM_RGB
    assert _colour(ws, "ETCH-01") == PROBLEM_RGB
    texts = [ws.problems.item(i).text() for i in range(ws.problems.count())]
    assert any("must fix" in t and "overlaps" in t and "ETCH-01" in t for t in texts)
    assert "ETCH-02 overlaps ETCH-01" in ws.tool_tip("ETCH-02")
    QTest.mouseRelease(ws.interactor, Qt.MouseButton.LeftButton)
    # the edit is kept (planners sketch) and the scenario says what to fix
    assert ses.changes()[-1]["id"] == "ETCH-02"
    assert any("overlaps" in p for p in ses.scenario_problems)
    assert ses.other_problems() == []  # listed once, by the live check
    assert "1 to fix before it validates" in ws.info.text()
    assert ws.problems.count() == len(ses.layout_problems())
    assert _colour(ws, "ETCH-02") == PROBLEM_RGB
    ws.undo_action.trigger()
    assert _colour(ws, "ETCH-01") == PLAIN_RGB
    assert ses.scenario_problems == []


def test_undo_restores_the_scenario_file_byte_for_byte(qtbot, win, plant):
    ws = _ws(win)
    scen = plant.parent / SCENARIO
    before = scen.read_bytes()
    plant_before = plant.read_bytes()
    row = next(
        i for i in range(ws.scenarios.list.count())
        if ws.scenarios.list.item(i).text() == "fourth scanner"
    )  # fmt: skip
    ws.scenarios.list.setCurrentRow(row)
    assert ws.session is not None and ws.session.scenario is not None
    assert ws.session.changed_tools() == {"SCAN-04"}
    assert _colour(ws, "SCAN-04") == CHANGED_RGB
    _drag(ws, "SCAN-01", (0.0, -1.0))
    ws.select(["TRK-01"])
    ws.rotate_action.trigger()
    ws.edits.set_dispatch("SCAN", "fifo")
    assert len(ws.session.changes()) == 4
    ws.save()
    assert scen.read_bytes() != before
    assert b"# What if the demo fab buys a fourth ArF scanner?" in scen.read_bytes()
    for _ in range(3):
        ws.undo_action.trigger()
    assert ws.session.dirty
    ws.save()
    assert scen.read_bytes() == before
    assert plant.read_bytes() == plant_before
    ws.redo_action.trigger()
    assert ws.session.changes()[-1]["id"] == "SCAN-01"


def test_palette_add_duplicate_and_delete(qtbot, win):
    ws = _ws(win)
    ws.new_scenario("more_tools")
    ses = ws.session
    assert ses is not None
    n0 = len(ses.plant.equipment)
    # a scanner dropped in the free corner of the litho bay (see the fourth-scanner scenario)
    _drop_type(ws, "arf_scanner", (38.55, 14.0))
    new = ses.changes()[-1]
    assert new["change"] == "add_tool" and new["like"] == "SCAN-01"
    assert new["position_m"] == [38.5, 14.0]
    tid = new["id"]
    assert tid == "SCAN-04"
    assert len(ses.plant.equipment) == n0 + 1
    assert ws.view.scene is not None and tid in ws.view.scene.index
    assert ws.selection == [tid]
    cap = ses.capacity.row("SCAN")
    assert cap.scenario.tools == 4 and cap.base.tools == 3
    assert cap.scenario_utilisation == pytest.approx(cap.base_utilisation * 3 / 4, rel=1e-9)
    # Ctrl+D duplicates the selection, Delete removes it
    _focus(qtbot, win, ws)
    QTest.keyClick(ws.interactor, Qt.Key.Key_D, Qt.KeyboardModifier.ControlModifier)
    assert ws.selection == ["SCAN-05"]
    assert len(ses.plant.equipment) == n0 + 2
    QTest.keyClick(ws.interactor, Qt.Key.Key_Delete)
    assert "SCAN-05" not in ws.view.scene.index
    assert [c["change"] for c in ses.changes()] == ["add_tool", "add_tool", "remove_tool"]
    ws.select([tid])
    QTest.keyClick(ws.interactor, Qt.Key.Key_R)
    assert ses.tool(tid).rotation_deg == 90.0
    # the change list highlights a change's tools
    ws.changes.list.setCurrentRow(0)
    assert ws.selection == [tid]


def test_rubber_band_and_ctrl_click_select(qtbot, win):
    ws = _ws(win)
    _render(ws)
    a = ws.view.widget_position_of("ETCH-01")
    tl = ws.widget_position_of_floor((23.5, 16.0))  # the aisles around the etch bay's tools
    br = ws.widget_position_of_floor((3.1, 1.0))
    shift = Qt.KeyboardModifier.ShiftModifier
    assert ws.tool_at(tl) is None
    QTest.mousePress(ws.interactor, Qt.MouseButton.LeftButton, shift, tl)
    QTest.mouseMove(ws.interactor, br)
    QTest.mouseRelease(ws.interactor, Qt.MouseButton.LeftButton, shift, br)
    assert {"ETCH-01", "ETCH-02", "ETCH-03", "ETCH-04"} <= set(ws.selection)
    ctrl = Qt.KeyboardModifier.ControlModifier
    QTest.mouseClick(ws.interactor, Qt.MouseButton.LeftButton, ctrl, a)
    assert "ETCH-01" not in ws.selection
    QTest.mouseClick(ws.interactor, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier, a)
    assert ws.selection == ["ETCH-01"]
    # the base is read-only: a drag selects but changes nothing
    _drag(ws, "ETCH-01", (3.0, 0.0))
    assert ws.session is not None and ws.session.changes() == []
    assert ws.session.tool("ETCH-01").position_m == (8.05, 4.9)


def test_close_asks_about_unsaved_edits(qtbot, win, monkeypatch):
    ws = _ws(win)
    ws.new_scenario("unsaved")
    ws.select(["ETCH-01"])
    ws.rotate_action.trigger()
    answers = [QMessageBox.StandardButton.Cancel, QMessageBox.StandardButton.Discard]
    asked: list[str] = []

    def question(_parent, _title, text, *_a, **_k):
        asked.append(text)
        return answers.pop(0)

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    assert not win.close()
    assert win.isVisible() and ws.session is not None and ws.session.dirty
    assert "unsaved" in asked[0]
    assert win.close()
    assert len(asked) == 2


def test_screenshot_is_not_blank(qtbot, win):
    ws = _ws(win)
    ws.new_scenario("shot")
    _drag(ws, "ETCH-02", (-9.5, 0.0))
    _render(ws)
    img = ws.view.screenshot()
    import os

    if os.environ.get("PLAN_SHOT"):
        win.grab().save(os.environ["PLAN_SHOT"])
    assert img.std() > 10
    floor = np.asarray(img).reshape(-1, 3)
    red = ((floor[:, 0] > 180) & (floor[:, 1] < 90) & (floor[:, 2] < 90)).sum()
    assert red > 50  # the overlapping tools are drawn red


def test_plan_and_compare_list_scenarios_with_one_function(qtbot, win, plant):
    from factory_twin.app import plan_files
    from factory_twin.ui import qt_plan_compare_install, qt_plan_workspace

    assert qt_plan_compare_install.scenarios_beside is plan_files.scenarios_beside
    assert qt_plan_workspace.scenarios_beside is plan_files.scenarios_beside
    ws = _ws(win)
    names = [ws.scenarios.list.item(i).text() for i in range(ws.scenarios.list.count())]
    assert names == ["demo_fab  (base)", "fourth scanner"]
    # the Compare dock's entries sit in the Plan menu
    qt_plan_compare_install.install_compare(win)
    texts = [a.text() for a in win.plan_menu.actions()]
    assert "&Compare scenarios" in texts and "&Heat map on the Plan view" in texts
    # a scenario made in Plan is offered for experiments at once
    ws.new_scenario("made_here")
    listed = win.compare.experiment.scenario_list
    assert "made_here" in [listed.item(i).text() for i in range(listed.count())]
    win.compare.shutdown()


def test_change_list_notes_placement_and_scenario_files(qtbot, win, plant, monkeypatch):
    from PySide6.QtWidgets import QInputDialog

    ws = _ws(win)
    # an empty list says why: the base plant, then a new scenario with no change yet
    hint = ws.changes.hint
    assert not hint.isHidden() and ws.changes.list.isHidden()
    assert "base plant" in hint.text() and not ws.changes.remove.isEnabled()
    ws.new_scenario("listed")
    ses = ws.session
    assert ses is not None
    assert not hint.isHidden() and hint.text().startswith("No changes yet")
    ws.select(["ETCH-01"])
    assert ws.placement.tool.text().startswith("ETCH-01 (etch_mainframe, ETCH_SI")
    ws.placement.x_box.setValue(9.0)
    ws.placement.apply.click()  # exact placement: one change
    assert ses.tool("ETCH-01").position_m == (9.0, 4.9)
    ws.edits.set_dispatch("SCAN", "fifo")
    ws.select(["TRK-01"])
    ws.edits.rotate_selected()
    assert ws.changes.list.count() == 3
    assert hint.isHidden() and not ws.changes.list.isHidden() and ws.changes.remove.isEnabled()
    # reorder: the rotation first, then remove the dispatch change; undo all three
    ws.changes.list.setCurrentRow(2)
    assert ws.selection == ["TRK-01"]
    ws.changes.up.click()
    ws.changes.up.click()
    assert [c["change"] for c in ses.changes()] == ["move_tool", "move_tool", "set_dispatch"]
    assert ses.changes()[0]["id"] == "TRK-01"
    ws.changes.list.setCurrentRow(2)
    ws.changes.remove.click()
    assert [c["id"] for c in ses.changes()] == ["TRK-01", "ETCH-01"]
    ws.undo_action.trigger()
    ws.undo_action.trigger()
    assert [c.get("id", c.get("group")) for c in ses.changes()] == ["ETCH-01", "TRK-01", "SCAN"]
    ws.undo_action.trigger()
    assert [c.get("id", c.get("group")) for c in ses.changes()] == ["ETCH-01", "SCAN", "TRK-01"]
    # notes are saved with the scenario
    ws.scenarios.notes.setPlainText("try a tighter litho cell")
    assert ses.dirty
    path = ws.save()
    assert path is not None and "notes: try a tighter litho cell" in path.read_text()
    # copy and rename through their dialogs; the list follows
    names = iter(["listed_copy", "renamed"])
    monkeypatch.setattr(QInputDialog, "getText", staticmethod(lambda *a, **k: (next(names), True)))
    ws.duplicate_dialog()
    assert ses.scenario is not None and ses.scenario.path.name == "listed_copy.scenario.yaml"
    assert len(ses.changes()) == 3
    ws.rename_dialog()
    assert ses.scenario.path.name == "renamed.scenario.yaml"
    listed = [ws.scenarios.list.item(i).text() for i in range(ws.scenarios.list.count())]
    assert listed == ["demo_fab  (base)", "fourth scanner", "listed", "renamed"]
    assert (plant.parent / "listed_copy.scenario.yaml.bak").exists()
    # switching scenario with unsaved edits asks first: Cancel stays
    ws.select(["ETCH-03"])
    ws.edits.rotate_selected()
    monkeypatch.setattr(
        QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Cancel)
    )
    assert not ws.open_scenario(None)
    assert ses.scenario is not None and ses.scenario.path.name == "renamed.scenario.yaml"
    assert ws.scenarios.current_path() == ses.scenario.path


def test_plan_keys_are_scoped_to_the_plan_tab(qtbot, win, monkeypatch):
    ws = _ws(win)
    detail = win.detail_dock.toggleViewAction()
    assert detail.shortcut().isEmpty()  # Ctrl+D duplicates while Plan is shown
    assert win.reset_action.shortcut().isEmpty()  # and R turns tools
    assert ws.duplicate_action.shortcut().toString() == "Ctrl+D"
    win.tabs.setCurrentWidget(win.monitor)
    assert detail.shortcut().toString() == "Ctrl+D"
    assert win.reset_action.shortcut().toString() == "R"
    assert win.detail_dock.isVisible()  # the Monitor's docks are back
    win.plan_action.trigger()
    assert win.tabs.currentWidget() is ws and not win.detail_dock.isVisible()
    # opening another plant asks about unsaved scenario edits first
    ws.new_scenario("guarded")
    ws.select(["ETCH-01"])
    ws.edits.rotate_selected()
    monkeypatch.setattr(
        QMessageBox, "question", staticmethod(lambda *a, **k: QMessageBox.StandardButton.Cancel)
    )
    assert not all(guard() for guard in win.unsaved_guards)
