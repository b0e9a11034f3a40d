"""The AMHS in 3-D: the plant's OHT rails, its vehicles and a congestion heat map on the rail.

:class:`AmhsLayer` is owned by a :class:`~factory_twin.ui.scene.FabScene` whose plant has an
``amhs`` section with rail links (plants without one keep the overhead track the lots
already suggest). It adds three actors, all built at once (adding one mid-session costs a
visible stall):

* the rails: one merged polyline mesh, one line per directed link, at the ceiling
  (:func:`rail_height_m`: a little above the height carriers travel at);
* the vehicles: one glyph set (``vtkGlyph3DMapper``, as the lots) of two sources picked per
  point: an empty vehicle, and a vehicle with a FOUP hanging under it;
* the heat map: the rail mesh's per-line scalar, shown by :meth:`AmhsLayer.set_heat_map` (View
  menu) instead of the plain rail colour, with a colour legend saying what it is and in which
  unit. When the plant simulator publishes the congestion it measures
  (:meth:`AmhsLayer.set_congestion`): the seconds per hour vehicles with a move stood blocked
  on each link's section over the last plant hour, or (``measure="traffic"``) the vehicles
  entering it per hour. Otherwise, as a fallback for servers that
  do not publish it: the share of the time a vehicle was seen on each link (occupancy; a
  vehicle standing on a link, blocked, counts all the time it stands).

Everything updates arrays in place; nothing is rebuilt per frame.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyvista as pv
import vtk

from factory_twin.model.amhs import Amhs
from factory_twin.model.schema import PlantSpec

RAIL_COLOR = {True: "#9aa4b2", False: "#55606e"}  # dark theme, light theme
VEHICLE_COLOR = "#39e6ff"  # cyan: apart from every E10 state colour
HEAT_CMAP = "inferno"
_SAMPLE_M = 1.0  # spacing of the points that index the rail links (nearest_links)
_NEAR_K = 12  # samples asked for per point at once (more only where they do not suffice)

#: what the simulator's per-link figures on the heat map can be: measure -> legend title
HEAT_MEASURES = {
    "blocked": "Blocked s/h per rail link",
    "traffic": "Vehicles in/h per rail link",
}
#: the rail tag (model/events.RAIL_TAGS) each measure is served as
HEAT_TAGS = {"blocked": "blocked_s_per_h", "traffic": "entries_per_h"}


def rail_height_m(spec: PlantSpec) -> float:
    """Height of the rails: above the height at which carriers travel (their FOUP hangs under
    the vehicle)."""
    return float(spec.transport.carrier_height_m) + 0.8


def has_rails(spec: PlantSpec) -> bool:
    """True when the plant has an amhs section with rail links to draw."""
    return spec.amhs is not None and bool(spec.amhs.links)


def rail_polydata(spec: PlantSpec) -> pv.PolyData:
    """One line per rail link (in the section's order) at :func:`rail_height_m`.

    Links whose ends are not known nodes are skipped (the plant file's check reports them).
    """
    return rail_polydata_of(spec.amhs, spec)


def rail_polydata_of(am: Amhs | None, spec: PlantSpec) -> pv.PolyData:
    """:func:`rail_polydata` of the rails ``am`` (the plant's own, or generated ones)."""
    if am is None or not am.links:
        return pv.PolyData()
    index = {n.id: i for i, n in enumerate(am.nodes)}
    pts = np.zeros((len(am.nodes), 3))
    for i, n in enumerate(am.nodes):
        pts[i, :2] = n.at_m
    pts[:, 2] = rail_height_m(spec)
    ends = [
        (index[lk.from_], index[lk.to]) for lk in am.links if lk.from_ in index and lk.to in index
    ]
    lines = np.empty((len(ends), 3), dtype=np.int64)
    lines[:, 0] = 2
    if ends:
        lines[:, 1:] = np.asarray(ends, dtype=np.int64)
    mesh = pv.PolyData(pts, lines=lines.ravel())
    mesh.cell_data["congestion"] = np.zeros(len(ends))
    return mesh


def _vehicle_sources() -> tuple[pv.PolyData, pv.PolyData]:
    """An empty vehicle (a body on the rail) and the same carrying a FOUP under it."""
    body = pv.Box(bounds=(-0.55, 0.55, -0.35, 0.35, -0.35, 0.1))
    foup = pv.Box(bounds=(-0.3, 0.3, -0.3, 0.3, -0.95, -0.4))
    return body, body.append_polydata(foup)


class AmhsLayer:
    """The rails, vehicles and congestion heat map of a plant with an amhs section.

    Parameters
    ----------
    plotter
        The scene's plotter.
    spec
        The plant (must have rails: :func:`has_rails`, unless ``amhs`` is given).
    dark
        Theme of the rail colour.
    amhs
        The rails to draw instead of the plant's own (rails generated from its layout:
        :func:`factory_twin.model.amhs_layout.plant_rails`).
    """

    def __init__(
        self,
        plotter: pv.BasePlotter,
        spec: PlantSpec,
        *,
        dark: bool = True,
        amhs: Amhs | None = None,
    ) -> None:
        self.plotter = plotter
        self.spec = spec
        self.z = rail_height_m(spec)
        am = amhs if amhs is not None else spec.amhs
        assert am is not None
        self.amhs = am
        self.link_ids = [lk.id for lk in am.links]
        self.rails = rail_polydata_of(am, spec)
        self.rail_actor = plotter.add_mesh(
            self.rails,
            color=RAIL_COLOR[dark],
            line_width=2,
            name="amhs_rails",
            lighting=False,
            pickable=False,
            render=False,
            reset_camera=False,
            scalars=None,
        )
        self.heat_map = False
        self._served: np.ndarray | None = None  # blocked s/h per link from the simulator
        self._served_window_s = 0.0
        self._served_measure = "blocked"  # or "traffic": what the served figures are
        self._served_title: str | None = None
        self._served_clim: tuple[float, float] | None = None
        self.legend: vtk.vtkScalarBarActor | None = None  # the colour bar, made when first shown
        self.legend_title: vtk.vtkTextActor | None = None  # what it shows, in which unit
        self._occupancy_s = np.zeros(self.rails.n_cells)
        self._observed_s = 0.0
        self._last_t: float | None = None
        # link geometry for locating a vehicle on its link (vectorised point-to-segment)
        p = np.asarray(self.rails.points)[:, :2]
        cells = np.asarray(self.rails.lines).reshape(-1, 3) if self.rails.n_cells else None
        self._a = p[cells[:, 1]] if cells is not None else np.zeros((0, 2))
        self._b = p[cells[:, 2]] if cells is not None else np.zeros((0, 2))
        self._ab = self._b - self._a
        self._ab2 = np.maximum(np.einsum("ij,ij->i", self._ab, self._ab), 1e-12)
        self._tree: Any = None  # built on the first nearest_links
        self._sample_link = np.zeros(0, dtype=np.int64)
        # vehicles: one glyph set, source 0 empty, source 1 loaded
        self.vehicle_points = pv.PolyData(np.zeros((0, 3)))
        self.vehicle_points.point_data["loaded"] = np.zeros(0, dtype=np.int8)
        self._mapper = vtk.vtkGlyph3DMapper()
        self._mapper.SetInputData(self.vehicle_points)
        self.sources = empty, loaded = _vehicle_sources()
        self._mapper.SetSourceData(0, empty)
        self._mapper.SetSourceData(1, loaded)
        self._mapper.SourceIndexingOn()
        self._mapper.SetSourceIndexArray("loaded")
        self._mapper.ScalingOff()
        self._mapper.OrientOff()
        self._mapper.ScalarVisibilityOff()
        self.vehicles_actor = vtk.vtkActor()
        self.vehicles_actor.SetMapper(self._mapper)
        self.vehicles_actor.GetProperty().SetColor(*pv.Color(VEHICLE_COLOR).float_rgb)
        self.vehicles_actor.PickableOff()
        plotter.add_actor(
            self.vehicles_actor, name="amhs_vehicles", reset_camera=False, render=False
        )
        self._xy = np.zeros((0, 2))
        self._loaded = np.zeros(0, dtype=bool)

    def set_rails(self, amhs: Amhs) -> None:
        """Draw the rails ``amhs`` instead (rails generated again after a layout edit).

        The mesh is replaced in place (same actor); the occupancy starts again.
        """
        self.amhs = amhs
        self.link_ids = [lk.id for lk in amhs.links]
        fresh = rail_polydata_of(amhs, self.spec)
        self.rails.copy_from(fresh)
        self.rails.Modified()
        self._occupancy_s = np.zeros(self.rails.n_cells)
        self._observed_s = 0.0
        self._last_t = None
        p = np.asarray(self.rails.points)[:, :2]
        cells = np.asarray(self.rails.lines).reshape(-1, 3) if self.rails.n_cells else None
        self._a = p[cells[:, 1]] if cells is not None else np.zeros((0, 2))
        self._b = p[cells[:, 2]] if cells is not None else np.zeros((0, 2))
        self._ab = self._b - self._a
        self._ab2 = np.maximum(np.einsum("ij,ij->i", self._ab, self._ab), 1e-12)
        self._tree = None
        if self.heat_map:
            self._write_heat()

    # -- vehicles

    @property
    def vehicle_count(self) -> int:
        """Vehicles drawn now."""
        return int(self.vehicle_points.n_points)

    def set_vehicles(self, xy: np.ndarray, loaded: np.ndarray, t: float | None = None) -> bool:
        """Place the vehicle glyphs at floor positions ``xy`` (n, 2) on the rails; ``loaded``
        ones carry a FOUP. ``t`` (plant seconds) is the time of the positions: the time
        since the previous call is added to the occupancy of the link each vehicle is on.

        Returns True if anything drawn changed.
        """
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        loaded = np.asarray(loaded, dtype=bool).reshape(-1)
        self._accumulate(xy, t)
        if (
            len(xy) == len(self._xy)
            and np.array_equal(xy, self._xy)
            and np.array_equal(loaded, self._loaded)
        ):
            return False
        same_count = len(xy) == len(self._xy) and len(xy) > 0
        self._xy, self._loaded = xy.copy(), loaded.copy()
        if same_count and self._write_vehicles_in_place(xy, loaded):
            return True
        pts = np.column_stack([xy, np.full(len(xy), self.z)]) if len(xy) else np.zeros((0, 3))
        fresh = pv.PolyData(pts)
        fresh.point_data["loaded"] = loaded.astype(np.int8)
        self.vehicle_points.copy_from(fresh)
        self.vehicle_points.Modified()
        return True

    def _write_vehicles_in_place(self, xy: np.ndarray, loaded: np.ndarray) -> bool:
        """Overwrite the glyph points and sources of as many vehicles as are drawn (a new
        data set per frame costs the glyph mapper a rebuild); False if they cannot be."""
        pts = self.vehicle_points.GetPoints()
        arr = self.vehicle_points.GetPointData().GetArray("loaded")
        if pts is None or arr is None:
            return False
        view = np.asarray(self.vehicle_points.points).view(np.ndarray)
        flags = np.asarray(self.vehicle_points.point_data["loaded"]).view(np.ndarray)
        if len(view) != len(xy) or len(flags) != len(xy):
            return False
        view[:, :2] = xy
        pts.Modified()
        new = loaded.astype(np.int8)
        if not np.array_equal(flags, new):
            flags[:] = new
            arr.Modified()
        self.vehicle_points.Modified()
        return True

    def nearest_links(self, xy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return (link index, distance in metres) of the rail link nearest each point.

        Exact: a k-d tree of points every :data:`_SAMPLE_M` along the links finds, for a point
        at distance ``d0`` from its nearest sample, every link with a sample within
        ``d0 + _SAMPLE_M / 2`` (the nearest link is among them: its closest point lies within
        half a spacing of one of its samples); those few are measured exactly. About 0.5 ms
        for 100 vehicles on the SMAT2022 rails (3,424 links) against 18 ms for all pairs.
        """
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        if len(self._a) == 0 or len(xy) == 0:
            return np.zeros(len(xy), dtype=np.int64), np.full(len(xy), np.inf)
        if self._tree is None:
            self._build_tree()
        assert self._tree is not None
        dq, iq = self._tree.query(xy, k=min(_NEAR_K, len(self._sample_link)))
        dq, iq = dq.reshape(len(xy), -1), iq.reshape(len(xy), -1)
        reach = dq[:, :1] + _SAMPLE_M / 2 + 1e-9
        cand = self._sample_link[iq]  # (n, k): links of the k nearest samples
        k, dist = self._closest(xy, cand)
        # complete when the k-th sample is beyond the reach; else ask for all within it
        for i in np.flatnonzero(dq[:, -1] <= reach[:, 0]):
            idx = self._tree.query_ball_point(xy[i], reach[i, 0])
            ki, di = self._closest(xy[i : i + 1], self._sample_link[np.asarray(idx)][None, :])
            k[i], dist[i] = ki[0], di[0]
        return k, dist

    def _closest(self, xy: np.ndarray, cand: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Of the candidate links ``cand`` (n, m) of each point, the nearest and its distance."""
        d = xy[:, None, :] - self._a[cand]
        ab = self._ab[cand]
        f = np.clip(np.einsum("nmk,nmk->nm", d, ab) / self._ab2[cand], 0.0, 1.0)
        off = d - f[:, :, None] * ab
        d2 = np.einsum("nmk,nmk->nm", off, off)
        j = np.argmin(d2, axis=1)
        rows = np.arange(len(xy))
        return cand[rows, j].astype(np.int64), np.sqrt(d2[rows, j])

    def _build_tree(self) -> None:
        """Sample every link each :data:`_SAMPLE_M` metres (both ends included)."""
        from scipy.spatial import cKDTree

        n = np.maximum(np.ceil(np.sqrt(self._ab2) / _SAMPLE_M).astype(np.int64), 1) + 1
        link = np.repeat(np.arange(len(self._a)), n)
        start = np.concatenate([[0], np.cumsum(n)[:-1]])
        f = (np.arange(int(n.sum())) - np.repeat(start, n)) / np.repeat(n - 1, n)
        pts = self._a[link] + f[:, None] * self._ab[link]
        self._sample_link = link
        self._tree = cKDTree(pts)

    # -- congestion heat map

    def _accumulate(self, xy: np.ndarray, t: float | None) -> None:
        if t is None:
            return
        last, self._last_t = self._last_t, t
        if last is None or t <= last or len(self._xy) == 0:
            return
        dt = t - last
        k, _ = self.nearest_links(self._xy)  # where they were during [last, t)
        np.add.at(self._occupancy_s, k, dt)
        self._observed_s += dt
        if self.heat_map:
            self._write_heat()

    def occupancy(self) -> np.ndarray:
        """Share of the observed time a vehicle stood or moved on each link (0 before any)."""
        if self._observed_s <= 0:
            return np.zeros_like(self._occupancy_s)
        return self._occupancy_s / self._observed_s

    def busiest_links(self, top: int = 5) -> list[tuple[str, float]]:
        """The ``top`` links by occupancy, (link id, vehicle-time share)."""
        occ = self.occupancy()
        order = np.argsort(-occ, kind="stable")[:top]
        return [(self.link_ids[int(i)], float(occ[i])) for i in order if occ[i] > 0]

    def set_congestion(
        self,
        blocked_s_per_h: np.ndarray | None,
        window_s: float = 0.0,
        *,
        title: str | None = None,
        clim: tuple[float, float] | None = None,
        measure: str = "blocked",
    ) -> None:
        """Colour the heat map by the simulator's blocked seconds per hour on each link (in the
        plant file's link order; over the last ``window_s`` plant seconds) or, with ``measure``
        ``"traffic"``, by the vehicles entering each link's section per hour; or go back to
        the occupancy of the vehicles seen (None). ``title`` and ``clim`` replace the legend's
        title and the colour scale (another per-link figure, e.g. an experiment's)."""
        if measure not in HEAT_MEASURES:
            msg = f"unknown heat map measure {measure!r} (one of {', '.join(HEAT_MEASURES)})"
            raise ValueError(msg)
        self._served_measure = measure
        self._served_title = title
        self._served_clim = clim
        if blocked_s_per_h is not None:
            blocked_s_per_h = np.asarray(blocked_s_per_h, dtype=float).reshape(-1)
            if len(blocked_s_per_h) != self.rails.n_cells:
                blocked_s_per_h = None
        self._served = blocked_s_per_h
        self._served_window_s = float(window_s)
        if self.heat_map:
            self._write_heat()

    @property
    def served(self) -> bool:
        """True when the heat map shows the simulator's congestion, not the fallback."""
        return self._served is not None

    def heat_values(self) -> np.ndarray:
        """The heat map's value per link: served blocked s/h, else the occupancy share."""
        return self._served if self._served is not None else self.occupancy()

    def heat_title(self) -> str:
        """What the heat map shows, with its unit (the legend's title)."""
        if self._served is not None and self._served_title is not None:
            return self._served_title
        if self._served is not None:
            w = self._served_window_s
            span = "last hour" if w >= 3600 - 1 else f"last {w / 60:.0f} min"
            return f"{HEAT_MEASURES[self._served_measure]}\n(simulator, {span})"
        return "Occupancy share per rail link\n(vehicle positions: no\ncongestion from the server)"

    def _write_heat(self) -> None:
        arr = np.asarray(self.rails.cell_data["congestion"]).view(np.ndarray)
        arr[:] = self.heat_values()
        self.rails.Modified()
        top = float(arr.max()) if len(arr) else 0.0
        hi = max(top, 1.0 if self._served is not None else 1e-6)
        clim = self._served_clim if self._served is not None else None
        self.rail_actor.mapper.scalar_range = clim if clim is not None else (0.0, hi)
        if self.legend_title is not None:
            title = self.heat_title()
            if self.legend_title.GetInput() != title:
                self.legend_title.SetInput(title)

    def _make_legend(self) -> vtk.vtkScalarBarActor:
        bar = vtk.vtkScalarBarActor()
        bar.SetLookupTable(self.rail_actor.mapper.lookup_table)
        bar.SetNumberOfLabels(5)
        bar.SetLabelFormat("%.3g")
        bar.SetOrientationToVertical()
        # bottom left: the state legend takes the top right
        bar.SetPosition(0.015, 0.05)
        bar.SetWidth(0.07)
        bar.SetHeight(0.42)
        bar.SetBarRatio(0.3)
        bar.SetMaximumWidthInPixels(90)
        bar.UnconstrainedFontSizeOn()
        for prop in (bar.GetTitleTextProperty(), bar.GetLabelTextProperty()):
            prop.SetFontSize(12)
            prop.SetBold(False)
            prop.SetItalic(False)
            prop.SetShadow(False)
            prop.SetColor(0.85, 0.87, 0.9)
        bar.SetTextPositionToSucceedScalarBar()
        bar.PickableOff()
        self.plotter.add_actor(bar, name="amhs_heat_legend", reset_camera=False, render=False)
        # the title: its own text, left-aligned above the bar (a scalar bar centres its title
        # on the bar, which clips a long one at the view's left edge)
        text = vtk.vtkTextActor()
        text.GetPositionCoordinate().SetCoordinateSystemToNormalizedViewport()
        text.SetPosition(0.015, 0.525)
        tp = text.GetTextProperty()
        tp.SetFontSize(12)
        tp.SetColor(0.85, 0.87, 0.9)
        tp.SetJustificationToLeft()
        tp.SetVerticalJustificationToBottom()
        tp.SetBackgroundColor(0.1, 0.11, 0.13)
        tp.SetBackgroundOpacity(0.6)
        text.PickableOff()
        self.plotter.add_actor(text, name="amhs_heat_title", reset_camera=False, render=False)
        self.legend_title = text
        return bar

    def set_heat_map(self, on: bool) -> None:
        """Colour the rail by congestion (``on``, with its legend) or draw it in the plain
        rail colour."""
        self.heat_map = on
        mapper = self.rail_actor.mapper
        if on:
            lut = pv.LookupTable(cmap=HEAT_CMAP)
            mapper.lookup_table = lut
            mapper.SetScalarModeToUseCellFieldData()
            mapper.SelectColorArray("congestion")
            mapper.SetScalarVisibility(True)
            self.rail_actor.GetProperty().SetLineWidth(4)
            if self.legend is None:
                self.legend = self._make_legend()
            self.legend.SetLookupTable(lut)
            self.legend.SetVisibility(True)
            if self.legend_title is not None:
                self.legend_title.SetVisibility(True)
            self._write_heat()
        else:
            mapper.SetScalarVisibility(False)
            self.rail_actor.GetProperty().SetLineWidth(2)
            if self.legend is not None:
                self.legend.SetVisibility(False)
            if self.legend_title is not None:
                self.legend_title.SetVisibility(False)

    def set_theme(self, dark: bool) -> None:
        """Rail colour of the theme."""
        self.rail_actor.GetProperty().SetColor(*pv.Color(RAIL_COLOR[dark]).float_rgb)
