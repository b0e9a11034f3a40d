"""Discover machines on a live OPC UA server and write a plant file skeleton.

Machines are the objects of a ``Machines`` folder (OPC UA Machinery, and our plant
simulator) or, on any other server, the topmost objects that hold variables (directly or
in a ``Parameters`` folder). Each machine's variables become tags (unit from
``EngineeringUnits``, normal range from ``EURange``), machines with the same set of tags
share one equipment type, and every tag is bound by node id, so the plant binds whatever
the server's naming. A machine reached through two folders or a reference loop is imported
once, from its first place in the browsed tree (repeats are left out). Bays and positions
are a provisional grid, one bay per type, to be moved in the app.
"""

from __future__ import annotations

import io
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from asyncua import Client, ua
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq

from factory_twin.model.config import atomic_write_text, loads_plant
from factory_twin.model.schema import SCHEMA_VERSION, SecurityMode, TagType
from factory_twin.opcua.browse import BrowseNode, browse_tree, variable_properties
from factory_twin.opcua.client_common import data_type_name, portable_node_id, tag_type_of

logger = logging.getLogger(__name__)

_STD = {
    "E10State": "state",
    "CurrentLot": "lot",
    "Recipe": "recipe",
    "WaferCount": "wafer_count",
    "OperationMode": "operation_mode",
}
_SKIP_FOLDERS = {"State", "Identification", "Alarms", "MachineryBuildingBlocks", "Components"}
_SPACING_M = 4.0


@dataclass
class DiscoveredTag:
    """A variable that becomes a tag."""

    name: str
    node_id: str
    data_type: TagType
    unit: str = ""
    normal_range: tuple[float, float] | None = None
    opcua_name: str = ""


@dataclass
class DiscoveredMachine:
    """An object that becomes an equipment instance."""

    id: str
    node_id: str
    tags: list[DiscoveredTag] = field(default_factory=list)
    standard: dict[str, str] = field(default_factory=dict)  # standard tag -> node id
    identification: dict[str, str] = field(default_factory=dict)
    skipped: list[str] = field(default_factory=list)  # "name: why" of variables left out


def _ident(text: str, pattern: str, fill: str = "_") -> str:
    out = re.sub(pattern, fill, text).strip(fill) or "x"
    return out


def _tag_name(text: str) -> str:
    name = _ident(text, r"[^A-Za-z0-9_]+")
    return f"_{name}" if name[0].isdigit() else name


def _unique(name: str, used: set[str]) -> str:
    out, n = name, 2
    while out in used:
        out = f"{name}_{n}"
        n += 1
    used.add(out)
    return out


def _text(v: Any) -> str:
    if isinstance(v, ua.LocalizedText):
        return v.Text or ""
    return "" if v is None else str(v)


def _find_machines(root: BrowseNode) -> list[BrowseNode]:
    folder = root.child("Machines")
    if folder is not None:
        # a machine first met through another folder is a repeat here: take its first place
        out: dict[str, BrowseNode] = {}
        for c in folder.children:
            m = c.repeat_of or c
            if m.node_class == ua.NodeClass.Object:
                out.setdefault(m.node_id.to_string(), m)
        return list(out.values())
    found: list[BrowseNode] = []

    def visit(n: BrowseNode) -> None:
        for c in n.unique_children:
            if c.node_class != ua.NodeClass.Object or c.node_id.NamespaceIndex == 0:
                continue
            if _has_tags(c):
                found.append(c)
            else:
                visit(c)

    visit(root)
    return found


def _candidates(m: BrowseNode) -> list[BrowseNode]:
    params = m.child("Parameters")
    src = params.unique_children if params is not None else m.unique_children
    return [c for c in src if c.node_class == ua.NodeClass.Variable]


def skip_reason(v: BrowseNode) -> str | None:
    """Return why variable ``v`` cannot become a plant tag (None if it can)."""
    if tag_type_of(v.data_type) is None:
        return f"{data_type_name(v.data_type)} has no plant tag type"
    if v.value_rank is not None and v.value_rank >= 0:
        return "an array (tags hold one value)"
    if not v.readable:
        return "not readable for this user"
    return None


def _tag_vars(m: BrowseNode) -> list[BrowseNode]:
    return [c for c in _candidates(m) if skip_reason(c) is None]


def _has_tags(n: BrowseNode) -> bool:
    return bool(_tag_vars(n))


async def discover(client: Client, depth: int = 5) -> list[DiscoveredMachine]:
    """Return the machines a connected server exposes, with their tags."""
    root = await browse_tree(client, None, depth)
    namespaces = list(await client.get_namespace_array())
    machines: list[DiscoveredMachine] = []
    used_ids: set[str] = set()
    for m in _find_machines(root):
        dm = DiscoveredMachine(
            _unique(_ident(m.name, r"[^A-Za-z0-9_.\-]+"), used_ids), m.node_id.to_string()
        )
        variables: list[BrowseNode] = []
        for c in _candidates(m):
            why = skip_reason(c)
            if why is None:
                variables.append(c)
            else:
                dm.skipped.append(f"{m.name}/{c.name} [{c.node_id.to_string()}]: {why}")
        props = await variable_properties(client, [v.node_id for v in variables])
        used_tags = set(_STD.values())
        for v, p in zip(variables, props, strict=True):
            ttype = tag_type_of(v.data_type)
            assert ttype is not None
            eu, rng = p.get("EngineeringUnits"), p.get("EURange")
            unit = _text(eu.DisplayName) if isinstance(eu, ua.EUInformation) else ""
            normal = None
            if isinstance(rng, ua.Range) and ttype in (TagType.FLOAT, TagType.INT):
                lo, hi = float(rng.Low), float(rng.High)
                if math.isfinite(lo) and math.isfinite(hi) and lo <= hi:
                    normal = (lo, hi)
            dm.tags.append(
                DiscoveredTag(
                    _unique(_tag_name(v.name), used_tags),
                    portable_node_id(v.node_id, namespaces),
                    ttype,
                    unit,
                    normal,
                    v.name,
                )
            )
        state = m.child("State")
        if state is not None:
            for c in state.unique_children:
                if c.name in _STD and c.node_class == ua.NodeClass.Variable:
                    dm.standard[_STD[c.name]] = c.node_id.to_string()
        ident = m.child("Identification")
        if ident is not None:
            for c in ident.unique_children:
                if c.node_class == ua.NodeClass.Variable and _text(c.value):
                    dm.identification[c.name] = _text(c.value)
        machines.append(dm)
    return machines


def _type_id(name: str) -> str:
    base = re.sub(r"[-_ .]*\d+$", "", name) or name
    return _ident(base.lower(), r"[^a-z0-9_\-]+")


def plant_from_machines(
    machines: list[DiscoveredMachine],
    url: str,
    *,
    security: SecurityMode = SecurityMode.NONE,
    site_name: str = "Imported plant",
    endpoint_id: str = "plant",
) -> dict[str, Any]:
    """Return plant-file data (plain dicts) for ``machines`` on the server at ``url``."""
    if not machines:
        msg = "no machines found (no Machines folder and no objects holding variables)"
        raise LookupError(msg)
    types: dict[tuple[Any, ...], dict[str, Any]] = {}
    members: dict[str, list[DiscoveredMachine]] = {}
    used_types: set[str] = set()
    type_of: dict[str, str] = {}
    for m in machines:
        key = tuple((t.name, t.data_type.value, t.unit) for t in m.tags)
        if key not in types:
            tid = _unique(_type_id(m.id), used_types)
            tags = []
            for t in m.tags:
                d: dict[str, Any] = {"name": t.name}
                if t.unit:
                    d["unit"] = t.unit
                if t.data_type is not TagType.FLOAT:
                    d["data_type"] = t.data_type.value
                if t.normal_range is not None:
                    d["normal_range"] = list(t.normal_range)
                if t.opcua_name and t.opcua_name != t.name:
                    d["description"] = f"OPC UA name: {t.opcua_name}"
                tags.append(d)
            etype: dict[str, Any] = {
                "id": tid,
                "kind": "other",
                "shape": {"parts": [{"name": "body", "box": [2.0, 2.0, 2.0]}]},
                "tags": tags,
            }
            for k_src, k_dst in (("Manufacturer", "manufacturer"), ("Model", "model")):
                if k_src in m.identification:
                    etype[k_dst] = m.identification[k_src]
            types[key] = etype
            members[tid] = []
        tid = types[key]["id"]
        members[tid].append(m)
        type_of[m.id] = tid
    bays, equipment = [], []
    x0 = 0.0
    depth = 0.0
    for tid, ms in members.items():
        cols = math.ceil(math.sqrt(len(ms)))
        rows = math.ceil(len(ms) / cols)
        bay_w, bay_d = cols * _SPACING_M, rows * _SPACING_M
        bay_id = f"bay_{tid}"
        bays.append(
            {"id": bay_id, "name": f"{tid} bay", "origin_m": [x0, 0.0], "size_m": [bay_w, bay_d]}
        )
        for i, m in enumerate(ms):
            r, c = divmod(i, cols)
            bindings = {t.name: {"node_id": t.node_id} for t in m.tags}
            # standard machine tags (state, lot, ...) are not type tags: the client finds
            # them by the State folder convention (see DiscoveredMachine.standard)
            eq: dict[str, Any] = {
                "id": m.id,
                "type": tid,
                "group": tid.upper(),
                "bay": bay_id,
                "position_m": [x0 + (c + 0.5) * _SPACING_M, (r + 0.5) * _SPACING_M],
            }
            if "SerialNumber" in m.identification:
                eq["serial_number"] = m.identification["SerialNumber"]
            if "AssetId" in m.identification:
                eq["asset_id"] = m.identification["AssetId"]
            eq["opcua"] = {"endpoint": endpoint_id, "tags": bindings}
            equipment.append(eq)
        x0 += bay_w
        depth = max(depth, bay_d)
    ep: dict[str, Any] = {"id": endpoint_id, "url": url}
    if security is not SecurityMode.NONE:
        ep["security"] = security.value
    return {
        "schema_version": SCHEMA_VERSION,
        "site": {"name": site_name, "floor_m": [x0, depth], "bays": bays},
        "endpoints": [ep],
        "equipment_types": list(types.values()),
        "equipment": equipment,
    }


def plant_yaml(data: dict[str, Any], source: str) -> str:
    """Return plant data as YAML text with a header saying where it came from."""
    y = YAML(typ="rt")
    y.width = 4096
    y.indent(mapping=2, sequence=4, offset=2)
    buf = io.StringIO()
    y.dump(_flow_numbers(data), buf)
    head = (
        f"# Plant file skeleton imported from {source} by 'factory-twin import'.\n"
        "# Bays and positions are a provisional grid; equipment kinds and shapes are generic.\n"
    )
    return head + buf.getvalue()


def _flow_numbers(v: Any) -> Any:
    """Copy ``v`` with lists of numbers (positions, sizes, ranges) in flow style: [x, y]."""
    if isinstance(v, dict):
        m = CommentedMap()
        for k, x in v.items():
            m[k] = _flow_numbers(x)
        return m
    if isinstance(v, list):
        seq = CommentedSeq([_flow_numbers(x) for x in v])
        if v and all(isinstance(x, int | float) for x in v):
            seq.fa.set_flow_style()
        return seq
    return v


def write_plant(data: dict[str, Any], path: str | Path, source: str) -> str:
    """Validate plant data and write it atomically to ``path``; return the text written.

    Raises
    ------
    ConfigError
        The generated plant does not validate (a bug: reported, not written).
    """
    text = plant_yaml(data, source)
    loads_plant(text, source=str(path))  # raises ConfigError with every problem
    atomic_write_text(path, text, keep_backup=True)
    return text
