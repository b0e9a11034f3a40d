"""The 3-D view keeps the whole floor framed when its shape changes, until somebody moves the
camera; and a view built while hidden is framed for the shape it is shown in."""

from __future__ import annotations

import numpy as np
import pytest

from factory_twin.model.config import load_plant
from factory_twin.ui.qt_scene_view import QtSceneView

pytestmark = pytest.mark.gui


def _cam(view: QtSceneView) -> np.ndarray:
    return np.array(view.plotter.camera_position.to_list(), dtype=float)


def test_the_overview_follows_the_views_shape_until_the_camera_moves(qtbot, mini_plant_path):
    view = QtSceneView()
    qtbot.addWidget(view, before_close_func=lambda v: v.close_view())  # render window released
    view.resize(900, 500)
    view.show()
    qtbot.waitExposed(view)
    view.set_plant(load_plant(mini_plant_path).spec, None)
    wide = _cam(view)
    # narrower and taller: the overview backs off to keep the floor's width in view
    view.resize(420, 800)
    qtbot.waitUntil(lambda: not np.allclose(_cam(view), wide), timeout=3000)
    assert view.scene is not None
    np.testing.assert_allclose(_cam(view), np.array(view.scene.overview_camera()), atol=1e-6)
    tall = _cam(view)
    assert np.linalg.norm(tall[0] - tall[1]) > np.linalg.norm(wide[0] - wide[1])
    # somebody moves the camera (a workspace, the user): a resize leaves it where it is
    moved = view.scene.tool_camera(view.scene.ids[0])
    view.scene.set_camera(moved)
    view.resize(900, 500)
    qtbot.wait(200)
    np.testing.assert_allclose(_cam(view), np.array(moved, dtype=float), atol=1e-6)
    # Reset view frames the floor again, and it follows the shape again
    view.reset_view()
    view.resize(420, 800)
    qtbot.waitUntil(
        lambda: np.allclose(_cam(view), np.array(view.scene.overview_camera()), atol=1e-6),
        timeout=3000,
    )


def test_a_view_built_hidden_is_framed_when_shown(qtbot, mini_plant_path):
    view = QtSceneView()
    qtbot.addWidget(view, before_close_func=lambda v: v.close_view())  # render window released
    view.set_plant(load_plant(mini_plant_path).spec, None)  # never shown yet
    view.resize(400, 900)
    view.show()
    qtbot.waitExposed(view)
    assert view.scene is not None
    qtbot.waitUntil(
        lambda: np.allclose(_cam(view), np.array(view.scene.overview_camera()), atol=1e-6),
        timeout=3000,
    )
