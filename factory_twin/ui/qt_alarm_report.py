"""The ISA-18.2 alarm performance report dialog: a chart, the tables and the exports.

The report is computed by :mod:`factory_twin.app.alarm_report` on a worker thread (a
year of journal takes about 2 s); the dialog polls the future and draws the result.
"""

from __future__ import annotations

import concurrent.futures
import functools
import logging
import math
import time
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from factory_twin.app.alarm_journal import AlarmJournal
from factory_twin.app.alarm_report import (
    ACCEPTABLE_PER_10MIN,
    MANAGEABLE,
    MANAGEABLE_PER_10MIN,
    NO_DATA,
    OK,
    OVER,
    PERIODS,
    AlarmReport,
    report_for_period,
    write_csv,
)
from factory_twin.app.alarm_report_html import (
    CHART_COLOURS,
    chart_series,
    format_cell,
    format_time,
    header_text,
    write_html,
)
from factory_twin.errors import FactoryTwinError
from factory_twin.ui.theme import contrast_ratio, current_dark, on_theme

logger = logging.getLogger(__name__)

Submit = Callable[..., "concurrent.futures.Future[Any]"]

MAX_CHART_BARS = 1500
"""More 10-minute intervals in view than this are drawn as the peak of groups."""
FLOOD_BRUSH = (231, 76, 60, 80)
# per theme (True: dark): the bars, and the flood, manageable and acceptable lines; the light
# theme's are the HTML report's, readable on white (the dark theme's pale ones are not)
BAR_COLOURS = {True: "#2e86c1", False: CHART_COLOURS["bar"]}
TARGET_COLOURS = {
    True: ("#e74c3c", "#e67e22", "#27ae60"),
    False: tuple(CHART_COLOURS[k] for k in ("flood_line", "manageable_line", "acceptable_line")),
}
# a verdict's text per theme (True: dark): at least 4.5:1 on the tables' rows of that theme
VERDICT_COLORS = {
    True: {OK: "#4cc38a", MANAGEABLE: "#f0a030", OVER: "#ff6b5b", NO_DATA: "#a0a0a0"},
    False: {OK: "#1e7d4a", MANAGEABLE: "#9a5b00", OVER: "#b03024", NO_DATA: "#6b6b6b"},
}
_VERDICT = Qt.ItemDataRole.UserRole + 1  # a verdict cell's verdict

# (tab title, report attribute, text when empty)
TABLES: tuple[tuple[str, str, str], ...] = (
    ("Summary", "summary", "no data"),
    ("Bad actors", "bad_actors", "no alarm in this period"),
    ("Chattering", "chattering", "no chattering alarm"),
    ("Stale", "stale", "no stale alarm"),
    ("Floods", "floods", "no alarm flood"),
    ("Priorities", "priorities", "no data"),
    ("Rates", "rates", "no data"),
)


class _TimeAxis(pg.DateAxisItem):
    """Epoch seconds as UTC dates; plant seconds (a simulation) as ``Nd hh:mm``."""

    def tickStrings(self, values: list[float], scale: float, spacing: float) -> list[str]:
        if values and max(values) > 1e9:
            return super().tickStrings(values, scale, spacing)
        out = []
        for v in values:
            d, rem = divmod(int(max(0.0, v)), 86400)
            h, rem = divmod(rem, 3600)
            if spacing >= 86400:  # day ticks: short labels, or a year of them does not fit
                out.append(f"{d}d")
            else:
                out.append(f"{d}d {h:02d}:{rem // 60:02d}" if d else f"{h:02d}:{rem // 60:02d}")
        return out


class QtAlarmReportDialog(QDialog):
    """Alarm performance (ISA-18.2 / EEMUA 191) of a period of the alarm journal.

    Parameters
    ----------
    journal
        The alarm journal to report on.
    submit
        Runs ``fn(*args)`` off the GUI thread and returns a future (e.g.
        ``Controller.run_in_worker``); default: a worker thread of the dialog's own.
    positions
        Operator position of each tool (default: one position for the whole plant).
    parent
        The parent widget.
    """

    report_ready = Signal(object)
    """Emitted with the :class:`AlarmReport` once it is drawn."""

    def __init__(
        self,
        journal: AlarmJournal,
        submit: Submit | None = None,
        positions: Mapping[str, str] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Alarm performance report (ISA-18.2)")
        self.resize(1100, 760)
        self.journal = journal
        self.positions = dict(positions or {})
        self._own_pool: concurrent.futures.ThreadPoolExecutor | None = None
        if submit is None:
            self._own_pool = concurrent.futures.ThreadPoolExecutor(
                max_workers=1, thread_name_prefix="alarm-report"
            )
            submit = self._own_pool.submit
        self._submit = submit
        self.report: AlarmReport | None = None
        self._future: concurrent.futures.Future[Any] | None = None
        self._starts = np.zeros(0)
        self._counts = np.zeros(0)
        self._flood = np.zeros(0)
        self._top = 1.0
        self.chart_group = 1

        lay = QVBoxLayout(self)
        bar = QHBoxLayout()
        bar.addWidget(QLabel("Period"))
        self.period_combo = QComboBox()
        self.period_combo.addItems([p.capitalize() for p in PERIODS])
        self.period_combo.setCurrentIndex(list(PERIODS).index("last day"))
        bar.addWidget(self.period_combo)
        self.position_combo = QComboBox()
        self.position_combo.setToolTip("operator position (console)")
        self.position_combo.setVisible(False)
        bar.addWidget(self.position_combo)
        self.refresh_button = QPushButton("Refresh")
        bar.addWidget(self.refresh_button)
        self.status = QLabel()
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        bar.addWidget(self.status, 1)
        self.csv_button = QPushButton("Export CSV…")
        self.html_button = QPushButton("Export HTML…")
        for b in (self.csv_button, self.html_button):
            b.setEnabled(False)
            bar.addWidget(b)
        lay.addLayout(bar)

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self._build_chart())

        self.tabs = QTabWidget()
        self.tables: dict[str, QTableWidget] = {}
        for title, attr, _empty in TABLES:
            t = QTableWidget(0, 0)
            t.verticalHeader().setVisible(False)
            t.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
            t.setAlternatingRowColors(True)
            self.tables[attr] = t
            self.tabs.addTab(t, title)
        split.addWidget(self.tabs)
        split.setSizes([330, 390])
        lay.addWidget(split, 1)

        self._timer = QTimer(self)
        self._timer.setInterval(50)
        self._timer.timeout.connect(self._on_poll)
        self.period_combo.currentIndexChanged.connect(self.refresh)
        self.position_combo.currentIndexChanged.connect(self._on_position_changed)
        self.refresh_button.clicked.connect(self.refresh)
        self.csv_button.clicked.connect(self._on_export_csv)
        self.html_button.clicked.connect(self._on_export_html)
        self.refresh()

    def _build_chart(self) -> pg.PlotWidget:
        """Build the chart: the bars, the flood shading, the ISA-18.2 lines, a legend."""
        self.plot = pg.PlotWidget(axisItems={"bottom": _TimeAxis(utcOffset=0)})
        self.plot.showGrid(x=False, y=True, alpha=0.25)
        self.plot.setLabel("left", "alarms per 10 min")
        self.plot.setMouseEnabled(x=True, y=False)
        self.curve = pg.PlotDataItem(
            [0.0, 1.0], [0.0], stepMode="center", fillLevel=0, pen=pg.mkPen(width=1)
        )
        self.plot.addItem(self.curve)
        self.flood_curve = pg.PlotDataItem(
            [0.0, 1.0], [0.0], stepMode="center", fillLevel=0, brush=FLOOD_BRUSH, pen=None
        )
        self.flood_curve.setZValue(-10)
        self.plot.addItem(self.flood_curve)
        self._resample_timer = QTimer(self)
        self._resample_timer.setSingleShot(True)
        self._resample_timer.setInterval(80)
        self._resample_timer.timeout.connect(self._resample)
        self.plot.sigXRangeChanged.connect(self._resample_timer.start)
        # a legend above the data (the y range leaves it room) instead of line labels,
        # which bars at either end of the period would hide
        self.legend = self.plot.addLegend(offset=(-8, 6), labelTextSize="9pt", colCount=2)
        # the theme's background, a little transparent: flood shading does not cross the text
        bg = pg.mkColor(pg.getConfigOption("background"))
        bg.setAlpha(210)
        self.legend.setBrush(pg.mkBrush(bg))
        # a bar item's legend sample is a filled square like the shading (a filled curve's
        # is a triangle)
        self.legend.addItem(
            pg.BarGraphItem(x=[0.0], height=[1.0], width=1.0, brush=FLOOD_BRUSH, pen=None),
            "flood interval",
        )
        self.target_lines: list[pg.InfiniteLine] = []
        self._samples: list[pg.PlotDataItem] = []
        for value, label in (
            (10.0, "flood: more than 10 / 10 min"),
            (MANAGEABLE_PER_10MIN, "max manageable: 12 / h (2 / 10 min)"),
            (ACCEPTABLE_PER_10MIN, "acceptable: 6 / h (1 / 10 min)"),
        ):
            pen = pg.mkPen(width=1.5, style=Qt.PenStyle.DashLine)
            line = pg.InfiniteLine(pos=value, angle=0, pen=pen)
            self.plot.addItem(line)
            self.target_lines.append(line)
            sample = pg.PlotDataItem([0.0, 1.0], [0.0, 0.0], pen=pen)
            self._samples.append(sample)
            self.legend.addItem(sample, label)
        self._recolour(current_dark())
        on_theme(self.curve, self._recolour)
        return self.plot

    def _recolour(self, dark: bool) -> None:
        """Give the bars, the target lines and the verdicts the theme's colours (a theme
        switch too)."""
        bar = pg.mkColor(BAR_COLOURS[dark])
        self.curve.setPen(pg.mkPen(bar, width=1))
        fill = pg.mkColor(bar)
        fill.setAlpha(170)
        self.curve.setBrush(pg.mkBrush(fill))
        for line, sample, colour in zip(
            self.target_lines, self._samples, TARGET_COLOURS[dark], strict=True
        ):
            pen = pg.mkPen(colour, width=1.5, style=Qt.PenStyle.DashLine)
            line.setPen(pen)
            sample.setPen(pen)
        for table in getattr(self, "tables", {}).values():  # the verdicts' text
            for r in range(table.rowCount()):
                for c in range(table.columnCount()):
                    item = table.item(r, c)
                    verdict = item.data(_VERDICT) if item is not None else None
                    if item is not None and verdict in VERDICT_COLORS[dark]:
                        item.setForeground(QBrush(QColor(VERDICT_COLORS[dark][verdict])))

    def line_contrast(self) -> float:
        """The least contrast of a target line against the plot's background (tests)."""
        bg = self.plot.backgroundBrush().color()
        return min(contrast_ratio(line.pen.color(), bg) for line in self.target_lines)

    # ------------------------------------------------------------------ computing

    @property
    def period(self) -> str:
        """The chosen key of :data:`~factory_twin.app.alarm_report.PERIODS`."""
        return list(PERIODS)[self.period_combo.currentIndex()]

    def set_period(self, period: str) -> None:
        """Choose a period (a key of ``PERIODS``) and recompute."""
        self.period_combo.setCurrentIndex(list(PERIODS).index(period))

    def refresh(self) -> None:
        """Recompute the report of the chosen period on the worker."""
        self.status.setText(f"computing the report of the {self.period}…")
        self.refresh_button.setEnabled(False)
        # a newer request wins: the result of an older one is dropped in _on_poll
        # positional only: Controller.run_in_worker passes no keyword arguments
        job = functools.partial(
            report_for_period, now_s=time.time(), positions=self.positions or None
        )
        if self._future is not None:
            self._future.cancel()  # not started yet: skip it; running: its result is dropped
        self._future = self._submit(job, self.journal, self.period)
        self._timer.start()

    def _on_poll(self) -> None:
        fut = self._future
        if fut is None or not fut.done():
            return
        self._timer.stop()
        self._future = None
        self.refresh_button.setEnabled(True)
        exc = fut.exception()
        if exc is not None:
            logger.warning("alarm report failed: %s", exc)
            self.status.setText(f"<span style='color:#c0392b'>cannot compute: {exc}</span>")
            return
        self.show_report(fut.result())

    # ------------------------------------------------------------------ drawing

    def show_report(self, report: AlarmReport) -> None:
        """Draw a computed report: the chart and every table."""
        self.report = report
        self.position_combo.blockSignals(True)
        self.position_combo.clear()
        self.position_combo.addItems(list(report.positions))
        self.position_combo.blockSignals(False)
        self.position_combo.setVisible(len(report.positions) > 1)
        self._draw_chart()
        for _title, attr, empty in TABLES:
            self._fill_table(self.tables[attr], getattr(report, attr), empty)
        self.status.setText(
            f"{report.alarms} alarms, {len(report.floods)} floods, "
            f"{len(report.chattering)} chattering, {len(report.stale)} stale; "
            f"{format_time(report.start_s)} to {format_time(report.end_s)}"
        )
        for b in (self.csv_button, self.html_button):
            b.setEnabled(True)
        self.report_ready.emit(report)

    def _on_position_changed(self) -> None:
        if self.report is not None:
            self._draw_chart()

    def _draw_chart(self) -> None:
        assert self.report is not None
        r = self.report
        pos = self.position_combo.currentText() or r.positions[0]
        b = r.bins[r.bins["position"] == pos]
        self._starts = b["bin_start_s"].to_numpy(dtype=float)
        self._counts = b["alarms"].to_numpy(dtype=float)
        self._flood = b["flood"].to_numpy(dtype=float)
        w = r.settings.window_s
        peak = float(self._counts.max()) if len(self._counts) else 0.0
        # 40 % headroom: the legend sits above the highest bar
        self._top = max(peak, r.settings.flood_threshold + 2) * 1.4
        x0 = self._starts[0] if len(self._starts) else r.start_s
        x1 = self._starts[-1] + w if len(self._starts) else r.start_s + w
        self.plot.setYRange(0, self._top, padding=0)
        self.plot.setXRange(x0, x1, padding=0.01)
        self._resample()

    def _resample(self) -> None:
        """Draw the intervals in view, at most MAX_CHART_BARS bars (peak of each group)."""
        if self.report is None or not len(self._starts):
            self.curve.setData([0.0, 1.0], [0.0])
            self.flood_curve.setData([0.0, 1.0], [0.0])
            self.chart_group = 1
            return
        w = self.report.settings.window_s
        (x0, x1), _ = self.plot.viewRange()
        n = len(self._starts)
        i0 = int(np.clip(np.floor((x0 - self._starts[0]) / w), 0, n - 1))
        i1 = int(np.clip(np.ceil((x1 - self._starts[0]) / w) + 1, i0 + 1, n))
        vals, group = chart_series(self._counts[i0:i1], MAX_CHART_BARS)
        flood, _ = chart_series(self._flood[i0:i1], MAX_CHART_BARS)
        edges = self._starts[i0] + w * group * np.arange(len(vals) + 1)
        # a flood narrower than 3 pixels is widened so a year-long chart still shows it
        px = self.plot.getPlotItem().getViewBox().width() / max(len(vals), 1)
        if 0 < px < 3:
            flood = np.convolve(flood > 0, np.ones(math.ceil(3 / px)), mode="same")
        self.curve.setData(edges, vals)
        # one filled step curve shades every flood interval (an item per flood is slow)
        self.flood_curve.setData(edges, np.where(flood > 0, self._top, 0.0))
        self.chart_group = group

    @property
    def chart_bins(self) -> int:
        """How many 10-minute intervals the chart covers (all of the period)."""
        return len(self._starts) if self.report is not None else 0

    def flood_spans(self) -> list[tuple[float, float]]:
        """Return the shaded (flood) spans of the chart as drawn."""
        x, y = self.flood_curve.xData, self.flood_curve.yData
        if x is None or y is None or not len(y):
            return []
        on = np.concatenate(([0], (y > 0).astype(np.int8), [0]))
        d = np.diff(on)
        starts, ends = np.flatnonzero(d == 1), np.flatnonzero(d == -1)
        return [(float(x[i]), float(x[j])) for i, j in zip(starts, ends, strict=True)]

    def _fill_table(self, table: QTableWidget, df: pd.DataFrame, empty: str) -> None:
        table.clear()
        if df.empty:
            table.setColumnCount(1)
            table.setRowCount(0)
            table.setHorizontalHeaderLabels([empty])
            return
        cols = [str(c) for c in df.columns]
        table.setColumnCount(len(cols))
        table.setRowCount(len(df))
        table.setHorizontalHeaderLabels([header_text(c) for c in cols])
        bold = QFont()
        bold.setBold(True)
        for r, row in enumerate(df.itertuples(index=False)):
            for c, v in enumerate(row):
                text = format_cell(cols[c], v)
                item = QTableWidgetItem(text)
                if cols[c].startswith("verdict") and text in VERDICT_COLORS[True]:
                    item.setData(_VERDICT, text)
                    item.setForeground(QBrush(QColor(VERDICT_COLORS[current_dark()][text])))
                    item.setFont(bold)
                elif isinstance(v, int | float | np.integer | np.floating) and not isinstance(
                    v, bool | np.bool_
                ):
                    item.setTextAlignment(
                        Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
                    )
                table.setItem(r, c, item)
        table.resizeColumnsToContents()

    # ------------------------------------------------------------------ export

    def _on_export_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Export alarm report (one CSV per table)",
            "alarm_report.csv",
            "CSV files (*.csv)",
        )
        if path:
            self.export_csv(path)

    def _on_export_html(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export alarm report", "alarm_report.html", "HTML files (*.html)"
        )
        if path:
            self.export_html(path)

    def export_csv(self, path: str) -> bool:
        """Write one CSV per table next to ``path``; a failure shows a message."""
        if self.report is None:
            return False
        try:
            files = write_csv(self.report, path)
        except (OSError, FactoryTwinError) as exc:
            QMessageBox.warning(self, "Export failed", f"Cannot write the CSV files:\n{exc}")
            return False
        self.status.setText(f"wrote {len(files)} CSV files: {files[0].parent}")
        return True

    def export_html(self, path: str) -> bool:
        """Write the self-contained HTML report to ``path``; a failure shows a message."""
        if self.report is None:
            return False
        try:
            out = write_html(self.report, path)
        except (OSError, FactoryTwinError) as exc:
            QMessageBox.warning(self, "Export failed", f"Cannot write {path}:\n{exc}")
            return False
        self.status.setText(f"wrote {out}")
        return True

    def done(self, result: int) -> None:
        """Stop polling and the dialog's own worker when the dialog closes."""
        self._timer.stop()
        self._future = None
        if self._own_pool is not None:
            self._own_pool.shutdown(wait=False, cancel_futures=True)
        super().done(result)
