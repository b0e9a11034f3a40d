"""The Plan workspace's 3-D view follows the window's theme like Monitor, Train and Maintain:
switched while the Plan tab is shown, switched while another tab is shown and the Plan tab
opened afterwards, and in a window that starts on the light theme. The renderer's background
is read back."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from _plan_window import plan_window
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QApplication

from factory_twin.app.controller import Controller
from factory_twin.model.config import load_plant
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_plan_install import install_plan
from factory_twin.ui.qt_scene_view import QtSceneView

pytestmark = pytest.mark.gui

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def plant(tmp_path: Path) -> Path:
    p = tmp_path / "demo_fab.yaml"
    shutil.copy(REPO / "plant_configs" / "demo_fab.yaml", p)
    return p


@pytest.fixture
def win(qtbot, tmp_path: Path, plant: Path) -> Iterator[MainWindow]:  # type: ignore[no-untyped-def]
    yield from plan_window(qtbot, tmp_path, plant)


def _background(view: QtSceneView) -> float:
    """The mean of the renderer's background colour, 0 (black) to 1 (white)."""
    ren = view.plotter.renderer
    return float(np.mean(ren.GetBackground()))


def _floor(view: QtSceneView) -> float:
    """The mean colour of the floor's points (0-255): light floor on the light theme."""
    assert view.scene is not None
    return float(np.asarray(view.scene.ground.point_data["rgb"])[:4].mean())


def test_the_plan_view_follows_a_switch_while_it_is_shown(win: MainWindow) -> None:
    ws = win.plan
    assert win.tabs.currentWidget() is ws and ws.view.scene is not None
    assert _background(ws.view) < 0.2  # the window starts dark
    win.set_dark(False)
    QApplication.processEvents()
    assert _background(ws.view) > 0.8 and _floor(ws.view) > 200
    assert ws.dark is False and ws.view.scene.dark is False
    win.set_dark(True)
    QApplication.processEvents()
    assert _background(ws.view) < 0.2 and _floor(ws.view) < 80


def test_the_plan_view_takes_a_switch_made_on_another_tab(win: MainWindow) -> None:
    ws = win.plan
    win.tabs.setCurrentWidget(win.monitor)
    QApplication.processEvents()
    win.set_dark(False)
    QApplication.processEvents()
    assert _background(win.view) > 0.8  # the Monitor's view, for comparison
    win.tabs.setCurrentWidget(ws)
    QApplication.processEvents()
    assert _background(ws.view) > 0.8
    # editing rebuilds the scene: it stays light
    ws.new_scenario("light_one")
    QApplication.processEvents()
    assert ws.view.scene is not None and _background(ws.view) > 0.8
    assert _floor(ws.view) > 200


def test_a_window_started_light_opens_a_light_plan_view(qtbot, tmp_path: Path, plant: Path):  # type: ignore[no-untyped-def]
    settings = QSettings(str(tmp_path / "light.ini"), QSettings.Format.IniFormat)
    settings.setValue("theme", "light")
    c = Controller(journal_path=tmp_path / "journal.sqlite")
    w = MainWindow(c, settings)
    ws = install_plan(w)
    qtbot.addWidget(w)
    try:
        assert not w.dark and not ws.dark
        c.set_plant(load_plant(plant))
        w.resize(1400, 900)
        w.show()
        qtbot.waitExposed(w)
        w.plan_action.trigger()
        qtbot.waitUntil(lambda: ws.session is not None and ws.view.scene is not None)
        assert _background(ws.view) > 0.8 and _floor(ws.view) > 200
        qtbot.wait(50)  # the tab's queued camera reset runs before the window closes
    finally:
        if ws.session is not None:
            ws.session.dirty = False
        w.close()
        from factory_twin.ui.theme import apply_theme

        apply_theme(QApplication.instance(), True)  # type: ignore[arg-type]


def test_a_tab_switch_just_before_the_window_closes_leaves_no_error(
    qtbot, tmp_path: Path, plant: Path
) -> None:  # type: ignore[no-untyped-def]
    """The Plan tab queues a reset of its view; the window closing first left it to run on a
    released render window (AttributeError: no 'window_size')."""
    gen = plan_window(qtbot, tmp_path, plant)
    w = next(gen)
    w.tabs.setCurrentIndex(0)
    w.tabs.setCurrentWidget(w.plan)  # queues the reset
    for view in (w.plan.view, w.view):
        view.close_view()
    with qtbot.captureExceptions() as errors:
        QApplication.processEvents()
    assert errors == []
    w.plan.session.dirty = False
    w.close()
