"""The SMT2020 HVLM plant placed on the SMAT2022 layout with its OHT rail network.

Expected figures are counted from the layout's CSV files here with the csv module,
independently of the importer. The data live outside the repository
(``../shared/datasets/smat2022`` beside it, or ``SMAT2022_DIR``).
"""

from __future__ import annotations

import csv
import math
import os
import shutil
from collections import Counter
from pathlib import Path

import pytest
from _requirements import requires

from factory_twin.__main__ import main
from factory_twin.errors import ConfigError
from factory_twin.model.config import load_plant, loads_plant
from factory_twin.model.smat2022 import read_smat2022
from factory_twin.model.smt2020 import import_smt2020

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "plant_configs" / "smt2020_hvlm_smat2022.yaml"
_SHARED = Path(__file__).resolve().parents[3] / "shared" / "datasets"
SMT = Path(os.environ.get("SMT2020_DIR", str(_SHARED / "smt2020"))) / "SMT2020_HVLM"
LAYOUT = Path(os.environ.get("SMAT2022_DIR", str(_SHARED / "smat2022")))

pytestmark = requires(
    SMT.is_dir() and (LAYOUT / "Rail_ext.csv").is_file(),
    f"SMT2020 HVLM ({SMT}) or SMAT2022 ({LAYOUT}) data not found",
)


def _rows(name: str) -> list[dict[str, str]]:
    with open(LAYOUT / name, encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


@pytest.fixture(scope="module")
def imported():  # type: ignore[no-untyped-def]
    return import_smt2020(SMT, layout=LAYOUT, fleet=100)


def test_shipped_plant_is_a_fresh_import(imported) -> None:  # type: ignore[no-untyped-def]
    assert SHIPPED.read_text(encoding="utf-8") == imported.text()


def test_rails_and_vehicle_match_the_layout(imported) -> None:  # type: ignore[no-untyped-def]
    amhs = imported.document.spec.amhs
    rail = _rows("Rail_ext.csv")
    nodes = _rows("Adress.csv")
    assert len(amhs.nodes) == len(nodes) == 2858
    assert len(amhs.links) == len(rail) == 3424
    total = sum(float(r["LENGTH"]) for r in rail) / 1000
    assert math.isclose(sum(lk.length_m for lk in amhs.links), total, rel_tol=1e-6)
    curves = sum(r["CURVE"] == "True" for r in rail)
    assert sum(lk.curve for lk in amhs.links) == curves == 951
    assert {lk.max_speed_m_s for lk in amhs.links if lk.curve} == {1.0}
    assert {lk.max_speed_m_s for lk in amhs.links if not lk.curve} == {5.0}
    v = amhs.vehicle
    assert (v.length_m, v.max_speed_m_s, v.accel_m_s2, v.decel_m_s2, v.min_gap_m) == (
        0.784, 5.0, 2.0, 3.5, 0.125,
    )  # fmt: skip
    assert amhs.fleet == 100 and amhs.model == "oht"


def test_tools_sit_on_layout_slots_and_load_from_their_bay_loop(imported) -> None:  # type: ignore[no-untyped-def]
    spec = imported.document.spec
    eq = [
        r
        for r in _rows("Equipment.csv")
        if r["TOOL_GROUP"] not in ("STOCKER", "COMMIT", "COMPLETE")
    ]
    slots = Counter(r["TOOL_GROUP"].lower() for r in eq)
    tools = Counter(e.group.lower() for e in spec.equipment)
    rep = imported.report.layout
    fam = {e.group.lower(): e.group for e in spec.equipment}
    assert rep.surplus == {fam[g]: slots[g] - n for g, n in tools.items() if slots[g] > n}
    assert rep.missing == {fam[g]: n - slots[g] for g, n in tools.items() if 0 < slots[g] < n}
    assert sum(rep.missing.values()) == sum(
        max(0, n - slots[g]) for g, n in tools.items() if slots[g]
    )
    assert rep.case_matched == {"DefMet_FE_118": "DefMEt_FE_118"}
    assert rep.no_slots == ["Delay_32"]
    positions = [
        (
            float(r["POSITION_X"].replace(",", ".")) / 1000 + 5,
            float(r["POSITION_Y"].replace(",", ".")) / 1000 + 10,
        )
        for r in eq
    ]
    on_slot = [e for e in spec.equipment if e.bay != "overflow"]
    assert len(on_slot) == rep.counts["tools placed on layout slots"] == 978
    for e in on_slot:
        assert min(math.dist(e.position_m, p) for p in positions) < 1e-3
    # a port is the nearest node of the tool's own bay loop
    node = {n.id: n for n in spec.amhs.nodes}
    port = {p.tool: p.node for p in spec.amhs.ports}
    for e in on_slot[::37]:
        bay_nodes = [n for n in spec.amhs.nodes if n.bay.lower() == e.bay]
        best = min(math.dist(n.at_m, e.position_m) for n in bay_nodes)
        assert node[port[e.id]].bay.lower() == e.bay
        assert math.isclose(math.dist(node[port[e.id]].at_m, e.position_m), best)


def test_broken_layout_file_names_file_and_line(tmp_path: Path) -> None:
    for f in LAYOUT.iterdir():
        shutil.copy(f, tmp_path / f.name)
    lines = (tmp_path / "Adress.csv").read_text(encoding="utf-8").splitlines()
    lines[6] = lines[6].replace("\t", "\tx", 3)
    (tmp_path / "Adress.csv").write_text("\n".join(lines), encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        read_smat2022(tmp_path)
    assert f"{tmp_path / 'Adress.csv'}:7:" in str(exc.value)


def test_bad_amhs_reference_is_reported_with_its_line(tmp_path: Path) -> None:
    text = SHIPPED.read_text(encoding="utf-8")
    bad = text.replace(
        "- {id: rl_A10_10_11, from: rn_A10_10,", "- {id: rl_A10_10_11, from: rn_NOWHERE,", 1
    )
    assert bad != text
    line = bad[: bad.index("rn_NOWHERE")].count("\n") + 1
    p = tmp_path / "bad.yaml"
    p.write_text(bad, encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_plant(p)
    assert f"bad.yaml:{line}" in str(exc.value) and "rn_NOWHERE" in str(exc.value)


def test_amhs_simple_shorthand() -> None:
    doc = load_plant(REPO / "plant_configs" / "smt2020_hvlm.yaml")
    assert doc.spec.amhs is None
    text = "amhs: simple\n" + (REPO / "plant_configs" / "smt2020_hvlm.yaml").read_text(
        encoding="utf-8"
    )
    spec = loads_plant(text).spec
    assert spec.amhs is not None and spec.amhs.model == "simple" and not spec.amhs.links


def test_command_line_writes_the_plant_and_rejects_a_broken_layout(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "hvlm.yaml"
    args = ["import-smt2020", str(SMT), "--layout", str(LAYOUT), "--fleet", "80", "-o", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "Groups with fewer layout slots than testbed tools (25, 65 tools" in printed
    spec = load_plant(out).spec
    assert spec.amhs is not None and spec.amhs.fleet == 80
    # a layout folder without its rail file: a message naming the file, no traceback, and
    # the plant written before is left as it was
    broken = tmp_path / "broken"
    broken.mkdir()
    for f in LAYOUT.iterdir():
        if f.name not in ("Rail.csv", "Rail_ext.csv"):
            shutil.copy(f, broken / f.name)
    before = out.read_bytes()
    args[3] = str(broken)
    assert main(args) != 0
    err = capsys.readouterr().err
    assert f"{broken / 'Rail.csv'}: missing" in err and "Traceback" not in err
    assert out.read_bytes() == before
