"""glTF 2.0 binary (``.glb``) export of a procedure on its tool.

Layout of the node tree (Y up, metres; our Z-up frame rotated -90 degrees about x)::

    <equipment id>                 extras: plant, equipment, procedure, revision, ...
      parts/      part_<slug>      one mesh each, PBR material: the part colour, metal/roughness of its material
      components/ component_<slug> an empty node at the component's anchor
      steps/      step_01_<slug>   a marker at the step's anchor; extras hold the step

Part meshes are stored relative to the part's base centre (the node's translation), so
an AR app can move or hide a part as a unit.
"""

from __future__ import annotations

import json
import logging
import struct
from typing import Any

import numpy as np
import pygltflib as g

from factory_twin.model.equipment_models import MATERIALS
from factory_twin.model.geometry import FloatArray, IntArray, hex_to_rgb

from .context import ExportContext, Progress, drain
from .geometry import srgb_to_linear, to_y_up
from .render import HIGHLIGHT

logger = logging.getLogger(__name__)

_ARRAY_BUFFER = 34962
_ELEMENT_ARRAY_BUFFER = 34963
_FLOAT = 5126
_UNSIGNED_SHORT = 5123
_UNSIGNED_INT = 5125


class _Builder:
    """Accumulates a glTF document and its single binary buffer."""

    def __init__(self) -> None:
        self.doc = g.GLTF2()
        self.blob = bytearray()
        # pygltflib drops empty lists and None values, also inside extras; extras are put
        # back verbatim when the JSON chunk is written
        self.node_extras: dict[int, dict[str, Any]] = {}

    def _view(self, data: bytes, target: int) -> int:
        while len(self.blob) % 4:
            self.blob.append(0)
        self.doc.bufferViews.append(
            g.BufferView(buffer=0, byteOffset=len(self.blob), byteLength=len(data), target=target)
        )
        self.blob.extend(data)
        return len(self.doc.bufferViews) - 1

    def vec3(self, values: FloatArray, *, with_bounds: bool) -> int:
        arr = np.ascontiguousarray(values, dtype=np.float32)
        view = self._view(arr.tobytes(), _ARRAY_BUFFER)
        acc = g.Accessor(bufferView=view, componentType=_FLOAT, count=len(arr), type=g.VEC3)
        if with_bounds:  # the bounds of the float32 values, exactly as stored
            acc.min = [float(v) for v in arr.min(axis=0)]
            acc.max = [float(v) for v in arr.max(axis=0)]
        self.doc.accessors.append(acc)
        return len(self.doc.accessors) - 1

    def indices(self, faces: IntArray, vertex_count: int) -> int:
        if vertex_count <= 65535:
            arr, ctype = np.ascontiguousarray(faces.ravel(), dtype=np.uint16), _UNSIGNED_SHORT
        else:
            arr, ctype = np.ascontiguousarray(faces.ravel(), dtype=np.uint32), _UNSIGNED_INT
        view = self._view(arr.tobytes(), _ELEMENT_ARRAY_BUFFER)
        self.doc.accessors.append(
            g.Accessor(bufferView=view, componentType=ctype, count=len(arr), type=g.SCALAR)
        )
        return len(self.doc.accessors) - 1

    def mesh(
        self, name: str, pos: FloatArray, nrm: FloatArray, faces: IntArray, material: int
    ) -> int:
        prim = g.Primitive(
            attributes=g.Attributes(
                POSITION=self.vec3(pos, with_bounds=True), NORMAL=self.vec3(nrm, with_bounds=False)
            ),
            indices=self.indices(faces, len(pos)),
            material=material,
            mode=g.TRIANGLES,
        )
        self.doc.meshes.append(g.Mesh(name=name, primitives=[prim]))
        return len(self.doc.meshes) - 1

    def material(
        self,
        name: str,
        color: str,
        *,
        emissive: bool = False,
        double_sided: bool = False,
        look: str | None = None,
    ) -> int:
        """Add a PBR material: ``color`` with the metallic/roughness of material ``look``."""
        r, gg, b = srgb_to_linear(hex_to_rgb(color))
        m = MATERIALS.get(look or "", None)
        metallic, roughness = (m.metallic, m.roughness) if m is not None else (0.1, 0.6)
        mat = g.Material(
            name=name,
            pbrMetallicRoughness=g.PbrMetallicRoughness(
                baseColorFactor=[r, gg, b, 1.0],
                metallicFactor=metallic,
                roughnessFactor=roughness,
            ),
            doubleSided=double_sided,
        )
        if emissive:
            mat.emissiveFactor = [r, gg, b]
        self.doc.materials.append(mat)
        return len(self.doc.materials) - 1

    def node(self, name: str, *, extras: dict[str, Any] | None = None, **kw: Any) -> int:
        self.doc.nodes.append(g.Node(name=name, **kw))
        index = len(self.doc.nodes) - 1
        if extras is not None:
            self.node_extras[index] = extras
        return index

    def finish(self) -> bytes:
        """Return the GLB container: header, JSON chunk, BIN chunk."""
        while len(self.blob) % 4:
            self.blob.append(0)
        self.doc.buffers.append(g.Buffer(byteLength=len(self.blob)))
        tree = json.loads(self.doc.to_json())
        for index, extras in self.node_extras.items():
            tree["nodes"][index]["extras"] = extras
        text = json.dumps(tree, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        text += b" " * (-len(text) % 4)
        chunks = (
            struct.pack("<II", len(text), 0x4E4F534A)
            + text
            + struct.pack("<II", len(self.blob), 0x004E4942)
            + bytes(self.blob)
        )
        return struct.pack("<4sII", b"glTF", 2, 12 + len(chunks)) + chunks


def marker_mesh(radius: float) -> tuple[FloatArray, FloatArray, IntArray]:
    """Return a small sphere (a subdivided octahedron) used to mark step anchors."""
    verts = [(1, 0, 0), (-1, 0, 0), (0, 1, 0), (0, -1, 0), (0, 0, 1), (0, 0, -1)]
    tris = [(0, 2, 4), (2, 1, 4), (1, 3, 4), (3, 0, 4), (2, 0, 5), (1, 2, 5), (3, 1, 5), (0, 3, 5)]
    v = [np.array(p, dtype=np.float64) for p in verts]
    for _ in range(2):
        cache: dict[tuple[int, int], int] = {}
        new = []
        for a, b, c in tris:
            ab, bc, ca = (_midpoint(v, cache, x, y) for x, y in ((a, b), (b, c), (c, a)))
            new += [(a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca)]
        tris = new
    unit = np.array(v)
    return unit * radius, unit, np.asarray(tris, dtype=np.int64)


def _midpoint(v: list[FloatArray], cache: dict[tuple[int, int], int], a: int, b: int) -> int:
    key = (min(a, b), max(a, b))
    if key not in cache:
        m = v[a] + v[b]
        v.append(m / np.linalg.norm(m))
        cache[key] = len(v) - 1
    return cache[key]


def marker_radius(ctx: ExportContext) -> float:
    """Return the radius of step markers: 1.2 % of the tool's diagonal, 1 to 4 cm."""
    lo, hi = ctx.geometry.bounds
    return float(min(0.04, max(0.01, 0.012 * float(np.linalg.norm(hi - lo)))))


def iter_glb(ctx: ExportContext) -> Progress[bytes]:
    """Build the GLB, yielding progress; the generator returns the file's bytes."""
    b = _Builder()
    ident = ctx.identity()
    b.doc.asset = g.Asset(version="2.0", generator=ident["generator"], extras=dict(ident))

    parts_group = []
    n = len(ctx.geometry.parts)
    for i, part in enumerate(ctx.geometry.parts):
        origin = np.asarray(part.origin, dtype=np.float64)
        mat = b.material(part.name, part.color, double_sided=not part.closed, look=part.material)
        mesh = b.mesh(
            part.slug, to_y_up(part.positions - origin), to_y_up(part.normals), part.faces, mat
        )
        parts_group.append(
            b.node(
                f"part_{part.slug}",
                mesh=mesh,
                translation=[float(x) for x in to_y_up(origin)],
                extras={"part": part.name, "color": part.color},
            )
        )
        yield (i + 1) / (n + 2), f"glTF: part {part.name}"

    comp_group = []
    for comp in ctx.etype.components:
        comp_group.append(
            b.node(
                ctx.component_node(comp.name),
                translation=[float(x) for x in to_y_up(np.asarray(comp.anchor_m))],
                extras={
                    "component": comp.name,
                    "part": comp.part,
                    "description": comp.description,
                },
            )
        )

    pos, nrm, faces = marker_mesh(marker_radius(ctx))
    marker = b.mesh(
        "step_marker", pos, nrm, faces, b.material("step marker", HIGHLIGHT, emissive=True)
    )
    step_group = []
    for st in ctx.steps:
        extras = st.details()
        extras["component_node"] = ctx.component_node(st.component.name)
        step_group.append(
            b.node(
                st.node_name,
                mesh=marker,
                translation=[float(x) for x in to_y_up(np.asarray(st.anchor))],
                extras=extras,
            )
        )
    yield (n + 1) / (n + 2), "glTF: steps"

    groups = [
        b.node("parts", children=parts_group),
        b.node("components", children=comp_group),
        b.node("steps", children=step_group),
    ]
    root_extras: dict[str, Any] = dict(ident)
    root_extras.update(
        {
            "title": ctx.title,
            "description": ctx.procedure.description,
            "step_count": len(ctx.steps),
            "total_duration_s": ctx.total_duration_s,
            "units": "metres",
            "up_axis": "Y",
            "source_frame": "plant file frame (Z up) rotated -90 degrees about X",
        }
    )
    root = b.node(ctx.equipment.id, children=groups, extras=root_extras)
    b.doc.scenes = [g.Scene(name=ctx.title, nodes=[root], extras=dict(ident))]
    b.doc.scene = 0
    data = b.finish()
    logger.debug(
        "GLB: %d bytes, %d nodes, %d meshes", len(data), len(b.doc.nodes), len(b.doc.meshes)
    )
    yield 1.0, "glTF: done"
    return data


def build_glb(ctx: ExportContext) -> bytes:
    """Return the GLB file of ``ctx`` (see :func:`iter_glb`)."""
    return drain(iter_glb(ctx))
