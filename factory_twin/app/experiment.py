"""Experiments: scenarios run on common random numbers, results stored and read back (no Qt).

The API the Plan workspace and ``factory-twin experiment`` share::

    from factory_twin.app.experiment import load_experiment, run, load_result

    exp = load_experiment("plant_configs/demo_fab.experiment.yaml")
    result = run(exp, progress=on_progress, cancel=stop_event)   # blocks; use a worker thread
    result.summary(); result.differences(); result.series("wip"); result.gantt(...)

:func:`run` works in the calling thread and returns when every scenario is complete; the
replications run in worker processes (local, ``processes`` at a time) or on a Dask
cluster. Progress comes as ``progress(scenario, replication, done, total, eta_s)`` after each
replication (``replication`` -1 once at the start, with nothing done), from the calling
thread; ``cancel`` (a :class:`threading.Event`) stops the run within a fraction of a second:
workers are stopped, the unfinished scenario folders removed, finished scenarios kept, and
:class:`ExperimentCancelled` raised.

Random numbers: replication ``r`` of every scenario uses the streams of ``(seed, r)``
(common random numbers), so the paired differences against the base are valid and narrow.

Replications: a fixed number, or sequential: the first ``min`` run, then batches of
``processes`` more until every chosen KPI's 95 % half-width is below the target share of
its mean, or ``max`` are done. The rule is checked after each replication in number order
(0, 1, 2, ...), and replications run ahead of the first count that meets it are dropped, so
the result depends neither on ``processes`` nor on the executor. An automatic warm-up
(MSER-5 on the average WIP series, Welch) is chosen from the first ``min`` replications of
each scenario and kept for the ones added after.

Results go to the store of :mod:`factory_twin.app.experiment_store` (one folder per
scenario, keyed by a hash of its applied plant, the options and the engine version): a
scenario whose key is complete is never run again; changing one scenario re-runs only it.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import logging
import math
import multiprocessing as mp
import os
import platform
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from factory_twin.app.experiment_result import (
    RESULT_FORMAT,
    ExperimentResult,
    kpi_direction,
    load_result,
    verdict,
)
from factory_twin.app.experiment_spec import (
    ExperimentFile,
    ExperimentSpec,
    SequentialReplications,
    load_experiment,
    loads_experiment,
    scheduler_address,
)
from factory_twin.app.experiment_store import (
    ENGINE_VERSION,
    commit,
    damage,
    is_complete,
    partial_dir,
    plant_json,
    remove_stale_partials,
    scenario_key,
)
from factory_twin.app.experiment_worker import RepOutcome, finish_one, rep_dir, run_one
from factory_twin.errors import FactoryTwinError, SimulationError
from factory_twin.model import schema as s
from factory_twin.model.config import atomic_write_text
from factory_twin.model.scenario import LoadedPlant
from factory_twin.sim.model import check_spec
from factory_twin.sim.runner import ReplicationResult, RunOptions
from factory_twin.sim.stats import mser, t_interval

__all__ = [
    "ExperimentCancelled",
    "ExperimentFile",
    "ExperimentResult",
    "ExperimentSpec",
    "ProgressCallback",
    "SequentialReplications",
    "kpi_direction",
    "load_experiment",
    "load_result",
    "loads_experiment",
    "plan",
    "run",
    "verdict",
]

logger = logging.getLogger(__name__)

DAY_S = 86400.0
ProgressCallback = Callable[[str, int, int, int, float], None]
"""``progress(scenario, replication, done, total, eta_s)``; ``total`` grows when sequential
replications add a batch; ``eta_s`` is NaN until a replication has finished."""


class ExperimentCancelled(FactoryTwinError):
    """The run was cancelled; complete scenarios are kept, unfinished ones removed."""


@dataclass
class PlannedScenario:
    """A scenario of an experiment with its key and whether its results are stored."""

    name: str
    loaded: LoadedPlant
    seed: int
    key: str
    options: dict[str, Any]
    cached: bool
    damaged: str | None = None
    """Why the stored results of this key do not read back (they are run again), or None."""


def _options(spec: ExperimentSpec, seed: int) -> dict[str, Any]:
    reps = spec.replications
    return {
        "days": spec.horizon_days,
        "warmup_days": spec.warmup_days,
        "seed": seed,
        "rule": None if spec.rule is None else spec.rule.value,
        "replications": reps if isinstance(reps, int) else reps.model_dump(mode="json"),
    }


def plan(
    experiment: ExperimentFile, out_dir: str | Path | None = None
) -> tuple[Path, list[PlannedScenario]]:
    """Read the scenarios, key them and say which are stored already (nothing runs).

    Raises
    ------
    ConfigError
        A scenario that does not load (its own ``file:line`` messages).
    """
    out = Path(out_dir) if out_dir is not None else experiment.default_out_dir()
    spec = experiment.spec
    planned = []
    for i, lp in enumerate(experiment.load_scenarios()):
        seed = spec.seed if spec.common_random_numbers else spec.seed + i
        opts = _options(spec, seed)
        key = scenario_key(lp.spec, opts)
        complete = is_complete(out / key)
        damaged = damage(out / key) if complete else None
        cached = complete and damaged is None
        planned.append(PlannedScenario(lp.name, lp, seed, key, opts, cached, damaged))
    return out, planned


def run(
    experiment: ExperimentFile | str | Path,
    out_dir: str | Path | None = None,
    *,
    progress: ProgressCallback | None = None,
    cancel: threading.Event | None = None,
    executor: str | Any | None = None,
    processes: int | None = None,
) -> ExperimentResult:
    """Run an experiment's scenarios that are not stored yet; return all of its results.

    Parameters
    ----------
    experiment
        An experiment file (path) or one read with :func:`load_experiment`.
    out_dir
        The result folder (default ``<experiment stem>.results/`` beside the file).
    progress
        Called after each replication (see :data:`ProgressCallback`).
    cancel
        Set it (from any thread) to stop the run: :class:`ExperimentCancelled` is raised.
    executor
        Overrides the file's ``executor``: ``local``, ``dask://host:port``, or a
        ``distributed.Client``.
    processes
        Overrides the file's ``processes`` (local worker processes; the batch size of
        sequential replications).

    Returns
    -------
    ExperimentResult
        The stored results of every scenario, base first.

    Raises
    ------
    ConfigError
        A scenario that does not load.
    SimulationError
        A plant that cannot be simulated, a replication that failed, an unreachable Dask
        scheduler, or a chosen KPI the simulation does not produce.
    ExperimentCancelled
        ``cancel`` was set.
    """
    exp = load_experiment(experiment) if isinstance(experiment, (str, Path)) else experiment
    out, planned = plan(exp, out_dir)
    spec = exp.spec
    for p in planned:
        try:
            check_spec(p.loaded.spec)
        except SimulationError as exc:
            msg = f"{p.loaded.path}: {exc}"
            raise SimulationError(msg) from None
    out.mkdir(parents=True, exist_ok=True)
    remove_stale_partials(out)
    to_run = [p for p in planned if not p.cached]
    for p in planned:
        if p.damaged is not None:  # never cached: it runs again
            logger.info("running %s again: %s", p.name, p.damaged)
    if to_run:
        ex = executor if executor is not None else spec.executor
        n_proc = processes or spec.processes or os.cpu_count() or 1
        _Run(spec, out, to_run, progress, cancel or threading.Event(), ex, n_proc).go()
    _write_experiment_json(exp, out, planned)
    return load_result(out)


def _write_experiment_json(exp: ExperimentFile, out: Path, planned: list[PlannedScenario]) -> None:
    import json

    data = {
        "format": RESULT_FORMAT,
        "name": exp.name,
        "experiment_file": str(exp.path),
        "notes": exp.spec.notes,
        "spec": exp.spec.model_dump(mode="json"),
        "replication_rule": exp.spec.replication_rule(),
        "engine_version": ENGINE_VERSION,
        "scenarios": [
            {"name": p.name, "source": str(p.loaded.path), "key": p.key, "base": i == 0}
            for i, p in enumerate(planned)
        ],
        "written_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    atomic_write_text(out / "experiment.json", json.dumps(data, indent=1))


# --------------------------------------------------------------------------- executors


def _ignore_sigint() -> None:
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C belongs to the parent


class _Local:
    """A spawn-context process pool that can be stopped at once."""

    def __init__(self, processes: int) -> None:
        ctx = mp.get_context("spawn")
        self.pool = cf.ProcessPoolExecutor(
            max_workers=processes, mp_context=ctx, initializer=_ignore_sigint
        )

    def share(self, spec: s.PlantSpec) -> Any:
        return spec

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        return self.pool.submit(fn, *args)

    def stop(self) -> None:
        procs = list((getattr(self.pool, "_processes", None) or {}).values())
        self.pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            p.terminate()
        for p in procs:  # gone before their folders are removed
            p.join(timeout=10)

    def close(self) -> None:
        self.pool.shutdown(wait=True)


class _Dask:
    """A Dask client (own, from an address, or the caller's)."""

    def __init__(self, executor: str | Any) -> None:
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - a dependency
            msg = f"a Dask executor needs dask.distributed: {exc}"
            raise SimulationError(msg) from None
        self.own = isinstance(executor, str)
        if isinstance(executor, str):
            address = scheduler_address(executor)
            try:
                self.client = Client(address, timeout=10)
            except (OSError, TimeoutError) as exc:
                msg = f"cannot reach the Dask scheduler {address}: {exc}"
                raise SimulationError(msg) from None
        else:
            self.client = executor
        self.futures: list[Any] = []

    def share(self, spec: s.PlantSpec) -> Any:
        return self.client.scatter(spec, broadcast=True)

    def submit(self, fn: Callable[..., Any], *args: Any) -> Any:
        f = self.client.submit(fn, *args, pure=False)
        self.futures.append(f)
        return f

    def stop(self) -> None:
        with contextlib.suppress(Exception):
            self.client.cancel(self.futures)

    def close(self) -> None:
        if self.own:
            self.client.close()


def make_executor(ex: str | Any, processes: int) -> _Local | _Dask:
    """The executor of ``ex`` (``local``, ``dask://host:port`` or a ``distributed.Client``).

    Both kinds offer ``share(spec)``, ``submit(fn, *args)`` (a future with ``done()`` and
    ``result()``), ``stop()`` (at once, also the running work) and ``close()``; the
    optimiser runs its trials on them too.
    """
    return _executor(ex, processes)


def _executor(ex: str | Any, processes: int) -> _Local | _Dask:
    if isinstance(ex, str) and scheduler_address(ex) is None:
        return _Local(processes)
    return _Dask(ex)


# --------------------------------------------------------------------------- the run


@dataclass
class _Job:
    """One scenario being run."""

    plan: PlannedScenario
    partial: Path
    options: RunOptions
    spec_ref: Any = None
    next_rep: int = 0
    raw: dict[int, ReplicationResult] = field(default_factory=dict)
    done: dict[int, RepOutcome] = field(default_factory=dict)
    pending: int = 0
    warmup_s: float | None = None
    warmup_method: str = "fixed"
    started: float = field(default_factory=time.perf_counter)


class _Run:
    """The scheduling loop: submit replications, collect them, decide, store."""

    def __init__(
        self,
        spec: ExperimentSpec,
        out: Path,
        todo: list[PlannedScenario],
        progress: ProgressCallback | None,
        cancel: threading.Event,
        executor: str | Any,
        processes: int,
    ) -> None:
        self.spec = spec
        self.out = out
        self.todo = todo
        self.progress = progress
        self.cancel = cancel
        self.executor = executor
        self.processes = max(1, processes)
        self.pending: dict[Any, tuple[_Job, str, int]] = {}
        self.total = 0
        self.runs_done = 0
        self.t0 = time.perf_counter()
        self.jobs: list[_Job] = []

    def go(self) -> None:
        ex = _executor(self.executor, self.processes)
        self.ex = ex
        ok = False
        try:
            for p in self.todo:
                self._start(p)
            self._report(self.jobs[0].plan.name, -1)
            self._loop()
            ok = True
        finally:
            if not ok:
                ex.stop()
                for job in self.jobs:
                    shutil.rmtree(job.partial, ignore_errors=True)
            ex.close()

    def _start(self, p: PlannedScenario) -> None:
        partial = partial_dir(self.out, p.key)
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        warm = self.spec.warmup_days
        opts = RunOptions(
            days=self.spec.horizon_days, warmup_days=warm, seed=p.seed,
            rule=None if self.spec.rule is None else self.spec.rule.value,
            out_dir=str(partial.resolve()), defer_kpis=warm is None,
        )  # fmt: skip
        opts.check()
        job = _Job(p, partial, opts, spec_ref=self.ex.share(p.loaded.spec))
        if warm is not None:
            job.warmup_s = warm * DAY_S
        else:
            job.warmup_method = (
                "MSER-5 on the replications' average WIP series (Welch), one for all"
            )
        self.jobs.append(job)
        reps = self.spec.replications
        self._submit_runs(job, reps if isinstance(reps, int) else reps.min)

    def _submit_runs(self, job: _Job, n: int) -> None:
        for _ in range(n):
            r = job.next_rep
            job.next_rep += 1
            f = self.ex.submit(run_one, job.spec_ref, job.options, r)
            self.pending[f] = (job, "run", r)
            job.pending += 1
            self.total += 1

    def _loop(self) -> None:
        while self.pending:
            if self.cancel.is_set():
                msg = "the experiment was cancelled; complete scenarios are kept"
                raise ExperimentCancelled(msg)
            ready = [f for f in self.pending if f.done()]
            if not ready:
                self.cancel.wait(0.05)
                continue
            for f in ready:
                job, kind, r = self.pending.pop(f)
                job.pending -= 1
                try:
                    res = f.result()
                except FactoryTwinError:
                    raise
                except Exception as exc:
                    msg = f"scenario {job.plan.name!r}, replication {r} failed: {type(exc).__name__}: {exc}"
                    raise SimulationError(msg) from exc
                self._collect(job, kind, r, res)
                if job.pending == 0:
                    self._advance(job)

    def _collect(self, job: _Job, kind: str, r: int, res: Any) -> None:
        if not rep_dir(job.partial, r).is_dir():
            msg = (
                f"replication {r} of {job.plan.name!r} wrote no records into {job.partial}: "
                "with Dask the result folder must be on a filesystem the workers share"
            )
            raise SimulationError(msg)
        if isinstance(res, RepOutcome):
            job.done[r] = res
        else:
            job.raw[r] = res
        if kind == "run":
            self.runs_done += 1
            self._report(job.plan.name, r)

    def _report(self, name: str, r: int) -> None:
        if self.progress is None:
            return
        el = time.perf_counter() - self.t0
        eta = el / self.runs_done * (self.total - self.runs_done) if self.runs_done else math.nan
        self.progress(name, r, self.runs_done, self.total, eta)

    def _advance(self, job: _Job) -> None:
        if job.raw:  # the first batch of an automatic warm-up: one warm-up for all of them
            series = [r.deferred.series for r in job.raw.values() if r.deferred is not None]
            avg = np.mean(np.vstack(series), axis=0)
            end_s = job.options.days * DAY_S
            warm = float(mser(avg) * end_s / len(avg))
            job.warmup_s = warm
            # replications added later know their warm-up up front
            job.options = RunOptions(**{**job.options.__dict__, "warmup_days": warm / DAY_S,
                                        "defer_kpis": False})  # fmt: skip
            for r, res in sorted(job.raw.items()):
                f = self.ex.submit(finish_one, job.spec_ref, res, warm, str(job.partial.resolve()))
                self.pending[f] = (job, "finish", r)
                job.pending += 1
            job.raw.clear()
            return
        reps = self.spec.replications
        if isinstance(reps, int):
            self._complete(job, len(job.done), "fixed", {})
            return
        n, pct = _sequential_stop(job.done, reps)
        if n is not None:
            self._complete(job, n, "target met", pct)
        elif len(job.done) >= reps.max:
            self._complete(job, reps.max, "cap reached", pct)
        else:
            self._submit_runs(job, min(self.processes, reps.max - job.next_rep))

    def _complete(self, job: _Job, n: int, stop: str, pct: dict[str, float]) -> None:
        import json

        for r in [r for r in job.done if r >= n]:  # run ahead of the stopping count
            shutil.rmtree(rep_dir(job.partial, r), ignore_errors=True)
            del job.done[r]
        reps = sorted(job.done)
        rows = [(r, k, v) for r in reps for k, v in job.done[r].kpis.items()]
        kp = pd.DataFrame(rows, columns=["replication", "kpi", "value"])
        kp.to_parquet(job.partial / "kpis.parquet", index=False)
        p = job.plan
        atomic_write_text(job.partial / "plant.json", plant_json(p.loaded.spec))
        if p.loaded.scenario is not None:
            desc = p.loaded.scenario.describe()
        else:
            desc = [f"the plant file {p.loaded.path.name} as it is"]
        marker = {
            "name": p.name, "key": p.key, "source": str(p.loaded.path), "description": desc,
            "options": p.options, "engine_version": ENGINE_VERSION, "seed": p.seed,
            "streams": "replication r draws every random stream from Streams(seed, r)",
            "replication_numbers": reps, "stop": stop, "half_width_pct": pct,
            "warmup_s": job.warmup_s, "warmup_method": job.warmup_method,
            "bottlenecks": [job.done[r].bottleneck for r in reps],
            "events": sum(job.done[r].events for r in reps),
            "wall_s": [job.done[r].wall_s for r in reps],
            "host": platform.node(), "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        }  # fmt: skip
        commit(job.partial, self.out / p.key, _clean(json.loads(json.dumps(marker, default=str))))
        logger.info("scenario %s complete: %d replications (%s)", p.name, len(reps), stop)


def _clean(v: Any) -> Any:
    """JSON data with NaN and infinities as null (strict JSON readers reject them)."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_clean(x) for x in v]
    return v


def _sequential_stop(
    done: dict[int, RepOutcome], rule: SequentialReplications
) -> tuple[int | None, dict[str, float]]:
    """The first replication count (in number order, at least ``min``) that meets the target.

    Returns the count (None if none does yet) and each KPI's half-width in % of its mean at
    that count (or at all replications done, if none).

    Raises
    ------
    SimulationError
        A chosen KPI that the simulation does not produce.
    """
    reps = sorted(done)
    contiguous = [r for i, r in enumerate(reps) if r == i]
    known = set(done[reps[0]].kpis) if reps else set()
    unknown = [k for k in rule.kpis if k not in known]
    if unknown:
        sample = ", ".join(sorted(k for k in known if "/" not in k))
        msg = f"replications.kpis: no KPI {', '.join(map(repr, unknown))} (KPIs: {sample}, and per group or product as name/<id>)"
        raise SimulationError(msg)

    def pct_at(n: int) -> dict[str, float]:
        out = {}
        for k in rule.kpis:
            iv = t_interval([done[r].kpis.get(k, math.nan) for r in contiguous[:n]])
            m = abs(iv.mean)
            out[k] = (
                0.0 if iv.half_width == 0 else (100.0 * iv.half_width / m if m > 0 else math.inf)
            )
        return out

    for n in range(rule.min, len(contiguous) + 1):
        pct = pct_at(n)
        if all(v < rule.until_half_width_pct for v in pct.values()):
            return n, pct
    return None, pct_at(len(contiguous))
