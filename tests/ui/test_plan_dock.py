"""The Plan docks' shared installation (ui/qt_plan_dock.py): dock, action, menu, stop on close."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QLabel, QMainWindow

from factory_twin.ui.qt_plan_dock import install_plan_dock, window_settings

pytestmark = pytest.mark.gui


def _install(w: QMainWindow, name: str, key: str, stopped: list[str], actions=()):
    return install_plan_dock(
        w,
        QLabel(name),
        title=name.title(),
        name=f"{name}_dock",
        text=f"&{name.title()}",
        shortcut=key,
        tip=f"the {name} panel",
        stop=lambda: stopped.append(name),
        actions=actions,
    )


def test_two_docks_share_one_experiments_menu_and_stop_when_the_window_closes(qtbot, tmp_path):
    w = QMainWindow()
    qtbot.addWidget(w)
    w.setCentralWidget(QLabel("centre"))
    stopped: list[str] = []
    report = QAction("Export report…", w)
    dock_a, show_a = _install(w, "compare", "Ctrl+Shift+C", stopped, [report])
    dock_b, show_b = _install(w, "optimise", "Ctrl+Shift+O", stopped)
    menus = [a.text() for a in w.menuBar().actions()]
    assert menus == ["E&xperiments"]  # one menu for both, made by the first
    items = [a for a in w.experiments_menu.actions() if not a.isSeparator()]
    assert items == [show_a, report, show_b]
    assert {show_a, report, show_b} <= set(w.actions())  # the keys work window-wide
    assert (
        show_b.shortcut().toString() == "Ctrl+Shift+O" and show_a.toolTip() == "the compare panel"
    )
    assert dock_a.objectName() == "compare_dock"
    assert w.dockWidgetArea(dock_b) == Qt.DockWidgetArea.BottomDockWidgetArea
    w.show()
    qtbot.waitExposed(w)
    assert not dock_a.isVisible()
    show_a.trigger()
    assert dock_a.isVisible() and show_a.isChecked()
    assert stopped == []
    w.close()
    assert sorted(stopped) == ["compare", "optimise"]


def test_the_plan_menu_takes_the_docks_when_there_is_one(qtbot, tmp_path):
    w = QMainWindow()
    qtbot.addWidget(w)
    w.plan_menu = w.menuBar().addMenu("&Plan")
    _, show = _install(w, "compare", "Ctrl+Shift+C", [])
    assert show in w.plan_menu.actions()
    assert [a.text() for a in w.menuBar().actions()] == ["&Plan"]
    assert window_settings(w) is None
    w.settings = QSettings(str(tmp_path / "s.ini"), QSettings.Format.IniFormat)
    assert window_settings(w) is w.settings
