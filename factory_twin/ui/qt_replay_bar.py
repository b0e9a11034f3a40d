"""The replay bar: play/pause, a time slider and a speed control."""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QComboBox, QHBoxLayout, QLabel, QPushButton, QSlider, QWidget

from factory_twin.app.replay import ReplaySource
from factory_twin.ui.qt_detail_panel import format_ts

SPEEDS = (1, 10, 60, 300, 1800, 3600)


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
        lay.addWidget(self.slider, 1)
        lay.addWidget(self.time_label)
        lay.addWidget(self.speed)
        self.play_button.clicked.connect(self._on_play)
        self.slider.sliderReleased.connect(self._on_slider)
        self.speed.currentIndexChanged.connect(self._on_speed)

    def set_replay(self, replay: ReplaySource | None) -> None:
        """Control this replay (None hides the bar)."""
        self.replay = replay
        self.setVisible(replay is not None)
        if replay is not None:
            replay.set_speed(SPEEDS[self.speed.currentIndex()])
        self.refresh()

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
