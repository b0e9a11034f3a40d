"""The change kinds of a scenario file, and how each one edits a plant.

Each change is a small pydantic model told apart by its ``change:`` key (a discriminated
union, :data:`Change`). :func:`apply_change` applies one to a :class:`~factory_twin.model.
schema.PlantSpec` in place and returns the edit in words ("move ETCH-01 from (8.05, 4.9) to
(19.0, 4.9) m"); a change that does not fit the plant it meets (a tool that is not there, a
group without tools) raises :class:`Misfit` naming the field and the reason, and leaves the
plant as it was. :mod:`factory_twin.model.scenario` reads the files and checks the result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypeVar

from pydantic import Field, field_validator, model_validator

from factory_twin.model import schema as s

_ID = r"^[A-Za-z0-9_.\-]+$"

AnyDist = s.Constant | s.Exponential | s.Uniform | s.Triangular | s.Normal | s.Lognormal | s.Gamma
# A figure: a bare number is a new mean that keeps the distribution's family; a mapping is a
# whole new distribution (as in a plant file).
Figure = Annotated[float, Field(gt=0)] | s.Distribution


def _given(model: s.Strict, names: tuple[str, ...]) -> list[str]:
    return [n for n in names if n in model.model_fields_set]


_M = TypeVar("_M", bound=s.Strict)


def _needs_some(change: _M, names: tuple[str, ...]) -> _M:
    """``change`` if it gives one of ``names`` at least (a change that changes something)."""
    if not _given(change, names):
        msg = f"{getattr(change, 'change', 'a change')} needs one of {', '.join(names)}"
        raise ValueError(msg)
    return change


class MoveTool(s.Strict):
    """Move or turn a tool, optionally into another bay."""

    change: Literal["move_tool"]
    id: str = Field(min_length=1)
    position_m: tuple[float, float] | None = None
    rotation_deg: float | None = None
    bay: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _something(self) -> MoveTool:
        return _needs_some(self, ("position_m", "rotation_deg", "bay"))


class AddTool(s.Strict):
    """Add a tool; ``like`` copies type, group, bay, reliability, PMs and OPC UA binding."""

    change: Literal["add_tool"]
    id: str = Field(min_length=1, pattern=_ID)
    like: str | None = Field(default=None, min_length=1)
    type: str | None = Field(default=None, min_length=1)
    group: str | None = Field(default=None, min_length=1)
    bay: str | None = Field(default=None, min_length=1)
    position_m: tuple[float, float]
    rotation_deg: float | None = None
    reliability: s.Reliability | None = None
    pm: list[s.PmSpec] | None = None

    @model_validator(mode="after")
    def _complete(self) -> AddTool:
        missing = [n for n in ("type", "group", "bay") if getattr(self, n) is None]
        if self.like is None and missing:
            msg = f"add_tool needs {', '.join(missing)} (or 'like: TOOL' to copy them from)"
            raise ValueError(msg)
        return self


class RemoveTool(s.Strict):
    """Take a tool out of the plant."""

    change: Literal["remove_tool"]
    id: str = Field(min_length=1)


class SetDispatch(s.Strict):
    """Change a tool group's dispatch rule."""

    change: Literal["set_dispatch"]
    group: str = Field(min_length=1)
    rule: s.DispatchRule


class SetSetups(s.Strict):
    """Change a tool group's setup times and minimum run."""

    change: Literal["set_setups"]
    group: str = Field(min_length=1)
    setup_default: s.Distribution | None = None
    setups: list[s.SetupChange] | None = None
    min_run_lots: int | None = Field(default=None, ge=1)

    _num = field_validator("setup_default", mode="before")(lambda cls, v: s._number_to_constant(v))

    @model_validator(mode="after")
    def _something(self) -> SetSetups:
        return _needs_some(self, ("setup_default", "setups", "min_run_lots"))


class SetBatching(s.Strict):
    """Change how a tool group batches, loads and cascades."""

    change: Literal["set_batching"]
    group: str = Field(min_length=1)
    batch_wait_s: float | None = Field(default=None, ge=0)
    load_s: float | None = Field(default=None, ge=0)
    unload_s: float | None = Field(default=None, ge=0)
    cascade_lots: int | None = Field(default=None, ge=1, le=16)

    @model_validator(mode="after")
    def _something(self) -> SetBatching:
        return _needs_some(self, _BATCHING)


_BATCHING = ("batch_wait_s", "load_s", "unload_s", "cascade_lots")


class SetRelease(s.Strict):
    """Change how a product is released: a rate, an interarrival, a scale or a CONWIP level."""

    change: Literal["set_release"]
    product: str = Field(min_length=1)
    rate_per_day: float | None = Field(default=None, gt=0, description="lots per day")
    interarrival: s.Distribution | None = None
    scale: float | None = Field(default=None, gt=0, description="1.1 = 10 % more starts")
    wip_lots: int | None = Field(default=None, ge=1, description="CONWIP level")

    _num = field_validator("interarrival", mode="before")(lambda cls, v: s._number_to_constant(v))

    @model_validator(mode="after")
    def _one(self) -> SetRelease:
        given = _given(self, _RELEASE)
        if len(given) != 1:
            msg = f"set_release needs exactly one of {', '.join(_RELEASE)}, got {given or 'none'}"
            raise ValueError(msg)
        return self


_RELEASE = ("rate_per_day", "interarrival", "scale", "wip_lots")


class SetMix(s.Strict):
    """Share the listed products' total release rate anew (the total is kept)."""

    change: Literal["set_mix"]
    shares: dict[str, Annotated[float, Field(gt=0)]] = Field(min_length=1)


class SetTransport(s.Strict):
    """Change the transport system."""

    change: Literal["set_transport"]
    kind: Literal["ohs", "agv", "manual", "conveyor", "none"] | None = None
    speed_m_s: float | None = Field(default=None, gt=0)
    vehicles: int | None = Field(default=None, ge=1, description="null = unlimited")
    handling_s: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _something(self) -> SetTransport:
        return _needs_some(self, _TRANSPORT)


_TRANSPORT = ("kind", "speed_m_s", "vehicles", "handling_s")


class SetAmhs(s.Strict):
    """Change the OHT fleet of a plant with an ``amhs`` section (rails)."""

    change: Literal["set_amhs"]
    fleet: int | None = Field(default=None, ge=1, description="number of vehicles")
    vehicle_speed_m_s: float | None = Field(default=None, gt=0, description="top speed")
    dispatch: Literal["nearest_idle", "fifo"] | None = None
    model: Literal["oht", "simple"] | None = None
    handling_s: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _something(self) -> SetAmhs:
        return _needs_some(self, _AMHS)


_AMHS = ("fleet", "vehicle_speed_m_s", "dispatch", "model", "handling_s")


class _ToolOrGroup(s.Strict):
    tool: str | None = Field(default=None, min_length=1)
    group: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _target(self) -> _ToolOrGroup:
        if (self.tool is None) == (self.group is None):
            msg = "give exactly one of 'tool' or 'group'"
            raise ValueError(msg)
        return self


class SetReliability(_ToolOrGroup):
    """Change failure figures of a tool or of every tool of a group."""

    change: Literal["set_reliability"]
    mtbf: Figure | None = None
    mttr: Figure | None = None
    basis: Literal["calendar", "busy"] | None = None

    @model_validator(mode="after")
    def _something(self) -> SetReliability:
        return _needs_some(self, ("mtbf", "mttr", "basis"))


class SetPm(_ToolOrGroup):
    """Change a named PM plan of a tool or of every tool of a group."""

    change: Literal["set_pm"]
    pm: str = Field(min_length=1, description="name of the PM plan")
    interval: float | None = Field(default=None, gt=0)
    duration: Figure | None = None
    qualification: Figure | None = None
    first: float | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _something(self) -> SetPm:
        return _needs_some(self, _PM)


_PM = ("interval", "duration", "qualification", "first")

Change = Annotated[
    MoveTool
    | AddTool
    | RemoveTool
    | SetDispatch
    | SetSetups
    | SetBatching
    | SetRelease
    | SetMix
    | SetTransport
    | SetAmhs
    | SetReliability
    | SetPm,
    Field(discriminator="change"),
]
"""One change of a scenario, told apart by its ``change:`` key."""

CHANGE_KINDS = (
    "move_tool", "add_tool", "remove_tool", "set_dispatch", "set_setups", "set_batching",
    "set_release", "set_mix", "set_transport", "set_amhs", "set_reliability", "set_pm",
)  # fmt: skip


# --------------------------------------------------------------------------- applying


class Misfit(Exception):
    """A change does not fit the plant it is applied to.

    Parameters
    ----------
    field
        The change's field at fault ("" for the change as a whole; a tuple for a key
        inside a field, as ``("shares", "LOGIC-A")``).
    message
        Why, naming the tool, group or product.
    """

    def __init__(self, field: str | tuple[str, ...], message: str) -> None:
        super().__init__(message)
        self.loc: tuple[str, ...] = (field,) if isinstance(field, str) and field else ()
        if isinstance(field, tuple):
            self.loc = field
        self.message = message


@dataclass
class Trace:
    """Which change last touched each tool, group and product (to name it in errors)."""

    tools: dict[str, int] = field(default_factory=dict)
    removed: dict[str, int] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)
    products: dict[str, int] = field(default_factory=dict)
    transport: int | None = None


def num(v: float) -> str:
    """Return a coordinate or angle with one to three decimals.

    Examples
    --------
    >>> num(10), num(8.05), num(-90)
    ('10.0', '8.05', '-90.0')
    """
    text = f"{v:.3f}".rstrip("0")
    return text + "0" if text.endswith(".") else text


def g(v: float) -> str:
    """Return a number short: whole numbers whole, others to 6 significant digits.

    Examples
    --------
    >>> g(1209600.0), g(3636.363636)
    ('1209600', '3636.36')
    """
    v = float(v)
    return str(int(v)) if v.is_integer() and abs(v) < 1e15 else f"{v:.6g}"


def xy(p: tuple[float, float]) -> str:
    """Return a floor point as ``(x, y)``."""
    return f"({num(p[0])}, {num(p[1])})"


def dist_text(d: AnyDist | None) -> str:
    """Return a distribution in a few words."""
    if d is None:
        return "none"
    if isinstance(d, s.Constant):
        return f"{g(d.value)}"
    if isinstance(d, s.Uniform):
        return f"uniform {g(d.low)}-{g(d.high)}"
    if isinstance(d, s.Triangular):
        return f"triangular {g(d.low)}/{g(d.mode)}/{g(d.high)}"
    return f"{d.dist} mean {g(d.mean)}"


def scaled(d: AnyDist, factor: float) -> AnyDist:
    """Return ``d`` with every time in it multiplied by ``factor`` (the family kept).

    Examples
    --------
    >>> scaled(s.Uniform(dist="uniform", low=100, high=300), 1.5)
    Uniform(dist='uniform', low=150.0, high=450.0)
    """
    keys = {"value", "mean", "low", "mode", "high", "sd"}
    data = {k: (v * factor if k in keys else v) for k, v in d.model_dump().items()}
    return type(d).model_validate(data)


def _figure(old: AnyDist | None, new: float | AnyDist) -> AnyDist:
    """A bare number is a new mean (the old family kept, exponential if none); else ``new``."""
    if not isinstance(new, (int, float)):
        return new
    if old is None:
        return s.Exponential(dist="exponential", mean=float(new))
    if old.mean <= 0:
        return s.Constant(value=float(new))
    return scaled(old, float(new) / old.mean)


def _names(items: list[str], limit: int = 8) -> str:
    shown = ", ".join(items[:limit])
    return shown + (f", ... ({len(items)} in all)" if len(items) > limit else "")


def _tool_index(plant: s.PlantSpec, tool_id: str, trace: Trace, fld: str = "id") -> int:
    for i, e in enumerate(plant.equipment):
        if e.id == tool_id:
            return i
    if tool_id in trace.removed:
        msg = f"tool {tool_id} was removed by changes[{trace.removed[tool_id]}]"
        raise Misfit(fld, msg)
    msg = f"tool {tool_id} is not in the base plant (it has {_names([e.id for e in plant.equipment])})"
    raise Misfit(fld, msg)


def _group_tools(plant: s.PlantSpec, group: str, fld: str = "group") -> list[s.Equipment]:
    tools = plant.groups().get(group)
    if not tools:
        msg = f"no tool belongs to group {group} (groups: {_names(sorted(plant.groups()))})"
        raise Misfit(fld, msg)
    return tools


def _group_settings(plant: s.PlantSpec, group: str) -> s.ToolGroup:
    """The group's settings entry, added (with defaults) if the plant lists none."""
    _group_tools(plant, group)
    for grp in plant.tool_groups:
        if grp.id == group:
            return grp
    grp = s.ToolGroup(id=group)
    plant.tool_groups.append(grp)
    return grp


def _product(plant: s.PlantSpec, pid: str, fld: str | tuple[str, ...] = "product") -> s.Product:
    for p in plant.products:
        if p.id == pid:
            return p
    msg = (
        f"product {pid} is not in the base plant (it has {_names([p.id for p in plant.products])})"
    )
    raise Misfit(fld, msg)


def _move(plant: s.PlantSpec, ch: MoveTool, trace: Trace, k: int) -> str:
    e = plant.equipment[_tool_index(plant, ch.id, trace)]
    if ch.bay is not None and ch.bay not in {b.id for b in plant.site.bays}:
        msg = f"no bay {ch.bay} (bays: {_names([b.id for b in plant.site.bays])})"
        raise Misfit("bay", msg)
    words = []
    if ch.position_m is not None:
        words.append(f"from {xy(e.position_m)} to {xy(ch.position_m)} m")
        e.position_m = ch.position_m
    if ch.rotation_deg is not None:
        words.append(f"rotation {num(e.rotation_deg)} -> {num(ch.rotation_deg)} deg")
        e.rotation_deg = ch.rotation_deg
    if ch.bay is not None:
        words.append(f"bay {e.bay} -> {ch.bay}")
        e.bay = ch.bay
    trace.tools[e.id] = k
    return f"move {e.id} " + ", ".join(words)


def _add(plant: s.PlantSpec, ch: AddTool, trace: Trace, k: int) -> str:
    if any(e.id == ch.id for e in plant.equipment):
        msg = f"tool {ch.id} is already in the plant"
        raise Misfit("id", msg)
    like = plant.equipment[_tool_index(plant, ch.like, trace, "like")] if ch.like else None
    data: dict[str, Any] = {}
    if like is not None:
        data = like.model_dump(
            exclude_unset=True, include={"type", "group", "bay", "opcua", "reliability", "pm"}
        )
    data.update(ch.model_dump(exclude_unset=True, exclude={"change", "like"}))
    types = {t.id for t in plant.equipment_types}
    if data["type"] not in types:
        msg = f"no equipment type {data['type']} (types: {_names(sorted(types))})"
        raise Misfit("type" if ch.type is not None else "like", msg)
    if data["bay"] not in {b.id for b in plant.site.bays}:
        msg = f"no bay {data['bay']} (bays: {_names([b.id for b in plant.site.bays])})"
        raise Misfit("bay" if ch.bay is not None else "like", msg)
    e = s.Equipment.model_validate(data)
    plant.equipment.append(e)
    trace.tools[e.id] = k
    trace.groups[e.group] = k
    copied = f", like {like.id}" if like is not None else ""
    return (
        f"add {e.id} ({e.type}) to {e.group} in bay {e.bay} at {xy(e.position_m)} m, "
        f"rotation {num(e.rotation_deg)} deg{copied}"
    )


def _remove(plant: s.PlantSpec, ch: RemoveTool, trace: Trace, k: int) -> str:
    i = _tool_index(plant, ch.id, trace)
    e = plant.equipment.pop(i)
    trace.removed[e.id] = k
    trace.groups[e.group] = k
    trace.tools.pop(e.id, None)
    return f"remove {e.id} ({e.type}) from {e.group} in bay {e.bay}"


def _dispatch(plant: s.PlantSpec, ch: SetDispatch, trace: Trace, k: int) -> str:
    grp = _group_settings(plant, ch.group)
    old = grp.dispatch.value
    grp.dispatch = ch.rule
    trace.groups[grp.id] = k
    return f"{grp.id} dispatch {old} -> {ch.rule.value}"


def _group_fields(
    plant: s.PlantSpec, ch: SetSetups | SetBatching, names: tuple[str, ...], trace: Trace, k: int
) -> str:
    grp = _group_settings(plant, ch.group)
    words = []
    for n in _given(ch, names):
        old, new = getattr(grp, n), getattr(ch, n)
        if n == "setups":
            words.append(f"setups {len(old)} -> {len(new or [])} listed changes")
            new = list(new or [])
        elif n == "setup_default":
            words.append(f"setup_default {dist_text(old)} -> {dist_text(new)} s")
        else:
            words.append(f"{n} {g(old)} -> {g(new)}")
        setattr(grp, n, new)
    trace.groups[grp.id] = k
    return f"{grp.id} " + ", ".join(words)


def rate_per_day(p: s.Product) -> float | None:
    """Lots per day a rate-released product starts (None for schedule or CONWIP)."""
    r = p.release
    if r.mode != "rate" or r.interarrival is None or r.interarrival.mean <= 0:
        return None
    return 86400.0 / r.interarrival.mean * r.lots_per_release


def _release_text(p: s.Product) -> str:
    r = p.release
    if r.mode == "conwip":
        return f"CONWIP {r.wip_lots} lots"
    rate = rate_per_day(p)
    if rate is None:
        return f"{r.mode}"
    return f"{rate:.3g} lots/day (interarrival {dist_text(r.interarrival)} s)"


def _release(plant: s.PlantSpec, ch: SetRelease, trace: Trace, k: int) -> str:
    p = _product(plant, ch.product)
    r = p.release
    before = _release_text(p)
    keep = r.model_dump(exclude_unset=True, include={"lots_per_release", "start_s"})
    if ch.wip_lots is not None:
        new = {"mode": "conwip", "wip_lots": ch.wip_lots}
    elif ch.interarrival is not None:
        new = {"mode": "rate", "interarrival": ch.interarrival}
    else:
        old = r.interarrival if r.mode == "rate" else None
        if ch.scale is not None:
            if old is None:
                msg = f"product {p.id} is released by {r.mode}, not at a rate: nothing to scale"
                raise Misfit("scale", msg)
            ia = scaled(old, 1.0 / ch.scale)
        else:
            assert ch.rate_per_day is not None
            ia = _figure(old, 86400.0 * r.lots_per_release / ch.rate_per_day)
        new = {"mode": "rate", "interarrival": ia}
    p.release = s.Release.model_validate({**keep, **new})
    trace.products[p.id] = k
    return f"{p.id} release {before} -> {_release_text(p)}"


def _mix(plant: s.PlantSpec, ch: SetMix, trace: Trace, k: int) -> str:
    prods = {pid: _product(plant, pid, ("shares", pid)) for pid in ch.shares}
    rates = {pid: rate_per_day(p) for pid, p in prods.items()}
    for pid, rate in rates.items():
        if rate is None:
            msg = f"product {pid} is released by {prods[pid].release.mode}, not at a rate"
            raise Misfit(("shares", pid), msg)
    total = sum(r or 0.0 for r in rates.values())
    weight = sum(ch.shares.values())
    words = []
    for pid, p in prods.items():
        old_rate = rates[pid] or 0.0
        share = ch.shares[pid] / weight
        ia = p.release.interarrival
        assert ia is not None
        p.release.interarrival = scaled(ia, old_rate / (total * share))
        words.append(f"{pid} {100 * old_rate / total:.1f} % -> {100 * share:.1f} %")
        trace.products[pid] = k
    return f"release mix {', '.join(words)} (total {total:.3g} lots/day kept)"


def _transport(plant: s.PlantSpec, ch: SetTransport, trace: Trace, k: int) -> str:
    t = plant.transport
    words = []
    for n in _given(ch, _TRANSPORT):
        old, new = getattr(t, n), getattr(ch, n)
        words.append(f"{n} {_plain(old)} -> {_plain(new)}")
        setattr(t, n, new)
    trace.transport = k
    return "transport " + ", ".join(words)


def _amhs(plant: s.PlantSpec, ch: SetAmhs, trace: Trace, k: int) -> str:
    am = plant.amhs
    if am is None or not am.links:
        msg = "the plant has no amhs section with rails (use set_transport for its transport)"
        raise Misfit("", msg)
    words = []
    for n in _given(ch, _AMHS):
        new = getattr(ch, n)
        if n == "vehicle_speed_m_s":
            old, am.vehicle.max_speed_m_s = am.vehicle.max_speed_m_s, new
        else:
            old = getattr(am, n)
            setattr(am, n, new)
        words.append(f"{n} {_plain(old)} -> {_plain(new)}")
    trace.transport = k
    return "OHT " + ", ".join(words)


def _plain(v: Any) -> str:
    if v is None:
        return "unlimited"
    return f"{g(v)}" if isinstance(v, (int, float)) else str(v)


def _targets(plant: s.PlantSpec, ch: SetReliability | SetPm, trace: Trace) -> list[s.Equipment]:
    if ch.tool is not None:
        return [plant.equipment[_tool_index(plant, ch.tool, trace, "tool")]]
    assert ch.group is not None
    return _group_tools(plant, ch.group)


def _reliability(plant: s.PlantSpec, ch: SetReliability, trace: Trace, k: int) -> str:
    tools = _targets(plant, ch, trace)
    news = []
    for e in tools:
        r = e.reliability
        if r is None and (ch.mtbf is None or ch.mttr is None):
            msg = f"tool {e.id} has no failure figures: give both mtbf and mttr"
            raise Misfit("", msg)
        mtbf = r.mtbf if r is not None else None
        mttr = r.mttr if r is not None else None
        data: dict[str, Any] = {} if r is None else r.model_dump(exclude_unset=True)
        if ch.mtbf is not None:
            data["mtbf"] = _figure(mtbf, ch.mtbf)
        if ch.mttr is not None:
            data["mttr"] = _figure(mttr, ch.mttr)
        if ch.basis is not None:
            data["basis"] = ch.basis
        news.append((e, s.Reliability.model_validate(data)))
    first_old, first_new = tools[0].reliability, news[0][1]
    for e, new in news:
        e.reliability = new
        trace.tools[e.id] = k
    words = []
    for n in _given(ch, ("mtbf", "mttr")):
        old = getattr(first_old, n) if first_old is not None else None
        words.append(f"{n} {dist_text(old)} -> {dist_text(getattr(first_new, n))} s")
    if ch.basis is not None:
        words.append(f"basis {ch.basis}")
    return f"{_who(ch, tools)} reliability " + ", ".join(words)


def _who(ch: SetReliability | SetPm, tools: list[s.Equipment]) -> str:
    return ch.tool or f"{ch.group} ({len(tools)} tools)"


def _pm(plant: s.PlantSpec, ch: SetPm, trace: Trace, k: int) -> str:
    tools = _targets(plant, ch, trace)
    news = []
    for e in tools:
        hits = [i for i, pm in enumerate(e.pm) if pm.name == ch.pm]
        if not hits:
            names = ", ".join(repr(pm.name) for pm in e.pm) or "none"
            msg = f"tool {e.id} has no PM plan {ch.pm!r} (it has {names})"
            raise Misfit("pm", msg)
        old = e.pm[hits[0]]
        data = old.model_dump(exclude_unset=True)
        for n in _given(ch, _PM):
            new = getattr(ch, n)
            data[n] = _figure(getattr(old, n), new) if n in ("duration", "qualification") else new
        news.append((e, hits[0], old, s.PmSpec.model_validate(data)))
    for e, i, _, new in news:
        e.pm[i] = new
        trace.tools[e.id] = k
    _, _, old, new = news[0]
    unit = "s" if old.basis == "calendar" else "wafers"
    words = []
    for n in _given(ch, _PM):
        a, b = getattr(old, n), getattr(new, n)
        if n in ("duration", "qualification"):
            words.append(f"{n} {dist_text(a)} -> {dist_text(b)} s")
        else:
            words.append(f"{n} {_plain(a) if a is not None else 'none'} -> {_plain(b)} {unit}")
    return f"{_who(ch, tools)} PM {ch.pm!r} " + ", ".join(words)


def apply_change(plant: s.PlantSpec, ch: Any, trace: Trace, k: int) -> str:
    """Apply change number ``k`` to ``plant`` in place; return it in words.

    Raises
    ------
    Misfit
        If the change does not fit the plant (the plant is then unchanged).
    """
    if isinstance(ch, MoveTool):
        return _move(plant, ch, trace, k)
    if isinstance(ch, AddTool):
        return _add(plant, ch, trace, k)
    if isinstance(ch, RemoveTool):
        return _remove(plant, ch, trace, k)
    if isinstance(ch, SetDispatch):
        return _dispatch(plant, ch, trace, k)
    if isinstance(ch, SetSetups):
        return _group_fields(plant, ch, ("setup_default", "setups", "min_run_lots"), trace, k)
    if isinstance(ch, SetBatching):
        return _group_fields(plant, ch, _BATCHING, trace, k)
    if isinstance(ch, SetRelease):
        return _release(plant, ch, trace, k)
    if isinstance(ch, SetMix):
        return _mix(plant, ch, trace, k)
    if isinstance(ch, SetTransport):
        return _transport(plant, ch, trace, k)
    if isinstance(ch, SetAmhs):
        return _amhs(plant, ch, trace, k)
    if isinstance(ch, SetReliability):
        return _reliability(plant, ch, trace, k)
    if isinstance(ch, SetPm):
        return _pm(plant, ch, trace, k)
    msg = f"unknown change {type(ch).__name__}"
    raise TypeError(msg)


def summary(ch: Any) -> str:
    """Return a change in a few words without a plant (for a change that does not apply)."""
    data = ch.model_dump(mode="json", exclude_unset=True)
    kind = data.pop("change")
    return f"{kind} " + ", ".join(f"{k}={v}" for k, v in data.items())
