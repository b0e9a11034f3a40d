"""The 3-D fab scene, built on ANY pyvista plotter (no Qt here).

``FabScene(plotter, spec)`` adds a handful of actors whatever the plant's size:

* the floor with a metric grid and the bays as coloured zones (one unlit mesh), and the
  bays' names drawn over everything (one 2-D actor: a texture of all names, its quads
  placed at the bays each frame; no second renderer layer, which costs a full pass per
  frame on software GL);
* every tool in ONE merged triangle mesh (built by :mod:`factory_twin.model.geometry`, the
  geometry the AR exporters use too, and turned into pyvista here); each cell carries the index of its tool
  (``tool``) and a state code (``state``); the colours come from a tiny texture of one
  texel per tool, fetched per vertex, so a state change rewrites a few texels: never a
  new actor, never a rebuild of the mesh's buffers;
* markers above tools whose data is stale (connection lost), one mesh;
* lots (FOUPs) as one instanced glyph set whose points move between updates;
* a highlight outline of the selected tool.

This module holds :class:`FabScene` (building the actors, live updates, picking, camera
presets); the state codes and colours live in :mod:`~factory_twin.ui.scene_colors`, the
static meshes in :mod:`~factory_twin.ui.scene_meshes`, the bay names in
:mod:`~factory_twin.ui.scene_labels` and the camera maths in
:mod:`~factory_twin.ui.scene_camera`.

Works with ``pv.Plotter(off_screen=True)`` (image tests, benchmarks) and with
``pyvistaqt.QtInteractor`` (the window).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pyvista as pv
import vtk

from factory_twin.model.amhs_layout import generated_amhs
from factory_twin.model.geometry import PlantGeometry, hex_to_rgb, plant_geometry
from factory_twin.model.schema import PlantSpec
from factory_twin.ui.amhs_scene import AmhsLayer, has_rails
from factory_twin.ui.scene_camera import camera_clear_of, camera_for_bounds, filling_elevation
from factory_twin.ui.scene_colors import (
    FLAT_COLOR_FS,
    N_CODES,
    NEUTRAL_RGB,
    STALE_CODE,
    STATE_COLORS,
    STATE_LABELS,
    STATE_RGB,
    TEX_MAX_W,
    TOOL_FS,
    TOOL_VS,
    UNKNOWN_CODE,
    ground_rgbs,
)
from factory_twin.ui.scene_labels import BayLabel, BayLabelSheet
from factory_twin.ui.scene_meshes import (
    bay_outline,
    floor_grid,
    grid_step,
    ground_rects,
    octahedra,
    tool_polydata,
)

logger = logging.getLogger(__name__)


BACKGROUND = {True: "#1b1e23", False: "#eef1f4"}
"""The 3-D view's background per theme (True: dark), with or without a plant."""
SELECTION_RGB = {True: (0, 229, 255), False: (0, 96, 120)}
"""The selection's colour per theme: bright cyan on the dark floor, dark teal on the light
one (where the cyan is barely 1.3:1)."""


class FabScene:
    """The fab on a pyvista plotter; update methods change arrays in place.

    Parameters
    ----------
    plotter
        Any pyvista plotter (``pv.Plotter(off_screen=True)`` or a ``QtInteractor``).
    spec
        The plant to draw.
    show_labels
        Draw bay labels (one text per bay, over the 3-D scene).
    show_legend
        Draw the state legend in the render window (the Qt view draws its own, cheaper).
    geometry
        The merged tool geometry, if already built (on a worker thread) by
        :func:`~factory_twin.model.geometry.plant_geometry`.
    base_dir
        Folder that relative mesh files are relative to (the plant file's folder); None: where
        the plant's loader found them.
    """

    def __init__(
        self,
        plotter: pv.BasePlotter,
        spec: PlantSpec,
        *,
        show_labels: bool = True,
        show_legend: bool = True,
        dark: bool = True,
        geometry: PlantGeometry | None = None,
        base_dir: Path | None = None,
    ) -> None:
        self.plotter = plotter
        self.spec = spec
        self.dark = dark
        self.geometry = geometry if geometry is not None else plant_geometry(spec, base_dir)
        # an overlay of the view the overview keeps the floor out of: (x0, y0, x1, y1) in
        # normalised view coordinates (-1..1, y up), set by the Qt view for its state legend
        self.keep_clear: tuple[float, float, float, float] | None = None
        self.ids = self.geometry.ids
        self.index = {tid: i for i, tid in enumerate(self.ids)}
        n = len(self.ids)
        self.tool_codes = np.full(n, UNKNOWN_CODE, dtype=np.int16)
        self.tool_stale = np.zeros(n, dtype=bool)
        self.selected: int | None = None
        self.quality = False  # the quality look (ui/render_quality.py) is on
        self._overlay: vtk.vtkRenderer | None = None
        self._build(show_labels, show_legend)

    # -- construction

    def _build(self, show_labels: bool, show_legend: bool) -> None:
        p = self.plotter
        spec = self.spec
        w, d = spec.site.floor_m
        self.set_theme(self.dark, render=False)
        self.grid_step_m = grid_step(w, d)
        self._build_tools()
        p.remove_all_lights()
        p.add_light(pv.Light(light_type="headlight", intensity=1.0))
        # markers over stale tools: one mesh, rebuilt only when the stale set changes
        # (built now, hidden: adding an actor mid-session costs a visible stall)
        self.stale_mesh = octahedra(np.zeros((1, 3)), 0.4)
        self.stale_actor = p.add_mesh(
            self.stale_mesh,
            color="#ff4fd8",
            name="stale_markers",
            render=False,
            pickable=False,
            reset_camera=False,
        )
        self.stale_actor.SetVisibility(False)
        # selection outline
        self.highlight_mesh = pv.PolyData()
        self.highlight_actor: pv.Actor | None = None
        # lots: instanced boxes (vtkGlyph3DMapper, one actor)
        self.lot_points = pv.PolyData(np.zeros((0, 3)))
        self.lot_points.point_data["product"] = np.zeros(0, dtype=np.int16)
        self._lot_views: tuple[np.ndarray, np.ndarray] | None = None  # numpy views of both
        self._lot_mapper = vtk.vtkGlyph3DMapper()
        self._lot_mapper.SetInputData(self.lot_points)
        foup = pv.Box(bounds=(-0.3, 0.3, -0.3, 0.3, 0.0, 0.5))  # drawn larger than life to be seen
        self._lot_mapper.SetSourceData(foup)
        self._lot_mapper.ScalingOff()
        self._lot_mapper.OrientOff()
        self._lot_mapper.SetScalarModeToUsePointFieldData()
        self._lot_mapper.SelectColorArray("product")
        self._lot_mapper.SetScalarVisibility(True)
        lot_lut = pv.LookupTable(cmap="tab10", n_values=10)
        lot_lut.scalar_range = (-0.5, 9.5)
        self._lot_mapper.SetLookupTable(lot_lut)
        self._lot_mapper.SetScalarRange(-0.5, 9.5)
        self._lot_mapper.SetColorModeToMapScalars()
        self.lots_actor = vtk.vtkActor()
        self.lots_actor.SetMapper(self._lot_mapper)
        self.lots_actor.PickableOff()
        p.add_actor(self.lots_actor, name="lots", reset_camera=False, render=False)
        # the OHT rails, vehicles and heat map (amhs_scene.py): the plant's own rails, or
        # rails generated from its layout (model/amhs_layout.py) that its lots ride
        self.amhs: AmhsLayer | None = None
        try:
            rails = (
                spec.amhs if spec.amhs is not None and has_rails(spec) else generated_amhs(spec)
            )
        except (ValueError, KeyError, IndexError) as exc:  # a plant mid-edit: drawn without
            logger.warning("no rails drawn for %s: %s", spec.site.name, exc)
        else:
            if rails.links:
                self.amhs = AmhsLayer(p, spec, dark=self.dark, amhs=rails)
        # floor, bays, grid and bay outlines: one unlit mesh with a colour per cell, so the
        # static context is a single draw; added after the tools, so that the floor under
        # them fails the depth test before any shading
        self.ground = self._ground_mesh()
        self.ground_actor = p.add_mesh(
            self.ground,
            scalars="rgb",
            rgb=True,
            name="ground",
            preference="point",
            render=False,
            pickable=False,
            lighting=False,
            line_width=1,
            reset_camera=False,
        )
        # unlit flat colours need no more than the colour per point: a minimal fragment
        # shader (VTK's general one costs ~20 % more per pixel, and the floor covers
        # half the view)
        self.ground_actor.GetShaderProperty().SetFragmentShaderCode(FLAT_COLOR_FS)
        # the names tests and callers used for the parts of the ground
        self.floor_actor = self.grid_actor = self.bays_actor = self.ground_actor
        self.bay_outline_actor = self.ground_actor
        self.label_actor: BayLabel | None = None
        self.label_actors: list[BayLabel] = []
        self.label_sheet: BayLabelSheet | None = None
        self.label_sheet_actor: vtk.vtkTexturedActor2D | None = None
        if show_labels:
            self._add_labels()
        self.legend_actor = self._add_legend() if show_legend else None
        self.reset_camera(render=False)

    def _build_tools(self) -> None:
        """Add the merged tool mesh, coloured from a texture of one texel per tool.

        Each point's texture coordinate names its tool's texel (no point is shared between
        tools). The vertex shader fetches the texel and hands the colour on unchanged
        (``flat``) to the fragment shader: a state change rewrites a few texels, and VTK
        never rebuilds the mesh's vertex buffers (a rebuild of the whole merged mesh per
        change cost ~0.5 ms on the demo fab, ~1 ms on SMT2020), nor does any pixel pay for
        a texture look-up.
        """
        geo = self.geometry
        n = len(self.ids)
        self.tool_mesh = tool_polydata(geo)
        point_tool = np.zeros(self.tool_mesh.n_points, dtype=np.int64)
        point_tool[self.tool_mesh.regular_faces.ravel()] = np.repeat(geo.cell_tool, 3)
        self._point_tool = point_tool
        # the texels: one per tool (its state colour), then one per neutral material; a
        # point of a neutral part (FOUP, lid, rack...) names its material's texel
        n_tex = n + len(NEUTRAL_RGB)
        tex_w = max(1, min(n_tex, TEX_MAX_W))
        tex_h = max(1, -(-n_tex // tex_w))
        texel = point_tool.copy()
        mat = geo.point_material if len(geo.point_material) == len(texel) else None
        if mat is not None:
            texel = np.where(mat > 0, n + mat.astype(np.int64) - 1, texel)
        self.tool_mesh.active_texture_coordinates = np.column_stack(
            [((texel % tex_w) + 0.5) / tex_w, ((texel // tex_w) + 0.5) / tex_h]
        )
        self._tool_image = pv.ImageData(dimensions=(tex_w, tex_h, 1))
        texels = np.zeros((tex_w * tex_h, 3), dtype=np.uint8)
        texels[:n] = STATE_RGB[self.tool_codes]
        texels[n:n_tex] = NEUTRAL_RGB
        self._tool_image.point_data["rgb"] = texels
        # a plain numpy view of the texels VTK uploads, and of the cell codes
        self._tool_rgb = np.asarray(self._tool_image.point_data["rgb"]).view(np.ndarray)
        self._cell_state = np.asarray(self.tool_mesh.cell_data["state"]).view(np.ndarray)
        self._cell_starts = (
            np.searchsorted(geo.cell_tool, np.arange(n + 1))
            if np.all(np.diff(geo.cell_tool) >= 0)
            else None
        )
        self._tool_texture = vtk.vtkTexture()
        self._tool_texture.SetInputData(self._tool_image)
        self._tool_texture.InterpolateOff()
        self._tool_texture.MipmapOff()
        self._tool_texture.RepeatOff()
        self._tool_texture.EdgeClampOn()
        self.tools_actor = self.plotter.add_mesh(
            self.tool_mesh,
            render=False,
            color="white",
            texture=self._tool_texture,
            show_scalar_bar=False,
            name="tools",
            pickable=True,
            smooth_shading=False,
            show_edges=False,
            reset_camera=False,
        )
        self.tools_actor.mapper.scalar_visibility = False
        self.tools_actor.prop.ambient = 0.25
        self.tools_actor.prop.diffuse = 0.8
        sp = self.tools_actor.GetShaderProperty()
        for tag, code in TOOL_VS.items():
            sp.AddVertexShaderReplacement(tag, True, code, False)
        for tag, code in TOOL_FS.items():
            sp.AddFragmentShaderReplacement(tag, True, code, False)

    def _ground_mesh(self) -> pv.PolyData:
        spec = self.spec
        w, d = spec.site.floor_m
        ground = ground_rgbs([b.color for b in spec.site.bays], self.dark)
        floor_rgb, bay_rgb = ground[0], ground[1:]
        grid_rgb = [round(255 * c) for c in hex_to_rgb(self._grid_color())]
        outline_rgb = [200, 208, 220] if self.dark else [120, 130, 145]
        rects, owner = ground_rects(spec)
        r = rects
        quad_pts = np.stack(
            [
                np.column_stack([r[:, 0], r[:, 2]]),
                np.column_stack([r[:, 1], r[:, 2]]),
                np.column_stack([r[:, 1], r[:, 3]]),
                np.column_stack([r[:, 0], r[:, 3]]),
            ],
            axis=1,
        ).reshape(-1, 2)
        pts = [np.column_stack([quad_pts, np.zeros(len(quad_pts))])]
        polys = np.arange(len(quad_pts)).reshape(-1, 4)
        n_pts = len(quad_pts)
        grid = floor_grid(w, d, self.grid_step_m)
        outline = bay_outline(spec)
        lines: list[np.ndarray] = []
        for m in (grid, outline):
            pts.append(np.asarray(m.points))
            arr = np.asarray(m.lines)
            segs = []
            k = 0
            while k < len(arr):
                c = int(arr[k])
                segs.append(np.concatenate([[c], arr[k + 1 : k + 1 + c] + n_pts]))
                k += c + 1
            if segs:
                lines.append(np.concatenate(segs))
            n_pts += m.n_points
        faces = np.column_stack([np.full(len(polys), 4), polys]).ravel()
        mesh = pv.PolyData(
            np.vstack(pts), faces=faces, lines=np.concatenate(lines) if lines else None
        )
        rect_rgb = bay_rgb[np.maximum(owner, 0)] if len(bay_rgb) else np.zeros((len(owner), 3))
        rect_rgb = np.where(owner[:, None] >= 0, rect_rgb, floor_rgb)
        # a colour per POINT (no cell shares a point, so each cell stays flat): on software
        # GL that shades cheaper than cell colours, which are looked up per fragment
        rgb = np.vstack(
            [
                np.repeat(rect_rgb, 4, axis=0),
                np.tile(grid_rgb, (grid.n_points, 1)),
                np.tile(outline_rgb, (outline.n_points, 1)),
            ]
        )
        mesh.point_data["rgb"] = rgb.astype(np.uint8)
        return mesh

    def _grid_color(self) -> str:
        return "#4a505a" if self.dark else "#c3c8cf"

    def _add_labels(self) -> None:
        """Add every bay's name as one 2-D label sheet (:mod:`~factory_twin.ui.scene_labels`)."""
        bays = self.spec.site.bays
        if not bays:
            return
        dpi = int(self._render_window().GetDPI() or 72)
        self.label_sheet = BayLabelSheet(self.plotter.renderer, bays, dpi)
        self.label_sheet_actor = self.label_sheet.actor
        self.label_actors = self.label_sheet.labels
        self.label_actor = self.label_actors[0]

    def _render_window(self) -> vtk.vtkRenderWindow:
        rw = self.plotter.ren_win
        if rw is None:
            msg = "the plotter of this scene has been closed"
            raise RuntimeError(msg)
        return rw

    @property
    def label_renderer(self) -> vtk.vtkRenderer:
        """An overlay renderer sharing the camera, for 3-D marks that tools must not hide.

        Created on first use (the maintenance overlay's markers): a second renderer layer
        costs a pass every frame, so the live view never has one it does not need.
        """
        if self._overlay is None:
            rw = self._render_window()
            if rw.GetNumberOfLayers() < 2:
                rw.SetNumberOfLayers(2)
            ren = vtk.vtkRenderer()
            ren.SetLayer(1)
            ren.InteractiveOff()
            ren.SetActiveCamera(self.plotter.renderer.GetActiveCamera())
            rw.AddRenderer(ren)
            self._overlay = ren
        return self._overlay

    def dispose(self) -> None:
        """Remove what the scene added outside the plotter's own renderer (before a rebuild)."""
        if self._overlay is not None:
            self._render_window().RemoveRenderer(self._overlay)
            self._overlay = None
        if self.label_sheet is not None:
            self.label_sheet.remove()
            self.label_sheet = None
        self.label_sheet_actor = None
        self.label_actors = []
        self.label_actor = None

    def _add_legend(self) -> vtk.vtkActor2D:
        entries = [[STATE_LABELS[i], STATE_COLORS[i]] for i in range(N_CODES)]
        # the renderer's own method: the plotter's functools.wraps copy of it reads to mypy
        # as unbound (its first argument a plotter)
        return self.plotter.renderer.add_legend(
            entries,
            bcolor="#1b1f24" if self.dark else "#ffffff",
            border=False,
            size=(0.15, 0.22),
            loc="upper right",
            face="rectangle",
            name="state_legend",
            background_opacity=0.75,
        )

    def set_theme(self, dark: bool, *, render: bool = True) -> None:
        """Switch between the dark and the light background and floor."""
        self.dark = dark
        p = self.plotter
        p.renderers.set_background(BACKGROUND[dark])  # what p.set_background calls
        if hasattr(self, "ground"):
            np.asarray(self.ground.point_data["rgb"])[:] = self._ground_mesh().point_data["rgb"]
            self.ground.Modified()
            if self.amhs is not None:
                self.amhs.set_theme(dark)
            if self.highlight_actor is not None:
                self.highlight_actor.prop.color = self._highlight_color()
            legend = getattr(self, "legend_actor", None)
            if legend is not None:
                legend.GetEntryTextProperty().SetColor(
                    (0.9, 0.9, 0.9) if dark else (0.1, 0.1, 0.1)
                )
                legend.SetBackgroundColor(hex_to_rgb("#1b1f24" if dark else "#ffffff"))
            if render:
                p.render()

    # -- live updates (in place)

    def set_states(self, codes: np.ndarray, stale: np.ndarray) -> None:
        """Colour every tool: ``codes`` E10 codes (-1 = no data), ``stale`` bool per tool.

        A stale tool is drawn grey with a marker above it, never in its last live colour.
        Nothing is written (and nothing re-uploaded) unless a tool's colour changed, and
        then only that tool's texel and cells.
        """
        codes = np.asarray(codes)
        stale = np.asarray(stale, dtype=bool)
        disp = codes.astype(np.int16)
        disp[codes < 0] = UNKNOWN_CODE
        disp[stale] = STALE_CODE
        changed = np.flatnonzero(disp != self.tool_codes)
        if len(changed):
            self.tool_codes = disp
            self._tool_rgb[changed] = STATE_RGB[disp[changed]]
            self._tool_image.Modified()  # the texture re-uploads its few texels
            # the cell codes stay readable on the mesh (tests, exports); the mesh is not
            # marked modified: nothing draws from them
            cells, cs = self._cell_state, self._cell_starts
            if cs is not None and len(changed) * 8 < len(self.ids):
                for i in changed.tolist():
                    cells[cs[i] : cs[i + 1]] = disp[i]
            else:
                cells[:] = disp[self.geometry.cell_tool]
        if not np.array_equal(stale, self.tool_stale):
            self.tool_stale = stale.copy()
            self._update_stale_markers()

    def cell_codes_of(self, tool_id: str) -> np.ndarray:
        """Return the state codes of the cells of one tool (tests read colours this way)."""
        i = self.index[tool_id]
        return np.asarray(self.tool_mesh.cell_data["state"])[self.geometry.cell_tool == i]

    def tool_rgb_of(self, tool_id: str) -> tuple[int, int, int]:
        """Return the colour a tool is drawn in (its texel), as 0-255 RGB."""
        c = self._tool_rgb[self.index[tool_id]]
        return (int(c[0]), int(c[1]), int(c[2]))

    def _update_stale_markers(self) -> None:
        idx = np.flatnonzero(self.tool_stale)
        if len(idx) == 0:
            if self.stale_actor is not None:
                self.stale_actor.SetVisibility(False)
            return
        c = self.geometry.centers[idx].copy()
        c[:, 2] = self.geometry.tops[idx] + 0.6
        mesh = octahedra(c, 0.4)
        self.stale_mesh.copy_from(mesh)
        self.stale_actor.SetVisibility(True)

    def set_lots(self, positions: np.ndarray, product_codes: np.ndarray | None = None) -> None:
        """Place the lot glyphs at ``positions`` (n, 3), coloured by product code (0..9).

        Arrays are written (and marked modified) only when their values changed.
        """
        positions = np.asarray(positions, dtype=float).reshape(-1, 3)
        n = len(positions)
        if product_codes is None:
            prod = np.zeros(n, dtype=np.int16)
        else:
            prod = (np.asarray(product_codes) % 10).astype(np.int16)
        views = self._lot_views
        if views is not None and n == len(views[0]) and n > 0:
            pts, products = views
            changed = False
            if not np.array_equal(pts, positions):
                pts[:] = positions
                self.lot_points.GetPoints().Modified()
                changed = True
            if not np.array_equal(products, prod):
                products[:] = prod
                self.lot_points.GetPointData().GetArray("product").Modified()
                changed = True
            if changed:
                self.lot_points.Modified()
            return
        fresh = pv.PolyData(positions) if n else pv.PolyData(np.zeros((0, 3)))
        fresh.point_data["product"] = prod
        self.lot_points.copy_from(fresh)
        self.lot_points.Modified()
        self._lot_views = (
            np.asarray(self.lot_points.points).view(np.ndarray),
            np.asarray(self.lot_points.point_data["product"]).view(np.ndarray),
        )

    def select(self, tool_id: str | None) -> None:
        """Highlight one tool (or none) with a bright outline."""
        if tool_id is None:
            self.selected = None
            if self.highlight_actor is not None:
                self.highlight_actor.SetVisibility(False)
            return
        i = self.index[tool_id]
        self.selected = i
        b = self.geometry.bounds[i]
        pad = 0.15
        box = pv.Box(bounds=(b[0] - pad, b[1] + pad, b[2] - pad, b[3] + pad, 0.0, b[5] + pad))
        edges = box.extract_feature_edges(
            boundary_edges=False,
            feature_edges=True,
            manifold_edges=False,
            non_manifold_edges=False,
        )
        if self.highlight_actor is None:
            self.highlight_mesh = edges
            self.highlight_actor = self.plotter.add_mesh(
                self.highlight_mesh,
                color=self._highlight_color(),
                line_width=4,
                name="highlight",
                pickable=False,
                lighting=False,
                reset_camera=False,
                render=False,
            )
        else:
            self.highlight_mesh.copy_from(edges)
            self.highlight_actor.SetVisibility(True)

    def _highlight_color(self) -> tuple[int, int, int]:
        """The selected tool's outline (:data:`SELECTION_RGB` of the theme)."""
        return SELECTION_RGB[self.dark]

    # -- picking and cameras

    def tool_at_display(self, x: float, y: float) -> str | None:
        """Return the id of the tool under display pixel (x, y) (VTK origin: bottom-left)."""
        picker = vtk.vtkCellPicker()
        picker.SetTolerance(0.0005)
        picker.PickFromListOn()
        picker.AddPickList(self.tools_actor)
        ren = self.plotter.renderer
        if not picker.Pick(x, y, 0, ren):
            return None
        cid = picker.GetCellId()
        if cid < 0:
            return None
        return self.ids[int(self.geometry.cell_tool[cid])]

    def display_position(self, tool_id: str) -> tuple[float, float]:
        """Return the display pixel (VTK origin: bottom-left) of the top centre of a tool."""
        i = self.index[tool_id]
        c = self.geometry.centers[i]
        ren = self.plotter.renderer
        coord = vtk.vtkCoordinate()
        coord.SetCoordinateSystemToWorld()
        coord.SetValue(float(c[0]), float(c[1]), float(self.geometry.tops[i]) * 0.98)
        x, y = coord.GetComputedDoubleDisplayValue(ren)
        return float(x), float(y)

    def _aspect(self) -> float:
        w, h = self.plotter.window_size
        return w / h if h else 1.4

    def overview_camera(self) -> tuple:
        """Return the camera that shows the whole floor."""
        w, d = self.spec.site.floor_m
        box, aspect = (0, w, 0, d, 0, 3.0), self._aspect()
        el = filling_elevation(box, aspect=aspect)
        return camera_clear_of(box, self.keep_clear, elevation_deg=el, aspect=aspect)

    def bay_camera(self, bay_id: str) -> tuple:
        """Return the camera that frames one bay."""
        b = self.spec.bay(bay_id)
        x0, y0 = b.origin_m
        return camera_for_bounds(
            (x0, x0 + b.size_m[0], y0, y0 + b.size_m[1], 0, 3.0), aspect=self._aspect()
        )

    def tool_camera(self, tool_id: str) -> tuple:
        """Return a close-up camera on one tool."""
        b = self.geometry.bounds[self.index[tool_id]]
        pad = 2.5
        return camera_for_bounds(
            (b[0] - pad, b[1] + pad, b[2] - pad, b[3] + pad, 0, b[5]),
            elevation_deg=38,
            aspect=self._aspect(),
        )

    def set_camera(self, cam: tuple, *, render: bool = True) -> None:
        """Apply a (position, focal point, view up) camera."""
        self.plotter.camera_position = list(cam)
        self.plotter.reset_camera_clipping_range()
        if render:
            self.plotter.render()

    def reset_camera(self, *, render: bool = True) -> None:
        """Go back to the overview."""
        self.set_camera(self.overview_camera(), render=render)
