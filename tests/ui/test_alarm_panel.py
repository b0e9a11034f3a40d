"""The alarm panel: priority shown and filtered, shelved/out-of-service alarms kept apart,
and the shelve / out-of-service actions asking for a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from factory_twin.app.plant_state import PlantState
from factory_twin.model.config import load_plant
from factory_twin.model.events import AlarmEvent, AlarmPriority, ShelvingState
from factory_twin.ui.qt_alarm_panel import SHOW_ALL, SHOW_SUPPRESSED, QtAlarmPanel

pytestmark = pytest.mark.gui


def alarm(aid: str, prio: AlarmPriority, **kw) -> AlarmEvent:
    return AlarmEvent(
        aid,
        "ETCH-01",
        f"chamber_pressure.{aid}",
        prio.severity,
        f"alarm {aid}",
        10.0,
        True,
        False,
        **kw,
    )


@pytest.fixture
def panel(qtbot, mini_plant_path: Path) -> QtAlarmPanel:
    state = PlantState(load_plant(mini_plant_path).spec)
    p = QtAlarmPanel()
    qtbot.addWidget(p)
    p.set_state(state)
    state.apply(
        [
            alarm("hi", AlarmPriority.LOW),
            alarm("hihi", AlarmPriority.CRITICAL),
            alarm("lo", AlarmPriority.HIGH, shelving=ShelvingState.TIMED, unshelve_time_s=3600.0),
            alarm("lolo", AlarmPriority.MEDIUM, out_of_service=True),
        ]
    )
    p.refresh()
    return p


def shown(p: QtAlarmPanel) -> set[str]:
    return {p._record_at(r).event.alarm_id for r in range(p.proxy.rowCount())}


def test_operator_list_hides_shelved_and_out_of_service(panel: QtAlarmPanel) -> None:
    assert shown(panel) == {"hi", "hihi"}
    assert "2 alarms" in panel.count_label.text()
    assert "2 shelved/out of service" in panel.count_label.text()
    panel.show_combo.setCurrentIndex(SHOW_SUPPRESSED)
    assert shown(panel) == {"lo", "lolo"}
    states = {
        panel._record_at(r).event.alarm_id: panel.proxy.index(r, 4).data()
        for r in range(panel.proxy.rowCount())
    }
    assert "shelved, 60 min left" in states["lo"] and "out of service" in states["lolo"]
    panel.show_combo.setCurrentIndex(SHOW_ALL)
    assert shown(panel) == {"hi", "hihi", "lo", "lolo"}


def test_priority_is_shown_and_filtered(panel: QtAlarmPanel) -> None:
    prio = {
        panel._record_at(r).event.alarm_id: panel.proxy.index(r, 0).data()
        for r in range(panel.proxy.rowCount())
    }
    assert prio == {"hi": "Low", "hihi": "Critical"}
    panel.priority_combo.setCurrentIndex(1)  # critical only
    assert shown(panel) == {"hihi"}


def test_shelve_and_out_of_service_ask_for_a_reason(
    panel: QtAlarmPanel, qtbot, monkeypatch
) -> None:
    got: list[tuple] = []
    panel.shelve_requested.connect(lambda *a: got.append(("shelve", *a)))
    panel.out_of_service_requested.connect(lambda *a: got.append(("oos", *a)))
    assert panel.select_alarm("hi")
    assert panel.shelve_button.isEnabled() and not panel.unshelve_action.isEnabled()
    monkeypatch.setattr(panel, "ask_reason", lambda *a: None)  # cancelled: nothing sent
    panel.shelve_hour_action.trigger()
    assert got == []
    monkeypatch.setattr(panel, "ask_reason", lambda *a: "known sensor drift")
    panel.shelve_hour_action.trigger()
    panel.shelve_once_action.trigger()
    panel.out_of_service_action.trigger()
    assert got == [
        ("shelve", "hi", ShelvingState.TIMED, 3600.0, "known sensor drift"),
        ("shelve", "hi", ShelvingState.ONE_SHOT, 0.0, "known sensor drift"),
        ("oos", "hi", True, "known sensor drift"),
    ]
    panel.show_combo.setCurrentIndex(SHOW_SUPPRESSED)
    assert panel.select_alarm("lo")
    assert panel.unshelve_action.isEnabled() and not panel.shelve_hour_action.isEnabled()
    panel.unshelve_action.trigger()
    assert got[-1] == ("shelve", "lo", ShelvingState.UNSHELVED, 0.0, "")
