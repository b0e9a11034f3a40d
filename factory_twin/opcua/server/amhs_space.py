"""The OHT vehicles of a plant simulator server: ``Objects/Transport/AMHS/<vehicle>``.

When the simulated plant runs its OHT fleet (amhs model ``oht``), the server publishes one
object per vehicle (``OHT-001``, ``OHT-002``, ...) under the folder ``Transport/AMHS``, each
with the variables of :data:`VEHICLE_VARIABLES`: floor position ``X``/``Y`` (metres),
``State`` (``idle``, ``moving`` or ``loaded``) and ``CarrierId`` (the lot on board, empty
when none). Node ids are strings, ``ns=<plant>;s=Transport.AMHS.OHT-001.X``, so a client can
bind them without browsing (:func:`vehicle_node_id`).

:class:`AmhsVehicles` builds the nodes (one bulk insert) and writes the values that changed.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from asyncua import ua

from factory_twin.model.events import VEHICLE_TAGS, vehicle_name
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


def vehicle_node_id(index: int, tag: str) -> str:
    """The string identifier of a vehicle variable, e.g. ``Transport.AMHS.OHT-001.X``."""
    return f"Transport.AMHS.{vehicle_name(index)}.{VEHICLE_VARIABLES[tag][0]}"


class AmhsVehicles:
    """The vehicle objects of one server and the values last written to them."""

    def __init__(self, server: Server, ns: int, vehicles: int) -> None:
        self.server = server
        self.ns = ns
        self.vehicles = vehicles
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
        return b.flush(self.server)

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
