"""Work-instruction overlays on ANY pyvista plotter (no Qt here).

:class:`StepOverlay` draws, over a :class:`~factory_twin.ui.scene.FabScene`, what one
maintenance step points at:

* the part the component maps to as a bright, slightly enlarged solid (``highlight``): the
  equipment model's real part, as the AR exports single it out
  (:func:`~factory_twin.model.geometry.component_parts`): the lid alone for a lid, the
  chamber with its lid for the chamber, the plant file's part when nothing finer matches;
  the rest of the tool keeps its colour;
* a marker sphere at the component anchor;
* a leader line from the anchor up and aside to a label point, and a callout (a pyvista
  point label) there with the step title and text, wrapped to a readable width;

and computes the close-up camera looking at the anchor. It also turns a picked display
pixel into (tool, world point), which :func:`factory_twin.app.maintenance.nearest_component`
maps to a component.
"""

from __future__ import annotations

import logging
import math
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pyvista as pv
import vtk

from factory_twin.app.maintenance import anchor_world
from factory_twin.errors import ConfigError
from factory_twin.model.geometry import (
    VIEW_CYLINDER_SEGMENTS,
    VIEW_MESH_MAX_TRIANGLES,
    component_parts,
    limit_mesh_triangles,
    place,
    type_geometry,
)
from factory_twin.model.schema import PlantSpec
from factory_twin.ui.scene import FabScene
from factory_twin.ui.scene_camera import camera_for_bounds
from factory_twin.ui.scene_meshes import triangles_polydata

logger = logging.getLogger(__name__)

HIGHLIGHT_COLOR = "#ff9f1c"
LEADER_COLOR = "#ffd166"
SAFETY_COLOR = "#ff4d4d"
WRAP = 42  # characters per callout line
HIGHLIGHT_PAD_M = 0.03
"""How far the highlight stands off the part's surface (it wraps the tool's own faces)."""


@dataclass
class Highlighted:
    """What the overlay shows now.

    ``part`` is the name of the model part the component maps to (``chamber 1 lid``), None
    when it maps to none; ``part_bounds`` the world bounds (VTK order) of what is
    highlighted, without the highlight's padding.
    """

    tool: str
    component: str
    part: str | None
    anchor: tuple[float, float, float]
    label_point: tuple[float, float, float]
    part_bounds: tuple[float, ...] | None = None


def component_mesh(
    spec: PlantSpec, tool_id: str, component: str, pad: float = HIGHLIGHT_PAD_M
) -> tuple[str, pv.PolyData] | None:
    """Return the name of the part that shows a tool's component and its world-space mesh.

    The mesh is the equipment model's real geometry of the parts that draw the component
    (:func:`~factory_twin.model.geometry.component_parts`), each solid grown by ``pad``
    metres on every side so that the highlight wraps the tool's own surface. None when the
    component shows on no part (or the type's mesh file cannot be read).

    Raises
    ------
    KeyError
        If the tool, its type or the component does not exist.
    """
    found = _component_solids(spec, tool_id, component)
    if found is None:
        return None
    name, mesh = found
    return name, _placed(spec, tool_id, _grown(mesh, pad) if pad > 0.0 else mesh)


def _component_solids(
    spec: PlantSpec, tool_id: str, component: str
) -> tuple[str, pv.PolyData] | None:
    """Return the part name and the type-frame mesh of :func:`component_mesh`, unpadded."""
    etype = spec.equipment_type(spec.tool(tool_id).type)
    comp = etype.component(component)
    try:
        geometry = limit_mesh_triangles(
            type_geometry(etype, segments=VIEW_CYLINDER_SEGMENTS), VIEW_MESH_MAX_TRIANGLES
        )
    except ConfigError as exc:  # the view already says so; the step still shows its anchor
        logger.info("no highlight for %s on %s: %s", component, tool_id, exc)
        return None
    parts = [geometry.parts[i] for i in component_parts(etype, geometry, comp)]
    if not parts:
        return None
    pts, tris, base = [], [], 0
    for part in parts:
        pts.append(part.positions)
        tris.append(part.faces + base)
        base += len(part.positions)
    return parts[0].name, triangles_polydata(np.concatenate(pts), np.concatenate(tris))


def _placed(spec: PlantSpec, tool_id: str, mesh: pv.PolyData) -> pv.PolyData:
    """Return a copy of a type-frame mesh where the tool stands."""
    tool = spec.tool(tool_id)
    out = mesh.copy()
    out.points = place(
        np.asarray(mesh.points, dtype=np.float64), tool.position_m, tool.rotation_deg
    )
    return out


def _grown(mesh: pv.PolyData, pad: float) -> pv.PolyData:
    """Return ``mesh`` with each of its closed solids scaled about its centre so that its
    bounding box grows by ``pad`` on every side (exact for the boxes and cylinders)."""
    # coincident corners merged so that each closed solid is one connected region; a
    # triangle that collapses (a decimated mesh file) is dropped, never turned into a line
    welded = mesh.clean(tolerance=1e-7, absolute=True, lines_to_points=False, polys_to_lines=False)
    bodies = welded.connectivity("all")
    pts = np.asarray(bodies.points, dtype=np.float64).copy()
    region = np.asarray(bodies.point_data["RegionId"])
    for r in np.unique(region):
        sel = region == r
        lo, hi = pts[sel].min(axis=0), pts[sel].max(axis=0)
        size = hi - lo
        scale = np.where(size > 1e-9, (size + 2.0 * pad) / np.maximum(size, 1e-9), 1.0)
        centre = (lo + hi) / 2.0
        pts[sel] = centre + (pts[sel] - centre) * scale
    return triangles_polydata(pts, np.asarray(bodies.regular_faces))


def wrap_callout(title: str, text: str, width: int = WRAP, max_lines: int = 7) -> str:
    """Return the callout text: the title, then the step text wrapped to ``width``."""
    lines = textwrap.wrap(title, width) + textwrap.wrap(text, width)
    if len(lines) > max_lines:
        lines = [*lines[: max_lines - 1], lines[max_lines - 1][: width - 1] + "…"]
    return "\n".join(lines)


class StepOverlay:
    """Highlight, anchor marker, leader line and callout of one step on a fab scene.

    Parameters
    ----------
    scene
        The fab scene (its plotter receives the actors).
    """

    def __init__(self, scene: FabScene) -> None:
        self.scene = scene
        self.plotter = scene.plotter
        self.spec = scene.spec
        self.shown: Highlighted | None = None
        self.highlight_actor: vtk.vtkActor | None = None
        self.marker_actor: vtk.vtkActor | None = None
        self.leader_actor: vtk.vtkActor | None = None
        self.label_actor: vtk.vtkActor2D | None = None
        self.label_text = ""
        self._renderer_of: dict[str, vtk.vtkRenderer] = {}

    def _view_dir(self, tool_id: str) -> np.ndarray:
        """Horizontal unit vector from a tool towards where the camera stands (its front)."""
        tool = self.spec.tool(tool_id)
        a = math.radians(tool.rotation_deg - 90.0)  # local -y is the tool's front
        return np.array([math.cos(a), math.sin(a), 0.0])

    def label_point(
        self, tool_id: str, anchor: tuple[float, float, float]
    ) -> tuple[float, float, float]:
        """Return where the callout of an anchor sits: above the tool, a little to the side."""
        i = self.scene.index[tool_id]
        top = float(self.scene.geometry.tops[i])
        d = self._view_dir(tool_id)
        side = np.array([-d[1], d[0], 0.0])  # to the right seen from the front
        p = np.array(anchor) - 1.1 * side + 0.3 * d  # left of it: the text runs right
        p[2] = max(top, anchor[2]) + 0.9
        return (float(p[0]), float(p[1]), float(p[2]))

    def show_step(
        self, tool_id: str, component: str, title: str, text: str, *, safety: bool = False
    ) -> Highlighted:
        """Show one step; replaces the previous step's overlay."""
        spec = self.spec
        spec.equipment_type(spec.tool(tool_id).type).component(component)  # KeyError: unknown
        anchor = anchor_world(spec, tool_id, component)
        lp = self.label_point(tool_id, anchor)
        p = self.plotter
        # the part the component maps to: the equipment model's real part (the lid alone)
        found = _component_solids(spec, tool_id, component)
        part: str | None = None
        bounds = None
        if found is not None:
            part, solids = found
            bounds = tuple(float(v) for v in _placed(spec, tool_id, solids).bounds)
            mesh = _placed(spec, tool_id, _grown(solids, HIGHLIGHT_PAD_M))
            mesh.cell_data["highlight"] = np.ones(mesh.n_cells, dtype=np.int8)
            self.highlight_actor = p.add_mesh(
                mesh,
                color=HIGHLIGHT_COLOR,
                name="maintain_highlight",
                pickable=False,
                reset_camera=False,
                opacity=0.85,
                show_scalar_bar=False,
                scalars=None,
                smooth_shading=False,
            )
        else:
            self._hide("highlight_actor")
        # anchor marker and leader line: on the scene's overlay layer when it has one, so
        # that the tool's own walls never hide where the step points
        marker = pv.Sphere(radius=0.09, center=anchor, theta_resolution=16, phi_resolution=12)
        self.marker_actor = self._overlay_actor(
            "marker_actor", marker, SAFETY_COLOR if safety else LEADER_COLOR
        )
        self.leader_actor = self._overlay_actor("leader_actor", pv.Line(anchor, lp), LEADER_COLOR)
        # about 8 px per character: keep the callout within half the view's width
        width_px = self.plotter.window_size[0] or 800
        self.label_text = wrap_callout(title, text, max(18, min(WRAP, int(width_px * 0.5 / 8))))
        self.label_actor = p.add_point_labels(
            np.array([lp]),
            [self.label_text],
            name="maintain_callout",
            font_size=13,
            text_color="#ffffff",
            shape_color="#7a1f1f" if safety else "#1f2d3d",
            shape_opacity=0.92,
            point_color=LEADER_COLOR,
            point_size=8,
            render_points_as_spheres=True,
            always_visible=True,
            reset_camera=False,
            show_points=True,
            margin=6,
            justification_horizontal="left",
        )
        self._show_bay_labels(False)  # in a close-up they only clutter the view's edges
        self.shown = Highlighted(tool_id, component, part, anchor, lp, bounds)
        return self.shown

    def _show_bay_labels(self, on: bool) -> None:
        for a in getattr(self.scene, "label_actors", []):
            a.SetVisibility(on)

    def _overlay_actor(self, attr: str, mesh: pv.PolyData, color: str) -> vtk.vtkActor:
        self._hide(attr)
        mapper = pv.DataSetMapper(mesh)
        mapper.scalar_visibility = False
        actor = pv.Actor(mapper=mapper)
        actor.prop.color = color
        actor.prop.line_width = 3
        actor.prop.lighting = False
        actor.SetPickable(False)
        ren = getattr(self.scene, "label_renderer", None) or self.plotter.renderer
        ren.AddActor(actor)
        self._renderer_of[attr] = ren
        return actor

    def _hide(self, attr: str) -> None:
        a = getattr(self, attr)
        if a is not None and attr in self._renderer_of:
            self._renderer_of.pop(attr).RemoveActor(a)
            setattr(self, attr, None)
        elif a is not None:
            name = {
                "highlight_actor": "maintain_highlight",
                "marker_actor": "maintain_anchor",
                "leader_actor": "maintain_leader",
                "label_actor": "maintain_callout",
            }[attr]
            self.plotter.remove_actor(name, reset_camera=False, render=False)  # type: ignore[arg-type]
            if attr == "label_actor":  # pyvista adds the label's point as a second actor
                for part in ("points", "labels"):
                    self.plotter.remove_actor(f"{name}-{part}", reset_camera=False, render=False)  # type: ignore[arg-type]
            setattr(self, attr, None)

    def clear(self) -> None:
        """Remove the overlay."""
        for attr in ("highlight_actor", "marker_actor", "leader_actor", "label_actor"):
            self._hide(attr)
        self._show_bay_labels(True)
        self.shown = None

    def step_camera(
        self,
        tool_id: str,
        anchor: tuple[float, float, float],
        label_point: tuple[float, float, float] | None = None,
        part_bounds: Sequence[float] | None = None,
    ) -> tuple:
        """Return a camera from the tool's front, slightly from above, that frames the
        anchor, its callout point and the highlighted part (``part_bounds``, VTK order)."""
        pts = [np.array(anchor, dtype=float)]
        if label_point is not None:
            # the callout starts at its point and runs about 2.5 m to the right
            lp = np.array(label_point, dtype=float)
            d = self._view_dir(tool_id)
            right = np.array([-d[1], d[0], 0.0])
            pts += [lp - 0.3 * right, lp + 2.6 * right, lp + np.array([0.0, 0.0, 0.4])]
        lo = np.min(pts, axis=0) - 0.6
        hi = np.max(pts, axis=0) + 0.6
        if part_bounds is not None:
            b = part_bounds
            lo = np.minimum(lo, [b[0], b[2], b[4]])
            hi = np.maximum(hi, [b[1], b[3], b[5]])
        d = self._view_dir(tool_id)
        az = math.degrees(math.atan2(d[1], d[0])) + 15.0
        w, h = self.plotter.window_size
        return camera_for_bounds(
            (lo[0], hi[0], lo[1], hi[1], lo[2], hi[2]),
            elevation_deg=30.0,
            azimuth_deg=az,
            aspect=w / h if h else 1.4,
            margin=1.2,
        )

    def pick(self, x: float, y: float) -> tuple[str, tuple[float, float, float]] | None:
        """Return (tool id, world point) under display pixel (x, y), or None."""
        picker = vtk.vtkCellPicker()
        picker.SetTolerance(0.0005)
        picker.PickFromListOn()
        picker.AddPickList(self.scene.tools_actor)
        if not picker.Pick(x, y, 0, self.plotter.renderer):
            return None
        cid = picker.GetCellId()
        if cid < 0:
            return None
        tool = self.scene.ids[int(self.scene.geometry.cell_tool[cid])]
        px, py, pz = picker.GetPickPosition()
        return tool, (float(px), float(py), float(pz))

    def display_of(self, point: tuple[float, float, float]) -> tuple[float, float]:
        """Return the display pixel (VTK origin bottom-left) of a world point."""
        coord = vtk.vtkCoordinate()
        coord.SetCoordinateSystemToWorld()
        coord.SetValue(*(float(v) for v in point))
        x, y = coord.GetComputedDoubleDisplayValue(self.plotter.renderer)
        return float(x), float(y)
