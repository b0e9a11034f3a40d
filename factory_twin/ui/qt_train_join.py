"""The trainee's side of a drill: "Join drill…", the DRILL banner, drill-only sign-offs.

A trainee joins a drill server with :func:`join_drill` (the File and Train menus' *Join
drill…*): the app's :class:`~factory_twin.app.controller.Controller` joins it under the
trainee's name, the live-plant guard refusing anything but our simulator in drill mode
(the refusal is shown with its reason), and the ordinary Monitor and Maintain workspaces are
then connected to the drill's simulated plant. While in drill mode:

* a **DRILL — simulated plant** banner sits above every workspace (:class:`QtDrillBanner`);
* acknowledging, Hold and Resume go to the drill server under the trainee's name (the
  Controller routes them), and the Maintain workspace reports opened procedures and signed
  steps to the drill;
* sign-offs go into a **drill-only** maintenance log (:func:`drill_signoff_log`), never into
  the real maintenance log;
* the trainee's name is theirs for the drill: the drill server's Join returns a secret token
  for it, which the app keeps in its settings (:func:`saved_token`, :func:`save_token`, keyed by
  the drill server's endpoint URL and the name), so joining again, after a restart too, keeps
  the name, the score and the debrief; a name another trainee holds is refused with "the name
  'ann' is already taken in this drill: choose another name, or ask the trainer to release it";
* *Your debrief…* (the banner's button, the Train menu) opens :class:`QtOwnDebriefDialog`:
  the trainee's own debrief as the trainer's Debrief tab shows it (verdict, responses against
  their limits, timeline), fetched from the drill server with the trainee's own token
  (``GetDebrief``: no one else's debrief can be read) and refreshed as new figures arrive; it
  stays available after the trainee left the drill;
* a lost connection to the drill server is said under the banner in the theme's error colour
  (:class:`~factory_twin.ui.qt_drill_link.QtDrillLinkBar`: the server's address, why, when the
  next reconnect is tried) with a *Reconnect* button; the banner's actions that need the
  server are disabled, and so are the trainee's other drill actions (Acknowledge, Shelve,
  Hold, Resume, opening a procedure, safety acknowledgements, Start step, sign-offs: greyed
  out, their tooltip saying why) until it is back. The app reconnects by itself with back-off
  and joins again under the trainee's name with its token (a new token, if the trainer
  released the name meanwhile, is saved);
* if another trainee joined under the name meanwhile (the trainer released it), the server
  refuses that rejoin and no later one can succeed: the app stops reconnecting, the bar says
  the name is now taken by someone else, and its *Join under another name…* opens the Join
  drill dialog with the server and a new name filled in (:meth:`TraineeSide.join_again`).
"""

from __future__ import annotations

import html
import json
import logging
import tempfile
import time
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from factory_twin.app.drill_debrief import TraineeDebrief, own_debrief
from factory_twin.app.drill_link import another_name
from factory_twin.app.maintenance import MaintenanceLog
from factory_twin.errors import FactoryTwinError
from factory_twin.ui.qt_drill_link import QtDrillLinkBar
from factory_twin.ui.qt_train_debrief import (
    mmss,
    response_table,
    show_debrief,
    timeline_table,
    verdict_html,
)
from factory_twin.ui.theme import show_message

logger = logging.getLogger(__name__)

BANNER_TEXT = "DRILL — simulated plant"


def drill_signoff_log(name: str, folder: Path | None = None) -> MaintenanceLog:
    """The maintenance log that takes a trainee's sign-offs during one drill (never the real
    maintenance log): ``<folder>/<name>-<time>.jsonl``, by default in
    ``factory_twin-drills`` of the temp folder."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name) or "trainee"
    base = folder if folder is not None else Path(tempfile.gettempdir()) / "factory_twin-drills"
    return MaintenanceLog(base / f"{safe}-{time.strftime('%Y%m%d-%H%M%S')}.jsonl")


TOKENS_KEY = "drill/tokens"  # JSON {endpoint URL: {trainee name: token}}


def _tokens(settings: Any) -> dict[str, dict[str, str]]:
    try:
        data = json.loads(str(settings.value(TOKENS_KEY, "") or "{}"))
    except ValueError:
        return {}
    if not isinstance(data, dict):
        return {}
    return {str(u): {str(n): str(k) for n, k in v.items()} for u, v in data.items()
            if isinstance(v, dict)}  # fmt: skip


def saved_token(settings: Any, url: str, name: str) -> str:
    """The token the drill server at ``url`` gave trainee ``name`` ('' if none was saved)."""
    return _tokens(settings).get(url, {}).get(name, "")


def save_token(settings: Any, url: str, name: str, token: str) -> None:
    """Keep ``token`` for trainee ``name`` of the drill server at ``url`` in ``settings``."""
    data = _tokens(settings)
    if data.get(url, {}).get(name) == token or not token:
        return
    data.setdefault(url, {})[name] = token
    settings.setValue(TOKENS_KEY, json.dumps(data, sort_keys=True))
    settings.sync()


def own_score(scores_json: Any, name: str) -> tuple[float, float, bool] | None:
    """(score, maximum, passed) of trainee ``name`` from the drill's ``ScoresJson``."""
    try:
        v = json.loads(scores_json or "{}").get(name)
    except (ValueError, AttributeError):
        return None
    if not isinstance(v, dict):
        return None
    return float(v.get("score", 0)), float(v.get("max", 0)), bool(v.get("passed"))


def _swap_log(player: Any, log: MaintenanceLog) -> None:
    """Give the procedure player another log; a procedure open is reopened on it, so a run
    begun before (or in) the drill never takes sign-offs of the other side."""
    player.log = log
    player.session = None
    if player.spec is not None and player.tool and player.procedure is not None:
        player.open(player.spec, player.tool, player.procedure.id)


class QtDrillBanner(QFrame):
    """A red banner above every workspace while the app takes part in a drill."""

    def __init__(self, controller: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.controller = controller
        self.setObjectName("drill_banner")
        self.setStyleSheet(
            "#drill_banner { background: #8b1a1a; } "
            "#drill_banner QLabel { color: #ffffff; font-weight: bold; }"
        )
        row = QHBoxLayout(self)
        row.setContentsMargins(10, 3, 6, 3)
        self.label = QLabel(BANNER_TEXT)
        self.label.setObjectName("drill_banner_label")
        self.maintenance_button = QPushButton("Call maintenance")
        self.maintenance_button.setToolTip("call maintenance to the selected tool")
        self.lot_button = QPushButton("Prioritise lot…")
        self.debrief_button = QPushButton("Your debrief…")
        self.debrief_button.setToolTip("your responses, timeline and points so far")
        self.leave_button = QPushButton("Leave drill")
        row.addWidget(self.label, 1)
        row.addWidget(self.maintenance_button)
        row.addWidget(self.lot_button)
        row.addWidget(self.debrief_button)
        row.addWidget(self.leave_button)
        self.hide()
        self.timer = QTimer(self)
        self.timer.setInterval(300)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()

    def refresh(self) -> None:
        """Show the banner exactly while the controller is in drill mode."""
        c = self.controller
        if not c.drill_mode:
            self.hide()
            return
        session = c.drill
        drill = session.client.value("Name") or session.client.value("DrillId") or ""
        clock = session.client.value("Clock")
        state = session.client.value("State") or ""
        parts = [BANNER_TEXT]
        if drill:
            parts.append(str(drill))
        parts.append(f"trainee {session.joined_as}")
        if clock is not None:
            parts.append(f"drill clock {mmss(float(clock))}" + (f" ({state})" if state else ""))
        mine = own_score(session.client.value("ScoresJson"), session.joined_as)
        if mine is not None:
            score, top, passed = mine
            verdict = ("PASS" if passed else "FAIL") if state == "finished" else "so far"
            parts.append(f"your score {score:g} of {top:g} ({verdict})")
        self.label.setText("  ·  ".join(parts))
        self.show()


class QtJoinDrillDialog(QDialog):
    """Asks the drill server's address and the trainee's name (``note``: why it is asked
    again, said in the theme's error colour)."""

    def __init__(
        self, url: str = "", name: str = "", parent: QWidget | None = None, note: str = ""
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Join drill")
        form = QFormLayout(self)
        self.url_edit = QLineEdit(url or "opc.tcp://127.0.0.1:4840/factory_twin/")
        self.url_edit.setMinimumWidth(360)
        self.name_edit = QLineEdit(name)
        self.name_edit.setPlaceholderText("your name: your score is kept under it")
        intro = QLabel(
            "Take a drill on the plant simulator of your trainer. Only a factory_twin "
            "plant simulator in drill mode is accepted: never a live plant."
        )
        intro.setWordWrap(True)  # else the one long line makes the dialog 800 pixels wide
        form.addRow(intro)
        self.note = QLabel()
        self.note.setObjectName("join_drill_note")
        self.note.setWordWrap(True)
        if note:
            show_message(self.note, note, error=True)
            form.addRow(self.note)
        form.addRow("Drill server:", self.url_edit)
        form.addRow("Your name:", self.name_edit)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Join")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        form.addRow(buttons)

    def values(self) -> tuple[str, str]:
        """The URL and name typed."""
        return self.url_edit.text().strip(), self.name_edit.text().strip()


NO_DEBRIEF = (
    "No debrief yet: it appears once you have joined a drill and the drill server has scored you."
)


class QtOwnDebriefDialog(QDialog):
    """The trainee's own debrief: the verdict, responses and timeline of the trainer's
    Debrief tab (:mod:`factory_twin.ui.qt_train_debrief`) for this trainee only."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Your debrief")
        self.heading = QLabel()
        self.heading.setObjectName("own_debrief_heading")
        self.heading.setWordWrap(True)
        self.verdict = QLabel(NO_DEBRIEF)
        self.verdict.setObjectName("own_debrief_verdict")
        self.verdict.setWordWrap(True)
        self.responses = response_table()
        self.timeline = timeline_table()
        split = QSplitter(Qt.Orientation.Vertical)
        split.addWidget(self.responses)
        split.addWidget(self.timeline)
        split.setSizes([180, 300])
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(self.heading)
        lay.addWidget(self.verdict)
        lay.addWidget(split, 1)
        lay.addWidget(buttons)
        self.resize(900, 620)
        self.debrief: TraineeDebrief | None = None

    def set_debrief(self, debrief: TraineeDebrief | None, heading: str, *, final: bool) -> None:
        """Show ``debrief`` (None: say there is none yet) under ``heading``; ``final``: the
        drill has finished (PASS/FAIL, else the figures so far)."""
        self.heading.setText(heading)
        self.verdict.setText(
            NO_DEBRIEF if debrief is None else verdict_html(debrief.score, final=final)
        )
        if debrief != self.debrief:  # new figures (else the tables keep their scroll position)
            self.debrief = debrief
            show_debrief(self.responses, self.timeline, debrief)


class TraineeSide:
    """Wires the trainee's drill mode into a main window (see the module doc)."""

    def __init__(self, window: Any) -> None:
        self.window = window
        self.controller = window.controller
        self.banner = QtDrillBanner(self.controller)
        self.link_bar = QtDrillLinkBar()
        central = window.centralWidget()
        central.layout().insertWidget(0, self.banner)
        central.layout().insertWidget(1, self.link_bar)
        self.link_bar.reconnect_button.clicked.connect(lambda: self.reconnect())
        self.link_bar.rejoin_button.clicked.connect(lambda: self.join_again())
        self.join_dialog: QtJoinDrillDialog | None = None  # the last "join again" dialog
        self._lost = False  # the drill link was shown lost
        self.banner.leave_button.clicked.connect(self.leave)
        self.banner.maintenance_button.clicked.connect(lambda: self.call_maintenance())
        self.banner.lot_button.clicked.connect(self._on_lot_clicked)
        self.banner.debrief_button.clicked.connect(self.show_debrief)
        self.banner.timer.timeout.connect(self._drain)
        self.banner.timer.timeout.connect(self._show_link)
        self.debrief_action = QAction("Your &debrief…", window)
        self.debrief_action.setStatusTip("your own debrief of the drill you take (or took)")
        self.debrief_action.setEnabled(False)
        self.debrief_action.triggered.connect(lambda _=False: self.show_debrief())
        self.debrief: TraineeDebrief | None = None  # the last one read: kept after leaving
        self.debrief_final = False
        self.debrief_dialog: QtOwnDebriefDialog | None = None
        self._debrief_text: Any = None
        self._debrief_heading = ""
        self.last_refusal = ""
        self.last_error = ""
        self._saved_settings: Any = None
        self._real_log: MaintenanceLog | None = None
        self.signoff_dir: Path | None = None  # where drill sign-offs go (None: temp folder)
        maintain = getattr(window, "maintain", None)
        if maintain is not None:
            maintain.procedure_opened.connect(self._on_procedure_opened)
            maintain.player.signed.connect(self._on_step_signed)

    def dialog(self) -> None:
        """Ask the server and name, then join."""
        st = self.window.settings
        dlg = QtJoinDrillDialog(
            str(st.value("drill/url", "")), str(st.value("drill/name", "")), self.window
        )
        if dlg.exec():
            self._join_from(dlg)

    def _join_from(self, dlg: QtJoinDrillDialog) -> None:
        """Join with the server and name typed in ``dlg`` (kept for the next dialog)."""
        url, name = dlg.values()
        st = self.window.settings
        st.setValue("drill/url", url)
        st.setValue("drill/name", name)
        self.join(url, name)

    def join_again(self) -> QtJoinDrillDialog | None:
        """Once the trainee's name is another trainee's (the app stopped reconnecting, the
        bar's *Join under another name…*): open the Join drill dialog with the server and a new
        name suggested; Join leaves the drill under the old name and joins under the new one.
        None (nothing opened) unless the name was taken."""
        c = self.controller
        link = c.drill_link()
        if link is None or not link.taken_name:
            return None
        if self.join_dialog is not None and self.join_dialog.isVisible():
            self.join_dialog.raise_()  # clicked again: the one open
            return self.join_dialog
        client = c.drill.client
        held = [*(client.value("TakenNames") or ()), *(client.value("Trainees") or ())]
        dlg = QtJoinDrillDialog(
            link.url,
            another_name(link.taken_name, held),
            self.window,
            note=f"Your name {link.taken_name!r} is now taken by someone else in this drill: "
            "join it again under another name.",
        )
        dlg.accepted.connect(lambda: self._join_again_from(dlg))
        self.join_dialog = dlg
        dlg.open()  # window-modal, without blocking: the drill's timers go on
        return dlg

    def _join_again_from(self, dlg: QtJoinDrillDialog) -> None:
        self.leave()  # the old name's session, its bar and greyed actions go first
        self._join_from(dlg)

    def join(self, url: str, name: str) -> None:
        """Join the drill at ``url`` as ``name`` (refusals are shown with their reason)."""
        w = self.window
        c = self.controller
        if c.doc is None:
            self._refused("open the drill's plant first (File > Open plant…)")
            return
        if not url or not name:
            self._refused("give the drill server's address and your name")
            return
        self.last_error = ""
        if self._saved_settings is None:
            self._saved_settings = c.settings
        fut = c.join_drill(url, name, saved_token(w.settings, url, name))
        w.statusBar().showMessage(f"joining the drill at {url}…", 5000)
        w.when_done(fut, lambda joined: self._joined(url, joined), self._join_failed)

    def _joined(self, url: str, name: str) -> None:
        c = self.controller
        w = self.window
        if c.drill is not None:  # the name is ours: keep its token for the next join
            save_token(w.settings, url, name, c.drill.client.token)
        w.connect_live(c.drill_settings(url))
        w.alarms.reacknowledge = True  # each trainee acknowledges for themself
        self.debrief, self.debrief_final, self._debrief_text = None, False, None
        maintain = getattr(w, "maintain", None)
        if maintain is not None:
            if self._real_log is None:  # joined again without leaving: the real log is kept
                self._real_log = maintain.player.log
            _swap_log(maintain.player, drill_signoff_log(name, self.signoff_dir))
        self.banner.refresh()
        w.statusBar().showMessage(f"joined the drill as {name}: {BANNER_TEXT}", 8000)

    def _show_link(self) -> None:
        """Say a lost connection to the drill server (and its recovery); the banner's
        actions that need the server are enabled only while it is up."""
        c = self.controller
        link = c.drill_link() if c.drill_mode else None
        lost = self.link_bar.show_link(link)
        for b in (self.banner.maintenance_button, self.banner.lot_button):
            b.setEnabled(not lost)
        if lost != self._lost:
            self._grey_drill_actions(lost)
        if self._lost and not lost and link is not None:
            session = c.drill  # joined again: the server may have given the name a new token
            save_token(self.window.settings, session.url, session.joined_as, session.client.token)
            self.window.statusBar().showMessage(
                f"reconnected to the drill server {link.url} as {session.joined_as}", 8000
            )
        self._lost = lost

    def _grey_drill_actions(self, lost: bool) -> None:
        """Grey out the trainee's other actions that go to the drill server (acknowledge,
        shelve, Hold, Resume, opening a procedure and its steps) while the link is ``lost``;
        enable them again (by their own rules) once it is back."""
        w = self.window
        panels = [w.alarms, w.detail]
        maintain = getattr(w, "maintain", None)
        if maintain is not None:  # opening a procedure, its player's steps
            panels.append(maintain)
        for panel in panels:
            panel.set_drill_link_lost(lost)

    def reconnect(self) -> bool:
        """Try to reconnect to the drill server at once (when the connection is lost)."""
        link = self.controller.drill_link()
        if link is None or link.up or not self.controller.reconnect_drill():
            return False
        self.window.statusBar().showMessage(f"reconnecting to the drill server {link.url}…", 5000)
        return True

    def _join_failed(self, exc: BaseException) -> None:
        self._saved_settings = None
        self._refused(str(exc))

    def _refused(self, why: str) -> None:
        self.last_error = why
        self.window._show_error("Cannot join the drill", FactoryTwinError(why))

    def leave(self) -> None:
        """Leave the drill (the server keeps the score); back to the plant's own settings."""
        c = self.controller
        c.leave_drill()
        self.window.alarms.reacknowledge = False
        self.window.disconnect_live()
        if self._saved_settings is not None:
            c.settings = self._saved_settings
            self._saved_settings = None
        maintain = getattr(self.window, "maintain", None)
        if maintain is not None and self._real_log is not None:
            _swap_log(maintain.player, self._real_log)
            self._real_log = None
        self.banner.refresh()
        self._show_link()  # out of the drill: no lost link, nothing greyed
        self._update_debrief()

    def _drain(self) -> None:
        """Take the drill's notices (so they never pile up) and say why the server refused
        one of this trainee's actions (an interlocked tool, say)."""
        c = self.controller
        if c.drill_mode:
            me = c.drill.joined_as
            for n in c.drill.drain():
                if n.kind == "refused" and n.trainee == me:
                    self.last_refusal = n.message
                    self.window.statusBar().showMessage(f"drill: {n.message}", 10000)
        self._update_debrief()

    # ------------------------------------------------------------------ own debrief

    def _update_debrief(self) -> None:
        """Take this trainee's debrief (fetched by the drill client with its token) when it
        changed, and refresh the debrief dialog if it is open."""
        c = self.controller
        if c.drill_mode:
            client = c.drill.client
            text = client.debrief_text
            state = str(client.value("State") or "")
            if text != self._debrief_text:
                self._debrief_text = text
                self.debrief = own_debrief(text)
            self.debrief_final = state == "finished"
            drill = client.value("Name") or client.value("DrillId") or "drill"
            clock = client.value("Clock")
            when = (
                "final: the drill has finished"
                if self.debrief_final
                else f"so far, at drill clock {mmss(float(clock or 0.0))}: "
                "responses still open are pending"
            )
            who = html.escape(c.drill.joined_as)
            self._debrief_heading = f"<b>{who}</b> · {html.escape(str(drill))} · {when}"
        self.debrief_action.setEnabled(c.drill_mode or self.debrief is not None)
        dlg = self.debrief_dialog
        if dlg is not None and dlg.isVisible():
            dlg.set_debrief(self.debrief, self._heading(), final=self.debrief_final)

    def _heading(self) -> str:
        if self.controller.drill_mode:
            return self._debrief_heading
        if self.debrief is None:
            return "You are not in a drill: join one with Join drill…"
        return f"{self._debrief_heading} (you left the drill)"

    def show_debrief(self) -> QtOwnDebriefDialog:
        """Open (or raise) the trainee's own debrief; it refreshes as new figures arrive."""
        if self.debrief_dialog is None:
            self.debrief_dialog = QtOwnDebriefDialog(self.window)
        dlg = self.debrief_dialog
        self._update_debrief()
        dlg.set_debrief(self.debrief, self._heading(), final=self.debrief_final)
        dlg.show()
        dlg.raise_()
        dlg.activateWindow()
        return dlg

    # ------------------------------------------------------------------ drill-only actions

    def call_maintenance(self, tool: str | None = None) -> bool:
        """Call maintenance to ``tool`` (default: the tool selected in the Monitor view)."""
        c = self.controller
        tool = tool or getattr(self.window.detail, "tool", None) or ""
        if not c.drill_mode:
            return False
        if not tool:
            self.window.statusBar().showMessage("select the tool to call maintenance to", 5000)
            return False
        return self._report(
            lambda: c.drill.call_maintenance(tool), f"maintenance called to {tool}"
        )

    def _on_lot_clicked(self) -> None:
        from PySide6.QtWidgets import QInputDialog

        lot, ok = QInputDialog.getText(self.window, "Prioritise lot", "Lot id:")
        if ok and lot.strip():
            self.prioritise_lot(lot.strip())

    def prioritise_lot(self, lot: str, priority: int = 100) -> bool:
        """Give ``lot`` a high priority in the drill's plant."""
        if not self.controller.drill_mode:
            return False
        drill = self.controller.drill
        return self._report(lambda: drill.prioritise_lot(lot, priority), f"lot {lot} prioritised")

    # ------------------------------------------------------------------ Maintain in a drill

    def _on_procedure_opened(self, tool: str, proc_id: str) -> None:
        if self.controller.drill_mode:
            drill = self.controller.drill
            self._report(lambda: drill.open_procedure(tool, proc_id), "open procedure")

    def _on_step_signed(self, k: int) -> None:
        maintain = self.window.maintain
        player = maintain.player
        if not self.controller.drill_mode or player.procedure is None or player.tool is None:
            return
        drill, tool, proc = self.controller.drill, player.tool, player.procedure.id
        self._report(lambda: drill.sign_off_step(tool, proc, k + 1), f"sign-off of step {k + 1}")

    def _report(self, start: Any, what: str) -> bool:
        """Send a drill action (``start()`` gives its future) and say how it went; an action
        refused at once (the connection lost, say) is said too: False."""
        try:
            fut = start()
        except FactoryTwinError as exc:
            self.window._show_error(f"Drill: {what} refused", exc)
            return False
        self.window.when_done(
            fut,
            lambda _r: self.window.statusBar().showMessage(f"drill: {what} recorded", 3000),
            lambda exc: self.window._show_error(f"Drill: {what} refused", exc),
        )
        return True
