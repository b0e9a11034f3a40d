"""The Plan workspace's drawing on a :class:`~factory_twin.ui.scene.FabScene` (no Qt).

Plotter-agnostic like :mod:`factory_twin.ui.scene`:

* :class:`PlanOverlay` moves and turns tools of the merged tool mesh in place (the points
  of one tool, nothing rebuilt), colours tools by their plan status through the scene's
  one texel per tool (changed, selected, in a layout problem), and draws the flow overlay:
  one flat ribbon per flow between tool-group centres, above the tools, its width by
  moves per day and its colour by distance (a spaghetti diagram).
* It lights the pair of tool groups of a from-to grid cell (the "from" tools green, the
  "to" tools magenta, a flat arrow between the groups' centres) and, while a selection is
  turned by a Ctrl-drag, a ring about its centre with a spoke at the angle reached.
* It draws the rotate knob of a selection: a round marker on a thin stalk just beyond the
  middle of the selection's box on its far (+y) side (:func:`rotate_knob`); pressing it
  starts the same turn as a Ctrl-drag. The disc faces the camera (its orientation from
  :mod:`factory_twin.app.plan_knob`), turned again before each render after the camera
  moved, so it stays a disc, not an edge-on line, from any side.
* :func:`floor_point` turns a display pixel into the floor point under it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy as np
import pyvista as pv
import vtk

from factory_twin.app.plan_knob import facing_normal, knob_axes, knob_disc, stalk_end
from factory_twin.model.colours import readable_shade
from factory_twin.model.flows import FlowTable
from factory_twin.ui.scene import SELECTION_RGB, FabScene
from factory_twin.ui.scene_colors import ground_rgbs

# an unchanged tool: a pale slate grey, 3.2:1 against the dark floor and every bay tint of
# the demo plant (the grey before, (138, 148, 166), was 1.9:1 on the litho tint); on a plant
# with paler bays a paler shade of it (plain_rgb)
PLAIN_RGB = (186, 194, 208)
PLAIN_MIN_CONTRAST = 3.2  # WCAG's 3:1 for graphics, with a margin
CHANGED_RGB = (240, 180, 41)
SELECTED_RGB = SELECTION_RGB[True]
WARNING_RGB = (255, 159, 28)
PROBLEM_RGB = (235, 40, 40)
FROM_RGB = (40, 200, 90)
TO_RGB = (225, 70, 225)
ARROW_RGB = (225, 70, 225)
RING_RGB = (0, 229, 255)
FLOW_CMAP = "coolwarm"
# the light theme's versions: the bright tints above vanish on the light floor; these are
# darker shades of the same hues, each at least 3:1 against the light floor and every bay
# tint of the demo plant (the constants above are the dark theme's)
LIGHT_RGB: dict[str, tuple[int, int, int]] = {
    # a dark shade of the same slate: model.colours.edge_colour("#8a94a6", "#d2a7a5", 3.2),
    # against the darkest light bay tint (the implant bay's), where the pale grey was 1.4:1;
    # on a plant with darker bays a darker shade of it (plain_rgb)
    "plain": (84, 90, 101),
    "changed": (115, 85, 0),
    "selected": SELECTION_RGB[False],
    "warning": (160, 64, 0),
    "problem": (176, 0, 32),
    "from": (15, 105, 40),
    "to": (150, 30, 150),
    "arrow": (150, 30, 150),
    "ring": SELECTION_RGB[False],
}
DARK_RGB: dict[str, tuple[int, int, int]] = {
    "plain": PLAIN_RGB,
    "changed": CHANGED_RGB,
    "selected": SELECTED_RGB,
    "warning": WARNING_RGB,
    "problem": PROBLEM_RGB,
    "from": FROM_RGB,
    "to": TO_RGB,
    "arrow": ARROW_RGB,
    "ring": RING_RGB,
}

Vec3 = tuple[float, float, float]


def status_rgb(role: str, dark: bool) -> tuple[int, int, int]:
    """The colour (0-255 RGB) of a plan status or mark ``role`` (a key of
    :data:`LIGHT_RGB`: ``plain``, ``changed``, ``selected``, ``ring``, ...) in a theme.

    Examples
    --------
    >>> status_rgb("selected", True), status_rgb("selected", False)
    ((0, 229, 255), (0, 96, 120))
    """
    return (DARK_RGB if dark else LIGHT_RGB)[role]


def plain_rgb(bay_colours: Iterable[str], dark: bool) -> tuple[int, int, int]:
    """The colour (0-255 RGB) of an unchanged tool on a plant whose bays are coloured
    ``bay_colours`` (``#rrggbb``), in a theme: the theme's slate (``status_rgb("plain",
    dark)``) if it is :data:`PLAIN_MIN_CONTRAST` against the floor and every bay's tint,
    else the first paler (dark theme) or darker (light theme) shade of it that is. The floor
    is dark on the dark theme and pale on the light one, and a bay's tint stays on the same
    side of mid-grey, so the shade is found whatever the bays' colours. It stays a grey of
    low saturation, apart from the saturated highlights by hue.

    Examples
    --------
    >>> plain_rgb(["#6c8db5"], True) == status_rgb("plain", True)
    True
    >>> plain_rgb(["#ffffff"], True), plain_rgb(["#000000"], False)
    ((220, 224, 231), (49, 52, 59))
    """
    ground = ["#{:02x}{:02x}{:02x}".format(*c) for c in ground_rgbs(bay_colours, dark)]
    fill = "#{:02x}{:02x}{:02x}".format(*status_rgb("plain", dark))
    h = readable_shade(fill, ground, PLAIN_MIN_CONTRAST, lighter=dark).lstrip("#")
    return (int(h[0:2], 16), int(h[2:4], 16), int(h[4:6], 16))


def floor_point(renderer: vtk.vtkRenderer, x: float, y: float) -> tuple[float, float] | None:
    """The floor point (z = 0) under display pixel (x, y) (VTK origin bottom-left), or None."""
    ends = []
    for z in (0.0, 1.0):
        renderer.SetDisplayPoint(float(x), float(y), z)
        renderer.DisplayToWorld()
        wx, wy, wz, w = renderer.GetWorldPoint()
        if w == 0:
            return None
        ends.append((wx / w, wy / w, wz / w))
    (x0, y0, z0), (x1, y1, z1) = ends
    if math.isclose(z0, z1):
        return None
    t = z0 / (z0 - z1)
    return (x0 + t * (x1 - x0), y0 + t * (y1 - y0))


def flow_ribbons(
    table: FlowTable,
    *,
    z: float,
    max_width_m: float,
    max_moves: float | None = None,
) -> pv.PolyData:
    """One quad per flow between two different groups' centres, with a ``distance_m`` cell
    array; width from 15 % to 100 % of ``max_width_m`` by moves per day."""
    flows = [f for f in table.flows if f.src != f.dst and f.moves_per_day > 0]
    centres = table.group_centres
    flows = [f for f in flows if f.src in centres and f.dst in centres]
    if not flows:
        return pv.PolyData()
    top = max_moves if max_moves else max(f.moves_per_day for f in flows)
    a = np.array([centres[f.src] for f in flows], dtype=float)
    b = np.array([centres[f.dst] for f in flows], dtype=float)
    d = b - a
    length = np.hypot(d[:, 0], d[:, 1])
    length[length == 0] = 1.0
    normal = np.column_stack([-d[:, 1], d[:, 0]]) / length[:, None]
    moves = np.array([f.moves_per_day for f in flows])
    half = 0.5 * max_width_m * (0.15 + 0.85 * np.clip(moves / top, 0, 1))
    # a flow and its reverse side by side, not on top of each other
    shift = normal * half[:, None]
    corners = np.stack(
        [a + shift * 0.1, b + shift * 0.1, b + shift * 2.1, a + shift * 2.1], axis=1
    ).reshape(-1, 2)
    pts = np.column_stack([corners, np.full(len(corners), z)])
    quads = np.arange(len(pts)).reshape(-1, 4)
    faces = np.column_stack([np.full(len(quads), 4), quads]).ravel()
    mesh = pv.PolyData(pts, faces=faces)
    mesh.cell_data["distance_m"] = np.array([f.distance_m for f in flows], dtype=float)
    return mesh


def flat_arrow(
    a: tuple[float, float], b: tuple[float, float], *, z: float, width_m: float
) -> pv.PolyData:
    """A flat arrow at height ``z`` from ``a`` to ``b``: a shaft ``width_m`` wide and a head
    three times as wide (empty when the points coincide)."""
    ax, ay = a
    d = np.array([b[0] - ax, b[1] - ay], dtype=float)
    length = float(np.hypot(*d))
    if length < 1e-9:
        return pv.PolyData()
    u = d / length
    n = np.array([-u[1], u[0]])
    head = min(length * 0.5, 4.0 * width_m)
    p0, tip = np.array(a, dtype=float), np.array(b, dtype=float)
    neck = tip - u * head
    h = 0.5 * width_m
    pts2 = [p0 + n * h, neck + n * h, neck - n * h, p0 - n * h]
    pts2 += [neck + n * 3 * h, tip, neck - n * 3 * h]
    pts = np.column_stack([np.array(pts2), np.full(len(pts2), z)])
    faces = np.array([4, 0, 1, 2, 3, 3, 4, 5, 6])
    return pv.PolyData(pts, faces=faces)


def turn_ring(
    centre: tuple[float, float], radius_m: float, angle_deg: float, *, z: float
) -> pv.PolyData:
    """A ring of ``radius_m`` about ``centre`` at height ``z`` and a spoke from the centre
    out at ``angle_deg`` (counter-clockwise from +x): the handle of a turn under way."""
    k = 72
    t = np.linspace(0.0, 2 * math.pi, k, endpoint=False)
    cx, cy = centre
    ring = np.column_stack([cx + radius_m * np.cos(t), cy + radius_m * np.sin(t), np.full(k, z)])
    a = math.radians(angle_deg)
    spoke = np.array([[cx, cy, z], [cx + radius_m * math.cos(a), cy + radius_m * math.sin(a), z]])
    pts = np.vstack([ring, spoke])
    lines = np.concatenate([[k + 1], np.arange(k), [0], [2, k, k + 1]])
    return pv.PolyData(pts, lines=lines)


def knob_centre(box: tuple[float, float, float, float], radius_m: float) -> tuple[float, float]:
    """Where the rotate knob of a selection whose box is ``box`` (xmin, ymin, xmax, ymax)
    stands: above the middle of its +y edge, four knob radii beyond it."""
    x0, _y0, x1, y1 = box
    return ((x0 + x1) / 2, y1 + 4.0 * radius_m)


def rotate_knob(
    box: tuple[float, float, float, float],
    radius_m: float,
    *,
    z: float,
    normal: tuple[float, float, float] = (0.0, 0.0, 1.0),
    view_up: tuple[float, float, float] = (0.0, 1.0, 0.0),
) -> pv.PolyData:
    """The rotate knob of a selection whose box is ``box``: a disc of ``radius_m`` at
    :func:`knob_centre`, height ``z``, at right angles to ``normal`` (default: flat on the
    floor; :func:`~factory_twin.app.plan_knob.facing_normal` turns it to the camera), and
    a stalk from the middle of the box's +y edge to the disc's rim."""
    cx, cy = knob_centre(box, radius_m)
    k = 32
    right, up, n = knob_axes(normal, view_up)
    disc = knob_disc((cx, cy, z), radius_m, right, up, k)
    start = (cx, box[3], z)
    stalk = np.array([start, stalk_end((cx, cy, z), radius_m, n, start)])
    pts = np.vstack([disc, stalk])
    return pv.PolyData(pts, faces=np.concatenate([[k], np.arange(k)]), lines=[2, k, k + 1])


class PlanOverlay:
    """Tool moves, plan colours and the flow overlay on one scene.

    Parameters
    ----------
    scene
        The scene to draw on (its tool mesh is edited in place).
    placements
        Where the scene's geometry has each tool: ``{tool: ((x, y), rotation_deg)}``.
    """

    def __init__(
        self, scene: FabScene, placements: dict[str, tuple[tuple[float, float], float]]
    ) -> None:
        self.scene = scene
        self.plotter = scene.plotter
        self.shown = dict(placements)
        pt = scene._point_tool
        order = np.argsort(pt, kind="stable")
        starts = np.searchsorted(pt[order], np.arange(len(scene.ids) + 1))
        self._points_of = {
            tid: order[starts[i] : starts[i + 1]] for i, tid in enumerate(scene.ids)
        }
        self._pts = np.asarray(scene.tool_mesh.points).view(np.ndarray)
        w, d = scene.spec.site.floor_m
        self.flow_width_m = max(0.6, 0.025 * max(w, d))
        self.flow_z = float(np.max(scene.geometry.tops)) + 0.4 if len(scene.ids) else 3.0
        self.flow_clim = (0.0, 1.0)
        self.flow_max_moves: float | None = None
        self.flow_mesh = pv.PolyData()
        self.flow_actor: pv.Actor | None = None
        self.flows_visible = True
        self.marks: dict[str, tuple[pv.PolyData, pv.Actor]] = {}
        self._plain: dict[bool, tuple[int, int, int]] = {}  # plain_rgb per theme (True: dark)
        self.knob_radius_m = 0.45 * self.flow_width_m
        self.knob: tuple[float, float, float] | None = None  # the knob's centre while shown
        # the shown knob's box and the disc's in-plane (right, up) axes and normal
        self.knob_box: tuple[float, float, float, float] | None = None
        self.knob_axes: tuple[Vec3, Vec3, Vec3] = knob_axes((0.0, 0.0, 1.0), (0.0, 1.0, 0.0))
        self._knob_camera: tuple[float, ...] | None = None
        self._knob_observer: int | None = self.plotter.renderer.AddObserver(
            "StartEvent", self._on_render_start
        )

    # -- tools

    def move_tool(
        self, tool_id: str, position_m: tuple[float, float], rotation_deg: float
    ) -> bool:
        """Put a tool's points where ``position_m`` / ``rotation_deg`` put it; True if it moved."""
        (ox, oy), orot = self.shown[tool_id]
        nx, ny = float(position_m[0]), float(position_m[1])
        if (ox, oy, orot) == (nx, ny, float(rotation_deg)):
            return False
        idx = self._points_of[tool_id]
        p = self._pts[idx]
        a = math.radians(float(rotation_deg) - orot)
        c, s = math.cos(a), math.sin(a)
        x = p[:, 0] - ox
        y = p[:, 1] - oy
        p[:, 0] = nx + c * x - s * y
        p[:, 1] = ny + s * x + c * y
        self._pts[idx] = p
        self.shown[tool_id] = ((nx, ny), float(rotation_deg))
        geo = self.scene.geometry
        i = self.scene.index[tool_id]
        lo, hi = p.min(axis=0), p.max(axis=0)
        geo.bounds[i] = (lo[0], hi[0], lo[1], hi[1], lo[2], hi[2])
        geo.centers[i] = (lo + hi) / 2
        self.scene.tool_mesh.GetPoints().Modified()
        self.scene.tool_mesh.Modified()
        return True

    def colour_tools(
        self,
        *,
        changed: Iterable[str] = (),
        selected: Iterable[str] = (),
        warning: Iterable[str] = (),
        problem: Iterable[str] = (),
        pair_from: Iterable[str] = (),
        pair_to: Iterable[str] = (),
    ) -> None:
        """Colour every tool by its plan status (problem > selected > a grid cell's "to"
        and "from" groups > warning > changed > plain, the plain colour :func:`plain_rgb`
        of this plant's bays)."""
        sc = self.scene
        n = len(sc.ids)
        rgb = np.empty((n, 3), dtype=np.uint8)
        if sc.dark not in self._plain:
            self._plain[sc.dark] = plain_rgb([b.color for b in sc.spec.site.bays], sc.dark)
        rgb[:] = self._plain[sc.dark]
        for ids, role in (
            (changed, "changed"),
            (warning, "warning"),
            (pair_from, "from"),
            (pair_to, "to"),
            (selected, "selected"),
            (problem, "problem"),
        ):
            idx = [sc.index[t] for t in ids if t in sc.index]
            if idx:
                rgb[idx] = status_rgb(role, sc.dark)
        if not np.array_equal(sc._tool_rgb[:n], rgb):
            sc._tool_rgb[:n] = rgb
            sc._tool_image.Modified()

    # -- flows

    def set_flow_scale(self, table: FlowTable) -> None:
        """Fix the overlay's colour and width scales on ``table`` (the base plant's flows)."""
        dist = [f.distance_m for f in table.flows if f.src != f.dst]
        moves = [f.moves_per_day for f in table.flows if f.src != f.dst]
        self.flow_clim = (0.0, max(dist, default=1.0) or 1.0)
        self.flow_max_moves = max(moves, default=0.0) or None

    def show_flows(self, table: FlowTable | None, *, dim: bool = False) -> int:
        """Draw (or with None hide) the flow ribbons, faint with ``dim`` (a lit pair stands
        out); return how many are drawn."""
        mesh = (
            flow_ribbons(
                table, z=self.flow_z, max_width_m=self.flow_width_m, max_moves=self.flow_max_moves
            )
            if table is not None
            else pv.PolyData()
        )
        n = mesh.n_cells
        if n == 0:
            if self.flow_actor is not None:
                self.flow_actor.SetVisibility(False)
            return 0
        if self.flow_actor is None:
            self.flow_mesh = mesh
            self.flow_actor = self.plotter.add_mesh(
                self.flow_mesh,
                scalars="distance_m",
                cmap=FLOW_CMAP,  # type: ignore[arg-type]
                clim=self.flow_clim,
                opacity=0.85,
                lighting=False,
                show_scalar_bar=False,
                pickable=False,
                name="plan_flows",
                render=False,
                reset_camera=False,
            )
        else:
            self.flow_mesh.copy_from(mesh)
            self.flow_actor.mapper.scalar_range = self.flow_clim
        self.flow_actor.prop.opacity = 0.25 if dim else 0.85
        self.flow_actor.SetVisibility(True)
        return n

    def flow_colour(self, distance_m: float) -> tuple[int, int, int]:
        """The colour a flow of ``distance_m`` is drawn in (0-255 RGB; the panel's legend)."""
        lut = pv.LookupTable(cmap=FLOW_CMAP, n_values=256)
        lo, hi = self.flow_clim
        f = 0.0 if hi <= lo else min(1.0, max(0.0, (distance_m - lo) / (hi - lo)))
        r, g, b, _a = np.asarray(lut.values)[round(f * 255)]
        return (int(r), int(g), int(b))

    # -- marks: the lit pair's arrow, the turn ring

    def _mark(
        self,
        name: str,
        mesh: pv.PolyData | None,
        role: str,
        line_width: int = 4,
    ) -> bool:
        """Show ``mesh`` as the mark ``name`` in the colour of ``role`` in the scene's theme
        (None or empty: hide it); True if shown."""
        got = self.marks.get(name)
        if mesh is None or mesh.n_points == 0:
            if got is not None:
                got[1].SetVisibility(False)
            return False
        if got is None:
            held = mesh.copy()
            actor = self.plotter.add_mesh(
                held,
                color=status_rgb(role, self.scene.dark),
                opacity=0.95,
                line_width=line_width,
                lighting=False,
                pickable=False,
                name=f"plan_{name}",
                render=False,
                reset_camera=False,
            )
            self.marks[name] = (held, actor)
        else:
            got[0].copy_from(mesh)
            actor = got[1]
            actor.prop.color = status_rgb(role, self.scene.dark)
        actor.SetVisibility(True)
        return True

    def mark_visible(self, name: str) -> bool:
        """Whether the mark ``name`` (``pair_arrow``, ``turn_ring``, ``knob``) is shown."""
        got = self.marks.get(name)
        return got is not None and bool(got[1].GetVisibility())

    def show_pair_arrow(
        self, ends: tuple[tuple[float, float], tuple[float, float]] | None
    ) -> bool:
        """Draw the arrow from a pair's "from" centre to its "to" centre (None: hide it)."""
        mesh = None
        if ends is not None:
            mesh = flat_arrow(*ends, z=self.flow_z + 0.3, width_m=self.flow_width_m)
        return self._mark("pair_arrow", mesh, "arrow")

    def show_turn_ring(
        self, centre: tuple[float, float] | None, radius_m: float = 0.0, angle_deg: float = 0.0
    ) -> bool:
        """Draw the turn handle about ``centre`` (None: hide it)."""
        mesh = None
        if centre is not None:
            mesh = turn_ring(centre, max(radius_m, 0.5), angle_deg, z=self.flow_z + 0.3)
        return self._mark("turn_ring", mesh, "ring")

    def show_knob(self, box: tuple[float, float, float, float] | None) -> bool:
        """Draw the rotate knob of the selection whose box is ``box`` (None: hide it), its
        disc facing the camera."""
        self.knob = None
        self.knob_box = box
        self._knob_camera = None
        if box is None:
            return self._mark("knob", None, "ring", line_width=2)
        z = self.flow_z + 0.6  # above the flow ribbons and the lit pair's arrow
        self.knob = (*knob_centre(box, self.knob_radius_m), z)
        return self._mark("knob", self._knob_mesh(), "ring", line_width=2)

    def _camera_key(self) -> tuple[float, ...]:
        cam = self.plotter.renderer.GetActiveCamera()
        return (
            *cam.GetPosition(),
            *cam.GetFocalPoint(),
            *cam.GetViewUp(),
            float(cam.GetParallelProjection()),
        )

    def _knob_mesh(self) -> pv.PolyData:
        """The knob's mesh facing the camera as it is now (remembers that camera)."""
        assert self.knob is not None and self.knob_box is not None
        key = self._camera_key()
        normal = facing_normal(self.knob, key[0:3], key[3:6], parallel=bool(key[9]))
        view_up = (key[6], key[7], key[8])
        self.knob_axes = knob_axes(normal, view_up)
        self._knob_camera = key
        return rotate_knob(
            self.knob_box, self.knob_radius_m, z=self.knob[2], normal=normal, view_up=view_up
        )

    def orient_knob(self) -> bool:
        """Turn the shown knob's disc to the camera if the camera moved since it was drawn;
        True if it was turned (called before each render)."""
        if self.knob is None or not self.mark_visible("knob"):
            return False
        if self._camera_key() == self._knob_camera:
            return False
        got = self.marks["knob"]
        got[0].points = self._knob_mesh().points
        return True

    def _on_render_start(self, _obj: object, _event: str) -> None:
        self.orient_knob()

    def knob_rim(self) -> tuple[float, float, float] | None:
        """A point on the shown knob's rim, level with the screen (None without a knob)."""
        if self.knob is None:
            return None
        (rx, ry, rz), _up, _n = self.knob_axes
        x, y, z = self.knob
        r = self.knob_radius_m
        return (x + r * rx, y + r * ry, z + r * rz)

    def dispose(self) -> None:
        """Remove the flow overlay and the marks (before the scene is rebuilt)."""
        if self.flow_actor is not None:
            self.plotter.renderer.remove_actor(self.flow_actor, render=False)
            self.flow_actor = None
        for _mesh, actor in self.marks.values():
            self.plotter.renderer.remove_actor(actor, render=False)
        self.marks.clear()
        self.knob = None
        self.knob_box = None
        if self._knob_observer is not None:
            self.plotter.renderer.RemoveObserver(self._knob_observer)
            self._knob_observer = None
