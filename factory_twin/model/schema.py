"""The plant file format: pydantic models validated from YAML.

Units are SI throughout, and this is the one place that says so:

* lengths, positions, sizes: metres (``_m``); the floor is the x-y plane, z points up;
* times and durations: seconds (``_s``); a plant clock starts at 0;
* angles: degrees (``_deg``), counter-clockwise seen from above;
* rates: per second unless the field name says otherwise;
* tag values: in the unit each tag declares (``unit``), e.g. ``Pa``, ``W``, ``degC``, ``sccm``.

Batch sizes and lot sizes count wafers unless a field says ``_lots``.
Colours are ``#rrggbb`` strings.
"""

from __future__ import annotations

import re
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, field_validator, model_validator

from factory_twin.model.amhs import Amhs, amhs_from_value
from factory_twin.model.events import AlarmPriority, E10State

SCHEMA_VERSION = 1

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


class Strict(BaseModel):
    """Base of every schema model: unknown keys are errors, assignment is validated.

    Numbers must be finite: ``.inf`` and ``.nan`` are errors (a tool at infinity has no
    footprint, a NaN time has no mean).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- distributions


class Constant(Strict):
    """Always the same value."""

    dist: Literal["constant"] = "constant"
    value: float = Field(ge=0)

    @property
    def mean(self) -> float:
        """Mean of the distribution."""
        return self.value


class Exponential(Strict):
    """Exponential with the given mean."""

    dist: Literal["exponential"]
    mean: float = Field(gt=0)


class Uniform(Strict):
    """Uniform on ``[low, high]``."""

    dist: Literal["uniform"]
    low: float = Field(ge=0)
    high: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            msg = f"high ({self.high}) must not be below low ({self.low})"
            raise ValueError(msg)
        return self

    @property
    def mean(self) -> float:
        """Mean of the distribution."""
        return (self.low + self.high) / 2


class Triangular(Strict):
    """Triangular with ``low <= mode <= high``."""

    dist: Literal["triangular"]
    low: float = Field(ge=0)
    mode: float = Field(ge=0)
    high: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not self.low <= self.mode <= self.high:
            msg = f"need low <= mode <= high, got {self.low}, {self.mode}, {self.high}"
            raise ValueError(msg)
        return self

    @property
    def mean(self) -> float:
        """Mean of the distribution."""
        return (self.low + self.mode + self.high) / 3


class Normal(Strict):
    """Normal, truncated at zero (times cannot be negative)."""

    dist: Literal["normal"]
    mean: float = Field(ge=0)
    sd: float = Field(ge=0)


class Lognormal(Strict):
    """Lognormal given by the mean and standard deviation of the value itself."""

    dist: Literal["lognormal"]
    mean: float = Field(gt=0)
    sd: float = Field(ge=0)


class Gamma(Strict):
    """Gamma given by mean and coefficient of variation (cv = sd / mean)."""

    dist: Literal["gamma"]
    mean: float = Field(gt=0)
    cv: float = Field(gt=0)


Distribution = Annotated[
    Constant | Exponential | Uniform | Triangular | Normal | Lognormal | Gamma,
    Field(discriminator="dist"),
]
"""A random duration or quantity. A bare number in YAML means :class:`Constant`."""


def _number_to_constant(v: Any) -> Any:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return {"dist": "constant", "value": v}
    return v


def dist_mean(
    d: Constant | Exponential | Uniform | Triangular | Normal | Lognormal | Gamma,
) -> float:
    """Return the mean of any distribution spec."""
    return float(d.mean)


# --------------------------------------------------------------------------- site and layout


class AreaKind(str, Enum):
    """What a bay is used for."""

    PHOTOLITHOGRAPHY = "photolithography"
    ETCH = "etch"
    DIFFUSION = "diffusion"
    THIN_FILM = "thin_film"
    IMPLANT = "implant"
    CMP = "cmp"
    WET_CLEAN = "wet_clean"
    METROLOGY = "metrology"
    TEST = "test"
    EPITAXY = "epitaxy"
    BACKEND = "backend"
    STOCKER = "stocker"
    OTHER = "other"


class Bay(Strict):
    """A rectangular area of the floor."""

    id: str = Field(min_length=1)
    name: str = ""
    kind: AreaKind = AreaKind.OTHER
    origin_m: tuple[float, float] = Field(description="x, y of the bay's lower-left corner")
    size_m: tuple[Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)]] = Field(
        description="width (x) and depth (y)"
    )
    color: str = "#5b7db1"

    _check_color = field_validator("color")(lambda cls, v: _check_color(v))

    def contains(self, x: float, y: float) -> bool:
        """Return True if the floor point (x, y) lies in this bay."""
        x0, y0 = self.origin_m
        return x0 <= x <= x0 + self.size_m[0] and y0 <= y <= y0 + self.size_m[1]


def _check_color(v: str) -> str:
    if not _COLOR.match(v):
        msg = f"expected a colour like '#1f77b4', got {v!r}"
        raise ValueError(msg)
    return v


class Site(Strict):
    """The building: a floor and its bays."""

    name: str = Field(min_length=1)
    floor_m: tuple[Annotated[float, Field(gt=0)], Annotated[float, Field(gt=0)]] = Field(
        description="floor width (x) and depth (y)"
    )
    bays: list[Bay] = Field(min_length=1)


# --------------------------------------------------------------------------- equipment types


class EquipmentKind(str, Enum):
    """Broad kind of a process or metrology tool."""

    FURNACE = "furnace"
    LITHO_SCANNER = "litho_scanner"
    LITHO_TRACK = "litho_track"
    DRY_ETCH = "dry_etch"
    CVD = "cvd"
    PVD = "pvd"
    CMP = "cmp"
    IMPLANTER = "implanter"
    WET_BENCH = "wet_bench"
    METROLOGY = "metrology"
    MOCVD = "mocvd"
    PROBER = "prober"
    SORTER = "sorter"
    RTA = "rta"
    EBEAM_EVAPORATOR = "ebeam_evaporator"
    GRINDER = "grinder"
    LASER_SCRIBE = "laser_scribe"
    STOCKER = "stocker"
    OTHER = "other"


class Part(Strict):
    """One solid of an equipment's 3-D shape, in the tool's local frame (metres).

    ``box`` is width, depth, height; ``cylinder`` is radius, height (axis along z).
    ``at`` is the centre of the part's base.
    """

    name: str = Field(min_length=1)
    box: tuple[float, float, float] | None = None
    cylinder: tuple[float, float] | None = None
    at: tuple[float, float, float] = (0.0, 0.0, 0.0)
    color: str = "#b0b7c3"

    _check_color = field_validator("color")(lambda cls, v: _check_color(v))

    @model_validator(mode="after")
    def _one_solid(self) -> Part:
        if (self.box is None) == (self.cylinder is None):
            msg = "a part needs exactly one of 'box' or 'cylinder'"
            raise ValueError(msg)
        dims = self.box or self.cylinder or ()
        if any(d <= 0 for d in dims):
            msg = f"dimensions must be positive, got {list(dims)}"
            raise ValueError(msg)
        return self

    def extent_xy(self) -> tuple[float, float, float, float]:
        """Return (xmin, ymin, xmax, ymax) of this part in the local frame."""
        x, y, _ = self.at
        if self.box is not None:
            hw, hd = self.box[0] / 2, self.box[1] / 2
        else:
            assert self.cylinder is not None
            hw = hd = self.cylinder[0]
        return (x - hw, y - hd, x + hw, y + hd)

    def top_z(self) -> float:
        """Return the height of this part's top above the floor."""
        h = self.box[2] if self.box is not None else (self.cylinder or (0, 0))[1]
        return self.at[2] + h


class Shape(Strict):
    """Geometry of an equipment type: parts, or a mesh file (path relative to the plant file)."""

    parts: list[Part] = Field(default_factory=list)
    mesh: str | None = None
    mesh_scale: float = Field(default=1.0, gt=0)

    @model_validator(mode="after")
    def _something(self) -> Shape:
        if not self.parts and not self.mesh:
            msg = "a shape needs 'parts' or a 'mesh'"
            raise ValueError(msg)
        names = [p.name for p in self.parts]
        dup = {n for n in names if names.count(n) > 1}
        if dup:
            msg = f"part names must be unique, repeated: {sorted(dup)}"
            raise ValueError(msg)
        return self

    # (mesh as written, the file it was found at, its unscaled bounds): set when the plant
    # is loaded (factory_twin.model.geometry.bind_mesh_files), never saved
    _mesh_read: tuple[str, Path, tuple[float, ...]] | None = PrivateAttr(default=None)

    def bind_mesh(self, path: Path, bounds: tuple[float, ...]) -> None:
        """Record the file ``mesh`` was read from and its unscaled bounds (min xyz, max xyz)."""
        self._mesh_read = (self.mesh or "", path, tuple(bounds))

    def mesh_file(self) -> Path | None:
        """Return the file ``mesh`` was read from when the plant was loaded (None: not read)."""
        r = self._mesh_read
        return r[1] if r is not None and r[0] == self.mesh else None

    def mesh_bounds_m(self) -> tuple[float, ...] | None:
        """Return the scaled bounds of the mesh read at load (min xyz, max xyz), or None."""
        r = self._mesh_read
        if r is None or r[0] != self.mesh:
            return None
        return tuple(v * self.mesh_scale for v in r[2])

    def footprint_m(self) -> tuple[float, float, float, float]:
        """Return (xmin, ymin, xmax, ymax) covering every part and the mesh, local frame.

        A mesh file counts once the plant's loader has read it; until then (a plant built
        in code) a mesh-only shape stands in as 1 x 1 m.
        """
        ext = [p.extent_xy() for p in self.parts]
        mb = self.mesh_bounds_m()
        if mb is not None:
            ext.append((mb[0], mb[1], mb[3], mb[4]))
        if not ext:
            return (-0.5, -0.5, 0.5, 0.5)
        return (
            min(e[0] for e in ext),
            min(e[1] for e in ext),
            max(e[2] for e in ext),
            max(e[3] for e in ext),
        )


class Component(Strict):
    """A named place on a tool that steps and alarms point at."""

    name: str = Field(min_length=1)
    anchor_m: tuple[float, float, float] = Field(description="local x, y, z of the anchor")
    part: str | None = Field(default=None, description="the shape part that shows it")
    description: str = ""


class TagType(str, Enum):
    """Data type of a tag."""

    FLOAT = "float"
    INT = "int"
    BOOL = "bool"
    STRING = "string"


LimitName = Literal["lolo", "lo", "hi", "hihi"]
LIMIT_NAMES: tuple[LimitName, ...] = ("lolo", "lo", "hi", "hihi")
# ISA-18.2 priority of a limit the plant file gives none: the outer limits are critical, the
# high one high, the low one medium (the order the old severities had: 900/800/600/500).
DEFAULT_PRIORITY: dict[str, AlarmPriority] = {
    "hihi": AlarmPriority.CRITICAL,
    "lolo": AlarmPriority.CRITICAL,
    "hi": AlarmPriority.HIGH,
    "lo": AlarmPriority.MEDIUM,
}


class AlarmLimits(Strict):
    """Alarm limits of an analog tag (any may be absent), their priorities and active states.

    ``priority`` gives the ISA-18.2 priority of each limit (default :data:`DEFAULT_PRIORITY`),
    served as the OPC UA severity of :data:`~factory_twin.model.events.PRIORITY_SEVERITY`.
    ``active_in`` lists the E10 states in which the limits are evaluated (state-based
    alarming): one list for all limits, or a list per limit. A limit without one is active
    in every state, except a limit the tag's own ``idle_value`` violates (flow 0 below a low
    limit): that one is active only while ``productive``.
    """

    lolo: float | None = None
    lo: float | None = None
    hi: float | None = None
    hihi: float | None = None
    priority: dict[LimitName, AlarmPriority] = Field(
        default_factory=dict, description="ISA-18.2 priority per limit"
    )
    active_in: list[E10State] | dict[LimitName, list[E10State]] | None = Field(
        default=None,
        description="E10 states in which the limits are active (all limits, or per limit)",
    )
    settle_s: float = Field(
        default=0.0,
        ge=0,
        description="seconds after the tool enters an active state before a state-restricted "
        "limit is armed (lets a flow reach its setpoint)",
    )

    @model_validator(mode="after")
    def _ordered(self) -> AlarmLimits:
        seq = [v for v in (self.lolo, self.lo, self.hi, self.hihi) if v is not None]
        if seq != sorted(seq):
            msg = f"limits must be ordered lolo <= lo <= hi <= hihi, got {seq}"
            raise ValueError(msg)
        for what, keys in (
            ("priority", self.priority),
            ("active_in", self.active_in if isinstance(self.active_in, dict) else {}),
        ):
            unset = sorted(k for k in keys if getattr(self, k) is None)
            if unset:
                msg = f"{what} names limits the tag does not have: {unset}"
                raise ValueError(msg)
        return self

    def limits(self) -> list[tuple[LimitName, float]]:
        """Return the limits that are set, as ``(name, value)`` from lolo to hihi."""
        out: list[tuple[LimitName, float]] = []
        for k in LIMIT_NAMES:
            v = getattr(self, k)
            if v is not None:
                out.append((k, float(v)))
        return out

    def priority_of(self, limit: str) -> AlarmPriority:
        """Return the priority of ``limit`` (the plant file's, else :data:`DEFAULT_PRIORITY`)."""
        return self.priority.get(limit, DEFAULT_PRIORITY[limit])  # type: ignore[call-overload]

    def active_states(self, limit: str, idle_value: float | None) -> frozenset[E10State] | None:
        """Return the states in which ``limit`` is active; None means every state.

        Parameters
        ----------
        limit
            ``lolo``, ``lo``, ``hi`` or ``hihi``.
        idle_value
            The tag's idle value: a limit it violates defaults to ``productive`` only.
        """
        given = self.active_in
        if isinstance(given, dict):
            given = given.get(limit)  # type: ignore[call-overload]
        if given is not None:
            return frozenset(given)
        v = getattr(self, limit)
        if idle_value is not None and v is not None:
            high = limit in ("hi", "hihi")
            if (idle_value > v) if high else (idle_value < v):
                return frozenset({E10State.PRODUCTIVE})
        return None


class TagSpec(Strict):
    """A process value an equipment type exposes."""

    name: str = Field(min_length=1, pattern=r"^[A-Za-z_][A-Za-z0-9_]*$")
    unit: str = ""
    data_type: TagType = TagType.FLOAT
    description: str = ""
    normal_range: tuple[float, float] | None = Field(
        default=None, description="range of the value while processing"
    )
    idle_value: float | None = Field(default=None, description="value the tag drifts to at idle")
    noise: float = Field(default=0.0, ge=0, description="standard deviation of measurement noise")
    lag_s: float = Field(
        default=20.0,
        gt=0,
        description="simulated tag: time constant, seconds, of the first-order lag with which the "
        "value follows its target (the setpoint while processing, idle_value otherwise)",
    )
    drift_tau_s: float = Field(
        default=3600.0,
        gt=0,
        description="simulated tag: correlation time, seconds, of the slow mean-reverting drift "
        "of the value around its setpoint while processing",
    )
    drift_share: float = Field(
        default=0.15,
        ge=0,
        le=1,
        description="simulated tag: standard deviation of that drift as a share of the "
        "normal_range half-width (0: no drift)",
    )
    excursion_rate_per_h: float = Field(
        default=0.0,
        ge=0,
        description="simulated tag: abnormal excursions per hour of processing (0: none); "
        "each carries the value toward an alarm limit, about half of them across it",
    )
    spike_share: float = Field(
        default=0.5,
        ge=0,
        le=1,
        description="simulated tag: share of those excursions that are spikes (one to three "
        "samples) rather than drifts (a ramp out and back over minutes)",
    )
    alarms: AlarmLimits | None = None
    component: str | None = Field(default=None, description="component the tag belongs to")
    writable: bool = False

    @model_validator(mode="after")
    def _range(self) -> TagSpec:
        if self.normal_range is not None and self.normal_range[0] > self.normal_range[1]:
            msg = f"normal_range low {self.normal_range[0]} is above high {self.normal_range[1]}"
            raise ValueError(msg)
        return self


class BatchSpec(Strict):
    """Batch capacity of a tool, in wafers."""

    min_wafers: int = Field(ge=1)
    max_wafers: int = Field(ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> BatchSpec:
        if self.max_wafers < self.min_wafers:
            msg = f"max_wafers ({self.max_wafers}) is below min_wafers ({self.min_wafers})"
            raise ValueError(msg)
        return self


class Precursor(Strict):
    """A failure precursor: a tag that drifts toward an alarm limit before a breakdown.

    In the last ``hours`` before each random failure of a tool of the type, the simulated
    tag's processing value moves linearly from its setpoint to just beyond limit ``to``
    (reached at the breakdown), so its limit alarm warns ahead of the fault.
    """

    tag: str = Field(min_length=1)
    hours: float = Field(gt=0, description="hours before the breakdown the drift starts")
    to: LimitName = Field(default="hi", description="the alarm limit the tag drifts toward")


class ToolCost(Strict):
    """What one tool of a type costs: to buy and install, and to run each year.

    Money in the plant's own unit (whatever the planner budgets in, the same for every
    type); used by ``factory-twin optimise`` to rank tool sets by cost.
    """

    capital: float = Field(ge=0, description="purchase and installation of one tool")
    per_year: float = Field(
        default=0.0,
        ge=0,
        description="running cost of one tool per year (service, parts, utilities, floor space)",
    )


class EquipmentType(Strict):
    """A kind of tool: its shape, components, ports and tags."""

    id: str = Field(min_length=1)
    kind: EquipmentKind
    manufacturer: str = ""
    model: str = ""
    shape: Shape = Field(
        default_factory=lambda: Shape.model_construct(parts=[], mesh=None),
        description="the tool's parts (boxes, cylinders) and/or a mesh file; left out, the "
        "recognisable model of its kind, sized by load_ports, chambers and batch",
    )
    components: list[Component] = Field(default_factory=list)
    load_ports: int = Field(default=2, ge=0)
    chambers: int = Field(default=1, ge=1)
    batch: BatchSpec | None = None
    tags: list[TagSpec] = Field(default_factory=list)
    precursors: list[Precursor] = Field(
        default_factory=list, description="tags that drift toward a limit before a breakdown"
    )
    service_clearance_m: float = Field(
        default=0.6,
        ge=0,
        description="free floor a technician needs around the footprint for service, metres; "
        "the layout editor warns when another tool stands closer (the larger of the two "
        "tools' clearances counts); a warning only, the plant still validates",
    )
    cost: ToolCost | None = Field(
        default=None, description="what one tool of this type costs (optional; optimise studies)"
    )

    @model_validator(mode="after")
    def _kind_model(self) -> EquipmentType:
        """A type given without a shape gets its kind's parametric parts (never saved)."""
        if not self.shape.parts and not self.shape.mesh:
            from factory_twin.model.equipment_models import parametric_parts  # builds on this

            shape = Shape(
                parts=parametric_parts(
                    self.kind,
                    chambers=self.chambers,
                    load_ports=self.load_ports,
                    batch_wafers=self.batch.max_wafers if self.batch is not None else None,
                )
            )
            self.__dict__["shape"] = shape  # not an assignment: the field stays unset
        return self

    @model_validator(mode="after")
    def _unique(self) -> EquipmentType:
        for what, names in (
            ("component", [c.name for c in self.components]),
            ("tag", [t.name for t in self.tags]),
        ):
            dup = sorted({n for n in names if names.count(n) > 1})
            if dup:
                msg = f"{what} names must be unique, repeated: {dup}"
                raise ValueError(msg)
        parts = {p.name for p in self.shape.parts}
        for c in self.components:
            if c.part is not None and parts and c.part not in parts:
                msg = f"component {c.name!r} names part {c.part!r}, not one of {sorted(parts)}"
                raise ValueError(msg)
        comps = {c.name for c in self.components}
        for t in self.tags:
            if t.component is not None and t.component not in comps:
                msg = f"tag {t.name!r} names component {t.component!r}, not one of {sorted(comps)}"
                raise ValueError(msg)
        tags = {t.name: t for t in self.tags}
        for p in self.precursors:
            tag = tags.get(p.tag)
            if tag is None:
                msg = f"precursor names tag {p.tag!r}, not one of {sorted(tags)}"
                raise ValueError(msg)
            if tag.normal_range is None or tag.alarms is None or getattr(tag.alarms, p.to) is None:
                msg = f"precursor tag {p.tag!r} needs a normal_range and a {p.to!r} alarm limit"
                raise ValueError(msg)
        return self

    def component(self, name: str) -> Component:
        """Return the component called ``name`` (KeyError if none)."""
        for c in self.components:
            if c.name == name:
                return c
        raise KeyError(name)

    def tag(self, name: str) -> TagSpec:
        """Return the tag spec called ``name`` (KeyError if none)."""
        for t in self.tags:
            if t.name == name:
                return t
        raise KeyError(name)


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


# --------------------------------------------------------------------------- maintenance


class StepAction(str, Enum):
    """What a maintenance step does."""

    INSPECT = "inspect"
    REMOVE = "remove"
    INSTALL = "install"
    REPLACE = "replace"
    TORQUE = "torque"
    CLEAN = "clean"
    MEASURE = "measure"
    ADJUST = "adjust"
    LOCKOUT = "lockout"
    RESTORE = "restore"
    VERIFY = "verify"


class Acceptance(Strict):
    """A value the technician measures and the limits it must meet."""

    quantity: str = Field(min_length=1)
    unit: str = ""
    min: float | None = None
    max: float | None = None
    target: float | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Acceptance:
        if self.min is None and self.max is None:
            msg = "acceptance needs 'min', 'max' or both"
            raise ValueError(msg)
        if self.min is not None and self.max is not None and self.min > self.max:
            msg = f"acceptance min {self.min} is above max {self.max}"
            raise ValueError(msg)
        return self

    def accepts(self, value: float) -> bool:
        """Return True if ``value`` meets the limits."""
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)


class SafetyNote(Strict):
    """A hazard the technician must acknowledge before the step."""

    kind: Literal["loto", "ppe", "gas", "electrical", "chemical", "hot", "laser", "general"]
    text: str = Field(min_length=1)


class ProcedureStep(Strict):
    """One step of a maintenance procedure."""

    title: str = Field(min_length=1)
    text: str = ""
    component: str = Field(min_length=1)
    action: StepAction = StepAction.INSPECT
    tools: list[str] = Field(default_factory=list)
    parts: list[str] = Field(default_factory=list)
    safety: list[SafetyNote] = Field(default_factory=list)
    duration_s: float = Field(default=300.0, gt=0)
    acceptance: Acceptance | None = None


class Procedure(Strict):
    """A maintenance procedure for one equipment type."""

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    name: str = Field(min_length=1)
    equipment_type: str
    revision: str = "A"
    description: str = ""
    alarm_codes: list[str] = Field(
        default_factory=list,
        description="alarms this procedure fixes: '<tag>.<lolo|lo|hi|hihi>' of the type's tags, or 'fault[.<name>]'",
    )
    steps: list[ProcedureStep] = Field(min_length=1)


# --------------------------------------------------------------------------- drills

FaultKind = Literal[
    "breakdown",
    "tag_drift",
    "tag_stuck",
    "alarm",
    "comm_loss",
    "transport_jam",
    "hot_lot",
    "interlock",
]
FAULT_KINDS: tuple[str, ...] = (
    "breakdown",
    "tag_drift",
    "tag_stuck",
    "alarm",
    "comm_loss",
    "transport_jam",
    "hot_lot",
    "interlock",
)
ResponseKind = Literal[
    "acknowledge_alarm",
    "hold_tool",
    "open_procedure",
    "sign_off_step",
    "prioritise_lot",
    "reroute_lot",
    "dispatch_maintenance",
]
RESPONSE_KINDS: tuple[str, ...] = (
    "acknowledge_alarm",
    "hold_tool",
    "open_procedure",
    "sign_off_step",
    "prioritise_lot",
    "reroute_lot",
    "dispatch_maintenance",
)
AlarmLimit = Literal["lolo", "lo", "hi", "hihi"]
TRANSPORT_ID = "OHT"
"""The equipment id drills use for the transport system (a jam, maintenance called to it)."""


class Trigger(Strict):
    """What starts a triggered injection: exactly one of a state, a tag crossing, a lot step.

    * ``enters_state`` (with ``equipment``): the tool enters that E10 state;
    * ``tag`` with ``above`` or ``below`` (with ``equipment``): the tag crosses the value;
    * ``step`` (optionally ``product``): a lot arrives at that 1-based route step.

    The injection fires ``delay_s`` plant seconds later, once.
    """

    equipment: str | None = None
    enters_state: E10State | None = None
    tag: str | None = None
    above: float | None = None
    below: float | None = None
    product: str | None = None
    step: int | None = Field(default=None, ge=1)
    delay_s: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _one_condition(self) -> Trigger:
        kinds = [
            self.enters_state is not None,
            self.tag is not None,
            self.step is not None,
        ]
        if sum(kinds) != 1:
            msg = "a trigger needs exactly one of 'enters_state', 'tag' (with 'above' or 'below') or 'step'"
            raise ValueError(msg)
        if self.tag is not None and (self.above is None) == (self.below is None):
            msg = "a tag trigger needs exactly one of 'above' or 'below'"
            raise ValueError(msg)
        if (self.enters_state is not None or self.tag is not None) and not self.equipment:
            msg = "a state or tag trigger needs 'equipment'"
            raise ValueError(msg)
        return self

    def describe(self) -> str:
        """Short words for the trigger, e.g. ``FURN-01 enters unscheduled_down``."""
        if self.enters_state is not None:
            what = f"{self.equipment} enters {self.enters_state.value}"
        elif self.tag is not None:
            side, v = ("above", self.above) if self.above is not None else ("below", self.below)
            what = f"{self.equipment}.{self.tag} {side} {v:g}"
        else:
            what = f"a lot{f' of {self.product}' if self.product else ''} reaches step {self.step}"
        return what + (f" (+{self.delay_s:g} s)" if self.delay_s else "")


class FaultInjection(Strict):
    """A fault a drill injects into the simulated plant, at a plant time or on a trigger.

    Fault kinds and the fields they use:

    * ``breakdown``: the tool goes unscheduled-down for ``duration_s`` (default 3600);
    * ``tag_drift``: ``tag`` moves at ``rate_per_s`` (units per plant second) from its value
      at the injection, stopping at ``value`` if given; without a rate it ramps to ``value``
      over ``ramp_s``; held for ``duration_s`` (default 3600);
    * ``tag_stuck``: ``tag`` freezes at its current value (or ``value``) for ``duration_s``;
    * ``alarm``: ``tag`` is driven just past its ``limit`` (or to ``value``) so the limit
      alarm ``<tag>.<limit>`` rises, for ``duration_s``;
    * ``comm_loss``: the tool's values go Bad (communication error) for ``duration_s``;
    * ``transport_jam``: the OHT vehicles stop for ``duration_s`` (``equipment`` optional,
      the tool nearest the jam);
    * ``hot_lot``: a lot of ``product`` (``lot`` id, ``priority``) is released at route step
      ``step`` (default 1); ``equipment`` names the tool group it waits for (optional);
    * ``interlock``: the tool is held and must not be resumed until step ``step`` (1-based)
      of ``procedure`` is signed off.
    """

    id: str = Field(default="", pattern=r"^[A-Za-z0-9_.\-]*$")
    at_s: float | None = Field(default=None, ge=0)
    trigger: Trigger | None = None
    equipment: str = ""
    fault: FaultKind
    tag: str | None = None
    value: float | None = None
    rate_per_s: float | None = None
    ramp_s: float = Field(default=300.0, gt=0)
    limit: AlarmLimit | None = None
    duration_s: float | None = Field(default=None, gt=0)
    product: str | None = None
    lot: str | None = None
    priority: int = Field(default=10, ge=0)
    step: int | None = Field(default=None, ge=1)
    procedure: str | None = None
    message: str = ""

    @model_validator(mode="after")
    def _fields_of_kind(self) -> FaultInjection:
        if (self.at_s is None) == (self.trigger is None):
            msg = "an injection needs exactly one of 'at_s' (plant time) or 'trigger'"
            raise ValueError(msg)
        k = self.fault
        if k in ("tag_drift", "tag_stuck", "alarm") and not self.tag:
            raise ValueError(f"a {k} injection needs 'tag'")
        if k == "tag_drift" and self.rate_per_s is None and self.value is None:
            raise ValueError("a tag_drift injection needs 'rate_per_s', 'value' or both")
        if k == "alarm" and self.limit is None and self.value is None:
            raise ValueError("an alarm injection needs 'limit' (hi, hihi, lo, lolo) or 'value'")
        if k == "hot_lot" and not self.product:
            raise ValueError("a hot_lot injection needs 'product'")
        if k == "interlock" and (not self.procedure or self.step is None):
            raise ValueError("an interlock injection needs 'procedure' and 'step'")
        needs_tool = k not in ("transport_jam", "hot_lot")
        if needs_tool and not self.equipment:
            raise ValueError(f"a {k} injection needs 'equipment'")
        return self

    @property
    def hold_s(self) -> float:
        """How long the fault lasts, plant seconds (``duration_s`` or the default 3600)."""
        return self.duration_s if self.duration_s is not None else 3600.0


class ExpectedResponse(Strict):
    """What the trainee is expected to do, by when, and the points it is worth.

    The time limit ``within_s`` runs from when the injection ``after`` fired (default: the
    first injection on the same ``equipment``, else the drill's first injection).

    * ``acknowledge_alarm``: acknowledge an alarm of ``equipment`` (``alarm``: its code, e.g.
      ``helium_leak.hi``; any of the tool's alarms if omitted); with ``comment_required`` an
      acknowledgement without a comment does not count and costs points;
    * ``hold_tool``: put ``equipment`` on hold;
    * ``open_procedure``: open ``procedure`` (for ``equipment``);
    * ``sign_off_step``: sign off step ``step`` of ``procedure``, or, without ``step``, every
      step of it that has safety notes;
    * ``prioritise_lot`` / ``reroute_lot``: give lot ``lot`` priority / send it to another
      tool (``lot`` omitted: the hot lot of the ``after`` injection, else any lot);
    * ``dispatch_maintenance``: call maintenance to ``equipment``.
    """

    action: ResponseKind
    equipment: str = ""
    within_s: float = Field(gt=0)
    points: float = Field(default=10.0, ge=0)
    procedure: str | None = None
    alarm: str | None = None
    comment_required: bool = False
    step: int | None = Field(default=None, ge=1)
    lot: str | None = None
    after: str | None = None

    @model_validator(mode="after")
    def _fields_of_action(self) -> ExpectedResponse:
        a = self.action
        if a in ("open_procedure", "sign_off_step") and not self.procedure:
            raise ValueError(f"a {a} response needs 'procedure'")
        if a in ("acknowledge_alarm", "hold_tool", "dispatch_maintenance") and not self.equipment:
            # dispatch_maintenance to the transport system: equipment 'OHT' (TRANSPORT_ID)
            raise ValueError(f"a {a} response needs 'equipment'")
        return self


class Penalties(Strict):
    """Points a wrong action costs."""

    hold_healthy_tool: float = Field(default=5.0, ge=0)
    resume_interlocked: float = Field(default=10.0, ge=0)
    ack_without_comment: float = Field(default=5.0, ge=0)


class Drill(Strict):
    """An operator drill: a briefing, faults at times or on triggers, the responses expected."""

    id: str = Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")
    name: str = Field(min_length=1)
    description: str = ""
    briefing: str = Field(default="", description="what the trainees are told before the drill")
    objectives: list[str] = Field(default_factory=list, description="learning objectives")
    duration_s: float | None = Field(
        default=None,
        gt=0,
        description="plant seconds the drill runs (default: last limit + 10 min)",
    )
    start_at_s: float = Field(
        default=0.0, ge=0, description="plant time the drill clock starts at (warm-up before)"
    )
    speed: float = Field(
        default=1.0, gt=0, description="plant seconds per wall second while the drill runs"
    )
    pass_mark_pct: float = Field(default=80.0, ge=0, le=100)
    penalties: Penalties = Field(default_factory=Penalties)
    injections: list[FaultInjection] = Field(default_factory=list)
    expected: list[ExpectedResponse] = Field(default_factory=list)

    @model_validator(mode="after")
    def _ids(self) -> Drill:
        seen: set[str] = set()
        for k, inj in enumerate(self.injections):
            if not inj.id:
                object.__setattr__(inj, "id", f"inj{k + 1}")
            if inj.id in seen:
                raise ValueError(f"duplicate injection id {inj.id!r}")
            seen.add(inj.id)
        for r in self.expected:
            if r.after is not None and r.after not in seen:
                raise ValueError(f"response 'after' names no injection: {r.after!r}")
        return self

    @property
    def max_points(self) -> float:
        """Points of all expected responses."""
        return float(sum(r.points for r in self.expected))

    @property
    def planned_end_s(self) -> float:
        """Plant seconds after the start the drill runs."""
        if self.duration_s is not None:
            return self.duration_s
        last = 0.0
        for inj in self.injections:
            last = max(last, (inj.at_s or 0.0) + (inj.trigger.delay_s if inj.trigger else 0.0))
        limit = max((r.within_s for r in self.expected), default=0.0)
        return last + limit + 600.0


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
