"""The main window on the Plan workspace, for the Plan GUI tests' fixtures."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings

from factory_twin.app.controller import Controller
from factory_twin.model.config import load_plant
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_plan_install import install_plan
from factory_twin.ui.qt_plan_workspace import QtPlanWorkspace


def plan_window(qtbot: Any, tmp_path: Path, plant: Path) -> Iterator[MainWindow]:
    """Yield a shown main window with ``plant`` open in the Plan workspace (grid 0.5 m, no
    snapping to bay edges); closed afterwards without asking to save."""
    c = Controller(journal_path=tmp_path / "journal.sqlite")
    w = MainWindow(c, QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    ws = install_plan(w)

    def forget(_w: MainWindow) -> None:
        if ws.session is not None:
            ws.session.dirty = False  # pytest-qt's close must not ask Save/Discard/Cancel

    qtbot.addWidget(w, before_close_func=forget)
    c.set_plant(load_plant(plant))
    w.resize(1500, 920)
    w.show()
    qtbot.waitExposed(w)
    w.plan_action.trigger()
    qtbot.waitUntil(lambda: ws.session is not None and ws.interactor.width() > 300)
    ws.grid.setCurrentIndex(ws.grid.findData(0.5))
    ws.edge_snap.setChecked(False)
    yield w
    forget(w)
    w.close()


def demo_plan_window(qtbot: Any, tmp_path: Path) -> Iterator[MainWindow]:
    """:func:`plan_window` on a copy of the demo fab in ``tmp_path``."""
    plant = tmp_path / "demo_fab.yaml"
    shutil.copy(Path(__file__).resolve().parents[2] / "plant_configs" / "demo_fab.yaml", plant)
    yield from plan_window(qtbot, tmp_path, plant)


def plan_ws(w: MainWindow) -> QtPlanWorkspace:
    return w.workspace("Plan")  # type: ignore[return-value]
