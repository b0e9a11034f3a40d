"""The shared undo plumbing of the authoring panels and workspaces (ui/qt_undo.py)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence, QUndoStack
from PySide6.QtWidgets import QWidget

from factory_twin.app import drill_authoring as da
from factory_twin.app import maintenance_authoring as m
from factory_twin.model.config import load_plant
from factory_twin.ui.qt_undo import SpecEditCommand, undo_actions, undo_buttons

pytestmark = pytest.mark.gui

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def spec():
    return load_plant(REPO / "plant_configs" / "demo_fab.yaml").spec


def test_procedure_and_drill_edits_undo_and_redo_through_one_command(qtbot, spec):
    stack = QUndoStack()
    seen: list[tuple[str, bool]] = []
    undo, redo = undo_buttons(stack)
    assert not undo.isEnabled() and not redo.isEnabled()
    proc = spec.procedures[0]
    edit = m.set_procedure_fields(spec, proc.id, name="Renamed")
    stack.push(SpecEditCommand(spec, edit, lambda e, undone: seen.append((e.text, undone))))
    assert spec.procedures[0].name == "Renamed" and seen == [(edit.text, False)]
    assert undo.isEnabled() and not redo.isEnabled()
    drill = spec.drills[0]
    dedit = da.set_drill_fields(spec, drill.id, briefing="new briefing")
    stack.push(SpecEditCommand(spec, dedit, lambda e, undone: seen.append((e.text, undone))))
    assert spec.drills[0].briefing == "new briefing"
    undo.click()  # the drill edit
    assert spec.drills[0].briefing == drill.briefing and seen[-1] == (dedit.text, True)
    undo.click()  # the procedure edit
    assert spec.procedures[0].name == proc.name and seen[-1] == (edit.text, True)
    assert not undo.isEnabled() and redo.isEnabled()
    redo.click()
    assert spec.procedures[0].name == "Renamed" and seen[-1] == (edit.text, False)


def test_workspace_actions_name_the_edit_and_carry_the_shortcuts(qtbot, spec):
    w = QWidget()
    qtbot.addWidget(w)
    stack = QUndoStack(w)
    undo, redo = undo_actions(w, stack, "procedure edit")
    assert undo in w.actions() and redo in w.actions()
    assert undo.shortcut() == QKeySequence(QKeySequence.StandardKey.Undo)
    assert QKeySequence("Ctrl+Y") in redo.shortcuts()
    assert QKeySequence("Ctrl+Shift+Z") in redo.shortcuts()
    assert undo.shortcutContext() == Qt.ShortcutContext.WidgetWithChildrenShortcut
    assert not undo.isEnabled()
    edit = m.set_procedure_fields(spec, spec.procedures[0].id, name="Renamed")
    stack.push(SpecEditCommand(spec, edit, lambda _e, _u: None))
    assert undo.isEnabled() and undo.text().startswith("&Undo")
    undo.trigger()
    assert spec.procedures[0].name != "Renamed" and redo.isEnabled()
