"""The Plan view's rotate knob faces the camera: a disc from any side, never an edge-on line.

Under Xvfb, on the demo fab: the selection's knob is drawn, the camera is put level with
it (looking from the side, where a disc flat on the floor is a line), the view renders, and
the knob's points, its pixels and its hit test are read back."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from _plan_window import demo_plan_window, plan_ws
from plan_helpers import render as _render

from factory_twin.ui.plan_scene import RING_RGB
from factory_twin.ui.qt_plan_workspace import QtPlanWorkspace

pytestmark = pytest.mark.gui

PLANTS = Path(__file__).resolve().parents[2] / "plant_configs"


@pytest.fixture
def win(qtbot, tmp_path):
    yield from demo_plan_window(qtbot, tmp_path)


_ws = plan_ws


def _disc(ws: QtPlanWorkspace) -> np.ndarray:
    assert ws.overlay is not None
    mesh = ws.overlay.marks["knob"][0]
    return np.asarray(mesh.points)[:-2]  # the rim (the last two points are the stalk)


def _cyan_pixels_near(ws: QtPlanWorkspace, radius_px: int = 40) -> int:
    assert ws.overlay is not None and ws.overlay.knob is not None
    x, y, z = ws.overlay.knob
    at = ws.widget_position_of_floor((x, y), z)
    img = ws.view.screenshot()
    r = ws.interactor.devicePixelRatioF() or 1.0
    cx, cy = round(at.x() * r), round(at.y() * r)
    h, w = img.shape[:2]
    box = img[
        max(cy - radius_px, 0) : min(cy + radius_px, h),
        max(cx - radius_px, 0) : min(cx + radius_px, w),
        :3,
    ]
    diff = np.abs(box.astype(int) - np.array(RING_RGB)).sum(-1)
    return int((diff < 60).sum())


@pytest.mark.parametrize("side", [(1.0, 0.0), (0.0, 1.0), (-0.7, -0.7)])
def test_the_knob_faces_a_camera_looking_from_the_side(qtbot, win, side):
    ws = _ws(win)
    ws.new_scenario("facing")
    ws.select(["ETCH-01"])
    ov = ws.overlay
    assert ov is not None and ov.mark_visible("knob")
    _render(ws)
    # from the overview (looking down at an angle) the disc faces the camera already
    cam = ws.view.plotter.camera
    x, y, z = ov.knob
    pts = _disc(ws)
    to_cam = np.subtract(cam.position, ov.knob)
    to_cam /= np.linalg.norm(to_cam)
    assert np.abs((pts - ov.knob) @ to_cam).max() < 1e-6 * (1 + np.linalg.norm(cam.position))
    top_down_pixels = _cyan_pixels_near(ws)
    assert top_down_pixels > 20
    # level with the knob, from the side: a flat disc would be a line of no pixels
    dx, dy = side
    cam.focal_point = (x, y, z)
    cam.position = (x + 40.0 * dx, y + 40.0 * dy, z)
    cam.up = (0.0, 0.0, 1.0)
    _render(ws)
    pts = _disc(ws)
    normal = np.array([dx, dy, 0.0]) / np.hypot(dx, dy)
    # the rim stands upright, in the plane at right angles to the line of sight
    assert np.abs((pts - ov.knob) @ normal).max() < 1e-6
    assert np.ptp(pts[:, 2]) == pytest.approx(2 * ov.knob_radius_m, rel=0.02)
    assert _cyan_pixels_near(ws) > 20
    # the hit test measures the disc as drawn: its centre and rim take the knob
    at = ws.widget_position_of_floor((x, y), z)
    assert ws.input.knob_at(at)
    rim = ov.knob_rim()
    assert rim is not None
    edge = ws.widget_position_of_floor(rim[:2], rim[2])
    assert (edge - at).manhattanLength() >= 4  # the disc has a size on screen
    assert not ws.input.knob_at(at + 4 * (edge - at))
