"""Live tag dynamics come from the plant file: lag_s, drift_tau_s and drift_share of a tag."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError
from sim_plants import plant

from factory_twin.model import schema as s
from factory_twin.model.events import TagUpdate
from factory_twin.sim.live import LiveSimulation

START_S = 100.0  # the one lot starts processing here


def one_tool(process_s: float = 3600.0, **tag: Any) -> s.PlantSpec:
    types = [{
        "id": "t",
        "kind": "dry_etch",
        "shape": {"parts": [{"name": "p", "box": [1, 1, 1]}]},
        "tags": [{"name": "temp", "normal_range": [100.0, 200.0], "idle_value": 0.0, **tag}],
    }]  # fmt: skip
    return plant(
        [{"id": "T", "time": process_s}],
        release={"mode": "schedule", "times_s": [START_S]},
        types=types,
    )


def temps(spec: s.PlantSpec, until_s: float, period_s: float = 1.0) -> dict[float, float]:
    sim = LiveSimulation(spec, seed=4, tag_period_s=period_s)
    ev = sim.advance(until_s)
    return {e.source_ts: e.value for e in ev if isinstance(e, TagUpdate) and e.tag == "temp"}


def test_defaults_are_the_former_constants() -> None:
    tag = s.TagSpec(name="x")
    assert (tag.lag_s, tag.drift_tau_s, tag.drift_share) == (20.0, 3600.0, 0.15)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lag_s", 0.0),
        ("lag_s", -5.0),
        ("drift_tau_s", 0.0),
        ("drift_share", -0.1),
        ("drift_share", 1.5),
    ],
)
def test_dynamics_are_validated(field: str, value: float) -> None:
    with pytest.raises(ValidationError, match=field):
        s.TagSpec.model_validate({"name": "x", field: value})


def test_lag_s_sets_how_fast_a_tag_follows_its_target() -> None:
    """Without drift or noise an idle tool's tag decays by exp(-period / lag_s) per sample."""
    end_s = START_S + 600.0  # the lot is done; the tag relaxes toward idle_value 0
    for lag in (5.0, 120.0):
        v = temps(one_tool(600.0, lag_s=lag, drift_share=0.0), end_s + 40)
        assert v[end_s - 1] == pytest.approx(150.0, abs=2.0)  # near the setpoint while processing
        for t in range(2, 30):
            assert v[end_s + t + 1] / v[end_s + t] == pytest.approx(math.exp(-1.0 / lag), rel=1e-9)
    fast = temps(one_tool(600.0, lag_s=5.0, drift_share=0.0), end_s + 31)[end_s + 30]
    slow = temps(one_tool(600.0, lag_s=120.0, drift_share=0.0), end_s + 31)[end_s + 30]
    assert fast < 1.0 < 100.0 < slow


def test_drift_share_and_tau_shape_the_drift() -> None:
    def drift(**tag: Any) -> np.ndarray:
        v = temps(one_tool(lag_s=1e-3, **tag), START_S + 3000, period_s=10.0)
        return np.array([x for t, x in sorted(v.items()) if t > START_S + 60]) - 150.0

    assert np.all(drift(drift_share=0.0) == 0.0)  # no drift: the setpoint exactly
    small, big = drift(drift_share=0.05), drift(drift_share=0.5)
    assert 0 < np.std(small) < np.std(big)
    # a short correlation time moves the value further from one sample to the next
    quick = drift(drift_share=0.3, drift_tau_s=20.0)
    sluggish = drift(drift_share=0.3, drift_tau_s=20_000.0)
    assert np.mean(np.abs(np.diff(quick))) > 5 * np.mean(np.abs(np.diff(sluggish)))


def test_plant_file_fields_round_trip_through_yaml(tmp_path: Any) -> None:
    spec = one_tool(lag_s=7.5, drift_tau_s=900.0, drift_share=0.02)
    tag = spec.equipment_types[0].tags[0]
    assert (tag.lag_s, tag.drift_tau_s, tag.drift_share) == (7.5, 900.0, 0.02)
    dumped = spec.model_dump(mode="json")["equipment_types"][0]["tags"][0]
    assert dumped["lag_s"] == 7.5 and dumped["drift_share"] == 0.02
