"""Our plant client, ``browse`` and ``import`` against an open62541 server (a third, independent
OPC UA stack, in C).

The server is tests/interop/o6_server.py, an ``o6`` (open62541 for Python) process with an
Objects/Machines folder of two pumps (Double with EURange and EngineeringUnits, Int32, String,
Boolean and a BaseDataType variable), driven by JSON lines (tests/_o6_tools.py: o6 is never
imported here, its Script Mode ends a process after ten minutes). One server serves the module.
"""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from _o6_tools import O6Peer, free_port, wait_for

from factory_twin.cli import main
from factory_twin.model.config import load_plant
from factory_twin.model.events import Quality, TagUpdate
from factory_twin.model.schema import PlantSpec
from factory_twin.opcua.client import PlantClient

MACHINES = ("PUMP-1", "PUMP-2")
URI = "urn:factory-twin:test:o6-server"  # the o6 server's application namespace (ns=1)

pytestmark = [pytest.mark.interop, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def o6s(tmp_path_factory: pytest.TempPathFactory) -> Iterator[O6Peer]:
    """The open62541 server process (its URL in ``o6s.ready["ready"]``)."""
    peer = O6Peer("o6_server.py", str(free_port()), cwd=tmp_path_factory.mktemp("o6_server"))
    try:
        assert peer.wait_ready()["namespace"] == URI
        yield peer
    finally:
        peer.stop(cmd="stop")


def _cli(*argv: str) -> tuple[int, str]:
    """Run ``factory-twin ARGV`` in this process; return its exit code and output."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        rc = main(list(argv))
    text = out.getvalue()
    assert "Traceback" not in text, text
    return rc, text


@pytest.fixture(scope="module")
def imported(o6s: O6Peer, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """The plant file ``factory-twin import`` wrote from the o6 server, and what it said."""
    plant = tmp_path_factory.mktemp("o6_plant") / "pumps.yaml"
    rc, out = _cli("import", o6s.ready["ready"], "-o", str(plant))
    assert rc == 0, out
    return plant, out


def test_browse_lists_the_o6_machines_and_their_variables(o6s: O6Peer) -> None:
    rc, out = _cli("browse", o6s.ready["ready"], "--depth", "4")
    assert rc == 0, out
    lines = [ln.strip() for ln in out.splitlines()]
    assert "Object 1:Machines  [ns=1;s=Machines]" in lines
    for i, m in enumerate(MACHINES):
        assert f"Object 1:{m}  [ns=1;s={m}]" in lines
        for text in (
            f"Variable 1:Pressure  [ns=1;s={m}.Pressure]  Double = {1.5 + i}",
            f"Variable 1:Speed  [ns=1;s={m}.Speed]  Int32 = {1200 + i}",
            f"Variable 1:Mode  [ns=1;s={m}.Mode]  String = 'auto'",
            f"Variable 1:Running  [ns=1;s={m}.Running]  Boolean = True",
            f"Variable 1:Setpoint  [ns=1;s={m}.Setpoint]  BaseDataType = 2.5",
        ):
            assert text in lines, out


def test_import_binds_the_o6_machines_by_node_id_and_validates(
    imported: tuple[Path, str],
) -> None:
    plant, out = imported
    assert f"{plant}: 2 machines, 1 equipment types, 8 tags bound by node id" in out
    # the BaseDataType variables have no plant tag type: left out, and said so
    for m in MACHINES:
        assert f"{m}/Setpoint [ns=1;s={m}.Setpoint]: BaseDataType has no plant tag type" in out
    rc, said = _cli("validate", str(plant))
    assert rc == 0, said
    spec = load_plant(plant).spec
    assert [e.id for e in spec.equipment] == list(MACHINES)
    (etype,) = spec.equipment_types
    kinds = {t.name: (t.data_type.value, t.unit, t.normal_range) for t in etype.tags}
    assert kinds == {
        "Pressure": ("float", "bar", (0.0, 10.0)),  # EngineeringUnits and EURange
        "Speed": ("int", "", None),
        "Mode": ("string", "", None),
        "Running": ("bool", "", None),
    }
    for e in spec.equipment:
        assert e.type == etype.id and e.opcua is not None
        assert {t: b.node_id for t, b in e.opcua.tags.items()} == {
            t: f"nsu={URI};s={e.id}.{t}" for t in kinds
        }


def _updates(client: PlantClient, seen: list[TagUpdate]) -> list[TagUpdate]:
    seen.extend(e for e in client.drain() if isinstance(e, TagUpdate))
    return seen


async def test_plant_client_subscribes_to_o6_and_gets_its_changes(
    o6s: O6Peer, imported: tuple[Path, str]
) -> None:
    spec = load_plant(imported[0]).spec
    client = PlantClient(spec, publishing_ms=100, sampling_ms=100)
    await client.start()
    seen: list[TagUpdate] = []
    try:
        assert await client.wait_connected(30), client.status()
        assert client.problems() == []
        assert client.bound()[("PUMP-2", "Pressure")] == "ns=1;s=PUMP-2.Pressure"
        assert len(client.bound()) == 8
        # the values the server holds arrive first, typed as the plant says
        assert await wait_for(
            lambda: len({(u.equipment, u.tag) for u in _updates(client, seen)}) == 8, 15
        )
        first = {(u.equipment, u.tag): u.value for u in seen}
        assert first[("PUMP-1", "Speed")] == 1200 and first[("PUMP-1", "Mode")] == "auto"
        assert first[("PUMP-2", "Pressure")] == 2.5 and first[("PUMP-2", "Running")] is True
        # changes made by the o6 server
        for node, value, vtype in (
            ("PUMP-2.Pressure", 7.25, "Double"),
            ("PUMP-2.Speed", 1500, "Int32"),
            ("PUMP-2.Mode", "manual", "String"),
            ("PUMP-2.Running", False, "Boolean"),
        ):
            o6s.send(cmd="set", node=f"ns=1;s={node}", value=value, type=vtype)

        def changed() -> bool:
            last = {(u.equipment, u.tag): u for u in _updates(client, seen)}
            got = {t: last[("PUMP-2", t)].value for t in ("Pressure", "Speed", "Mode", "Running")}
            return got == {"Pressure": 7.25, "Speed": 1500, "Mode": "manual", "Running": False}

        assert await wait_for(changed, 10), seen[-8:]
        assert all(u.quality is Quality.GOOD for u in seen if u.equipment == "PUMP-2")
        assert [s["status"] for s in o6s.seen("set")[-4:]] == ["Good"] * 4
    finally:
        await client.stop()


def _with_wrong_types(spec: PlantSpec) -> PlantSpec:
    """PUMP-1 alone, plus a float tag on the String node and one on the BaseDataType node."""
    data = spec.model_dump(mode="json")
    data["equipment"] = [e for e in data["equipment"] if e["id"] == "PUMP-1"]
    data["equipment_types"][0]["tags"] += [{"name": "mode_number"}, {"name": "setpoint"}]
    tags = data["equipment"][0]["opcua"]["tags"]
    tags["mode_number"] = {"node_id": f"nsu={URI};s=PUMP-1.Mode"}
    tags["setpoint"] = {"node_id": f"nsu={URI};s=PUMP-1.Setpoint"}
    return PlantSpec.model_validate(data)


async def test_plant_client_reports_wrong_types_from_o6_and_keeps_working(
    o6s: O6Peer, imported: tuple[Path, str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="factory_twin.opcua.client")
    client = PlantClient(
        _with_wrong_types(load_plant(imported[0]).spec), publishing_ms=100, sampling_ms=100
    )
    await client.start()
    seen: list[TagUpdate] = []

    def last(tag: str) -> TagUpdate | None:
        return next((u for u in reversed(_updates(client, seen)) if u.tag == tag), None)

    try:
        assert await client.wait_connected(30), client.status()
        # a String node for a float tag: a problem that names node, types and consequence
        assert client.problems() == [
            "PUMP-1.mode_number: node ns=1;s=PUMP-1.Mode holds String but the plant file "
            "says float; the tag is marked bad"
        ]
        assert await wait_for(lambda: last("mode_number") is not None, 10)
        bad = last("mode_number")
        assert bad is not None and bad.quality is Quality.BAD and bad.status == "BadTypeMismatch"
        # a BaseDataType node: its Double is good; a String the server puts there is bad
        assert await wait_for(lambda: (u := last("setpoint")) is not None and u.value == 2.5, 10)
        o6s.send(cmd="set", node="ns=1;s=PUMP-1.Setpoint", value="high", type="String")
        assert await wait_for(lambda: (u := last("setpoint")) is not None and u.value is None, 10)
        bad = last("setpoint")
        assert bad is not None and bad.quality is Quality.BAD and bad.status == "BadTypeMismatch"
        assert (
            "PUMP-1.setpoint: node ns=1;s=PUMP-1.Setpoint sent a String ('high'), where the "
            "float tag needs a Double (or a Float or an integer); marked bad" in caplog.text
        )
        # the other tags keep working, and the tag recovers with a number
        o6s.send(cmd="set", node="ns=1;s=PUMP-1.Setpoint", value=3.5, type="Double")
        o6s.send(cmd="set", node="ns=1;s=PUMP-1.Pressure", value=4.75, type="Double")
        assert await wait_for(lambda: (u := last("setpoint")) is not None and u.value == 3.5, 10)
        assert await wait_for(lambda: (u := last("Pressure")) is not None and u.value == 4.75, 10)
        assert last("setpoint").quality is Quality.GOOD  # type: ignore[union-attr]
    finally:
        await client.stop()
