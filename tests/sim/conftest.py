"""Fixtures and helpers of the simulation tests."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).parent))

from factory_twin.sim.runner import Experiment

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parents[2]


@pytest.fixture
def rng() -> np.random.Generator:
    """A fixed-seed generator for test inputs."""
    return np.random.default_rng(12345)


@pytest.fixture
def mini_plant_path() -> Path:
    """The shared tiny two-group test plant."""
    return ROOT / "tests" / "data" / "mini_plant.yaml"


def check_little(exp: Experiment, rel_tol: float = 0.06) -> None:
    """Assert Little's law L = lambda W on every replication of an experiment.

    L is the time-average WIP, lambda the exit rate, W the mean cycle time, all over the
    same window; edge effects (lots straddling the window ends) make it approximate.
    """
    for r in exp.results:
        k = r.kpis
        lam = k["throughput_lots_per_day"] / 24.0  # lots per hour
        w = k["cycle_time_mean_h"]
        big_l = k["wip_lots"]
        assert not math.isnan(w)
        assert lam * w == pytest.approx(big_l, rel=rel_tol), (r.replication, lam * w, big_l)
