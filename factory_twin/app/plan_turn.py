"""Turning a selection of tools on the floor about its centre (the Plan view's Ctrl-drag; no Qt).

The pointer's angle about the selection's centre, measured from where the drag began, is
how far the selection turns: each tool's origin goes round the centre and its rotation
grows by that much. The pressed tool's rotation snaps to :data:`ANGLE_STEP_DEG` unless the
drag asks for a free angle, the others turn by the same amount. As a move drag snaps the
dragged tool's origin to the grid and carries the others along, :func:`onto_grid` shifts
the turned selection as one piece so that the pressed tool's origin is on the grid.

Examples
--------
>>> snap_angle(37.0)
30.0
>>> turn_about({"A": ((2.0, 0.0), 0.0)}, (0.0, 0.0), 90.0)["A"]
((0.0, 2.0), 90.0)
>>> onto_grid({"A": ((1.3, 0.0), 90.0), "B": ((2.3, 0.0), 90.0)}, "A", 0.5)["B"]
((2.5, 0.0), 90.0)
"""

from __future__ import annotations

import math

ANGLE_STEP_DEG = 15.0
"""What a rotation drag snaps to (Shift: a free angle)."""

Placement = tuple[tuple[float, float], float]


def snap_angle(deg: float, step_deg: float = ANGLE_STEP_DEG) -> float:
    """Return ``deg`` to the nearest ``step_deg`` in [0, 360) (a step of 0 or less: as is)."""
    if step_deg > 0:
        deg = round(deg / step_deg) * step_deg
    return round(deg % 360.0, 6) % 360.0


def pointer_angle(centre: tuple[float, float], point: tuple[float, float]) -> float:
    """Return the direction (degrees, counter-clockwise from +x) of ``point`` seen from
    ``centre``."""
    return math.degrees(math.atan2(point[1] - centre[1], point[0] - centre[0]))


def turn_about(
    start: dict[str, Placement], centre: tuple[float, float], delta_deg: float
) -> dict[str, Placement]:
    """Return every tool of ``start`` turned ``delta_deg`` about ``centre``: the origin goes
    round the centre, the rotation grows (in [0, 360)); positions rounded to 1 µm."""
    a = math.radians(delta_deg)
    c, s = math.cos(a), math.sin(a)
    cx, cy = centre
    out: dict[str, Placement] = {}
    for t, ((x, y), rot) in start.items():
        dx, dy = x - cx, y - cy
        pos = (round(cx + c * dx - s * dy, 6) + 0.0, round(cy + s * dx + c * dy, 6) + 0.0)
        out[t] = (pos, round((rot + delta_deg) % 360.0, 6) % 360.0)
    return out


def turn_by_pointer(
    start: dict[str, Placement],
    centre: tuple[float, float],
    anchor: tuple[float, float],
    point: tuple[float, float],
    lead: str,
    *,
    free: bool = False,
) -> tuple[dict[str, Placement], float]:
    """Return the selection ``start`` turned as the pointer went from ``anchor`` to
    ``point`` about ``centre``, and the turn (degrees, in (-180, 180]).

    ``lead`` (the pressed tool) ends on a multiple of :data:`ANGLE_STEP_DEG` unless
    ``free``; the others turn by the same amount.
    """
    raw = pointer_angle(centre, point) - pointer_angle(centre, anchor)
    rot0 = start[lead][1]
    want = (rot0 + raw) % 360.0 if free else snap_angle(rot0 + raw)
    delta = (want - rot0 + 180.0) % 360.0 - 180.0
    if delta == -180.0:
        delta = 180.0
    return turn_about(start, centre, delta), delta


def onto_grid(places: dict[str, Placement], lead: str, grid_m: float) -> dict[str, Placement]:
    """Return ``places`` shifted as one piece so that ``lead``'s origin is on a ``grid_m``
    grid (0 or less: as they are); rotations and the tools' offsets kept, positions rounded
    to 1 µm."""
    if grid_m <= 0:
        return dict(places)
    (lx, ly), _rot = places[lead]
    dx = round(lx / grid_m) * grid_m - lx
    dy = round(ly / grid_m) * grid_m - ly
    return {
        t: ((round(x + dx, 6) + 0.0, round(y + dy, 6) + 0.0), rot)
        for t, ((x, y), rot) in places.items()
    }
