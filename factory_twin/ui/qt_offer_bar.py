"""A banner above the workspaces that offers the embedded simulator (first contact)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QWidget


class QtOfferBar(QFrame):
    """Says that nothing listens where the plant is, and offers to start the simulator.

    :meth:`refresh` shows the controller's message (or hides the bar when there is none);
    *Start the simulator* emits :attr:`start_requested`, *Keep trying* hides the bar until
    :meth:`reset` (another plant opened).
    """

    start_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("offer_bar")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setStyleSheet(
            "#offer_bar { background: #5a4a12; } #offer_bar QLabel { color: #fff4cc; }"
        )
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 4, 6, 4)
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.start_button = QPushButton("Start the simulator")
        self.start_button.setToolTip(
            "Run the embedded OPC UA plant simulator for this plant on "
            "a free loopback port and connect to it (the command line's "
            "--simulator)"
        )
        self.keep_button = QPushButton("Keep trying")
        self.keep_button.setToolTip("Hide this and keep retrying the plant's own endpoints")
        row.addWidget(self.label, 1)
        row.addWidget(self.start_button)
        row.addWidget(self.keep_button)
        self.start_button.clicked.connect(self._on_start)
        self.keep_button.clicked.connect(self._on_keep_trying)
        self.dismissed = False
        self.hide()

    def refresh(self, message: str | None) -> None:
        """Show ``message`` (unless dismissed), or hide the bar when it is None."""
        if message is None or self.dismissed:
            self.hide()
            return
        self.label.setText(message)
        self.show()

    def reset(self) -> None:
        """Offer again (a new plant: the user's 'Keep trying' was about the old one)."""
        self.dismissed = False

    def _on_start(self) -> None:
        self.hide()
        self.start_requested.emit()

    def _on_keep_trying(self) -> None:
        self.dismissed = True
        self.hide()
