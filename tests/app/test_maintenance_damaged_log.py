"""A damaged maintenance log (hand-edited, another tool's records, a bad disk) is read, not
crashed on: damaged records are skipped, a session that cannot be rebuilt is refused with
a MaintenanceError naming the log, and the signed steps that are intact survive."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from factory_twin.app import maintenance as m
from factory_twin.model.config import load_plant

ROOT = Path(__file__).resolve().parents[2]
FURNACE = "furnace-quartz-tube-inspection"
BAD = [None, "x", -1, 1e300, [], {}, True, 10**30, float("nan")]


@pytest.fixture(scope="module")
def demo_spec():
    return load_plant(ROOT / "plant_configs" / "demo_fab.yaml").spec


@pytest.fixture(scope="module")
def good_log(tmp_path_factory, demo_spec) -> tuple[bytes, str]:
    log = m.MaintenanceLog(tmp_path_factory.mktemp("m") / "log.jsonl")
    sess = m.ProcedureSession.start(log, demo_spec, "FURN-01", FURNACE, technician="A. Tech")
    sess.acknowledge_safety(0)
    sess.start_step(0)
    acc = sess.steps[0].acceptance
    value = (
        None if acc is None else next(v for v in (acc.target, acc.max, acc.min) if v is not None)
    )
    sess.sign_off(0, "A. Tech", value=value)
    return log.path.read_bytes(), sess.session_id


@st.composite
def damaged(draw: st.DrawFn, text: bytes) -> bytes:
    records = [json.loads(line) for line in text.splitlines()]
    for _ in range(draw(st.integers(1, 3))):
        rec = draw(st.sampled_from(records))
        key = draw(st.sampled_from(sorted(rec)))
        if draw(st.booleans()):
            del rec[key]
        else:
            rec[key] = draw(st.sampled_from(BAD))
    lines = [json.dumps(r) for r in records]
    if draw(st.booleans()):
        lines.insert(draw(st.integers(0, len(lines))), "[" * 5000)
    return ("\n".join(lines) + "\n").encode()


def test_a_damaged_log_is_read_or_refused(tmp_path, demo_spec, good_log):
    text, session = good_log
    log = m.MaintenanceLog(tmp_path / "log.jsonl")

    @settings(max_examples=150, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
    @given(data=damaged(text))
    def check(data: bytes) -> None:
        log.path.write_bytes(data)
        log.sessions()
        log.open_sessions("FURN-01", FURNACE)
        log.export_csv(tmp_path / "out.csv")
        try:
            sess = m.ProcedureSession.resume(log, demo_spec, session)
        except m.MaintenanceError as exc:
            assert str(log.path) in str(exc) or session in str(exc), str(exc)
            return
        sess.signed_count()
        sess.first_open_step()

    check()


def test_intact_sign_offs_survive_a_damaged_record(tmp_path, demo_spec, good_log):
    text, session = good_log
    log = m.MaintenanceLog(tmp_path / "log.jsonl")
    bad = {"kind": "ack", "session": session, "step": 1, "note": "x"}
    log.path.write_bytes(text + (json.dumps(bad) + "\n").encode())
    sess = m.ProcedureSession.resume(log, demo_spec, session)
    assert sess.is_signed(0) and sess.signed_count() == 1
    assert log.export_csv(tmp_path / "out.csv") == 1
