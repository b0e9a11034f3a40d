"""``factory-twin schema`` prints a JSON Schema that accepts the shipped plants."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from ruamel.yaml import YAML

from factory_twin.__main__ import main

ROOT = Path(__file__).resolve().parents[2]
# every shipped plant and test plant (scenario, experiment and study files are not plants)
FILES = sorted(
    p
    for p in [*(ROOT / "plant_configs").glob("*.yaml"), *(ROOT / "tests" / "data").glob("*.yaml")]
    if not p.name.endswith((".scenario.yaml", ".experiment.yaml", ".study.yaml"))
)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    from factory_twin.model.config import json_schema

    return json.loads(json.dumps(json_schema()))


def plain(path: Path) -> Any:
    """The file as plain JSON types (no ruamel or YAML-only types) for a JSON validator."""
    return json.loads(json.dumps(YAML(typ="safe").load(path.read_text(encoding="utf-8"))))


def test_cli_prints_the_schema(capsys, schema):
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == schema
    assert printed["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert printed["type"] == "object"
    assert printed["additionalProperties"] is False
    assert set(printed["required"]) >= {"schema_version", "site", "equipment_types", "equipment"}


def test_cli_writes_the_schema_to_a_file(tmp_path, schema):
    out = tmp_path / "plant.schema.json"
    assert main(["schema", "-o", str(out)]) == 0
    assert json.loads(out.read_text(encoding="utf-8")) == schema


def test_every_reference_resolves(schema):
    defs = schema["$defs"]

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if ref is not None:
                assert ref.startswith("#/$defs/") and ref.removeprefix("#/$defs/") in defs, ref
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(schema)


def test_distributions_accept_a_bare_number(schema):
    mtbf = schema["$defs"]["Reliability"]["properties"]["mtbf"]
    assert {"type": "number", "minimum": 0} in mtbf["anyOf"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_schema_accepts_the_plants(schema, path):
    data = plain(path)
    validator = jsonschema.Draft202012Validator(schema)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(data)]
    assert errors == []


def test_schema_rejects_what_the_loader_rejects(schema):
    validator = jsonschema.Draft202012Validator(schema)
    data = plain(ROOT / "tests" / "data" / "mini_plant.yaml")
    data["equipment"][0]["position_m"] = [1, 2, 3]
    data["equipment"][1]["colour"] = "red"
    data["routes"][0]["steps"][1]["process_time"] = {"dist": "weibull", "mean": 3}
    paths = {tuple(e.absolute_path) for e in validator.iter_errors(data)}
    assert ("equipment", 0, "position_m") in paths
    assert ("equipment", 1) in paths
    assert any(p[:4] == ("routes", 0, "steps", 1) for p in paths)


def test_amhs_short_forms_match_the_loader(schema, tmp_path):
    """``amhs: simple`` and node rows are valid for both; a bad row or word for neither."""
    from factory_twin.model.config import ConfigError, load_plant

    validator = jsonschema.Draft202012Validator(schema)
    base = plain(ROOT / "tests" / "data" / "amhs_loop_plant.yaml")
    cases = {
        "simple": ("simple", True),
        "row with bay": (
            {**base["amhs"], "nodes": [["N1", 1, 8, "b"], *base["amhs"]["nodes"][1:]]},
            True,
        ),
        "unknown word": ("fast", False),
        "short row": ({**base["amhs"], "nodes": [["N1", 1], *base["amhs"]["nodes"][1:]]}, False),
        "text coordinate": (
            {**base["amhs"], "nodes": [["N1", "x", 8], *base["amhs"]["nodes"][1:]]},
            False,
        ),
    }
    for name, (amhs, ok) in cases.items():
        data = {**base, "amhs": amhs}
        schema_ok = not list(validator.iter_errors(data))
        f = tmp_path / f"{name.replace(' ', '_')}.yaml"
        f.write_text(json.dumps(data), encoding="utf-8")
        try:
            load_plant(f)
            loader_ok = True
        except ConfigError:
            loader_ok = False
        assert (schema_ok, loader_ok) == (ok, ok), name


def test_schema_is_a_valid_draft_2020_12_schema(schema):
    jsonschema.Draft202012Validator.check_schema(schema)


def _loads(kind: str) -> Any:
    from factory_twin.app.experiment_spec import loads_experiment
    from factory_twin.model.scenario import loads_scenario
    from factory_twin.model.study import loads_study

    return {"scenario": loads_scenario, "experiment": loads_experiment, "study": loads_study}[kind]


@pytest.mark.parametrize("kind", ["scenario", "experiment", "study"])
def test_the_other_file_kinds_have_schemas_that_match_their_loaders(capsys, kind):
    """``schema --kind K`` accepts every shipped K file and refuses what its loader refuses."""
    from factory_twin.model.config import ConfigError

    assert main(["schema", "--kind", kind]) == 0
    sch = json.loads(capsys.readouterr().out)
    jsonschema.Draft202012Validator.check_schema(sch)
    assert kind in sch["title"]
    validator = jsonschema.Draft202012Validator(sch)
    files = sorted((ROOT / "plant_configs").glob(f"*.{kind}.yaml"))
    assert files
    for f in files:
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(plain(f))]
        assert errors == [], f.name
    bad = {**plain(files[0]), "colour": "red"}  # an unknown key
    assert list(validator.iter_errors(bad))
    with pytest.raises(ConfigError):
        _loads(kind)(json.dumps(bad), source="bad.yaml", path=files[0])


def test_a_bare_changes_key_is_valid_for_schema_and_loader(capsys):
    from factory_twin.model.scenario import loads_scenario

    assert main(["schema", "--kind", "scenario"]) == 0
    validator = jsonschema.Draft202012Validator(json.loads(capsys.readouterr().out))
    doc = {"name": "fresh", "base": "demo_fab.yaml", "changes": None}
    assert not list(validator.iter_errors(doc))
    path = ROOT / "plant_configs" / "fresh.scenario.yaml"
    assert loads_scenario(json.dumps(doc), source="fresh", path=path).spec.changes == []
