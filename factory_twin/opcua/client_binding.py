"""Tag binding for one endpoint of the plant client: which tags it wants, and their nodes.

:func:`bind_endpoint` binds each tag a plant file serves from one endpoint to a node of the
connected server: the plant file's node id or browse path, else the plant simulator's
convention (:data:`STANDARD_TAGS`, ``Machines/<id>/Parameters/<tag>``). It checks that each
node is a variable of a fitting type, lists what could not be bound (with the status the
tag is marked with), finds each tool's machine object (the source of its alarm events) and
the optional fab-level, vehicle and rail variables (:data:`FAB_NODES`,
:data:`VEHICLE_NODES`, :data:`RAIL_NODES`). The connection and its subscriptions are
:mod:`factory_twin.opcua.client_link`'s.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from asyncua import Client, ua

from factory_twin.model.events import FAB_EQUIPMENT, RAIL_EQUIPMENT, VEHICLE_PREFIX, vehicle_name
from factory_twin.model.schema import TagType
from factory_twin.opcua._uatypes import node_id
from factory_twin.opcua.client_common import (
    PLANT_NAMESPACE,
    BrowseCache,
    data_type_name,
    describe_error,
    parse_node_id,
    type_fits,
    with_namespace_index,
)

if TYPE_CHECKING:
    from factory_twin.model.schema import PlantSpec

# the plant client's log, as before binding had a module of its own
logger = logging.getLogger("factory_twin.opcua.client")

# standard machine tag -> (name under State, tag type). 'state' carries an E10State value.
STANDARD_TAGS: dict[str, tuple[str, TagType]] = {
    "state": ("E10State", TagType.INT),
    "lot": ("CurrentLot", TagType.STRING),
    "recipe": ("Recipe", TagType.STRING),
    "wafer_count": ("WaferCount", TagType.INT),
    "operation_mode": ("OperationMode", TagType.STRING),
}

# fab-level tag (model.events.FAB_TAGS) -> (name under the server's Fab object, tag type)
FAB_NODES: dict[str, tuple[str, TagType]] = {
    "plant_clock": ("PlantClock", TagType.FLOAT),
    "lots_completed": ("LotsCompleted", TagType.INT),
    "wafers_completed": ("WafersCompleted", TagType.INT),
    "wip": ("WIP", TagType.INT),
    "moves": ("Moves", TagType.INT),
}

# vehicle tag (model.events.VEHICLE_TAGS) -> (name under Transport/AMHS/<vehicle>, tag type)
VEHICLE_NODES: dict[str, tuple[str, TagType]] = {
    "x": ("X", TagType.FLOAT),
    "y": ("Y", TagType.FLOAT),
    "state": ("State", TagType.STRING),
    "carrier": ("CarrierId", TagType.STRING),
}

# rail congestion tag (model.events.RAIL_TAGS) -> (name under Transport/AMHS, tag type); the
# link arrays arrive as tuples (str for the ids, float for the rates)
RAIL_NODES: dict[str, tuple[str, TagType]] = {
    "link_ids": ("LinkIds", TagType.STRING),
    "blocked_s_per_h": ("LinkBlockedSecondsPerHour", TagType.FLOAT),
    "entries_per_h": ("LinkEntriesPerHour", TagType.FLOAT),
    "window_s": ("CongestionWindowSeconds", TagType.FLOAT),
}

# (node class, DataType) of each node read; None for a node that does not exist
_NodeInfos = dict[ua.NodeId, tuple[ua.NodeClass, ua.NodeId | None] | None]


@dataclass
class _Bound:
    """A tag bound to a node."""

    equipment: str
    tag: str
    nodeid: ua.NodeId
    kind: TagType
    standard: bool
    data_type: ua.NodeId | None = None


@dataclass
class _Want:
    """A tag to bind, before we know whether its node exists."""

    equipment: str
    tag: str
    kind: TagType
    standard: bool
    node_id: str | None = None  # explicit node id
    browse_path: str | None = None  # explicit browse path
    convention: bool = False
    required: bool = True

    def describe(self) -> str:
        if self.node_id is not None:
            return f"node id {self.node_id!r}"
        if self.browse_path is not None:
            return f"browse path {self.browse_path!r}"
        return "the plant simulator convention"


@dataclass
class Binding:
    """What :func:`bind_endpoint` found on one server."""

    namespaces: list[str]  # the server's namespace array
    ns_index: int | None  # index of the plant simulator's namespace, if served
    bound: dict[tuple[str, str], _Bound] = field(default_factory=dict)
    fab_bound: dict[tuple[str, str], _Bound] = field(default_factory=dict)  # optional extras
    problems: list[str] = field(default_factory=list)
    # tags that could not be bound, with the status they are marked with
    unbound: list[tuple[str, str, str]] = field(default_factory=list)
    machine_nodes: dict[str, ua.NodeId] = field(default_factory=dict)


async def bind_endpoint(client: Client, spec: PlantSpec, endpoint_id: str) -> Binding:
    """Find the node of every tag ``spec`` serves from ``endpoint_id``; record problems.

    Each problem is logged as a warning; optional nodes (fab figures, vehicles) that the
    server lacks are no problem.
    """
    wants = _wanted(spec, endpoint_id)
    ns = list(await client.get_namespace_array())
    out = Binding(ns, ns.index(PLANT_NAMESPACE) if PLANT_NAMESPACE in ns else None)
    cache = BrowseCache(client)
    nodes, infos = await _find_nodes(client, cache, wants, out)
    out.bound = _check_nodes(wants, nodes, infos, endpoint_id, out)
    for p in out.problems:
        logger.warning("endpoint %s: %s", endpoint_id, p)
    eqs = list(dict.fromkeys(w.equipment for w in wants))
    out.machine_nodes = await _resolve_machines(client, cache, eqs, out.ns_index)
    if out.ns_index is not None:
        fab = await _resolve_fab(client, out.ns_index, endpoint_id)
        if fab is not None:  # a server that refuses the fab read is not asked for vehicles
            fab.update(await _resolve_vehicles(client, spec, out.ns_index, endpoint_id))
            out.fab_bound = fab
    return out


def _wanted(spec: PlantSpec, endpoint_id: str) -> list[_Want]:
    out: list[_Want] = []
    for eq in spec.equipment:
        if eq.opcua is None or eq.opcua.endpoint != endpoint_id:
            continue
        try:
            etype = spec.equipment_type(eq.type)
        except KeyError:
            continue
        explicit = eq.opcua.tags
        kinds = {t.name: t.data_type for t in etype.tags}
        for name, (_, kind) in STANDARD_TAGS.items():
            kinds.setdefault(name, kind)
        for name, kind in kinds.items():
            std = name in STANDARD_TAGS and name not in {t.name for t in etype.tags}
            b = explicit.get(name)
            if b is not None:
                out.append(_Want(eq.id, name, kind, std, b.node_id, b.browse_path))
            else:
                # standard tags of a tool bound tag by tag are optional extras
                required = not (std and explicit)
                out.append(_Want(eq.id, name, kind, std, convention=True, required=required))
    return out


def _convention(eq: str, tag: str, std: bool) -> tuple[str, str]:
    """Return the (string node id, browse path) of a tag under the simulator convention."""
    if std:
        leaf = STANDARD_TAGS[tag][0]
        return f"{eq}.State.{leaf}", f"Machines/{eq}/State/{leaf}"
    return f"{eq}.Parameters.{tag}", f"Machines/{eq}/Parameters/{tag}"


async def _find_nodes(
    client: Client, cache: BrowseCache, wants: list[_Want], out: Binding
) -> tuple[list[ua.NodeId | None], _NodeInfos]:
    """Return the node of each wanted tag (None if not found) and what they are."""
    # first guess for each wanted tag
    guesses: list[ua.NodeId | None] = []
    for w in wants:
        nid: ua.NodeId | None = None
        if w.node_id is not None:
            try:
                nid = parse_node_id(w.node_id)
                nid = with_namespace_index(nid, out.namespaces)
            except ValueError as exc:
                why = str(exc) if nid is None else f"node id {w.node_id!r}: {exc}"
                out.problems.append(f"{w.equipment}.{w.tag}: {why}")
                out.unbound.append((w.equipment, w.tag, "BadNodeIdInvalid"))
                nid = None
        elif w.browse_path is not None:
            nid = await cache.resolve(w.browse_path)
        elif out.ns_index is not None:
            nid = node_id(_convention(w.equipment, w.tag, w.standard)[0], out.ns_index)
        guesses.append(nid)
    infos = await read_infos(client, [g for g in guesses if g is not None])
    # convention tags whose string node id is missing: try the browse path
    for i, w in enumerate(wants):
        g = guesses[i]
        if w.convention and (g is None or infos.get(g) is None):
            nid = await cache.resolve(_convention(w.equipment, w.tag, w.standard)[1])
            guesses[i] = nid
            if nid is not None and nid not in infos:
                infos.update(await read_infos(client, [nid]))
    return guesses, infos


def _check_nodes(
    wants: list[_Want],
    nodes: list[ua.NodeId | None],
    infos: _NodeInfos,
    endpoint_id: str,
    out: Binding,
) -> dict[tuple[str, str], _Bound]:
    """Bind each wanted tag whose node is a variable of a fitting type; list the rest."""
    bound: dict[tuple[str, str], _Bound] = {}
    problems, unbound = out.problems, out.unbound
    invalid = {(eq, tag) for eq, tag, _ in unbound}  # reported by _find_nodes
    for w, nid in zip(wants, nodes, strict=True):
        where = f"{w.equipment}.{w.tag}"
        info = infos.get(nid) if nid is not None else None
        if (w.equipment, w.tag) in invalid:
            continue
        if nid is None or info is None:
            if w.required:
                problems.append(
                    f"{where}: bound by {w.describe()} on endpoint {endpoint_id!r}, "
                    "but the server has no such variable"
                )
                unbound.append((w.equipment, w.tag, "BadNodeIdUnknown"))
            continue
        nclass, dtype = info
        if nclass != ua.NodeClass.Variable:
            problems.append(f"{where}: node {nid.to_string()} is a {nclass.name}, not a variable")
            unbound.append((w.equipment, w.tag, "BadNodeClassInvalid"))
            continue
        if not w.standard and not type_fits(w.kind, dtype):
            problems.append(
                f"{where}: node {nid.to_string()} holds {data_type_name(dtype)} but the "
                f"plant file says {w.kind.value}; the tag is marked bad"
            )
            unbound.append((w.equipment, w.tag, "BadTypeMismatch"))
            continue
        bound[(w.equipment, w.tag)] = _Bound(w.equipment, w.tag, nid, w.kind, w.standard, dtype)
    return bound


async def _resolve_machines(
    client: Client, cache: BrowseCache, eqs: list[str], ns_index: int | None
) -> dict[str, ua.NodeId]:
    """Find each tool's machine object (the SourceNode of its alarm events)."""
    machines: dict[str, ua.NodeId] = {}
    found: dict[ua.NodeId, Any] = {}
    if ns_index is not None:  # one Read for every machine object
        found = await read_infos(client, [node_id(eq, ns_index) for eq in eqs])
    for eq in eqs:
        mnode = None
        if ns_index is not None and found.get(node_id(eq, ns_index)):
            mnode = node_id(eq, ns_index)
        if mnode is None:
            mnode = await cache.resolve(f"Machines/{eq}")
        if mnode is not None:
            machines[eq] = mnode
    return machines


async def _resolve_fab(
    client: Client, ns_index: int, endpoint_id: str
) -> dict[tuple[str, str], _Bound] | None:
    """Bind the server's optional fab-level variables (absent: nothing, no problem);
    None if the server refused to read them."""
    fab: dict[tuple[str, str], _Bound] = {}
    nids = {tag: node_id(f"Fab.{leaf}", ns_index) for tag, (leaf, _) in FAB_NODES.items()}
    try:
        infos = await read_infos(client, list(nids.values()))
    except Exception as exc:  # a server that refuses the read simply has no fab figures
        logger.info("endpoint %s: no fab figures (%s)", endpoint_id, describe_error(exc))
        return None
    for tag, nid in nids.items():
        info = infos.get(nid)
        kind = FAB_NODES[tag][1]
        if info is None or info[0] != ua.NodeClass.Variable or not type_fits(kind, info[1]):
            continue
        fab[(FAB_EQUIPMENT, tag)] = _Bound(FAB_EQUIPMENT, tag, nid, kind, False, info[1])
    return fab


async def _resolve_vehicles(
    client: Client, spec: PlantSpec, ns_index: int, endpoint_id: str
) -> dict[tuple[str, str], _Bound]:
    """Bind the OHT vehicles a plant simulator serves under Transport/AMHS (a plant
    whose amhs section runs the fleet; absent nodes: nothing, no problem)."""
    found: dict[tuple[str, str], _Bound] = {}
    am = spec.amhs
    if am is None or am.model != "oht":
        return found
    nids = {
        (f"{VEHICLE_PREFIX}{vehicle_name(i)}", tag): node_id(
            f"Transport.AMHS.{vehicle_name(i)}.{leaf}", ns_index
        )
        for i in range(am.fleet)
        for tag, (leaf, _) in VEHICLE_NODES.items()
    }
    for tag, (leaf, _) in RAIL_NODES.items():  # the congestion per link, when served
        nids[(RAIL_EQUIPMENT, tag)] = node_id(f"Transport.AMHS.{leaf}", ns_index)
    try:
        infos = await read_infos(client, list(nids.values()))
    except Exception as exc:
        logger.info("endpoint %s: no OHT vehicles (%s)", endpoint_id, describe_error(exc))
        return found
    for (eq, tag), nid in nids.items():
        info = infos.get(nid)
        kind = (RAIL_NODES if eq == RAIL_EQUIPMENT else VEHICLE_NODES)[tag][1]
        if info is None or info[0] != ua.NodeClass.Variable or not type_fits(kind, info[1]):
            continue
        found[(eq, tag)] = _Bound(eq, tag, nid, kind, False, info[1])
    return found


async def read_infos(client: Client, nodes: list[ua.NodeId]) -> _NodeInfos:
    """Return (node class, DataType) of each node; None for nodes that do not exist.

    One attribute per node (DataType) keeps binding 10,000 tags to a few Read requests:
    a node without a DataType attribute exists but is not a variable, and for those
    the NodeClass is read in a second, small request.
    """
    out: _NodeInfos = {}
    uniq = list(dict.fromkeys(nodes))
    others: list[ua.NodeId] = []
    for start in range(0, len(uniq), 5000):
        chunk = uniq[start : start + 5000]
        results = await _read_attr(client, chunk, ua.AttributeIds.DataType)
        for nid, dv in zip(chunk, results, strict=True):
            code = dv.StatusCode
            if code is None or code.is_good():
                out[nid] = (ua.NodeClass.Variable, dv.Value.Value if dv.Value else None)
            elif code.value == ua.StatusCodes.BadAttributeIdInvalid:
                others.append(nid)
            else:
                out[nid] = None
    for start in range(0, len(others), 5000):
        chunk = others[start : start + 5000]
        results = await _read_attr(client, chunk, ua.AttributeIds.NodeClass)
        for nid, dv in zip(chunk, results, strict=True):
            good = dv.StatusCode is None or dv.StatusCode.is_good()
            out[nid] = (ua.NodeClass(dv.Value.Value), None) if good and dv.Value else None
    return out


async def _read_attr(
    client: Client, nodes: list[ua.NodeId], attr: ua.AttributeIds
) -> list[ua.DataValue]:
    params = ua.ReadParameters()
    for nid in nodes:
        rv = ua.ReadValueId()
        rv.NodeId = nid
        rv.AttributeId = attr
        params.NodesToRead.append(rv)
    return list(await client.uaclient.read(params))
