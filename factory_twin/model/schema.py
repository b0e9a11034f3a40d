"""The plant file format: pydantic models validated from YAML.

Units are SI throughout, and this is the one place that says so:

* lengths, positions, sizes: metres (``_m``); the floor is the x-y plane, z points up;
* times and durations: seconds (``_s``); a plant clock starts at 0;
* angles: degrees (``_deg``), counter-clockwise seen from above;
* rates: per second unless the field name says otherwise;
* tag values: in the unit each tag declares (``unit``), e.g. ``Pa``, ``W``, ``degC``, ``sccm``.

Batch sizes and lot sizes count wafers unless a field says ``_lots``.
Colours are ``#rrggbb`` strings.

The format is written in parts: the base model and distributions
(:mod:`~factory_twin.model.schema_common`), the site, bays and equipment types
(:mod:`~factory_twin.model.schema_equipment`), maintenance procedures and drills
(:mod:`~factory_twin.model.schema_procedures`); this module holds the rest (endpoints,
equipment, tool groups, routes, products, transport, the plant) and re-exports every part,
so a caller reads the whole format as ``schema.X``.
"""

from __future__ import annotations

from enum import Enum
from typing import Literal

from pydantic import Field, field_validator, model_validator

from factory_twin.model.amhs import Amhs, amhs_from_value

# the format's parts, re-exported (callers read every model as ``schema.X``)
from factory_twin.model.schema_common import SCHEMA_VERSION as SCHEMA_VERSION
from factory_twin.model.schema_common import Constant as Constant
from factory_twin.model.schema_common import Distribution as Distribution
from factory_twin.model.schema_common import Exponential as Exponential
from factory_twin.model.schema_common import Gamma as Gamma
from factory_twin.model.schema_common import Lognormal as Lognormal
from factory_twin.model.schema_common import Normal as Normal
from factory_twin.model.schema_common import Strict as Strict
from factory_twin.model.schema_common import Triangular as Triangular
from factory_twin.model.schema_common import Uniform as Uniform
from factory_twin.model.schema_common import _number_to_constant
from factory_twin.model.schema_common import dist_mean as dist_mean
from factory_twin.model.schema_equipment import DEFAULT_PRIORITY as DEFAULT_PRIORITY
from factory_twin.model.schema_equipment import LIMIT_NAMES as LIMIT_NAMES
from factory_twin.model.schema_equipment import AlarmLimits as AlarmLimits
from factory_twin.model.schema_equipment import AreaKind as AreaKind
from factory_twin.model.schema_equipment import BatchSpec as BatchSpec
from factory_twin.model.schema_equipment import Bay as Bay
from factory_twin.model.schema_equipment import Component as Component
from factory_twin.model.schema_equipment import EquipmentKind as EquipmentKind
from factory_twin.model.schema_equipment import EquipmentType as EquipmentType
from factory_twin.model.schema_equipment import LimitName as LimitName
from factory_twin.model.schema_equipment import Part as Part
from factory_twin.model.schema_equipment import Precursor as Precursor
from factory_twin.model.schema_equipment import Shape as Shape
from factory_twin.model.schema_equipment import Site as Site
from factory_twin.model.schema_equipment import TagSpec as TagSpec
from factory_twin.model.schema_equipment import TagType as TagType
from factory_twin.model.schema_equipment import ToolCost as ToolCost
from factory_twin.model.schema_procedures import FAULT_KINDS as FAULT_KINDS
from factory_twin.model.schema_procedures import RESPONSE_KINDS as RESPONSE_KINDS
from factory_twin.model.schema_procedures import TRANSPORT_ID as TRANSPORT_ID
from factory_twin.model.schema_procedures import Acceptance as Acceptance
from factory_twin.model.schema_procedures import AlarmLimit as AlarmLimit
from factory_twin.model.schema_procedures import Drill as Drill
from factory_twin.model.schema_procedures import ExpectedResponse as ExpectedResponse
from factory_twin.model.schema_procedures import FaultInjection as FaultInjection
from factory_twin.model.schema_procedures import FaultKind as FaultKind
from factory_twin.model.schema_procedures import Penalties as Penalties
from factory_twin.model.schema_procedures import Procedure as Procedure
from factory_twin.model.schema_procedures import ProcedureStep as ProcedureStep
from factory_twin.model.schema_procedures import ResponseKind as ResponseKind
from factory_twin.model.schema_procedures import SafetyNote as SafetyNote
from factory_twin.model.schema_procedures import StepAction as StepAction
from factory_twin.model.schema_procedures import Trigger as Trigger

# --------------------------------------------------------------------------- equipment instances


class SecurityMode(str, Enum):
    """OPC UA message security mode."""

    NONE = "none"
    SIGN = "sign"
    SIGN_ENCRYPT = "sign-encrypt"


class Endpoint(Strict):
    """An OPC UA server the plant's tags live on."""

    id: str = Field(min_length=1)
    url: str = Field(pattern=r"^opc\.tcp://")
    security: SecurityMode = SecurityMode.NONE
    username: str | None = None
    writes_enabled: bool = Field(
        default=False, description="allow writes to this server's tags (dangerous)"
    )


class TagBinding(Strict):
    """Where one tag lives on a server: a node id, or a browse path from Objects."""

    node_id: str | None = None
    browse_path: str | None = Field(
        default=None, description="e.g. '2:Machines/2:FURN-01/2:Parameters/2:temperature'"
    )

    @model_validator(mode="after")
    def _one(self) -> TagBinding:
        if (self.node_id is None) == (self.browse_path is None):
            msg = "a tag binding needs exactly one of 'node_id' or 'browse_path'"
            raise ValueError(msg)
        return self


class OpcUaBinding(Strict):
    """How an equipment instance maps onto an OPC UA server.

    With no ``tags``, every tag of the type is bound by the plant simulator's browse path
    convention (``Machines/<id>/...``) on ``endpoint``.
    """

    endpoint: str = Field(min_length=1, description="id of an entry in 'endpoints'")
    tags: dict[str, TagBinding] = Field(default_factory=dict)


class Reliability(Strict):
    """Random failures: time between failures (busy or calendar) and time to repair."""

    mtbf: Distribution
    mttr: Distribution
    basis: Literal["calendar", "busy"] = "calendar"
    first_s: Distribution | None = None

    _num = field_validator("mtbf", "mttr", "first_s", mode="before")(
        lambda cls, v: _number_to_constant(v)
    )

    @field_validator("mtbf")
    @classmethod
    def _mtbf_positive(cls, v: Distribution) -> Distribution:
        if v.mean <= 0:  # failing again 0 s after each repair: with mttr 0 time never moves
            msg = "mtbf must average more than 0 s"
            raise ValueError(msg)
        return v


class PmSpec(Strict):
    """A preventive maintenance plan, by calendar time or by processed wafers."""

    name: str = Field(min_length=1)
    basis: Literal["calendar", "wafers"] = "calendar"
    interval: float = Field(gt=0, description="seconds (calendar) or wafers (wafers)")
    duration: Distribution
    first: float | None = Field(default=None, ge=0, description="first occurrence (s or wafers)")
    qualification: Distribution | None = Field(
        default=None, description="engineering qualification after the PM"
    )

    _num = field_validator("duration", "qualification", mode="before")(
        lambda cls, v: _number_to_constant(v)
    )


class Equipment(Strict):
    """One tool on the floor."""

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    type: str = Field(min_length=1)
    group: str = Field(min_length=1, description="tool group (identical tools sharing a queue)")
    bay: str = Field(min_length=1)
    position_m: tuple[float, float]
    rotation_deg: float = 0.0
    serial_number: str = ""
    asset_id: str = ""
    opcua: OpcUaBinding | None = None
    reliability: Reliability | None = None
    pm: list[PmSpec] = Field(default_factory=list)


# --------------------------------------------------------------------------- tool groups


class DispatchRule(str, Enum):
    """How a free tool picks the next lot from its group's queue."""

    FIFO = "fifo"
    SPT = "spt"
    EDD = "edd"
    CR = "cr"
    SETUP_AVOID = "setup_avoid"
    PRIORITY = "priority"


class SetupChange(Strict):
    """Time to change from one setup (recipe or reticle) to another."""

    from_setup: str | None = Field(default=None, description="None = from any other setup")
    to_setup: str
    time: Distribution

    _num = field_validator("time", mode="before")(lambda cls, v: _number_to_constant(v))


class ToolGroup(Strict):
    """Settings shared by the tools of one group."""

    id: str = Field(min_length=1)
    dispatch: DispatchRule = DispatchRule.FIFO
    setup_default: Distribution | None = Field(
        default=None, description="setup time for any change not in 'setups'"
    )
    setups: list[SetupChange] = Field(default_factory=list)
    min_run_lots: int = Field(default=1, ge=1, description="lots to run before a setup change")
    batch_wait_s: float = Field(
        default=0.0, ge=0, description="longest wait for a fuller batch once min is reached"
    )
    load_s: float = Field(default=0.0, ge=0)
    unload_s: float = Field(default=0.0, ge=0)
    cascade_lots: int = Field(
        default=1,
        ge=1,
        le=16,
        description="lots a tool holds at once (a cascading tool; SMT2020 STNCAP). With 2 or "
        "more, the next lot's wafers enter while the previous lot finishes: at a step with "
        "wafer_interval_s the tool takes the next lot wafers x wafer_interval_s after the "
        "previous one started, and loading and unloading overlap with processing",
    )

    _num = field_validator("setup_default", mode="before")(lambda cls, v: _number_to_constant(v))


# --------------------------------------------------------------------------- products and routes


class Rework(Strict):
    """A lot fails inspection with ``probability`` and goes back to ``to_step``."""

    probability: float = Field(ge=0, le=1)
    to_step: int = Field(ge=1, description="1-based step number in the same route")


class QueueTimeLimit(Strict):
    """Critical queue time: the lot must start ``to_step`` within ``limit_s`` of ending this."""

    to_step: int = Field(ge=1)
    limit_s: float = Field(gt=0)


class RouteStep(Strict):
    """One operation of a route."""

    tool_group: str = Field(min_length=1)
    recipe: str = Field(
        default="",
        description="process recipe; on batch tools only lots at steps with the same recipe "
        "share a batch (no recipe: only lots at this same route step)",
    )
    name: str = ""
    process_time: Distribution
    per: Literal["lot", "wafer", "batch"] = "lot"
    batch: BatchSpec | None = None
    setup: str | None = Field(default=None, description="setup the tool needs for this step")
    sample_pct: float = Field(default=100.0, gt=0, le=100)
    rework: Rework | None = None
    scrap_probability: float = Field(default=0.0, ge=0, le=1)
    queue_time_limit: QueueTimeLimit | None = None
    wafer_interval_s: float | None = Field(
        default=None,
        gt=0,
        description="cascading: with per 'wafer', the next wafer starts this long after the "
        "previous one (lot time = process_time + (wafers - 1) * wafer_interval_s)",
    )
    batch_interval_s: float | None = Field(
        default=None,
        gt=0,
        description="cascading batches: the tool accepts the next batch this long after "
        "the previous one started",
    )

    _num = field_validator("process_time", mode="before")(lambda cls, v: _number_to_constant(v))


class Route(Strict):
    """An ordered list of steps; a tool group may appear many times (reentrant flow)."""

    id: str = Field(min_length=1)
    steps: list[RouteStep] = Field(min_length=1)


class Release(Strict):
    """How lots of a product enter the fab.

    ``rate``: one lot every ``interarrival`` (a distribution, seconds);
    ``schedule``: lots at the listed times; ``conwip``: a new lot whenever one leaves, keeping
    ``wip_lots`` in the fab.
    """

    mode: Literal["rate", "schedule", "conwip"] = "rate"
    interarrival: Distribution | None = None
    times_s: list[float] = Field(default_factory=list)
    wip_lots: int | None = Field(default=None, ge=1)
    lots_per_release: int = Field(default=1, ge=1)
    start_s: float = Field(default=0.0, ge=0)

    _num = field_validator("interarrival", mode="before")(lambda cls, v: _number_to_constant(v))

    @model_validator(mode="after")
    def _mode_fields(self) -> Release:
        if self.mode == "rate" and self.interarrival is None:
            msg = "release mode 'rate' needs 'interarrival'"
            raise ValueError(msg)
        if self.mode == "rate" and self.interarrival is not None and self.interarrival.mean <= 0:
            # a lot every 0 s: a simulation would release lots forever at one instant
            msg = "interarrival must average more than 0 s (a lot every 0 s never ends)"
            raise ValueError(msg)
        if self.mode == "schedule" and not self.times_s:
            msg = "release mode 'schedule' needs 'times_s'"
            raise ValueError(msg)
        if self.mode == "conwip" and self.wip_lots is None:
            msg = "release mode 'conwip' needs 'wip_lots'"
            raise ValueError(msg)
        return self


class Product(Strict):
    """A product, its route and how it is released."""

    id: str = Field(min_length=1)
    route: str = Field(min_length=1)
    wafers_per_lot: int = Field(default=25, ge=1)
    release: Release
    priority: int = Field(default=10, ge=0, description="higher is more urgent")
    due_after_s: float | None = Field(default=None, gt=0, description="due date after release")


class InitialLot(Strict):
    """A lot already in the fab at time zero."""

    id: str = Field(min_length=1)
    product: str
    step: int = Field(ge=1, description="1-based step the lot waits for")
    wafers: int | None = Field(default=None, ge=1)
    priority: int | None = Field(default=None, ge=0)
    due_s: float | None = None


# --------------------------------------------------------------------------- transport


class Transport(Strict):
    """Moves between tools. Time = handling + distance / speed (Manhattan distance on the floor
    along aisles), unless ``fixed_time`` overrides it (as in the SMT2020 testbed)."""

    kind: Literal["ohs", "agv", "manual", "conveyor", "none"] = "ohs"
    speed_m_s: float = Field(default=2.0, gt=0)
    handling_s: float = Field(default=30.0, ge=0, description="pick-up plus drop-off")
    vehicles: int | None = Field(default=None, ge=1, description="None = unlimited")
    fixed_time: Distribution | None = None
    carrier_height_m: float = Field(
        default=3.2, gt=0, description="height above the floor at which carriers travel (3-D view)"
    )

    _num = field_validator("fixed_time", mode="before")(lambda cls, v: _number_to_constant(v))


# --------------------------------------------------------------------------- the plant


class PlantSpec(Strict):
    """A whole plant file."""

    schema_version: Literal[1] = Field(description="version of this file format")
    site: Site
    endpoints: list[Endpoint] = Field(default_factory=list)
    equipment_types: list[EquipmentType] = Field(min_length=1)
    tool_groups: list[ToolGroup] = Field(default_factory=list)
    equipment: list[Equipment] = Field(min_length=1)
    routes: list[Route] = Field(default_factory=list)
    products: list[Product] = Field(default_factory=list)
    initial_wip: list[InitialLot] = Field(default_factory=list)
    transport: Transport = Field(default_factory=Transport)
    procedures: list[Procedure] = Field(default_factory=list)
    drills: list[Drill] = Field(default_factory=list)
    amhs: Amhs | None = Field(
        default=None, description="OHT rails and fleet (model/amhs.py); none: simple transport"
    )

    _amhs = field_validator("amhs", mode="before")(lambda cls, v: amhs_from_value(v))

    # -- look-ups (cheap, built on demand; the spec is small next to a simulation)

    def equipment_type(self, type_id: str) -> EquipmentType:
        """Return the equipment type ``type_id`` (KeyError if none)."""
        for t in self.equipment_types:
            if t.id == type_id:
                return t
        raise KeyError(type_id)

    def tool(self, equipment_id: str) -> Equipment:
        """Return the equipment instance ``equipment_id`` (KeyError if none)."""
        for e in self.equipment:
            if e.id == equipment_id:
                return e
        raise KeyError(equipment_id)

    def bay(self, bay_id: str) -> Bay:
        """Return the bay ``bay_id`` (KeyError if none)."""
        for b in self.site.bays:
            if b.id == bay_id:
                return b
        raise KeyError(bay_id)

    def route(self, route_id: str) -> Route:
        """Return the route ``route_id`` (KeyError if none)."""
        for r in self.routes:
            if r.id == route_id:
                return r
        raise KeyError(route_id)

    def tool_group(self, group_id: str) -> ToolGroup:
        """Return the settings of tool group ``group_id`` (defaults if not listed)."""
        for g in self.tool_groups:
            if g.id == group_id:
                return g
        return ToolGroup(id=group_id)

    def groups(self) -> dict[str, list[Equipment]]:
        """Return the tools of each tool group, in file order."""
        out: dict[str, list[Equipment]] = {}
        for e in self.equipment:
            out.setdefault(e.group, []).append(e)
        return out

    def procedures_for(self, type_id: str) -> list[Procedure]:
        """Return the procedures written for equipment type ``type_id``."""
        return [p for p in self.procedures if p.equipment_type == type_id]

    def endpoint(self, endpoint_id: str) -> Endpoint:
        """Return the endpoint ``endpoint_id`` (KeyError if none)."""
        for ep in self.endpoints:
            if ep.id == endpoint_id:
                return ep
        raise KeyError(endpoint_id)
