"""File kinds by their double suffix: plant, scenario, study and experiment files."""

from __future__ import annotations

from pathlib import Path

import pytest

from factory_twin.app.experiment_spec import experiment_stem, is_experiment_path
from factory_twin.model.config import has_suffix, suffixed_stem
from factory_twin.model.scenario import is_scenario_path, scenario_stem
from factory_twin.model.study import is_study_path, study_stem


@pytest.mark.parametrize(
    ("name", "stem"),
    [
        ("fab.study.yaml", "fab"),
        ("Fab.STUDY.YML", "Fab"),
        ("fab.yaml", "fab"),
        ("a.b.study.yml", "a.b"),
        ("study.yaml", "study"),
    ],
)
def test_suffixed_stem(name: str, stem: str) -> None:
    assert suffixed_stem(Path("x") / name, (".study.yaml", ".study.yml")) == stem


def test_each_kind_knows_its_files() -> None:
    names = ["f.scenario.yaml", "f.study.yml", "f.experiment.YAML", "f.yaml"]
    kinds = [
        (is_scenario_path, scenario_stem),
        (is_study_path, study_stem),
        (is_experiment_path, experiment_stem),
    ]
    got = [[is_kind(n) for n in names] for is_kind, _ in kinds]
    assert got == [
        [True, False, False, False],
        [False, True, False, False],
        [False, False, True, False],
    ]
    assert [stem(n) for (is_kind, stem), n in zip(kinds, names, strict=False)] == ["f"] * 3
    assert scenario_stem("f.study.yml") == "f.study"
    assert not has_suffix("scenario.yaml.bak", (".scenario.yaml",))
