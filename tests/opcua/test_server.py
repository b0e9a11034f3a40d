"""The plant simulator server, browsed and driven by a plain asyncua client (no mocks)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from _server_support import WATCHDOG_S, find_free_port, wait_until
from asyncua import Client, ua
from asyncua.ua.uaerrors import UaStatusCodeError

from factory_twin.model.events import E10State, Quality, StateChange, TagUpdate
from factory_twin.model.schema import PlantSpec, TagType
from factory_twin.opcua.server import NAMESPACE_URI, SEVERITY, PlantServer
from factory_twin.opcua.server.units import eu_information

pytestmark = pytest.mark.asyncio(loop_scope="module")


class EventCollector:
    """Subscription handler that keeps every event and data change."""

    def __init__(self) -> None:
        self.events: list[Any] = []
        self.changes: list[tuple[Any, Any]] = []

    def event_notification(self, event: Any) -> None:
        self.events.append(event)

    def datachange_notification(self, node: Any, val: Any, data: Any) -> None:
        self.changes.append((node, val))

    def matching(self, **fields: Any) -> list[Any]:
        return [e for e in self.events if all(getattr(e, k, None) == v for k, v in fields.items())]


def alarmed_tag(spec: PlantSpec, equipment: str | None = None) -> tuple[str, str, float, float]:
    """Return (equipment, tag, hi, hihi) of a tag with both high limits."""
    for e in spec.equipment:
        if equipment is not None and e.id != equipment:
            continue
        for t in spec.equipment_type(e.type).tags:
            if t.alarms is not None and t.alarms.hi is not None and t.alarms.hihi is not None:
                return e.id, t.name, t.alarms.hi, t.alarms.hihi
    raise AssertionError("the plant has no tag with hi and hihi limits")


def other_alarmed_tool(spec: PlantSpec, not_these: set[str]) -> tuple[str, str, float, float]:
    for e in spec.equipment:
        if e.id in not_these:
            continue
        try:
            return alarmed_tag(spec, e.id)
        except AssertionError:
            continue
    raise AssertionError("no other alarmed tool")


async def test_address_space_follows_the_convention(
    demo_server: PlantServer, demo_spec: PlantSpec
) -> None:
    async with Client(demo_server.endpoint_url, watchdog_intervall=WATCHDOG_S) as c:
        ns = await c.get_namespace_index(NAMESPACE_URI)
        assert ns == demo_server.namespace_index
        ns_array = await c.get_namespace_array()
        # The DI/IA/Machinery nodesets ship with factory_twin: they must load.
        assert demo_server.companion_specs_loaded, demo_server.companion.problem
        assert demo_server.companion.problem == ""
        assert "http://opcfoundation.org/UA/Machinery/" in ns_array
        mach_ns = ns_array.index("http://opcfoundation.org/UA/Machinery/")
        di_ns = ns_array.index("http://opcfoundation.org/UA/DI/")

        machines = await c.nodes.objects.get_child(f"{mach_ns}:Machines")
        names = {(await n.read_browse_name()).Name for n in await machines.get_children()}
        assert names == {e.id for e in demo_spec.equipment}

        # Every tool: Identification, State and Parameters by string node id, read in bulk.
        nodes, expected = [], []
        for e in demo_spec.equipment:
            et = demo_spec.equipment_type(e.type)
            nodes.append(c.get_node(f"ns={ns};s={e.id}.Identification.Location"))
            expected.append(e.bay)
            nodes.append(c.get_node(f"ns={ns};s={e.id}.Identification.Manufacturer"))
            expected.append(ua.LocalizedText(et.manufacturer))
            nodes.append(c.get_node(f"ns={ns};s={e.id}.State.E10State"))
            expected.append(E10State.STANDBY.code)
            nodes.append(c.get_node(f"ns={ns};s={e.id}.State.E10StateName"))
            expected.append("standby")
            for t in et.tags:
                nodes.append(c.get_node(f"ns={ns};s={e.id}.Parameters.{t.name}.EURange"))
                # EURange: normal operation, idle included, widened by 3 noise sigmas
                expected.append(
                    ua.Range(
                        Low=min(
                            t.normal_range[0],
                            t.normal_range[0] if t.idle_value is None else t.idle_value,
                        )
                        - 3 * t.noise,
                        High=max(
                            t.normal_range[1],
                            t.normal_range[1] if t.idle_value is None else t.idle_value,
                        )
                        + 3 * t.noise,
                    )
                    if t.normal_range is not None
                    else None
                )
        values = await c.read_values(nodes)
        for node, got, want in zip(nodes, values, expected, strict=True):
            if want is not None:
                assert got == want, node.nodeid.to_string()

        # One tool in depth, reached by browse path (names, namespace-agnostic).
        eq, tag, _, _ = alarmed_tag(demo_spec)
        tool = await machines.get_child(f"{ns}:{eq}")
        assert tool.nodeid == ua.NodeId(eq, ns)
        ident = await tool.get_child(f"{di_ns}:Identification")
        for name, nsi in (
            ("Manufacturer", di_ns),
            ("Model", di_ns),
            ("SerialNumber", di_ns),
            ("AssetId", di_ns),
            ("Location", mach_ns),
        ):
            await ident.get_child(f"{nsi}:{name}")
        typedef = await ident.read_type_definition()
        assert typedef == ua.NodeId(1012, mach_ns)  # MachineIdentificationType
        state = await tool.get_child(f"{ns}:State")
        kids = {(await k.read_browse_name()).Name for k in await state.get_children()}
        assert kids == {
            "E10State",
            "E10StateName",
            "OperationMode",
            "CurrentLot",
            "Recipe",
            "WaferCount",
        }
        e10 = await state.get_child(f"{ns}:E10State")
        enum_strings = await c.get_node(await e10.read_data_type()).get_child("0:EnumStrings")
        assert [t.Text for t in await enum_strings.read_value()] == [
            s.value for s in sorted(E10State, key=lambda s: s.code)
        ]

        spec_tag = demo_spec.equipment_type(demo_spec.tool(eq).type).tag(tag)
        var = await tool.get_child([f"{ns}:Parameters", f"{ns}:{tag}"])
        assert var.nodeid == ua.NodeId(f"{eq}.Parameters.{tag}", ns)
        assert await var.read_type_definition() == ua.NodeId(ua.ObjectIds.AnalogItemType)
        assert await var.read_data_type() == ua.NodeId(ua.ObjectIds.Double)
        eu = await (await var.get_child("0:EngineeringUnits")).read_value()
        assert eu.UnitId == eu_information(spec_tag.unit).UnitId and eu.UnitId > 0
        methods = {(await m.read_browse_name()).Name for m in await tool.get_methods()}
        assert methods == {"Hold", "Resume", "ResetAlarm"}


async def test_values_and_states_reach_clients(
    demo_server: PlantServer, demo_spec: PlantSpec
) -> None:
    eq = demo_spec.equipment[-1].id
    et = demo_spec.equipment_type(demo_spec.tool(eq).type)
    ns = demo_server.namespace_index
    async with Client(demo_server.endpoint_url, watchdog_intervall=WATCHDOG_S) as c:
        handler = EventCollector()
        sub = await c.create_subscription(50, handler)
        e10 = c.get_node(f"ns={ns};s={eq}.State.E10State")
        await sub.subscribe_data_change([e10])
        await wait_until(lambda: handler.changes, what="initial data change")
        updates: list[Any] = [
            StateChange(eq, E10State.PRODUCTIVE, 100.0, "run"),
            TagUpdate(eq, "lot", "LOT-7", 100.0),
            TagUpdate(eq, "recipe", "R-42", 100.0),
            TagUpdate(eq, "wafer_count", 25, 100.0),
            TagUpdate(eq, "operation_mode", "Maintenance", 100.0),
        ]
        for t in et.tags:
            if t.data_type in (TagType.FLOAT, TagType.INT):
                updates.append(TagUpdate(eq, t.name, (t.normal_range or (1, 1))[0], 100.0))
        n = await demo_server.apply(updates)
        assert (
            n == len(updates) + 2
        )  # the state change writes E10State, E10StateName, OperationMode
        assert await c.get_node(f"ns={ns};s={eq}.State.E10StateName").read_value() == "productive"
        assert await c.get_node(f"ns={ns};s={eq}.State.CurrentLot").read_value() == "LOT-7"
        assert await c.get_node(f"ns={ns};s={eq}.State.Recipe").read_value() == "R-42"
        assert await c.get_node(f"ns={ns};s={eq}.State.WaferCount").read_value() == 25
        assert await c.get_node(f"ns={ns};s={eq}.State.OperationMode").read_value() == 1
        await wait_until(
            lambda: any(v == E10State.PRODUCTIVE.code for _, v in handler.changes),
            what="E10State data change",
        )
        # A bad-quality update reaches the client as a Bad status, not as a number.
        t = next(t for t in et.tags if t.data_type is TagType.FLOAT)
        await demo_server.apply([TagUpdate(eq, t.name, None, 101.0, quality=Quality.BAD)])
        dv = await c.get_node(f"ns={ns};s={eq}.Parameters.{t.name}").read_data_value(
            raise_on_bad_status=False
        )
        assert dv.StatusCode.is_bad()
        # Unknown tools and tags are ignored, not fatal.
        assert (
            await demo_server.apply(
                [TagUpdate("NOPE", "x", 1.0, 1.0), TagUpdate(eq, "nope", 1.0, 1.0)]
            )
            == 0
        )


async def test_limit_alarm_events_severity_and_acknowledge(
    demo_server: PlantServer, demo_spec: PlantSpec
) -> None:
    eq, tag, hi, hihi = alarmed_tag(demo_spec)
    async with Client(demo_server.endpoint_url, watchdog_intervall=WATCHDOG_S) as c:
        handler = EventCollector()
        sub = await c.create_subscription(50, handler)
        await sub.subscribe_alarms_and_conditions(c.nodes.server, ua.ObjectIds.AlarmConditionType)
        log_start = len(demo_server.alarm_log)

        await demo_server.apply([TagUpdate(eq, tag, hi + 0.01 * abs(hi) + 0.1, 10.0)])
        hi_events = await wait_until(
            lambda: handler.matching(ConditionName=f"{tag}.hi"), what="hi alarm"
        )
        ev = hi_events[-1]
        assert ev.SourceName == eq
        assert ev.Severity == SEVERITY["hi"]
        assert ev.Message.Text.startswith(f"{tag}.hi: ")
        assert getattr(ev, "ActiveState/Id") is True
        assert getattr(ev, "AckedState/Id") is False
        assert ev.Retain is True

        await demo_server.apply([TagUpdate(eq, tag, hihi * 1.05 + 0.1, 11.0)])
        hihi_ev = (
            await wait_until(lambda: handler.matching(ConditionName=f"{tag}.hihi"), what="hihi")
        )[-1]
        assert hihi_ev.Severity == SEVERITY["hihi"] >= 800

        # Acknowledge from the client, with the EventId last received.
        cond = c.get_node(ev.NodeId)
        ack = ua.NodeId(ua.ObjectIds.AcknowledgeableConditionType_Acknowledge)
        with pytest.raises(UaStatusCodeError, match="BadEventIdUnknown"):
            await cond.call_method(
                ack,
                ua.Variant(b"not-an-event", ua.VariantType.ByteString),
                ua.LocalizedText("wrong"),
            )
        await cond.call_method(
            ack, ua.Variant(ev.EventId, ua.VariantType.ByteString), ua.LocalizedText("seen it")
        )
        acked = await wait_until(
            lambda: [
                e
                for e in handler.matching(ConditionName=f"{tag}.hi")
                if getattr(e, "AckedState/Id")
            ],
            what="acknowledged event",
        )
        assert getattr(acked[-1], "ActiveState/Id") is True
        rec = [a for a in demo_server.alarm_log[log_start:] if a.code == f"{tag}.hi"]
        assert [(a.active, a.acked) for a in rec] == [(True, False), (True, True)]
        assert rec[-1].comment == "seen it"
        with pytest.raises(UaStatusCodeError, match="BadConditionBranchAlreadyAcked"):
            await cond.call_method(
                ack,
                ua.Variant(acked[-1].EventId, ua.VariantType.ByteString),
                ua.LocalizedText("again"),
            )
        # Confirm after acknowledge.
        confirm = ua.NodeId(ua.ObjectIds.AcknowledgeableConditionType_Confirm)
        await cond.call_method(
            confirm,
            ua.Variant(acked[-1].EventId, ua.VariantType.ByteString),
            ua.LocalizedText("ok"),
        )
        await wait_until(
            lambda: [
                e
                for e in handler.matching(ConditionName=f"{tag}.hi")
                if getattr(e, "ConfirmedState/Id")
            ],
            what="confirmed event",
        )

        # Back to normal: both conditions go inactive; the acknowledged one is no longer retained.
        await demo_server.apply([TagUpdate(eq, tag, hi * 0.5, 12.0)])
        cleared = await wait_until(
            lambda: [
                e
                for e in handler.matching(ConditionName=f"{tag}.hi")
                if not getattr(e, "ActiveState/Id")
            ],
            what="return to normal",
        )
        assert cleared[-1].Retain is False
        hihi_clear = await wait_until(
            lambda: [
                e
                for e in handler.matching(ConditionName=f"{tag}.hihi")
                if not getattr(e, "ActiveState/Id")
            ],
            what="hihi return to normal",
        )
        assert hihi_clear[-1].Retain is True  # returned, but never acknowledged
        assert any(a.alarm_id == f"{eq}.{tag}.hihi" for a in demo_server.active_alarms())


async def test_fault_alarm_from_machine_object_and_condition_refresh(
    demo_server: PlantServer, demo_spec: PlantSpec
) -> None:
    eq = demo_spec.equipment[1].id
    ns = demo_server.namespace_index
    async with Client(demo_server.endpoint_url, watchdog_intervall=WATCHDOG_S) as c:
        machine_events = EventCollector()
        sub = await c.create_subscription(50, machine_events)
        await sub.subscribe_events(c.get_node(ua.NodeId(eq, ns)), ua.ObjectIds.AlarmConditionType)
        await demo_server.apply([StateChange(eq, E10State.UNSCHEDULED_DOWN, 50.0, "repair")])
        ev = (
            await wait_until(lambda: machine_events.matching(ConditionName="fault"), what="fault")
        )[-1]
        assert ev.SourceName == eq
        assert ev.Severity == SEVERITY["fault"] == 700
        assert ev.Message.Text.startswith("fault: ")
        mode = c.get_node(f"ns={ns};s={eq}.State.OperationMode")
        assert await mode.read_value() == 1  # Machinery's Maintenance while the tool is down

        # A client that subscribes later gets the active alarm through ConditionRefresh.
        late = EventCollector()
        sub2 = await c.create_subscription(50, late)
        await sub2.subscribe_alarms_and_conditions(c.nodes.server, ua.ObjectIds.AlarmConditionType)
        await c.get_node(ua.NodeId(ua.ObjectIds.ConditionType)).call_method(
            ua.NodeId(ua.ObjectIds.ConditionType_ConditionRefresh),
            ua.Variant(sub2.subscription_id, ua.VariantType.UInt32),
        )
        await wait_until(
            lambda: [e for e in late.matching(ConditionName="fault") if e.SourceName == eq],
            what="refreshed fault",
        )

        await demo_server.apply([StateChange(eq, E10State.STANDBY, 60.0)])
        await wait_until(
            lambda: [
                e
                for e in machine_events.matching(ConditionName="fault")
                if not getattr(e, "ActiveState/Id")
            ],
            what="fault cleared",
        )


async def test_hold_resume_methods_and_refusals(
    demo_server: PlantServer, demo_spec: PlantSpec
) -> None:
    eq = demo_spec.equipment[2].id
    ns = demo_server.namespace_index
    calls: list[tuple[str, str]] = []
    held: set[str] = set()

    def hook(equipment: str, method: str) -> bool:
        calls.append((equipment, method))
        if method == "Hold":
            if equipment in held:
                return False  # holding a held tool is not allowed
            held.add(equipment)
            return True
        if method == "Resume":
            if equipment not in held:
                return False
            held.discard(equipment)
            return True
        if method == "ResetAlarm":
            raise RuntimeError("the model broke")
        return False

    async with Client(demo_server.endpoint_url, watchdog_intervall=WATCHDOG_S) as c:
        tool = c.get_node(ua.NodeId(eq, ns))
        with pytest.raises(UaStatusCodeError, match="BadNotImplemented"):
            await tool.call_method(f"{ns}:Hold")  # no hook: nothing to hold
        demo_server.on_method = hook
        try:
            assert await tool.call_method(f"{ns}:Hold") is None
            with pytest.raises(UaStatusCodeError, match="BadInvalidState"):
                await tool.call_method(f"{ns}:Hold")
            await tool.call_method(f"{ns}:Resume")
            with pytest.raises(UaStatusCodeError, match="BadInvalidState"):
                await tool.call_method(f"{ns}:Resume")
            with pytest.raises(UaStatusCodeError, match="BadInternalError"):
                await tool.call_method(f"{ns}:ResetAlarm")
            # another tool's method, or arguments the method does not take: refused unrun
            other = demo_spec.equipment[3].id
            with pytest.raises(UaStatusCodeError, match="BadMethodInvalid"):
                await tool.call_method(ua.NodeId(f"{other}.Hold", ns))
            with pytest.raises(UaStatusCodeError, match="BadTooManyArguments"):
                await tool.call_method(f"{ns}:Resume", ua.Variant(1, ua.VariantType.Int32))
            # The server still serves after the hook blew up.
            assert await c.get_node(f"ns={ns};s={eq}.State.E10StateName").read_value()
        finally:
            demo_server.on_method = None
    assert calls == [
        (eq, "Hold"),
        (eq, "Hold"),
        (eq, "Resume"),
        (eq, "Resume"),
        (eq, "ResetAlarm"),
    ]


async def test_client_writes_are_refused_by_default(
    demo_server: PlantServer, demo_spec: PlantSpec
) -> None:
    eq, tag, _, _ = alarmed_tag(demo_spec)
    ns = demo_server.namespace_index
    async with Client(demo_server.endpoint_url, watchdog_intervall=WATCHDOG_S) as c:
        node = c.get_node(f"ns={ns};s={eq}.Parameters.{tag}")
        with pytest.raises(UaStatusCodeError, match="BadUserAccessDenied"):
            await node.write_value(ua.DataValue(ua.Variant(1.0, ua.VariantType.Double)))
        with pytest.raises(UaStatusCodeError, match="BadUserAccessDenied"):
            await c.get_node(f"ns={ns};s={eq}.State.CurrentLot").write_value(
                ua.DataValue(ua.Variant("X", ua.VariantType.String))
            )


@pytest.mark.asyncio(loop_scope="function")
async def test_allowed_client_writes_reach_the_hook_and_the_limits(mini_spec: PlantSpec) -> None:
    # Without companion specs, too: Machines is then a folder in our namespace.
    server = PlantServer(
        mini_spec,
        endpoint=f"opc.tcp://127.0.0.1:{find_free_port()}/w/",
        allow_client_writes=True,
        load_companion_specs=False,
    )
    written: list[tuple[str, str, Any]] = []
    server.on_write = lambda eq, tag, v: written.append((eq, tag, v))
    eq, tag, hi, _ = alarmed_tag(mini_spec)
    async with server, Client(server.endpoint_url, watchdog_intervall=WATCHDOG_S) as c:
        ns = await c.get_namespace_index(NAMESPACE_URI)
        node = await c.nodes.objects.get_child(
            [f"{ns}:Machines", f"{ns}:{eq}", f"{ns}:Parameters", f"{ns}:{tag}"]
        )
        await node.write_value(ua.DataValue(ua.Variant(hi + 1.0, ua.VariantType.Double)))
        assert await node.read_value() == hi + 1.0
        await wait_until(lambda: written, what="write hook")
        assert written == [(eq, tag, hi + 1.0)]
        assert any(a.code == f"{tag}.hi" and a.active for a in server.alarm_log)
        with pytest.raises(UaStatusCodeError, match="BadTypeMismatch"):
            await node.write_value(ua.DataValue(ua.Variant("text", ua.VariantType.String)))
        assert not server.companion_specs_loaded
        assert "not requested" in server.companion.problem
    assert not server.running


@pytest.mark.asyncio(loop_scope="function")
async def test_port_in_use_is_a_clear_error(mini_spec: PlantSpec) -> None:
    from factory_twin.errors import ConnectionFailed

    port = find_free_port()
    a = PlantServer(
        mini_spec, endpoint=f"opc.tcp://127.0.0.1:{port}/a/", load_companion_specs=False
    )
    b = PlantServer(
        mini_spec, endpoint=f"opc.tcp://127.0.0.1:{port}/b/", load_companion_specs=False
    )
    async with a:
        with pytest.raises(
            ConnectionFailed, match=f"cannot listen on opc.tcp://127.0.0.1:{port}/b/"
        ):
            await b.start()
    with pytest.raises(ValueError, match="endpoint must look like"):
        PlantServer(mini_spec, endpoint="http://x")
    with pytest.raises(ValueError, match="security must be one of"):
        PlantServer(mini_spec, security="paranoid")
    with pytest.raises(ValueError, match="unknown equipment ids: NOPE"):
        PlantServer(mini_spec, equipment=["NOPE"])


async def test_two_clients_one_slow_update_batch(
    demo_server: PlantServer, demo_spec: PlantSpec
) -> None:
    """A large apply() yields: a second client's reads are answered while it runs."""
    eq = demo_spec.equipment[3].id
    et = demo_spec.equipment_type(demo_spec.tool(eq).type)
    t = next(t for t in et.tags if t.data_type is TagType.FLOAT)
    ns = demo_server.namespace_index
    async with Client(demo_server.endpoint_url, watchdog_intervall=WATCHDOG_S) as c:
        node = c.get_node(f"ns={ns};s={eq}.Parameters.{t.name}")
        batch = [TagUpdate(eq, t.name, float(i), 200.0) for i in range(20_000)]
        task = asyncio.create_task(demo_server.apply(batch))
        reads = 0
        while not task.done():
            await node.read_value()
            reads += 1
        assert await task == 20_000
        assert reads >= 2  # reads were served between the writes
        assert await node.read_value() == 19_999.0
