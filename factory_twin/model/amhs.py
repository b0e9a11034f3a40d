"""The ``amhs`` section of a plant file: an overhead-hoist (OHT) rail network and its fleet.

A plant without rails keeps the simple transport model (distance / speed + handling, see
:mod:`factory_twin.model.transport`); ``amhs: simple`` says so explicitly. A plant with rails
lists its rail nodes (floor coordinates, metres), its directed rail links (length and speed
limit), the rail node each tool loads and unloads at, its stockers, the vehicle type and the
fleet size. ``model: oht`` makes the simulator move every lot on a vehicle of that fleet
(:mod:`factory_twin.sim.oht`); ``model: simple`` keeps the rails for the view and the old
transport time for the simulation.

Cross-references (link ends, port nodes, port tools, stockers) are checked by
:func:`check_amhs`, which :func:`factory_twin.model.config.check_references` calls, so every
problem is reported with its file and line like the rest of the plant file.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Problem = tuple[tuple[str | int, ...], str]


class _Strict(BaseModel):
    """Unknown keys are errors and numbers are finite (as everywhere in the plant file)."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


class RailNode(_Strict):
    """A point on the rail, at floor coordinates ``at_m`` (x, y) in metres."""

    id: str = Field(min_length=1)
    at_m: tuple[float, float]
    bay: str = ""


class RailLink(_Strict):
    """A directed rail link from node ``from`` to node ``to``.

    ``length_m`` is the distance the vehicle travels; ``max_speed_m_s`` the link's speed
    limit (the vehicle's own maximum applies too); ``curve`` marks a curved link.
    """

    model_config = ConfigDict(
        extra="forbid",
        validate_assignment=True,
        allow_inf_nan=False,
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    id: str = Field(min_length=1)
    from_: str = Field(alias="from", min_length=1)
    to: str = Field(min_length=1)
    length_m: float = Field(gt=0)
    max_speed_m_s: float = Field(gt=0)
    curve: bool = False
    bay: str = ""


class LoadPort(_Strict):
    """The rail node where vehicles load and unload tool ``tool``."""

    tool: str = Field(min_length=1)
    node: str = Field(min_length=1)


class Stocker(_Strict):
    """A stocker (or a lot release / finish point) at ``position_m``, served from ``node``."""

    id: str = Field(min_length=1)
    node: str = Field(min_length=1)
    position_m: tuple[float, float]
    bay: str = ""
    kind: Literal["stocker", "commit", "complete"] = "stocker"


class VehicleType(_Strict):
    """An OHT vehicle: length, top speed, acceleration, deceleration and minimum gap."""

    id: str = Field(default="OHT", min_length=1)
    length_m: float = Field(default=0.784, gt=0)
    max_speed_m_s: float = Field(default=5.0, gt=0)
    accel_m_s2: float = Field(default=2.0, gt=0)
    decel_m_s2: float = Field(default=3.5, gt=0)
    min_gap_m: float = Field(default=0.125, ge=0, description="headway kept to the vehicle ahead")

    @property
    def pitch_m(self) -> float:
        """Rail length one standing vehicle takes: its length plus the minimum gap."""
        return self.length_m + self.min_gap_m


class Amhs(_Strict):
    """The automated material handling system: rails, ports, stockers and the OHT fleet."""

    model: Literal["simple", "oht"] = Field(
        default="oht", description="oht: vehicle by vehicle on the rails; simple: distance/speed"
    )
    engine: Literal["compiled", "python"] = Field(
        default="compiled",
        description="compiled: the fleet's section passages in compiled code (numba); python: "
        "the pure-Python reference, same results, about 10x slower",
    )
    source: str = ""
    vehicle: VehicleType = Field(default_factory=VehicleType)
    fleet: int = Field(default=100, ge=1, description="number of vehicles")
    dispatch: Literal["nearest_idle", "fifo"] = Field(
        default="nearest_idle",
        description="nearest_idle: a new move takes the nearest idle vehicle; fifo: the "
        "vehicle idle longest",
    )
    handling_s: float = Field(default=15.0, ge=0, description="one hoist load or unload")
    nodes: list[RailNode] = Field(default_factory=list)
    links: list[RailLink] = Field(default_factory=list)
    ports: list[LoadPort] = Field(default_factory=list)
    stockers: list[Stocker] = Field(default_factory=list)

    @model_validator(mode="after")
    def _rails_for_oht(self) -> Amhs:
        if self.model == "oht" and not self.links:
            msg = "model 'oht' needs rail links (use model: simple for a plant without rails)"
            raise ValueError(msg)
        return self

    @field_validator("nodes", mode="before")
    @classmethod
    def _nodes_from_lists(cls, v: Any) -> Any:
        # Compact form: [id, x, y] or [id, x, y, bay].
        if isinstance(v, list):
            return [
                {"id": n[0], "at_m": n[1:3], **({"bay": n[3]} if len(n) > 3 else {})}
                if isinstance(n, list) and len(n) in (3, 4)
                else n
                for n in v
            ]
        return v


def amhs_from_value(v: Any) -> Any:
    """Accept ``amhs: simple`` (or ``oht``) as shorthand for ``{model: simple}``."""
    if isinstance(v, str):
        return {"model": v}
    return v


def check_amhs(amhs: Amhs, tools: set[str]) -> list[Problem]:
    """Return the cross-reference problems of an ``amhs`` section as (loc, message).

    Node and link ids are unique, links join known nodes, every port names a known tool and
    node (once per tool), every stocker a known node; with ``model: oht`` every tool has a
    port and every node can reach every port (one strongly connected rail network is not
    required, but a port no vehicle can reach is an error).
    """
    out: list[Problem] = []
    nodes: dict[str, int] = {}
    for i, n in enumerate(amhs.nodes):
        if n.id in nodes:
            out.append((("amhs", "nodes", i, "id"), f"duplicate node id {n.id!r}"))
        nodes.setdefault(n.id, i)
    seen: set[str] = set()
    for i, lk in enumerate(amhs.links):
        if lk.id in seen:
            out.append((("amhs", "links", i, "id"), f"duplicate link id {lk.id!r}"))
        seen.add(lk.id)
        for key, ref in (("from", lk.from_), ("to", lk.to)):
            if ref not in nodes:
                out.append((("amhs", "links", i, key), f"unknown rail node {ref!r}"))
        if lk.from_ == lk.to:
            out.append((("amhs", "links", i, "to"), "a link must join two different nodes"))
    ported: set[str] = set()
    for i, p in enumerate(amhs.ports):
        if p.tool not in tools:
            out.append((("amhs", "ports", i, "tool"), f"unknown equipment {p.tool!r}"))
        if p.node not in nodes:
            out.append((("amhs", "ports", i, "node"), f"unknown rail node {p.node!r}"))
        if p.tool in ported:
            out.append((("amhs", "ports", i, "tool"), f"tool {p.tool!r} has two load ports"))
        ported.add(p.tool)
    for i, st in enumerate(amhs.stockers):
        if st.node not in nodes:
            out.append((("amhs", "stockers", i, "node"), f"unknown rail node {st.node!r}"))
    if amhs.model == "oht" and not out:
        missing = sorted(tools - ported)
        if missing:
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            out.append((("amhs", "ports"), f"no load port for {', '.join(missing[:5])}{more}"))
        out += _check_reachable(amhs)
    return out


def _check_reachable(amhs: Amhs) -> list[Problem]:
    """Ports that cannot be reached from, or cannot reach, the rest of the network."""
    succ: dict[str, list[str]] = {n.id: [] for n in amhs.nodes}
    pred: dict[str, list[str]] = {n.id: [] for n in amhs.nodes}
    for lk in amhs.links:
        succ[lk.from_].append(lk.to)
        pred[lk.to].append(lk.from_)
    if not amhs.ports:
        return []
    start = amhs.ports[0].node

    def reach(adj: dict[str, list[str]]) -> set[str]:
        seen, stack = {start}, [start]
        while stack:
            for m in adj[stack.pop()]:
                if m not in seen:
                    seen.add(m)
                    stack.append(m)
        return seen

    fwd, bwd = reach(succ), reach(pred)
    out: list[Problem] = []
    for i, p in enumerate(amhs.ports):
        if p.node not in fwd or p.node not in bwd:
            out.append(
                (
                    ("amhs", "ports", i, "node"),
                    f"rail node {p.node!r} of tool {p.tool!r} is not on the same rail loop "
                    f"as {amhs.ports[0].node!r} (no vehicle could travel both ways)",
                )
            )
    return out


def rail_length_m(amhs: Amhs) -> float:
    """Total length of the rail links, metres."""
    return math.fsum(lk.length_m for lk in amhs.links)
