"""The state of the compiled OHT fleet: the layout of its arrays and its cache of paths.

:mod:`factory_twin.sim.oht_core` runs the fleet on two flat arrays, ``I`` (int64) and ``F``
(float64), so that a call from Python passes a few arguments only (each array argument costs a
fraction of a microsecond to unpack): a header of counters and the offsets of named segments
(``O_*``), then the segments, then a cache of packed paths, their kinematic profiles and rows
of travel times (an open-addressing table from node pair to a path's place in the stores).
Vehicles drive the cached paths where they are: the stores keep their offsets when the arrays
grow, and :func:`clear_cache` copies the paths vehicles point at into their own slots first.
This module names the header slots and segments, builds the arrays (:func:`layout`), grows,
empties and fills the cache (:func:`regrow`, :func:`clear_cache`, :func:`add_times`;
:func:`factory_twin.sim.oht_core.cache_path` puts paths in) and packs paths (:func:`pack_path`).
Per day section entries and move sums go to ``E``, which Python grows.

Compiled with ``@njit(cache=True, error_model="numpy")`` (the functions that make arrays need
numba's runtime, which the core leaves out).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

DAY_S = 86_400.0
DEADLOCK_LOG = 100  # deadlocks recorded with their sections (all are counted)

# event kinds
EV_PIECE_END, EV_RETRY, EV_ADMIT, EV_LOADED, EV_DELIVERED = 0, 1, 2, 3, 4
# vehicle states
ST_IDLE, ST_EMPTY, ST_LOADED, ST_HANDLING = 0, 1, 2, 3
# what :func:`advance`, :func:`request` and :func:`assign` return: LIMIT, the next event is not before the limit;
# DELIVERED, a vehicle has set its lot down and a move waits for it (Python assigns it);
# PARKED, delivered and no move waits, so parked already; GROW, ``E`` needs a row for a later
# day; NEED_PATH, the path from ``I[H_NEEDA]`` to ``I[H_NEEDB]`` is not in the store yet;
# NEED_TIMES, nor are the times to ``I[H_NEEDA]``; QUEUED, no vehicle is idle; ASSIGNED.
LIMIT, DELIVERED, GROW, PARKED, NEED_PATH, NEED_TIMES, QUEUED, ASSIGNED = range(8)
HIST_BIN_S = 5.0
HIST_BINS = 4_000
# columns of E after the sections' entries: the per-day sums of a move (moves, transport, wait
# for a vehicle, empty travel, loaded travel, blocked, busy, most moves pending), the histogram
# of the transport time, then the blocked seconds of moves per section
E_SUMS = 8

# A packed path: pieces, links, a word per piece (its section, end node and the number of links
# up to its end, PIECE_BITS each: one read per piece on the way), then its links. Its profile in
# F: the end time of each piece from rest, then the cumulative end time of each link.
PIECE_BITS = 21
PIECE_MASK = (1 << PIECE_BITS) - 1
# header of I
# H_SEQ: events scheduled so far (the next event's key); H_NPEND: moves waiting for a vehicle
# (Python keeps it up to date)
(H_N, H_S, H_L, H_HCAP, H_HN, H_SEQ, H_DLN, H_MAXDAY, H_EXTV, H_NIDLE, H_PS, H_NPEND) = (
    0,
    1,
    2,
    3,
    4,
    5,
    7,
    8,
    9,
    10,
    11,
    12,
)
# H_STALE: 1 while :func:`advance` runs the handler of the queue's first event, still at the
# top (the handler's first new event replaces it, with one sift down instead of a pop and a push)
H_STALE = 13
H_LOWH, H_LOWN = 6, 14  # the ring of O_LOWT: its first place, how many
# the cache of paths and times (after the segments, at the end of I and F): a row of times to
# each node's place (H_TROW, where I's segments end), the stores (I from H_SI: packed paths,
# each after the offset in F of its profile; F from H_SF: the profiles and the rows) and a hash
# table (H_TCAP slots of two ints at H_TAB, H_TN used) from ``a * nodes + b`` to the path's
# offset in I. The stores never move when the cache grows, so vehicles drive the cached paths
# where they are
(H_NN, H_NEAREST, H_TAB, H_TCAP, H_TN, H_SI, H_SIN, H_SF, H_SFN, H_NEEDA, H_NEEDB, H_TROW) = range(
    64, 76
)
H_DAY = 78  # the day of the last section entry (its end in F[F_DAYEND])
H_EMPTY = 79  # holds 0: the path offset of an empty run (no pieces)
# offsets of the segments of I (the header slot holding each offset)
(
    O_VNODE,  # node each vehicle is at (last piece end)
    O_VSEC,  # section it holds a place in (-1: parked)
    O_VK,  # piece being driven (-1: not yet on the first)
    O_VPATH,  # offset in I of the current run's path (-1: none)
    O_VCUMB,  # offset in F of the current profile's piece end times (by piece of the path)
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
    O_VP,  # per vehicle two path slots (empty run, loaded run) of H_PS ints: the profile's
    # offset in F, then the path (a copy of a cached path when the cache was emptied; its
    # profile goes to O_VCUM0)
    O_VSLOTP,  # per vehicle the offsets in I of its two runs' paths (cached or in its slots)
) = range(16, 39)
# offsets of the segments of F
(
    O_VT0,  # start of the current kinematic profile
    O_VWAITSINCE,
    O_VRETRY,  # time of the retry last scheduled
    O_VBLOCKED,  # blocked time of the current move
    O_VTPICK,
    O_VTLOADED,
    O_VTDROP,
    O_VCUM,  # cumulative link end times of a profile from a stop on the way (N x L)
    O_VPCUM,  # its piece end times (N x (S + 1))
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
    O_VCUM0,  # per vehicle and path slot: the copy of a cached profile (2 N x (S + 1 + L))
    O_VTREQ,  # the current move's request time
    O_VTASSIGN,  # its assignment time
    O_LOWT,  # the times at which the vehicles lowering a lot set it down, in that order (a ring
    # of N from I[H_LOWH], I[H_LOWN] of them: one hoisting time after each arrival, so first
    # come, first done)
) = range(40, 63)
I_HEADER = 80
# header of F
# F_DUET: the time of the queue's first event (infinity: none); F_SYNC: every event before
# it has run; F_BOUND: no vehicle sets a lot down before it (see oht_core._due)
F_HANDLING, F_ACC, F_DEC, F_EXTT, F_DAYEND, F_DUET, F_SYNC, F_BOUND = range(8)
F_HEADER = 8
#: the cache's first size: table slots, ints and floats in its stores
CACHE_START = (1024, 65_536, 65_536)


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
    if max(s, nodes, nl) > PIECE_MASK:
        msg = (
            f"OHT rails too large for the compiled fleet: {s} sections, {nodes} nodes, {nl} links"
        )
        raise ValueError(msg)
    # a path slot: the profile's offset, then the path (a fastest path may pass a section twice
    # at most: start and end in it)
    ps = 3 + (s + 1) + nl
    hcap = 16 * n + 4 * s + 1024
    isegs = {
        O_VNODE: n, O_VSEC: n, O_VK: n, O_VPATH: n, O_VCUMB: n, O_VPSTART: n, O_VPLAN_N: n,
        O_VWAITFOR: n, O_VEXITP: n, O_VSTOPPED: n, O_VSTATE: n, O_SCAP: s, O_SQN: s,
        O_SQ: s * n, O_SWN: s, O_SW: s * n, O_HK: hcap, O_HE: hcap, O_IDLE: n, O_DLLEN:
        DEADLOCK_LOG, O_DLSEC: DEADLOCK_LOG * s, O_VP: 2 * n * ps, O_VSLOTP: 2 * n,
    }  # fmt: skip
    fsegs = {
        O_VT0: n, O_VWAITSINCE: n, O_VRETRY: n, O_VBLOCKED: n, O_VTPICK: n, O_VTLOADED: n,
        O_VTDROP: n, O_VCUM: n * nl, O_VPCUM: n * (s + 1), O_SHEAD: s, O_SLAST: s,
        O_HT: hcap, O_LLEN: nl, O_LVMAX: nl, O_DLT: DEADLOCK_LOG, O_X: nl + 1, O_CAP: nl + 1,
        O_U: nl + 1,
        O_SBLOCKED: s, O_VCUM0: 2 * n * (s + 1 + nl), O_VTREQ: n, O_VTASSIGN: n,
        O_LOWT: n,
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
    iseg(O_VSLOTP, 2 * n)[:] = H_EMPTY
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
    f_arr[[F_HANDLING, F_ACC, F_DEC, F_DUET, F_BOUND]] = (
        handling_s,
        accel,
        decel,
        math.inf,
        math.inf,
    )
    i_arr[H_NN], i_arr[H_NEAREST] = nodes, int(nearest)
    # the cache starts empty and small (CACHE_START)
    i_arr[[H_TROW, H_TCAP, H_TAB]] = len(i_arr), 0, -1
    i_arr[H_SF] = len(f_arr)
    return regrow(i_arr, f_arr, *CACHE_START)


def regrow(
    i_old: np.ndarray, f_old: np.ndarray, tcap: int, icap: int, fcap: int
) -> tuple[np.ndarray, np.ndarray]:
    """Return ``(I, F)`` with the same state and a cache of ``tcap`` slots (a power of two)
    and stores of ``icap`` and ``fcap`` values, its contents kept where they were (the stores
    start at the same offsets: the paths and profiles vehicles drive stay valid).

    The arrays are numpy's own: numpy asks Linux for huge pages (2 MiB) for arrays this
    large, so the core's reads across tens of megabytes of paths and travel times do not
    each miss the processor's table of pages (an array made in compiled code gets 4 KiB
    pages: the fleet alone ran 7 % slower on them, paired in one process).
    """
    i_arr = np.empty(int(i_old[H_TROW] + i_old[H_NN]) + icap + 2 * tcap, dtype=np.int64)
    f_arr = np.empty(int(i_old[H_SF]) + fcap, dtype=np.float64)
    _refill(i_old, f_old, i_arr, f_arr, tcap, icap)
    return i_arr, f_arr


@njit(cache=True, error_model="numpy")
def _refill(
    i_old: np.ndarray,
    f_old: np.ndarray,
    i_arr: np.ndarray,
    f_arr: np.ndarray,
    tcap: int,
    icap: int,
) -> None:
    """Copy the state and the cache of ``(i_old, f_old)`` into the larger ``(i_arr, f_arr)``
    (see :func:`regrow`)."""
    i_fixed, f_fixed = i_old[H_TROW], i_old[H_SF]
    nn = i_old[H_NN]
    si = i_fixed + nn
    i_arr[:i_fixed] = i_old[:i_fixed]
    f_arr[:f_fixed] = f_old[:f_fixed]
    tab = si + icap
    i_arr[H_SI] = si
    i_arr[H_TAB] = tab
    i_arr[H_TCAP] = tcap
    i_arr[tab : tab + 2 * tcap] = -1
    old_cap, old_tab = i_old[H_TCAP], i_old[H_TAB]
    i_arr[H_TN] = 0
    for j in range(old_cap):
        key = i_old[old_tab + 2 * j]
        if key >= 0:
            _table_put(i_arr, key, i_old[old_tab + 2 * j + 1])
    if old_cap:
        i_arr[i_fixed : i_fixed + nn] = i_old[i_fixed : i_fixed + nn]
    else:
        i_arr[i_fixed : i_fixed + nn] = -1
    used_i, used_f = i_old[H_SIN], i_old[H_SFN]
    i_arr[si : si + used_i] = i_old[si : si + used_i]
    f_arr[f_fixed : f_fixed + used_f] = f_old[f_fixed : f_fixed + used_f]


@njit(cache=True, error_model="numpy")
def clear_cache(i_arr: np.ndarray, f_arr: np.ndarray) -> None:
    """Forget every path and row of times. The cached paths vehicles point to (and their
    profiles) are copied into the vehicles' own slots first, and the vehicles repointed."""
    n, ps, si = i_arr[H_N], i_arr[H_PS], i_arr[H_SI]
    fs = i_arr[H_S] + 1 + i_arr[H_L]
    for x in range(2 * n):
        o = i_arr[O_VSLOTP] + x
        p = i_arr[o]
        if p < si:  # empty, or in its slot already
            continue
        own = i_arr[O_VP] + x * ps
        npc, nlinks = i_arr[p], i_arr[p + 1]
        for j in range(2 + npc + nlinks):
            i_arr[own + 1 + j] = i_arr[p + j]
        oc, src = i_arr[O_VCUM0] + x * fs, i_arr[p - 1]
        for j in range(npc + nlinks):
            f_arr[oc + j] = f_arr[src + j]
        i_arr[own] = oc
        i_arr[o] = own + 1
        v = x >> 1
        if i_arr[i_arr[O_VPATH] + v] == p:  # the run it drives now
            i_arr[i_arr[O_VPATH] + v] = own + 1
            if i_arr[i_arr[O_VPSTART] + v] == 0:  # on the profile from the run's start
                i_arr[i_arr[O_VCUMB] + v] = oc
    tab = i_arr[H_TAB]
    i_arr[tab : tab + 2 * i_arr[H_TCAP]] = -1
    i_arr[i_arr[H_TROW] : i_arr[H_TROW] + i_arr[H_NN]] = -1
    i_arr[H_TN] = 0
    i_arr[H_SIN] = 0
    i_arr[H_SFN] = 0


@njit(cache=True, inline="always", error_model="numpy")
def _slot(i_arr: np.ndarray, key: int) -> int:
    """The offset in I of the table slot of ``key``, or of the empty slot where it would go."""
    mask = i_arr[H_TCAP] - 1
    tab = i_arr[H_TAB]
    j = (key * 2654435761) & mask
    while True:
        got = i_arr[tab + 2 * j]
        if got == key or got < 0:
            return tab + 2 * j
        j = (j + 1) & mask


@njit(cache=True, inline="always", error_model="numpy")
def _table_put(i_arr: np.ndarray, key: int, at: int) -> None:
    o = _slot(i_arr, key)
    if i_arr[o] < 0:
        i_arr[H_TN] += 1
    i_arr[o] = key
    i_arr[o + 1] = at


@njit(cache=True, error_model="numpy")
def room(i_arr: np.ndarray, f_arr: np.ndarray, ints: int, floats: int) -> bool:
    """Whether the cache takes one more entry of ``ints`` and ``floats`` values."""
    return (
        2 * (i_arr[H_TN] + 1) <= i_arr[H_TCAP]
        and i_arr[H_SIN] + ints <= i_arr[H_TAB] - i_arr[H_SI]
        and i_arr[H_SFN] + floats <= len(f_arr) - i_arr[H_SF]
    )


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
    out = np.empty(2 + npc + len(links), dtype=np.int64)
    out[0], out[1] = npc, len(links)
    upto = np.cumsum([len(p) for p in piece_links])
    out[2 : 2 + npc] = np.array(sections) | np.array(ends) << PIECE_BITS | upto << (2 * PIECE_BITS)
    out[2 + npc :] = links
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
    out = np.empty(2 + npc + nl, dtype=np.int64)
    out[0], out[1] = npc, nl
    i = -1
    sec = 0
    for j in range(nl):
        k = links[j]
        if j == 0 or section_of[k] != section_of[links[j - 1]]:
            i += 1
            sec = section_of[k]
        out[2 + i] = sec | link_to[k] << PIECE_BITS | (j + 1) << (2 * PIECE_BITS)
        out[2 + npc + j] = k
    return out


@njit(cache=True, inline="always", error_model="numpy")
def _path_at(i_arr: np.ndarray, a: int, b: int) -> int:
    """The offset in I of the cached path from ``a`` to ``b`` (``H_EMPTY`` if ``a == b``), -1
    if it is not cached."""
    if a == b:
        return H_EMPTY
    o = _slot(i_arr, a * i_arr[H_NN] + b)
    return i_arr[o + 1] if i_arr[o] >= 0 else -1


def _prefetch_intrinsic(typingctx: Any, arr: Any, idx: Any) -> Any:
    """``_prefetch(arr, idx)`` in compiled code: ask the processor to bring ``arr[idx]`` into
    its caches ahead of its use (no effect on results; an address outside the array is not
    read: a prefetch never faults)."""
    sig = types.void(arr, idx)

    def codegen(context: Any, builder: Any, signature: Any, args: Any) -> Any:
        aryty = signature.args[0]
        ary = context.make_array(aryty)(context, builder, args[0])
        ptr = cgutils.get_item_pointer(context, builder, aryty, ary, [args[1]], wraparound=False)
        i32, i8p = ir.IntType(32), ir.IntType(8).as_pointer()
        fn = cgutils.get_or_insert_function(
            builder.module,
            ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
            "llvm.prefetch.p0",
        )
        # a read, to be kept in every cache level, of data
        const = [ir.Constant(i32, x) for x in (0, 3, 1)]
        builder.call(fn, [builder.bitcast(ptr, i8p), *const])
        return context.get_dummy_value()

    return sig, codegen


_prefetch: Any = intrinsic(_prefetch_intrinsic)
