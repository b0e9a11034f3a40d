"""The main window's menus, tool bar and Help boxes.

* *File*: open (Ctrl+O), recent plants, open a history for replay (Ctrl+H), save (Ctrl+S),
  save as, quit;
* *View*: the docks (Ctrl+D details, Ctrl+L alarms), the tool bar, the *Camera* menu
  (overview Home, fly to the selection F, reset R, then one entry per bay, Ctrl+1..9),
  find a tool (Ctrl+F), the dark or light theme;
* *Connection*: connect (Ctrl+K), disconnect, endpoints (Ctrl+E), the alarm journal
  (Ctrl+J) and the alarm performance report;
* *Help*: the keyboard shortcuts (F1) and the About box.

The workspaces add their own menus and actions to these (the ``qt_*_install`` modules).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence, QTextDocument
from PySide6.QtWidgets import QLabel, QMessageBox, QToolBar, QWidget

from factory_twin import __version__

if TYPE_CHECKING:
    from factory_twin.ui.qt_main_window import MainWindow


def make_action(
    parent: QWidget,
    text: str,
    slot: Callable[..., Any],
    shortcut: str | QKeySequence | QKeySequence.StandardKey | None = None,
    tip: str = "",
) -> QAction:
    """Return an action of ``parent`` that calls ``slot()`` (without the checked flag)."""
    a = QAction(text, parent)
    if shortcut is not None:
        a.setShortcut(QKeySequence(shortcut))
    if tip:
        a.setStatusTip(tip)
    a.triggered.connect(lambda _checked=False: slot())
    return a


def build_menus(win: MainWindow) -> None:
    """Add the File, View, Connection and Help menus and the main tool bar to ``win``."""
    mb = win.menuBar()
    f = mb.addMenu("&File")
    win.open_action = make_action(
        win, "&Open plant…", win.open_dialog, QKeySequence.StandardKey.Open, "open a plant file"
    )
    f.addAction(win.open_action)
    win.recent_menu = f.addMenu("Recent plants")
    win.replay_action = make_action(win, "Open &history for replay…", win.replay_dialog, "Ctrl+H")
    f.addAction(win.replay_action)
    f.addSeparator()
    win.save_action = make_action(win, "&Save plant", win.save, QKeySequence.StandardKey.Save)
    win.save_as_action = make_action(
        win, "Save plant &as…", win.save_as, QKeySequence.StandardKey.SaveAs
    )
    f.addAction(win.save_action)
    f.addAction(win.save_as_action)
    f.addSeparator()
    f.addAction(make_action(win, "&Quit", win.close, QKeySequence.StandardKey.Quit))
    win.update_recent_menu()

    v = mb.addMenu("&View")
    for dock in (win.detail_dock, win.alarm_dock):
        v.addAction(dock.toggleViewAction())
    win.detail_dock.toggleViewAction().setShortcut(QKeySequence("Ctrl+D"))
    win.alarm_dock.toggleViewAction().setShortcut(QKeySequence("Ctrl+L"))
    v.addSeparator()
    win.cam_menu = v.addMenu("&Camera")
    win.overview_action = make_action(win, "&Overview", win.view.overview, "Home")
    win.reset_action = make_action(win, "&Reset view", win.view.reset_view, "R")
    win.fly_selected_action = make_action(win, "&Fly to selected tool", win.fly_to_selected, "F")
    v.addSeparator()
    win.find_action = make_action(
        win, "Find &tool…", win.find_tool_dialog, QKeySequence.StandardKey.Find
    )
    v.addAction(win.find_action)
    theme = v.addMenu("&Theme")
    grp = QActionGroup(win)
    win.dark_action = QAction("&Dark", win, checkable=True)
    win.light_action = QAction("&Light", win, checkable=True)
    for a in (win.dark_action, win.light_action):
        grp.addAction(a)
        theme.addAction(a)
    (win.dark_action if win.dark else win.light_action).setChecked(True)
    win.dark_action.triggered.connect(lambda: win.set_dark(True))
    win.light_action.triggered.connect(lambda: win.set_dark(False))

    c = mb.addMenu("&Connection")
    win.connect_action = make_action(win, "&Connect", win.connect_live, "Ctrl+K")
    win.disconnect_action = make_action(win, "&Disconnect", win.disconnect_live, "Ctrl+Shift+K")
    win.endpoints_action = make_action(win, "&Endpoints…", win.endpoints_dialog, "Ctrl+E")
    win.journal_action = make_action(win, "Alarm &journal…", win.journal_dialog, "Ctrl+J")
    win.alarm_report_action = make_action(
        win,
        "Alarm &performance report…",
        win.alarm_report_dialog,
        "Ctrl+Shift+J",
        "ISA-18.2 alarm rates, floods, bad actors, chattering and stale alarms",
    )
    for a in (win.connect_action, win.disconnect_action, win.endpoints_action):
        c.addAction(a)
    c.addSeparator()
    c.addAction(win.journal_action)
    c.addAction(win.alarm_report_action)

    h = mb.addMenu("&Help")
    h.addAction(make_action(win, "&Keyboard shortcuts", lambda: show_shortcuts(win), "F1"))
    h.addAction(make_action(win, "&About factory_twin", lambda: show_about(win)))

    tb = QToolBar("Main tool bar")
    tb.setObjectName("toolbar_main")
    tb.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
    for a in (win.open_action, win.connect_action, win.disconnect_action):
        tb.addAction(a)
    tb.addSeparator()
    for a in (win.overview_action, win.fly_selected_action, win.reset_action, win.find_action):
        tb.addAction(a)
    win.toolbar = tb
    win.addToolBar(tb)
    v.insertAction(win.find_action, win.toolbar.toggleViewAction())


def rebuild_camera_menu(win: MainWindow) -> None:
    """List the camera presets, then one entry per bay of the open plant (Ctrl+1..9)."""
    m = win.cam_menu
    m.clear()
    m.addAction(win.overview_action)
    m.addAction(win.fly_selected_action)
    m.addAction(win.reset_action)
    spec = win.controller.spec
    if spec is None:
        return
    m.addSeparator()
    for k, bay in enumerate(spec.site.bays):
        a = QAction(f"Bay {bay.name or bay.id}", win)
        if k < 9:
            a.setShortcut(QKeySequence(f"Ctrl+{k + 1}"))
        a.triggered.connect(lambda _=False, b=bay.id: win.view.fly_to_bay(b))
        m.addAction(a)
        win.addAction(a)


def shortcuts_html(window: QWidget) -> str:
    """Return every shortcut of the window's actions as an HTML table, sorted.

    The pairs run down two side-by-side columns, so that the box of some forty shortcuts
    stays shorter than a laptop screen (one column was taller than 1,000 pixels).
    """
    pairs = set()
    for a in window.findChildren(QAction):
        sc = a.shortcut().toString(QKeySequence.SequenceFormat.NativeText)
        if sc and a.text():
            pairs.add(f"<td><b>{sc}</b></td><td>{a.text().replace('&', '')}</td>")
    cells = sorted(pairs)
    half = (len(cells) + 1) // 2
    rows = []
    for k in range(half):
        right = cells[half + k] if half + k < len(cells) else "<td></td><td></td>"
        rows.append(f"<tr>{cells[k]}<td width=24></td>{right}</tr>")
    return "<table cellspacing=4 cellpadding=2>" + "".join(rows) + "</table>"


def shortcuts_box(window: QWidget) -> QMessageBox:
    """The message box of the keyboard shortcuts, wide enough for its two columns.

    A message box wraps its text at about 500 pixels, which broke every description over
    two or three lines; the text label is given the table's own width instead (at most the
    screen's width less a margin).
    """
    html = shortcuts_html(window)
    box = QMessageBox(
        QMessageBox.Icon.Information,
        "Keyboard shortcuts",
        html,
        QMessageBox.StandardButton.Ok,
        window,
    )
    label = box.findChild(QLabel, "qt_msgbox_label")
    if label is not None:
        doc = QTextDocument()
        doc.setDefaultFont(label.font())
        doc.setHtml(html)
        screen = window.screen() if window is not None else None
        room = screen.availableGeometry().width() - 200 if screen is not None else 1000
        label.setMinimumWidth(min(int(doc.idealWidth()) + 8, room))
    return box


def show_shortcuts(window: QWidget) -> None:
    """List the keyboard shortcuts in a message box."""
    shortcuts_box(window).exec()


def show_about(window: QWidget) -> None:
    """Show the About box."""
    QMessageBox.about(
        window,
        "About factory_twin",
        f"<b>factory_twin</b> {__version__}<br>Digital twin of semiconductor "
        "fabs: live OPC UA, 3-D fab view, simulation, AR work instructions.",
    )
