"""Floor geometry: tool footprints, overlap tests and transport distances (metres)."""

from __future__ import annotations

import math
from collections.abc import Sequence

Point = tuple[float, float]


def footprint_polygon(
    extent: tuple[float, float, float, float], position: Point, rotation_deg: float
) -> list[Point]:
    """Return the four floor corners of a tool.

    Parameters
    ----------
    extent
        (xmin, ymin, xmax, ymax) of the tool in its own frame.
    position
        Where the tool's origin stands on the floor.
    rotation_deg
        Counter-clockwise rotation seen from above.
    """
    xmin, ymin, xmax, ymax = extent
    c, s = math.cos(math.radians(rotation_deg)), math.sin(math.radians(rotation_deg))
    px, py = position
    return [
        (px + c * x - s * y, py + s * x + c * y)
        for x, y in ((xmin, ymin), (xmax, ymin), (xmax, ymax), (xmin, ymax))
    ]


def _axes(poly: Sequence[Point]) -> list[Point]:
    out = []
    for i in range(len(poly)):
        x1, y1 = poly[i]
        x2, y2 = poly[(i + 1) % len(poly)]
        out.append((y1 - y2, x2 - x1))
    return out


def polygons_overlap(a: Sequence[Point], b: Sequence[Point], *, tol: float = 1e-6) -> bool:
    """Return True if two convex polygons overlap by more than ``tol`` (touching is fine).

    Uses the separating axis theorem.
    """
    for ax, ay in _axes(a) + _axes(b):
        norm = math.hypot(ax, ay)
        if norm == 0:
            continue
        pa = [(x * ax + y * ay) / norm for x, y in a]
        pb = [(x * ax + y * ay) / norm for x, y in b]
        if max(pa) <= min(pb) + tol or max(pb) <= min(pa) + tol:
            return False
    return True


def manhattan_m(a: Point, b: Point) -> float:
    """Return the aisle distance between two floor points (moves along x, then y)."""
    return abs(a[0] - b[0]) + abs(a[1] - b[1])


def _projections(poly: Sequence[Point], ax: float, ay: float) -> tuple[float, float]:
    ps = [x * ax + y * ay for x, y in poly]
    return min(ps), max(ps)


def penetration_depth_m(a: Sequence[Point], b: Sequence[Point]) -> float:
    """Return how far two convex polygons overlap: the shortest push that separates them.

    The minimum translation distance of the separating axis theorem, over the edge normals of
    both polygons; 0 when they are apart or only touch.

    Examples
    --------
    >>> sq = [(0.0, 0.0), (2.0, 0.0), (2.0, 2.0), (0.0, 2.0)]
    >>> penetration_depth_m(sq, [(x + 1.5, y + 0.2) for x, y in sq])
    0.5
    """
    depth = math.inf
    for ax, ay in _axes(a) + _axes(b):
        norm = math.hypot(ax, ay)
        if norm == 0:
            continue
        amin, amax = _projections(a, ax / norm, ay / norm)
        bmin, bmax = _projections(b, ax / norm, ay / norm)
        d = min(amax - bmin, bmax - amin)
        if d <= 0:
            return 0.0
        depth = min(depth, d)
    return 0.0 if math.isinf(depth) else depth


def _point_segment_m(p: Point, a: Point, b: Point) -> float:
    dx, dy = b[0] - a[0], b[1] - a[1]
    ll = dx * dx + dy * dy
    t = 0.0 if ll == 0 else max(0.0, min(1.0, ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / ll))
    return math.hypot(p[0] - a[0] - t * dx, p[1] - a[1] - t * dy)


def polygon_gap_m(a: Sequence[Point], b: Sequence[Point]) -> float:
    """Return the free distance between two convex polygons (0 if they touch or overlap).

    Examples
    --------
    >>> sq = [(0.0, 0.0), (1.0, 0.0), (1.0, 1.0), (0.0, 1.0)]
    >>> polygon_gap_m(sq, [(x + 4.0, y + 5.0) for x, y in sq])
    5.0
    """
    if penetration_depth_m(a, b) > 0:
        return 0.0
    best = math.inf
    for p, q in ((a, b), (b, a)):
        for pt in p:
            for i in range(len(q)):
                best = min(best, _point_segment_m(pt, q[i], q[(i + 1) % len(q)]))
    return best
