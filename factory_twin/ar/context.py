"""What every AR exporter needs: one procedure on one tool, resolved and checked.

:func:`build_context` looks up the equipment, its type and the procedure in a plant,
builds the tool's meshes and the anchor of every step, and picks a viewing angle per step
from which the step's anchor is not hidden behind another part.
"""

from __future__ import annotations

import logging
import math
import re
from collections.abc import Generator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar, cast

import numpy as np

from factory_twin import __version__
from factory_twin.errors import ConfigError, ExportError
from factory_twin.model import schema as s
from factory_twin.model.geometry import (
    AR_MESH_MAX_TRIANGLES,
    FloatArray,
    TypeGeometry,
    component_part,
    component_parts,
    limit_mesh_triangles,
    slugify,
    type_geometry,
    unique_slug,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")


class ExportInputError(ExportError):
    """The plant, equipment or procedure asked for does not exist or does not fit."""


@dataclass(frozen=True)
class View:
    """A camera direction around a tool: azimuth from +x (counter-clockwise), elevation."""

    azimuth_deg: float
    elevation_deg: float

    def direction(self) -> FloatArray:
        """Return the unit vector from the target towards the camera (tool frame, Z up)."""
        az, el = math.radians(self.azimuth_deg), math.radians(self.elevation_deg)
        return np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])


DEFAULT_VIEW = View(-60.0, 30.0)
"""Front-right, from above: the tool's front is its -y side."""


@dataclass(frozen=True)
class StepInfo:
    """One procedure step with everything the exporters derive from it.

    Attributes
    ----------
    number
        1-based step number.
    step
        The step as written in the plant file.
    node_name
        ``step_01_<slug>``: node/prim name and ARLEM action id stem.
    component
        The component the step points at.
    anchor
        The component's anchor, tool frame (Z up, metres).
    part_index
        Index of the part that shows the component, or None
        (:func:`~factory_twin.model.geometry.component_part`).
    highlight
        The parts drawn highlighted: that part and what the equipment model made of it
        within the plant file's part (:func:`~factory_twin.model.geometry.component_parts`,
        the same parts Maintain highlights; the lid alone for a lid).
    view
        A viewing direction from which the anchor is visible.
    """

    number: int
    step: s.ProcedureStep
    node_name: str
    component: s.Component
    anchor: tuple[float, float, float]
    part_index: int | None
    view: View
    highlight: tuple[int, ...] = ()

    def details(self) -> dict[str, Any]:
        """Return the step as plain JSON-able data (glTF extras, USD customData, HTML)."""
        st = self.step
        acc = None
        if st.acceptance is not None:
            acc = {
                "quantity": st.acceptance.quantity,
                "unit": st.acceptance.unit,
                "min": st.acceptance.min,
                "max": st.acceptance.max,
                "target": st.acceptance.target,
                "text": acceptance_text(st.acceptance),
            }
        return {
            "number": self.number,
            "title": st.title,
            "text": st.text,
            "component": self.component.name,
            "action": st.action.value,
            "tools": list(st.tools),
            "parts": list(st.parts),
            "safety": [{"kind": n.kind, "text": n.text} for n in st.safety],
            "duration_s": st.duration_s,
            "acceptance": acc,
        }


@dataclass(frozen=True)
class ExportContext:
    """A procedure on a tool, ready to export.

    Attributes
    ----------
    plant_name
        The site name.
    plant_file
        The plant file's name (None if the plant was built in memory).
    equipment
        The tool instance.
    etype
        Its equipment type.
    procedure
        The procedure.
    geometry
        The type's meshes (tool frame, Z up).
    steps
        One :class:`StepInfo` per procedure step, in order.
    component_slugs
        Component name -> ``[a-z0-9_]`` slug (unique within the type).
    bay
        The bay the tool stands in.
    """

    plant_name: str
    plant_file: str | None
    equipment: s.Equipment
    etype: s.EquipmentType
    procedure: s.Procedure
    geometry: TypeGeometry
    steps: tuple[StepInfo, ...]
    component_slugs: dict[str, str]
    bay: s.Bay | None = None
    overview: View = DEFAULT_VIEW

    def component_node(self, name: str) -> str:
        """Return the node/prim name of component ``name``: ``component_<slug>``."""
        return f"component_{self.component_slugs[name]}"

    @property
    def revision(self) -> str:
        """The procedure's revision."""
        return self.procedure.revision

    @property
    def stem(self) -> str:
        """File name stem shared by every exported file: ``<equipment>_<procedure>_rev<R>``."""
        rev = re.sub(r"[^A-Za-z0-9.\-]+", "_", self.revision)
        return f"{self.equipment.id}_{self.procedure.id}_rev{rev}"

    @property
    def title(self) -> str:
        """One-line human title."""
        return f"{self.procedure.name} - {self.equipment.id}"

    def identity(self) -> dict[str, str]:
        """Return what names this export in every file: plant, equipment, procedure, revision."""
        out = {
            "plant": self.plant_name,
            "equipment": self.equipment.id,
            "equipment_type": self.etype.id,
            "procedure": self.procedure.id,
            "procedure_name": self.procedure.name,
            "revision": self.revision,
            "generator": f"factory_twin {__version__}",
        }
        if self.plant_file:
            out["plant_file"] = self.plant_file
        return out

    def identity_line(self) -> str:
        """Return :meth:`identity` as one line of text."""
        return (
            f"Plant {self.plant_name} | equipment {self.equipment.id} ({self.etype.id}) | "
            f"procedure {self.procedure.id} rev {self.revision}"
        )

    def qr_payload(self) -> str:
        """Return the text a QR code carries to identify this procedure revision."""
        from urllib.parse import quote

        return (
            "factory-twin:procedure?"
            f"plant={quote(self.plant_name)}&equipment={quote(self.equipment.id)}"
            f"&procedure={quote(self.procedure.id)}&revision={quote(self.revision)}"
        )

    @property
    def total_duration_s(self) -> float:
        """Sum of the step durations."""
        return sum(st.step.duration_s for st in self.steps)


def acceptance_text(acc: s.Acceptance) -> str:
    """Return the limits of an acceptance as text, e.g. ``11.5 <= Torque <= 12.5 N m``."""
    unit = f" {acc.unit}" if acc.unit else ""
    if acc.min is not None and acc.max is not None:
        text = f"{_num(acc.min)} to {_num(acc.max)}{unit}"
    elif acc.min is not None:
        text = f">= {_num(acc.min)}{unit}"
    else:
        assert acc.max is not None
        text = f"<= {_num(acc.max)}{unit}"
    if acc.target is not None:
        text += f" (target {_num(acc.target)}{unit})"
    return text


def _num(v: float) -> str:
    return f"{v:g}"


def format_duration(seconds: float) -> str:
    """Return a duration as ``1 h 05 min`` / ``15 min`` / ``40 s``."""
    sec = round(seconds)
    if sec < 60:
        return f"{sec} s"
    minutes = round(sec / 60)
    if minutes < 60:
        return f"{minutes} min"
    return f"{minutes // 60} h {minutes % 60:02d} min"


Progress = Generator[tuple[float, str], None, T]
"""A progress generator: yields ``(fraction in [0, 1], message)``, returns its result ``T``."""


def drain(gen: Progress[T]) -> T:
    """Run a progress generator to its end and return its return value."""
    while True:
        try:
            next(gen)
        except StopIteration as stop:
            return cast(T, stop.value)


# --------------------------------------------------------------------------- building


def find_procedure(spec: s.PlantSpec, etype: s.EquipmentType, key: str) -> s.Procedure:
    """Return the procedure of ``etype`` whose id (or, failing that, name) is ``key``.

    Raises
    ------
    ExportInputError
        Naming the procedures that do exist for the type.
    """
    procs = spec.procedures_for(etype.id)
    for p in procs:
        if p.id == key:
            return p
    by_name = [p for p in procs if p.name.casefold() == key.casefold()]
    if len(by_name) == 1:
        return by_name[0]
    elsewhere = next((p for p in spec.procedures if p.id == key), None)
    if elsewhere is not None:
        msg = (
            f"procedure {key!r} is written for equipment type {elsewhere.equipment_type!r}, "
            f"not {etype.id!r}"
        )
        raise ExportInputError(msg)
    have = ", ".join(f"{p.id} ({p.name})" for p in procs) or "none"
    msg = f"equipment type {etype.id!r} has no procedure {key!r}; its procedures: {have}"
    raise ExportInputError(msg)


def build_context(
    spec: s.PlantSpec,
    equipment_id: str,
    procedure: str,
    *,
    plant_path: str | Path | None = None,
) -> ExportContext:
    """Resolve and check one procedure on one tool.

    Parameters
    ----------
    spec
        The plant.
    equipment_id
        Id of the tool (an entry of ``equipment``).
    procedure
        Id or name of a procedure written for that tool's type.
    plant_path
        The plant file (mesh files are relative to its folder; its name goes into metadata).

    Raises
    ------
    ExportInputError
        If the tool, its type or the procedure does not exist, or a step names an unknown
        component.
    """
    try:
        equipment = spec.tool(equipment_id)
    except KeyError:
        have = ", ".join(e.id for e in spec.equipment)
        msg = f"plant {spec.site.name!r} has no equipment {equipment_id!r}; it has: {have}"
        raise ExportInputError(msg) from None
    try:
        etype = spec.equipment_type(equipment.type)
    except KeyError:
        msg = f"equipment {equipment.id!r} has unknown type {equipment.type!r}"
        raise ExportInputError(msg) from None
    proc = find_procedure(spec, etype, procedure)
    path = Path(plant_path) if plant_path is not None else None
    try:
        geometry = limit_mesh_triangles(
            type_geometry(etype, path.parent if path is not None else None),
            AR_MESH_MAX_TRIANGLES,
        )
    except ConfigError as exc:  # an unreadable mesh file: the export cannot go on
        raise ExportInputError(str(exc)) from None
    if not geometry.parts:
        msg = f"equipment type {etype.id!r} has no shape parts to draw"
        raise ExportInputError(msg)
    taken: set[str] = set()
    slugs = {c.name: unique_slug(c.name, taken) for c in etype.components}
    used: set[str] = set()
    steps: list[StepInfo] = []
    for k, st in enumerate(proc.steps, start=1):
        try:
            comp = etype.component(st.component)
        except KeyError:
            have = ", ".join(c.name for c in etype.components) or "none"
            msg = (
                f"procedure {proc.id!r} step {k} ({st.title!r}) names component "
                f"{st.component!r}, which type {etype.id!r} does not have (has: {have})"
            )
            raise ExportInputError(msg) from None
        name = f"step_{k:02d}_{slugify(st.title, 32)}"
        while name in used:  # two steps with the same title
            name += "_"
        used.add(name)
        part = component_part(geometry, comp)
        steps.append(
            StepInfo(
                number=k,
                step=st,
                node_name=name,
                component=comp,
                anchor=comp.anchor_m,
                part_index=part,
                view=best_view(
                    geometry,
                    np.asarray(comp.anchor_m, dtype=np.float64),
                    part,
                    steps[-1].view if steps else None,
                ),
                highlight=tuple(component_parts(etype, geometry, comp)),
            )
        )
    return ExportContext(
        plant_name=spec.site.name,
        plant_file=path.name if path is not None else None,
        equipment=equipment,
        etype=etype,
        procedure=proc,
        geometry=geometry,
        steps=tuple(steps),
        component_slugs=slugs,
        bay=next((b for b in spec.site.bays if b.id == equipment.bay), None),
        overview=overview_view(geometry, steps),
    )


# --------------------------------------------------------------------------- viewing angle


def best_view(
    geometry: TypeGeometry,
    anchor: FloatArray,
    own_part: int | None,
    previous: View | None = None,
) -> View:
    """Return a view from which ``anchor`` and its part are not hidden by other parts.

    Candidates face the anchor's side of the tool first (the anchor's direction from the
    tool's vertical axis), at 35, 55 and 15 degrees elevation. A candidate whose line of
    sight to the anchor crosses another part is dropped; the rest are scored by how much of
    the anchor's part other parts' boxes cover (an orthographic estimate), ties going to the
    preferred direction and, given the ``previous`` step's view, to small turns from it.
    With no unobstructed candidate, the preferred direction is used.
    """
    lo, hi = geometry.bounds
    centre = (lo + hi) / 2
    offset = anchor[:2] - centre[:2]
    half = np.maximum((hi[:2] - lo[:2]) / 2, 1e-6)
    if np.max(np.abs(offset) / half) < 0.15:
        preferred = DEFAULT_VIEW.azimuth_deg
    else:
        preferred = math.degrees(math.atan2(offset[1], offset[0]))
        # lean towards the front (-y) so views stay familiar
        preferred = _blend_angle(preferred, DEFAULT_VIEW.azimuth_deg, 0.25)
    deltas = [0, 30, -30, 60, -60, 90, -90, 135, -135, 180]
    pos, _, faces, owner = geometry.combined()
    own = geometry.family(own_part)  # the part with its lid, pad...: never its own cover
    mask = ~np.isin(owner, own)
    tris = pos[faces[mask]]
    radius = float(np.linalg.norm(hi - lo)) * 2 + 1.0
    boxes = np.array([p.bounds for p in geometry.parts])
    best: tuple[float, View] | None = None
    rank = 0
    for el in (35.0, 55.0, 15.0):
        for d in deltas:
            v = View(_wrap(preferred + d), el)
            rank += 1
            if _ray_blocked(anchor, v.direction(), radius, tris):
                continue
            covered = _covered_fraction(boxes, own, v) if own_part is not None else 0.0
            score = 1.0 - covered - 0.004 * rank - (0.05 if el != 35.0 else 0.0)
            if previous is not None:  # small turns between consecutive steps read better
                turn = abs((v.azimuth_deg - previous.azimuth_deg + 180) % 360 - 180)
                score -= 0.1 * turn / 180
            if best is None or score > best[0]:
                best = (score, v)
    if best is None:
        logger.debug("anchor %s is hidden from every candidate view", anchor)
        return View(_wrap(preferred), 35.0)
    return best[1]


def _covered_fraction(boxes: FloatArray, family: list[int], view: View) -> float:
    """Estimate how much of box ``family[0]`` boxes in front of it hide from ``view``.

    The other boxes of ``family`` (the part's own lid, pad...) do not count.
    """
    own = family[0]
    d = view.direction()
    right = np.cross([0.0, 0.0, 1.0], d)
    right /= max(float(np.linalg.norm(right)), 1e-12)
    up = np.cross(d, right)
    corners = np.array(
        [
            [[b[i][0], b[j][1], b[k][2]] for i in (0, 1) for j in (0, 1) for k in (0, 1)]
            for b in boxes
        ]
    )
    u, w, depth = corners @ right, corners @ up, corners @ d  # depth: larger = nearer
    rect = np.stack([u.min(1), w.min(1), u.max(1), w.max(1)], axis=1)
    near = depth.mean(axis=1)
    own_rect = rect[own]
    own_area = max(float((own_rect[2] - own_rect[0]) * (own_rect[3] - own_rect[1])), 1e-12)
    covered = 0.0
    for i in range(len(boxes)):
        if i in family or near[i] <= near[own]:
            continue
        ox = min(own_rect[2], rect[i][2]) - max(own_rect[0], rect[i][0])
        oy = min(own_rect[3], rect[i][3]) - max(own_rect[1], rect[i][1])
        if ox > 0 and oy > 0:
            covered += ox * oy / own_area
    return min(covered, 1.0)


def overview_view(geometry: TypeGeometry, steps: list[StepInfo]) -> View:
    """Return the view, front-right first, from which the most step anchors are unobstructed.

    An anchor only counts as hidden by parts other than its own.
    """
    pos, _, faces, owner = geometry.combined()
    lo, hi = geometry.bounds
    radius = float(np.linalg.norm(hi - lo)) * 2 + 1.0
    anchors = {(st.anchor, st.part_index) for st in steps}
    tris = {part: pos[faces[~np.isin(owner, geometry.family(part))]] for _, part in anchors}
    best, best_seen = DEFAULT_VIEW, -1
    for el in (30.0, 45.0):
        for d in (0, -30, 30, -60, 60, 90, -90, 180, 135, -135):
            v = View(_wrap(DEFAULT_VIEW.azimuth_deg + d), el)
            direction = v.direction()
            seen = sum(
                not _ray_blocked(np.asarray(a, dtype=np.float64), direction, radius, tris[part])
                for a, part in anchors
            )
            if seen > best_seen:
                best, best_seen = v, seen
            if seen == len(anchors):
                return best
    return best


def _blend_angle(a: float, b: float, w: float) -> float:
    diff = (b - a + 180) % 360 - 180
    return a + w * diff


def _wrap(a: float) -> float:
    return (a + 180) % 360 - 180


def _ray_blocked(
    origin: FloatArray, direction: FloatArray, length: float, tris: FloatArray
) -> bool:
    """Return True if the segment from ``origin`` along ``direction`` hits a triangle.

    Vectorised Moller-Trumbore; hits closer than 5 mm to the origin are ignored so that an
    anchor lying on a surface does not block itself.
    """
    if len(tris) == 0:
        return False
    v0, v1, v2 = tris[:, 0], tris[:, 1], tris[:, 2]
    e1, e2 = v1 - v0, v2 - v0
    p = np.cross(direction, e2)
    det = np.einsum("ij,ij->i", e1, p)
    ok = np.abs(det) > 1e-12
    inv = np.where(ok, 1.0 / np.where(ok, det, 1.0), 0.0)
    t_vec = origin - v0
    u = np.einsum("ij,ij->i", t_vec, p) * inv
    q = np.cross(t_vec, e1)
    v = (q @ direction) * inv
    t = np.einsum("ij,ij->i", e2, q) * inv
    hit = ok & (u >= 0) & (v >= 0) & (u + v <= 1) & (t > 0.005) & (t < length)
    return bool(hit.any())
