"""OHT rails generated from the layout, for a plant whose file has none.

A plant without an ``amhs`` section (or with ``amhs: simple`` and no links) still has its
lots carried overhead in the 3-D view; :func:`generated_amhs` lays out the rails such a fab
would have, as an :class:`~factory_twin.model.amhs.Amhs` of the same schema (``model:
simple``: the simulation keeps its distance / speed transport times), so the same rail graph
(:class:`factory_twin.sim.oht_graph.RailGraph`) routes on it:

* every tool's **load port** (the mean of its ``load port`` components, else the front of
  its EFEM / loader, else the middle of its front side) is a point on the floor with the
  direction the tool faces, snapped to the floor's axes;
* the tools of a bay whose ports line up (same facing axis, within
  :data:`ROW_TOLERANCE_M`) form a **row**; two neighbouring parallel rows (not more than
  :data:`PAIR_MAX_M` apart) share one **intrabay loop**: a one-way (counter-clockwise)
  rectangle whose two long sides run over the two rows' ports; a row without a partner gets
  a narrow loop returning over the aisle in front of it. A bay's loops are joined by
  two-way links along a minimum spanning tree of their distances;
* an **interbay spine** (two-way) runs along the aisles between the rows of bays (the gaps
  in the bays' extent along one floor axis; a trunk along the floor's side joins several
  of them), or along one side of the plant when the bays leave no aisle; each bay joins
  its nearest spine by a two-way link from its nearest loop;
* each tool's port is a **node on its own bay's loop**: its port projected on the rail over
  its row.

The network is deterministic (a function of the plant file) and strongly connected: loops
are cycles, and every connection (loop to loop, bay to spine, spine to trunk) runs both ways.
Tools that are not placed in their bay's rectangle, or a plant with one bay for everything,
get the same treatment: rows and loops come from the tools' ports, not from the bays.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

from factory_twin.model import schema as s
from factory_twin.model.amhs import Amhs, LoadPort, RailLink, RailNode

ROW_TOLERANCE_M = 0.75
"""Ports whose rail lines are closer than this belong to one row."""

PAIR_MAX_M = 12.0
"""Two parallel rows at most this far apart share one intrabay loop."""

LOOP_MARGIN_M = 1.0
"""A loop extends this far past the outermost ports of its rows (room for the curve)."""

SINGLE_LOOP_WIDTH_M = 1.5
"""Width of the loop of a row without a partner: its return rail runs over the aisle."""

SPINE_CLEARANCE_M = 2.0
"""Distance of a spine (or the trunk) from the loops when no aisle between bays is found."""

LOOP_SPEED_M_S = 3.0
SPINE_SPEED_M_S = 5.0
CONNECTOR_SPEED_M_S = 1.5
_EPS = 0.05  # points this close on a loop are one node
_EFEM_WORDS = ("efem", "loader", "load station", "cassette station", "wafer_handler", "indexer")

Point = tuple[float, float]
Rect = tuple[float, float, float, float]  # x0, y0, x1, y1


# --------------------------------------------------------------------------- load ports


def _rotate(x: float, y: float, deg: float) -> Point:
    c, s_ = math.cos(math.radians(deg)), math.sin(math.radians(deg))
    return (c * x - s_ * y, s_ * x + c * y)


def local_port(etype: s.EquipmentType) -> tuple[Point, Point]:
    """Return (load port point, facing direction) of an equipment type in its own frame.

    The mean of the ``load port`` components' anchors when the type names some; else the
    middle of the outer side of its EFEM / loader part; else the middle of its front (-y)
    side. The facing direction points from the footprint's centre through that point.
    """
    fx0, fy0, fx1, fy1 = etype.shape.footprint_m()
    cx, cy = (fx0 + fx1) / 2, (fy0 + fy1) / 2
    anchors = [c.anchor_m for c in etype.components if "load port" in c.name.lower()]
    if anchors:
        px = math.fsum(a[0] for a in anchors) / len(anchors)
        py = math.fsum(a[1] for a in anchors) / len(anchors)
    else:
        efem = next(
            (p for p in etype.shape.parts if any(w in p.name.lower() for w in _EFEM_WORDS)),
            None,
        )
        if efem is None:
            return (cx, fy0), (0.0, -1.0)
        ex0, ey0, ex1, ey1 = efem.extent_xy()
        dx, dy = (ex0 + ex1) / 2 - cx, (ey0 + ey1) / 2 - cy
        if abs(dx) < 0.05 and abs(dy) < 0.05:
            return ((ex0 + ex1) / 2, ey0), (0.0, -1.0)
        if abs(dx) > abs(dy):
            return ((ex1 if dx > 0 else ex0), (ey0 + ey1) / 2), (math.copysign(1.0, dx), 0.0)
        return ((ex0 + ex1) / 2, (ey1 if dy > 0 else ey0)), (0.0, math.copysign(1.0, dy))
    dx, dy = px - cx, py - cy
    if abs(dx) < 1e-9 and abs(dy) < 1e-9:
        return (px, py), (0.0, -1.0)
    if abs(dx) > abs(dy):
        return (px, py), (math.copysign(1.0, dx), 0.0)
    return (px, py), (0.0, math.copysign(1.0, dy))


@dataclass(frozen=True)
class ToolPort:
    """Where a tool hands its FOUPs over: a floor point and the axis its rail runs along.

    ``axis`` is 0 when the tool faces along x (its rail runs along y, at x = ``at[0]``),
    1 when it faces along y; ``sign`` is the facing direction along that axis. ``slots``
    are its load ports' floor points (the ``load port`` components, else ``at`` alone) and
    ``facing`` the unit vector the tool faces (not snapped).
    """

    tool: str
    bay: str
    at: Point
    axis: int
    sign: float
    slots: tuple[Point, ...] = ()
    facing: Point = (0.0, -1.0)


def tool_ports(spec: s.PlantSpec) -> list[ToolPort]:
    """Return every tool's load port on the floor, in the plant file's order."""
    cache: dict[str, tuple[Point, Point, list[Point]]] = {}
    out = []
    for e in spec.equipment:
        got = cache.get(e.type)
        if got is None:
            et = spec.equipment_type(e.type)
            at, facing = local_port(et)
            slots = [
                (c.anchor_m[0], c.anchor_m[1])
                for c in et.components
                if "load port" in c.name.lower()
            ]
            got = cache[e.type] = (at, facing, slots or [at])
        (lx, ly), (fx, fy), local_slots = got
        px, py = e.position_m
        rx, ry = _rotate(lx, ly, e.rotation_deg)
        dx, dy = _rotate(fx, fy, e.rotation_deg)
        axis = 0 if abs(dx) >= abs(dy) else 1
        sign = math.copysign(1.0, dx if axis == 0 else dy)
        world = []
        for sx, sy in local_slots:
            wx, wy = _rotate(sx, sy, e.rotation_deg)
            world.append((px + wx, py + wy))
        out.append(ToolPort(e.id, e.bay, (px + rx, py + ry), axis, sign, tuple(world), (dx, dy)))
    return out


# --------------------------------------------------------------------------- loops


@dataclass
class _Loop:
    """One intrabay loop: a rectangle, and the points on it that must be nodes."""

    name: str
    bay: str
    rect: Rect
    points: list[Point] = field(default_factory=list)
    node_ids: list[str] = field(default_factory=list)
    node_xy: list[Point] = field(default_factory=list)


def _rows(ports: list[ToolPort]) -> list[list[ToolPort]]:
    """Group ports facing along the same axis whose rail lines (nearly) coincide."""
    rows: list[list[ToolPort]] = []
    for axis in (0, 1):
        mine = sorted((p for p in ports if p.axis == axis), key=lambda p: (p.at[axis], p.tool))
        for p in mine:
            if (
                rows
                and rows[-1][0].axis == axis
                and p.at[axis] - rows[-1][-1].at[axis] <= (ROW_TOLERANCE_M)
            ):
                rows[-1].append(p)
            else:
                rows.append([p])
    return rows


def _line(row: list[ToolPort]) -> float:
    axis = row[0].axis
    return math.fsum(p.at[axis] for p in row) / len(row)


def _loop_rect(rows: list[list[ToolPort]]) -> Rect:
    """The rectangle of a loop over one row or a pair of parallel rows."""
    axis = rows[0][0].axis
    along = 1 - axis
    a = [p.at[along] for r in rows for p in r]
    lo_al, hi_al = min(a) - LOOP_MARGIN_M, max(a) + LOOP_MARGIN_M
    lines = [_line(r) for r in rows]
    if len(rows) == 1:
        sign = 1.0 if sum(p.sign for p in rows[0]) >= 0 else -1.0
        c = lines[0]
        lo_ac, hi_ac = sorted((c, c + sign * SINGLE_LOOP_WIDTH_M))
    else:
        lo_ac, hi_ac = min(lines), max(lines)
    if axis == 0:
        return (lo_ac, lo_al, hi_ac, hi_al)
    return (lo_al, lo_ac, hi_al, hi_ac)


def _on_line(p: ToolPort, c: float, rect: Rect) -> Point:
    """Project a port onto its row's rail (the loop side at coordinate ``c``)."""
    if p.axis == 0:
        return (c, min(max(p.at[1], rect[1]), rect[3]))
    return (min(max(p.at[0], rect[0]), rect[2]), c)


def _bay_loops(
    bay: str, ports: list[ToolPort]
) -> tuple[list[_Loop], dict[str, tuple[int, Point]]]:
    """The loops of one bay and, per tool, (loop index, port point on that loop)."""
    rows = _rows(ports)
    # pair neighbouring parallel rows (per axis, in order of their line)
    groups: list[list[list[ToolPort]]] = []
    for axis in (0, 1):
        mine = sorted((r for r in rows if r[0].axis == axis), key=_line)
        i = 0
        while i < len(mine):
            if i + 1 < len(mine) and _line(mine[i + 1]) - _line(mine[i]) <= PAIR_MAX_M:
                groups.append([mine[i], mine[i + 1]])
                i += 2
            else:
                groups.append([mine[i]])
                i += 1
    loops: list[_Loop] = []
    where: dict[str, tuple[int, Point]] = {}
    for k, g in enumerate(groups):
        rect = _loop_rect(g)
        lp = _Loop(f"{bay}.L{k + 1}", bay, rect)
        for r in g:
            c = _line(r)
            if len(g) == 1:  # the row's own side of its narrow loop
                axis = r[0].axis
                c = min(rect[axis], rect[axis + 2], key=lambda v: abs(v - c))
            for p in r:
                q = _on_line(p, c, rect)
                lp.points.append(q)
                where[p.tool] = (len(loops), q)
        loops.append(lp)
    return loops, where


def _perimeter_t(rect: Rect, q: Point) -> float:
    """Counter-clockwise distance along the rectangle from its lower-left corner to ``q``."""
    x0, y0, x1, y1 = rect
    w, h = x1 - x0, y1 - y0
    x, y = q
    if abs(y - y0) <= 1e-9 and x < x1:
        return x - x0
    if abs(x - x1) <= 1e-9 and y < y1:
        return w + (y - y0)
    if abs(y - y1) <= 1e-9 and x > x0:
        return w + h + (x1 - x)
    return 2 * w + h + (y1 - y)


def _snap(rect: Rect, q: Point) -> Point:
    """The point of the rectangle's boundary nearest ``q``."""
    x0, y0, x1, y1 = rect
    x, y = min(max(q[0], x0), x1), min(max(q[1], y0), y1)
    d = [(x - x0, (x0, y)), (x1 - x, (x1, y)), (y - y0, (x, y0)), (y1 - y, (x, y1))]
    return min(d, key=lambda t: t[0])[1]


def _edges(rect: Rect) -> list[tuple[Point, Point]]:
    x0, y0, x1, y1 = rect
    return [((x0, y0), (x1, y0)), ((x1, y0), (x1, y1)), ((x0, y1), (x1, y1)), ((x0, y0), (x0, y1))]


def _seg_closest(a: tuple[Point, Point], b: tuple[Point, Point]) -> tuple[float, Point, Point]:
    """Closest points of two axis-aligned segments: (distance, point on a, point on b)."""
    (ax0, ay0), (ax1, ay1) = a
    (bx0, by0), (bx1, by1) = b

    # the nearest x of two intervals (middle of their overlap when they overlap)
    def near(l0: float, l1: float, m0: float, m1: float) -> tuple[float, float]:
        lo, hi = max(l0, m0), min(l1, m1)
        if lo <= hi:
            return (lo + hi) / 2, (lo + hi) / 2
        return (l1, m0) if l1 < m0 else (l0, m1)

    xa, xb = near(ax0, ax1, bx0, bx1)
    ya, yb = near(ay0, ay1, by0, by1)
    return math.hypot(xa - xb, ya - yb), (xa, ya), (xb, yb)


def _rect_closest(a: Rect, b: Rect) -> tuple[float, Point, Point]:
    best: tuple[float, Point, Point] | None = None
    for ea in _edges(a):
        for eb in _edges(b):
            got = _seg_closest(ea, eb)
            if best is None or got[0] < best[0] - 1e-9:
                best = got
    assert best is not None
    return best


# --------------------------------------------------------------------------- spines


def _gaps(intervals: list[tuple[float, float]], min_gap: float = 1.0) -> list[float]:
    """Middles of the gaps (at least ``min_gap`` wide) between the union of intervals."""
    out = []
    iv = sorted(intervals)
    hi = iv[0][1]
    for a, b in iv[1:]:
        if a - hi >= min_gap:
            out.append((a + hi) / 2)
        hi = max(hi, b)
    return out


def _rect_to_line(rect: Rect, axis: int, c: float) -> tuple[float, Point, Point]:
    """Closest link from a loop to the spine line ``coordinate[axis] == c``."""
    x0, y0, x1, y1 = rect
    if axis == 1:  # horizontal spine y = c
        mx = (x0 + x1) / 2
        y = y0 if abs(c - y0) <= abs(c - y1) else y1
        return abs(c - y), (mx, y), (mx, c)
    my = (y0 + y1) / 2
    x = x0 if abs(c - x0) <= abs(c - x1) else x1
    return abs(c - x), (x, my), (c, my)


@dataclass(frozen=True)
class _Drop:
    """A bay's link to a spine: its loop, the point on that loop, the spine and the point."""

    bay: int
    loop: int
    on_loop: Point
    spine: int
    on_spine: Point


@dataclass
class _Plan:
    axis: int  # 1: spines run along x at fixed y; 0: along y at fixed x
    lines: list[float]
    cost: float
    drops: list[_Drop]


def _spine_plan(
    axis: int,
    bays: list[list[_Loop]],
    bay_rects: list[Rect],
    floor: tuple[float, float],
) -> _Plan:
    """Spines at the aisles between bays along one axis, and each bay's link to one."""
    iv = [(r[axis], r[axis + 2]) for r in bay_rects]
    lines = _gaps(iv)
    if not lines:
        lo = min(a for a, _ in iv) - SPINE_CLEARANCE_M
        hi = max(b for _, b in iv) + SPINE_CLEARANCE_M
        lines = [lo if lo >= 0.0 or hi > floor[axis] else hi]
    drops: list[_Drop] = []
    cost = 0.0
    for bi, loops in enumerate(bays):
        best: tuple[float, int, int, Point, Point] | None = None
        for li, lp in enumerate(loops):
            for k, c in enumerate(lines):
                d, on_loop, on_spine = _rect_to_line(lp.rect, axis, c)
                if best is None or d < best[0] - 1e-9:
                    best = (d, li, k, on_loop, on_spine)
        assert best is not None
        cost += best[0]
        drops.append(_Drop(bi, best[1], best[3], best[2], best[4]))
    if len(lines) > 1:  # the trunk joining the spines
        cost += max(lines) - min(lines)
    return _Plan(axis, lines, cost, drops)


# --------------------------------------------------------------------------- the network


class _Builder:
    def __init__(self) -> None:
        self.nodes: list[RailNode] = []
        self.links: list[RailLink] = []

    def node(self, nid: str, at: Point, bay: str = "") -> str:
        self.nodes.append(RailNode(id=nid, at_m=(round(at[0], 4), round(at[1], 4)), bay=bay))
        return nid

    def link(
        self,
        a: str,
        b: str,
        pa: Point,
        pb: Point,
        speed: float,
        *,
        bay: str = "",
        curve: bool = False,
    ) -> None:
        length = max(math.hypot(pb[0] - pa[0], pb[1] - pa[1]), 0.1)
        self.links.append(
            RailLink.model_validate(
                {
                    "id": f"{a}>{b}",
                    "from": a,
                    "to": b,
                    "length_m": round(length, 4),
                    "max_speed_m_s": speed,
                    "curve": curve,
                    "bay": bay,
                }
            )
        )

    def both(self, a: str, b: str, pa: Point, pb: Point, speed: float, *, curve: bool) -> None:
        self.link(a, b, pa, pb, speed, curve=curve)
        self.link(b, a, pb, pa, speed, curve=curve)


def _close_loop(b: _Builder, lp: _Loop) -> None:
    """Make the loop's nodes (corners and attached points, merged) and its one-way links."""
    x0, y0, x1, y1 = lp.rect
    pts = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), *(_snap(lp.rect, q) for q in lp.points)]
    per = 2 * ((x1 - x0) + (y1 - y0))
    ts = sorted({round(_perimeter_t(lp.rect, q), 6): q for q in pts}.items())
    merged: list[tuple[float, Point]] = []
    for t, q in ts:
        if merged and t - merged[-1][0] <= _EPS:
            continue
        merged.append((t, q))
    if len(merged) > 1 and merged[-1][0] - merged[0][0] >= per - _EPS:
        merged.pop()
    for i, (_, q) in enumerate(merged):
        lp.node_ids.append(b.node(f"{lp.name}.{i + 1}", q, lp.bay))
        lp.node_xy.append(q)
    n = len(merged)
    for i in range(n):
        j = (i + 1) % n
        b.link(
            lp.node_ids[i], lp.node_ids[j], lp.node_xy[i], lp.node_xy[j], LOOP_SPEED_M_S,
            bay=lp.bay,
        )  # fmt: skip


def _loop_node(lp: _Loop, q: Point) -> str:
    """The loop's node nearest ``q`` (a point that was attached to the loop)."""
    k = min(range(len(lp.node_xy)), key=lambda i: math.dist(lp.node_xy[i], q))
    return lp.node_ids[k]


def generated_amhs(spec: s.PlantSpec) -> Amhs:
    """Return OHT rails for ``spec`` laid out from its tools' load ports (see the module)."""
    ports = tool_ports(spec)
    by_bay: dict[str, list[ToolPort]] = {}
    for p in ports:
        by_bay.setdefault(p.bay, []).append(p)
    site_bays = {b.id: b for b in spec.site.bays}
    bays: list[list[_Loop]] = []
    bay_rects: list[Rect] = []
    port_at: dict[str, tuple[int, int, Point]] = {}
    for bay in sorted(by_bay):
        loops, where = _bay_loops(bay, by_bay[bay])
        for tool, (li, q) in where.items():
            port_at[tool] = (len(bays), li, q)
        rects = [lp.rect for lp in loops]
        ext = (
            min(r[0] for r in rects),
            min(r[1] for r in rects),
            max(r[2] for r in rects),
            max(r[3] for r in rects),
        )
        sb = site_bays.get(bay)
        if sb is not None:  # the bay's own rectangle, grown to hold loops outside it
            bx0, by0 = sb.origin_m
            bx1, by1 = bx0 + sb.size_m[0], by0 + sb.size_m[1]
            ext = (min(ext[0], bx0), min(ext[1], by0), max(ext[2], bx1), max(ext[3], by1))
        bays.append(loops)
        bay_rects.append(ext)
    b = _Builder()
    if not bays:
        return Amhs(model="simple", source="generated from the layout")
    # the loops of a bay: joined along a minimum spanning tree of their distances
    tree: list[tuple[int, int, int, Point, Point]] = []
    for bi, loops in enumerate(bays):
        inside = {0}
        while len(inside) < len(loops):
            best: tuple[float, int, int, Point, Point] | None = None
            for i in sorted(inside):
                for j in range(len(loops)):
                    if j in inside:
                        continue
                    d, pa, pb = _rect_closest(loops[i].rect, loops[j].rect)
                    if best is None or d < best[0] - 1e-9:
                        best = (d, i, j, pa, pb)
            assert best is not None
            _, i, j, pa, pb = best
            loops[i].points.append(pa)
            loops[j].points.append(pb)
            tree.append((bi, i, j, pa, pb))
            inside.add(j)
    # the spines: along whichever floor axis needs the shorter links from the bays
    floor = spec.site.floor_m
    plans = [_spine_plan(axis, bays, bay_rects, floor) for axis in (1, 0)]
    plan = min(plans, key=lambda p: (p.cost, -p.axis))
    for dr in plan.drops:
        bays[dr.bay][dr.loop].points.append(dr.on_loop)
    for loops in bays:
        for lp in loops:
            _close_loop(b, lp)
    for bi, i, j, pa, pb in tree:
        la, lb = bays[bi][i], bays[bi][j]
        b.both(_loop_node(la, pa), _loop_node(lb, pb), pa, pb, CONNECTOR_SPEED_M_S, curve=True)
    _build_spines(b, plan, bays, bay_rects)
    port_list = []
    for p in ports:
        bi, li, q = port_at[p.tool]
        port_list.append(LoadPort(tool=p.tool, node=_loop_node(bays[bi][li], q)))
    return Amhs(
        model="simple",
        source="generated from the layout",
        nodes=b.nodes,
        links=b.links,
        ports=port_list,
    )


def _build_spines(
    b: _Builder, plan: _Plan, bays: list[list[_Loop]], bay_rects: list[Rect]
) -> None:
    """Two-way spines with the bays' links, and the trunk joining several spines."""
    axis = plan.axis
    along = 1 - axis
    stops: dict[int, list[tuple[float, str | None, Point]]] = {
        k: [] for k in range(len(plan.lines))
    }
    for dr in plan.drops:
        lp = bays[dr.bay][dr.loop]
        stops[dr.spine].append((dr.on_spine[along], _loop_node(lp, dr.on_loop), dr.on_spine))
    trunk = None
    if len(plan.lines) > 1:
        lo = min(r[along] for r in bay_rects) - SPINE_CLEARANCE_M
        trunk = max(lo, 0.5)
        for k, c in enumerate(plan.lines):
            at = (trunk, c) if axis == 1 else (c, trunk)
            stops[k].append((trunk, None, at))
    trunk_nodes: list[tuple[float, str, Point]] = []
    for k, c in enumerate(plan.lines):
        row = sorted(stops[k], key=lambda t: (t[0], t[1] or ""))
        prev: tuple[str, Point] | None = None
        for j, (_, loop_node, at) in enumerate(row):
            nid = b.node(f"S{k + 1}.{j + 1}", at)
            if loop_node is not None:
                lp_xy = next(n.at_m for n in b.nodes if n.id == loop_node)
                b.both(loop_node, nid, lp_xy, at, CONNECTOR_SPEED_M_S, curve=True)
            else:
                trunk_nodes.append((c, nid, at))
            if prev is not None:
                b.both(prev[0], nid, prev[1], at, SPINE_SPEED_M_S, curve=False)
            prev = (nid, at)
    trunk_nodes.sort()
    for (_, na, pa), (_, nc, pc) in itertools.pairwise(trunk_nodes):
        b.both(na, nc, pa, pc, SPINE_SPEED_M_S, curve=False)


def plant_rails(spec: s.PlantSpec) -> Amhs:
    """The rails the view draws: the plant file's when it has rail links, else generated."""
    if spec.amhs is not None and spec.amhs.links:
        return spec.amhs
    return generated_amhs(spec)
