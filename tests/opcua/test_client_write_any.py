"""Writes to variables declared BaseDataType (any Variant), against a real asyncua server.

The client sends the Variant type of the value the node holds now, or, when it holds
nothing, the tag's type from the plant file; a held type the client cannot write, an array,
or a standard tag with neither is refused, naming the node. What the server stored (or, when
it refused, what its log says it received) shows the Variant type the client sent.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
from _client_support import NS, free_port, plant_spec, start_server
from asyncua import Client, ua

from factory_twin.model.schema import PlantSpec
from factory_twin.opcua.client import PlantClient, WriteFailed, WriteRefused

pytestmark = pytest.mark.timeout(90)
shared = pytest.mark.asyncio(loop_scope="module")

# tag: (its type in the plant file, the Variant its BaseDataType node holds at start)
ANY: dict[str, tuple[str, ua.Variant]] = {
    "level": ("int", ua.Variant(3, ua.VariantType.Int16)),
    "label": ("string", ua.Variant(ua.LocalizedText("idle"), ua.VariantType.LocalizedText)),
    "setpoint": ("float", ua.Variant()),  # empty
    "when": ("float", ua.Variant(datetime(2026, 1, 2, tzinfo=UTC), ua.VariantType.DateTime)),
    "spectrum": ("float", ua.Variant([1.0, 2.0], ua.VariantType.Double)),
}
# a standard tag (no type in the plant file) bound to an empty BaseDataType node
STANDARD = "recipe"


def _spec(port: int) -> PlantSpec:
    text = plant_spec(port, writes=True).model_dump(mode="json")
    text["equipment_types"][0]["tags"] += [
        {"name": n, "data_type": t} for n, (t, _) in ANY.items()
    ]
    text["equipment"][0]["opcua"]["tags"] = {
        n: {"node_id": f"nsu={NS};s=Any.{n}"} for n in [*ANY, STANDARD]
    }
    return PlantSpec.model_validate(text)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def server() -> Any:
    port = free_port()
    srv = await start_server(_spec(port), port)
    idx = srv.idx
    folder = await srv.server.nodes.objects.add_folder(ua.NodeId("Any", idx), f"{idx}:Any")
    base = ua.NodeId(ua.ObjectIds.BaseDataType)
    for name, held in [*((n, v) for n, (_, v) in ANY.items()), (STANDARD, ua.Variant())]:
        var = await folder.add_variable(
            ua.NodeId(f"Any.{name}", idx), f"{idx}:{name}", held, datatype=base
        )
        await var.set_writable()
    yield srv
    await srv.stop()


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def client(server: Any) -> Any:
    c = PlantClient(server.spec, publishing_ms=50, sampling_ms=50)
    await c.start()
    assert await c.wait_connected(10), c.status()
    assert set(ANY) | {STANDARD} <= {t for eq, t in c.bound() if eq == "ETCH-01"}
    yield c
    await c.stop()


def _stored(server: Any, name: str) -> ua.Variant:
    """The Variant the server stored for Any.<name> (read in the server's address space)."""
    dv = server.server.read_attribute_value(ua.NodeId(f"Any.{name}", server.idx))
    return dv.Value


@shared
async def test_writes_carry_the_type_the_node_holds(server: Any, client: Any) -> None:
    cases = [
        ("level", 9, ua.VariantType.Int16, 9),
        ("label", "running", ua.VariantType.LocalizedText, ua.LocalizedText("running")),
    ]
    for name, value, vtype, stored in cases:
        await client.write("ETCH-01", name, value, user="alice")
        got = _stored(server, name)
        assert (got.VariantType, got.Value) == (vtype, stored), name
    async with Client(server.url) as other:  # and a second client reads the same
        got = await other.get_node(ua.NodeId("Any.level", server.idx)).read_data_value()
    assert (got.Value.VariantType, got.Value.Value) == (ua.VariantType.Int16, 9)
    log = client.write_log()
    assert [(r.tag, r.result) for r in log[-2:]] == [("level", "Good"), ("label", "Good")]
    assert log[-1].node_id == f"ns={server.idx};s=Any.label"


@shared
async def test_an_empty_node_gets_the_tag_type_which_asyncua_refuses(
    server: Any, client: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """The node holds nothing: the client sends the plant file's type (float: a Double).
    An asyncua server takes an empty BaseDataType variable to expect the Variant type
    numbered like the DataType (24, "Variant"), so it refuses every write; its log shows
    what it received. (The node-opcua server takes it: test_client_odd_server.py.)"""
    caplog.set_level(logging.WARNING, logger="asyncua.server.address_space")
    with pytest.raises(
        WriteFailed, match=r"write to ETCH-01.setpoint failed: the server refused it "
        r"\(BadTypeMismatch\)"
    ):  # fmt: skip
        await client.write("ETCH-01", "setpoint", 2, user="alice")
    received = [
        tuple(r.args or ()) for r in caplog.records if r.msg.startswith("Write refused: Variant")
    ]
    assert [a[1:] for a in received] == [(ua.VariantType.Double, ua.VariantType.Variant)]
    assert received[0][0].Value == 2.0
    assert _stored(server, "setpoint").VariantType is ua.VariantType.Null
    rec = client.write_log()[-1]
    assert (rec.tag, rec.value) == ("setpoint", 2.0)
    assert rec.result == "the server refused it (BadTypeMismatch)"


@shared
async def test_writes_refused_naming_the_node_when_no_type_fits(server: Any, client: Any) -> None:
    idx = server.idx
    node = f"node ns={idx};s=Any"
    refusals = [
        ("when", 1.0, f"{node}.when is declared BaseDataType (any type) and holds a value of "
         "type DateTime, which factory_twin cannot write"),
        ("spectrum", 1.0, f"{node}.spectrum is declared BaseDataType (any type) and holds an "
         "array (Double[]); only single values can be written"),
        (STANDARD, "etch-7", f"{node}.{STANDARD} is declared BaseDataType (any type) and "
         f"holds no value yet, and the plant file gives ETCH-01.{STANDARD} no data type"),
        ("level", 70000, "70000 does not fit in Int16 [-32768, 32767]"),  # the type held
    ]  # fmt: skip
    before = {n: _stored(server, n) for n, *_ in refusals}
    for name, value, why in refusals:
        with pytest.raises(WriteRefused) as exc:
            await client.write("ETCH-01", name, value, user="bob")
        assert str(exc.value) == f"write to ETCH-01.{name} refused: {why}"
    for name, *_ in refusals:
        assert _stored(server, name) == before[name], name
    log = client.write_log()[-4:]
    assert all(r.user == "bob" and r.result.startswith("refused: ") for r in log)
    assert [r.node_id for r in log] == [f"ns={idx};s=Any.{n}" for n, *_ in refusals]
