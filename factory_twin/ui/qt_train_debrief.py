"""The Train workspace's Debrief tab: per-trainee results, reports, history and replay.

For one recorded drill (a :class:`~factory_twin.app.drill_log.DrillLog`): a trainee picker,
the pass/fail verdict with points, the responses against their limits, the timeline
(injection → alarm → acknowledgement → action, wrong actions with their penalty), the
self-contained HTML and PDF debrief reports, the trainee's history across drills (local
SQLite, a pyqtgraph chart of percent per drill, CSV export) and *Replay in 3-D*, which plays
the recorded drill in the Monitor workspace with every action marked on the time slider.
Both tables fit the pane's width (no sideways scrolling): the responses' *Expected* and the
timeline's *Event* take the width the other columns leave and wrap; a text cut short in a
narrow pane is elided, its cell's tooltip holding all of it.

The verdict, responses and timeline of one trainee (:func:`verdict_html`,
:func:`response_table`, :func:`timeline_table`, :func:`show_debrief`) are also how a trainee
sees their own debrief (:class:`~factory_twin.ui.qt_train_join.QtOwnDebriefDialog`).
"""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from factory_twin.app.drill_debrief import (
    TraineeDebrief,
    TraineeHistory,
    debrief_scores,
    trainee_debrief,
    write_html,
    write_pdf,
)
from factory_twin.app.drill_log import DrillLog
from factory_twin.model import schema as s
from factory_twin.model.drill_scoring import TraineeScore
from factory_twin.ui.qt_tables import (
    cell,
    fill_wrapped,
    fit_columns,
    fit_wrapped_columns,
    row_table,
)
from factory_twin.ui.theme import (
    follow_theme,
    on_theme_change,
    plot_colour,
    text_colour,
    themed_style,
)

logger = logging.getLogger(__name__)

# text colour roles (ui.theme.text_colour) of a response's status and a timeline row's kind
STATUS_COLOURS = {"on time": "ok", "late": "error", "missed": "error", "pending": "warning"}
KIND_COLOURS = {"wrong": "error", "alarm": "warning", "injection": "event"}


def _colour(roles: dict[str, str], key: str) -> str | None:
    """The current theme's text colour of ``key``'s role in ``roles`` (None: plain text)."""
    role = roles.get(key)
    return text_colour(role) if role is not None else None


def mmss(v: float | None) -> str:
    """Drill seconds as m:ss ('-' for None)."""
    if v is None:
        return "-"
    m, sec = divmod(round(v), 60)
    return f"{m}:{sec:02d}"


def fill_table(table: QTableWidget, rows: list[list[tuple[str, str | None]]]) -> None:
    """Replace a table's rows with (text, colour) cells; the columns fit their contents and
    the last stretches to the table's width (:func:`~factory_twin.ui.qt_tables.fit_columns`)."""
    table.setRowCount(len(rows))
    for i, row in enumerate(rows):
        for j, (text, colour) in enumerate(row):
            table.setItem(i, j, cell(text, colour=colour))
    fit_columns(table)


# the column of each debrief table that takes the width the others leave and wraps its text
RESPONSE_WRAP = 0  # Expected
TIMELINE_WRAP = 2  # Event


def response_table() -> QTableWidget:
    """An empty table of a trainee's responses against their limits: it fits its width, the
    *Expected* column wrapping (:func:`~factory_twin.ui.qt_tables.fit_wrapped_columns`)."""
    t = row_table(
        ["Expected", "Equipment", "Response", "Limit", "Points", "Status"],
        alternating=True,
        fit=False,
    )
    fit_wrapped_columns(t, RESPONSE_WRAP)
    return t


def timeline_table() -> QTableWidget:
    """An empty table of a trainee's timeline: it fits its width, the *Event* column
    wrapping."""
    t = row_table(["Time", "What", "Event", "Points"], alternating=True, fit=False)
    fit_wrapped_columns(t, TIMELINE_WRAP)
    return t


def verdict_html(sc: TraineeScore, *, final: bool = True) -> str:
    """The verdict line: PASS/FAIL (``SO FAR`` while the drill runs), points, percent against
    the pass mark, wrong actions."""
    if final:
        word, colour = ("PASS", text_colour("ok")) if sc.passed else ("FAIL", text_colour("error"))
    else:
        word, colour = "SO FAR", text_colour("warning")
    wrong = (
        f"{len(sc.wrong)} wrong action(s), -{sc.penalty:g} points"
        if sc.wrong
        else "no wrong action"
    )
    return (
        f"<b style='color:{colour}'>{word}</b> · {sc.score:g} of {sc.max_points:g} points "
        f"({sc.percent:.0f} %, pass mark {sc.pass_mark_pct:g} %) · {wrong}"
    )


def show_debrief(
    responses: QTableWidget, timeline: QTableWidget, debrief: TraineeDebrief | None
) -> None:
    """Fill a :func:`response_table` and a :func:`timeline_table` (emptied for None): they
    never scroll sideways; a long text wraps, or is elided with its whole text as the cell's
    tooltip (:func:`~factory_twin.ui.qt_tables.fill_wrapped`)."""
    if debrief is None:
        fill_wrapped(responses, [], RESPONSE_WRAP)
        fill_wrapped(timeline, [], TIMELINE_WRAP)
        return
    fill_wrapped(
        responses,
        [
            [
                (r.action + (f" ({r.target})" if r.target else ""), None),
                (r.equipment, None),
                (mmss(r.response_s), None),
                (mmss(r.limit_s), None),
                (f"{r.points:g} / {r.points_possible:g}", None),
                (r.status, _colour(STATUS_COLOURS, r.status)),
            ]
            for r in debrief.score.rows
        ],
        RESPONSE_WRAP,
    )
    fill_wrapped(
        timeline,
        [
            [
                (mmss(row.time_s), None),
                (row.kind, _colour(KIND_COLOURS, row.kind)),
                (row.text, None),
                (f"{row.points:g}" if row.points else "", None),
            ]
            for row in debrief.timeline
        ],
        TIMELINE_WRAP,
    )


class QtDebriefPanel(QWidget):
    """Debrief of a recorded drill (see the module doc).

    Signals
    -------
    replay_requested(str, object)
        The history Parquet file to replay and the marks: [(plant time, label, colour)].
    """

    replay_requested = Signal(str, object)

    def __init__(self, history: TraineeHistory, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.history = history
        self.log: DrillLog | None = None
        self.log_path: Path | None = None
        self.drill: s.Drill | None = None
        self.spec: s.PlantSpec | None = None
        self.scores: dict[str, TraineeScore] = {}
        self.message = ""

        top = QHBoxLayout()
        self.trainee_box = QComboBox()
        self.trainee_box.setMinimumWidth(140)
        self.verdict = QLabel("No drill recorded yet: finish a drill, or open a drill log.")
        self.verdict.setObjectName("debrief_verdict")
        self.verdict.setWordWrap(True)
        top.addWidget(QLabel("Trainee:"))
        top.addWidget(self.trainee_box)
        top.addWidget(self.verdict, 1)

        buttons = QGridLayout()  # two rows: five buttons in one row were clipped in the dock
        self.open_button = QPushButton("Open drill log…")
        self.html_button = QPushButton("Export HTML…")
        self.pdf_button = QPushButton("Export PDF…")
        self.replay_button = QPushButton("Replay in 3-D")
        self.replay_button.setToolTip(
            "play the recorded drill in the Monitor workspace, actions marked on the slider"
        )
        self.csv_button = QPushButton("History CSV…")
        for k, b in enumerate(
            (
                self.open_button,
                self.html_button,
                self.pdf_button,
                self.replay_button,
                self.csv_button,
            )
        ):
            buttons.addWidget(b, k // 3, k % 3)
        buttons.setColumnStretch(3, 1)

        self.responses = response_table()
        self.timeline = timeline_table()
        self.chart = pg.PlotWidget()
        self.chart.setMinimumHeight(120)
        self.chart.setLabel("left", "score %")
        self.chart.setLabel("bottom", "drill run")
        self.chart.showGrid(x=True, y=True, alpha=0.3)
        self.chart.getAxis("bottom").setTickSpacing(1, 1)  # runs are whole numbers
        self.chart.getAxis("left").enableAutoSIPrefix(False)  # no "score % (x0.001)"
        self.chart.setYRange(0, 105)  # the empty chart shows the percent scale too
        self.chart.setXRange(0.5, 1.5)
        # the pass mark, drawn once a drill gives one (a line at 0 would say nothing);
        # theme colours: the dark theme's pale ones vanish on white
        self.pass_line = pg.InfiniteLine(
            angle=0, pen=pg.mkPen(plot_colour("target"), width=1.5, style=Qt.PenStyle.DashLine)
        )
        follow_theme(self.pass_line, "target")
        self.curve = self.chart.plot(
            [], [], pen=pg.mkPen(plot_colour("series"), width=2), symbol="o"
        )
        follow_theme(self.curve, "series")
        self.chart_hint = pg.TextItem(
            "Finish a drill to see the trainee's scores", anchor=(0.5, 0.5)
        )
        follow_theme(self.chart_hint, "muted")
        self.chart.addItem(self.chart_hint)
        self.chart_hint.setPos(1.0, 52.5)  # the middle of the empty chart's ranges

        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.responses)
        split.addWidget(self.timeline)
        split.addWidget(self.chart)
        split.setSizes([160, 220, 140])
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addLayout(top)
        lay.addLayout(buttons)
        lay.addWidget(split, 1)

        self.trainee_box.currentTextChanged.connect(self.show_trainee)
        self.open_button.clicked.connect(self._on_open)
        self.html_button.clicked.connect(lambda: self._export("html"))
        self.pdf_button.clicked.connect(lambda: self._export("pdf"))
        self.csv_button.clicked.connect(self._on_csv)
        self.replay_button.clicked.connect(self.request_replay)
        self._update_buttons()
        on_theme_change(self, self._on_theme_changed)

    # ------------------------------------------------------------------ data

    def set_run(
        self,
        log: DrillLog,
        drill: s.Drill,
        spec: s.PlantSpec,
        log_path: Path | None = None,
        *,
        record: bool = True,
    ) -> None:
        """Show a recorded drill (and store its results in the trainee history)."""
        self.log, self.drill, self.spec, self.log_path = log, drill, spec, log_path
        self.scores = debrief_scores(log, drill, spec)
        if record and self.scores:
            self.history.add(log, self.scores, log_path or "")
        self.trainee_box.blockSignals(True)
        self.trainee_box.clear()
        self.trainee_box.addItems(list(self.scores))
        self.trainee_box.blockSignals(False)
        self.show_trainee(self.trainee_box.currentText())
        self._update_buttons()

    def open_log(self, path: str | Path, spec: s.PlantSpec) -> bool:
        """Open a recorded ``.drill.json`` of a drill of ``spec``; False (and why) if not."""
        from factory_twin.errors import FactoryTwinError
        from factory_twin.model.drills import find_drill

        try:
            log = DrillLog.load(path)
            drill = find_drill(spec, log.drill_id)
        except (FactoryTwinError, OSError) as exc:
            self.message = str(exc)
            self._show_error(exc)
            return False
        self.set_run(log, drill, spec, Path(path))
        return True

    def _on_theme_changed(self, _dark: bool) -> None:
        """Show the verdict and the tables again in the new theme's colours."""
        if self.log is not None and self.scores:
            self.show_trainee(self.trainee_box.currentText())

    def _show_error(self, exc: BaseException) -> None:
        """Say what went wrong in the verdict line, in the theme's error colour."""
        themed_style(self.verdict, "color: $error;")
        self.verdict.setText(f"<span>{html.escape(str(exc))}</span>")

    def show_trainee(self, name: str) -> None:
        """Fill the tables and the chart for trainee ``name``."""
        themed_style(self.verdict, "")
        sc = self.scores.get(name)
        if sc is None or self.log is None:
            show_debrief(self.responses, self.timeline, None)
            self.curve.setData([], [])
            self._show_pass_line(None)
            self.chart_hint.setVisible(True)
            if self.log is not None:
                self.verdict.setText("No trainee took part in this drill.")
            return
        self.verdict.setText(verdict_html(sc))
        show_debrief(self.responses, self.timeline, trainee_debrief(self.log, sc))
        self._chart(name)

    def _chart(self, name: str) -> None:
        rows = self.history.rows(name)
        xs = list(range(1, len(rows) + 1))
        ys = [float(r["percent"]) for r in rows]  # type: ignore[arg-type]
        self.curve.setData(xs, ys)
        self.chart_hint.setVisible(not rows)
        self._show_pass_line(self.drill.pass_mark_pct if self.drill is not None else None)
        self.chart.setTitle(f"{name}: {len(rows)} drill run(s)")
        self.chart.setYRange(0, 105)
        self.chart.setXRange(0.5, max(len(rows), 1) + 0.5)

    def _show_pass_line(self, mark: float | None) -> None:
        """Draw the pass mark (percent) as a dashed line; None: no line."""
        shown = self.pass_line in self.chart.getPlotItem().items
        if mark is None:
            if shown:
                self.chart.removeItem(self.pass_line)
            return
        self.pass_line.setPos(float(mark))
        follow_theme(self.pass_line, "target")  # the theme may have changed while it was out
        if not shown:
            self.chart.addItem(self.pass_line)

    def pass_mark_drawn(self) -> float | None:
        """The pass mark the chart draws (percent), or None when it draws none."""
        if self.pass_line not in self.chart.getPlotItem().items:
            return None
        return float(self.pass_line.value())

    def chart_points(self) -> tuple[list[float], list[float]]:
        """The history chart's points (x: run number, y: percent)."""
        x, y = self.curve.getData()
        return ([] if x is None else list(x)), ([] if y is None else list(y))

    # ------------------------------------------------------------------ exports

    def _update_buttons(self) -> None:
        have = self.log is not None and self.drill is not None
        self.html_button.setEnabled(have)
        self.pdf_button.setEnabled(have)
        self.replay_button.setEnabled(have and bool(self.history_file()))

    def export(self, kind: str, path: str | Path) -> Path:
        """Write the HTML or PDF debrief report to ``path`` (atomically)."""
        assert self.log is not None and self.drill is not None and self.spec is not None
        fn = write_html if kind == "html" else write_pdf
        out = fn(path, self.log, self.drill, self.spec)
        self.message = f"debrief written to {out}"
        return out

    def _export(self, kind: str) -> None:
        if self.log is None:
            return
        name = f"debrief-{self.log.drill_id}.{kind}"
        path, _ = QFileDialog.getSaveFileName(
            self, f"Export the debrief ({kind.upper()})", name, f"{kind.upper()} (*.{kind})"
        )
        if path:
            self._guarded(lambda: self.export(kind, path))

    def _on_csv(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export the trainee history", "trainee_history.csv", "CSV (*.csv)"
        )
        if path:
            self._guarded(lambda: self.history.export_csv(path))

    def _on_open(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open a drill log", "", "Drill logs (*.drill.json)"
        )
        if path and self.spec is not None:
            self.open_log(path, self.spec)

    def _guarded(self, fn: Any) -> None:
        from factory_twin.errors import FactoryTwinError

        try:
            fn()
        except (FactoryTwinError, OSError) as exc:
            self._show_error(exc)

    # ------------------------------------------------------------------ replay

    def history_file(self) -> str:
        """The recorded Parquet history of the drill shown ('' if none)."""
        if self.log is None or not self.log.history:
            return ""
        base = self.log_path.parent if self.log_path is not None else Path.cwd()
        p = base / self.log.history
        return str(p) if p.is_file() else ""

    def markers(self, trainee: str | None = None) -> list[tuple[float, str, str]]:
        """Plant-time marks of the drill: injections and every action (of ``trainee``)."""
        if self.log is None:
            return []
        t0 = self.log.start_plant_s
        out = [
            (
                t0 + i.time_s,
                f"{mmss(i.time_s)} injection: {i.fault} {i.equipment}",
                text_colour("event"),
            )
            for i in self.log.injections
        ]
        for a in self.log.actions:
            if trainee is None or a.trainee == trainee:
                what = " ".join(x for x in (a.equipment, a.alarm, a.procedure) if x)
                label = f"{mmss(a.time_s)} {a.trainee}: {a.action} {what}"
                colour = text_colour("info" if a.accepted else "error")
                out.append((t0 + a.time_s, label, colour))
        return out

    def request_replay(self) -> None:
        """Ask the window to replay the drill in 3-D with the actions marked."""
        path = self.history_file()
        if path:
            self.replay_requested.emit(path, self.markers(self.trainee_box.currentText() or None))
