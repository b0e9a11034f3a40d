"""An optimisation study defined and run from the Plan workspace, on a worker thread (no Qt).

The Optimise dock writes what the planner chose as an ordinary study file beside the plant
(:func:`write_study`: checked first, then written atomically, so a bad choice never replaces
the last good file), so the very same file runs headless with ``factory-twin optimise`` and
resumes into the same output folder. :class:`OptimiseJob` runs
:func:`factory_twin.app.optimise.run` on a thread of its own; its progress reports go into a
queue that the GUI thread drains on its timer (:meth:`OptimiseJob.poll`), and
:meth:`OptimiseJob.cancel` stops it (the finished trials stay in the study's storage, and
the next run resumes from them). A job ends ``complete`` (with its outcome), ``cancelled``
or ``failed`` (with the message); the thread plumbing is
:class:`~factory_twin.app.worker_job.WorkerJob`'s.

Taking one trial (or the winner) into Plan as an ordinary scenario beside the plant is
:mod:`factory_twin.app.optimise_take`'s.
"""

from __future__ import annotations

import io
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from factory_twin.app.experiment_job import slug
from factory_twin.app.optimise import (
    OptimiseCancelled,
    OptimiseOutcome,
    OptimiseProgress,
    TrialRecord,
    run,
)
from factory_twin.app.worker_job import WorkerJob
from factory_twin.model import schema as s
from factory_twin.model.config import atomic_write_text
from factory_twin.model.study import (
    COST,
    DispatchChoice,
    StudyFile,
    ToolCount,
    loads_study,
    study_stem,
)

logger = logging.getLogger(__name__)

OBJECTIVES = (COST, "cycle_time_mean_h", "x_factor", "throughput_lots_per_day", "wip_lots")
"""The objectives the dock offers (throughput is maximised, the others minimised)."""
RULES = tuple(r.value for r in s.DispatchRule)


def objective_sign(kpi: str) -> int:
    """+1 if ``kpi`` is minimised, -1 if maximised (throughput)."""
    return -1 if kpi.startswith("throughput") else 1


@dataclass(frozen=True)
class GroupRow:
    """A tool group of the plant as the dock's table shows it."""

    group: str
    tools: int
    rule: str
    priced: bool


def group_rows(plant: s.PlantSpec) -> list[GroupRow]:
    """Every tool group of ``plant``: its tool count, dispatch rule and whether it has a cost."""
    rules = {g.id: g.dispatch.value for g in plant.tool_groups}
    priced = {t.id for t in plant.equipment_types if t.cost is not None}
    return [
        GroupRow(g, len(tools), rules.get(g, "fifo"), all(e.type in priced for e in tools))
        for g, tools in plant.groups().items()
    ]


@dataclass(frozen=True)
class GroupChoice:
    """What a study varies of one group: its tool count (``min``..``max``) and/or rules."""

    group: str
    min: int | None = None
    max: int | None = None
    rules: tuple[str, ...] = ()


@dataclass(frozen=True)
class StudyChoices:
    """What a planner chose for a study (the fields of a study file).

    ``base`` is the plant or scenario file the study varies; ``groups`` the varied groups;
    ``objectives`` KPI names (``cost`` and throughput with their natural direction);
    ``extra_variables`` keeps the variables the dock does not edit (release rates, CONWIP,
    vehicles) of a study file it opened, as file mappings.
    """

    base: Path
    groups: tuple[GroupChoice, ...]
    objectives: tuple[str, ...] = (COST, "cycle_time_mean_h")
    name: str = "study"
    min_throughput_share: float | None = 0.98
    max_utilisation: float | None = 0.9
    horizon_days: float = 60.0
    warmup_days: float = 10.0
    replications: int = 3
    trials: int = 30
    top_k: int = 4
    selection_replications: int = 6
    seed: int = 0
    processes: int | None = None
    extra_variables: tuple[dict[str, Any], ...] = ()

    def data(self, folder: Path) -> dict[str, Any]:
        """The study file's data, the base relative to ``folder`` when it lies below it."""
        try:
            base = str(Path(self.base).resolve().relative_to(folder.resolve()))
        except ValueError:
            base = str(Path(self.base).resolve())
        variables: list[dict[str, Any]] = []
        for g in self.groups:
            if g.min is not None and g.max is not None:
                variables.append({"tools": g.group, "min": int(g.min), "max": int(g.max)})
            if g.rules:
                variables.append({"dispatch": g.group, "rules": list(g.rules)})
        variables += [dict(v) for v in self.extra_variables]
        objectives = [
            {"minimise" if objective_sign(k) > 0 else "maximise": k} for k in self.objectives
        ]
        constraints: dict[str, Any] = {"min_throughput_share": self.min_throughput_share}
        if self.max_utilisation is not None:
            constraints["max_utilisation"] = self.max_utilisation
        out: dict[str, Any] = {
            "name": self.name,
            "base": base,
            "horizon_days": self.horizon_days,
            "warmup_days": self.warmup_days,
            "replications": self.replications,
            "seed": self.seed,
            "variables": variables,
            "objectives": objectives,
            "constraints": constraints,
            "budget": {"trials": self.trials},
            "selection": {
                "top_k": self.top_k,
                "replications": max(self.selection_replications, self.replications, 2),
            },
            "executor": "local",
        }
        if self.processes is not None:
            out["processes"] = self.processes
        return out


def study_path(base: str | Path, name: str) -> Path:
    """Where the dock keeps the study ``name`` of a plant: ``NAME.study.yaml`` beside it."""
    return Path(base).parent / f"{slug(name)}.study.yaml"


def study_text(choices: StudyChoices, path: Path) -> str:
    """The YAML of a study file for ``choices`` (with a comment on how to run it headless)."""
    from ruamel.yaml import YAML

    buf = io.StringIO()
    buf.write(
        "# Written by the Plan workspace's Optimise dock; run it headless (it resumes) with\n"
        f"#   factory-twin optimise {path.name}\n"
    )
    yaml = YAML()
    yaml.default_flow_style = None
    yaml.width = 4096
    yaml.dump(choices.data(path.parent), buf)
    return buf.getvalue()


def write_study(choices: StudyChoices, path: str | Path) -> StudyFile:
    """Check ``choices`` as a study file, then write it to ``path`` atomically.

    Raises
    ------
    ConfigError
        If the choices do not make a valid study (``file:line: field: message``); the file
        on disk is left as it was.
    """
    target = Path(path)
    text = study_text(choices, target)
    study = loads_study(text, source=str(target), path=target)
    atomic_write_text(target, text, keep_backup=True)
    return study


def choices_from_study(study: StudyFile) -> StudyChoices:
    """The dock's choices for a study read from a file (what it does not edit is kept)."""
    spec = study.spec
    groups: dict[str, dict[str, Any]] = {}
    extra: list[dict[str, Any]] = []
    for v in spec.variables:
        if isinstance(v, ToolCount):
            groups.setdefault(v.tools, {}).update(min=v.min, max=v.max)
        elif isinstance(v, DispatchChoice):
            groups.setdefault(v.dispatch, {})["rules"] = tuple(r.value for r in v.rules)
        else:
            extra.append(v.model_dump(mode="json", exclude_unset=True))
    c = spec.constraints
    return StudyChoices(
        base=Path(study.base.path),
        groups=tuple(GroupChoice(g, **kw) for g, kw in groups.items()),
        objectives=tuple(o.kpi for o in spec.objectives),
        name=spec.name or study_stem(study.path),
        min_throughput_share=c.min_throughput_share,
        max_utilisation=c.max_utilisation,
        horizon_days=spec.horizon_days,
        warmup_days=spec.warmup_days,
        replications=spec.replications,
        trials=spec.budget.trials,
        top_k=spec.selection.top_k,
        selection_replications=spec.selection.replications,
        seed=spec.seed,
        processes=spec.processes,
        extra_variables=tuple(extra),
    )


def stored_trials(study: StudyFile, out_dir: str | Path) -> list[TrialRecord]:
    """The trials already in a study's output folder (an earlier, cancelled or running run),
    or [] (no storage, one another version wrote, or trials of other settings: logged).

    Read-only: nothing in the folder is written, so a run using it (``factory-twin
    optimise`` in another process, say) goes on undisturbed, and the trials it is running
    are listed ``running`` (so are those a killed run left: the next run proposes them
    anew); :func:`~factory_twin.app.optimise_lock.study_in_use` tells which.
    """
    from factory_twin.app.optimise import STORAGE, read_trials

    out = Path(out_dir)
    if not (out / STORAGE).is_file():
        return []
    try:
        recs, changed = read_trials(study, out)
    except Exception as exc:  # a storage another version wrote: show nothing, run anew
        logger.warning("cannot read the trials in %s: %s", out, exc)
        return []
    if changed:
        logger.warning(
            "the trials in %s ran with other settings (%s changed since): not shown",
            out, changed,
        )  # fmt: skip
        return []
    return recs


# --------------------------------------------------------------------------- the job


@dataclass
class OptimiseJob(WorkerJob[OptimiseProgress, OptimiseOutcome]):
    """A study running on a worker thread (see the module notes and :class:`WorkerJob`).

    ``last`` is the latest progress report read (the GUI's plots draw from its
    ``points``); ``outcome`` is set when the job ends ``complete``.
    """

    thread_name: ClassVar[str] = "optimise"
    cancelled_error: ClassVar[type[Exception]] = OptimiseCancelled
    cancelled_message: ClassVar[str] = "cancelled: the finished trials are kept"

    study: StudyFile
    out_dir: Path | None = None
    processes: int | None = None
    outcome: OptimiseOutcome | None = None
    last: OptimiseProgress | None = None

    def start(self) -> None:
        """Start (or resume) the study on a worker thread."""
        super().start()

    def _prepare(self) -> None:
        self.out_dir = Path(self.out_dir) if self.out_dir else self.study.default_out_dir()

    def _run(
        self, progress: Callable[[OptimiseProgress], None], cancel: threading.Event
    ) -> OptimiseOutcome:
        return run(self.study, self.out_dir, progress=progress, cancel=cancel,
                   processes=self.processes)  # fmt: skip

    def _on_progress(self, report: OptimiseProgress) -> None:
        self.last = report

    def _on_end(self, result: OptimiseOutcome | None) -> None:
        self.outcome = result
