"""The OHT fleet as a scenario change (set_amhs): validated with file:line, applied to the
plant's amhs section, and reaching the simulation (the fleet size in the KPIs)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from factory_twin.errors import ConfigError
from factory_twin.model.config import load_plant
from factory_twin.model.scenario import load_scenario
from factory_twin.sim.runner import RunOptions, run_replication

DATA = Path(__file__).resolve().parents[1] / "data"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    shutil.copy(DATA / "amhs_loop_plant.yaml", tmp_path / "loop.yaml")
    shutil.copy(DATA / "mini_plant.yaml", tmp_path / "mini.yaml")
    return tmp_path


def _write(folder: Path, changes: str, base: str = "loop.yaml") -> Path:
    path = folder / "s.scenario.yaml"
    path.write_text(f"name: s\nbase: {base}\nchanges:\n{changes}", encoding="utf-8")
    return path


def test_set_amhs_changes_the_fleet_and_reaches_the_simulation(folder):
    doc = load_scenario(
        _write(
            folder,
            "  - {change: set_amhs, fleet: 5, vehicle_speed_m_s: 1.5, dispatch: fifo}\n",
        )
    )
    plant = doc.apply()
    assert plant.amhs is not None
    assert (plant.amhs.fleet, plant.amhs.vehicle.max_speed_m_s, plant.amhs.dispatch) == (
        5,
        1.5,
        "fifo",
    )
    assert doc.describe() == [
        "OHT fleet 3 -> 5, vehicle_speed_m_s 2 -> 1.5, dispatch nearest_idle -> fifo"
    ]
    res = run_replication(plant, RunOptions(days=2, seed=1), 0)
    assert res.amhs is not None and res.amhs.vehicles == 5
    assert res.kpis["amhs_vehicles"] == 5
    assert res.kpis["amhs_moves_per_h"] > 0
    base = run_replication(load_plant(folder / "loop.yaml").spec, RunOptions(days=2, seed=1), 0)
    assert base.kpis["amhs_vehicles"] == 3


def test_set_amhs_on_a_plant_without_rails_names_the_line(folder):
    path = _write(folder, "  - {change: set_amhs, fleet: 80}\n", base="mini.yaml")
    with pytest.raises(ConfigError) as info:
        load_scenario(path).apply()
    text = "\n".join(info.value.issues)
    assert "s.scenario.yaml:4" in text and "no amhs section" in text


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ("{change: set_amhs, fleet: 0}", "fleet: Input should be greater than or equal to 1"),
        ("{change: set_amhs, dispatch: random}", "dispatch: Input should be"),
        ("{change: set_amhs}", "set_amhs needs one of fleet, vehicle_speed_m_s"),
    ],
)
def test_bad_set_amhs_is_located(folder, change, needle):
    with pytest.raises(ConfigError) as info:
        load_scenario(_write(folder, f"  - {change}\n")).apply()
    text = "\n".join(info.value.issues)
    assert "s.scenario.yaml:4" in text and needle in text


def test_shipped_fleet_experiment_compares_80_and_120_vehicles():
    from factory_twin.app.experiment_spec import load_experiment

    path = DATA.parents[1] / "plant_configs" / "smt2020_hvlm_smat2022.fleet.experiment.yaml"
    exp = load_experiment(path)
    plants = exp.load_scenarios()
    fleets = [p.spec.amhs.fleet for p in plants if p.spec.amhs is not None]
    assert fleets == [80, 120]
    assert all(p.spec.amhs is not None and p.spec.amhs.model == "oht" for p in plants)
