"""The SMT2020 importer on a tiny hand-written model: mapping details, bad input, the writer.

These run without the raw testbed data: the model is written into ``tmp_path`` in the
testbed's own table format.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from factory_twin.__main__ import main
from factory_twin.errors import ConfigError
from factory_twin.model import config
from factory_twin.model import schema as s
from factory_twin.model.smt2020 import import_smt2020, plant_yaml

TOOL_HDR = "STNFAM STN RULE FWLRANK WAKERESRANK BATCHCRITF BATCHPER LTIME LTUNITS ULTIME ULTUNITS STNCAP STNQTY STNGRP STNFAMSTEP_ACTLIST STNFAMLOC PRERULERWL SETUPGRP"
ROUTE_HDR = "ROUTE STEP DESC STNFAM PDIST PTIME PTIME2 PTUNITS PTPER BATCHMN BATCHMX SETUP WHEN STIME STUNITS SVESTN FORSTEP BatchInterval BatchIntUnits PartInterval PartIntUnits RWKSTEP REWORK RWKTYPE StepPercent STEP_CQT CQT CQTUNITS IGNORE"

TABLES: dict[str, list[str]] = {
    "tool.txt.1l": [
        TOOL_HDR,
        "ETCH_1 ETCH_1 rule_HotLotFIRST rank_HP;rank_RSETUP;rank_FIFO - - - 1 min 2 min - 2 Dry_Etch - Fab no -",
        "FURN_1 FURN_1 rule_HotLotFIRST rank_HP;rank_RSETUP;rank_FIFO - crit_sameroutestep piece 1 min 1 min - 1 Diffusion - Fab no -",
        "IMP_1 IMP_1 rule_LSSU rank_HP;rank_RSETUP;rank_FIFO - - - 1 min 1 min - 2 Implant - Fab no G1",
    ],
    "part.txt": [
        "PARTGRP PARTFAM PART ROUTEFILE ROUTE",
        "Saleable product_1 part_1 route_1.txt r_1",
    ],
    "route_1.txt": [
        ROUTE_HDR,
        "r_1 1 001_Furnace FURN_1 uniform 300 15 min per_batch 50 100 - - - - - - - - - - - - - - - - - Diffusion",
        "r_1 2 002_Etch ETCH_1 uniform 10 1 min per_lot - - - - - - - - 8 min - - - - - 50 4 2 hr Dry_Etch",
        "r_1 3 003_Implant IMP_1 constant 1.2 - min per_piece - - S1 need - - - - - - 0.9 min - - - - - - - Implant",
        "r_1 4 004_Etch ETCH_1 uniform 20 2 min per_lot - - - - - - - - - - - - 2 1.5 lot - - - - Dry_Etch",
    ],
    "order.txt": [
        "LOT PART PRIOR PIECES START RDIST REPEAT RUNITS RPT# LOTSPERRPT DUE ORDER HOTLOT",
        "Lot_1 part_1 10 25 01/01/18_00:00:00 constant 60 min - 1 01/03/18_00:00:00 O_Lot_1 no",
        "HotLot_1 part_1 20 25 01/01/18_00:00:00 constant 600 min - 1 01/02/18_00:00:00 O_HotLot_1 no",
    ],
    "WIP.txt": [
        "LOT PART PRIOR PIECES START CURSTEP DUE ORDER HOTLOT TRACE",
        "Init_1 part_1 10 25 01/01/18_00:00:00 2 01/01/18_12:00:00 O_Init_WIP - -",
        "Init_2 part_1 20 20 01/01/18_00:00:00 4 01/01/18_06:00:00 O_Init_WIP - -",
    ],
    "setup.txt": ["CURSETUP NEWSETUP STIME STUNITS IGNORE", "- S1 30 min IMP_1"],
    "setupgrp.txt": ["SETUPGRP SETUP MINRUN IGNORE", "G1 S1 5 IMP_1"],
    "pmcal.txt": [
        "PMCALNAME PMCALTYPE MTBPM MTBPMUNITS MTTRDIST MTTR MTTR2 MTTRUNITS IGNORE",
        "ETCH_1_MN mtbpm_by_cal 30 day uniform 10 2 hr Dry_Etch",
        "IMP_1_WK mtbpm_by_pieces 8000 pieces uniform 4 1 hr Implant",
    ],
    "downcal.txt": [
        "DOWNCALNAME DOWNCALTYPE MTTFDIST MTTF MTTFUNITS MTTRDIST MTTR MTTRUNITS IGNORE",
        "BREAK_Dry_Etch mttf_by_cal exponential 10080 min exponential 200 min Dry_Etch",
    ],
    "attach.txt": [
        "CALNAME CALTYPE RESTYPE RESNAME FOADIST FOA FOAUNITS",
        "BREAK_Dry_Etch down stngrp Dry_Etch exponential 10080 min",
        "ETCH_1_MN pm stnfam ETCH_1 constant 10 day",
        "IMP_1_WK pm stnfam IMP_1 constant 800 -",
    ],
    "fromto.txt": ["FROMLOC TOLOC DDIST DTIME DTIME2 DUNITS", "Fab Fab uniform 7.5 2.5 min"],
}


def write_model(root: Path, tables: dict[str, list[str]] | None = None) -> Path:
    """Write a model directory: spaces separate cells, '-' is an empty cell, '_' a space."""
    d = root / "SMT2020_TINY"
    d.mkdir(exist_ok=True)
    for name, lines in (tables or TABLES).items():
        rows = []
        for i, line in enumerate(lines):
            cells = line.split(" ")
            if i:
                cells = ["" if c == "-" else c.replace("_", " ") if "/" in c else c for c in cells]
            rows.append("\t".join(cells))
        (d / name).write_text("\n".join(rows) + "\n", encoding="utf-8")
    return d


def test_tiny_model_maps_every_feature(tmp_path: Path) -> None:
    result = import_smt2020(write_model(tmp_path))
    spec = result.document.spec
    assert [e.id for e in spec.equipment] == [
        "ETCH_1_1",
        "ETCH_1_2",
        "FURN_1_1",
        "IMP_1_1",
        "IMP_1_2",
    ]
    furnace = spec.equipment_type("FURN_1")
    assert furnace.kind is s.EquipmentKind.FURNACE
    assert furnace.batch == s.BatchSpec(min_wafers=50, max_wafers=100)
    assert 2 <= len(furnace.tags) <= 4 and furnace.components
    st = spec.route("r_1").steps
    assert st[0].per == "batch" and st[0].process_time == s.Uniform(
        dist="uniform", low=17100, high=18900
    )
    assert st[1].batch_interval_s == 480 and st[1].sample_pct == 50
    assert st[1].queue_time_limit == s.QueueTimeLimit(to_step=4, limit_s=7200)
    assert st[2].per == "wafer" and st[2].setup == "S1" and st[2].wafer_interval_s == 54
    assert st[2].process_time == s.Constant(value=72)
    assert st[3].rework == s.Rework(to_step=2, probability=0.015)
    etch, imp = spec.tool_group("ETCH_1"), spec.tool_group("IMP_1")
    assert etch.dispatch is s.DispatchRule.FIFO and (etch.load_s, etch.unload_s) == (60, 120)
    assert imp.dispatch is s.DispatchRule.SETUP_AVOID and imp.min_run_lots == 5
    assert imp.setups == [s.SetupChange(to_setup="S1", time=s.Constant(value=1800))]
    # PM first occurrences staggered over the family's tools; wafer PMs count wafers.
    e1, e2 = spec.tool("ETCH_1_1"), spec.tool("ETCH_1_2")
    assert [(p.basis, p.interval, p.first) for p in e1.pm] == [("calendar", 30 * 86400, 5 * 86400)]
    assert [p.first for p in e2.pm] == [10 * 86400]
    assert [(p.basis, p.interval, p.first) for p in spec.tool("IMP_1_2").pm] == [
        ("wafers", 8000, 800)
    ]
    assert e1.reliability is not None and e1.reliability.mttr == s.Exponential(
        dist="exponential", mean=12000
    )
    assert spec.tool("FURN_1_1").reliability is None
    # Products per priority class; WIP lots keep their own wafer count and due date.
    assert [(p.id, p.priority, p.due_after_s) for p in spec.products] == [
        ("part_1", 10, 2 * 86400),
        ("part_1_hot", 20, 86400),
    ]
    lots = {lot.id: lot for lot in spec.initial_wip}
    assert (lots["Init_1"].product, lots["Init_1"].step, lots["Init_1"].due_s) == (
        "part_1",
        2,
        43200,
    )
    assert (lots["Init_2"].product, lots["Init_2"].wafers) == ("part_1_hot", 20)
    assert spec.transport.fixed_time == s.Uniform(dist="uniform", low=300, high=600)
    assert result.report.unmodelled == {}
    assert result.report.ignored["order.txt:ORDER"] == 2


def test_written_file_reads_back_to_the_same_plant(tmp_path: Path) -> None:
    result = import_smt2020(write_model(tmp_path))
    out = tmp_path / "tiny.yaml"
    assert (
        main(
            [
                "import-smt2020",
                str(tmp_path / "SMT2020_TINY"),
                "-o",
                str(out),
                "--name",
                "Tiny: fab #1",
                "-q",
            ]
        )
        == 0
    )
    doc = config.load_plant(out)
    assert doc.spec.site.name == "Tiny: fab #1"
    assert doc.spec.model_dump(exclude={"site"}) == result.document.spec.model_dump(
        exclude={"site"}
    )
    # The round-trip reader sees the same data as the fast one.
    text = out.read_text(encoding="utf-8")
    assert YAML(typ="rt").load(text) == config._fast_load(text)


@pytest.mark.parametrize(
    ("table", "edit", "expected"),
    [
        ("tool.txt.1l", lambda ls: [ls[0].replace(" STNQTY", ""), *[" ".join(x.split(" ")[:12] + x.split(" ")[13:]) for x in ls[1:]]], "tool.txt.1l:1: missing column(s) STNQTY"),
        ("route_1.txt", lambda ls: [*ls[:2], ls[2].replace(" min ", " fortnight ", 1), *ls[3:]], "route_1.txt:3: PTUNITS: unknown time unit 'fortnight'"),
        ("route_1.txt", lambda ls: [*ls[:4], ls[4].replace("ETCH_1", "NOPE_9"), *ls[5:]], "route_1.txt:5: STNFAM: unknown tool family 'NOPE_9'"),
        ("route_1.txt", lambda ls: [ls[0], ls[1].replace(" 15 ", " 400 "), *ls[2:]], "route_1.txt:2: PTIME2: uniform half-width 400 exceeds the mean 300"),
        ("route_1.txt", lambda ls: [*ls[:4], ls[4].replace(" 2 1.5 lot", " 7 1.5 lot"), *ls[5:]], "route_1.txt:5: RWKSTEP: rework step 7 must come before step 4"),
        ("WIP.txt", lambda ls: [*ls[:2], ls[2].replace(" 4 01/", " 99 01/")], "WIP.txt:3: CURSTEP: step 99 is not in route 'r_1' (1..4)"),
        ("order.txt", lambda ls: [*ls[:2], ls[2].replace("01/01/18_00:00:00", "yesterday")], "order.txt:3: START: expected a date"),
        ("attach.txt", lambda ls: [*ls[:2], ls[2].replace("ETCH_1", "ETCH_7")], "attach.txt:3: RESNAME: no tools in stnfam 'ETCH_7'"),
        # values the plant schema would refuse later, without naming the table's line
        ("order.txt", lambda ls: [ls[0], ls[1].replace(" 10 25 ", " 10 0 "), *ls[2:]], "order.txt:2: PIECES: expected a whole number of 1 or more, got '0'"),
        ("order.txt", lambda ls: [ls[0], ls[1].replace(" 10 25 ", " 10 2.5 "), *ls[2:]], "order.txt:2: PIECES: expected a whole number of 1 or more, got '2.5'"),
        ("order.txt", lambda ls: [ls[0], ls[1].replace(" 1 01/03", " 0 01/03"), *ls[2:]], "order.txt:2: LOTSPERRPT: expected a whole number of 1 or more, got '0'"),
        ("WIP.txt", lambda ls: [ls[0], ls[1].replace(" 10 25 ", " 10 -25 "), *ls[2:]], "WIP.txt:2: PIECES: expected a whole number of 1 or more, got '-25'"),
        ("route_1.txt", lambda ls: [*ls[:2], ls[2].replace(" uniform 10 1 ", " uniform -10 1 "), *ls[3:]], "route_1.txt:3: PTIME: expected 0 or more, got '-10'"),
        # a release every 0 minutes: the plant would validate, and its simulation never end
        ("order.txt", lambda ls: [ls[0], ls[1].replace(" constant 60 ", " constant 0 "), *ls[2:]], "order.txt:2: REPEAT: expected a time between releases above 0, got '0'"),
    ],
)  # fmt: skip
def test_bad_tables_name_file_line_and_column(
    tmp_path: Path, table: str, edit: object, expected: str
) -> None:
    tables = dict(TABLES)
    tables[table] = edit(list(TABLES[table]))  # type: ignore[operator]
    d = write_model(tmp_path, tables)
    with pytest.raises(ConfigError) as info:
        import_smt2020(d)
    assert expected in "\n".join(info.value.issues)


def test_cli_reports_bad_input_without_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["import-smt2020", str(tmp_path / "nowhere"), "-o", str(tmp_path / "x.yaml")]) == 2
    assert "nowhere: not a directory" in capsys.readouterr().err
    d = write_model(tmp_path)
    (d / "order.txt").unlink()
    assert main(["import-smt2020", str(d), "-o", str(tmp_path / "x.yaml")]) == 2
    assert "order.txt: missing" in capsys.readouterr().err
    assert not (tmp_path / "x.yaml").exists()


def test_writer_output_reads_the_same_in_both_yaml_readers() -> None:
    data = {
        "plain": "DE_BE_11",
        "tricky": ["yes", "no", "on", "null", "~", "true", "001_Diffusion", "1e5", "0x1F", "a: b", "#c0504d", "x # y", "", " lead", "trail ", "Mönch", 'q"uote', "2018-01-01", "1_000"],
        "numbers": [0, -3, 1.5, 1e-05, 2.5e20, 604800, 0.000123],
        "nested": {"list": [{"a": 1, "b": [1, 2]}], "empty": [], "none": None, "flag": False},
    }  # fmt: skip
    text = plant_yaml(data)
    rt = YAML(typ="rt").load(text)
    fast = config._fast_load(text)
    assert rt == data
    assert fast == data


@pytest.mark.parametrize(
    "scalar",
    ["0x1F", "0o17", "017", "1_000", "2018-01-01", ".inf", "-.inf", ".nan", "1e5", ".5", "5.", "+1",
     "-0", "yes", "No", "on", "TRUE", "False", "~", "null", "Null", "1.5e-3", "1.5e3", ".5e5", "0b101", "="],
)  # fmt: skip
def test_fast_reader_agrees_with_the_round_trip_reader_or_defers(scalar: str) -> None:
    """The libyaml fast path never reads a value differently from ruamel (YAML 1.2)."""
    text = f"key: {scalar}\n"
    fast = config._fast_load(text)
    buf = io.StringIO(text)
    try:
        rt = YAML(typ="rt").load(buf)
    except Exception:  # ruamel rejects it: the fast path must defer
        assert fast is None
        return
    if fast is not None:
        assert fast == dict(rt), scalar
        assert type(fast["key"]) is type(rt["key"]) or isinstance(rt["key"], type(fast["key"]))


def test_fast_reader_defers_duplicate_keys_and_merges() -> None:
    assert config._fast_load("a: 1\na: 2\n") is None
    assert config._fast_load("base: &b {x: 1}\nother:\n  <<: *b\n") is None
    assert config._fast_load("a: [1, 2]\n") == {"a": [1, 2]}


MINI = Path(__file__).resolve().parents[1] / "data" / "mini_plant.yaml"
BROKEN = [
    ("position_m: [7, 5]", "position_m: [7, x]"),
    ("position_m: [7, 5]", "position_m: [3.5, 5]"),
    ("position_m: [7, 5]", "position_m: [17, 5]"),
    ("kind: dry_etch", "kind: dry_etcher"),
    ("kind: dry_etch", "knd: dry_etch"),
    ("process_time: 1800", "process_time: {dist: gaussian, mean: 3}"),
    ("tool_group: LITHO, recipe: L1", "tool_group: LITHOX, recipe: L1"),
    ("id: ETCH-02", "id: ETCH-01"),
    ("schema_version: 1", "schema_version: 7"),
    ("mean: 4000", "mean: -4000"),
]


def _issues(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        config.loads_plant(text, source="p.yaml")
    return info.value.issues


@pytest.mark.parametrize(("old", "new"), BROKEN)
def test_fast_reader_reports_the_same_errors_as_the_round_trip_reader(
    old: str, new: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = MINI.read_text(encoding="utf-8").replace(old, new, 1)
    assert config._fast_load(text) is not None
    fast = _issues(text)
    monkeypatch.setattr(config, "_fast_load", lambda _text: None)
    assert fast == _issues(text)


def test_errors_in_the_full_scale_plant_name_their_lines() -> None:
    """Mistakes in the 1 MB SMT2020 plant are reported from the fast reader, with lines."""
    shipped = Path(__file__).resolve().parents[2] / "plant_configs" / "smt2020_hvlm.yaml"
    lines = shipped.read_text(encoding="utf-8").splitlines(keepends=True)
    start = lines.index("equipment:\n")
    k2 = next(i for i, x in enumerate(lines) if x.startswith("  - {id: Implant_128_2,"))
    k3 = k2 + 1
    assert lines[k3].startswith("  - {id: Implant_128_3,")
    idx = k3 - start - 1  # one line per tool
    pos2 = lines[k2].split("position_m: ")[1].split("]")[0] + "]"
    pos3 = lines[k3].split("position_m: ")[1].split("]")[0] + "]"
    broken = lines.copy()
    broken[k3] = lines[k3].replace(pos3, pos2)
    assert _issues("".join(broken)) == [
        f"p.yaml:{k3 + 1}: equipment[{idx}].position_m: tool 'Implant_128_3' overlaps tool "
        f"'Implant_128_2' (equipment[{idx - 1}])"
    ]
    broken[k3] = lines[k3].replace(pos3, "[x, 1]")
    assert _issues("".join(broken)) == [
        f"p.yaml:{k3 + 1}: equipment[{idx}].position_m: expected 2 numbers, got ['x', 1]"
    ]


def test_cells_beyond_the_header_are_reported_not_dropped(tmp_path: Path) -> None:
    tables = dict(TABLES)
    tables["part.txt"] = [TABLES["part.txt"][0], TABLES["part.txt"][1] + " stray"]
    result = import_smt2020(write_model(tmp_path, tables))
    assert result.report.ignored["part.txt:(cells beyond the header)"] == 1
