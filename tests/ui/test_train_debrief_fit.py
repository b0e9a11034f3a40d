"""The Debrief tab's two tables fit the side pane on a small laptop screen and a large one: a
recorded drill log opened with *Open drill log…* fills them, no horizontal scroll bar shows,
and every cell's whole text can be read (wrapped in its row, or elided with the whole text
as the cell's tooltip); a header cut in a narrow pane keeps its text as its tooltip."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from _qt_wait import wait_until
from _train_window import close_train_window, open_train_window
from PySide6.QtWidgets import QApplication, QFileDialog, QTableWidget

from factory_twin.app.controller import find_demo_plant
from factory_twin.app.drill_log import AlarmRecord, DrillLog
from factory_twin.model import schema as s
from factory_twin.model.drill_scoring import ActionRecord, InjectionRecord

pytestmark = [pytest.mark.gui, pytest.mark.timeout(180)]

NOTE = "chuck seal worn: replace it and run a leak check on the chamber before its release"


def _drill_log(spec: s.PlantSpec, folder: Path) -> Path:
    """A recorded run of the helium-leak drill: ann acknowledges with a long comment, holds
    the right tool and a wrong one, and sends maintenance with a long note."""
    ann = [
        ActionRecord("ann", "acknowledge_alarm", 200, "ETCH-02", alarm="helium_leak.hi",
                     comment="He leak, chuck seal suspected; the recovery kit is on its way"),
        ActionRecord("ann", "hold_tool", 230, "ETCH-02"),
        ActionRecord("ann", "hold_tool", 240, "ETCH-01"),
        ActionRecord("ann", "dispatch_maintenance", 400, "ETCH-02", comment=NOTE),
    ]  # fmt: skip
    log = DrillLog(
        plant=spec.site.name,
        drill_id="etch_helium_leak",
        start_plant_s=7200,
        started_at=1_700_000_000.0,
        injections=[InjectionRecord("leak", "tag_drift", "ETCH-02", 60, detail="Chuck seal")],
        actions=ann,
        alarms=[
            AlarmRecord(
                195,
                "ETCH-02.helium_leak.hi",
                "ETCH-02",
                "helium_leak.hi",
                "helium_leak.hi: 4.02 sccm above the hi limit",
                True,
                False,
            )
        ],
        trainees=["ann"],
        end_s=2160,
    )
    return log.save(folder / "etch_helium_leak.drill.json")


def _settle() -> None:
    for _ in range(5):
        QApplication.processEvents()


def _fits(table: QTableWidget) -> None:
    """No sideways scrolling, and every text readable: a cell's tooltip is its whole text
    (a cut header's too); a long event wraps onto more lines."""
    hh = table.horizontalHeader()
    n = table.columnCount()
    widths = [hh.sectionSize(j) for j in range(n)]
    assert sum(widths) <= table.viewport().width(), (widths, table.viewport().width())
    assert not table.horizontalScrollBar().isVisible()
    assert table.horizontalScrollBar().maximum() == 0
    assert table.rowCount() > 0
    for i in range(table.rowCount()):
        for j in range(n):
            item = table.item(i, j)
            assert item is not None and item.toolTip() == item.text(), (i, j)
    for j in range(n):
        head = table.horizontalHeaderItem(j)
        assert head is not None and head.text() in head.toolTip()


def _wrapped(table: QTableWidget, column: int, text: str) -> None:
    """The row holding ``text`` (wider than its column) is as tall as its wrapped lines."""
    row = next(i for i in range(table.rowCount()) if text in table.item(i, column).text())
    fm = table.fontMetrics()
    assert fm.horizontalAdvance(table.item(row, column).text()) > table.columnWidth(column)
    assert table.rowHeight(row) >= 2 * fm.height()


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)], ids=["1280x800", "1920x1080"])
def test_the_debrief_tables_fit_the_pane_with_every_text_readable(
    qapp, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, size: tuple[int, int]
) -> None:
    plant = tmp_path / "fab.yaml"
    shutil.copy(find_demo_plant(), plant)
    w = open_train_window(tmp_path, plant, size=size, maintain=False)
    try:
        w.tabs.setCurrentWidget(w.train)
        wait_until(lambda: w.width() == size[0], 10, "the window size")
        ws = w.train
        log_path = _drill_log(ws.spec, tmp_path)
        ws.side.setCurrentWidget(ws.debrief)
        monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *_a, **_k: (str(log_path), ""))
        ws.debrief.open_button.click()
        assert ws.debrief.trainee_box.currentText() == "ann", ws.debrief.message
        _settle()
        deb = ws.debrief
        for t in (deb.responses, deb.timeline):
            _fits(t)
        _wrapped(deb.timeline, 2, NOTE)
        # the other size: the tables follow the pane
        other = (1920, 1080) if size[0] == 1280 else (1280, 800)
        w.resize(*other)
        wait_until(lambda: w.width() == other[0], 10, "the new size")
        _settle()
        for t in (deb.responses, deb.timeline):
            _fits(t)
        _wrapped(deb.timeline, 2, NOTE)
        assert w.grab().save(str(tmp_path / "debrief.png"))
    finally:
        close_train_window(w)
