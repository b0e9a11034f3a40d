"""The OHT rail graph for simulation: sections, time-weighted shortest paths, kinematics.

The rail links of a plant's ``amhs`` section (:mod:`factory_twin.model.amhs`) are joined into
*sections*: maximal chains of links between junctions (a node where rails merge or diverge).
A section holds as many vehicles as fit its length at the minimum pitch (vehicle length plus
minimum gap), at least one. Vehicles are routed by the shortest path in time (each link's length
over its speed limit, the vehicle's top speed included), computed with
:func:`scipy.sparse.csgraph.dijkstra` once per source (or, for the nearest idle vehicle, once
per target on the reversed graph) and cached.

A vehicle's run over a path starts and ends at rest: :func:`profile_times` gives the exact time
it spends on each link with constant acceleration and deceleration under the links' speed
limits (a vehicle enters a slower link already at that link's limit).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import dijkstra

from factory_twin.model.amhs import Amhs


def profile_times(
    lengths: Sequence[float], vmax: Sequence[float], accel: float, decel: float
) -> list[float]:
    """Return the time a vehicle spends on each link of a run from rest to rest, seconds.

    The speed at each joint is the highest a vehicle can reach there: no more than either
    adjacent link's limit, reachable by accelerating from the start and able to brake to a stop
    at the end. On each link it accelerates, cruises at the link's limit if it can, and
    brakes, all at the given rates.

    Examples
    --------
    One 10 m link at 5 m/s, 2 m/s^2 up and 3.5 m/s^2 down: 2.5 s accelerating over 6.25 m,
    5/3.5 s braking over 3.57 m, the rest at 5 m/s.

    >>> round(profile_times([10.0], [5.0], 2.0, 3.5)[0], 6)
    3.964286
    """
    return profile_array(lengths, vmax, accel, decel).tolist()


def profile_array(
    lengths: Sequence[float], vmax: Sequence[float], accel: float, decel: float
) -> np.ndarray:
    """:func:`profile_times` as an array, computed with whole-array operations.

    In squared speeds ``u = v^2`` the forward pass ``u[k+1] = min(c[k+1], u[k] + 2 a L[k])``
    (``c`` the joints' caps) unrolls to ``u[k] = 2 a X[k] + min over j <= k of (c[j] - 2 a
    X[j])`` with ``X`` the distance from the start: a running minimum. The backward pass
    (braking) is the mirror image, so a path of any length costs a few array operations.
    """
    n = len(lengths)
    if n == 0:
        return np.zeros(0)
    ln = np.asarray(lengths, dtype=float)
    vm = np.asarray(vmax, dtype=float)
    cap = np.zeros(n + 1)
    if n > 1:
        cap[1:n] = np.minimum(vm[:-1], vm[1:]) ** 2
    x = np.zeros(n + 1)
    np.cumsum(ln, out=x[1:])
    fa, fd = 2.0 * accel * x, 2.0 * decel * x
    u = np.minimum(cap, fa + np.minimum.accumulate(cap - fa))  # reachable by accelerating
    u = np.minimum(u, np.minimum.accumulate((u + fd)[::-1])[::-1] - fd)  # able to brake
    v = np.sqrt(np.maximum(u, 0.0))
    v0, v1 = v[:-1], v[1:]
    vp2 = (2.0 * accel * decel * ln + decel * v0 * v0 + accel * v1 * v1) / (accel + decel)
    vp = np.maximum(np.maximum(np.minimum(vm, np.sqrt(np.maximum(vp2, 0.0))), v0), v1)
    da = (vp * vp - v0 * v0) / (2.0 * accel)
    dd = (vp * vp - v1 * v1) / (2.0 * decel)
    cruise = np.maximum(0.0, ln - da - dd)
    with np.errstate(divide="ignore", invalid="ignore"):
        run = np.where(vp > 0, cruise / vp, 0.0)
    return (vp - v0) / accel + (vp - v1) / decel + run


def link_time(
    length: float, vmax: float, v0: float, v1: float, accel: float, decel: float
) -> float:
    """Return the time over one link entered at ``v0`` and left at ``v1`` (both feasible)."""
    vp2 = (2.0 * accel * decel * length + decel * v0 * v0 + accel * v1 * v1) / (accel + decel)
    vp = min(vmax, math.sqrt(max(vp2, 0.0)))
    vp = max(vp, v0, v1)
    da = (vp * vp - v0 * v0) / (2.0 * accel)
    dd = (vp * vp - v1 * v1) / (2.0 * decel)
    cruise = max(0.0, length - da - dd)
    return (vp - v0) / accel + (vp - v1) / decel + (cruise / vp if vp > 0 else 0.0)


@dataclass(slots=True)
class Piece:
    """The part of a path inside one section: its links, the section's index, its end node."""

    section: int
    links: list[int]
    end: int = -1


class RailGraph:
    """Nodes, links and sections of a rail network, with cached shortest paths."""

    def __init__(self, amhs: Amhs) -> None:
        v = amhs.vehicle
        self.vehicle = v
        self.node_ids = [n.id for n in amhs.nodes]
        self.node_index = {n: i for i, n in enumerate(self.node_ids)}
        self.node_xy = np.array([n.at_m for n in amhs.nodes], dtype=float).reshape(-1, 2)
        ni = self.node_index
        best: dict[tuple[int, int], int] = {}
        self.link_ids = [lk.id for lk in amhs.links]
        self.frm = [ni[lk.from_] for lk in amhs.links]
        self.to = [ni[lk.to] for lk in amhs.links]
        self.length = [lk.length_m for lk in amhs.links]
        self.vmax = [min(lk.max_speed_m_s, v.max_speed_m_s) for lk in amhs.links]
        self.free_s = [ln / vm for ln, vm in zip(self.length, self.vmax, strict=True)]
        for k, (a, b) in enumerate(zip(self.frm, self.to, strict=True)):
            if (a, b) not in best or self.free_s[k] < self.free_s[best[(a, b)]]:
                best[(a, b)] = k
        self.link_of = best  # the fastest link between two nodes
        n = len(self.node_ids)
        keys = list(best.values())
        w = [self.free_s[k] for k in keys]
        self._fwd = csr_matrix(
            (w, ([self.frm[k] for k in keys], [self.to[k] for k in keys])), shape=(n, n)
        )
        self._rev = self._fwd.T.tocsr()
        self._pred: dict[int, np.ndarray] = {}
        self._to: dict[int, np.ndarray] = {}
        self._paths: dict[tuple[int, int], list[int]] = {}
        self._build_sections()

    # ----------------------------------------------------------------- sections

    def _build_sections(self) -> None:
        n = len(self.node_ids)
        outs: list[list[int]] = [[] for _ in range(n)]
        ins = [0] * n
        for k in range(len(self.frm)):
            outs[self.frm[k]].append(k)
            ins[self.to[k]] += 1
        junction = [ins[i] != 1 or len(outs[i]) != 1 for i in range(n)]
        self.section_of = [-1] * len(self.frm)
        self.sections: list[list[int]] = []
        for start in range(n):
            if junction[start]:
                for k in outs[start]:
                    self._chain(k, outs, junction)
        for k in range(len(self.frm)):  # rings without any junction
            if self.section_of[k] < 0:
                junction[self.frm[k]] = True
                self._chain(k, outs, junction)
        pitch = self.vehicle.pitch_m
        self.section_length = [math.fsum(self.length[k] for k in s) for s in self.sections]
        self.capacity = [max(1, int(ln // pitch)) for ln in self.section_length]
        self.section_name = [self.link_ids[s[0]] for s in self.sections]

    def _chain(self, k: int, outs: list[list[int]], junction: list[bool]) -> None:
        sid = len(self.sections)
        links = []
        while True:
            self.section_of[k] = sid
            links.append(k)
            nxt = self.to[k]
            if junction[nxt] or self.section_of[outs[nxt][0]] >= 0:
                break
            k = outs[nxt][0]
        self.sections.append(links)

    # ----------------------------------------------------------------- paths

    def path_links(self, a: int, b: int) -> list[int]:
        """Return the links of the fastest path from node ``a`` to node ``b`` ([] if a == b)."""
        if a == b:
            return []
        key = (a, b)
        got = self._paths.get(key)
        if got is not None:
            return got
        pred = self.predecessors(a)
        nodes = [b]
        while nodes[-1] != a:
            p = int(pred[nodes[-1]])
            if p < 0:
                msg = f"no rail path from {self.node_ids[a]} to {self.node_ids[b]}"
                raise ValueError(msg)
            nodes.append(p)
        nodes.reverse()
        links = [self.link_of[(nodes[i], nodes[i + 1])] for i in range(len(nodes) - 1)]
        if len(self._paths) < 200_000:
            self._paths[key] = links
        return links

    def predecessors(self, a: int) -> np.ndarray:
        """Return each node's predecessor on the fastest paths from node ``a`` (cached)."""
        pred = self._pred.get(a)
        if pred is None:
            _, pred = dijkstra(self._fwd, indices=a, return_predecessors=True)
            pred = pred.astype(np.int32)
            self._pred[a] = pred
        return pred

    def time_to(self, b: int) -> np.ndarray:
        """Return every node's free-running time to node ``b`` (cached per target)."""
        got = self._to.get(b)
        if got is None:
            got = dijkstra(self._rev, indices=b).astype(np.float32)
            self._to[b] = got
        return got

    def pieces(self, links: list[int]) -> list[Piece]:
        """Split a path's links by section."""
        out: list[Piece] = []
        for k in links:
            s = self.section_of[k]
            if out and out[-1].section == s:
                out[-1].links.append(k)
            else:
                out.append(Piece(s, [k]))
        for p in out:
            p.end = self.to[p.links[-1]]
        return out

    def run_time_s(self, links: list[int]) -> float:
        """Return the kinematic time of a run from rest to rest over ``links``."""
        v = self.vehicle
        return math.fsum(
            profile_times(
                [self.length[k] for k in links],
                [self.vmax[k] for k in links],
                v.accel_m_s2,
                v.decel_m_s2,
            )
        )
