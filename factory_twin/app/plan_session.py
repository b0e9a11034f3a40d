"""A planner's editing session on one scenario: its changes, live checks, flows, capacity.

No Qt: the Plan workspace (:mod:`factory_twin.ui.qt_plan_workspace`) draws what a
:class:`PlanSession` holds and turns every edit into one of its calls, so that the same
edits run headless in tests and benchmarks.

* The base plant is read once. A scenario (``NAME.scenario.yaml`` beside it) is applied as
  a *sketch* (:meth:`~factory_twin.model.scenario.ScenarioDocument.sketch`): the plant with
  the changes in, even while it has overlaps, and the problems that keep it from validating.
* Every edit is a scenario change (:meth:`add_change`, :meth:`remove_change`,
  :meth:`move_change`); each returns what its inverse needs, so an undo stack can replay
  them. After an edit the layout checks, the flows and (for a change kind that can change
  it) the capacity comparison are rebuilt from the sketch.
* While a tool is dragged, :meth:`preview_move` updates the layout checker and the flow
  model in place (a grid index and the moved group's flows only), without touching the
  scenario; the drop then adds one ``move_tool`` change.

Examples
--------
>>> ses = PlanSession("plant_configs/demo_fab.yaml")              # doctest: +SKIP
>>> ses.open(new_scenario(ses.plant_path, "wider_aisles"))        # doctest: +SKIP
>>> ses.add_change(ses.move_data("ETCH-01", (20.0, 5.0)))         # doctest: +SKIP
>>> ses.flow_table().total_distance_m_per_day                     # doctest: +SKIP
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from factory_twin.errors import ConfigError
from factory_twin.model import schema as s
from factory_twin.model.capacity import GroupLoad, capacity_table
from factory_twin.model.config import load_plant
from factory_twin.model.flows import FlowModel, FlowTable, flow_table
from factory_twin.model.layout import footprint_polygon
from factory_twin.model.layout_check import LayoutChecker, LayoutProblem
from factory_twin.model.plan_figures import CapacityComparison, changes_capacity, compare_capacity
from factory_twin.model.scenario import ScenarioDocument, load_scenario

GRID_STEPS_M = (0.1, 0.5, 1.0)
"""The drag grids the workspace offers (metres)."""

BAY_EDGE_SNAP_M = 0.4
"""A footprint edge this close to a bay edge snaps onto it."""

_GROUP_CHANGES = ("set_dispatch", "set_setups", "set_batching")


def footprint_offsets(
    extent: tuple[float, float, float, float], rotation_deg: float
) -> tuple[float, float, float, float]:
    """The footprint's bounding box relative to the tool's origin, as turned on the floor."""
    poly = footprint_polygon(extent, (0.0, 0.0), rotation_deg)
    xs = [p[0] for p in poly]
    ys = [p[1] for p in poly]
    return min(xs), min(ys), max(xs), max(ys)


def snap_position(
    position_m: tuple[float, float],
    grid_m: float,
    offsets: tuple[float, float, float, float] | None = None,
    bays: Sequence[s.Bay] = (),
    *,
    edge_m: float = BAY_EDGE_SNAP_M,
) -> tuple[float, float]:
    """Snap a tool's origin to the grid, or a footprint edge onto a bay edge near it.

    Per axis, a footprint edge within ``edge_m`` of a bay edge goes onto it; else the
    origin goes to the grid.

    Parameters
    ----------
    position_m
        Where the pointer would put the tool's origin.
    grid_m
        Grid step (0 or less: no grid).
    offsets
        :func:`footprint_offsets` of the tool (None: no bay-edge snapping).
    bays
        The bays whose edges attract footprint edges.
    edge_m
        How close (metres) a footprint edge must come to a bay edge to snap onto it.

    Examples
    --------
    >>> snap_position((3.26, 7.74), 0.5)
    (3.5, 7.5)
    """
    x, y = float(position_m[0]), float(position_m[1])
    ex = ey = None
    if offsets is not None and bays:
        xmin, ymin, xmax, ymax = offsets
        xs = [e for b in bays for e in (b.origin_m[0], b.origin_m[0] + b.size_m[0])]
        ys = [e for b in bays for e in (b.origin_m[1], b.origin_m[1] + b.size_m[1])]
        ex = _to_edge(x, (xmin, xmax), xs, edge_m)
        ey = _to_edge(y, (ymin, ymax), ys, edge_m)
    return (_to_grid(x, grid_m) if ex is None else ex, _to_grid(y, grid_m) if ey is None else ey)


def _to_grid(v: float, grid_m: float) -> float:
    return round(round(v / grid_m) * grid_m, 6) if grid_m > 0 else v


def _to_edge(v: float, offs: tuple[float, float], edges: list[float], tol: float) -> float | None:
    """The origin that puts the nearest footprint edge onto a bay edge within ``tol``."""
    best: tuple[float, float] | None = None
    for off in offs:
        for e in edges:
            d = abs(v + off - e)
            if d < tol and (best is None or d < best[0]):
                best = (d, round(e - off, 6))
    return None if best is None else best[1]


def bay_at(spec: s.PlantSpec, point: tuple[float, float]) -> s.Bay | None:
    """The bay the floor point lies in (the first in file order), or None."""
    x, y = point
    for b in spec.site.bays:
        x0, y0 = b.origin_m
        if x0 <= x <= x0 + b.size_m[0] and y0 <= y <= y0 + b.size_m[1]:
            return b
    return None


def next_tool_id(spec: s.PlantSpec, like: str) -> str:
    """A free tool id after the pattern of ``like``: ``SCAN-03`` gives ``SCAN-04``, ...

    Examples
    --------
    >>> from factory_twin.model.synthetic import synthetic_plant
    >>> spec = synthetic_plant(3, 1)
    >>> [e.id for e in spec.equipment][:2], next_tool_id(spec, spec.equipment[0].id)
    (['T00000', 'T00001'], 'T00003')
    """
    taken = {e.id for e in spec.equipment}
    m = re.match(r"^(.*?)(\d+)$", like)
    stem, width = (m.group(1), len(m.group(2))) if m else (f"{like}-", 2)
    used = [
        int(mm.group(1))
        for t in taken
        if t.startswith(stem) and (mm := re.match(r"^(\d+)$", t[len(stem) :]))
    ]
    k = max(used, default=0) + 1
    while f"{stem}{k:0{width}d}" in taken:
        k += 1
    return f"{stem}{k:0{width}d}"


def change_data(change: Any) -> dict[str, Any]:
    """A change as the plain mapping a scenario file holds (what ``add_change`` takes back)."""
    if isinstance(change, dict):
        return dict(change)
    return dict(change.model_dump(mode="json", exclude_unset=True))


class PlanSession:
    """The plant a planner edits, its open scenario and the live figures of both.

    Parameters
    ----------
    plant_path
        The base plant file; its scenarios live beside it.

    Raises
    ------
    ConfigError
        If the plant file does not load.
    """

    def __init__(self, plant_path: str | Path) -> None:
        self.plant_path = Path(plant_path)
        self.base = load_plant(self.plant_path).spec
        self.base_dir = self.plant_path.parent
        self.base_rows: list[GroupLoad] = capacity_table(self.base)
        self.base_flows: FlowTable = flow_table(self.base)
        self.scenario: ScenarioDocument | None = None
        self.dirty = False
        self.descriptions: list[str] = []
        self.scenario_problems: list[str] = []
        self.plant = self.base
        self.checker = LayoutChecker(self.base, self.base_dir)
        self.flows = FlowModel(self.base)
        self.capacity: CapacityComparison = compare_capacity(
            self.base, self.base, base_rows=self.base_rows
        )
        self._extent = {t.id: t.shape.footprint_m() for t in self.base.equipment_types}
        self._preview: dict[str, tuple[tuple[float, float], float]] = {}

    # ------------------------------------------------------------------ opening

    @property
    def editable(self) -> bool:
        """True when a scenario is open (the base plant is edited through scenarios only)."""
        return self.scenario is not None

    @property
    def name(self) -> str:
        """The open scenario's name, or the plant's file name for the base."""
        if self.scenario is None:
            return self.plant_path.stem
        return self.scenario.spec.name or self.scenario.name

    def open(self, path: str | Path | None) -> None:
        """Open a scenario file (None: the base plant, read-only) and compute its figures.

        Raises
        ------
        ConfigError
            If the file does not read as a scenario, or does not build on this plant.
        """
        if path is None:
            self.scenario = None
        else:
            doc = load_scenario(path)
            if doc.spec.base is None or doc.base_path().resolve() != self.plant_path.resolve():
                msg = f"{path}:1: base: the scenario does not build on {self.plant_path.name}"
                raise ConfigError([msg])
            self.scenario = doc
        self.dirty = False
        self._rebuild(capacity=True)

    def reload_base(self) -> None:
        """Read the base plant again (after it was saved elsewhere) and refresh."""
        self.base = load_plant(self.plant_path).spec
        self.base_rows = capacity_table(self.base)
        self.base_flows = flow_table(self.base)
        self._extent = {t.id: t.shape.footprint_m() for t in self.base.equipment_types}
        self._rebuild(capacity=True)

    def _rebuild(self, *, capacity: bool) -> None:
        self._preview.clear()
        if self.scenario is None:
            plant, self.descriptions, self.scenario_problems = self.base, [], []
        else:
            sketch, self.descriptions, self.scenario_problems = self.scenario.sketch()
            plant = sketch if sketch is not None else self.base
        self.plant = plant
        self._extent.update({t.id: t.shape.footprint_m() for t in plant.equipment_types})
        self.checker = LayoutChecker(plant, self.base_dir)
        self.flows = FlowModel(plant)
        if capacity:
            self.capacity = compare_capacity(self.base, plant, base_rows=self.base_rows)

    # ------------------------------------------------------------------ changes

    def _doc(self) -> ScenarioDocument:
        if self.scenario is None:
            msg = "the base plant is not edited here: make a scenario first (New scenario)"
            raise ConfigError([msg])
        return self.scenario

    def add_change(self, change: Any, index: int | None = None) -> int:
        """Insert a change (mapping or change model); return its index (for the undo).

        Raises
        ------
        ConfigError
            If no scenario is open, or the change is not a valid change.
        """
        at = self._doc().add_change(change_data(change), index)
        self.dirty = True
        self._rebuild(capacity=changes_capacity(self.changes()[at]["change"]))
        return at

    def remove_change(self, index: int) -> dict[str, Any]:
        """Remove change ``index``; return it as a mapping (``add_change(it, index)`` undoes)."""
        gone = change_data(self._doc().remove_change(index))
        self.dirty = True
        self._rebuild(capacity=changes_capacity(gone["change"]))
        return gone

    def move_change(self, old: int, new: int) -> None:
        """Move change ``old`` to ``new`` (``move_change(new, old)`` undoes)."""
        self._doc().move_change(old, new)
        self.dirty = True
        self._rebuild(capacity=True)

    def changes(self) -> list[dict[str, Any]]:
        """The open scenario's changes as mappings, in order (empty for the base)."""
        if self.scenario is None:
            return []
        return [change_data(c) for c in self.scenario.spec.changes]

    def set_notes(self, notes: str) -> None:
        """Set the scenario's notes (saved with it)."""
        doc = self._doc()
        if doc.spec.notes != notes:
            doc.spec.notes = notes
            self.dirty = True

    def save(self) -> Path:
        """Write the open scenario atomically (comments kept, the previous file as ``.bak``)."""
        path = self._doc().save()
        self.dirty = False
        return path

    # ------------------------------------------------------------------ change builders

    def tool(self, tool_id: str) -> s.Equipment:
        """The tool as the sketch has it (KeyError if it is not there)."""
        return self.plant.tool(tool_id)

    def offsets(self, tool_id: str, rotation_deg: float | None = None) -> tuple[float, ...]:
        """:func:`footprint_offsets` of a tool at its rotation (or ``rotation_deg``)."""
        eq = self.tool(tool_id)
        rot = eq.rotation_deg if rotation_deg is None else rotation_deg
        return footprint_offsets(self._extent.get(eq.type, (-0.5, -0.5, 0.5, 0.5)), rot)

    def snap(self, tool_id: str, position_m: tuple[float, float], grid_m: float) -> Any:
        """Snap a tool's origin to the grid and its footprint onto bay edges."""
        off = self.offsets(tool_id)
        return snap_position(
            position_m, grid_m, (off[0], off[1], off[2], off[3]), self.plant.site.bays
        )

    def move_data(
        self,
        tool_id: str,
        position_m: tuple[float, float] | None = None,
        rotation_deg: float | None = None,
    ) -> dict[str, Any]:
        """A ``move_tool`` change; it names the new bay when the origin lands in another."""
        data: dict[str, Any] = {"change": "move_tool", "id": tool_id}
        if position_m is not None:
            data["position_m"] = [round(float(position_m[0]), 6), round(float(position_m[1]), 6)]
            bay = bay_at(self.plant, (float(position_m[0]), float(position_m[1])))
            if bay is not None and bay.id != self.tool(tool_id).bay:
                data["bay"] = bay.id
        if rotation_deg is not None:
            data["rotation_deg"] = float(rotation_deg) % 360.0
        return data

    def add_tool_data(
        self, type_id: str, position_m: tuple[float, float], like: str | None = None
    ) -> dict[str, Any]:
        """An ``add_tool`` change for a tool of ``type_id`` (or a copy of ``like``) at a point.

        The new tool copies the first tool of that type (group, bay, reliability, PMs); it
        goes into the bay under the point when that is another. A type with no tool yet
        gets a group of its own named after the type.
        """
        spec = self.plant
        src = spec.tool(like) if like is not None else None
        if src is None:
            src = next((e for e in spec.equipment if e.type == type_id), None)
        pos = [round(float(position_m[0]), 6), round(float(position_m[1]), 6)]
        bay = bay_at(spec, (pos[0], pos[1]))
        if src is None:
            if bay is None:
                msg = f"drop the new {type_id} inside a bay"
                raise ConfigError([msg])
            gid = re.sub(r"[^A-Za-z0-9_.\-]", "_", type_id).upper()
            return {
                "change": "add_tool",
                "id": next_tool_id(spec, f"{gid}-00"),
                "type": type_id,
                "group": gid,
                "bay": bay.id,
                "position_m": pos,
            }
        data: dict[str, Any] = {
            "change": "add_tool",
            "id": next_tool_id(spec, src.id),
            "like": src.id,
            "position_m": pos,
        }
        if src.rotation_deg:
            data["rotation_deg"] = src.rotation_deg
        if bay is not None and bay.id != src.bay:
            data["bay"] = bay.id
        return data

    def duplicate_data(self, tool_id: str, grid_m: float = 0.5) -> dict[str, Any]:
        """An ``add_tool`` change copying a tool, placed beside it (one footprint to the right)."""
        eq = self.tool(tool_id)
        off = self.offsets(tool_id)
        gap = 0.6
        for t in self.plant.equipment_types:
            if t.id == eq.type:
                gap = t.service_clearance_m
        x = eq.position_m[0] + (off[2] - off[0]) + gap
        pos = snap_position((x, eq.position_m[1]), grid_m)
        if pos[0] < x:
            pos = (pos[0] + max(grid_m, 0.1), pos[1])
        return self.add_tool_data(eq.type, pos, like=tool_id)

    # ------------------------------------------------------------------ live drag

    def preview_move(
        self, tool_id: str, position_m: tuple[float, float], rotation_deg: float | None = None
    ) -> list[LayoutProblem]:
        """Move a tool in the live checks and flows only (a drag); return its problems."""
        eq = self.tool(tool_id)
        rot = eq.rotation_deg if rotation_deg is None else rotation_deg
        pos = (float(position_m[0]), float(position_m[1]))
        self._preview[tool_id] = (pos, rot)
        self.checker.move(tool_id, pos, rot)
        self.flows.move_tool(tool_id, pos)
        return self.checker.problems_of(tool_id)

    def cancel_preview(self) -> None:
        """Put every previewed tool back where the sketch has it (a drag given up)."""
        for tid in list(self._preview):
            eq = self.tool(tid)
            self.checker.move(tid, eq.position_m, eq.rotation_deg)
            self.flows.move_tool(tid, eq.position_m)
        self._preview.clear()

    def placement(self, tool_id: str) -> tuple[tuple[float, float], float]:
        """Where a tool stands now: its previewed place while dragged, else the sketch's."""
        got = self._preview.get(tool_id)
        if got is not None:
            return got
        eq = self.tool(tool_id)
        return (float(eq.position_m[0]), float(eq.position_m[1])), float(eq.rotation_deg)

    def footprint_box(self, tool_ids: Sequence[str]) -> tuple[float, float, float, float]:
        """The box (xmin, ymin, xmax, ymax) around the tools' footprints where they stand
        now: a selection turns about its centre (KeyError for no tools or an unknown one)."""
        xs: list[float] = []
        ys: list[float] = []
        for t in tool_ids:
            pos, rot = self.placement(t)
            ext = self._extent.get(self.tool(t).type, (-0.5, -0.5, 0.5, 0.5))
            for x, y in footprint_polygon(ext, pos, rot):
                xs.append(x)
                ys.append(y)
        if not xs:
            raise KeyError("no tools")
        return min(xs), min(ys), max(xs), max(ys)

    # ------------------------------------------------------------------ reading

    def flow_table(self) -> FlowTable:
        """The flows on the layout as it is now (with a drag in progress)."""
        return self.flows.table()

    def layout_problems(self) -> list[LayoutProblem]:
        """Every layout problem now (with a drag in progress)."""
        return self.checker.problems()

    def other_problems(self) -> list[str]:
        """The scenario's problems that no blocking layout problem already names.

        The scenario check reports an overlap or a tool outside its bay in its own words
        (``file:line: changes[k].position_m: ...``); the layout checker lists the same one
        live. What remains (a change that no longer fits, a bad reference) is listed apart.
        """
        blocking = self.checker.blocking()
        return [
            text
            for text in self.scenario_problems
            if not any(
                p.tool_id in text and (p.other is None or p.other in text) for p in blocking
            )
        ]

    def to_fix(self) -> int:
        """How many problems keep the scenario from validating (layout and other)."""
        return len(self.checker.blocking()) + len(self.other_problems())

    def problem_tools(self) -> tuple[set[str], set[str]]:
        """Tools in a blocking problem, and tools in a warning only."""
        bad: set[str] = set()
        warn: set[str] = set()
        for p in self.checker.problems():
            ids = {p.tool_id} | ({p.other} if p.other else set())
            (bad if p.blocking else warn).update(ids)
        return bad, warn - bad

    def changed_tools(self) -> set[str]:
        """Tools the scenario added or placed, turned or re-bayed differently from the base."""
        base = {e.id: e for e in self.base.equipment}
        out: set[str] = set()
        for e in self.plant.equipment:
            b = base.get(e.id)
            if b is None or (b.position_m, b.rotation_deg, b.bay, b.group) != (
                e.position_m,
                e.rotation_deg,
                e.bay,
                e.group,
            ):
                out.add(e.id)
        return out

    def change_tools(self, index: int) -> list[str]:
        """The tools change ``index`` is about (a tool, or a group's tools; else none)."""
        ch = self.changes()[index]
        kind = ch["change"]
        ids = {e.id for e in self.plant.equipment}
        if "id" in ch and kind in ("move_tool", "add_tool", "remove_tool"):
            return [ch["id"]] if ch["id"] in ids else []
        tool = ch.get("tool")
        if isinstance(tool, str):
            return [tool] if tool in ids else []
        group = ch.get("group")
        if isinstance(group, str) and (kind in _GROUP_CHANGES or "group" in ch):
            return [e.id for e in self.plant.equipment if e.group == group]
        return []

    def transport_summary(self) -> tuple[float, float, float, float]:
        """Moves per day and metres per day, base and now: for the flows panel's headline."""
        now = self.flow_table()
        b = self.base_flows
        return (
            b.total_moves_per_day,
            b.total_distance_m_per_day,
            now.total_moves_per_day,
            now.total_distance_m_per_day,
        )


def fmt_distance(m: float) -> str:
    """Metres per day in words (``12.3 km/day``)."""
    if not math.isfinite(m):
        return "-"
    return f"{m / 1000:.1f} km/day" if m >= 1000 else f"{m:.0f} m/day"
