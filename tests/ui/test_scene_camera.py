"""The overview camera fills narrow, tall views by looking down more steeply."""

from __future__ import annotations

import math

import numpy as np
import pytest

from factory_twin.ui.scene_camera import camera_for_bounds, filling_elevation

FLOOR = (0.0, 120.0, 0.0, 60.0, 0.0, 3.0)  # twice as wide as deep, like most fabs


def _extent(cam: tuple, aspect: float, box=FLOOR) -> tuple[float, float]:
    """The largest |x| and |y| of the box's corners on screen (1.0: the view's edge)."""
    pos, focal, up = (np.array(p) for p in cam)
    fwd = focal - pos
    fwd /= np.linalg.norm(fwd)
    right = np.cross(fwd, up)
    right /= np.linalg.norm(right)
    up = np.cross(right, fwd)
    tan_v = math.tan(math.radians(30.0) / 2)
    xs, ys = [], []
    for x in box[:2]:
        for y in box[2:4]:
            for z in box[4:]:
                v = np.array([x, y, z]) - pos
                depth = v @ fwd
                xs.append(abs(v @ right) / (depth * tan_v * aspect))
                ys.append(abs(v @ up) / (depth * tan_v))
    return max(xs), max(ys)


def test_a_wide_view_keeps_the_usual_elevation() -> None:
    assert filling_elevation(FLOOR, aspect=1.8) == 52.0
    assert filling_elevation(FLOOR, aspect=1.3) == 52.0


@pytest.mark.parametrize("aspect", [0.6, 0.85, 1.0])
def test_a_tall_view_looks_down_more_and_fills_its_height(aspect: float) -> None:
    el = filling_elevation(FLOOR, aspect=aspect)
    assert 52.0 < el <= 72.0
    usual = camera_for_bounds(FLOOR, aspect=aspect)
    steep = camera_for_bounds(FLOOR, elevation_deg=el, aspect=aspect)
    wx0, hy0 = _extent(usual, aspect)
    wx1, hy1 = _extent(steep, aspect)
    assert max(wx1, hy1) <= 1.0 + 1e-9  # the whole floor stays inside the view
    assert hy1 > hy0 * 1.15  # the floor uses more of the view's height
    assert wx1 >= wx0 - 0.02  # and no less of its width
    assert (
        np.linalg.norm(np.array(steep[0]) - steep[1])
        <= np.linalg.norm(np.array(usual[0]) - usual[1]) * 1.01
    )  # no farther away: the floor is drawn at least as large


def test_the_elevation_stops_at_the_steepest() -> None:
    assert filling_elevation(FLOOR, aspect=0.2) == 72.0


def test_the_overview_keeps_the_floor_clear_of_a_top_right_overlay() -> None:
    from factory_twin.ui.scene_camera import camera_clear_of, overlaps, project

    box = (0.0, 100.0, 0.0, 50.0, 0.0, 3.0)
    corners = np.array([(x, y, z) for x in box[:2] for y in box[2:4] for z in box[4:]])
    aspect = 1.5
    legend = (0.4, 0.2, 1.0, 1.0)  # a tall legend in the top right corner
    plain = project(camera_for_bounds(box, aspect=aspect), corners, aspect=aspect)
    assert overlaps(plain, legend)  # the usual framing puts the floor under it
    cam = camera_clear_of(box, legend, aspect=aspect)
    xy = project(cam, corners, aspect=aspect)
    assert not overlaps(xy, legend)
    assert (np.abs(xy) <= 1.0).all()  # the whole floor still in view
    # lowered only as far as needed: the floor is not much smaller than before
    assert np.ptp(xy[:, 0]) >= 0.7 * np.ptp(plain[:, 0])
    # no overlay, or one the floor does not reach: the usual framing
    assert camera_clear_of(box, None, aspect=aspect) == camera_for_bounds(box, aspect=aspect)
    corner_only = (0.95, 0.95, 1.0, 1.0)
    assert not overlaps(plain, corner_only)
    assert camera_clear_of(box, corner_only, aspect=aspect) == camera_for_bounds(
        box, aspect=aspect
    )
