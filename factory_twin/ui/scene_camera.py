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
    need = np.maximum(np.abs(v @ right) / tan_h, np.abs(v @ up) / tan_v) + along
    dist = max(float(need.max()) * margin, 2.0)
    pos = c + dist * d
    return (
        (float(pos[0]), float(pos[1]), float(pos[2])),
        (float(c[0]), float(c[1]), float(c[2])),
        (float(up[0]), float(up[1]), float(up[2])),
    )


def interpolate_camera(a: tuple, b: tuple, t: float) -> tuple:
    """Return the camera a fraction ``t`` of the way from ``a`` to ``b`` (smooth-step)."""
    s = t * t * (3 - 2 * t)
    return tuple(
        tuple(float(x) + s * (float(y) - float(x)) for x, y in zip(pa, pb, strict=True))
        for pa, pb in zip(a, b, strict=True)
    )
