"""The SMT2020 importer's orders, products, initial WIP and transport.

Readers of ``order.txt``, ``WIP.txt`` and ``fromto.txt`` (the plant clock's zero is the
earliest START of the orders and the WIP), as described in :mod:`factory_twin.model.smt2020`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from factory_twin.errors import ConfigError
from factory_twin.model.smt2020_routes import _RouteRows
from factory_twin.model.smt2020_tables import (
    ImportReport,
    _class_suffix,
    _r,
    _Row,
    _Table,
    _Tables,
)

# ---- orders, products, WIP (order.txt, WIP.txt)


def _order_tables(tables: _Tables) -> tuple[_Table, _Table | None]:
    """Open ``order.txt`` and, if present, ``WIP.txt``."""
    ot = tables.required("order.txt")
    ot.need("LOT", "PART", "PRIOR", "PIECES", "START", "RDIST", "REPEAT", "RUNITS")
    ot.optional("DUE", "LOTSPERRPT", "RPT#", "HOTLOT")
    wt = tables.optional("WIP.txt")
    if wt is not None:
        wt.need("LOT", "PART", "PRIOR", "PIECES", "START", "CURSTEP")
        wt.optional("DUE", "HOTLOT")
    return ot, wt


def _clock_zero(ot: _Table, wt: _Table | None, report: ImportReport) -> datetime:
    """Return the plant clock's zero: the earliest START of the orders and the WIP."""
    starts = [ot.date(r, "START") for r in ot.rows] + (
        [wt.date(r, "START") for r in wt.rows] if wt else []
    )
    if not starts:
        raise ConfigError([f"{ot.path}: no orders"])
    t0 = min(starts)
    report.clock_zero = t0.strftime("%Y-%m-%d %H:%M:%S")
    return t0


@dataclass
class _Products:
    """The products, one per order line, and how WIP lots find theirs."""

    items: list[dict[str, Any]] = field(default_factory=list)
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_class: dict[tuple[str, int], str] = field(default_factory=dict)  # (part, prior) -> id
    regular: dict[str, str] = field(default_factory=dict)  # part -> its regular lots' product


def _products(
    ot: _Table, part_route: dict[str, str], t0: datetime, report: ImportReport
) -> _Products:
    """Return one product per order line, released at the order's rate."""
    out = _Products()
    used_ids: set[str] = set()
    for row in ot.rows:
        part = row["PART"]
        if part not in part_route:
            raise ConfigError([ot.where(row, "PART") + f": part {part!r} is not in part.txt"])
        suffix = _class_suffix(row["LOT"])
        pid = f"{part}_{suffix}" if suffix else part
        base, k = pid, 2
        while pid in used_ids:
            pid, k = f"{base}_{k}", k + 1
        used_ids.add(pid)
        prior = int(ot.num(row, "PRIOR"))
        start = ot.date(row, "START")
        rel = _release(ot, row, start, t0)
        p: dict[str, Any] = {
            "id": pid,
            "route": part_route[part],
            "wafers_per_lot": ot.count(row, "PIECES"),
            "priority": prior,
        }
        if row.get("DUE"):
            due = (ot.date(row, "DUE") - start).total_seconds()
            if due > 0:
                p["due_after_s"] = _r(due)
            else:
                report.add("order DUE at or before START: no due date (orders)")
        p["release"] = rel
        out.items.append(p)
        out.by_id[pid] = p
        out.by_class.setdefault((part, prior), pid)
        if not suffix:
            out.regular.setdefault(part, pid)
        if row.get("RPT#"):
            report.add(
                "order RPT#: cap on the number of releases, the plant releases without end (orders)"
            )
        if row.get("HOTLOT", "").lower() == "yes":
            report.add("HOTLOT=yes: a super hot lot reserves its next tool (lots)")
    return out


def _release(ot: _Table, row: _Row, start: datetime, t0: datetime) -> dict[str, Any]:
    """Return an order's release: every REPEAT (LOTSPERRPT lots each time) from START on."""
    if ot.num(row, "REPEAT") <= 0:  # a release every 0 min never ends
        msg = f"{ot.where(row, 'REPEAT')}: expected a time between releases above 0, got {row.get('REPEAT')!r}"
        raise ConfigError([msg])
    rel: dict[str, Any] = {
        "mode": "rate",
        "interarrival": ot.dist(row, "RDIST", "REPEAT", None, ot.unit(row, "RUNITS")),
    }
    if rel["interarrival"].get("dist") == "constant":
        rel["interarrival"] = rel["interarrival"]["value"]
    lots_per = ot.count(row, "LOTSPERRPT", default=1)
    if lots_per > 1:
        rel["lots_per_release"] = lots_per
    if start > t0:
        rel["start_s"] = _r((start - t0).total_seconds())
    return rel


def _initial_wip(
    wt: _Table,
    products: _Products,
    part_route: dict[str, str],
    routes: dict[str, _RouteRows],
    t0: datetime,
    report: ImportReport,
) -> list[dict[str, Any]]:
    """Return the lots in the fab at time zero, each waiting for its CURSTEP."""
    wip: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for row in wt.rows:
        lot, part = row["LOT"], row["PART"]
        if lot in seen:
            raise ConfigError(
                [wt.where(row, "LOT") + f": lot {lot!r} listed twice (first on line {seen[lot]})"]
            )
        seen[lot] = row.line
        if part not in part_route:
            raise ConfigError([wt.where(row, "PART") + f": part {part!r} is not in part.txt"])
        wip.append(_wip_lot(wt, row, products, part_route[part], routes, t0, report))
    return wip


def _wip_lot(
    wt: _Table,
    row: _Row,
    products: _Products,
    route: str,
    routes: dict[str, _RouteRows],
    t0: datetime,
    report: ImportReport,
) -> dict[str, Any]:
    """Return one WIP lot, of the product of its part and priority class."""
    lot, part = row["LOT"], row["PART"]
    prior = int(wt.num(row, "PRIOR"))
    lot_pid: str | None = (
        products.by_class.get((part, prior))
        or products.regular.get(part)
        or next((p["id"] for p in products.items if p["route"] == route), None)
    )
    if lot_pid is None:
        raise ConfigError(
            [
                wt.where(row, "PART")
                + f": no order releases part {part!r}, so its lots have no product"
            ]
        )
    prod = products.by_id[lot_pid]
    step = int(wt.num(row, "CURSTEP"))
    nsteps = len(routes[route])
    if not 1 <= step <= nsteps:
        raise ConfigError(
            [wt.where(row, "CURSTEP") + f": step {step} is not in route {route!r} (1..{nsteps})"]
        )
    lotd: dict[str, Any] = {"id": lot, "product": lot_pid, "step": step}
    wafers = wt.count(row, "PIECES")
    if wafers != prod["wafers_per_lot"]:
        lotd["wafers"] = wafers
    if prior != prod["priority"]:
        lotd["priority"] = prior
    if row.get("DUE"):
        lotd["due_s"] = _r((wt.date(row, "DUE") - t0).total_seconds())
    if wt.date(row, "START") != t0:
        report.add("WIP START before the plant clock's zero: the lot's age (lots)")
    if row.get("HOTLOT", "").lower() == "yes":
        report.add("HOTLOT=yes: a super hot lot reserves its next tool (lots)")
    return lotd


# ---- transport (fromto.txt)


def _transport(tables: _Tables, report: ImportReport) -> dict[str, Any]:
    """Return the transport: the first from-to time of ``fromto.txt`` applies everywhere."""
    transport: dict[str, Any] = {"kind": "ohs"}
    ft = tables.optional("fromto.txt")
    if ft is None:
        return transport
    ft.need("FROMLOC", "TOLOC", "DDIST", "DTIME", "DUNITS")
    ft.optional("DTIME2")
    if ft.rows:
        row = ft.rows[0]
        transport["fixed_time"] = ft.dist(
            row,
            "DDIST",
            "DTIME",
            "DTIME2" if "DTIME2" in ft.header else None,
            ft.unit(row, "DUNITS"),
        )
        if len(ft.rows) > 1:
            report.add(
                "fromto.txt: transport times of further location pairs, the first applies everywhere (rows)",
                len(ft.rows) - 1,
            )
    return transport
