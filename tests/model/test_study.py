"""Study files: the shipped one loads; bad ones give one ``file:line: field: message`` each."""

from __future__ import annotations

from pathlib import Path

import pytest

from factory_twin.errors import ConfigError
from factory_twin.model.study import ToolCount, load_study, loads_study, tool_cost

ROOT = Path(__file__).resolve().parents[2]
PLANT = ROOT / "tests" / "data" / "optimise_plant.yaml"


def test_the_shipped_demo_study_validates_and_loads():
    sf = load_study(ROOT / "plant_configs" / "demo_fab.study.yaml")
    assert sf.base.name == "demo_fab"
    assert [o.kpi for o in sf.spec.objectives] == ["cost", "cycle_time_mean_h"]
    assert sf.spec.sampler_name == "nsga2"
    groups = {v.tools for v in sf.spec.variables if isinstance(v, ToolCount)}
    assert groups <= set(sf.base.spec.groups())
    # every tool of the demo fab has a price, so cost covers the whole fab
    assert all(t.cost is not None for t in sf.base.spec.equipment_types)
    assert tool_cost(sf.base.spec, 5) > 0


def errors(text: str, tmp_path: Path) -> list[str]:
    p = tmp_path / "bad.study.yaml"
    p.write_text(text)
    with pytest.raises(ConfigError) as exc:
        load_study(p)
    return exc.value.issues


HEAD = f"base: {PLANT}\nhorizon_days: 10\n"


@pytest.mark.parametrize(
    ("body", "line", "words"),
    [
        ("variables:\n  - {tools: NOPE, min: 1, max: 2}\nobjectives:\n  - {minimise: cost}\n",
         4, "variables[0].tools: no tool group NOPE (groups: A, B, C)"),
        ("variables:\n  - {tools: A, min: 1, max: 2}\n  - {tools: B, min: 3, max: 2}\n"
         "objectives:\n  - {minimise: cost}\n", 5, "variables[1]: empty bounds: min (3) is above max (2)"),
        ("variables:\n  - {tools: A, min: 1, max: 2}\nobjectives:\n  - {minimise: cycle_time_mean_h/p7}\n",
         6, "objectives[0].minimise: no data for cycle_time_mean_h/p7: no product p7"),
        ("variables:\n  - {release: p1, min: 10, max: 20}\nobjectives:\n  - {maximise: throughput}\n",
         6, "objectives[0].maximise: no KPI 'throughput'"),
        ("variables:\n  - {colour: A}\nobjectives:\n  - {minimise: cost}\n",
         4, "variables[0]: a variable is a mapping with exactly one of"),
        ("variables:\n  - {tools: A, min: 1, max: 2}\nobjectives:\n  - {minimise: cost, maximise: x_factor}\n",
         6, "objectives[0]: an objective needs exactly one of"),
    ],
)  # fmt: skip
def test_bad_study_files_name_file_line_and_field(tmp_path, body, line, words):
    issues = errors(HEAD + body, tmp_path)
    assert any(i.startswith(f"{tmp_path / 'bad.study.yaml'}:{line}: ") and words in i for i in issues), issues  # fmt: skip


def test_a_bad_executor_is_named(tmp_path):
    body = ("variables:\n  - {tools: A, min: 1, max: 2}\nobjectives:\n  - {minimise: cost}\n"
            "executor: ftp://x\n")  # fmt: skip
    issues = errors(HEAD + body, tmp_path)
    assert any(":7: executor: " in i and "dask://host:port" in i for i in issues), issues


def test_cost_without_figures_is_an_objective_with_no_data(tmp_path):
    mini = ROOT / "tests" / "data" / "mini_plant.yaml"
    text = (f"base: {mini}\nhorizon_days: 10\nvariables:\n  - {{tools: ETCH, min: 1, max: 2}}\n"
            "objectives:\n  - {minimise: cost}\n")  # fmt: skip
    issues = errors(text, tmp_path)
    assert len(issues) == 1 and ":6: objectives[0].minimise: no data for cost" in issues[0]


def test_a_missing_base_and_a_broken_file(tmp_path):
    issues = errors("base: nowhere.yaml\nhorizon_days: 10\nvariables:\n  - {tools: A, min: 1, max: 2}\n"
                    "objectives:\n  - {minimise: cost}\n", tmp_path)  # fmt: skip
    assert issues[0].endswith(f"bad.study.yaml:1: base: no plant or scenario file {tmp_path / 'nowhere.yaml'}")  # fmt: skip
    with pytest.raises(ConfigError) as exc:
        loads_study("base: [unclosed\n", source="s.study.yaml")
    assert exc.value.issues[0].startswith("s.study.yaml:")
