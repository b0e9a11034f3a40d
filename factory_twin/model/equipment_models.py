"""Recognisable equipment models: each named part refined by its kind, with materials.

A plant file gives a tool's parts as plain boxes and cylinders (the named parts that
maintenance procedures and alarms point at). This module turns each of them into what a
fab engineer recognises, without ever leaving the part's own bounding box (so footprints,
layout checks and the Maintain highlights stay exactly as the plant file says):

* an EFEM / loader / load station becomes a cabinet with load ports standing in front of
  it and a FOUP on each (as many as the type's ``load_ports``, as many as fit), each port
  and each FOUP a part of its own (``"EFEM load port 2"``, ``"EFEM FOUP 2"``);
* a process chamber (a cylinder: chamber, target, reactor, bell jar) gets a metal lid;
  a transfer module becomes the hexagonal hub of a cluster tool;
* a tank holds liquid; a CMP platen carries its pad; a quartz tube is quartz;
* racks, cabinets, gas boxes, pumps and chillers are neutral painted panels;
* the main body of a scanner is stepped, of a metrology tool carries its column, of a wet
  bench (given as one block) is a deck with tanks in a row under an exhaust hood;
* every tool has a signal tower on its main body.

Each resulting part has a **material** (:data:`MATERIALS`): the 3-D view draws ``body``
parts in the tool's state colour and the others in their material's neutral colour, so the
state stays readable; the exporters draw a plant-file part in its own colour and a generated
part in its material's, both with the material's metallic and roughness factors. Generated parts are named after the part
they refine (``"EFEM FOUP 1"``, ``"chamber 1 lid"``), so every plant-file name survives.

:func:`parametric_parts` builds a full set of named parts for any equipment kind from the
type's parameters (chambers, load ports, batch size): what a plant author gets by naming a
kind, and what the tests build for every kind.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from factory_twin.model import schema as s
from factory_twin.model.geometry import FloatArray, IntArray, box_mesh, cylinder_mesh

Solid = tuple[FloatArray, FloatArray, IntArray]
"""Positions, normals and faces of one closed solid."""


@dataclass(frozen=True)
class Material:
    """A physically based look: base colour (sRGB), metallic and roughness factors."""

    color: str
    metallic: float
    roughness: float


MATERIALS: dict[str, Material] = {
    "body": Material("#c5cad3", 0.0, 0.45),  # painted panel; the view draws it in state colour
    "panel": Material("#aab1bb", 0.0, 0.55),
    "metal": Material("#8f99a5", 0.9, 0.3),
    "dark": Material("#3b4048", 0.3, 0.6),
    "glass": Material("#79a9c9", 0.0, 0.05),
    "quartz": Material("#e4ecef", 0.0, 0.1),
    "foup": Material("#7f9cc0", 0.0, 0.35),
    "liquid": Material("#2d78c0", 0.0, 0.05),
}
"""Material names, in the order of their codes (``body`` = 0)."""

MATERIAL_CODES: dict[str, int] = {name: i for i, name in enumerate(MATERIALS)}

FOUP_SIZE_M = (0.39, 0.33, 0.34)
"""Width, depth and height of a 300 mm FOUP."""

LOAD_PORT_HEIGHT_M = 0.9
"""Height of a load port's kinematic plate (SEMI E15: 900 mm)."""

SMALL_RADIUS_M = 0.6
"""Cylinders narrower than this get fewer facets (see :func:`cylinder`)."""

LOAD_PORT_PITCH_M = 0.505
"""Least centre distance between two load ports."""


@dataclass(frozen=True)
class ModelPart:
    """One refined part: a name, a material, its colour and one or more closed solids.

    ``refines`` names the plant file's part a generated part belongs to (None: that part).
    """

    name: str
    material: str
    color: str
    origin: tuple[float, float, float]
    solids: tuple[Solid, ...]
    refines: str | None = None

    def merged(self) -> Solid:
        """Return the part's solids as one indexed triangle mesh."""
        pos, nrm, faces = [], [], []
        base = 0
        for p, n, f in self.solids:
            pos.append(p)
            nrm.append(n)
            faces.append(f + base)
            base += len(p)
        return np.concatenate(pos), np.concatenate(nrm), np.concatenate(faces)


# --------------------------------------------------------------------------- solids


def box(x0: float, x1: float, y0: float, y1: float, z0: float, z1: float) -> Solid:
    """Return an axis-aligned box given by its extents (type frame)."""
    pos, nrm, faces = box_mesh(x1 - x0, y1 - y0, z1 - z0)
    return pos + np.array([(x0 + x1) / 2, (y0 + y1) / 2, z0]), nrm, faces


def cylinder(
    cx: float, cy: float, r: float, z0: float, z1: float, segments: int, phase: float = 0.0
) -> Solid:
    """Return a z-axis cylinder (or prism, for few segments) standing at ``z0``.

    A cylinder under :data:`SMALL_RADIUS_M` gets a quarter fewer facets (not below 8): it
    looks as round, and the 3-D view draws thousands of them.
    """
    if r < SMALL_RADIUS_M and segments > 8:
        segments = max(8, (segments * 3) // 4)
    pos, nrm, faces = cylinder_mesh(r, z1 - z0, segments)
    if phase:
        c, s_ = math.cos(phase), math.sin(phase)
        rot = np.array([[c, -s_, 0.0], [s_, c, 0.0], [0.0, 0.0, 1.0]])
        pos, nrm = pos @ rot.T, nrm @ rot.T
    return pos + np.array([cx, cy, z0]), nrm, faces


def horizontal_cylinder(
    x0: float, x1: float, cy: float, cz: float, r: float, segments: int
) -> Solid:
    """Return a cylinder along x from ``x0`` to ``x1``, axis at (``cy``, ``cz``)."""
    pos, nrm, faces = cylinder_mesh(r, x1 - x0, segments)
    # z axis -> x axis: (x, y, z) -> (z, y, -x) keeps the winding (a proper rotation)
    rot = np.array([[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [-1.0, 0.0, 0.0]])
    return pos @ rot.T + np.array([x0, cy, cz]), nrm @ rot.T, faces


# --------------------------------------------------------------------------- roles

_EFEM_WORDS = ("efem", "loader", "load station", "cassette station", "wafer_handler", "indexer")
_CHAMBER_WORDS = ("chamber", "target", "reactor", "bell jar", "strip")
_SERVICE_WORDS = (
    "rack",
    "cabinet",
    "gas",
    "pump",
    "chiller",
    "scrubber",
    "slurry",
    "supply",
    "electronics",
    "generator",
    "cryo",
)
_METAL_WORDS = (
    "carousel",
    "column",
    "robot",
    "rail",
    "reticle",
    "lens",
    "spindle",
    "stage",
    "source",
)


def _has(name: str, words: tuple[str, ...]) -> bool:
    n = name.lower()
    return any(w in n for w in words)


def _extent(part: s.Part) -> tuple[float, float, float, float, float, float]:
    x0, y0, x1, y1 = part.extent_xy()
    return (x0, x1, y0, y1, part.at[2], part.top_z())


def main_part(etype: s.EquipmentType) -> s.Part | None:
    """Return the type's main body: the largest box that is not an EFEM or a service rack."""
    best: s.Part | None = None
    best_v = -1.0
    for p in etype.shape.parts:
        if p.box is None:
            continue
        v = p.box[0] * p.box[1] * p.box[2]
        if _has(p.name, _EFEM_WORDS):
            v *= 0.01
        elif _has(p.name, _SERVICE_WORDS) and etype.kind is not s.EquipmentKind.FURNACE:
            v *= 0.1
        if v > best_v:
            best, best_v = p, v
    return best


def _covered(part: s.Part, others: list[s.Part]) -> bool:
    """Whether another part stands on ``part``'s top (then its top is left as it is)."""
    x0, x1, y0, y1, _, z1 = _extent(part)
    for o in others:
        if o is part:
            continue
        ox0, oy0, ox1, oy1 = o.extent_xy()
        on_top = abs(o.at[2] - z1) <= 0.05
        if on_top and ox0 < x1 and ox1 > x0 and oy0 < y1 and oy1 > y0:
            return True
    return False


def _within(inner: s.Part, outer: s.Part) -> bool:
    """Whether ``inner``'s footprint lies inside ``outer``'s (1 cm tolerance)."""
    a, b = inner.extent_xy(), outer.extent_xy()
    tol = 0.01
    return a[0] >= b[0] - tol and a[1] >= b[1] - tol and a[2] <= b[2] + tol and a[3] <= b[3] + tol


def _front(part: s.Part, etype: s.EquipmentType) -> tuple[int, int]:
    """Return (axis, sign) of the side of ``part`` that faces away from the tool's centre."""
    fx0, fy0, fx1, fy1 = etype.shape.footprint_m()
    cx, cy = (fx0 + fx1) / 2, (fy0 + fy1) / 2
    dx, dy = part.at[0] - cx, part.at[1] - cy
    if abs(dx) < 0.05 and abs(dy) < 0.05:
        return (1, -1)
    if abs(dx) > abs(dy):
        return (0, 1 if dx > 0 else -1)
    return (1, 1 if dy > 0 else -1)


# --------------------------------------------------------------------------- refinements


def _efem(part: s.Part, etype: s.EquipmentType, color: str) -> list[ModelPart]:
    """A cabinet, with load ports and FOUPs on its front side."""
    x0, x1, y0, y1, z0, z1 = _extent(part)
    axis, sign = _front(part, etype)
    along = (x1 - x0) if axis == 0 else (y1 - y0)
    across_lo, across_hi = (y0, y1) if axis == 0 else (x0, x1)
    across = across_hi - across_lo
    shelf = min(0.42, 0.45 * along)
    n = max(1, etype.load_ports or 1)
    n = max(1, min(n, int(across / LOAD_PORT_PITCH_M)))
    lo_al, hi_al = (x0, x1) if axis == 0 else (y0, y1)
    if sign > 0:
        cab_al, port_al = (lo_al, hi_al - shelf), (hi_al - shelf, hi_al)
    else:
        cab_al, port_al = (lo_al + shelf, hi_al), (lo_al, lo_al + shelf)

    def make(al: tuple[float, float], ac: tuple[float, float], za: float, zb: float) -> Solid:
        if axis == 0:
            return box(al[0], al[1], ac[0], ac[1], za, zb)
        return box(ac[0], ac[1], al[0], al[1], za, zb)

    h = z1 - z0
    port_top = z0 + min(LOAD_PORT_HEIGHT_M, 0.6 * h)
    foup_h = min(FOUP_SIZE_M[2], 0.3 * h)
    out = [
        ModelPart(
            part.name, "body", color, part.at, (make(cab_al, (across_lo, across_hi), z0, z1),)
        )
    ]
    pitch = across / n
    foup_d = min(FOUP_SIZE_M[1], 0.9 * shelf)
    mid_al = (port_al[0] + port_al[1]) / 2
    ports, foups = [], []
    for k in range(n):
        c = across_lo + pitch * (k + 0.5)
        pw = min(0.44, 0.9 * pitch) / 2
        fw = min(FOUP_SIZE_M[0], 0.8 * pitch) / 2
        ports.append(make(port_al, (c - pw, c + pw), z0, port_top))
        foups.append(
            make(
                (mid_al - foup_d / 2, mid_al + foup_d / 2),
                (c - fw, c + fw),
                port_top,
                port_top + foup_h,
            )
        )
    # each port and each FOUP its own part: a procedure's step points at one of them
    dark, foup = MATERIALS["dark"].color, MATERIALS["foup"].color
    out += [
        ModelPart(f"{part.name} load port {k}", "dark", dark, part.at, (port,))
        for k, port in enumerate(ports, start=1)
    ]
    out += [
        ModelPart(f"{part.name} FOUP {k}", "foup", foup, part.at, (f,))
        for k, f in enumerate(foups, start=1)
    ]
    return out


def _chamber(part: s.Part, color: str, segments: int) -> list[ModelPart]:
    """A process chamber: the vessel (state colour) under a metal lid."""
    assert part.cylinder is not None
    r, h = part.cylinder
    x, y, z = part.at
    lid = min(0.12, 0.2 * h)
    return [
        ModelPart(
            part.name, "body", color, part.at, (cylinder(x, y, r, z, z + h - lid, segments),)
        ),
        ModelPart(
            f"{part.name} lid",
            "metal",
            MATERIALS["metal"].color,
            part.at,
            (cylinder(x, y, r, z + h - lid, z + h, segments),),
        ),
    ]


def _boat_elevator(part: s.Part, etype: s.EquipmentType, color: str) -> list[ModelPart]:
    """A furnace's boat elevator: its cabinet with a tall window onto the boat."""
    x0, x1, y0, y1, z0, z1 = _extent(part)
    axis, sign = _front(part, etype)
    h = z1 - z0
    rec = 0.04  # the cabinet's front is set back by the window's thickness
    za, zb = z0 + 0.3 * h, z0 + 0.9 * h
    if axis == 1:
        c0, c1 = (y0, y1 - rec) if sign > 0 else (y0 + rec, y1)
        cab = box(x0, x1, c0, c1, z0, z1)
        f0, f1 = (y1 - rec, y1) if sign > 0 else (y0, y0 + rec)
        m = 0.2 * (x1 - x0)
        win = box(x0 + m, x1 - m, f0, f1, za, zb)
    else:
        c0, c1 = (x0, x1 - rec) if sign > 0 else (x0 + rec, x1)
        cab = box(c0, c1, y0, y1, z0, z1)
        f0, f1 = (x1 - rec, x1) if sign > 0 else (x0, x0 + rec)
        m = 0.2 * (y1 - y0)
        win = box(f0, f1, y0 + m, y1 - m, za, zb)
    return [
        ModelPart(part.name, "body", color, part.at, (cab,)),
        ModelPart(f"{part.name} window", "glass", MATERIALS["glass"].color, part.at, (win,)),
    ]


def _tank(part: s.Part, color: str) -> list[ModelPart]:
    """A bath: white walls, the liquid's surface inset at the top."""
    x0, x1, y0, y1, z0, z1 = _extent(part)
    rim = min(0.06, 0.15 * (x1 - x0), 0.15 * (y1 - y0))
    top = z1 - min(0.04, 0.3 * (z1 - z0))
    return [
        ModelPart(part.name, "panel", part.color, part.at, (box(x0, x1, y0, y1, z0, top),)),
        ModelPart(
            f"{part.name} liquid",
            "liquid",
            MATERIALS["liquid"].color,
            part.at,
            (box(x0 + rim, x1 - rim, y0 + rim, y1 - rim, top, z1),),
        ),
    ]


def _platen(part: s.Part, segments: int) -> list[ModelPart]:
    """A CMP platen (metal) carrying its polishing pad."""
    assert part.cylinder is not None
    r, h = part.cylinder
    x, y, z = part.at
    pad = 0.35 * h
    return [
        ModelPart(
            part.name, "metal", part.color, part.at, (cylinder(x, y, r, z, z + h - pad, segments),)
        ),
        ModelPart(
            f"{part.name} pad",
            "dark",
            MATERIALS["dark"].color,
            part.at,
            (cylinder(x, y, 0.96 * r, z + h - pad, z + h, segments),),
        ),
    ]


def _main_body(
    part: s.Part, etype: s.EquipmentType, color: str, segments: int, covered: bool
) -> list[ModelPart]:
    """The main body: its kind's silhouette when nothing stands on it, and a signal tower."""
    x0, x1, y0, y1, z0, z1 = _extent(part)
    w, d, h = x1 - x0, y1 - y0, z1 - z0
    kind = etype.kind
    K = s.EquipmentKind
    body: list[Solid]
    extra: list[ModelPart] = []
    inside = [
        p
        for p in etype.shape.parts
        if p.cylinder is not None
        and _has(p.name, _CHAMBER_WORDS)
        and _within(p, part)
        and p.top_z() <= z1 + 1e-9
    ]
    if inside and not covered:
        # chambers drawn inside the body (a cluster tool given as a block): the body
        # becomes the frame they stand on, so that they show
        zf = max(z0 + 0.25 * h, min(p.at[2] for p in inside))
        body = [box(x0, x1, y0, y1, z0, zf)]
    elif covered:
        body = [box(x0, x1, y0, y1, z0, z1)]
    elif kind is K.LITHO_SCANNER:
        # the scanner's stepped silhouette: the stage base, the lens/reticle module above
        zs = z0 + 0.72 * h
        body = [
            box(x0, x1, y0, y1, z0, zs),
            box(x0 + 0.2 * w, x1 - 0.15 * w, y0 + 0.25 * d, y1 - 0.05 * d, zs, z1),
        ]
    elif kind in (K.METROLOGY, K.PROBER, K.LASER_SCRIBE):
        zs = z0 + 0.85 * h
        body = [box(x0, x1, y0, y1, z0, zs)]
        r = 0.16 * min(w, d)
        extra.append(
            ModelPart(
                f"{part.name} column",
                "metal",
                MATERIALS["metal"].color,
                part.at,
                (cylinder((x0 + x1) / 2, (y0 + y1) / 2, r, zs, z1, segments),),
            )
        )
    elif kind is K.WET_BENCH and not any(_has(p.name, ("tank",)) for p in etype.shape.parts):
        # one block: the deck, the exhaust hood behind, the tanks in a row on the deck
        zd = z0 + 0.48 * h
        long_x = w >= d
        if long_x:
            body = [box(x0, x1, y0, y1, z0, zd), box(x0, x1, y1 - 0.3 * d, y1, zd, z1)]
        else:
            body = [box(x0, x1, y0, y1, z0, zd), box(x1 - 0.3 * w, x1, y0, y1, zd, z1)]
        span = w if long_x else d
        n = max(1, min(max(etype.chambers, int(span / 1.1)), int(span / 0.3)))
        tanks = []
        pitch = span / n
        gap = min(0.08, 0.15 * pitch)
        for k in range(n):
            a0 = (x0 if long_x else y0) + pitch * k + gap
            a1 = a0 + pitch - 2 * gap
            if long_x:
                tanks.append(box(a0, a1, y0 + 0.1 * d, y1 - 0.4 * d, zd, zd + 0.05))
            else:
                tanks.append(box(x0 + 0.1 * w, x1 - 0.4 * w, a0, a1, zd, zd + 0.05))
        extra.append(
            ModelPart(
                f"{part.name} tanks", "liquid", MATERIALS["liquid"].color, part.at, tuple(tanks)
            )
        )
    elif kind is K.STOCKER:
        # a shelf rack: the frame behind, FOUPs stored on shelves in front
        shelf = min(0.36, 0.45 * d)
        body = [box(x0, x1, y0 + shelf, y1, z0, z1)]
        rows = max(1, min(3, int(h / 0.55)))
        cols = max(1, int(w / 0.45))
        fw, fd = min(FOUP_SIZE_M[0], 0.85 * w / cols), min(FOUP_SIZE_M[1], 0.9 * shelf)
        fh = min(FOUP_SIZE_M[2], 0.8 * h / rows)
        stored = []
        for r in range(rows):
            zr = z0 + h * r / rows + 0.05
            for c in range(cols):
                cx = x0 + w * (c + 0.5) / cols
                stored.append(
                    box(cx - fw / 2, cx + fw / 2, y0 + shelf - fd, y0 + shelf, zr, zr + fh)
                )
        extra.append(
            ModelPart(
                f"{part.name} FOUPs", "foup", MATERIALS["foup"].color, part.at, tuple(stored)
            )
        )
    else:
        body = [box(x0, x1, y0, y1, z0, z1)]
    # the signal tower (a stack light) on the back corner, lit in the state colour
    # (one slim box: 12 triangles on each of thousands of tools)
    tr = min(0.07, 0.1 * min(w, d))
    tx, ty = x1 - 1.5 * tr, y1 - 1.5 * tr
    top = max(b[0][:, 2].max() for b in body)
    lamp = box(tx - tr, tx + tr, ty - tr, ty + tr, top, top + 0.45)
    extra.append(ModelPart(f"{part.name} signal tower", "body", color, part.at, (lamp,)))
    return [ModelPart(part.name, "body", color, part.at, tuple(body)), *extra]


def refine(
    part: s.Part, etype: s.EquipmentType, *, segments: int, is_main: bool, covered: bool
) -> list[ModelPart]:
    """Return ``part`` as recognisable parts (its own name first), all within its bounds."""
    name = part.name
    color = part.color
    if is_main:
        return _main_body(part, etype, color, segments, covered)
    if part.box is not None and "boat" in name.lower():  # (a "boat loader" is no EFEM)
        return _boat_elevator(part, etype, color)
    if part.box is not None and _has(name, _EFEM_WORDS):
        return _efem(part, etype, color)
    if (
        part.box is not None
        and _has(name, ("end station", "end_station"))
        and not any(_has(p.name, _EFEM_WORDS) for p in etype.shape.parts)
    ):
        return _efem(part, etype, color)  # an implanter's end station loads the FOUPs
    if part.cylinder is not None:
        x, y, z = part.at
        r, h = part.cylinder
        n = name.lower()
        if "transfer" in n:
            hub = cylinder(x, y, r, z, z + h, 6, math.pi / 6)
            return [ModelPart(name, "metal", color, part.at, (hub,))]
        if "platen" in n:
            return _platen(part, segments)
        if "tube" in n:
            tube = cylinder(x, y, r, z, z + h, segments)
            return [ModelPart(name, "quartz", color, part.at, (tube,))]
        if _has(name, _CHAMBER_WORDS) and h >= 0.2:
            return _chamber(part, color, segments)
        material = "metal" if _has(name, (*_METAL_WORDS, "magnet", "head")) else "body"
        if _has(name, _SERVICE_WORDS):
            material = "panel"
        return [
            ModelPart(name, material, color, part.at, (cylinder(x, y, r, z, z + h, segments),))
        ]
    assert part.box is not None
    x0, x1, y0, y1, z0, z1 = _extent(part)
    if "tank" in name.lower():
        return _tank(part, color)
    if _has(name, _SERVICE_WORDS):
        material = "panel"
    elif _has(name, _METAL_WORDS):
        material = "metal"
    elif _has(name, ("hood",)):
        material = "glass"
    else:
        material = "body"
    return [ModelPart(name, material, color, part.at, (box(x0, x1, y0, y1, z0, z1),))]


def model_parts(etype: s.EquipmentType, *, segments: int) -> list[ModelPart]:
    """Return every part of a type's shape refined (:func:`refine`), plant-file order kept.

    The generated parts follow the part they belong to; a generated name that the plant
    file already uses gets a numeric suffix.
    """
    parts = list(etype.shape.parts)
    main = main_part(etype)
    used = {p.name for p in parts}
    out: list[ModelPart] = []
    for p in parts:
        refined = refine(
            p,
            etype,
            segments=segments,
            is_main=p is main,
            covered=_covered(p, parts) if p is main else False,
        )
        for k, mp in enumerate(refined):
            if k == 0:
                out.append(mp)
                continue
            name, j = mp.name, 2
            while name in used:
                name = f"{mp.name} {j}"
                j += 1
            used.add(name)
            out.append(ModelPart(name, mp.material, mp.color, mp.origin, mp.solids, p.name))
    return out


# --------------------------------------------------------------------------- a type from its kind


def _efem_part(width: float, y: float) -> s.Part:
    return s.Part(name="EFEM", box=(width, 1.0, 2.0), at=(0.0, y, 0.0), color="#c8cdd4")


def parametric_parts(
    kind: s.EquipmentKind | str,
    *,
    chambers: int = 1,
    load_ports: int = 2,
    batch_wafers: int | None = None,
) -> list[s.Part]:
    """Return the named parts of a recognisable tool of ``kind`` (type frame, front at -y).

    Parameters come from the equipment type: the number of process chambers (radial
    chambers of a cluster tool, tanks of a wet bench, platens of a CMP, towers of a
    furnace), load ports (FOUP positions on the EFEM) and the batch size (a furnace's tube
    height grows with it). Every kind of :class:`~factory_twin.model.schema.EquipmentKind`
    gives a tool whose parts carry the names the shipped procedures use.
    """
    K = s.EquipmentKind
    kind = K(kind)
    lp = max(1, load_ports)
    efem_w = max(1.6, LOAD_PORT_PITCH_M * lp + 0.5)
    P = s.Part
    if kind in (K.DRY_ETCH, K.CVD, K.PVD):
        n = max(1, min(chambers, 6))
        parts = [
            _efem_part(max(efem_w, 2.6), -2.6),
            P(name="load lock", box=(1.4, 1.0, 1.4), at=(0.0, -1.5, 0.0)),
            P(name="transfer module", cylinder=(1.0, 1.2), at=(0.0, 0.0, 0.0)),
        ]
        for k in range(n):
            # radial chambers around the transfer module, on its back half
            a = math.pi * (1.0 - (k + 0.5) / n) if n > 1 else math.pi / 2
            parts.append(
                P(
                    name=f"chamber {k + 1}",
                    cylinder=(0.7, 1.5),
                    at=(round(1.75 * math.cos(a), 3), round(0.2 + 1.75 * math.sin(a), 3), 0.0),
                    color="#9fb4c8",
                )
            )
        parts += [
            P(name="RF generator rack", box=(3.0, 0.8, 1.6), at=(0.0, 2.9, 0.0)),
            P(name="gas box", box=(0.8, 1.2, 1.8), at=(-2.4, -1.6, 0.0)),
        ]
        return parts
    if kind is K.FURNACE:
        towers = max(1, min(chambers, 4))
        tube_h = 1.0 + 0.004 * (batch_wafers or 100)
        parts = [
            P(name="load station", box=(2.0 * towers, 1.0, 1.5), at=(0.0, -1.7, 0.0)),
            P(name="boat loader", box=(2.0 * towers, 1.6, 2.6), at=(0.0, -0.4, 0.0)),
            P(name="furnace cabinet", box=(2.0 * towers, 1.8, 2.8), at=(0.0, 1.3, 0.0)),
        ]
        for k in range(towers):
            x = 2.0 * (k - (towers - 1) / 2)
            nm = "quartz tube" if towers == 1 else f"quartz tube {k + 1}"
            parts.append(P(name=nm, cylinder=(0.45, tube_h), at=(x, 1.3, 2.8)))
        parts.append(P(name="gas cabinet", box=(0.8, 1.0, 2.2), at=(towers + 0.4, 1.7, 0.0)))
        return parts
    if kind is K.LITHO_SCANNER:
        return [
            P(name="scanner body", box=(4.2, 3.0, 2.4), at=(0.0, 0.0, 0.0)),
            P(name="reticle stage", box=(1.6, 1.2, 0.4), at=(0.3, 0.2, 2.4)),
            P(name="reticle library", box=(0.8, 0.8, 0.5), at=(-1.3, 0.6, 2.4)),
            P(name="projection lens", cylinder=(0.45, 0.3), at=(0.3, -0.9, 2.4)),
            P(name="laser source", box=(1.2, 2.0, 1.8), at=(2.8, 0.0, 0.0)),
            P(name="electronics rack", box=(4.2, 0.8, 2.0), at=(0.0, 1.9, 0.0)),
        ]
    if kind is K.LITHO_TRACK:
        return [
            P(name="cassette station", box=(max(efem_w, 3.4), 0.9, 1.3), at=(0.0, -1.85, 0.0)),
            P(name="process block", box=(3.4, 2.8, 2.4), at=(0.0, 0.0, 0.0)),
            P(name="hot plate stack", box=(0.8, 0.8, 0.6), at=(-1.0, 0.0, 2.4)),
            P(name="chemical cabinet", box=(3.4, 0.8, 1.6), at=(0.0, 1.8, 0.0)),
        ]
    if kind is K.WET_BENCH:
        n = max(2, chambers)
        length = 1.6 * n + 0.4
        parts = [
            P(name="load station", box=(1.6, 1.8, 1.6), at=(-length / 2 - 0.8, 0.0, 0.0)),
            P(name="bath deck", box=(length, 1.8, 1.0), at=(0.0, 0.0, 0.0)),
        ]
        for k in range(n):
            x = -length / 2 + 0.2 + 1.6 * (k + 0.5)
            parts.append(
                P(name=f"tank {k + 1}", box=(1.0, 0.8, 0.25), at=(round(x, 3), -0.3, 1.0))
            )
        parts += [
            P(name="exhaust hood", box=(length, 0.6, 1.2), at=(0.0, 0.6, 1.0)),
            P(name="spin dryer", cylinder=(0.6, 1.3), at=(length / 2 + 0.7, 0.0, 0.0)),
        ]
        return parts
    if kind is K.CMP:
        n = max(1, min(chambers, 4))
        parts = [
            _efem_part(max(efem_w, 2.6), -2.6),
            P(name="cleaner", box=(2.6, 1.4, 2.0), at=(0.0, -1.3, 0.0)),
            P(name="polisher base", box=(2.6, 2.8, 1.0), at=(0.0, 0.8, 0.0)),
        ]
        for k in range(n):
            a = 2 * math.pi * k / n - math.pi / 2
            parts.append(
                P(
                    name=f"platen {k + 1}",
                    cylinder=(0.45, 0.15),
                    at=(round(0.8 * math.cos(a), 3), round(0.8 + 0.7 * math.sin(a), 3), 1.0),
                )
            )
        parts += [
            P(name="carousel column", cylinder=(0.15, 0.8), at=(0.0, 0.8, 1.0)),
            P(name="head carousel", cylinder=(0.9, 0.25), at=(0.0, 0.8, 1.8)),
            P(name="slurry cabinet", box=(0.8, 1.0, 1.8), at=(1.8, 1.6, 0.0)),
        ]
        return parts
    if kind is K.IMPLANTER:
        return [
            P(name="gas cabinet", box=(1.0, 1.0, 2.0), at=(-4.3, -1.1, 0.0)),
            P(name="ion source", box=(1.2, 1.4, 2.0), at=(-4.2, 0.6, 0.0)),
            P(name="analyzer magnet", cylinder=(0.8, 1.4), at=(-2.6, 0.6, 0.0)),
            P(name="beamline", box=(2.4, 0.8, 1.6), at=(-0.6, 0.6, 0.0)),
            P(name="end station", box=(2.2, 2.4, 2.2), at=(1.7, 0.5, 0.0)),
            P(name="EFEM", box=(max(efem_w, 2.2), 1.0, 2.0), at=(1.7, -1.2, 0.0)),
        ]
    if kind is K.MOCVD:
        return [
            P(name="loader", box=(2.4, 0.9, 1.4), at=(0.0, -1.55, 0.0)),
            P(name="main body", box=(2.4, 2.2, 2.2), at=(0.0, 0.0, 0.0)),
            P(name="reactor", cylinder=(0.75, 0.7), at=(0.0, 0.0, 2.2)),
            P(name="gas mixing cabinet", box=(2.4, 1.2, 2.4), at=(0.0, 1.7, 0.0)),
            P(name="scrubber", cylinder=(0.45, 2.0), at=(1.8, 1.7, 0.0)),
        ]
    if kind is K.EBEAM_EVAPORATOR:
        return [
            P(name="loader", box=(2.2, 0.9, 1.4), at=(0.0, -1.55, 0.0)),
            P(name="main body", box=(2.2, 2.2, 1.2), at=(0.0, 0.0, 0.0)),
            P(name="bell jar", cylinder=(1.0, 1.6), at=(0.0, 0.0, 1.2)),
            P(name="cryopump", cylinder=(0.3, 1.0), at=(1.5, 0.6, 0.0)),
        ]
    if kind is K.STOCKER:
        return [
            P(name="shelf", box=(4.0, 1.6, 3.0), at=(0.0, 0.0, 0.0)),
            P(name="load station", box=(max(efem_w, 4.0), 0.8, 1.4), at=(0.0, -1.2, 0.0)),
            P(name="crane rail", box=(4.0, 0.2, 0.2), at=(0.0, 0.0, 3.0)),
        ]
    # one-module tools: EFEM in front, the body, a kind-specific head on top, a rack beside
    heads: dict[s.EquipmentKind, tuple[str, s.Part]] = {
        K.METROLOGY: (
            "measurement module",
            P(name="electronics rack", box=(0.7, 2.0, 1.6), at=(1.25, 0.0, 0.0)),
        ),
        K.PROBER: ("main body", P(name="test head", box=(0.8, 0.6, 0.4), at=(0.0, 0.0, 1.7))),
        K.SORTER: ("main body", P(name="bin table", box=(1.0, 0.8, 0.3), at=(0.0, 0.3, 1.7))),
        K.RTA: ("chamber body", P(name="lamp head", cylinder=(0.5, 0.4), at=(0.0, 0.0, 1.7))),
        K.GRINDER: (
            "main body",
            P(name="spindle column", box=(0.6, 0.6, 0.8), at=(0.5, 0.6, 1.7)),
        ),
        K.LASER_SCRIBE: (
            "main body",
            P(name="laser head", box=(0.5, 0.5, 0.5), at=(0.0, 0.3, 1.7)),
        ),
        K.OTHER: ("main body", P(name="service rack", box=(0.7, 2.0, 1.6), at=(1.25, 0.0, 0.0))),
    }
    body_name, extra = heads[kind]
    return [
        s.Part(name="EFEM", box=(max(efem_w, 1.8), 0.9, 1.8), at=(0.0, -1.45, 0.0)),
        P(name=body_name, box=(1.8, 2.0, 1.7), at=(0.0, 0.0, 0.0)),
        extra,
    ]


def kind_type(
    kind: s.EquipmentKind | str,
    *,
    type_id: str | None = None,
    chambers: int = 1,
    load_ports: int = 2,
    batch_wafers: int | None = None,
) -> s.EquipmentType:
    """Return an equipment type of ``kind`` with :func:`parametric_parts` as its shape."""
    k = s.EquipmentKind(kind)
    batch = s.BatchSpec(min_wafers=1, max_wafers=batch_wafers) if batch_wafers else None
    return s.EquipmentType(
        id=type_id or k.value,
        kind=k,
        shape=s.Shape(
            parts=parametric_parts(
                k, chambers=chambers, load_ports=load_ports, batch_wafers=batch_wafers
            )
        ),
        load_ports=load_ports,
        chambers=chambers,
        batch=batch,
    )


def gallery_plant(spacing_m: float = 9.0) -> s.PlantSpec:
    """Return a plant with one tool of every kind (:func:`kind_type`) in rows of five.

    Tool ``K-<kind>`` stands at the centre of a ``spacing_m`` square; what the close-up
    screenshot tests and the README's pictures of every kind are drawn from.
    """
    from factory_twin.model.schema import PlantSpec

    kinds = list(s.EquipmentKind)
    per_row = 5
    rows = -(-len(kinds) // per_row)
    w, d = per_row * spacing_m, rows * spacing_m
    types = [
        kind_type(k, chambers=4 if k is not s.EquipmentKind.FURNACE else 2, load_ports=3)
        for k in kinds
    ]
    return PlantSpec.model_validate(
        {
            "schema_version": 1,
            "site": {
                "name": "Equipment gallery",
                "floor_m": [w, d],
                "bays": [
                    {"id": "gallery", "name": "Gallery", "origin_m": [0, 0], "size_m": [w, d]}
                ],
            },
            "equipment_types": [t.model_dump(mode="json", exclude_defaults=True) for t in types],
            "equipment": [
                {
                    "id": f"K-{k.value}",
                    "type": k.value,
                    "group": k.value,
                    "bay": "gallery",
                    "position_m": [
                        spacing_m * (i % per_row + 0.5),
                        d - spacing_m * (i // per_row + 0.5),
                    ],
                }
                for i, k in enumerate(kinds)
            ],
        }
    )
