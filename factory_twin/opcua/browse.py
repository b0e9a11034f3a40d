"""Walk an OPC UA server's address space: a tree of nodes with classes, ids, types, values.

Used by ``factory-twin browse`` and by the plant-file import (:mod:`.discovery`).
Browsing goes level by level with one Browse request per level and one Read request for
the variables found, so a big server is walked in a handful of round trips.

A node reached more than once (two parents, such as an Organizes reference beside a
HasComponent, or a reference loop) is browsed once, at its first place (the shallowest,
then in browse order); each later place holds a *repeat*: a leaf that names the node
(:attr:`BrowseNode.repeat_of`) and is never expanded, so loops end and every parent still
lists it, as UaExpert does.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from asyncua import Client, ua

from factory_twin.opcua._uatypes import node_id
from factory_twin.opcua.client_common import data_type_name

logger = logging.getLogger(__name__)

_SERVER = node_id(ua.ObjectIds.Server)
_TYPES_AND_VIEWS = {node_id(ua.ObjectIds.TypesFolder), node_id(ua.ObjectIds.ViewsFolder)}


@dataclass
class BrowseNode:
    """One node of a browsed tree."""

    node_id: ua.NodeId
    browse_name: ua.QualifiedName
    node_class: ua.NodeClass
    depth: int
    type_definition: ua.NodeId | None = None
    data_type: ua.NodeId | None = None
    value: Any = None
    value_rank: int | None = None  # -1 scalar, 1 array, 2 matrix, ...
    readable: bool = True  # the user may read the value (UserAccessLevel CurrentRead)
    value_status: str = ""  # the status of a value read that failed, e.g. BadNotReadable
    children: list[BrowseNode] = field(default_factory=list)  # repeats included
    truncated: bool = False  # has children we did not browse (depth limit or skipped)
    # set on a repeat (a later place of a node): the node at its first place, shown in full
    repeat_of: BrowseNode | None = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        """The browse name without namespace."""
        return self.browse_name.Name or ""

    @property
    def unique_children(self) -> list[BrowseNode]:
        """The children at their first place (repeats left out): in the tree these make,
        every node appears once."""
        return [c for c in self.children if c.repeat_of is None]

    def walk(self) -> Iterable[BrowseNode]:
        """This node and all below it, depth first, each node once (repeats left out)."""
        yield self
        for c in self.unique_children:
            yield from c.walk()

    def child(self, name: str) -> BrowseNode | None:
        """Return the child whose browse name (any namespace) is ``name``, repeats left
        out."""
        return next((c for c in self.unique_children if c.name == name), None)


async def browse_tree(
    client: Client,
    root: ua.NodeId | None = None,
    depth: int = 3,
    *,
    expand_server: bool = False,
    read_values: bool = True,
) -> BrowseNode:
    """Browse ``root`` (default Objects) down to ``depth`` levels below it.

    The standard ``Server`` object is listed but not expanded unless it is the root or
    ``expand_server`` is set (it holds hundreds of diagnostics nodes). A node reached
    again (another parent, or a loop back to an ancestor) is a repeat at that place: a
    leaf whose :attr:`~BrowseNode.repeat_of` is the node at its first place. A parent with
    several references to one node lists it once.
    """
    root = root or node_id(ua.ObjectIds.ObjectsFolder)
    attrs = await _read(client, [root], [ua.AttributeIds.BrowseName, ua.AttributeIds.NodeClass])
    bn, nc = attrs[0]
    if nc is None:
        msg = f"the server has no node {root.to_string()}"
        raise LookupError(msg)
    top = BrowseNode(root, bn or ua.QualifiedName("?"), ua.NodeClass(nc), 0)
    seen = {root: top}  # node id -> the node at its first place
    level = [top]
    for d in range(1, depth + 1):
        expand = [n for n in level if n.node_class in (ua.NodeClass.Object, ua.NodeClass.View)]
        expand = [n for n in expand if expand_server or n.node_id != _SERVER or n is top]
        if not expand:
            break
        results = await _browse(client, [n.node_id for n in expand])
        nxt: list[BrowseNode] = []
        for parent, refs in zip(expand, results, strict=True):
            listed: set[ua.NodeId] = set()
            for r in refs:
                nid = _plain(r.NodeId)
                if nid in listed:  # e.g. Organizes and HasComponent from the same parent
                    continue
                listed.add(nid)
                child = BrowseNode(
                    nid,
                    r.BrowseName,
                    ua.NodeClass(r.NodeClass),
                    d,
                    _plain(r.TypeDefinition) if r.TypeDefinition else None,
                    repeat_of=seen.get(nid),
                )
                parent.children.append(child)
                if child.repeat_of is None:
                    seen[nid] = child
                    nxt.append(child)
        # variables may have properties (EURange, EngineeringUnits) below them
        level = nxt
        if d == depth:
            for n in level:
                n.truncated = n.node_class == ua.NodeClass.Object
    # properties of variables one level further, only names/values (cheap and useful)
    variables = [n for n in top.walk() if n.node_class == ua.NodeClass.Variable]
    if read_values and variables:
        await _read_variables(client, variables)
    for n in top.walk():
        if n.node_id == _SERVER and n is not top and not expand_server:
            n.truncated = True
    return top


async def _read_variables(client: Client, variables: list[BrowseNode]) -> None:
    """Fill DataType, ValueRank, UserAccessLevel and Value (or the value's bad status)."""
    attrs = [
        ua.AttributeIds.DataType,
        ua.AttributeIds.ValueRank,
        ua.AttributeIds.UserAccessLevel,
        ua.AttributeIds.Value,
    ]
    rows = await _read_values(client, [n.node_id for n in variables], attrs)
    for n, (dt, rank, access, value) in zip(variables, rows, strict=True):
        n.data_type = _attr(dt)
        if isinstance(_attr(rank), int):
            n.value_rank = _attr(rank)
        if isinstance(_attr(access), int):
            n.readable = bool(_attr(access) & ua.AccessLevel.CurrentRead.mask)
        n.value = _attr(value)
        code = value.StatusCode
        if code is not None and not code.is_good():
            n.value_status = code.name


def _attr(dv: ua.DataValue, *, uncertain: bool = True) -> Any:
    """Return the value a read gave, or None if the read failed (``uncertain``: a value of
    uncertain status counts as read)."""
    code = dv.StatusCode
    ok = code is None or code.is_good() or (uncertain and code.is_uncertain())
    return dv.Value.Value if ok and dv.Value is not None else None


async def variable_properties(client: Client, nodes: list[ua.NodeId]) -> list[dict[str, Any]]:
    """Return the properties (EURange, EngineeringUnits, ...) of each variable, by name."""
    results = await _browse(client, nodes, ua.ObjectIds.HasProperty)
    flat: list[tuple[int, str, ua.NodeId]] = []
    for i, refs in enumerate(results):
        for r in refs:
            flat.append((i, r.BrowseName.Name, _plain(r.NodeId)))
    out: list[dict[str, Any]] = [{} for _ in nodes]
    if flat:
        vals = await _read(client, [f[2] for f in flat], [ua.AttributeIds.Value])
        for (i, name, _), (v,) in zip(flat, vals, strict=True):
            out[i][name] = v
    return out


async def _browse(
    client: Client, nodes: list[ua.NodeId], ref_type: int = ua.ObjectIds.HierarchicalReferences
) -> list[list[ua.ReferenceDescription]]:
    out: list[list[ua.ReferenceDescription]] = []
    for start in range(0, len(nodes), 500):
        chunk = nodes[start : start + 500]
        params = ua.BrowseParameters()
        params.RequestedMaxReferencesPerNode = 0
        for nid in chunk:
            desc = ua.BrowseDescription()
            desc.NodeId = nid
            desc.BrowseDirection = ua.BrowseDirection.Forward
            desc.ReferenceTypeId = node_id(ref_type)
            desc.IncludeSubtypes = True
            desc.NodeClassMask = 0
            desc.ResultMask = ua.BrowseResultMask.All
            params.NodesToBrowse.append(desc)
        results = await client.uaclient.browse(params)
        for res in results:
            refs = list(res.References or [])
            cp = res.ContinuationPoint
            while cp:
                nxt = await client.uaclient.browse_next(_next_params(cp))
                refs.extend(nxt[0].References or [])
                cp = nxt[0].ContinuationPoint
            out.append(refs)
    return out


def _plain(nid: ua.NodeId) -> ua.NodeId:
    """Return a plain NodeId (browse results carry ExpandedNodeIds)."""
    return ua.NodeId(nid.Identifier, nid.NamespaceIndex, nid.NodeIdType)


def _next_params(cp: bytes) -> ua.BrowseNextParameters:
    p = ua.BrowseNextParameters()
    p.ContinuationPoints = [cp]
    p.ReleaseContinuationPoints = False
    return p


async def _read(
    client: Client, nodes: list[ua.NodeId], attrs: list[ua.AttributeIds]
) -> list[tuple[Any, ...]]:
    """Read ``attrs`` of each node; a failed read gives None."""
    rows = await _read_values(client, nodes, attrs)
    return [tuple(_attr(dv, uncertain=False) for dv in row) for row in rows]


async def _read_values(
    client: Client, nodes: list[ua.NodeId], attrs: list[ua.AttributeIds]
) -> list[tuple[ua.DataValue, ...]]:
    """Read ``attrs`` of each node; return the DataValues (with their status codes)."""
    out: list[tuple[ua.DataValue, ...]] = []
    for start in range(0, len(nodes), 1000):
        chunk = nodes[start : start + 1000]
        params = ua.ReadParameters()
        for nid in chunk:
            for a in attrs:
                rv = ua.ReadValueId()
                rv.NodeId = nid
                rv.AttributeId = a
                params.NodesToRead.append(rv)
        res = await client.uaclient.read(params)
        k = len(attrs)
        out.extend(tuple(res[i * k : (i + 1) * k]) for i in range(len(chunk)))
    return out


def describe_value(n: BrowseNode, width: int = 60) -> str:
    """Return a variable's value for display, or a note on why there is none."""
    if n.value_status and n.value_status.startswith("Bad"):
        if n.value_status in ("BadNotReadable", "BadUserAccessDenied") or not n.readable:
            return f"<not readable: {n.value_status}>"
        return f"<bad value: {n.value_status}>"
    if not n.readable and n.value is None:
        return "<not readable>"
    text = "<null>" if n.value is None else _short_value(n.value, width)
    if n.value_status:
        text += f" <{n.value_status}>"
    return text


def _short_value(v: Any, width: int = 60) -> str:
    if isinstance(v, ua.StatusCode):
        return v.name
    if isinstance(v, bytes):
        return f"ByteString({len(v)} bytes: {v[:16].hex()}{'...' if len(v) > 16 else ''})"
    if isinstance(v, ua.LocalizedText):
        v = v.Text
    elif isinstance(v, ua.EUInformation):
        v = f"EUInformation({v.DisplayName.Text})"
    elif isinstance(v, ua.Range):
        v = f"Range({v.Low:g}, {v.High:g})"
    text = repr(v) if isinstance(v, str) else str(v)
    return text if len(text) <= width else text[: width - 3] + "..."


def format_tree(root: BrowseNode, filter_text: str | None = None) -> list[str]:
    """Return the tree as indented lines; with ``filter_text``, only matching nodes and
    their ancestors (case-insensitive match on browse name or node id).

    A repeat is one line, class, name and node id, marked ``(shown above)`` or
    ``(shown below)`` after where the node is shown in full (its first place is the
    shallowest, which the depth-first listing may put after a deeper repeat).
    """
    keep: set[int] | None = None
    if filter_text:
        needle = filter_text.lower()
        keep = set()

        def mark(n: BrowseNode, path: list[BrowseNode]) -> None:
            if needle in n.name.lower() or needle in n.node_id.to_string().lower():
                keep.update(id(p) for p in [*path, n])
            for c in n.children:
                mark(c, [*path, n])

        mark(root, [])
    # place of every node in the listing, to say whether a repeat's node is above or below
    order: dict[int, int] = {}

    def number(n: BrowseNode) -> None:
        order[id(n)] = len(order)
        for c in n.children:
            number(c)

    number(root)
    lines: list[str] = []

    def emit(n: BrowseNode) -> None:
        if keep is not None and id(n) not in keep:
            return
        ns = n.browse_name.NamespaceIndex
        name = f"{ns}:{n.name}" if ns else n.name
        line = f"{'  ' * n.depth}{n.node_class.name} {name}  [{n.node_id.to_string()}]"
        if n.repeat_of is not None:
            where = "above" if order[id(n.repeat_of)] < order[id(n)] else "below"
            lines.append(f"{line}  (shown {where})")
            return
        if n.node_class == ua.NodeClass.Variable:
            dims = "" if n.value_rank is None or n.value_rank < 0 else "[]" * max(n.value_rank, 1)
            line += f"  {data_type_name(n.data_type)}{dims} = {describe_value(n)}"
        if n.truncated and n.node_class == ua.NodeClass.Object:
            line += "  ..."
        lines.append(line)
        for c in n.children:
            emit(c)

    emit(root)
    return lines
