"""Transport time between tools: the one formula the simulation and the live view share.

A carrier moves along the aisles (Manhattan distance on the floor) at the transport's speed,
plus a handling time for pick-up and drop-off; a plant may instead give a ``fixed_time``
distribution (as the SMT2020 testbed does), and a plant with transport kind ``none`` moves
lots instantly.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from factory_twin.model.layout import Point, manhattan_m
from factory_twin.model.schema import Transport, dist_mean

DistanceFn = Callable[[Point, Point], float]
"""Distance a carrier travels between two floor points, metres.

Rectilinear (:func:`~factory_twin.model.layout.manhattan_m`) is the default everywhere; a
track-graph distance (an OHT loop) plugs in here with the same signature.
"""


def nearest_destination(
    origin: Point, candidates: Sequence[Point], distance_fn: DistanceFn = manhattan_m
) -> tuple[int, float]:
    """Return (index, distance) of the candidate a lot at ``origin`` is sent to.

    This is the simulator's dispatch-to-group rule: a lot leaving a tool goes to the nearest
    tool of the next step's group, the first one in file order on a tie. The flow figures
    (:mod:`factory_twin.model.flows`) use this same function.

    Raises
    ------
    ValueError
        If there are no candidates.

    Examples
    --------
    >>> nearest_destination((0.0, 0.0), [(5.0, 0.0), (1.0, 1.0), (0.0, 2.0)])
    (1, 2.0)
    """
    if not candidates:
        msg = "no tool to send the lot to"
        raise ValueError(msg)
    best_i, best_d = 0, distance_fn(origin, candidates[0])
    for i in range(1, len(candidates)):
        d = distance_fn(origin, candidates[i])
        if d < best_d:
            best_i, best_d = i, d
    return best_i, best_d


def move_time_s(transport: Transport, distance_m: float) -> float:
    """Return handling plus travel time over ``distance_m`` metres of aisle, seconds.

    Examples
    --------
    >>> move_time_s(Transport(speed_m_s=2.0, handling_s=30.0), 10.0)
    35.0
    """
    return transport.handling_s + distance_m / transport.speed_m_s


def expected_move_time_s(transport: Transport, distance_m: float) -> float:
    """Return the mean time the simulator takes for one move of ``distance_m`` metres, seconds.

    0 for transport kind ``none``; the mean of ``fixed_time`` when the plant gives one; else
    :func:`move_time_s`. Waiting for a vehicle (a limited ``vehicles`` fleet) is not included.

    Examples
    --------
    >>> expected_move_time_s(Transport(speed_m_s=1.0, handling_s=20.0), 7.0)
    27.0
    """
    if transport.kind == "none":
        return 0.0
    if transport.fixed_time is not None:
        return float(dist_mean(transport.fixed_time))
    return move_time_s(transport, distance_m)


def transit_time_s(transport: Transport, a: Point, b: Point) -> float:
    """Return the nominal time a carrier needs from floor point ``a`` to ``b``, seconds.

    0 for transport kind ``none``; the mean of ``fixed_time`` when the plant gives one (the
    simulation draws each move from that distribution); else :func:`move_time_s` over the
    aisle distance.

    Examples
    --------
    >>> transit_time_s(Transport(speed_m_s=1.0, handling_s=20.0), (0.0, 0.0), (3.0, 4.0))
    27.0
    >>> transit_time_s(Transport(kind="none"), (0.0, 0.0), (3.0, 4.0))
    0.0
    """
    return expected_move_time_s(transport, manhattan_m(a, b))
