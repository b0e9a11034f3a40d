"""Every kind of plant-file error gives one clear message with its line and field path."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from factory_twin.errors import ConfigError
from factory_twin.model.config import load_plant, loads_plant

PROCEDURE = """procedures:
  - id: lid-check
    name: Lid check
    equipment_type: etcher
    alarm_codes: [chamber_pressure.hi]
    steps:
      - title: Inspect the lid
        component: chamber lid
"""


def issues(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        loads_plant(text, source="plant.yaml")
    return info.value.issues


def the_issue(text: str) -> str:
    found = issues(text)
    assert len(found) == 1, found
    return found[0]


def test_mini_plant_is_valid(mini_text):
    spec = loads_plant(mini_text).spec
    assert [e.id for e in spec.equipment] == ["ETCH-01", "ETCH-02", "LITHO-01"]


def test_procedure_fixture_is_valid(mini_text):
    spec = loads_plant(mini_text + PROCEDURE).spec
    assert spec.procedures[0].steps[0].component == "chamber lid"


def test_bad_number_in_position(mini_text, line_of):
    text = mini_text.replace("position_m: [7, 5]", "position_m: [7, five]")
    msg = the_issue(text)
    assert msg.startswith(f"plant.yaml:{line_of(text, 'ETCH-02')}: equipment[1].position_m: ")
    assert "expected 2 numbers" in msg
    assert "five" in msg


def test_too_few_numbers_in_position(mini_text, line_of):
    text = mini_text.replace("position_m: [7, 5]", "position_m: [7]")
    msg = the_issue(text)
    assert msg.startswith(f"plant.yaml:{line_of(text, 'ETCH-02')}: equipment[1].position_m: ")
    assert "expected 2 numbers, got [7]" in msg


def test_unknown_field(mini_text, line_of):
    text = mini_text.replace("    model: E-1", "    modle: E-1")
    msg = the_issue(text)
    assert msg == (
        f"plant.yaml:{line_of(text, 'modle')}: equipment_types[0].modle: "
        "unknown field 'modle' (a typo?)"
    )


def test_missing_field(mini_text, line_of):
    text = mini_text.replace("    route: r1\n", "")
    msg = the_issue(text)
    assert msg == (
        f"plant.yaml:{line_of(text, '- id: p1')}: products[0].route: missing required field 'route'"
    )


def test_unknown_distribution(mini_text, line_of):
    text = mini_text.replace("dist: uniform", "dist: weibull")
    msg = the_issue(text)
    assert msg.startswith(
        f"plant.yaml:{line_of(text, 'weibull')}: routes[0].steps[1].process_time: "
    )
    assert "unknown distribution 'weibull'" in msg
    assert "exponential" in msg


def test_route_step_names_a_group_without_tools(mini_text, line_of):
    text = mini_text.replace("tool_group: ETCH,", "tool_group: ETCHX,")
    msg = the_issue(text)
    assert msg == (
        f"plant.yaml:{line_of(text, 'ETCHX')}: routes[0].steps[1].tool_group: "
        "no equipment belongs to tool group 'ETCHX'"
    )


def test_tool_outside_the_floor(mini_text, line_of):
    text = mini_text.replace("position_m: [7, 5]", "position_m: [25, 5]")
    msg = the_issue(text)
    assert msg.startswith(f"plant.yaml:{line_of(text, 'ETCH-02')}: equipment[1].position_m: ")
    assert "outside the 20.0 x 10.0 m floor" in msg


def test_tool_outside_its_bay(mini_text, line_of):
    text = mini_text.replace("position_m: [7, 5]", "position_m: [11.5, 2]")
    msg = the_issue(text)
    assert msg.startswith(f"plant.yaml:{line_of(text, 'ETCH-02')}: equipment[1].position_m: ")
    assert "outside its bay 'etch'" in msg


def test_two_tools_overlapping(mini_text, line_of):
    text = mini_text.replace("position_m: [7, 5]", "position_m: [4, 5.5]")
    msg = the_issue(text)
    assert msg == (
        f"plant.yaml:{line_of(text, 'ETCH-02')}: equipment[1].position_m: "
        "tool 'ETCH-02' overlaps tool 'ETCH-01' (equipment[0])"
    )


def test_rotated_tools_touching_do_not_overlap(mini_text):
    # 2 x 2 m etchers 2 m apart: touching edges, rotated by 90 degrees, are fine.
    text = mini_text.replace("position_m: [7, 5]", "position_m: [5, 5], rotation_deg: 90")
    assert len(loads_plant(text).spec.equipment) == 3


def test_duplicate_ids(mini_text, line_of):
    text = mini_text.replace("id: ETCH-02", "id: ETCH-01")
    msg = the_issue(text)
    assert msg == (
        f"plant.yaml:{line_of(text, 'id: ETCH-01', 2)}: equipment[1].id: "
        "duplicate id 'ETCH-01' (first at equipment[0])"
    )


def test_unknown_procedure_component(mini_text, line_of):
    text = mini_text + PROCEDURE.replace("component: chamber lid", "component: chamber lod")
    msg = the_issue(text)
    assert msg.startswith(
        f"plant.yaml:{line_of(text, 'chamber lod')}: procedures[0].steps[0].component: "
    )
    assert "type 'etcher' has no component 'chamber lod'" in msg
    assert "chamber lid" in msg  # names what there is


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("chamber_pressure.lo", "tag 'chamber_pressure' has no 'lo' limit"),
        ("rf_power.hi", "type 'etcher' has no tag 'rf_power'"),
        ("chamber_pressure.high", "must be '<tag>.<lolo|lo|hi|hihi>' or 'fault[.<name>]'"),
    ],
)
def test_bad_alarm_code(mini_text, line_of, code, why):
    text = mini_text + PROCEDURE.replace(
        "[chamber_pressure.hi]", f"[chamber_pressure.hihi, {code}]"
    )
    msg = the_issue(text)
    assert msg.startswith(
        f"plant.yaml:{line_of(text, 'alarm_codes')}: procedures[0].alarm_codes[1]: "
    )
    assert why in msg


def test_fault_alarm_codes_are_valid(mini_text):
    text = mini_text + PROCEDURE.replace("[chamber_pressure.hi]", "[fault, fault.rf_trip]")
    assert loads_plant(text).spec.procedures[0].alarm_codes == ["fault", "fault.rf_trip"]


def test_yaml_syntax_error(mini_text, line_of):
    text = mini_text.replace("  name: Mini fab\n", "  name: Mini fab\n  floor: [1, 2\n")
    msg = the_issue(text)
    assert msg.startswith("plant.yaml:")
    assert "YAML syntax error" in msg
    line = int(msg.split(":")[1])
    assert line_of(text, "floor: [1, 2") <= line <= line_of(text, "floor: [1, 2") + 2


def test_a_character_yaml_forbids_is_reported_at_its_line(mini_text, line_of, tmp_path):
    """A control character: the message names its line (not line 1) and the character; the
    users file of `serve --users` reads YAML the same way."""
    from factory_twin.opcua.security import load_users

    text = mini_text.replace("  name: Mini fab\n", "  name: Mini \x01fab\n")
    msg = the_issue(text)
    assert msg.startswith(f"plant.yaml:{line_of(text, 'Mini')}: ")
    assert "#x0001" in msg
    users = tmp_path / "users.yaml"
    users.write_text("ann: pw\nbob: p\x02w\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"users\.yaml:2: YAML error: character #x0002"):
        load_users(users)


def test_tab_indentation_is_a_syntax_error(mini_text):
    msg = the_issue(mini_text.replace("  name: Mini fab", "\tname: Mini fab"))
    assert "YAML syntax error" in msg


@pytest.mark.parametrize("text", ["", "\n\n", "# only a comment\n"])
def test_empty_file(text):
    assert the_issue(text) == (
        "plant.yaml:1: expected a mapping with 'schema_version', 'site', ..., got an empty file"
    )


@pytest.mark.parametrize("text", ["- a\n- b\n", "just words\n", "42\n"])
def test_top_level_not_a_mapping(text):
    msg = the_issue(text)
    assert msg.startswith("plant.yaml:1: expected a mapping with 'schema_version', 'site', ...")
    assert "empty" not in msg


def test_wrong_schema_version(mini_text, line_of):
    text = mini_text.replace("schema_version: 1", "schema_version: 2")
    msg = the_issue(text)
    assert msg == (
        f"plant.yaml:{line_of(text, 'schema_version')}: schema_version: "
        "unsupported schema_version 2; this app reads version 1"
    )


def test_all_schema_errors_reported_at_once(mini_text, line_of):
    text = (
        mini_text.replace("position_m: [7, 5]", "position_m: [7, five]")
        .replace("    model: E-1", "    modle: E-1")
        .replace("dist: uniform", "dist: weibull")
        .replace("    route: r1\n", "")
    )
    found = issues(text)
    assert len(found) == 4, found
    joined = "\n".join(found)
    for where in (
        f":{line_of(text, 'ETCH-02')}: equipment[1].position_m:",
        f":{line_of(text, 'modle')}: equipment_types[0].modle:",
        f":{line_of(text, 'weibull')}: routes[0].steps[1].process_time:",
        f":{line_of(text, '- id: p1')}: products[0].route:",
    ):
        assert where in joined


def test_all_reference_errors_reported_at_once(mini_text, line_of):
    text = (
        mini_text.replace("position_m: [7, 5]", "position_m: [4, 5.5]")
        .replace("tool_group: ETCH,", "tool_group: ETCHX,")
        .replace(
            "type: scanner, group: LITHO, bay: litho", "type: scanner, group: LITHO, bay: nowhere"
        )
    ) + PROCEDURE.replace("component: chamber lid", "component: chamber lod")
    found = issues(text)
    assert len(found) == 4, found
    joined = "\n".join(found)
    assert "overlaps tool 'ETCH-01'" in joined
    assert "no equipment belongs to tool group 'ETCHX'" in joined
    assert "unknown bay 'nowhere'" in joined
    assert "no component 'chamber lod'" in joined


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_plant(tmp_path / "nope.yaml")


def test_cli_broken_files_exit_2_without_traceback(tmp_path, mini_text):
    # One run for both files: the CLI takes a few seconds to start.
    bad = tmp_path / "bad_dist.yaml"
    bad.write_text(mini_text.replace("dist: uniform", "dist: weibull"), encoding="utf-8")
    broken = tmp_path / "broken.yaml"
    broken.write_text("site: {name: [\n", encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "factory_twin", "validate", str(bad), str(broken)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr + proc.stdout
    assert f"{bad}:" in proc.stderr
    assert "unknown distribution 'weibull'" in proc.stderr
    assert f"{broken}:" in proc.stderr
    assert "YAML syntax error" in proc.stderr


@pytest.mark.parametrize(
    ("old", "new", "line_with", "path", "why"),
    [
        (
            "[7, 5]}",
            "[7, 5], rotation_deg: .inf}",
            "ETCH-02",
            "equipment[1].rotation_deg",
            "expected a finite number, got inf",
        ),
        (
            "[7, 5]}",
            "[7, 5], rotation_deg: 1e400}",
            "ETCH-02",
            "equipment[1].rotation_deg",
            "expected a finite number, got inf",
        ),
        (
            "[7, 5]}",
            "[.nan, 5]}",
            "ETCH-02",
            "equipment[1].position_m",
            "expected 2 finite numbers, got [nan, 5]",
        ),
        (
            "mean: 4000",
            "mean: .inf",
            "interarrival",
            "products[0].release.interarrival.mean",
            "expected a finite number, got inf",
        ),
    ],
)
def test_numbers_must_be_finite(mini_text, line_of, old, new, line_with, path, why):
    text = mini_text.replace(old, new)
    assert the_issue(text) == f"plant.yaml:{line_of(text, line_with)}: {path}: {why}"


def test_errors_in_the_demo_fab_name_their_lines(line_of):
    # block-style entries of a big file: the line is the offending key's own line
    demo = Path(__file__).resolve().parents[2] / "plant_configs" / "demo_fab.yaml"
    text = demo.read_text(encoding="utf-8")
    spec = load_plant(demo).spec
    tool = [e.id for e in spec.equipment].index("ETCH-02")
    step = [st.recipe for st in spec.route("logic_cmos").steps].index("GATE_ETCH")
    lines = text.splitlines(keepends=True)
    at = line_of(text, "- id: ETCH-02")
    pos = next(i for i in range(at, at + 10) if lines[i].startswith("    position_m:"))
    lines[pos] = "    position_m: [1, x]\n"
    step_line = line_of(text, "recipe: GATE_ETCH")
    lines[step_line - 1] = lines[step_line - 1].replace(
        "recipe: GATE_ETCH", "recipe: GATE_ETCH, colour: red"
    )
    assert issues("".join(lines)) == [
        f"plant.yaml:{pos + 1}: equipment[{tool}].position_m: expected 2 numbers, got [1, 'x']",
        f"plant.yaml:{step_line}: routes[0].steps[{step}].colour: unknown field 'colour' (a typo?)",
    ]


def test_tag_bindings_accept_machine_tags_and_reject_unknown_ones(mini_text, line_of):
    bound = mini_text.replace(
        "{id: ETCH-02, type: etcher, group: ETCH, bay: etch, position_m: [7, 5]}",
        "{id: ETCH-02, type: etcher, group: ETCH, bay: etch, position_m: [7, 5], "
        "opcua: {endpoint: sim, tags: {state: {node_id: 'ns=2;s=E2.State'}, "
        "chamber_pressure: {browse_path: 'Machines/E2/Parameters/p'}}}}",
    )
    assert bound != mini_text
    spec = loads_plant(bound).spec
    assert set(spec.tool("ETCH-02").opcua.tags) == {"state", "chamber_pressure"}
    bad = bound.replace("state: {node_id", "stat: {node_id")
    msg = the_issue(bad)
    assert msg.startswith(f"plant.yaml:{line_of(bad, 'ETCH-02')}: equipment[1].opcua.tags.stat: ")
    assert "has no tag 'stat'" in msg
