"""The replay bar: play/pause, a time slider (with marks, e.g. a drill's actions) and a speed
control, whose choice the window keeps in its QSettings (:data:`SPEED_KEY`) for the next start."""

from __future__ import annotations

import math
from typing import Any

from PySide6.QtCore import QRect, Qt, Signal
from PySide6.QtGui import QColor, QHelpEvent, QPainter, QPaintEvent
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QToolTip,
    QVBoxLayout,
    QWidget,
)

from factory_twin.app.replay import ReplaySource
from factory_twin.ui.qt_detail_panel import format_ts

SPEEDS = (1, 10, 60, 300, 1800, 3600)
SPEED_KEY = "replay/speed"  # the speed chosen last (plant seconds per wall second)


def nearest_speed(speed: float) -> int:
    """The index in :data:`SPEEDS` of the speed nearest ``speed`` (> 0), by ratio.

    Examples
    --------
    >>> [SPEEDS[nearest_speed(v)] for v in (1, 2, 5, 60, 100, 200, 5000)]
    [1, 1, 10, 60, 60, 300, 3600]
    """
    return min(range(len(SPEEDS)), key=lambda i: abs(math.log(SPEEDS[i] / speed)))


class _MarkStrip(QWidget):
    """Ticks under the slider at marked plant times; hovering one shows its label."""

    def __init__(self, bar: QtReplayBar) -> None:
        super().__init__(bar)
        self.bar = bar
        self.setFixedHeight(9)
        self.setMouseTracking(True)

    def x_of(self, t: float) -> int:
        r = self.bar.replay
        if r is None:
            return 0
        span = max(r.end_s - r.start_s, 1e-9)
        handle = 10  # the slider's groove starts and ends half a handle inside
        w = max(self.width() - 2 * handle, 1)
        return handle + round(w * min(max((t - r.start_s) / span, 0.0), 1.0))

    def paintEvent(self, _event: QPaintEvent) -> None:
        p = QPainter(self)
        for t, _label, color in self.bar.markers:
            x = self.x_of(t)
            p.fillRect(QRect(x - 1, 0, 3, self.height()), QColor(color))
        p.end()

    def event(self, e: object) -> bool:
        if isinstance(e, QHelpEvent):
            x = e.pos().x()
            near = [lab for t, lab, _c in self.bar.markers if abs(self.x_of(t) - x) <= 4]
            if near:
                QToolTip.showText(e.globalPos(), "\n".join(near[:8]), self)
            else:
                QToolTip.hideText()
            return True
        return super().event(e)  # type: ignore[arg-type]


class QtReplayBar(QWidget):
    """Controls a :class:`ReplaySource`; emits :attr:`seek_requested` with a plant time."""

    seek_requested = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.replay: ReplaySource | None = None
        lay = QHBoxLayout(self)
        lay.setContentsMargins(6, 2, 6, 2)
        self.play_button = QPushButton("Pause")
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 1000)
        self.time_label = QLabel()
        self.speed = QComboBox()
        self.speed.addItems([f"{s}x" for s in SPEEDS])
        self.speed.setCurrentText("60x")
        lay.addWidget(QLabel("Replay"))
        lay.addWidget(self.play_button)
        self.markers: list[tuple[float, str, str]] = []
        self.mark_strip = _MarkStrip(self)
        col = QVBoxLayout()
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(0)
        col.addWidget(self.slider)
        col.addWidget(self.mark_strip)
        lay.addLayout(col, 1)
        lay.addWidget(self.time_label)
        lay.addWidget(self.speed)
        self.play_button.clicked.connect(self._on_play)
        self.slider.sliderReleased.connect(self._on_slider)
        self.speed.currentIndexChanged.connect(self._on_speed)

    def set_replay(self, replay: ReplaySource | None, speed: float | None = None) -> None:
        """Control this replay (None hides the bar); another replay drops the marks. It plays
        at ``speed`` if given (the nearest speed the bar offers), else at the bar's."""
        if replay is not self.replay:
            self.markers = []
            self.mark_strip.update()
        self.replay = replay
        self.setVisible(replay is not None)
        if speed is not None and speed > 0:
            self.speed.setCurrentIndex(nearest_speed(speed))
        if replay is not None:
            replay.set_speed(SPEEDS[self.speed.currentIndex()])
        self.refresh()

    def remember_speed(self, settings: Any) -> None:
        """Choose the speed saved in ``settings`` (a QSettings; None: nothing kept) and save
        each speed the user chooses there."""
        if settings is None:
            return
        saved = str(settings.value(SPEED_KEY, ""))
        i = self.speed.findText(f"{saved}x")
        if saved and i >= 0:
            self.speed.setCurrentIndex(i)
        self.speed.currentIndexChanged.connect(lambda j: settings.setValue(SPEED_KEY, SPEEDS[j]))

    def set_markers(self, markers: list[tuple[float, str, str]]) -> None:
        """Mark plant times on the slider: (time, label shown on hover, colour)."""
        self.markers = sorted(markers)
        self.mark_strip.update()

    def marker_x(self) -> list[int]:
        """Pixel positions of the marks on the strip under the slider."""
        return [self.mark_strip.x_of(t) for t, _l, _c in self.markers]

    def _on_play(self) -> None:
        if self.replay is None:
            return
        if self.replay.playing:
            self.replay.pause()
        else:
            if self.replay.clock_s >= self.replay.end_s:
                self.seek_requested.emit(self.replay.start_s)
            self.replay.play()
        self.refresh()

    def _on_slider(self) -> None:
        r = self.replay
        if r is None:
            return
        t = r.start_s + (r.end_s - r.start_s) * self.slider.value() / 1000
        self.seek_requested.emit(t)

    def _on_speed(self, i: int) -> None:
        if self.replay is not None:
            self.replay.set_speed(SPEEDS[i])

    def refresh(self) -> None:
        """Follow the replay clock (called on the GUI timer)."""
        r = self.replay
        if r is None:
            return
        self.play_button.setText("Pause" if r.playing else "Play")
        span = max(r.end_s - r.start_s, 1e-9)
        if not self.slider.isSliderDown():
            self.slider.blockSignals(True)
            self.slider.setValue(int(1000 * (r.clock_s - r.start_s) / span))
            self.slider.blockSignals(False)
        self.time_label.setText(f"{format_ts(r.clock_s)} / {format_ts(r.end_s)}")
