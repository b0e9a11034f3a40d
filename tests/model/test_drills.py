"""Drill model: shipped drills, file:line errors, round trip, fuzzing, and hand-computed scores."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ruamel.yaml import YAML

from factory_twin.errors import ConfigError
from factory_twin.model import schema as s
from factory_twin.model.config import load_plant, loads_plant
from factory_twin.model.drill_scoring import (
    ActionRecord,
    InjectionRecord,
    safety_steps,
    score_all,
    score_trainee,
)
from factory_twin.model.drills import describe_injection, drill_tools, find_drill

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "plant_configs" / "demo_fab.yaml"
LED = ROOT / "plant_configs" / "led_line.yaml"
MINI_TEXT = (ROOT / "tests" / "data" / "mini_plant.yaml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def demo() -> s.PlantSpec:
    return load_plant(DEMO).spec


def test_shipped_drills(demo: s.PlantSpec) -> None:
    ids = {d.id for d in demo.drills}
    assert {
        "litho_stage_drift",
        "etch_helium_leak",
        "furnace_breakdown_hot_lot",
        "oht_jam",
        "toxic_gas_alarm",
    } <= ids
    led = load_plant(LED).spec
    assert len([d for d in led.drills if d.briefing]) >= 2
    for d in [*demo.drills, *led.drills]:
        if d.id == "etch-pressure-drift":
            continue
        assert len(d.briefing) > 200, d.id
        assert d.objectives and d.expected and d.injections
        for inj in d.injections:
            assert describe_injection(inj)
    kinds = {i.fault for d in [*demo.drills, *led.drills] for i in d.injections}
    assert kinds == set(s.FAULT_KINDS)


def test_find_drill_names_the_choices(demo: s.PlantSpec) -> None:
    assert find_drill(demo, "etch_helium_leak").name == "Etch chamber helium leak"
    with pytest.raises(ConfigError, match="etch_helium_leak"):
        find_drill(demo, "nope")
    assert drill_tools(find_drill(demo, "etch_helium_leak")) == ["ETCH-02"]
    assert "OHT" not in drill_tools(find_drill(demo, "oht_jam"))


def _mini_with(drill_yaml: str) -> str:
    return MINI_TEXT + "drills:\n" + drill_yaml


def _issues(text: str) -> list[str]:
    with pytest.raises(ConfigError) as err:
        loads_plant(text, source="p.yaml")
    return err.value.issues


def _line(text: str, needle: str) -> int:
    return next(i for i, ln in enumerate(text.splitlines(), 1) if needle in ln)


def test_unknown_tag_is_reported_at_its_line() -> None:
    text = _mini_with(
        "  - id: d1\n"
        "    name: D\n"
        "    injections:\n"
        "      - {at_s: 10, equipment: ETCH-01, fault: tag_drift, tag: nope, value: 9}\n"
    )
    (issue,) = _issues(text)
    assert issue.startswith(f"p.yaml:{_line(text, 'tag: nope')}: drills[0].injections[0].tag:")
    assert "no tag 'nope'" in issue


def test_missing_time_and_trigger_is_reported() -> None:
    text = _mini_with(
        "  - id: d1\n    name: D\n    injections:\n      - {equipment: ETCH-01, fault: breakdown}\n"
    )
    (issue,) = _issues(text)
    assert f"p.yaml:{_line(text, 'fault: breakdown')}:" in issue
    assert "exactly one of 'at_s'" in issue


def test_bad_limit_procedure_and_fault_kind() -> None:
    text = _mini_with(
        "  - id: d1\n"
        "    name: D\n"
        "    injections:\n"
        "      - {at_s: 1, equipment: ETCH-01, fault: alarm, tag: chamber_pressure, limit: lo}\n"
        "      - {at_s: 2, equipment: ETCH-01, fault: meltdown}\n"
        "    expected:\n"
        "      - {action: open_procedure, equipment: ETCH-01, procedure: none-such, within_s: 5}\n"
    )
    issues = _issues(text)
    assert any("fault" in i and f":{_line(text, 'meltdown')}:" in i for i in issues), issues
    text2 = text.replace("      - {at_s: 2, equipment: ETCH-01, fault: meltdown}\n", "")
    issues = _issues(text2)
    assert any(f":{_line(text2, 'limit: lo')}:" in i and "'lo'" in i for i in issues), issues
    assert any(f":{_line(text2, 'none-such')}:" in i and "unknown procedure" in i for i in issues)


def test_trigger_validation() -> None:
    with pytest.raises(ValueError, match="exactly one"):
        s.Trigger(equipment="E", tag="t")
    with pytest.raises(ValueError, match="above"):
        s.Trigger(equipment="E", tag="t", above=1, below=0)
    t = s.Trigger(equipment="E", enters_state="unscheduled_down", delay_s=60)
    assert t.describe() == "E enters unscheduled_down (+60 s)"


def test_round_trip_of_every_shipped_drill(demo: s.PlantSpec) -> None:
    for d in demo.drills:
        data = json.loads(d.model_dump_json(exclude_defaults=True))
        again = s.Drill.model_validate(data)
        assert again == d
    # and through a saved plant file
    doc = load_plant(DEMO)
    doc.spec.drills[1].briefing += " Edited."
    doc.spec.drills[1].injections[0].rate_per_s = 0.03
    again = loads_plant(doc.dumps()).spec.drills
    assert again == doc.spec.drills
    assert again[1].briefing.endswith(" Edited.") and again[1].injections[0].rate_per_s == 0.03


_DRILL_KEYS = ["at_s", "equipment", "fault", "tag", "value", "limit", "duration_s", "trigger"]
_VALUES = st.one_of(
    st.none(),
    st.integers(-5, 100_000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=8),
    st.sampled_from([*s.FAULT_KINDS, "ETCH-01", "chamber_pressure", "hi", "lo", "ETCH-09"]),
    st.dictionaries(st.sampled_from(["equipment", "tag", "above", "step"]), st.integers(0, 9)),
)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(st.lists(st.dictionaries(st.sampled_from(_DRILL_KEYS), _VALUES, max_size=6), max_size=3))
def test_fuzzed_drills_load_or_fail_with_located_errors(injections: list[dict[str, Any]]) -> None:
    data = YAML(typ="safe").load(MINI_TEXT)
    data["drills"] = [{"id": "fz", "name": "Fuzz", "injections": injections}]
    text = json.dumps(data, indent=1)
    try:
        doc = loads_plant(text, source="fuzz.yaml")
    except ConfigError as exc:
        for issue in exc.issues:
            assert issue.startswith("fuzz.yaml:"), issue
            assert issue.split(":")[1].isdigit(), issue
    else:
        assert doc.spec.drills[0].id == "fz"


# ------------------------------------------------------------------ scoring, by hand


@pytest.fixture(scope="module")
def helium(demo: s.PlantSpec) -> s.Drill:
    return find_drill(demo, "etch_helium_leak")


INJ = [
    InjectionRecord("leak", "tag_drift", "ETCH-02", 60.0),
    InjectionRecord(
        "interlock", "interlock", "ETCH-02", 360.0, procedure="etch-chamber-wet-clean", step=1
    ),
]
P = "etch-chamber-wet-clean"


def _signoffs(trainee: str, times: list[float]) -> list[ActionRecord]:
    return [
        ActionRecord(trainee, "sign_off_step", t, "ETCH-02", procedure=P, step=n)
        for n, t in enumerate(times, 1)
    ]


def test_full_points_pass(helium: s.Drill, demo: s.PlantSpec) -> None:
    a = "ann"
    actions = [
        ActionRecord(
            a, "acknowledge_alarm", 200, "ETCH-02", alarm="helium_leak.hi", comment="He leak"
        ),
        ActionRecord(a, "hold_tool", 230, "ETCH-02"),
        ActionRecord(a, "open_procedure", 260, "ETCH-02", procedure=P),
        *_signoffs(a, [300, 320, 340]),
        ActionRecord(a, "dispatch_maintenance", 400, "ETCH-02"),
    ]
    sc = score_trainee(helium, INJ, actions, a, steps=safety_steps(demo))
    # limits 300/420/600/1200/900 s from the leak at 60 s; points 10+20+10+20+10
    assert [r.response_s for r in sc.rows] == [140, 170, 200, 280, 340]
    assert [r.points for r in sc.rows] == [10, 20, 10, 20, 10]
    assert (sc.score, sc.max_points, sc.percent, sc.passed) == (70, 70, 100, True)
    assert sc.wrong == ()


def test_late_ack_and_wrong_tool_fail(helium: s.Drill, demo: s.PlantSpec) -> None:
    b = "bob"
    actions = [
        ActionRecord(b, "hold_tool", 250, "ETCH-01"),  # healthy: -5
        ActionRecord(b, "acknowledge_alarm", 420, "ETCH-02", alarm="helium_leak.hi", comment="?"),
        ActionRecord(b, "resume_tool", 450, "ETCH-02", accepted=False),  # interlocked: -10
        ActionRecord(b, "hold_tool", 500, "ETCH-02"),  # 440 s > 420: late
        ActionRecord(b, "open_procedure", 520, "ETCH-02", procedure=P),
        *_signoffs(b, [700, 800, 900]),
        ActionRecord(b, "dispatch_maintenance", 600, "ETCH-02"),
    ]
    sc = score_trainee(helium, INJ, actions, b, steps=safety_steps(demo))
    assert [r.status for r in sc.rows] == ["late", "late", "on time", "on time", "on time"]
    assert [r.response_s for r in sc.rows] == [360, 440, 460, 840, 540]
    assert sc.earned == 40
    assert [w.penalty for w in sc.wrong] == [5, 10]
    assert "healthy" in sc.wrong[0].reason and "interlocked" in sc.wrong[1].reason
    assert sc.score == 25
    assert sc.percent == pytest.approx(100 * 25 / 70)
    assert not sc.passed


def test_ack_without_required_comment_costs_and_does_not_count(helium: s.Drill) -> None:
    actions = [ActionRecord("cy", "acknowledge_alarm", 100, "ETCH-02", alarm="helium_leak.hi")]
    sc = score_trainee(helium, INJ, actions, "cy", now_s=150)
    assert sc.rows[0].status == "pending" and sc.rows[0].points == 0
    assert [w.penalty for w in sc.wrong] == [5]
    assert sc.score == 0


def test_trainees_are_scored_separately_and_untriggered_responses_do_not_count(
    demo: s.PlantSpec,
) -> None:
    d = find_drill(demo, "furnace_breakdown_hot_lot")
    inj = [InjectionRecord("breakdown", "breakdown", "FURN-03", 120.0)]  # the hot lot never came
    acts = [
        ActionRecord("x", "dispatch_maintenance", 200, "FURN-03"),
        ActionRecord("y", "acknowledge_alarm", 130, "FURN-03", alarm="fault"),
    ]
    scores = score_all(d, inj, acts, trainees=["z"])
    assert set(scores) == {"x", "y", "z"}
    assert scores["x"].score == 20 and scores["y"].score == 10 and scores["z"].score == 0
    assert scores["x"].max_points == 40  # 10 + 20 + 10; the hot lot's 20 not triggered
    assert scores["x"].rows[3].status == "not triggered"
