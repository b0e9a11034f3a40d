"""The from-to matrix of the Plan workspace's flows: a base and a scenario
:class:`~factory_twin.model.flows.FlowTable` pivoted into one grid (no Qt).

Rows are the tool group lots leave, columns the group they go to; only groups with a flow
in the base or the scenario take a row and a column, in route order (the order a lot
first reaches them, :func:`route_order`) or busiest first. A cell holds one of three
figures (:class:`FlowFigure`): the scenario's moves per day, its distance-weighted flow
(moves x metres per move, m/day) or the change of that flow against the base. Its shade
(:meth:`FlowMatrix.shades`) is the square root of the figure over the largest one, so
that small flows still show; a change is signed (more transport positive).

Examples
--------
>>> m = flow_matrix(base, now, route_order(spec))                 # doctest: +SKIP
>>> m.values(FlowFigure.CHANGE)[m.index("SCAN"), m.index("TRACK")]  # doctest: +SKIP
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

import numpy as np

from factory_twin.model import schema as s
from factory_twin.model.flows import FlowTable

ZERO_M_PER_DAY = 0.5
"""A change smaller than this (m/day, the figure's display step) counts as none."""


class FlowFigure(Enum):
    """What a cell of the from-to matrix shows."""

    MOVES = "moves/day"
    DISTANCE = "distance m/day"
    CHANGE = "change vs base, m/day"


def route_order(spec: s.PlantSpec) -> list[str]:
    """Return the tool groups in the order the routes first reach them, then the rest.

    Routes are read in file order; a group no route uses follows in file order.
    """
    order = [st.tool_group for r in spec.routes for st in r.steps]
    order += list(spec.groups())
    return list(dict.fromkeys(order))


def short_name(name: str, width: int) -> str:
    """Return ``name`` cut to ``width`` characters, the middle elided (its ends tell apart
    groups such as ``LithoTrack_FE_115`` and ``LithoTrack_FE_116``)."""
    if len(name) <= width:
        return name
    tail = (width - 1) // 2
    head = width - 1 - tail
    return f"{name[:head]}…{name[len(name) - tail :]}"


def compact(v: float, *, signed: bool = False) -> str:
    """Return a figure in at most five characters: ``3.2``, ``128``, ``1.2k``, ``12k``,
    ``1.4M``;
    an empty string for zero (empty cells read faster)."""
    if v == 0 or not math.isfinite(v):
        return ""
    sign = ("+" if v > 0 else "-") if signed else ("-" if v < 0 else "")
    a = abs(v)
    if a < 9.95:
        text = f"{a:.1f}"
    elif a < 999.5:
        text = f"{a:.0f}"
    elif a < 9.95e3:
        text = f"{a / 1e3:.1f}k"
    elif a < 999.5e3:
        text = f"{a / 1e3:.0f}k"
    else:
        text = f"{a / 1e6:.1f}M"
    return sign + text


@dataclass(frozen=True)
class FlowMatrix:
    """A base and a scenario's flows on one grid of tool groups.

    Attributes
    ----------
    groups
        The rows' and the columns' groups (the same order both ways).
    base_moves, now_moves
        Moves per day, base and scenario, ``[from, to]``.
    base_m, now_m
        Expected metres per move, base and scenario (NaN where there is no flow).
    """

    groups: list[str]
    base_moves: np.ndarray
    now_moves: np.ndarray
    base_m: np.ndarray
    now_m: np.ndarray

    def index(self, group: str) -> int:
        """Return the row (and column) of ``group``."""
        return self.groups.index(group)

    def m_per_day(self, base: bool = False) -> np.ndarray:
        """Return moves x metres per move (0 where there is no flow)."""
        moves, m = (self.base_moves, self.base_m) if base else (self.now_moves, self.now_m)
        return np.where(moves > 0, moves * np.nan_to_num(m), 0.0)

    def values(self, figure: FlowFigure) -> np.ndarray:
        """Return the cells' figures (a change under :data:`ZERO_M_PER_DAY` is 0)."""
        if figure is FlowFigure.MOVES:
            return self.now_moves
        now = self.m_per_day()
        if figure is FlowFigure.DISTANCE:
            return now
        d = now - self.m_per_day(base=True)
        return np.where(np.abs(d) < ZERO_M_PER_DAY, 0.0, d)

    def shades(self, figure: FlowFigure) -> np.ndarray:
        """Return each cell's colour strength: sqrt of the figure over the largest, in
        [0, 1] (a change in [-1, 1], positive where the scenario transports more)."""
        v = self.values(figure)
        top = float(np.abs(v).max()) if v.size else 0.0
        if top == 0:
            return np.zeros_like(v)
        return np.sign(v) * np.sqrt(np.abs(v) / top)

    def totals(self, figure: FlowFigure) -> tuple[np.ndarray, np.ndarray]:
        """Return the rows' and the columns' sums of ``figure``."""
        v = self.values(figure)
        return v.sum(axis=1), v.sum(axis=0)

    def busiest_first(self, figure: FlowFigure) -> FlowMatrix:
        """Return the matrix with its groups sorted by their flow out plus in (largest
        first; for a change, the largest change either way), ties in the present order."""
        a = np.abs(self.values(figure))
        score = a.sum(axis=1) + a.sum(axis=0)
        k = np.argsort(-score, kind="stable")
        grid = np.ix_(k, k)
        return FlowMatrix(
            groups=[self.groups[i] for i in k],
            base_moves=self.base_moves[grid],
            now_moves=self.now_moves[grid],
            base_m=self.base_m[grid],
            now_m=self.now_m[grid],
        )

    def tip(self, i: int, j: int) -> str:
        """Return the words of cell ``[i, j]``: the pair, base and scenario figures."""
        lines = [f"{self.groups[i]} → {self.groups[j]}"]
        for name, moves, m in (
            ("base", self.base_moves[i, j], self.base_m[i, j]),
            ("scenario", self.now_moves[i, j], self.now_m[i, j]),
        ):
            if moves > 0:
                lines.append(f"{name}: {moves:.1f} moves/day x {m:.1f} m = {moves * m:,.0f} m/day")
            else:
                lines.append(f"{name}: no flow")
        d = self.values(FlowFigure.CHANGE)[i, j]
        if d:
            lines.append(f"change: {d:+,.0f} m/day")
        return "\n".join(lines)

    def tsv(self, rows: Sequence[int], cols: Sequence[int], figure: FlowFigure) -> str:
        """Return cells ``rows`` x ``cols`` as tab-separated text with the groups' names
        as the first row and column (a spreadsheet pastes it as a from-to table)."""
        v = self.values(figure)
        lines = ["\t".join(["from \\ to", *(self.groups[j] for j in cols)])]
        for i in rows:
            lines.append("\t".join([self.groups[i], *(f"{v[i, j]:.6g}" for j in cols)]))
        return "\n".join(lines) + "\n"


def flow_matrix(base: FlowTable, now: FlowTable, order: Sequence[str] = ()) -> FlowMatrix:
    """Return the from-to matrix of ``base`` and ``now`` (the scenario).

    Parameters
    ----------
    base, now
        The base plant's and the scenario's flows.
    order
        Groups in the order wanted (:func:`route_order`); the others follow in the order
        of ``now``'s (then ``base``'s) groups.

    Returns
    -------
    FlowMatrix
        Only the groups with a flow, in or out, in the base or the scenario.
    """
    moving = {
        g for t in (base, now) for f in t.flows if f.moves_per_day > 0 for g in (f.src, f.dst)
    }
    known = [*order, *now.group_centres, *base.group_centres]
    known += sorted(moving - set(known))
    groups = [g for g in dict.fromkeys(known) if g in moving]
    at = {g: k for k, g in enumerate(groups)}
    n = len(groups)
    cells: list[np.ndarray] = []
    for t in (base, now):
        moves = np.zeros((n, n))
        m = np.full((n, n), math.nan)
        for f in t.flows:
            if f.moves_per_day > 0:
                moves[at[f.src], at[f.dst]] = f.moves_per_day
                m[at[f.src], at[f.dst]] = f.distance_m
        cells += [moves, m]
    return FlowMatrix(groups, cells[0], cells[2], cells[1], cells[3])


@dataclass(frozen=True)
class FlowPair:
    """What the Plan view lights for one cell of the from-to grid.

    Attributes
    ----------
    src, dst
        The cell's groups, from and to (equal on the diagonal: moves within one group).
    from_tools, to_tools
        The tools of each group; ``to_tools`` is empty on the diagonal.
    from_centre, to_centre
        The groups' centres on the floor (where the arrow runs from and to), None for a
        group with no tool.
    moves_per_day, distance_m
        The flow of the cell (0 and NaN where there is none).
    """

    src: str
    dst: str
    from_tools: list[str]
    to_tools: list[str]
    from_centre: tuple[float, float] | None
    to_centre: tuple[float, float] | None
    moves_per_day: float
    distance_m: float

    @property
    def arrow(self) -> tuple[tuple[float, float], tuple[float, float]] | None:
        """The floor points an arrow joins, or None (the diagonal, a group without tools)."""
        if self.src == self.dst or self.from_centre is None or self.to_centre is None:
            return None
        return self.from_centre, self.to_centre

    def text(self) -> str:
        """One line saying what is lit."""
        if self.src == self.dst:
            head = f"within {self.src} ({len(self.from_tools)} tools)"
        else:
            head = (
                f"from {self.src} ({len(self.from_tools)} tools) "
                f"to {self.dst} ({len(self.to_tools)} tools)"
            )
        if self.moves_per_day > 0:
            return f"{head}: {self.moves_per_day:.1f} moves/day, {self.distance_m:.1f} m per move"
        return f"{head}: no flow"


def flow_pair(spec: s.PlantSpec, table: FlowTable, src: str, dst: str) -> FlowPair:
    """Return the tools and centres of the pair ``src`` → ``dst`` on the layout of ``spec``
    with the flows of ``table`` (the layout as it is now, a drag included)."""
    groups = spec.groups()
    tools = {g: [e.id for e in groups.get(g, [])] for g in (src, dst)}
    centres: dict[str, tuple[float, float] | None] = {}
    for g in (src, dst):
        c = table.group_centres.get(g)
        if c is None and groups.get(g):
            xs = [float(e.position_m[0]) for e in groups[g]]
            ys = [float(e.position_m[1]) for e in groups[g]]
            c = (sum(xs) / len(xs), sum(ys) / len(ys))
        centres[g] = (float(c[0]), float(c[1])) if c is not None else None
    flow = next((f for f in table.flows if f.src == src and f.dst == dst), None)
    moves = flow.moves_per_day if flow is not None else 0.0
    return FlowPair(
        src=src,
        dst=dst,
        from_tools=tools[src],
        to_tools=[] if src == dst else tools[dst],
        from_centre=centres[src],
        to_centre=centres[dst],
        moves_per_day=moves,
        distance_m=flow.distance_m if flow is not None and moves > 0 else math.nan,
    )
