"""The scenario command, and scenario files wherever a plant file is accepted."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from test_bad_input import assert_clean_failure, run_main

from factory_twin.model.config import load_plant
from factory_twin.model.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]
PLANTS = ROOT / "plant_configs"
FOURTH = PLANTS / "demo_fab_fourth_scanner.scenario.yaml"
ETCH = PLANTS / "demo_fab_etch_next_to_litho.scenario.yaml"
MINI = ROOT / "tests" / "data" / "mini_plant.yaml"


def test_show_prints_the_changes_in_words():
    code, out, err = run_main(["scenario", "show", str(ETCH)])
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0] == f"scenario: etch next to litho ({ETCH})"
    assert lines[1] == "base: demo_fab.yaml"
    assert lines[2].startswith("notes: All four etchers in one column")
    assert lines[3] == "changes: 5"
    assert (
        lines[4]
        == "  [0] move ETCH-01 from (8.05, 4.9) to (18.95, 4.5) m, rotation 90.0 -> -90.0 deg"
    )
    assert lines[-1] == "ok: the scenario validates"


def test_show_a_broken_scenario_exits_2_with_located_lines(tmp_path):
    shutil.copy(MINI, tmp_path / "base.yaml")
    path = tmp_path / "bad.scenario.yaml"
    path.write_text(
        "base: base.yaml\nchanges:\n"
        "  - {change: move_tool, id: ETCH-09, position_m: [4, 5]}\n"
        "  - {change: move_tool, id: ETCH-01, position_m: [6.5, 5]}\n"
    )
    code, out, err = run_main(["scenario", "show", str(path)])
    assert code == 2
    assert_clean_failure(code, err)
    assert "  [0] move_tool id=ETCH-09, position_m=[4.0, 5.0] (does not apply)" in out
    assert "ok:" not in out
    assert err.splitlines() == [
        f"{path}:3: changes[0].id: tool ETCH-09 is not in the base plant "
        "(it has ETCH-01, ETCH-02, LITHO-01)",
        f"{path}:4: changes[1].position_m: tool ETCH-01 overlaps tool ETCH-02 (of the base plant)",
    ]
    code, _, err = run_main(["validate", str(path)])
    assert code == 2 and len(err.splitlines()) == 2


def test_show_refuses_a_plant_file():
    code, _, err = run_main(["scenario", "show", str(MINI)])
    assert code == 2
    assert err.strip() == f"{MINI}:1: not a scenario file: its name must end in .scenario.yaml"


def test_export_writes_a_plant_that_validates(tmp_path):
    out = tmp_path / "four.yaml"
    code, text, err = run_main(["scenario", "export", str(FOURTH), "-o", str(out)])
    assert code == 0, err
    assert text.strip() == f"{out}: written (demo_fab_fourth_scanner: 1 change applied)"
    assert load_plant(out).spec == load_scenario(FOURTH).apply()
    code, text, err = run_main(["validate", str(out)])
    assert code == 0, err


def test_validate_accepts_scenario_files():
    code, out, err = run_main(["validate", str(FOURTH), str(ETCH)])
    assert code == 0, err
    assert out.count(": ok (") == 2
    assert "  scenario of demo_fab.yaml: 1 change" in out
    assert f"{FOURTH}: ok (scenario file; Demo 300 mm mini-fab: 8 bays, 46 tools," in out


@pytest.mark.parametrize("scenario", [FOURTH, ETCH], ids=["fourth_scanner", "etch_next_to_litho"])
def test_shipped_scenarios_simulate(scenario, tmp_path):
    code, out, err = run_main(
        ["simulate", str(scenario), "--days", "3", "--replications", "1", "--jobs", "1",
         "--json", "--out", str(tmp_path)]
    )  # fmt: skip
    assert code == 0, err
    data = json.loads(out)
    stem = scenario.name.removesuffix(".scenario.yaml")
    assert data["scenario"] == stem
    assert data["results"]["replications"] == 1
    assert data["run"]["plant"] == str(scenario)


def test_open_says_how_to_get_a_plant_from_a_scenario():
    code, _, err = run_main(["open", str(FOURTH)])
    assert code == 2
    assert err.strip() == (
        f"{FOURTH}: a scenario file: the app opens plant files (export it with "
        f"'factory-twin scenario export {FOURTH} -o PLANT.yaml', or simulate it)"
    )
