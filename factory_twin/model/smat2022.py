"""Place an imported SMT2020 plant on the SMAT2022 layout and add its OHT rail network.

SMAT2022 (distributed with LogiFabSim: S. Rank, V. Betker, IFAC-PapersOnLine 2025; copied from
the U-FAST repository) gives the SMT2020 fab a floor plan: every tool's group, bay, size and
position, the rail nodes and directed rail links of 40 bay loops and three interbay loops, one
stocker per bay, lot release (COMMIT) and finish (COMPLETE) points and the OHT vehicle type.

The mapping (see ``docs/smat2022_layout.md``):

* a layout tool group maps to the SMT2020 family spelled the same, ignoring letter case
  (``DefMet_FE_118`` is ``DefMEt_FE_118``); STOCKER, COMMIT and COMPLETE become stockers;
* the testbed's tool counts are kept: tool ``k`` of a family takes the family's ``k``-th layout
  slot (slots in the layout's name order); surplus slots stay empty and missing slots put the
  extra tools in an overflow strip beyond the fab's far wall, loading at the rail node of the
  family's slot ``k mod slots``; every difference is reported per group;
* positions are taken as footprint centres; a tool's WIDTH runs along its bay's rail (y) and
  its HEIGHT across the bay (x); the synthetic shapes are scaled to that footprint (the
  smallest of the group, 2 % smaller so neighbours do not touch) and turned to face the rail;
* SMT2020's delay pseudo-family (no equipment in the layout) goes to the overflow strip and
  loads at the stockers, in turn;
* a tool's load port is the rail node of its bay's loop nearest to its position (the layout's
  port table, ``Port.csv``, is not in the data set we ship);
* link lengths are ``Rail_ext.csv``'s (chords for curves), speed limits its ``MAX_SPEED``
  (5 m/s straight, 1 m/s curves); the vehicle comes from ``VehicleType.csv``;
* all coordinates are shifted so that the floor starts at (0, 0) (the layout's rails reach
  below y = 0).
"""

from __future__ import annotations

import csv
import math
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factory_twin.errors import ConfigError

_SHIFT = (5.0, 10.0)  # metres added to layout x and y so the floor starts at 0
_OVERFLOW_GAP_M = 8.0  # between the fab's far wall and the overflow strip
_SHRINK = 0.98
_SPECIAL = {"STOCKER", "COMMIT", "COMPLETE"}


@dataclass
class LayoutReport:
    """What placing a plant on the SMAT2022 layout matched, and what it could not."""

    counts: dict[str, int] = field(default_factory=dict)
    surplus: dict[str, int] = field(default_factory=dict)  # group -> layout slots left empty
    missing: dict[str, int] = field(default_factory=dict)  # group -> tools without a slot
    case_matched: dict[str, str] = field(default_factory=dict)  # layout group -> family
    unmatched_groups: list[str] = field(default_factory=list)  # layout groups with no family
    no_slots: list[str] = field(default_factory=list)  # families the layout lacks

    def lines(self) -> list[str]:
        """Return the report as text lines."""
        out = ["SMAT2022 layout:"]
        out += [f"  {k}: {v:,}" for k, v in self.counts.items()]
        for lg, fam in sorted(self.case_matched.items()):
            out.append(f"  layout group {lg} matched family {fam} by letter case only")
        if self.unmatched_groups:
            out.append(f"  layout groups with no family: {', '.join(self.unmatched_groups)}")
        if self.no_slots:
            out.append(
                f"  families with no layout tools (overflow strip): {', '.join(self.no_slots)}"
            )
        out.append(
            f"Groups with more layout slots than testbed tools ({len(self.surplus)}, "
            f"{sum(self.surplus.values())} slots left empty):"
        )
        out += [f"  {n:>4}  {g}" for g, n in sorted(self.surplus.items())]
        out.append(
            f"Groups with fewer layout slots than testbed tools ({len(self.missing)}, "
            f"{sum(self.missing.values())} tools in the overflow strip):"
        )
        out += [f"  {n:>4}  {g}" for g, n in sorted(self.missing.items())]
        out.append(
            "Load ports: the rail node of the tool's bay loop nearest to it (Port.csv is not "
            "in the data set)."
        )
        return out


# --------------------------------------------------------------------------- reading


@dataclass
class _Csv:
    path: Path
    header: list[str]
    rows: list[tuple[int, dict[str, str]]]  # (line, row)

    def num(self, line: int, row: dict[str, str], col: str) -> float:
        text = row.get(col, "").strip().replace(",", ".")
        try:
            v = float(text)
        except ValueError:
            raise ConfigError(
                [f"{self.path}:{line}: column {col}: {text!r} is not a number"]
            ) from None
        if not math.isfinite(v):
            raise ConfigError([f"{self.path}:{line}: column {col}: {text!r} is not finite"])
        return v


def _read(path: Path, *cols: str, sep: str = "\t") -> _Csv:
    if not path.is_file():
        raise ConfigError([f"{path}: missing (is this the SMAT2022 folder?)"])
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError([f"{path}: cannot read: {exc}"]) from None
    lines = text.splitlines()
    if not lines:
        raise ConfigError([f"{path}:1: empty file"])
    reader = csv.reader(lines, delimiter=sep)
    header = [h.strip() for h in next(reader)]
    missing = [c for c in cols if c not in header]
    if missing:
        raise ConfigError([f"{path}:1: missing column(s) {', '.join(missing)}"])
    rows = []
    for i, cells in enumerate(reader, start=2):
        if not any(c.strip() for c in cells):
            continue
        if len(cells) != len(header):
            raise ConfigError([f"{path}:{i}: {len(cells)} fields, the header has {len(header)}"])
        rows.append((i, {h: c.strip() for h, c in zip(header, cells, strict=True)}))
    return _Csv(path, header, rows)


@dataclass
class Smat2022:
    """The SMAT2022 layout as read: metres, shifted so that the floor starts at (0, 0)."""

    nodes: dict[str, tuple[float, float]]
    node_bay: dict[str, str]
    links: list[dict[str, Any]]
    equipment: list[tuple[str, str, str, float, float, float, float]]  # name group bay w h x y
    vehicle: dict[str, Any]


def read_smat2022(folder: str | Path) -> Smat2022:
    """Read ``Adress.csv``, ``Rail_ext.csv`` (or ``Rail.csv``), ``Equipment.csv`` and
    ``VehicleType.csv`` from ``folder``; errors name the file and line."""
    d = Path(folder)
    if not d.is_dir():
        raise ConfigError([f"{d}: not a directory (give the SMAT2022 folder)"])
    sx, sy = _SHIFT
    ad = _read(d / "Adress.csv", "NAME", "POSITION_X", "POSITION_Y")
    nodes: dict[str, tuple[float, float]] = {}
    for line, r in ad.rows:
        if r["NAME"] in nodes:
            raise ConfigError([f"{ad.path}:{line}: duplicate rail node {r['NAME']!r}"])
        x = ad.num(line, r, "POSITION_X") / 1000 + sx
        y = ad.num(line, r, "POSITION_Y") / 1000 + sy
        nodes[r["NAME"]] = (round(x, 4), round(y, 4))
    ext = d / "Rail_ext.csv"
    rail = _read(
        ext if ext.is_file() else d / "Rail.csv", "NAME", "BAY_NAME", "FROM_NODE", "TO_NODE"
    )
    has_len = "LENGTH" in rail.header
    links: list[dict[str, Any]] = []
    node_bay: dict[str, str] = {}
    for line, r in rail.rows:
        a, b = r["FROM_NODE"], r["TO_NODE"]
        for ref in (a, b):
            if ref not in nodes:
                raise ConfigError([f"{rail.path}:{line}: unknown rail node {ref!r}"])
        curve = r.get("CURVE", "0").strip().lower() in ("1", "true")
        if has_len:
            length = rail.num(line, r, "LENGTH") / 1000
        else:
            length = math.dist(nodes[a], nodes[b])
        if length <= 0:
            raise ConfigError([f"{rail.path}:{line}: link {r['NAME']!r} has no length"])
        speed = rail.num(line, r, "MAX_SPEED") / 1000 if has_len else (1.0 if curve else 5.0)
        links.append(
            {
                "id": r["NAME"], "from": a, "to": b, "length_m": round(length, 4),
                "max_speed_m_s": speed, "curve": curve, "bay": r["BAY_NAME"],
            }
        )  # fmt: skip
        node_bay.setdefault(a, r["BAY_NAME"])
    eqf = _read(
        d / "Equipment.csv",
        "NAME",
        "TOOL_GROUP",
        "BAY",
        "WIDTH",
        "HEIGHT",
        "POSITION_X",
        "POSITION_Y",
    )
    equipment = []
    for line, r in eqf.rows:
        w, h = eqf.num(line, r, "WIDTH") / 1000, eqf.num(line, r, "HEIGHT") / 1000
        x = eqf.num(line, r, "POSITION_X") / 1000 + sx
        y = eqf.num(line, r, "POSITION_Y") / 1000 + sy
        equipment.append((r["NAME"], r["TOOL_GROUP"], r["BAY"], w, h, x, y))
    vt = _read(
        d / "VehicleType.csv",
        "NAME",
        "SIZE",
        "MAX_SPEED",
        "ACCELERATION",
        "DECELERATION",
        "MIN_DISTANCE",
    )
    if not vt.rows:
        raise ConfigError([f"{vt.path}:2: no vehicle type"])
    line, r = vt.rows[0]
    vehicle = {
        "id": r["NAME"],
        "length_m": vt.num(line, r, "SIZE") / 1000,
        "max_speed_m_s": vt.num(line, r, "MAX_SPEED") / 1000,
        "accel_m_s2": vt.num(line, r, "ACCELERATION") / 1000,
        "decel_m_s2": vt.num(line, r, "DECELERATION") / 1000,
        "min_gap_m": vt.num(line, r, "MIN_DISTANCE") / 1000,
    }
    return Smat2022(nodes, node_bay, links, equipment, vehicle)


# --------------------------------------------------------------------------- placing


def _nearest(nodes: list[tuple[str, float, float]], x: float, y: float) -> str:
    return min(nodes, key=lambda n: ((n[1] - x) ** 2 + (n[2] - y) ** 2, n[0]))[0]


def _scale_type(t: dict[str, Any], w: float, h: float) -> None:
    """Scale an equipment type's parts and component anchors in x and y to ``w`` x ``h``."""
    parts = t["shape"]["parts"]
    ext = []
    for p in parts:
        x, y = p["at"][0], p["at"][1]
        if "box" in p:
            hw, hd = p["box"][0] / 2, p["box"][1] / 2
        else:
            hw = hd = p["cylinder"][0]
        ext.append((x - hw, y - hd, x + hw, y + hd))
    x0, y0 = min(e[0] for e in ext), min(e[1] for e in ext)
    x1, y1 = max(e[2] for e in ext), max(e[3] for e in ext)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    fx, fy = w * _SHRINK / (x1 - x0), h * _SHRINK / (y1 - y0)
    for p in parts:
        p["at"] = [round((p["at"][0] - cx) * fx, 4), round((p["at"][1] - cy) * fy, 4), p["at"][2]]
        if "box" in p:
            p["box"] = [round(p["box"][0] * fx, 4), round(p["box"][1] * fy, 4), p["box"][2]]
        else:
            p["cylinder"] = [round(p["cylinder"][0] * min(fx, fy), 4), p["cylinder"][1]]
    for c in t.get("components", []):
        a = c["anchor_m"]
        c["anchor_m"] = [round((a[0] - cx) * fx, 4), round((a[1] - cy) * fy, 4), a[2]]


def _extent(t: dict[str, Any]) -> tuple[float, float]:
    xs, ys = [], []
    for p in t["shape"]["parts"]:
        hw, hd = (p["box"][0] / 2, p["box"][1] / 2) if "box" in p else (p["cylinder"][0],) * 2
        xs += [p["at"][0] - hw, p["at"][0] + hw]
        ys += [p["at"][1] - hd, p["at"][1] + hd]
    return max(xs) - min(xs), max(ys) - min(ys)


def apply_layout(data: dict[str, Any], folder: str | Path, *, fleet: int = 100) -> LayoutReport:
    """Move the tools of imported SMT2020 plant ``data`` onto the SMAT2022 layout in
    ``folder`` and add its ``amhs`` section (in place); return what was matched."""
    lay = read_smat2022(folder)
    rep = LayoutReport()
    types = {t["id"]: t for t in data["equipment_types"]}
    fam_of = {f.lower(): f for f in types}
    slots: dict[str, list[tuple[str, str, str, float, float, float, float]]] = defaultdict(list)
    specials: list[tuple[str, str, str, float, float, float, float]] = []
    for e in sorted(lay.equipment, key=lambda e: _natural(e[0])):
        if e[1].upper() in _SPECIAL:
            specials.append(e)
            continue
        fam = fam_of.get(e[1].lower())
        if fam is None:
            if e[1] not in rep.unmatched_groups:
                rep.unmatched_groups.append(e[1])
            continue
        if fam != e[1]:
            rep.case_matched[e[1]] = fam
        slots[fam].append(e)
    # rail nodes of each bay loop
    by_bay: dict[str, list[tuple[str, float, float]]] = defaultdict(list)
    for n, (x, y) in lay.nodes.items():
        by_bay[lay.node_bay.get(n, "")].append((n, x, y))
    all_nodes = [(n, x, y) for n, (x, y) in lay.nodes.items()]

    def port_of(bay: str, x: float, y: float) -> str:
        return _nearest(by_bay.get(bay) or all_nodes, x, y)

    fab_w = max(x for x, _ in lay.nodes.values()) + _SHIFT[0]
    fab_d = max(y for _, y in lay.nodes.values()) + 2.0
    # footprints: the smallest of each group's layout tools, no wider along the rail than
    # the closest neighbour in the same row (the layout packs some rows tighter than WIDTH)
    pitch = _row_pitch(lay.equipment)
    for fam, ss in slots.items():
        w = min(min(e[3], pitch.get(e[0], e[3])) for e in ss)
        _scale_type(types[fam], w, min(e[4] for e in ss))
    tools_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for e in data["equipment"]:
        tools_of[e["group"]].append(e)
    ports: list[dict[str, str]] = []
    stockers: list[dict[str, Any]] = []
    bay_pts: dict[str, list[tuple[float, float, float, float]]] = defaultdict(list)
    for n, x, y in all_nodes:
        bay_pts[lay.node_bay.get(n, "")].append((x, y, 0.0, 0.0))
    for name, group, bay, _w, _h, x, y in specials:
        node = port_of(bay, x, y)
        kind = group.lower()
        stockers.append(
            {
                "id": name,
                "node": node,
                "position_m": [round(x, 4), round(y, 4)],
                "bay": bay,
                "kind": kind,
            }
        )
    stocker_nodes = [s["node"] for s in stockers if s["kind"] == "stocker"] or [all_nodes[0][0]]
    overflow: list[tuple[dict[str, Any], str]] = []
    placed = 0
    old_kind = {b["id"]: (b["kind"], b["color"]) for b in data["site"]["bays"]}
    kinds: dict[str, dict[tuple[str, str], int]] = defaultdict(lambda: defaultdict(int))
    for fam, tools in tools_of.items():
        ss = slots.get(fam, [])
        if not ss:
            rep.no_slots.append(fam)
        if len(ss) > len(tools):
            rep.surplus[fam] = len(ss) - len(tools)
        elif ss and len(ss) < len(tools):
            rep.missing[fam] = len(tools) - len(ss)
        for k, tool in enumerate(tools):
            if k < len(ss):
                _n, _g, bay, w, h, x, y = ss[k]
                tool["position_m"] = [round(x, 4), round(y, 4)]
                kinds[bay][old_kind.get(tool["bay"], ("other", "#8a8f98"))] += 1
                tool["bay"] = _bay_id(bay)
                bay_pts[bay].append((x, y, h / 2, w / 2))
                node = port_of(bay, x, y)
                # the layout's HEIGHT runs across the bay (x), WIDTH along its rail (y); the
                # type's front (its -y side) turns to face the rail node
                tool["rotation_deg"] = 270.0 if lay.nodes[node][0] < x else 90.0
                ports.append({"tool": tool["id"], "node": node})
                placed += 1
            else:
                node = (
                    port_of(ss[k % len(ss)][2], ss[k % len(ss)][5], ss[k % len(ss)][6])
                    if ss
                    else stocker_nodes[k % len(stocker_nodes)]
                )
                overflow.append((tool, node))
    # overflow strip: rows beyond the far wall, in family order
    x, y0 = 2.0, fab_d + _OVERFLOW_GAP_M
    y, row_d = y0, 0.0
    for tool, node in overflow:
        w, d = _extent(types[tool["type"]])
        if x + w > fab_w - 2.0:
            x, y, row_d = 2.0, y + row_d + 1.0, 0.0
        tool["position_m"] = [round(x + w / 2, 4), round(y + d / 2, 4)]
        tool["bay"] = "overflow"
        ports.append({"tool": tool["id"], "node": node})
        x += w + 0.6
        row_d = max(row_d, d)
    floor_d = (y + row_d + 2.0) if overflow else fab_d
    data["site"]["floor_m"] = [round(fab_w, 3), round(floor_d, 3)]
    main = {b: max(k.items(), key=lambda kv: kv[1])[0] for b, k in kinds.items()}
    data["site"]["bays"] = _bays(bay_pts, main, fab_w, fab_d, floor_d if overflow else None)
    data["amhs"] = {
        "model": "oht",
        "source": "SMAT2022 (Rank & Betker, LogiFabSim, IFAC-PapersOnLine 2025; via U-FAST)",
        "vehicle": lay.vehicle,
        "fleet": fleet,
        "dispatch": "nearest_idle",
        "handling_s": 15.0,
        "nodes": [[n, x, y, lay.node_bay.get(n, "")] for n, (x, y) in lay.nodes.items()],
        "links": lay.links,
        "ports": ports,
        "stockers": stockers,
    }
    rep.counts = {
        "layout tools": sum(len(v) for v in slots.values()),
        "tools placed on layout slots": placed,
        "tools in the overflow strip": len(overflow),
        "stockers, release and finish points": len(stockers),
        "rail nodes": len(lay.nodes),
        "rail links": len(lay.links),
        "rail length (m)": round(sum(lk["length_m"] for lk in lay.links)),
        "vehicles": fleet,
    }
    return rep


def _row_pitch(
    equipment: list[tuple[str, str, str, float, float, float, float]],
) -> dict[str, float]:
    """Each layout tool's distance along y to the nearest tool in its row (same x)."""
    rows: dict[float, list[tuple[float, str]]] = defaultdict(list)
    for name, _g, _b, _w, _h, x, y in equipment:
        rows[round(x, 1)].append((y, name))
    out: dict[str, float] = {}
    for row in rows.values():
        row.sort()
        for i, (y, name) in enumerate(row):
            gaps = [abs(y - row[j][0]) for j in (i - 1, i + 1) if 0 <= j < len(row)]
            if gaps:
                out[name] = min(gaps)
    return out


def _natural(name: str) -> tuple[Any, ...]:
    return tuple(int(p) if p.isdigit() else p for p in re.split(r"(\d+)", name))


def _bay_id(bay: str) -> str:
    return bay.lower()


def _bays(
    pts: dict[str, list[tuple[float, float, float, float]]],
    kinds: dict[str, tuple[str, str]],
    fab_w: float,
    fab_d: float,
    floor_d: float | None,
) -> list[dict[str, Any]]:
    """Bays as the bounding boxes of their rails and tools (1 m margin), clipped to the fab."""
    out = []
    for bay, ps in sorted(pts.items(), key=lambda kv: _natural(kv[0])):
        if not bay:
            continue
        x0 = max(0.0, min(x - hw for x, _, hw, _ in ps) - 1.0)
        y0 = max(0.0, min(y - hd for _, y, _, hd in ps) - 1.0)
        x1 = min(fab_w, max(x + hw for x, _, hw, _ in ps) + 1.0)
        y1 = min(fab_d, max(y + hd for _, y, _, hd in ps) + 1.0)
        kind, colour = kinds.get(bay, ("other", "#8a8f98"))
        out.append(
            {
                "id": _bay_id(bay),
                "name": bay,
                "kind": kind,
                "origin_m": [round(x0, 3), round(y0, 3)],
                "size_m": [round(x1 - x0, 3), round(y1 - y0, 3)],
                "color": colour,
            }
        )
    if floor_d is not None:
        out.append(
            {
                "id": "overflow",
                "name": "Overflow (testbed tools without a layout slot)",
                "kind": "stocker",
                "origin_m": [0.0, round(fab_d + _OVERFLOW_GAP_M / 2, 3)],
                "size_m": [round(fab_w, 3), round(floor_d - fab_d - _OVERFLOW_GAP_M / 2, 3)],
                "color": "#8a8f98",
            }
        )
    return out
