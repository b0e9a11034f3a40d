"""What the main window keeps between sessions in its QSettings (the window's layout).

* ``window/geometry`` and ``window/state``: the window's place and size, and its docks and
  tool bars (Qt's own blobs); with none saved, the first start takes 90 % of the screen;
* ``theme``: ``dark`` or ``light``;
* ``recent_plants``: the plant files opened last, newest first (at most :data:`MAX_RECENT`),
  listed in *File → Recent plants*.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, QTimer
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QMainWindow, QMenu

MAX_RECENT = 8
FIRST_START_FRACTION = 0.9  # of the screen's available area, when no geometry is saved


def restore_layout(
    window: QMainWindow, settings: QSettings, default_dock_sizes: Callable[[], None]
) -> None:
    """Give ``window`` its saved geometry and dock layout, or first-start ones."""
    geo = settings.value("window/geometry")
    state = settings.value("window/state")
    if isinstance(geo, QByteArray) and not geo.isEmpty():
        window.restoreGeometry(geo)
    else:
        first_start_geometry(window)
    if isinstance(state, QByteArray) and not state.isEmpty():
        window.restoreState(state)
    else:
        # after the event loop starts, when every dock (also other workspaces') exists
        QTimer.singleShot(0, default_dock_sizes)


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
