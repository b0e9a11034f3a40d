"""Install the Train workspace and the trainee's drill mode into the main window.

Adds the *Train* workspace tab (Ctrl+T), a *Train* menu (start / finish the drill, release
all trainee names, undo and redo of drill edits, *Join drill…*, *Your debrief…*, *Leave
drill*), *Join drill…* in the File menu too, the DRILL banner above every workspace
(:mod:`factory_twin.ui.qt_train_join`), and the debrief's *Replay in 3-D*: the recorded drill
plays in the Monitor workspace with the actions marked on the time slider. Closing the window
stops a drill the trainer serves.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtGui import QAction, QKeySequence

from factory_twin.app.drill_debrief import TraineeHistory
from factory_twin.ui.qt_close import on_window_close
from factory_twin.ui.qt_pane_fit import PaneFit
from factory_twin.ui.qt_plan_dock import DocksAside
from factory_twin.ui.qt_train_join import TraineeSide
from factory_twin.ui.qt_train_workspace import PANE_FRACTIONS, PANE_MOST, QtTrainWorkspace
from factory_twin.ui.theme import remember_panes, remember_tab

PANES_KEY = "train/panes"  # the settings key of the pane widths the user dragged
SIDE_TAB_KEY = "train/side_tab"  # and of the side's tab shown last (Live, Author, Debrief)


def replay_drill(window: Any, path: str, marks: list[tuple[float, str, str]]) -> None:
    """Play a recorded drill in the Monitor workspace with ``marks`` on the time slider."""
    window.start_replay(path)
    window.monitor.replay_bar.set_markers(list(marks))
    window.tabs.setCurrentWidget(window.monitor)


def install_train(
    window: Any, record_dir: Path | None = None, history: TraineeHistory | None = None
) -> QtTrainWorkspace:
    """Add the Train workspace, its menu and the trainee's *Join drill…* to a main window."""
    ws = QtTrainWorkspace(window.controller, record_dir, history)
    ws.settings = getattr(window, "settings", None)
    if ws.settings is not None:
        ws.url_edit.setText(str(ws.settings.value("train/url", "")))
        ws.choose_drill(str(ws.settings.value("train/drill", "")))
    if not remember_panes(ws.splitter, ws.settings, PANES_KEY):
        # nothing remembered: the side panes take their shares of the width until dragged
        ws.pane_fit = PaneFit(ws.splitter, PANE_FRACTIONS, PANE_MOST)
    ws.author.remember_split(ws.settings, "train/author_split")
    remember_tab(ws.side, ws.settings, SIDE_TAB_KEY)
    window.add_workspace("Train", ws)
    window.train = ws
    trainee = TraineeSide(window)
    window.trainee = trainee

    def show_ws() -> None:
        window.tabs.setCurrentWidget(ws)

    ws.open_plant_requested.connect(window.open_dialog)
    aside = DocksAside(window, ws)
    window.tabs.currentChanged.connect(aside.on_tab)
    on_window_close(window, aside.on_close)
    ws.replay_requested.connect(lambda path, marks: replay_drill(window, path, marks))

    menu = window.menuBar().addMenu("T&rain")
    help_menu = next((a for a in window.menuBar().actions() if a.text() == "&Help"), None)
    if help_menu is not None:
        window.menuBar().insertMenu(help_menu, menu)

    def act(text: str, slot: Any, shortcut: str | None = None, tip: str = "") -> QAction:
        a = QAction(text, window)
        if shortcut:
            a.setShortcut(QKeySequence(shortcut))
        if tip:
            a.setStatusTip(tip)
        a.triggered.connect(lambda _=False, f=slot: f())
        return a

    window.train_action = act("&Train workspace", show_ws, "Ctrl+T", "run and author drills")
    window.join_drill_action = act(
        "&Join drill…",
        trainee.dialog,
        "Ctrl+Shift+T",
        "take a drill on a trainer's plant simulator with the Monitor and Maintain workspaces",
    )
    window.leave_drill_action = act("&Leave drill", trainee.leave)

    def start_chosen() -> None:
        show_ws()
        ws.start_drill()

    start = act("&Start the chosen drill", start_chosen)
    finish = act("&Finish the drill", ws.finish_drill)
    release_all = act(
        "&Release all trainee names…",
        ws.names.release_all_names,
        tip="free every name the drill holds (after a confirmation)",
    )
    window.release_all_names_action = release_all
    for a in (window.train_action, start, finish, release_all):
        menu.addAction(a)
    menu.addSeparator()
    menu.addAction(ws.undo_action)
    menu.addAction(ws.redo_action)
    menu.addSeparator()
    menu.addAction(window.join_drill_action)
    menu.addAction(trainee.debrief_action)
    menu.addAction(window.leave_drill_action)
    window.train_menu = menu
    file_menu = next((a.menu() for a in window.menuBar().actions() if a.text() == "&File"), None)
    if file_menu is not None:
        first_sep = next((a for a in file_menu.actions() if a.isSeparator()), None)
        file_menu.insertAction(first_sep, window.join_drill_action)
    # unsaved drill edits are asked about (Save / Discard / Cancel) before anything stops;
    # then the drill stops and the 3-D view is released
    on_window_close(window, ws.close_view, ask=lambda: ask_drill_edits(ws))
    guards = getattr(window, "unsaved_guards", None)
    if guards is not None:
        guards.append(lambda: ask_drill_edits(ws))
    return ws


def ask_drill_edits(ws: QtTrainWorkspace) -> bool:
    """Before another plant replaces this one or the window closes: Save / Discard / Cancel
    unsaved drill edits (True: go on)."""
    if not ws.author.has_unsaved_edits():
        return True
    from PySide6.QtWidgets import QMessageBox

    from factory_twin.ui.qt_maintain_workspace import ask_unsaved_edits

    n = ws.undo_stack.count() - max(ws.undo_stack.cleanIndex(), 0)
    answer = ask_unsaved_edits(
        ws.window(),
        f"There are {n} unsaved drill edit(s). Save them to the plant file?",
        "Unsaved drill edits",
    )
    B = QMessageBox.StandardButton
    if answer == B.Save:
        return ws.author.save() is not None
    if answer == B.Discard:
        st = ws.undo_stack
        if st.cleanIndex() >= 0:
            st.setIndex(st.cleanIndex())
        st.clear()
        return True
    return False
