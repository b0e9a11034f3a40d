"""An experiment run in a worker thread, for a window that must stay live (no Qt).

The Plan workspace writes what the planner chose as an ordinary experiment file beside the
plant (:func:`write_experiment`), so the very same file runs headless with
``factory-twin experiment`` and gives the same result folder. :class:`ExperimentJob` runs
:func:`factory_twin.app.experiment.run` on a thread of its own; its progress goes into a
queue that the GUI thread drains on its timer (:meth:`ExperimentJob.poll`), and
:meth:`ExperimentJob.cancel` stops it (the thread plumbing is
:class:`~factory_twin.app.worker_job.WorkerJob`'s). A job ends ``complete`` (with its result),
``cancelled`` or ``failed`` (with the message); only ``complete`` carries a result.

:func:`find_results` lists the result folders beside a plant, so reopening the plant shows
the earlier experiments.
"""

from __future__ import annotations

import json
import math
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from factory_twin.app.experiment import (
    ExperimentCancelled,
    ExperimentFile,
    ExperimentResult,
    load_experiment,
    load_result,
    plan,
    run,
)
from factory_twin.app.experiment_spec import experiment_stem
from factory_twin.app.worker_job import COMPLETE, WorkerJob
from factory_twin.model.config import atomic_write_text


@dataclass(frozen=True)
class ExperimentChoices:
    """What a planner chose for an experiment (the fields of an experiment file).

    Attributes
    ----------
    scenarios
        Plant or scenario files, the base first.
    horizon_days
        Simulated days per replication.
    warmup_days
        A fixed warm-up in days, or None for automatic (MSER-5).
    replications
        The fixed number of replications, or the minimum of a sequential run.
    half_width_pct
        None for a fixed number; else add replications until every chosen KPI's 95 % CI
        half-width is below this share of its mean ...
    max_replications
        ... but no more than this many.
    kpis
        The KPIs of the sequential rule.
    seed
        The seed of the common random numbers.
    executor
        ``local`` or ``dask://host:port``.
    processes
        Local worker processes (None: one per core).
    """

    scenarios: tuple[Path, ...]
    horizon_days: float = 60.0
    warmup_days: float | None = None
    replications: int = 5
    half_width_pct: float | None = None
    max_replications: int = 30
    kpis: tuple[str, ...] = ("throughput_lots_per_day", "cycle_time_mean_h")
    seed: int = 0
    executor: str = "local"
    processes: int | None = None
    name: str = ""

    def data(self, folder: Path) -> dict[str, Any]:
        """The experiment file's data, scenario paths relative to ``folder``."""
        rel = []
        for p in self.scenarios:
            try:
                rel.append(str(Path(p).resolve().relative_to(folder.resolve())))
            except ValueError:
                rel.append(str(Path(p).resolve()))
        reps: int | dict[str, Any] = self.replications
        if self.half_width_pct is not None:
            reps = {
                "until_half_width_pct": self.half_width_pct,
                "kpis": list(self.kpis),
                "min": max(2, self.replications),
                "max": max(self.max_replications, self.replications, 2),
            }
        out: dict[str, Any] = {
            "name": self.name,
            "scenarios": rel,
            "horizon_days": self.horizon_days,
            "warmup": "auto" if self.warmup_days is None else self.warmup_days,
            "replications": reps,
            "seed": self.seed,
            "executor": self.executor,
        }
        if self.processes is not None:
            out["processes"] = self.processes
        return out


def slug(text: str) -> str:
    """A file-name-safe form of a name (letters, digits, ``_`` and ``-``)."""
    s = re.sub(r"[^A-Za-z0-9_-]+", "_", text.strip()).strip("_")
    return s or "experiment"


def experiment_path(plant_path: str | Path, name: str) -> Path:
    """Where the workspace keeps the experiment ``name`` of a plant: beside the plant."""
    plant = Path(plant_path)
    return plant.parent / f"{plant.stem}_{slug(name)}.experiment.yaml"


def write_experiment(choices: ExperimentChoices, path: str | Path) -> ExperimentFile:
    """Write ``choices`` as an experiment file (atomically) and read it back.

    Raises
    ------
    ConfigError
        If the choices do not make a valid experiment (``file:line: field: message``).
    """
    import io

    from ruamel.yaml import YAML

    target = Path(path)
    buf = io.StringIO()
    buf.write(
        "# Written by the Plan workspace; run it headless with\n"
        f"#   factory-twin experiment {target.name}\n"
    )
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.dump(choices.data(target.parent), buf)
    atomic_write_text(target, buf.getvalue())
    return load_experiment(target)


@dataclass(frozen=True)
class Progress:
    """One progress report of a running job (see :data:`~...experiment.ProgressCallback`)."""

    scenario: str
    replication: int
    done: int
    total: int
    eta_s: float


@dataclass
class ScenarioProgress:
    """How far one scenario of a job is."""

    name: str
    cached: bool
    key: str = ""
    done: int = 0
    expected: int = 0
    last_replication: int = -1

    @property
    def fraction(self) -> float:
        """Share done (1.0 for a stored scenario)."""
        if self.cached:
            return 1.0
        return min(1.0, self.done / self.expected) if self.expected else 0.0


@dataclass
class ExperimentJob(WorkerJob[Progress, ExperimentResult]):
    """An experiment running on a worker thread (see the module notes and :class:`WorkerJob`).

    Parameters
    ----------
    experiment
        The experiment (read with :func:`load_experiment` or :func:`write_experiment`).
    out_dir
        The result folder (default ``<stem>.results`` beside the experiment file).
    """

    thread_name: ClassVar[str] = "experiment"
    cancelled_error: ClassVar[type[Exception]] = ExperimentCancelled
    cancelled_message: ClassVar[str] = "cancelled: complete scenarios are kept"

    experiment: ExperimentFile
    out_dir: Path | None = None
    result: ExperimentResult | None = None
    scenarios: list[ScenarioProgress] = field(default_factory=list)
    done: int = 0
    total: int = 0
    eta_s: float = math.nan

    def start(self) -> None:
        """Plan (which scenarios are stored), then run the rest on a worker thread.

        Raises
        ------
        ConfigError
            A scenario that does not load (nothing is started).
        """
        super().start()

    def _prepare(self) -> None:
        out, planned = plan(self.experiment, self.out_dir)
        self.out_dir = out
        reps = self.experiment.spec.replications
        first = reps if isinstance(reps, int) else reps.min
        self.scenarios = [
            ScenarioProgress(p.name, p.cached, p.key, expected=0 if p.cached else first)
            for p in planned
        ]

    def _run(
        self, progress: Callable[[Progress], None], cancel: threading.Event
    ) -> ExperimentResult:
        def report(name: str, rep: int, done: int, total: int, eta: float) -> None:
            progress(Progress(name, rep, done, total, eta))

        return run(self.experiment, self.out_dir, progress=report, cancel=cancel)

    def _on_end(self, result: ExperimentResult | None) -> None:
        self.result = result
        if self.state == COMPLETE:
            for sp in self.scenarios:
                sp.done = max(sp.done, sp.expected)

    def _on_progress(self, p: Progress) -> None:
        self.total, self.eta_s = p.total, p.eta_s
        self.done = p.done
        if p.replication < 0:
            return
        for sp in self.scenarios:
            if sp.name == p.scenario:
                sp.done += 1
                sp.last_replication = p.replication
                sp.expected = max(sp.expected, sp.done)

    def stored(self, sp: ScenarioProgress) -> bool:
        """True if the scenario's results are complete in the store (kept after a cancel)."""
        from factory_twin.app.experiment_store import is_complete

        return self.out_dir is not None and is_complete(self.out_dir / sp.key)


@dataclass(frozen=True)
class ResultFolder:
    """A result folder found beside a plant.

    Attributes
    ----------
    path
        The folder.
    name
        The experiment's name (from ``experiment.json``, else the folder name).
    status
        ``complete``, or ``incomplete`` (a cancelled or crashed run, or a scenario gone).
    written
        When ``experiment.json`` was written (UTC, ISO) or empty.
    scenarios
        The scenario names, base first.
    experiment_file
        The experiment file that wrote it (may be gone).
    """

    path: Path
    name: str
    status: str
    written: str
    scenarios: tuple[str, ...]
    experiment_file: Path | None


def _base_source(meta: dict[str, Any]) -> Path | None:
    for sc in meta.get("scenarios", []):
        if sc.get("base"):
            try:
                return Path(sc["source"]).resolve()
            except (OSError, KeyError, TypeError):
                return None
    return None


def find_results(plant_path: str | Path) -> list[ResultFolder]:
    """The result folders beside a plant whose base is that plant, newest first.

    A folder with unfinished scenarios (``.partial-*`` only, or a listed scenario whose
    folder is not complete) is listed as ``incomplete``, never as complete.
    """
    from factory_twin.app.experiment_store import is_complete

    plant = Path(plant_path).resolve()
    out: list[ResultFolder] = []
    for d in sorted(plant.parent.glob("*.results")):
        if not d.is_dir():
            continue
        marker = d / "experiment.json"
        if not marker.is_file():
            if any(p.name.startswith(".partial-") for p in d.iterdir()):
                out.append(ResultFolder(d, d.name, "incomplete", "", (), None))
            continue
        try:
            meta = json.loads(marker.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            out.append(ResultFolder(d, d.name, "incomplete", "", (), None))
            continue
        if _base_source(meta) != plant:
            continue
        entries = meta.get("scenarios", [])
        ok = all(is_complete(d / str(e.get("key", ""))) for e in entries)
        exp = meta.get("experiment_file")
        out.append(
            ResultFolder(
                d,
                str(meta.get("name") or experiment_stem(d.name)),
                "complete" if ok and entries else "incomplete",
                str(meta.get("written_utc", "")),
                tuple(str(e.get("name", "")) for e in entries),
                Path(exp) if exp else None,
            )
        )
    out.sort(key=lambda r: r.written, reverse=True)
    return out


def open_result(folder: ResultFolder | str | Path) -> ExperimentResult:
    """Open a result folder (:func:`load_result`).

    Raises
    ------
    ConfigError
        Not a result folder, or one with an incomplete scenario.
    """
    return load_result(folder.path if isinstance(folder, ResultFolder) else folder)
