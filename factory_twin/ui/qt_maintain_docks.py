"""Where the main window's docks go while the Maintain workspace is shown.

The Monitor's docks (*Tool details* on the right, *Alarms* at the bottom) stay useful in
Maintain (an alarm opens its procedure, the details show the picked tool), but on the
right the details dock takes the width the procedure browser, the 3-D view and the player
need, and the two docks stacked in a corner each get too little height. While Maintain is
shown they sit side by side along the bottom instead, *Alarms* on the left, *Tool details*
(wide: its tag table beside its trend) on the right, about a third of the window high.

The arrangement is the window's own dock state (``QMainWindow.saveState``): whatever the
user makes of it in Maintain (sizes, a dock closed or moved) is kept under
``maintain/docks`` in the window's QSettings and comes back the next time, and leaving
Maintain (or closing the window in it) gives the Monitor its own arrangement back, so the
window's saved layout stays the Monitor's. A dock reopened in Maintain (*View* menu) that
would come back as a sliver is given a usable size.

The switch happens just after the tab changes, when the Plan and Train workspaces have
hidden or shown the same docks for themselves; a dock another workspace hid stays hidden.
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import QByteArray, QEvent, QObject, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QMainWindow, QWidget

from factory_twin.ui.qt_plan_dock import hide_plan_docks

logger = logging.getLogger(__name__)

SETTINGS_KEY = "maintain/docks"
STATE_VERSION = 7  # QMainWindow.saveState's version tag of the Maintain arrangement
HEIGHT_FRACTION = 0.34  # of the window's height, for the bottom docks
MIN_HEIGHT = 230
MAX_HEIGHT = 360
MIN_WIDTH = 360  # narrower than this a dock's table is of little use
ALARM_FRACTION = 0.45  # of the bottom's width, for the alarms (the rest: tool details)

_WATCHED = (QEvent.Type.Resize, QEvent.Type.Show, QEvent.Type.Hide)


def bottom_height(window_height: int) -> int:
    """The bottom docks' height (pixels) in a window ``window_height`` high.

    Examples
    --------
    >>> bottom_height(800), bottom_height(1000), bottom_height(1400)
    (272, 340, 360)
    """
    return int(min(MAX_HEIGHT, max(MIN_HEIGHT, round(HEIGHT_FRACTION * window_height))))


class MaintainDocks(QObject):
    """Arranges ``window``'s tool-details and alarm docks for the Maintain page ``page``.

    Parameters
    ----------
    window
        The main window (its ``tabs``, ``detail_dock``, ``alarm_dock`` and ``settings``).
    page
        The Maintain workspace's page in ``window.tabs``.
    """

    def __init__(self, window: Any, page: QWidget) -> None:
        super().__init__(page)
        self.window: QMainWindow = window
        self.page = page
        self.docks: list[QDockWidget] = [
            d for d in (getattr(window, "alarm_dock", None), getattr(window, "detail_dock", None))
            if isinstance(d, QDockWidget)
        ]  # fmt: skip
        self.settings = getattr(window, "settings", None)
        self.active = False  # the docks are in Maintain's arrangement
        self.monitor_state: QByteArray | None = None  # the arrangement to give back
        self.state: QByteArray | None = None  # Maintain's arrangement, as last seen
        self._busy = False  # arranging: the docks' own events are not the user's
        self._fresh = False  # arranged by default, not restored: sized again once laid out
        saved = self.settings.value(SETTINGS_KEY) if self.settings is not None else None
        if isinstance(saved, QByteArray) and not saved.isEmpty():
            self.state = saved
        for d in self.docks:
            d.installEventFilter(self)
            d.dockLocationChanged.connect(self._record)
            d.topLevelChanged.connect(self._record)
            d.visibilityChanged.connect(lambda on, dock=d: self._on_visibility(dock, on))
        window.tabs.currentChanged.connect(self._on_tab_changed)
        self._on_tab_changed()

    # ------------------------------------------------------------------ switching

    def shown(self) -> bool:
        """Whether the Maintain page is the window's current tab."""
        return bool(self.window.tabs.currentWidget() is self.page)  # type: ignore[attr-defined]

    def _on_tab_changed(self, _i: int = -1) -> None:
        # after the other workspaces' own handlers (Plan and Train hide these docks)
        QTimer.singleShot(0, self.follow_tab)

    def follow_tab(self) -> None:
        """Put the docks in Maintain's arrangement if Maintain is shown, else give the
        Monitor's back (nothing if they are so already)."""
        if self.shown() and not self.active:
            self.enter()
        elif not self.shown() and self.active:
            self.leave()

    def enter(self) -> None:
        """Remember the Monitor's arrangement; put the docks in Maintain's."""
        if not self.docks:
            return
        self.monitor_state = self.window.saveState()
        restored = self._restore()
        self._fresh = not restored
        self.active = True
        QTimer.singleShot(0, self._after_enter)

    def _restore(self) -> bool:
        """Put the docks as Maintain's saved arrangement has them, else in the first one;
        True if restored. The other docks (Plan's) keep whether they are shown."""
        w = self.window
        others = {d: d.isVisible() for d in self._all_docks() if d not in self.docks}
        self._busy = True
        try:
            restored = self.state is not None and w.restoreState(self.state, STATE_VERSION)
            if not restored:
                self.arrange()
            for d, vis in others.items():
                d.setVisible(vis)
        finally:
            self._busy = False
        return restored

    def _after_enter(self) -> None:
        if self._fresh:  # again, now the details are laid out wide (a lower minimum)
            self._fresh = False
            self.default_sizes()
        elif self.active and self.shown():  # again: restored while the details stood in
            self._restore()  # one column, whose minimum height kept the bottom too tall
        for d in self.docks:
            if d.isVisible():
                self.ensure_usable(d)
        self._record()

    def leave(self) -> None:
        """Keep Maintain's arrangement (settings too); give the Monitor's back. A dock
        hidden now (by the user, or by the workspace shown next) stays hidden."""
        self.active = False
        self.save()
        if self.monitor_state is None:
            return
        hidden = [d for d in self._all_docks() if not d.isVisible()]
        self._busy = True
        try:
            self.window.restoreState(self.monitor_state)
            for d in hidden:
                d.hide()
        finally:
            self._busy = False

    def save(self) -> None:
        """Write Maintain's arrangement to the settings (``maintain/docks``)."""
        if self.settings is not None and self.state is not None:
            self.settings.setValue(SETTINGS_KEY, self.state)

    def close(self) -> None:
        """The window closes: keep Maintain's arrangement and leave the Monitor's in the
        window, for its saved layout (an open Compare or Optimise dock hidden first: beside
        it, the Monitor's docks grew the window, and the next start came back that large)."""
        if self.active and self.shown():
            self._record()
        if self.active:
            hide_plan_docks(self.window)
            self.leave()
        else:
            self.save()

    # ------------------------------------------------------------------ arranging

    def arrange(self) -> None:
        """Maintain's first arrangement: both docks along the bottom, side by side."""
        w = self.window
        bottom = Qt.DockWidgetArea.BottomDockWidgetArea
        for d in self.docks:
            d.setFloating(False)
            w.addDockWidget(bottom, d)
            d.show()
        if len(self.docks) == 2:
            w.splitDockWidget(self.docks[0], self.docks[1], Qt.Orientation.Horizontal)
        self.default_sizes()

    def default_sizes(self) -> None:
        """Give the bottom docks their default height and split the width between them."""
        w = self.window
        shown = [d for d in self.docks if d.isVisible() and not d.isFloating()]
        if not shown:
            return
        h = bottom_height(w.height())
        w.resizeDocks(shown, [h] * len(shown), Qt.Orientation.Vertical)
        if len(shown) == 2:
            a = round(w.width() * ALARM_FRACTION)
            w.resizeDocks(shown, [a, w.width() - a], Qt.Orientation.Horizontal)

    def ensure_usable(self, dock: QDockWidget) -> bool:
        """Give ``dock`` a usable size if it has become a sliver; True if it was resized."""
        if not dock.isVisible():
            return False
        w = self.window
        if dock.isFloating():
            if dock.width() >= MIN_WIDTH and dock.height() >= MIN_HEIGHT:
                return False
            dock.resize(max(dock.width(), 2 * MIN_WIDTH), max(dock.height(), MIN_HEIGHT))
            return True
        area = w.dockWidgetArea(dock)
        across = area in (
            Qt.DockWidgetArea.TopDockWidgetArea,
            Qt.DockWidgetArea.BottomDockWidgetArea,
        )
        done = False
        if across and dock.height() < MIN_HEIGHT:
            w.resizeDocks([dock], [bottom_height(w.height())], Qt.Orientation.Vertical)
            done = True
        if not across and dock.width() < MIN_WIDTH:
            w.resizeDocks([dock], [max(MIN_WIDTH, w.width() // 3)], Qt.Orientation.Horizontal)
            done = True
        neighbours = [
            d for d in self.docks
            if d is not dock and d.isVisible() and not d.isFloating()
            and w.dockWidgetArea(d) == area
        ]  # fmt: skip
        if across and dock.width() < MIN_WIDTH:
            if neighbours:
                pair = [dock, neighbours[0]]
                half = max(MIN_WIDTH, (dock.width() + neighbours[0].width()) // 2)
                rest = dock.width() + neighbours[0].width() - half
                w.resizeDocks(pair, [half, max(rest, MIN_WIDTH)], Qt.Orientation.Horizontal)
            else:
                w.resizeDocks([dock], [w.width()], Qt.Orientation.Horizontal)
            done = True
        if not across and dock.height() < MIN_HEIGHT and neighbours:
            pair = [dock, neighbours[0]]
            total = dock.height() + neighbours[0].height()
            w.resizeDocks(pair, [total // 2, total - total // 2], Qt.Orientation.Vertical)
            done = True
        return done

    # ------------------------------------------------------------------ watching the user

    def _all_docks(self) -> list[QDockWidget]:
        return [d for d in self.window.findChildren(QDockWidget) if d.parent() is self.window]

    def _record(self, *_args: object) -> None:
        """Keep the arrangement the user makes in Maintain (in memory; settings on leave)."""
        if self.active and not self._busy and self.shown():
            self.state = self.window.saveState(STATE_VERSION)

    def _on_visibility(self, dock: QDockWidget, on: bool) -> None:
        if not (self.active and not self._busy and self.shown()):
            return
        if on:  # reopened: after Qt has given it its place
            QTimer.singleShot(0, lambda: self._reopened(dock))
        else:
            self._record()

    def _reopened(self, dock: QDockWidget) -> None:
        if self.active and self.shown():
            self.ensure_usable(dock)
            self._record()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() in _WATCHED:
            self._record()
        return False


def install_maintain_docks(window: Any, page: QWidget) -> MaintainDocks | None:
    """Arrange ``window``'s docks for the Maintain page while it is shown (None for a
    window without the Monitor's docks or tabs)."""
    if not hasattr(window, "tabs") or not isinstance(window, QMainWindow):
        return None
    docks = MaintainDocks(window, page)
    return docks if docks.docks else None
