"""Material flows between tool groups: moves per day, distance and transport time per move.

The from-to figures a layout planner reads off a spaghetti diagram, computed with the
simulator's own rules so that the instant estimate and the simulation agree:

* **Moves.** Every released lot follows its route. After a step it goes on to the next
  *sampled* step (an unsampled step is skipped without a move), back to the rework step
  (``rework.probability``; that step is always processed) or out of the fab (scrap, or the
  end of the route). The release into the first step and a lot leaving the fab are not tool
  to tool moves and are not counted (the plant has no stocker to send them from). Moves per
  day are the release rates (:func:`~factory_twin.model.capacity.release_rates`) times the
  expected moves per released lot.
* **Distance.** A lot leaving a tool of group A for group B goes to the nearest tool of B
  (:func:`~factory_twin.model.transport.nearest_destination`, the simulator's rule; the
  same tool when A is B and the lot stays). The distance of the flow A -> B is the mean
  over A's tools, weighted equally (lots spread over a group's tools), of the distance to
  that nearest tool. Rectilinear (along the aisles) by default; ``distance_fn`` is the seam
  for a track-graph distance.
* **Time per move.** :func:`~factory_twin.model.transport.expected_move_time_s` of the mean
  distance: handling + distance / speed, the ``fixed_time`` mean, or 0 for kind ``none``
  (waiting for a vehicle of a limited fleet not included).

:class:`FlowModel` keeps the figures up to date while a planner drags tools: moving one tool
recomputes only the flows of its own group, in time proportional to the tools of the groups
it exchanges lots with.

Examples
--------
>>> from factory_twin.model.config import load_plant          # doctest: +SKIP
>>> table = flow_table(load_plant("plant_configs/demo_fab.yaml").spec)  # doctest: +SKIP
>>> round(table.total_distance_m_per_day)                       # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from factory_twin.model import schema as s
from factory_twin.model.capacity import release_rates
from factory_twin.model.layout import Point, manhattan_m
from factory_twin.model.transport import DistanceFn, expected_move_time_s, nearest_destination

logger = logging.getLogger(__name__)

_DAY_S = 86400.0
# a chain of skipped (unsampled) steps is followed until this little of the lot is left
_NEGLIGIBLE = 1e-15


@dataclass(frozen=True)
class Flow:
    """Lots moving from one tool group to another (one row of the from-to table).

    Attributes
    ----------
    src, dst
        Tool group ids, from and to (equal for consecutive steps on one group).
    moves_per_day
        Lot moves per day, all products.
    distance_m
        Expected distance of one move on the current layout (the simulator's nearest-tool
        rule, averaged over the source group's tools).
    move_time_s
        Expected transport time of one move as the simulator takes it.
    """

    src: str
    dst: str
    moves_per_day: float
    distance_m: float
    move_time_s: float

    @property
    def distance_m_per_day(self) -> float:
        """Metres travelled per day by this flow."""
        return _times(self.moves_per_day, self.distance_m)


@dataclass(frozen=True)
class FlowTable:
    """All flows of a plant on its current layout.

    Attributes
    ----------
    flows
        Every flow with moves, the busiest first.
    total_moves_per_day
        Lot moves per day over all flows.
    total_distance_m_per_day
        Sum of moves x distance.
    group_centres
        Mean tool position of each tool group (where a flow line is drawn from and to),
        groups in file order.
    total_transport_s_per_day
        Sum of moves x transport time per move: carrier-seconds per day.
    """

    flows: list[Flow]
    total_moves_per_day: float
    total_distance_m_per_day: float
    group_centres: dict[str, tuple[float, float]]
    total_transport_s_per_day: float = 0.0

    def matrix(self) -> pd.DataFrame:
        """Return the from-to matrix of moves per day: rows from, columns to, all groups."""
        groups = list(self.group_centres)
        for f in self.flows:
            for g in (f.src, f.dst):
                if g not in self.group_centres and g not in groups:
                    groups.append(g)
        m = pd.DataFrame(0.0, index=pd.Index(groups, name="from"), columns=groups)
        m.columns.name = "to"
        for f in self.flows:
            m.loc[f.src, f.dst] = f.moves_per_day
        return m

    def flow(self, src: str, dst: str) -> Flow | None:
        """Return the flow from ``src`` to ``dst`` (None if no lot makes that move)."""
        return next((f for f in self.flows if f.src == src and f.dst == dst), None)


def _times(a: float, b: float) -> float:
    return 0.0 if a == 0 or b == 0 else a * b


# --------------------------------------------------------------------------- moves per lot


def _step_odds(st: s.RouteStep) -> tuple[float, float, float]:
    """Return (sampled, rework, onward) probabilities of a step, as the simulator draws them.

    The simulator draws one uniform number after processing: below ``scrap_probability``
    the lot is scrapped, below scrap + rework it is reworked, else it goes on.
    """
    scrap = st.scrap_probability
    rework = st.rework.probability if st.rework is not None else 0.0
    rework = max(0.0, min(rework, 1.0 - scrap))
    return st.sample_pct / 100.0, rework, max(0.0, 1.0 - scrap - rework)


def route_visits(route: s.Route) -> list[float]:
    """Return the expected times one released lot is processed at each step (simulator rules).

    A lot enters at the first sampled step; after a step it goes on to the next sampled step
    or is reworked at its rework step, which it then always processes. A loop lots cannot
    leave (rework probability 1) gives ``inf`` for the steps in it.
    """
    steps = route.steps
    n = len(steps)
    odds = [_step_odds(st) for st in steps]
    back = [
        (i, st.rework.to_step - 1, odds[i][1])
        for i, st in enumerate(steps)
        if st.rework is not None and odds[i][1] > 0 and 0 <= st.rework.to_step - 1 < n
    ]
    visits = [0.0] * n
    grew = [0.0] * n
    # rework goes backwards only, so a forward sweep with the previous sweep's rework flows
    # converges geometrically (at the rate of the loop probabilities)
    for _ in range(5_000):
        inflow = [0.0] * n
        for i, k, p in back:
            inflow[k] += visits[i] * p
        new = [0.0] * n
        seeking = 1.0  # lots looking for their next sampled step (the release first)
        for j in range(n):
            sampled, _, onward = odds[j]
            new[j] = inflow[j] + seeking * sampled
            seeking = seeking * (1.0 - sampled) + new[j] * onward
        grew = [abs(x - y) for x, y in zip(new, visits, strict=True)]
        visits = new
        if max(grew) < 1e-12 * max(1.0, max(visits)):
            return visits
    logger.warning("route %r has a rework loop that lots cannot leave", route.id)
    return [math.inf if g > 1e-6 else v for v, g in zip(visits, grew, strict=True)]


def route_moves(route: s.Route) -> dict[tuple[int, int], float]:
    """Return the expected tool-to-tool moves of one released lot between step indices.

    Keys are (from step index, to step index), 0-based; the release into the route and the
    exit from it are not moves between tools and are left out.
    """
    steps = route.steps
    n = len(steps)
    odds = [_step_odds(st) for st in steps]
    out: dict[tuple[int, int], float] = {}
    for i, v in enumerate(route_visits(route)):
        if v == 0:
            continue
        _, rework, onward = odds[i]
        rw = steps[i].rework
        if rw is not None and rework > 0 and 0 <= rw.to_step - 1 < n:
            key = (i, rw.to_step - 1)
            out[key] = out.get(key, 0.0) + _times(v, rework)
        left = _times(v, onward)
        j = i + 1
        while j < n and left > 0:
            sampled = odds[j][0]
            out[(i, j)] = out.get((i, j), 0.0) + left * sampled
            left *= 1.0 - sampled
            if left <= _NEGLIGIBLE * v:  # all of it arrived (inf: a loop lots never leave)
                break
            j += 1
    return out


def group_moves_per_day(
    spec: s.PlantSpec, rates: dict[str, float] | None = None
) -> dict[tuple[str, str], float]:
    """Return lot moves per day between tool groups, keyed (from group, to group).

    ``rates`` overrides the file's release rates (lots per second by product id), as in
    :func:`~factory_twin.model.capacity.capacity_table`.
    """
    per_s = release_rates(spec, rates)
    routes = {r.id: r for r in spec.routes}
    cache: dict[str, dict[tuple[int, int], float]] = {}
    out: dict[tuple[str, str], float] = {}
    for p in spec.products:
        rate = per_s.get(p.id, 0.0)
        route = routes.get(p.route)
        if route is None or rate == 0:
            continue
        if route.id not in cache:
            cache[route.id] = route_moves(route)
        for (i, j), m in cache[route.id].items():
            key = (route.steps[i].tool_group, route.steps[j].tool_group)
            out[key] = out.get(key, 0.0) + _times(rate * _DAY_S, m)
    return out


# --------------------------------------------------------------------------- the live model


@dataclass
class _Link:
    """One flow's state: the nearest destination of each source tool."""

    moves_per_day: float
    near_m: list[float]  # per tool of the source group, file order
    near_at: list[int]  # index in the destination group of that nearest tool
    mean_m: float = math.nan
    dirty: bool = True


@dataclass
class _Group:
    tools: list[str] = field(default_factory=list)
    pos: list[Point] = field(default_factory=list)
    order: list[int] = field(default_factory=list)  # each tool's place in the plant's file
    centre: Point = (math.nan, math.nan)


class FlowModel:
    """Flows of a plant, kept up to date while tools move, come and go (for live editing).

    Parameters
    ----------
    spec
        A validated plant.
    rates
        Release rates (lots per second by product) replacing the file's.
    distance_fn
        Distance between two floor points; rectilinear by default. A track-graph distance
        (an OHT loop) plugs in here.

    Notes
    -----
    After any sequence of edits, :meth:`table` equals :func:`flow_table` of the plant with
    the same edits (a tool added goes after all others in file order, as a scenario's
    ``add_tool`` puts it). The moves per day come from the routes and release rates and do
    not change with edits; a group that loses its last tool loses its flows (such a plant
    does not validate) and gets them back with its next tool.

    Examples
    --------
    >>> fm = FlowModel(spec)                                    # doctest: +SKIP
    >>> fm.move_tool("ETCH-01", (40.0, 12.5))                   # doctest: +SKIP
    >>> fm.table().total_distance_m_per_day                     # doctest: +SKIP
    """

    def __init__(
        self,
        spec: s.PlantSpec,
        rates: dict[str, float] | None = None,
        *,
        distance_fn: DistanceFn = manhattan_m,
    ) -> None:
        self._dist = distance_fn
        self._transport = spec.transport
        self._groups: dict[str, _Group] = {}
        self._where: dict[str, tuple[str, int]] = {}  # tool -> (group, index in group)
        for i, e in enumerate(spec.equipment):
            g = self._groups.setdefault(e.group, _Group())
            self._where[e.id] = (e.group, len(g.tools))
            g.tools.append(e.id)
            g.pos.append((float(e.position_m[0]), float(e.position_m[1])))
            g.order.append(i)
        self._next_order = len(spec.equipment)
        for g in self._groups.values():
            g.centre = _centre(g.pos)
        self._moves = {k: m for k, m in group_moves_per_day(spec, rates).items() if m != 0}
        self._links: dict[tuple[str, str], _Link] = {}
        self._to: dict[str, list[str]] = {}  # group -> groups it sends to
        self._from: dict[str, list[str]] = {}  # group -> groups it receives from
        for a, b in self._moves:
            if a in self._groups and b in self._groups:
                self._link(a, b)

    def _link(self, a: str, b: str) -> None:
        dst = self._groups[b].pos
        near = [nearest_destination(p, dst, self._dist) for p in self._groups[a].pos]
        self._links[(a, b)] = _Link(
            self._moves[(a, b)], [d for _, d in near], [k for k, _ in near]
        )
        self._to.setdefault(a, []).append(b)
        self._from.setdefault(b, []).append(a)

    def _unlink(self, a: str, b: str) -> None:
        del self._links[(a, b)]
        self._to[a].remove(b)
        self._from[b].remove(a)

    @property
    def tools(self) -> list[str]:
        """Ids of the tools the model knows, file order within each group."""
        return [t for g in self._groups.values() for t in g.tools]

    def position(self, tool_id: str) -> Point:
        """Return where the model has ``tool_id`` now (KeyError if unknown)."""
        gid, k = self._where[tool_id]
        return self._groups[gid].pos[k]

    # ------------------------------------------------------------------ edits

    def move_tool(self, tool_id: str, position_m: tuple[float, float]) -> None:
        """Move one tool and update the flows of its group.

        Costs about (tools of the groups this group sends to) + (tools of the groups sending
        to it): the moved tool's own nearest destinations are searched afresh; for a tool
        sending to this group only the moved tool is compared with its current nearest one,
        unless that was the moved tool and it moved away.

        Raises
        ------
        KeyError
            If the plant has no tool ``tool_id``.
        """
        gid, k = self._where[tool_id]
        g = self._groups[gid]
        old = g.pos[k]
        new = (float(position_m[0]), float(position_m[1]))
        if new == old:
            return
        g.pos[k] = new
        g.centre = _centre(g.pos)
        for b in self._to.get(gid, ()):
            link = self._links[(gid, b)]
            link.near_at[k], link.near_m[k] = nearest_destination(
                new, self._groups[b].pos, self._dist
            )
            link.dirty = True
        for a in self._from.get(gid, ()):
            self._update_receiving(a, gid, k, moved_away=True)

    def add_tool(self, eq: s.Equipment) -> None:
        """Add a tool (after all others in file order) and update the flows of its group.

        Raises
        ------
        ValueError
            If a tool ``eq.id`` is already there.
        """
        if eq.id in self._where:
            msg = f"tool {eq.id!r} is already on the floor"
            raise ValueError(msg)
        gid = eq.group
        pos = (float(eq.position_m[0]), float(eq.position_m[1]))
        order = self._next_order
        self._next_order += 1
        g = self._groups.get(gid)
        if g is None:  # the group's first tool: its flows begin
            g = self._groups[gid] = _Group([eq.id], [pos], [order], pos)
            self._where[eq.id] = (gid, 0)
            for a, b in self._moves:
                if gid in (a, b) and a in self._groups and b in self._groups:
                    self._link(a, b)
            return
        k = len(g.tools)  # after every tool of the group in file order
        g.tools.append(eq.id)
        g.pos.append(pos)
        g.order.append(order)
        g.centre = _centre(g.pos)
        self._where[eq.id] = (gid, k)
        for b in self._to.get(gid, ()):
            link = self._links[(gid, b)]
            at, d = nearest_destination(pos, self._groups[b].pos, self._dist)
            link.near_at.append(at)
            link.near_m.append(d)
            link.dirty = True
        for a in self._from.get(gid, ()):
            self._update_receiving(a, gid, k, moved_away=False)

    def remove_tool(self, tool_id: str) -> None:
        """Take a tool off the floor and update the flows of its group (KeyError if unknown)."""
        gid, k = self._where.pop(tool_id)
        g = self._groups[gid]
        if len(g.tools) == 1:  # the group's last tool: its flows stop
            for a, b in list(self._links):
                if gid in (a, b):
                    self._unlink(a, b)
            del self._groups[gid]
            return
        del g.tools[k], g.pos[k], g.order[k]
        for i in range(k, len(g.tools)):
            self._where[g.tools[i]] = (gid, i)
        g.centre = _centre(g.pos)
        for b in self._to.get(gid, ()):
            link = self._links[(gid, b)]
            del link.near_at[k], link.near_m[k]
            link.dirty = True
        for a in self._from.get(gid, ()):
            link = self._links[(a, gid)]
            dst = g.pos
            for i, p in enumerate(self._groups[a].pos):
                at = link.near_at[i]
                if at == k:  # its nearest tool left: search again
                    link.near_at[i], link.near_m[i] = nearest_destination(p, dst, self._dist)
                    link.dirty = True
                elif at > k:
                    link.near_at[i] = at - 1

    def _update_receiving(self, a: str, b: str, k: int, *, moved_away: bool) -> None:
        """Tool ``k`` of group ``b`` moved or came: refresh the nearest tool of b for a's tools.

        Only the changed tool is compared with each source tool's nearest one, unless that
        nearest one was the changed tool and it moved (then another may now be nearer).
        """
        link = self._links[(a, b)]
        src = self._groups[a].pos
        dst = self._groups[b].pos
        changed = dst[k]
        for i, p in enumerate(src):
            if a == b and i == k:
                continue  # the changed tool's own destinations are searched by the caller
            d = self._dist(p, changed)
            best = link.near_m[i]
            at = link.near_at[i]
            if d < best or (d == best and k < at):
                link.near_m[i], link.near_at[i] = d, k
            elif moved_away and at == k:
                link.near_at[i], link.near_m[i] = nearest_destination(p, dst, self._dist)
            else:
                continue
            link.dirty = True

    # ------------------------------------------------------------------ reading

    def table(self) -> FlowTable:
        """Return the flows on the current layout."""
        flows = []
        for (a, b), link in self._links.items():
            if link.dirty:
                link.mean_m = math.fsum(link.near_m) / len(link.near_m)
                link.dirty = False
            flows.append(
                Flow(
                    src=a,
                    dst=b,
                    moves_per_day=link.moves_per_day,
                    distance_m=link.mean_m,
                    move_time_s=expected_move_time_s(self._transport, link.mean_m),
                )
            )
        flows.sort(key=lambda f: (-f.moves_per_day, f.src, f.dst))
        # groups in the order their first tool comes in the file, as PlantSpec.groups()
        groups = sorted(self._groups.items(), key=lambda kv: kv[1].order[0])
        return FlowTable(
            flows=flows,
            total_moves_per_day=math.fsum(f.moves_per_day for f in flows),
            total_distance_m_per_day=math.fsum(f.distance_m_per_day for f in flows),
            group_centres={gid: g.centre for gid, g in groups},
            total_transport_s_per_day=math.fsum(
                _times(f.moves_per_day, f.move_time_s) for f in flows
            ),
        )


def _centre(points: Sequence[Point]) -> Point:
    n = len(points)
    return (math.fsum(p[0] for p in points) / n, math.fsum(p[1] for p in points) / n)


def flow_table(
    spec: s.PlantSpec,
    rates: dict[str, float] | None = None,
    *,
    distance_fn: DistanceFn = manhattan_m,
) -> FlowTable:
    """Return the from-to flows of ``spec`` on its layout.

    Parameters
    ----------
    spec
        A validated plant.
    rates
        Release rates (lots per second by product id) replacing the file's.
    distance_fn
        Distance between two floor points (rectilinear by default).

    Returns
    -------
    FlowTable
        Moves per day, distance and transport time per move of every flow.
    """
    return FlowModel(spec, rates, distance_fn=distance_fn).table()
