"""The overview keeps every bay's name inside the 3-D view (above the KPI strip under the
Monitor's view): the name boxes are read back from the label sheet after a render, in pixels,
and compared with the view's size, for several view shapes and a long bay name."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from factory_twin.app.controller import Controller
from factory_twin.model.config import load_plant
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_scene_view import QtSceneView

pytestmark = pytest.mark.gui

SHAPES = ((900, 500), (420, 800), (600, 600), (1300, 420))


def _label_boxes(view: QtSceneView) -> np.ndarray:
    """(n, 4): x0, y0, x1, y1 in pixels (VTK: from the bottom-left) of each bay name."""
    view.plotter.render()
    assert view.scene is not None and view.scene.label_sheet is not None
    q = view.scene.label_sheet._xy
    return np.column_stack([q[:, 0, 0], q[:, 0, 1], q[:, 2, 0], q[:, 2, 1]])


def _inside(view: QtSceneView) -> None:
    w, h = view.plotter.renderer.GetSize()
    for x0, y0, x1, y1 in _label_boxes(view):
        assert x0 >= 0 and x1 <= w and y0 >= 0 and y1 <= h, ((x0, y0, x1, y1), (w, h))


def test_a_long_bay_name_stays_inside_a_narrow_overview(qtbot, mini_plant_path, tmp_path):  # type: ignore[no-untyped-def]
    d = yaml.safe_load(mini_plant_path.read_text())
    d["site"]["bays"][0]["name"] = "Etch bay with a much longer name than usual"
    plant = tmp_path / "long_names.yaml"
    plant.write_text(yaml.safe_dump(d))
    view = QtSceneView()
    qtbot.addWidget(view, before_close_func=lambda v: v.close_view())  # render window released
    view.resize(900, 500)
    view.show()
    qtbot.waitExposed(view)
    view.set_plant(load_plant(plant).spec, None)
    for size in SHAPES:
        view.resize(*size)
        qtbot.wait(50)
        view.reset_view()
        _inside(view)


def test_the_monitor_overview_keeps_bay_names_above_the_kpi_strip(
    qtbot, tmp_path, mini_plant_path
):  # type: ignore[no-untyped-def]
    c = Controller(journal_path=tmp_path / "journal.sqlite")
    w = MainWindow(c, QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    c.set_plant(load_plant(mini_plant_path))
    w.show()
    qtbot.waitExposed(w)
    try:
        for size in ((1600, 1000), (1280, 800), (1024, 700), (800, 900)):
            w.resize(*size)
            qtbot.wait(50)
            QApplication.processEvents()
            w.view.reset_view()
            _inside(w.view)
            # the strip is below the view: a name inside the view is above the strip
            kpis = w.monitor.kpis
            strip = kpis.mapTo(w, kpis.rect().topLeft()).y()
            bottom = w.view.mapTo(w, w.view.rect().bottomLeft()).y()
            assert bottom < strip
    finally:
        w.close()
        c.close()
