"""The window closed in any workspace starts again with the Monitor's docks shown.

Was: Plan and Train hide the Monitor's *Tool details* and *Alarms* docks while they are
shown; closing the window there saved its layout with both hidden, so the next start's
Monitor had neither (only *View* brought them back). Maintain already gave the Monitor its
arrangement back before the window saved it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from factory_twin.app.controller import Controller
from factory_twin.model.config import load_plant
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_maintain_workspace import install_maintain
from factory_twin.ui.qt_plan_install import install_plan
from factory_twin.ui.qt_train_install import install_train


def _window(qtbot, tmp_path: Path, plant: Path) -> MainWindow:  # type: ignore[no-untyped-def]
    """A main window with the workspaces the app installs, on ``tmp_path``'s settings."""
    c = Controller(journal_path=tmp_path / "journal.sqlite")
    w = MainWindow(c, QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    install_maintain(w)
    install_plan(w)
    install_train(w)
    qtbot.addWidget(w)
    c.set_plant(load_plant(plant))
    w.resize(1280, 800)
    w.show()
    qtbot.waitExposed(w)
    for _ in range(3):
        QApplication.processEvents()
        qtbot.wait(30)
    return w


@pytest.mark.parametrize("workspace", ["Plan", "Train", "Maintain", "Monitor"])
def test_closing_in_a_workspace_keeps_the_monitor_docks_for_the_next_start(
    qtbot, tmp_path, mini_plant_path, workspace
):  # type: ignore[no-untyped-def]
    w = _window(qtbot, tmp_path, mini_plant_path)
    assert w.detail_dock.isVisible() and w.alarm_dock.isVisible()
    w.tabs.setCurrentWidget(w.workspace(workspace))
    qtbot.wait(100)
    if workspace in ("Plan", "Train"):  # they give the docks' room to their own panes
        assert not w.detail_dock.isVisible() and not w.alarm_dock.isVisible()
    w.close()
    w2 = _window(qtbot, tmp_path, mini_plant_path)
    assert w2.tabs.currentWidget() is w2.monitor
    assert w2.detail_dock.isVisible() and w2.alarm_dock.isVisible()
    assert w2.detail_dock.width() >= 250 and w2.alarm_dock.height() >= 100
    w2.close()
