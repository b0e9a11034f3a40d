"""Text that widgets colour themselves follows a theme switch and stays readable.

Labels with style sheets or coloured rich text (the status bar, a player's safety notes and
messages, the export and optimisation status, a debrief's verdict) and table cells with
their own colours (the alarm list, the tool's tag table) must be re-coloured when View >
Light/Dark switches the theme: the dark theme's pale colours vanish on the light theme's
white. Each colour is read back from the widget (its polished palette, its style sheet or
its rich text) and checked for WCAG contrast against the background it is drawn on.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from factory_twin.app.controller import Controller
from factory_twin.app.drill_debrief import TraineeHistory
from factory_twin.app.maintenance import MaintenanceLog
from factory_twin.model.config import load_plant
from factory_twin.model.events import AlarmEvent, ConnectionStatus, Quality, TagUpdate
from factory_twin.ui.qt_kpi_strip import EMPTY_BAR
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_maintain_export import QtExportDialog
from factory_twin.ui.qt_maintain_player import QtProcedurePlayer
from factory_twin.ui.qt_plan_optimise import QtOptimisePanel
from factory_twin.ui.qt_train_debrief import QtDebriefPanel
from factory_twin.ui.theme import MIN_TEXT_CONTRAST, TEXT_COLOURS, contrast_ratio, current_dark

pytestmark = pytest.mark.gui

REPO = Path(__file__).resolve().parents[2]
FURNACE = "furnace-quartz-tube-inspection"
_COLOUR = re.compile(r"color:\s*(#[0-9a-fA-F]{6})")
SAFETY_TINT = QColor(224, 49, 49, 40)  # the safety box's background over the window


def _text(w: QWidget) -> QColor:
    """The colour a widget draws its plain text in (a style sheet's ``color`` included)."""
    w.ensurePolished()
    return w.palette().color(w.foregroundRole())


def _window() -> QColor:
    return QApplication.palette().color(QPalette.ColorRole.Window)


def _base() -> QColor:
    return QApplication.palette().color(QPalette.ColorRole.Base)


def _over(bg: QColor, tint: QColor) -> QColor:
    a = tint.alphaF()
    return QColor.fromRgbF(*(a * t + (1 - a) * b for t, b in zip(tint.getRgbF()[:3], bg.getRgbF()[:3], strict=True)))  # fmt: skip


def _readable(colour: QColor | str, bg: QColor, what: str) -> None:
    ratio = contrast_ratio(QColor(colour), bg)
    assert ratio >= MIN_TEXT_CONTRAST, (
        f"{what}: {QColor(colour).name()} on {bg.name()} has contrast {ratio:.2f}"
        f" (theme {'dark' if current_dark() else 'light'})"
    )


def _span_colours(w: QLabel) -> list[str]:
    found = _COLOUR.findall(w.text())
    assert found, f"no coloured text in {w.text()!r}"
    return found


@pytest.fixture
def win(qtbot, tmp_path: Path, mini_plant_path: Path):  # type: ignore[no-untyped-def]
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    c = Controller(journal_path=tmp_path / "journal.sqlite")
    w = MainWindow(c, settings)  # dark: the default theme
    qtbot.addWidget(w)
    c.set_plant(load_plant(mini_plant_path))
    w.resize(1300, 800)
    w.show()
    qtbot.waitExposed(w)
    yield w
    w.set_dark(True)  # the next test starts in the default theme
    w.close()
    c.close()


def test_every_palette_colour_is_readable_in_its_theme():
    for dark, backgrounds in (
        (True, ("#22262c", "#1a1d22", "#262a31", "#2f343c")),
        (False, ("#efefef", "#ffffff", "#f7f7f7", "#ffffdc")),
    ):
        for role, colour in TEXT_COLOURS[dark].items():
            for bg in backgrounds:
                assert contrast_ratio(colour, bg) >= MIN_TEXT_CONTRAST, (dark, role, bg)
    # the dark theme's pale tints are not readable on white: that is why there are two
    assert contrast_ratio(TEXT_COLOURS[True]["warning"], "#ffffff") < 2.0


def test_status_bar_kpi_strip_alarms_and_tag_table_follow_the_theme(qtbot, win):
    c = win.controller
    st = c.state
    eps = {
        "sim": ConnectionStatus("sim", True, "connected", 1.0),
        "line2": ConnectionStatus("line2", False, "refused", 1.0),
    }
    c.status = lambda: eps  # two endpoints, one up and one down
    st.apply(
        [
            TagUpdate("ETCH-01", "chamber_pressure", 9.5, 10.0),  # beyond hi 8
            TagUpdate("ETCH-02", "chamber_pressure", 4.0, 10.0, Quality.STALE),
            *(
                AlarmEvent(f"a{k}", "ETCH-01", f"x.{k}", sev, "pressure", 10.0, True, False)
                for k, sev in enumerate((950, 750, 450, 150))
            ),
        ]
    )
    win.detail.show_tool("ETCH-01")
    labels = win.status_labels

    def check(dark: bool) -> None:
        assert current_dark() is dark
        win.alarms.refresh()
        win.detail.refresh()
        win.monitor.kpis.refresh()
        qtbot.wait(10)
        bg = _window()
        assert (bg.lightness() > 128) is not dark
        # the status bar: rich text of the endpoints' dots, and its plain labels
        for colour in _span_colours(labels.conn):
            _readable(colour, bg, "status bar connection")
        assert set(_span_colours(labels.conn)) == {
            TEXT_COLOURS[dark]["ok"],
            TEXT_COLOURS[dark]["error"],
        }
        for lab in (labels.source, labels.rate, labels.clock):
            _readable(_text(lab), bg, "status bar label")
        # a label whose style sheet sets only its font takes the new palette too
        title = win.detail.title
        assert title.styleSheet() and "color" not in title.styleSheet()
        assert _text(title) == QApplication.palette().color(QPalette.ColorRole.WindowText)
        _readable(_text(title), bg, "tool title")
        # the KPI strip: palette text, and its empty E10 bar in the theme's shade
        strip = win.monitor.kpis
        for lab in (strip.throughput, strip.wip, strip.moves):
            _readable(_text(lab), _window(), "KPI strip")
        bar = strip.bar.grab().toImage()
        assert bar.pixelColor(bar.width() // 2, bar.height() // 2).name() == EMPTY_BAR[dark]
        # the alarm list: each priority's colour and the unacknowledged text
        model = win.alarms.model
        assert model.rowCount() == 4
        for row in range(4):
            for col in range(model.columnCount()):
                brush = model.data(model.index(row, col), Qt.ItemDataRole.ForegroundRole)
                if brush is not None:
                    _readable(brush.color(), _base(), f"alarm row {row} column {col}")
        # the tag table: out of limits and stale values
        table = win.detail.table
        coloured = 0
        for r in range(table.rowCount()):
            item = table.item(r, 1)
            if item is not None and item.data(Qt.ItemDataRole.ForegroundRole) is not None:
                _readable(item.foreground().color(), _base(), f"tag row {r}")
                coloured += 1
        assert coloured >= 1

    labels.refresh(c, win.source_text(), 16.0)
    check(True)
    win.set_dark(False)
    check(False)
    win.set_dark(True)
    check(True)


def test_maintenance_optimise_and_debrief_labels_follow_the_theme(qtbot, win, tmp_path):
    spec = load_plant(REPO / "plant_configs" / "demo_fab.yaml").spec
    player = QtProcedurePlayer(MaintenanceLog(tmp_path / "log.jsonl"))
    qtbot.addWidget(player)
    player.resize(520, 900)
    player.open(spec, "FURN-01", FURNACE)
    k = next(i for i, step in enumerate(player.procedure.steps) if step.safety)
    player.show_step(k)
    player.show()
    assert not player.start_step()  # the notes are not acknowledged: an error message
    export = QtExportDialog(spec, "FURN-01", FURNACE, out_dir=tmp_path)
    qtbot.addWidget(export)
    export._on_failed("the disk is full")
    optimise = QtOptimisePanel()
    qtbot.addWidget(optimise)
    optimise._say("the plan could not be taken", error=True)
    debrief = QtDebriefPanel(TraineeHistory())
    qtbot.addWidget(debrief)
    assert not debrief.open_log(tmp_path / "missing.drill.json", spec)

    def check(dark: bool) -> None:
        assert current_dark() is dark
        bg = _window()
        box = _over(bg, SAFETY_TINT)
        notes = [row.findChild(QLabel) for row in player.safety_rows]
        assert notes
        for note in notes:
            _readable(_text(note), box, "safety note")
            assert _text(note).name() == TEXT_COLOURS[dark]["danger"]
        for colour in _COLOUR.findall(player.safety_box.styleSheet()):  # its red title
            _readable(colour, box, "safety box title")
        _readable(_text(player.confirm_check), bg, "out-of-limits confirmation")
        for lab, what in (
            (player.message, "player message"),
            (export.status, "export status"),
            (optimise.status, "optimisation status"),
            (debrief.verdict, "debrief verdict"),
        ):
            _readable(_text(lab), bg, what)
            assert _text(lab).name() == TEXT_COLOURS[dark]["error"], what

    check(True)
    win.set_dark(False)
    check(False)
    win.set_dark(True)
    check(True)
    # a plain message after an error is in the plain text colour again
    player.show_step(k)
    assert _text(player.message) == QApplication.palette().color(QPalette.ColorRole.WindowText)


def test_gantt_note_and_capacity_warning_are_readable_in_both_themes(qtbot, win):  # type: ignore[no-untyped-def]
    from factory_twin.ui.qt_plan_gantt import QtGanttChart
    from factory_twin.ui.theme import text_colour

    gantt = QtGanttChart()
    qtbot.addWidget(gantt)
    gantt.info.setText("7 tools, 120 h")
    for dark in (False, True):
        win.set_dark(dark)
        _readable(_text(gantt.info), _window(), "Gantt note")
        # the capacity headline's and a connection test's coloured words are taken at once
        for role in ("error", "ok"):
            _readable(text_colour(role), _window(), f"{role} text")
