"""The SMT2020 importer's families, routes, steps, setups and tool groups.

Readers of ``tool.txt[.1l]``, ``part.txt``, ``route_N.txt``, ``setup.txt`` and
``setupgrp.txt``, called in that order by :func:`factory_twin.model.smt2020.import_smt2020`
(the mapping onto the plant format is described there).
"""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

from factory_twin.errors import ConfigError
from factory_twin.model import schema as s
from factory_twin.model.smt2020_tables import (
    ImportReport,
    _find_tool_file,
    _r,
    _Row,
    _Table,
    _Tables,
)

# ---- tool families (tool.txt.1l)


def _read_families(tables: _Tables) -> tuple[_Table, dict[str, _Row]]:
    """Read the tool table: family name -> its row, names and tool counts checked."""
    tt = tables.add(_find_tool_file(tables.directory))
    tt.need(
        "STNFAM", "STNQTY", "STNGRP", "RULE", "FWLRANK", "LTIME", "LTUNITS", "ULTIME", "ULTUNITS"
    )
    tt.optional(
        "STN",
        "STNCAP",
        "WAKERESRANK",
        "BATCHCRITF",
        "BATCHPER",
        "STNFAMLOC",
        "SETUPGRP",
        "STNFAMSTEP_ACTLIST",
        "PRERULERWL",
    )
    fams: dict[str, _Row] = {}
    for row in tt.rows:
        f = row["STNFAM"]
        if not f:
            raise ConfigError([tt.where(row, "STNFAM") + ": empty family name"])
        if f in fams:
            raise ConfigError(
                [
                    tt.where(row, "STNFAM")
                    + f": family {f!r} listed twice (first on line {fams[f].line})"
                ]
            )
        if not re.match(r"^[A-Za-z0-9_.\-]+$", f):
            raise ConfigError(
                [tt.where(row, "STNFAM") + f": family {f!r} has characters a tool id cannot hold"]
            )
        q = tt.num(row, "STNQTY")
        if q < 1 or q != int(q):
            raise ConfigError(
                [
                    tt.where(row, "STNQTY")
                    + f": expected a whole number of tools >= 1, got {row['STNQTY']!r}"
                ]
            )
        fams[f] = row
    if not fams:
        raise ConfigError([f"{tt.path}: no tool families"])
    return tt, fams


# ---- parts and routes (part.txt, route_N.txt)

_RouteRows = list[tuple[_Table, _Row]]


def _read_routes(
    tables: _Tables,
) -> tuple[dict[str, str], dict[str, _RouteRows], list[_Table]]:
    """Read ``part.txt`` and the route files it names.

    Returns
    -------
    (part_route, routes, route_tables)
        Part -> route id; route id -> its step rows in order; the route files read.
    """
    pt = tables.required("part.txt")
    pt.need("PART", "ROUTEFILE", "ROUTE")
    routes: dict[str, _RouteRows] = {}
    part_route: dict[str, str] = {}
    for row in pt.rows:
        part, rfile, rid = row["PART"], row["ROUTEFILE"], row["ROUTE"]
        if not part or not rid or not rfile:
            raise ConfigError([pt.where(row) + ": PART, ROUTEFILE and ROUTE are required"])
        part_route[part] = rid
        if rid in routes:
            continue
        routes[rid] = _route_rows(tables.required(rfile), rid)

    route_tables = [t for t in tables.opened if t.name.startswith("route")]
    for rt in route_tables:
        rt.optional(
            "PTIME2",
            "DESC",
            "BATCHMN",
            "BATCHMX",
            "SETUP",
            "WHEN",
            "STIME",
            "STUNITS",
            "SVESTN",
            "FORSTEP",
            "BatchInterval",
            "BatchIntUnits",
            "PartInterval",
            "PartIntUnits",
            "SDIST",
            "STIME2",
            "RWKSTEP",
            "REWORK",
            "RWKTYPE",
            "StepPercent",
            "STEP_CQT",
            "CQT",
            "CQTUNITS",
        )
    return part_route, routes, route_tables


def _route_rows(rt: _Table, rid: str) -> _RouteRows:
    """Return the step rows of route ``rid``, checked to be that route's steps 1, 2, ..."""
    rt.need("ROUTE", "STEP", "STNFAM", "PDIST", "PTIME", "PTUNITS", "PTPER")
    rows = []
    for r in rt.rows:
        if r["ROUTE"] != rid:
            raise ConfigError(
                [
                    rt.where(r, "ROUTE")
                    + f": route {r['ROUTE']!r}, but part.txt names {rid!r} for this file"
                ]
            )
        rows.append((rt, r))
    for i, (_t, r) in enumerate(rows, start=1):
        if rt.num(r, "STEP") != i:
            raise ConfigError(
                [
                    rt.where(r, "STEP")
                    + f": expected step {i} (steps must run 1, 2, ...), got {r['STEP']!r}"
                ]
            )
    if not rows:
        raise ConfigError([f"{rt.path}: route {rid!r} has no steps"])
    return rows


# ---- route steps


@dataclass
class _Steps:
    """The routes' steps, and what they tell the tool groups."""

    routes: list[dict[str, Any]] = field(default_factory=list)
    steps_on: Counter[str] = field(default_factory=Counter)  # family -> steps it serves
    batch_range: dict[str, tuple[int, int]] = field(default_factory=dict)  # widest, wafers
    setup_users: defaultdict[str, set[str]] = field(
        default_factory=lambda: defaultdict(set)
    )  # setup -> families whose steps need it
    setup_time: dict[tuple[str, str], tuple[dict[str, Any], str]] = field(
        default_factory=dict
    )  # (family, setup) -> (time from a step's STIME, where)


def _route_steps(
    routes: dict[str, _RouteRows], fams: dict[str, _Row], tool_file: str, report: ImportReport
) -> _Steps:
    """Convert every route's step rows into plant steps."""
    acc = _Steps()
    for rid, rows in routes.items():
        n = len(rows)
        steps = [_step(t, r, n, fams, tool_file, acc, report) for t, r in rows]
        acc.routes.append({"id": rid, "steps": steps})
    return acc


def _step(
    t: _Table,
    r: _Row,
    n: int,
    fams: dict[str, _Row],
    tool_file: str,
    acc: _Steps,
    report: ImportReport,
) -> dict[str, Any]:
    """Convert one step row of a route of ``n`` steps."""
    fam = r["STNFAM"]
    if fam not in fams:
        raise ConfigError(
            [t.where(r, "STNFAM") + f": unknown tool family {fam!r} (not in {tool_file})"]
        )
    acc.steps_on[fam] += 1
    unit = t.unit(r, "PTUNITS")
    st: dict[str, Any] = {"tool_group": fam}
    if r.get("DESC"):
        st["name"] = r["DESC"]
    st["process_time"] = t.dist(
        r, "PDIST", "PTIME", "PTIME2" if "PTIME2" in t.header else None, unit
    )
    per = {"per_piece": "wafer", "per_lot": "lot", "per_batch": "batch"}.get(r["PTPER"].lower())
    if per is None:
        raise ConfigError(
            [
                t.where(r, "PTPER")
                + f": unknown PTPER {r['PTPER']!r} (per_piece, per_lot, per_batch)"
            ]
        )
    st["per"] = per
    _step_batch(t, r, st, acc)
    if r.get("SETUP"):
        _step_setup(t, r, st, acc, report)
    if r.get("SVESTN", "").lower() == "yes" or r.get("FORSTEP"):
        report.add(
            "route SVESTN/FORSTEP: a later step must run on the tool this step used (steps)"
        )
    if r.get("PartInterval"):
        st["wafer_interval_s"] = _r(t.seconds(r, "PartInterval", "PartIntUnits"))
    if r.get("BatchInterval"):
        st["batch_interval_s"] = _r(t.seconds(r, "BatchInterval", "BatchIntUnits"))
    if r.get("RWKSTEP") or r.get("REWORK"):
        _step_rework(t, r, st, report)
    if r.get("StepPercent"):
        _step_sampling(t, r, st)
    if r.get("STEP_CQT") or r.get("CQT"):
        _step_queue_time(t, r, n, st)
    return st


def _step_batch(t: _Table, r: _Row, st: dict[str, Any], acc: _Steps) -> None:
    """Add the step's batch (BATCHMN/BATCHMX) and widen its family's batch range."""
    fam = st["tool_group"]
    if r.get("BATCHMN") or r.get("BATCHMX"):
        bmin = int(t.num(r, "BATCHMN", default=1))
        bmax = int(t.num(r, "BATCHMX", default=bmin))
        if bmax < bmin or bmin < 1:
            raise ConfigError(
                [t.where(r, "BATCHMX") + f": batch {bmin}..{bmax} wafers is not a valid range"]
            )
        st["batch"] = {"min_wafers": bmin, "max_wafers": bmax}
        lo, hi = acc.batch_range.get(fam, (bmin, bmax))
        acc.batch_range[fam] = (min(lo, bmin), max(hi, bmax))
    elif st["per"] == "batch":
        raise ConfigError([t.where(r, "BATCHMN") + ": a per_batch step needs BATCHMN/BATCHMX"])


def _step_setup(t: _Table, r: _Row, st: dict[str, Any], acc: _Steps, report: ImportReport) -> None:
    """Add the step's setup (SETUP, WHEN) and remember its setup time (STIME)."""
    fam = st["tool_group"]
    su = r["SETUP"]
    st["setup"] = su
    acc.setup_users[su].add(fam)
    when = r.get("WHEN", "").lower()
    if when not in ("", "need"):
        report.add(
            f"route WHEN={when}: setup on every visit, not only when the tool's setup differs (steps)"
        )
    if not r.get("STIME"):
        return
    time = (
        t.dist(
            r,
            "SDIST",
            "STIME",
            "STIME2" if "STIME2" in t.header else None,
            t.unit(r, "STUNITS"),
        )
        if r.get("SDIST")
        else {"dist": "constant", "value": _r(t.seconds(r, "STIME", "STUNITS"))}
    )
    key = (fam, su)
    if key in acc.setup_time and acc.setup_time[key][0] != time:
        report.add(
            "route STIME: different setup times for one setup on one family (steps; first kept)"
        )
    else:
        acc.setup_time[key] = (time, t.where(r, "STIME"))


def _step_rework(t: _Table, r: _Row, st: dict[str, Any], report: ImportReport) -> None:
    """Add the step's rework (RWKSTEP, REWORK percent, RWKTYPE)."""
    to = int(t.num(r, "RWKSTEP"))
    pct = t.num(r, "REWORK")
    if not 0 <= pct <= 100:
        raise ConfigError([t.where(r, "REWORK") + f": rework percentage {pct:g} is not in 0..100"])
    if not 1 <= to < int(r["STEP"]):
        raise ConfigError(
            [t.where(r, "RWKSTEP") + f": rework step {to} must come before step {r['STEP']}"]
        )
    if pct > 0:
        st["rework"] = {"to_step": to, "probability": _r(pct / 100)}
    kind = r.get("RWKTYPE", "lot").lower() or "lot"
    if kind != "lot":
        report.add(f"route RWKTYPE={kind}: rework of part of a lot (steps)")


def _step_sampling(t: _Table, r: _Row, st: dict[str, Any]) -> None:
    """Add the step's sampling percentage (StepPercent), unless every lot runs it."""
    pct = t.num(r, "StepPercent")
    if not 0 < pct <= 100:
        raise ConfigError(
            [t.where(r, "StepPercent") + f": sampling percentage {pct:g} is not in (0, 100]"]
        )
    if pct < 100:
        st["sample_pct"] = _r(pct)


def _step_queue_time(t: _Table, r: _Row, n: int, st: dict[str, Any]) -> None:
    """Add the step's critical queue time (STEP_CQT, CQT) to a later step."""
    to = int(t.num(r, "STEP_CQT"))
    if not int(r["STEP"]) < to <= n:
        raise ConfigError(
            [
                t.where(r, "STEP_CQT")
                + f": queue-time target step {to} must come after step {r['STEP']} and be <= {n}"
            ]
        )
    st["queue_time_limit"] = {
        "to_step": to,
        "limit_s": _r(t.seconds(r, "CQT", "CQTUNITS")),
    }


# ---- setups (route STIME, setup.txt, setupgrp.txt)

_GroupSetups = defaultdict[str, dict[tuple[str | None, str], dict[str, Any]]]


def _setup_times(tables: _Tables, acc: _Steps, report: ImportReport) -> _GroupSetups:
    """Return each family's setup changes: route STIME (from any setup), then ``setup.txt``.

    ``setup.txt`` times are sequence dependent (current -> new setup); a change from any
    setup that a route's STIME already times keeps the route's time.
    """
    group_setups: _GroupSetups = defaultdict(dict)
    for (fam, su), (time, _where) in acc.setup_time.items():
        group_setups[fam][(None, su)] = {"to_setup": su, "time": time}
    sut = tables.optional("setup.txt")
    if sut is not None:
        sut.need("CURSETUP", "NEWSETUP", "STIME", "STUNITS")
        sut.optional("SDIST", "STIME2")
        for row in sut.rows:
            _setup_change(sut, row, acc.setup_users, group_setups, report)
    return group_setups


def _setup_change(
    sut: _Table,
    row: _Row,
    setup_users: dict[str, set[str]],
    group_setups: _GroupSetups,
    report: ImportReport,
) -> None:
    """Add one ``setup.txt`` row to every family whose steps need its new setup."""
    frm, new_su = row["CURSETUP"] or None, row["NEWSETUP"]
    if not new_su:
        raise ConfigError([sut.where(row, "NEWSETUP") + ": empty setup name"])
    if row.get("SDIST"):
        time = sut.dist(
            row,
            "SDIST",
            "STIME",
            "STIME2" if "STIME2" in sut.header else None,
            sut.unit(row, "STUNITS"),
        )
    else:
        time = {"dist": "constant", "value": _r(sut.seconds(row, "STIME", "STUNITS"))}
    users = setup_users.get(new_su, set())
    if not users:
        report.add("setup.txt: changes to a setup no route step needs (rows)")
        return
    for fam in sorted(users):
        change_key = (frm, new_su)
        if change_key in group_setups[fam] and frm is None:
            report.add("setup.txt: change also timed by the route's STIME (rows; route kept)")
            continue
        entry: dict[str, Any] = {"from_setup": frm} if frm else {}
        entry.update({"to_setup": new_su, "time": time})
        group_setups[fam][change_key] = entry


def _min_runs(tables: _Tables, report: ImportReport) -> dict[str, int]:
    """Read ``setupgrp.txt``: setup group -> its minimum run in lots (the smallest MINRUN)."""
    min_run: dict[str, int] = {}
    sgt = tables.optional("setupgrp.txt")
    if sgt is None:
        return min_run
    sgt.need("SETUPGRP", "SETUP", "MINRUN")
    current = ""
    runs: dict[str, list[int]] = defaultdict(list)
    for row in sgt.rows:
        current = row["SETUPGRP"] or current  # a blank group continues the one above
        if not current:
            raise ConfigError(
                [sgt.where(row, "SETUPGRP") + ": no setup group named above this row"]
            )
        if row.get("MINRUN"):
            runs[current].append(int(sgt.num(row, "MINRUN")))
    for grp, vals in runs.items():
        min_run[grp] = max(1, min(vals))
        if len(set(vals)) > 1:
            report.add(
                "setupgrp.txt MINRUN: different minimum runs per setup in one group (groups; smallest kept)"
            )
    return min_run


# ---- tool groups (dispatch, load/unload, setups, min runs)


def _tool_groups(
    tt: _Table,
    fams: dict[str, _Row],
    acc: _Steps,
    group_setups: _GroupSetups,
    min_run: dict[str, int],
    report: ImportReport,
) -> list[dict[str, Any]]:
    """Return one tool group per family, reporting the family columns the plant cannot express."""
    out = []
    for fam, row in fams.items():
        out.append(_tool_group(tt, fam, row, acc, group_setups, min_run, report))
        _family_features(tt, fam, row, acc.steps_on[fam], report)
    return out


def _tool_group(
    tt: _Table,
    fam: str,
    row: _Row,
    acc: _Steps,
    group_setups: _GroupSetups,
    min_run: dict[str, int],
    report: ImportReport,
) -> dict[str, Any]:
    """Return the tool group of one family: dispatch, setups, min run, load/unload, cascade."""
    ranks = [x.strip() for x in row["FWLRANK"].split(";") if x.strip()]
    rule = row["RULE"]
    has_setups = bool(group_setups.get(fam)) or any(fam in u for u in acc.setup_users.values())
    g: dict[str, Any] = {
        "id": fam,
        "dispatch": _dispatch(fam, rule, ranks, has_setups, report),
    }
    if group_setups.get(fam):
        g["setups"] = list(group_setups[fam].values())
    sgrp = row.get("SETUPGRP", "")
    if sgrp:
        if sgrp not in min_run:
            raise ConfigError(
                [tt.where(row, "SETUPGRP") + f": setup group {sgrp!r} is not in setupgrp.txt"]
            )
        if min_run[sgrp] > 1:
            g["min_run_lots"] = min_run[sgrp]
    load, unload = (
        tt.seconds(row, "LTIME", "LTUNITS", default=0.0),
        tt.seconds(row, "ULTIME", "ULTUNITS", default=0.0),
    )
    if load:
        g["load_s"] = _r(load)
    if unload:
        g["unload_s"] = _r(unload)
    if row.get("STNCAP"):
        cap = tt.num(row, "STNCAP")
        if cap != int(cap) or not 1 <= cap <= 16:
            raise ConfigError(
                [tt.where(row, "STNCAP") + f": {row['STNCAP']!r} is not a lot count 1-16"]
            )
        if cap > 1:
            g["cascade_lots"] = int(cap)
    return g


def _family_features(tt: _Table, fam: str, row: _Row, n_steps: int, report: ImportReport) -> None:
    """Report the columns of a family the plant cannot express; reject unsupported BATCHPER."""
    if row.get("WAKERESRANK"):
        report.add(f"tool WAKERESRANK {row['WAKERESRANK']}: choice among idle tools (families)")
    # Steps get no recipe, so only lots at the same route step share a batch.
    if row.get("BATCHCRITF") and row["BATCHCRITF"].lower() != "crit_sameroutestep":
        report.add(f"tool BATCHCRITF {row['BATCHCRITF']}: which lots may share a batch (families)")
    if row.get("BATCHPER") and row["BATCHPER"].lower() not in ("piece", "pieces", "wafer"):
        raise ConfigError(
            [
                tt.where(row, "BATCHPER")
                + f": batch sizes per {row['BATCHPER']!r} are not supported (piece)"
            ]
        )
    if row.get("STNFAMSTEP_ACTLIST"):
        report.add(
            f"tool STNFAMSTEP_ACTLIST {row['STNFAMSTEP_ACTLIST']}: AutoSched activity list (families)"
        )
    if row.get("PRERULERWL") and row["PRERULERWL"].lower() != "no":
        report.add(f"tool PRERULERWL {row['PRERULERWL']}: pre-rule workload check (families)")
    loc = row.get("STNFAMLOC", "")
    if loc and loc.lower() != "fab":
        report.add(
            f"tool STNFAMLOC {loc}: no from-to time for this location, the fab's transport time applies (route steps)",
            n_steps,
        )
    if row.get("STN") and row["STN"] != fam:
        report.add(
            "tool STN: station name differing from its family, tools are named <family>_<n> (families)"
        )


def _dispatch(
    fam: str, rule: str, ranks: list[str], has_setups: bool, report: ImportReport
) -> str:
    """Map an AutoSched rule and rank list onto a dispatch rule (priority always ranks first)."""
    r = rule.lower()
    known = {"rank_hp", "rank_rsetup", "rank_fifo", "rank_cr"}
    low = [x.lower() for x in ranks]
    for x in low:
        if x not in known:
            report.add(f"tool FWLRANK {x}: ranking criterion (families)")
    if r not in ("rule_hotlotfirst", "rule_lssu"):
        report.add(f"tool RULE {rule}: dispatch rule (families)")
    if low and low[0] != "rank_hp":
        report.add(
            "tool FWLRANK without rank_HP first: the plant always ranks priority first (families)"
        )
    last = next((x for x in reversed(low) if x in ("rank_fifo", "rank_cr")), "rank_fifo")
    setup_rank = "rank_rsetup" in low or r == "rule_lssu"
    if has_setups and setup_rank:
        if last == "rank_cr":
            report.add(
                "tool FWLRANK rank_CR after rank_RSETUP: setup_avoid breaks ties FIFO, not by critical ratio (families)"
            )
        return s.DispatchRule.SETUP_AVOID.value
    return s.DispatchRule.CR.value if last == "rank_cr" else s.DispatchRule.FIFO.value
