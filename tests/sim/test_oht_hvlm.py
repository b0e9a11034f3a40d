"""SMT2020 HVLM on its SMAT2022 layout with a vehicle-level OHT fleet (sim/oht.py).

A run of several simulated days with 100 vehicles must never deadlock, must keep the fleet
out of the way (moves hardly wait for a vehicle) and must deliver the fab's release rate.
``amhs: simple`` (or a plant without rails) keeps the old transport model exactly.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from factory_twin.model import schema as s
from factory_twin.model.config import load_plant
from factory_twin.sim.runner import RunOptions, run_replication

PLANT = Path(__file__).resolve().parents[2] / "plant_configs" / "smt2020_hvlm_smat2022.yaml"
RELEASE_PER_DAY = 2 * 1440 / 51.69  # two products, a regular lot each every 51.69 min


@pytest.fixture(scope="module")
def spec() -> s.PlantSpec:
    return load_plant(PLANT).spec


def test_amhs_simple_is_the_old_transport_model(spec: s.PlantSpec) -> None:
    assert spec.amhs is not None
    simple = spec.model_copy(update={"amhs": spec.amhs.model_copy(update={"model": "simple"})})
    bare = spec.model_copy(update={"amhs": None})
    opts = RunOptions(days=0.1, warmup_days=0.0)
    a, b = run_replication(simple, opts, 0), run_replication(bare, opts, 0)
    assert a.kpis == b.kpis and a.events == b.events
    assert not any(k.startswith("amhs_") for k in a.kpis)


@pytest.mark.slow
def test_hvlm_with_100_vehicles_runs_days_without_deadlock_and_delivers(spec: s.PlantSpec) -> None:
    assert spec.amhs is not None and spec.amhs.fleet == 100
    days = 3.0
    opts = RunOptions(days=days, warmup_days=0.0)
    oht = run_replication(spec, opts, 0)
    simple = run_replication(spec.model_copy(update={"amhs": None}), opts, 0)
    k = oht.kpis
    assert k["amhs_deadlocks"] == 0
    assert oht.amhs is not None and oht.amhs.days.shape[0] == days
    # every simulated day moved lots: the fleet never stopped
    assert (oht.amhs.days[:, 0] > 10_000).all()
    # a large enough fleet: moves hardly wait and the queue of moves stays short
    assert k["amhs_wait_vehicle_mean_min"] < 0.5
    assert k["amhs_pending_max"] < 50
    assert 0.1 < k["amhs_vehicle_utilisation"] < 0.7
    # the fab delivers at least its release rate, and no less than with the simple model
    assert k["throughput_lots_per_day"] >= 0.95 * RELEASE_PER_DAY
    assert k["throughput_lots_per_day"] >= 0.95 * simple.kpis["throughput_lots_per_day"]
