"""A trainee's own debrief over real OPC UA: a drill server on a free loopback port, a
trainee who acknowledges the leak alarm and holds the chamber, and the *Your debrief* dialog
showing exactly the rows the trainer's Debrief tab shows for them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtWidgets import QTableWidget

from factory_twin.app.drill_debrief import TraineeHistory, own_debrief
from factory_twin.app.drill_session import DrillSession, start_drill_server
from factory_twin.model.config import load_plant
from factory_twin.ui.qt_train_debrief import QtDebriefPanel
from factory_twin.ui.qt_train_join import NO_DEBRIEF, QtOwnDebriefDialog

pytestmark = [pytest.mark.gui, pytest.mark.timeout(120)]

DEMO = Path(__file__).resolve().parents[2] / "plant_configs" / "demo_fab.yaml"


def _wait(qtbot, cond: Callable[[], object], timeout_s: float = 30.0) -> None:  # type: ignore[no-untyped-def]
    qtbot.waitUntil(lambda: bool(cond()), timeout=int(timeout_s * 1000))


def _cells(table: QTableWidget) -> list[list[str]]:
    return [
        [table.item(i, j).text() for j in range(table.columnCount())]
        for i in range(table.rowCount())
    ]


def _check_columns(table: QTableWidget) -> None:
    """The columns fill the table's width exactly (no sideways scrolling); the wrapping one
    (the responses' Expected, the timeline's Event) takes what the others leave, and in a
    dialog this wide no other column is narrower than its text."""
    hh = table.horizontalHeader()
    n = table.columnCount()
    widths = [hh.sectionSize(j) for j in range(n)]
    assert sum(widths) == table.viewport().width(), (widths, table.viewport().width())
    assert not table.horizontalScrollBar().isVisible()
    heads = [hh.model().headerData(j, hh.orientation()) for j in range(n)]
    for j in range(n):
        if heads[j] in ("Expected", "Event"):
            continue
        assert widths[j] >= max(table.sizeHintForColumn(j), hh.sectionSizeHint(j)), j


def test_the_trainee_sees_the_debrief_the_trainer_sees(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    spec = load_plant(DEMO).spec
    sim = start_drill_server(spec, "etch_helium_leak", speed=30, load_companion_specs=False)
    ann = DrillSession(sim.endpoint_url, "ann")
    trainer = DrillSession(sim.endpoint_url, "trainer", trainer=True)
    dlg = QtOwnDebriefDialog()
    qtbot.addWidget(dlg)
    dlg.show()
    assert dlg.verdict.text() == NO_DEBRIEF and dlg.responses.rowCount() == 0
    try:
        ann.join().result(30)
        trainer.join().result(30)
        _wait(qtbot, lambda: ("ETCH-02", "helium_leak.hi") in ann.client._event_ids)
        ann.acknowledge("ETCH-02", "helium_leak.hi", "He leak, chuck seal suspected").result(10)
        assert ann.hold("ETCH-02").result(10)

        def mine():  # type: ignore[no-untyped-def]
            return own_debrief(ann.client.debrief_text)

        _wait(qtbot, lambda: mine() is not None and mine().score.score == 30)
        dlg.set_debrief(mine(), "ann · so far", final=False)
        assert "SO FAR" in dlg.verdict.text() and "30 of" in dlg.verdict.text()
        assert "pending" in [r[5] for r in _cells(dlg.responses)]
        trainer.finish().result(10)
        _wait(qtbot, lambda: ann.client.value("State") == "finished")
        _wait(qtbot, lambda: "missed" in [r.status for r in mine().score.rows])
        dlg.set_debrief(mine(), "ann · final", final=True)
        # the trainer's Debrief tab on the same run, trainee ann
        panel = QtDebriefPanel(TraineeHistory())
        qtbot.addWidget(panel)
        panel.set_run(sim.log(), sim.drill, spec, record=False)
        panel.trainee_box.setCurrentText("ann")
        assert dlg.verdict.text() == panel.verdict.text()
        assert "FAIL" in dlg.verdict.text() and "30 of 70 points" in dlg.verdict.text()
        assert _cells(dlg.responses) == _cells(panel.responses)
        assert _cells(dlg.timeline) == _cells(panel.timeline)
        assert any("acknowledge_alarm ETCH-02" in r[2] for r in _cells(dlg.timeline))
        dlg.resize(900, 620)
        panel.resize(1000, 700)
        panel.show()
        qtbot.wait(50)
        for table in (dlg.timeline, panel.timeline, dlg.responses, panel.responses):
            _check_columns(table)
        assert dlg.grab().save(str(tmp_path / "own_debrief.png"))
        assert panel.grab().save(str(tmp_path / "debrief_tab.png"))
        dlg.resize(1300, 620)  # wider: the wrapping column follows
        qtbot.wait(50)
        _check_columns(dlg.timeline)
    finally:
        ann.leave()
        trainer.leave()
        sim.stop_in_thread()
