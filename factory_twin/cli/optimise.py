"""Run an optimisation study: search tool counts and dispatch rules by simulation.

Reads NAME.study.yaml (base plant or scenario, variables, objectives, constraints, budget)
and writes the output folder (default NAME.optimise/ beside it): optuna's storage
(study.db) and the report (report.txt, report.json, pareto.png). The winner (or each
statistically tied finalist) is saved as the Plan workspace's Optimise saves a trial it
takes: an ordinary scenario beside the plant, STUDY_winner.scenario.yaml
(STUDY_tied_trial_N) or the next free STUDY_winner_2, ... when the name is taken, written
atomically and exclusively with a note naming the study, trial and objective values; a
user's file is never overwritten, and a re-run reuses its own identical file. Run it again on
the same folder to resume: finished trials are kept (also after Ctrl-C or a crash); a study
changed since its trials ran (base plant, horizon, warm-up, replications, seed, variables,
objectives, constraints) is refused there rather than mixed with them, and so is a folder
another optimise run is using now (its running trials stay its own). Prints
a progress line with the best feasible trial so far, then the report, which ends with where
each scenario went.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from factory_twin.app.optimise import OptimiseProgress, load_study
from factory_twin.app.optimise import run as run_study
from factory_twin.cli.run_options import ProgressLine, add_run_options, duration


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add this command's arguments."""
    p.add_argument("study", type=Path, metavar="STUDY.yaml", help="study file")
    add_run_options(
        p,
        out_help="output folder (default: NAME.optimise beside the study file); an existing "
        "one is resumed",
        dask_help="run the replications on this Dask scheduler (host:port or dask://host:port)",
    )


class _Line(ProgressLine):
    """The progress line of a study: trials, pruned, running, and the best so far."""

    def __init__(self) -> None:
        super().__init__(width=200)

    def __call__(self, p: OptimiseProgress) -> None:
        if p.phase == "search":
            text = (f"[{p.done}/{p.total} trials, {p.pruned} pruned, {p.running} running, "
                    f"{duration(p.elapsed_s)}] best: {p.best or '-'}")  # fmt: skip
        else:
            text = f"final selection: {p.done}/{p.total} replications"
        self.show(text)


def run(args: argparse.Namespace) -> int:
    """Run; return 0, 2 on bad input, 130 if interrupted."""
    study = load_study(args.study)
    line = _Line()
    try:
        outcome = run_study(study, args.out, progress=line, executor=args.dask,
                            processes=args.processes, beside_plant=True)  # fmt: skip
    finally:
        line.close()
    print((outcome.out_dir / "report.txt").read_text(encoding="utf-8"), end="")
    print(f"\nreport, plot and storage in {outcome.out_dir} ({duration(outcome.wall_s)})")
    return 0
