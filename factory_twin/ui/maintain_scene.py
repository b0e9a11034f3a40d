"""Work-instruction overlays on ANY pyvista plotter (no Qt here).

:class:`StepOverlay` draws, over a :class:`~factory_twin.ui.scene.FabScene`, what one
maintenance step points at:

* the component's shape part as a bright, slightly enlarged solid (``highlight``), the
  rest of the tool keeps its colour;
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
from dataclasses import dataclass

import numpy as np
import pyvista as pv
import vtk

from factory_twin.app.maintenance import anchor_world
from factory_twin.model.geometry import VIEW_CYLINDER_SEGMENTS, part_solid, place
from factory_twin.model.schema import PlantSpec
from factory_twin.ui.scene import FabScene, camera_for_bounds, triangles_polydata

logger = logging.getLogger(__name__)

HIGHLIGHT_COLOR = "#ff9f1c"
LEADER_COLOR = "#ffd166"
SAFETY_COLOR = "#ff4d4d"
WRAP = 42  # characters per callout line


@dataclass
class Highlighted:
    """What the overlay shows now."""

    tool: str
    component: str
    part: str | None
    anchor: tuple[float, float, float]
    label_point: tuple[float, float, float]


def part_mesh(spec: PlantSpec, tool_id: str, part_name: str, pad: float = 0.03) -> pv.PolyData:
    """Return the world-space solid of one shape part of a tool, grown by ``pad`` metres."""
    tool = spec.tool(tool_id)
    t = spec.equipment_type(tool.type)
    part = next(p for p in t.shape.parts if p.name == part_name)
    # as many facets as the view's own tool mesh, so that the highlight hugs the part
    pts, _, tris = part_solid(part, pad=pad, segments=VIEW_CYLINDER_SEGMENTS)
    return triangles_polydata(place(pts, tool.position_m, tool.rotation_deg), tris)


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
        t = spec.equipment_type(spec.tool(tool_id).type)
        comp = t.component(component)
        anchor = anchor_world(spec, tool_id, component)
        lp = self.label_point(tool_id, anchor)
        p = self.plotter
        # the component's part
        if comp.part is not None and any(pt.name == comp.part for pt in t.shape.parts):
            mesh = part_mesh(spec, tool_id, comp.part)
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
        self.shown = Highlighted(tool_id, component, comp.part, anchor, lp)
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
        part: str | None = None,
    ) -> tuple:
        """Return a camera from the tool's front, slightly from above, that frames the
        anchor, its callout point and the component's part."""
        pts = [np.array(anchor, dtype=float)]
        if label_point is not None:
            # the callout starts at its point and runs about 2.5 m to the right
            lp = np.array(label_point, dtype=float)
            d = self._view_dir(tool_id)
            right = np.array([-d[1], d[0], 0.0])
            pts += [lp - 0.3 * right, lp + 2.6 * right, lp + np.array([0.0, 0.0, 0.4])]
        lo = np.min(pts, axis=0) - 0.6
        hi = np.max(pts, axis=0) + 0.6
        if part is not None:
            b = part_mesh(self.spec, tool_id, part, pad=0.0).bounds
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
