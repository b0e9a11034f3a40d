"""Carriers riding the OHT rails in the view: one path per (from, to) pair of tools.

A lot's :class:`~factory_twin.model.events.LotMove` says which tool it left, which it goes
to and when (``depart_s``, ``arrive_s``). On a plant with rails (its own, or rails
generated from its layout: :func:`factory_twin.model.amhs_layout.plant_rails`) the view
draws it the way an OHT carries it: hoisted up from the first tool's load port to the
vehicle at the rail, along the fastest rail path in time (:class:`~factory_twin.sim.
oht_graph.RailGraph`, the simulator's own routing) to the second tool's port, and lowered
onto that tool's load port. Each leg takes its share of the move's time: a hoist
``handling_s``, the rail links their kinematic run time (:func:`~factory_twin.sim.
oht_graph.profile_times`), all scaled to the move's own duration.

The paths of all pairs seen are kept in one set of arrays (points and the share of the
move's time at each point, offset by twice the path number so one sorted array holds them
all), so placing every carrier of a frame is one ``searchsorted`` and a few array
operations (:meth:`RailRoutes.positions`), whatever the number of carriers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import cast

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from factory_twin.model.amhs import Amhs
from factory_twin.model.amhs_layout import plant_rails, tool_ports
from factory_twin.model.equipment_models import LOAD_PORT_HEIGHT_M
from factory_twin.model.schema import PlantSpec
from factory_twin.sim.oht_graph import RailGraph, profile_array

OFFSET_SPEED_M_S = 0.5
"""Speed of the short step from the port to the rail node over it (when they differ)."""

QUEUE_PITCH_M = 0.6
"""Spacing of the lots waiting beyond a tool's load ports, on the floor in front of it."""


class RailRoutes:
    """Rail paths between the plant's tools, and the lots' places at them.

    Parameters
    ----------
    spec
        The plant.
    amhs
        The rails (default: the plant's own, else generated from its layout).
    """

    def __init__(self, spec: PlantSpec, amhs: Amhs | None = None) -> None:
        self.spec = spec
        self.amhs = amhs if amhs is not None else plant_rails(spec)
        self.graph = RailGraph(self.amhs)
        self.carrier_z = float(spec.transport.carrier_height_m)
        self.port_z = min(LOAD_PORT_HEIGHT_M, self.carrier_z)
        self.hoist_s = max(float(self.amhs.handling_s), 1.0)
        ni = self.graph.node_index
        self.port_node: dict[str, int] = {
            p.tool: ni[p.node] for p in self.amhs.ports if p.node in ni
        }
        self.ports = {p.tool: p for p in tool_ports(spec)}
        self._pid: dict[tuple[str, str], int] = {}
        self._chunks: list[tuple[np.ndarray, np.ndarray]] = []
        self._pts = np.zeros((0, 3))
        self._key = np.zeros(0)
        self._start = np.zeros(0, dtype=np.int64)
        self._end = np.zeros(0, dtype=np.int64)
        self._dirty = False
        # the graph's shortest-path matrix (free-running time of the fastest link between two
        # nodes), built as RailGraph builds it, so both find the same paths
        g = self.graph
        keys = list(g.link_of.values())
        n = len(g.node_ids)
        self._csr = csr_matrix(
            ([g.free_s[k] for k in keys], ([g.frm[k] for k in keys], [g.to[k] for k in keys])),
            shape=(n, n),
        )
        self._pred: dict[int, list[int]] = {}
        self._to = np.asarray(g.to, dtype=np.int64)
        self._length = np.asarray(g.length, dtype=float)
        self._vmax = np.asarray(g.vmax, dtype=float)

    def __len__(self) -> int:
        return len(self._chunks)

    def serves(self, a: str | None, b: str | None) -> bool:
        """Whether a move from ``a`` to ``b`` rides the rails (two tools with ports)."""
        return a is not None and b is not None and a in self.port_node and b in self.port_node

    def path_id(self, a: str, b: str) -> int:
        """Return the number of the path from tool ``a`` to tool ``b`` (built once)."""
        key = (a, b)
        got = self._pid.get(key)
        if got is None:
            got = self._pid[key] = len(self._chunks)
            self._chunks.append(self._path(a, b))
            self._dirty = True
        return got

    def path_points(self, a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
        """Return (points (k, 3), share of the move's time at each point) of a path."""
        return self._chunks[self.path_id(a, b)]

    def rail_links(self, a: str, b: str) -> list[int]:
        """The rail links (indices into the graph) a carrier from ``a`` to ``b`` rides.

        The fastest path in time, as :meth:`RailGraph.path_links` finds it (the same
        shortest-path tree per source), walked on a plain list of predecessors: paths over a
        big fab's loops are hundreds of links long.
        """
        s, e = self.port_node[a], self.port_node[b]
        if s == e:
            return []
        pred = self._pred.get(s)
        if pred is None:
            _, p = dijkstra(self._csr, indices=s, return_predecessors=True)
            pred = self._pred[s] = p.tolist()
        nodes = [e]
        while nodes[-1] != s:
            q = pred[nodes[-1]]
            if q < 0:
                g = self.graph
                msg = f"no rail path from {g.node_ids[s]} to {g.node_ids[e]}"
                raise ValueError(msg)
            nodes.append(q)
        nodes.reverse()
        link_of = self.graph.link_of
        return [link_of[(nodes[i], nodes[i + 1])] for i in range(len(nodes) - 1)]

    def _path(self, a: str, b: str) -> tuple[np.ndarray, np.ndarray]:
        g = self.graph
        pa, pb = np.array(self.ports[a].at), np.array(self.ports[b].at)
        zc, zp = self.carrier_z, self.port_z
        if a == b:
            pts = np.array([[pa[0], pa[1], zp], [pa[0], pa[1], zp]])
            return pts, np.array([0.0, 1.0])
        try:
            links = np.asarray(self.rail_links(a, b), dtype=np.int64)
        except ValueError:  # a plant file's rails with no way from a to b: straight across
            pts = np.array([[*pa, zp], [*pa, zc], [*pb, zc], [*pb, zp]])
            d = float(np.linalg.norm(pb - pa)) / g.vehicle.max_speed_m_s
            t = np.cumsum([0.0, self.hoist_s, d, self.hoist_s])
            return pts, t / t[-1]
        na, nb = g.node_xy[self.port_node[a]], g.node_xy[self.port_node[b]]
        xy = np.vstack([pa, pa, na, g.node_xy[self._to[links]], pb, pb])
        v = g.vehicle
        lengths = cast("Sequence[float]", self._length[links])
        vmax = cast("Sequence[float]", self._vmax[links])
        run = profile_array(lengths, vmax, v.accel_m_s2, v.decel_m_s2)
        step_a = float(np.linalg.norm(na - pa)) / OFFSET_SPEED_M_S
        step_b = float(np.linalg.norm(pb - nb)) / OFFSET_SPEED_M_S
        dur = np.concatenate([[self.hoist_s, step_a], run, [step_b, self.hoist_s]])
        pts = np.column_stack([xy, np.full(len(xy), zc)])
        pts[0, 2] = pts[-1, 2] = zp
        t = np.concatenate([[0.0], np.cumsum(dur)])
        return pts, t / t[-1]

    def _pack(self) -> None:
        if not self._dirty:
            return
        self._pts = np.concatenate([c[0] for c in self._chunks])
        self._key = np.concatenate([2.0 * i + c[1] for i, c in enumerate(self._chunks)])
        sizes = np.array([len(c[1]) for c in self._chunks], dtype=np.int64)
        self._end = np.cumsum(sizes) - 1
        self._start = self._end - sizes + 1
        self._dirty = False

    def positions(self, pid: np.ndarray, share: np.ndarray) -> np.ndarray:
        """Return the points (n, 3) at ``share`` (0..1) of the move's time on paths ``pid``."""
        self._pack()
        pid = np.asarray(pid, dtype=np.int64)
        f = np.clip(np.asarray(share, dtype=float), 0.0, 1.0)
        g = 2.0 * pid + f
        j = np.searchsorted(self._key, g, side="right") - 1
        j = np.clip(j, self._start[pid], self._end[pid] - 1)
        k0, k1 = self._key[j], self._key[j + 1]
        u = np.clip((g - k0) / np.maximum(k1 - k0, 1e-12), 0.0, 1.0)
        p0, p1 = self._pts[j], self._pts[j + 1]
        return p0 + (p1 - p0) * u[:, None]

    def rest(self, tool: str, j: int) -> tuple[float, float, float]:
        """Where the ``j``-th lot at ``tool`` waits: on its load ports, then queued in front."""
        p = self.ports[tool]
        slots = p.slots or (p.at,)
        if j < len(slots):
            x, y = slots[j]
            return (x, y, self.port_z)
        q = j - len(slots)
        fx, fy = p.facing
        n = math.hypot(fx, fy) or 1.0
        fx, fy = fx / n, fy / n
        out = 1.0 + QUEUE_PITCH_M * (q // 4)
        side = QUEUE_PITCH_M * ((q % 4) - 1.5)
        return (p.at[0] + fx * out - fy * side, p.at[1] + fy * out + fx * side, 0.0)
