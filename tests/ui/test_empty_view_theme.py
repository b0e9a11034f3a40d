"""A 3-D view with no plant loaded shows the theme's background (as with a plant), not
pyvista's default grey: the renderer's background is read back in both themes, in the
Monitor view and a workspace's own view."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from factory_twin.app.controller import Controller
from factory_twin.model.config import load_plant
from factory_twin.model.geometry import hex_to_rgb
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_plan_install import install_plan
from factory_twin.ui.qt_scene_view import QtSceneView
from factory_twin.ui.scene import BACKGROUND

pytestmark = pytest.mark.gui


def _background(view: QtSceneView) -> tuple[float, ...]:
    return tuple(round(v, 3) for v in view.plotter.renderer.GetBackground())


def _expected(dark: bool) -> tuple[float, ...]:
    return tuple(round(v, 3) for v in hex_to_rgb(BACKGROUND[dark]))


@pytest.fixture
def win(qtbot, tmp_path: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    c = Controller(journal_path=tmp_path / "journal.sqlite")
    w = MainWindow(c, QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    install_plan(w)
    qtbot.addWidget(w)
    w.resize(1200, 800)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.set_dark(True)  # the next test starts in the default theme
    w.close()
    c.close()


def test_an_empty_view_takes_the_theme_background(qtbot, win: MainWindow, mini_plant_path: Path) -> None:  # fmt: skip
    assert win.view.scene is None
    grey = tuple(round(v, 3) for v in (0.3, 0.3, 0.3))  # pyvista's default
    for dark in (True, False, True, False):
        win.set_dark(dark)
        QApplication.processEvents()
        for view in (win.view, win.plan.view):
            assert view.scene is None
            assert _background(view) == _expected(dark) != grey
    img = win.view.screenshot()  # what is drawn: light, not mid grey
    assert float(np.mean(img[..., :3])) > 200
    # with a plant, the same background
    win.controller.set_plant(load_plant(mini_plant_path))
    QApplication.processEvents()
    assert win.view.scene is not None and _background(win.view) == _expected(False)
