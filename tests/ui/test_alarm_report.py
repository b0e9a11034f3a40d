"""The alarm performance report dialog: chart bins, tables, exports, the menu action."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pyqtgraph as pg
import pytest
from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog, QMessageBox

from factory_twin.app.alarm_journal import AlarmJournal
from factory_twin.app.controller import Controller
from factory_twin.model.events import AlarmEvent
from factory_twin.ui.qt_alarm_report import QtAlarmReportDialog
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.theme import PLOT_COLOURS

pytestmark = pytest.mark.gui


def _ev(tool: str, t: float, active: bool = True, sev: int = 200) -> AlarmEvent:
    return AlarmEvent(f"{tool}/x.hi", tool, "x.hi", sev, f"{tool} high", t, active, not active)


def _events() -> list[AlarmEvent]:
    """17 alarms from 600 s to 30 h (plant clock): a flood, a chattering and a stale alarm."""
    evs = []
    for i in range(12):  # 12 alarms in [600, 1200): a flood
        evs += [_ev(f"FL-{i:02d}", 600 + 20 * i), _ev(f"FL-{i:02d}", 605 + 20 * i, False)]
    for t in (3000, 3010, 3020):  # chattering
        evs += [_ev("CHAT-01", t, sev=500), _ev("CHAT-01", t + 2, False, sev=500)]
    evs.append(_ev("STALE-01", 4000, sev=700))  # never cleared: stale after 24 h
    evs += [_ev("LAST-01", 108000), _ev("LAST-01", 108005, False)]
    return evs


# "all" runs from the first transition (600 s) to the last (108005 s): 180 intervals
BINS = 180


@pytest.fixture
def journal(tmp_path):
    j = AlarmJournal(tmp_path / "journal.sqlite")
    j.record(_events())
    yield j
    j.close()


def _open(qtbot, journal, period: str = "all") -> QtAlarmReportDialog:
    dlg = QtAlarmReportDialog(journal)
    qtbot.addWidget(dlg)
    dlg.show()
    qtbot.waitExposed(dlg)
    with qtbot.waitSignal(dlg.report_ready, timeout=10_000):
        dlg.set_period(period)
    return dlg


def test_report_dialog_shows_chart_and_tables(qtbot, journal):
    dlg = _open(qtbot, journal)
    r = dlg.report
    assert r is not None and r.alarms == 17
    assert dlg.chart_bins == BINS == len(r.bins)
    assert list(dlg.curve.yData[:2]) == [12.0, 0.0]
    assert len(dlg.curve.yData) == BINS and dlg.chart_group == 1
    assert dlg.flood_spans() == [(600.0, 1200.0)]
    assert [ln.value() for ln in dlg.target_lines] == [10.0, 2.0, 1.0]
    rows = {attr: t.rowCount() for attr, t in dlg.tables.items()}
    assert rows["bad_actors"] == 10
    assert rows["chattering"] == 1
    assert rows["stale"] == 1
    assert rows["priorities"] == 4
    assert rows["floods"] == 1
    assert dlg.tables["chattering"].item(0, 0).text() == "CHAT-01"
    assert dlg.tables["bad_actors"].item(0, 1).text() == "CHAT-01"
    assert "17 alarms, 1 floods, 1 chattering, 1 stale" in dlg.status.text()
    dlg.close()


def test_a_shorter_period_has_fewer_bins_and_empty_tables(qtbot, journal):
    dlg = _open(qtbot, journal, "last hour")
    # [104405, 108005]: intervals stay on multiples of 10 min, so 6 full and 2 partial
    # ones... of which the partial ones share 104400-105000 and 107400-108000+: 7 bars
    assert dlg.chart_bins == 7
    assert dlg.report.bins["bin_start_s"].iloc[0] == 104400
    assert dlg.report.alarms == 1  # LAST-01
    assert dlg.tables["floods"].rowCount() == 0
    assert dlg.tables["floods"].horizontalHeaderItem(0).text() == "no alarm flood"
    assert dlg.flood_spans() == []
    dlg.close()


def test_a_year_is_drawn_as_peaks_and_in_full_when_zoomed(qtbot, tmp_path):
    from factory_twin.ui.qt_alarm_report import MAX_CHART_BARS

    day = 86400.0
    j = AlarmJournal(tmp_path / "year.sqlite")
    evs = [
        _ev("A", 0.0),
        _ev("A", 5.0, False),
        _ev("B", 365 * day),
        _ev("B", 365 * day + 5, False),
    ]
    for i in range(11):  # a flood on day 200
        evs += [_ev(f"F{i}", 200 * day + i), _ev(f"F{i}", 200 * day + i + 1, False)]
    j.record(evs)
    dlg = _open(qtbot, j)
    assert dlg.chart_bins == 365 * 144 + 1
    assert dlg.chart_group > 1 and len(dlg.curve.yData) <= MAX_CHART_BARS
    assert float(dlg.curve.yData.max()) == 11.0  # the peak survives the grouping
    assert len(dlg.flood_spans()) == 1
    dlg.plot.setXRange(200 * day - 3600, 200 * day + 3600, padding=0)
    qtbot.waitUntil(lambda: dlg.chart_group == 1, timeout=3000)
    assert dlg.flood_spans() == [(200 * day, 200 * day + 600)]
    dlg.close()
    j.close()


def test_exports_write_csv_and_html(qtbot, journal, tmp_path, monkeypatch):
    dlg = _open(qtbot, journal)
    target = {"path": str(tmp_path / "out" / "report.csv")}
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (target["path"], ""))
    dlg.csv_button.click()
    assert len(list((tmp_path / "out").glob("report_*.csv"))) == 8
    stale = pd.read_csv(tmp_path / "out" / "report_stale.csv")
    assert list(stale["equipment"]) == ["STALE-01"]
    target["path"] = str(tmp_path / "out" / "report.html")
    dlg.html_button.click()
    text = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    tags: list[str] = []

    class P(HTMLParser):
        def handle_starttag(self, tag, attrs):
            tags.append(tag)

    P().feed(text)
    assert tags.count("svg") == 1 and "CHAT-01" in text
    assert "wrote" in dlg.status.text()
    dlg.close()


def test_failed_export_says_why(qtbot, journal, tmp_path, monkeypatch):
    dlg = _open(qtbot, journal)
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    warnings: list[str] = []
    monkeypatch.setattr(QMessageBox, "warning", lambda _p, title, text: warnings.append(text))
    assert not dlg.export_html(str(blocker / "report.html"))
    assert not dlg.export_csv(str(blocker / "report.csv"))
    assert len(warnings) == 2
    assert "report.html" in warnings[0] and "CSV" in warnings[1]
    dlg.close()


def test_menu_action_opens_the_report(qtbot, tmp_path):
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    c = Controller(journal_path=tmp_path / "journal.sqlite")
    c.journal.record(_events())
    w = MainWindow(c, settings)
    qtbot.addWidget(w)
    w.show()
    qtbot.waitExposed(w)
    assert w.alarm_report_action.shortcut().toString() == "Ctrl+Shift+J"
    w.alarm_report_action.trigger()
    dlg = w.findChild(QtAlarmReportDialog)
    assert dlg is not None and dlg.isVisible()
    with qtbot.waitSignal(dlg.report_ready, timeout=10_000):
        dlg.set_period("all")
    assert dlg.chart_bins == BINS
    dlg.close()
    w.close()


def test_screenshot(qtbot, journal, tmp_path):
    """Render the dialog to a PNG (kept in /tmp for a person to look at)."""
    dlg = _open(qtbot, journal)
    dlg.tabs.setCurrentIndex(0)
    qtbot.wait(50)
    out = Path("/tmp/alarm_report_dialog.png")
    assert dlg.grab().save(str(out))
    assert out.stat().st_size > 10_000
    dlg.close()


def test_chart_lines_read_on_either_theme_and_follow_a_switch(qtbot, journal):
    """On the light theme's white plot the pale dark-theme lines would vanish: each theme
    has its own, at least 3:1 against its background, swapped when the theme switches."""
    from PySide6.QtGui import QPalette
    from PySide6.QtWidgets import QApplication

    from factory_twin.ui.qt_alarm_report import BAR_COLOURS, TARGET_COLOURS, VERDICT_COLORS
    from factory_twin.ui.theme import apply_theme, contrast_ratio

    dlg = _open(qtbot, journal)
    app = QApplication.instance()
    try:
        for dark in (False, True, False):
            apply_theme(app, dark)
            app.processEvents()  # the widgets' palettes follow on the event loop's turn
            bg = dlg.plot.backgroundBrush().color()
            assert bg == pg.mkColor(PLOT_COLOURS[dark]["background"])
            shown = [ln.pen.color().name() for ln in dlg.target_lines]
            assert shown == [c.lower() for c in TARGET_COLOURS[dark]]
            assert dlg.line_contrast() >= 3.0
            legend = [s.item.opts["pen"].color().name() for s, _label in dlg.legend.items[1:]]
            assert legend == shown  # the legend's samples too
            bar = dlg.curve.opts["pen"].color()
            assert bar.name() == BAR_COLOURS[dark].lower()
            assert contrast_ratio(bar, bg) >= 3.0
            # the verdicts' text on the table's rows (both alternating colours)
            table = dlg.tables["summary"]
            base = [table.palette().color(r) for r in (QPalette.ColorRole.Base, QPalette.ColorRole.AlternateBase)]  # fmt: skip
            verdicts = [
                table.item(r, c)
                for r in range(table.rowCount())
                for c in range(table.columnCount())
                if table.item(r, c) is not None
                and table.item(r, c).text() in ("ok", "over target")
            ]
            assert {v.text() for v in verdicts} == {"ok", "over target"}
            for v in verdicts:
                fg = v.foreground().color()
                assert fg.name() == VERDICT_COLORS[dark][v.text()]
                for b in base:
                    assert contrast_ratio(fg, b) >= 4.5, (v.text(), fg.name(), b.name())
        assert TARGET_COLOURS[False] != TARGET_COLOURS[True]
    finally:
        apply_theme(app, True)
    dlg.close()


def test_the_legend_draws_the_flood_swatch_as_a_filled_square(qtbot, journal):
    """The flood shading is a rectangle: its legend swatch is a filled square too, not the
    triangle pyqtgraph draws for a filled curve. The swatch is painted and its pixels read."""
    from PySide6.QtGui import QColor, QImage, QPainter

    from factory_twin.ui.qt_alarm_report import FLOOD_BRUSH

    dlg = _open(qtbot, journal)
    sample, label = dlg.legend.items[0]
    assert label.text == "flood interval"
    img = QImage(20, 20, QImage.Format.Format_ARGB32)
    img.fill(QColor(255, 255, 255))
    p = QPainter(img)
    try:
        sample.paint(p)
    finally:
        p.end()
    white = QColor(255, 255, 255).rgb()
    filled = [[img.pixel(x, y) != white for x in range(20)] for y in range(20)]
    # the whole square from (3, 3) to (17, 17) is filled, its corners included (a triangle
    # from (2, 18) over (18, 2) to (18, 18) leaves the top-left half white)
    assert all(filled[y][x] for y in range(3, 18) for x in range(3, 18))
    assert not filled[0][0] and not filled[19][0]  # and nothing beyond it
    # in the shading's colour
    r, g, b, a = FLOOD_BRUSH
    c = QColor(img.pixel(10, 10))
    f = a / 255
    want = [round(f * v + (1 - f) * 255) for v in (r, g, b)]
    assert [c.red(), c.green(), c.blue()] == pytest.approx(want, abs=3)
