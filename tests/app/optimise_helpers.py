"""Helpers the optimisation tests and benchmarks/optimise_speed.py share.

:class:`InProcessClient` stands in for a ``distributed.Client`` and runs every task in this
process, in order (the serial baseline of the speed benchmark; the tests read which plants
it simulated). :func:`write_small_study` writes the study of the small test plant
(tests/data/optimise_plant.yaml) and :func:`brute_force` simulates every tool set of the small test plant
(tests/data/optimise_plant.yaml: groups A, B and C of 1-4 tools) with a study's own
replications, horizon and seed, so the optimum a search should find is computed, not
written down.
"""

from __future__ import annotations

import concurrent.futures as cf
import itertools
import shutil
from pathlib import Path
from typing import Any

from factory_twin.app.optimise import Planner, evaluate, tool_cost, trial_kpis
from factory_twin.model.study import load_study

PLANT = Path(__file__).resolve().parents[1] / "data" / "optimise_plant.yaml"
"""The small test plant: three groups of 1-4 tools, 64 tool sets."""

SMALL_STUDY = """\
base: {plant}
horizon_days: 40
warmup_days: 5
replications: 2
seed: 11
variables:
  - {{tools: A, min: 1, max: 4}}
  - {{tools: B, min: 1, max: 4}}
  - {{tools: C, min: 1, max: 4}}
objectives:
  - {{minimise: cost}}
constraints: {{min_throughput_share: 0.98, max_utilisation: 0.85}}
budget: {{trials: {trials}}}
"""
"""The small plant's study: the cheapest tool set with every tool at most 85 % busy."""


def write_small_study(path: Path, trials: int, **fields: str) -> Path:
    """Write the small plant's study with a budget of ``trials`` and ``fields`` added.

    ``fields`` are more top-level fields of the study file, their values as YAML text
    (``sampler="random"``, ``selection="{top_k: 3, replications: 4}"``).
    """
    plant = path.parent / PLANT.name  # a copy: the command saves its winner beside the plant
    if not plant.exists():
        shutil.copyfile(PLANT, plant)
    text = SMALL_STUDY.format(plant=plant, trials=trials)
    text += "".join(f"{k}: {v}\n" for k, v in fields.items())
    path.write_text(text, encoding="utf-8")
    return path


class InProcessClient:
    """A client with the Dask calls the executor makes, running each task in this process.

    It records every plant it simulates, so a test can see what was and was not run.
    """

    def __init__(self) -> None:
        self.simulated: list[Any] = []

    def scatter(self, spec: Any, broadcast: bool = False) -> Any:
        return spec

    def submit(self, fn: Any, *args: Any, pure: bool = False) -> cf.Future[Any]:
        f: cf.Future[Any] = cf.Future()
        self.simulated.append(args[0])
        f.set_result(fn(*args))
        return f

    def cancel(self, futures: Any) -> None:
        """Nothing to cancel: :meth:`submit` returns finished futures."""


def brute_force(study_path: Path) -> dict[tuple[int, int, int], tuple[float, bool]]:
    """Cost and feasibility of every tool set (A, B, C), with the study's replications and seed."""
    sf = load_study(study_path)
    spec = sf.spec
    planner = Planner(sf)
    out = {}
    for a, b, c in itertools.product(range(1, 5), repeat=3):
        plant = planner.plant({"tools/A": a, "tools/B": b, "tools/C": c})
        reps = [trial_kpis(plant, spec.horizon_days, spec.warmup_days, spec.seed, r)
                for r in range(spec.replications)]  # fmt: skip
        kpis = {k: [r[k] for r in reps] for k in reps[0]}
        cost = tool_cost(plant, spec.cost_years)
        _, _, ok = evaluate(spec, plant, kpis, cost)
        out[(a, b, c)] = (cost, ok)
    return out
