"""The checks of a plant across its sections, after the schema has passed.

:func:`check_references` returns every problem as (field path, message): duplicate ids,
references to types, groups, routes, bays and endpoints that do not exist, tools off their
bay or overlapping, route steps on missing groups, procedures and drills that name what the
equipment type does not have.
"""

from __future__ import annotations

from typing import Any

from factory_twin.model import schema as s
from factory_twin.model.amhs import check_amhs
from factory_twin.model.drill_checks import check_drill
from factory_twin.model.layout import footprint_polygon, polygons_overlap

# --------------------------------------------------------------------------- cross-references


Problem = tuple[tuple[Any, ...], str]


def _duplicates(items: list[Any], section: str, key: str = "id") -> list[Problem]:
    seen: dict[str, int] = {}
    out: list[Problem] = []
    for i, item in enumerate(items):
        v = getattr(item, key)
        if v in seen:
            out.append(
                ((section, i, key), f"duplicate {key} {v!r} (first at {section}[{seen[v]}])")
            )
        else:
            seen[v] = i
    return out


def check_references(spec: s.PlantSpec) -> list[Problem]:
    """Return every cross-reference problem of a schema-valid plant, as (loc, message).

    Problems come in file order of the sections: duplicate ids, bays, equipment (and
    overlapping footprints), tool groups, routes, products and initial WIP, procedures,
    drills.
    """
    types = {t.id: t for t in spec.equipment_types}
    groups = spec.groups()
    routes = {r.id: r for r in spec.routes}
    out = _check_duplicates(spec)
    out += _check_bays(spec)
    out += _check_equipment(spec, types)
    out += _check_tool_groups(spec, groups)
    out += _check_routes(spec, groups, types)
    out += _check_products(spec, routes)
    out += _check_initial_wip(spec, routes)
    out += _check_procedures(spec, types)
    out += _check_drills(spec, types)
    if spec.amhs is not None:
        out += check_amhs(spec.amhs, {e.id for e in spec.equipment})
    return out


def _check_duplicates(spec: s.PlantSpec) -> list[Problem]:
    """Ids that appear twice in one section."""
    out: list[Problem] = []
    out += _duplicates(spec.site.bays, "site", "id")
    out = [(("site", "bays", *loc[1:]), m) for loc, m in out]
    out += _duplicates(spec.equipment_types, "equipment_types")
    out += _duplicates(spec.equipment, "equipment")
    out += _duplicates(spec.routes, "routes")
    out += _duplicates(spec.products, "products")
    out += _duplicates(spec.procedures, "procedures")
    out += _duplicates(spec.endpoints, "endpoints")
    out += _duplicates(spec.tool_groups, "tool_groups")
    out += _duplicates(spec.initial_wip, "initial_wip")
    out += _duplicates(spec.drills, "drills")
    return out


def _check_bays(spec: s.PlantSpec) -> list[Problem]:
    """Bays that reach outside the floor."""
    out: list[Problem] = []
    fw, fd = spec.site.floor_m
    for i, b in enumerate(spec.site.bays):
        x0, y0 = b.origin_m
        if x0 < 0 or y0 < 0 or x0 + b.size_m[0] > fw + 1e-9 or y0 + b.size_m[1] > fd + 1e-9:
            out.append(
                (
                    ("site", "bays", i, "origin_m"),
                    f"bay {b.id!r} reaches outside the {fw} x {fd} m floor",
                )
            )
    return out


def _check_equipment(spec: s.PlantSpec, types: dict[str, s.EquipmentType]) -> list[Problem]:
    """Each tool's type, bay, place, OPC UA binding and PMs; then overlapping footprints."""
    out: list[Problem] = []
    bays = {b.id: b for b in spec.site.bays}
    endpoints = {e.id for e in spec.endpoints}
    polys: list[tuple[int, Any]] = []
    for i, e in enumerate(spec.equipment):
        t = types.get(e.type)
        if t is None:
            out.append((("equipment", i, "type"), f"unknown equipment type {e.type!r}"))
        if e.bay not in bays:
            out.append((("equipment", i, "bay"), f"unknown bay {e.bay!r}"))
        out += _check_tool_place(spec, i, e, bays)
        if t is not None:
            poly = footprint_polygon(t.shape.footprint_m(), e.position_m, e.rotation_deg)
            polys.append((i, poly))
            out += _check_tool_opcua(i, e, t, endpoints)
        for k, pm in enumerate(e.pm):
            if pm.basis == "wafers" and pm.interval < 1:
                out.append(
                    (
                        ("equipment", i, "pm", k, "interval"),
                        "a wafer-count PM interval must be >= 1 wafer",
                    )
                )
    out += _overlaps(spec, polys)
    return out


def _check_tool_place(
    spec: s.PlantSpec, i: int, e: s.Equipment, bays: dict[str, s.Bay]
) -> list[Problem]:
    """A tool placed outside the floor, or outside its bay."""
    fw, fd = spec.site.floor_m
    x, y = e.position_m
    if not (0 <= x <= fw and 0 <= y <= fd):
        return [
            (
                ("equipment", i, "position_m"),
                f"tool {e.id!r} at ({x}, {y}) is outside the {fw} x {fd} m floor",
            )
        ]
    if e.bay in bays and not bays[e.bay].contains(x, y):
        return [
            (
                ("equipment", i, "position_m"),
                f"tool {e.id!r} at ({x}, {y}) is outside its bay {e.bay!r}",
            )
        ]
    return []


def _check_tool_opcua(
    i: int, e: s.Equipment, t: s.EquipmentType, endpoints: set[str]
) -> list[Problem]:
    """A tool's OPC UA endpoint and the tags it binds."""
    out: list[Problem] = []
    if e.opcua is None:
        return out
    if endpoints and e.opcua.endpoint not in endpoints:
        out.append(
            (("equipment", i, "opcua", "endpoint"), f"unknown endpoint {e.opcua.endpoint!r}")
        )
    elif not endpoints:
        out.append((("equipment", i, "opcua", "endpoint"), "the plant lists no 'endpoints'"))
    names = {tg.name for tg in t.tags} | set(MACHINE_TAGS)
    for tag in e.opcua.tags:
        if tag not in names:
            out.append(
                (
                    ("equipment", i, "opcua", "tags", tag),
                    f"type {t.id!r} has no tag {tag!r} (nor is it one of {', '.join(MACHINE_TAGS)})",
                )
            )
    return out


def _check_tool_groups(spec: s.PlantSpec, groups: dict[str, list[s.Equipment]]) -> list[Problem]:
    """Tool groups no tool belongs to."""
    out: list[Problem] = []
    for i, g in enumerate(spec.tool_groups):
        if g.id not in groups:
            out.append((("tool_groups", i, "id"), f"no equipment belongs to tool group {g.id!r}"))
    return out


def _check_routes(
    spec: s.PlantSpec, groups: dict[str, list[s.Equipment]], types: dict[str, s.EquipmentType]
) -> list[Problem]:
    """Every route step: its tool group, batch, rework and queue-time targets."""
    out: list[Problem] = []
    for ri, r in enumerate(spec.routes):
        n = len(r.steps)
        for si, st in enumerate(r.steps):
            out += _check_step(("routes", ri, "steps", si), st, si, n, groups, types)
    return out


def _check_step(
    loc: tuple[Any, ...],
    st: s.RouteStep,
    si: int,
    n: int,
    groups: dict[str, list[s.Equipment]],
    types: dict[str, s.EquipmentType],
) -> list[Problem]:
    """One route step (index ``si`` of ``n``) at ``loc``."""
    out: list[Problem] = []
    if st.tool_group not in groups:
        out.append(((*loc, "tool_group"), f"no equipment belongs to tool group {st.tool_group!r}"))
    elif st.per == "batch" or st.batch is not None:
        tools = groups[st.tool_group]
        caps = [types[t.type].batch for t in tools if t.type in types]
        if st.batch is not None and any(
            c is not None and st.batch.min_wafers > c.max_wafers for c in caps
        ):
            out.append(
                (
                    (*loc, "batch", "min_wafers"),
                    f"min batch {st.batch.min_wafers} wafers exceeds the tools' capacity",
                )
            )
    if st.per == "batch" and st.batch is None:
        out.append(((*loc, "batch"), "a step timed 'per: batch' needs 'batch' sizes"))
    if st.rework is not None and st.rework.to_step > si + 1:
        out.append(
            (
                (*loc, "rework", "to_step"),
                f"rework goes to step {st.rework.to_step}, which is not before step {si + 1}",
            )
        )
    if st.queue_time_limit is not None:
        q = st.queue_time_limit.to_step
        if not si + 1 < q <= n:
            out.append(
                (
                    (*loc, "queue_time_limit", "to_step"),
                    f"queue-time target step {q} must come after step {si + 1} and be <= {n}",
                )
            )
    return out


def _check_products(spec: s.PlantSpec, routes: dict[str, s.Route]) -> list[Problem]:
    """Products whose route does not exist."""
    out: list[Problem] = []
    for i, p in enumerate(spec.products):
        if p.route not in routes:
            out.append((("products", i, "route"), f"unknown route {p.route!r}"))
    return out


def _check_initial_wip(spec: s.PlantSpec, routes: dict[str, s.Route]) -> list[Problem]:
    """WIP lots of an unknown product, or at a step their route does not have."""
    out: list[Problem] = []
    products = {p.id: p for p in spec.products}
    for i, lot in enumerate(spec.initial_wip):
        prod = products.get(lot.product)
        if prod is None:
            out.append((("initial_wip", i, "product"), f"unknown product {lot.product!r}"))
        elif prod.route in routes and lot.step > len(routes[prod.route].steps):
            out.append(
                (
                    ("initial_wip", i, "step"),
                    f"route {prod.route!r} has only {len(routes[prod.route].steps)} steps",
                )
            )
    return out


def _check_procedures(spec: s.PlantSpec, types: dict[str, s.EquipmentType]) -> list[Problem]:
    """Procedures: their equipment type, the components their steps point at, alarm codes."""
    out: list[Problem] = []
    for i, proc in enumerate(spec.procedures):
        t = types.get(proc.equipment_type)
        if t is None:
            out.append(
                (
                    ("procedures", i, "equipment_type"),
                    f"unknown equipment type {proc.equipment_type!r}",
                )
            )
            continue
        comps = {c.name for c in t.components}
        for k, st in enumerate(proc.steps):
            if st.component not in comps:
                out.append(
                    (
                        ("procedures", i, "steps", k, "component"),
                        f"type {t.id!r} has no component {st.component!r} (has {sorted(comps)})",
                    )
                )
        for k, code in enumerate(proc.alarm_codes):
            problem = alarm_code_problem(t, code)
            if problem:
                out.append((("procedures", i, "alarm_codes", k), problem))
    return out


def _check_drills(spec: s.PlantSpec, types: dict[str, s.EquipmentType]) -> list[Problem]:
    """Drills: the tools, tags, procedures and products their injections and responses name."""
    out: list[Problem] = []
    for i, d in enumerate(spec.drills):
        out += [(("drills", i, *loc), m) for loc, m in check_drill(spec, d)]
    return out


ALARM_LIMITS = ("lolo", "lo", "hi", "hihi")

MACHINE_TAGS = ("state", "lot", "recipe", "wafer_count", "operation_mode")
"""Tags every tool has besides its type's process tags (bindable like them)."""


def alarm_code_problem(t: s.EquipmentType, code: str) -> str | None:
    """Check an alarm code against an equipment type.

    Codes are ``<tag>.<limit>`` (limit one of lolo, lo, hi, hihi, defined on that tag) or
    ``fault`` / ``fault.<name>`` for equipment faults. Returns a message, or None if valid.
    """
    if code == "fault" or code.startswith("fault."):
        return None
    tag, _, limit = code.rpartition(".")
    if not tag or limit not in ALARM_LIMITS:
        return f"alarm code {code!r} must be '<tag>.<lolo|lo|hi|hihi>' or 'fault[.<name>]'"
    try:
        spec = t.tag(tag)
    except KeyError:
        return f"alarm code {code!r}: type {t.id!r} has no tag {tag!r}"
    if spec.alarms is None or getattr(spec.alarms, limit) is None:
        return f"alarm code {code!r}: tag {tag!r} has no {limit!r} limit"
    return None


def _overlaps(spec: s.PlantSpec, polys: list[tuple[int, Any]]) -> list[Problem]:
    """Find pairs of tools whose footprints overlap (a sweep over x keeps it near-linear)."""
    out: list[Problem] = []
    boxes = []
    for i, poly in polys:
        xs = [p[0] for p in poly]
        ys = [p[1] for p in poly]
        boxes.append((min(xs), max(xs), min(ys), max(ys), i, poly))
    boxes.sort()
    active: list[tuple[float, float, float, float, int, Any]] = []
    for b in boxes:
        active = [a for a in active if a[1] > b[0]]
        for a in active:
            if a[2] < b[3] and b[2] < a[3] and polygons_overlap(a[5], b[5]):
                ia, ib = sorted((a[4], b[4]))
                ea, eb = spec.equipment[ia], spec.equipment[ib]
                out.append(
                    (
                        ("equipment", ib, "position_m"),
                        f"tool {eb.id!r} overlaps tool {ea.id!r} (equipment[{ia}])",
                    )
                )
        active.append(b)
    return out
