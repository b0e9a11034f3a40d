"""A plain asyncua server whose ETCH-01 chamber_pressure node is declared BaseDataType (any
Variant), so a test can make it send a number, then a String, then a number again.

Machines ETCH-01 and ETCH-02 under ``Objects/Machines``, each with ``Parameters/<tag>`` nodes
(string node ids ``<id>.Parameters.<tag>``) of the types given, on 127.0.0.1 and a free port.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from _client_support import free_port
from asyncua import Server, ua

from factory_twin.opcua._asyncua_adapter import stop_server
from factory_twin.opcua.client_common import PLANT_NAMESPACE

ANY_TAG = ("ETCH-01", "chamber_pressure")  # declared BaseDataType on the server


@dataclass
class AnyTypeServer:
    server: Server
    idx: int
    port: int
    url: str

    def node(self, equipment: str, tag: str) -> ua.NodeId:
        return ua.NodeId(f"{equipment}.Parameters.{tag}", self.idx)

    async def write(self, equipment: str, tag: str, value: Any, vtype: ua.VariantType) -> None:
        """Store a value of any Variant type, through the server's public API.

        asyncua refuses a value whose Variant type differs from the one the node holds, even
        on a BaseDataType variable (an emptied BaseDataType node takes only a Variant of type
        24, "Variant"). So the node is emptied (a Bad status stores a null value), declared of
        the new value's type, given the value and declared BaseDataType again, all in one step
        of the event loop: nothing is published in between, and a client's queue of one value
        per tag keeps only the newest.
        """
        nid = self.node(equipment, tag)
        now = datetime.now(UTC)
        dtype = ua.AttributeIds.DataType
        write = self.server.write_attribute_value
        if (equipment, tag) == ANY_TAG:
            bad = ua.StatusCode(ua.StatusCodes.BadWaitingForInitialData)
            await write(nid, ua.DataValue(StatusCode=bad))
            await write(nid, ua.DataValue(ua.Variant(ua.NodeId(vtype.value))), dtype)
        await write(
            nid, ua.DataValue(ua.Variant(value, vtype), SourceTimestamp=now, ServerTimestamp=now)
        )
        if (equipment, tag) == ANY_TAG:
            base = ua.NodeId(ua.ObjectIds.BaseDataType)
            await write(nid, ua.DataValue(ua.Variant(base)), dtype)
        held = (await self.server.get_node(nid).read_data_value()).Value
        assert held is not None and held.VariantType is vtype and held.Value == value


@asynccontextmanager
async def any_type_server(
    tags: dict[str, tuple[Any, ua.VariantType]],
) -> AsyncIterator[AnyTypeServer]:
    """Serve ETCH-01 and ETCH-02 with ``tags`` (name: first value, type), ETCH-01's
    chamber_pressure declared BaseDataType."""
    port = free_port()
    server = Server()
    await server.init()
    url = f"opc.tcp://127.0.0.1:{port}/test/"
    server.set_endpoint(url)
    idx = await server.register_namespace(PLANT_NAMESPACE)
    machines = await server.nodes.objects.add_folder(ua.NodeId("Machines", idx), f"{idx}:Machines")
    for eq in ("ETCH-01", "ETCH-02"):
        m = await machines.add_object(ua.NodeId(eq, idx), f"{idx}:{eq}")
        params = await m.add_folder(ua.NodeId(f"{eq}.Parameters", idx), f"{idx}:Parameters")
        for tag, (v, vtype) in tags.items():
            dt = ua.ObjectIds.BaseDataType if (eq, tag) == ANY_TAG else vtype.value
            await params.add_variable(
                ua.NodeId(f"{eq}.Parameters.{tag}", idx),
                f"{idx}:{tag}",
                ua.Variant(v, vtype),
                datatype=ua.NodeId(dt),
            )
    await server.start()
    try:
        yield AnyTypeServer(server, idx, port, url)
    finally:
        await stop_server(server)
