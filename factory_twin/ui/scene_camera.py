"""Camera presets of the 3-D fab scene: framing a box, and flying between two cameras.

A camera is a ``(position, focal point, view up)`` tuple, as pyvista's
``camera_position`` takes it (no Qt here).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np


def camera_for_bounds(
    bounds: Sequence[float],
    *,
    elevation_deg: float = 52.0,
    azimuth_deg: float = -80.0,
    aspect: float = 1.4,
    view_angle_deg: float = 30.0,
    margin: float = 1.06,
) -> tuple[tuple[float, float, float], tuple[float, float, float], tuple[float, float, float]]:
    """Return (position, focal point, view up) that frames an axis-aligned box tightly.

    The camera looks down at ``elevation_deg`` from the direction ``azimuth_deg`` (0 = from
    +x, -90 = from -y, i.e. from the front of the floor); its distance is the least that
    keeps all eight corners of the box inside the view (vertical angle ``view_angle_deg``,
    width/height ``aspect``), times ``margin``.
    """
    c, d, up, need_w, need_h = _needs(bounds, elevation_deg, azimuth_deg, aspect, view_angle_deg)
    dist = max(float(np.maximum(need_w, need_h).max()) * margin, 2.0)
    pos = c + dist * d
    return (
        (float(pos[0]), float(pos[1]), float(pos[2])),
        (float(c[0]), float(c[1]), float(c[2])),
        (float(up[0]), float(up[1]), float(up[2])),
    )


def _needs(
    bounds: Sequence[float],
    elevation_deg: float,
    azimuth_deg: float,
    aspect: float,
    view_angle_deg: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The box's centre, the direction to the camera, the view-up, and per corner the
    distance the width and the height of the view need."""
    xmin, xmax, ymin, ymax, zmin, zmax = (float(b) for b in bounds)
    c = np.array([(xmin + xmax) / 2, (ymin + ymax) / 2, (zmin + zmax) / 2])
    el, az = math.radians(elevation_deg), math.radians(azimuth_deg)
    d = np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
    right = np.cross(np.array([0.0, 0.0, 1.0]), d)
    right /= np.linalg.norm(right)
    up = np.cross(d, right)
    tan_v = math.tan(math.radians(view_angle_deg) / 2)
    tan_h = tan_v * max(aspect, 0.1)
    corners = np.array(
        [(x, y, z) for x in (xmin, xmax) for y in (ymin, ymax) for z in (zmin, zmax)]
    )
    v = corners - c
    along = v @ d
    return c, d, up, np.abs(v @ right) / tan_h + along, np.abs(v @ up) / tan_v + along


def filling_elevation(
    bounds: Sequence[float],
    *,
    aspect: float,
    lowest_deg: float = 52.0,
    highest_deg: float = 72.0,
    tall_below: float = 1.25,
    azimuth_deg: float = -80.0,
    view_angle_deg: float = 30.0,
) -> float:
    """Return the elevation at which a box framed by :func:`camera_for_bounds` fills the view.

    A view at least ``tall_below`` times as wide as high keeps ``lowest_deg`` (the usual
    perspective). In a narrower view a wide floor is framed by its width and leaves bands above
    and below it; looking down more steeply shows its depth taller, so this returns the lowest
    elevation (in 2° steps, at most ``highest_deg``) at which the height of the view binds as
    much as its width.
    """
    el = lowest_deg
    if aspect >= tall_below:
        return el
    while el < highest_deg:
        _, _, _, need_w, need_h = _needs(bounds, el, azimuth_deg, aspect, view_angle_deg)
        if need_h.max() >= need_w.max():
            break
        el += 2.0
    return min(el, highest_deg)


def interpolate_camera(a: tuple, b: tuple, t: float) -> tuple:
    """Return the camera a fraction ``t`` of the way from ``a`` to ``b`` (smooth-step)."""
    s = t * t * (3 - 2 * t)
    return tuple(
        tuple(float(x) + s * (float(y) - float(x)) for x, y in zip(pa, pb, strict=True))
        for pa, pb in zip(a, b, strict=True)
    )
