"""The OPC UA plant simulator server: a plant's machines, states, process values and alarms.

:class:`PlantServer` serves a :class:`~factory_twin.model.schema.PlantSpec` as an OPC UA
address space and turns plant events (:class:`~factory_twin.model.events.TagUpdate`,
:class:`~factory_twin.model.events.StateChange`) into value changes and Alarms & Conditions.
It knows nothing of SimPy: anything that produces plant events can feed it through
:meth:`PlantServer.apply` (the embedded simulator in :mod:`factory_twin.app.simulator` does).

Address space (namespace URI ``urn:factory-twin:plant``, written ``P`` below; DI and
Machinery are the OPC Foundation companion specifications, loaded when their NodeSet files
are installed, see :mod:`factory_twin.opcua.nodesets`)::

    Objects/
      Machines                 Machinery's standard folder (else a FolderType in P)
        <equipment id>         object, NodeId "ns=P;s=<id>", type P:FabToolType, event notifier
          Identification       MachineIdentificationType (else BaseObjectType in P)
            Manufacturer, Model          LocalizedText (DI names; P without DI)
            SerialNumber, AssetId        String (DI names; P without DI)
            Location                     String, the bay id (Machinery name; P without)
          State                "ns=P;s=<id>.State"
            E10State           Int32, data type P:E10StateEnumeration (EnumStrings =
                               productive, standby, engineering, scheduled_down,
                               unscheduled_down, non_scheduled = E10State.code)
            E10StateName       String (the E10State value, e.g. "productive")
            OperationMode      Int32, P:MachineryOperationModeEnumeration
                               (0 None, 1 Maintenance, 2 Setup, 3 Processing); follows
                               the E10 state (down: Maintenance, engineering: Setup,
                               non-scheduled: None) unless the source sends operation_mode
            CurrentLot, Recipe String;  WaferCount UInt32
          Parameters           "ns=P;s=<id>.Parameters"
            <tag>              "ns=P;s=<id>.Parameters.<tag>": AnalogItemType (float: Double,
                               int: Int32) with EURange (the tag's normal range) and
                               EngineeringUnits (UNECE); bool/string tags are
                               BaseDataVariableType Boolean/String
          Hold(), Resume(), ResetAlarm()  methods "ns=P;s=<id>.Hold", ...
      Fab                      object "ns=P;s=Fab": fab-level figures, derived in
                               :meth:`PlantServer.apply` from the records it gets (any source)
        PlantClock             Double "ns=P;s=Fab.PlantClock": newest record time, seconds
                               (plant seconds for a simulation, Unix time for a live source)
        LotsCompleted          UInt32 "ns=P;s=Fab.LotsCompleted": lots that left the fab
        WafersCompleted        UInt32 "ns=P;s=Fab.WafersCompleted": their wafers (the
                               product's wafers_per_lot; a LotMove carries no wafer count)
        WIP                    UInt32 "ns=P;s=Fab.WIP": lots in the fab now
        Moves                  UInt32 "ns=P;s=Fab.Moves": step completions (lot moves that
                               leave a tool)

A :class:`~factory_twin.model.events.LotMove` with ``from_equipment`` and ``to_equipment``
both ``None`` and ``step`` 0 is a lot entering the fab; any other one with ``to_equipment``
``None`` is a lot leaving it (finished or scrapped).

Alarms & Conditions: one condition per tag limit (``ExclusiveLimitAlarmType``, NodeId
``ns=P;s=<id>.Alarms.<tag>.<lolo|lo|hi|hihi>``) and one equipment-fault condition per machine
(``OffNormalAlarmType``, ``ns=P;s=<id>.Alarms.fault``, active while the tool is
``unscheduled_down``). Each transition is emitted from the Server object *and* from the
machine object. Event fields clients can rely on:

* ``SourceName`` = equipment id, ``SourceNode`` = the machine object,
* ``ConditionName`` = the alarm code (``<tag>.<limit>`` or ``fault``),
* ``Message`` = ``"<code>: <text>"`` (the code first, then words),
* ``Severity``: hihi 900, lolo 800, fault 700, hi 600, lo 500,
* ``ActiveState/Id``, ``AckedState/Id``, ``ConfirmedState/Id``, ``Retain``, ``ConditionId``.

Acknowledge and Confirm (AcknowledgeableConditionType methods, called with the condition's
NodeId as object and the EventId last received) work, and so does ConditionRefresh.
Limits are checked here, from the values that come in, so alarms work for any source.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from asyncua import Server, ua
from asyncua.common import event_objects
from asyncua.common.callback import CallbackType

from factory_twin.errors import ConnectionFailed
from factory_twin.model.events import (
    AlarmEvent,
    E10State,
    LotMove,
    PlantEvent,
    Quality,
    StateChange,
    TagUpdate,
)
from factory_twin.model.schema import Equipment, PlantSpec, TagSpec, TagType
from factory_twin.opcua.nodesets import CompanionSpecs, load_companion_specs
from factory_twin.opcua.security import configure_security, security_policies
from factory_twin.opcua.server_units import eu_information

logger = logging.getLogger(__name__)

NAMESPACE_URI = "urn:factory-twin:plant"
DEFAULT_ENDPOINT = "opc.tcp://127.0.0.1:4840/factory_twin/"

E10_STATES: tuple[str, ...] = tuple(st.value for st in sorted(E10State, key=lambda s: s.code))
OPERATION_MODES: tuple[str, ...] = ("None", "Maintenance", "Setup", "Processing")
METHODS: tuple[str, ...] = ("Hold", "Resume", "ResetAlarm")
# TagUpdate.tag names that are machine state, not Parameters (see model.events.TagUpdate).
STATE_TAGS = {
    "state": "E10State",
    "lot": "CurrentLot",
    "recipe": "Recipe",
    "wafer_count": "WaferCount",
    "operation_mode": "OperationMode",
}
SEVERITY = {"hihi": 900, "lolo": 800, "fault": 700, "hi": 600, "lo": 500}
LIMIT_STATE_NAMES = {"hihi": "HighHigh", "hi": "High", "lo": "Low", "lolo": "LowLow"}
# Fab-level variables: (name, VariantType, description); node ids "ns=P;s=Fab.<name>".
FAB_VARIABLES: tuple[tuple[str, ua.VariantType, str], ...] = (
    ("PlantClock", ua.VariantType.Double, "Plant clock: time of the newest record, seconds"),
    ("LotsCompleted", ua.VariantType.UInt32, "Lots that left the fab (cumulative)"),
    ("WafersCompleted", ua.VariantType.UInt32, "Wafers of the lots that left the fab"),
    ("WIP", ua.VariantType.UInt32, "Lots in the fab now"),
    ("Moves", ua.VariantType.UInt32, "Step completions: lot moves that leave a tool"),
)
YIELD_EVERY = 400  # writes between asyncio.sleep(0), so publish/keep-alive never starve

_VTYPES = {
    TagType.FLOAT: (ua.VariantType.Double, ua.ObjectIds.Double),
    TagType.INT: (ua.VariantType.Int32, ua.ObjectIds.Int32),
    TagType.BOOL: (ua.VariantType.Boolean, ua.ObjectIds.Boolean),
    TagType.STRING: (ua.VariantType.String, ua.ObjectIds.String),
}
_QUALITY = {
    Quality.GOOD: ua.StatusCodes.Good,
    Quality.UNCERTAIN: ua.StatusCodes.Uncertain,
    Quality.BAD: ua.StatusCodes.Bad,
    Quality.STALE: ua.StatusCodes.UncertainLastUsableValue,
}
# Shared, never mutated: one StatusCode object per quality instead of one per write.
_STATUS = {q: ua.StatusCode(code) for q, code in _QUALITY.items()}
_READ = ua.AccessLevel.CurrentRead.mask
_READ_WRITE = ua.AccessLevel.CurrentRead.mask | ua.AccessLevel.CurrentWrite.mask

MethodHook = Callable[[str, str], bool]
WriteHook = Callable[[str, str, Any], None]
AlarmHook = Callable[[AlarmEvent], None]


_HAS_COMPONENT = ua.NodeId(ua.ObjectIds.HasComponent, 0)
_HAS_PROPERTY = ua.NodeId(ua.ObjectIds.HasProperty, 0)
_PROPERTY_TYPE = ua.NodeId(ua.ObjectIds.PropertyType, 0)
_BASE_DATA_VARIABLE_TYPE = ua.NodeId(ua.ObjectIds.BaseDataVariableType, 0)
_BASE_OBJECT_TYPE = ua.NodeId(ua.ObjectIds.BaseObjectType, 0)


class _SharedDataValue(ua.DataValue):
    """A DataValue that is never mutated after it is written, so copies may share it.

    asyncua deep-copies the DataValue of every write once per monitored item (about 100 µs
    with two timestamps, i.e. most of the cost of an update). Our values are scalars in
    fresh objects that nothing mutates, so the "copy" can be the object itself.
    """

    __slots__ = ()

    def __deepcopy__(self, memo: dict[int, Any]) -> _SharedDataValue:
        return self


def _nid(ns: int, s: str) -> ua.NodeId:
    return ua.NodeId(s, ns)


def _i(i: int) -> ua.NodeId:
    return ua.NodeId(i, 0)


@dataclass(eq=False)
class _Condition:
    """Live state of one OPC UA condition."""

    equipment: str
    code: str
    severity: int
    node_id: ua.NodeId
    machine_id: ua.NodeId
    event: Any
    tag: TagSpec | None = None
    limit: str = ""
    limit_value: float = 0.0
    deadband: float = 0.0
    type_id: ua.NodeId = field(default_factory=ua.NodeId)
    condition_class: ua.NodeId = field(default_factory=ua.NodeId)
    input_node: ua.NodeId = field(default_factory=ua.NodeId)
    active: bool = False
    acked: bool = True
    confirmed: bool = True
    event_id: bytes = b""

    @property
    def alarm_id(self) -> str:
        """The plant-wide id of this alarm: ``<equipment>.<code>``."""
        return f"{self.equipment}.{self.code}"

    @property
    def retain(self) -> bool:
        """Whether clients should still show this condition (active or awaiting ack)."""
        return self.active or not self.acked


@dataclass(eq=False)
class _TagNode:
    equipment: str
    spec: TagSpec
    node_id: ua.NodeId
    vtype: ua.VariantType
    conditions: list[_Condition] = field(default_factory=list)


@dataclass
class FabCounters:
    """The fab-level figures a :class:`PlantServer` derives from the records it applies.

    ``lots_in_fab`` holds the ids of the lots seen entering and not yet leaving; a lot that
    leaves without having been seen entering (the server started mid-run) is still counted
    as completed.
    """

    plant_clock_s: float = 0.0
    lots_completed: int = 0
    wafers_completed: int = 0
    moves: int = 0
    lots_in_fab: set[str] = field(default_factory=set)

    @property
    def wip(self) -> int:
        """Lots in the fab now."""
        return len(self.lots_in_fab)

    def values(self) -> dict[str, float | int]:
        """Return the value of each :data:`FAB_VARIABLES` name."""
        return {
            "PlantClock": float(self.plant_clock_s),
            "LotsCompleted": self.lots_completed,
            "WafersCompleted": self.wafers_completed,
            "WIP": self.wip,
            "Moves": self.moves,
        }

    def copy(self) -> FabCounters:
        """Return an independent copy."""
        return FabCounters(
            self.plant_clock_s,
            self.lots_completed,
            self.wafers_completed,
            self.moves,
            set(self.lots_in_fab),
        )


class _Batch:
    """Nodes collected for the address space, inserted in one go.

    asyncua's AddNodes service costs about 0.5 ms a node (it validates, re-reads names and
    rebuilds every attribute); a 10,000-tag plant has about 40,000 nodes. Here the nodes are
    written straight into the address space as asyncua's own ``NodeData`` records, sharing
    the immutable attribute values (data types, access levels, masks) between nodes, which is
    about 10x faster. Types go through the normal AddNodes path (:meth:`flush_typed`).
    """

    def __init__(self) -> None:
        self.typed: list[ua.AddNodesItem] = []
        self.nodes: list[tuple[Any, ...]] = []
        self.refs: list[ua.AddReferencesItem] = []
        self._dv_cache: dict[tuple[Any, ...], ua.DataValue] = {}
        self._var_cache: dict[tuple[Any, ...], dict[ua.AttributeIds, ua.DataValue]] = {}

    def _dv(self, value: Any, vt: ua.VariantType) -> ua.DataValue:
        key = (vt, value)
        dv = self._dv_cache.get(key)
        if dv is None:
            dv = self._dv_cache[key] = ua.DataValue(ua.Variant(value, vt))
        return dv

    def obj(
        self,
        nid: ua.NodeId,
        name: ua.QualifiedName,
        parent: ua.NodeId,
        *,
        ref: int = ua.ObjectIds.HasComponent,
        typedef: ua.NodeId = _BASE_OBJECT_TYPE,
        notifier: int = 0,
        description: str = "",
    ) -> ua.NodeId:
        extra = {ua.AttributeIds.EventNotifier: self._dv(notifier, ua.VariantType.Byte)}
        self.nodes.append(
            (
                nid,
                name,
                ua.NodeClass.Object,
                parent,
                ref,
                typedef,
                description,
                extra,
                ua.NodeClass.ObjectType,
            )
        )
        return nid

    def var(
        self,
        nid: ua.NodeId,
        name: ua.QualifiedName,
        parent: ua.NodeId,
        value: ua.Variant,
        datatype: ua.NodeId,
        *,
        prop: bool = False,
        typedef: ua.NodeId | None = None,
        access: int = _READ,
        description: str = "",
        value_rank: int = ua.ValueRank.Scalar,
    ) -> ua.NodeId:
        V = ua.VariantType
        key = (datatype, value_rank, access)
        common = self._var_cache.get(key)
        if common is None:
            common = self._var_cache[key] = {
                ua.AttributeIds.DataType: self._dv(datatype, V.NodeId),
                ua.AttributeIds.ValueRank: self._dv(value_rank, V.Int32),
                ua.AttributeIds.AccessLevel: self._dv(access, V.Byte),
                ua.AttributeIds.UserAccessLevel: self._dv(access, V.Byte),
                ua.AttributeIds.MinimumSamplingInterval: self._dv(0.0, V.Double),
                ua.AttributeIds.Historizing: self._dv(False, V.Boolean),
            }
            if value_rank >= 1:
                common[ua.AttributeIds.ArrayDimensions] = ua.DataValue(
                    ua.Variant([0], V.UInt32, is_array=True)
                )
        extra = {ua.AttributeIds.Value: ua.DataValue(value), **common}
        if prop:
            ref, td = ua.ObjectIds.HasProperty, _PROPERTY_TYPE
        else:
            ref, td = ua.ObjectIds.HasComponent, typedef or _BASE_DATA_VARIABLE_TYPE
        self.nodes.append(
            (
                nid,
                name,
                ua.NodeClass.Variable,
                parent,
                ref,
                td,
                description,
                extra,
                ua.NodeClass.VariableType,
            )
        )
        return nid

    def method(
        self, nid: ua.NodeId, name: ua.QualifiedName, parent: ua.NodeId, description: str
    ) -> ua.NodeId:
        extra = {
            ua.AttributeIds.Executable: self._dv(True, ua.VariantType.Boolean),
            ua.AttributeIds.UserExecutable: self._dv(True, ua.VariantType.Boolean),
        }
        self.nodes.append(
            (
                nid,
                name,
                ua.NodeClass.Method,
                parent,
                ua.ObjectIds.HasComponent,
                None,
                description,
                extra,
                None,
            )
        )
        return nid

    def reference(
        self, source: ua.NodeId, ref: int, target: ua.NodeId, target_class: ua.NodeClass
    ) -> None:
        r = ua.AddReferencesItem()
        r.SourceNodeId = source
        r.ReferenceTypeId = _i(ref)
        r.IsForward = True
        r.TargetNodeId = target
        r.TargetNodeClass = target_class
        self.refs.append(r)

    def flush_typed(self, server: Server) -> None:
        """Add the type nodes through the AddNodes service (they are few)."""
        results = server.iserver.node_mgt_service.add_nodes(self.typed)
        for item, res in zip(self.typed, results, strict=True):
            if not res.StatusCode.is_good():
                msg = (
                    f"cannot add node {item.RequestedNewNodeId.to_string()}: {res.StatusCode.name}"
                )
                raise RuntimeError(msg)
        self.typed.clear()

    def flush(self, server: Server) -> int:
        """Insert every collected node and reference; raise if a node id is taken."""
        from asyncua.server.address_space import AttributeValue, NodeData

        aspace = server.iserver.aspace
        A, V = ua.AttributeIds, ua.VariantType
        zero = self._dv(0, V.UInt32)
        refids: dict[int, ua.NodeId] = {}
        # Inverse reference of each child to its parent, shared by all siblings.
        up: dict[tuple[Any, int], ua.ReferenceDescription] = {}
        typeref: dict[Any, ua.ReferenceDescription] = {}
        names: dict[Any, tuple[ua.QualifiedName, ua.LocalizedText, ua.NodeClass, ua.NodeId]] = {}
        has_typedef = _i(ua.ObjectIds.HasTypeDefinition)
        name_cache: dict[tuple[int, str, str], tuple[Any, ...]] = {}

        def info(
            nid: ua.NodeId,
        ) -> tuple[ua.QualifiedName, ua.LocalizedText, ua.NodeClass, ua.NodeId]:
            got = names.get(nid)
            if got is None:
                nd = aspace.get(nid)
                if nd is None:
                    msg = f"cannot add a node under {nid.to_string()}: no such node"
                    raise RuntimeError(msg)
                a = nd.attributes
                td = ua.NodeId()
                for r in nd.references:
                    if r.IsForward and r.ReferenceTypeId == has_typedef:
                        td = r.NodeId
                        break
                got = names[nid] = (
                    a[A.BrowseName].value.Value.Value,  # type: ignore[union-attr]
                    a[A.DisplayName].value.Value.Value,  # type: ignore[union-attr]
                    ua.NodeClass(a[A.NodeClass].value.Value.Value),  # type: ignore[union-attr]
                    td,
                )
            return got

        for nid, qname, nclass, parent, ref, typedef, description, extra, _ in self.nodes:
            if nid in aspace:
                msg = f"cannot add node {nid.to_string()}: the node id is taken"
                raise RuntimeError(msg)
            refid = refids.get(ref)
            if refid is None:
                refid = refids[ref] = _i(ref)
            # Names repeat from tool to tool (every etcher has a 'chamber_pressure'), so their
            # attribute values are made once and shared; only the NodeId is per node.
            nkey = (qname.NamespaceIndex, qname.Name, description)
            named = name_cache.get(nkey)
            if named is None:
                ltext = ua.LocalizedText(qname.Name)
                named = name_cache[nkey] = (
                    ltext,
                    ua.DataValue(ua.Variant(qname, V.QualifiedName)),
                    ua.DataValue(ua.Variant(ltext, V.LocalizedText)),
                    ua.DataValue(
                        ua.Variant(ua.LocalizedText(description or qname.Name), V.LocalizedText)
                    ),
                )
            dname, bn_dv, dn_dv, desc_dv = named
            nd = NodeData(nid)
            a = nd.attributes
            a[A.NodeId] = AttributeValue(ua.DataValue(ua.Variant(nid, V.NodeId)))
            a[A.NodeClass] = AttributeValue(self._dv(nclass.value, V.Int32))
            a[A.BrowseName] = AttributeValue(bn_dv)
            a[A.DisplayName] = AttributeValue(dn_dv)
            a[A.Description] = AttributeValue(desc_dv)
            a[A.WriteMask] = AttributeValue(zero)
            a[A.UserWriteMask] = AttributeValue(zero)
            for k, dv in extra.items():
                a[k] = AttributeValue(dv)
            aspace[nid] = nd
            pname, pdname, pclass, ptd = info(parent)
            pdata = aspace[parent]
            pdata.references.append(
                ua.ReferenceDescription(
                    ReferenceTypeId=refid,
                    IsForward=True,
                    NodeId=nid,
                    BrowseName=qname,
                    DisplayName=dname,
                    NodeClass=nclass,
                    TypeDefinition=typedef if typedef is not None else ua.NodeId(),
                )
            )
            key = (parent, ref)
            back = up.get(key)
            if back is None:
                back = up[key] = ua.ReferenceDescription(
                    ReferenceTypeId=refid,
                    IsForward=False,
                    NodeId=parent,
                    BrowseName=pname,
                    DisplayName=pdname,
                    NodeClass=pclass,
                    TypeDefinition=ptd,
                )
            nd.references.append(back)
            if typedef is not None:
                tref = typeref.get(typedef)
                if tref is None:
                    tname, tdname, tclass, _ = info(typedef)
                    tref = typeref[typedef] = ua.ReferenceDescription(
                        ReferenceTypeId=has_typedef,
                        IsForward=True,
                        NodeId=typedef,
                        BrowseName=tname,
                        DisplayName=tdname,
                        NodeClass=tclass,
                    )
                nd.references.append(tref)
            names[nid] = (qname, dname, nclass, typedef if typedef is not None else ua.NodeId())
        ref_results = server.iserver.node_mgt_service.add_references(self.refs)
        for r, st in zip(self.refs, ref_results, strict=True):
            if not st.is_good():
                msg = f"cannot add reference {r.SourceNodeId.to_string()} -> {r.TargetNodeId.to_string()}: {st.name}"
                raise RuntimeError(msg)
        n = len(self.nodes)
        self.nodes.clear()
        self.refs.clear()
        return n


class PlantServer:
    """An OPC UA server that exposes a plant and the events fed to it.

    Parameters
    ----------
    spec
        The plant.
    endpoint
        URL to listen on (``opc.tcp://host:port/path``); port 0 picks a free port, see
        :attr:`endpoint_url` after :meth:`start`.
    security
        ``"none"``, ``"sign"`` or ``"sign-encrypt"`` (Basic256Sha256). Only the endpoints of that
        mode are offered, so a client with another mode is refused.
    users
        ``{name: password}`` (plain or ``sha256:<hex>``); when given, anonymous sessions are
        refused. See :mod:`factory_twin.opcua.security`.
    cert_dir
        Where the server's certificate and key live (made on first run); default the user
        data directory.
    trust_dir
        Directory of trusted client certificates; None accepts any client certificate.
    allow_client_writes
        Let clients write process values (the Parameters variables). Off by default: a
        write is answered ``BadUserAccessDenied``. Accepted writes go to :attr:`on_write`.
    load_companion_specs
        Load DI/IA/Machinery when their NodeSet files are installed.
    equipment
        Serve only these equipment ids (a sub-server of a split plant); default all.
    """

    def __init__(
        self,
        spec: PlantSpec,
        *,
        endpoint: str = DEFAULT_ENDPOINT,
        security: str = "none",
        users: dict[str, str] | None = None,
        cert_dir: Path | None = None,
        trust_dir: Path | None = None,
        allow_client_writes: bool = False,
        load_companion_specs: bool = True,
        equipment: Iterable[str] | None = None,
        name: str = "factory_twin plant simulator",
    ) -> None:
        security_policies(security)  # validates the mode early
        u = urlparse(endpoint)
        if u.scheme != "opc.tcp" or not u.hostname:
            msg = f"endpoint must look like opc.tcp://host:port/path, got {endpoint!r}"
            raise ValueError(msg)
        self.spec = spec
        self.security = security
        self.users = dict(users) if users else None
        self.cert_dir = cert_dir
        self.trust_dir = trust_dir
        self.allow_client_writes = allow_client_writes
        self.load_companion_specs = load_companion_specs
        self.name = name
        self._endpoint = endpoint
        ids = None if equipment is None else list(equipment)
        if ids is not None:
            known = {e.id for e in spec.equipment}
            unknown = [i for i in ids if i not in known]
            if unknown:
                msg = f"unknown equipment ids: {', '.join(unknown)}"
                raise ValueError(msg)
        self.equipment: list[Equipment] = [
            e for e in spec.equipment if ids is None or e.id in set(ids)
        ]

        self.on_method: MethodHook | None = None
        self.on_write: WriteHook | None = None
        self.on_alarm: AlarmHook | None = None
        self.alarm_log: list[AlarmEvent] = []
        self.build_time_s = 0.0  # start(): asyncua init, nodesets, our nodes
        self.address_space_s = 0.0  # our nodes only
        self.node_count = 0
        self.companion = CompanionSpecs()

        self._server: Server | None = None
        self._ns = 0
        self._tags: dict[tuple[str, str], _TagNode] = {}
        self._tag_by_node: dict[ua.NodeId, _TagNode] = {}
        self._state_nodes: dict[tuple[str, str], ua.NodeId] = {}
        self._machine_nodes: dict[str, ua.NodeId] = {}
        self._machine_by_node: dict[ua.NodeId, str] = {}
        self._method_names: dict[ua.NodeId, tuple[str, str]] = {}
        self._conditions: dict[ua.NodeId, _Condition] = {}
        self._faults: dict[str, _Condition] = {}
        self._plant_time_s = 0.0
        self.fab = FabCounters()
        self._fab_nodes: dict[str, ua.NodeId] = {}
        self._fab_written: dict[str, float | int] = {}
        self._wafers_per_lot = {p.id: p.wafers_per_lot for p in spec.products}
        self._unknown: set[tuple[str, str]] = set()
        self._explicit_mode: set[str] = set()
        self._running = False

    # ------------------------------------------------------------------ properties

    @property
    def server(self) -> Server:
        """The underlying asyncua server (RuntimeError before :meth:`start`)."""
        if self._server is None:
            msg = "PlantServer is not started"
            raise RuntimeError(msg)
        return self._server

    @property
    def namespace_index(self) -> int:
        """Index of ``urn:factory-twin:plant`` in this server's namespace array."""
        return self._ns

    @property
    def endpoint_url(self) -> str:
        """The URL clients connect to (with the real port once started)."""
        if self._server is None or not self._running:
            return self._endpoint
        u = urlparse(self._endpoint)
        bserver = self._server.bserver
        port = bserver.port if bserver is not None else u.port
        return f"opc.tcp://{u.hostname}:{port}{u.path or '/'}"

    @property
    def running(self) -> bool:
        """True between :meth:`start` and :meth:`stop`."""
        return self._running

    def node_id(self, equipment: str, tag: str) -> str:
        """Return the string NodeId of a tag, e.g. ``ns=2;s=ETCH-01.Parameters.rf_power``."""
        if tag in STATE_TAGS:
            return f"ns={self._ns};s={equipment}.State.{STATE_TAGS[tag]}"
        return f"ns={self._ns};s={equipment}.Parameters.{tag}"

    def active_alarms(self) -> list[AlarmEvent]:
        """Return the alarms that are active or not yet acknowledged, newest state of each."""
        return [self._alarm_record(c, "") for c in self._conditions.values() if c.retain]

    # ------------------------------------------------------------------ life cycle

    async def start(self) -> None:
        """Build the address space and start listening.

        Raises
        ------
        ConnectionFailed
            If the endpoint's port cannot be bound.
        """
        if self._running:
            return
        t0 = time.perf_counter()
        srv = Server()
        await srv.init()
        srv.set_endpoint(self._endpoint)
        srv.set_server_name(self.name)
        await srv.set_build_info(
            "urn:factory-twin", "factory_twin", self.name, _version(), "0", datetime.now(UTC)
        )
        host = urlparse(self._endpoint).hostname or "127.0.0.1"
        await configure_security(
            srv,
            self.security,
            cert_dir=self.cert_dir,
            users=self.users,
            trust_dir=self.trust_dir,
            host=host,
        )
        self._server = srv
        if self.load_companion_specs:
            self.companion = await load_companion_specs(srv)
        self._ns = await srv.register_namespace(NAMESPACE_URI)
        # The build makes ~4 nodes a tag; pausing the cyclic GC (which would rescan the
        # standard address space's ~100k objects again and again) halves its time.
        gc_was_enabled = gc.isenabled()
        gc.disable()
        t_build = time.perf_counter()
        try:
            self._build()
            self.address_space_s = time.perf_counter() - t_build
        finally:
            if gc_was_enabled:
                gc.enable()
        self._bind_condition_methods()
        srv.iserver.subscribe_server_callback(CallbackType.PostWrite, self._on_post_write)
        self.build_time_s = time.perf_counter() - t0
        # asyncua logs a bind failure with a traceback before raising it; the raised error,
        # turned into one clear ConnectionFailed message below, says it all.
        srv_log = logging.getLogger("asyncua.server.server")
        level = srv_log.level
        srv_log.setLevel(logging.CRITICAL)
        try:
            await srv.start()
        except OSError as exc:
            self._server = None
            msg = f"cannot listen on {self._endpoint}: {exc.strerror or exc}"
            raise ConnectionFailed(msg) from None
        finally:
            srv_log.setLevel(level)
        self._running = True
        logger.info(
            "plant simulator server on %s: %d machines, %d tags, %d nodes, built in %.2f s "
            "(companion specs %s)",
            self.endpoint_url,
            len(self.equipment),
            len(self._tags),
            self.node_count,
            self.build_time_s,
            "loaded" if self.companion.loaded else "not loaded",
        )

    async def stop(self) -> None:
        """Stop the server (clients see the connection close)."""
        srv, self._server = self._server, None
        self._running = False
        if srv is not None:
            try:
                await srv.stop()
            except Exception:  # a half-started server must still release its socket
                logger.exception("error while stopping the OPC UA server")

    async def __aenter__(self) -> PlantServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # ------------------------------------------------------------------ building

    def _build(self) -> None:
        srv = self.server
        ns = self._ns
        cs = self.companion
        b = _Batch()
        q = ua.QualifiedName

        # Types and enumerations of our namespace.
        tool_type = _nid(ns, "FabToolType")
        attrs = ua.ObjectTypeAttributes()
        attrs.DisplayName = ua.LocalizedText("FabToolType")
        attrs.Description = ua.LocalizedText("A semiconductor process or metrology tool")
        attrs.IsAbstract = False
        item = ua.AddNodesItem()
        item.RequestedNewNodeId = tool_type
        item.BrowseName = q("FabToolType", ns)
        item.NodeClass = ua.NodeClass.ObjectType
        item.ParentNodeId = _i(ua.ObjectIds.BaseObjectType)
        item.ReferenceTypeId = _i(ua.ObjectIds.HasSubtype)
        item.NodeAttributes = attrs
        b.typed.append(item)
        e10_type = self._enum_type(b, "E10StateEnumeration", E10_STATES)
        mode_type = self._enum_type(b, "MachineryOperationModeEnumeration", OPERATION_MODES)
        b.flush_typed(srv)

        machines = cs.machines_folder()
        if machines is None:
            machines = b.obj(
                _nid(ns, "Machines"),
                q("Machines", ns),
                _i(ua.ObjectIds.ObjectsFolder),
                ref=ua.ObjectIds.Organizes,
                typedef=_i(ua.ObjectIds.FolderType),
                notifier=1,
                description="The plant's equipment",
            )
        di_ns = cs.di if cs.loaded and cs.di is not None else ns
        mach_ns = cs.machinery if cs.loaded and cs.machinery is not None else ns
        ident_type = cs.machine_identification_type() or _i(ua.ObjectIds.BaseObjectType)
        str_t, lt_t = _i(ua.ObjectIds.String), _i(ua.ObjectIds.LocalizedText)
        process_class = _i(ua.ObjectIds.ProcessConditionClassType)
        maintenance_class = _i(ua.ObjectIds.MaintenanceConditionClassType)

        for eq in self.equipment:
            et = self.spec.equipment_type(eq.type)
            m = b.obj(
                _nid(ns, eq.id),
                q(eq.id, ns),
                machines,
                ref=ua.ObjectIds.Organizes,
                typedef=tool_type,
                notifier=1,
                description=f"{et.kind.value} {et.id} in bay {eq.bay}",
            )
            self._machine_nodes[eq.id] = m
            self._machine_by_node[m] = eq.id
            b.reference(_i(ua.ObjectIds.Server), ua.ObjectIds.HasNotifier, m, ua.NodeClass.Object)

            ident = b.obj(
                _nid(ns, f"{eq.id}.Identification"),
                q("Identification", di_ns),
                m,
                typedef=ident_type,
            )
            for name, value, nsi, dt in (
                ("Manufacturer", ua.LocalizedText(et.manufacturer), di_ns, lt_t),
                ("Model", ua.LocalizedText(et.model or et.id), di_ns, lt_t),
                ("SerialNumber", eq.serial_number or eq.id, di_ns, str_t),
                ("AssetId", eq.asset_id or eq.id, di_ns, str_t),
                ("Location", eq.bay, mach_ns, str_t),
            ):
                vt = ua.VariantType.LocalizedText if dt == lt_t else ua.VariantType.String
                b.var(
                    _nid(ns, f"{eq.id}.Identification.{name}"),
                    q(name, nsi),
                    ident,
                    ua.Variant(value, vt),
                    dt,
                    prop=True,
                )

            st = b.obj(_nid(ns, f"{eq.id}.State"), q("State", ns), m)
            for name, value, vt, dt, desc in (
                (
                    "E10State",
                    E10State.STANDBY.code,
                    ua.VariantType.Int32,
                    e10_type,
                    "SEMI E10 state",
                ),
                (
                    "E10StateName",
                    E10State.STANDBY.value,
                    ua.VariantType.String,
                    str_t,
                    "SEMI E10 state name",
                ),
                ("OperationMode", 3, ua.VariantType.Int32, mode_type, "Machinery operation mode"),
                ("CurrentLot", "", ua.VariantType.String, str_t, "Lot being processed"),
                ("Recipe", "", ua.VariantType.String, str_t, "Recipe being run"),
                (
                    "WaferCount",
                    0,
                    ua.VariantType.UInt32,
                    _i(ua.ObjectIds.UInt32),
                    "Wafers processed",
                ),
            ):
                nid = b.var(
                    _nid(ns, f"{eq.id}.State.{name}"),
                    q(name, ns),
                    st,
                    ua.Variant(value, vt),
                    dt,
                    description=desc,
                )
                self._state_nodes[(eq.id, name)] = nid

            params = b.obj(_nid(ns, f"{eq.id}.Parameters"), q("Parameters", ns), m)
            access = _READ_WRITE if self.allow_client_writes else _READ
            for tag in et.tags:
                vt, dt_id = _VTYPES[tag.data_type]
                tid = f"{eq.id}.Parameters.{tag.name}"
                analog = tag.data_type in (TagType.FLOAT, TagType.INT)
                nid = b.var(
                    _nid(ns, tid),
                    q(tag.name, ns),
                    params,
                    ua.Variant(_initial(tag), vt),
                    _i(dt_id),
                    typedef=_i(
                        ua.ObjectIds.AnalogItemType
                        if analog
                        else ua.ObjectIds.BaseDataVariableType
                    ),
                    access=access,
                    description=tag.description or tag.name,
                )
                if analog:
                    lo, hi = _eu_range(tag)
                    b.var(
                        _nid(ns, f"{tid}.EURange"),
                        q("EURange", 0),
                        nid,
                        ua.Variant(ua.Range(Low=lo, High=hi), ua.VariantType.ExtensionObject),
                        _i(ua.ObjectIds.Range),
                        prop=True,
                    )
                    b.var(
                        _nid(ns, f"{tid}.EngineeringUnits"),
                        q("EngineeringUnits", 0),
                        nid,
                        ua.Variant(eu_information(tag.unit), ua.VariantType.ExtensionObject),
                        _i(ua.ObjectIds.EUInformation),
                        prop=True,
                    )
                tn = _TagNode(eq.id, tag, nid, vt)
                self._tags[(eq.id, tag.name)] = tn
                self._tag_by_node[nid] = tn
                if tag.alarms is not None and analog:
                    for limit in ("lolo", "lo", "hi", "hihi"):
                        value = getattr(tag.alarms, limit)
                        if value is None:
                            continue
                        code = f"{tag.name}.{limit}"
                        cond = self._add_condition(
                            b, eq.id, m, code, "ExclusiveLimitAlarmType", process_class, nid
                        )
                        cond.tag, cond.limit, cond.limit_value = tag, limit, float(value)
                        cond.deadband = _deadband(tag, float(value))
                        tn.conditions.append(cond)

            self._faults[eq.id] = self._add_condition(
                b,
                eq.id,
                m,
                "fault",
                "OffNormalAlarmType",
                maintenance_class,
                _nid(ns, f"{eq.id}.State.E10State"),
            )
            for mname, desc in (
                ("Hold", "Stop starting new lots on this tool (the running lot finishes)"),
                ("Resume", "Let a held tool start lots again"),
                (
                    "ResetAlarm",
                    "Acknowledge and reset this tool's alarms that have returned to normal",
                ),
            ):
                mid = b.method(_nid(ns, f"{eq.id}.{mname}"), q(mname, ns), m, desc)
                self._method_names[mid] = (eq.id, mname)
        fab = b.obj(
            _nid(ns, "Fab"),
            q("Fab", ns),
            _i(ua.ObjectIds.ObjectsFolder),
            ref=ua.ObjectIds.Organizes,
            description="Fab-level figures: plant clock, lots and wafers out, WIP, moves",
        )
        initial = self.fab.values()
        for name, vt, desc in FAB_VARIABLES:
            self._fab_nodes[name] = b.var(
                _nid(ns, f"Fab.{name}"),
                q(name, ns),
                fab,
                ua.Variant(initial[name], vt),
                _i(ua.ObjectIds.Double if vt is ua.VariantType.Double else ua.ObjectIds.UInt32),
                description=desc,
            )
        self._fab_written = dict(initial)
        self.node_count = b.flush(srv)
        callbacks = {name: self._method_callback(name) for name in METHODS}
        for mid, (_, mname) in self._method_names.items():
            srv.iserver.isession.add_method_callback(mid, callbacks[mname])

    def _enum_type(self, b: _Batch, name: str, values: tuple[str, ...]) -> ua.NodeId:
        ns = self._ns
        nid = _nid(ns, name)
        attrs = ua.DataTypeAttributes()
        attrs.DisplayName = ua.LocalizedText(name)
        attrs.Description = ua.LocalizedText(name)
        attrs.IsAbstract = False
        item = ua.AddNodesItem()
        item.RequestedNewNodeId = nid
        item.BrowseName = ua.QualifiedName(name, ns)
        item.NodeClass = ua.NodeClass.DataType
        item.ParentNodeId = _i(ua.ObjectIds.Enumeration)
        item.ReferenceTypeId = _i(ua.ObjectIds.HasSubtype)
        item.NodeAttributes = attrs
        b.typed.append(item)
        b.var(
            _nid(ns, f"{name}.EnumStrings"),
            ua.QualifiedName("EnumStrings", 0),
            nid,
            ua.Variant([ua.LocalizedText(v) for v in values], ua.VariantType.LocalizedText),
            _i(ua.ObjectIds.LocalizedText),
            prop=True,
            value_rank=ua.ValueRank.OneDimension,
        )
        return nid

    def _add_condition(
        self,
        b: _Batch,
        equipment: str,
        machine: ua.NodeId,
        code: str,
        type_name: str,
        condition_class: ua.NodeId,
        input_node: ua.NodeId,
    ) -> _Condition:
        ns = self._ns
        type_id = _i(getattr(ua.ObjectIds, type_name))
        nid = b.obj(
            _nid(ns, f"{equipment}.Alarms.{code}"),
            ua.QualifiedName(code, ns),
            machine,
            ref=ua.ObjectIds.HasCondition,
            typedef=type_id,
            description=f"{equipment} alarm {code}",
        )
        severity = SEVERITY["fault" if code == "fault" else code.rsplit(".", 1)[1]]
        cond = _Condition(equipment, code, severity, nid, machine, None)
        cond.type_id, cond.condition_class, cond.input_node = type_id, condition_class, input_node
        self._conditions[nid] = cond
        return cond

    def _event(self, c: _Condition) -> Any:
        """Return the condition's event record, made on first use (most never fire)."""
        if c.event is not None:
            return c.event
        limit_alarm = c.type_id.Identifier == ua.ObjectIds.ExclusiveLimitAlarmType
        ev = event_objects.ExclusiveLimitAlarm() if limit_alarm else event_objects.AlarmCondition()
        ev.EventType = c.type_id
        ev.add_property("NodeId", c.node_id, ua.VariantType.NodeId)  # the ConditionId field
        ev.SourceNode = c.machine_id
        ev.SourceName = c.equipment
        ev.ConditionName = c.code
        ev.ConditionClassId = c.condition_class
        ev.ConditionClassName = ua.LocalizedText(
            "ProcessConditionClass"
            if c.condition_class.Identifier == ua.ObjectIds.ProcessConditionClassType
            else "MaintenanceConditionClass"
        )
        ev.InputNode = c.input_node
        ev.Severity = c.severity
        ev.Retain = False
        ev.Quality = ua.StatusCode(ua.StatusCodes.Good)
        ev.BranchId = ua.NodeId()
        ev.SupportsFilteredRetain = False
        setattr(ev, "EnabledState/Id", True)
        ev.EnabledState = ua.LocalizedText("Enabled")
        ev.SuppressedOrShelved = False
        setattr(ev, "SuppressedState/Id", False)
        for name in ("ActiveState", "AckedState", "ConfirmedState"):
            ev.data_types[f"{name}/TransitionTime"] = ua.VariantType.DateTime
        if limit_alarm and c.limit:
            ev.add_property(
                "LimitState/CurrentState", ua.LocalizedText(""), ua.VariantType.LocalizedText
            )
            setattr(ev, _LIMIT_FIELDS[c.limit], c.limit_value)
            setattr(ev, f"Severity{LIMIT_STATE_NAMES[c.limit]}", c.severity)
        c.event = ev
        self._set_state_fields(c)
        return ev

    # ------------------------------------------------------------------ updates

    async def apply(self, events: Iterable[PlantEvent], clock_s: float | None = None) -> int:
        """Write the values and states in ``events``; raise and clear alarms.

        ``clock_s`` is the source's clock when it made the batch (a simulation's ``now``);
        without it the plant clock (``Fab.PlantClock``) is the newest record time.

        Lot moves update the fab-level counters (:attr:`fab`, served under ``Fab``);
        AlarmEvent and ConnectionStatus records are ignored: this server makes its own alarms
        from limits and states. The loop yields to the event loop every
        few hundred writes so subscriptions keep being served.

        Returns
        -------
        int
            The number of values written.
        """
        if not self._running:
            return 0
        srv = self.server
        write = srv.iserver.aspace.write_attribute_value
        n = 0
        now = datetime.now(UTC)
        for ev in events:
            if isinstance(ev, TagUpdate):
                self._plant_time_s = max(self._plant_time_s, ev.source_ts)
                if ev.tag in STATE_TAGS:
                    n += await self._apply_state_tag(ev, now)
                else:
                    tn = self._tags.get((ev.equipment, ev.tag))
                    if tn is None:
                        self._warn_unknown(ev.equipment, ev.tag)
                        continue
                    dv = _datavalue(ev.value, tn.vtype, ev.quality, _ts(ev.source_ts, now))
                    if dv is None:
                        self._warn_bad_value(ev, tn)
                        continue
                    await write(tn.node_id, ua.AttributeIds.Value, dv)
                    n += 1
                    if tn.conditions and ev.quality is Quality.GOOD and dv.Value is not None:
                        await self._check_limits(tn, dv.Value.Value, ev.source_ts)
            elif isinstance(ev, StateChange):
                self._plant_time_s = max(self._plant_time_s, ev.time_s)
                n += await self._write_state(ev.equipment, ev.state, ev.substate, ev.time_s, now)
            elif isinstance(ev, LotMove):
                self._plant_time_s = max(self._plant_time_s, ev.depart_s)
                self._count_lot(ev)
                continue
            else:
                continue
            if n and n % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        if clock_s is not None:
            self._plant_time_s = max(self._plant_time_s, float(clock_s))
        await self._write_fab(now)  # not counted: n is the plant values written
        return n

    def _count_lot(self, ev: LotMove) -> None:
        fab = self.fab
        if ev.from_equipment is None and ev.to_equipment is None and ev.step == 0:
            fab.lots_in_fab.add(ev.lot)
            return
        if ev.from_equipment is None and ev.to_equipment is not None:
            fab.lots_in_fab.add(ev.lot)  # a source that enters lots straight at a tool
            return
        if ev.from_equipment is not None:
            fab.moves += 1
        if ev.to_equipment is None:
            fab.lots_in_fab.discard(ev.lot)
            fab.lots_completed += 1
            fab.wafers_completed += self._wafers_per_lot.get(ev.product, 0)

    def restore_fab(self, counters: FabCounters) -> None:
        """Continue counting from ``counters`` (e.g. those of a previous server of the same
        run); call before :meth:`start` or between batches."""
        self.fab = counters.copy()
        self._plant_time_s = max(self._plant_time_s, counters.plant_clock_s)

    async def _write_fab(self, now: datetime) -> int:
        """Write the fab-level variables that changed since the last batch."""
        if not self._fab_nodes:
            return 0
        self.fab.plant_clock_s = max(self.fab.plant_clock_s, self._plant_time_s)
        write = self.server.iserver.aspace.write_attribute_value
        ts = _ts(self.fab.plant_clock_s, now)
        n = 0
        for (name, vt, _), value in zip(FAB_VARIABLES, self.fab.values().values(), strict=True):
            if self._fab_written.get(name) == value:
                continue
            self._fab_written[name] = value
            dv = _SharedDataValue(ua.Variant(value, vt), SourceTimestamp=ts, ServerTimestamp=now)
            await write(self._fab_nodes[name], ua.AttributeIds.Value, dv)
            n += 1
        return n

    async def _apply_state_tag(self, ev: TagUpdate, now: datetime) -> int:
        if ev.equipment not in self._machine_nodes:
            self._warn_unknown(ev.equipment, ev.tag)
            return 0
        if ev.tag == "state":
            try:
                state = ev.value if isinstance(ev.value, E10State) else E10State(str(ev.value))
            except ValueError:
                try:
                    state = E10State.from_code(int(ev.value))
                except (TypeError, ValueError):
                    logger.warning("%s: %r is not an E10 state", ev.equipment, ev.value)
                    return 0
            return await self._write_state(ev.equipment, state, "", ev.source_ts, now)
        name = STATE_TAGS[ev.tag]
        ts = _ts(ev.source_ts, now)
        value: Any = ev.value
        if name == "OperationMode":
            self._explicit_mode.add(ev.equipment)
            value = _operation_mode(value)
            vt = ua.VariantType.Int32
        elif name == "WaferCount":
            try:
                value = max(0, int(value))
            except (TypeError, ValueError):
                return 0
            vt = ua.VariantType.UInt32
        else:
            value = "" if value is None else str(value)
            vt = ua.VariantType.String
        dv = _SharedDataValue(ua.Variant(value, vt), SourceTimestamp=ts, ServerTimestamp=now)
        await self.server.iserver.aspace.write_attribute_value(
            self._state_nodes[(ev.equipment, name)], ua.AttributeIds.Value, dv
        )
        return 1

    async def _write_state(
        self, equipment: str, state: E10State, substate: str, time_s: float, now: datetime
    ) -> int:
        if equipment not in self._machine_nodes:
            self._warn_unknown(equipment, "state")
            return 0
        write = self.server.iserver.aspace.write_attribute_value
        ts = _ts(time_s, now)
        await write(
            self._state_nodes[(equipment, "E10State")],
            ua.AttributeIds.Value,
            _SharedDataValue(
                ua.Variant(state.code, ua.VariantType.Int32),
                SourceTimestamp=ts,
                ServerTimestamp=now,
            ),
        )
        await write(
            self._state_nodes[(equipment, "E10StateName")],
            ua.AttributeIds.Value,
            _SharedDataValue(
                ua.Variant(state.value, ua.VariantType.String),
                SourceTimestamp=ts,
                ServerTimestamp=now,
            ),
        )
        n = 2
        if equipment not in self._explicit_mode:
            n += 1
            # Machinery's operation mode follows the E10 state unless the source sends its own.
            await write(
                self._state_nodes[(equipment, "OperationMode")],
                ua.AttributeIds.Value,
                _SharedDataValue(
                    ua.Variant(_E10_OPERATION_MODE[state], ua.VariantType.Int32),
                    SourceTimestamp=ts,
                    ServerTimestamp=now,
                ),
            )
        cond = self._faults[equipment]
        down = state is E10State.UNSCHEDULED_DOWN
        if down and not cond.active:
            why = f" ({substate})" if substate else ""
            await self._activate(cond, f"fault: {equipment} is unscheduled down{why}", time_s)
        elif not down and cond.active:
            await self._deactivate(cond, f"fault: {equipment} is back up ({state.value})", time_s)
        return n

    async def _check_limits(self, tn: _TagNode, value: Any, time_s: float) -> None:
        try:
            v = float(value)
        except (TypeError, ValueError):
            return
        unit = f" {tn.spec.unit}" if tn.spec.unit else ""
        for c in tn.conditions:
            high = c.limit in ("hi", "hihi")
            if not c.active:
                if (v > c.limit_value) if high else (v < c.limit_value):
                    word = "above" if high else "below"
                    text = (
                        f"{c.code}: {tn.spec.name} = {v:.4g}{unit} {word} the {c.limit} limit "
                        f"{c.limit_value:.4g}{unit}"
                    )
                    await self._activate(c, text, time_s)
            else:
                back = (
                    (v <= c.limit_value - c.deadband)
                    if high
                    else (v >= c.limit_value + c.deadband)
                )
                if back:
                    text = (
                        f"{c.code}: {tn.spec.name} = {v:.4g}{unit} back within the {c.limit} limit"
                    )
                    await self._deactivate(c, text, time_s)

    # ------------------------------------------------------------------ alarms

    async def _activate(self, c: _Condition, text: str, time_s: float) -> None:
        c.active, c.acked, c.confirmed = True, False, False
        now = datetime.now(UTC)
        ev = self._event(c)
        for name in ("ActiveState", "AckedState", "ConfirmedState"):
            setattr(ev, f"{name}/TransitionTime", now)
        if c.limit:
            setattr(ev, "LimitState/CurrentState", ua.LocalizedText(LIMIT_STATE_NAMES[c.limit]))
        ev.Comment = ua.LocalizedText("")
        ev.ClientUserId = ""
        await self._emit(c, text, time_s)

    async def _deactivate(self, c: _Condition, text: str, time_s: float) -> None:
        c.active = False
        self._event(c)
        setattr(c.event, "ActiveState/TransitionTime", datetime.now(UTC))
        if c.limit:
            setattr(c.event, "LimitState/CurrentState", ua.LocalizedText(""))
        await self._emit(c, text, time_s)

    def _set_state_fields(self, c: _Condition) -> None:
        ev = c.event
        setattr(ev, "ActiveState/Id", c.active)
        ev.ActiveState = ua.LocalizedText("Active" if c.active else "Inactive")
        setattr(ev, "AckedState/Id", c.acked)
        ev.AckedState = ua.LocalizedText("Acknowledged" if c.acked else "Unacknowledged")
        setattr(ev, "ConfirmedState/Id", c.confirmed)
        ev.ConfirmedState = ua.LocalizedText("Confirmed" if c.confirmed else "Unconfirmed")
        ev.Retain = c.retain

    async def _emit(
        self, c: _Condition, text: str | None, time_s: float, user: str = "", comment: str = ""
    ) -> None:
        ev = c.event
        self._set_state_fields(c)
        now = datetime.now(UTC)
        c.event_id = uuid.uuid4().hex.encode("ascii")
        ev.EventId = c.event_id
        ev.Time = now
        ev.ReceiveTime = now
        if text is not None:
            ev.Message = ua.LocalizedText(text)
        ev.LastSeverity = ev.Severity
        subs = self.server.iserver.subscription_service
        # First from the machine, then from the Server object: asyncua keeps the last
        # emitted copy for ConditionRefresh, and most alarm clients watch the Server.
        ev.emitting_node = c.machine_id
        await subs.trigger_event(ev)
        ev.emitting_node = _i(ua.ObjectIds.Server)
        await subs.trigger_event(ev)
        rec = self._alarm_record(c, ev.Message.Text or "", time_s, user, comment)
        self.alarm_log.append(rec)
        if self.on_alarm is not None:
            try:
                self.on_alarm(rec)
            except Exception:
                logger.exception("on_alarm hook failed")

    def _alarm_record(
        self,
        c: _Condition,
        message: str,
        time_s: float | None = None,
        user: str = "",
        comment: str = "",
    ) -> AlarmEvent:
        return AlarmEvent(
            alarm_id=c.alarm_id,
            equipment=c.equipment,
            code=c.code,
            severity=c.severity,
            message=message or (c.event.Message.Text or "" if c.event is not None else ""),
            time_s=self._plant_time_s if time_s is None else time_s,
            active=c.active,
            acked=c.acked,
            user=user,
            comment=comment,
            event_id=c.event_id,
        )

    async def acknowledge(self, alarm_id: str, comment: str = "", user: str = "") -> bool:
        """Acknowledge an alarm from the server side (as the ResetAlarm method does)."""
        for c in self._conditions.values():
            if c.alarm_id == alarm_id:
                if c.acked:
                    return False
                await self._ack(c, comment, user)
                return True
        return False

    async def _ack(self, c: _Condition, comment: str, user: str) -> None:
        c.acked = True
        setattr(c.event, "AckedState/TransitionTime", datetime.now(UTC))
        c.event.Comment = ua.LocalizedText(comment)
        c.event.ClientUserId = user
        await self._emit(c, None, self._plant_time_s, user, comment)

    def _bind_condition_methods(self) -> None:
        sess = self.server.iserver.isession
        sess.add_method_callback(
            _i(ua.ObjectIds.AcknowledgeableConditionType_Acknowledge), self._on_acknowledge
        )
        sess.add_method_callback(
            _i(ua.ObjectIds.AcknowledgeableConditionType_Confirm), self._on_confirm
        )
        sess.add_method_callback(_i(ua.ObjectIds.ConditionType_ConditionRefresh), self._on_refresh)
        sess.add_method_callback(
            _i(ua.ObjectIds.ConditionType_ConditionRefresh2), self._on_refresh
        )

    def _find_condition(self, object_id: ua.NodeId, event_id: Any) -> _Condition | ua.StatusCode:
        c = self._conditions.get(object_id)
        if c is None:
            return ua.StatusCode(ua.StatusCodes.BadNodeIdUnknown)
        eid = getattr(event_id, "Value", event_id)
        if not eid or bytes(eid) != c.event_id:
            return ua.StatusCode(ua.StatusCodes.BadEventIdUnknown)
        return c

    async def _on_acknowledge(
        self, parent: ua.NodeId, event_id: Any = None, comment: Any = None
    ) -> Any:
        found = self._find_condition(parent, event_id)
        if isinstance(found, ua.StatusCode):
            return found
        if found.acked:
            return ua.StatusCode(ua.StatusCodes.BadConditionBranchAlreadyAcked)
        await self._ack(found, _text(comment), "")
        return []

    async def _on_confirm(
        self, parent: ua.NodeId, event_id: Any = None, comment: Any = None
    ) -> Any:
        found = self._find_condition(parent, event_id)
        if isinstance(found, ua.StatusCode):
            return found
        if found.confirmed:
            return ua.StatusCode(ua.StatusCodes.BadConditionBranchAlreadyConfirmed)
        if not found.acked:
            return ua.StatusCode(ua.StatusCodes.BadInvalidState)
        found.confirmed = True
        setattr(found.event, "ConfirmedState/TransitionTime", datetime.now(UTC))
        found.event.Comment = ua.LocalizedText(_text(comment))
        await self._emit(found, None, self._plant_time_s, "", _text(comment))
        return []

    async def _on_refresh(self, parent: ua.NodeId, subscription_id: Any = None, *rest: Any) -> Any:
        subs = self.server.iserver.subscription_service
        sid = int(getattr(subscription_id, "Value", subscription_id) or 0)
        sub = subs.subscriptions.get(sid)
        if sub is None:
            return ua.StatusCode(ua.StatusCodes.BadSubscriptionIdInvalid)
        mis = sub.monitored_item_srv
        start, end = event_objects.RefreshStartEvent(), event_objects.RefreshEndEvent()
        for marker in (start, end):
            marker.SourceNode = _i(ua.ObjectIds.Server)
            marker.SourceName = "Server"
            marker.Severity = 1
        await self._send_marker(mis, start)
        for c in list(self._conditions.values()):
            if not c.retain:
                continue
            ev = c.event
            for emitter in (c.machine_id, _i(ua.ObjectIds.Server)):
                ev.emitting_node = emitter
                await mis.trigger_event(ev)
        await self._send_marker(mis, end)
        return []

    async def _send_marker(self, mis: Any, marker: Any) -> None:
        now = datetime.now(UTC)
        marker.EventId = uuid.uuid4().hex.encode("ascii")
        marker.Time = marker.ReceiveTime = now
        marker.emitting_node = _i(ua.ObjectIds.Server)
        await mis.trigger_event(marker)

    # ------------------------------------------------------------------ methods and writes

    def _method_callback(self, method: str) -> Callable[..., Any]:
        # One callback per method name; the object the client calls it on picks the machine.
        async def call(parent: ua.NodeId, *args: Any) -> Any:
            equipment = self._machine_by_node.get(parent)
            if equipment is None:
                return ua.StatusCode(ua.StatusCodes.BadNodeIdInvalid)
            return await self._run_method(equipment, method)

        return call

    async def _run_method(self, equipment: str, method: str) -> Any:
        if method == "ResetAlarm":
            allowed = self._ask_hook(equipment, method, default=True)
            if allowed is not True:
                return allowed
            for c in list(self._conditions.values()):
                if c.equipment == equipment and not c.active and not c.acked:
                    await self._ack(c, "reset from the tool", "")
            return []
        result = self._ask_hook(equipment, method, default=None)
        if result is True:
            return []
        return result

    def _ask_hook(self, equipment: str, method: str, default: bool | None) -> Any:
        hook = self.on_method
        if hook is None:
            if default is True:
                return True
            return ua.StatusCode(ua.StatusCodes.BadNotImplemented)
        try:
            ok = hook(equipment, method)
        except Exception:
            logger.exception("method %s on %s failed", method, equipment)
            return ua.StatusCode(ua.StatusCodes.BadInternalError)
        return True if ok else ua.StatusCode(ua.StatusCodes.BadInvalidState)

    async def _on_post_write(self, event: Any, dispatcher: Any) -> None:
        params, results = event.request_params, event.response_params
        if not event.is_external or results is None:
            return
        for wv, status in zip(params.NodesToWrite, results, strict=False):
            if not status.is_good() or wv.AttributeId != ua.AttributeIds.Value:
                continue
            tn = self._tag_by_node.get(wv.NodeId)
            if tn is None or wv.Value.Value is None:
                continue
            value = wv.Value.Value.Value
            if tn.conditions:
                await self._check_limits(tn, value, self._plant_time_s)
            if self.on_write is not None:
                try:
                    self.on_write(tn.equipment, tn.spec.name, value)
                except Exception:
                    logger.exception("on_write hook failed for %s.%s", tn.equipment, tn.spec.name)

    # ------------------------------------------------------------------ warnings

    def _warn_unknown(self, equipment: str, tag: str) -> None:
        key = (equipment, tag)
        if key not in self._unknown:
            self._unknown.add(key)
            logger.debug("ignoring update of %s.%s: not served here", equipment, tag)

    def _warn_bad_value(self, ev: TagUpdate, tn: _TagNode) -> None:
        key = (ev.equipment, ev.tag + "#value")
        if key not in self._unknown:
            self._unknown.add(key)
            logger.warning(
                "%s.%s: value %r does not fit data type %s; skipped",
                ev.equipment,
                ev.tag,
                ev.value,
                tn.spec.data_type.value,
            )


# Machinery operation mode (0 None, 1 Maintenance, 2 Setup, 3 Processing) for each E10 state.
_E10_OPERATION_MODE = {
    E10State.PRODUCTIVE: 3,
    E10State.STANDBY: 3,
    E10State.ENGINEERING: 2,
    E10State.SCHEDULED_DOWN: 1,
    E10State.UNSCHEDULED_DOWN: 1,
    E10State.NON_SCHEDULED: 0,
}
_LIMIT_FIELDS = {
    "hihi": "HighHighLimit",
    "hi": "HighLimit",
    "lo": "LowLimit",
    "lolo": "LowLowLimit",
}


def _version() -> str:
    from factory_twin import __version__

    return str(__version__)


def _text(v: Any) -> str:
    v = getattr(v, "Value", v)
    if isinstance(v, ua.LocalizedText):
        return v.Text or ""
    return "" if v is None else str(v)


def _initial(tag: TagSpec) -> Any:
    if tag.data_type is TagType.STRING:
        return ""
    if tag.data_type is TagType.BOOL:
        return False
    base = tag.idle_value
    if base is None and tag.normal_range is not None:
        base = tag.normal_range[0]
    base = 0.0 if base is None else base
    return round(base) if tag.data_type is TagType.INT else float(base)


def _eu_range(tag: TagSpec) -> tuple[float, float]:
    if tag.normal_range is not None:
        return float(tag.normal_range[0]), float(tag.normal_range[1])
    vals = [v for v in (tag.idle_value,) if v is not None]
    if tag.alarms is not None:
        vals += [
            v
            for v in (tag.alarms.lolo, tag.alarms.lo, tag.alarms.hi, tag.alarms.hihi)
            if v is not None
        ]
    if not vals:
        return 0.0, 0.0
    return float(min(vals)), float(max(vals))


def _deadband(tag: TagSpec, limit: float) -> float:
    lo, hi = _eu_range(tag)
    span = hi - lo if hi > lo else abs(limit)
    return 0.01 * span


def _ts(source_ts: float, now: datetime) -> datetime:
    # Live sources stamp with Unix time; a simulation stamps with plant seconds from 0,
    # which OPC UA clients would show as 1970: serve those with the wall clock.
    if source_ts > 1e9:
        return datetime.fromtimestamp(source_ts, UTC)
    return now


def _datavalue(
    value: Any, vt: ua.VariantType, quality: Quality, ts: datetime
) -> ua.DataValue | None:
    status = _STATUS.get(quality) or _STATUS[Quality.BAD]
    if value is None:
        if status.is_good():
            return None
        return _SharedDataValue(
            ua.Variant(None, ua.VariantType.Null),
            StatusCode=status,
            SourceTimestamp=ts,
            ServerTimestamp=ts,
        )
    try:
        if vt is ua.VariantType.Double:
            v: Any = float(value)
        elif vt is ua.VariantType.Int32:
            v = int(value)
            if not -(2**31) <= v < 2**31:
                return None
        elif vt is ua.VariantType.Boolean:
            v = bool(value)
        else:
            v = str(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return _SharedDataValue(
        ua.Variant(v, vt), StatusCode=status, SourceTimestamp=ts, ServerTimestamp=ts
    )


def _operation_mode(value: Any) -> int:
    if isinstance(value, str):
        for i, name in enumerate(OPERATION_MODES):
            if value.strip().lower() == name.lower():
                return i
        return 0
    try:
        i = int(value)
    except (TypeError, ValueError):
        return 0
    return i if 0 <= i < len(OPERATION_MODES) else 0
