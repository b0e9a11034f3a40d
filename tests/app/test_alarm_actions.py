"""Shelving and out of service from the controller, against the embedded simulator."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from factory_twin.app.controller import ConnectionSettings, Controller
from factory_twin.errors import FactoryTwinError
from factory_twin.model.events import AlarmEvent, ShelvingState

DEMO = Path(__file__).resolve().parents[2] / "plant_configs" / "demo_fab.yaml"


def pump_until(c: Controller, pred, timeout_s: float = 60.0):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        c.apply_pending()
        found = pred()
        if found:
            return found
        time.sleep(0.05)
    pytest.fail("timed out")


@pytest.mark.timeout(150)
def test_shelve_and_out_of_service_reach_the_server_and_the_journal(tmp_path):
    c = Controller(journal_path=tmp_path / "journal.sqlite", user="ann")
    seen: list[AlarmEvent] = []
    try:
        c.open_plant(DEMO)
        c.state.alarms_changed.connect(seen.extend)
        c.connect(ConnectionSettings(use_simulator=True, simulator_speed=600.0)).result(60)
        rec = pump_until(
            c,
            lambda: next(
                (r for r in c.state.alarms.values() if r.event.active and r.event.code != "fault"),
                None,
            ),
        )
        aid = rec.event.alarm_id
        c.shelve(aid, ShelvingState.TIMED, 3600.0, "known drift, tech on the way").result(10)
        shelved = pump_until(
            c, lambda: [e for e in seen if e.alarm_id == aid and e.shelving is ShelvingState.TIMED]
        )[-1]
        # the server names its session's user (this one is anonymous); the journal, the app's
        assert shelved.suppressed and shelved.user == "anonymous"
        assert shelved.comment == "known drift, tech on the way"
        with pytest.raises(FactoryTwinError, match="positive duration"):
            c.shelve(aid, ShelvingState.TIMED, 0.0, "")
        c.shelve(aid, ShelvingState.UNSHELVED, 0.0, "").result(10)
        c.set_out_of_service(aid, True, "transmitter swapped").result(10)
        pump_until(c, lambda: [e for e in seen if e.alarm_id == aid and e.out_of_service])
        c.journal.flush()
        rows = [e for e in c.journal.search() if e.alarm_id == aid]
        assert any("shelved for 60 min" in e.message and e.user == "ann" for e in rows)
        assert any("removed from service" in e.message for e in rows)
    finally:
        c.close()
