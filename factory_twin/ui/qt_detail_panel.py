"""The tool detail dock: identification, state, current lot, live tag table and trends.

The tag table and the trends share a splitter: one above the other in a narrow panel (the
dock on the right), side by side once the panel is wide (:func:`wide_layout`: the dock
along the bottom, as in Maintain, or dragged wide), when the title, fields and buttons
take two columns too. Neither is squeezed below :data:`TABLE_MIN_H` / :data:`TREND_MIN_H`
pixels high.
"""

from __future__ import annotations

import datetime as _dt
import logging
from typing import Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QResizeEvent
from PySide6.QtWidgets import (
    QAbstractItemView,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from factory_twin.app.plant_state import PlantState, limit_status
from factory_twin.ui.qt_drill_link import enable_unless_lost
from factory_twin.ui.scene_colors import STALE_CODE, STATE_COLORS, STATE_LABELS, UNKNOWN_CODE
from factory_twin.ui.theme import follow_theme, on_theme, text_colour, trend_colour

#: shown until a tool is picked (a non-breaking hyphen: a wrapped line never ends in "3-")
NO_TOOL = "No tool selected: click one in the 3\u2011D view"

logger = logging.getLogger(__name__)

TREND_WINDOW_S = 3600.0  # rolling window of plant time shown in trends
LIVE_AXIS = "time (UTC)"
REPLAY_AXIS = "recorded time (UTC)"  # a replay draws the data's own (source) timestamps
_STANDARD = ("state", "lot", "recipe", "wafer_count", "operation_mode")
WIDE_PX = 760  # from this width the table and the trends sit side by side
SHORT_WIDE_PX = 600  # ... or from this width when the panel is low and broad
NARROW_PX = 720  # below this width they are one above the other again (no flicker between)
TABLE_MIN_H = 90  # the tag table's least height (header and two or three rows)
TREND_MIN_H = 150  # the trends' least height (axis, ticks and a readable curve)
TAG_LIST_PX = 150  # the widest the list of trended tags gets
TAG_LIST_WIDE_PX = 145  # ... beside the table, where the plot needs the width more
TREND_WIDE_MIN_H = 110  # ... beside the table, in a low dock along the bottom


def format_ts(ts: float | None) -> str:
    """Return a timestamp as text: epoch seconds as UTC time, plant seconds as d hh:mm:ss."""
    if ts is None:
        return ""
    if ts > 1e9:
        return _dt.datetime.fromtimestamp(ts, tz=_dt.UTC).strftime("%H:%M:%S.%f")[:-3]
    return format_plant_time(ts)


def format_plant_time(t: float) -> str:
    """Return plant seconds as ``[Nd ]hh:mm:ss``."""
    t = max(0.0, float(t))
    d, rem = divmod(int(t), 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    return f"{d}d {h:02d}:{m:02d}:{s:02d}" if d else f"{h:02d}:{m:02d}:{s:02d}"


def format_value(v: Any) -> str:
    """Return a tag value as short text."""
    if isinstance(v, float):
        return f"{v:.4g}"
    return "" if v is None else str(v)


def wide_layout(width: int, height: int, wide: bool) -> bool:
    """Whether a panel ``width`` x ``height`` pixels, now ``wide`` or not, puts its table
    and trends side by side: from :data:`WIDE_PX` wide, or from :data:`SHORT_WIDE_PX` wide
    when it is low and broad (a dock along the bottom); a few pixels narrower than the
    threshold that made it wide before it turns back (no flicker at the edge).

    Examples
    --------
    >>> wide_layout(500, 700, False), wide_layout(800, 700, False), wide_layout(640, 300, False)
    (False, True, True)
    >>> wide_layout(740, 700, True), wide_layout(700, 700, True)
    (True, False)
    """
    slack = WIDE_PX - NARROW_PX if wide else 0
    broad = width >= 1.6 * height
    return width + slack >= WIDE_PX or (broad and width + slack >= SHORT_WIDE_PX)


class QtDetailPanel(QWidget):
    """Details of the selected tool; refreshes on the GUI timer when its data changed."""

    fly_to_requested = Signal(str)
    method_requested = Signal(str, str)  # equipment, method
    write_requested = Signal(str, str)  # equipment, tag (double-click on a tag row)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state: PlantState | None = None
        self.tool: str | None = None
        # a trainee's connection to the drill server is lost: Hold and Resume, which go to
        # that server, are greyed out until it is back (set_drill_link_lost)
        self.drill_link_lost = False
        self._dirty = False
        self._curves: dict[str, pg.PlotDataItem] = {}
        self._limit_lines: list[tuple[int, pg.InfiniteLine]] = []  # (trend number, line)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(6, 6, 6, 6)
        self.title = QLabel(NO_TOOL)
        self.title.setStyleSheet("font-weight: 600; font-size: 13pt;")
        self.title.setWordWrap(True)
        self.type_label = QLabel()
        self.place_label = QLabel()
        self.state_label = QLabel()
        self.lot_label = QLabel()
        self.recipe_label = QLabel()
        for lab in (self.type_label, self.place_label, self.lot_label, self.recipe_label):
            lab.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            lab.setWordWrap(True)
        self._fields = [
            (QLabel(name), lab)
            for name, lab in (
                ("Type", self.type_label),
                ("Location", self.place_label),
                ("State", self.state_label),
                ("Lot", self.lot_label),
                ("Recipe", self.recipe_label),
            )
        ]
        self.buttons = QWidget()
        buttons = QHBoxLayout(self.buttons)
        buttons.setContentsMargins(0, 0, 0, 0)
        self.fly_button = QPushButton("Fly to")
        self.fly_button.clicked.connect(
            lambda: self.tool and self.fly_to_requested.emit(self.tool)
        )
        self.hold_button = QPushButton("Hold…")
        self.hold_button.clicked.connect(
            lambda: self.tool and self.method_requested.emit(self.tool, "Hold")
        )
        self.resume_button = QPushButton("Resume…")
        self.resume_button.clicked.connect(
            lambda: self.tool and self.method_requested.emit(self.tool, "Resume")
        )
        for b in (self.fly_button, self.hold_button, self.resume_button):
            buttons.addWidget(b)
        buttons.addStretch(1)
        # the title, the fields and the buttons: a column, or two columns when wide
        self.info = QGridLayout()
        self.info.setContentsMargins(0, 0, 0, 0)
        self.info.setHorizontalSpacing(10)
        self.info.setVerticalSpacing(4)
        outer.addLayout(self.info)
        split = QSplitter(Qt.Orientation.Vertical)
        split.setChildrenCollapsible(False)
        self.split = split
        self.table = QTableWidget(0, 5)
        # the unit goes with the value, so the five columns fit a narrow dock
        self.table.setHorizontalHeaderLabels(["Tag", "Value", "Limits", "Status", "Time"])
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        hh.setStretchLastSection(True)
        self.table.cellDoubleClicked.connect(self._on_cell_double_clicked)
        self.table.setToolTip("double-click a writable tag to write it (if the endpoint allows)")
        split.addWidget(self.table)
        trend_box = QWidget()
        tl = QHBoxLayout(trend_box)
        tl.setContentsMargins(0, 0, 0, 0)
        self.tag_list = QListWidget()
        self.tag_list.setMaximumWidth(TAG_LIST_PX)
        self.tag_list.itemChanged.connect(self._on_trend_choice_changed)
        tl.addWidget(self.tag_list)
        self.plot = pg.PlotWidget(axisItems={"bottom": pg.DateAxisItem(utcOffset=0)})
        self.plot.showGrid(x=True, y=True, alpha=0.25)
        self.plot.setLabel("bottom", LIVE_AXIS)
        self.replaying = False
        # the unit is in the axis title: no "[s] (x0.001)" when a tag holds still at 0
        self.plot.getAxis("left").enableAutoSIPrefix(False)
        self.legend = self.plot.addLegend(offset=(5, -5))  # bottom-left: limit labels are right
        # with no tool the axes would show an empty 0-1 range (sub-second time ticks): say
        # what to do instead
        self.plot_hint = pg.TextItem("Trends: select a tool", anchor=(0.5, 0.5))
        follow_theme(self.plot_hint, "muted")
        on_theme(self.plot.getPlotItem(), self._recolour)  # the trends' colours per theme
        tl.addWidget(self.plot, 1)
        split.addWidget(trend_box)
        self.trend_box = trend_box
        self.table.setMinimumHeight(TABLE_MIN_H)
        trend_box.setMinimumHeight(TREND_MIN_H)
        split.setSizes([220, 260])
        outer.addWidget(split, 1)
        self._place_info(wide=False)
        self._set_enabled(False)
        self._show_axes(False)

    # -- layout

    @property
    def wide(self) -> bool:
        """Whether the table and the trends are side by side."""
        return self.split.orientation() == Qt.Orientation.Horizontal

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.set_wide(wide_layout(event.size().width(), event.size().height(), self.wide))

    def _place_info(self, *, wide: bool) -> None:
        """The title, fields and buttons: one column (narrow) or, wide, the buttons beside
        the title and the fields in two columns (half the height above the table)."""
        g = self.info
        for w in (self.title, self.buttons, *(x for pair in self._fields for x in pair)):
            g.removeWidget(w)
        if wide:
            g.addWidget(self.title, 0, 0, 1, 2)
            g.addWidget(self.buttons, 0, 2, 1, 2)
            (type_name, type_value), *rest = self._fields
            g.addWidget(type_name, 1, 0, Qt.AlignmentFlag.AlignTop)
            g.addWidget(type_value, 1, 1, 1, 3)  # the longest: the whole width
            for k, (name, value) in enumerate(rest):
                row, col = 2 + k // 2, 2 * (k % 2)
                g.addWidget(name, row, col, Qt.AlignmentFlag.AlignTop)
                g.addWidget(value, row, col + 1)
            g.setColumnStretch(1, 1)
            g.setColumnStretch(3, 1)
        else:
            g.addWidget(self.title, 0, 0, 1, 2)
            for k, (name, value) in enumerate(self._fields):
                g.addWidget(name, 1 + k, 0, Qt.AlignmentFlag.AlignTop)
                g.addWidget(value, 1 + k, 1)
            g.addWidget(self.buttons, 1 + len(self._fields), 0, 1, 2)
            g.setColumnStretch(1, 1)
            g.setColumnStretch(3, 0)

    def set_wide(self, wide: bool) -> None:
        """Put the table and the trends side by side (``wide``) or one above the other."""
        if wide == self.wide:
            return
        self._place_info(wide=wide)
        # side by side the trends have the panel's height less the fields: a lower bound
        self.trend_box.setMinimumHeight(TREND_WIDE_MIN_H if wide else TREND_MIN_H)
        sp = self.split
        if wide:
            sp.setOrientation(Qt.Orientation.Horizontal)
            total = max(sp.width(), WIDE_PX)
            sp.setSizes([total // 2, total - total // 2])
            self.tag_list.setMaximumWidth(TAG_LIST_WIDE_PX)  # the plot gets the width
        else:
            sp.setOrientation(Qt.Orientation.Vertical)
            self.tag_list.setMaximumWidth(TAG_LIST_PX)
            total = max(sp.height(), TABLE_MIN_H + TREND_MIN_H)
            sp.setSizes([total * 9 // 20, total - total * 9 // 20])

    # -- wiring

    def set_state(self, state: PlantState | None) -> None:
        """Follow a plant state (None detaches)."""
        if self.state is not None:
            self.state.tags_changed.disconnect(self._on_tags_changed)
            self.state.states_changed.disconnect(self._on_states_changed)
        self.state = state
        if state is not None:
            state.tags_changed.connect(self._on_tags_changed)
            state.states_changed.connect(self._on_states_changed)
        if self.tool is not None and (state is None or self.tool not in state.index):
            self.show_tool(None)
        else:
            self.show_tool(self.tool)

    def _on_tags_changed(self, keys: set[tuple[str, str]]) -> None:
        if self.tool is not None and any(k[0] == self.tool for k in keys):
            self._dirty = True

    def _on_states_changed(self, idx: np.ndarray) -> None:
        if (
            self.tool is not None
            and self.state is not None
            and self.state.index.get(self.tool, -1) in set(idx.tolist())
        ):
            self._dirty = True

    def set_replaying(self, on: bool) -> None:
        """Say on the time axis whether the trends show a replay's recorded times or live ones.

        Either way a trend draws its points at their source timestamps, so a replay's trend
        lies in the recording's time span, not at the time it is played back.
        """
        self.replaying = on
        # the axis's own label: PlotItem.setLabel would show the axis, hidden without a tool
        self.plot.getPlotItem().getAxis("bottom").setLabel(REPLAY_AXIS if on else LIVE_AXIS)

    def _set_enabled(self, on: bool) -> None:
        self.fly_button.setEnabled(on)
        for b in (self.hold_button, self.resume_button):
            enable_unless_lost(b, on, self.drill_link_lost)

    def set_drill_link_lost(self, lost: bool) -> None:
        """Grey out Hold and Resume while the connection to the drill server is lost
        (``lost``), with a tooltip saying why; enabled again for a shown tool once it is
        back."""
        self.drill_link_lost = lost
        self._set_enabled(self.tool is not None and self.state is not None)

    # -- showing a tool

    def show_tool(self, tool: str | None) -> None:
        """Show one tool's details (None clears)."""
        self.tool = tool or None
        self.tag_list.blockSignals(True)
        self.tag_list.clear()
        self.tag_list.blockSignals(False)
        self.plot.clear()
        self._curves.clear()
        self._limit_lines.clear()
        st = self.state
        if self.tool is None or st is None:
            self.title.setText(NO_TOOL)
            for lab in (
                self.type_label,
                self.place_label,
                self.state_label,
                self.lot_label,
                self.recipe_label,
            ):
                lab.setText("")
            self.table.setRowCount(0)
            self._set_enabled(False)
            self._show_axes(False)
            return
        self._set_enabled(True)
        self._show_axes(True)
        self._show_time_ticks(False)  # until a trend has points (refresh)
        spec = st.spec
        eq = spec.tool(self.tool)
        et = spec.equipment_type(eq.type)
        bay = spec.bay(eq.bay)
        ident = f"{et.manufacturer} {et.model}".strip()
        self.title.setText(f"{eq.id}")
        self.type_label.setText(
            f"{et.id} ({et.kind.value.replace('_', ' ')}){' · ' + ident if ident else ''}"
            + (f" · S/N {eq.serial_number}" if eq.serial_number else "")
            + (f" · asset {eq.asset_id}" if eq.asset_id else "")
        )
        self.place_label.setText(
            f"bay {bay.name or bay.id}, group {eq.group}, at ({eq.position_m[0]:.1f}, "
            f"{eq.position_m[1]:.1f}) m"
        )
        numeric = [t.name for t in et.tags if t.data_type.value in ("float", "int")]
        for k, name in enumerate(numeric):
            it = QListWidgetItem(name)
            it.setFlags(it.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            it.setCheckState(Qt.CheckState.Checked if k == 0 else Qt.CheckState.Unchecked)
            self.tag_list.blockSignals(True)
            self.tag_list.addItem(it)
            self.tag_list.blockSignals(False)
        self._rebuild_curves()
        self._dirty = True
        self.refresh()

    def _show_axes(self, on: bool) -> None:
        """Axes and grid with a tool's trends; a centred hint without one."""
        item = self.plot.getPlotItem()
        for axis in ("left", "bottom"):
            item.showAxis(axis, on)
        self.plot.showGrid(x=on, y=on, alpha=0.25)
        if not on:
            self.plot.addItem(self.plot_hint)
            self.plot.setXRange(0.0, 1.0, padding=0.0)
            self.plot.setYRange(0.0, 1.0, padding=0.0)
            self.plot_hint.setPos(0.5, 0.5)
        self.plot.enableAutoRange(enable=on)

    def _on_cell_double_clicked(self, row: int, _col: int) -> None:
        item = self.table.item(row, 0)
        if self.tool and item is not None:
            self.write_requested.emit(self.tool, item.text())

    def chosen_trend_tags(self) -> list[str]:
        """Return the tags currently trended."""
        out = []
        for r in range(self.tag_list.count()):
            it = self.tag_list.item(r)
            if it.checkState() == Qt.CheckState.Checked:
                out.append(it.text())
        return out

    def set_trend_tags(self, names: list[str]) -> None:
        """Choose the trended tags."""
        self.tag_list.blockSignals(True)
        for r in range(self.tag_list.count()):
            it = self.tag_list.item(r)
            it.setCheckState(
                Qt.CheckState.Checked if it.text() in names else Qt.CheckState.Unchecked
            )
        self.tag_list.blockSignals(False)
        self._rebuild_curves()

    def _on_trend_choice_changed(self, _item: QListWidgetItem) -> None:
        self._rebuild_curves()

    def _rebuild_curves(self) -> None:
        self.plot.clear()
        self._curves.clear()
        self._limit_lines.clear()
        st = self.state
        if st is None or self.tool is None:
            return
        chosen = self.chosen_trend_tags()
        self.legend.setVisible(len(chosen) > 1)
        first = st.tag_spec(self.tool, chosen[0]) if chosen else None
        self.plot.setLabel(
            "left",
            (chosen[0] + (f" [{first.unit}]" if first and first.unit else ""))
            if len(chosen) == 1
            else "",
        )
        for k, name in enumerate(chosen):
            color = trend_colour(k)
            spec = st.tag_spec(self.tool, name)
            unit = f" [{spec.unit}]" if spec is not None and spec.unit else ""
            self._curves[name] = self.plot.plot(
                [], [], pen=pg.mkPen(color, width=2), name=f"{name}{unit}"
            )
            if spec is not None and spec.alarms is not None:
                for lim, style in (
                    ("lolo", Qt.PenStyle.SolidLine),
                    ("lo", Qt.PenStyle.DashLine),
                    ("hi", Qt.PenStyle.DashLine),
                    ("hihi", Qt.PenStyle.SolidLine),
                ):
                    v = getattr(spec.alarms, lim)
                    if v is None:
                        continue
                    # high limits label below their line, low ones above: a limit at the
                    # edge of the plot keeps its label inside the view
                    anchor = (1, 0) if lim.startswith("hi") else (1, 1)
                    line = pg.InfiniteLine(
                        pos=v,
                        angle=0,
                        pen=pg.mkPen(color, width=1, style=style),
                        label=f"{name} {lim}",
                        labelOpts={"position": 0.8, "color": color, "anchors": [anchor, anchor]},
                    )
                    self.plot.addItem(line)
                    self._limit_lines.append((k, line))
        self._dirty = True

    def _recolour(self, dark: bool) -> None:
        """Give the trends and their limit lines (with labels) the theme's trend colours."""
        for k, curve in enumerate(self._curves.values()):
            pen = pg.mkPen(curve.opts["pen"])
            pen.setColor(pg.mkColor(trend_colour(k, dark)))
            curve.setPen(pen)
        for k, line in self._limit_lines:
            colour = pg.mkColor(trend_colour(k, dark))
            pen = pg.mkPen(line.pen)
            pen.setColor(colour)
            line.setPen(pen)
            line.label.setColor(colour)
        self._dirty = True  # the table's out-of-limits and bad-quality text: theme colours

    def refresh(self) -> None:
        """Redraw table and trends if data of the shown tool changed (called on the timer)."""
        if not self._dirty or self.state is None or self.tool is None:
            return
        self._dirty = False
        st = self.state
        i = st.index[self.tool]
        code = int(st.codes[i])
        disp = STALE_CODE if st.stale[i] else (UNKNOWN_CODE if code < 0 else code)
        sub = st.substate[i]
        self.state_label.setText(
            f"<span style='color:{STATE_COLORS[disp]}; font-size:14pt'>■</span> "
            f"{STATE_LABELS[disp]}{' (' + sub + ')' if sub else ''}"
        )
        wc = st.wafer_count[i]
        self.lot_label.setText(
            (st.lot[i] or "none") + (f" · {wc} wafers done" if wc is not None else "")
        )
        self.recipe_label.setText(st.recipe[i] or "")
        tags = st.tags_of(self.tool)
        spec_t = st.spec.equipment_type(st.spec.tool(self.tool).type)
        names = [t.name for t in spec_t.tags] + [n for n in _STANDARD if n in tags]
        self.table.setRowCount(len(names))
        for r, name in enumerate(names):
            tv = tags.get(name)
            ts = st.tag_spec(self.tool, name)
            lim = ""
            if ts is not None and ts.alarms is not None:
                a = ts.alarms
                lim = " ".join(
                    f"{k} {v:g}"
                    for k, v in (("LL", a.lolo), ("L", a.lo), ("H", a.hi), ("HH", a.hihi))
                    if v is not None
                )
            status = "" if tv is None else tv.status or tv.quality.value
            out = limit_status(ts, tv.value if tv else None)
            if out:
                status = f"{status} · {out.upper()}"
            unit = f" {ts.unit}" if ts and ts.unit and tv is not None else ""
            cells = [
                name,
                (format_value(tv.value) + unit) if tv else "—",
                lim,
                status,
                format_ts(tv.source_ts) if tv else "",
            ]
            for c, text in enumerate(cells):
                item = self.table.item(r, c)
                if item is None:
                    item = QTableWidgetItem()
                    self.table.setItem(r, c, item)
                item.setText(text)
                if out:
                    item.setForeground(QBrush(QColor(text_colour("error"))))
                    item.setToolTip(f"{name} is beyond its {out} limit")
                elif tv is not None and tv.quality.value != "good":
                    item.setForeground(QBrush(QColor(text_colour("muted"))))
                    item.setToolTip(f"quality {tv.quality.value}")
                else:
                    item.setData(Qt.ItemDataRole.ForegroundRole, None)
                    item.setToolTip("")
        for name, curve in self._curves.items():
            buf = st.history.get((self.tool, name))
            if buf is None:
                continue
            t, v = buf.arrays()
            if len(t):
                keep = t >= t[-1] - TREND_WINDOW_S
                curve.setData(t[keep], v[keep])
        self._show_time_ticks(any(self.trend_points(n) for n in self._curves))

    def _show_time_ticks(self, on: bool) -> None:
        """Time ticks only once a trend has points: an empty trend's 0-1 s range would label
        its ticks "00.250", "00.500", ... (fractions of a second of 1970). Without them the
        axis keeps its height, so the plot does not jump when the first point comes."""
        axis = self.plot.getPlotItem().getAxis("bottom")
        if (axis._tickLevels is None) != on:  # None: pyqtgraph's own ticks
            axis.setTicks(None if on else [[], []])

    def trend_points(self, tag: str) -> int:
        """Return how many points the trend of ``tag`` shows (tests use it)."""
        c = self._curves.get(tag)
        if c is None or c.xData is None:
            return 0
        return len(c.xData)
