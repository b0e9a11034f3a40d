"""The main window on the Maintain workspace, for the Maintain GUI tests' fixtures."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from factory_twin.app.controller import Controller
from factory_twin.app.maintenance import MaintenanceLog
from factory_twin.model.config import load_plant
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_maintain_workspace import QtMaintainWorkspace, install_maintain

REPO = Path(__file__).resolve().parents[2]


def demo_copy(tmp_path: Path) -> Path:
    """A copy of the demo fab in ``tmp_path`` (tests save procedures into it)."""
    p = tmp_path / "demo_fab.yaml"
    shutil.copy(REPO / "plant_configs" / "demo_fab.yaml", p)
    return p


def maintain_ws(w: MainWindow) -> QtMaintainWorkspace:
    return w.workspace("Maintain")  # type: ignore[return-value]


def maintain_window(qtbot: Any, tmp_path: Path, plant: Path) -> Iterator[MainWindow]:
    """Yield a shown main window with ``plant`` open on the Maintain workspace (its own
    settings, journal and maintenance log); closed afterwards, unsaved edits discarded."""
    c = Controller(journal_path=tmp_path / "journal.sqlite")
    w = MainWindow(c, QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    # a test's unsaved edits would ask Save/Discard/Cancel when pytest-qt closes the window
    qtbot.addWidget(w, before_close_func=lambda w: maintain_ws(w).discard_edits())
    ws = install_maintain(w, MaintenanceLog(tmp_path / "maintenance_log.jsonl"))
    c.set_plant(load_plant(plant))
    w.resize(1500, 920)
    w.show()
    qtbot.waitExposed(w)
    w.tabs.setCurrentWidget(ws)
    qtbot.waitUntil(lambda: ws.view.isVisible() and ws.view.plotter.interactor.width() > 300)
    yield w
    ws.discard_edits()
    w.set_dark(True)  # the next test starts in the default theme
    w.close()
