"""Quality and fast rendering: the View-menu switch, its saved setting, the automatic choice
on software GL, and what each mode really turns on."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QSettings

from factory_twin.app.controller import Controller
from factory_twin.model.config import load_plant
from factory_twin.ui import render_quality as rq
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_render_quality_install import SETTINGS_KEY, install_quality

pytestmark = pytest.mark.gui


def _window(qtbot, tmp_path: Path, plant: Path) -> MainWindow:
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(Controller(journal_path=tmp_path / "journal.sqlite"), settings)
    qtbot.addWidget(w)
    install_quality(w)
    w.controller.set_plant(load_plant(plant))
    w.resize(1000, 700)
    w.show()
    qtbot.waitExposed(w)
    return w


def _grab(w: MainWindow) -> np.ndarray:
    w.view.scene.set_camera(w.view.scene.overview_camera())
    w.view.plotter.render()
    return np.asarray(w.view.plotter.screenshot(return_img=True)).astype(int)


def test_software_gl_is_recognised():
    assert rq.is_software_gl("llvmpipe (LLVM 15.0.6, 256 bits)")
    assert rq.is_software_gl("softpipe")
    assert not rq.is_software_gl("AMD Radeon RX 6600 (radeonsi, navi23, LLVM 15.0.6)")
    assert not rq.is_software_gl("")


def test_fast_mode_is_chosen_on_software_gl_and_quality_is_saved(qtbot, tmp_path, mini_plant_path):
    w = _window(qtbot, tmp_path, mini_plant_path)
    renderer = rq.gl_renderer(w.view.plotter.ren_win)
    assert renderer  # the window's GL context names its renderer
    software = rq.is_software_gl(renderer)
    # nothing saved yet: fast on software GL (this machine, CI), quality on a GPU
    assert w.quality_action.isChecked() is (not software)
    assert w.quality_action.shortcut().toString() == "Ctrl+Shift+Q"
    assert w.quality_action in w.menuBar().actions()[1].menu().actions()  # the View menu
    scene = w.view.scene
    w.quality_action.setChecked(False)
    assert scene.quality is False
    assert scene.tools_actor.prop.interpolation.name == "FLAT"
    assert w.view.plotter.renderer.GetPass() is None  # no SSAO pass
    fast = _grab(w)

    w.quality_action.setChecked(True)
    assert scene.quality is True
    assert scene.tools_actor.prop.interpolation.name == "PBR"
    assert w.view.plotter.renderer.GetPass() is not None  # the SSAO pass
    assert len(w.view.plotter.renderer.lights) >= 3  # key, fill, back (and head) lights
    quality = _grab(w)
    assert w.settings.value(SETTINGS_KEY) == "on"
    # a different picture, but the same scene: most pixels change little
    diff = np.abs(quality - fast).sum(axis=2)
    assert (diff > 30).mean() > 0.02
    assert np.median(diff) < 60
    w.close()

    # the choice is remembered, and applied to the next plant's scene too
    w2 = _window(qtbot, tmp_path, mini_plant_path)
    assert w2.quality_action.isChecked()
    assert w2.view.scene.quality is True
    w2.quality_action.setChecked(False)
    assert w2.settings.value(SETTINGS_KEY) == "off"
    assert w2.view.quality is False
    assert w2.view.scene.tools_actor.prop.interpolation.name == "FLAT"
    w2.close()


def test_the_switch_reaches_every_workspace_view(qtbot, tmp_path, mini_plant_path):
    from factory_twin.ui.qt_maintain_workspace import install_maintain
    from factory_twin.ui.qt_scene_view import QtSceneView

    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(Controller(journal_path=tmp_path / "journal.sqlite"), settings)
    qtbot.addWidget(w)
    install_maintain(w)
    install_quality(w)
    w.controller.set_plant(load_plant(mini_plant_path))
    w.show()
    qtbot.waitExposed(w)
    views = w.findChildren(QtSceneView)
    assert len(views) >= 2  # Monitor's and Maintain's
    w.quality_action.setChecked(True)
    assert all(v.quality for v in views)
    w.quality_action.setChecked(False)
    assert not any(v.quality for v in views)
    w.close()
