"""The rotate knob's geometry: a disc that faces the camera from any side (no Qt)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from factory_twin.app.plan_knob import (
    facing_normal,
    knob_axes,
    knob_disc,
    projected_area_fraction,
    stalk_end,
)

CENTRE = (5.0, 12.0, 4.0)
R = 0.6

# camera positions round the knob: above, at an angle, level from each side, below-level
CAMERAS = [
    (5.0, 12.0, 60.0),
    (40.0, -20.0, 30.0),
    (80.0, 12.0, 4.0),
    (5.0, -70.0, 4.0),
    (-30.0, 40.0, 4.0),
    (5.0, 12.5, -20.0),
]


def _disc_for(camera: tuple[float, float, float], up=(0.0, 0.0, 1.0)) -> tuple:
    n = facing_normal(CENTRE, camera, CENTRE)
    right, vup, n2 = knob_axes(n, up)
    return n, right, vup, n2, knob_disc(CENTRE, R, right, vup, 48)


@pytest.mark.parametrize("camera", CAMERAS)
def test_the_disc_faces_the_camera_from_every_side(camera):
    n, right, up, n2, pts = _disc_for(camera)
    to_cam = np.subtract(camera, CENTRE)
    to_cam /= np.linalg.norm(to_cam)
    np.testing.assert_allclose(n, to_cam, atol=1e-12)
    assert n2 == pytest.approx(n)
    # an orthonormal frame: right, up and the normal at right angles, unit length
    frame = np.array([right, up, n2])
    np.testing.assert_allclose(frame @ frame.T, np.eye(3), atol=1e-12)
    # every rim point at the radius from the centre, in the plane facing the camera
    d = pts - np.array(CENTRE)
    np.testing.assert_allclose(np.linalg.norm(d, axis=1), R, rtol=1e-12)
    np.testing.assert_allclose(d @ np.array(n), 0.0, atol=1e-12)
    # the camera sees the whole disc face on: its projected area is pi r^2, never a line
    view = -to_cam
    assert projected_area_fraction(n, view) == pytest.approx(1.0)
    e1 = np.cross(view, [0.0, 0.0, 1.0] if abs(view[2]) < 0.9 else [1.0, 0.0, 0.0])
    e1 /= np.linalg.norm(e1)
    e2 = np.cross(view, e1)
    xy = np.column_stack([d @ e1, d @ e2])
    area = 0.5 * abs(np.sum(xy[:, 0] * np.roll(xy[:, 1], -1) - np.roll(xy[:, 0], -1) * xy[:, 1]))
    assert area == pytest.approx(math.pi * R * R, rel=0.01)


def test_a_flat_disc_seen_from_the_side_is_a_line_the_facing_one_is_not():
    """What the knob fixes: a floor-flat disc has no area seen level from the side."""
    side_view = (-1.0, 0.0, 0.0)
    assert projected_area_fraction((0.0, 0.0, 1.0), side_view) == pytest.approx(0.0)
    n = facing_normal(CENTRE, (80.0, 12.0, 4.0), CENTRE)
    assert projected_area_fraction(n, side_view) == pytest.approx(1.0)


def test_seen_from_straight_above_the_disc_lies_flat_as_before():
    _n, right, up, _n2, pts = _disc_for((5.0, 12.0, 60.0), up=(0.0, 1.0, 0.0))
    np.testing.assert_allclose(pts[:, 2], CENTRE[2], atol=1e-12)
    assert right == pytest.approx((1.0, 0.0, 0.0)) and up == pytest.approx((0.0, 1.0, 0.0))


def test_right_axis_is_level_with_the_screen():
    """The disc's first axis is across the view's up, so its rim point along it is level
    on screen (the knob's hit test measures the radius there)."""
    up = (0.0, 0.0, 1.0)
    for cam in CAMERAS[1:5]:
        n = facing_normal(CENTRE, cam, CENTRE)
        right, vup, _ = knob_axes(n, up)
        assert np.dot(right, up) == pytest.approx(0.0, abs=1e-12)
        assert np.dot(vup, up) > 0  # the disc's up is the screen's up, not upside down


def test_parallel_projection_uses_the_direction_of_view():
    # the camera is beside the knob but looks along -y: the disc faces +y
    n = facing_normal(CENTRE, (50.0, 40.0, 4.0), (50.0, 0.0, 4.0), parallel=True)
    assert n == pytest.approx((0.0, 1.0, 0.0))
    # perspective: towards the camera's position instead
    n = facing_normal(CENTRE, (50.0, 12.0, 4.0), (50.0, 0.0, 4.0))
    assert n == pytest.approx((1.0, 0.0, 0.0))


def test_degenerate_cameras_still_give_a_frame():
    # the camera on the knob: straight up
    assert facing_normal(CENTRE, CENTRE, (0.0, 0.0, 0.0)) == (0.0, 0.0, 1.0)
    # the view up along the normal (looking straight down with up = +z)
    right, up, n = knob_axes((0.0, 0.0, 1.0), (0.0, 0.0, 1.0))
    frame = np.array([right, up, n])
    np.testing.assert_allclose(frame @ frame.T, np.eye(3), atol=1e-12)
    # a zero normal falls back to +z
    assert knob_axes((0.0, 0.0, 0.0), (0.0, 1.0, 0.0))[2] == (0.0, 0.0, 1.0)


@pytest.mark.parametrize("camera", CAMERAS)
def test_the_stalk_meets_the_rim_nearest_the_box(camera):
    n = facing_normal(CENTRE, camera, CENTRE)
    start = (CENTRE[0], CENTRE[1] - 4 * R, CENTRE[2])  # the middle of the box's edge
    end = stalk_end(CENTRE, R, n, start)
    d = np.subtract(end, CENTRE)
    if np.linalg.norm(d) < 1e-9:  # start on the disc's axis: the stalk goes to the centre
        assert abs(np.dot(np.subtract(start, CENTRE), n)) == pytest.approx(4 * R)
        return
    assert np.linalg.norm(d) == pytest.approx(R)
    assert np.dot(d, n) == pytest.approx(0.0, abs=1e-12)
    # no rim point is nearer the stalk's start
    right, up, _ = knob_axes(n, (0.0, 0.0, 1.0))
    rim = knob_disc(CENTRE, R, right, up, 360)
    nearest = np.min(np.linalg.norm(rim - np.array(start), axis=1))
    assert np.linalg.norm(np.subtract(end, start)) <= nearest + 1e-9


def test_stalk_end_on_the_axis_is_the_centre():
    assert stalk_end(CENTRE, R, (0.0, -1.0, 0.0), (5.0, 9.0, 4.0)) == pytest.approx(CENTRE)
