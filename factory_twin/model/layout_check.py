"""Live layout checks for the layout editor: overlaps, service clearance, bay and floor.

A planner drags tools around and wants to see at once what is wrong with the layout. A
:class:`LayoutChecker` keeps every tool's footprint in a spatial index (a uniform grid hash
over the footprints' bounding boxes), so moving one tool re-checks it against its
neighbours only, not against the whole fab.

What is checked, and what blocks validation (the plant loader's rules in
:mod:`factory_twin.model.config`, so that a layout without blocking problems validates and
one with them does not):

* **overlap** (blocking): two footprints overlap by more than a micrometre (touching is
  fine). The message gives the penetration depth, the shortest push that separates them.
* **clearance** (warning): two footprints are closer than the larger of the two types'
  ``service_clearance_m``.
* **outside_floor**: blocking when the tool's origin (``position_m``) is off the floor, a
  warning when only part of its footprint is.
* **outside_bay**: blocking when the tool's origin is outside its bay, a warning when only
  part of its footprint is. Not reported for a tool whose origin is off the floor.

A pair problem is reported once, on the tool later in file order (as the loader does),
with ``other`` the earlier one; :meth:`LayoutChecker.problems_of` returns it for both.

Examples
--------
>>> checker = LayoutChecker(load_plant("plant_configs/demo_fab.yaml").spec)  # doctest: +SKIP
>>> checker.move("SCAN-02", (31.0, 12.0))                                    # doctest: +SKIP
>>> [p.message for p in checker.problems_of("SCAN-02")]                      # doctest: +SKIP
['SCAN-02 overlaps SCAN-01 by 0.4 m']
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from factory_twin.model import schema as s
from factory_twin.model.geometry import bind_mesh_files
from factory_twin.model.layout import (
    Point,
    footprint_polygon,
    penetration_depth_m,
    polygon_gap_m,
    polygons_overlap,
)

ProblemKind = Literal["overlap", "clearance", "outside_bay", "outside_floor"]
_KIND_ORDER = {"outside_floor": 0, "outside_bay": 1, "overlap": 2, "clearance": 3}
_TOL = 1e-6


@dataclass(frozen=True)
class LayoutProblem:
    """One thing wrong with a tool's place on the floor.

    Attributes
    ----------
    tool_id
        The tool the problem is reported on (for a pair, the later one in file order).
    kind
        ``overlap``, ``clearance``, ``outside_bay`` or ``outside_floor``.
    other
        The other tool of a pair problem, else None.
    message
        What is wrong, in words, e.g. ``SCAN-04 overlaps SCAN-03 by 0.4 m``.
    blocking
        True if the plant does not validate with this problem; warnings are False.
    """

    tool_id: str
    kind: ProblemKind
    other: str | None
    message: str
    blocking: bool

    def involves(self, tool_id: str) -> bool:
        """Return True if ``tool_id`` is the tool or the other tool of this problem."""
        return self.tool_id == tool_id or self.other == tool_id


@dataclass
class _Placed:
    eq: s.Equipment
    order: int
    poly: list[Point] | None  # None: unknown equipment type, no footprint
    box: tuple[float, float, float, float]  # xmin, ymin, xmax, ymax of the footprint
    clearance: float
    cells: list[tuple[int, int]]


def _fmt_m(v: float) -> str:
    return f"{v:.1f}" if v >= 0.05 else "less than 0.1"


class LayoutChecker:
    """Layout problems of a plant, kept up to date as tools move, come and go.

    Parameters
    ----------
    spec
        The plant (its equipment is copied; the checker never changes ``spec``).
    base_dir
        Folder of the plant file: mesh-only equipment types then get their mesh's footprint
        (as the loader does). Without it, a type whose mesh was not read stands in as 1 x 1 m.
    """

    def __init__(self, spec: s.PlantSpec, base_dir: Path | None = None) -> None:
        if base_dir is not None:
            bind_mesh_files(spec, base_dir)
        self._types = {t.id: t for t in spec.equipment_types}
        self._extent = {t.id: t.shape.footprint_m() for t in spec.equipment_types}
        self._bays = {b.id: b for b in spec.site.bays}
        self._floor = spec.site.floor_m
        self._max_clearance = max((t.service_clearance_m for t in spec.equipment_types), default=0)
        sizes = sorted(max(e[2] - e[0], e[3] - e[1]) for e in self._extent.values())
        typical = sizes[len(sizes) // 2] if sizes else 1.0
        # cells about a typical tool plus its clearance: a tool touches a few cells, a cell
        # holds a few tools
        self._cell = max(0.5, typical + 2 * self._max_clearance)
        self._grid: dict[tuple[int, int], set[str]] = {}
        self._tools: dict[str, _Placed] = {}
        self._single: dict[str, list[LayoutProblem]] = {}
        self._pairs: dict[str, dict[str, LayoutProblem]] = {}
        self._next_order = 0
        for e in spec.equipment:
            self._place(e)
        for tid in self._tools:
            self._check(tid, only_later=True)

    # ------------------------------------------------------------------ editing

    def move(
        self, tool_id: str, position_m: tuple[float, float], rotation_deg: float | None = None
    ) -> None:
        """Move (and optionally rotate) a tool and re-check it against its neighbours.

        Raises
        ------
        KeyError
            If the checker has no tool ``tool_id``.
        """
        old = self._tools[tool_id]
        changes: dict[str, object] = {"position_m": (float(position_m[0]), float(position_m[1]))}
        if rotation_deg is not None:
            changes["rotation_deg"] = float(rotation_deg)
        eq = old.eq.model_copy(update=changes)
        self._unplace(tool_id)
        self._place(eq, order=old.order)
        self._check(tool_id, only_later=False)

    def add(self, eq: s.Equipment) -> None:
        """Add a tool (after all others in file order); a tool of the same id is replaced."""
        order = None
        if eq.id in self._tools:
            order = self._tools[eq.id].order
            self._unplace(eq.id)
        self._place(eq, order=order)
        self._check(eq.id, only_later=False)

    def remove(self, tool_id: str) -> None:
        """Take a tool off the floor, with its problems (KeyError if unknown)."""
        if tool_id not in self._tools:
            raise KeyError(tool_id)
        self._unplace(tool_id)

    # ------------------------------------------------------------------ reading

    @property
    def tool_ids(self) -> list[str]:
        """Ids of the tools on the floor, in file order."""
        return sorted(self._tools, key=lambda t: self._tools[t].order)

    def problems(self) -> list[LayoutProblem]:
        """Return every problem: by tool in file order, blocking kinds first, then pairs."""
        out: list[LayoutProblem] = []
        for tid in self.tool_ids:
            out += self._single.get(tid, [])
            out += [p for p in self._pairs.get(tid, {}).values() if p.tool_id == tid]
        return sorted(out, key=self._sort_key)

    def problems_of(self, tool_id: str) -> list[LayoutProblem]:
        """Return the problems ``tool_id`` is part of (empty for an unknown tool)."""
        out = list(self._single.get(tool_id, []))
        out += self._pairs.get(tool_id, {}).values()
        return sorted(out, key=self._sort_key)

    def blocking(self) -> list[LayoutProblem]:
        """Return the problems that keep the plant from validating."""
        return [p for p in self.problems() if p.blocking]

    def _sort_key(self, p: LayoutProblem) -> tuple[int, int, int]:
        other = self._tools[p.other].order if p.other in self._tools else -1
        return (self._tools[p.tool_id].order, _KIND_ORDER[p.kind], other)

    # ------------------------------------------------------------------ the index

    def _place(self, eq: s.Equipment, order: int | None = None) -> None:
        if order is None:
            order = self._next_order
        self._next_order = max(self._next_order, order + 1)
        extent = self._extent.get(eq.type)
        if extent is None:
            poly = None
            x, y = eq.position_m
            box = (x, y, x, y)
            clearance = 0.0
        else:
            poly = footprint_polygon(extent, eq.position_m, eq.rotation_deg)
            xs = [p[0] for p in poly]
            ys = [p[1] for p in poly]
            box = (min(xs), min(ys), max(xs), max(ys))
            clearance = self._types[eq.type].service_clearance_m
        cells = list(self._cells(box, clearance)) if poly is not None else []
        for c in cells:
            self._grid.setdefault(c, set()).add(eq.id)
        self._tools[eq.id] = _Placed(eq, order, poly, box, clearance, cells)

    def _unplace(self, tool_id: str) -> None:
        placed = self._tools.pop(tool_id)
        for c in placed.cells:
            members = self._grid[c]
            members.discard(tool_id)
            if not members:
                del self._grid[c]
        self._single.pop(tool_id, None)
        for other in self._pairs.pop(tool_id, {}):
            self._pairs.get(other, {}).pop(tool_id, None)

    def _cells(
        self, box: tuple[float, float, float, float], grow: float
    ) -> Iterator[tuple[int, int]]:
        c = self._cell
        x0 = math.floor((box[0] - grow) / c)
        y0 = math.floor((box[1] - grow) / c)
        x1 = math.floor((box[2] + grow) / c)
        y1 = math.floor((box[3] + grow) / c)
        for i in range(x0, x1 + 1):
            for j in range(y0, y1 + 1):
                yield (i, j)

    def _neighbours(self, tool_id: str) -> set[str]:
        # a tool's cells cover its box grown by its own clearance; a pair closer than the
        # larger clearance shares a cell of the tool with that clearance
        out: set[str] = set()
        for c in self._tools[tool_id].cells:
            out |= self._grid.get(c, set())
        out.discard(tool_id)
        return out

    # ------------------------------------------------------------------ the checks

    def _check(self, tool_id: str, *, only_later: bool) -> None:
        me = self._tools[tool_id]
        self._single[tool_id] = self._place_problems(me)
        if me.poly is None:
            return
        for other in self._neighbours(tool_id):
            them = self._tools[other]
            if only_later and them.order < me.order:
                continue  # the initial build meets each pair once
            problem = self._pair_problem(me, them)
            if problem is not None:
                self._pairs.setdefault(tool_id, {})[other] = problem
                self._pairs.setdefault(other, {})[tool_id] = problem

    def _pair_problem(self, a: _Placed, b: _Placed) -> LayoutProblem | None:
        if a.order > b.order:
            a, b = b, a  # report on the later tool, as the loader does
        assert a.poly is not None and b.poly is not None
        limit = max(a.clearance, b.clearance)
        ab, bb = a.box, b.box
        if (
            ab[0] - limit > bb[2]
            or bb[0] - limit > ab[2]
            or ab[1] - limit > bb[3]
            or bb[1] - limit > ab[3]
        ):
            return None
        boxes_meet = ab[0] < bb[2] and bb[0] < ab[2] and ab[1] < bb[3] and bb[1] < ab[3]
        if boxes_meet and polygons_overlap(a.poly, b.poly):
            depth = penetration_depth_m(a.poly, b.poly)
            return LayoutProblem(
                b.eq.id,
                "overlap",
                a.eq.id,
                f"{b.eq.id} overlaps {a.eq.id} by {_fmt_m(depth)} m",
                True,
            )
        if limit <= 0:
            return None
        gap = polygon_gap_m(a.poly, b.poly)
        if gap >= limit - _TOL:
            return None
        shown = f"{gap:.1f}" if round(gap, 1) < round(limit, 1) else f"{gap:.2f}"
        return LayoutProblem(
            b.eq.id,
            "clearance",
            a.eq.id,
            f"{b.eq.id} is {shown} m from {a.eq.id}; service clearance is {limit:g} m",
            False,
        )

    def _place_problems(self, me: _Placed) -> list[LayoutProblem]:
        """Floor and bay problems of one tool (the loader checks the origin)."""
        e = me.eq
        fw, fd = self._floor
        x, y = e.position_m
        if not (0 <= x <= fw and 0 <= y <= fd):
            msg = f"{e.id} at ({x:g}, {y:g}) is outside the {fw:g} x {fd:g} m floor"
            return [LayoutProblem(e.id, "outside_floor", None, msg, True)]
        out: list[LayoutProblem] = []
        spill = _spill((0.0, 0.0, fw, fd), me.box) if me.poly is not None else 0.0
        if spill > 0:
            msg = f"{e.id} reaches {_fmt_m(spill)} m beyond the edge of the floor"
            out.append(LayoutProblem(e.id, "outside_floor", None, msg, False))
        bay = self._bays.get(e.bay)
        if bay is None:
            return out  # an unknown bay is a different error, reported by the loader
        if not bay.contains(x, y):
            msg = f"{e.id} at ({x:g}, {y:g}) is outside its bay {bay.id}"
            out.append(LayoutProblem(e.id, "outside_bay", None, msg, True))
            return out
        (bx, by), (bw, bd) = bay.origin_m, bay.size_m
        spill = _spill((bx, by, bx + bw, by + bd), me.box) if me.poly is not None else 0.0
        if spill > 0:
            msg = f"{e.id} reaches {_fmt_m(spill)} m outside its bay {bay.id}"
            out.append(LayoutProblem(e.id, "outside_bay", None, msg, False))
        return out


def _spill(
    rect: tuple[float, float, float, float], box: tuple[float, float, float, float]
) -> float:
    """How far ``box`` reaches beyond ``rect`` (0 if within, a micrometre's grace)."""
    worst = max(rect[0] - box[0], rect[1] - box[1], box[2] - rect[2], box[3] - rect[3])
    return worst if worst > _TOL else 0.0
