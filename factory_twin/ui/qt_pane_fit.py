"""Side panes whose default widths follow the window.

A workspace of three panes (:func:`~factory_twin.ui.theme.three_panes`) starts with fixed
side widths: on a 1280-pixel laptop they leave the 3-D view in the middle too narrow (the
floor is drawn small), on a wide screen they need not grow. :class:`PaneFit` gives each side
pane a share of the splitter's width instead, between its least width and a most, and the
centre the rest, again on every resize, until the user drags a handle. A remembered
arrangement wins: install the fit only when :func:`~factory_twin.ui.theme.remember_panes`
restored none.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject
from PySide6.QtWidgets import QSplitter


def side_widths(
    width: int,
    fractions: tuple[float, float],
    least: tuple[int, int],
    most: tuple[int, int],
) -> tuple[int, int, int]:
    """The left, centre and right widths (pixels) for panes ``width`` wide in all.

    Each side pane gets its ``fractions`` of ``width``, at least ``least`` and at most
    ``most``; the centre gets the rest.

    Examples
    --------
    >>> side_widths(1240, (0.16, 0.27), (160, 340), (300, 440))
    (198, 702, 340)
    >>> side_widths(1880, (0.16, 0.27), (160, 340), (300, 440))
    (300, 1140, 440)
    """
    left = min(most[0], max(least[0], round(fractions[0] * width)))
    right = min(most[1], max(least[1], round(fractions[1] * width)))
    return left, max(width - left - right, 0), right


class PaneFit(QObject):
    """Keeps ``split``'s side panes at their share of its width until the user drags a
    handle (then the user's widths stay, and :attr:`following` is False).

    Parameters
    ----------
    split
        A horizontal splitter of three panes, the centre one stretching.
    fractions
        The left and right panes' shares of the width.
    most
        The left and right panes' most widths (pixels); the least are the panes' own
        minimum widths.
    """

    def __init__(
        self, split: QSplitter, fractions: tuple[float, float], most: tuple[int, int]
    ) -> None:
        super().__init__(split)
        self.split = split
        self.fractions = fractions
        self.most = most
        self.following = True
        split.installEventFilter(self)
        split.splitterMoved.connect(self._on_moved)

    def widths(self) -> tuple[int, int, int]:
        """The widths the panes get at the splitter's present width."""
        sp = self.split
        handles = sp.handleWidth() * (sp.count() - 1)
        left, right = sp.widget(0), sp.widget(2)
        least = (
            left.minimumWidth() if left is not None else 0,
            right.minimumWidth() if right is not None else 0,
        )
        return side_widths(sp.width() - handles, self.fractions, least, self.most)

    def fit(self) -> None:
        """Give the panes their shares of the present width (nothing once the user dragged)."""
        if self.following and self.split.width() > 0:
            self.split.setSizes(list(self.widths()))

    def _on_moved(self, _pos: int, _index: int) -> None:
        self.following = False
        self.split.removeEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # the splitter has its new size already; its own resize handling keeps these widths
        if watched is self.split and event.type() == QEvent.Type.Resize:
            self.fit()
        return False
