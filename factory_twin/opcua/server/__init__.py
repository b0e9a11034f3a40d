"""The OPC UA plant simulator server: a plant's machines, states, process values and alarms.

:class:`PlantServer` serves a :class:`~factory_twin.model.schema.PlantSpec` as an OPC UA
address space and turns plant events (:class:`~factory_twin.model.events.TagUpdate`,
:class:`~factory_twin.model.events.StateChange`) into value changes and Alarms & Conditions.
It knows nothing of SimPy: anything that produces plant events can feed it through
:meth:`PlantServer.apply` (the embedded simulator in :mod:`factory_twin.app.simulator` does).

Address space (namespace URI ``urn:factory-twin:plant``, written ``P`` below; DI and
Machinery are the OPC Foundation companion specifications, whose NodeSet files ship with
factory_twin, see :mod:`factory_twin.opcua.nodesets`; the "else" cases below are a server
running without them, :attr:`PlantServer.companion_specs_loaded` False)::

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

The package is a facade over one module per concern (as asyncua's ``Server`` is over
``InternalServer`` and ``AddressSpace``):

* :mod:`~factory_twin.opcua.server.plant_server`: :class:`PlantServer`, life cycle and hooks;
* :mod:`~factory_twin.opcua.server.address_space`: the plant's nodes, built from the spec;
* :mod:`~factory_twin.opcua.server.nodes`: bulk node loading;
* :mod:`~factory_twin.opcua.server.values`: the value and write path;
* :mod:`~factory_twin.opcua.server.alarms`: Alarms & Conditions;
* :mod:`~factory_twin.opcua.server.methods`: Hold, Resume, ResetAlarm;
* :mod:`~factory_twin.opcua.server.fab`: the fab-level counters;
* :mod:`~factory_twin.opcua.server.drill_space`: the Drill object and ``Fab.Simulation``
  of a simulation in drill mode (:meth:`PlantServer.enable_drill`);
* :mod:`~factory_twin.opcua.server.feed`: a server process fed from another process (one
  part of a split plant, ``serve --split``);
* :mod:`~factory_twin.opcua.server.units`: engineering units (UNECE codes);
* :mod:`~factory_twin.opcua.server.constants`: names, codes and hook signatures.

asyncua's internals used by these modules are all in :mod:`factory_twin.opcua._asyncua_adapter`.
"""

from __future__ import annotations

from factory_twin.opcua.server.constants import (
    DEFAULT_ENDPOINT,
    E10_STATES,
    FAB_VARIABLES,
    LIMIT_STATE_NAMES,
    METHODS,
    NAMESPACE_URI,
    OPERATION_MODES,
    SEVERITY,
    STATE_TAGS,
    YIELD_EVERY,
    AlarmHook,
    MethodHook,
    WriteHook,
)
from factory_twin.opcua.server.drill_space import (
    DRILL_STATES,
    TRAINEE_METHODS,
    TRAINER_METHODS,
    DrillCall,
    DrillSpace,
    trainee_name,
)
from factory_twin.opcua.server.fab import FabCounters
from factory_twin.opcua.server.plant_server import PlantServer

__all__ = [
    "DEFAULT_ENDPOINT",
    "DRILL_STATES",
    "E10_STATES",
    "FAB_VARIABLES",
    "LIMIT_STATE_NAMES",
    "METHODS",
    "NAMESPACE_URI",
    "OPERATION_MODES",
    "SEVERITY",
    "STATE_TAGS",
    "TRAINEE_METHODS",
    "TRAINER_METHODS",
    "YIELD_EVERY",
    "AlarmHook",
    "DrillCall",
    "DrillSpace",
    "FabCounters",
    "MethodHook",
    "PlantServer",
    "WriteHook",
    "trainee_name",
]
