"""Headless runs: replications in parallel, warm-up deletion, KPI confidence intervals.

A replication is a pure function of (plant, options, replication number): the same inputs
give the same records on any executor, in this process, in a local process pool or on a
Dask cluster. Replication ``r`` draws every random stream from ``Streams(seed, r)``, so
replications are independent and scenario ``A`` replication ``r`` shares its random numbers
with scenario ``B`` replication ``r`` (common random numbers).
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
import signal
import tempfile
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from factory_twin import __version__
from factory_twin.errors import SimulationError
from factory_twin.model import schema as s
from factory_twin.sim.kpi import (
    Bottleneck,
    KpiAccumulator,
    compute_kpis,
    compute_kpis_chunked,
    wip_series,
)
from factory_twin.sim.model import FabModel, check_spec, parse_rule
from factory_twin.sim.oht import OhtRecord
from factory_twin.sim.records import (
    DEFAULT_CHUNK_ROWS,
    KPI_COLUMNS,
    Recorder,
    iter_parquet,
    read_frames,
)
from factory_twin.sim.stats import Difference, Interval, mser, paired_difference, t_interval

logger = logging.getLogger(__name__)

DAY_S = 86400.0
_MSER_BINS = 200


@dataclass(frozen=True)
class RunOptions:
    """What to simulate and how.

    Parameters
    ----------
    days
        Simulated length of each replication.
    warmup_days
        Warm-up to delete, or None for automatic: Welch's procedure with MSER-5 on the WIP
        series averaged across the replications, one truncation point for all of them
        (a single replication run alone truncates its own series).
    seed
        Scenario seed.
    rule
        Dispatching rule overriding every group's (None keeps the plant's).
    out_dir
        Where replications write their record tables (Parquet), or None.
    keep_frames
        Return the record DataFrames in each result (small runs, tests: every record is
        held in memory).
    spill_rows
        Rows per chunk: the two big record tables (steps, states) go to Parquet chunks of
        this many rows during the run and the KPI pass reads them back chunk by chunk, so
        a replication holds at most this many rows of each in memory whatever its horizon.
    spill_dir
        Where a run without ``out_dir`` (and without ``keep_frames``) puts its chunks: a
        fresh temporary directory inside it, removed when the replication ends, also on
        error or cancel (None: the system's temporary directory).
    defer_kpis
        With an automatic warm-up: keep the records and return the WIP series instead of
        KPIs, for :func:`finish_replication` once the common warm-up is known (set by
        :func:`run_experiment`).
    """

    days: float
    warmup_days: float | None = 0.0
    seed: int = 0
    rule: str | None = None
    out_dir: str | None = None
    keep_frames: bool = False
    spill_rows: int = DEFAULT_CHUNK_ROWS
    spill_dir: str | None = None
    defer_kpis: bool = False

    def check(self) -> None:
        """Raise SimulationError if the options make no sense."""
        if not self.days > 0:
            msg = f"--days must be positive, got {self.days}"
            raise SimulationError(msg)
        if self.warmup_days is not None and not 0 <= self.warmup_days < self.days:
            msg = (
                f"--warmup-days must be in [0, days), got {self.warmup_days} with {self.days} days"
            )
            raise SimulationError(msg)
        if self.seed < 0:
            msg = f"--seed must be non-negative, got {self.seed}"
            raise SimulationError(msg)
        if self.spill_rows < 1:
            msg = f"--chunk-rows must be at least 1, got {self.spill_rows}"
            raise SimulationError(msg)
        parse_rule(self.rule)


@dataclass
class ReplicationResult:
    """The outcome of one replication.

    ``peak_rows`` is the most rows of the steps or states table held in memory at once, by
    the recorder during the run or by the KPI pass (at most ``spill_rows`` unless
    ``keep_frames``).
    """

    replication: int
    kpis: dict[str, float]
    bottleneck: Bottleneck | None
    warmup_s: float
    end_s: float
    events: int
    wall_s: float
    frames: dict[str, pd.DataFrame] | None = None
    files: dict[str, str] = field(default_factory=dict)
    peak_rows: int = 0
    deferred: DeferredKpis | None = None
    amhs: OhtRecord | None = None  # the OHT fleet's per-day sums (amhs model 'oht')


@dataclass
class DeferredKpis:
    """What a replication keeps until the experiment's common warm-up is known.

    ``series`` is its time-average WIP in ``_MSER_BINS`` bins; the records are either
    ``frames`` in memory or Parquet ``chunks`` on the host that ran it, in ``owned_dir``
    (removed by :func:`finish_replication`) unless they belong to ``out_dir``.
    """

    series: np.ndarray
    lots: pd.DataFrame
    qtime: pd.DataFrame
    rpt: dict[str, float]
    chunk_rows: int
    chunks: dict[str, list[str]] = field(default_factory=dict)
    frames: dict[str, pd.DataFrame] | None = None
    owned_dir: str | None = None


def run_replication(spec: s.PlantSpec, options: RunOptions, replication: int) -> ReplicationResult:
    """Run one replication headless and return its KPIs (a picklable top-level function).

    The records stream to Parquet chunks (``out_dir``, else a temporary directory removed
    afterwards) and the KPIs are computed chunk by chunk, so memory stays bounded for any
    horizon; only ``keep_frames`` without ``out_dir`` keeps every record in memory.
    """
    if options.out_dir is not None:
        rep_dir = Path(options.out_dir) / f"rep-{replication:03d}"
        return _replicate(spec, options, replication, rep_dir / "chunks", rep_dir)
    if options.keep_frames:
        return _replicate(spec, options, replication, None, None)
    if options.spill_dir is not None:
        Path(options.spill_dir).mkdir(parents=True, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f"factory-twin-rep{replication:03d}-", dir=options.spill_dir)
    result: ReplicationResult | None = None
    try:
        result = _replicate(spec, options, replication, Path(tmp), None)
        return result
    finally:
        if result is None or result.deferred is None:  # deferred KPIs still need the chunks
            shutil.rmtree(tmp, ignore_errors=True)


def _replicate(
    spec: s.PlantSpec,
    options: RunOptions,
    replication: int,
    spill: Path | None,
    rep_dir: Path | None,
) -> ReplicationResult:
    t0 = time.perf_counter()
    end_s = options.days * DAY_S
    # Only the statistics, over a window known up front: chunks go straight from the
    # recorder into the KPI sums (no Parquet written and read back).
    direct: KpiAccumulator | None = None
    if rep_dir is None and not options.keep_frames and options.warmup_days is not None:
        direct = KpiAccumulator(spec, options.warmup_days * DAY_S, end_s)
        rec = Recorder(None, options.spill_rows, sink=direct.add_rows)
    else:
        rec = Recorder(spill, options.spill_rows)
    try:
        model = FabModel(
            spec, seed=options.seed, replication=replication, rule=options.rule, recorder=rec
        )
        rpt = {pid: pr.rpt_s for pid, pr in model.products.items()}
        model.run(end_s)
        model.finalize()
        amhs = model.oht.record() if model.oht is not None else None
        rec.flush()  # with a sink (the direct path) the last chunks go to the KPI sums now
        events = model.events_scheduled()
        del model
        peak = max(rec.peak_rows("steps"), rec.peak_rows("states"))
        lots, qtime = rec.frame("lots"), rec.frame("qtime")
        if options.warmup_days is None:
            series = wip_series({"lots": lots}, end_s, _MSER_BINS)
            if options.defer_kpis:
                deferred, kept = _defer(rec, options, spill, rep_dir, series, lots, qtime, rpt)
                return ReplicationResult(
                    replication=replication, kpis={}, bottleneck=None, warmup_s=math.nan,
                    end_s=end_s, events=events, wall_s=time.perf_counter() - t0,
                    frames=deferred.frames if options.keep_frames else None, files=kept,
                    peak_rows=peak, deferred=deferred, amhs=amhs,
                )  # fmt: skip
            warm = mser(series) * end_s / _MSER_BINS
        else:
            warm = options.warmup_days * DAY_S
        files: dict[str, str] = {}
        frames: dict[str, pd.DataFrame] | None = None
        chunk_peak = [0]
        if direct is not None:
            kpis, bn = direct.finish(lots, qtime, rpt)
        else:
            if rep_dir is not None:
                paths = rec.write_parquet(rep_dir)
                files = {k: str(v) for k, v in paths.items()}
                if options.keep_frames:
                    frames = read_frames(paths)
                else:
                    steps = iter_parquet(paths["steps"], KPI_COLUMNS["steps"], options.spill_rows)
                    states = iter_parquet(
                        paths["states"], KPI_COLUMNS["states"], options.spill_rows
                    )
            elif spill is None:
                frames = rec.frames()
            else:
                steps = rec.iter_chunks("steps", KPI_COLUMNS["steps"])
                states = rec.iter_chunks("states", KPI_COLUMNS["states"])
            if frames is not None:
                kpis, bn = compute_kpis(frames, spec, warm, end_s, rpt)
                peak = max(peak, len(frames["steps"]), len(frames["states"]))
            else:
                kpis, bn = compute_kpis_chunked(
                    _measured(steps, chunk_peak), _measured(states, chunk_peak), lots, qtime,
                    spec, warm, end_s, rpt,
                )  # fmt: skip
                peak = max(peak, chunk_peak[0])
    finally:
        rec.discard_chunks()  # nothing is left of an unfinished run's chunks
    if amhs is not None:
        kpis.update(amhs.kpis(warm, end_s))
    return ReplicationResult(
        replication=replication,
        kpis=kpis,
        bottleneck=bn,
        warmup_s=warm,
        end_s=end_s,
        events=events,
        wall_s=time.perf_counter() - t0,
        frames=frames if options.keep_frames else None,
        files=files,
        peak_rows=peak,
        amhs=amhs,
    )


def _defer(
    rec: Recorder,
    options: RunOptions,
    spill: Path | None,
    rep_dir: Path | None,
    series: np.ndarray,
    lots: pd.DataFrame,
    qtime: pd.DataFrame,
    rpt: dict[str, float],
) -> tuple[DeferredKpis, dict[str, str]]:
    """Keep a finished replication's records for :func:`finish_replication`."""
    d = DeferredKpis(series, lots, qtime, rpt, options.spill_rows)
    files: dict[str, str] = {}
    if rep_dir is not None:
        paths = rec.write_parquet(rep_dir)
        files = {k: str(v) for k, v in paths.items()}
        if options.keep_frames:
            d.frames = read_frames(paths)
        else:
            d.chunks = {t: [str(paths[t])] for t in ("steps", "states")}
    elif spill is None:
        d.frames = rec.frames()
    else:
        d.chunks = {t: [str(p) for p in ps] for t, ps in rec.keep_chunks().items()}
        d.owned_dir = str(spill)
    return d, files


def finish_replication(
    spec: s.PlantSpec, result: ReplicationResult, warmup_s: float
) -> ReplicationResult:
    """Compute a deferred replication's KPIs over ``[warmup_s, end]``; free its records.

    Runs where the replication's records are (its host, for a Dask worker).
    """
    d = result.deferred
    if d is None:
        return result
    t0 = time.perf_counter()
    peak = result.peak_rows
    try:
        if d.frames is not None:
            kpis, bn = compute_kpis(d.frames, spec, warmup_s, result.end_s, d.rpt)
            peak = max(peak, len(d.frames["steps"]), len(d.frames["states"]))
        else:
            chunk_peak = [0]

            def read(table: str) -> Iterator[pd.DataFrame]:
                for path in d.chunks[table]:
                    yield from iter_parquet(path, KPI_COLUMNS[table], d.chunk_rows)

            kpis, bn = compute_kpis_chunked(
                _measured(read("steps"), chunk_peak), _measured(read("states"), chunk_peak),
                d.lots, d.qtime, spec, warmup_s, result.end_s, d.rpt,
            )  # fmt: skip
            peak = max(peak, chunk_peak[0])
    finally:
        if d.owned_dir is not None:
            shutil.rmtree(d.owned_dir, ignore_errors=True)
    if result.amhs is not None:
        kpis.update(result.amhs.kpis(warmup_s, result.end_s))
    return ReplicationResult(
        replication=result.replication,
        kpis=kpis,
        bottleneck=bn,
        warmup_s=warmup_s,
        end_s=result.end_s,
        events=result.events,
        wall_s=result.wall_s + time.perf_counter() - t0,
        frames=result.frames,
        files=result.files,
        peak_rows=peak,
        amhs=result.amhs,
    )


def common_warmup_s(results: Sequence[ReplicationResult]) -> float:
    """Welch's procedure with MSER-5: one truncation point from the averaged WIP series.

    The WIP series of the replications (same bins) are averaged and MSER-5 picks the
    truncation on that average, so every replication deletes the same warm-up. Choosing
    it per replication would cut each run where its own series happens to be low or high
    and bias the results (Hoad, Robinson & Davies 2010; Law 2015, 9.5.1).
    """
    series = [r.deferred.series for r in results if r.deferred is not None]
    if not series:
        msg = "no replication kept its WIP series for the automatic warm-up"
        raise SimulationError(msg)
    end_s = next(r.end_s for r in results if r.deferred is not None)
    avg = np.mean(np.vstack(series), axis=0)
    return float(mser(avg) * end_s / _MSER_BINS)


def _measured(chunks: Iterable[pd.DataFrame], peak: list[int]) -> Iterator[pd.DataFrame]:
    """Pass the chunks through, keeping the largest row count in ``peak[0]``."""
    for c in chunks:
        peak[0] = max(peak[0], len(c))
        yield c


def _ignore_sigint() -> None:
    # Ctrl-C belongs to the parent, which cancels the pool and keeps finished replications.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@dataclass(frozen=True)
class ReplicationFailure:
    """The replication whose error stopped a run: its number and ``Type: message``."""

    replication: int
    error: str
    exc: BaseException = field(repr=False, compare=False)


class _Failed(Exception):  # internal: carries a replication's own error out of the loop
    def __init__(self, replication: int, exc: BaseException) -> None:
        super().__init__(replication, exc)
        self.replication, self.exc = replication, exc


def error_text(exc: BaseException) -> str:
    """``Type: message`` of an error.

    Examples
    --------
    >>> error_text(SimulationError("no tool for step 3"))
    'SimulationError: no tool for step 3'
    """
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


@dataclass
class Experiment:
    """Replications of one scenario and their summary.

    ``interrupted`` (Ctrl-C) or ``failure`` (a replication raised an error) mean the run
    stopped early: ``results`` hold the replications that finished, of ``requested``.
    """

    name: str
    options: RunOptions
    results: list[ReplicationResult]
    interrupted: bool = False
    requested: int = 0
    failure: ReplicationFailure | None = None

    @property
    def partial(self) -> str | None:
        """Why only some replications are summarised, in words (None: all finished)."""
        if self.failure is not None:
            why = f"replication {self.failure.replication} failed ({self.failure.error})"
        elif self.interrupted:
            why = "interrupted (Ctrl-C)"
        else:
            return None
        return f"{why}; {len(self.results)} of {self.requested} replications finished"

    def kpi_names(self) -> list[str]:
        """KPI names in first-seen order."""
        names: dict[str, None] = {}
        for r in self.results:
            names.update(dict.fromkeys(r.kpis))
        return list(names)

    def values(self, kpi: str) -> list[float]:
        """The per-replication values of ``kpi``, in replication order."""
        return [
            r.kpis.get(kpi, math.nan) for r in sorted(self.results, key=lambda r: r.replication)
        ]

    def summary(self, level: float = 0.95) -> dict[str, Interval]:
        """Return the t confidence interval of every KPI."""
        return {k: t_interval(self.values(k), level) for k in self.kpi_names()}

    def bottleneck(self) -> tuple[str, str] | None:
        """Return the group named bottleneck in most replications, with the evidence."""
        names = [r.bottleneck.group for r in self.results if r.bottleneck is not None]
        if not names:
            return None
        g = max(set(names), key=lambda n: (names.count(n), n))
        summ = self.summary()
        util = summ.get(f"utilisation/{g}")
        q = summ.get(f"queue_lots/{g}")
        w = summ.get(f"wait_h/{g}")
        ev = f"bottleneck in {names.count(g)} of {len(names)} replications"
        area = next(
            (r.bottleneck.area for r in self.results if r.bottleneck and r.bottleneck.group == g),
            "",
        )
        if area:
            ev = f"area {area}; " + ev
        if util is not None:
            ev += f"; productive {100 * util.mean:.1f}% of all time"
        if q is not None:
            ev += f", average queue {q.mean:.2f} lots"
        if w is not None and not math.isnan(w.mean):
            ev += f", mean wait {w.mean:.2f} h"
        return g, ev

    def bottleneck_area(self) -> str | None:
        """Return the area (bay) of the bottleneck group, or None."""
        bn = self.bottleneck()
        if bn is None:
            return None
        return next(
            (
                r.bottleneck.area
                for r in self.results
                if r.bottleneck and r.bottleneck.group == bn[0]
            ),
            None,
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary: ``results`` and, apart, ``run`` (how this run went).

        ``results`` depends only on the plant, the options and the seed, so two runs of the
        same scenario give byte-identical ``results``; wall times, output paths and the host
        are in ``run``.
        """
        bn = self.bottleneck()
        ordered = sorted(self.results, key=lambda r: r.replication)
        results = {
            "options": {
                "days": self.options.days,
                "warmup_days": self.options.warmup_days,
                "seed": self.options.seed,
                "rule": self.options.rule,
            },
            "replications": len(self.results),
            "replications_requested": self.requested,
            "interrupted": self.interrupted,
            "failed": []
            if self.failure is None
            else [{"replication": self.failure.replication, "error": self.failure.error}],
            "warmup_s": [r.warmup_s for r in ordered],
            "warmup_method": "fixed"
            if self.options.warmup_days is not None
            else "MSER-5 on the replications' average WIP series (Welch), one for all",
            "events": sum(r.events for r in self.results),
            "kpis": {k: _json_interval(v) for k, v in self.summary().items()},
            "counts": {
                k: "count over the observation window (see the *_per_day rate)" for k in COUNT_KPIS
            },
            "per_replication": [
                {"replication": r.replication, "kpis": _json_dict(r.kpis)} for r in ordered
            ],
            "bottleneck": None
            if bn is None
            else {"group": bn[0], "area": self.bottleneck_area(), "evidence": bn[1]},
        }
        run = {
            "wall_s": [r.wall_s for r in ordered],
            "files": {str(r.replication): r.files for r in ordered if r.files},
            "host": platform.node(),
            "python": platform.python_version(),
            "factory_twin": __version__,
            "finished_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        partial = self.partial
        reason = "error" if self.failure is not None else "interrupted"
        return {
            "scenario": self.name,
            "partial": None if partial is None else {"reason": reason, "message": partial},
            "results": results,
            "run": run,
        }


#: KPIs that are counts over the observation window (with a ``<name>_per_day`` rate beside).
COUNT_KPIS = ("scrapped_lots", "qtime_violations", "reworks")


def _json_num(v: float) -> float | None:
    return None if v is None or not math.isfinite(v) else float(v)


def _json_interval(iv: Interval) -> dict[str, Any]:
    return {k: _json_num(v) if isinstance(v, float) else v for k, v in iv.as_dict().items()}


def _json_dict(d: dict[str, float]) -> dict[str, float | None]:
    return {k: _json_num(v) for k, v in d.items()}


def run_experiment(
    spec: s.PlantSpec,
    options: RunOptions,
    replications: int,
    *,
    jobs: int | None = None,
    scheduler: str | Any | None = None,
    name: str = "scenario",
    progress: Callable[[int, int], None] | None = None,
    first_replication: int = 0,
    on_failure: Literal["raise", "partial", "return"] = "raise",
) -> Experiment:
    """Run ``replications`` replications and collect them.

    Parameters
    ----------
    jobs
        Local worker processes (None: one per core, at most one per replication; 1 runs
        in this process).
    scheduler
        A Dask scheduler address (``tcp://host:port``) or a ``distributed.Client``: run
        the replications on that cluster instead.
    progress
        Called with (finished, total) after each replication.
    on_failure
        What an error in a replication does: ``"raise"`` raises it (the other replications
        cancelled); ``"partial"`` returns the finished replications with ``failure`` set, or
        raises the error if none had finished; ``"return"`` always returns (``failure`` set).

    Ctrl-C stops the run and returns the finished replications with ``interrupted`` set.
    An error in a replication stops the run too (the other replications are cancelled) and
    is raised, or returned as ``failure`` beside the finished replications (``on_failure``). Local runs without ``out_dir`` spill their record chunks into one
    temporary directory (inside ``options.spill_dir`` if given) that is removed at the end, even when workers
    were stopped mid-run; with ``out_dir`` the folders of unfinished replications are
    removed (only finished replications are kept).
    """
    options.check()
    check_spec(spec)
    if replications < 1:
        msg = f"--replications must be at least 1, got {replications}"
        raise SimulationError(msg)
    reps = list(range(first_replication, first_replication + replications))
    results: list[ReplicationResult] = []
    exp = Experiment(name, options, results, requested=replications)
    auto = options.warmup_days is None
    if auto:  # one warm-up for all: the KPIs wait until every WIP series is in
        options = _replace(options, defer_kpis=True)

    def _done(r: ReplicationResult) -> None:
        results.append(r)
        if progress is not None:
            progress(len(results), len(reps))

    if jobs is None:
        jobs = min(len(reps), os.cpu_count() or 1)
    tmp: str | None = None
    try:
        try:
            if scheduler is not None:
                # Dask workers may run on other hosts: each spills to its own temporary directory
                _run_dask(spec, _replace(options, spill_dir=None), reps, scheduler, _done, results)
            else:
                local = options
                if options.out_dir is None and not options.keep_frames:
                    if options.spill_dir is not None:
                        Path(options.spill_dir).mkdir(parents=True, exist_ok=True)
                    tmp = tempfile.mkdtemp(prefix="factory-twin-spill-", dir=options.spill_dir)
                    local = _replace(options, spill_dir=tmp)
                if jobs <= 1 or len(reps) == 1:
                    for r in reps:
                        try:
                            res = run_replication(spec, local, r)
                        except Exception as exc:
                            raise _Failed(r, exc) from exc
                        _done(res)
                else:
                    _run_pool(spec, local, reps, jobs, _done)
        except KeyboardInterrupt:
            exp.interrupted = True
            logger.warning("interrupted after %d of %d replications", len(results), len(reps))
        except _Failed as f:
            exp.failure = ReplicationFailure(f.replication, error_text(f.exc), f.exc)
            logger.info("replication %d failed", f.replication, exc_info=f.exc)
        if auto and any(r.deferred is not None for r in results):  # local (Dask: on workers)
            warm = common_warmup_s(results)
            results[:] = [finish_replication(spec, r, warm) for r in results]
    finally:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        if options.out_dir is not None and scheduler is None:
            finished = {r.replication for r in results}
            for r in reps:
                if r not in finished:  # a worker stopped mid-run leaves its chunks
                    shutil.rmtree(Path(options.out_dir) / f"rep-{r:03d}", ignore_errors=True)
    results.sort(key=lambda r: r.replication)
    if exp.failure is not None and (
        on_failure == "raise" or (on_failure == "partial" and not results)
    ):
        raise exp.failure.exc
    return exp


def _replace(options: RunOptions, **changes: Any) -> RunOptions:
    return RunOptions(**{**options.__dict__, **changes})


def _run_pool(
    spec: s.PlantSpec,
    options: RunOptions,
    reps: Sequence[int],
    jobs: int,
    done: Callable[[ReplicationResult], None],
) -> None:
    ctx = mp.get_context("spawn")
    pool = cf.ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_ignore_sigint)
    futs = {pool.submit(run_replication, spec, options, r): r for r in reps}
    try:
        for f in cf.as_completed(futs):
            try:
                res = f.result()
            except Exception as exc:  # the replication's own error (or its worker died)
                raise _Failed(futs[f], exc) from exc
            done(res)
    except BaseException:
        procs = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for p in procs:
            p.terminate()
        for p in procs:  # gone before the caller removes their spill files
            p.join(timeout=10)
        raise
    pool.shutdown(wait=True)


def _run_dask(
    spec: s.PlantSpec,
    options: RunOptions,
    reps: Sequence[int],
    scheduler: str | Any,
    done: Callable[[ReplicationResult], None],
    results: list[ReplicationResult],
) -> None:
    try:
        from distributed import Client, as_completed
    except ImportError as exc:  # pragma: no cover - dask[distributed] is a dependency
        msg = f"--scheduler needs dask.distributed: {exc}"
        raise SimulationError(msg) from None
    own = isinstance(scheduler, str)
    try:
        client: Client = Client(scheduler, timeout=10) if isinstance(scheduler, str) else scheduler
    except (OSError, TimeoutError) as exc:
        msg = f"cannot reach the Dask scheduler {scheduler}: {exc}"
        raise SimulationError(msg) from None
    try:
        sfut = client.scatter(spec, broadcast=True)
        futs = {client.submit(run_replication, sfut, options, r, pure=False): r for r in reps}
        where: dict[int, list[str]] = {}
        try:
            for f in as_completed(list(futs)):
                try:
                    r = f.result()
                except Exception as exc:
                    raise _Failed(futs[f], exc) from exc
                where[r.replication] = list(client.who_has(f).get(f.key, ()))
                done(r)
        except BaseException:
            client.cancel(list(futs))
            if options.defer_kpis:  # the finished ones still hold records on their workers
                try:
                    _finish_on_workers(client, sfut, results, where)
                except Exception:
                    logger.exception("could not finish the replications that had ended")
            raise
        if options.defer_kpis:
            _finish_on_workers(client, sfut, results, where)
    finally:
        if own:
            client.close()


def _finish_on_workers(
    client: Any, sfut: Any, results: list[ReplicationResult], where: dict[int, list[str]]
) -> None:
    """Finish deferred replications with the common warm-up, each where its records are."""
    from distributed import as_completed

    pending = [r for r in results if r.deferred is not None]
    if not pending:
        return
    warm = common_warmup_s(pending)
    futs = [
        client.submit(finish_replication, sfut, r, warm, pure=False,
                      workers=where.get(r.replication) or None, allow_other_workers=False)
        for r in pending
    ]  # fmt: skip
    done = {f.result().replication: f.result() for f in as_completed(futs)}
    results[:] = [done.get(r.replication, r) for r in results]


# --------------------------------------------------------------------------- comparison


@dataclass
class Comparison:
    """Scenarios run on common random numbers, each compared with the first."""

    experiments: list[Experiment]
    differences: dict[str, list[Difference]]  # kpi -> one per non-baseline scenario
    #: every scenario asked for, in order (a stopped run has fewer ``experiments``)
    requested: list[str] = field(default_factory=list)

    @property
    def partial(self) -> str | None:
        """Why the comparison covers only some replications, in words (None: all finished)."""
        parts = [f"scenario {e.name!r} (scenario-{i}): {e.partial}"
                 for i, e in enumerate(self.experiments) if e.partial]  # fmt: skip
        not_run = self.requested[len(self.experiments) :]
        if not_run:
            parts.append("not run: " + ", ".join(repr(n) for n in not_run))
        return "; ".join(parts) or None

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        partial = self.partial
        reason = "error" if any(e.failure for e in self.experiments) else "interrupted"
        return {
            "baseline": self.experiments[0].name,
            "partial": None if partial is None else {"reason": reason, "message": partial},
            "scenarios": [e.to_json() for e in self.experiments],
            "differences": {
                k: [
                    {
                        "scenario": d.scenario,
                        "baseline": d.baseline,
                        "difference": _json_interval(d.interval),
                        "verdict": d.verdict(),
                    }
                    for d in ds
                ]
                for k, ds in self.differences.items()
            },
        }


def compare(
    specs: Sequence[tuple[str, s.PlantSpec]],
    options: RunOptions,
    replications: int,
    *,
    jobs: int | None = None,
    scheduler: str | Any | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Comparison:
    """Run every scenario with the same seed and replications and pair their KPIs.

    With ``options.out_dir`` scenario ``i`` writes into ``out_dir/scenario-i``; a scenario
    stopped before any of its replications finished leaves no folder. Ctrl-C or an error in
    a replication stops the run after that scenario (see :func:`run_experiment`); an error
    before any replication of the first scenario finished is raised.
    """
    if len(specs) < 2:
        msg = "compare needs at least two plant files"
        raise SimulationError(msg)
    for _, sp in specs:
        check_spec(sp)
    exps: list[Experiment] = []
    total = len(specs) * replications
    for i, (name, sp) in enumerate(specs):
        base_done = i * replications

        def _prog(done: int, _n: int, base_done: int = base_done) -> None:
            if progress is not None:
                progress(base_done + done, total)

        opts = options
        if options.out_dir is not None:
            opts = _replace(options, out_dir=str(Path(options.out_dir) / f"scenario-{i}"))
        try:
            e = run_experiment(sp, opts, replications, jobs=jobs, scheduler=scheduler,
                               name=name, progress=_prog, on_failure="return")  # fmt: skip
        finally:
            if opts.out_dir is not None:  # a scenario with no finished replication
                with contextlib.suppress(OSError):
                    Path(opts.out_dir).rmdir()  # only if empty
        exps.append(e)
        if e.interrupted or e.failure is not None:
            break
    base = exps[0]
    if base.failure is not None and not base.results:
        raise base.failure.exc
    diffs: dict[str, list[Difference]] = {}
    for k in base.kpi_names():
        a = {r.replication: r.kpis.get(k, math.nan) for r in base.results}
        for e in exps[1:]:
            b = {r.replication: r.kpis.get(k, math.nan) for r in e.results}
            # pair by replication number (an interrupted run may have finished others)
            pairs = [(a[i], b[i]) for i in sorted(a.keys() & b.keys())
                     if not (np.isnan(a[i]) or np.isnan(b[i]))]  # fmt: skip
            iv = paired_difference([p[0] for p in pairs], [p[1] for p in pairs])
            diffs.setdefault(k, []).append(Difference(k, base.name, e.name, iv))
    return Comparison(exps, diffs, [name for name, _ in specs])
