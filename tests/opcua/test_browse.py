"""`factory-twin browse` and `factory-twin import` against our running plant simulator server."""

from __future__ import annotations

import asyncio

import pytest
from _client_support import free_port, wait_for

from factory_twin.__main__ import main
from factory_twin.model.config import load_plant
from factory_twin.model.events import TagUpdate
from factory_twin.model.schema import PlantSpec
from factory_twin.opcua.browse import BrowseNode
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
    assert f"cannot reach 127.0.0.1:{port}: connection refused" in err
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


def _child(n: BrowseNode, name: str) -> BrowseNode:
    c = n.child(name)
    assert c is not None, f"{n.name} has no child {name}"
    return c


async def test_browse_shows_a_node_under_each_parent_and_import_takes_it_once(
    tmp_path, capsys
) -> None:
    """Press 1 sits in 'By area' and is organized by 'By type' too, and refers back to its
    folder (a loop); Gauge, first met right under Site, is also referenced from deep inside
    'By area'. Browse lists each at every parent (later places as one reference line, never
    expanded again) and ends; import makes each machine once."""
    from asyncua import Server, ua

    from factory_twin.opcua.browse import browse_tree
    from factory_twin.opcua.client_common import ConnectOptions, connect, disconnect_quietly

    port = free_port()
    url = f"opc.tcp://127.0.0.1:{port}/twice/"
    srv = Server()
    await srv.init()
    srv.set_endpoint(url)
    idx = await srv.register_namespace("urn:example:twice")
    site = await srv.nodes.objects.add_folder(f"ns={idx};s=Site", f"{idx}:Site")
    by_area = await site.add_folder(f"ns={idx};s=ByArea", f"{idx}:By area")
    by_type = await site.add_folder(f"ns={idx};s=ByType", f"{idx}:By type")
    press = await by_area.add_object(f"ns={idx};s=Press1", f"{idx}:Press 1")
    await press.add_variable(f"ns={idx};s=Press1.Force", f"{idx}:Force", 12.5)
    await press.add_variable(
        f"ns={idx};s=Press1.Count", f"{idx}:Count", ua.Variant(3, ua.VariantType.Int32)
    )
    oven = await by_area.add_object(f"ns={idx};s=Oven", f"{idx}:Oven")
    await oven.add_variable(f"ns={idx};s=Oven.Temp", f"{idx}:Temp", 180.0)
    gauge = await site.add_object(f"ns={idx};s=Gauge", f"{idx}:Gauge")
    await gauge.add_variable(f"ns={idx};s=Gauge.Level", f"{idx}:Level", 0.5)
    await by_type.add_reference(press, ua.ObjectIds.Organizes)  # a second parent
    # a loop back to its folder (HasComponent: asyncua refuses an Organizes both ways)
    await press.add_reference(by_area, ua.ObjectIds.HasComponent)
    await press.add_reference(gauge, ua.ObjectIds.Organizes)  # Gauge again, deeper
    await press.add_reference(gauge, ua.ObjectIds.HasComponent)  # twice from one parent
    await srv.start()
    try:
        # the tree: each node browsed once, repeats at their later places, no deeper
        client = await connect(ConnectOptions(url))
        try:
            tree = await browse_tree(client, None, 50)
        finally:
            await disconnect_quietly(client)
        ids = [n.node_id.to_string() for n in tree.walk()]
        assert len(ids) == len(set(ids))
        site_n = _child(tree, "Site")
        press_n = _child(_child(site_n, "By area"), "Press 1")
        by_type_n = _child(site_n, "By type")
        again = by_type_n.children
        assert [c.name for c in again] == ["Press 1"] and again[0].repeat_of is press_n
        assert again[0].children == [] and not again[0].truncated
        assert by_type_n.unique_children == [] and by_type_n.child("Press 1") is None
        assert [c.name for c in press_n.children] == ["Force", "Count", "By area", "Gauge"]

        # the command: text lines, a repeat says where the node is shown in full
        assert await cli("browse", url, "--depth", "50") == 0
        out = capsys.readouterr().out.splitlines()
        n = f"ns={idx}"
        site_at = out.index(f"  Object {idx}:Site  [{n};s=Site]")
        assert out[site_at + 1 :] == [
            f"    Object {idx}:By area  [{n};s=ByArea]",
            f"      Object {idx}:Press 1  [{n};s=Press1]",
            f"        Variable {idx}:Force  [{n};s=Press1.Force]  Double = 12.5",
            f"        Variable {idx}:Count  [{n};s=Press1.Count]  Int32 = 3",
            f"        Object {idx}:By area  [{n};s=ByArea]  (shown above)",
            f"        Object {idx}:Gauge  [{n};s=Gauge]  (shown below)",
            f"      Object {idx}:Oven  [{n};s=Oven]",
            f"        Variable {idx}:Temp  [{n};s=Oven.Temp]  Double = 180.0",
            f"    Object {idx}:By type  [{n};s=ByType]",
            f"      Object {idx}:Press 1  [{n};s=Press1]  (shown above)",
            f"    Object {idx}:Gauge  [{n};s=Gauge]",
            f"      Variable {idx}:Level  [{n};s=Gauge.Level]  Double = 0.5",
        ]
        # a filter keeps every place of a match
        assert await cli("browse", url, "--depth", "50", "--filter", "press 1") == 0
        hits = [x for x in capsys.readouterr().out.splitlines() if "s=Press1]" in x]
        assert [x.endswith("(shown above)") for x in hits] == [False, True]
        # starting inside the loop ends too, its folder a repeat under it
        assert await cli("browse", url, "--root", f"{n};s=Press1", "--depth", "50") == 0
        assert capsys.readouterr().out.splitlines() == [
            f"Object {idx}:Press 1  [{n};s=Press1]",
            f"  Variable {idx}:Force  [{n};s=Press1.Force]  Double = 12.5",
            f"  Variable {idx}:Count  [{n};s=Press1.Count]  Int32 = 3",
            f"  Object {idx}:By area  [{n};s=ByArea]",
            f"    Object {idx}:Press 1  [{n};s=Press1]  (shown above)",
            f"    Object {idx}:Oven  [{n};s=Oven]",
            f"      Variable {idx}:Temp  [{n};s=Oven.Temp]  Double = 180.0",
            f"  Object {idx}:Gauge  [{n};s=Gauge]",
            f"    Variable {idx}:Level  [{n};s=Gauge.Level]  Double = 0.5",
        ]

        # import: each machine once, bound to its own variables
        plant = tmp_path / "twice.yaml"
        assert await cli("import", url, "-o", str(plant), "--depth", "50") == 0
        capsys.readouterr()
        spec = load_plant(plant).spec
        assert sorted(e.id for e in spec.equipment) == ["Gauge", "Oven", "Press_1"]
        press_eq = spec.tool("Press_1")
        assert press_eq.opcua is not None
        assert {k: b.node_id for k, b in press_eq.opcua.tags.items()} == {
            "Force": "nsu=urn:example:twice;s=Press1.Force",
            "Count": "nsu=urn:example:twice;s=Press1.Count",
        }
    finally:
        await srv.stop()


async def test_import_takes_a_machine_first_met_outside_the_machines_folder(tmp_path) -> None:
    """'Lines' (browsed before 'Machines') organizes Etch 1 too: in the tree Etch 1 is shown
    in full under Lines and is a repeat in Machines; import still finds every machine of the
    Machines folder, once, and only those."""
    from asyncua import Server, ua

    port = free_port()
    url = f"opc.tcp://127.0.0.1:{port}/lines/"
    srv = Server()
    await srv.init()
    srv.set_endpoint(url)
    idx = await srv.register_namespace("urn:example:lines")
    lines = await srv.nodes.objects.add_folder(f"ns={idx};s=Lines", f"{idx}:Lines")
    machines = await srv.nodes.objects.add_folder(f"ns={idx};s=Machines", f"{idx}:Machines")
    etch = await lines.add_object(f"ns={idx};s=Etch1", f"{idx}:Etch 1")
    await etch.add_variable(f"ns={idx};s=Etch1.Pressure", f"{idx}:Pressure", 2.5)
    await machines.add_reference(etch, ua.ObjectIds.Organizes)
    lith = await machines.add_object(f"ns={idx};s=Litho1", f"{idx}:Litho 1")
    await lith.add_variable(f"ns={idx};s=Litho1.Dose", f"{idx}:Dose", 30.0)
    other = await lines.add_object(f"ns={idx};s=Conveyor", f"{idx}:Conveyor")
    await other.add_variable(f"ns={idx};s=Conveyor.Speed", f"{idx}:Speed", 1.0)
    await srv.start()
    try:
        plant = tmp_path / "lines.yaml"
        assert await cli("import", url, "-o", str(plant), "--depth", "20") == 0
        spec = load_plant(plant).spec
        assert sorted(e.id for e in spec.equipment) == ["Etch_1", "Litho_1"]
        etch_eq = spec.tool("Etch_1")
        assert etch_eq.opcua is not None
        assert {k: b.node_id for k, b in etch_eq.opcua.tags.items()} == {
            "Pressure": "nsu=urn:example:lines;s=Etch1.Pressure"
        }
    finally:
        await srv.stop()
