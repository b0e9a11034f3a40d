"""The SMT2020 importer at full scale: both base models, the shipped plant, the mapping.

Expected sizes are counted from the raw tables here (with the csv module, independently of
the importer) and cross-checked against the figures the testbed's README states. The raw
data live outside the repository; set ``SMT2020_DIR`` to the directory holding
``SMT2020_HVLM`` and ``SMT2020_LVHM`` (default: ``../shared/datasets/smt2020`` beside the
repository, where our machines and CI keep it).
"""

from __future__ import annotations

import csv
import os
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from _requirements import requires

from factory_twin.__main__ import main
from factory_twin.model import schema as s
from factory_twin.model.config import atomic_write_text, load_plant
from factory_twin.model.config_checks import check_references
from factory_twin.model.layout import footprint_polygon
from factory_twin.model.smt2020 import CITATION, Smt2020Import, import_smt2020

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "plant_configs" / "smt2020_hvlm.yaml"
_BESIDE = Path(__file__).resolve().parents[3] / "shared" / "datasets" / "smt2020"
DATA = Path(os.environ.get("SMT2020_DIR", str(_BESIDE)))
MODELS = ["SMT2020_HVLM", "SMT2020_LVHM"]

needs_data = requires(
    (DATA / "SMT2020_HVLM").is_dir(),
    f"SMT2020 raw data not found in {DATA} (set SMT2020_DIR to the directory holding SMT2020_HVLM)",
)

# Figures stated in the dataset's README (counted by its authors from the same files).
README = {
    "SMT2020_HVLM": {"families": 106, "tools": 1443, "steps": 926, "wip": 2255, "routes": 2},
    "SMT2020_LVHM": {"families": 106, "tools": 1313, "steps": 4013, "wip": 2156, "routes": 10},
}

# The exact lists of what cannot be expressed: they may only shrink as the format grows.
ACTLIST = (
    "tool STNFAMSTEP_ACTLIST Custom_actlist_ASISemiOpersDuringSetupAndAdditionalLoadUnload:"
    " AutoSched activity list (families)"
)
DELAY = (
    "tool STNFAMLOC Delay: no from-to time for this location, the fab's transport time"
    " applies (route steps)"
)
RPT = "order RPT#: cap on the number of releases, the plant releases without end (orders)"
SAME_TOOL = "route SVESTN/FORSTEP: a later step must run on the tool this step used (steps)"
STN = "tool STN: station name differing from its family, tools are named <family>_<n> (families)"
WAKE = "tool WAKERESRANK wake_LeastSetupTime: choice among idle tools (families)"
CR_TIE = (
    "tool FWLRANK rank_CR after rank_RSETUP: setup_avoid breaks ties FIFO, not by critical"
    " ratio (families)"
)
UNMODELLED = {
    "SMT2020_HVLM": {
        ACTLIST: 106, DELAY: 34, RPT: 5, SAME_TOOL: 18, STN: 1, WAKE: 9,
    },
    "SMT2020_LVHM": {
        ACTLIST: 106, DELAY: 147, RPT: 21, SAME_TOOL: 73, STN: 1, WAKE: 9, CR_TIE: 9,
    },
}  # fmt: skip
IGNORED = {
    "SMT2020_HVLM": {
        "WIP.txt:ORDER": 2255, "downcal.txt:IGNORE": 11, "order.txt:ORDER": 5,
        "part.txt:PARTFAM": 2, "part.txt:PARTGRP": 2, "pmcal.txt:IGNORE": 292,
        "route_*.txt:IGNORE": 926, "setup.txt:IGNORE": 13, "setupgrp.txt:IGNORE": 9,
    },
    "SMT2020_LVHM": {
        "WIP.txt:ORDER": 2156, "downcal.txt:IGNORE": 11, "order.txt:ORDER": 21,
        "part.txt:PARTFAM": 10, "part.txt:PARTGRP": 10, "pmcal.txt:IGNORE": 292,
        "route_*.txt:IGNORE": 4013, "setup.txt:IGNORE": 13, "setupgrp.txt:IGNORE": 9,
    },
}  # fmt: skip


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as fh:
        return [
            {k: (v or "").strip() for k, v in r.items() if k}
            for r in csv.DictReader(fh, delimiter="\t")
            if any((v or "").strip() for k, v in r.items() if k)
        ]


def _raw(model: str) -> dict[str, Any]:
    d = DATA / model
    tools = _rows(d / "tool.txt.1l")
    parts = _rows(d / "part.txt")
    routes = {p["ROUTE"]: _rows(d / p["ROUTEFILE"]) for p in parts}
    return {
        "tools": tools,
        "parts": parts,
        "routes": routes,
        "orders": _rows(d / "order.txt"),
        "wip": _rows(d / "WIP.txt"),
        "pmcal": {r["PMCALNAME"]: r for r in _rows(d / "pmcal.txt")},
        "attach": _rows(d / "attach.txt"),
        "setup": _rows(d / "setup.txt"),
        "fromto": _rows(d / "fromto.txt"),
    }


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Smt2020Import, Path]]:
    """Both base models imported once, and written as the command writes them."""
    out: dict[str, tuple[Smt2020Import, Path]] = {}
    if not (DATA / "SMT2020_HVLM").is_dir():
        return out
    tmp = tmp_path_factory.mktemp("smt2020")
    for model in MODELS:
        path = tmp / f"{model.lower()}.yaml"
        result = import_smt2020(DATA / model)
        atomic_write_text(path, result.text())
        out[model] = (result, path)
    return out


@needs_data
def test_command_writes_the_imported_plant_and_prints_the_report(
    imported: dict, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result, written = imported["SMT2020_HVLM"]
    out = tmp_path / "hvlm.yaml"
    assert main(["import-smt2020", str(DATA / "SMT2020_HVLM"), "-o", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == written.read_text(encoding="utf-8") == result.text()
    printed = capsys.readouterr().out
    assert "tools: 1,443" in printed and "Not modelled (6 features):" in printed
    assert result.report.clock_zero == "2018-01-01 00:00:00"
    assert f"wrote {out}" in printed


@needs_data
@pytest.mark.parametrize("model", MODELS)
def test_counts_match_the_raw_tables(imported: dict, model: str) -> None:
    result, _path = imported[model]
    spec = result.document.spec
    raw = _raw(model)
    n_tools = sum(int(float(r["STNQTY"])) for r in raw["tools"])
    n_steps = sum(len(rows) for rows in raw["routes"].values())
    assert len(spec.equipment) == n_tools == README[model]["tools"]
    assert len(spec.tool_groups) == len(raw["tools"]) == README[model]["families"]
    assert len({e.group for e in spec.equipment}) == len(raw["tools"])
    assert len(spec.equipment_types) == len(raw["tools"])
    assert sum(len(r.steps) for r in spec.routes) == n_steps == README[model]["steps"]
    assert len(spec.routes) == len(raw["parts"]) == README[model]["routes"]
    assert len(spec.products) == len(raw["orders"])
    assert {p.route for p in spec.products} == {r.id for r in spec.routes}
    assert len(spec.initial_wip) == len(raw["wip"]) == README[model]["wip"]
    assert {lot.id for lot in spec.initial_wip} == {r["LOT"] for r in raw["wip"]}
    assert {b.name.replace(" ", "_") for b in spec.site.bays} == {
        r["STNGRP"] for r in raw["tools"]
    }
    for r in raw["tools"]:
        n = int(float(r["STNQTY"]))
        assert [e.id for e in spec.equipment if e.group == r["STNFAM"]] == [
            f"{r['STNFAM']}_{k}" for k in range(1, n + 1)
        ]
    assert result.report.counts["tools"] == n_tools
    # cascading families (STNCAP) hold that many lots at once
    caps = {r["STNFAM"]: int(float(r["STNCAP"])) for r in raw["tools"] if r.get("STNCAP")}
    assert len(caps) == 45
    assert {g.id: g.cascade_lots for g in spec.tool_groups if g.cascade_lots > 1} == caps


@needs_data
@pytest.mark.parametrize("model", MODELS)
def test_report_lists_exactly_what_is_not_modelled(imported: dict, model: str) -> None:
    report = imported[model][0].report
    assert report.unmodelled == UNMODELLED[model]
    assert report.ignored == IGNORED[model]
    text = "\n".join(report.lines())
    for feature in UNMODELLED[model]:
        assert feature in text


@needs_data
@pytest.mark.parametrize("model", MODELS)
def test_written_plant_validates_through_the_cli(
    imported: dict, model: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _result, path = imported[model]
    assert main(["validate", str(path)]) == 0
    out = capsys.readouterr().out
    tools = README[model]["tools"]
    assert f"{tools} tools" in out
    assert f"{README[model]['steps']} steps" in out
    head = path.read_text(encoding="utf-8")[:3000]
    assert head.startswith(f"# {model} imported by 'factory-twin import-smt2020'.")
    assert CITATION in head


@needs_data
@pytest.mark.parametrize("model", MODELS)
def test_layout_has_no_overlaps_and_every_tool_inside_its_bay(imported: dict, model: str) -> None:
    spec = imported[model][0].document.spec
    assert check_references(spec) == []
    fw, fd = spec.site.floor_m
    bays = {b.id: b for b in spec.site.bays}
    types = {t.id: t for t in spec.equipment_types}
    boxes = []
    for e in spec.equipment:
        poly = footprint_polygon(types[e.type].shape.footprint_m(), e.position_m, e.rotation_deg)
        xs, ys = [p[0] for p in poly], [p[1] for p in poly]
        b = bays[e.bay]
        (bx, by), (bw, bd) = b.origin_m, b.size_m
        # The whole footprint, not only the position, lies in the bay.
        assert bx <= min(xs) and max(xs) <= bx + bw and by <= min(ys) and max(ys) <= by + bd, e.id
        boxes.append((min(xs), max(xs), min(ys), max(ys)))
    for b in spec.site.bays:
        assert b.origin_m[0] >= 0 and b.origin_m[0] + b.size_m[0] <= fw
        assert b.origin_m[1] >= 0 and b.origin_m[1] + b.size_m[1] <= fd
    # Bays do not overlap each other either.
    rects = [
        (b.origin_m[0], b.origin_m[0] + b.size_m[0], b.origin_m[1], b.origin_m[1] + b.size_m[1])
        for b in spec.site.bays
    ]
    for i, a in enumerate(rects):
        for c in rects[i + 1 :]:
            assert a[1] <= c[0] or c[1] <= a[0] or a[3] <= c[2] or c[3] <= a[2]
    # Tool footprints are disjoint (a direct sweep, independent of the validator's).
    boxes.sort()
    for i, a in enumerate(boxes):
        for c in boxes[i + 1 :]:
            if c[0] >= a[1]:
                break
            assert c[2] >= a[3] or a[2] >= c[3]


@needs_data
@pytest.mark.parametrize("model", MODELS)
def test_every_route_step_has_tools(imported: dict, model: str) -> None:
    spec = imported[model][0].document.spec
    groups = spec.groups()
    for r in spec.routes:
        for st in r.steps:
            assert groups.get(st.tool_group), (r.id, st.name)


@needs_data
def test_route_steps_carry_the_raw_values(imported: dict) -> None:
    """Every step of every HVLM route against its raw row, column by column."""
    spec = imported["SMT2020_HVLM"][0].document.spec
    raw = _raw("SMT2020_HVLM")
    for rid, rows in raw["routes"].items():
        steps = spec.route(rid).steps
        assert len(steps) == len(rows)
        for st, row in zip(steps, rows, strict=True):
            assert st.tool_group == row["STNFAM"]
            assert st.name == row["DESC"]
            mean, half = float(row["PTIME"]) * 60, float(row["PTIME2"]) * 60
            assert row["PDIST"] == "uniform" and row["PTUNITS"] == "min"
            assert isinstance(st.process_time, s.Uniform)
            assert st.process_time.low == pytest.approx(mean - half, abs=1e-5)
            assert st.process_time.high == pytest.approx(mean + half, abs=1e-5)
            assert (
                st.per
                == {"per_piece": "wafer", "per_lot": "lot", "per_batch": "batch"}[row["PTPER"]]
            )
            if row["BATCHMN"]:
                assert st.batch == s.BatchSpec(
                    min_wafers=int(row["BATCHMN"]), max_wafers=int(row["BATCHMX"])
                )
            else:
                assert st.batch is None
            assert st.setup == (row["SETUP"] or None)
            assert st.sample_pct == pytest.approx(float(row["StepPercent"] or 100))
            if row["RWKSTEP"]:
                assert st.rework is not None and st.rework.to_step == int(row["RWKSTEP"])
                assert st.rework.probability == pytest.approx(float(row["REWORK"]) / 100)
            else:
                assert st.rework is None
            if row["STEP_CQT"]:
                assert row["CQTUNITS"] == "hr"
                assert st.queue_time_limit is not None
                assert st.queue_time_limit.to_step == int(row["STEP_CQT"])
                assert st.queue_time_limit.limit_s == pytest.approx(float(row["CQT"]) * 3600)
            else:
                assert st.queue_time_limit is None
            for col, attr in (
                ("PartInterval", "wafer_interval_s"),
                ("BatchInterval", "batch_interval_s"),
            ):
                want = float(row[col]) * 60 if row[col] else None
                assert getattr(st, attr) == (pytest.approx(want) if want else None)


@needs_data
def test_tool_groups_setups_and_dispatch(imported: dict) -> None:
    spec = imported["SMT2020_HVLM"][0].document.spec
    raw = _raw("SMT2020_HVLM")
    steps = [st for r in spec.routes for st in r.steps]
    with_setups = {st.tool_group for st in steps if st.setup}
    for r in raw["tools"]:
        g = spec.tool_group(r["STNFAM"])
        assert g.load_s == float(r["LTIME"]) * 60 and g.unload_s == float(r["ULTIME"]) * 60
        # Priority always ranks first in the simulator; rank_RSETUP matters only with setups.
        assert g.dispatch == (
            s.DispatchRule.SETUP_AVOID if r["STNFAM"] in with_setups else s.DispatchRule.FIFO
        )
        assert g.min_run_lots == (7 if r["SETUPGRP"] == "Implant_Gas" else 1)
    # Sequence-dependent changes from setup.txt; "from any" when CURSETUP is empty.
    for row in raw["setup"]:
        fam = next(st.tool_group for st in steps if st.setup == row["NEWSETUP"])
        change = next(
            c
            for c in spec.tool_group(fam).setups
            if c.to_setup == row["NEWSETUP"] and c.from_setup == (row["CURSETUP"] or None)
        )
        assert change.time == s.Constant(value=float(row["STIME"]) * 60)
    # Setup times given in the route (reticles, Implant_90/119) are changes from any setup.
    route_rows = [
        row for rows in raw["routes"].values() for row in rows if row["SETUP"] and row["STIME"]
    ]
    assert route_rows
    for row in route_rows:
        g = spec.tool_group(row["STNFAM"])
        change = next(c for c in g.setups if c.to_setup == row["SETUP"])
        assert change.from_setup is None
        assert change.time == s.Constant(value=float(row["STIME"]) * 60)


@needs_data
def test_maintenance_products_wip_and_transport(imported: dict) -> None:
    spec = imported["SMT2020_HVLM"][0].document.spec
    raw = _raw("SMT2020_HVLM")
    # PM calendars attached per family, first occurrences staggered over the family's tools.
    for att in raw["attach"]:
        if att["CALTYPE"] != "pm":
            continue
        cal = raw["pmcal"][att["CALNAME"]]
        tools = [e for e in spec.equipment if e.group == att["RESNAME"]]
        by_wafers = cal["PMCALTYPE"] == "mtbpm_by_pieces"
        for k, e in enumerate(tools, start=1):
            pm = next(p for p in e.pm if p.name == att["CALNAME"])
            assert pm.basis == ("wafers" if by_wafers else "calendar")
            unit = 1.0 if by_wafers else 86400.0
            assert pm.interval == pytest.approx(float(cal["MTBPM"]) * unit)
            assert pm.first == pytest.approx(float(att["FOA"]) * unit * k / len(tools))
            mean, half = float(cal["MTTR"]) * 3600, float(cal["MTTR2"]) * 3600
            assert isinstance(pm.duration, s.Uniform)
            assert (pm.duration.low, pm.duration.high) == pytest.approx((mean - half, mean + half))
    assert sum(len(e.pm) for e in spec.equipment) == sum(
        sum(1 for e in spec.equipment if e.group == a["RESNAME"])
        for a in raw["attach"]
        if a["CALTYPE"] == "pm"
    )
    # Failures per area, first failure exponential like the rest.
    area = {r["STNFAM"]: r["STNGRP"] for r in raw["tools"]}
    down_areas = {a["RESNAME"] for a in raw["attach"] if a["CALTYPE"] == "down"}
    for e in spec.equipment:
        if area[e.group] in down_areas:
            assert e.reliability is not None and e.reliability.basis == "calendar"
            assert e.reliability.mtbf == s.Exponential(dist="exponential", mean=10080 * 60)
            assert e.reliability.first_s == s.Exponential(dist="exponential", mean=10080 * 60)
        else:
            assert e.reliability is None and area[e.group].startswith("Delay")
    # One product per order line: priority class, release interval, due offset.
    t0 = datetime(2018, 1, 1)
    for p, o in zip(spec.products, raw["orders"], strict=True):
        assert p.priority == int(o["PRIOR"]) and p.wafers_per_lot == int(o["PIECES"])
        assert p.release.mode == "rate"
        assert isinstance(p.release.interarrival, s.Constant)
        assert p.release.interarrival.value == pytest.approx(float(o["REPEAT"]) * 60)
        due = datetime.strptime(o["DUE"], "%m/%d/%y %H:%M:%S") - datetime.strptime(
            o["START"], "%m/%d/%y %H:%M:%S"
        )
        assert p.due_after_s == due.total_seconds()
        assert p.route == next(x["ROUTE"] for x in raw["parts"] if x["PART"] == o["PART"])
    assert [p.id for p in spec.products] == [
        "part_3",
        "part_4",
        "part_3_hot",
        "part_4_hot",
        "part_3_superhot",
    ]
    products = {p.id: p for p in spec.products}
    for lot, w in zip(spec.initial_wip, raw["wip"], strict=True):
        prod = products[lot.product]
        assert lot.step == int(w["CURSTEP"])
        assert (lot.priority or prod.priority) == int(w["PRIOR"]) == prod.priority
        assert lot.due_s == (datetime.strptime(w["DUE"], "%m/%d/%y %H:%M:%S") - t0).total_seconds()
    ft = raw["fromto"][0]
    mean, half = float(ft["DTIME"]) * 60, float(ft["DTIME2"]) * 60
    assert spec.transport.fixed_time == s.Uniform(
        dist="uniform", low=mean - half, high=mean + half
    )
    assert (mean - half, mean + half) == (300, 600)  # the paper's U[5, 10] min


@needs_data
def test_shipped_plant_is_a_fresh_import(imported: dict) -> None:
    result, _path = imported["SMT2020_HVLM"]
    text = SHIPPED.read_text(encoding="utf-8")
    assert text == result.text(), "plant_configs/smt2020_hvlm.yaml is stale: re-run import-smt2020"


def test_shipped_plant_loads_and_is_compact() -> None:
    size = SHIPPED.stat().st_size
    assert size < 3_000_000
    doc = load_plant(SHIPPED)
    spec = doc.spec
    assert (len(spec.equipment), len(spec.tool_groups), len(spec.initial_wip)) == (1443, 106, 2255)
    assert sum(len(r.steps) for r in spec.routes) == 926
    # One line per tool, step and lot: flow style keeps the file short.
    assert size / (1443 + 926 + 2255) < 400
    # The source is cited in the file itself.
    assert (
        "IEEE Transactions on Semiconductor Manufacturing 33(4), 522-531"
        in SHIPPED.read_text(encoding="utf-8")[:2000]
    )


@needs_data
def test_tools_have_shapes_tags_and_the_simulator_endpoint(imported: dict) -> None:
    spec = imported["SMT2020_HVLM"][0].document.spec
    assert [ep.id for ep in spec.endpoints] == ["simulator"]
    assert all(e.opcua is not None and e.opcua.endpoint == "simulator" for e in spec.equipment)
    for t in spec.equipment_types:
        assert 2 <= len(t.tags) <= 4, t.id
        assert t.components and t.shape.parts, t.id
        assert t.manufacturer == "synthetic"
    kinds = {t.id: t.kind for t in spec.equipment_types}
    assert kinds["Diffusion_FE_120"] is s.EquipmentKind.FURNACE
    assert kinds["LithoTrack_FE_115"] is s.EquipmentKind.LITHO_TRACK
    assert kinds["Litho_FE_92"] is s.EquipmentKind.LITHO_SCANNER
    assert kinds["Delay_32"] is s.EquipmentKind.STOCKER
    # Batch tools can hold the largest batch any of their steps asks for.
    for r in spec.routes:
        for st in r.steps:
            if st.batch is not None:
                cap = spec.equipment_type(st.tool_group).batch
                assert cap is not None and cap.max_wafers >= st.batch.max_wafers
