"""Triangle meshes of an equipment type's shape, shared by every AR exporter.

The plant file describes a tool as boxes and cylinders in its own frame (metres, z up,
``at`` = centre of the part's base). :func:`tool_geometry` turns them into indexed
triangle meshes with per-vertex normals, in that same Z-up frame; exporters for Y-up
formats convert with :func:`to_y_up` (a -90 degree rotation about x).

A shape given as a mesh file (``shape.mesh``) is read with trimesh, scaled by
``shape.mesh_scale`` and becomes a single part called ``mesh``.
"""

from __future__ import annotations

import logging
import math
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from factory_twin.errors import ExportError
from factory_twin.model import schema as s

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

CYLINDER_SEGMENTS = 48
"""Facets around a cylinder: smooth at tablet size, still a few hundred triangles."""

_CREASE = 0.8  # cos(~37 deg): normals closer than this are one smooth surface


@dataclass(frozen=True)
class MeshPart:
    """One solid of a tool as an indexed triangle mesh in the tool's frame (Z up, metres).

    Attributes
    ----------
    name
        The part's name in the plant file.
    slug
        ``name`` reduced to ``[a-z0-9_]`` (used in node and prim names).
    color
        ``#rrggbb`` (sRGB).
    origin
        The part's ``at`` point (centre of its base); vertices are absolute, not relative.
    positions, normals
        (n, 3) float arrays; normals have unit length.
    faces
        (m, 3) vertex indices, counter-clockwise seen from outside.
    closed
        True for the generated solids (back faces may be culled).
    """

    name: str
    slug: str
    color: str
    origin: tuple[float, float, float]
    positions: FloatArray
    normals: FloatArray
    faces: IntArray
    closed: bool = True

    @property
    def bounds(self) -> FloatArray:
        """Return ``[[xmin, ymin, zmin], [xmax, ymax, zmax]]``."""
        return np.array([self.positions.min(axis=0), self.positions.max(axis=0)])

    def rgb(self) -> tuple[float, float, float]:
        """Return the colour as sRGB floats in [0, 1]."""
        return hex_to_rgb(self.color)


@dataclass(frozen=True)
class ToolGeometry:
    """All parts of one equipment type."""

    type_id: str
    parts: tuple[MeshPart, ...]
    _index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._index.update({p.name: i for i, p in enumerate(self.parts)})

    def part_index(self, name: str) -> int | None:
        """Return the index of the part called ``name``, or None."""
        return self._index.get(name)

    @property
    def bounds(self) -> FloatArray:
        """Return the bounding box of every part, ``[[min xyz], [max xyz]]``."""
        b = np.array([p.bounds for p in self.parts])
        return np.array([b[:, 0].min(axis=0), b[:, 1].max(axis=0)])

    @property
    def triangle_count(self) -> int:
        """Return the number of triangles over all parts."""
        return sum(len(p.faces) for p in self.parts)

    def combined(self) -> tuple[FloatArray, FloatArray, IntArray, IntArray]:
        """Return positions, normals, faces and the part index of each face, all parts merged."""
        pos, nrm, faces, owner = [], [], [], []
        base = 0
        for i, p in enumerate(self.parts):
            pos.append(p.positions)
            nrm.append(p.normals)
            faces.append(p.faces + base)
            owner.append(np.full(len(p.faces), i, dtype=np.int64))
            base += len(p.positions)
        return (
            np.concatenate(pos),
            np.concatenate(nrm),
            np.concatenate(faces),
            np.concatenate(owner),
        )


# --------------------------------------------------------------------------- primitives


def box_mesh(width: float, depth: float, height: float) -> tuple[FloatArray, FloatArray, IntArray]:
    """Return positions, normals and faces of a box standing on the origin.

    The box spans ``[-w/2, w/2] x [-d/2, d/2] x [0, h]``; each side has its own four
    vertices so that normals are flat.
    """
    hx, hy = width / 2, depth / 2
    # (normal, four corners counter-clockwise seen from outside)
    sides = [
        ((0, 0, -1), [(-hx, -hy, 0), (-hx, hy, 0), (hx, hy, 0), (hx, -hy, 0)]),
        ((0, 0, 1), [(-hx, -hy, height), (hx, -hy, height), (hx, hy, height), (-hx, hy, height)]),
        ((0, -1, 0), [(-hx, -hy, 0), (hx, -hy, 0), (hx, -hy, height), (-hx, -hy, height)]),
        ((0, 1, 0), [(hx, hy, 0), (-hx, hy, 0), (-hx, hy, height), (hx, hy, height)]),
        ((-1, 0, 0), [(-hx, hy, 0), (-hx, -hy, 0), (-hx, -hy, height), (-hx, hy, height)]),
        ((1, 0, 0), [(hx, -hy, 0), (hx, hy, 0), (hx, hy, height), (hx, -hy, height)]),
    ]
    pos, nrm, faces = [], [], []
    for k, (n, quad) in enumerate(sides):
        pos.extend(quad)
        nrm.extend([n] * 4)
        b = 4 * k
        faces.extend([(b, b + 1, b + 2), (b, b + 2, b + 3)])
    return (
        np.asarray(pos, dtype=np.float64),
        np.asarray(nrm, dtype=np.float64),
        np.asarray(faces, dtype=np.int64),
    )


def cylinder_mesh(
    radius: float, height: float, segments: int = CYLINDER_SEGMENTS
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Return positions, normals and faces of a z-axis cylinder standing on the origin.

    The side has smooth (radial) normals; the two caps are flat, with their own vertices.
    """
    a = np.linspace(0.0, 2 * math.pi, segments, endpoint=False)
    c, s_ = np.cos(a), np.sin(a)
    ring = np.column_stack([radius * c, radius * s_, np.zeros(segments)])
    top = ring + np.array([0.0, 0.0, height])
    radial = np.column_stack([c, s_, np.zeros(segments)])
    n = segments
    # side: vertices 0..n-1 bottom ring, n..2n-1 top ring
    side_pos = np.vstack([ring, top])
    side_nrm = np.vstack([radial, radial])
    i = np.arange(n)
    j = (i + 1) % n
    side_faces = np.vstack([np.column_stack([i, j, n + j]), np.column_stack([i, n + j, n + i])])
    # caps: centre + ring each
    bot_pos = np.vstack([[0.0, 0.0, 0.0], ring])
    top_pos = np.vstack([[0.0, 0.0, height], top])
    bot_base, top_base = 2 * n, 3 * n + 1
    bot_faces = np.column_stack([np.full(n, bot_base), bot_base + 1 + j, bot_base + 1 + i])
    top_faces = np.column_stack([np.full(n, top_base), top_base + 1 + i, top_base + 1 + j])
    pos = np.vstack([side_pos, bot_pos, top_pos])
    nrm = np.vstack(
        [side_nrm, np.tile([0.0, 0.0, -1.0], (n + 1, 1)), np.tile([0.0, 0.0, 1.0], (n + 1, 1))]
    )
    faces = np.vstack([side_faces, bot_faces, top_faces]).astype(np.int64)
    return pos, nrm, faces


# --------------------------------------------------------------------------- tool geometry


def tool_geometry(etype: s.EquipmentType, base_dir: Path | None = None) -> ToolGeometry:
    """Build the meshes of an equipment type.

    Parameters
    ----------
    etype
        The equipment type; its ``shape.parts`` become one :class:`MeshPart` each.
    base_dir
        Directory that a ``shape.mesh`` path is relative to (the plant file's folder).

    Raises
    ------
    ExportError
        If a mesh file cannot be read.
    """
    parts: list[MeshPart] = []
    used: set[str] = set()
    for part in etype.shape.parts:
        if part.box is not None:
            pos, nrm, faces = box_mesh(*part.box)
        else:
            assert part.cylinder is not None
            pos, nrm, faces = cylinder_mesh(*part.cylinder)
        parts.append(
            MeshPart(
                name=part.name,
                slug=unique_slug(part.name, used),
                color=part.color,
                origin=part.at,
                positions=pos + np.asarray(part.at, dtype=np.float64),
                normals=nrm,
                faces=faces,
            )
        )
    if etype.shape.mesh:
        parts.append(_mesh_file_part(etype, base_dir, used))
    return ToolGeometry(type_id=etype.id, parts=tuple(parts))


def _mesh_file_part(etype: s.EquipmentType, base_dir: Path | None, used: set[str]) -> MeshPart:
    import trimesh  # only shapes given as mesh files need it

    assert etype.shape.mesh is not None
    path = Path(etype.shape.mesh)
    if not path.is_absolute() and base_dir is not None:
        path = base_dir / path
    if not path.is_file():
        msg = f"equipment type {etype.id!r}: mesh file {path} does not exist"
        raise ExportError(msg)
    try:
        mesh = trimesh.load(path, force="mesh")
    except Exception as exc:  # trimesh's loaders raise many types on malformed files
        msg = f"equipment type {etype.id!r}: cannot read mesh file {path}: {exc}"
        raise ExportError(msg) from None
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        msg = f"equipment type {etype.id!r}: mesh file {path} holds no triangles"
        raise ExportError(msg)
    pos = np.asarray(mesh.vertices, dtype=np.float64) * etype.shape.mesh_scale
    nrm = np.array(mesh.vertex_normals, dtype=np.float64)  # a copy: trimesh's is read-only
    nrm /= np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-12)
    return MeshPart(
        name="mesh",
        slug=unique_slug("mesh", used),
        color="#b0b7c3",
        origin=(0.0, 0.0, 0.0),
        positions=pos,
        normals=nrm,
        faces=np.asarray(mesh.faces, dtype=np.int64),
        closed=bool(mesh.is_watertight),
    )


def component_part(geometry: ToolGeometry, component: s.Component) -> int | None:
    """Return the index of the part that shows ``component``.

    The component's own ``part`` if it names one, otherwise the part whose bounding box
    lies nearest to the anchor (within 5 cm), otherwise None.
    """
    if component.part is not None:
        return geometry.part_index(component.part)
    anchor = np.asarray(component.anchor_m, dtype=np.float64)
    best, best_d = None, 0.05
    for i, p in enumerate(geometry.parts):
        lo, hi = p.bounds
        d = float(np.linalg.norm(np.maximum(0.0, np.maximum(lo - anchor, anchor - hi))))
        if d <= best_d:
            best, best_d = i, d
    return best


# --------------------------------------------------------------------------- helpers


def to_y_up(points: FloatArray) -> FloatArray:
    """Rotate Z-up points (or normals) -90 degrees about x: ``(x, y, z) -> (x, z, -y)``."""
    p = np.asarray(points, dtype=np.float64)
    return np.stack([p[..., 0], p[..., 2], -p[..., 1]], axis=-1)


def hex_to_rgb(color: str) -> tuple[float, float, float]:
    """Return ``#rrggbb`` as sRGB floats in [0, 1]."""
    c = color.lstrip("#")
    return (int(c[0:2], 16) / 255.0, int(c[2:4], 16) / 255.0, int(c[4:6], 16) / 255.0)


def srgb_to_linear(rgb: tuple[float, float, float]) -> tuple[float, float, float]:
    """Convert sRGB components to linear light (glTF and USD colour factors are linear)."""

    def one(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = rgb
    return (one(r), one(g), one(b))


_SLUG_RE = re.compile(r"[^a-z0-9]+")


def slugify(text: str, max_len: int = 40) -> str:
    """Return ``text`` as lower-case ``[a-z0-9_]``, never empty, never starting with a digit.

    Examples
    --------
    >>> slugify("Vent & open the chamber lid!")
    'vent_open_the_chamber_lid'
    """
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    slug = _SLUG_RE.sub("_", ascii_text.lower()).strip("_")[:max_len].rstrip("_")
    if not slug:
        slug = "x"
    if slug[0].isdigit():
        slug = "n" + slug
    return slug


def unique_slug(text: str, used: set[str], max_len: int = 40) -> str:
    """Return :func:`slugify` of ``text``, suffixed ``_2``, ``_3``... if already in ``used``."""
    base = slugify(text, max_len)
    slug, k = base, 2
    while slug in used:
        slug = f"{base}_{k}"
        k += 1
    used.add(slug)
    return slug
