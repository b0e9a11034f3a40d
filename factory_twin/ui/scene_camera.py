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


def project(
    cam: tuple, points: np.ndarray, *, aspect: float, view_angle_deg: float = 30.0
) -> np.ndarray:
    """The points' normalised view coordinates (x right, y up, -1..1 across the view) as
    camera ``cam`` sees them in a view ``aspect`` times as wide as high."""
    pos, focal, up = (np.asarray(v, dtype=float) for v in cam)
    d = pos - focal
    d /= np.linalg.norm(d)
    right = np.cross(up, d)
    right /= np.linalg.norm(right)
    up = np.cross(d, right)
    tan_v = math.tan(math.radians(view_angle_deg) / 2)
    q = np.asarray(points, dtype=float) - pos
    depth = np.maximum(-(q @ d), 1e-6)
    return np.column_stack([(q @ right) / (depth * tan_v * aspect), (q @ up) / (depth * tan_v)])


def _hull(pts: np.ndarray) -> np.ndarray:
    """The convex hull of 2-D points, anticlockwise (Andrew's monotone chain)."""
    ps = sorted({(float(x), float(y)) for x, y in pts})
    if len(ps) < 3:
        return np.array(ps)

    def half(seq: list[tuple[float, float]]) -> list[tuple[float, float]]:
        out: list[tuple[float, float]] = []
        for p in seq:
            while len(out) >= 2:
                (ax, ay), (bx, by) = out[-2], out[-1]
                if (bx - ax) * (p[1] - ay) - (by - ay) * (p[0] - ax) > 0:
                    break
                out.pop()
            out.append(p)
        return out

    lower, upper = half(ps), half(ps[::-1])
    return np.array(lower[:-1] + upper[:-1])


def overlaps(pts: np.ndarray, rect: Sequence[float]) -> bool:
    """Whether the convex hull of 2-D points ``pts`` overlaps ``rect`` (x0, y0, x1, y1)."""
    hull = _hull(pts)
    x0, y0, x1, y1 = rect
    if hull[:, 0].max() <= x0 or hull[:, 0].min() >= x1:
        return False
    if hull[:, 1].max() <= y0 or hull[:, 1].min() >= y1:
        return False
    corners = np.array([(x0, y0), (x1, y0), (x1, y1), (x0, y1)])
    for a, b in zip(hull, np.roll(hull, -1, axis=0), strict=True):
        n = np.array([b[1] - a[1], a[0] - b[0]])  # the edge's outward normal (anticlockwise)
        if ((corners - a) @ n >= 0).all():
            return False  # the rectangle is wholly outside this edge
    return True


def camera_in_band(
    bounds: Sequence[float],
    top: float,
    *,
    elevation_deg: float = 52.0,
    azimuth_deg: float = -80.0,
    aspect: float = 1.4,
    view_angle_deg: float = 30.0,
    margin: float = 1.06,
) -> tuple:
    """Like :func:`camera_for_bounds`, but the box is framed in the part of the view below
    ``top`` (normalised: 1 is the view's top edge, -1 its bottom)."""
    c, d, up, need_w, need_h = _needs(bounds, elevation_deg, azimuth_deg, aspect, view_angle_deg)
    corners = np.array([(x, y, z) for x in bounds[:2] for y in bounds[2:4] for z in bounds[4:]])
    tan_v = math.tan(math.radians(view_angle_deg) / 2)
    mid = (top - 1.0) / 2  # the band's middle
    lim = 1.0 / margin

    def cam(dist: float) -> tuple:
        focal = c - mid * dist * tan_v * up
        return tuple(tuple(float(v) for v in x) for x in (focal + dist * d, focal, up))

    def fits(dist: float) -> bool:
        xy = project(cam(dist), corners, aspect=aspect, view_angle_deg=view_angle_deg)
        half = (top + 1.0) / 2 * lim
        return bool((abs(xy[:, 0]) <= lim).all() and (abs(xy[:, 1] - mid) <= half).all())

    lo = hi = max(float(np.maximum(need_w, need_h).max()) * margin, 2.0)
    while not fits(hi) and hi < lo * 64:
        hi *= 1.5
    for _ in range(40):  # the least distance that fits
        m = (lo + hi) / 2
        lo, hi = (lo, m) if fits(m) else (m, hi)
        if hi - lo < 1e-3 * hi:
            break
    return cam(hi)


def camera_clear_of(
    bounds: Sequence[float],
    keep_clear: Sequence[float] | None,
    *,
    elevation_deg: float = 52.0,
    aspect: float = 1.4,
    view_angle_deg: float = 30.0,
) -> tuple:
    """:func:`camera_for_bounds`, the box framed lower (and so smaller) just as far as it
    takes to keep it out of the rectangle ``keep_clear`` (x0, y0, x1, y1, normalised view
    coordinates: an overlay in the view's top, like the state legend); None: no overlay."""
    kw = {"elevation_deg": elevation_deg, "aspect": aspect, "view_angle_deg": view_angle_deg}
    cam = camera_for_bounds(bounds, **kw)
    if keep_clear is None:
        return cam
    corners = np.array([(x, y, z) for x in bounds[:2] for y in bounds[2:4] for z in bounds[4:]])

    def clear(c: tuple) -> bool:
        return not overlaps(project(c, corners, aspect=aspect, view_angle_deg=view_angle_deg),
                            keep_clear)  # fmt: skip

    if clear(cam):
        return cam
    lo, hi = float(keep_clear[1]), 1.0  # the band's top: below the overlay it is clear
    if not clear(camera_in_band(bounds, lo, **kw)):
        return cam  # the overlay reaches too far down: nothing gained
    for _ in range(12):  # the highest band's top that keeps the box clear of the overlay
        m = (lo + hi) / 2
        lo, hi = (m, hi) if clear(camera_in_band(bounds, m, **kw)) else (lo, m)
    return camera_in_band(bounds, lo, **kw)


def interpolate_camera(a: tuple, b: tuple, t: float) -> tuple:
    """Return the camera a fraction ``t`` of the way from ``a`` to ``b`` (smooth-step)."""
    s = t * t * (3 - 2 * t)
    return tuple(
        tuple(float(x) + s * (float(y) - float(x)) for x, y in zip(pa, pb, strict=True))
        for pa, pb in zip(a, b, strict=True)
    )
