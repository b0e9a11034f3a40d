"""The Maintain workspace's own text colours (the editor's problems and unsaved-edits note,
the workspace's info line) follow a theme switch and stay readable: each colour is read
back from the label's rich text and checked for WCAG contrast against the window."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from _maintain_window import demo_copy, maintain_window, maintain_ws
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QApplication, QLabel

from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.theme import MIN_TEXT_CONTRAST, contrast_ratio, text_colour

pytestmark = pytest.mark.gui

REPO = Path(__file__).resolve().parents[2]
FURNACE = "furnace-quartz-tube-inspection"
_COLOUR = re.compile(r"color:\s*(#[0-9a-fA-F]{6})")


@pytest.fixture
def win(qtbot, tmp_path: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    yield from maintain_window(qtbot, tmp_path, demo_copy(tmp_path))


_ws = maintain_ws


def _colours(label: QLabel) -> list[str]:
    found = _COLOUR.findall(label.text())
    assert found, f"no coloured text in {label.text()!r}"
    return found


def _check(label: QLabel, role: str, dark: bool) -> None:
    bg = QApplication.palette().color(QPalette.ColorRole.Window)
    for c in _colours(label):
        assert c == text_colour(role, dark)
        assert contrast_ratio(c, bg) >= MIN_TEXT_CONTRAST, (label.objectName(), c, bg.name())


def test_editor_and_info_colours_follow_the_theme(qtbot, win: MainWindow) -> None:
    ws = _ws(win)
    ws.select_tool("FURN-01")
    ws.browser.select_procedure(FURNACE)
    ed = ws.editor
    ed.steps.setCurrentRow(0)
    ed.title_edit.setText("")
    assert not ed.apply_step_changes()  # an error message
    ed.title_edit.setText("a new title")
    assert ed.apply_step_changes()  # an edit: the unsaved-edits note shows
    assert ed.dirty_label.isVisibleTo(ed)
    ed.title_edit.setText("")
    assert not ed.apply_step_changes()
    assert ws.open_procedure("FURN-01", "no-such-procedure") is False  # the info line
    for dark in (False, True, False):
        win.set_dark(dark)
        QApplication.processEvents()
        _check(ed.problems, "error", dark)
        _check(ed.dirty_label, "caution", dark)
        _check(ws.info, "error", dark)
    # a message shown on the light theme is drawn in the light theme's colour at once
    ed.title_edit.setText("ok")
    ed.acc_min.setText("60")
    assert not ed.apply_step_changes()
    _check(ed.problems, "error", False)
    ed.validate()
    _check(ed.problems, "ok", False)
    win.set_dark(True)
    QApplication.processEvents()
    _check(ed.problems, "ok", True)
