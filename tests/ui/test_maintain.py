"""The Maintain workspace in the real window: player, sign-off log, authoring, alarm link, export."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from _maintain_window import demo_copy, maintain_window, maintain_ws
from PySide6.QtCore import QModelIndex, QPoint, Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from factory_twin.app.maintenance import MaintenanceLog, ProcedureSession, anchor_world
from factory_twin.model.config import load_plant
from factory_twin.model.events import AlarmEvent
from factory_twin.ui.maintain_scene import component_mesh
from factory_twin.ui.qt_maintain_workspace import QtMaintainWorkspace

pytestmark = pytest.mark.gui

REPO = Path(__file__).resolve().parents[2]
FURNACE = "furnace-quartz-tube-inspection"


@pytest.fixture
def plant(tmp_path) -> Path:
    return demo_copy(tmp_path)


@pytest.fixture
def win(qtbot, tmp_path, plant):
    yield from maintain_window(qtbot, tmp_path, plant)


_ws = maintain_ws


def _settle(qtbot, ws: QtMaintainWorkspace) -> None:
    qtbot.waitUntil(ws.camera_settled, timeout=5000)
    ws.view.plotter.render()


def _highlight_pixels(img: np.ndarray) -> int:
    """Count orange pixels (the highlight's hue at any shading)."""
    r, g, b = (img[..., i].astype(int) for i in range(3))
    return int(((r > 100) & (r - b > 80) & (g > 0.35 * r) & (g < 0.78 * r)).sum())


def test_tools_without_procedures_are_set_apart_and_no_warning_shows_before_a_step(win) -> None:
    ws = _ws(win)
    spec = ws.spec
    assert spec is not None
    typed = {p.equipment_type for p in spec.procedures}
    type_of = {e.id: e.type for e in spec.equipment}
    items = [ws.browser.tools.item(i) for i in range(ws.browser.tools.count())]
    bare = [it for it in items if type_of[it.data(Qt.ItemDataRole.UserRole)] not in typed]
    assert bare
    assert all(it.font().italic() and "no maintenance procedures" in it.toolTip() for it in bare)
    assert all(not it.font().italic() for it in items if it not in bare)
    # the out-of-limits confirmation is for a measured value: hidden with no procedure open
    assert not ws.player.confirm_check.isVisibleTo(ws.player)


def test_player_flies_to_each_anchor_highlights_and_logs_signoffs(qtbot, win, tmp_path):
    ws = _ws(win)
    spec = ws.spec
    assert ws.open_procedure("FURN-01", FURNACE)
    p = ws.player
    proc = p.procedure
    assert proc is not None and len(proc.steps) == 8
    t = spec.equipment_type("vertical_furnace")
    log = ws.log
    shots = []
    for k, step in enumerate(proc.steps):
        assert p.current == k
        _settle(qtbot, ws)
        h = ws.overlay.shown
        assert (h.tool, h.component) == ("FURN-01", step.component)
        # the component's part is the highlighted solid, where the plant file puts it
        part = t.component(step.component).part
        assert h.part == part
        found = component_mesh(spec, "FURN-01", step.component)
        assert found is not None and found[0] == part
        want = np.array(found[1].bounds)
        got = np.array(ws.overlay.highlight_actor.GetBounds())
        assert np.allclose(got, want, atol=1e-6)
        assert ws.overlay.highlight_actor.GetVisibility()
        assert ws.overlay.label_text.startswith(step.title.split()[0])
        # the camera looks at the anchor: it projects inside the view, near the middle
        anchor = anchor_world(spec, "FURN-01", step.component)
        assert np.allclose(h.anchor, anchor)
        x, y = ws.overlay.display_of(anchor)
        wpx, hpx = ws.view.plotter.window_size
        assert 0.15 * wpx < x < 0.85 * wpx and 0.1 * hpx < y < 0.9 * hpx, (k, x, y, wpx, hpx)
        img = ws.view.screenshot()
        shots.append(img)
        flat = (np.abs(img.astype(int) - img[0, 0]).sum(-1) > 0).mean()
        assert flat > 0.3, f"step {k + 1}: the 3-D view is nearly blank"
        assert _highlight_pixels(img) > 500, f"step {k + 1}: highlighted part not visible"
        # safety first: the step cannot start before every note is acknowledged
        if step.safety:
            assert not p.start_button.isEnabled()
            assert p.safety_box.isVisibleTo(p)
            assert not p.start_step()
            assert "safety note" in p.message.text()
            for cb in p.safety_checks:
                cb.click()
        assert p.start_button.isEnabled()
        qtbot.mouseClick(p.start_button, Qt.MouseButton.LeftButton)
        assert p.session.is_started(k)
        p.name_edit.setText("R. Tech")
        acc = step.acceptance
        if acc is not None:
            assert not p.sign_button.isEnabled()
            if k == 0:  # an out-of-limit value is flagged and needs a confirmation
                p.value_edit.setText(f"{acc.max + 5:g}")
                assert p.confirm_check.isVisibleTo(p) and not p.sign_button.isEnabled()
                p.confirm_check.setChecked(True)
            else:
                p.value_edit.setText(f"{acc.target if acc.target is not None else acc.max:g}")
        if k == 7:  # the last step is shown for the docs before it is signed
            ws.view.plotter.render()
            grab = win.grab().toImage()
            assert grab.width() >= 1400
            assert grab.save(str(tmp_path / "maintain.png"))
        assert p.sign_button.isEnabled()
        qtbot.mouseClick(p.sign_button, Qt.MouseButton.LeftButton)
        # signed means on disk
        signed = [r["step"] for r in MaintenanceLog(log.path).signoffs()]
        assert signed == list(range(k + 1))
    # one different picture per step (the camera moved)
    assert len({img.tobytes() for img in shots}) == 8
    recs = MaintenanceLog(log.path).signoffs()
    assert recs[0]["within_limits"] is False and recs[0]["out_of_limit_confirmed"] is True
    assert recs[5]["within_limits"] is True and recs[5]["value"] == 12.0
    assert p.session.is_complete()
    assert "All 8 steps signed off" in p.message.text()
    assert p.checklist.item(0, 2).text() == "R. Tech"
    n = p.export_csv(str(tmp_path / "log.csv"))
    assert n == 8 and (tmp_path / "log.csv").read_text().count("\n") == 9
    # previous / next walk without signing
    p.show_step(3)
    qtbot.mouseClick(p.prev_button, Qt.MouseButton.LeftButton)
    assert p.current == 2 and ws.overlay.shown.component == proc.steps[2].component
    qtbot.mouseClick(p.next_button, Qt.MouseButton.LeftButton)
    assert p.current == 3


def test_an_unfinished_run_is_resumed_from_the_log(qtbot, win):
    ws = _ws(win)
    # a run that signed two steps, then the app died
    sess = ProcedureSession.start(ws.log, ws.spec, "FURN-03", FURNACE, technician="N. Ight")
    for k, v in ((0, 30.0), (1, None)):
        sess.acknowledge_safety(k)
        sess.start_step(k)
        sess.sign_off(k, "N. Ight", value=v)
    assert ws.open_procedure("FURN-03", FURNACE)
    p = ws.player
    assert p.session is not None and p.session.session_id == sess.session_id
    assert p.current == 2 and "2 of 8 steps signed" in p.session_label.text()
    assert [p.checklist.item(k, 2).text() for k in range(3)] == ["N. Ight", "N. Ight", ""]
    # a new run closes the old one
    p.new_run()
    assert p.session is None and ws.log.open_sessions("FURN-03") == []


def test_authoring_pick_add_reorder_undo_save_reload(qtbot, win, plant):
    ws = _ws(win)
    assert ws.select_tool("FURN-02")
    assert ws.browser.select_procedure(FURNACE)
    ws.side.setCurrentWidget(ws.editor)
    ed = ws.editor
    assert ed.procedure().id == FURNACE and ed.steps.count() == 8
    ed.steps.setCurrentRow(1)  # "Close the process gases" on the gas box
    assert ed.component_combo.currentText() == "gas box"
    # pick the quartz tube in the 3-D view
    spec = ws.spec
    anchor = anchor_world(spec, "FURN-02", "quartz tube")
    h = ws.overlay.show_step("FURN-02", "quartz tube", "", "")
    ws.view.scene.set_camera(
        ws.overlay.step_camera("FURN-02", h.anchor, h.label_point, h.part_bounds)
    )
    ws.view.plotter.render()
    ed.pick_button.click()
    assert ws.picking
    # a real click on the tube in the 3-D view (VTK display pixels -> Qt widget pixels)
    x, y = ws.overlay.display_of(anchor)
    widget = ws.view.plotter.interactor
    ratio = widget.devicePixelRatioF() or 1.0
    QTest.mouseClick(
        widget,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
        QPoint(round(x / ratio), round(widget.height() - y / ratio)),
    )
    qtbot.waitUntil(lambda: ws.last_pick is not None, timeout=3000)
    assert not ws.picking and ws.last_pick == ("FURN-02", "quartz tube")
    assert ed.procedure().steps[1].component == "quartz tube"
    # add a step after it and fill it in
    assert ed.add_step()
    assert ed.steps.count() == 9 and ed.step_index == 2
    ed.title_edit.setText("Check the exhaust flow")
    ed.text_edit.setPlainText("Read the exhaust gauge at the cabinet top.")
    ed.component_combo.setCurrentText("gas box")
    ed.action_combo.setCurrentText("measure")
    ed.tools_edit.setText("manometer, torch")
    ed.safety_edit.setPlainText("gas: Toxic exhaust: keep the cabinet closed\nwear gloves")
    ed.duration_spin.setValue(4)
    ed.acc_box.setChecked(True)
    ed.acc_quantity.setText("exhaust pressure")
    ed.acc_unit.setText("Pa")
    ed.acc_min.setText("-250")
    ed.acc_max.setText("-150")
    assert ed.apply_step_changes()
    new = ed.procedure().steps[2]
    assert new.title == "Check the exhaust flow" and new.tools == ["manometer", "torch"]
    assert [(n.kind, n.text) for n in new.safety] == [
        ("gas", "Toxic exhaust: keep the cabinet closed"),
        ("general", "wear gloves"),
    ]
    assert new.duration_s == 240 and new.acceptance.min == -250 and new.action.value == "measure"
    # drag and drop: the list model moves row 2 to the top
    qtbot.waitUntil(lambda: ed.steps.count() == 9)
    ed.steps.model().moveRow(QModelIndex(), 2, QModelIndex(), 0)
    qtbot.waitUntil(
        lambda: ed.procedure().steps[0].title == "Check the exhaust flow", timeout=3000
    )
    assert ed.steps.item(0).text().startswith("1. Check the exhaust flow")
    # undo the move with Ctrl+Z, redo with Ctrl+Shift+Z
    win.activateWindow()
    qtbot.waitUntil(lambda: QApplication.activeWindow() is win, timeout=3000)
    ed.steps.setFocus()
    qtbot.keyClick(ed.steps, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert ed.procedure().steps[2].title == "Check the exhaust flow"
    qtbot.keyClick(
        ed.steps,
        Qt.Key.Key_Z,
        Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
    )
    assert ed.procedure().steps[0].title == "Check the exhaust flow"
    assert ws.undo_stack.count() == 4  # pick, add, edit, move
    # a procedure-level field
    ed.rev_edit.setText("D")
    ed.rev_edit.editingFinished.emit()
    assert ed.procedure().revision == "D"
    # the browser follows
    assert ws.browser.table.item(0, 1).text() == "D"
    # save, reload: identical
    assert ed.dirty_label.isVisibleTo(ed)
    assert ed.save() == str(plant)
    assert not ed.dirty_label.isVisibleTo(ed)
    assert "Saved" in ed.problems.text()
    edited = [p.model_dump() for p in ws.spec.procedures]
    again = load_plant(plant)
    assert [p.model_dump() for p in again.spec.procedures] == edited
    # undo everything: back to the shipped procedure
    while ws.undo_stack.canUndo():
        ws.undo_stack.undo()
    shipped = load_plant(REPO / "plant_configs" / "demo_fab.yaml").spec
    assert [p.model_dump() for p in ws.spec.procedures] == [
        p.model_dump() for p in shipped.procedures
    ]


def test_authoring_rejects_invalid_input_with_a_message(qtbot, win):
    ws = _ws(win)
    ws.select_tool("FURN-01")
    ws.browser.select_procedure(FURNACE)
    ed = ws.editor
    ed.steps.setCurrentRow(0)
    ed.title_edit.setText("")
    assert not ed.apply_step_changes()
    assert "title: String should have at least 1 character" in ed.problems.text()
    ed.title_edit.setText("ok")
    ed.acc_min.setText("60")  # above max 50
    assert not ed.apply_step_changes()
    assert "acceptance min 60.0 is above max 50.0" in ed.problems.text()
    assert ws.undo_stack.count() == 0
    assert ed.new_procedure("furnace-boat-check", "Boat check")
    assert ed.procedure().id == "furnace-boat-check" and ed.steps.count() == 1
    assert not ed.new_procedure("furnace-boat-check", "again")
    assert "exists already" in ed.problems.text()


def test_open_procedure_from_an_alarm(qtbot, win):
    ws = _ws(win)
    c = win.controller
    win.tabs.setCurrentIndex(0)
    c.state.apply(
        [
            AlarmEvent(
                "a1",
                "ETCH-03",
                "chamber_pressure.hihi",
                900,
                "pressure very high",
                10.0,
                True,
                False,
            )
        ]
    )
    win.alarms.refresh()
    qtbot.waitUntil(lambda: win.alarms.model.rowCount() == 1)
    assert not win.alarms.procedure_button.isEnabled()
    assert win.alarms.select_alarm("a1")
    assert win.alarms.procedure_button.isEnabled()
    qtbot.mouseClick(win.alarms.procedure_button, Qt.MouseButton.LeftButton)
    assert win.tabs.currentWidget() is ws
    assert ws.player.tool == "ETCH-03"
    assert ws.player.procedure.id == "etch-chamber-wet-clean"
    assert ws.browser.selected_procedure() == "etch-chamber-wet-clean"
    _settle(qtbot, ws)
    assert ws.overlay.shown.tool == "ETCH-03"
    # an alarm no procedure lists: the tool's procedures are shown instead
    assert ws.open_for_alarm("FURN-01", "fault.door") == FURNACE
    assert ws.open_for_alarm("CMP-01", "no_such_tag.hi") is None
    assert ws.tool == "CMP-01" and "no procedure lists alarm" in ws.info.text()


def test_export_from_the_workspace_writes_files_and_cancel_writes_none(qtbot, win, tmp_path):
    ws = _ws(win)
    ws.select_tool("ETCH-01")
    ws.browser.select_procedure("etch-chamber-wet-clean")
    assert ws.export_button.isEnabled()
    out = tmp_path / "ar"
    dlg = ws.open_export_dialog(out_dir=out)
    assert dlg is not None
    dlg.set_formats(["html", "arlem"])
    assert dlg.formats() == ("html", "arlem")
    dlg.start()
    assert dlg.cancel_button.isEnabled() and not dlg.close_button.isEnabled()
    qtbot.waitUntil(lambda: dlg.state != "running", timeout=60000)
    assert dlg.state == "done", dlg.error
    files = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    assert files == sorted(p.name for p in dlg.export_result.all_files())
    assert len(files) == 3 and any(f.endswith(".html") for f in files)
    assert dlg.files.count() == 3 and dlg.bar.value() == 1000
    assert all((out / f).stat().st_size > 0 for f in files)
    # a cancelled export leaves nothing behind
    out2 = tmp_path / "ar2"
    dlg2 = ws.open_export_dialog(out_dir=out2)
    dlg2.set_formats(["pdf", "usdz"])
    dlg2.start()
    dlg2.cancel()
    qtbot.waitUntil(lambda: dlg2.state != "running", timeout=60000)
    assert dlg2.state == "cancelled"
    assert not out2.exists() or [p for p in out2.iterdir()] == []
    dlg.close()
    dlg2.close()
    QApplication.processEvents()


def _edit(ws: QtMaintainWorkspace) -> None:
    """One unsaved edit: a new procedure for the furnace."""
    ws.select_tool("FURN-01")
    assert ws.editor.new_procedure("furnace-boat-check", "Boat check")
    assert ws.has_unsaved_edits()


def _answer(monkeypatch, *answers) -> list[str]:
    """Patch QMessageBox.question to give ``answers`` in turn; return the texts asked."""
    from PySide6.QtWidgets import QMessageBox

    asked: list[str] = []
    queue = list(answers)

    def question(parent, title, text, *args):
        asked.append(text)
        return queue.pop(0)

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    return asked


def test_closing_without_edits_asks_nothing(qtbot, win, monkeypatch):
    asked = _answer(monkeypatch)  # any question would fail: no answers queued
    assert not _ws(win).has_unsaved_edits()
    assert win.close()
    assert asked == []


def test_closing_with_unsaved_edits_asks_cancel_then_discard(qtbot, win, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    B = QMessageBox.StandardButton
    ws = _ws(win)
    _edit(ws)
    asked = _answer(monkeypatch, B.Cancel, B.Discard)
    assert not win.close()  # Cancel: the window stays, with its edits
    assert win.isVisible() and ws.has_unsaved_edits()
    assert "1 unsaved procedure edit" in asked[0] and "demo_fab.yaml" in asked[0]
    assert ws.view.plotter is not None and ws.view.plotter.interactor.isVisible()
    assert win.close()  # Discard: closes, and the plant in memory is reverted
    assert len(asked) == 2
    assert not any(p.id == "furnace-boat-check" for p in win.controller.doc.spec.procedures)


def test_opening_another_plant_saves_edits_when_asked(qtbot, win, plant, tmp_path):
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QMessageBox

    ws = _ws(win)
    _edit(ws)
    seen: list[str] = []

    def click_save() -> None:  # the real modal box, answered like a user would
        box = QApplication.activeModalWidget()
        if not isinstance(box, QMessageBox):
            QTimer.singleShot(20, click_save)
            return
        seen.append(box.text())
        box.button(QMessageBox.StandardButton.Save).click()

    QTimer.singleShot(0, click_save)
    other = tmp_path / "other.yaml"
    shutil.copy(REPO / "tests" / "data" / "mini_plant.yaml", other)
    win.open_plant(other, connect=False)
    assert seen and "opening another plant" in seen[0]
    assert not ws.has_unsaved_edits()
    assert any(p.id == "furnace-boat-check" for p in load_plant(plant).spec.procedures)
    qtbot.waitUntil(lambda: win.controller.doc.path == other, timeout=10000)


def test_opening_another_plant_cancelled_keeps_the_plant(qtbot, win, plant, monkeypatch):
    from PySide6.QtWidgets import QMessageBox

    ws = _ws(win)
    _edit(ws)
    doc = win.controller.doc
    asked = _answer(monkeypatch, QMessageBox.StandardButton.Cancel)
    win.open_plant(REPO / "tests" / "data" / "mini_plant.yaml", connect=False)
    assert len(asked) == 1
    assert win.controller.doc is doc and ws.has_unsaved_edits()
    assert not any(p.id == "furnace-boat-check" for p in load_plant(plant).spec.procedures)
