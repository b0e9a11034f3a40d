"""The Plan workspace's experiment panel: choose, run in the background, list earlier results.

The planner ticks the scenarios (the base is always in), sets horizon, warm-up, replications
(a number, or "until the 95 % half-width is below x %" with a cap), seed and where to run
(local processes or a Dask scheduler) and presses *Run*. The choices are written as an
experiment file beside the plant (the same file runs headless with ``factory-twin
experiment``), the run goes to a worker thread (:class:`~factory_twin.app.experiment_job.ExperimentJob`)
and a timer reads its progress: one bar per scenario, the replications done, an ETA. *Cancel*
stops it; a cancelled run says so and opens nothing. The result folders beside the plant are
listed (newest first, incomplete ones marked), and the choices are remembered (QSettings).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSettings, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from factory_twin.app.experiment_job import (
    ExperimentChoices,
    ExperimentJob,
    ResultFolder,
    experiment_path,
    find_results,
    write_experiment,
)
from factory_twin.app.worker_job import CANCELLED, COMPLETE
from factory_twin.errors import FactoryTwinError

logger = logging.getLogger(__name__)

POLL_MS = 100
_KEY = "plan_experiment/"


def duration(s: float) -> str:
    """Seconds as ``1 h 02 min``, ``3 min 05 s`` or ``12 s`` (``…`` when not known yet).

    Examples
    --------
    >>> duration(65), duration(3725), duration(float("nan"))
    ('1 min 05 s', '1 h 02 min', '…')
    """
    if not math.isfinite(s):
        return "…"
    m, sec = divmod(round(s), 60)
    h, m = divmod(m, 60)
    if h:
        return f"{h} h {m:02d} min"
    return f"{m} min {sec:02d} s" if m else f"{sec} s"


class QtExperimentPanel(QWidget):
    """Experiment choices, background run with progress and cancel, earlier results.

    Signals
    -------
    result_ready(object)
        An :class:`~factory_twin.app.experiment_result.ExperimentResult`: a run completed.
    open_requested(object)
        A :class:`~factory_twin.app.experiment_job.ResultFolder` the planner chose to open.
    """

    result_ready = Signal(object)
    open_requested = Signal(object)
    state_changed = Signal(str)

    def __init__(self, settings: QSettings | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = (
            settings if settings is not None else QSettings("factory_twin", "factory_twin")
        )
        self.plant_path: Path | None = None
        self.job: ExperimentJob | None = None
        self.bars: list[QProgressBar] = []
        self._build()
        self._restore()
        self.timer = QTimer(self)
        self.timer.setInterval(POLL_MS)
        self.timer.timeout.connect(self.poll)

    # ------------------------------------------------------------------ building

    def _build(self) -> None:
        self.scenario_list = QListWidget()
        self.scenario_list.setObjectName("experiment_scenarios")
        self.scenario_list.setToolTip("the scenarios to run; the base plant is always run")
        self.scenario_list.setMaximumHeight(110)
        self.name_edit = QLineEdit("compare")
        self.name_edit.setToolTip(
            "the experiment's name: its file <plant>_<name>.experiment.yaml and its result "
            "folder <plant>_<name>.results go beside the plant"
        )
        self.horizon = QDoubleSpinBox(decimals=1, minimum=0.5, maximum=3650.0, value=60.0)
        self.horizon.setSuffix(" days")
        self.horizon.setToolTip("simulated days per replication")
        self.warmup_mode = QComboBox()
        self.warmup_mode.addItems(["automatic (MSER-5)", "fixed"])
        self.warmup_mode.setToolTip(
            "automatic: MSER-5 on the replications' average WIP (Welch); fixed: days deleted"
        )
        self.warmup_days = QDoubleSpinBox(decimals=1, minimum=0.0, maximum=3649.0, value=10.0)
        self.warmup_days.setSuffix(" days")
        self.rep_mode = QComboBox()
        self.rep_mode.addItems(["fixed number", "until half-width <"])
        self.rep_mode.setToolTip(
            "a fixed number of replications, or add them until every chosen KPI's 95 % CI "
            "half-width is below the share of its mean (throughput and mean cycle time)"
        )
        self.reps = QSpinBox(minimum=1, maximum=10_000, value=5)
        self.reps.setToolTip("replications (the minimum of a sequential run)")
        self.pct = QDoubleSpinBox(decimals=1, minimum=0.1, maximum=100.0, value=5.0)
        self.pct.setSuffix(" %")
        self.cap = QSpinBox(minimum=2, maximum=10_000, value=30)
        self.cap.setPrefix("at most ")
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.seed.setToolTip("seed of the common random numbers (same seed, same results)")
        self.executor = QComboBox()
        self.executor.addItems(["local processes", "Dask scheduler"])
        self.address = QLineEdit()
        self.address.setPlaceholderText("host:8786")
        self.address.setToolTip("the Dask scheduler (the result folder must be shared)")
        self.processes = QSpinBox(minimum=0, maximum=1024, value=0)
        self.processes.setSpecialValueText("one per core")
        self.processes.setToolTip("local worker processes")

        self._build_rest(self._form())

    def _form(self) -> QFormLayout:
        form = QFormLayout()
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.addRow("Name", self.name_edit)
        form.addRow("Horizon", self.horizon)
        form.addRow("Warm-up", _row(self.warmup_mode, self.warmup_days))
        form.addRow("Replications", _row(self.rep_mode, self.reps))
        form.addRow("", _row(self.pct, self.cap))
        form.addRow("Seed", self.seed)
        form.addRow("Run on", _row(self.executor, self.processes))
        form.addRow("", self.address)
        return form

    def _build_rest(self, form: QFormLayout) -> None:

        self.run_button = QPushButton("Run")
        self.run_button.setObjectName("experiment_run")
        self.run_button.setToolTip("run the ticked scenarios (stored ones are not run again)")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setObjectName("experiment_cancel")
        self.cancel_button.setToolTip("stop the run; finished scenarios are kept")
        self.cancel_button.setEnabled(False)
        self.run_button.clicked.connect(lambda: self.start())
        self.cancel_button.clicked.connect(lambda: self.cancel())
        self.status = QLabel("")
        self.status.setObjectName("experiment_status")
        self.status.setWordWrap(True)
        self.bars_box = QVBoxLayout()
        self.bars_box.setSpacing(2)

        setup = QGroupBox("Experiment")
        sl = QVBoxLayout(setup)
        sl.addWidget(QLabel("Scenarios (base first)"))
        sl.addWidget(self.scenario_list)
        sl.addLayout(form)
        sl.addWidget(_row(self.run_button, self.cancel_button))
        sl.addLayout(self.bars_box)
        sl.addWidget(self.status)

        self.results = QListWidget()
        self.results.setObjectName("experiment_results")
        self.results.setToolTip("result folders beside the plant; double-click opens one")
        self.results.itemDoubleClicked.connect(self._on_result_clicked)
        self.open_button = QPushButton("Open")
        self.open_button.setToolTip("open the selected result folder")
        self.open_button.clicked.connect(
            lambda: self._on_result_clicked(self.results.currentItem())
        )
        self.refresh_button = QPushButton("Refresh")
        self.refresh_button.clicked.connect(lambda: self.refresh_results())
        res = QGroupBox("Results beside the plant")
        rl = QVBoxLayout(res)
        rl.addWidget(self.results, 1)
        rl.addWidget(_row(self.open_button, self.refresh_button))

        lay = QVBoxLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.addWidget(setup)
        lay.addWidget(res, 1)
        for w in (self.warmup_mode, self.rep_mode, self.executor):
            w.currentIndexChanged.connect(lambda _i: self._update_enabled())
        self._update_enabled()

    def _update_enabled(self) -> None:
        idle = self.job is None or not self.job.running
        self.warmup_days.setEnabled(self.warmup_mode.currentIndex() == 1)
        seq = self.rep_mode.currentIndex() == 1
        self.pct.setEnabled(seq)
        self.cap.setEnabled(seq)
        dask = self.executor.currentIndex() == 1
        self.address.setEnabled(dask)
        self.processes.setEnabled(not dask)
        self.run_button.setEnabled(idle and self.plant_path is not None)
        self.cancel_button.setEnabled(not idle)

    # ------------------------------------------------------------------ settings

    def _restore(self) -> None:
        st = self.settings

        def get(key: str, default: Any, kind: type) -> Any:
            v = st.value(_KEY + key, default)
            try:
                return kind(v)
            except (TypeError, ValueError):
                return default

        self.name_edit.setText(str(get("name", "compare", str)))
        self.horizon.setValue(get("horizon_days", 60.0, float))
        self.warmup_mode.setCurrentIndex(get("warmup_mode", 0, int))
        self.warmup_days.setValue(get("warmup_days", 10.0, float))
        self.rep_mode.setCurrentIndex(get("rep_mode", 0, int))
        self.reps.setValue(get("replications", 5, int))
        self.pct.setValue(get("half_width_pct", 5.0, float))
        self.cap.setValue(get("max_replications", 30, int))
        self.seed.setValue(get("seed", 0, int))
        self.executor.setCurrentIndex(get("executor", 0, int))
        self.address.setText(str(get("address", "", str)))
        self.processes.setValue(get("processes", 0, int))

    def save_settings(self) -> None:
        """Remember the choices (QSettings)."""
        st = self.settings
        for key, value in {
            "name": self.name_edit.text(),
            "horizon_days": self.horizon.value(),
            "warmup_mode": self.warmup_mode.currentIndex(),
            "warmup_days": self.warmup_days.value(),
            "rep_mode": self.rep_mode.currentIndex(),
            "replications": self.reps.value(),
            "half_width_pct": self.pct.value(),
            "max_replications": self.cap.value(),
            "seed": self.seed.value(),
            "executor": self.executor.currentIndex(),
            "address": self.address.text(),
            "processes": self.processes.value(),
        }.items():
            st.setValue(_KEY + key, value)
        st.sync()

    # ------------------------------------------------------------------ the plant

    def set_scenarios(self, plant_path: str | Path, scenarios: list[tuple[str, Path]]) -> None:
        """Show a plant's scenarios (``(name, path)``, the base first) and its result folders.

        Scenarios ticked before stay ticked (by path); new ones come unticked.
        """
        was = {
            str(self.scenario_list.item(i).data(Qt.ItemDataRole.UserRole))
            for i in range(self.scenario_list.count())
            if self.scenario_list.item(i).checkState() == Qt.CheckState.Checked
        }
        self.plant_path = Path(plant_path)
        self.scenario_list.clear()
        for i, (name, path) in enumerate(scenarios):
            it = QListWidgetItem(f"{name} (base)" if i == 0 else name)
            it.setData(Qt.ItemDataRole.UserRole, str(path))
            it.setToolTip(str(path))
            if i == 0:
                it.setFlags(
                    it.flags() & ~Qt.ItemFlag.ItemIsUserCheckable & ~Qt.ItemFlag.ItemIsEnabled
                )
                it.setCheckState(Qt.CheckState.Checked)
            else:
                it.setFlags(it.flags() | Qt.ItemFlag.ItemIsUserCheckable)
                on = str(path) in was
                it.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)
            self.scenario_list.addItem(it)
        self.refresh_results()
        self._update_enabled()

    def tick(self, paths: list[Path]) -> None:
        """Tick exactly these scenarios (besides the base)."""
        want = {str(Path(p)) for p in paths}
        for i in range(1, self.scenario_list.count()):
            it = self.scenario_list.item(i)
            on = str(it.data(Qt.ItemDataRole.UserRole)) in want
            it.setCheckState(Qt.CheckState.Checked if on else Qt.CheckState.Unchecked)

    def chosen_paths(self) -> list[Path]:
        """The ticked scenarios, the base first."""
        return [
            Path(str(self.scenario_list.item(i).data(Qt.ItemDataRole.UserRole)))
            for i in range(self.scenario_list.count())
            if self.scenario_list.item(i).checkState() == Qt.CheckState.Checked
        ]

    def choices(self) -> ExperimentChoices:
        """What the fields say, as experiment choices."""
        dask = self.executor.currentIndex() == 1
        addr = self.address.text().strip()
        if dask and "://" not in addr:
            addr = f"dask://{addr}"
        return ExperimentChoices(
            scenarios=tuple(self.chosen_paths()),
            horizon_days=self.horizon.value(),
            warmup_days=None if self.warmup_mode.currentIndex() == 0 else self.warmup_days.value(),
            replications=self.reps.value(),
            half_width_pct=self.pct.value() if self.rep_mode.currentIndex() == 1 else None,
            max_replications=self.cap.value(),
            seed=self.seed.value(),
            executor=addr if dask else "local",
            processes=None if dask or self.processes.value() == 0 else self.processes.value(),
            name=self.name_edit.text().strip() or "compare",
        )

    def refresh_results(self) -> list[ResultFolder]:
        """List the result folders beside the plant."""
        self.results.clear()
        found = find_results(self.plant_path) if self.plant_path is not None else []
        for rf in found:
            when = rf.written.replace("T", " ")[:16] if rf.written else ""
            mark = "" if rf.status == "complete" else f" [{rf.status}]"
            it = QListWidgetItem(f"{rf.name}{mark}  {when}  ({len(rf.scenarios)} scenarios)")
            it.setData(Qt.ItemDataRole.UserRole, rf)
            it.setToolTip(f"{rf.path}\n" + "\n".join(rf.scenarios))
            if rf.status != "complete":
                it.setForeground(Qt.GlobalColor.gray)
            self.results.addItem(it)
        return found

    def _on_result_clicked(self, item: QListWidgetItem | None) -> None:
        if item is None:
            return
        rf = item.data(Qt.ItemDataRole.UserRole)
        if isinstance(rf, ResultFolder):
            if rf.status != "complete":
                self.status.setText(f"{rf.path.name} is incomplete (a cancelled or crashed run)")
                return
            self.open_requested.emit(rf)

    # ------------------------------------------------------------------ running

    def start(self, choices: ExperimentChoices | None = None) -> ExperimentJob | None:
        """Write the experiment file and start the run; None (and a message) if it cannot."""
        if self.plant_path is None or (self.job is not None and self.job.running):
            return None
        ch = choices if choices is not None else self.choices()
        self.save_settings()
        path = experiment_path(self.plant_path, ch.name)
        try:
            exp = write_experiment(ch, path)
            job = ExperimentJob(exp)
            job.start()
        except (FactoryTwinError, OSError) as exc:
            self.status.setText(f"Cannot run: {exc}")
            return None
        self.job = job
        self._make_bars(job)
        self.status.setText(f"running {path.name} …")
        self.timer.start()
        self._update_enabled()
        self.state_changed.emit(job.state)
        return job

    def _make_bars(self, job: ExperimentJob) -> None:
        for b in self.bars:
            self.bars_box.removeWidget(b)
            b.deleteLater()
        self.bars = []
        for sp in job.scenarios:
            b = QProgressBar()
            b.setObjectName(f"experiment_progress_{sp.name}")
            b.setRange(0, 1000)
            b.setTextVisible(True)
            self.bars_box.addWidget(b)
            self.bars.append(b)
        self._update_bars()

    def _update_bars(self) -> None:
        job = self.job
        if job is None:
            return
        reps = job.experiment.spec.replications
        for b, sp in zip(self.bars, job.scenarios, strict=True):
            b.setValue(round(1000 * sp.fraction))
            if sp.cached:
                b.setFormat(f"{sp.name}: stored, not run again")
            else:
                of = f"{sp.expected}" if isinstance(reps, int) else f"{sp.expected}, ≤{reps.max}"
                last = f", last: #{sp.last_replication}" if sp.last_replication >= 0 else ""
                b.setFormat(f"{sp.name}: {sp.done}/{of} replications{last}")

    def cancel(self) -> None:
        """Stop the run (it ends as cancelled; finished scenarios are kept)."""
        if self.job is not None and self.job.running:
            self.job.cancel()
            self.status.setText("cancelling …")
            self.cancel_button.setEnabled(False)

    def poll(self) -> None:
        """Read the worker's progress (the timer calls this 10 times a second)."""
        job = self.job
        if job is None:
            return
        job.poll()
        self._update_bars()
        if job.running:
            if job.total:
                el = duration(job.eta_s)
                self.status.setText(
                    f"{job.done}/{job.total} replications done, about {el} left"
                    if job.done
                    else f"running {job.total} replications …"
                )
            return
        self.timer.stop()
        wall = duration(job.finished - job.started)
        if job.state == COMPLETE:
            self.status.setText(f"complete in {wall}: {job.out_dir}")
        elif job.state == CANCELLED:
            self.status.setText(f"cancelled after {wall}: nothing new is shown as complete")
            for b, sp in zip(self.bars, job.scenarios, strict=True):
                if job.stored(sp):
                    b.setFormat(f"{sp.name}: complete, kept")
                else:
                    b.setFormat(f"{sp.name}: cancelled, {sp.done} replications thrown away")
        else:
            self.status.setText(f"failed: {job.error}")
        self._update_enabled()
        self.refresh_results()
        self.state_changed.emit(job.state)
        if job.state == COMPLETE and job.result is not None:
            self.result_ready.emit(job.result)

    def shutdown(self) -> None:
        """Cancel a running job and wait for it (the window closes)."""
        if self.job is not None and self.job.running:
            self.job.cancel()
            self.job.wait(30)
            self.job.poll()
        self.timer.stop()


def _row(*widgets: QWidget) -> QWidget:
    w = QWidget()
    lay = QHBoxLayout(w)
    lay.setContentsMargins(0, 0, 0, 0)
    for x in widgets:
        if isinstance(x, QComboBox):  # never narrower than its longest choice (no clipped text)
            x.setMinimumWidth(x.sizeHint().width())
        lay.addWidget(x, 1)
    return w
