"""The Train workspace shows the trainee names its drill server keeps, over a real restart.

The trainer's Train workspace serves the OHT-jam drill on loopback, recording to a folder (so
the names are kept in ``<record>/oht_jam.tokens``). ann and bob join it from their own
sessions; the trainer stops the drill and starts it again (a new drill server on the same
folder): both names show at the top of the Live tab in grey italic, with a tooltip, until
ann rejoins with her saved token. ann's long note wraps in the timeline's Event column, which
needs no horizontal scrolling at 1600x1000 and 1280x800. The trainer releases bob (selected,
*Release name…*) and then every name (*Release all names…*, confirmed in its box): the names
leave the list and the token file. Finally a damaged token file stops the start with a
question naming the file and line: No leaves the drill stopped, saying why; Yes starts it
anew with every name free.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from _qt_wait import wait_until
from _train_window import train_window
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication, QListWidgetItem, QMessageBox

from factory_twin.app.controller import find_demo_plant
from factory_twin.app.drill_session import DrillSession
from factory_twin.opcua.server.drill_tokens import hash_token
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_tables import MIN_WRAP_PX
from factory_twin.ui.qt_train_workspace import QtTrainWorkspace
from factory_twin.ui.theme import plot_colour

pytestmark = [pytest.mark.gui, pytest.mark.timeout(300)]

DRILL = "oht_jam"
NOTE = (
    "the hoist of vehicle 7 stopped above the litho bay load port and every vehicle behind "
    "it waits on the rail loop, please send the transport team with the recovery kit"
)


@pytest.fixture
def win(qapp: Any, tmp_path: Path) -> Iterator[MainWindow]:
    with train_window(
        tmp_path, find_demo_plant(), size=(1600, 1000), user="tr", maintain=False
    ) as w:
        w.tabs.setCurrentWidget(w.train)
        yield w


def _start(ws: QtTrainWorkspace) -> None:
    assert ws.choose_drill(DRILL)
    assert ws.start_drill(speed=5)
    wait_until(lambda: ws.desk is not None and ws.desk.running, 120, "the drill to start")


def _join(url: str, name: str, token: str = "") -> DrillSession:
    s = DrillSession(url, name, token=token)
    assert s.join().result(timeout=30) == name
    return s


def _item(ws: QtTrainWorkspace, name: str) -> QListWidgetItem:
    found = ws.trainee_list.findItems(name, Qt.MatchFlag.MatchExactly)
    assert len(found) == 1, (name, ws.names.names())
    return found[0]


def _brightest(ws: QtTrainWorkspace, name: str) -> float:
    """The brightest pixel (mean of R, G, B) drawn in ``name``'s row of the list: its text
    on the dark theme's list background."""
    lst = ws.trainee_list
    lst.clearSelection()
    lst.setCurrentItem(None)
    QTest.qWait(50)
    img = lst.viewport().grab().toImage().convertToFormat(img_format())
    r = lst.visualItemRect(_item(ws, name))
    arr = np.frombuffer(img.constBits(), np.uint8).reshape(img.height(), img.bytesPerLine())
    rgb = arr[r.top() : r.bottom(), : img.width() * 4].reshape(r.bottom() - r.top(), -1, 4)
    return float(rgb[:, :, :3].mean(axis=2).max())


def img_format() -> Any:
    from PySide6.QtGui import QImage

    return QImage.Format.Format_RGBX8888


def _timeline_fits(ws: QtTrainWorkspace) -> None:
    """No sideways scrolling: the columns fill the viewport exactly; ann's long note wraps
    (its row is taller than one line) and its tooltip holds all of it."""
    t = ws.timeline_table
    QApplication.processEvents()
    hh = t.horizontalHeader()
    widths = [hh.sectionSize(j) for j in range(t.columnCount())]
    assert sum(widths) == t.viewport().width(), widths
    assert t.horizontalScrollBar().maximum() == 0
    assert widths[-1] >= MIN_WRAP_PX
    row = next(i for i in range(t.rowCount()) if "recovery kit" in (t.item(i, 5).toolTip() or ""))
    text_w = t.fontMetrics().horizontalAdvance(t.item(row, 5).text())
    assert text_w > widths[-1]  # the note is wider than the column: it has to wrap
    assert t.rowHeight(row) >= 2 * t.fontMetrics().height()
    assert NOTE in t.item(row, 5).toolTip()


def test_names_kept_over_a_restart_show_grey_italic_until_rejoined_and_are_released(
    win: MainWindow, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ws = win.train
    token_file = tmp_path / "drills" / f"{DRILL}.tokens"
    sessions: list[DrillSession] = []
    try:
        # run 1: ann and bob join; both listed at the top of the Live tab, joined
        _start(ws)
        assert ws.side.currentIndex() == 0 and ws.names.isVisible()
        assert ws.names.geometry().top() < ws.scores_table.geometry().top()
        url = ws.desk.url
        ann, bob = _join(url, "ann"), _join(url, "bob")
        sessions += [ann, bob]
        ann_token = ann.client.token
        wait_until(lambda: ws.names.names() == ["ann", "bob"], 20, "ann and bob listed")
        for name in ("ann", "bob"):
            assert not _item(ws, name).font().italic()
            assert "joined this run" in _item(ws, name).toolTip()
        for s in (ann, bob):
            s.leave()
        sessions.clear()

        # the drill server restarts on the same folder: both names are kept, not joined
        ws.stop_drill()
        wait_until(lambda: ws.trainee_list.count() == 0, 10, "the list emptied on stop")
        _start(ws)
        assert ws.desk.taken_names == ["ann", "bob"] and ws.desk.token_path == token_file
        wait_until(lambda: ws.names.names() == ["ann", "bob"], 20, "the kept names listed")
        muted = QColor(plot_colour("muted"))
        for name in ("ann", "bob"):
            it = _item(ws, name)
            assert it.font().italic()
            assert it.foreground().color().name() == muted.name()
            assert "kept from an earlier run" in it.toolTip() and str(token_file) in it.toolTip()
        assert "2 kept from an earlier run" in ws.names.label.text()
        grey = _brightest(ws, "bob")
        assert grey < 185  # the muted grey (#9aa4b2, mean 165), not the text's white

        # ann rejoins with her saved token: she shows joined, bob stays kept
        url = ws.desk.url
        ann = _join(url, "ann", ann_token)
        sessions.append(ann)
        assert ann.client.token == ann_token
        wait_until(lambda: not _item(ws, "ann").font().italic(), 20, "ann joined again")
        assert _item(ws, "ann").foreground().style() == Qt.BrushStyle.NoBrush
        assert _item(ws, "bob").font().italic()
        assert _brightest(ws, "ann") > 210  # the theme's text colour (#e6e6e6)
        assert ws.names.names() == ["ann", "bob"]

        # ann's long note in the timeline wraps; no horizontal scrolling at either size
        ann.call_maintenance("OHT", NOTE).result(timeout=20)
        wait_until(
            lambda: any("recovery kit" in e.text for e in ws.live.timeline_entries()),
            20,
            "the note",
        )
        for size in ((1600, 1000), (1280, 800)):
            win.resize(*size)
            wait_until(lambda s=size: (win.width(), win.height()) == s, 10, f"size {size}")
            ws.refresh_live()
            QTest.qWait(100)
            _timeline_fits(ws)
        win.resize(1600, 1000)

        _release_bob_then_everyone(ws, url, token_file, sessions, monkeypatch)
    finally:
        for s in sessions:
            s.leave()
        ws.stop_drill()


def _release_bob_then_everyone(
    ws: QtTrainWorkspace,
    url: str,
    token_file: Path,
    sessions: list[DrillSession],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """ann joined, bob kept: release bob, then (carol joined) every name."""
    # Release name (bob selected): confirmed, bob leaves the list and the token file
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    ws.trainee_list.setCurrentItem(_item(ws, "bob"))
    assert ws.release_button.isEnabled()
    ws.release_button.click()
    wait_until(lambda: ws.names.names() == ["ann"], 20, "bob gone from the list")
    assert ws.desk.taken_names == ["ann"]
    assert "bob" not in token_file.read_text(encoding="utf-8")

    # carol joins; Release all names… asks first, naming them; Yes frees them all
    sessions.append(_join(url, "carol"))
    wait_until(lambda: ws.names.names() == ["ann", "carol"], 20, "carol listed")
    assert ws.release_all_button.isEnabled()
    ws.release_all_button.click()
    box = ws.names.release_all_box
    assert box is not None and box.isVisible()
    assert "ann" in box.text() and "carol" in box.text()
    box.button(QMessageBox.StandardButton.Yes).click()
    wait_until(lambda: ws.trainee_list.count() == 0, 20, "every name released")
    assert ws.desk.taken_names == []
    lines = token_file.read_text(encoding="utf-8").splitlines()
    assert all(ln.startswith("#") for ln in lines)
    assert "released 2 name(s): ann, carol" in ws.message
    scored = [ws.scores_table.item(i, 0).text() for i in range(ws.scores_table.rowCount())]
    assert "ann" in scored  # the scores stay


def test_a_damaged_token_file_asks_to_start_anew(win: MainWindow, tmp_path: Path) -> None:
    ws = win.train
    token_file = tmp_path / "drills" / f"{DRILL}.tokens"
    token_file.parent.mkdir(parents=True)
    assert ws.choose_drill(DRILL)
    assert win.release_all_names_action in win.train_menu.actions()
    win.release_all_names_action.trigger()  # nothing to release before a drill runs
    assert ws.message == "no drill is running" and ws.names.release_all_box is None
    sessions: list[DrillSession] = []
    try:
        # a damaged token file: the box names file and line; No leaves the drill stopped
        ann = json.dumps({"trainee": "ann", "hash": hash_token("ann's token")})
        token_file.write_text(f"# names\n{ann}\n{ann[:20]}\n", encoding="utf-8")
        damaged = token_file.read_bytes()
        assert ws.start_drill(speed=5)
        wait_until(lambda: ws.damaged_box is not None, 60, "the damaged-file question")
        box = ws.damaged_box
        assert box.isVisible()
        assert f"line 3 of {token_file}" in box.text()
        backup = token_file.with_name(token_file.name + ".bak")
        assert f"kept as {backup}" in box.informativeText()
        assert backup.read_bytes() == damaged
        assert ws.desk is None and not ws.starting
        box.button(QMessageBox.StandardButton.No).click()
        assert ws.damaged_box is None and ws.desk is None
        assert "was not started" in ws.message and f"{token_file}:3" in ws.message
        assert token_file.read_bytes() == damaged  # left for the trainer to repair

        # ... and Yes starts it anew with every name free
        assert ws.start_drill(speed=5)
        wait_until(lambda: ws.damaged_box is not None, 60, "the question again")
        ws.damaged_box.button(QMessageBox.StandardButton.Yes).click()
        assert ws.damaged_box is None
        wait_until(lambda: ws.desk is not None and ws.desk.running, 120, "the fresh start")
        assert ws.desk.taken_names == []
        assert all(
            ln.startswith("#") for ln in token_file.read_text(encoding="utf-8").splitlines()
        )
        assert backup.read_bytes() == damaged
        fresh = _join(ws.desk.url, "ann")  # no token needed: ann's kept name is forgotten
        sessions.append(fresh)
        assert fresh.client.token
    finally:
        for s in sessions:
            s.leave()
        ws.stop_drill()
