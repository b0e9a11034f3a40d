"""`validate` says how lots move, and when that is the default the file did not ask for."""

from __future__ import annotations

from pathlib import Path

from factory_twin.cli import main

ROOT = Path(__file__).resolve().parents[2]
MINI = ROOT / "tests" / "data" / "mini_plant.yaml"


def test_a_plant_without_transport_is_told_it_has_the_default(capsys):
    assert main(["validate", str(MINI)]) == 0
    out = capsys.readouterr().out
    assert ("transport: default overhead hoist (the file has no transport section), "
            "30 s + distance / 2 m/s, unlimited vehicles") in out  # fmt: skip


def test_a_plant_with_transport_shows_its_own(capsys, tmp_path):
    text = (
        MINI.read_text() + "transport: {kind: agv, speed_m_s: 1.5, handling_s: 20, vehicles: 3}\n"
    )
    (tmp_path / "p.yaml").write_text(text)
    assert main(["validate", str(tmp_path / "p.yaml")]) == 0
    assert "transport: AGV, 20 s + distance / 1.5 m/s, 3 vehicles" in capsys.readouterr().out
    (tmp_path / "q.yaml").write_text(MINI.read_text() + "transport: {kind: none}\n")
    assert main(["validate", str(tmp_path / "q.yaml")]) == 0
    assert "transport: none (moves between tools take no time)" in capsys.readouterr().out


# --------------------------------------------------------- experiment, study and scenario files
# was: each was read as a plant file ("missing required field 'schema_version'", "unknown
# field 'scenarios' (a typo?)", ...), and a scenario not named *.scenario.yaml likewise

PLANTS = ROOT / "plant_configs"


def validate(*files: Path, capsys) -> tuple[int, str, str]:
    code = main(["validate", *map(str, files)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_shipped_experiment_and_study_files_are_checked_as_such(capsys):
    exp, study = PLANTS / "demo_fab.experiment.yaml", PLANTS / "demo_fab.study.yaml"
    code, out, err = validate(exp, study, capsys=capsys)
    assert code == 0 and err == "", err
    assert (
        f"{exp}: ok (experiment file 'demo fab - fourth scanner and etch next to litho'; "
        "3 scenarios, 120 days each, warm-up auto (MSER-5), 6 replications)" in out
    )
    assert (
        "  demo_fab_fourth_scanner: scenario file demo_fab_fourth_scanner.scenario.yaml ok "
        "(Demo 300 mm mini-fab: 8 bays, 46 tools," in out
    )
    assert (
        f"{study}: ok (study file 'demo fab, cheaper tool set'; 6 variables, 2 objectives" in out
    )
    assert "  base demo_fab.yaml: plant file ok (Demo 300 mm mini-fab: 8 bays, 45 tools," in out
    assert out.count(": ok (") == 2 and "schema_version" not in out + err


def test_a_scenario_is_known_by_its_content_whatever_its_name(tmp_path, capsys):
    path = tmp_path / "four_etchers.yaml"
    path.write_text(f"base: {MINI}\nchanges:\n  - {{change: add_tool, id: ETCH-03, like: ETCH-01, "
                    "position_m: [5, 8]}\n")  # fmt: skip
    code, out, err = validate(path, capsys=capsys)
    assert code == 0, err
    assert out.startswith(f"{path}: ok (scenario file; Mini fab: 2 bays, 4 tools,"), out
    assert f"  scenario of {MINI}: 1 change" in out
    code, out, _ = validate(MINI, capsys=capsys)
    assert out.startswith(f"{MINI}: ok (plant file; Mini fab: 2 bays, 3 tools,"), out


def test_a_broken_experiment_gets_the_experiment_schemas_messages(tmp_path, capsys):
    path = tmp_path / "runs.yaml"
    path.write_text(f"scenarios: [{MINI}]\nhorizon: 30\nreplications: 0\n")
    code, out, err = validate(path, capsys=capsys)
    assert code == 2 and out == ""
    assert sorted(err.splitlines()) == [
        f"{path}:1: horizon_days: missing required field 'horizon_days'",
        f"{path}:2: horizon: unknown field 'horizon' (a typo?)",
        f"{path}:3: replications: expected 1 to 10000 replications, got 0",
    ], err


def test_an_experiment_names_the_broken_plant_it_refers_to(tmp_path, capsys):
    plant = tmp_path / "broken.yaml"
    plant.write_text(MINI.read_text().replace("floor_m: [20, 10]", "floor_m: [20]"))
    path = tmp_path / "runs.experiment.yaml"
    path.write_text(f"scenarios: [{MINI}, broken.yaml, gone.yaml]\nhorizon_days: 30\n")
    code, _, err = validate(path, capsys=capsys)
    assert code == 2
    lines = err.splitlines()
    assert any(ln.startswith(f"{plant}:5: site.floor_m: ") for ln in lines), err
    assert f"{path}:1: scenarios[2]: no such file {tmp_path / 'gone.yaml'}" in lines, err
    assert "schema_version" not in err


def test_a_study_is_checked_against_its_base_plant(tmp_path, capsys):
    path = tmp_path / "cheaper.yaml"
    path.write_text(f"base: {MINI}\nhorizon_days: 10\nvariables:\n  - {{tools: NOPE, min: 1, "
                    "max: 2}\nobjectives:\n  - {minimise: cycle_time_mean_h}\n")  # fmt: skip
    code, _, err = validate(path, capsys=capsys)
    assert code == 2
    assert err.startswith(f"{path}:4: variables[0].tools: no tool group NOPE (groups: "), err
    # named *.study.yaml but with none of a study's keys: still the study's messages
    named = tmp_path / "empty.study.yaml"
    named.write_text("name: nothing yet\n")
    code, _, err = validate(named, capsys=capsys)
    assert code == 2
    assert f"{named}:1: base: missing required field 'base'" in err.splitlines(), err
    assert "schema_version" not in err


def test_a_file_of_no_known_kind_keeps_the_plant_files_messages(tmp_path, capsys):
    path = tmp_path / "what.yaml"
    path.write_text("colour: blue\n")
    code, _, err = validate(path, capsys=capsys)
    assert code == 2
    assert f"{path}:1: schema_version: missing required field 'schema_version'" in err
    assert f"{path}:1: colour: unknown field 'colour' (a typo?)" in err
