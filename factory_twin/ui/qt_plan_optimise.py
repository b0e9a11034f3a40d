"""The Plan workspace's Optimise panel: define a study, run it in the background, pick a trial.

Left, the study: the base (the open plant, or the scenario open in the Plan workspace), a
table of its tool groups (tick *Vary* and set the tool-count bounds, pick the dispatch rules
to try), the objective(s), the throughput and utilisation constraints, trials, replications,
horizon and the final selection's replications. *Save* writes it as ``NAME.study.yaml``
beside the plant (checked first, written atomically: a bad choice never replaces the last
good file; the same file runs headless with ``factory-twin optimise``); *Open…* reads an
existing study into the form.

Right, the run: *Run* saves and starts the study on a worker thread
(:class:`~factory_twin.app.optimise_job.OptimiseJob`), a timer reads its progress into the
bar, the best-so-far line and the live plots (:mod:`~factory_twin.ui.qt_plan_optimise_plots`);
*Cancel* stops it, keeping the finished trials, and the next *Run* resumes from them. A
click on a point takes that trial into Plan: it is saved as an ordinary scenario beside the
plant (:func:`~factory_twin.app.optimise_take.take_trial`: a free name, never over another
file; in the study's folder if the plant's cannot be written, and the status line says so)
and :attr:`QtOptimisePanel.scenario_chosen` is emitted (the install lists, selects and opens
it in the Plan workspace, so the Compare dock offers it too). At the end the selection's
verdict (winner or tied list, with their confidence intervals) is shown, with *Open winner
in Plan* (taken into Plan the same way) and *Open report*. The choices are remembered
(QSettings).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, QUrl, Signal
from PySide6.QtGui import QAction, QDesktopServices
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from factory_twin.app.optimise import Planner, TrialRecord, describe_params
from factory_twin.app.optimise_job import (
    OBJECTIVES,
    RULES,
    GroupChoice,
    GroupRow,
    OptimiseJob,
    StudyChoices,
    choices_from_study,
    group_rows,
    objective_sign,
    stored_trials,
    study_path,
    write_study,
)
from factory_twin.app.optimise_lock import study_in_use
from factory_twin.app.optimise_take import take_trial, winner_trial
from factory_twin.app.worker_job import CANCELLED, COMPLETE
from factory_twin.errors import ConfigError, FactoryTwinError
from factory_twin.model.scenario import load_plant_or_scenario
from factory_twin.model.study import StudyFile, default_out_dir, load_study
from factory_twin.ui.qt_plan_optimise_plots import OptimisePlots
from factory_twin.ui.theme import show_message

logger = logging.getLogger(__name__)

POLL_MS = 100
_KEY = "plan_optimise/"
NONE = "(none)"
COL_GROUP, COL_TOOLS, COL_VARY, COL_MIN, COL_MAX, COL_RULES = range(6)


def _spin(lo: int, hi: int, value: int) -> QSpinBox:
    w = QSpinBox()
    w.setRange(lo, hi)
    w.setValue(value)
    return w


def _dspin(lo: float, hi: float, value: float, decimals: int = 1, suffix: str = "") -> QDoubleSpinBox:  # fmt: skip
    w = QDoubleSpinBox()
    w.setRange(lo, hi)
    w.setDecimals(decimals)
    w.setValue(value)
    w.setSuffix(suffix)
    return w


class _RulesButton(QToolButton):
    """A drop-down of checkable dispatch rules (none ticked: the rule is not varied)."""

    def __init__(self, current: str) -> None:
        super().__init__()
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.current = current
        menu = QMenu(self)
        self.actions_: dict[str, QAction] = {}
        for r in RULES:
            a = menu.addAction(r)
            a.setCheckable(True)
            a.toggled.connect(lambda _on: self._label())
            self.actions_[r] = a
        self.setMenu(menu)
        self._label()

    def chosen(self) -> tuple[str, ...]:
        return tuple(r for r, a in self.actions_.items() if a.isChecked())

    def set_chosen(self, rules: tuple[str, ...]) -> None:
        for r, a in self.actions_.items():
            a.setChecked(r in rules)
        self._label()

    def _label(self) -> None:
        got = self.chosen()
        self.setText(", ".join(got) if got else f"{self.current} (fixed)")


class QtOptimisePanel(QWidget):
    """The Optimise dock's contents (see the module notes)."""

    scenario_chosen = Signal(object)  # Path of a trial's (or the winner's) scenario file
    finished = Signal(str)  # the job's end state

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.base: Path | None = None
        self.rows: list[GroupRow] = []
        self.study: StudyFile | None = None
        self.job: OptimiseJob | None = None
        self.trials: dict[int, TrialRecord] = {}
        self.chosen_trial: int | None = None
        self.chosen_scenario: Path | None = None
        self._planner: Any = None
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)
        split = QSplitter(Qt.Orientation.Horizontal, self)
        split.addWidget(self._build_define())
        split.addWidget(self._build_run())
        split.setStretchFactor(0, 2)
        split.setStretchFactor(1, 5)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(split)
        self._restore()
        self._update_buttons()

    # ------------------------------------------------------------------ building

    def _build_define(self) -> QWidget:
        box = QGroupBox("Study")
        lay = QVBoxLayout(box)
        top = QHBoxLayout()
        self.name_edit = QLineEdit("study")
        self.name_edit.setToolTip("the study's name: saved as NAME.study.yaml beside the plant")
        self.open_button = QPushButton("Open…")
        self.open_button.setToolTip("read an existing NAME.study.yaml into the form")
        self.open_button.clicked.connect(self.open_dialog)
        self.save_button = QPushButton("Save")
        self.save_button.setToolTip("write the study beside the plant (factory-twin optimise runs it)")  # fmt: skip
        self.save_button.clicked.connect(lambda: self.save())
        top.addWidget(QLabel("Name"))
        top.addWidget(self.name_edit, 1)
        top.addWidget(self.open_button)
        top.addWidget(self.save_button)
        lay.addLayout(top)
        self.base_label = QLabel("no plant open")
        self.base_label.setWordWrap(True)
        lay.addWidget(self.base_label)
        self.table = QTableWidget(0, 6)
        self.table.setHorizontalHeaderLabels(["Group", "Tools", "Vary", "Min", "Max", "Dispatch rules"])  # fmt: skip
        self.table.verticalHeader().setVisible(False)
        hh = self.table.horizontalHeader()
        for c in range(5):
            hh.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        hh.setSectionResizeMode(COL_RULES, QHeaderView.ResizeMode.Stretch)
        lay.addWidget(self.table, 1)
        form = QFormLayout()
        self.objective1 = QComboBox()
        self.objective1.addItems(OBJECTIVES)
        self.objective2 = QComboBox()
        self.objective2.addItems([NONE, *OBJECTIVES])
        self.objective2.setCurrentText("cycle_time_mean_h")
        objs = QHBoxLayout()
        objs.addWidget(self.objective1)
        objs.addWidget(self.objective2)
        form.addRow("Objectives", objs)
        cons = QHBoxLayout()
        self.throughput_on = QCheckBox("throughput ≥")
        self.throughput_on.setChecked(True)
        self.throughput_share = _dspin(50, 150, 98, 1, " % of release")
        self.util_on = QCheckBox("utilisation ≤")
        self.util_on.setChecked(True)
        self.util_max = _dspin(10, 100, 90, 0, " %")
        for cw in (self.throughput_on, self.throughput_share, self.util_on, self.util_max):
            cons.addWidget(cw)
        form.addRow("Constraints", cons)
        budget = QHBoxLayout()
        self.trials_spin = _spin(1, 10000, 30)
        self.reps_spin = _spin(1, 1000, 3)
        self.sel_reps_spin = _spin(2, 10000, 6)
        self.top_k_spin = _spin(1, 50, 4)
        for label, w in (("trials", self.trials_spin), ("replications", self.reps_spin)):
            budget.addWidget(w)
            budget.addWidget(QLabel(label))
        form.addRow("Budget", budget)
        sim = QHBoxLayout()
        self.horizon_spin = _dspin(1, 3650, 60, 1, " d")
        self.warmup_spin = _dspin(0, 3000, 10, 1, " d warm-up")
        self.seed_spin = _spin(0, 2**31 - 1, 0)
        sim.addWidget(self.horizon_spin)
        sim.addWidget(self.warmup_spin)
        sim.addWidget(QLabel("seed"))
        sim.addWidget(self.seed_spin)
        form.addRow("Horizon", sim)
        sel = QHBoxLayout()
        sel.addWidget(QLabel("top"))
        sel.addWidget(self.top_k_spin)
        sel.addWidget(QLabel("with"))
        sel.addWidget(self.sel_reps_spin)
        sel.addWidget(QLabel("replications"))
        form.addRow("Final selection", sel)
        lay.addLayout(form)
        return box

    def _build_run(self) -> QWidget:
        box = QWidget()
        lay = QVBoxLayout(box)
        lay.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.run_button = QPushButton("Run")
        self.run_button.setToolTip("save the study and run it (resumes from kept trials)")
        self.run_button.clicked.connect(lambda: self.start())
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("stop the study; finished trials are kept for the next run")  # fmt: skip
        self.cancel_button.clicked.connect(self.cancel)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setFormat("%p %")
        row.addWidget(self.run_button)
        row.addWidget(self.cancel_button)
        row.addWidget(self.bar, 1)
        lay.addLayout(row)
        self.status = QLabel("Define a study and press Run.")
        self.status.setWordWrap(True)
        self.best_label = QLabel("")
        self.best_label.setWordWrap(True)
        lay.addWidget(self.status)
        lay.addWidget(self.best_label)
        mid = QSplitter(Qt.Orientation.Horizontal)
        self.plots = OptimisePlots()
        self.plots.trial_clicked.connect(self.choose_trial)
        mid.addWidget(self.plots)
        right = QWidget()
        rl = QVBoxLayout(right)
        rl.setContentsMargins(0, 0, 0, 0)
        self.trial_label = QLabel("Click a point to see its configuration on the floor.")
        self.trial_label.setWordWrap(True)
        self.result = QPlainTextEdit()
        self.result.setReadOnly(True)
        self.result.setPlaceholderText("The final selection's verdict appears here.")
        buttons = QHBoxLayout()
        self.winner_button = QPushButton("Open winner in Plan")
        self.winner_button.setToolTip("open the selected configuration as a scenario in the Plan workspace")  # fmt: skip
        self.winner_button.clicked.connect(self.open_winner)
        self.report_button = QPushButton("Open report")
        self.report_button.setToolTip("the comparison of the finalists and the base, with CIs")
        self.report_button.clicked.connect(self.open_report)
        buttons.addWidget(self.winner_button)
        buttons.addWidget(self.report_button)
        rl.addWidget(self.trial_label)
        rl.addWidget(self.result, 1)
        rl.addLayout(buttons)
        mid.addWidget(right)
        mid.setStretchFactor(0, 3)
        mid.setStretchFactor(1, 2)
        lay.addWidget(mid, 1)
        return box

    # ------------------------------------------------------------------ the base and the form

    def set_base(self, path: str | Path) -> bool:
        """Define studies on the plant or scenario ``path`` (fills the group table)."""
        p = Path(path)
        if self.base is not None and self.base == p and self.rows:
            return True
        try:
            loaded = load_plant_or_scenario(p)
        except ConfigError as exc:
            self._say(f"The base does not load: {'; '.join(exc.issues[:3])}", error=True)
            return False
        self.base = p
        self.rows = group_rows(loaded.spec)
        self.base_label.setText(f"Base: {p.name} ({len(self.rows)} tool groups)")
        self._fill_table()
        self.study = None
        self._show_stored()
        return True

    def _fill_table(self) -> None:
        self.table.setRowCount(len(self.rows))
        for i, r in enumerate(self.rows):
            item = QTableWidgetItem(r.group)
            item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
            if not r.priced:
                item.setToolTip("its equipment type has no cost figures")
            self.table.setItem(i, COL_GROUP, item)
            n = QTableWidgetItem(str(r.tools))
            n.setFlags(n.flags() & ~Qt.ItemFlag.ItemIsEditable)
            self.table.setItem(i, COL_TOOLS, n)
            vary = QTableWidgetItem()
            vary.setFlags(Qt.ItemFlag.ItemIsUserCheckable | Qt.ItemFlag.ItemIsEnabled)
            vary.setCheckState(Qt.CheckState.Unchecked)
            self.table.setItem(i, COL_VARY, vary)
            self.table.setCellWidget(i, COL_MIN, _spin(1, 64, max(1, r.tools - 1)))
            self.table.setCellWidget(i, COL_MAX, _spin(1, 64, r.tools + 1))
            self.table.setCellWidget(i, COL_RULES, _RulesButton(r.rule))

    def _row(self, group: str) -> int:
        return next((i for i, r in enumerate(self.rows) if r.group == group), -1)

    def set_group(self, group: str, lo: int | None, hi: int | None, rules: tuple[str, ...] = ()) -> None:  # fmt: skip
        """Vary ``group``'s tool count in ``lo..hi`` (None: not) and try ``rules``."""
        i = self._row(group)
        if i < 0:
            raise KeyError(group)
        vary = self.table.item(i, COL_VARY)
        assert vary is not None
        vary.setCheckState(Qt.CheckState.Checked if lo is not None else Qt.CheckState.Unchecked)
        if lo is not None and hi is not None:
            self._cell(i, COL_MIN).setValue(lo)
            self._cell(i, COL_MAX).setValue(hi)
        self._cell(i, COL_RULES).set_chosen(rules)

    def _cell(self, i: int, col: int) -> Any:
        return self.table.cellWidget(i, col)

    def choices(self) -> StudyChoices:
        """The study the form describes."""
        if self.base is None:
            msg = "no plant is open: open one to define a study on it"
            raise FactoryTwinError(msg)
        groups = []
        for i, r in enumerate(self.rows):
            item = self.table.item(i, COL_VARY)
            vary = item is not None and item.checkState() == Qt.CheckState.Checked
            rules = self._cell(i, COL_RULES).chosen()
            if vary or rules:
                lo = self._cell(i, COL_MIN).value() if vary else None
                hi = self._cell(i, COL_MAX).value() if vary else None
                groups.append(GroupChoice(r.group, lo, hi, rules))
        objectives = [self.objective1.currentText()]
        second = self.objective2.currentText()
        if second != NONE and second not in objectives:
            objectives.append(second)
        kept = choices_from_study(self.study).extra_variables if self.study is not None else ()
        return StudyChoices(
            base=self.base, groups=tuple(groups), objectives=tuple(objectives),
            name=self.name_edit.text().strip() or "study",
            min_throughput_share=self.throughput_share.value() / 100 if self.throughput_on.isChecked() else None,
            max_utilisation=self.util_max.value() / 100 if self.util_on.isChecked() else None,
            horizon_days=self.horizon_spin.value(), warmup_days=self.warmup_spin.value(),
            replications=self.reps_spin.value(), trials=self.trials_spin.value(),
            top_k=self.top_k_spin.value(), selection_replications=self.sel_reps_spin.value(),
            seed=self.seed_spin.value(), extra_variables=kept,
        )  # fmt: skip

    def set_choices(self, c: StudyChoices) -> None:
        """Fill the form with ``c`` (its base must be the panel's base)."""
        self.name_edit.setText(c.name)
        for r in self.rows:
            self.set_group(r.group, None, None, ())
        for g in c.groups:
            if self._row(g.group) >= 0:
                self.set_group(g.group, g.min, g.max, g.rules)
        self.objective1.setCurrentText(c.objectives[0])
        self.objective2.setCurrentText(c.objectives[1] if len(c.objectives) > 1 else NONE)
        self.throughput_on.setChecked(c.min_throughput_share is not None)
        if c.min_throughput_share is not None:
            self.throughput_share.setValue(c.min_throughput_share * 100)
        self.util_on.setChecked(c.max_utilisation is not None)
        if c.max_utilisation is not None:
            self.util_max.setValue(c.max_utilisation * 100)
        self.horizon_spin.setValue(c.horizon_days)
        self.warmup_spin.setValue(c.warmup_days)
        self.reps_spin.setValue(c.replications)
        self.trials_spin.setValue(c.trials)
        self.top_k_spin.setValue(c.top_k)
        self.sel_reps_spin.setValue(c.selection_replications)
        self.seed_spin.setValue(c.seed)

    # ------------------------------------------------------------------ files

    def study_file(self) -> Path | None:
        """Where *Save* writes the study (beside the base)."""
        if self.base is None:
            return None
        return study_path(self.base, self.name_edit.text().strip() or "study")

    def save(self) -> StudyFile | None:
        """Write the study beside the plant; None (and the reason shown) if it is not valid."""
        try:
            c = self.choices()
            target = self.study_file()
            assert target is not None
            self.study = write_study(c, target)
        except ConfigError as exc:
            self._say("The study is not valid:\n" + "\n".join(exc.issues[:6]), error=True)
            return None
        except (FactoryTwinError, OSError) as exc:
            self._say(f"The study was not saved: {exc}", error=True)
            return None
        self._remember()
        self._say(f"Saved {self.study.path.name} (run it headless: factory-twin optimise {self.study.path.name})")  # fmt: skip
        return self.study

    def open_dialog(self) -> None:
        """Ask for a study file and open it."""
        start = str(self.base.parent) if self.base is not None else ""
        path, _ = QFileDialog.getOpenFileName(self, "Open study", start, "Studies (*.study.yaml *.study.yml)")  # fmt: skip
        if path:
            self.open_study(Path(path))

    def open_study(self, path: str | Path) -> StudyFile | None:
        """Read a study file into the form (its base becomes the panel's); None if it fails."""
        try:
            sf = load_study(path)
        except ConfigError as exc:
            self._say("The study does not open:\n" + "\n".join(exc.issues[:6]), error=True)
            return None
        except OSError as exc:
            self._say(f"The study does not open: {exc}", error=True)
            return None
        if not self.set_base(sf.base.path):
            return None
        self.set_choices(choices_from_study(sf))
        self.study = sf
        note = self._show_stored()
        self._say(f"Opened {Path(path).name}{note}")
        return sf

    def _show_stored(self) -> str:
        """Show the trials an earlier (or cancelled, or running) run of the study kept;
        return what the status line adds about trials still running ('' if none)."""
        self.trials = {}
        self._planner = None
        self.plots.set_objectives(self._labels(), self._signs())
        sf = self.study
        if sf is None:
            self._update_buttons()
            return ""
        out = sf.default_out_dir()
        recs = stored_trials(sf, out)  # read-only: a run using the folder goes on undisturbed
        self._set_trials(recs)
        done = sum(r.state in ("complete", "pruned") for r in recs)
        if done:
            self.run_button.setText(f"Resume ({done} trials kept)")
        self._update_buttons()
        running = sum(r.state == "running" for r in recs)
        if not running:
            return ""
        trials = "1 trial" if running == 1 else f"{running} trials"
        if study_in_use(out):
            return f"; {trials} running: another optimise run is using {out}"
        return f"; {trials} left running by a run that stopped: Run proposes them anew"

    def _labels(self) -> tuple[str, ...]:
        if self.study is not None:
            return tuple(o.kpi for o in self.study.spec.objectives)
        second = self.objective2.currentText()
        first = self.objective1.currentText()
        return (first,) if second in (NONE, first) else (first, second)

    def _signs(self) -> tuple[int, ...]:
        return tuple(objective_sign(k) for k in self._labels())

    def _set_trials(self, recs: list[TrialRecord]) -> None:
        self.trials = {r.number: r for r in recs}
        pts = [(r.number, tuple(r.values), r.feasible) for r in recs if r.state == "complete" and r.values]  # fmt: skip
        self.plots.set_points(pts)

    # ------------------------------------------------------------------ running

    def start(self) -> OptimiseJob | None:
        """Save the study and run (or resume) it on a worker thread."""
        if self.job is not None and self.job.running:
            return self.job
        target = self.study_file()
        if target is not None and study_in_use(default_out_dir(target)):
            # checked before Save rewrites the study file that run may have been given
            self._say(
                f"another optimise run is using {default_out_dir(target)}: wait for it to "
                "end, or give the study another name",
                error=True,
            )
            return None
        sf = self.save()
        if sf is None:
            return None
        self.plots.set_objectives(self._labels(), self._signs())
        self.result.clear()
        self.chosen_trial = None
        self.job = OptimiseJob(sf)
        self.job.start()
        self.timer.start()
        self.bar.setValue(0)
        self._say(f"Running {sf.name}…")
        self._update_buttons()
        return self.job

    def cancel(self) -> None:
        """Stop the running study (its finished trials are kept)."""
        if self.job is not None and self.job.running:
            self.job.cancel()
            self._say("Cancelling…")

    def poll(self) -> None:
        """Read the job's progress into the bar, the labels and the plots (GUI timer)."""
        job = self.job
        if job is None:
            self.timer.stop()
            return
        got = job.poll()
        if got:
            p = got[-1]
            frac = p.done / p.total if p.total else 0.0
            if p.phase == "search":
                self.bar.setValue(round(900 * min(1.0, frac)))
                self._say(
                    f"Searching: {p.done} of {p.total} trials ({p.pruned} pruned, "
                    f"{p.running} running), {p.elapsed_s:.0f} s"
                )
            else:
                self.bar.setValue(900 + round(100 * min(1.0, frac)))
                self._say(f"Final selection: {p.done} of {p.total} candidates re-simulated")
            self.best_label.setText(f"Best so far: {p.best}" if p.best else "Best so far: no feasible trial yet")  # fmt: skip
            self.plots.set_points(p.points)
        if not job.running:
            self.timer.stop()
            self._finish(job)

    def _finish(self, job: OptimiseJob) -> None:
        recs = stored_trials(job.study, job.out_dir or job.study.default_out_dir())
        self._set_trials(recs)
        done = sum(r.state in ("complete", "pruned") for r in recs)
        if job.state == COMPLETE and job.outcome is not None:
            self.bar.setValue(1000)
            self.run_button.setText("Run")
            self._say(f"Complete: {done} trials in {job.elapsed_s:.0f} s")
            self.result.setPlainText(self._verdict(job))
        elif job.state == CANCELLED:
            self.run_button.setText(f"Resume ({done} trials kept)")
            self._say(f"Cancelled: {done} finished trials kept; Run resumes from them.")
        else:
            self.run_button.setText("Run")
            self._say(f"Failed: {job.error}", error=True)
        self._update_buttons()
        self.finished.emit(job.state)

    def _verdict(self, job: OptimiseJob) -> str:
        out = job.outcome
        sel = out.selection if out is not None else None
        if sel is None:
            return "The study ran without a final selection."
        report = sel.files.get("report")
        if report is not None and Path(report).is_file():
            try:
                return Path(report).read_text(encoding="utf-8")
            except OSError:
                pass
        return str(sel.message)

    def winner_file(self) -> Path | None:
        """The winner's scenario of the finished study, or None (no run, or a tie)."""
        out = self.job.outcome if self.job is not None else None
        sel = out.selection if out is not None else None
        if sel is None:
            return None
        f = sel.files.get("winner")
        return Path(f) if f is not None else None

    def report_file(self) -> Path | None:
        """The finished study's report, or None."""
        out = self.job.outcome if self.job is not None else None
        sel = out.selection if out is not None else None
        f = sel.files.get("report") if sel is not None else None
        return Path(f) if f is not None else None

    def open_winner(self) -> Path | None:
        """Take the winner into Plan (see :meth:`choose_trial`); its scenario file, or None."""
        rec = winner_trial(self.job.outcome if self.job is not None else None)
        path = self._take(rec, "The winner", winner=True) if rec is not None else None
        if path is not None:
            self.chosen_scenario = path
            self.scenario_chosen.emit(path)
        return path

    def open_report(self) -> None:
        """Open the report in the desktop's viewer."""
        f = self.report_file()
        if f is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(f)))

    # ------------------------------------------------------------------ choosing a trial

    def choose_trial(self, number: int) -> Path | None:
        """Take trial ``number`` into Plan and emit :attr:`scenario_chosen` with its file.

        It is saved as an ordinary scenario beside the plant (Plan's list and the Compare
        dock show it), or in the study's folder when the plant's folder cannot be written;
        the status line says where.
        """
        rec = self.trials.get(number)
        if rec is None and self.job is not None and self.study is not None:
            self._set_trials(stored_trials(self.study, self.job.out_dir or self.study.default_out_dir()))  # fmt: skip
            rec = self.trials.get(number)
        if rec is None:
            self._say(f"Trial {number} is not in the study's storage yet.", error=True)
            return None
        path = self._take(rec, f"Trial {number}")
        if path is None:
            return None
        self.chosen_trial, self.chosen_scenario = number, path
        self.plots.mark(number)
        values = ", ".join(
            f"{k} {v:.4g}" for k, v in zip(self._labels(), rec.values or [], strict=False)
        )
        ok = "feasible" if rec.feasible else "infeasible"
        self.trial_label.setText(f"Trial {number} ({ok}): {describe_params(rec.params)}; {values}")
        self.scenario_chosen.emit(path)
        return path

    def _take(self, rec: TrialRecord, what: str, *, winner: bool = False) -> Path | None:
        """Save ``rec``'s scenario (:func:`take_trial`) and say where; None if it failed."""
        sf = self.job.study if self.job is not None else self.study
        if sf is None:
            return None
        out = self.job.out_dir if self.job is not None and self.job.out_dir else sf.default_out_dir()  # fmt: skip
        try:
            if self._planner is None:
                self._planner = Planner(sf)
            taken = take_trial(sf, out, rec, self._planner, winner=winner)
        except (ConfigError, FactoryTwinError, OSError) as exc:
            issues = exc.issues if isinstance(exc, ConfigError) else [str(exc)]
            self._say(f"{what} was not taken into Plan: {'; '.join(issues[:3])}", error=True)
            return None
        self._say(taken.message(what), error=not taken.beside_plant)
        return taken.path

    # ------------------------------------------------------------------ state

    def _say(self, text: str, *, error: bool = False) -> None:
        show_message(self.status, text, error=error)

    def _update_buttons(self) -> None:
        running = self.job is not None and self.job.running
        self.run_button.setEnabled(not running and self.base is not None)
        self.cancel_button.setEnabled(running)
        self.save_button.setEnabled(not running and self.base is not None)
        self.open_button.setEnabled(not running)
        self.table.setEnabled(not running)
        self.winner_button.setEnabled(not running and self.winner_file() is not None)
        self.report_button.setEnabled(not running and self.report_file() is not None)

    def _remember(self) -> None:
        st = self.settings
        if st is None:
            return
        for key, w in self._persisted().items():
            if isinstance(w, QComboBox):
                st.setValue(_KEY + key, w.currentText())
            elif isinstance(w, QCheckBox):
                st.setValue(_KEY + key, w.isChecked())
            elif isinstance(w, QLineEdit):
                st.setValue(_KEY + key, w.text())
            else:
                st.setValue(_KEY + key, w.value())

    def _restore(self) -> None:
        st = self.settings
        if st is None:
            return
        for key, w in self._persisted().items():
            v = st.value(_KEY + key)
            if v is None:
                continue
            try:
                if isinstance(w, QComboBox):
                    w.setCurrentText(str(v))
                elif isinstance(w, QCheckBox):
                    w.setChecked(str(v).lower() in ("true", "1"))
                elif isinstance(w, QLineEdit):
                    w.setText(str(v))
                elif isinstance(w, QSpinBox):
                    w.setValue(int(float(v)))
                else:
                    f = float(v)
                    if math.isfinite(f):
                        w.setValue(f)
            except (TypeError, ValueError):
                logger.debug("ignoring the stored %s: %r", key, v)

    def _persisted(self) -> dict[str, Any]:
        return {
            "name": self.name_edit, "objective1": self.objective1, "objective2": self.objective2,
            "throughput_on": self.throughput_on, "throughput_share": self.throughput_share,
            "util_on": self.util_on, "util_max": self.util_max, "trials": self.trials_spin,
            "replications": self.reps_spin, "selection_replications": self.sel_reps_spin,
            "top_k": self.top_k_spin, "horizon_days": self.horizon_spin,
            "warmup_days": self.warmup_spin, "seed": self.seed_spin,
        }  # fmt: skip

    def shutdown(self) -> None:
        """Cancel a running study and wait for it (the window closes)."""
        self.timer.stop()
        if self.job is not None and self.job.running:
            self.job.cancel()
            self.job.wait(30)
            self.job.poll()
