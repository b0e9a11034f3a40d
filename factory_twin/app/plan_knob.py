"""Where the Plan view's rotate knob is drawn: a disc that faces the camera (no Qt, no VTK).

The knob of a selection stands just beyond its box (see ``knob_centre`` in
:mod:`factory_twin.ui.plan_scene`). A disc lying flat on the floor is a thin line, or
nothing, when the camera looks at it from the side, so the disc is turned to face the
camera: its plane is at right angles to the line from the disc to the camera, and its
stalk runs from the middle of the box's edge to the nearest point of its rim. Seen from
straight above, the disc lies flat as before.

:func:`knob_axes` gives the disc's two in-plane axes and its normal for a camera,
:func:`knob_disc` the points of its rim, :func:`stalk_end` where the stalk meets it.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

Vec3 = tuple[float, float, float]
FloatArray = npt.NDArray[np.float64]

_EPS = 1e-9


def _unit(v: FloatArray) -> FloatArray | None:
    n = float(np.linalg.norm(v))
    return v / n if n > _EPS else None


def facing_normal(
    centre: Sequence[float],
    camera_position: Sequence[float],
    focal_point: Sequence[float],
    *,
    parallel: bool = False,
) -> Vec3:
    """The unit normal of a disc at ``centre`` that faces the camera.

    With a perspective camera it points from ``centre`` to the camera's position; with a
    parallel projection (``parallel``) along the camera's direction of view, reversed
    (from the focal point back to the position). Falls back to straight up (+z) when the
    camera sits on the disc.

    Examples
    --------
    >>> facing_normal((0, 0, 0), (0, 0, 10), (0, 0, 0))
    (0.0, 0.0, 1.0)
    >>> facing_normal((0, 0, 0), (10, 0, 0), (0, 0, 0))
    (1.0, 0.0, 0.0)
    """
    c = np.asarray(centre, dtype=float)
    pos = np.asarray(camera_position, dtype=float)
    d = pos - np.asarray(focal_point, dtype=float) if parallel else pos - c
    n = _unit(d)
    if n is None:
        return (0.0, 0.0, 1.0)
    return (float(n[0]), float(n[1]), float(n[2]))


def knob_axes(normal: Sequence[float], view_up: Sequence[float]) -> tuple[Vec3, Vec3, Vec3]:
    """Two unit axes ``(right, up)`` in the plane at right angles to ``normal`` and the
    normal itself: ``right`` is level with the screen (across ``view_up``), ``up`` the
    screen's up as near as the plane allows.

    When ``view_up`` is along ``normal`` (looking straight down with an up vector that
    is the direction of view) another reference is taken, so the axes always exist.

    Examples
    --------
    >>> right, up, n = knob_axes((0, 0, 1), (0, 1, 0))
    >>> right, up
    ((1.0, 0.0, 0.0), (0.0, 1.0, 0.0))
    """
    n = _unit(np.asarray(normal, dtype=float))
    if n is None:
        n = np.array([0.0, 0.0, 1.0])
    right = None
    for ref in (view_up, (0.0, 0.0, 1.0), (0.0, 1.0, 0.0), (1.0, 0.0, 0.0)):
        right = _unit(np.cross(np.asarray(ref, dtype=float), n))
        if right is not None:
            break
    assert right is not None  # one of three orthogonal references is off the normal
    up = np.cross(n, right)

    def t(v: FloatArray) -> Vec3:
        return (float(v[0]) + 0.0, float(v[1]) + 0.0, float(v[2]) + 0.0)

    return t(right), t(up), t(n)


def knob_disc(
    centre: Sequence[float],
    radius_m: float,
    right: Sequence[float],
    up: Sequence[float],
    k: int = 32,
) -> FloatArray:
    """The ``k`` rim points (``k`` x 3) of a disc of ``radius_m`` about ``centre`` in the
    plane spanned by the unit axes ``right`` and ``up`` (:func:`knob_axes`).

    Examples
    --------
    >>> pts = knob_disc((0, 0, 2), 1.0, (1, 0, 0), (0, 1, 0), k=4)
    >>> (pts.round(6) + 0.0).tolist()
    [[1.0, 0.0, 2.0], [0.0, 1.0, 2.0], [-1.0, 0.0, 2.0], [0.0, -1.0, 2.0]]
    """
    t = np.linspace(0.0, 2 * math.pi, k, endpoint=False)
    c = np.asarray(centre, dtype=float)
    r = np.asarray(right, dtype=float)
    u = np.asarray(up, dtype=float)
    pts: FloatArray = c + radius_m * (np.cos(t)[:, None] * r + np.sin(t)[:, None] * u)
    return pts


def stalk_end(
    centre: Sequence[float], radius_m: float, normal: Sequence[float], start: Sequence[float]
) -> Vec3:
    """Where a stalk from ``start`` meets the rim of the disc (``centre``, ``radius_m``,
    unit ``normal``): the rim point nearest ``start``; the centre when ``start`` is on the
    disc's axis.

    Examples
    --------
    >>> stalk_end((0, 4, 1), 1.0, (0, 0, 1), (0, 0, 1))
    (0.0, 3.0, 1.0)
    """
    c = np.asarray(centre, dtype=float)
    n = np.asarray(normal, dtype=float)
    d = np.asarray(start, dtype=float) - c
    toward = _unit(d - float(np.dot(d, n)) * n)
    end = c if toward is None else c + radius_m * toward
    return (float(end[0]) + 0.0, float(end[1]) + 0.0, float(end[2]) + 0.0)


def projected_area_fraction(normal: Sequence[float], view_dir: Sequence[float]) -> float:
    """How much of a disc's area a camera looking along ``view_dir`` sees (1: face on,
    0: edge on): ``|cos|`` of the angle between the disc's normal and the view.

    Examples
    --------
    >>> projected_area_fraction((0, 0, 1), (1, 0, 0))
    0.0
    >>> projected_area_fraction((0, 0, 1), (0, 0, -1))
    1.0
    """
    n = _unit(np.asarray(normal, dtype=float))
    v = _unit(np.asarray(view_dir, dtype=float))
    if n is None or v is None:
        return 0.0
    return abs(float(np.dot(n, v)))
