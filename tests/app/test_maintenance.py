"""Maintenance sessions, the crash-safe log and the procedure edits (no Qt)."""

from __future__ import annotations

import csv
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from factory_twin.app import maintenance as m
from factory_twin.app import maintenance_authoring as ma
from factory_twin.model.config import load_plant

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "plant_configs" / "demo_fab.yaml"
LED = REPO / "plant_configs" / "led_line.yaml"
FURNACE = "furnace-quartz-tube-inspection"


@pytest.fixture(scope="module")
def demo_spec():
    return load_plant(DEMO).spec


def _sign_all(sess: m.ProcedureSession, upto: int) -> None:
    for k in range(upto):
        st = sess.steps[k]
        sess.acknowledge_safety(k)
        sess.start_step(k)
        value = None
        if st.acceptance is not None:
            acc = st.acceptance
            value = (
                acc.target
                if acc.target is not None
                else (acc.max if acc.max is not None else acc.min)
            )
        sess.sign_off(k, "A. Tech", value=value)


def test_safety_must_be_acknowledged_before_the_step_starts(tmp_path, demo_spec):
    log = m.MaintenanceLog(tmp_path / "log.jsonl")
    sess = m.ProcedureSession.start(log, demo_spec, "FURN-01", FURNACE, technician="A. Tech")
    assert len(sess.steps[0].safety) == 2
    with pytest.raises(m.MaintenanceError, match="acknowledge its 2 safety note"):
        sess.start_step(0)
    sess.acknowledge_safety(0, 0)
    with pytest.raises(m.MaintenanceError, match="acknowledge its 1 safety note"):
        sess.start_step(0)
    sess.acknowledge_safety(0, 1)
    sess.start_step(0)
    with pytest.raises(m.MaintenanceError, match="has not been started"):
        sess.sign_off(1, "A. Tech")
    with pytest.raises(m.MaintenanceError, match="enter the measured tube temperature in degC"):
        sess.sign_off(0, "A. Tech")
    with pytest.raises(m.MaintenanceError, match="name of the technician"):
        sess.sign_off(0, "  ", value=20)
    kinds = [r["kind"] for r in log.records()]
    assert kinds == ["start", "ack", "ack", "step_start"]


def test_out_of_limit_values_need_confirmation_and_are_flagged(tmp_path, demo_spec):
    log = m.MaintenanceLog(tmp_path / "log.jsonl")
    sess = m.ProcedureSession.start(log, demo_spec, "FURN-01", FURNACE)
    sess.acknowledge_safety(0)
    sess.start_step(0)
    with pytest.raises(m.MaintenanceError, match=r"55 degC is outside the limits <= 50 degC"):
        sess.sign_off(0, "B. Tech", value=55.0)
    assert log.signoffs() == []
    so = sess.sign_off(0, "B. Tech", value=55.0, confirm_out_of_limit=True, comment="fan slow")
    assert so.within_limits is False and so.out_of_limit_confirmed
    (rec,) = log.signoffs()
    assert rec["within_limits"] is False and rec["value"] == 55.0 and rec["max"] == 50
    assert rec["comment"] == "fan slow" and rec["revision"] == "C"
    with pytest.raises(m.MaintenanceError, match=r"signed off already by B\. Tech"):
        sess.sign_off(0, "B. Tech", value=20.0)


def test_a_complete_run_is_finished_and_exports_csv(tmp_path, demo_spec):
    log = m.MaintenanceLog(tmp_path / "log.jsonl")
    sess = m.ProcedureSession.start(log, demo_spec, "FURN-02", FURNACE)
    _sign_all(sess, len(sess.steps))
    assert sess.is_complete() and sess.finished == "finish"
    assert log.open_sessions() == []
    with pytest.raises(m.MaintenanceError, match="finished"):
        sess.acknowledge_safety(0)
    n = log.export_csv(tmp_path / "out" / "log.csv")
    rows = list(csv.DictReader((tmp_path / "out" / "log.csv").open(encoding="utf-8")))
    assert n == len(rows) == 8
    assert [r["step"] for r in rows] == [str(k) for k in range(1, 9)]
    assert rows[5]["value"] == "12.0" and rows[5]["within_limits"] == "True"
    assert rows[0]["equipment"] == "FURN-02" and rows[0]["technician"] == "A. Tech"


_KILLER = textwrap.dedent("""
    import os, signal, sys
    from factory_twin.app import maintenance as m
    from factory_twin.model.config import load_plant
    spec = load_plant(sys.argv[1]).spec
    log = m.MaintenanceLog(sys.argv[2])
    s = m.ProcedureSession.start(log, spec, "FURN-01", "furnace-quartz-tube-inspection",
                                 technician="K. Ill")
    for k, value in ((0, 40.0), (1, None)):
        s.acknowledge_safety(k)
        s.start_step(k)
        s.sign_off(k, "K. Ill", value=value)
    s.acknowledge_safety(2, 0)
    print(s.session_id, flush=True)
    os.kill(os.getpid(), signal.SIGKILL if sys.argv[3] == "kill" else signal.SIGTERM)
    os._exit(3)
""")


@pytest.mark.parametrize("how", ["kill", "exit"])
def test_a_killed_process_keeps_its_signed_steps(tmp_path, how):
    log_path = tmp_path / "data" / "maintenance_log.jsonl"
    proc = subprocess.run(
        [
            sys.executable,
            "-c",
            _KILLER,
            str(DEMO),
            str(log_path),
            "kill" if how == "kill" else "exit",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert proc.returncode in (-signal.SIGKILL, -signal.SIGTERM), proc.stderr
    sid = proc.stdout.strip()
    log = m.MaintenanceLog(log_path)
    (open_,) = log.open_sessions("FURN-01", FURNACE)
    assert open_["session"] == sid and open_["signed"] == [0, 1]
    sess = m.ProcedureSession.resume(log, load_plant(DEMO).spec, sid)
    assert [sess.is_signed(k) for k in range(4)] == [True, True, False, False]
    assert sess.status[0].signoff.value == 40.0 and sess.technician == "K. Ill"
    assert sess.status[2].acknowledged == {0} and sess.current == 2
    # and it carries on where it stopped
    sess.start_step(2)
    sess.sign_off(2, "K. Ill")
    assert [r["step"] for r in log.signoffs(sid)] == [0, 1, 2]


def test_a_torn_last_line_is_skipped_and_the_next_record_survives(tmp_path, demo_spec):
    path = tmp_path / "log.jsonl"
    log = m.MaintenanceLog(path)
    sess = m.ProcedureSession.start(log, demo_spec, "FURN-01", FURNACE)
    sess.acknowledge_safety(0)
    with path.open("ab") as fh:  # a power cut in the middle of a write
        fh.write(b'{"kind":"signoff","session":"x","st')
    sess.start_step(0)
    kinds = [r["kind"] for r in m.MaintenanceLog(path).records()]
    assert kinds == ["start", "ack", "ack", "step_start"]


def test_resume_refuses_a_changed_procedure(tmp_path):
    plant = tmp_path / "demo.yaml"
    shutil.copy(DEMO, plant)
    doc = load_plant(plant)
    log = m.MaintenanceLog(tmp_path / "log.jsonl")
    sess = m.ProcedureSession.start(log, doc.spec, "FURN-01", FURNACE)
    ma.remove_step(doc.spec, FURNACE, 7).apply(doc.spec)
    with pytest.raises(
        m.MaintenanceError, match="7 steps; the session began on revision C with 8"
    ):
        m.ProcedureSession.resume(log, doc.spec, sess.session_id)
    with pytest.raises(m.MaintenanceError, match="no session 'nope'"):
        m.ProcedureSession.resume(log, doc.spec, "nope")


def test_unknown_tool_and_procedure_name_what_exists(demo_spec):
    with pytest.raises(m.MaintenanceError, match="no equipment 'FURN-99'"):
        m.find_procedure(demo_spec, "FURN-99", FURNACE)
    with pytest.raises(m.MaintenanceError, match=r"has no procedure 'x' \(has: furnace-quartz"):
        m.find_procedure(demo_spec, "FURN-01", "x")


def test_procedures_for_alarm_codes(demo_spec):
    ids = lambda procs: [p.id for p in procs]  # noqa: E731
    assert ids(m.procedures_for_alarm(demo_spec, "FURN-03", "temperature.hihi")) == [FURNACE]
    assert ids(m.procedures_for_alarm(demo_spec, "FURN-03", "FURN-03.tube_pressure.hi")) == [
        FURNACE
    ]
    assert ids(m.procedures_for_alarm(demo_spec, "ETCH-02", "fault.rf_trip")) == [
        "etch-chamber-wet-clean"
    ]
    assert m.procedures_for_alarm(demo_spec, "ETCH-02", "temperature.hi") == []
    assert m.procedures_for_alarm(demo_spec, "NOPE", "fault") == []
    led = load_plant(LED).spec
    for p in led.procedures:
        tool = next(e.id for e in led.equipment if e.type == p.equipment_type)
        for code in p.alarm_codes:
            assert p.id in ids(m.procedures_for_alarm(led, tool, code))


def test_nearest_component_from_a_picked_point(demo_spec):
    t = demo_spec.equipment_type(demo_spec.tool("FURN-01").type)
    for c in t.components:
        assert (
            m.nearest_component(
                demo_spec, "FURN-01", m.anchor_world(demo_spec, "FURN-01", c.name)
            ).name
            == c.name
        )
    # a point on the quartz tube's wall, far from its anchor, is still the tube
    tube = next(p for p in t.shape.parts if p.name == "quartz tube")
    x, y, z = tube.at
    tool = demo_spec.tool("FURN-01")
    local = (x + tube.cylinder[0], y, z + 0.2)
    world = m.world_to_local(demo_spec, "FURN-01", (0, 0, 0))  # round trip check below
    assert len(world) == 3
    import math

    c, s = math.cos(math.radians(tool.rotation_deg)), math.sin(math.radians(tool.rotation_deg))
    wp = (
        tool.position_m[0] + c * local[0] - s * local[1],
        tool.position_m[1] + s * local[0] + c * local[1],
        local[2],
    )
    assert m.nearest_component(demo_spec, "FURN-01", wp).name == "quartz tube"
    back = m.world_to_local(demo_spec, "FURN-01", wp)
    assert all(abs(a - b) < 1e-9 for a, b in zip(back, local, strict=True))


def test_edits_undo_exactly_and_save_reloads_identically(tmp_path):
    plant = tmp_path / "demo.yaml"
    shutil.copy(DEMO, plant)
    doc = load_plant(plant)
    spec = doc.spec
    original = [p.model_dump() for p in spec.procedures]
    new_step = {
        "title": "Check the exhaust",
        "component": "gas box",
        "action": "verify",
        "duration_s": 120,
        "acceptance": {"quantity": "exhaust", "unit": "Pa", "min": 80},
    }
    new_proc = {
        "id": "furnace-new",
        "name": "New",
        "equipment_type": "vertical_furnace",
        "steps": [{"title": "Look", "component": "heater"}],
    }
    done = []
    # each edit is built on the spec as the previous ones left it, as the undo stack does
    for make in (
        lambda: ma.move_step(spec, FURNACE, 0, 3),
        lambda: ma.insert_step(spec, FURNACE, 1, new_step),
        lambda: ma.set_step_fields(spec, FURNACE, 0, title="Close gases", tools=["key"]),
        lambda: ma.set_procedure_fields(
            spec, FURNACE, revision="D", alarm_codes=["temperature.hi"]
        ),
        lambda: ma.remove_step(spec, FURNACE, 5),
        lambda: ma.set_step_fields(spec, FURNACE, 4, acceptance=None),
        lambda: ma.add_procedure(spec, new_proc),
    ):
        e = make()
        e.apply(spec)
        done.append(e)
    proc = spec.procedures[0]
    assert proc.revision == "D" and proc.steps[0].title == "Close gases"
    assert proc.steps[1].title == "Check the exhaust" and proc.steps[1].acceptance.min == 80
    assert spec.procedures[-1].id == "furnace-new"
    assert (
        proc.steps[4].title == "Cool down and lock out the heater"
        and proc.steps[4].acceptance is None
    )
    edited = [p.model_dump() for p in spec.procedures]
    assert ma.procedure_problems(spec) == []
    doc.save()
    again = load_plant(plant)
    assert [p.model_dump() for p in again.spec.procedures] == edited
    for e in reversed(done):
        e.revert(spec)
    assert [p.model_dump() for p in spec.procedures] == original
    for e in done:
        e.apply(spec)
    assert [p.model_dump() for p in spec.procedures] == edited


def test_bad_edits_name_the_field(demo_spec):
    with pytest.raises(
        ma.EditError, match=r"inspection\.steps\.0\.title: String should have at least 1 character"
    ):
        ma.set_step_fields(demo_spec, FURNACE, 0, title="")
    with pytest.raises(ma.EditError, match=r"acceptance min 5\.0 is above max 1\.0"):
        ma.set_step_fields(demo_spec, FURNACE, 0, acceptance={"quantity": "t", "min": 5, "max": 1})
    with pytest.raises(ma.EditError, match="needs at least one step"):
        spec = demo_spec.model_copy(deep=True)
        for _ in range(7):
            ma.remove_step(spec, FURNACE, 0).apply(spec)
        ma.remove_step(spec, FURNACE, 0)
    with pytest.raises(ma.EditError, match="exists already"):
        ma.add_procedure(
            demo_spec,
            {
                "id": FURNACE,
                "name": "x",
                "equipment_type": "vertical_furnace",
                "steps": [{"title": "a", "component": "heater"}],
            },
        )
    with pytest.raises(ma.EditError, match="has steps 1 to 8, not 12"):
        ma.move_step(demo_spec, FURNACE, 11, 0)
    with pytest.raises(ma.EditError, match="no procedure 'nope'"):
        ma.set_procedure_fields(demo_spec, "nope", name="x")
    # a component the type lacks is a cross-reference problem, found by validation
    spec = demo_spec.model_copy(deep=True)
    ma.set_step_fields(spec, FURNACE, 2, component="flux capacitor").apply(spec)
    (problem,) = ma.procedure_problems(spec, FURNACE)
    assert problem.startswith(
        "procedures[0].steps[2].component (furnace-quartz-tube-inspection): "
    )
    assert "no component 'flux capacitor'" in problem


def test_the_default_log_lives_in_the_user_data_folder(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    if sys.platform.startswith("linux"):
        assert m.default_log_path() == tmp_path / "factory_twin" / m.LOG_NAME
    assert m.MaintenanceLog().path == m.default_log_path()
    assert os.fspath(m.default_log_path()).endswith(m.LOG_NAME)
