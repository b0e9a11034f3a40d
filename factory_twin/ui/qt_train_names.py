"""The Train workspace's trainee names (at the top of its *Live* tab).

:class:`QtTraineeNames` is the list at the top of the *Live* tab: the names the drill server
holds (:meth:`~factory_twin.app.drill_trainer.TrainerDesk.names`). A trainee who joined in
this run shows normally; a name kept from an earlier run of the drill (its token's hash in
``<record>/<drill>.tokens``, nobody joined under it since the start) shows in grey italic,
its tooltip saying so. *Release name…* (the selected name; also in the context menu of the
list and of the scores table, after a confirmation) and *Release all names…* (after a
confirmation naming them) free names: the server forgets their tokens, so the next Join
under a name takes it afresh (the scores stay in the drill log), and the names leave the list.

:func:`damaged_token_box` is the question asked when a drill cannot start because its token
file is damaged: start anew, forgetting the kept names (Yes), or not at all (No).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QVBoxLayout,
    QWidget,
)

from factory_twin.app.drill_trainer import NameLine, TokenFileError
from factory_twin.ui.theme import current_dark, plot_colour

KEPT_ROLE = "muted"  # the theme colour (plot_colour) of a name kept from an earlier run
LIST_ROWS = 6  # the names list grows up to this many rows, then scrolls


def kept_tip(name: str, token_path: Path | None) -> str:
    """The tooltip of a name kept from an earlier run."""
    where = f" in {token_path}" if token_path is not None else ""
    return (
        f"{name!r} is kept from an earlier run of this drill{where} and has not joined this "
        f"run yet: only the app that saved the name's token joins as {name!r}. Release the "
        "name to let anyone take it."
    )


class QtTraineeNames(QWidget):
    """The trainee names of the drill followed, with the actions that release them.

    Parameters
    ----------
    ws
        The Train workspace (its ``desk``, ``_say`` and ``_after``).
    """

    def __init__(self, ws: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self.release_all_box: QMessageBox | None = None
        self._shown: tuple[Any, ...] = ()
        col = QVBoxLayout(self)
        col.setContentsMargins(0, 0, 0, 0)
        col.setSpacing(2)
        self.label = QLabel("Trainees")
        self.label.setWordWrap(True)
        col.addWidget(self.label)
        self.list = QListWidget()
        self.list.setObjectName("trainee_names")
        self._fit_height()
        self.list.setToolTip("right-click a trainee to release their name")
        col.addWidget(self.list)
        row = QHBoxLayout()
        self.release_button = QPushButton("Release name…")
        self.release_button.setToolTip(
            "forget the selected trainee's name token, so they (or anyone) can join under "
            "the name afresh; the score stays in the drill log"
        )
        self.release_button.clicked.connect(lambda: self.release_name())
        self.release_all_button = QPushButton("Release all names…")
        self.release_all_button.setToolTip(
            "free every name the drill holds, joined or kept from an earlier run"
        )
        self.release_all_button.clicked.connect(lambda: self.release_all_names())
        row.addWidget(self.release_button)
        row.addWidget(self.release_all_button)
        row.addStretch(1)
        col.addLayout(row)
        self.menu_on(self.list)

    # ------------------------------------------------------------------ showing

    def show_names(self, lines: Sequence[NameLine], token_path: Path | None) -> None:
        """Show ``lines`` (joined ones normally, kept ones grey italic with a tooltip)."""
        key = (tuple(lines), token_path, current_dark())
        if key == self._shown:
            return
        self._shown = key
        current = self.list.currentItem()
        chosen = current.text() if current is not None else ""
        self.list.clear()
        for line in lines:
            item = QListWidgetItem(line.name)
            if line.joined:
                item.setToolTip(f"{line.name!r} joined this run of the drill")
            else:
                font = item.font()
                font.setItalic(True)
                item.setFont(font)
                item.setForeground(QColor(plot_colour(KEPT_ROLE)))
                item.setToolTip(kept_tip(line.name, token_path))
            self.list.addItem(item)
            if line.name == chosen:
                self.list.setCurrentItem(item)
        self._fit_height()
        joined = sum(1 for x in lines if x.joined)
        kept = len(lines) - joined
        words = f"Trainees: {joined} joined"
        if kept:
            words += f", {kept} kept from an earlier run (grey: not joined yet)"
        self.label.setText(words)

    def _fit_height(self) -> None:
        """As tall as the names, from 2 to :data:`LIST_ROWS` rows (then it scrolls)."""
        rows = min(max(self.list.count(), 2), LIST_ROWS)
        row_h = self.list.sizeHintForRow(0) if self.list.count() else -1
        if row_h <= 0:
            row_h = self.list.fontMetrics().height() + 2
        self.list.setFixedHeight(rows * row_h + 2 * self.list.frameWidth() + 4)

    def clear(self) -> None:
        """No drill followed: no names."""
        self.show_names([], None)
        self.label.setText("Trainees")

    def names(self) -> list[str]:
        """The names shown, in order."""
        return [self.list.item(i).text() for i in range(self.list.count())]

    def set_enabled(self, running: bool) -> None:
        """Enable the release actions while a drill runs."""
        self.release_button.setEnabled(running)
        self.release_all_button.setEnabled(running)

    # ------------------------------------------------------------------ menus

    def menu_on(self, view: QListWidget | QTableWidget) -> None:
        """Give ``view`` (the list, the scores table) the *Release name* context menu."""
        view.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        view.customContextMenuRequested.connect(lambda pos: self._on_menu_requested(view, pos))

    def _on_menu_requested(self, view: QListWidget | QTableWidget, pos: QPoint) -> None:
        menu = self.names_menu(view, pos)
        if menu is not None:
            menu.exec(view.viewport().mapToGlobal(pos))

    def names_menu(self, view: QListWidget | QTableWidget, pos: QPoint) -> QMenu | None:
        """The context menu of the trainees list or the scores table at ``pos`` (None off a
        trainee): *Release name 'ann'…*, *Release all names…*."""
        if isinstance(view, QListWidget):
            item = view.itemAt(pos)
            name = item.text() if item is not None else ""
        else:
            row = view.rowAt(pos.y())
            it = view.item(row, 0) if row >= 0 else None
            name = it.text() if it is not None else ""
        if not name:
            return None
        running = self.ws.desk is not None and self.ws.desk.running
        menu = QMenu(view)
        act = menu.addAction(f"Release name {name!r}…")
        act.setEnabled(running)
        act.triggered.connect(lambda _=False: self.release_name(name))
        every = menu.addAction("Release all names…")
        every.setEnabled(running)
        every.triggered.connect(lambda _=False: self.release_all_names())
        return menu

    # ------------------------------------------------------------------ releasing

    def release_name(self, trainee: str | None = None, *, confirm: bool = True) -> bool:
        """Release ``trainee``'s name (default: the one selected), after a Yes to a
        confirmation box: the drill server forgets its token, so the next Join under it
        starts afresh; the score stays in the drill log."""
        ws, desk = self.ws, self.ws.desk
        if trainee is None:
            item = self.list.currentItem()
            trainee = item.text() if item is not None else ""
        if desk is None or not desk.running:
            ws._say("no drill is running", True)
            return False
        if not trainee:
            ws._say("select the trainee whose name to release", True)
            return False
        if confirm:
            answer = QMessageBox.question(
                ws,
                "Release name",
                f"Release the name {trainee!r}?\n\nWhoever joins next as {trainee!r} takes it "
                "over, with its score so far (the drill log keeps everything); the token the "
                "trainee holds now no longer reads their debrief.",
                QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
                QMessageBox.StandardButton.No,
            )
            if answer != QMessageBox.StandardButton.Yes:
                return False
        ws._after(
            desk.release_name(trainee),
            lambda _r: ws._say(f"released the name {trainee!r}: the next to join takes it"),
            f"release the name {trainee!r}",
        )
        return True

    def release_all_names(self, *, confirm: bool = True) -> bool:
        """Release every name shown, after a Yes to a confirmation box naming them (kept open
        as :attr:`release_all_box` until answered); True when asked (or, without
        ``confirm``, sent)."""
        ws, desk = self.ws, self.ws.desk
        if desk is None or not desk.running:
            ws._say("no drill is running", True)
            return False
        names = self.names()
        if not names:
            ws._say("no trainee name is held: nothing to release", True)
            return False
        if not confirm:
            self._release_all(names)
            return True
        box = yes_no_box(
            ws,
            QMessageBox.Icon.Question,
            "Release all names",
            f"Release all {len(names)} trainee names ({', '.join(names)})?",
            "The drill server forgets every name's token: whoever joins next under a name "
            "takes it over, with its score so far (the drill log keeps everything), and the "
            "tokens the trainees' apps saved no longer join or read a debrief.",
        )

        def answered(yes: bool) -> None:
            self.release_all_box = None
            if yes:
                self._release_all(names)

        self.release_all_box = ask_yes_no(box, answered)
        return True

    def _release_all(self, names: list[str]) -> None:
        ws, desk = self.ws, self.ws.desk
        if desk is None or not desk.running:
            ws._say("no drill is running", True)
            return

        def done(freed: list[str]) -> None:
            left = [n for n in names if n not in freed]
            text = f"released {len(freed)} name(s): {', '.join(freed) or 'none'}"
            if left:
                text += f"; not released (the server refused): {', '.join(left)}"
            ws._say(text, bool(left))

        ws._after(desk.release_names(names), done, "release the names")


def yes_no_box(
    parent: QWidget, icon: QMessageBox.Icon, title: str, text: str, informative: str
) -> QMessageBox:
    """A Yes/No question box (not yet shown: :func:`ask_yes_no` opens it)."""
    box = QMessageBox(
        icon, title, text, QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, parent
    )
    box.setInformativeText(informative)
    return box


def ask_yes_no(box: QMessageBox, answered: Callable[[bool], None]) -> QMessageBox:
    """Open ``box`` (Yes/No, No the default and Escape) window-modal at once and return it;
    ``answered(True)`` on Yes, else False, when it closes."""
    box.setDefaultButton(QMessageBox.StandardButton.No)
    box.setEscapeButton(QMessageBox.StandardButton.No)
    box.setWindowModality(Qt.WindowModality.WindowModal)

    def finished(_r: int) -> None:
        yes = box.clickedButton() is box.button(QMessageBox.StandardButton.Yes)
        box.deleteLater()
        answered(yes)

    box.finished.connect(finished)
    box.open()
    return box


def damaged_token_box(
    parent: QWidget, exc: TokenFileError, answered: Callable[[bool], None]
) -> QMessageBox:
    """Ask (window-modal, open at once) whether to start the drill anew forgetting the names
    kept in the damaged token file of ``exc``; ``answered(True)`` on Yes, else False."""
    path = Path(exc.path)
    where = f"line {exc.line} of {path}" if exc.line is not None else str(path)
    message = str(exc)
    problem = exc.problem or message
    backup = path.with_name(path.name + ".bak")
    kept = (
        f"The damaged file is kept as {backup}."
        if backup.exists()
        else "No copy of the damaged file could be kept."
    )
    box = yes_no_box(
        parent,
        QMessageBox.Icon.Warning,
        "Damaged trainee token file",
        f"The drill's trainee token file is damaged at {where}:\n{problem}",
        "The file keeps the names trainees took in earlier runs of this drill (hashes of "
        f"their tokens). {kept}\n\nStart the drill anew, forgetting the kept names? Every "
        "name is then free to the next Join, and the tokens the trainees' apps saved prove "
        "nothing. No: the drill does not start (repair or remove the file first).",
    )
    box.setDetailedText(message)
    return ask_yes_no(box, answered)


def ask_restart(
    parent: QWidget, url: str, drill: str, answered: Callable[[bool], None]
) -> QMessageBox:
    """Ask (window-modal, open at once) whether to stop the drill followed at ``url`` and
    start ``drill`` anew; ``answered(True)`` on Yes, else False (the default)."""
    box = yes_no_box(
        parent,
        QMessageBox.Icon.Question,
        "Start the drill anew?",
        f"A drill is running at {url}. Starting {drill} stops it: its trainees lose their "
        "connection and join the new one again.",
        "The running drill's scores and events stay in its drill log.",
    )
    return ask_yes_no(box, answered)
