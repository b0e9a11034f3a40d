"""The compiled core of the OHT fleet: section passages, traffic rules and hoisting in numba.

:class:`factory_twin.sim.oht_fast.CompiledOhtFleet` keeps the queue of waiting moves, the
``done`` callbacks and the KPIs in Python; dispatch and everything a vehicle does between being
given a move and setting the lot down runs here, on the arrays of
:mod:`factory_twin.sim.oht_state`, with its own queue of events (piece ends, retries,
admissions, hoisting). The rules and the order of every step are those of
:class:`factory_twin.sim.oht.OhtFleet` line by line (see there), so both give the same results.

Events are keyed ``(time, id)``, numbered by the core (``I[H_SEQ]``); they come after the
engine's other entries due at the same time, as the pure-Python fleet's do (``call_last_at``).

Every function is ``@njit(cache=True, error_model="numpy", _nrt=False)``: compiled on first
use, the machine code cached next to this module (compiled once per machine). The numpy error
model leaves out Python's division-by-zero checks (every division here is guarded or by a
positive constant); without numba's runtime no function counts references to its arrays.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, TypeVar, cast

import numpy as np
from numba import njit
from numba.core.cpu import CPUTargetOptions

from factory_twin.sim.oht_state import (
    ASSIGNED,
    DAY_S,
    DEADLOCK_LOG,
    DELIVERED,
    E_SUMS,
    EV_ADMIT,
    EV_DELIVERED,
    EV_LOADED,
    EV_PIECE_END,
    EV_RETRY,
    F_ACC,
    F_BOUND,
    F_DAYEND,
    F_DEC,
    F_DUET,
    F_EXTT,
    F_HANDLING,
    F_SYNC,
    GROW,
    H_DAY,
    H_DLN,
    H_EXTV,
    H_HCAP,
    H_HN,
    H_L,
    H_LOWH,
    H_LOWN,
    H_MAXDAY,
    H_N,
    H_NEAREST,
    H_NEEDA,
    H_NEEDB,
    H_NIDLE,
    H_NN,
    H_NPEND,
    H_S,
    H_SEQ,
    H_SF,
    H_SFN,
    H_SI,
    H_SIN,
    H_STALE,
    H_TAB,
    H_TCAP,
    H_TN,
    H_TROW,
    HIST_BIN_S,
    HIST_BINS,
    LIMIT,
    NEED_PATH,
    NEED_TIMES,
    O_CAP,
    O_DLLEN,
    O_DLSEC,
    O_DLT,
    O_HE,
    O_HK,
    O_HT,
    O_IDLE,
    O_LLEN,
    O_LOWT,
    O_LVMAX,
    O_SBLOCKED,
    O_SCAP,
    O_SHEAD,
    O_SLAST,
    O_SQ,
    O_SQN,
    O_SW,
    O_SWN,
    O_U,
    O_VBLOCKED,
    O_VCUM,
    O_VCUMB,
    O_VEXITP,
    O_VK,
    O_VNODE,
    O_VPATH,
    O_VPCUM,
    O_VPLAN_N,
    O_VPSTART,
    O_VRETRY,
    O_VSEC,
    O_VSLOTP,
    O_VSTATE,
    O_VSTOPPED,
    O_VT0,
    O_VTASSIGN,
    O_VTDROP,
    O_VTLOADED,
    O_VTPICK,
    O_VTREQ,
    O_VWAITFOR,
    O_VWAITSINCE,
    O_X,
    PARKED,
    PIECE_BITS,
    PIECE_MASK,
    QUEUED,
    ST_EMPTY,
    ST_HANDLING,
    ST_IDLE,
    ST_LOADED,
    _path_at,
    _prefetch,
    _table_put,
)

_F = TypeVar("_F", bound=Callable[..., Any])
_njit: Any = njit  # numba's type stubs leave out its ``_nrt`` option
# without numba's reference counting where this numba knows the option (a release without
# it compiles the core with it: the same results, a little slower)
_NO_NRT: dict[str, bool] = {"_nrt": False} if hasattr(CPUTargetOptions, "_nrt") else {}


def _compiled(fn: _F) -> _F:
    """``fn`` compiled as the whole core is: cached, numpy's error model, and without numba's
    reference counting, which would add an atomic increment and decrement of every array
    argument to most calls (its pruning pass leaves them in functions with branches). Nothing
    here allocates an array or keeps one; the arrays belong to the caller. ``_nrt`` is a numba
    option of its own (numba is pinned in constraints.txt); a release without it compiles
    the core with reference counting (``_NO_NRT`` empty)."""
    return cast(_F, _njit(cache=True, error_model="numpy", **_NO_NRT)(fn))


def _inlined(fn: _F) -> _F:
    """``fn`` compiled as the core is and inlined into its callers."""
    return cast(_F, _njit(inline="always", cache=True, error_model="numpy", **_NO_NRT)(fn))


# ----------------------------------------------------------------- event queue


@_inlined
def _sift_down(i_arr: np.ndarray, f_arr: np.ndarray, n: int, t: float, k: int, e: int) -> None:
    """Put the event ``(t, k, e)`` at the top of the queue's ``n`` entries, top one left out,
    and sift it down to its place."""
    ot, ok, oe = i_arr[O_HT], i_arr[O_HK], i_arr[O_HE]
    i = 0
    c = 1
    while c < n:
        tc = f_arr[ot + c]
        kc = i_arr[ok + c]
        if c + 1 < n:
            tr = f_arr[ot + c + 1]
            if tr < tc or (tr == tc and i_arr[ok + c + 1] < kc):
                c += 1
                tc = tr
                kc = i_arr[ok + c]
        if tc < t or (tc == t and kc < k):
            f_arr[ot + i] = tc
            i_arr[ok + i] = kc
            i_arr[oe + i] = i_arr[oe + c]
            i = c
            c = 2 * i + 1
        else:
            break
    f_arr[ot + i] = t
    i_arr[ok + i] = k
    i_arr[oe + i] = e


@_inlined
def _schedule(i_arr: np.ndarray, f_arr: np.ndarray, at: float, kind: int, arg: int) -> None:
    """Put an event on the fleet's queue with the next id (a binary heap on (time, id)).

    While :func:`advance` runs the first event's handler (``I[H_STALE]``), that event is still
    at the top: the first new event replaces it. Every new event comes at or after the handled
    one's time with a later id, so it never rises above it meanwhile, and a heap of distinct
    keys pops the same sequence either way.
    """
    n = i_arr[H_HN]
    key = i_arr[H_SEQ]
    i_arr[H_SEQ] = key + 1
    e = kind * 4294967296 + arg
    if i_arr[H_STALE]:
        i_arr[H_STALE] = 0
        _sift_down(i_arr, f_arr, n, at, key, e)
        return
    if n >= i_arr[H_HCAP]:
        raise RuntimeError("OHT fleet: its event queue is full")
    ot, ok, oe = i_arr[O_HT], i_arr[O_HK], i_arr[O_HE]
    i = n
    while i > 0:
        p = (i - 1) >> 1
        tp = f_arr[ot + p]
        if at < tp or (at == tp and key < i_arr[ok + p]):
            f_arr[ot + i] = tp
            i_arr[ok + i] = i_arr[ok + p]
            i_arr[oe + i] = i_arr[oe + p]
            i = p
        else:
            break
    f_arr[ot + i] = at
    i_arr[ok + i] = key
    i_arr[oe + i] = e
    i_arr[H_HN] = n + 1


@_inlined
def _due(i_arr: np.ndarray, f_arr: np.ndarray, res: int) -> int:
    """Note for Python the time of the queue's first event (``F[F_DUET]``) and the bound
    before which no vehicle sets a lot down (``F[F_BOUND]``); return ``res``.

    Every event before ``F[F_SYNC]`` has run, so a vehicle not yet lowering a lot arrives
    at its drop-off at ``F[F_SYNC]`` or later and sets the lot down ``handling`` after; the
    first of those lowering one sets it down at the time at the head of the ring O_LOWT."""
    f_arr[F_DUET] = f_arr[i_arr[O_HT]] if i_arr[H_HN] > 0 else math.inf
    b = f_arr[F_SYNC] + f_arr[F_HANDLING]
    if i_arr[H_LOWN] > 0:
        first = f_arr[i_arr[O_LOWT] + i_arr[H_LOWH]]
        if first < b:
            b = first
    f_arr[F_BOUND] = b
    return res


@_inlined
def _pop(i_arr: np.ndarray, f_arr: np.ndarray) -> None:
    """Remove the first event of the queue."""
    n = i_arr[H_HN] - 1
    i_arr[H_HN] = n
    if n == 0:
        return
    _sift_down(
        i_arr, f_arr, n, f_arr[i_arr[O_HT] + n], i_arr[i_arr[O_HK] + n], i_arr[i_arr[O_HE] + n]
    )


# ----------------------------------------------------------------- sections


@_inlined
def _count_entry(
    i_arr: np.ndarray, f_arr: np.ndarray, e_arr: np.ndarray, sec: int, now: float
) -> None:
    if now >= f_arr[F_DAYEND]:  # a new day (the fleet's time only goes forward)
        d = int(now // DAY_S)
        i_arr[H_DAY] = d
        f_arr[F_DAYEND] = (d + 1) * DAY_S
        if d > i_arr[H_MAXDAY]:
            i_arr[H_MAXDAY] = d
    e_arr[i_arr[H_DAY], sec] += 1


@_inlined
def _q_popleft(i_arr: np.ndarray, oq: int, on: int, s: int, n: int) -> int:
    """Remove and return the first vehicle of list ``s`` (queue or waiters)."""
    base = oq + s * n
    m = i_arr[on + s]
    v = i_arr[base]
    for j in range(1, m):
        i_arr[base + j - 1] = i_arr[base + j]
    i_arr[on + s] = m - 1
    return v


@_inlined
def _q_append(i_arr: np.ndarray, oq: int, on: int, s: int, n: int, v: int) -> None:
    m = i_arr[on + s]
    i_arr[oq + s * n + m] = v
    i_arr[on + s] = m + 1


@_inlined
def _q_remove(i_arr: np.ndarray, oq: int, on: int, s: int, n: int, v: int) -> None:
    base = oq + s * n
    m = i_arr[on + s]
    j = 0
    while i_arr[base + j] != v:
        j += 1
    for jj in range(j + 1, m):
        i_arr[base + jj - 1] = i_arr[base + jj]
    i_arr[on + s] = m - 1


# ----------------------------------------------------------------- kinematics


@_compiled
def _profile(
    i_arr: np.ndarray,
    f_arr: np.ndarray,
    path: np.ndarray,
    p: int,
    first: int,
    out: np.ndarray,
    oc: int,
) -> tuple[int, int]:
    """The cumulative link end times of a run from rest over pieces ``first``.. of the path
    at ``path[p:]``, into ``out[oc:]``; returns (first link, number of links).

    The same arithmetic, in the same order, as :func:`factory_twin.sim.oht_graph.profile_array`
    followed by a cumulative sum, so both give the same times to the last bit.
    """
    npc = path[p]
    nlinks = path[p + 1]
    start = path[p + 2 + first - 1] >> (2 * PIECE_BITS) if first > 0 else 0
    n = nlinks - start
    ol = p + 2 + npc + start
    ox, ocap, ou = i_arr[O_X], i_arr[O_CAP], i_arr[O_U]
    olen, ovm = i_arr[O_LLEN], i_arr[O_LVMAX]
    acc, dec = f_arr[F_ACC], f_arr[F_DEC]
    f_arr[ox] = 0.0
    f_arr[ocap] = 0.0
    f_arr[ocap + n] = 0.0
    for j in range(n):
        f_arr[ox + j + 1] = f_arr[ox + j] + f_arr[olen + path[ol + j]]
    for j in range(1, n):
        a, b = f_arr[ovm + path[ol + j - 1]], f_arr[ovm + path[ol + j]]
        m = a if a < b else b
        f_arr[ocap + j] = m * m
    ca, cd = 2.0 * acc, 2.0 * dec
    run = math.inf
    for j in range(n + 1):  # reachable by accelerating
        fa = ca * f_arr[ox + j]
        c = f_arr[ocap + j]
        d = c - fa
        if d < run:
            run = d
        val = fa + run
        f_arr[ou + j] = c if c < val else val
    run = math.inf
    for j in range(n, -1, -1):  # able to brake
        fd = cd * f_arr[ox + j]
        u = f_arr[ou + j]
        w = u + fd
        if w < run:
            run = w
        val = run - fd
        f_arr[ou + j] = u if u < val else val
    k1 = 2.0 * acc * dec
    ad = acc + dec
    cum = 0.0
    u0 = f_arr[ou]
    v0 = math.sqrt(u0 if u0 > 0.0 else 0.0)
    for j in range(n):
        k = path[ol + j]
        ln, vm = f_arr[olen + k], f_arr[ovm + k]
        u1 = f_arr[ou + j + 1]
        v1 = math.sqrt(u1 if u1 > 0.0 else 0.0)
        vp2 = (k1 * ln + dec * v0 * v0 + acc * v1 * v1) / ad
        vp = math.sqrt(vp2 if vp2 > 0.0 else 0.0)
        if vm < vp:
            vp = vm
        if v0 > vp:
            vp = v0
        if v1 > vp:
            vp = v1
        da = (vp * vp - v0 * v0) / ca
        dd = (vp * vp - v1 * v1) / cd
        cruise = ln - da - dd
        if cruise < 0.0:
            cruise = 0.0
        r = cruise / vp if vp > 0 else 0.0
        cum += (vp - v0) / acc + (vp - v1) / dec + r
        out[oc + j] = cum
        v0 = v1
    return start, n


@_compiled
def cache_path(i_arr: np.ndarray, f_arr: np.ndarray, a: int, b: int, path: np.ndarray) -> bool:
    """Put the packed path from ``a`` to ``b`` in the cache with its profile from rest to rest
    (after the path's offset in F of its profile: the end time of each piece, then the
    cumulative end time of each link); False, nothing done, if the cache has no room for it."""
    npc, nl = path[0], path[1]
    at_i, at_f = i_arr[H_SIN], i_arr[H_SFN]
    if not (
        2 * (i_arr[H_TN] + 1) <= i_arr[H_TCAP]
        and at_i + len(path) + 1 <= i_arr[H_TAB] - i_arr[H_SI]
        and at_f + npc + nl <= len(f_arr) - i_arr[H_SF]
    ):
        return False
    o_i, o_f = i_arr[H_SI] + at_i, i_arr[H_SF] + at_f
    i_arr[o_i] = o_f
    for j in range(len(path)):
        i_arr[o_i + 1 + j] = path[j]
    _profile(i_arr, f_arr, path, 0, 0, f_arr, o_f + npc)
    for j in range(npc):
        f_arr[o_f + j] = f_arr[o_f + npc + (path[2 + j] >> (2 * PIECE_BITS)) - 1]
    i_arr[H_SIN] = at_i + 1 + len(path)
    i_arr[H_SFN] = at_f + npc + nl
    _table_put(i_arr, a * i_arr[H_NN] + b, o_i + 1)
    return True


@_compiled
def _plan(i_arr: np.ndarray, f_arr: np.ndarray, v: int, first: int, now: float) -> None:
    """A kinematic profile from rest over pieces ``first``.. to the end of the run (from the
    start of the run: the one Python computed with the path, read where it is)."""
    p = i_arr[i_arr[O_VPATH] + v]
    if first == 0:
        start, n = 0, i_arr[p + 1]
        i_arr[i_arr[O_VCUMB] + v] = i_arr[p - 1]
    else:
        oc = i_arr[O_VCUM] + v * i_arr[H_L]
        start, n = _profile(i_arr, f_arr, i_arr, p, first, f_arr, oc)
        # the piece end times, by piece of the path
        op = i_arr[O_VPCUM] + v * (i_arr[H_S] + 1)
        for k in range(first, i_arr[p]):
            f_arr[op + k] = f_arr[oc + (i_arr[p + 2 + k] >> (2 * PIECE_BITS)) - start - 1]
        i_arr[i_arr[O_VCUMB] + v] = op
    f_arr[i_arr[O_VT0] + v] = now
    i_arr[i_arr[O_VPSTART] + v] = start
    i_arr[i_arr[O_VPLAN_N] + v] = n
    i_arr[i_arr[O_VSTOPPED] + v] = 0


@_inlined
def _piece_time(i_arr: np.ndarray, f_arr: np.ndarray, v: int, k: int) -> float:
    """End time of piece ``k`` of ``v``'s run on the current profile (absolute)."""
    return f_arr[i_arr[O_VT0] + v] + f_arr[i_arr[i_arr[O_VCUMB] + v] + k]


@_inlined
def _prefetch_next(i_arr: np.ndarray, f_arr: np.ndarray, v: int, k: int) -> None:
    """On piece ``k``, fetch what ``v`` reads at the end of ``k + 1`` (a piece, an end time)."""
    _prefetch(i_arr, i_arr[i_arr[O_VPATH] + v] + k + 4)
    _prefetch(f_arr, i_arr[i_arr[O_VCUMB] + v] + k + 2)


@_inlined
def _schedule_piece_end(i_arr: np.ndarray, f_arr: np.ndarray, v: int, now: float) -> None:
    k = i_arr[i_arr[O_VK] + v]
    at = _piece_time(i_arr, f_arr, v, k)
    _schedule(i_arr, f_arr, at if at > now else now, EV_PIECE_END, v)
    _prefetch_next(i_arr, f_arr, v, k)


# ----------------------------------------------------------------- driving


@_inlined
def _arrive(i_arr: np.ndarray, f_arr: np.ndarray, v: int, now: float) -> None:
    """``v`` is at the end of its run: hoist the lot up (empty run) or down (loaded run)."""
    ost = i_arr[O_VSTATE] + v
    if i_arr[ost] == ST_EMPTY:
        f_arr[i_arr[O_VTPICK] + v] = now
        i_arr[ost] = ST_HANDLING
        _schedule(i_arr, f_arr, now + f_arr[F_HANDLING], EV_LOADED, v)
    else:
        f_arr[i_arr[O_VTDROP] + v] = now
        i_arr[ost] = ST_HANDLING
        at = now + f_arr[F_HANDLING]
        _schedule(i_arr, f_arr, at, EV_DELIVERED, v)
        n, low = i_arr[H_N], i_arr[H_LOWN]
        f_arr[i_arr[O_LOWT] + (i_arr[H_LOWH] + low) % n] = at
        i_arr[H_LOWN] = low + 1


@_compiled
def _run(
    i_arr: np.ndarray, f_arr: np.ndarray, e_arr: np.ndarray, v: int, slot: int, now: float
) -> None:
    """Drive ``v`` over the path of its run ``slot`` (from rest to rest); empty: arrived."""
    p = i_arr[i_arr[O_VSLOTP] + 2 * v + slot]
    if i_arr[p] == 0:
        _arrive(i_arr, f_arr, v, now)
        return
    i_arr[i_arr[O_VPATH] + v] = p
    i_arr[i_arr[O_VSTOPPED] + v] = 1
    if i_arr[i_arr[O_VSEC] + v] == i_arr[p + 2] & PIECE_MASK:
        i_arr[i_arr[O_VK] + v] = 0
        _plan(i_arr, f_arr, v, 0, now)
        _schedule_piece_end(i_arr, f_arr, v, now)
    else:
        i_arr[i_arr[O_VK] + v] = -1
        _try_next(i_arr, f_arr, e_arr, v, now)


@_inlined
def _piece_end(
    i_arr: np.ndarray, f_arr: np.ndarray, e_arr: np.ndarray, v: int, now: float
) -> None:
    n = i_arr[H_N]
    p = i_arr[i_arr[O_VPATH] + v]
    npc = i_arr[p]
    ok = i_arr[O_VK] + v
    k = i_arr[ok]
    i_arr[i_arr[O_VNODE] + v] = (i_arr[p + 2 + k] >> PIECE_BITS) & PIECE_MASK
    if k == npc - 1:
        i_arr[i_arr[O_VPATH] + v] = -1
        _arrive(i_arr, f_arr, v, now)
        return
    # the common case inline (the same rules as _try_next and _enter)
    osq, osqn, oexit = i_arr[O_SQ], i_arr[O_SQN], i_arr[O_VEXITP]
    s = i_arr[i_arr[O_VSEC] + v]
    nxt = i_arr[p + 2 + k + 1] & PIECE_MASK
    olast = i_arr[O_SLAST] + s
    if (
        i_arr[osq + s * n] == v
        and f_arr[olast] + f_arr[i_arr[O_SHEAD] + s] <= now + 1e-9
        and i_arr[osqn + nxt] < i_arr[i_arr[O_SCAP] + nxt]
        and i_arr[oexit + v] == 0
    ):
        f_arr[olast] = now
        _q_popleft(i_arr, osq, osqn, s, n)
        if i_arr[osqn + s] > 0 and i_arr[oexit + i_arr[osq + s * n]] != 0:
            _schedule(i_arr, f_arr, now + 0.0, EV_RETRY, i_arr[osq + s * n])
        if i_arr[i_arr[O_SWN] + s] > 0:
            _schedule(i_arr, f_arr, now + 0.0, EV_ADMIT, s)
        i_arr[i_arr[O_VSEC] + v] = nxt
        _q_append(i_arr, osq, osqn, nxt, n, v)
        _count_entry(i_arr, f_arr, e_arr, nxt, now)
        i_arr[ok] = k + 1
        at = _piece_time(i_arr, f_arr, v, k + 1)
        _schedule(i_arr, f_arr, at if at > now else now, EV_PIECE_END, v)
        _prefetch_next(i_arr, f_arr, v, k + 1)
        return
    _try_next(i_arr, f_arr, e_arr, v, now)


@_compiled
def _try_next(i_arr: np.ndarray, f_arr: np.ndarray, e_arr: np.ndarray, v: int, now: float) -> None:
    """At the end of its section (or parked), ``v`` tries to go on into the next one."""
    n = i_arr[H_N]
    s = i_arr[i_arr[O_VSEC] + v]
    oexit, owait = i_arr[O_VEXITP] + v, i_arr[O_VWAITSINCE] + v
    if s >= 0:
        ready = f_arr[i_arr[O_SLAST] + s] + f_arr[i_arr[O_SHEAD] + s]
        head = i_arr[i_arr[O_SQ] + s * n]
        if head != v or ready > now + 1e-9:
            if i_arr[oexit] == 0:  # behind a vehicle not gone yet, or within its headway
                i_arr[oexit] = 1
                f_arr[owait] = now
            oretry = i_arr[O_VRETRY] + v
            if head == v and f_arr[oretry] != ready:
                f_arr[oretry] = ready
                _schedule(i_arr, f_arr, now + (ready - now), EV_RETRY, v)
            return
    owf = i_arr[O_VWAITFOR] + v
    if i_arr[owf] >= 0:
        return  # already in the queue of the next section
    p = i_arr[i_arr[O_VPATH] + v]
    nxt = i_arr[p + 2 + i_arr[i_arr[O_VK] + v] + 1] & PIECE_MASK
    if i_arr[i_arr[O_SQN] + nxt] >= i_arr[i_arr[O_SCAP] + nxt] and not _deadlock(
        i_arr, f_arr, v, nxt, now
    ):
        i_arr[owf] = nxt
        if i_arr[oexit] == 0:
            f_arr[owait] = now
        _q_append(i_arr, i_arr[O_SW], i_arr[O_SWN], nxt, n, v)
        return
    _enter(i_arr, f_arr, e_arr, v, nxt, now)


@_inlined
def _retry(i_arr: np.ndarray, f_arr: np.ndarray, e_arr: np.ndarray, v: int, now: float) -> None:
    if i_arr[i_arr[O_VEXITP] + v] != 0 and i_arr[i_arr[O_VWAITFOR] + v] < 0:
        _try_next(i_arr, f_arr, e_arr, v, now)


@_compiled
def _enter(
    i_arr: np.ndarray, f_arr: np.ndarray, e_arr: np.ndarray, v: int, nxt: int, now: float
) -> None:
    n = i_arr[H_N]
    oexit, owf = i_arr[O_VEXITP] + v, i_arr[O_VWAITFOR] + v
    ostop = i_arr[O_VSTOPPED] + v
    osec = i_arr[O_VSEC] + v
    stood = -1
    waited = 0.0
    if i_arr[oexit] != 0 or i_arr[owf] >= 0:
        waited = now - f_arr[i_arr[O_VWAITSINCE] + v]
        f_arr[i_arr[O_VBLOCKED] + v] += waited
        # where it stood: the end of its section (or the spur it merges from)
        stood = i_arr[osec] if i_arr[osec] >= 0 else nxt
        f_arr[i_arr[O_SBLOCKED] + stood] += waited
        i_arr[ostop] = 1
    i_arr[oexit] = 0
    i_arr[owf] = -1
    if i_arr[osec] >= 0:
        f_arr[i_arr[O_SLAST] + i_arr[osec]] = now
        _leave(i_arr, f_arr, v, now)
    i_arr[osec] = nxt
    _q_append(i_arr, i_arr[O_SQ], i_arr[O_SQN], nxt, n, v)
    _count_entry(i_arr, f_arr, e_arr, nxt, now)
    if stood >= 0:  # the day's blocked time, on the day the vehicle got going
        e_arr[i_arr[H_DAY], i_arr[H_S] + E_SUMS + HIST_BINS + stood] += waited
    ok = i_arr[O_VK] + v
    i_arr[ok] += 1
    if i_arr[ostop] != 0:
        _plan(i_arr, f_arr, v, i_arr[ok], now)
    _schedule_piece_end(i_arr, f_arr, v, now)


@_compiled
def _leave(i_arr: np.ndarray, f_arr: np.ndarray, v: int, now: float) -> None:
    """``v`` gives up its place in its section; wake who waited for it."""
    osec = i_arr[O_VSEC] + v
    s = i_arr[osec]
    if s < 0:
        return
    n = i_arr[H_N]
    osq, osqn = i_arr[O_SQ], i_arr[O_SQN]
    was_head = i_arr[osq + s * n] == v
    _q_remove(i_arr, osq, osqn, s, n, v)
    i_arr[osec] = -1
    if was_head and i_arr[osqn + s] > 0:
        head = i_arr[osq + s * n]
        if i_arr[i_arr[O_VEXITP] + head] != 0:
            _schedule(i_arr, f_arr, now + 0.0, EV_RETRY, head)
    if i_arr[i_arr[O_SWN] + s] > 0:
        _schedule(i_arr, f_arr, now + 0.0, EV_ADMIT, s)


@_compiled
def _admit(i_arr: np.ndarray, f_arr: np.ndarray, e_arr: np.ndarray, s: int, now: float) -> None:
    n = i_arr[H_N]
    osw, oswn = i_arr[O_SW], i_arr[O_SWN]
    while i_arr[oswn + s] > 0 and i_arr[i_arr[O_SQN] + s] < i_arr[i_arr[O_SCAP] + s]:
        w = _q_popleft(i_arr, osw, oswn, s, n)
        _enter(i_arr, f_arr, e_arr, w, i_arr[i_arr[O_VWAITFOR] + w], now)


@_compiled
def _deadlock(i_arr: np.ndarray, f_arr: np.ndarray, v: int, want: int, now: float) -> bool:
    """Follow the wait-for chain from section ``want``; True if it closes (and log it)."""
    n, ns = i_arr[H_N], i_arr[H_S]
    osq, osqn, owf = i_arr[O_SQ], i_arr[O_SQN], i_arr[O_VWAITFOR]
    s = want
    length = 1
    for _ in range(ns):
        if i_arr[osqn + s] == 0:
            return False
        head = i_arr[osq + s * n]
        if head == v:  # the chain comes back to the vehicle that wants to move
            d = i_arr[H_DLN]
            i_arr[H_DLN] = d + 1
            if d < DEADLOCK_LOG:
                f_arr[i_arr[O_DLT] + d] = now
                i_arr[i_arr[O_DLLEN] + d] = length
                o = i_arr[O_DLSEC] + d * ns
                x = want
                for j in range(length):
                    i_arr[o + j] = x
                    x = i_arr[owf + i_arr[osq + x * n]]
            return True
        if i_arr[owf + head] < 0:
            return False
        s = i_arr[owf + head]
        length += 1
    return False


# ----------------------------------------------------------------- entry points


@_compiled
def _begin(
    i_arr: np.ndarray,
    f_arr: np.ndarray,
    e_arr: np.ndarray,
    v: int,
    p_empty: int,
    p_loaded: int,
    t_req: float,
    now: float,
) -> None:
    """Give ``v`` a move over the cached paths at ``p_empty`` (to the pick-up) and
    ``p_loaded``: drive empty, hoist, drive loaded, set down."""
    os = i_arr[O_VSLOTP] + 2 * v
    i_arr[os] = p_empty
    i_arr[os + 1] = p_loaded
    i_arr[i_arr[O_VSTATE] + v] = ST_EMPTY
    f_arr[i_arr[O_VTREQ] + v] = t_req
    f_arr[i_arr[O_VTASSIGN] + v] = now
    f_arr[i_arr[O_VBLOCKED] + v] = 0.0
    for o in (O_VTPICK, O_VTLOADED, O_VTDROP):
        f_arr[i_arr[o] + v] = math.nan
    _run(i_arr, f_arr, e_arr, v, 0, now)


@_inlined
def _move_paths(i_arr: np.ndarray, at: int, a: int, b: int) -> tuple[int, int]:
    """The cached paths of a move from ``a`` to ``b`` by a vehicle at ``at``: empty run, loaded
    run. A path not cached is named in ``I[H_NEEDA]``, ``I[H_NEEDB]`` and comes back as -1."""
    p0 = _path_at(i_arr, at, a)
    if p0 < 0:
        i_arr[H_NEEDA], i_arr[H_NEEDB] = at, a
        return -1, -1
    p1 = _path_at(i_arr, a, b)
    if p1 < 0:
        i_arr[H_NEEDA], i_arr[H_NEEDB] = a, b
    return p0, p1


@_compiled
def request(
    i_arr: np.ndarray, f_arr: np.ndarray, e_arr: np.ndarray, a: int, b: int, now: float
) -> int:
    """A move from node ``a`` to ``b`` asked for now: run the events due before now (none sets
    a lot down: the engine lets the model run only before ``F[F_BOUND]``), then give the move
    to an idle vehicle (the nearest in free-running time, the lowest number on a tie, or with
    ``nearest`` off the one idle longest). Returns ASSIGNED (the vehicle in ``I[H_EXTV]``),
    QUEUED (none idle: Python queues it), NEED_TIMES or NEED_PATH (nothing asked changed:
    Python caches what is named and asks again). ``F[F_DUET]`` and ``F[F_BOUND]`` are then
    up to date."""
    _catch_up(i_arr, f_arr, e_arr, now)
    m = i_arr[H_NIDLE]
    if m == 0:
        return _due(i_arr, f_arr, QUEUED)
    oi, on = i_arr[O_IDLE], i_arr[O_VNODE]
    j = 0
    if i_arr[H_NEAREST] and m > 1:
        row = i_arr[i_arr[H_TROW] + a]
        if row < 0:
            i_arr[H_NEEDA] = a
            return _due(i_arr, f_arr, NEED_TIMES)
        ot = i_arr[H_SF] + row
        best_v = i_arr[oi]
        best_t = f_arr[ot + i_arr[on + best_v]]
        for jj in range(1, m):
            w = i_arr[oi + jj]
            t = f_arr[ot + i_arr[on + w]]
            if t < best_t or (t == best_t and w < best_v):
                best_t, best_v, j = t, w, jj
    v = i_arr[oi + j]
    p0, p1 = _move_paths(i_arr, i_arr[on + v], a, b)
    if p1 < 0:
        return _due(i_arr, f_arr, NEED_PATH)
    for jj in range(j + 1, m):
        i_arr[oi + jj - 1] = i_arr[oi + jj]
    i_arr[H_NIDLE] = m - 1
    i_arr[H_EXTV] = v
    _begin(i_arr, f_arr, e_arr, v, p0, p1, now, now)
    return _due(i_arr, f_arr, ASSIGNED)


@_compiled
def assign(
    i_arr: np.ndarray,
    f_arr: np.ndarray,
    e_arr: np.ndarray,
    v: int,
    a: int,
    b: int,
    t_req: float,
    now: float,
) -> int:
    """Give vehicle ``v`` (which has just set a lot down) the move from ``a`` to ``b`` asked
    for at ``t_req``. Returns as :func:`request` (ASSIGNED or NEED_PATH)."""
    p0, p1 = _move_paths(i_arr, i_arr[i_arr[O_VNODE] + v], a, b)
    if p1 < 0:
        return _due(i_arr, f_arr, NEED_PATH)
    _begin(i_arr, f_arr, e_arr, v, p0, p1, t_req, now)
    return _due(i_arr, f_arr, ASSIGNED)


@_inlined
def _park(i_arr: np.ndarray, f_arr: np.ndarray, v: int, now: float) -> None:
    i_arr[i_arr[O_VSTATE] + v] = ST_IDLE
    _leave(i_arr, f_arr, v, now)
    m = i_arr[H_NIDLE]
    i_arr[i_arr[O_IDLE] + m] = v
    i_arr[H_NIDLE] = m + 1


@_inlined
def _handle_top(i_arr: np.ndarray, f_arr: np.ndarray, e_arr: np.ndarray, t: float) -> int:
    """Run the queue's first event (at ``t``); return DELIVERED or PARKED if a vehicle has
    set its lot down (vehicle in ``I[H_EXTV]``, time in ``F[F_EXTT]``), else LIMIT."""
    e = i_arr[i_arr[O_HE]]
    i_arr[H_STALE] = 1  # the event stays at the top until its handler schedules one
    kind = e // 4294967296
    arg = e - kind * 4294967296
    code = LIMIT
    if kind == EV_PIECE_END:
        _piece_end(i_arr, f_arr, e_arr, arg, t)
    elif kind == EV_RETRY:
        _retry(i_arr, f_arr, e_arr, arg, t)
    elif kind == EV_ADMIT:
        _admit(i_arr, f_arr, e_arr, arg, t)
    elif kind == EV_LOADED:
        f_arr[i_arr[O_VTLOADED] + arg] = t
        i_arr[i_arr[O_VSTATE] + arg] = ST_LOADED
        _run(i_arr, f_arr, e_arr, arg, 1, t)
    else:
        # the first in the ring of lowering vehicles
        i_arr[H_LOWH] = (i_arr[H_LOWH] + 1) % i_arr[H_N]
        i_arr[H_LOWN] -= 1
        _record(i_arr, f_arr, e_arr, arg, t)
        i_arr[H_EXTV] = arg
        f_arr[F_EXTT] = t
        code = DELIVERED
        if i_arr[H_NPEND] == 0:
            _park(i_arr, f_arr, arg, t)
            code = PARKED
    if i_arr[H_STALE]:  # nothing scheduled: take it off
        i_arr[H_STALE] = 0
        _pop(i_arr, f_arr)
    return code


@_compiled
def _events_before(i_arr: np.ndarray, f_arr: np.ndarray, e_arr: np.ndarray, limit_t: float) -> int:
    """Run the events due before ``limit_t``; return LIMIT, or after the first that sets a lot
    down its code (DELIVERED or PARKED), or GROW when ``E`` needs a row for a later day. The
    one copy of the event loop (:func:`advance` and the catch-up before a request or a read
    both run it, so its code is in the caches once)."""
    ot = i_arr[O_HT]
    rows = e_arr.shape[0]
    while i_arr[H_HN] > 0:
        t = f_arr[ot]
        if not t < limit_t:
            break
        if t >= rows * DAY_S:
            return GROW
        code = _handle_top(i_arr, f_arr, e_arr, t)
        if code != LIMIT:
            f_arr[F_SYNC] = t
            return code
    if f_arr[F_SYNC] < limit_t < math.inf:
        f_arr[F_SYNC] = limit_t
    return LIMIT


@_compiled
def _catch_up(i_arr: np.ndarray, f_arr: np.ndarray, e_arr: np.ndarray, now: float) -> None:
    """Run the events due before ``now``, none of which may set a lot down (Python has made
    ``E``'s row for now: none needs a new one)."""
    if _events_before(i_arr, f_arr, e_arr, now) != LIMIT:
        raise RuntimeError("OHT fleet: a lot set down before the engine let the fleet run")


@_compiled
def sync(i_arr: np.ndarray, f_arr: np.ndarray, e_arr: np.ndarray, now: float) -> None:
    """Run the events due before ``now`` (for a read of the fleet's state at ``now``)."""
    _catch_up(i_arr, f_arr, e_arr, now)
    _due(i_arr, f_arr, LIMIT)


@_compiled
def advance(i_arr: np.ndarray, f_arr: np.ndarray, e_arr: np.ndarray, limit_t: float) -> int:
    """Run the fleet's events due before ``limit_t`` (the engine's next entry or the end of
    its run: at equal times the engine's entries come first).

    Returns ``LIMIT`` when the next event is not before it (or there is none),
    ``DELIVERED`` when a vehicle has set its lot down and a move waits (vehicle in
    ``I[H_EXTV]``, time in ``F[F_EXTT]``: Python assigns it the next move), ``PARKED`` when it
    has set its lot down and, no move waiting, gone to its parking spur, ``GROW`` when ``E``
    needs a row for a later day. A delivered move's figures go to the day's sums in ``E``.
    ``F[F_DUET]`` and ``F[F_BOUND]`` are then up to date.
    """
    return _due(i_arr, f_arr, _events_before(i_arr, f_arr, e_arr, limit_t))


@_inlined
def _record(i_arr: np.ndarray, f_arr: np.ndarray, e_arr: np.ndarray, v: int, now: float) -> None:
    """Add ``v``'s move, set down now, to the day's sums (as OhtFleet._record)."""
    d = int(now // DAY_S)
    c = i_arr[H_S]
    t_req = f_arr[i_arr[O_VTREQ] + v]
    t_assign = f_arr[i_arr[O_VTASSIGN] + v]
    total = now - t_req
    e_arr[d, c] += 1
    e_arr[d, c + 1] += total
    e_arr[d, c + 2] += t_assign - t_req
    e_arr[d, c + 3] += f_arr[i_arr[O_VTPICK] + v] - t_assign
    e_arr[d, c + 4] += f_arr[i_arr[O_VTDROP] + v] - f_arr[i_arr[O_VTLOADED] + v]
    e_arr[d, c + 5] += f_arr[i_arr[O_VBLOCKED] + v]
    e_arr[d, c + 6] += now - t_assign
    pending = float(i_arr[H_NPEND])
    if pending > e_arr[d, c + 7]:
        e_arr[d, c + 7] = pending
    b = int(total / HIST_BIN_S)
    e_arr[d, c + E_SUMS + (b if b < HIST_BINS - 1 else HIST_BINS - 1)] += 1
    if d > i_arr[H_MAXDAY]:
        i_arr[H_MAXDAY] = d
