"""A bar of controls that wraps: its groups in one row when they fit, else one row each.

A ``QHBoxLayout`` of a dozen controls makes its panel as wide as all of them together or,
in a narrower dock, clips them. :class:`QtWrapBar` holds the controls in groups (say the
filters and the action buttons); while the bar is wide enough for every group at its
least width it lays them out in one row, and below that it puts each group on a row of
its own. The bar itself only asks for the widest group's width, so a dock can be made
narrow and the bar follows.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtGui import QResizeEvent
from PySide6.QtWidgets import QBoxLayout, QHBoxLayout, QWidget


class QtWrapBar(QWidget):
    """Groups of controls in one row when they fit, else one row per group.

    Parameters
    ----------
    spacing
        Pixels between the controls and between the groups (and the rows).
    """

    def __init__(self, parent: QWidget | None = None, *, spacing: int = 6) -> None:
        super().__init__(parent)
        self._box = QBoxLayout(QBoxLayout.Direction.LeftToRight, self)
        self._box.setContentsMargins(0, 0, 0, 0)
        self._box.setSpacing(spacing)
        self._spacing = spacing
        self.groups: list[QWidget] = []

    def add_group(self, widgets: Sequence[QWidget], *, stretch: QWidget | None = None) -> QWidget:
        """Add a group of ``widgets`` (in this order) and return it; ``stretch`` (one of
        them) takes the group's spare width, and the group the bar's."""
        g = QWidget(self)
        lay = QHBoxLayout(g)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(self._spacing)
        for w in widgets:
            lay.addWidget(w, 1 if w is stretch else 0)
        if stretch is None:
            lay.addStretch(1)
        self._box.addWidget(g, 1 if stretch is not None else 0)
        self.groups.append(g)
        self._update_minimum()
        return g

    def one_row_width(self) -> int:
        """The least width (pixels) that shows every group in one row."""
        widths = [g.minimumSizeHint().width() for g in self.groups]
        return sum(widths) + self._spacing * max(len(widths) - 1, 0)

    @property
    def rows(self) -> int:
        """How many rows the groups take now."""
        one = self._box.direction() == QBoxLayout.Direction.LeftToRight
        return 1 if one else max(len(self.groups), 1)

    def _update_minimum(self) -> None:
        # the widest group only: narrower than one row, the bar wraps instead of clipping
        self.setMinimumWidth(max((g.minimumSizeHint().width() for g in self.groups), default=0))

    def relayout(self, width: int | None = None) -> int:
        """Choose one row or a row per group for ``width`` (default: the bar's); return the
        rows."""
        w = self.width() if width is None else width
        want = (
            QBoxLayout.Direction.LeftToRight
            if w >= self.one_row_width()
            else QBoxLayout.Direction.TopToBottom
        )
        if self._box.direction() != want:
            self._box.setDirection(want)
            self._update_minimum()
            self.updateGeometry()
        return self.rows

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        self.relayout(event.size().width())
