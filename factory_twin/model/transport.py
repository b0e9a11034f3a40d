"""Transport time between tools: the one formula the simulation and the live view share.

A carrier moves along the aisles (Manhattan distance on the floor) at the transport's speed,
plus a handling time for pick-up and drop-off; a plant may instead give a ``fixed_time``
distribution (as the SMT2020 testbed does), and a plant with transport kind ``none`` moves
lots instantly.
"""

from __future__ import annotations

from factory_twin.model.layout import Point, manhattan_m
from factory_twin.model.schema import Transport, dist_mean


def move_time_s(transport: Transport, distance_m: float) -> float:
    """Return handling plus travel time over ``distance_m`` metres of aisle, seconds.

    Examples
    --------
    >>> move_time_s(Transport(speed_m_s=2.0, handling_s=30.0), 10.0)
    35.0
    """
    return transport.handling_s + distance_m / transport.speed_m_s


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
    if transport.kind == "none":
        return 0.0
    if transport.fixed_time is not None:
        return float(dist_mean(transport.fixed_time))
    return move_time_s(transport, manhattan_m(a, b))
