"""open62541 (a third, independent OPC UA stack, in C) as a client of our plant simulator server.

The demo fab (plant_configs/demo_fab.yaml) is served on 127.0.0.1 by an in-process
PlantServer fed through ``apply()``, as in test_node_client.py; the client is
tests/interop/o6_client.py, an ``o6`` (open62541 for Python) process driven by JSON lines
(tests/_o6_tools.py: o6 is never imported here, its Script Mode ends a process after ten
minutes). The client browses Objects/Machines, reads every machine's standard tags and compares
values and data types with what our server holds, reads EURange and EngineeringUnits,
subscribes to data changes and to alarm events, and calls the machine methods.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from _o6_tools import O6Peer, free_port
from asyncua import ua

from factory_twin.model.config import load_plant
from factory_twin.model.events import E10State, StateChange, TagUpdate
from factory_twin.model.schema import PlantSpec
from factory_twin.opcua.client import STANDARD_TAGS
from factory_twin.opcua.client_common import portable_node_id
from factory_twin.opcua.server import NAMESPACE_URI, PlantServer
from factory_twin.opcua.server.address_space import eu_range

HERE = Path(__file__).resolve().parent
DEMO_PLANT = HERE.parents[1] / "plant_configs" / "demo_fab.yaml"
NS = f"nsu={NAMESPACE_URI}"
LEAVES = [leaf for leaf, _ in STANDARD_TAGS.values()]
GOOD = 0  # status codes are compared as numbers across the two stacks

pytestmark = [
    pytest.mark.interop,
    pytest.mark.timeout(120),
    pytest.mark.asyncio(loop_scope="module"),
]


@pytest.fixture(scope="module")
def spec() -> PlantSpec:
    return load_plant(DEMO_PLANT).spec


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant(spec: PlantSpec) -> AsyncIterator[PlantServer]:
    """The demo fab on a free port, with a few tools given distinct state values."""
    server = PlantServer(spec, endpoint=f"opc.tcp://127.0.0.1:{free_port()}/factory_twin/")
    async with server:
        await server.apply(
            [
                StateChange("ETCH-01", E10State.PRODUCTIVE, 10.0),
                TagUpdate("ETCH-01", "lot", "LOT-0042", 10.0),
                TagUpdate("ETCH-01", "recipe", "ETCH-OX-5", 10.0),
                TagUpdate("ETCH-01", "wafer_count", 17, 10.0),
                StateChange("CMP-02", E10State.SCHEDULED_DOWN, 11.0),
            ]
        )
        yield server


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def o6c(
    plant: PlantServer, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[O6Peer]:
    """The open62541 client process, connected to ``plant``."""
    peer = O6Peer("o6_client.py", plant.endpoint_url, cwd=tmp_path_factory.mktemp("o6_client"))
    try:
        # the server runs on this loop: wait in a thread so it keeps answering
        await asyncio.to_thread(peer.wait_ready)
        yield peer
    finally:
        await asyncio.to_thread(peer.stop, cmd="quit", id=0)


async def ask(peer: O6Peer, cmd: str, **args: Any) -> dict[str, Any]:
    """Ask the o6 client while our server keeps serving on this loop."""
    return await asyncio.to_thread(peer.request, cmd, **args)


async def wait_lines(peer: O6Peer, key: str, pred: Any, timeout: float) -> list[dict[str, Any]]:
    """Return the lines with ``key`` once one satisfies ``pred`` (or all of them at timeout)."""
    deadline = time.monotonic() + timeout
    while True:
        lines = peer.seen(key)
        if any(pred(x) for x in lines) or time.monotonic() > deadline:
            return lines
        await asyncio.sleep(0.05)


async def _server_says(plant: PlantServer, nodes: list[str], attr: str) -> list[Any]:
    """What our own server holds: (value, Variant type name) or the DataType, portably."""
    srv = plant.server
    namespaces = list(await srv.get_namespace_array())
    out: list[Any] = []
    for text in nodes:
        node = srv.get_node(f"ns={plant.namespace_index};{text.split(';', 1)[1]}")
        if attr == "Value":
            dv = await node.read_data_value()
            out.append((dv.Value.Value, dv.Value.VariantType.name))
        else:
            out.append(portable_node_id(await node.read_data_type(), namespaces))
    return out


async def test_o6_browses_every_machine_and_reads_its_standard_tags(
    plant: PlantServer, spec: PlantSpec, o6c: O6Peer
) -> None:
    got = await ask(o6c, "machines")
    # Machinery's Machines folder (the companion nodesets are loaded) holds every tool
    assert plant.companion_specs_loaded
    assert got["folder"] == "nsu=http://opcfoundation.org/UA/Machinery/;i=1001"
    ids = [e.id for e in spec.equipment]
    assert sorted(m["name"] for m in got["machines"]) == sorted(ids)
    for m in got["machines"]:
        assert m["node"] == f"{NS};s={m['name']}" and m["class"] == 1  # Object
        assert m["type"] == f"{NS};s=FabToolType"

    nodes = [f"{NS};s={eq}.State.{leaf}" for eq in ids for leaf in LEAVES]
    values = (await ask(o6c, "read", nodes=nodes))["results"]
    types = (await ask(o6c, "read", nodes=nodes, attr="DataType"))["results"]
    ours = await _server_says(plant, nodes, "Value")
    our_types = await _server_says(plant, nodes, "DataType")
    for node, got_v, got_t, (value, vtype), dtype in zip(
        nodes, values, types, ours, our_types, strict=True
    ):
        assert got_v["status"] == GOOD and got_t["status"] == GOOD, node
        assert (got_v["value"], got_v["type"]) == (value, vtype), node
        assert got_t["value"] == dtype, node
    by_node = {n: r["value"] for n, r in zip(nodes, values, strict=True)}
    # what the server was told arrived, as the types the address space declares
    assert by_node[f"{NS};s=ETCH-01.State.E10State"] == E10State.PRODUCTIVE.code
    assert by_node[f"{NS};s=ETCH-01.State.CurrentLot"] == "LOT-0042"
    assert by_node[f"{NS};s=ETCH-01.State.Recipe"] == "ETCH-OX-5"
    assert by_node[f"{NS};s=ETCH-01.State.WaferCount"] == 17
    assert by_node[f"{NS};s=CMP-02.State.E10State"] == E10State.SCHEDULED_DOWN.code
    assert by_node[f"{NS};s=CMP-02.State.OperationMode"] == 1  # Maintenance
    n = len(LEAVES)  # the first machine's standard tags
    kinds = {
        leaf: (v["type"], t["value"])
        for leaf, v, t in zip(LEAVES, values[:n], types[:n], strict=True)
    }
    assert kinds == {
        "E10State": ("Int32", f"{NS};s=E10StateEnumeration"),
        "CurrentLot": ("String", "i=12"),
        "Recipe": ("String", "i=12"),
        "WaferCount": ("UInt32", "i=7"),
        "OperationMode": ("Int32", f"{NS};s=MachineryOperationModeEnumeration"),
    }


async def test_o6_reads_eurange_and_engineering_units(
    plant: PlantServer, spec: PlantSpec, o6c: O6Peer
) -> None:
    var = f"{NS};s=ETCH-01.Parameters.chamber_pressure"
    props = (await ask(o6c, "browse", node=var))["children"]
    by_name = {p["name"]: p for p in props}
    assert set(by_name) == {"EURange", "EngineeringUnits"}
    assert all(p["ref"] == "i=46" and p["type"] == "i=68" for p in props)  # HasProperty
    rng, eu = (await ask(o6c, "read", nodes=[var + ".EURange", var + ".EngineeringUnits"]))[
        "results"
    ]
    assert (rng["type"], eu["type"]) == ("Range", "EUInformation")
    (our_rng, _), (our_eu, _) = await _server_says(
        plant, [var + ".EURange", var + ".EngineeringUnits"], "Value"
    )
    assert rng["value"] == {"low": our_rng.Low, "high": our_rng.High}
    tspec = spec.equipment_type("etch_mainframe").tag("chamber_pressure")
    assert (rng["value"]["low"], rng["value"]["high"]) == eu_range(tspec)  # the normal range
    assert eu["value"] == {
        "namespaceUri": our_eu.NamespaceUri,
        "unitId": our_eu.UnitId,
        "displayName": our_eu.DisplayName.Text,
        "description": our_eu.Description.Text,
    }
    assert tspec.unit == "Pa"
    assert eu["value"]["displayName"] == "Pa"
    assert eu["value"]["unitId"] == int.from_bytes(b"PAL", "big")  # UNECE code PAL


async def test_o6_subscription_gets_state_and_process_changes(
    plant: PlantServer, o6c: O6Peer
) -> None:
    state = f"{NS};s=ETCH-02.State.E10State"
    power = f"{NS};s=ETCH-02.Parameters.rf_power"
    await ask(o6c, "monitor", nodes=[state, power])
    first = await wait_lines(o6c, "data", lambda x: x["data"] == power, 10)
    assert {x["data"] for x in first} >= {state, power}, first
    t0 = time.monotonic()
    await plant.apply(
        [
            StateChange("ETCH-02", E10State.PRODUCTIVE, 20.0),
            TagUpdate("ETCH-02", "rf_power", 555.5, 20.0),
        ]
    )

    def arrived(x: dict[str, Any]) -> bool:
        return x["data"] == power and x["value"] == 555.5

    lines = await wait_lines(o6c, "data", arrived, 10)
    took = time.monotonic() - t0
    assert any(arrived(x) for x in lines), lines
    states = [x for x in lines if x["data"] == state]
    assert states[-1]["value"] == E10State.PRODUCTIVE.code and states[-1]["type"] == "Int32"
    assert [x["type"] for x in lines if x["data"] == power][-1] == "Double"
    assert took < 5.0, f"the changes took {took:.1f} s to reach the o6 client"


async def test_o6_event_subscription_gets_the_alarm(
    plant: PlantServer, spec: PlantSpec, o6c: O6Peer
) -> None:
    eq, tag = "ETCH-03", "chamber_pressure"
    tspec = spec.equipment_type("etch_mainframe").tag(tag)
    assert tspec.alarms is not None and tspec.alarms.hi is not None
    states = tspec.alarms.active_states("hi", tspec.idle_value)
    assert states is None or E10State.PRODUCTIVE in states
    # events from the Server object and from the machine (it is an event notifier too)
    await ask(o6c, "events", node="i=2253")
    await ask(o6c, "events", node=f"{NS};s={eq}")
    await plant.apply([StateChange(eq, E10State.PRODUCTIVE, 30.0)])
    await plant.apply(
        [TagUpdate(eq, tag, tspec.alarms.hi + 1.0, 30.0 + tspec.alarms.settle_s + 5)]
    )

    def ours(x: dict[str, Any]) -> bool:
        return (
            x["event"].get("SourceName") == eq and x["event"].get("ConditionName") == f"{tag}.hi"
        )

    lines = await wait_lines(o6c, "event", ours, 10)
    events = [x["event"] for x in lines if ours(x)]
    assert len(events) >= 2, lines  # one from the Server object, one from the machine
    ev = events[0]
    assert ev["Severity"] == tspec.alarms.priority_of("hi").severity
    assert ev["Message"].startswith(f"{tag}.hi: ")
    assert ev["SourceNode"] == f"{NS};s={eq}"
    assert ev["EventType"] == f"i={ua.ObjectIds.ExclusiveLimitAlarmType}"
    assert ev["ActiveState/Id"] is True and ev["AckedState/Id"] is False
    assert ev["Retain"] is True and isinstance(ev["EventId"], str) and ev["EventId"]


@pytest.fixture
def calls(plant: PlantServer) -> Iterator[list[tuple[str, str]]]:
    """The method hook's calls: Resume is refused (as for a tool not held), the rest run."""
    made: list[tuple[str, str]] = []

    def hook(equipment: str, method: str) -> bool:
        made.append((equipment, method))
        return method != "Resume"

    plant.on_method = hook
    yield made
    plant.on_method = None


async def test_o6_calls_machine_methods_and_gets_refusals_as_status(
    plant: PlantServer, o6c: O6Peer, calls: list[tuple[str, str]]
) -> None:
    eq = "ETCH-04"

    async def call(obj: str, method: str, args: list[Any] | None = None) -> int:
        got = await ask(o6c, "call", obj=f"{NS};s={obj}", method=f"{NS};s={method}", args=args)
        return int(got["status"])

    assert await call(eq, f"{eq}.Hold") == GOOD
    assert await call(eq, f"{eq}.Resume") == ua.StatusCodes.BadInvalidState  # refused by the hook
    assert await call(eq, f"{eq}.ResetAlarm") == GOOD
    # another tool's method, or one with arguments it does not take: refused, never run
    assert await call("ETCH-03", f"{eq}.Hold") == ua.StatusCodes.BadMethodInvalid
    assert await call("Fab", f"{eq}.Hold") == ua.StatusCodes.BadMethodInvalid
    assert await call(eq, f"{eq}.Hold", [1]) == ua.StatusCodes.BadTooManyArguments
    assert calls == [(eq, "Hold"), (eq, "Resume"), (eq, "ResetAlarm")]
    plant.on_method = None  # no simulator behind the server: nothing to hold
    assert await call(eq, f"{eq}.Hold") == ua.StatusCodes.BadNotImplemented
    # the session is still fine after the refusals
    read = await ask(o6c, "read", nodes=[f"{NS};s={eq}.State.E10State"])
    assert read["results"][0]["status"] == GOOD
