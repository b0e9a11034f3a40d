"""The Train workspace over a real drill server on loopback.

* A lost connection to the drill server is said on the info line and in the Run box (naming
  the server's address), the buttons that need it are disabled, *Reconnect* is offered, and
  the workspace follows the drill again once the server is back on its port.
* The info line says the next step: open a plant; choose a drill and start it; how trainees
  join the drill running (its address); see the Debrief.
* The timeline's Event text does not repeat the trainee the Trainee column names.
* The scores table is as tall as its rows (3 at least, 8 at most, scrolling beyond).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from _qt_wait import wait_until
from _train_window import train_window
from PySide6.QtWidgets import QApplication, QMessageBox

from factory_twin.app.controller import find_demo_plant
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_train_debrief import fill_table
from factory_twin.ui.qt_train_live import SCORE_ROWS_MAX, SCORE_ROWS_MIN

pytestmark = [pytest.mark.gui, pytest.mark.timeout(240)]


@pytest.fixture
def win(qapp, tmp_path: Path) -> Iterator[MainWindow]:
    plant = tmp_path / "fab.yaml"
    shutil.copy(find_demo_plant(), plant)
    with train_window(tmp_path, plant) as w:
        w.tabs.setCurrentWidget(w.train)
        yield w


def _needs_link(ws) -> list:  # type: ignore[no-untyped-def]
    return [ws.pause_button, ws.set_speed_button, ws.finish_button, ws.inject_bar.inject_button]


def test_a_lost_connection_is_said_and_the_drill_followed_again(win: MainWindow) -> None:
    ws = win.train
    assert "Choose a drill and start it" in ws.info.text()
    assert "Open a plant" not in ws.info.text()  # a plant is open
    assert ws.choose_drill("oht_jam")
    ws.start_drill(speed=5)
    wait_until(lambda: ws.desk is not None and ws.desk.running, 60, "the drill server")
    server = ws.desk.server
    url = ws.desk.url
    wait_until(lambda: "is running" in ws.info.text(), 10, "the running drill said")
    assert f"trainees join it with File &gt; Join drill… at {url}" in ws.info.text()
    assert all(b.isEnabled() for b in _needs_link(ws))
    assert not ws.reconnect_button.isVisible()
    # Start again while it runs: asked first; No (the default) keeps the drill
    desk = ws.desk
    ws.start_button.click()
    box = ws.restart_box
    assert box is not None and url in box.text()
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.No)
    box.button(QMessageBox.StandardButton.No).click()
    wait_until(lambda: ws.restart_box is None, 10, "the question answered")
    assert ws.desk is desk and desk.running and not ws.starting

    # the server's network side goes; the drill keeps running on this computer
    server.submit(server.stop()).result(30)
    wait_until(lambda: "Lost the connection" in ws.info.text(), 20, "the loss said")
    text = ws.info.text()
    assert url in text and "The drill keeps running on this computer" in text
    assert ws.info.styleSheet()  # in the error colour
    assert "connection lost" in ws.state_label.text() and url in ws.state_label.text()
    assert not any(b.isEnabled() for b in _needs_link(ws))
    assert ws.stop_button.isEnabled()
    assert ws.reconnect_button.isVisible() and ws.reconnect_button.isEnabled()
    assert not ws.inject_bar.inject(fault="breakdown", equipment="ETCH-01")
    assert "connection to" in ws.message and "is lost" in ws.message
    wait_until(lambda: "reconnect attempt" in ws.info.text(), 20, "the next attempt said")

    # back on its port: Reconnect follows the drill again at once
    server.submit(server.start()).result(60)
    ws.reconnect_button.click()
    wait_until(lambda: "Reconnected to the drill server" in ws.message, 20, "the reconnect")
    assert url in ws.message and "trainees join it" in ws.message
    assert not ws.info.styleSheet()
    assert all(b.isEnabled() for b in _needs_link(ws))
    assert not ws.reconnect_button.isVisible()
    assert "connection lost" not in ws.state_label.text()
    assert ws.inject_bar.inject(fault="breakdown", equipment="ETCH-01")
    wait_until(
        lambda: any(i.equipment == "ETCH-01" for i in server.injections), 20, "the injection"
    )

    # finished: the info line points at the Debrief
    ws.finish_button.click()
    wait_until(lambda: "Debrief tab" in ws.info.text(), 30, "the debrief said")
    ws.stop_drill()
    assert "Choose a drill and start it" in ws.info.text()
    ws.set_document(None)
    assert "Open a plant" in ws.info.text()


def test_timeline_events_leave_the_trainee_to_its_column(win: MainWindow) -> None:
    from factory_twin.app.drill_session import DrillSession

    ws = win.train
    assert ws.choose_drill("oht_jam")
    ws.start_drill(speed=5)
    wait_until(lambda: ws.desk is not None and ws.desk.running, 60, "the drill server")
    cy = DrillSession(ws.desk.url, "cy")
    try:
        assert cy.join().result(30) == "cy"
        cy.call_maintenance("OHT", "vehicle stopped on the loop").result(30)

        def cy_rows() -> list[list[str]]:
            t = ws.timeline_table
            rows = [
                [t.item(i, j).text() for j in range(t.columnCount())] for i in range(t.rowCount())
            ]
            return [r for r in rows if r[2] == "cy" and r[1] == "action"]

        wait_until(cy_rows, 20, "cy's action in the table")
        event = cy_rows()[0][5]
        assert "dispatch_maintenance OHT" in event and "cy" not in event
        # the entry (exports, debriefs) keeps the name
        entry = next(e for e in ws.live.timeline_entries() if e.trainee == "cy")
        assert entry.text.startswith("cy: dispatch_maintenance")
        # one trainee: the scores table is as tall as SCORE_ROWS_MIN rows
        wait_until(lambda: ws.scores_table.rowCount() == 1, 10, "cy's score")
        _rows_shown(ws, SCORE_ROWS_MIN)
    finally:
        cy.leave()
        ws.stop_drill()


def _rows_shown(ws, rows: int) -> None:  # type: ignore[no-untyped-def]
    t = ws.scores_table
    QApplication.processEvents()
    row_h = t.rowHeight(0) if t.rowCount() else t.verticalHeader().defaultSectionSize()
    view_h = t.viewport().height()
    assert rows * row_h <= view_h < (rows + 1) * row_h, (rows, row_h, view_h)


def test_the_scores_table_is_as_tall_as_its_rows(win: MainWindow) -> None:
    ws = win.train
    QApplication.processEvents()
    _rows_shown(ws, SCORE_ROWS_MIN)  # empty: room for the first trainees
    timeline_h = ws.timeline_table.height()
    for n, shown in ((1, SCORE_ROWS_MIN), (5, 5), (12, SCORE_ROWS_MAX)):
        fill_table(ws.scores_table, [[(f"t{i}", None)] * 5 for i in range(n)])
        ws.live.fit_scores_height()
        _rows_shown(ws, shown)
        sb = ws.scores_table.verticalScrollBar()
        assert (sb.maximum() > 0) == (n > SCORE_ROWS_MAX), n
    # the timeline gave up what the scores took, no more
    fill_table(ws.scores_table, [])
    ws.live.fit_scores_height()
    QApplication.processEvents()
    assert ws.timeline_table.height() == timeline_h
