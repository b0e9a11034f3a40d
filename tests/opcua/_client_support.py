"""A small real asyncua server following the plant simulator convention, for client tests.

It is filled from a plant spec: ``Objects/Machines/<id>/Parameters/<tag>`` (string node ids
``<id>.Parameters.<tag>``), ``State/...``, ``Identification/...``, methods Hold/Resume/
ResetAlarm, and real AlarmConditionType condition nodes whose events come from the Server
object (SourceName = equipment id) with Acknowledge and ConditionRefresh wired.
"""

from __future__ import annotations

import asyncio
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asyncua import Server, ua
from asyncua.crypto.truststore import TrustStore
from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions
from asyncua.server.event_generator import EventGenerator

from factory_twin.model.config import loads_plant
from factory_twin.model.events import E10State
from factory_twin.model.schema import PlantSpec, TagType
from factory_twin.opcua._asyncua_adapter import stop_server
from factory_twin.opcua.security import PasswordUserManager

NS = "urn:factory-twin:plant"

_VT = {
    TagType.FLOAT: ua.VariantType.Double,
    TagType.INT: ua.VariantType.Int32,
    TagType.BOOL: ua.VariantType.Boolean,
    TagType.STRING: ua.VariantType.String,
}
_DEFAULT = {TagType.FLOAT: 0.0, TagType.INT: 0, TagType.BOOL: False, TagType.STRING: ""}


def free_port() -> int:
    """Return a TCP port nobody listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PLANT_YAML = """
schema_version: 1
site:
  name: Test fab
  floor_m: [20, 10]
  bays:
    - {id: etch, kind: etch, origin_m: [0, 0], size_m: [20, 10]}
endpoints:
  - {id: sim, url: "opc.tcp://127.0.0.1:PORT/test/", writes_enabled: WRITES}
equipment_types:
  - id: etcher
    kind: dry_etch
    shape: {parts: [{name: body, box: [2, 2, 2]}]}
    tags:
      - {name: chamber_pressure, unit: Pa, normal_range: [2, 6], alarms: {hi: 8, hihi: 10}}
      - {name: rf_power, unit: W, normal_range: [100, 500]}
      - {name: step, data_type: int}
      - {name: door_open, data_type: bool}
equipment:
  - {id: ETCH-01, type: etcher, group: ETCH, bay: etch, position_m: [3, 5], opcua: {endpoint: sim}}
  - {id: ETCH-02, type: etcher, group: ETCH, bay: etch, position_m: [9, 5], opcua: {endpoint: sim}}
"""


def plant_spec(port: int, *, writes: bool = False, extra: str = "") -> PlantSpec:
    """Return the two-etcher test plant bound to a server on ``port``."""
    text = PLANT_YAML.replace("PORT", str(port)).replace("WRITES", "true" if writes else "false")
    return loads_plant(text + extra).spec


@dataclass
class _Condition:
    gen: EventGenerator
    node: Any
    equipment: str
    code: str
    last_event_id: bytes = b""
    active: bool = False
    acked: bool = True


@dataclass
class ConventionServer:
    """A running convention server; see :func:`start_server`."""

    server: Server
    idx: int
    url: str
    spec: PlantSpec
    port: int
    method_calls: list[tuple[str, str]] = field(default_factory=list)
    acks: list[tuple[str, bytes, str]] = field(default_factory=list)
    conditions: dict[str, _Condition] = field(default_factory=dict)

    def nodeid(self, equipment: str, path: str) -> ua.NodeId:
        return ua.NodeId(f"{equipment}.{path}", self.idx)

    async def set(
        self, equipment: str, tag: str, value: Any, vtype: ua.VariantType | None = None
    ) -> None:
        """Write a parameter value (``tag``) with an optional forced Variant type."""
        nid = self.nodeid(equipment, f"Parameters.{tag}")
        if vtype is None:
            t = self.spec.equipment_type(self.spec.tool(equipment).type).tag(tag).data_type
            vtype = _VT[t]
        dv = ua.DataValue(
            ua.Variant(value, vtype), SourceTimestamp=_utcnow(), ServerTimestamp=_utcnow()
        )
        await self.server.write_attribute_value(nid, dv)

    async def set_raw(self, equipment: str, tag: str, dv: ua.DataValue) -> None:
        """Store a DataValue bypassing the server's type check (a misbehaving server)."""
        nid = self.nodeid(equipment, f"Parameters.{tag}")
        attval = self.server.iserver.aspace._nodes[nid].attributes[ua.AttributeIds.Value]
        attval.value = dv
        for k, cb in list(attval.datachange_callbacks.items()):
            await cb(k, dv)

    async def set_state(self, equipment: str, state: E10State) -> None:
        nid = self.nodeid(equipment, "State.E10State")
        await self.server.write_attribute_value(
            nid, ua.DataValue(ua.Variant(state.code, ua.VariantType.Int32))
        )

    async def monitored_item_count(self) -> int:
        """Count monitored items across all subscriptions of this server."""
        subs = self.server.iserver.subscription_service.subscriptions
        return sum(len(s.monitored_item_srv._monitored_items) for s in subs.values())

    async def raise_alarm(
        self, equipment: str, code: str, severity: int = 700, message: str = ""
    ) -> bytes:
        """Make a condition active (unacknowledged) and emit its event; return the EventId."""
        c = await self._condition(equipment, code)
        c.active, c.acked = True, False
        return await self._emit(c, severity, message or f"{equipment} {code} alarm")

    async def clear_alarm(self, equipment: str, code: str) -> bytes:
        c = await self._condition(equipment, code)
        c.active = False
        return await self._emit(c, 100, f"{equipment} {code} returned to normal")

    async def _condition(self, equipment: str, code: str) -> _Condition:
        key = f"{equipment}/{code}"
        if key not in self.conditions:
            machine = self.server.get_node(ua.NodeId(equipment, self.idx))
            cname = code.replace(".", "_")
            node = await machine.add_object(
                ua.NodeId(f"{equipment}.Alarms.{cname}", self.idx),
                f"{self.idx}:{cname}",
                objecttype=ua.NodeId(ua.ObjectIds.AlarmConditionType),
            )
            gen = await self.server.get_event_generator(
                ua.ObjectIds.AlarmConditionType, self.server.nodes.server
            )
            gen.event.SourceNode = machine.nodeid
            gen.event.SourceName = equipment
            gen.event.NodeId = node.nodeid
            gen.event.ConditionName = code
            self.conditions[key] = _Condition(gen, node, equipment, code)
        return self.conditions[key]

    async def _emit(self, c: _Condition, severity: int, message: str, comment: str = "") -> bytes:
        ev = c.gen.event
        ev.Severity = severity
        setattr(ev, "ActiveState/Id", c.active)
        setattr(ev, "AckedState/Id", c.acked)
        ev.ActiveState = ua.LocalizedText("Active" if c.active else "Inactive")
        ev.AckedState = ua.LocalizedText("Acknowledged" if c.acked else "Unacknowledged")
        ev.Retain = c.active or not c.acked
        ev.Comment = ua.LocalizedText(comment)
        await c.gen.trigger(message=message)
        c.last_event_id = bytes(
            ev.EventId.Value if isinstance(ev.EventId, ua.Variant) else ev.EventId
        )
        return c.last_event_id

    async def _acknowledge(self, parent: ua.NodeId, event_id: Any, comment: Any) -> Any:
        for c in self.conditions.values():
            if c.node.nodeid == parent:
                eid = event_id.Value if isinstance(event_id, ua.Variant) else event_id
                text = comment.Value if isinstance(comment, ua.Variant) else comment
                text = text.Text if isinstance(text, ua.LocalizedText) else str(text)
                if bytes(eid) != c.last_event_id:
                    return ua.StatusCode(ua.StatusCodes.BadEventIdUnknown)
                if c.acked:
                    return ua.StatusCode(ua.StatusCodes.BadConditionBranchAlreadyAcked)
                c.acked = True
                self.acks.append((f"{c.equipment}/{c.code}", bytes(eid), text))
                await self._emit(c, 700, f"{c.equipment} {c.code} acknowledged", text)
                return []
        return ua.StatusCode(ua.StatusCodes.BadNodeIdUnknown)

    async def stop(self) -> None:
        # bounded: asyncua's graceful stop can wait forever on a connection that never drains
        await stop_server(self.server)


def _utcnow() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)


async def start_server(
    spec: PlantSpec,
    port: int,
    *,
    secure: tuple[Path, Path, Path] | None = None,
    users: dict[str, str] | None = None,
    state: dict[str, Any] | None = None,
) -> ConventionServer:
    """Build and start a convention server for ``spec`` on 127.0.0.1:``port``.

    ``secure`` = (server cert, server key, trusted client cert folder) makes it accept only
    Basic256Sha256 SignAndEncrypt from trusted clients. ``users`` turns on user/password login.
    ``state`` carries values (and conditions) across a restart of the same server.
    """
    server = Server(user_manager=PasswordUserManager(users) if users else None)
    server.iserver.bind_condition_methods = True
    await server.init()
    url = f"opc.tcp://127.0.0.1:{port}/test/"
    server.set_endpoint(url)
    server.set_server_name("convention test server")
    if secure is not None:
        cert, key, trusted = secure
        await server.set_application_uri("urn:factory-twin:test-server")
        server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt])
        await server.load_certificate(str(cert))
        await server.load_private_key(str(key))
        ts = TrustStore([trusted], [])
        await ts.load()
        server.set_certificate_validator(
            CertificateValidator(
                CertificateValidatorOptions.TRUSTED_VALIDATION
                | CertificateValidatorOptions.PEER_CLIENT,
                ts,
            )
        )
    elif users:
        server.set_security_policy([ua.SecurityPolicyType.NoSecurity])
        server.set_security_IDs(["Username"])
    idx = await server.register_namespace(NS)
    cs = ConventionServer(server, idx, url, spec, port)
    objects = server.nodes.objects
    machines = await objects.add_folder(ua.NodeId("Machines", idx), f"{idx}:Machines")
    values = (state or {}).get("values", {})
    for eq in spec.equipment:
        et = spec.equipment_type(eq.type)
        m = await machines.add_object(ua.NodeId(eq.id, idx), f"{idx}:{eq.id}")
        await m.set_event_notifier([ua.EventNotifier.SubscribeToEvents])
        params = await m.add_folder(ua.NodeId(f"{eq.id}.Parameters", idx), f"{idx}:Parameters")
        for t in et.tags:
            nid = ua.NodeId(f"{eq.id}.Parameters.{t.name}", idx)
            v = values.get((eq.id, t.name), _DEFAULT[t.data_type])
            var = await params.add_variable(
                nid, f"{idx}:{t.name}", ua.Variant(v, _VT[t.data_type])
            )
            await var.set_writable()  # writable on the server; the client decides
            if t.data_type is TagType.FLOAT:
                lo, hi = t.normal_range or (0.0, 1000.0)
                await var.add_property(
                    ua.NodeId(f"{eq.id}.Parameters.{t.name}.EURange", idx),
                    "EURange",
                    ua.Range(Low=float(lo) - 10, High=float(hi) * 2),
                )
                await var.add_property(
                    ua.NodeId(f"{eq.id}.Parameters.{t.name}.EngineeringUnits", idx),
                    "EngineeringUnits",
                    ua.EUInformation(
                        DisplayName=ua.LocalizedText(t.unit), Description=ua.LocalizedText(t.unit)
                    ),
                )
        st = await m.add_folder(ua.NodeId(f"{eq.id}.State", idx), f"{idx}:State")
        for name, v, vt in (
            ("E10State", E10State.STANDBY.code, ua.VariantType.Int32),
            ("E10StateName", E10State.STANDBY.value, ua.VariantType.String),
            ("CurrentLot", "", ua.VariantType.String),
            ("Recipe", "", ua.VariantType.String),
            ("WaferCount", 0, ua.VariantType.Int32),
            ("OperationMode", "auto", ua.VariantType.String),
        ):
            await st.add_variable(
                ua.NodeId(f"{eq.id}.State.{name}", idx), f"{idx}:{name}", ua.Variant(v, vt)
            )
        ident = await m.add_folder(
            ua.NodeId(f"{eq.id}.Identification", idx), f"{idx}:Identification"
        )
        for name, v in (
            ("Manufacturer", et.manufacturer),
            ("Model", et.model),
            ("SerialNumber", eq.serial_number),
            ("AssetId", eq.asset_id),
            ("Location", eq.bay),
        ):
            await ident.add_variable(
                ua.NodeId(f"{eq.id}.Identification.{name}", idx), f"{idx}:{name}", v
            )
        for meth in ("Hold", "Resume", "ResetAlarm"):

            def make(eq_id: str = eq.id, name: str = meth) -> Any:
                async def call(parent: ua.NodeId) -> list[ua.Variant]:
                    cs.method_calls.append((eq_id, name))
                    return [ua.Variant(True, ua.VariantType.Boolean)]

                return call

            await m.add_method(
                ua.NodeId(f"{eq.id}.{meth}", idx),
                f"{idx}:{meth}",
                make(),
                [],
                [ua.VariantType.Boolean],
            )
    server.iserver.isession.add_method_callback(
        ua.NodeId(ua.ObjectIds.AcknowledgeableConditionType_Acknowledge), cs._acknowledge
    )
    await server.start()
    for key, (sev, active) in (state or {}).get("alarms", {}).items():
        eq, code = key.split("/", 1)
        if active:
            await cs.raise_alarm(eq, code, sev)
    return cs


async def wait_for(pred: Any, timeout: float = 10.0, interval: float = 0.02) -> bool:
    """Poll ``pred()`` (sync or async) until true or ``timeout``; return the last result."""
    deadline = time.monotonic() + timeout
    while True:
        r = pred()
        if asyncio.iscoroutine(r):
            r = await r
        if r or time.monotonic() > deadline:
            return bool(r)
        await asyncio.sleep(interval)
