"""The synthetic geometry of an SMT2020 import: equipment shapes, tags and the floor layout.

SMT2020 has no geometry. Each tool family gets an equipment type from a template chosen by
its name and area (:data:`_TEMPLATES`: shape, components, tags, service clearance), and
:func:`_layout` packs the tools into bays sized to them, in a grid with aisles
(see :mod:`factory_twin.model.smt2020`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from factory_twin.model import schema as s
from factory_twin.model.smt2020_tables import _r

# --------------------------------------------------------------------------- synthetic geometry

# Per equipment kind: (EquipmentKind, parts, components, tags). Shapes are believable boxes and
# cylinders of roughly the real tools' size (metres); components and tags give the 3-D view,
# OPC UA and AR something to point at. All synthetic: SMT2020 has no geometry or sensors.
_Part = tuple[
    str, tuple[float, ...], tuple[float, float, float], str, str
]  # name, dims, at, solid, colour


@dataclass(frozen=True)
class _Template:
    kind: s.EquipmentKind
    parts: tuple[_Part, ...]
    components: tuple[tuple[str, tuple[float, float, float], str, str], ...]
    tags: tuple[dict[str, Any], ...]
    gap_m: float = 1.2  # clearance to the next tool in a row
    aisle_m: float = 2.4  # service aisle in front of a row


def _tag(
    name: str, unit: str, lo: float, hi: float, idle: float, noise: float, comp: str, **kw: Any
) -> dict[str, Any]:
    d: dict[str, Any] = {
        "name": name,
        "unit": unit,
        "normal_range": [lo, hi],
        "idle_value": idle,
        "noise": noise,
        "component": comp,
    }
    d.update(kw)
    return d


_TEMPLATES: dict[str, _Template] = {
    "scanner": _Template(
        s.EquipmentKind.LITHO_SCANNER,
        (
            ("body", (4.2, 2.6, 2.5), (0.4, 0, 0), "box", "#d8dde6"),
            ("wafer_handler", (1.2, 1.6, 1.9), (-2.3, 0, 0), "box", "#a9b4c4"),
        ),
        (
            ("reticle stage", (0.4, 0, 2.5), "body", "Reticle stage and loader"),
            ("wafer stage", (0.8, 0, 1.2), "body", "Wafer stage"),
            ("load port", (-2.3, -0.8, 0.9), "wafer_handler", "Lot load port"),
        ),
        (
            _tag(
                "stage_temperature",
                "degC",
                21.9,
                22.1,
                22.0,
                0.01,
                "wafer stage",
                alarms={"lo": 21.7, "hi": 22.3},
            ),
            _tag("dose", "mJ/cm2", 20, 40, 0, 0.2, "reticle stage"),
            _tag("overlay_error", "nm", 0, 3, 0, 0.1, "wafer stage", alarms={"hi": 5}),
        ),
    ),
    "track": _Template(
        s.EquipmentKind.LITHO_TRACK,
        (
            ("body", (3.6, 2.0, 2.2), (0, 0, 0), "box", "#e3e6ea"),
            ("chemical_cabinet", (0.8, 2.0, 1.6), (-2.2, 0, 0), "box", "#9fb0c2"),
        ),
        (
            ("coater", (0.8, 0, 1.1), "body", "Spin coater cup"),
            ("hot plate", (-0.6, 0, 1.1), "body", "Bake plate"),
            ("resist supply", (-2.2, 0, 1.6), "chemical_cabinet", "Resist pump and filter"),
        ),
        (
            _tag(
                "hotplate_temperature", "degC", 90, 130, 25, 0.3, "hot plate", alarms={"hi": 140}
            ),
            _tag("spin_speed", "rpm", 1000, 4000, 0, 5, "coater"),
        ),
    ),
    "metrology": _Template(
        s.EquipmentKind.METROLOGY,
        (
            ("body", (1.8, 1.6, 1.9), (0, 0, 0), "box", "#c9d3df"),
            ("efem", (0.6, 1.6, 1.6), (-1.2, 0, 0), "box", "#8fa1b5"),
        ),
        (
            ("measurement head", (0.2, 0, 1.9), "body", "Optical measurement head"),
            ("load port", (-1.2, -0.8, 0.9), "efem", "Lot load port"),
        ),
        (
            _tag("stage_vibration", "um/s", 0, 2, 0.2, 0.05, "measurement head", alarms={"hi": 5}),
            _tag("lamp_hours", "h", 0, 2000, 0, 0, "measurement head", alarms={"hi": 2500}),
        ),
    ),
    "dry_etch": _Template(
        s.EquipmentKind.DRY_ETCH,
        (
            ("mainframe", (2.2, 2.2, 1.7), (0, 0, 0), "box", "#b8c2cf"),
            ("chamber_a", (0.45, 1.0), (0.9, 0.9, 0.6), "cylinder", "#7d8ea3"),
            ("chamber_b", (0.45, 1.0), (0.9, -0.9, 0.6), "cylinder", "#7d8ea3"),
            ("efem", (0.7, 2.2, 1.6), (-1.45, 0, 0), "box", "#95a6b9"),
        ),
        (
            ("chamber A", (0.9, 0.9, 1.6), "chamber_a", "Process chamber A"),
            ("chamber B", (0.9, -0.9, 1.6), "chamber_b", "Process chamber B"),
            ("rf generator", (0, 0, 1.7), "mainframe", "RF generator and match"),
        ),
        (
            _tag(
                "chamber_pressure",
                "Pa",
                2,
                6,
                0.1,
                0.05,
                "chamber A",
                alarms={"hi": 8, "hihi": 10},
            ),
            _tag("rf_power", "W", 800, 1500, 0, 10, "rf generator", alarms={"hi": 1800}),
            _tag("he_flow", "sccm", 5, 15, 0, 0.2, "chamber A"),
        ),
    ),
    "cvd": _Template(
        s.EquipmentKind.CVD,
        (
            ("mainframe", (2.4, 2.4, 1.9), (0, 0, 0), "box", "#bcc6d2"),
            ("reactor", (0.55, 1.0), (0.6, 0, 1.9), "cylinder", "#7c8da1"),
            ("gas_box", (0.7, 1.2, 1.8), (-1.55, 0.6, 0), "box", "#a0adbd"),
        ),
        (
            ("reactor", (0.6, 0, 2.9), "reactor", "Deposition reactor"),
            ("gas panel", (-1.55, 0.6, 1.8), "gas_box", "Precursor gas panel"),
            ("heater", (0.6, 0, 1.9), "mainframe", "Susceptor heater"),
        ),
        (
            _tag("susceptor_temperature", "degC", 350, 420, 25, 0.5, "heater", alarms={"hi": 450}),
            _tag("chamber_pressure", "Pa", 200, 400, 1, 2, "reactor", alarms={"hi": 500}),
            _tag("precursor_flow", "sccm", 100, 300, 0, 2, "gas panel"),
        ),
    ),
    "furnace": _Template(
        s.EquipmentKind.FURNACE,
        (
            ("cabinet", (1.8, 2.8, 3.4), (0, 0, 0), "box", "#d0d6de"),
            ("tube", (0.35, 1.2), (0, 0.5, 3.4), "cylinder", "#c47d55"),
            ("boat_elevator", (1.8, 0.8, 1.4), (0, -1.8, 0), "box", "#9aa8b8"),
        ),
        (
            ("tube", (0, 0.5, 4.0), "tube", "Quartz process tube"),
            ("boat elevator", (0, -1.8, 1.4), "boat_elevator", "Wafer boat elevator"),
            ("heater", (0, 0.5, 2.5), "cabinet", "Five-zone heater"),
        ),
        (
            _tag(
                "tube_temperature",
                "degC",
                900,
                1050,
                400,
                0.5,
                "heater",
                alarms={"hi": 1100, "hihi": 1150},
            ),
            _tag("o2_flow", "sccm", 2000, 6000, 0, 20, "tube"),
            _tag("tube_pressure", "Pa", 95000, 101325, 101325, 50, "tube"),
        ),
        aisle_m=2.8,
    ),
    "implanter": _Template(
        s.EquipmentKind.IMPLANTER,
        (
            ("beamline", (4.6, 2.4, 2.3), (0.3, 0, 0), "box", "#c2cad5"),
            ("ion_source", (0.5, 1.1), (2.0, 0, 2.3), "cylinder", "#8a6f9e"),
            ("end_station", (1.0, 2.4, 1.8), (-2.5, 0, 0), "box", "#94a3b6"),
        ),
        (
            ("ion source", (2.0, 0, 3.0), "ion_source", "Ion source and gas box"),
            ("end station", (-2.5, 0, 1.8), "end_station", "Wafer end station"),
            ("analyser magnet", (0.5, 0, 2.3), "beamline", "Analyser magnet"),
        ),
        (
            _tag("beam_current", "mA", 1, 20, 0, 0.1, "ion source"),
            _tag("beam_energy", "keV", 5, 200, 0, 0.2, "analyser magnet"),
            _tag(
                "end_station_pressure",
                "Pa",
                1e-5,
                1e-3,
                1e-5,
                1e-6,
                "end station",
                alarms={"hi": 5e-3},
            ),
        ),
    ),
    "cmp": _Template(
        s.EquipmentKind.CMP,
        (
            ("polisher", (3.4, 2.4, 2.1), (0.3, 0, 0), "box", "#c8d0da"),
            ("platen_1", (0.45, 0.3), (0.9, 0, 2.1), "cylinder", "#6f8498"),
            ("cleaner", (1.2, 2.4, 1.9), (-2.0, 0, 0), "box", "#9eacbc"),
        ),
        (
            ("platen", (0.9, 0, 2.4), "platen_1", "Polishing platen and pad"),
            ("slurry arm", (0.3, 0.6, 2.1), "polisher", "Slurry delivery arm"),
            ("post-CMP cleaner", (-2.0, 0, 1.9), "cleaner", "Brush and megasonic clean"),
        ),
        (
            _tag("down_force", "kPa", 10, 30, 0, 0.2, "platen"),
            _tag("slurry_flow", "ml/min", 150, 250, 0, 2, "slurry arm", alarms={"lo": 100}),
            _tag("pad_temperature", "degC", 30, 50, 22, 0.3, "platen", alarms={"hi": 60}),
        ),
    ),
    "pvd": _Template(
        s.EquipmentKind.PVD,
        (
            ("mainframe", (2.4, 2.4, 1.7), (0.2, 0, 0), "box", "#b9c3d0"),
            ("target_a", (0.5, 0.9), (0.8, 0.8, 1.7), "cylinder", "#8b95a5"),
            ("target_b", (0.5, 0.9), (0.8, -0.8, 1.7), "cylinder", "#8b95a5"),
            ("load_lock", (0.8, 2.4, 1.6), (-1.4, 0, 0), "box", "#9caabb"),
        ),
        (
            ("chamber A", (0.8, 0.8, 2.6), "target_a", "Sputter chamber A"),
            ("chamber B", (0.8, -0.8, 2.6), "target_b", "Sputter chamber B"),
            ("load lock", (-1.4, 0, 1.6), "load_lock", "Load lock"),
        ),
        (
            _tag("dc_power", "kW", 5, 30, 0, 0.1, "chamber A", alarms={"hi": 35}),
            _tag("base_pressure", "Pa", 1e-6, 1e-4, 1e-6, 1e-7, "load lock", alarms={"hi": 1e-3}),
            _tag("argon_flow", "sccm", 20, 60, 0, 0.5, "chamber A"),
        ),
    ),
    "wet_bench": _Template(
        s.EquipmentKind.WET_BENCH,
        (
            ("bench", (5.6, 1.6, 2.1), (0, 0, 0), "box", "#dde3ea"),
            ("robot_rail", (5.6, 0.3, 0.3), (0, -0.95, 1.6), "box", "#8c99aa"),
        ),
        (
            ("chemical bath", (1.5, 0, 1.0), "bench", "Heated chemical bath"),
            ("rinse tank", (-0.5, 0, 1.0), "bench", "Quick-dump rinse tank"),
            ("dryer", (-2.2, 0, 1.0), "bench", "Spin rinse dryer"),
        ),
        (
            _tag("bath_temperature", "degC", 60, 80, 25, 0.2, "chemical bath", alarms={"hi": 85}),
            _tag(
                "rinse_resistivity",
                "MOhm.cm",
                16,
                18.2,
                18.2,
                0.05,
                "rinse tank",
                alarms={"lo": 15},
            ),
            _tag("bath_level", "mm", 290, 310, 300, 0.5, "chemical bath", alarms={"lo": 280}),
        ),
        gap_m=1.0,
    ),
    "delay": _Template(
        s.EquipmentKind.STOCKER,
        (("shelf", (0.8, 0.7, 1.8), (0, 0, 0), "box", "#b5bcc6"),),
        (
            ("shelf slot", (0, 0, 1.0), "shelf", "Lot storage slot (a pure delay in SMT2020)"),
            ("indicator", (0, -0.35, 1.8), "shelf", "Occupancy indicator"),
        ),
        (
            _tag("occupied", "", 0, 1, 0, 0, "shelf slot", data_type="bool"),
            _tag("dwell_time", "s", 0, 86400, 0, 0, "shelf slot"),
        ),
        gap_m=0.3,
        aisle_m=1.4,
    ),
}

# Area (STNGRP) -> bay kind, colour and the template used when the family name does not say more.
_AREAS: dict[str, tuple[s.AreaKind, str, str]] = {
    "dry_etch": (s.AreaKind.ETCH, "#c0504d", "dry_etch"),
    "wet_etch": (s.AreaKind.WET_CLEAN, "#4bacc6", "wet_bench"),
    "def_met": (s.AreaKind.METROLOGY, "#8064a2", "metrology"),
    "litho_met": (s.AreaKind.METROLOGY, "#9b7fc2", "metrology"),
    "tf_met": (s.AreaKind.METROLOGY, "#b39ddb", "metrology"),
    "dielectric": (s.AreaKind.THIN_FILM, "#9bbb59", "cvd"),
    "tf": (s.AreaKind.THIN_FILM, "#77933c", "pvd"),
    "diffusion": (s.AreaKind.DIFFUSION, "#f79646", "furnace"),
    "implant": (s.AreaKind.IMPLANT, "#4f81bd", "implanter"),
    "litho": (s.AreaKind.PHOTOLITHOGRAPHY, "#f2c314", "scanner"),
    "planar": (s.AreaKind.CMP, "#1f9e89", "cmp"),
}


def _template_key(family: str, area: str, location: str) -> str:
    """Pick the synthetic template of a family from its name, area and location."""
    f, a = family.lower(), area.lower()
    if location.lower() == "delay" or a.startswith("delay"):
        return "delay"
    if "met" in f or "reg" in f.split("_") or a.endswith("_met"):
        return "metrology"
    if f.startswith("lithotrack"):
        return "track"
    if f.startswith("epi"):
        return "cvd"
    return _AREAS.get(a, (s.AreaKind.OTHER, "", "metrology"))[2]


def _type_dict(
    family: str, t: _Template, batch: tuple[int, int] | None, title: str
) -> dict[str, Any]:
    parts = []
    for name, dims, at, solid, colour in t.parts:
        p: dict[str, Any] = {"name": name, solid: list(dims), "at": list(at), "color": colour}
        parts.append(p)
    d: dict[str, Any] = {
        "id": family,
        "kind": t.kind.value,
        "manufacturer": "synthetic",
        "model": title,
        "shape": {"parts": parts},
        "components": [
            {"name": n, "anchor_m": list(a), "part": p, "description": desc}
            for n, a, p, desc in t.components
        ],
    }
    if batch is not None:
        d["batch"] = {"min_wafers": batch[0], "max_wafers": batch[1]}
    if t.gap_m < _DEFAULT_CLEARANCE_M:
        # rows packed closer than the default service clearance (shelves of lot slots,
        # serviced from the aisle): the row gap is the type's clearance, so the layout
        # checks do not flag every neighbour in the row
        d["service_clearance_m"] = t.gap_m
    d["tags"] = [dict(tag) for tag in t.tags]
    return d


_DEFAULT_CLEARANCE_M = s.EquipmentType.model_fields["service_clearance_m"].default


def _extent(t: _Template) -> tuple[float, float, float, float]:
    ext = []
    for _name, dims, at, solid, _c in t.parts:
        hw, hd = (dims[0] / 2, dims[1] / 2) if solid == "box" else (dims[0], dims[0])
        ext.append((at[0] - hw, at[1] - hd, at[0] + hw, at[1] + hd))
    return (
        min(e[0] for e in ext),
        min(e[1] for e in ext),
        max(e[2] for e in ext),
        max(e[3] for e in ext),
    )


# --------------------------------------------------------------------------- layout

_BAY_MARGIN_M = 2.0  # between a bay's wall and its tools
_AISLE_M = 5.0  # main aisles between bays and around the floor


def _pack_bay(
    cells: list[tuple[float, float]], width: float
) -> tuple[list[tuple[float, float]], float, float]:
    """Shelf-pack cells (w, d) left to right in rows of at most ``width``.

    Returns the lower-left corner of every cell, the used width and the total depth.
    """
    out: list[tuple[float, float]] = []
    x = y = row_d = used_w = 0.0
    for w, d in cells:
        if x > 0 and x + w > width + 1e-9:
            y += row_d
            x = row_d = 0.0
        out.append((x, y))
        x += w
        used_w = max(used_w, x)
        row_d = max(row_d, d)
    return out, used_w, y + row_d


def _layout(
    areas: dict[str, list[tuple[str, _Template, tuple[float, float, float, float]]]],
) -> tuple[
    dict[str, tuple[float, float, float, float]],
    dict[str, tuple[float, float]],
    tuple[float, float],
]:
    """Place bays in a grid and tools in rows inside their bay.

    Parameters
    ----------
    areas
        Area id -> its tools in order, as (tool id, template, footprint extent).

    Returns
    -------
    (bays, positions, floor)
        Bay id -> (x0, y0, width, depth); tool id -> (x, y); floor (width, depth), metres.
    """
    bay_sizes: dict[str, tuple[float, float]] = {}
    local: dict[str, list[tuple[str, float, float]]] = {}
    for area, tools in areas.items():
        cells = []
        for _tid, t, ext in tools:
            cells.append((ext[2] - ext[0] + t.gap_m, ext[3] - ext[1] + t.aisle_m))
        total = sum(w * d for w, d in cells)
        # Bays about 1.6 times as wide as deep, never narrower than the widest tool.
        width = max(max(w for w, _ in cells), math.sqrt(total * 1.6))
        corners, used_w, depth = _pack_bay(cells, width)
        pos = []
        for (tid, _t, ext), (cx, cy), (w, d) in zip(tools, corners, cells, strict=True):
            # Centre the footprint in the cell (gap and aisle split on both sides).
            x = cx + w / 2 - (ext[0] + ext[2]) / 2
            y = cy + d / 2 - (ext[1] + ext[3]) / 2
            pos.append((tid, x, y))
        local[area] = pos
        bay_sizes[area] = (used_w + 2 * _BAY_MARGIN_M, depth + 2 * _BAY_MARGIN_M)
    # Bays: shelf-pack the tallest first into a floor about as wide as it is deep.
    order = sorted(bay_sizes, key=lambda a: (-bay_sizes[a][1], a))
    area_total = sum((w + _AISLE_M) * (d + _AISLE_M) for w, d in bay_sizes.values())
    floor_w = max(max(w for w, _ in bay_sizes.values()), math.sqrt(area_total))
    cells = [(bay_sizes[a][0] + _AISLE_M, bay_sizes[a][1] + _AISLE_M) for a in order]
    corners, used_w, depth = _pack_bay(cells, floor_w)
    bays: dict[str, tuple[float, float, float, float]] = {}
    positions: dict[str, tuple[float, float]] = {}
    for a, (cx, cy) in zip(order, corners, strict=True):
        x0, y0 = _r(cx + _AISLE_M), _r(cy + _AISLE_M)
        w, d = bay_sizes[a]
        bays[a] = (x0, y0, _r(w), _r(d))
        for tid, x, y in local[a]:
            positions[tid] = (_r(x0 + _BAY_MARGIN_M + x), _r(y0 + _BAY_MARGIN_M + y))
    floor = (_r(used_w + _AISLE_M), _r(depth + _AISLE_M))
    return bays, positions, floor
