"""The SMT2020 importer's equipment, bays and maintenance.

The tools and bays of the synthetic floor (:func:`_tools_and_bays`, :func:`_equipment`,
:func:`_bays`) and their PMs and failures from ``pmcal.txt``, ``downcal.txt`` and
``attach.txt`` (:func:`_maintenance`), as described in :mod:`factory_twin.model.smt2020`.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from factory_twin.errors import ConfigError
from factory_twin.model import schema as s
from factory_twin.model.smt2020_geometry import (
    _AREAS,
    _TEMPLATES,
    _extent,
    _layout,
    _Template,
    _template_key,
    _type_dict,
)
from factory_twin.model.smt2020_tables import (
    _ENDPOINT,
    ImportReport,
    _bay_id,
    _r,
    _Row,
    _Table,
    _Tables,
)

# ---- equipment types, tools and bays (synthetic geometry)


@dataclass
class _Floor:
    """Equipment types, tools and the synthetic floor layout."""

    area_of: dict[str, str]  # family -> area (STNGRP)
    types: list[dict[str, Any]]  # one equipment type per family
    tool_ids: dict[str, list[str]]  # family -> its tools <family>_<n>
    bays: dict[str, tuple[float, float, float, float]]  # area -> (x0, y0, width, depth)
    positions: dict[str, tuple[float, float]]  # tool -> (x, y)
    size: tuple[float, float]  # floor (width, depth)


def _tools_and_bays(fams: dict[str, _Row], batch_range: dict[str, tuple[int, int]]) -> _Floor:
    """Give every family a synthetic equipment type and STNQTY tools laid out in its area's bay."""
    area_of = {f: row["STNGRP"] or "Fab" for f, row in fams.items()}
    type_data: list[dict[str, Any]] = []
    areas: dict[str, list[tuple[str, _Template, tuple[float, float, float, float]]]] = {}
    tool_ids: dict[str, list[str]] = {}
    for fam, row in fams.items():
        tkey = _template_key(fam, area_of[fam], row.get("STNFAMLOC", ""))
        tpl = _TEMPLATES[tkey]
        title = f"{tkey.replace('_', ' ')} ({area_of[fam]} family {fam})"
        type_data.append(_type_dict(fam, tpl, batch_range.get(fam), title))
        ext = _extent(tpl)
        ids = [f"{fam}_{k}" for k in range(1, int(float(row["STNQTY"])) + 1)]
        tool_ids[fam] = ids
        areas.setdefault(area_of[fam], []).extend((tid, tpl, ext) for tid in ids)
    bays, positions, floor = _layout(areas)
    return _Floor(area_of, type_data, tool_ids, bays, positions, floor)


def _equipment(
    floor: _Floor, pm_of: dict[str, list[dict[str, Any]]], rel_of: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Return the tools, each with its position, failures and PMs."""
    equipment: list[dict[str, Any]] = []
    for fam, ids in floor.tool_ids.items():
        for tid in ids:
            e: dict[str, Any] = {
                "id": tid,
                "type": fam,
                "group": fam,
                "bay": _bay_id(floor.area_of[fam]),
                "position_m": list(floor.positions[tid]),
                "opcua": {"endpoint": _ENDPOINT},
            }
            if tid in rel_of:
                e["reliability"] = rel_of[tid]
            if pm_of.get(tid):
                e["pm"] = pm_of[tid]
            equipment.append(e)
    return equipment


def _bays(bays: dict[str, tuple[float, float, float, float]]) -> list[dict[str, Any]]:
    """Return the bays, one per area, front to back and left to right."""
    bay_data = []
    for area, (x0, y0, w, dd) in sorted(bays.items(), key=lambda kv: (kv[1][1], kv[1][0])):
        kind, colour, _tpl = _AREAS.get(area.lower(), (s.AreaKind.OTHER, "#8a8f98", ""))
        if area.lower().startswith("delay"):
            kind, colour = s.AreaKind.STOCKER, "#8a8f98"
        bay_data.append(
            {
                "id": _bay_id(area),
                "name": area.replace("_", " "),
                "kind": kind.value,
                "origin_m": [x0, y0],
                "size_m": [w, dd],
                "color": colour,
            }
        )
    return bay_data


# ---- maintenance (pmcal.txt, downcal.txt, attach.txt)


def _maintenance(
    tables: _Tables, floor: _Floor, report: ImportReport
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, dict[str, Any]]]:
    """Attach PM and failure calendars to families, areas or tools.

    Returns
    -------
    (pm_of, rel_of)
        Tool -> its PMs; tool -> its failure model (reliability).
    """
    pm_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    rel_of: dict[str, dict[str, Any]] = {}
    pmc = tables.optional("pmcal.txt")
    dnc = tables.optional("downcal.txt")
    att = tables.optional("attach.txt")
    pm_cals = _pm_calendars(pmc) if pmc is not None else {}
    down_cals = _down_calendars(dnc) if dnc is not None else {}
    if att is None:
        return pm_of, rel_of
    att.need("CALNAME", "CALTYPE", "RESTYPE", "RESNAME")
    att.optional("FOADIST", "FOA", "FOAUNITS")
    all_tools = {tid for ids in floor.tool_ids.values() for tid in ids}
    for row in att.rows:
        targets = _attach_targets(att, row, floor, all_tools)
        cal, ctype = row["CALNAME"], row["CALTYPE"].lower()
        if ctype == "pm":
            if cal not in pm_cals:
                raise ConfigError(
                    [att.where(row, "CALNAME") + f": PM calendar {cal!r} is not in pmcal.txt"]
                )
            _attach_pm(att, row, pm_cals[cal], targets, pm_of, pmc)
        elif ctype == "down":
            if cal not in down_cals:
                raise ConfigError(
                    [
                        att.where(row, "CALNAME")
                        + f": failure calendar {cal!r} is not in downcal.txt"
                    ]
                )
            _attach_down(att, row, down_cals[cal], targets, rel_of, dnc, report)
        else:
            raise ConfigError(
                [
                    att.where(row, "CALTYPE")
                    + f": unknown calendar type {row['CALTYPE']!r} (pm, down)"
                ]
            )
    return pm_of, rel_of


def _pm_calendars(pmc: _Table) -> dict[str, tuple[_Row, str]]:
    """Read ``pmcal.txt``: calendar name -> (row, PM type)."""
    pmc.need("PMCALNAME", "PMCALTYPE", "MTBPM", "MTBPMUNITS", "MTTRDIST", "MTTR", "MTTRUNITS")
    pmc.optional("MTTR2")
    pm_cals: dict[str, tuple[_Row, str]] = {}
    for row in pmc.rows:
        kind = row["PMCALTYPE"].lower()
        if kind not in ("mtbpm_by_cal", "mtbpm_by_pieces"):
            raise ConfigError(
                [
                    pmc.where(row, "PMCALTYPE")
                    + f": unknown PM type {row['PMCALTYPE']!r} (mtbpm_by_cal, mtbpm_by_pieces)"
                ]
            )
        pm_cals[row["PMCALNAME"]] = (row, kind)
    return pm_cals


def _down_calendars(dnc: _Table) -> dict[str, _Row]:
    """Read ``downcal.txt``: calendar name -> row."""
    dnc.need(
        "DOWNCALNAME",
        "DOWNCALTYPE",
        "MTTFDIST",
        "MTTF",
        "MTTFUNITS",
        "MTTRDIST",
        "MTTR",
        "MTTRUNITS",
    )
    dnc.optional("MTTF2", "MTTR2")
    down_cals: dict[str, _Row] = {}
    for row in dnc.rows:
        if row["DOWNCALTYPE"].lower() not in ("mttf_by_cal", "mttf_by_busy"):
            raise ConfigError(
                [
                    dnc.where(row, "DOWNCALTYPE")
                    + f": unknown failure type {row['DOWNCALTYPE']!r} (mttf_by_cal, mttf_by_busy)"
                ]
            )
        down_cals[row["DOWNCALNAME"]] = row
    return down_cals


def _attach_targets(att: _Table, row: _Row, floor: _Floor, all_tools: set[str]) -> list[str]:
    """Return the tools an ``attach.txt`` row names: a family, an area or one tool."""
    rtype, rname = row["RESTYPE"].lower(), row["RESNAME"]
    if rtype == "stnfam":
        targets = floor.tool_ids.get(rname)
    elif rtype == "stngrp":
        targets = [
            tid for f, ids in floor.tool_ids.items() if floor.area_of[f] == rname for tid in ids
        ] or None
    elif rtype == "stn":
        targets = [rname] if rname in all_tools else None
    else:
        raise ConfigError(
            [
                att.where(row, "RESTYPE")
                + f": unknown resource type {row['RESTYPE']!r} (stnfam, stngrp, stn)"
            ]
        )
    if not targets:
        raise ConfigError([att.where(row, "RESNAME") + f": no tools in {rtype} {rname!r}"])
    return targets


def _stagger(k: int, n: int) -> float:
    return k / n


def _attach_pm(
    att: _Table,
    row: _Row,
    cal: tuple[_Row, str],
    targets: list[str],
    pm_of: dict[str, list[dict[str, Any]]],
    pmc: _Table | None,
) -> None:
    assert pmc is not None
    crow, kind = cal
    by_wafers = kind == "mtbpm_by_pieces"
    if by_wafers:
        if crow["MTBPMUNITS"].lower() not in ("pieces", "piece", "wafers", "wafer", ""):
            raise ConfigError(
                [
                    pmc.where(crow, "MTBPMUNITS")
                    + f": a by-pieces PM needs pieces, got {crow['MTBPMUNITS']!r}"
                ]
            )
        interval = pmc.num(crow, "MTBPM")
    else:
        interval = pmc.seconds(crow, "MTBPM", "MTBPMUNITS")
    if interval <= 0:
        raise ConfigError([pmc.where(crow, "MTBPM") + ": the time between PMs must be positive"])
    duration = pmc.dist(
        crow,
        "MTTRDIST",
        "MTTR",
        "MTTR2" if "MTTR2" in pmc.header else None,
        pmc.unit(crow, "MTTRUNITS"),
    )
    first: float | None = None
    if row.get("FOA"):
        if row.get("FOADIST", "constant").lower() not in ("", "constant"):
            raise ConfigError(
                [att.where(row, "FOADIST") + ": a PM's first occurrence must be constant"]
            )
        if by_wafers:
            if row.get("FOAUNITS"):
                raise ConfigError(
                    [
                        att.where(row, "FOAUNITS")
                        + ": a by-pieces PM's first occurrence is in pieces (leave FOAUNITS empty)"
                    ]
                )
            first = att.num(row, "FOA")
        else:
            first = att.seconds(row, "FOA", "FOAUNITS")
    n = len(targets)
    for k, tid in enumerate(targets, start=1):
        pm: dict[str, Any] = {
            "name": crow["PMCALNAME"],
            "basis": "wafers" if by_wafers else "calendar",
            "interval": _r(interval),
            "duration": duration,
        }
        if first is not None:
            pm["first"] = _r(first * _stagger(k, n))
        pm_of[tid].append(pm)


def _attach_down(
    att: _Table,
    row: _Row,
    crow: _Row,
    targets: list[str],
    rel_of: dict[str, dict[str, Any]],
    dnc: _Table | None,
    report: ImportReport,
) -> None:
    assert dnc is not None
    rel: dict[str, Any] = {
        "mtbf": dnc.dist(
            crow,
            "MTTFDIST",
            "MTTF",
            "MTTF2" if "MTTF2" in dnc.header else None,
            dnc.unit(crow, "MTTFUNITS"),
        ),
        "mttr": dnc.dist(
            crow,
            "MTTRDIST",
            "MTTR",
            "MTTR2" if "MTTR2" in dnc.header else None,
            dnc.unit(crow, "MTTRUNITS"),
        ),
    }
    if crow["DOWNCALTYPE"].lower() == "mttf_by_busy":
        rel["basis"] = "busy"
    first: dict[str, Any] | None = None
    if row.get("FOA"):
        first = att.dist(row, "FOADIST", "FOA", None, att.unit(row, "FOAUNITS"))
    n = len(targets)
    for k, tid in enumerate(targets, start=1):
        if tid in rel_of:
            report.add(
                "attach.txt: a second failure calendar on one tool, the first is kept (tools)"
            )
            continue
        r = dict(rel)
        if first is not None:
            if first["dist"] == "constant":
                r["first_s"] = _r(first["value"] * _stagger(k, n))
            else:
                r["first_s"] = first
        rel_of[tid] = r
