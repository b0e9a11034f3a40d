"""The state of the compiled OHT fleet: the layout of its arrays and its cache of paths.

:mod:`factory_twin.sim.oht_core` runs the fleet on two flat arrays, ``I`` (int64) and ``F``
(float64), so that a call from Python passes a few arguments only (each array argument costs a
fraction of a microsecond to unpack): a header of counters and the offsets of named segments
(``O_*``), then the segments, then a cache of packed paths, their kinematic profiles and rows
of travel times (an open-addressing table from node pair to place in two stores). This module
names the header slots and segments, builds the arrays (:func:`layout`), grows and fills the
cache (:func:`regrow`, :func:`add_path`, :func:`add_times`) and packs paths
(:func:`pack_path`). Per day section entries and move sums go to ``E``, which Python grows.

Compiled like the core (``@njit(cache=True, error_model="numpy")``).
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

DAY_S = 86_400.0
DEADLOCK_LOG = 100  # deadlocks recorded with their sections (all are counted)

# event kinds
EV_PIECE_END, EV_RETRY, EV_ADMIT, EV_LOADED, EV_DELIVERED = 0, 1, 2, 3, 4
# vehicle states
ST_IDLE, ST_EMPTY, ST_LOADED, ST_HANDLING = 0, 1, 2, 3
# what :func:`advance`, :func:`request` and :func:`assign` stopped at, in the low 3 bits of
# their result (the ids used above them): LIMIT, the next event is not before the limit;
# DELIVERED, a vehicle has set its lot down and a move waits for it (Python assigns it);
# PARKED, delivered and no move waits, so parked already; GROW, ``E`` needs a row for a later
# day; NEED_PATH, the path from ``I[H_NEEDA]`` to ``I[H_NEEDB]`` is not in the store yet;
# NEED_TIMES, nor are the times to ``I[H_NEEDA]``; QUEUED, no vehicle is idle; ASSIGNED.
LIMIT, DELIVERED, GROW, PARKED, NEED_PATH, NEED_TIMES, QUEUED, ASSIGNED = range(8)
CODE_BITS = 3
HIST_BIN_S = 5.0
HIST_BINS = 4_000
# columns of E after the sections' entries: the per-day sums of a move (moves, transport, wait
# for a vehicle, empty travel, loaded travel, blocked, busy, most moves pending), the histogram
# of the transport time, then the blocked seconds of moves per section
E_SUMS = 8

# header of I
(H_N, H_S, H_L, H_HCAP, H_HN, H_USED, H_BASE, H_DLN, H_MAXDAY, H_EXTV, H_NIDLE, H_PS, H_NPEND) = (
    range(13)
)  # H_NPEND: moves waiting for a vehicle (Python keeps it up to date)
# the cache of paths and times (after the segments, at the end of I and F): a hash table
# (H_TCAP slots, H_TN used) from ``a * nodes + b`` to the path's place in the stores, a row of
# times to each node's place, and the stores (I: packed paths, F: their profiles and the rows)
(H_NN, H_NEAREST, H_TKEY, H_TVI, H_TVF, H_TCAP, H_TN, H_SI, H_SIN, H_SF, H_SFN, H_NEEDA) = range(
    64, 76
)
H_NEEDB, H_TROW = 76, 77
H_DAY = 78  # the day of the last section entry (its end in F[F_DAYEND])
# offsets of the segments of I (the header slot holding each offset)
(
    O_VNODE,  # node each vehicle is at (last piece end)
    O_VSEC,  # section it holds a place in (-1: parked)
    O_VK,  # piece being driven (-1: not yet on the first)
    O_VPATH,  # offset in I of the current run's path (-1: none)
    O_VFIRST,  # first piece of the current kinematic profile
    O_VPSTART,  # first link (index in the path) of the current profile
    O_VPLAN_N,  # links in the current profile
    O_VWAITFOR,  # section it waits to enter (-1: none)
    O_VEXITP,  # 1: at the end of its section behind a vehicle that has not left
    O_VSTOPPED,  # 1: it stopped; the rest of the run starts from rest
    O_VSTATE,  # ST_*
    O_SCAP,  # places per section
    O_SQN,  # vehicles in each section
    O_SQ,  # each section's vehicles in entry order (S x N)
    O_SWN,  # vehicles waiting to enter each section
    O_SW,  # each section's waiters in order (S x N)
    O_HK,  # event queue: ids
    O_HE,  # event queue: kind * 2**32 + argument
    O_IDLE,  # idle vehicles in the order they became idle
    O_DLLEN,  # logged deadlocks: length of each chain
    O_DLSEC,  # logged deadlocks: their sections (DEADLOCK_LOG x S)
    O_VP,  # per vehicle two path slots (empty run, loaded run) of H_PS ints
) = range(16, 38)
# offsets of the segments of F
(
    O_VT0,  # start of the current kinematic profile
    O_VWAITSINCE,
    O_VRETRY,  # time of the retry last scheduled
    O_VBLOCKED,  # blocked time of the current move
    O_VTPICK,
    O_VTLOADED,
    O_VTDROP,
    O_VCUM,  # cumulative link end times of the current profile (N x L)
    O_SHEAD,  # headway per section
    O_SLAST,  # last exit per section
    O_HT,  # event queue: times
    O_LLEN,  # link lengths
    O_LVMAX,  # link speed limits
    O_DLT,  # logged deadlocks: times
    O_X,  # scratch for profiles (L + 1 each)
    O_CAP,
    O_U,
    O_SBLOCKED,  # blocked seconds of moves per section since the start (where they stood)
    O_VCUM0,  # per vehicle and path slot: the run's profile from its start (2 N x L)
    O_VTREQ,  # the current move's request time
    O_VTASSIGN,  # its assignment time
) = range(40, 61)
I_HEADER = 80
# header of F
F_HANDLING, F_ACC, F_DEC, F_EXTT, F_DAYEND = range(5)
F_HEADER = 8


def layout(
    n: int,
    capacity: list[int],
    headway: list[float],
    length: list[float],
    vmax: list[float],
    handling_s: float,
    accel: float,
    decel: float,
    start_nodes: list[int],
    nodes: int,
    nearest: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the state arrays ``(I, F)`` of a fleet of ``n`` vehicles parked at
    ``start_nodes`` on a network of ``nodes`` nodes, with an empty cache of paths
    (:func:`regrow` makes room in it)."""
    s, nl = len(capacity), len(length)
    ps = 2 + 3 * s + nl  # a path: pieces, links, sections, end nodes, end link indices, links
    hcap = 16 * n + 4 * s + 1024
    isegs = {
        O_VNODE: n, O_VSEC: n, O_VK: n, O_VPATH: n, O_VFIRST: n, O_VPSTART: n, O_VPLAN_N: n,
        O_VWAITFOR: n, O_VEXITP: n, O_VSTOPPED: n, O_VSTATE: n, O_SCAP: s, O_SQN: s,
        O_SQ: s * n, O_SWN: s, O_SW: s * n, O_HK: hcap, O_HE: hcap, O_IDLE: n, O_DLLEN:
        DEADLOCK_LOG, O_DLSEC: DEADLOCK_LOG * s, O_VP: 2 * n * ps,
    }  # fmt: skip
    fsegs = {
        O_VT0: n, O_VWAITSINCE: n, O_VRETRY: n, O_VBLOCKED: n, O_VTPICK: n, O_VTLOADED: n,
        O_VTDROP: n, O_VCUM: n * nl, O_SHEAD: s, O_SLAST: s, O_HT: hcap, O_LLEN: nl,
        O_LVMAX: nl, O_DLT: DEADLOCK_LOG, O_X: nl + 1, O_CAP: nl + 1, O_U: nl + 1,
        O_SBLOCKED: s, O_VCUM0: 2 * n * nl, O_VTREQ: n, O_VTASSIGN: n,
    }  # fmt: skip
    i_arr = np.zeros(I_HEADER + sum(isegs.values()), dtype=np.int64)
    f_arr = np.zeros(F_HEADER + sum(fsegs.values()), dtype=np.float64)
    for arr, segs, at in ((i_arr, isegs, I_HEADER), (f_arr, fsegs, F_HEADER)):
        for slot, size in segs.items():
            i_arr[slot] = at
            at += size
        assert at == len(arr)

    def iseg(slot: int, size: int) -> np.ndarray:
        return i_arr[i_arr[slot] : i_arr[slot] + size]

    def fseg(slot: int, size: int) -> np.ndarray:
        return f_arr[i_arr[slot] : i_arr[slot] + size]

    i_arr[[H_N, H_S, H_L, H_HCAP, H_PS]] = n, s, nl, hcap, ps
    i_arr[H_MAXDAY] = -1
    iseg(O_VNODE, n)[:] = start_nodes
    for slot in (O_VSEC, O_VK, O_VPATH, O_VWAITFOR):
        iseg(slot, n)[:] = -1
    iseg(O_SCAP, s)[:] = capacity
    iseg(O_IDLE, n)[:] = np.arange(n)
    i_arr[H_NIDLE] = n
    fseg(O_VRETRY, n)[:] = math.nan
    for slot in (O_VTPICK, O_VTLOADED, O_VTDROP):
        fseg(slot, n)[:] = math.nan
    fseg(O_SHEAD, s)[:] = headway
    fseg(O_SLAST, s)[:] = -math.inf
    fseg(O_LLEN, nl)[:] = length
    fseg(O_LVMAX, nl)[:] = vmax
    f_arr[[F_HANDLING, F_ACC, F_DEC]] = handling_s, accel, decel
    i_arr[H_NN], i_arr[H_NEAREST] = nodes, int(nearest)
    # the cache starts empty and small: a table of 1,024 slots, stores of 64 K values
    i_arr[[H_TKEY, H_TCAP, H_SI]] = len(i_arr), 0, len(i_arr)
    i_arr[H_SF] = len(f_arr)
    return regrow(i_arr, f_arr, 1024, 65_536, 65_536)


@njit(cache=True, error_model="numpy")
def regrow(
    i_old: np.ndarray, f_old: np.ndarray, tcap: int, icap: int, fcap: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(I, F)`` with the same state and a cache of ``tcap`` slots (a power of two)
    and stores of ``icap`` and ``fcap`` values, its contents kept (they hold offsets relative
    to their store, so they move as they are)."""
    i_fixed, f_fixed = i_old[H_TKEY], i_old[H_SF]
    nn = i_old[H_NN]
    i_arr = np.empty(i_fixed + 3 * tcap + nn + icap, dtype=np.int64)
    f_arr = np.empty(f_fixed + fcap, dtype=np.float64)
    i_arr[:i_fixed] = i_old[:i_fixed]
    f_arr[:f_fixed] = f_old[:f_fixed]
    i_arr[H_TKEY], i_arr[H_TVI], i_arr[H_TVF] = i_fixed, i_fixed + tcap, i_fixed + 2 * tcap
    i_arr[H_TROW] = i_fixed + 3 * tcap
    i_arr[H_SI] = i_fixed + 3 * tcap + nn
    i_arr[H_TCAP] = tcap
    i_arr[i_fixed : i_fixed + tcap] = -1
    old_cap = i_old[H_TCAP]
    i_arr[H_TN] = 0
    for j in range(old_cap):
        key = i_old[i_old[H_TKEY] + j]
        if key >= 0:
            _table_put(i_arr, key, i_old[i_old[H_TVI] + j], i_old[i_old[H_TVF] + j])
    o_row = i_arr[H_TROW]
    if old_cap:
        i_arr[o_row : o_row + nn] = i_old[i_old[H_TROW] : i_old[H_TROW] + nn]
    else:
        i_arr[o_row : o_row + nn] = -1
    used_i, used_f = i_old[H_SIN], i_old[H_SFN]
    i_arr[i_arr[H_SI] : i_arr[H_SI] + used_i] = i_old[i_old[H_SI] : i_old[H_SI] + used_i]
    f_arr[f_fixed : f_fixed + used_f] = f_old[f_fixed : f_fixed + used_f]
    return i_arr, f_arr


@njit(cache=True, error_model="numpy")
def clear_cache(i_arr: np.ndarray) -> None:
    """Forget every path and row of times (vehicles keep copies of the paths they drive)."""
    i_arr[i_arr[H_TKEY] : i_arr[H_TKEY] + i_arr[H_TCAP]] = -1
    i_arr[i_arr[H_TROW] : i_arr[H_TROW] + i_arr[H_NN]] = -1
    i_arr[H_TN] = 0
    i_arr[H_SIN] = 0
    i_arr[H_SFN] = 0


@njit(cache=True, inline="always", error_model="numpy")
def _slot(i_arr: np.ndarray, key: int) -> int:
    """The table slot of ``key``, or of the empty slot where it would go."""
    mask = i_arr[H_TCAP] - 1
    ok = i_arr[H_TKEY]
    j = (key * 2654435761) & mask
    while True:
        got = i_arr[ok + j]
        if got == key or got < 0:
            return j
        j = (j + 1) & mask


@njit(cache=True, inline="always", error_model="numpy")
def _table_put(i_arr: np.ndarray, key: int, vi: int, vf: int) -> None:
    j = _slot(i_arr, key)
    if i_arr[i_arr[H_TKEY] + j] < 0:
        i_arr[H_TN] += 1
    i_arr[i_arr[H_TKEY] + j] = key
    i_arr[i_arr[H_TVI] + j] = vi
    i_arr[i_arr[H_TVF] + j] = vf


@njit(cache=True, error_model="numpy")
def room(i_arr: np.ndarray, f_arr: np.ndarray, ints: int, floats: int) -> bool:
    """Whether the cache takes one more entry of ``ints`` and ``floats`` values."""
    return (
        2 * (i_arr[H_TN] + 1) <= i_arr[H_TCAP]
        and i_arr[H_SIN] + ints <= len(i_arr) - i_arr[H_SI]
        and i_arr[H_SFN] + floats <= len(f_arr) - i_arr[H_SF]
    )


@njit(cache=True, error_model="numpy")
def add_path(
    i_arr: np.ndarray, f_arr: np.ndarray, a: int, b: int, path: np.ndarray, cum: np.ndarray
) -> None:
    """Put the packed path from ``a`` to ``b`` and its profile in the cache (``room`` first)."""
    at_i, at_f = i_arr[H_SIN], i_arr[H_SFN]
    o_i, o_f = i_arr[H_SI] + at_i, i_arr[H_SF] + at_f
    for j in range(len(path)):
        i_arr[o_i + j] = path[j]
    for j in range(len(cum)):
        f_arr[o_f + j] = cum[j]
    i_arr[H_SIN] = at_i + len(path)
    i_arr[H_SFN] = at_f + len(cum)
    _table_put(i_arr, a * i_arr[H_NN] + b, at_i, at_f)


@njit(cache=True, error_model="numpy")
def add_times(i_arr: np.ndarray, f_arr: np.ndarray, b: int, times: np.ndarray) -> None:
    """Put every node's free-running time to node ``b`` in the cache (``room`` first)."""
    at_f = i_arr[H_SFN]
    o_f = i_arr[H_SF] + at_f
    for j in range(len(times)):
        f_arr[o_f + j] = times[j]
    i_arr[H_SFN] = at_f + len(times)
    i_arr[i_arr[H_TROW] + b] = at_f


def path_array(sections: list[int], ends: list[int], piece_links: list[list[int]]) -> np.ndarray:
    """Pack a run's pieces (section, end node, links of each) as the core reads a path."""
    npc = len(sections)
    links = [k for p in piece_links for k in p]
    out = np.empty(2 + 3 * npc + len(links), dtype=np.int64)
    out[0], out[1] = npc, len(links)
    out[2 : 2 + npc] = sections
    out[2 + npc : 2 + 2 * npc] = ends
    out[2 + 2 * npc : 2 + 3 * npc] = np.cumsum([len(p) for p in piece_links])
    out[2 + 3 * npc :] = links
    return out


@njit(cache=True, error_model="numpy")
def pack_path(
    pred: np.ndarray,
    a: int,
    b: int,
    adj_ptr: np.ndarray,
    adj_to: np.ndarray,
    adj_link: np.ndarray,
    section_of: np.ndarray,
    link_to: np.ndarray,
) -> np.ndarray:
    """The fastest path from node ``a`` to ``b`` packed as :func:`path_array` does.

    ``pred`` holds the predecessors of the fastest paths from ``a``
    (:meth:`RailGraph.predecessors`); ``adj_*`` the fastest link from each node to each of
    its neighbours (CSR). The same path as ``RailGraph.pieces(RailGraph.path_links(a, b))``.
    Empty if there is no path.
    """
    nn = len(pred)
    count = 1
    x = b
    while x != a:
        x = pred[x]
        count += 1
        if x < 0 or count > nn:
            return np.zeros(0, dtype=np.int64)
    nodes = np.empty(count, dtype=np.int64)
    x = b
    for j in range(count - 1, -1, -1):
        nodes[j] = x
        x = pred[x] if j > 0 else x
    nl = count - 1
    links = np.empty(nl, dtype=np.int64)
    npc = 0
    for j in range(nl):
        u, w = nodes[j], nodes[j + 1]
        k = -1
        for c in range(adj_ptr[u], adj_ptr[u + 1]):
            if adj_to[c] == w:
                k = adj_link[c]
                break
        links[j] = k
        if j == 0 or section_of[k] != section_of[links[j - 1]]:
            npc += 1
    out = np.empty(2 + 3 * npc + nl, dtype=np.int64)
    out[0], out[1] = npc, nl
    i = -1
    for j in range(nl):
        k = links[j]
        if j == 0 or section_of[k] != section_of[links[j - 1]]:
            i += 1
            out[2 + i] = section_of[k]
        out[2 + npc + i] = link_to[k]
        out[2 + 2 * npc + i] = j + 1
        out[2 + 3 * npc + j] = k
    return out


@njit(cache=True, inline="always", error_model="numpy")
def _cached(i_arr: np.ndarray, a: int, b: int) -> int:
    """The table slot of the path from ``a`` to ``b``, -1 if it is not cached."""
    j = _slot(i_arr, a * i_arr[H_NN] + b)
    return j if i_arr[i_arr[H_TKEY] + j] >= 0 else -1
