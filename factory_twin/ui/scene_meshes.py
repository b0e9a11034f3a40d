"""The static meshes of the 3-D fab scene, as pyvista meshes built with numpy (no Qt here).

The merged tool mesh (from :mod:`factory_twin.model.geometry`, with its ``tool`` and
``state`` cell arrays), the octahedron markers over stale tools, and the ground: the floor
split into rectangles per bay, its metric grid, the bays' tinted rectangles and outlines.
"""

from __future__ import annotations

import itertools

import numpy as np
import pyvista as pv

from factory_twin.model.geometry import PlantGeometry, hex_to_rgb
from factory_twin.model.schema import PlantSpec
from factory_twin.ui.scene_colors import UNKNOWN_CODE


def triangles_polydata(points: np.ndarray, faces: np.ndarray) -> pv.PolyData:
    """Return a triangle mesh from (n, 3) points and (m, 3) vertex indices.

    ``pv.PolyData.from_regular_faces`` itself, with ``faces`` typed as any numpy array:
    pyvista annotates them with Python ``int`` as dtype, which no numpy integer array is.
    """
    return pv.PolyData.from_regular_faces(points, faces)


def tool_polydata(geometry: PlantGeometry) -> pv.PolyData:
    """Return the merged tool mesh of :func:`~factory_twin.model.geometry.plant_geometry` as
    one pyvista mesh, with the cell arrays ``tool`` (tool index) and ``state`` (state code).
    """
    mesh = triangles_polydata(geometry.points, geometry.faces)
    mesh.cell_data["tool"] = geometry.cell_tool
    mesh.cell_data["state"] = np.full(len(geometry.cell_tool), UNKNOWN_CODE, dtype=np.int16)
    return mesh


_OCTA_PTS = np.array(
    [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)], dtype=float
)
_OCTA_TRIS = np.array(
    [(0, 2, 4), (2, 1, 4), (1, 3, 4), (3, 0, 4), (2, 0, 5), (1, 2, 5), (3, 1, 5), (0, 3, 5)]
)


def octahedra(centers: np.ndarray, radius: float) -> pv.PolyData:
    """Return one octahedron marker per centre as a single mesh (numpy only, no filters)."""
    n = len(centers)
    pts = (centers[:, None, :] + radius * _OCTA_PTS[None, :, :]).reshape(-1, 3)
    tris = (_OCTA_TRIS[None, :, :] + 6 * np.arange(n)[:, None, None]).reshape(-1, 3)
    return triangles_polydata(pts, tris)


def floor_grid(width: float, depth: float, step: float) -> pv.PolyData:
    """Return the grid lines of a ``width`` x ``depth`` floor every ``step`` metres."""
    xs = np.arange(0.0, width + 1e-9, step)
    ys = np.arange(0.0, depth + 1e-9, step)
    segs = [((x, 0.0), (x, depth)) for x in xs] + [((0.0, y), (width, y)) for y in ys]
    pts = np.array([(a[0], a[1], 0.012) for a, _ in segs] + [(b[0], b[1], 0.012) for _, b in segs])
    k = len(segs)
    lines = np.column_stack([np.full(k, 2), np.arange(k), np.arange(k) + k]).ravel()
    return pv.PolyData(pts, lines=lines)


def grid_step(width: float, depth: float) -> float:
    """Return a readable grid spacing (1, 2, 5, 10, ... m) for a floor size.

    At most about 30 cells along the longer side: every grid line costs a full line
    raster per frame on software GL, and a denser grid reads as noise in the overview.
    """
    span = max(width, depth)
    for step in (1.0, 2.0, 5.0, 10.0, 20.0, 50.0):
        if span / step <= 30:
            return step
    return 100.0


def bay_mesh(spec: PlantSpec, floor_color: str = "#30343b", strength: float = 0.35) -> pv.PolyData:
    """Return the bays as one mesh of flat rectangles with an RGB colour per cell.

    Each bay's colour is blended with the floor colour beforehand: an opaque mesh costs far
    less than a translucent one on software GL (no order-independent translucency pass).
    """
    base = np.array(hex_to_rgb(floor_color))
    pts = []
    faces = []
    colors = []
    for i, b in enumerate(spec.site.bays):
        x0, y0 = b.origin_m
        w, d = b.size_m
        z = 0.006
        pts += [(x0, y0, z), (x0 + w, y0, z), (x0 + w, y0 + d, z), (x0, y0 + d, z)]
        faces.append((4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3))
        mix = (1 - strength) * base + strength * np.array(hex_to_rgb(b.color))
        colors.append([round(255 * c) for c in mix])
    mesh = triangles_polydata(np.array(pts, dtype=float), np.array(faces))
    mesh.cell_data["rgb"] = np.array(colors, dtype=np.uint8)
    return mesh


def bay_outline(spec: PlantSpec) -> pv.PolyData:
    """Return the outlines of every bay as one line mesh."""
    pts = []
    lines = []
    for i, b in enumerate(spec.site.bays):
        x0, y0 = b.origin_m
        w, d = b.size_m
        z = 0.02
        pts += [(x0, y0, z), (x0 + w, y0, z), (x0 + w, y0 + d, z), (x0, y0 + d, z)]
        lines += [5, 4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3, 4 * i]
    return pv.PolyData(np.array(pts, dtype=float), lines=np.array(lines))


def ground_rects(spec: PlantSpec) -> tuple[np.ndarray, np.ndarray]:
    """Split the floor into rectangles that never overlap: each lies in one bay or in none.

    Returns ``(rects, bay)``: ``rects`` (n, 4) as x0, x1, y0, y1 and ``bay`` (n,) the index
    of the bay each lies in (-1 = bare floor). Drawing the floor under the bays as well
    would fill those pixels twice, which software GL pays for in full.
    """
    w, d = spec.site.floor_m
    boxes = [
        (
            max(b.origin_m[0], 0.0),
            min(b.origin_m[0] + b.size_m[0], w),
            max(b.origin_m[1], 0.0),
            min(b.origin_m[1] + b.size_m[1], d),
        )
        for b in spec.site.bays
    ]
    xs = np.unique(np.clip([0.0, w, *[c for bx in boxes for c in bx[:2]]], 0.0, w))
    ys = np.unique(np.clip([0.0, d, *[c for bx in boxes for c in bx[2:]]], 0.0, d))
    rects: list[tuple[float, float, float, float]] = []
    owner: list[int] = []
    for y0, y1 in itertools.pairwise(ys):
        cy = (y0 + y1) / 2
        run: list | None = None  # [x0, x1, bay] merged along x while the bay is the same
        for x0, x1 in itertools.pairwise(xs):
            cx = (x0 + x1) / 2
            k = next(
                (k for k, bx in enumerate(boxes) if bx[0] <= cx <= bx[1] and bx[2] <= cy <= bx[3]),
                -1,
            )
            if run is not None and run[2] == k:
                run[1] = x1
                continue
            if run is not None:
                rects.append((run[0], run[1], y0, y1))
                owner.append(run[2])
            run = [x0, x1, k]
        if run is not None:
            rects.append((run[0], run[1], y0, y1))
            owner.append(run[2])
    return np.array(rects, dtype=float).reshape(-1, 4), np.array(owner, dtype=np.int64)
