"""The plant file format's site, bays and equipment types (see :mod:`factory_twin.model.schema`).

The site and its bays, and what an equipment type is: its shape and parts, components,
tags with their alarm limits, batch size, precursors and cost. Lengths in metres, times in
seconds, colours ``#rrggbb``.
"""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, PrivateAttr, field_validator, model_validator

from factory_twin.model.events import AlarmPriority, E10State
from factory_twin.model.schema_common import _COLOR, Strict

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
