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
