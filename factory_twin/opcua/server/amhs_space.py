"""The OHT vehicles of a plant simulator server: ``Objects/Transport/AMHS/<vehicle>``.

When the simulated plant runs its OHT fleet (amhs model ``oht``), the server publishes one
object per vehicle (``OHT-001``, ``OHT-002``, ...) under the folder ``Transport/AMHS``, each
with the variables of :data:`VEHICLE_VARIABLES`: floor position ``X``/``Y`` (metres),
``State`` (``idle``, ``moving`` or ``loaded``) and ``CarrierId`` (the lot on board, empty
when none). Node ids are strings, ``ns=<plant>;s=Transport.AMHS.OHT-001.X``, so a client can
bind them without browsing (:func:`vehicle_node_id`).

The rail congestion the simulator measures is published beside them, one array element per
rail link in the plant file's order (:data:`CONGESTION_VARIABLES`): ``LinkIds`` (String[]),
``LinkBlockedSecondsPerHour`` and ``LinkEntriesPerHour`` (Double[]: seconds vehicles carrying or
fetching a lot stood blocked on the link's section, and vehicles that entered it, per hour)
and ``CongestionWindowSeconds`` (the plant time the rates cover: the last hour, or since the
start when the run is younger). Every link of a section shows its section's figures.

:class:`AmhsVehicles` builds the nodes (one bulk insert) and writes the values that changed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from asyncua import ua

from factory_twin.model.events import RAIL_TAGS, VEHICLE_TAGS, vehicle_name
from factory_twin.opcua import _asyncua_adapter as adapter
from factory_twin.opcua._uatypes import node_id
from factory_twin.opcua.server.nodes import NodeBatch

if TYPE_CHECKING:
    from asyncua import Server

# vehicle tag (model.events.VEHICLE_TAGS) -> (variable name, variant type)
VEHICLE_VARIABLES: dict[str, tuple[str, ua.VariantType]] = {
    "x": ("X", ua.VariantType.Double),
    "y": ("Y", ua.VariantType.Double),
    "state": ("State", ua.VariantType.String),
    "carrier": ("CarrierId", ua.VariantType.String),
}
assert tuple(VEHICLE_VARIABLES) == VEHICLE_TAGS

VehicleRow = tuple[int, float, float, str, str]  # (index, x, y, state, carrier id)

# congestion tag (model.events.RAIL_TAGS) -> variable name under Transport/AMHS
CONGESTION_VARIABLES: dict[str, str] = {
    "link_ids": "LinkIds",
    "blocked_s_per_h": "LinkBlockedSecondsPerHour",
    "entries_per_h": "LinkEntriesPerHour",
    "window_s": "CongestionWindowSeconds",
}
assert tuple(CONGESTION_VARIABLES) == RAIL_TAGS
WINDOW_S = 3600.0  # congestion rates over the last plant hour
MIN_WRITE_S = 10.0  # plant seconds between two writes of the congestion arrays


def congestion_node_id(tag: str) -> str:
    """The string identifier of a congestion variable, e.g. ``Transport.AMHS.LinkIds``."""
    return f"Transport.AMHS.{CONGESTION_VARIABLES[tag]}"


class CongestionWindow:
    """Rates per hour over the last ``window_s`` of plant time from cumulative counters.

    :meth:`rates` takes the cumulative (entries, blocked seconds) per link at plant time ``t``
    and returns them per hour over ``[t - window_s, t]`` (since the first snapshot when the
    run is younger), from snapshots kept every ``window_s / 12`` (13 snapshots at most).
    """

    def __init__(self, window_s: float = WINDOW_S) -> None:
        self.window_s = window_s
        self.step_s = window_s / 12
        self.snaps: deque[tuple[float, np.ndarray, np.ndarray]] = deque()

    def rates(
        self, t: float, entries: np.ndarray, blocked: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray, float]:
        """Return (entries per hour, blocked seconds per hour, window length in seconds)."""
        snaps = self.snaps
        if not snaps or t - snaps[-1][0] >= self.step_s:
            snaps.append((t, entries.copy(), blocked.copy()))
        while len(snaps) > 1 and snaps[1][0] <= t - self.window_s:
            snaps.popleft()
        t0, e0, b0 = snaps[0]
        span = t - t0
        if span <= 0:
            return np.zeros_like(entries), np.zeros_like(blocked), 0.0
        return (entries - e0) * 3600.0 / span, (blocked - b0) * 3600.0 / span, span


def vehicle_node_id(index: int, tag: str) -> str:
    """The string identifier of a vehicle variable, e.g. ``Transport.AMHS.OHT-001.X``."""
    return f"Transport.AMHS.{vehicle_name(index)}.{VEHICLE_VARIABLES[tag][0]}"


class AmhsVehicles:
    """The vehicle objects of one server and the values last written to them."""

    def __init__(
        self, server: Server, ns: int, vehicles: int, link_ids: Sequence[str] = ()
    ) -> None:
        self.server = server
        self.ns = ns
        self.vehicles = vehicles
        self.link_ids = list(link_ids)
        self.window = CongestionWindow()
        self.congestion_nodes: dict[str, ua.NodeId] = {}
        self._congestion_t = -np.inf
        self.nodes: dict[tuple[int, str], ua.NodeId] = {}
        self.written: dict[tuple[int, str], Any] = {}
        self._write = adapter.value_writer(server)

    def build(self) -> int:
        """Add the Transport/AMHS folders and one object per vehicle; return the node count."""
        ns, b = self.ns, NodeBatch()
        folder_type = node_id(ua.ObjectIds.FolderType)
        transport = b.obj(
            node_id("Transport", ns),
            ua.QualifiedName("Transport", ns),
            node_id(ua.ObjectIds.ObjectsFolder),
            ref=ua.ObjectIds.Organizes,
            typedef=folder_type,
            description="Material transport of the plant",
        )
        amhs = b.obj(
            node_id("Transport.AMHS", ns),
            ua.QualifiedName("AMHS", ns),
            transport,
            ref=ua.ObjectIds.Organizes,
            typedef=folder_type,
            description="Overhead-hoist (OHT) vehicles: position, state, carrier",
        )
        types = {
            ua.VariantType.Double: node_id(ua.ObjectIds.Double),
            ua.VariantType.String: node_id(ua.ObjectIds.String),
        }
        initial: dict[str, Any] = {"x": 0.0, "y": 0.0, "state": "idle", "carrier": ""}
        for i in range(self.vehicles):
            name = vehicle_name(i)
            obj = b.obj(
                node_id(f"Transport.AMHS.{name}", ns),
                ua.QualifiedName(name, ns),
                amhs,
                ref=ua.ObjectIds.Organizes,
                description=f"OHT vehicle {i + 1}",
            )
            for tag, (var, vt) in VEHICLE_VARIABLES.items():
                self.nodes[(i, tag)] = b.var(
                    node_id(vehicle_node_id(i, tag), ns),
                    ua.QualifiedName(var, ns),
                    obj,
                    ua.Variant(initial[tag], vt),
                    types[vt],
                )
        if self.link_ids:
            n = len(self.link_ids)
            arrays: dict[str, tuple[ua.Variant, ua.NodeId, int, str]] = {
                "link_ids": (
                    ua.Variant(self.link_ids, ua.VariantType.String, is_array=True),
                    types[ua.VariantType.String],
                    1,
                    "Rail link ids, the order of the arrays below (the plant file's)",
                ),
                "blocked_s_per_h": (
                    ua.Variant([0.0] * n, ua.VariantType.Double, is_array=True),
                    types[ua.VariantType.Double],
                    1,
                    "Seconds per hour vehicles with a move stood blocked on each link's section",
                ),
                "entries_per_h": (
                    ua.Variant([0.0] * n, ua.VariantType.Double, is_array=True),
                    types[ua.VariantType.Double],
                    1,
                    "Vehicles entering each link's section per hour",
                ),
                "window_s": (
                    ua.Variant(0.0, ua.VariantType.Double),
                    types[ua.VariantType.Double],
                    ua.ValueRank.Scalar,
                    "Plant seconds the rates cover (the last hour, or since the start)",
                ),
            }
            for tag, (value, dtype, rank, text) in arrays.items():
                self.congestion_nodes[tag] = b.var(
                    node_id(congestion_node_id(tag), ns),
                    ua.QualifiedName(CONGESTION_VARIABLES[tag], ns),
                    amhs,
                    value,
                    dtype,
                    value_rank=rank,
                    description=text,
                )
        return b.flush(self.server)

    def congestion_due(self, t: float) -> bool:
        """True when the congestion arrays are published and due at plant time ``t``."""
        return bool(self.congestion_nodes) and t - self._congestion_t >= MIN_WRITE_S

    async def write_congestion(
        self, t: float, entries: np.ndarray, blocked: np.ndarray, now: datetime | None = None
    ) -> bool:
        """Publish the per-link rates over the window ending at plant time ``t`` from the
        cumulative per-link counters; at most every :data:`MIN_WRITE_S` plant seconds.

        Returns True if written.
        """
        if not self.congestion_due(t):
            return False
        self._congestion_t = t
        now = now or datetime.now(UTC)
        e, bl, span = self.window.rates(t, entries, blocked)
        D = ua.VariantType.Double
        values = {
            "blocked_s_per_h": ua.Variant([float(x) for x in bl], D, is_array=True),
            "entries_per_h": ua.Variant([float(x) for x in e], D, is_array=True),
            "window_s": ua.Variant(float(span), D),
        }
        for tag, v in values.items():
            await self._write(
                self.congestion_nodes[tag],
                ua.AttributeIds.Value,
                adapter.shared_value(v, now, now),
            )
        return True

    async def write(self, rows: Sequence[VehicleRow], now: datetime | None = None) -> int:
        """Write the vehicles' values that changed since the last call; return how many."""
        now = now or datetime.now(UTC)
        n = 0
        for i, x, y, state, carrier in rows:
            if i >= self.vehicles:
                continue
            for tag, value in (("x", x), ("y", y), ("state", state), ("carrier", carrier)):
                key = (i, tag)
                if self.written.get(key) == value:
                    continue
                self.written[key] = value
                vt = VEHICLE_VARIABLES[tag][1]
                await self._write(
                    self.nodes[key],
                    ua.AttributeIds.Value,
                    adapter.shared_value(ua.Variant(value, vt), now, now),
                )
                n += 1
        return n
