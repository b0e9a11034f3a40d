"""Optimisation studies: search capacity and dispatch choices by simulation (no Qt).

The API ``factory-twin optimise`` and the Plan workspace share::

    from factory_twin.app.optimise import load_study, run

    study = load_study("plant_configs/demo_fab.study.yaml")
    outcome = run(study, "out/", progress=on_progress, cancel=stop_event)  # blocks: a worker thread
    outcome.selection.winner, outcome.selection.tied, outcome.trials

Every trial is a configuration of the study's variables applied to its base plant as
scenario changes (``remove_tool`` / ``add_tool`` / ``set_dispatch`` / ``set_release`` /
``set_transport``), simulated with the study's replications on common random numbers
(replication ``r`` of every trial draws from ``Streams(seed, r)``), the replications of
several trials at once on local processes or a Dask cluster (the experiment executor). optuna
proposes the trials (TPE for one objective, NSGA-II for several; the constraints go to
``Trial.set_constraint``); its storage is a SQLite file in the output folder, so a study stopped
by Ctrl-C, a cancel or a crash (even SIGKILL) resumes with every finished trial kept. One
run at a time uses a folder (:mod:`factory_twin.app.optimise_lock`: another is refused); only
that run fails and proposes anew the trials a killed run left running, and a reader
(:func:`read_trials`, the Plan workspace listing a folder's trials) writes nothing. The
storage records what its trials' values depend on (:func:`results_depend_on`: the base plant,
horizon, warm-up, replications, seed, variables, objectives, constraints, cost years); a study
changed in any of these since is refused on that folder rather than mixed with the old trials
(optuna itself loads a stored study whatever its settings). Budget, selection, sampler and
the variables' ranges may change between runs.

Pruning: before a trial is simulated, the static capacity analysis
(:mod:`factory_twin.model.capacity`) checks it: a group whose offered load exceeds
``1 / min_throughput_share`` of its available tools caps the throughput below the target
(throughput <= release / utilisation), so the trial is marked pruned, counted, and never
simulated. A configuration met before is not simulated again either: the earlier trial's
results are told again (CRN make them identical).

At the end :mod:`factory_twin.app.optimise_select` re-simulates the best candidates with
more replications (on the same CRN: the trials' replications are reused, only the new ones
run) and names a winner only when its advantage is significant.

Progress comes as ``progress(OptimiseProgress)`` from the calling thread after every event
(trial told, pruned, replication done); ``cancel`` (a :class:`threading.Event`) stops the
run within a fraction of a second: workers stopped, unfinished trials marked failed (a
resume proposes them anew), :class:`OptimiseCancelled` raised.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from factory_twin.app.experiment import make_executor
from factory_twin.app.optimise_lock import hold_study_lock
from factory_twin.errors import ConfigError, FactoryTwinError, SimulationError
from factory_twin.model import schema as s
from factory_twin.model.capacity import capacity_table, release_rate_per_s
from factory_twin.model.config_checks import check_references
from factory_twin.model.scenario_changes import (
    AddTool,
    RemoveTool,
    SetDispatch,
    SetRelease,
    SetTransport,
    Trace,
    apply_change,
)
from factory_twin.model.study import (
    COST,
    ConwipLevel,
    DispatchChoice,
    ReleaseRate,
    StudyFile,
    StudySpec,
    ToolCount,
    Vehicles,
    load_study,
    tool_cost,
    variable_key,
)
from factory_twin.sim.model import check_spec
from factory_twin.sim.runner import RunOptions, run_replication

__all__ = [
    "OptimiseCancelled",
    "OptimiseOutcome",
    "OptimiseProgress",
    "Planner",
    "TrialRecord",
    "load_study",
    "run",
    "trial_kpis",
]

logger = logging.getLogger(__name__)

STORAGE = "study.db"
STUDY_NAME = "factory-twin"
DAY_S = 86400.0


class OptimiseCancelled(FactoryTwinError):
    """The study was cancelled; its finished trials are kept in the storage."""


@dataclass(frozen=True)
class OptimiseProgress:
    """Where a study stands (given to the progress callback).

    ``phase`` is ``search`` (trials) or ``selection`` (the final re-simulation); ``done``
    counts finished trials (complete and pruned, those of earlier runs too) out of
    ``total``; ``best`` describes the best feasible trial so far (None before one);
    ``pareto`` holds the objective values of every complete trial, for a live plot.
    """

    phase: str
    done: int
    total: int
    pruned: int
    running: int
    elapsed_s: float
    best: str | None = None
    best_values: tuple[float, ...] | None = None
    points: tuple[tuple[int, tuple[float, ...], bool], ...] = ()


ProgressCallback = Callable[[OptimiseProgress], None]


@dataclass
class TrialRecord:
    """One trial as stored: its configuration and what came of it.

    ``kpis`` holds each KPI's value per replication (0, 1, ...); ``values`` the objective
    values (means; cost exact); ``constraints`` optuna's constraint values (<= 0 holds).
    """

    number: int
    params: dict[str, Any]
    state: str
    values: list[float] | None = None
    kpis: dict[str, list[float]] = field(default_factory=dict)
    constraints: list[float] = field(default_factory=list)
    feasible: bool = False
    cost: float = math.nan
    note: str = ""

    def label(self) -> str:
        """``trial 12: tools/SCAN=2, dispatch/IMP=spt``."""
        return f"trial {self.number}: {describe_params(self.params)}"


def describe_params(params: dict[str, Any]) -> str:
    """A configuration in words, in the study's variable order."""
    return ", ".join(f"{k}={_fmt(v)}" for k, v in params.items())


def _fmt(v: Any) -> str:
    return f"{v:g}" if isinstance(v, float) else str(v)


# --------------------------------------------------------------------------- configurations


class Planner:
    """Turns configurations of a study into scenario changes and plants.

    Tools beyond the base plant's copy the group's last tool (``add_tool`` ``like``) and
    stand at the first free place next to it, found once per group: a spot on a grid of the
    tool's footprint plus clearance, checked as the plant loader checks (no overlap, inside
    its bay). Fewer tools remove the group's last ones.
    """

    def __init__(self, study: StudyFile) -> None:
        self.study = study
        self.spec: StudySpec = study.spec
        self.base: s.PlantSpec = study.base.spec
        self._places: dict[str, list[tuple[float, float]]] = {}
        for v in self.spec.variables:
            if isinstance(v, ToolCount):
                have = len(self._group(v.tools))
                if v.max > have:
                    self._places[v.tools] = self._find_places(v.tools, v.max - have)

    def _group(self, group: str) -> list[s.Equipment]:
        return [e for e in self.base.equipment if e.group == group]

    def base_params(self) -> dict[str, Any] | None:
        """The base plant's own configuration, or None if it lies outside the bounds."""
        out: dict[str, Any] = {}
        groups = {g.id: g for g in self.base.tool_groups}
        products = {p.id: p for p in self.base.products}
        for v in self.spec.variables:
            key = variable_key(v)
            if isinstance(v, ToolCount):
                n = len(self._group(v.tools))
                if not v.min <= n <= v.max:
                    return None
                out[key] = n
            elif isinstance(v, DispatchChoice):
                g = groups.get(v.dispatch)
                rule = g.dispatch if g is not None else s.DispatchRule.FIFO
                if rule not in v.rules:
                    return None
                out[key] = rule.value
            elif isinstance(v, ReleaseRate):
                r = release_rate_per_s(products[v.release])
                if r is None or not v.min <= r * DAY_S <= v.max:
                    return None
                out[key] = r * DAY_S
            elif isinstance(v, ConwipLevel):
                rel = products[v.conwip].release
                if rel.mode != "conwip" or not v.min <= (rel.wip_lots or 0) <= v.max:
                    return None
                out[key] = rel.wip_lots
            elif isinstance(v, Vehicles):
                nv = self.base.transport.vehicles
                if nv is None or not v.vehicles.min <= nv <= v.vehicles.max:
                    return None
                out[key] = nv
        return out

    def changes(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        """The scenario changes (as file mappings) that make ``params`` of the base plant."""
        out: list[dict[str, Any]] = []
        for v in self.spec.variables:
            key = variable_key(v)
            if key not in params:
                continue
            val = params[key]
            if isinstance(v, ToolCount):
                tools = self._group(v.tools)
                n = int(val)
                for e in reversed(tools[n:]):
                    out.append({"change": "remove_tool", "id": e.id})
                for i, pos in enumerate(self._places.get(v.tools, [])[: max(0, n - len(tools))]):
                    out.append({"change": "add_tool", "id": self._new_id(v.tools, i),
                                "like": tools[-1].id, "position_m": [pos[0], pos[1]]})  # fmt: skip
            elif isinstance(v, DispatchChoice):
                out.append({"change": "set_dispatch", "group": v.dispatch, "rule": str(val)})
            elif isinstance(v, ReleaseRate):
                out.append({"change": "set_release", "product": v.release,
                            "rate_per_day": float(val)})  # fmt: skip
            elif isinstance(v, ConwipLevel):
                out.append({"change": "set_release", "product": v.conwip, "wip_lots": int(val)})
            elif isinstance(v, Vehicles):
                out.append({"change": "set_transport", "vehicles": int(val)})
        return out

    def plant(self, params: dict[str, Any]) -> s.PlantSpec:
        """The base plant with ``params`` applied (the scenario changes of :meth:`changes`)."""
        plant = self.base.model_copy(deep=True)
        trace = Trace()
        for k, ch in enumerate(self.changes(params)):
            apply_change(plant, _CHANGE[ch["change"]].model_validate(ch), trace, k)
        return plant

    def cost(self, params: dict[str, Any]) -> float:
        """Capital plus ``cost_years`` of running cost of every tool of the configuration."""
        return tool_cost(self.plant(params), self.spec.cost_years)

    def _new_id(self, group: str, i: int) -> str:
        taken = {e.id for e in self.base.equipment}
        n, k = 1, -1
        while True:
            cand = f"{group}-OPT{n:02d}"
            if cand not in taken:
                k += 1
                if k == i:
                    return cand
            n += 1

    def _find_places(self, group: str, count: int) -> list[tuple[float, float]]:
        tools = self._group(group)
        like = tools[-1]
        types = {t.id: t for t in self.base.equipment_types}
        x0, y0, x1, y1 = types[like.type].shape.footprint_m()
        gap = types[like.type].service_clearance_m
        rot = math.radians(like.rotation_deg)
        w = abs((x1 - x0) * math.cos(rot)) + abs((y1 - y0) * math.sin(rot)) + gap
        h = abs((x1 - x0) * math.sin(rot)) + abs((y1 - y0) * math.cos(rot)) + gap
        px, py = like.position_m
        offsets = sorted(
            ((i, j) for i in range(-8, 9) for j in range(-8, 9) if (i, j) != (0, 0)),
            key=lambda ij: (abs(ij[0]) + abs(ij[1]), abs(ij[1]), -ij[0], -ij[1]),
        )
        plant = self.base.model_copy(deep=True)
        trace = Trace()
        found: list[tuple[float, float]] = []
        for i, j in offsets:
            if len(found) == count:
                break
            pos = (round(px + i * w, 2), round(py + j * h, 2))
            new_id = self._new_id(group, len(found))
            trial = plant.model_copy(deep=True)
            ch = AddTool(change="add_tool", id=new_id, like=like.id, position_m=pos)
            try:
                apply_change(trial, ch, trace, 0)
                problems = [m for loc, m in check_references(trial) if new_id in m or
                            (len(loc) > 1 and loc[0] == "equipment" and loc[1] == len(trial.equipment) - 1)]  # fmt: skip
            except (ValueError, TypeError):
                continue
            if not problems:
                plant = trial
                found.append(pos)
        if len(found) < count:
            line = self.study.line("variables")
            msg = (
                f"{self.study.path}:{line}: variables: no free floor for {count} more tools "
                f"of {group} near {like.id} (found {len(found)}): lower its max"
            )
            raise SimulationError(msg)
        return found


_CHANGE: dict[str, Any] = {
    "remove_tool": RemoveTool, "add_tool": AddTool, "set_dispatch": SetDispatch,
    "set_release": SetRelease, "set_transport": SetTransport,
}  # fmt: skip


# --------------------------------------------------------------------------- simulation


def trial_kpis(spec: s.PlantSpec, days: float, warmup_days: float, seed: int, rep: int) -> dict[str, float]:  # fmt: skip
    """Run one replication of a trial (in a worker) and return the KPIs a study reads."""
    res = run_replication(spec, RunOptions(days=days, warmup_days=warmup_days, seed=seed), rep)
    keep = ("throughput_lots_per_day", "cycle_time_", "x_factor", "utilisation/", "wip_lots",
            "moves_per_day", "throughput_wafers_per_day")  # fmt: skip
    return {k: float(v) for k, v in res.kpis.items() if k.startswith(keep)}


def rate_targets(plant: s.PlantSpec) -> dict[str, float]:
    """Lots per day each rate-released product starts (the throughput targets)."""
    out = {}
    for p in plant.products:
        r = release_rate_per_s(p)
        if r is not None and r > 0:
            out[p.id] = r * DAY_S
    return out


def evaluate(
    spec: StudySpec, plant: s.PlantSpec, kpis: dict[str, list[float]], cost: float
) -> tuple[list[float], list[float], bool]:
    """Objective values, constraint values (<= 0 holds) and feasibility from the replications.

    Objectives are replication means (cost is exact); ``min_throughput_share`` gives one
    constraint per rate-released product, ``share - throughput / release``;
    ``max_utilisation`` one, the busiest group's mean utilisation minus the limit.
    """
    values = []
    for o in spec.objectives:
        if o.kpi == COST:
            values.append(cost)
        else:
            values.append(_mean(kpis.get(o.kpi, [])))
    cons: list[float] = []
    c = spec.constraints
    if c.min_throughput_share is not None:
        targets = rate_targets(plant)
        if targets:
            if len(targets) == len(plant.products):
                thr = _mean(kpis.get("throughput_lots_per_day", []))
            else:
                thr = sum(_mean(kpis.get(f"throughput_lots_per_day/{p}", [])) for p in targets)
            rate = sum(targets.values())
            cons.append(c.min_throughput_share - thr / rate if math.isfinite(thr) else 1.0)
    if c.max_utilisation is not None:
        utils = [_mean(v) for k, v in kpis.items() if k.startswith("utilisation/")]
        top = max((u for u in utils if math.isfinite(u)), default=0.0)
        cons.append(top - c.max_utilisation)
    feasible = all(x <= 1e-12 for x in cons) and all(math.isfinite(v) for v in values)
    return values, cons, feasible


def _mean(xs: list[float]) -> float:
    vals = [x for x in xs if x is not None and math.isfinite(x)]
    return sum(vals) / len(vals) if vals else math.nan


def capacity_prune(spec: StudySpec, plant: s.PlantSpec) -> str | None:
    """Why the static capacity analysis rules a configuration out, or None.

    A group loaded beyond ``1 / min_throughput_share`` of its available tools lets at most
    ``release / utilisation`` through: below the throughput target whatever the dispatch.
    """
    share = spec.constraints.min_throughput_share
    if share is None or not rate_targets(plant):
        return None
    limit = 1.0 / share
    worst = max(capacity_table(plant), key=lambda r: r.utilisation, default=None)
    if worst is None or not worst.utilisation > limit:
        return None
    return (
        f"capacity: {worst.group} ({worst.tools} tools) is loaded to {worst.utilisation:.0%} "
        f"of its available time, above 1/{share:g} = {limit:.0%}: throughput cannot reach "
        f"{share:.0%} of the release"
    )


# --------------------------------------------------------------------------- the study


@dataclass
class OptimiseOutcome:
    """A finished study: its trials, the selection and where the files are."""

    out_dir: Path
    trials: list[TrialRecord]
    selection: Any  # optimise_select.Selection
    pruned: int
    simulated_trials: int
    wall_s: float


def storage_url(out_dir: Path) -> str:
    """The optuna RDB storage of a study's output folder (SQLite)."""
    return f"sqlite:///{(out_dir / STORAGE).resolve()}"


def read_trials(study: StudyFile, out_dir: Path) -> tuple[list[TrialRecord], str]:
    """The trials stored in ``out_dir`` and :func:`settings_changed` of ``study`` against
    them, the storage opened read-only (SQLite ``mode=ro``): nothing in the folder is written,
    and trials a run is running (or a killed run left) stay ``running``. Raises what optuna
    and SQLAlchemy raise for a missing or foreign storage."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = f"sqlite:///file:{(out_dir / STORAGE).resolve()}?mode=ro&uri=true"
    storage = optuna.storages.RDBStorage(
        url, skip_table_creation=True, engine_kwargs={"connect_args": {"timeout": 30}}
    )
    try:
        ost = optuna.load_study(study_name=STUDY_NAME, storage=storage)
        return records(ost), settings_changed(ost, study)
    finally:
        storage.engine.dispose()  # the file closed now, not when collected


def open_study(study: StudyFile, out_dir: Path, sampler_seed: int | None = None) -> Any:
    """Create or reopen the optuna study in ``out_dir`` to run it: trials left running (by a
    killed run) are failed and proposed anew, so only the run holding the folder's lock
    (:mod:`factory_twin.app.optimise_lock`) may call it; readers use :func:`read_trials`."""
    import optuna
    from optuna.trial import TrialState
    from sqlalchemy.exc import SQLAlchemyError

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    spec = study.spec
    directions: list[Any] = ["minimize" if o.sign > 0 else "maximize" for o in spec.objectives]
    for attempt in range(_OPEN_TRIES):
        try:
            storage = optuna.storages.RDBStorage(
                storage_url(out_dir), engine_kwargs={"connect_args": {"timeout": 30}}
            )
            ost = optuna.create_study(
                storage=storage, study_name=STUDY_NAME, directions=directions,
                sampler=_sampler(spec, sampler_seed), load_if_exists=True,
            )  # fmt: skip
            break
        except SQLAlchemyError as exc:  # a cut, overwritten or unreadable study.db (or a folder)
            why = getattr(exc, "orig", None) or exc
            if attempt + 1 < _OPEN_TRIES and _transient(str(why)):
                # another process (a reader, the study's other run) was creating the same
                # tables or held the file a moment: not damage, try again
                time.sleep(0.2 * (attempt + 1))
                continue
            msg = (
                f"{out_dir / STORAGE}: not a readable study storage ({why}); move it away to "
                "start the study afresh, or give another --out folder"
            )
            raise ConfigError([msg]) from None
    _check_same_study(ost, study, out_dir)
    for t in ost.get_trials(deepcopy=False, states=(TrialState.RUNNING, TrialState.WAITING)):
        if t.state == TrialState.RUNNING:  # a run killed mid-trial: propose it anew
            storage.set_trial_state_values(t._trial_id, TrialState.FAIL)
            ost.enqueue_trial(dict(t.params))
    return ost


_OPEN_TRIES = 5


def _transient(why: str) -> bool:
    """Whether a storage error is a race with another process rather than a damaged file.

    Examples
    --------
    >>> _transient("database is locked"), _transient("table studies already exists")
    (True, True)
    >>> _transient("file is not a database")
    False
    """
    return "locked" in why or "already exists" in why


RESULTS_ATTR = "results_depend_on"


def results_depend_on(study: StudyFile) -> dict[str, Any]:
    """What a stored trial's values depend on: the base plant, simulation and judging.

    The budget, selection, sampler, executor and the variables' ranges may change between
    runs of a study (the stored trials stay valid); anything here may not.
    """
    import hashlib

    from factory_twin.app.experiment_store import plant_json

    spec = study.spec
    return {
        "base plant": hashlib.sha256(plant_json(study.base.spec).encode()).hexdigest()[:16],
        "horizon_days": spec.horizon_days,
        "warmup_days": spec.warmup_days,
        "replications": spec.replications,
        "seed": spec.seed,
        "variables": sorted(variable_key(v) for v in spec.variables),
        "objectives": [o.model_dump(mode="json") for o in spec.objectives],
        "constraints": spec.constraints.model_dump(mode="json"),
        "cost_years": spec.cost_years,
    }


def settings_changed(ost: Any, study: StudyFile) -> str:
    """The settings of :func:`results_depend_on` that differ from those the stored trials ran
    under, in words (``horizon_days, seed``); '' if none (or the storage does not say)."""
    now = results_depend_on(study)
    then = ost.user_attrs.get(RESULTS_ATTR)
    if isinstance(then, dict) and then != now:
        return ", ".join(k for k in now if then.get(k) != now[k])
    return ""


def _check_same_study(ost: Any, study: StudyFile, out_dir: Path) -> None:
    """Refuse a storage whose trials ran under other settings (they would mix with new ones).

    A storage of an earlier version without the record is taken as it is.
    """
    changed = settings_changed(ost, study)
    if changed:
        msg = (
            f"{out_dir} holds the trials of a study run with other settings ({changed} "
            "changed since): they would mix with the new ones; give another output folder "
            f"(--out), or move {out_dir / STORAGE} away to start afresh"
        )
        raise ConfigError([msg])
    if ost.user_attrs.get(RESULTS_ATTR) is None:
        ost.set_user_attr(RESULTS_ATTR, results_depend_on(study))


def _sampler(spec: StudySpec, sampler_seed: int | None = None) -> Any:
    import optuna

    name = spec.sampler_name
    seed = (spec.seed if sampler_seed is None else sampler_seed) % (2**32)
    if name == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    if name == "nsga2":
        pop = max(8, min(30, spec.budget.trials // 5))
        return optuna.samplers.NSGAIISampler(seed=seed, population_size=pop)
    startup = max(4, min(10, spec.budget.trials // 4))
    return optuna.samplers.TPESampler(seed=seed, n_startup_trials=startup, multivariate=True)


def _suggest(trial: Any, spec: StudySpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for v in spec.variables:
        key = variable_key(v)
        if isinstance(v, ToolCount):
            out[key] = trial.suggest_int(key, v.min, v.max)
        elif isinstance(v, DispatchChoice):
            out[key] = trial.suggest_categorical(key, [r.value for r in v.rules])
        elif isinstance(v, ReleaseRate):
            out[key] = trial.suggest_float(key, v.min, v.max, step=v.step)
        elif isinstance(v, ConwipLevel):
            out[key] = trial.suggest_int(key, v.min, v.max, step=v.step)
        elif isinstance(v, Vehicles):
            out[key] = trial.suggest_int(key, v.vehicles.min, v.vehicles.max)
    return out


def config_key(params: dict[str, Any]) -> str:
    """A configuration's identity (equal params, equal key)."""
    return json.dumps({k: params[k] for k in sorted(params)}, sort_keys=True)


def records(ost: Any) -> list[TrialRecord]:
    """Every trial of an optuna study as :class:`TrialRecord`, in number order."""
    out = []
    for t in ost.get_trials(deepcopy=False):
        ua = t.user_attrs
        out.append(TrialRecord(
            number=t.number, params=dict(t.params), state=t.state.name.lower(),
            values=list(t.values) if t.values is not None else None,
            kpis={k: list(v) for k, v in ua.get("kpis", {}).items()},
            constraints=list(ua.get("constraints", [])), feasible=bool(ua.get("feasible", False)),
            cost=float(ua.get("cost", math.nan)), note=str(ua.get("note", "")),
        ))  # fmt: skip
    return out


@dataclass
class _Running:
    trial: Any
    params: dict[str, Any]
    plant: s.PlantSpec
    cost: float
    futures: dict[Any, int] = field(default_factory=dict)
    kpis: dict[int, dict[str, float]] = field(default_factory=dict)


class _Search:
    """The search loop: keep the workers busy with the replications of several trials."""

    def __init__(self, study: StudyFile, ost: Any, planner: Planner, ex: Any, processes: int,
                 progress: ProgressCallback | None, cancel: threading.Event) -> None:  # fmt: skip
        self.study, self.spec, self.ost, self.planner = study, study.spec, ost, planner
        self.ex, self.processes, self.progress, self.cancel = ex, processes, progress, cancel
        self.running: list[_Running] = []
        self.t0 = time.perf_counter()
        self.known: dict[str, Any] = {}
        self.simulated = 0
        self.failed = 0  # trials of this run that could not be judged: they spend budget too
        from optuna.trial import TrialState

        self.TS = TrialState
        for t in ost.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)):
            self.known.setdefault(config_key(t.params), t)
        # counted here, not asked of the storage on every turn of the loop (a query each)
        self.done = len(
            ost.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
        )

    def finished(self) -> int:
        """Trials that spent budget: complete and pruned (earlier runs' too), failed here."""
        return self.done + self.failed

    def go(self) -> None:
        budget = self.spec.budget
        deadline = (
            self.t0 + budget.wall_minutes * 60.0 if budget.wall_minutes is not None else math.inf
        )
        self._report()
        done = self.finished()
        while True:
            if self.cancel.is_set():
                self._abandon()
                msg = "the study was cancelled; its finished trials are kept"
                raise OptimiseCancelled(msg)
            pending = sum(len(r.futures) for r in self.running)
            room = time.perf_counter() < deadline and done + len(self.running) < budget.trials
            if room and pending < self.processes:
                self._start_one()
                done = self.finished()
                continue
            if not self.running:
                break
            if not self._collect():
                self.cancel.wait(0.02)
            done = self.finished()

    def _start_one(self) -> None:
        trial = self.ost.ask()
        params = _suggest(trial, self.spec)
        key = config_key(params)
        prior = self.known.get(key)
        if prior is not None:
            for k, v in prior.user_attrs.items():
                trial.set_user_attr(k, v)
            trial.set_user_attr("note", f"same configuration as trial {prior.number}")
            _set_constraints(trial, prior.user_attrs.get("constraints", [0.0]))
            self.ost.tell(trial, list(prior.values))
            self.done += 1
            self._report()
            return
        plant = self.planner.plant(params)
        cost = tool_cost(plant, self.spec.cost_years)
        why = capacity_prune(self.spec, plant)
        if why is not None:
            trial.set_user_attr("note", why)
            trial.set_user_attr("cost", cost)
            trial.set_user_attr("constraints", [1.0])
            _set_constraints(trial, [1.0])
            self.ost.tell(trial, state=self.TS.PRUNED)
            self.done += 1
            self._report()
            return
        try:
            check_spec(plant)
        except SimulationError as exc:
            trial.set_user_attr("note", f"cannot be simulated: {exc}")
            self.ost.tell(trial, state=self.TS.FAIL)
            self.failed += 1
            return
        run = _Running(trial, params, plant, cost)
        ref = self.ex.share(plant)
        for r in range(self.spec.replications):
            f = self.ex.submit(trial_kpis, ref, self.spec.horizon_days, self.spec.warmup_days,
                               self.spec.seed, r)  # fmt: skip
            run.futures[f] = r
        self.running.append(run)

    def _collect(self) -> bool:
        moved = False
        for run in list(self.running):
            for f in [f for f in run.futures if f.done()]:
                r = run.futures.pop(f)
                try:
                    run.kpis[r] = f.result()
                except FactoryTwinError:
                    raise
                except Exception as exc:
                    msg = f"trial {run.trial.number} ({describe_params(run.params)}), replication {r} failed: {type(exc).__name__}: {exc}"  # fmt: skip
                    raise SimulationError(msg) from exc
                moved = True
            if not run.futures:
                self.running.remove(run)
                self._tell(run)
        return moved

    def _tell(self, run: _Running) -> None:
        reps = sorted(run.kpis)
        names = sorted({k for d in run.kpis.values() for k in d})
        kpis = {k: [run.kpis[r].get(k, math.nan) for r in reps] for k in names}
        values, cons, feasible = evaluate(self.spec, run.plant, kpis, run.cost)
        t = run.trial
        t.set_user_attr("kpis", {k: [_json(x) for x in v] for k, v in kpis.items()})
        t.set_user_attr("constraints", cons or [0.0])
        _set_constraints(t, cons or [0.0])
        t.set_user_attr("feasible", feasible)
        t.set_user_attr("cost", run.cost)
        if not all(math.isfinite(v) for v in values):
            t.set_user_attr("note", "an objective has no value (no lot finished?)")
            self.ost.tell(t, state=self.TS.FAIL)
            self.failed += 1
        else:
            self.ost.tell(t, values)
            self.done += 1
            self.known.setdefault(config_key(run.params), self.ost.get_trials(deepcopy=False)[t.number])  # fmt: skip
        self.simulated += 1
        self._report()

    def _abandon(self) -> None:
        self.ex.stop()
        for run in self.running:
            self.ost.tell(run.trial, state=self.TS.FAIL)
        self.running.clear()

    def _report(self) -> None:
        if self.progress is None:
            return
        self.progress(progress_of(self.ost, self.spec, "search", len(self.running), time.perf_counter() - self.t0))  # fmt: skip


def _set_constraints(trial: Any, values: list[float]) -> None:
    """Give optuna the constraint values (<= 0 holds; its samplers prefer feasible trials)."""
    for i, v in enumerate(values):
        trial.set_constraint(f"c{i}", float(v))


def _json(x: float) -> float | None:
    return x if math.isfinite(x) else None


def progress_of(ost: Any, spec: StudySpec, phase: str, running: int, elapsed: float) -> OptimiseProgress:  # fmt: skip
    """The progress record of a study's trials so far."""
    recs = records(ost)
    done = [r for r in recs if r.state in ("complete", "pruned")]
    pts = tuple((r.number, tuple(r.values), r.feasible) for r in recs if r.state == "complete" and r.values)  # fmt: skip
    best = best_feasible(recs, spec)
    return OptimiseProgress(
        phase=phase, done=len(done), total=spec.budget.trials,
        pruned=sum(r.state == "pruned" for r in recs), running=running, elapsed_s=elapsed,
        best=None if best is None else f"{best.label()} -> {values_text(spec, best.values)}",
        best_values=None if best is None or best.values is None else tuple(best.values),
        points=pts,
    )  # fmt: skip


def values_text(spec: StudySpec, values: list[float] | None) -> str:
    """Objective values in words: ``cost 1.2e+07, cycle_time_mean_h 5.31`` (``-`` for none)."""
    if not values:
        return "-"
    return ", ".join(f"{o.kpi} {v:.4g}" for o, v in zip(spec.objectives, values, strict=False))


def best_feasible(recs: list[TrialRecord], spec: StudySpec) -> TrialRecord | None:
    """The feasible complete trial best on the first objective (ties: the next ones)."""
    ok = [r for r in recs if r.state == "complete" and r.feasible and r.values]
    if not ok:
        return None
    signs = [o.sign for o in spec.objectives]
    return min(ok, key=lambda r: tuple(sg * v for sg, v in zip(signs, r.values or [], strict=False)))  # fmt: skip


def run(
    study: StudyFile | str | Path,
    out_dir: str | Path | None = None,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    executor: str | Any | None = None,
    processes: int | None = None,
    select: bool = True,
    sampler_seed: int | None = None,
    beside_plant: bool = False,
) -> OptimiseOutcome:
    """Run (or resume) a study and its honest final selection; write the report.

    Parameters
    ----------
    study
        A study file or its path.
    out_dir
        The output folder (default ``<study stem>.optimise/`` beside the study): optuna's
        storage ``study.db``, the report (``report.txt``, ``report.json``,
        ``pareto.png``) and, unless ``beside_plant``, the winner's scenario file.
    progress, cancel
        See the module docstring.
    executor, processes
        Override the file's (``local``, ``dask://host:port`` or a ``distributed.Client``).
    select
        Run the final selection and write the report (True), or only search.
    sampler_seed
        Seeds the search instead of the study's ``seed`` (which keeps seeding the
        simulation's streams): another search over the same noise (benchmarks).
    beside_plant
        Save the winner (or the tied finalists) as ordinary scenarios beside the plant,
        under free names, never over a file (``factory-twin optimise``; see
        :func:`factory_twin.app.optimise_take.take_trial`), rather than into ``out_dir``
        (the Plan workspace, where the planner takes the winner into Plan by hand).

    Raises
    ------
    ConfigError, SimulationError, OptimiseCancelled
        ``ConfigError`` also when another optimise run is using ``out_dir``.
    """
    import os

    from factory_twin.app.optimise_select import select_and_report

    sf = load_study(study) if isinstance(study, (str, Path)) else study
    out = Path(out_dir) if out_dir is not None else sf.default_out_dir()
    out.mkdir(parents=True, exist_ok=True)
    with hold_study_lock(out):  # one run per folder: another's running trials stay its own
        cancel = cancel or threading.Event()
        t0 = time.perf_counter()
        planner = Planner(sf)
        check_spec(sf.base.spec)
        ost = open_study(sf, out, sampler_seed)
        if not ost.get_trials(deepcopy=False):
            base = planner.base_params()
            if base is not None:  # the base configuration first: the search starts from it
                ost.enqueue_trial(base)
        n_proc = processes or sf.spec.processes or os.cpu_count() or 1
        ex = make_executor(executor if executor is not None else sf.spec.executor, n_proc)
        ok = False
        try:
            search = _Search(sf, ost, planner, ex, n_proc, progress, cancel)
            search.go()
            selection = None
            if select:
                selection = select_and_report(sf, out, ost, planner, ex, progress, cancel, t0, beside_plant=beside_plant)  # fmt: skip
            ok = True
        finally:
            if not ok:
                ex.stop()
            ex.close()
        recs = records(ost)
        return OptimiseOutcome(
            out_dir=out, trials=recs, selection=selection,
            pruned=sum(r.state == "pruned" for r in recs), simulated_trials=search.simulated,
            wall_s=time.perf_counter() - t0,
        )  # fmt: skip
