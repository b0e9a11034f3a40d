"""Triangle meshes of the plant's equipment: the one geometry pipeline of the package.

The 3-D view (``ui/scene.py``), the Maintain overlay (``ui/maintain_scene.py``) and every
AR exporter (``ar/``) build their tool meshes here; numpy and trimesh only (no VTK, no Qt).

A plant file describes an equipment type's shape as boxes and cylinders in the type's own
frame (metres, z up, ``at`` = centre of a part's base), as a mesh file (``shape.mesh``,
read with trimesh: glTF/GLB, OBJ, STL, PLY), or both. A relative mesh path is relative to
the plant file's folder.

* :func:`type_geometry` turns one type's shape into a :class:`TypeGeometry`: one
  :class:`MeshPart` per part (indexed triangles with per-vertex normals), the mesh file as
  one more part called ``mesh``. The exporters use it as it is.
* :func:`plant_geometry` places every tool's type geometry on the floor and merges them
  all into ONE :class:`PlantGeometry` (points, triangles, the tool of each triangle, the
  bounds of each tool): the 3-D view turns it into a single pyvista mesh.
* :func:`bind_mesh_files` reads each mesh file when a plant is loaded and records where it
  was found and its bounds on the shape, so that a mesh-only type's footprint
  (:meth:`~factory_twin.model.schema.Shape.footprint_m`, the overlap check) and every later
  view use the real mesh.
"""

from __future__ import annotations

import functools
import logging
import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from factory_twin.errors import ConfigError
from factory_twin.model import schema as s

logger = logging.getLogger(__name__)

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]

CYLINDER_SEGMENTS = 48
"""Facets around a cylinder in the exporters: smooth at tablet size, a few hundred triangles."""

VIEW_CYLINDER_SEGMENTS = 16
"""Facets around a cylinder in the live 3-D view, which draws every tool every frame."""

VIEW_MESH_MAX_TRIANGLES = 20_000
"""A mesh file with more triangles is decimated for the live 3-D view (:func:`decimated`)."""

AR_MESH_MAX_TRIANGLES = 100_000
"""A mesh file with more triangles is decimated in the AR exports (:func:`decimated`)."""

MESH_COLOR = "#b0b7c3"
"""Colour of a part read from a mesh file (the file's own materials are not used)."""

MESH_SUFFIXES = (".glb", ".gltf", ".obj", ".stl", ".ply")
"""Mesh file formats a shape may name (read with trimesh)."""

FALLBACK_FOOTPRINT_M = (-0.5, -0.5, 0.5, 0.5)
"""Footprint of a mesh-only type whose file was never read (a plant built in code)."""


# --------------------------------------------------------------------------- colours


def hex_to_rgb(color: str) -> tuple[float, float, float]:
    """Return ``#rrggbb`` as sRGB floats in [0, 1].

    Examples
    --------
    >>> hex_to_rgb("#ff8000")
    (1.0, 0.5019607843137255, 0.0)
    """
    c = color.lstrip("#")
    return (int(c[0:2], 16) / 255.0, int(c[2:4], 16) / 255.0, int(c[4:6], 16) / 255.0)


# --------------------------------------------------------------------------- names


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
    """Return :func:`slugify` of ``text``, suffixed ``_2``, ``_3``... if already in ``used``.

    Examples
    --------
    >>> used = set()
    >>> [unique_slug(t, used) for t in ("Lid", "lid")]
    ['lid', 'lid_2']
    """
    base = slugify(text, max_len)
    slug, k = base, 2
    while slug in used:
        slug = f"{base}_{k}"
        k += 1
    used.add(slug)
    return slug


# --------------------------------------------------------------------------- primitives


def box_mesh(width: float, depth: float, height: float) -> tuple[FloatArray, FloatArray, IntArray]:
    """Return positions, normals and faces of a box standing on the origin.

    The box spans ``[-w/2, w/2] x [-d/2, d/2] x [0, h]``; each side has its own four
    vertices so that normals are flat. Faces are counter-clockwise seen from outside.

    Examples
    --------
    >>> pos, nrm, faces = box_mesh(2.0, 1.0, 0.5)
    >>> pos.shape, faces.shape
    ((24, 3), (12, 3))
    """
    hx, hy = width / 2, depth / 2
    # (normal, four corners counter-clockwise seen from outside)
    sides: list[tuple[tuple[int, int, int], list[tuple[float, float, float]]]] = [
        ((0, 0, -1), [(-hx, -hy, 0), (-hx, hy, 0), (hx, hy, 0), (hx, -hy, 0)]),
        ((0, 0, 1), [(-hx, -hy, height), (hx, -hy, height), (hx, hy, height), (-hx, hy, height)]),
        ((0, -1, 0), [(-hx, -hy, 0), (hx, -hy, 0), (hx, -hy, height), (-hx, -hy, height)]),
        ((0, 1, 0), [(hx, hy, 0), (-hx, hy, 0), (-hx, hy, height), (hx, hy, height)]),
        ((-1, 0, 0), [(-hx, hy, 0), (-hx, -hy, 0), (-hx, -hy, height), (-hx, hy, height)]),
        ((1, 0, 0), [(hx, -hy, 0), (hx, hy, 0), (hx, hy, height), (hx, -hy, height)]),
    ]
    pos: list[tuple[float, float, float]] = []
    nrm: list[tuple[int, int, int]] = []
    faces: list[tuple[int, int, int]] = []
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

    Examples
    --------
    >>> pos, nrm, faces = cylinder_mesh(0.3, 1.0, segments=16)
    >>> len(faces)
    64
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


def part_solid(
    part: s.Part, *, pad: float = 0.0, segments: int = CYLINDER_SEGMENTS
) -> tuple[FloatArray, FloatArray, IntArray]:
    """Return positions, normals and faces of one shape part in its type's frame.

    ``pad`` grows the solid by that many metres on every side (a highlight drawn around
    the part).

    Examples
    --------
    >>> pos, _, _ = part_solid(s.Part(name="lid", box=(1.0, 1.0, 0.2), at=(0.0, 0.0, 1.0)))
    >>> float(pos[:, 2].min()), float(pos[:, 2].max())
    (1.0, 1.2)
    """
    if part.box is not None:
        w, d, h = part.box
        pos, nrm, faces = box_mesh(w + 2 * pad, d + 2 * pad, h + 2 * pad)
    else:
        assert part.cylinder is not None  # the schema allows exactly one of the two
        r, h = part.cylinder
        pos, nrm, faces = cylinder_mesh(r + pad, h + 2 * pad, segments)
    x, y, z = part.at
    return pos + np.array([x, y, z - pad]), nrm, faces


def place(points: FloatArray, position_m: Sequence[float], rotation_deg: float) -> FloatArray:
    """Return a type's local points turned ``rotation_deg`` about z, then moved to ``position_m``.

    This is how a tool stands on the floor: its origin at ``position_m`` (x, y), rotated
    counter-clockwise seen from above.

    Examples
    --------
    >>> place(np.array([[1.0, 0.0, 2.0]]), (10.0, 5.0), 90.0).round(9).tolist()
    [[10.0, 6.0, 2.0]]
    """
    c, s_ = math.cos(math.radians(rotation_deg)), math.sin(math.radians(rotation_deg))
    out = np.array(points, dtype=np.float64)
    out[:, 0] = c * points[:, 0] - s_ * points[:, 1]
    out[:, 1] = s_ * points[:, 0] + c * points[:, 1]
    out[:, 0] += position_m[0]
    out[:, 1] += position_m[1]
    return out


# --------------------------------------------------------------------------- one type


@dataclass(frozen=True)
class MeshPart:
    """One solid of a tool as an indexed triangle mesh in the tool's frame (Z up, metres).

    Attributes
    ----------
    name
        The part's name in the plant file (``mesh`` for the mesh file).
    slug
        ``name`` reduced to ``[a-z0-9_]``, unique within the type (node and prim names).
    color
        ``#rrggbb`` (sRGB).
    origin
        The part's ``at`` point (centre of its base); vertices are absolute, not relative.
    positions, normals
        (n, 3) float arrays; normals have unit length.
    faces
        (m, 3) vertex indices, counter-clockwise seen from outside.
    closed
        True for the generated solids and watertight mesh files (back faces may be culled).
    refines
        For a part the equipment model adds (a FOUP, a lid), the name of the plant file's
        part it belongs to; None for the plant file's own parts.
    material
        A name of :data:`factory_twin.model.equipment_models.MATERIALS`: ``body`` parts are
        drawn in the tool's state colour by the 3-D view, the others in their neutral look.
    """

    name: str
    slug: str
    color: str
    origin: tuple[float, float, float]
    positions: FloatArray
    normals: FloatArray
    faces: IntArray
    closed: bool = True
    material: str = "body"
    refines: str | None = None

    @property
    def generated(self) -> bool:
        """Whether the equipment model added this part (it is not in the plant file)."""
        return self.refines is not None

    @property
    def bounds(self) -> FloatArray:
        """Return ``[[xmin, ymin, zmin], [xmax, ymax, zmax]]``."""
        return np.array([self.positions.min(axis=0), self.positions.max(axis=0)])

    def rgb(self) -> tuple[float, float, float]:
        """Return the colour as sRGB floats in [0, 1]."""
        return hex_to_rgb(self.color)


@dataclass(frozen=True)
class TypeGeometry:
    """All parts of one equipment type, in the type's own frame."""

    type_id: str
    parts: tuple[MeshPart, ...]
    _index: dict[str, int] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self._index.update({p.name: i for i, p in enumerate(self.parts)})

    def part_index(self, name: str) -> int | None:
        """Return the index of the part called ``name``, or None."""
        return self._index.get(name)

    def family(self, index: int | None) -> list[int]:
        """Return part ``index`` and the parts the equipment model added to it (its lid...)."""
        if index is None:
            return []
        name = self.parts[index].name
        return [index] + [i for i, p in enumerate(self.parts) if p.refines == name]

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

    def welded(self) -> tuple[FloatArray, IntArray, NDArray[np.int8]]:
        """Return positions, faces and each point's material code, coincident vertices merged.

        The 3-D view draws without normals (flat shading from each triangle's plane), so
        the split vertices that carry the exporters' normals would only add vertex work:
        a box welds to 8 points, a cylinder to ``2 * segments + 2``. Points are merged only
        within one material (the view colours per point).
        """
        from factory_twin.model.equipment_models import MATERIAL_CODES

        pos, _, faces, owner = self.combined()
        codes = np.array([MATERIAL_CODES.get(p.material, 0) for p in self.parts], dtype=np.int64)
        point_code = np.zeros(len(pos), dtype=np.int64)
        point_code[faces.ravel()] = np.repeat(codes[owner], 3)
        keyed = np.column_stack([pos, point_code.astype(np.float64)])
        uniq, inverse = np.unique(keyed, axis=0, return_inverse=True)
        return uniq[:, :3].copy(), inverse.reshape(-1)[faces], uniq[:, 3].astype(np.int8)


def type_geometry(
    etype: s.EquipmentType,
    base_dir: Path | None = None,
    *,
    segments: int = CYLINDER_SEGMENTS,
    plain: bool = False,
) -> TypeGeometry:
    """Build the meshes of an equipment type.

    Parameters
    ----------
    etype
        The equipment type; each of its ``shape.parts`` becomes one :class:`MeshPart`, and
        its ``shape.mesh`` (if any) one more, called ``mesh``.
    base_dir
        Folder a relative ``shape.mesh`` is relative to (the plant file's folder). None: the
        file the loader found (:func:`bind_mesh_files`), else the current directory.
    segments
        Facets around each cylinder.
    plain
        The plant file's parts as bare boxes and cylinders, without the equipment model
        (:mod:`factory_twin.model.equipment_models`): the benchmark's and README's "before".

    Raises
    ------
    ConfigError
        If the mesh file does not exist or cannot be read.

    Examples
    --------
    >>> t = s.EquipmentType(id="t", kind="other",
    ...                     shape=s.Shape(parts=[s.Part(name="body", box=(1, 1, 1))]))
    >>> type_geometry(t).triangle_count  # the body and the signal tower on it
    24
    """
    # the recognisable model of each part (load ports and FOUPs on an EFEM, lids on the
    # chambers...): imported here, as it builds on this module's primitives
    from factory_twin.model.equipment_models import ModelPart, model_parts

    parts: list[MeshPart] = []
    used: set[str] = set()
    explicit = {p.name for p in etype.shape.parts}
    if plain:
        refined = [
            ModelPart(p.name, "body", p.color, p.at, (part_solid(p, segments=segments),))
            for p in etype.shape.parts
        ]
    else:
        refined = model_parts(etype, segments=segments)
    for mp in refined:
        pos, nrm, faces = mp.merged()
        parts.append(
            MeshPart(
                name=mp.name,
                slug=unique_slug(mp.name, used),
                color=mp.color,
                origin=mp.origin,
                positions=pos,
                normals=nrm,
                faces=faces,
                material=mp.material,
                refines=mp.refines if mp.name not in explicit else None,
            )
        )
    if etype.shape.mesh:
        mesh = read_mesh_file(mesh_path(etype.shape, base_dir), etype.id)
        scale = etype.shape.mesh_scale
        parts.append(
            MeshPart(
                name="mesh",
                slug=unique_slug("mesh", used),
                color=MESH_COLOR,
                origin=(0.0, 0.0, 0.0),
                positions=mesh.positions * scale,
                normals=mesh.normals.copy(),
                faces=mesh.faces.copy(),
                closed=mesh.closed,
                material="body",
            )
        )
    return TypeGeometry(type_id=etype.id, parts=tuple(parts))


# --------------------------------------------------------------------------- components


def component_part(geometry: TypeGeometry, component: s.Component) -> int | None:
    """Return the index of the part that shows ``component`` (the AR exports and Maintain).

    The part the equipment model made of the component's ``part`` under the component's
    own name, or under the part's name followed by it (the lid is the lid: component
    ``chamber 1 lid`` or ``lid`` of part ``chamber 1`` is the part ``chamber 1 lid``);
    otherwise the named part itself. A component without a part: the part whose bounding
    box lies nearest to the anchor (within 5 cm; a part of the plant file before one the
    equipment model added), otherwise None.

    Examples
    --------
    >>> t = s.EquipmentType(
    ...     id="t", kind="dry_etch",
    ...     shape=s.Shape(parts=[s.Part(name="chamber 1", cylinder=(0.5, 1.0))]),
    ...     components=[s.Component(name="lid", part="chamber 1", anchor_m=(0, 0, 1))])
    >>> g = type_geometry(t)
    >>> g.parts[component_part(g, t.component("lid"))].name
    'chamber 1 lid'
    """
    if component.part is not None:
        for name in (component.name, f"{component.part} {component.name}"):
            own = geometry.part_index(name)
            if own is not None and geometry.parts[own].refines == component.part:
                return own
        return geometry.part_index(component.part)
    anchor = np.asarray(component.anchor_m, dtype=np.float64)
    for generated in (False, True):
        best, best_d = None, 0.05
        for i, p in enumerate(geometry.parts):
            if p.generated != generated:
                continue
            lo, hi = p.bounds
            d = float(np.linalg.norm(np.maximum(0.0, np.maximum(lo - anchor, anchor - hi))))
            if d <= best_d:
                best, best_d = i, d
        if best is not None:
            return best
    return None


def component_parts(
    etype: s.EquipmentType, geometry: TypeGeometry, component: s.Component
) -> list[int]:
    """Return the parts that draw ``component``: its :func:`component_part` and what the
    equipment model made of that part within the plant file's part.

    A lid alone for the lid; a chamber (the component names the plant file's part) as its
    vessel and lid; an EFEM as its cabinet, load ports and FOUPs; never the signal tower on
    top of a main body (it stands outside the part the plant file gives). Empty when the
    component shows on no part.
    """
    index = component_part(geometry, component)
    if index is None:
        return []
    own = geometry.parts[index]
    if own.generated:
        return [index]
    shape = next((p for p in etype.shape.parts if p.name == own.name), None)
    if shape is None:  # the mesh file: nothing was made of it
        return [index]
    x0, y0, x1, y1 = shape.extent_xy()
    lo = np.array([x0, y0, shape.at[2]]) - 1e-6
    hi = np.array([x1, y1, shape.top_z()]) + 1e-6

    def inside(i: int) -> bool:
        b = geometry.parts[i].bounds
        return bool(np.all(b[0] >= lo) and np.all(b[1] <= hi))

    return [i for i in geometry.family(index) if i == index or inside(i)]


# --------------------------------------------------------------------------- mesh files


@dataclass(frozen=True)
class MeshFile:
    """A mesh file's triangles as read (unscaled, Z up), shared read-only between callers."""

    positions: FloatArray
    normals: FloatArray
    faces: IntArray
    closed: bool

    @property
    def bounds(self) -> tuple[float, float, float, float, float, float]:
        """Return ``(xmin, ymin, zmin, xmax, ymax, zmax)``."""
        lo, hi = self.positions.min(axis=0), self.positions.max(axis=0)
        return (float(lo[0]), float(lo[1]), float(lo[2]), float(hi[0]), float(hi[1]), float(hi[2]))


def mesh_path(shape: s.Shape, base_dir: Path | None = None) -> Path:
    """Return the file a shape's ``mesh`` names (see :func:`type_geometry` for ``base_dir``)."""
    if not shape.mesh:
        msg = "this shape has no mesh file"
        raise ValueError(msg)
    path = Path(shape.mesh)
    if path.is_absolute():
        return path
    if base_dir is not None:
        return base_dir / path
    found = shape.mesh_file()
    return found if found is not None else path


def read_mesh_file(path: Path, type_id: str = "") -> MeshFile:
    """Return the triangles of a mesh file (cached while the file is unchanged).

    glTF and GLB files are Y-up by definition: they are turned to our Z-up frame
    (``(x, y, z) -> (x, -z, y)``). OBJ, STL and PLY are taken as Z-up, as they are written
    by CAD tools.

    Raises
    ------
    ConfigError
        If the file does not exist, cannot be read, or holds no triangles.
    """
    who = f"equipment type {type_id!r}: " if type_id else ""
    try:
        st = path.stat()
    except OSError:
        msg = f"{who}mesh file {path} does not exist"
        raise ConfigError([msg]) from None
    if not path.is_file():
        msg = f"{who}mesh file {path} is not a file"
        raise ConfigError([msg])
    try:
        return _read_mesh_cached(str(path.resolve()), st.st_mtime_ns, st.st_size)
    except _MeshReadError as exc:
        msg = f"{who}{exc}"
        raise ConfigError([msg]) from None


class _MeshReadError(Exception):
    """A mesh file could not be read (turned into a ConfigError naming the field)."""


@functools.lru_cache(maxsize=64)
def _read_mesh_cached(path: str, mtime_ns: int, size: int) -> MeshFile:
    """Read a mesh file; the key holds its modification time and size (a changed file is re-read)."""
    import trimesh  # only shapes given as mesh files need it

    try:
        mesh = trimesh.load(path, force="mesh")
    except Exception as exc:  # trimesh's loaders raise many types on malformed files
        msg = f"cannot read mesh file {path}: {exc}"
        raise _MeshReadError(msg) from None
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0:
        msg = f"mesh file {path} holds no triangles"
        raise _MeshReadError(msg)
    pos = np.array(mesh.vertices, dtype=np.float64)
    nrm = np.array(mesh.vertex_normals, dtype=np.float64)  # a copy: trimesh's is read-only
    nrm /= np.maximum(np.linalg.norm(nrm, axis=1, keepdims=True), 1e-12)
    if Path(path).suffix.lower() in (".gltf", ".glb"):
        pos = np.column_stack([pos[:, 0], -pos[:, 2], pos[:, 1]])
        nrm = np.column_stack([nrm[:, 0], -nrm[:, 2], nrm[:, 1]])
    faces = np.array(mesh.faces, dtype=np.int64)
    for a in (pos, nrm, faces):
        a.flags.writeable = False  # shared by every caller through the cache
    return MeshFile(positions=pos, normals=nrm, faces=faces, closed=bool(mesh.is_watertight))


def bind_mesh_files(spec: s.PlantSpec, base_dir: Path | None) -> list[tuple[tuple[Any, ...], str]]:
    """Read every type's mesh file and record on its shape where it was found and its bounds.

    The loader calls this once per plant (``base_dir`` = the plant file's folder); from then
    on :meth:`~factory_twin.model.schema.Shape.footprint_m` covers the mesh, and views built
    without a ``base_dir`` find the file.

    Returns
    -------
    list
        One ``(location, message)`` problem per mesh file that cannot be read, like
        :func:`factory_twin.model.config.check_references`.
    """
    problems: list[tuple[tuple[Any, ...], str]] = []
    for i, t in enumerate(spec.equipment_types):
        if not t.shape.mesh:
            continue
        path = mesh_path(t.shape, base_dir)
        try:
            mesh = read_mesh_file(path)
        except ConfigError as exc:
            problems.append((("equipment_types", i, "shape", "mesh"), str(exc)))
            continue
        t.shape.bind_mesh(path, mesh.bounds)
    return problems


# --------------------------------------------------------------------------- the floor


@dataclass
class PlantGeometry:
    """Every tool of a plant merged into one triangle mesh (world frame, metres, z up).

    Attributes
    ----------
    ids
        Tool ids in the plant's order; tool ``i`` is ``ids[i]``.
    points
        (n_points, 3) vertex positions; no point is shared between two tools.
    faces
        (n_triangles, 3) vertex indices, each tool's triangles together, in tool order.
    cell_tool
        (n_triangles,) the tool index of each triangle.
    bounds
        (n_tools, 6) ``xmin, xmax, ymin, ymax, zmin, zmax`` of each tool (VTK's order).
    centers
        (n_tools, 3) centre of each tool's bounding box.
    tops
        (n_tools,) height of each tool's top.
    point_material
        (n_points,) material code of each point (0 = ``body``, drawn in the state colour;
        see :data:`factory_twin.model.equipment_models.MATERIALS`).
    """

    ids: list[str]
    points: FloatArray
    faces: IntArray
    cell_tool: NDArray[np.int32]
    bounds: FloatArray
    centers: FloatArray
    tops: FloatArray
    point_material: NDArray[np.int8] = field(default_factory=lambda: np.zeros(0, dtype=np.int8))

    @property
    def triangle_count(self) -> int:
        """Return the number of triangles of all tools."""
        return len(self.faces)


def plant_geometry(
    spec: s.PlantSpec,
    base_dir: Path | None = None,
    *,
    segments: int = VIEW_CYLINDER_SEGMENTS,
    max_mesh_triangles: int = VIEW_MESH_MAX_TRIANGLES,
    plain: bool = False,
) -> PlantGeometry:
    """Place every tool of ``spec`` on the floor and merge them into one triangle mesh.

    Each type is built once (:func:`type_geometry`, vertices welded, a mesh file over
    ``max_mesh_triangles`` decimated) and copied to every tool of that type.

    Examples
    --------
    >>> from factory_twin.model.synthetic import synthetic_plant
    >>> geo = plant_geometry(synthetic_plant(4, 1))
    >>> len(geo.ids), int(geo.cell_tool.max()), geo.bounds.shape
    (4, 3, (4, 6))
    """
    templates = {
        t.id: _view_template(
            type_geometry(t, base_dir, segments=segments, plain=plain), max_mesh_triangles
        )
        for t in spec.equipment_types
    }
    all_pts: list[FloatArray] = []
    all_tris: list[IntArray] = []
    all_mat: list[NDArray[np.int8]] = []
    cell_tool: list[NDArray[np.int32]] = []
    n = 0
    bounds = np.zeros((len(spec.equipment), 6))
    for i, eq in enumerate(spec.equipment):
        tp, tt, tm = templates[eq.type]
        p = place(tp, eq.position_m, eq.rotation_deg)
        all_pts.append(p)
        all_tris.append(tt + n)
        all_mat.append(tm)
        cell_tool.append(np.full(len(tt), i, dtype=np.int32))
        n += len(p)
        lo, hi = p.min(axis=0), p.max(axis=0)
        bounds[i] = (lo[0], hi[0], lo[1], hi[1], lo[2], hi[2])
    centers = np.column_stack(
        [
            (bounds[:, 0] + bounds[:, 1]) / 2,
            (bounds[:, 2] + bounds[:, 3]) / 2,
            (bounds[:, 4] + bounds[:, 5]) / 2,
        ]
    )
    return PlantGeometry(
        ids=[e.id for e in spec.equipment],
        points=np.vstack(all_pts) if all_pts else np.zeros((0, 3)),
        faces=np.vstack(all_tris) if all_tris else np.zeros((0, 3), dtype=np.int64),
        cell_tool=np.concatenate(cell_tool) if cell_tool else np.zeros(0, dtype=np.int32),
        bounds=bounds,
        centers=centers,
        tops=bounds[:, 5].copy(),
        point_material=np.concatenate(all_mat) if all_mat else np.zeros(0, dtype=np.int8),
    )


def _view_template(
    geometry: TypeGeometry, max_mesh_triangles: int
) -> tuple[FloatArray, IntArray, NDArray[np.int8]]:
    """Return a type's welded view mesh, its mesh file decimated to ``max_mesh_triangles``."""
    return limit_mesh_triangles(geometry, max_mesh_triangles).welded()


def limit_mesh_triangles(geometry: TypeGeometry, max_triangles: int) -> TypeGeometry:
    """Return ``geometry`` with its mesh-file part decimated to ``max_triangles`` if larger.

    The live view keeps :data:`VIEW_MESH_MAX_TRIANGLES`; the AR exports
    :data:`AR_MESH_MAX_TRIANGLES` (AR Quick Look's advice for a smooth model).
    """
    if geometry.triangle_count <= max_triangles:
        return geometry
    parts = tuple(decimated(p, max_triangles) if p.name == "mesh" else p for p in geometry.parts)
    return TypeGeometry(type_id=geometry.type_id, parts=parts)


def decimated(part: MeshPart, max_triangles: int) -> MeshPart:
    """Return ``part`` simplified by vertex clustering to about ``max_triangles`` or fewer.

    The vertices are snapped to a grid over the part's bounds, fine enough to keep its
    shape, coarse enough for the budget; triangles that collapse are dropped. The grid is
    coarsened until the budget is met (a user's CAD mesh of millions of triangles would
    otherwise be drawn in full every frame).
    """
    if len(part.faces) <= max_triangles:
        return part
    lo, hi = part.bounds
    size = float(np.max(hi - lo)) or 1.0
    cells = int(math.sqrt(max_triangles / 2.0)) * 2
    pos, faces = part.positions, part.faces
    while True:
        step = size / max(cells, 2)
        key = np.floor((pos - lo) / step).astype(np.int64)
        uniq, inverse = np.unique(key, axis=0, return_inverse=True)
        inverse = inverse.reshape(-1)
        f = inverse[faces]
        f = f[(f[:, 0] != f[:, 1]) & (f[:, 1] != f[:, 2]) & (f[:, 0] != f[:, 2])]
        first = np.unique(np.sort(f, axis=1), axis=0, return_index=True)[1]
        tris = f[np.sort(first)]
        if len(tris) <= max_triangles or cells <= 4:
            break
        cells = int(cells * 0.7)
    # each cluster's point: the mean of its vertices
    sums = np.zeros((len(uniq), 3))
    np.add.at(sums, inverse, pos)
    counts = np.bincount(inverse, minlength=len(uniq))[:, None]
    points = sums / np.maximum(counts, 1)
    normals = np.zeros_like(points)
    np.add.at(normals, inverse, part.normals)
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    return MeshPart(
        name=part.name,
        slug=part.slug,
        color=part.color,
        origin=part.origin,
        positions=points,
        normals=normals,
        faces=tris.astype(np.int64),
        closed=False,
        material=part.material,
        refines=part.refines,
    )
