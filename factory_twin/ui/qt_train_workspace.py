"""The Train workspace: the trainer runs a drill for a class, authors drills, debriefs.

Layout: on the left the drill set-up (the open plant, a drill, its briefing to read and edit,
start on loopback or connect to a drill server already running, pause / resume / speed /
finish; below them *Inject a fault now*, :mod:`factory_twin.ui.qt_train_inject`, held as
``inject_bar``); in the middle the 3-D view, where a click picks the tool an ad-hoc fault
is injected on (every fault kind); on the right the *Live* tab (the
trainee names the drill holds, the scores and the live timeline, see
:mod:`factory_twin.ui.qt_train_live`; the workspace holds it as ``live``), the *Author* tab
(:mod:`factory_twin.ui.qt_train_author`) and the *Debrief* tab
(:mod:`factory_twin.ui.qt_train_debrief`), filled when the drill finishes.

The drill logic is :class:`~factory_twin.app.drill_trainer.TrainerDesk` (no Qt); starting a
server (a warm-up of seconds) runs on a worker thread, the window stays live. When the start
fails because the drill's trainee token file is damaged, a question
(:attr:`QtTrainWorkspace.damaged_box`, naming the file and line) offers to start anew with
the kept names forgotten. A drill that started although its event log in the record folder
was damaged (set aside as ``<drill>.events.damaged``, a fresh log started) is said once, in
a warning that does not block the window (:attr:`QtTrainWorkspace.events_box`,
:mod:`factory_twin.ui.qt_train_damaged`).

The info line above the 3-D view says the next step (open a plant; choose a drill and start
it; how trainees join the drill running; see the Debrief). A lost connection to the drill
server is said there and in the Run box (naming the server's address, why, and when the next
reconnect is tried); the buttons that need the connection are disabled, *Reconnect* tries at
once, and the desk reconnects by itself with back-off
(:class:`~factory_twin.app.drill_link.LinkKeeper`). Once it is back, the info line says so,
following another computer's drill server with how many timeline entries that reconnect
caught up (they happened while the connection was lost; the Live tab marks them), once per
reconnect.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import html
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QUndoStack
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from factory_twin.app.drill_debrief import TraineeHistory
from factory_twin.app.drill_link import lost_text
from factory_twin.app.drill_trainer import (
    TRAINER_NAME,
    TokenFileError,
    TrainerDesk,
)
from factory_twin.errors import FactoryTwinError
from factory_twin.model import schema as s
from factory_twin.model.drills import drill_tools
from factory_twin.ui.qt_pane_fit import PaneFit
from factory_twin.ui.qt_scene_view import QtSceneView
from factory_twin.ui.qt_train_author import SIDE_PANE_PX, QtDrillAuthor
from factory_twin.ui.qt_train_damaged import damaged_events_box
from factory_twin.ui.qt_train_debrief import QtDebriefPanel, mmss
from factory_twin.ui.qt_train_inject import QtInjectBar
from factory_twin.ui.qt_train_live import CAUGHT_UP_MARK, QtTrainLive
from factory_twin.ui.qt_train_names import ask_restart, damaged_token_box
from factory_twin.ui.qt_undo import undo_actions
from factory_twin.ui.theme import (
    current_dark,
    show_message,
    text_colour,
    three_panes,
    vertical_scroll,
)

logger = logging.getLogger(__name__)

# the side panes' default shares of the window's width (ui.qt_pane_fit), at least PANE_LEAST
# and at most PANE_MOST pixels: the 3-D view gets over half of a 1280-pixel window
PANE_FRACTIONS = (0.17, 0.29)
PANE_LEAST = (216, 360)
PANE_MOST = (300, 520)


def narrow_fields(panel: QWidget) -> None:
    """Let the combo boxes and number fields of ``panel`` get narrow (a long drill name or a
    wide number range would set the pane's least width; they elide, the field scrolls)."""
    for box in panel.findChildren(QComboBox):
        box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        box.setMinimumContentsLength(8)
        box.setMinimumWidth(80)  # else its grey hint text would set the least width too
    for spin in panel.findChildren(QDoubleSpinBox):
        spin.setMinimumWidth(72)
    for form in panel.findChildren(QFormLayout):  # a field below its label when narrow
        form.setRowWrapPolicy(QFormLayout.RowWrapPolicy.WrapLongRows)


class QtTrainWorkspace(QWidget):
    """The trainer's workspace (see the module doc).

    Parameters
    ----------
    controller
        The application controller (the open plant; ``run_in_worker``).
    record_dir
        Where drills started here are recorded (Parquet history + drill log).
    history
        The trainee history (default: ``trainee_history.sqlite`` in the user data folder).
    """

    open_plant_requested = Signal()
    replay_requested = Signal(str, object)  # history file, marks

    def __init__(
        self,
        controller: Any,
        record_dir: Path | None = None,
        history: TraineeHistory | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.controller = controller
        self.record_dir = record_dir if record_dir is not None else _default_dir()
        self.history = history if history is not None else _default_history(self.record_dir)
        self.doc: Any = None
        self.desk: TrainerDesk | None = None
        self.picked_tool = ""
        self.message = ""
        self._pending: list[tuple[concurrent.futures.Future[Any], Callable[[Any], None], str]]
        self._pending = []
        self._debriefed = False
        self.starting = False
        self.damaged_box: QMessageBox | None = None  # asked when the token file is damaged
        self.restart_box: QMessageBox | None = None  # asked before a running drill is stopped
        self.events_box: QMessageBox | None = None  # the drill's event log was damaged
        self._start_speed: float | None = None  # the speed of the last start asked for
        self._lost_shown = False  # the info line says the connection is lost
        self.options: dict[str, Any] = {}  # extra DrillSimulator options (tests: no specs)
        self.settings: Any = None  # the window's QSettings (set by install_train)
        self.undo_stack = QUndoStack(self)

        self.view = QtSceneView()
        self.view.legend.hide()
        self.author = QtDrillAuthor(self.undo_stack)
        narrow_fields(self.author)  # its two forms fit side by side in a narrower pane
        self.debrief = QtDebriefPanel(self.history)
        self.side = QTabWidget()
        self.live = QtTrainLive(self)
        self.names = self.live.names  # the trainee names, at the top of the Live tab
        self.trainee_list = self.names.list
        self.release_button = self.names.release_button
        self.release_all_button = self.names.release_all_button
        self.scores_table = self.live.scores_table
        self.timeline_table = self.live.timeline_table
        self.side.addTab(self.live, "Live")
        self.side.addTab(self.author, "Author")
        self.side.addTab(self.debrief, "Debrief")

        center = QWidget()
        cl = QVBoxLayout(center)
        cl.setContentsMargins(0, 0, 0, 0)
        cl.setSpacing(2)
        self.info = QLabel(self.next_step())
        self.info.setObjectName("train_info")
        self.info.setWordWrap(True)
        cl.addWidget(self.info)
        cl.addWidget(self.view, 1)

        setup = vertical_scroll(self._build_setup())
        least = (PANE_LEAST[0], 320, PANE_LEAST[1])
        self.splitter = three_panes(
            self, (setup, center, self.side), (320, 700, SIDE_PANE_PX), least
        )
        self.pane_fit: PaneFit | None = None  # the default pane widths, none remembered

        self.undo_action, self.redo_action = undo_actions(self, self.undo_stack, "drill edit")

        self.view.tool_selected.connect(self.pick_tool)
        self.drill_box.currentTextChanged.connect(self._on_drill_chosen)
        self.author.changed.connect(self._on_drill_edited)
        self.author.test_run_requested.connect(lambda _d: self.start_drill())
        self.debrief.replay_requested.connect(self.replay_requested)
        controller.plant_changed.connect(self.set_document)
        if getattr(controller, "doc", None) is not None:
            self.set_document(controller.doc)

        self.timer = QTimer(self)
        self.timer.setInterval(250)
        self.timer.timeout.connect(self.tick)
        self.timer.start()
        self._update_buttons()

    # ------------------------------------------------------------------ building

    def _build_setup(self) -> QWidget:
        w = QWidget()
        col = QVBoxLayout(w)
        col.setContentsMargins(6, 6, 6, 6)
        plant = QHBoxLayout()
        self.plant_label = QLabel("no plant open")
        self.plant_label.setWordWrap(True)
        self.open_button = QPushButton("Open plant…")
        self.open_button.clicked.connect(self.open_plant_requested)
        plant.addWidget(self.plant_label, 1)
        plant.addWidget(self.open_button)
        col.addLayout(plant)
        self.drill_box = QComboBox()
        self.drill_box.setToolTip("the plant file's drills")
        self.drill_box.setPlaceholderText("none in this plant: see Author")
        col.addWidget(QLabel("Drill:"))
        col.addWidget(self.drill_box)
        brief_label = QLabel("Briefing (what the trainees are told):")
        brief_label.setWordWrap(True)
        col.addWidget(brief_label)
        self.briefing = QPlainTextEdit()
        self.briefing.setMinimumHeight(120)
        col.addWidget(self.briefing, 1)
        self.objectives = QLabel()
        self.objectives.setWordWrap(True)
        col.addWidget(self.objectives)
        self.apply_briefing_button = QPushButton("Apply briefing edit")
        self.apply_briefing_button.clicked.connect(self.apply_briefing)
        col.addWidget(self.apply_briefing_button)

        run = QGroupBox("Run")
        f = QFormLayout(run)
        self.speed_spin = QDoubleSpinBox()
        self.speed_spin.setRange(0.1, 3600)
        self.speed_spin.setValue(1.0)
        self.speed_spin.setSuffix(" x")
        self.speed_spin.setToolTip("plant seconds per wall second")
        f.addRow("Speed:", self.speed_spin)
        self.start_button = QPushButton("Start drill here")
        self.start_button.setToolTip("serve the drill on this computer (loopback, a free port)")
        self.start_button.clicked.connect(lambda: self.start_clicked())
        f.addRow(self.start_button)
        self.url_edit = QLineEdit()
        self.url_edit.setPlaceholderText("opc.tcp://host:port/factory_twin/")
        self.connect_button = QPushButton("Connect")
        self.connect_button.setToolTip("follow a drill server already running")
        self.connect_button.clicked.connect(lambda: self.connect_to(self.url_edit.text()))
        f.addRow("Server:", self.url_edit)
        f.addRow(self.connect_button)
        self.pause_button = QPushButton("Pause")
        self.pause_button.clicked.connect(self.toggle_pause)
        self.set_speed_button = QPushButton("Set speed")
        self.set_speed_button.clicked.connect(lambda: self.set_speed(self.speed_spin.value()))
        self.finish_button = QPushButton("Finish drill")
        self.finish_button.clicked.connect(self.finish_drill)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("stop following (and serving) the drill")
        self.stop_button.clicked.connect(self.stop_drill)
        self.reconnect_button = QPushButton("Reconnect")
        self.reconnect_button.setObjectName("reconnect_button")
        self.reconnect_button.setToolTip("the connection to the drill server is lost: try now")
        self.reconnect_button.clicked.connect(self.reconnect)
        self.reconnect_button.hide()  # offered while the connection is lost
        ctl = QGridLayout()
        ctl.addWidget(self.pause_button, 0, 0)
        ctl.addWidget(self.set_speed_button, 0, 1)
        ctl.addWidget(self.finish_button, 1, 0)
        ctl.addWidget(self.stop_button, 1, 1)
        ctl.addWidget(self.reconnect_button, 2, 0, 1, 2)
        f.addRow(ctl)
        self.state_label = QLabel("not running")
        self.state_label.setWordWrap(True)
        self.state_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        f.addRow(self.state_label)
        col.addWidget(run)
        self.inject_bar = QtInjectBar(self)
        col.addWidget(self.inject_bar)
        narrow_fields(w)
        return w

    # ------------------------------------------------------------------ plant and drill

    def set_document(self, doc: Any) -> None:
        """Show a plant (the controller opened one)."""
        if doc is not None and doc is self.doc:
            return
        if self.desk is not None:  # a drill of the plant being replaced
            self.stop_drill()
        self.doc = doc
        spec = doc.spec if doc is not None else None
        if spec is not None:
            self.view.set_plant(spec, None, dark=current_dark())
            self.view.legend.hide()
            name = doc.path.name if doc.path is not None else spec.site.name
            # a file name wraps after its underscores and dots rather than being cut off
            soft = "".join(c + "\u200b" if c in "_." else c for c in html.escape(name))
            self.plant_label.setText(f"Plant: <b>{soft}</b>")
            self.plant_label.setToolTip(str(doc.path) if doc.path is not None else name)
        else:
            self.plant_label.setText("no plant open")
        self.author.set_document(doc)
        self.debrief.spec = spec
        self.drill_box.blockSignals(True)
        self.drill_box.clear()
        if spec is not None:
            for d in spec.drills:
                self.drill_box.addItem(d.name, d.id)
        self.drill_box.blockSignals(False)
        # the drill chosen last time if the plant has it, else its first (with a placeholder
        # text set, a combo box selects nothing by itself)
        last = str(self.settings.value("train/drill", "")) if self.settings is not None else ""
        if not self.choose_drill(last) and self.drill_box.count():
            self.drill_box.setCurrentIndex(0)
        self._on_drill_chosen()
        self._say(self.next_step())

    @property
    def spec(self) -> s.PlantSpec | None:
        """The open plant."""
        return self.doc.spec if self.doc is not None else None

    def drill_id(self) -> str:
        """The drill chosen."""
        return str(self.drill_box.currentData() or "")

    def choose_drill(self, drill_id: str) -> bool:
        """Choose a drill by id."""
        i = self.drill_box.findData(drill_id)
        if i < 0:
            return False
        self.drill_box.setCurrentIndex(i)
        return True

    def drill(self) -> s.Drill | None:
        """The chosen drill as in the plant now."""
        spec = self.spec
        did = self.drill_id()
        return next((d for d in spec.drills if d.id == did), None) if spec else None

    def _on_drill_chosen(self, *_: Any) -> None:
        d = self.drill()
        self.author.show_drill(d.id if d is not None else "")
        if d is not None and self.settings is not None:
            self.settings.setValue("train/drill", d.id)
        self._show_briefing(d)
        if d is not None:
            self.speed_spin.setValue(d.speed)
        self._update_buttons()

    def _show_briefing(self, d: s.Drill | None) -> None:
        self.briefing.setPlainText(d.briefing or d.description if d is not None else "")
        objs = d.objectives if d is not None else []
        self.objectives.setText(
            "<b>Objectives</b><ul>" + "".join(f"<li>{html.escape(o)}</li>" for o in objs)
            + "</ul>" if objs else ""
        )  # fmt: skip

    def apply_briefing(self) -> bool:
        """Make the edited briefing the drill's (undoable; saved with the Author tab)."""
        return self.author.set_briefing(self.briefing.toPlainText())

    def _on_drill_edited(self, drill_id: str) -> None:
        if drill_id == self.drill_id():
            d = self.drill()
            if d is not None and self.briefing.toPlainText() != d.briefing:
                self._show_briefing(d)

    # ------------------------------------------------------------------ running

    def _after(
        self, fut: concurrent.futures.Future[Any], ok: Callable[[Any], None], what: str
    ) -> None:
        self._pending.append((fut, ok, what))

    def _say(self, text: str, error: bool = False) -> None:
        self.message = text
        show_message(self.info, f"<span>{html.escape(text)}</span>", error=error)

    def start_clicked(self) -> None:
        """*Start drill here*: while a drill is followed, ask first (starting
        stops it, and the trainees in it lose their connection)."""
        desk = self.desk
        if desk is None or not desk.following or self.spec is None or self.drill() is None:
            self.start_drill()
            return

        def answered(yes: bool) -> None:
            self.restart_box = None
            if yes:
                self.start_drill()

        self.restart_box = ask_restart(self, desk.url, self.drill_box.currentText(), answered)

    def start_drill(self, speed: float | None = None, *, forget_tokens: bool = False) -> bool:
        """Serve the chosen drill on loopback (on a worker thread) and follow it; with
        ``forget_tokens`` a damaged trainee token file is replaced by one with no names."""
        spec, d = self.spec, self.drill()
        if spec is None or d is None:
            self._say("open a plant and choose a drill first", True)
            return False
        if self.starting:
            return False
        self.stop_drill()
        desk = TrainerDesk(spec)
        self.desk = desk
        self.starting = True
        self._debriefed = False
        self.live.restart()
        sp = float(speed if speed is not None else self.speed_spin.value())
        self.record_dir.mkdir(parents=True, exist_ok=True)
        self._start_speed = sp
        fut = self.controller.run_in_worker(
            lambda: desk.start(
                d, speed=sp, record_dir=self.record_dir, forget_tokens=forget_tokens,
                **self.options,
            )
        )  # fmt: skip
        self._say(f"starting {d.name}: warming the plant up to its start…")
        self._after(fut, self._started, "start the drill")
        self._update_buttons()
        return True

    def _started(self, url: str) -> None:
        d = self.drill()
        tools = drill_tools(d) if d is not None else []
        if tools and self.view.scene is not None and self.spec is not None:
            with contextlib.suppress(KeyError):  # frame the bay where the drill happens
                self.view.fly_to_bay(self.spec.tool(tools[0]).bay)
        self.url_edit.setText(url)
        if self.settings is not None:
            self.settings.setValue("train/url", url)
        self._say(self.next_step())
        log = self.desk.event_log() if self.desk is not None else None
        if log is not None and log.damage is not None:  # set aside at this start: say it once
            if self.events_box is not None:
                self.events_box.deleteLater()
            self.events_box = damaged_events_box(self, log)

    def connect_to(self, url: str) -> bool:
        """Follow a drill server already running at ``url`` (the guard checks it)."""
        url = url.strip()
        if self.spec is None or not url:
            self._say("open the drill's plant and give the server's address", True)
            return False
        self.stop_drill()
        desk = TrainerDesk(self.spec)
        self.desk = desk
        self.starting = True
        self._debriefed = False
        fut = self.controller.run_in_worker(desk.connect, url)

        def ok(drill_id: str) -> None:
            self.choose_drill(drill_id)
            self._say(f"following drill {drill_id} at {url}: {self._how_to_join(url)}")

        self._after(fut, ok, "connect to the drill server")
        return True

    def stop_drill(self) -> None:
        """Stop following (and serving) the drill."""
        desk, self.desk = self.desk, None
        if desk is not None:
            desk.stop()
            self._say(self.next_step())
        self.starting = False
        self._lost_shown = False
        self._update_buttons()

    def reconnect(self) -> bool:
        """Try to reconnect to the drill server at once (when the connection is lost)."""
        desk = self.desk
        if desk is None or desk.running or not desk.reconnect_now():
            return False
        self._say(f"reconnecting to the drill server {desk.url} now…", True)
        return True

    # ------------------------------------------------------------------ what to do next

    @staticmethod
    def _how_to_join(url: str) -> str:
        return f"trainees join it with File > Join drill… at {url}"

    def next_step(self) -> str:
        """What the trainer does next, for the info line above the 3-D view."""
        desk = getattr(self, "desk", None)
        if desk is not None and desk.following:
            if desk.state == "finished":
                return "The drill finished: see its results in the Debrief tab."
            name = desk.drill.name if desk.drill is not None else "The drill"
            return f"{name} is running: {self._how_to_join(desk.url)}."
        if getattr(self, "doc", None) is None:
            return (
                "Open a plant (Open plant…), choose a drill and start it; trainees then join it."
            )
        if self.spec is not None and not self.spec.drills:
            return "This plant has no drills yet: write one in the Author tab, then start it."
        return (
            "Choose a drill and start it (Start drill here), or connect to a drill "
            "server; trainees then join it."
        )

    @staticmethod
    def caught_up_words(n: int) -> str:
        """What a reconnect that caught up ``n`` timeline entries brought, in words."""
        if not n:
            return "nothing happened in the drill while the connection was lost"
        entries = "1 timeline entry" if n == 1 else f"{n} timeline entries"
        return (
            f"{entries} that happened while the connection was lost caught up (marked "
            f"{CAUGHT_UP_MARK}, in italics, in the Live tab)"
        )

    def _show_link(self, desk: TrainerDesk) -> None:
        """Say a lost connection (and its recovery) on the info line and in the Run box;
        after :meth:`TrainerDesk.poll`, which takes what a reconnect caught up."""
        link = desk.link()
        if link is None:
            return
        caught = desk.take_caught_up()  # once per reconnect
        if caught is not None:
            words = self.caught_up_words(caught)
            self._say(f"Reconnected to the drill server {desk.url}: {words}. {self.next_step()}")
        if link.up:
            if self._lost_shown:
                self._lost_shown = False
                if caught is None:
                    self._say(f"Reconnected to the drill server. {self.next_step()}")
                self._update_buttons()
            return
        kept = " The drill keeps running on this computer." if desk.server is not None else ""
        self._say(lost_text(link) + kept, True)
        if not self._lost_shown:
            self._lost_shown = True
            self._update_buttons()

    def toggle_pause(self) -> None:
        """Pause a running drill, resume a paused one."""
        if self.desk is None:
            return
        if self.desk.state == "paused":
            self._after(self.desk.resume(), lambda _r: None, "resume")
        else:
            self._after(self.desk.pause(), lambda _r: None, "pause")

    def set_speed(self, speed: float) -> None:
        """Change the drill's speed."""
        if self.desk is not None:
            self._after(self.desk.set_speed(speed), lambda _r: None, "set the speed")

    def finish_drill(self) -> None:
        """End the drill now; the debrief follows."""
        if self.desk is not None:
            self._after(self.desk.finish(), lambda _r: None, "finish the drill")

    def _on_damaged_tokens(self, exc: TokenFileError) -> None:
        """The start failed on a damaged token file: ask whether to start anew."""
        where = f"{exc.path}:{exc.line}" if exc.line is not None else str(exc.path)
        self._say(f"the drill's trainee token file {where} is damaged: start anew?", True)
        speed = self._start_speed

        def answered(yes: bool) -> None:
            self.damaged_box = None
            if yes:
                if self.start_drill(speed, forget_tokens=True):
                    self._say(
                        f"starting anew with every trainee name free (the damaged {where} "
                        "is kept as .bak): warming the plant up…"
                    )
            else:
                self._say(
                    f"the drill was not started: its trainee token file {where} is damaged "
                    "(a copy is kept as .bak); repair or remove it, or start again and answer "
                    "Yes to forget the kept names",
                    True,
                )

        self.damaged_box = damaged_token_box(self, exc, answered)

    # ------------------------------------------------------------------ injecting

    def pick_tool(self, tool: str) -> None:
        """The tool clicked in the 3-D view: ad-hoc faults and authored ones go there."""
        self.picked_tool = tool
        self.author.set_tool(tool)
        self.inject_bar.set_tool(tool)
        self._update_buttons()

    # ------------------------------------------------------------------ the tick

    def tick(self) -> None:
        """Finish callbacks, follow the drill, refresh the tables (GUI timer)."""
        for item in list(self._pending):
            fut, ok, what = item
            if not fut.done():
                continue
            self._pending.remove(item)
            exc = fut.exception()
            if what in ("start the drill", "connect to the drill server"):
                self.starting = False
            if exc is not None:
                if what in ("start the drill", "connect to the drill server"):
                    self.desk = None
                if what == "start the drill" and isinstance(exc, TokenFileError):
                    self._on_damaged_tokens(exc)
                else:
                    self._say(f"cannot {what}: {exc}", True)
            else:
                ok(fut.result())
            self._update_buttons()
        desk = self.desk
        if desk is None or not desk.following:
            if desk is None and self.trainee_list.count():
                self.names.clear()
            return
        new = desk.poll()
        self._show_link(desk)
        for n in new:
            if n.kind == "refused" and n.trainee == TRAINER_NAME:
                self._say(n.message, True)  # the server's reason for refusing our call
        if desk.plant_state is not None and self.view.state is not desk.plant_state:
            self.view.set_state(desk.plant_state)
            self.view.refresh(states_dirty=True)
        elif desk.plant_events:
            self.view.refresh(states_dirty=True)
        self.refresh_live()
        if desk.state == "finished" and not self._debriefed:
            self._debriefed = True
            self.show_debrief()

    def refresh_live(self) -> None:
        """Redraw the Live tab (trainees, scores, timeline) and the Run box's state."""
        desk = self.desk
        if desk is None:
            return
        self.live.refresh()
        faults = ", ".join(desk.active_faults()) or "none"
        lost = ""
        if desk.following and not desk.running:
            lost = f'<b style="color:{text_colour("error")}">connection lost: reconnecting</b><br>'
        self.state_label.setText(
            f"{lost}<b>{html.escape(desk.state or '?')}</b> · drill clock {mmss(desk.clock_s)} · "
            f"speed {desk.speed:g}x · {html.escape(desk.url)}<br>active faults: "
            f"{html.escape(faults)}"
        )
        self.pause_button.setText("Resume" if desk.state == "paused" else "Pause")

    def show_debrief(self) -> None:
        """Fill the Debrief tab with the drill just finished (our own server)."""
        desk = self.desk
        if desk is None or self.spec is None:
            return
        log_path = desk.close_recording()
        log = desk.log()
        drill = desk.drill
        if log is None or drill is None:
            self._say("the drill finished; open its drill log in the Debrief tab for results")
            return
        self.debrief.set_run(log, drill, self.spec, log_path)
        self.side.setCurrentWidget(self.debrief)
        self._say(self.next_step())

    def _update_buttons(self) -> None:
        has_drill = self.drill() is not None
        running = self.desk is not None and self.desk.running
        lost = self.desk is not None and self.desk.following and not running
        self.reconnect_button.setVisible(lost)
        self.reconnect_button.setEnabled(lost)
        self.start_button.setEnabled(has_drill and not self.starting)
        for b in (self.pause_button, self.set_speed_button, self.finish_button,
                  self.inject_bar.inject_button):  # fmt: skip
            b.setEnabled(running)
        self.names.set_enabled(running)
        self.stop_button.setEnabled(self.desk is not None)

    # ------------------------------------------------------------------ closing

    def close_view(self) -> None:
        """Stop the drill and release the 3-D view (before the window closes)."""
        self.timer.stop()
        self.stop_drill()
        try:
            self.controller.plant_changed.disconnect(self.set_document)
        except (TypeError, ValueError, RuntimeError):
            logger.debug("plant_changed was not connected")
        self.view.close_view()


def _default_dir() -> Path:
    import platformdirs

    return Path(platformdirs.user_data_dir("factory_twin", appauthor=False)) / "drills"


def _default_history(record_dir: Path) -> TraineeHistory:
    try:
        record_dir.mkdir(parents=True, exist_ok=True)
        return TraineeHistory(record_dir / "trainee_history.sqlite")
    except (FactoryTwinError, OSError):
        logger.warning("trainee history unavailable; kept in memory", exc_info=True)
        return TraineeHistory()
