"""A drill started in the Train window on a record folder with a damaged event log.

The drill server sets the damaged ``<drill>.events`` aside as ``<drill>.events.damaged`` and
starts a fresh log; the trainer is told so once, in a warning that does not block the window,
naming the file, line and column and what is wrong there. With the trainee token file
damaged as well, the window first asks whether to start anew (the token file stops a start);
after Yes the drill starts and the event log's warning follows. A later start on the same
folder (the fresh log intact) warns of nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _qt_wait import wait_until
from _train_window import train_window
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication, QMessageBox

from factory_twin.app.controller import find_demo_plant
from factory_twin.opcua.server.drill_events import HEADER, read_event_log
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_train_workspace import QtTrainWorkspace

pytestmark = [pytest.mark.gui, pytest.mark.timeout(300)]

DRILL = "oht_jam"
CUT = '{"seq": 2, "kind": "action", "message": "ann: hold_t'  # line 4, cut short


@pytest.fixture
def win(qapp: Any, tmp_path: Path) -> Iterator[MainWindow]:
    with train_window(tmp_path, find_demo_plant(), user="tr", maintain=False) as w:
        w.tabs.setCurrentWidget(w.train)
        yield w


def _damage(events_file: Path) -> bytes:
    """An event log of an earlier run whose line 4 was cut short."""
    lines = [
        HEADER,
        json.dumps({"log": "old-run"}),
        json.dumps({"seq": 1, "kind": "state", "message": "drill paused"}),
        CUT,
    ]
    data = ("\n".join(lines) + "\n").encode()
    events_file.parent.mkdir(parents=True, exist_ok=True)
    events_file.write_bytes(data)
    return data


def _boxes(ws: QtTrainWorkspace) -> list[QMessageBox]:
    return [b for b in ws.findChildren(QMessageBox) if b.objectName() == "damaged_events_box"]


def test_a_damaged_event_log_is_shown_to_the_trainer_once(win: MainWindow, tmp_path: Path) -> None:
    ws = win.train
    record = tmp_path / "drills"
    events_file = record / f"{DRILL}.events"
    aside = record / f"{DRILL}.events.damaged"
    data = _damage(events_file)
    with pytest.raises(json.JSONDecodeError) as cut:
        json.loads(CUT)
    # the trainee token file is damaged too: that one stops the start with a question
    token_file = record / f"{DRILL}.tokens"
    token_file.write_text("# names\n{not a name}\n", encoding="utf-8")
    assert ws.choose_drill(DRILL)
    try:
        assert ws.start_drill(speed=5)
        wait_until(lambda: ws.damaged_box is not None, 60, "the damaged token file question")
        assert not _boxes(ws) and ws.events_box is None  # nothing started, nothing set aside
        assert events_file.read_bytes() == data
        ws.damaged_box.button(QMessageBox.StandardButton.Yes).click()
        wait_until(lambda: ws.desk is not None and ws.desk.running, 120, "the drill to start")
        wait_until(lambda: ws.events_box is not None, 10, "the event log's warning")

        box = ws.events_box
        assert box is not None and box.isVisible()
        assert box.windowModality() == Qt.WindowModality.NonModal  # the window stays usable
        assert box.icon() == QMessageBox.Icon.Warning
        text = box.text()
        assert f"damaged at line 4, column {cut.value.colno} of {events_file}" in text
        assert "not a JSON object" in text
        informative = box.informativeText()
        assert f"kept as {aside}" in informative and "fresh event log" in informative
        assert ws.desk is not None
        log = ws.desk.event_log()
        assert log is not None and log.id in informative and str(events_file) in informative
        assert aside.read_bytes() == data  # the damaged file kept as it was
        kept = read_event_log(events_file)
        assert kept is not None and kept[0] == log.id != "old-run"  # a fresh log
        assert "is running" in ws.info.text()  # the window goes on as for any start
        assert ws.pause_button.isEnabled()

        for _ in range(8):  # said once, not at every tick
            ws.tick()
            QApplication.processEvents()
        assert _boxes(ws) == [box] and ws.events_box is box
        box.button(QMessageBox.StandardButton.Ok).click()
        assert not box.isVisible()

        # started again on the same folder: its event log is intact now, nothing to say
        ws.stop_drill()
        assert ws.start_drill(speed=5)
        wait_until(lambda: ws.desk is not None and ws.desk.running, 120, "the second start")
        for _ in range(8):
            ws.tick()
            QApplication.processEvents()
        assert not any(b.isVisible() for b in _boxes(ws))
        assert ws.desk.event_log() is not None and ws.desk.event_log().damage is None
    finally:
        ws.stop_drill()
