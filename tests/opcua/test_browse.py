"""`factory-twin browse` and `factory-twin import` against our running plant simulator server."""

from __future__ import annotations

import asyncio

import pytest
from _client_support import free_port, wait_for

from factory_twin.__main__ import main
from factory_twin.model.config import load_plant
from factory_twin.model.events import TagUpdate
from factory_twin.model.schema import PlantSpec
from factory_twin.opcua.client import PlantClient

pytestmark = [pytest.mark.timeout(120), pytest.mark.asyncio(loop_scope="module")]


async def cli(*argv: str) -> int:
    """Run the CLI in a worker thread (commands run their own event loop)."""
    return await asyncio.to_thread(main, list(argv))


async def test_browse_prints_tree_with_ids_types_values(
    demo_server, demo_spec: PlantSpec, capsys
) -> None:
    url = demo_server.endpoint_url
    eq = next(e for e in demo_spec.equipment if e.opcua is not None)
    tag = demo_spec.equipment_type(eq.type).tags[0]
    assert await cli("browse", url, "--depth", "4") == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].startswith("Object Objects  [i=85]")
    assert any(line.strip().startswith("Object") and "Machines" in line for line in out)
    node = demo_server.node_id(eq.id, tag.name)
    line = next(x for x in out if f"[{node}]" in x)
    assert (
        line.startswith(" " * 8 + "Variable ") and f":{tag.name}" in line and "Double = " in line
    )
    assert any("Method" in x and f"{eq.id}.Hold]" in x for x in out)
    # depth limits the tree; filter keeps matches and their ancestors only
    assert await cli("browse", url, "--depth", "1") == 0
    shallow = capsys.readouterr().out.splitlines()
    assert all(not x.startswith("    ") for x in shallow)
    assert (
        await cli("browse", url, "--depth", "4", "--filter", f"{eq.id}.parameters.{tag.name}") == 0
    )
    filtered = capsys.readouterr().out.splitlines()
    assert filtered[-1].strip().startswith("Variable") and node in filtered[-1]
    assert len(filtered) == 5  # Objects / Machines / tool / Parameters / tag


async def test_browse_errors_are_clear(capsys) -> None:
    port = free_port()
    assert await cli("browse", f"opc.tcp://127.0.0.1:{port}/x/") == 1
    err = capsys.readouterr().err
    assert f"cannot connect to opc.tcp://127.0.0.1:{port}/x/: connection refused" in err
    assert "Traceback" not in err
    assert await cli("browse", "http://example.com/") == 2  # bad input
    assert "an OPC UA endpoint looks like opc.tcp://" in capsys.readouterr().err


async def test_import_writes_a_plant_that_validates_and_binds(
    demo_server, demo_spec: PlantSpec, tmp_path, capsys
) -> None:
    out = tmp_path / "imported.yaml"
    assert (
        await cli("import", demo_server.endpoint_url, "-o", str(out), "--site-name", "Copy") == 0
    )
    msg = capsys.readouterr().out
    served = [e for e in demo_spec.equipment if e.opcua is not None]
    assert f"{len(served)} machines" in msg
    assert await cli("validate", str(out)) == 0
    spec = load_plant(out).spec
    assert spec.site.name == "Copy"
    assert {e.id for e in spec.equipment} == {e.id for e in served}
    # one type per distinct tag set; units and ranges taken from the server
    orig_types = {demo_spec.tool(e.id).type for e in served}
    assert len(spec.equipment_types) <= len(orig_types)
    eq0 = served[0]
    t_orig = demo_spec.equipment_type(eq0.type)
    t_new = spec.equipment_type(spec.tool(eq0.id).type)
    assert [t.name for t in t_new.tags] == [t.name for t in t_orig.tags]
    for a, b in zip(t_orig.tags, t_new.tags, strict=True):
        assert a.data_type == b.data_type
        if a.data_type.value == "float" and a.unit:
            assert b.unit, f"no unit imported for {a.name}"
            assert b.normal_range is not None
    # it binds: every tag, no problems, values arrive
    client = PlantClient(spec, publishing_ms=50, sampling_ms=50)
    await client.start()
    try:
        assert await client.wait_connected(20), client.status()
        assert client.problems() == []
        n = sum(len(spec.equipment_type(e.type).tags) for e in spec.equipment)
        process = {
            k
            for k in client.bound()
            if k[1] not in ("state", "lot", "recipe", "wafer_count", "operation_mode")
        }
        assert len(process) == n
        # standard machine tags are found through the State folder convention
        assert (spec.equipment[0].id, "state") in client.bound()
        got: list = []
        assert await wait_for(
            lambda: got.extend(client.drain()) or any(isinstance(e, TagUpdate) for e in got), 10
        )
    finally:
        await client.stop()


async def test_import_of_a_generic_server_without_machines_folder(tmp_path) -> None:
    """Objects holding variables become machines; same variable sets share a type."""
    from asyncua import Server, ua

    port = free_port()
    srv = Server()
    await srv.init()
    srv.set_endpoint(f"opc.tcp://127.0.0.1:{port}/generic/")
    idx = await srv.register_namespace("urn:example:line")
    line = await srv.nodes.objects.add_folder(idx, "Line 1")
    for name in ("Press 1", "Press 2"):
        press = await line.add_object(idx, name)
        force = await press.add_variable(idx, "Force [kN]", 0.0)
        await force.add_property(idx, "EURange", ua.Range(Low=0.0, High=250.0))
        await force.add_property(
            idx, "EngineeringUnits", ua.EUInformation(DisplayName=ua.LocalizedText("kN"))
        )
        await press.add_variable(idx, "Count", ua.Variant(0, ua.VariantType.Int32))
    oven = await srv.nodes.objects.add_object(idx, "Oven")
    await oven.add_variable(idx, "Temp", 20.0)
    await srv.start()
    try:
        out = tmp_path / "line.yaml"
        assert await cli("import", f"opc.tcp://127.0.0.1:{port}/generic/", "-o", str(out)) == 0
        spec = load_plant(out).spec
        assert sorted(e.id for e in spec.equipment) == ["Oven", "Press_1", "Press_2"]
        assert len(spec.equipment_types) == 2
        press_t = spec.equipment_type(spec.tool("Press_1").type)
        assert spec.tool("Press_2").type == press_t.id
        force = press_t.tags[0]
        assert (force.name, force.unit, force.normal_range) == ("Force_kN", "kN", (0.0, 250.0))
        assert press_t.tags[1].data_type.value == "int"
        client = PlantClient(spec, publishing_ms=50, sampling_ms=50)
        await client.start()
        try:
            assert await client.wait_connected(20), client.status()
            assert client.problems() == []
            assert {k for k in client.bound() if k[0] == "Press_1"} == {
                ("Press_1", "Force_kN"),
                ("Press_1", "Count"),
            }
        finally:
            await client.stop()
    finally:
        await srv.stop()
