"""Import the SMT2020 semiconductor fab testbed into a plant.

SMT2020 (Kopp, Hassoun, Kalir, Mönch 2020, see :data:`CITATION`) publishes its fab models as
AutoSched AP input tables: tab-separated text, first line the header, times with their own
unit column. :func:`import_smt2020` reads one model directory (``SMT2020_HVLM``,
``SMT2020_LVHM``) and returns a validated :class:`~factory_twin.model.config.PlantDocument`
plus an :class:`ImportReport` naming, with counts, every feature of the data that the plant
format cannot express and every column the importer does not read. Nothing is dropped
silently.

How the tables map onto the plant (units converted to seconds):

* ``tool.txt[.1l]``: one tool group per family (STNFAM), STNQTY identical tools
  ``<family>_<n>``, one equipment type per family, areas (STNGRP) as bays. Dispatch from
  RULE and FWLRANK: every rule of the simulator ranks priority first, so
  ``rank_HP;rank_RSETUP;rank_FIFO`` is ``setup_avoid`` on a family with setups and ``fifo``
  otherwise, ``rank_HP;rank_RSETUP;rank_CR`` is ``cr`` on a family without setups (with
  setups it is ``setup_avoid``, whose FIFO tie-break is reported). ``rule_LSSU`` is
  ``setup_avoid`` with the setup group's minimum run (``setupgrp.txt`` MINRUN) as
  ``min_run_lots``. LTIME/ULTIME are ``load_s``/``unload_s``. BATCHCRITF
  ``crit_sameroutestep`` needs nothing: steps get no recipe, and without one only lots at
  the same route step share a batch. Batch capacity of a family's type is the widest
  BATCHMN..BATCHMX of its steps. STNCAP (lots a cascading tool holds at once) is
  ``cascade_lots``: such a tool takes the next lot after the step's PartInterval x wafers
  or BatchInterval, loading and unloading overlapping with processing.
* ``route_N.txt``: PTPER ``per_piece``/``per_lot``/``per_batch`` is ``per`` wafer/lot/batch;
  BATCHMN/BATCHMX (wafers, BATCHPER ``piece``) the step's batch; SETUP the step's setup
  (setup time from the step's STIME, else ``setup.txt``); StepPercent ``sample_pct``;
  RWKSTEP/REWORK (percent) ``rework``; STEP_CQT/CQT ``queue_time_limit``; PartInterval
  ``wafer_interval_s`` and BatchInterval ``batch_interval_s`` (cascading).
* Distributions: ``uniform`` with parameters (P, P2) is the uniform distribution on
  [P - P2, P + P2], i.e. mean and half-width, as in AutoSched AP. The data confirm it: every
  process time has P2 = 5 % of P, PM durations 20 %, and ``fromto.txt`` gives transport as
  (7.5, 2.5) min, the U[5, 10] min of the paper; read as (low, high) all of these would be
  empty intervals. ``constant`` and ``exponential`` take the first parameter as the value or
  mean.
* ``pmcal.txt``: ``mtbpm_by_cal`` is a calendar PM every MTBPM, ``mtbpm_by_pieces`` a PM
  every MTBPM wafers; MTTR/MTTR2 is the uniform duration. ``downcal.txt``: MTTF/MTTR
  distributions of calendar-time failures. ``attach.txt`` attaches both to a family
  (``stnfam``), an area (``stngrp``) or one tool (``stn``); its first occurrence (FOA) is
  ``first`` (PM) or ``first_s`` (failure). A constant FOA is staggered over the N tools it
  attaches to (tool k of N first at FOA * k / N), so that a family's tools do not all stop at
  once; a random FOA is drawn per tool.
* ``part.txt`` + ``order.txt``: one product per order line, i.e. per (part, priority class)
  (regular, hot, super hot lots of one part share its route); the product id is the part,
  or the part with the class taken from the order's lot name (``part_3_hot``). Release is
  ``rate`` with the order's REPEAT as interarrival, START as ``start_s``, DUE - START as
  ``due_after_s``, PRIOR as ``priority`` and PIECES as ``wafers_per_lot``.
* ``WIP.txt``: initial lots waiting for CURSTEP, due at DUE. The plant clock's zero is the
  earliest START of ``order.txt`` and ``WIP.txt``.
* ``fromto.txt``: the fab's one from-to pair is ``transport.fixed_time``.
* Operator drills for the Train workspace (:mod:`~factory_twin.model.smt2020_drills`), on the
  fab's tools when the model has them (HVLM does): not part of SMT2020.

The floor layout, equipment shapes, components and tags are synthetic (SMT2020 has none):
bays sized to their tools in a grid with aisles, tools in rows with service clearance.

The importer's parts: the tables and the report (:mod:`~factory_twin.model.smt2020_tables`),
families, routes, steps, setups and tool groups (:mod:`~factory_twin.model.smt2020_routes`),
the synthetic geometry (:mod:`~factory_twin.model.smt2020_geometry`), tools, bays and
maintenance (:mod:`~factory_twin.model.smt2020_floor`), orders, WIP and transport
(:mod:`~factory_twin.model.smt2020_orders`), the drills
(:mod:`~factory_twin.model.smt2020_drills`); this module runs them and writes the file.
"""

from __future__ import annotations

import json
import logging
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from factory_twin.errors import ConfigError
from factory_twin.model import schema as s
from factory_twin.model.config import PlantDocument
from factory_twin.model.config_checks import check_references
from factory_twin.model.smat2022 import apply_layout
from factory_twin.model.smt2020_drills import _drills
from factory_twin.model.smt2020_floor import _bays, _equipment, _maintenance, _tools_and_bays
from factory_twin.model.smt2020_orders import (
    _clock_zero,
    _initial_wip,
    _order_tables,
    _products,
    _transport,
)
from factory_twin.model.smt2020_routes import (
    _min_runs,
    _read_families,
    _read_routes,
    _route_steps,
    _setup_times,
    _tool_groups,
)
from factory_twin.model.smt2020_tables import _ENDPOINT, ImportReport, _count_unread, _Tables

logger = logging.getLogger(__name__)

CITATION = (
    "Kopp, D., Hassoun, M., Kalir, A., Mönch, L. (2020). SMT2020 — A Semiconductor "
    "Manufacturing Testbed. IEEE Transactions on Semiconductor Manufacturing 33(4), 522-531."
)


@dataclass
class Smt2020Import:
    """The result of :func:`import_smt2020`."""

    document: PlantDocument
    report: ImportReport
    data: dict[str, Any] = field(repr=False)

    def text(self) -> str:
        """Return the plant file: a header citing the source, then compact YAML."""
        return header_comment(self.report) + plant_yaml(self.data)


# --------------------------------------------------------------------------- import


def import_smt2020(
    directory: str | Path,
    *,
    name: str | None = None,
    layout: str | Path | None = None,
    fleet: int = 100,
) -> Smt2020Import:
    """Read an SMT2020 model directory and build a validated plant.

    Each table has its own reader below, called in the order the tables depend on each
    other: families, routes and their steps, setups, tool groups, tools and bays,
    maintenance, orders and WIP, transport.

    Parameters
    ----------
    directory
        A model directory such as ``SMT2020_HVLM`` (``tool.txt.1l``, ``route_N.txt``, ...).
    name
        Site name; default ``"SMT2020 <model> (Kopp et al. 2020)"``.
    layout
        A SMAT2022 folder: place the tools on its layout and add its OHT rails and a fleet of
        ``fleet`` vehicles (:func:`factory_twin.model.smat2022.apply_layout`).

    Returns
    -------
    Smt2020Import
        The plant document, the import report and the plain plant data.

    Raises
    ------
    ConfigError
        If a table is missing or malformed (message names file, line and column), or the
        resulting plant does not validate.
    """
    d = Path(directory)
    if not d.is_dir():
        raise ConfigError([f"{d}: not a directory"])
    report = ImportReport(source=d.name)
    tables = _Tables(d)

    tt, fams = _read_families(tables)
    part_route, routes, route_tables = _read_routes(tables)
    steps = _route_steps(routes, fams, tt.name, report)
    group_setups = _setup_times(tables, steps, report)
    min_run = _min_runs(tables, report)
    group_data = _tool_groups(tt, fams, steps, group_setups, min_run, report)
    floor = _tools_and_bays(fams, steps.batch_range)
    pm_of, rel_of = _maintenance(tables, floor, report)
    equipment = _equipment(floor, pm_of, rel_of)
    bay_data = _bays(floor.bays)
    ot, wt = _order_tables(tables)
    t0 = _clock_zero(ot, wt, report)
    products = _products(ot, part_route, t0, report)
    wip = _initial_wip(wt, products, part_route, routes, t0, report) if wt is not None else []
    transport = _transport(tables, report)

    title = (
        name or f"SMT2020 {re.sub(r'(?i)^smt2020[_ -]*', '', d.name) or d.name} (Kopp et al. 2020)"
    )
    data: dict[str, Any] = {
        "schema_version": s.SCHEMA_VERSION,
        "site": {"name": title, "floor_m": list(floor.size), "bays": bay_data},
        # Every tool's synthetic tags are served by the app's embedded plant simulator.
        "endpoints": [{"id": _ENDPOINT, "url": "opc.tcp://127.0.0.1:4840/factory_twin/"}],
        "equipment_types": floor.types,
        "tool_groups": group_data,
        "equipment": equipment,
        "routes": steps.routes,
        "products": products.items,
        "initial_wip": wip,
        "transport": transport,
    }
    if layout is not None:
        report.layout = apply_layout(data, layout, fleet=fleet)
    drills = _drills(equipment, steps.routes, products.items)
    if drills:
        data["drills"] = drills
        report.drills = [d["id"] for d in drills]
    _count_unread(tables.opened, route_tables, report)
    report.counts = {
        "tool families": len(fams),
        "tools": len(equipment),
        "bays": len(bay_data),
        "routes": len(steps.routes),
        "route steps": sum(len(r["steps"]) for r in steps.routes),
        "products": len(products.items),
        "initial WIP lots": len(wip),
    }
    doc = _validate(data, d.name)
    return Smt2020Import(document=doc, report=report, data=data)


def _validate(data: dict[str, Any], source: str) -> PlantDocument:
    try:
        spec = s.PlantSpec.model_validate(data)
    except ValidationError as exc:
        msgs = [
            f"{source}: imported plant: {'.'.join(str(x) for x in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_url=False)[:20]
        ]
        raise ConfigError(msgs) from None
    problems = check_references(spec)
    if problems:
        raise ConfigError(
            [
                f"{source}: imported plant: {'.'.join(str(x) for x in loc)}: {m}"
                for loc, m in problems[:20]
            ]
        )
    return PlantDocument(spec=spec, path=None, raw=None)


# --------------------------------------------------------------------------- writing


def header_comment(report: ImportReport) -> str:
    """Return the comment block a written SMT2020 plant starts with."""
    lines = [
        f"{report.source} imported by 'factory-twin import-smt2020'.",
        "",
        "Source: " + CITATION,
        "The testbed data are published by the authors for public use; cite the paper wherever",
        "results on this plant are shown.",
        "",
        "Tool families, routes, setups, PM and failure calendars, orders, initial WIP and the",
        "transport time come from the testbed (times converted to seconds; a uniform (P, P2) is",
        "U[P - P2, P + P2]). Synthetic, not part of SMT2020: the floor layout, bay sizes, tool",
        "footprints and shapes, components and tags.",
    ]
    if report.drills:
        lines += [
            "Operator drills written for this fab (synthetic too):",
            ", ".join(report.drills) + ".",
        ]
    lines += [
        f"Plant clock zero: {report.clock_zero} (the earliest START of order.txt and WIP.txt);",
        "due dates count seconds from it. A constant first occurrence (FOA) of a PM is staggered",
        "over the N tools it attaches to: tool k first at FOA * k / N.",
        "",
        "Not expressible in this plant format (feature: count):",
    ]
    lines += [f"  {k}: {v}" for k, v in sorted(report.unmodelled.items())] or ["  (none)"]
    lines.append("Columns not read (file:column: non-empty cells):")
    lines += [f"  {k}: {v}" for k, v in sorted(report.ignored.items())] or ["  (none)"]
    if report.layout is not None:
        lines += ["", *report.layout.lines()]
    return "".join(f"# {x}".rstrip() + "\n" for x in lines)


# Lists whose items are written one per line in flow style; other lists of mappings (equipment
# types, routes) are block lists, every other mapping or list is one flow-style value.
_FLOW_ITEMS = {
    "bays",
    "endpoints",
    "tool_groups",
    "equipment",
    "steps",
    "products",
    "initial_wip",
    "parts",
    "components",
    "tags",
    "nodes",
    "links",
    "ports",
    "stockers",
    "objectives",
    "injections",
    "expected",
}
_BLOCK_MAPS = {"site", "shape", "amhs"}
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/ ()]*$")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def _scalar(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            msg = f"cannot write the non-finite number {v!r}"
            raise ValueError(msg)
        text = repr(v)
        if "e" in text:  # keep a dot and a signed exponent: a float in YAML 1.1 and 1.2 alike
            mant, exp = text.split("e")
            mant = mant if "." in mant else mant + ".0"
            exp = exp if exp[0] in "+-" else "+" + exp
            text = f"{mant}e{exp}"
        return text
    text = str(v)
    if _PLAIN.match(text) and text.lower() not in _RESERVED and not text.endswith(" "):
        return text
    return json.dumps(text, ensure_ascii=False)


def _flow(v: Any) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_flow(x) for x in v) + "]"
    return _scalar(v)


def _block(out: list[str], v: dict[str, Any], indent: int) -> None:
    pad = " " * indent
    for k, x in v.items():
        key = _scalar(k)
        if isinstance(x, dict) and k in _BLOCK_MAPS:
            out.append(f"{pad}{key}:")
            _block(out, x, indent + 2)
        elif (
            isinstance(x, list) and x and (k in _FLOW_ITEMS or all(isinstance(i, dict) for i in x))
        ):
            out.append(f"{pad}{key}:")
            for item in x:
                if k in _FLOW_ITEMS or not isinstance(item, dict):
                    out.append(f"{pad}  - {_flow(item)}")
                else:
                    sub: list[str] = []
                    _block(sub, item, indent + 4)
                    sub[0] = f"{pad}  - {sub[0][indent + 4 :]}"
                    out.extend(sub)
        else:
            out.append(f"{pad}{key}: {_flow(x)}")


def plant_yaml(data: dict[str, Any]) -> str:
    """Return compact YAML of plant data: block structure, one flow-style line per item.

    Strings are plain when unambiguous, else JSON-quoted (valid YAML); floats always carry a
    dot so that YAML 1.1 and 1.2 readers agree.
    """
    out: list[str] = []
    _block(out, data, 0)
    return "\n".join(out) + "\n"
