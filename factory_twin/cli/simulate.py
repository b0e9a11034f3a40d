"""Run a discrete-event simulation of a plant: replications, warm-up, KPIs with CIs.

Replications run in parallel local processes (or on a Dask cluster with --scheduler) and
give identical results whichever runs them. Prints a KPI table (mean ± 95% confidence
half-width); with --out writes summary.json and, per replication, the record tables as
Parquet (steps, states, wip, lots, qtime). Ctrl-C stops and keeps finished replications.
An earlier run's files in --out move aside into DIR/.previous-<time> and go once the new
summary.json is written; a run stopped before any replication finished puts them back. An
error in a replication stops the run: the finished ones are summarised in a summary.json
marked partial (naming the replication and the error), the earlier run's files are kept in
DIR/earlier-run-<time>, and the exit code is 1.

Records stream to Parquet in chunks of --chunk-rows rows and the KPIs are computed chunk by
chunk, so memory stays bounded for any horizon; with --summary-only the chunks go to a
temporary directory (inside --out if given) that is removed when the run ends.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from factory_twin.app.experiment_spec import scheduler_address
from factory_twin.cli.args import bounded_int, positive_float, positive_int, seed_int
from factory_twin.cli.run_folder import RunFolder
from factory_twin.errors import SimulationError
from factory_twin.model.config import atomic_write_text
from factory_twin.model.scenario import load_plant_or_scenario
from factory_twin.model.schema import DispatchRule
from factory_twin.sim.records import DEFAULT_CHUNK_ROWS
from factory_twin.sim.report import kpi_table
from factory_twin.sim.runner import Experiment, RunOptions, run_experiment


def warmup_arg(text: str) -> float | None:
    """Parse --warmup-days: a number of days or 'auto' (MSER-5)."""
    if text.strip().lower() == "auto":
        return None
    try:
        days = float(text)
    except ValueError:
        days = math.nan
    if not (math.isfinite(days) and days >= 0):
        msg = f"expected a number of days (0 or more) or 'auto', got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return days


def scheduler_arg(text: str) -> str:
    """Parse --scheduler: a Dask scheduler as ``tcp://host:port``, ``tls://...`` or ``host:port``.

    Examples
    --------
    >>> scheduler_arg("10.0.0.5:8786"), scheduler_arg("dask://h:1")
    ('tcp://10.0.0.5:8786', 'tcp://h:1')
    """
    url = text.strip() if "://" in text else f"tcp://{text.strip()}"
    try:
        address = scheduler_address(url)
    except ValueError:
        address = None
    if address is None:
        msg = f"a Dask scheduler looks like tcp://host:port (or host:port), got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return address


scheduler_arg.__name__ = "scheduler"


def add_common(p: argparse.ArgumentParser) -> None:
    """Arguments shared by simulate and compare."""
    p.add_argument(
        "--days", type=positive_float, default=30.0, help="simulated days per replication (30)"
    )
    p.add_argument(
        "--warmup-days", type=warmup_arg, default=0.0, metavar="W",
        help="warm-up to delete: days, or 'auto' for MSER-5 (0)",
    )  # fmt: skip
    p.add_argument(
        "--replications",
        type=bounded_int(1, 100_000),
        default=5,
        metavar="R",
        help="replications (5)",
    )
    p.add_argument("--seed", type=seed_int, default=0, help="scenario seed (0)")
    p.add_argument(
        "--rule", choices=[r.value for r in DispatchRule], default=None,
        help="dispatching rule for every tool group (default: each group's own)",
    )  # fmt: skip
    p.add_argument(
        "--jobs",
        type=bounded_int(1, 1024),
        default=None,
        metavar="N",
        help="local worker processes (one per core)",
    )
    p.add_argument(
        "--scheduler", type=scheduler_arg, default=None, metavar="tcp://HOST:PORT",
        help="run on this Dask cluster",
    )  # fmt: skip
    p.add_argument("--out", type=Path, default=None, metavar="DIR", help="write results here")
    p.add_argument("--json", action="store_true", help="print the summary as JSON")
    p.add_argument(
        "--summary-only", action="store_true",
        help="write only summary.json, not the per-replication record tables (records "
        "stream to a temporary directory, inside --out if given, removed afterwards)",
    )  # fmt: skip
    p.add_argument(
        "--chunk-rows", type=positive_int, default=DEFAULT_CHUNK_ROWS, metavar="N",
        help=f"record rows per Parquet chunk: bounds memory ({DEFAULT_CHUNK_ROWS:,})",
    )  # fmt: skip


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add this command's arguments."""
    p.add_argument("plant", type=Path, metavar="PLANT.yaml", help="plant file, or a scenario file")
    add_common(p)


def options_from(args: argparse.Namespace, out_dir: Path | None) -> RunOptions:
    """Build and check the run options from parsed arguments."""
    if args.jobs is not None and args.jobs < 1:
        msg = f"--jobs must be at least 1, got {args.jobs}"
        raise SimulationError(msg)
    if args.replications < 1:
        msg = f"--replications must be at least 1, got {args.replications}"
        raise SimulationError(msg)
    opts = RunOptions(
        days=args.days,
        warmup_days=args.warmup_days,
        seed=args.seed,
        rule=args.rule,
        out_dir=str(out_dir) if out_dir is not None and not args.summary_only else None,
        spill_rows=args.chunk_rows,
        spill_dir=str(out_dir) if out_dir is not None and args.summary_only else None,
    )
    opts.check()
    return opts


class Progress:
    """A tqdm bar on a terminal, nothing otherwise."""

    def __init__(self, total: int, desc: str) -> None:
        self.bar: Any = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, desc=desc, unit="rep", file=sys.stderr)

    def __call__(self, done: int, total: int) -> None:
        if self.bar is not None:
            self.bar.n = done
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def finish(
    exp_json: dict[str, Any],
    text: str,
    args: argparse.Namespace,
    interrupted: bool,
    done: int,
    folder: RunFolder | None = None,
    failure: str | None = None,
) -> int:
    """Write summary.json, print the table or JSON, return the exit code.

    Once summary.json is written, the earlier run's results set aside in ``folder`` go.
    After an error in a replication (``failure`` names it and the error) they are kept
    instead, in ``earlier-run-<time>``, named in the summary's ``partial``; exit code 1.
    """
    kept = folder.keep() if folder is not None and failure is not None else None
    if kept is not None:  # (renamed before the summary is written: see run_folder)
        exp_json["partial"]["earlier_results"] = str(kept)
    if args.out is not None:
        atomic_write_text(
            args.out / "summary.json", json.dumps(exp_json, indent=2, allow_nan=False)
        )
    if folder is not None:
        folder.commit()
    if args.json:
        print(json.dumps(exp_json, indent=2, allow_nan=False))
    else:
        print(text)
    if failure is not None:
        where = "" if args.out is None else f" in {args.out / 'summary.json'}"
        msg = (
            f"factory-twin: error: {failure}\nfactory-twin: the {done} finished "
            f"replication(s) are summarised{where}, marked partial"
        )
        if kept is not None:
            msg += f"; the earlier results are kept in {kept}"
        print(msg, file=sys.stderr)
        return 1
    if interrupted:
        print(
            f"factory-twin: interrupted: kept {done} finished replication(s)"
            + (f" in {args.out}" if args.out is not None else ""),
            file=sys.stderr,
        )
        return 130
    return 0


def nothing_finished(folder: RunFolder | None) -> int:
    """A run stopped before any replication finished: put back the earlier results; 130."""
    msg = "factory-twin: interrupted before any replication finished"
    if folder is not None:
        if folder.previous is not None:
            msg += f"; the earlier results in {folder.out} are kept"
        folder.restore()
    print(msg, file=sys.stderr)
    return 130


def run(args: argparse.Namespace) -> int:
    """Simulate; return 0, 1 if a replication failed, 2 on bad input, 130 if interrupted."""
    loaded = load_plant_or_scenario(args.plant)
    spec = loaded.spec
    try:
        opts = options_from(args, args.out)
        from factory_twin.sim.model import check_spec

        check_spec(spec)
    except SimulationError as exc:
        print(f"factory-twin: error: {args.plant}: {exc}", file=sys.stderr)
        return 2
    folder = RunFolder(args.out) if args.out is not None else None
    bar = Progress(args.replications, loaded.name)
    finished = [0]

    def progress(done: int, total: int) -> None:
        finished[0] = done
        bar(done, total)

    try:
        exp: Experiment = run_experiment(
            spec, opts, args.replications, jobs=args.jobs, scheduler=args.scheduler,
            name=loaded.name, progress=progress, on_failure="partial",
        )  # fmt: skip
    except BaseException:
        if folder is not None:  # no summary can be written: the earlier results come back
            folder.restore()
        raise
    finally:
        bar.close()
    if not exp.results:
        return nothing_finished(folder)
    data = exp.to_json()
    data["run"]["plant"] = str(args.plant)
    data["run"]["out"] = None if args.out is None else str(args.out)
    failure = None
    if exp.failure is not None:
        failure = f"replication {exp.failure.replication} failed: {exp.failure.error}"
    n = len(exp.results)
    return finish(data, kpi_table(exp), args, exp.interrupted, n, folder, failure)
