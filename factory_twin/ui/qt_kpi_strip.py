"""The KPI strip: live throughput, WIP, moves and the E10 state breakdown."""

from __future__ import annotations

from PySide6.QtCore import QRectF, QSize, Qt
from PySide6.QtGui import QColor, QPainter
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSizePolicy, QWidget

from factory_twin.app.plant_state import E10_ORDER, Kpis, PlantState
from factory_twin.ui.qt_wrap_bar import QtWrapBar
from factory_twin.ui.scene_colors import STATE_COLORS, STATE_LABELS
from factory_twin.ui.theme import current_dark

EMPTY_BAR = {True: "#3a3f47", False: "#d4d7dc"}  # the bar without tools, per theme (dark)


class _E10Bar(QWidget):
    """A stacked bar of how many tools are in each E10 state."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.counts: dict[str, int] = {}
        self.setMinimumWidth(220)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)

    def sizeHint(self) -> QSize:
        return QSize(320, 22)

    def set_counts(self, counts: dict[str, int]) -> None:
        self.counts = counts
        total = sum(counts.values())
        self.setToolTip(
            "\n".join(
                f"{STATE_LABELS[s.code]}: {counts.get(s.value, 0)}"
                + (f" ({100 * counts.get(s.value, 0) / total:.0f} %)" if total else "")
                for s in E10_ORDER
            )
        )
        self.update()

    def paintEvent(self, _event: object) -> None:
        p = QPainter(self)
        r = QRectF(self.rect()).adjusted(1, 3, -1, -3)
        total = sum(self.counts.values())
        p.fillRect(r, QColor(EMPTY_BAR[current_dark()]))
        if total:
            x = r.left()
            for s in E10_ORDER:
                n = self.counts.get(s.value, 0)
                if not n:
                    continue
                w = r.width() * n / total
                p.fillRect(QRectF(x, r.top(), w, r.height()), QColor(STATE_COLORS[s.code]))
                if w > 26:
                    p.setPen(QColor("#111111"))
                    p.drawText(
                        QRectF(x, r.top(), w, r.height()),
                        Qt.AlignmentFlag.AlignCenter,
                        f"{100 * n / total:.0f}%",
                    )
                x += w
        p.end()


class QtKpiStrip(QWidget):
    """One row of live key figures."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.state: PlantState | None = None
        self.from_fab = False  # the figures shown come from the source's fab-level tags
        self._dirty = False
        lay = QHBoxLayout(self)
        lay.setContentsMargins(8, 2, 8, 2)
        # the figures above the E10 bar when the view is too narrow for one row (a laptop
        # screen with the tool details beside it), instead of clipping them
        self.row = QtWrapBar()
        lay.addWidget(self.row)
        self.throughput = QLabel()
        self.wip = QLabel()
        self.moves = QLabel()
        for lab, tip in (
            (
                self.throughput,
                "lots leaving the fab and wafers processed per plant hour (rolling hour)",
            ),
            (self.wip, "lots in the fab now"),
            (self.moves, "lot moves between tools per hour (last hour)"),
        ):
            lab.setToolTip(tip)
        self.bar = _E10Bar()
        self.row.add_group([self.throughput, self.wip, self.moves])
        self.row.add_group([QLabel("E10:"), self.bar], stretch=self.bar)
        self.show_kpis(Kpis())

    def set_state(self, state: PlantState | None) -> None:
        """Follow a plant state."""
        if self.state is not None:
            self.state.kpis_changed.disconnect(self._on_kpis_changed)
        self.state = state
        if state is not None:
            state.kpis_changed.connect(self._on_kpis_changed)
        self._dirty = True

    def _on_kpis_changed(self) -> None:
        self._dirty = True

    def refresh(self) -> None:
        """Recompute and show the KPIs if new data arrived."""
        if self._dirty and self.state is not None:
            self._dirty = False
            self.show_kpis(self.state.kpis())

    def show_kpis(self, k: Kpis) -> None:
        """Show a KPI snapshot."""
        lots = _rate(k.throughput_lots_h, "{:.1f} lots/h")
        wafers = _rate(k.wafers_h, "{:.0f} wafers/h")
        self.throughput.setText(f"<b>Throughput</b> {lots} · {wafers}")
        self.throughput.setToolTip(
            "lots and wafers leaving the fab per plant hour (rolling hour, server's fab figures)"
            if k.from_fab
            else "lots leaving the fab and wafers processed at tools per plant hour (rolling hour)"
        )
        self.wip.setText(f"<b>WIP</b> {k.wip_lots} lots")
        self.moves.setText(f"<b>Moves</b> {_rate(k.moves_h, '{:.0f}/h')} ({k.moves_total} total)")
        self.from_fab = k.from_fab
        self.bar.set_counts(k.state_counts)
        self.row.relayout()  # longer figures may no longer fit in one row


def _rate(v: float | None, fmt: str) -> str:
    """Format a rate; '—' while it cannot be measured yet (None)."""
    return "—" if v is None or v != v else fmt.format(v)
