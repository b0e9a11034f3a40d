"""What the main window keeps between sessions in its QSettings (the window's layout).

* ``window/geometry`` and ``window/state``: the window's place and size, and its docks and
  tool bars (Qt's own blobs); with none saved, the first start takes 90 % of the screen and
  the docks their default sizes, the *Tool details* dock's width following the window's
  until the user resizes, moves or floats the dock (:class:`DockFit`);
* ``theme``: ``dark`` or ``light``;
* ``recent_plants``: the plant files opened last, newest first (at most :data:`MAX_RECENT`),
  listed in *File → Recent plants*;
* ``replay/speed``: the replay bar's speed chosen last (:mod:`~factory_twin.ui.qt_replay_bar`).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QByteArray, QEvent, QObject, QSettings, Qt, QTimer
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QDockWidget, QMainWindow, QMenu

MAX_RECENT = 8
FIRST_START_FRACTION = 0.9  # of the screen's available area, when no geometry is saved
DETAIL_LEAST_PX = 470  # the Tool details dock's least default width


def default_detail_width(window_width: int) -> int:
    """The Tool details dock's default width (pixels) in a window ``window_width`` wide: a
    third of it, at least :data:`DETAIL_LEAST_PX`.

    >>> default_detail_width(1280), default_detail_width(1920)
    (470, 640)
    """
    return max(DETAIL_LEAST_PX, window_width // 3)


def restore_layout(
    window: QMainWindow, settings: QSettings, default_dock_sizes: Callable[[], None]
) -> bool:
    """Give ``window`` its saved geometry and dock layout, or first-start ones; return True
    if a saved dock layout was restored."""
    geo = settings.value("window/geometry")
    state = settings.value("window/state")
    if isinstance(geo, QByteArray) and not geo.isEmpty():
        window.restoreGeometry(geo)
    else:
        first_start_geometry(window)
    if isinstance(state, QByteArray) and not state.isEmpty() and window.restoreState(state):
        return True
    # after the event loop starts, when every dock (also other workspaces') exists
    QTimer.singleShot(0, default_dock_sizes)
    return False


class DockFit(QObject):
    """Keeps a side dock at its default width for the window's width (``width_of(window
    width)``) as the window is resized or the dock shown again, until the user drags the
    dock's edge, floats it or moves it to another side (then :attr:`following` is False and
    the dock keeps the user's width). Install it only when no saved layout was restored.
    """

    def __init__(
        self, window: QMainWindow, dock: QDockWidget, width_of: Callable[[int], int]
    ) -> None:
        super().__init__(window)
        self.window = window
        self.dock = dock
        self.width_of = width_of
        self.area = window.dockWidgetArea(dock)
        self.following = True
        self._pressed_width = -1  # the dock's width when a press on the window's separators began
        self._queued = False
        window.installEventFilter(self)
        dock.visibilityChanged.connect(lambda shown: self.queue() if shown else None)
        dock.topLevelChanged.connect(lambda _floating: self.stop())
        dock.dockLocationChanged.connect(self._on_moved)

    def stop(self) -> None:
        """Leave the dock's width to the user from now on."""
        if self.following:
            self.following = False
            self.window.removeEventFilter(self)

    def fit(self) -> None:
        """Give the dock its default width for the window's present width."""
        self._queued = False
        if not self.following or self.dock.isFloating() or not self.dock.isVisible():
            return
        want = self.width_of(self.window.width())
        self.window.resizeDocks([self.dock], [want], Qt.Orientation.Horizontal)

    def queue(self) -> None:
        """:meth:`fit` once the present events are handled (the layout has its new size)."""
        if self.following and not self._queued:
            self._queued = True
            QTimer.singleShot(0, self.fit)

    def _on_moved(self, area: Qt.DockWidgetArea) -> None:
        if area != self.area:
            self.stop()

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window:
            kind = event.type()
            if kind == QEvent.Type.Resize:
                self.queue()
            elif kind == QEvent.Type.MouseButtonPress:
                # a press on the window itself, not a child: on a separator between docks
                self._pressed_width = self.dock.width()
            elif kind == QEvent.Type.MouseButtonRelease and self._pressed_width >= 0:
                dragged = self.dock.width() != self._pressed_width
                self._pressed_width = -1
                if dragged:
                    self.stop()
        return False


def first_start_geometry(window: QMainWindow) -> None:
    """No saved geometry: take 90 % of the screen's free area, centred on it."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is None:
        window.resize(1400, 900)
        return
    avail = screen.availableGeometry()
    w = max(min(avail.width(), 1024), round(avail.width() * FIRST_START_FRACTION))
    h = max(min(avail.height(), 700), round(avail.height() * FIRST_START_FRACTION))
    window.resize(w, h)
    # frame decorations are unknown before the first show: centre the client area
    window.move(avail.x() + (avail.width() - w) // 2, avail.y() + (avail.height() - h) // 2)


def save_layout(window: QMainWindow, settings: QSettings, *, dark: bool) -> None:
    """Store the window's geometry, dock layout and theme for the next start."""
    settings.setValue("window/geometry", window.saveGeometry())
    settings.setValue("window/state", window.saveState())
    settings.setValue("theme", "dark" if dark else "light")
    settings.sync()


def recent_plants(settings: QSettings) -> list[str]:
    """Return the recently opened plant files, newest first."""
    v = settings.value("recent_plants", [])
    if isinstance(v, str):  # QSettings gives a one-item list back as its item
        v = [v]
    return [str(x) for x in v] if isinstance(v, (list, tuple)) else []


def remember_plant(settings: QSettings, path: Path) -> list[str]:
    """Put ``path`` first in the recent plants (once, at most :data:`MAX_RECENT`); return them."""
    p = str(path.resolve())
    items = [p, *[x for x in recent_plants(settings) if x != p]][:MAX_RECENT]
    settings.setValue("recent_plants", items)
    return items


def fill_recent_menu(menu: QMenu, items: list[str], open_plant: Callable[[str], None]) -> None:
    """List ``items`` in ``menu``, each opening its plant; disabled when there are none."""
    menu.clear()
    for p in items:
        a = QAction(p, menu)
        a.triggered.connect(lambda _=False, path=p: open_plant(path))
        menu.addAction(a)
    menu.setEnabled(bool(items))
