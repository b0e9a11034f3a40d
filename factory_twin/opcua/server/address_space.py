"""Address-space building: a plant's machines, states, parameters, conditions and fab figures.

:func:`build_address_space` turns a :class:`~factory_twin.model.schema.PlantSpec` into nodes
(collected in a :class:`~factory_twin.opcua.server.nodes.NodeBatch` and inserted in bulk)
and returns a :class:`PlantNodes` index that the write path, the methods and the alarms use
to find them. The layout is described in :mod:`factory_twin.opcua.server`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from asyncua import ua

from factory_twin.model.events import E10State
from factory_twin.model.schema import Equipment, PlantSpec, TagSpec, TagType
from factory_twin.opcua._uatypes import node_id
from factory_twin.opcua.server.alarms import AlarmConditions, Condition
from factory_twin.opcua.server.constants import E10_STATES, FAB_VARIABLES, OPERATION_MODES
from factory_twin.opcua.server.nodes import READ, READ_WRITE, NodeBatch
from factory_twin.opcua.server.units import eu_information

if TYPE_CHECKING:
    from asyncua import Server

    from factory_twin.opcua.nodesets import CompanionSpecs

VTYPES = {
    TagType.FLOAT: (ua.VariantType.Double, ua.ObjectIds.Double),
    TagType.INT: (ua.VariantType.Int32, ua.ObjectIds.Int32),
    TagType.BOOL: (ua.VariantType.Boolean, ua.ObjectIds.Boolean),
    TagType.STRING: (ua.VariantType.String, ua.ObjectIds.String),
}
_METHOD_DESCRIPTIONS = (
    ("Hold", "Stop starting new lots on this tool (the running lot finishes)"),
    ("Resume", "Let a held tool start lots again"),
    ("ResetAlarm", "Acknowledge and reset this tool's alarms that have returned to normal"),
)
_STR = node_id(ua.ObjectIds.String)
_LTEXT = node_id(ua.ObjectIds.LocalizedText)


@dataclass(eq=False)
class TagNode:
    """The Parameters variable of one tag and the limit conditions it drives."""

    equipment: str
    spec: TagSpec
    node_id: ua.NodeId
    vtype: ua.VariantType
    conditions: list[Condition] = field(default_factory=list)


@dataclass
class PlantNodes:
    """Where the nodes of a plant are: the index the rest of the server works from."""

    tags: dict[tuple[str, str], TagNode] = field(default_factory=dict)
    tag_by_node: dict[ua.NodeId, TagNode] = field(default_factory=dict)
    state_nodes: dict[tuple[str, str], ua.NodeId] = field(default_factory=dict)
    machine_nodes: dict[str, ua.NodeId] = field(default_factory=dict)
    machine_by_node: dict[ua.NodeId, str] = field(default_factory=dict)
    method_names: dict[ua.NodeId, tuple[str, str]] = field(default_factory=dict)
    fab_nodes: dict[str, ua.NodeId] = field(default_factory=dict)
    node_count: int = 0


def build_address_space(
    server: Server,
    ns: int,
    spec: PlantSpec,
    equipment: list[Equipment],
    companion: CompanionSpecs,
    alarms: AlarmConditions,
    *,
    allow_client_writes: bool,
    fab_initial: dict[str, float | int],
) -> PlantNodes:
    """Add the plant's nodes (and their conditions, to ``alarms``) to ``server``.

    Parameters
    ----------
    server
        An initialised, not yet started asyncua server.
    ns
        The index of :data:`~factory_twin.opcua.server.NAMESPACE_URI` in it.
    spec, equipment
        The plant and the tools to serve.
    companion
        The companion specifications loaded into ``server`` (maybe none).
    alarms
        Gets one condition per tag limit and one fault condition per tool.
    allow_client_writes
        Make the Parameters variables writable.
    fab_initial
        The first values of the ``Fab`` variables.

    Returns
    -------
    PlantNodes
        The index of the new nodes (``node_count`` is how many were inserted in bulk).
    """
    return _Builder(server, ns, spec, companion, alarms, allow_client_writes).build(
        equipment, fab_initial
    )


class _Builder:
    def __init__(
        self,
        server: Server,
        ns: int,
        spec: PlantSpec,
        companion: CompanionSpecs,
        alarms: AlarmConditions,
        allow_client_writes: bool,
    ) -> None:
        self.server = server
        self.ns = ns
        self.spec = spec
        self.cs = companion
        self.alarms = alarms
        self.access = READ_WRITE if allow_client_writes else READ
        self.b = NodeBatch()
        self.out = PlantNodes()
        self.di_ns = companion.di if companion.loaded and companion.di is not None else ns
        self.mach_ns = (
            companion.machinery if companion.loaded and companion.machinery is not None else ns
        )
        self.ident_type = companion.machine_identification_type() or node_id(
            ua.ObjectIds.BaseObjectType
        )
        self.tool_type = node_id("FabToolType", ns)
        self.e10_type = node_id("E10StateEnumeration", ns)
        self.mode_type = node_id("MachineryOperationModeEnumeration", ns)

    def build(self, equipment: list[Equipment], fab_initial: dict[str, float | int]) -> PlantNodes:
        self._types()
        machines = self.cs.machines_folder()
        if machines is None:
            machines = self.b.obj(
                node_id("Machines", self.ns),
                ua.QualifiedName("Machines", self.ns),
                node_id(ua.ObjectIds.ObjectsFolder),
                ref=ua.ObjectIds.Organizes,
                typedef=node_id(ua.ObjectIds.FolderType),
                notifier=1,
                description="The plant's equipment",
            )
        for eq in equipment:
            self._machine(eq, machines)
        self._fab(fab_initial)
        self.out.node_count = self.b.flush(self.server)
        return self.out

    # ------------------------------------------------------------------ types

    def _types(self) -> None:
        ns, b = self.ns, self.b
        attrs = ua.ObjectTypeAttributes()
        attrs.DisplayName = ua.LocalizedText("FabToolType")
        attrs.Description = ua.LocalizedText("A semiconductor process or metrology tool")
        attrs.IsAbstract = False
        item = ua.AddNodesItem()
        item.RequestedNewNodeId = self.tool_type
        item.BrowseName = ua.QualifiedName("FabToolType", ns)
        item.NodeClass = ua.NodeClass.ObjectType
        item.ParentNodeId = node_id(ua.ObjectIds.BaseObjectType)
        item.ReferenceTypeId = node_id(ua.ObjectIds.HasSubtype)
        item.NodeAttributes = attrs
        b.typed.append(item)
        self._enum_type(self.e10_type, "E10StateEnumeration", E10_STATES)
        self._enum_type(self.mode_type, "MachineryOperationModeEnumeration", OPERATION_MODES)
        b.flush_typed(self.server)

    def _enum_type(self, nid: ua.NodeId, name: str, values: tuple[str, ...]) -> None:
        attrs = ua.DataTypeAttributes()
        attrs.DisplayName = ua.LocalizedText(name)
        attrs.Description = ua.LocalizedText(name)
        attrs.IsAbstract = False
        item = ua.AddNodesItem()
        item.RequestedNewNodeId = nid
        item.BrowseName = ua.QualifiedName(name, self.ns)
        item.NodeClass = ua.NodeClass.DataType
        item.ParentNodeId = node_id(ua.ObjectIds.Enumeration)
        item.ReferenceTypeId = node_id(ua.ObjectIds.HasSubtype)
        item.NodeAttributes = attrs
        self.b.typed.append(item)
        self.b.var(
            node_id(f"{name}.EnumStrings", self.ns),
            ua.QualifiedName("EnumStrings", 0),
            nid,
            ua.Variant([ua.LocalizedText(v) for v in values], ua.VariantType.LocalizedText),
            _LTEXT,
            prop=True,
            value_rank=ua.ValueRank.OneDimension,
        )

    # ------------------------------------------------------------------ machines

    def _machine(self, eq: Equipment, machines: ua.NodeId) -> None:
        ns, b, out = self.ns, self.b, self.out
        et = self.spec.equipment_type(eq.type)
        m = b.obj(
            node_id(eq.id, ns),
            ua.QualifiedName(eq.id, ns),
            machines,
            ref=ua.ObjectIds.Organizes,
            typedef=self.tool_type,
            notifier=1,
            description=f"{et.kind.value} {et.id} in bay {eq.bay}",
        )
        out.machine_nodes[eq.id] = m
        out.machine_by_node[m] = eq.id
        b.reference(node_id(ua.ObjectIds.Server), ua.ObjectIds.HasNotifier, m, ua.NodeClass.Object)
        self._identification(eq, m)
        self._state(eq, m)
        params = b.obj(node_id(f"{eq.id}.Parameters", ns), ua.QualifiedName("Parameters", ns), m)
        for tag in et.tags:
            self._parameter(eq, m, params, tag)
        self.alarms.faults[eq.id] = self.alarms.add(
            b,
            ns,
            eq.id,
            m,
            "fault",
            "OffNormalAlarmType",
            node_id(ua.ObjectIds.MaintenanceConditionClassType),
            node_id(f"{eq.id}.State.E10State", ns),
        )
        for mname, desc in _METHOD_DESCRIPTIONS:
            mid = b.method(node_id(f"{eq.id}.{mname}", ns), ua.QualifiedName(mname, ns), m, desc)
            out.method_names[mid] = (eq.id, mname)

    def _identification(self, eq: Equipment, m: ua.NodeId) -> None:
        et = self.spec.equipment_type(eq.type)
        ident = self.b.obj(
            node_id(f"{eq.id}.Identification", self.ns),
            ua.QualifiedName("Identification", self.di_ns),
            m,
            typedef=self.ident_type,
        )
        fields: tuple[tuple[str, ua.LocalizedText | str, int, ua.NodeId], ...] = (
            ("Manufacturer", ua.LocalizedText(et.manufacturer), self.di_ns, _LTEXT),
            ("Model", ua.LocalizedText(et.model or et.id), self.di_ns, _LTEXT),
            ("SerialNumber", eq.serial_number or eq.id, self.di_ns, _STR),
            ("AssetId", eq.asset_id or eq.id, self.di_ns, _STR),
            ("Location", eq.bay, self.mach_ns, _STR),
        )
        for name, value, nsi, dt in fields:
            vt = ua.VariantType.LocalizedText if dt == _LTEXT else ua.VariantType.String
            self.b.var(
                node_id(f"{eq.id}.Identification.{name}", self.ns),
                ua.QualifiedName(name, nsi),
                ident,
                ua.Variant(value, vt),
                dt,
                prop=True,
            )

    def _state(self, eq: Equipment, m: ua.NodeId) -> None:
        ns = self.ns
        st = self.b.obj(node_id(f"{eq.id}.State", ns), ua.QualifiedName("State", ns), m)
        V = ua.VariantType
        variables: tuple[tuple[str, Any, ua.VariantType, ua.NodeId, str], ...] = (
            ("E10State", E10State.STANDBY.code, V.Int32, self.e10_type, "SEMI E10 state"),
            ("E10StateName", E10State.STANDBY.value, V.String, _STR, "SEMI E10 state name"),
            ("OperationMode", 3, V.Int32, self.mode_type, "Machinery operation mode"),
            ("CurrentLot", "", V.String, _STR, "Lot being processed"),
            ("Recipe", "", V.String, _STR, "Recipe being run"),
            ("WaferCount", 0, V.UInt32, node_id(ua.ObjectIds.UInt32), "Wafers processed"),
        )
        for name, value, vt, dt, desc in variables:
            nid = self.b.var(
                node_id(f"{eq.id}.State.{name}", ns),
                ua.QualifiedName(name, ns),
                st,
                ua.Variant(value, vt),
                dt,
                description=desc,
            )
            self.out.state_nodes[(eq.id, name)] = nid

    def _parameter(self, eq: Equipment, m: ua.NodeId, params: ua.NodeId, tag: TagSpec) -> None:
        ns, b = self.ns, self.b
        vt, dt_id = VTYPES[tag.data_type]
        tid = f"{eq.id}.Parameters.{tag.name}"
        analog = tag.data_type in (TagType.FLOAT, TagType.INT)
        nid = b.var(
            node_id(tid, ns),
            ua.QualifiedName(tag.name, ns),
            params,
            ua.Variant(initial_value(tag), vt),
            node_id(dt_id),
            typedef=node_id(
                ua.ObjectIds.AnalogItemType if analog else ua.ObjectIds.BaseDataVariableType
            ),
            access=self.access,
            description=tag.description or tag.name,
        )
        if analog:
            lo, hi = eu_range(tag)
            b.var(
                node_id(f"{tid}.EURange", ns),
                ua.QualifiedName("EURange", 0),
                nid,
                ua.Variant(ua.Range(Low=lo, High=hi), ua.VariantType.ExtensionObject),
                node_id(ua.ObjectIds.Range),
                prop=True,
            )
            b.var(
                node_id(f"{tid}.EngineeringUnits", ns),
                ua.QualifiedName("EngineeringUnits", 0),
                nid,
                ua.Variant(eu_information(tag.unit), ua.VariantType.ExtensionObject),
                node_id(ua.ObjectIds.EUInformation),
                prop=True,
            )
        tn = TagNode(eq.id, tag, nid, vt)
        self.out.tags[(eq.id, tag.name)] = tn
        self.out.tag_by_node[nid] = tn
        if tag.alarms is None or not analog:
            return
        process_class = node_id(ua.ObjectIds.ProcessConditionClassType)
        for limit in ("lolo", "lo", "hi", "hihi"):
            value = getattr(tag.alarms, limit)
            if value is None:
                continue
            cond = self.alarms.add(
                b,
                ns,
                eq.id,
                m,
                f"{tag.name}.{limit}",
                "ExclusiveLimitAlarmType",
                process_class,
                nid,
            )
            cond.tag, cond.limit, cond.limit_value = tag, limit, float(value)
            cond.deadband = deadband(tag, float(value))
            cond.severity = tag.alarms.priority_of(limit).severity
            cond.states = tag.alarms.active_states(limit, tag.idle_value)
            cond.settle_s = tag.alarms.settle_s
            tn.conditions.append(cond)

    # ------------------------------------------------------------------ fab

    def _fab(self, initial: dict[str, float | int]) -> None:
        ns = self.ns
        fab = self.b.obj(
            node_id("Fab", ns),
            ua.QualifiedName("Fab", ns),
            node_id(ua.ObjectIds.ObjectsFolder),
            ref=ua.ObjectIds.Organizes,
            description="Fab-level figures: plant clock, lots and wafers out, WIP, moves",
        )
        for name, vt, desc in FAB_VARIABLES:
            self.out.fab_nodes[name] = self.b.var(
                node_id(f"Fab.{name}", ns),
                ua.QualifiedName(name, ns),
                fab,
                ua.Variant(initial[name], vt),
                node_id(
                    ua.ObjectIds.Double if vt is ua.VariantType.Double else ua.ObjectIds.UInt32
                ),
                description=desc,
            )


def initial_value(tag: TagSpec) -> Any:
    """Return the value a tag's variable starts with (its idle value, else range low, else 0)."""
    if tag.data_type is TagType.STRING:
        return ""
    if tag.data_type is TagType.BOOL:
        return False
    base = tag.idle_value
    if base is None and tag.normal_range is not None:
        base = tag.normal_range[0]
    base = 0.0 if base is None else base
    return round(base) if tag.data_type is TagType.INT else float(base)


def eu_range(tag: TagSpec) -> tuple[float, float]:
    """Return a tag's EURange: the range of values likely in normal operation (Part 8).

    That is the span of the processing range (``normal_range``) and the idle value, widened
    by three standard deviations of the measurement noise. Without a normal range: the
    span of the idle value and the limits.
    """
    if tag.normal_range is not None:
        lo, hi = float(tag.normal_range[0]), float(tag.normal_range[1])
        if tag.idle_value is not None:
            lo, hi = min(lo, tag.idle_value), max(hi, tag.idle_value)
        margin = 3.0 * tag.noise
        return lo - margin, hi + margin
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


def deadband(tag: TagSpec, limit: float) -> float:
    """Return the hysteresis of a limit: 1 % of the tag's EURange (or of the limit), and at
    least five standard deviations of the tag's noise, so noise alone cannot chatter it."""
    lo, hi = eu_range(tag)
    span = hi - lo if hi > lo else abs(limit)
    return max(0.01 * span, 5.0 * tag.noise)
