"""Abnormal simulated values: excursions and failure precursors from the plant file."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from pydantic import ValidationError
from sim_plants import plant

from factory_twin.model import schema as s
from factory_twin.model.events import StateChange, TagUpdate
from factory_twin.sim.live import LiveSimulation

HI = 230.0


def one_tool(
    tag: dict[str, Any] | None = None, precursors: list[dict[str, Any]] | None = None, **st: Any
) -> s.PlantSpec:
    types = [{
        "id": "t",
        "kind": "dry_etch",
        "shape": {"parts": [{"name": "p", "box": [1, 1, 1]}]},
        "tags": [{
            "name": "temp", "normal_range": [100.0, 200.0], "idle_value": 0.0, "noise": 0.5,
            "alarms": {"hi": HI}, **(tag or {}),
        }],
        "precursors": precursors or [],
    }]  # fmt: skip
    return plant(
        [{"id": "T", "time": 10 * 86400.0, **st}],
        release={"mode": "schedule", "times_s": [10.0]},
        types=types,
    )


def values(spec: s.PlantSpec, until_s: float, seed: int = 3) -> np.ndarray:
    sim = LiveSimulation(spec, seed=seed)
    ev = sim.advance(until_s)
    return np.asarray(
        [e.value for e in ev if isinstance(e, TagUpdate) and e.tag == "temp" and e.source_ts > 20]
    )


def test_no_excursion_rate_keeps_values_in_the_normal_range() -> None:
    v = values(one_tool(), 6 * 3600.0)
    assert v.min() >= 100.0 and v.max() <= 200.0


def test_excursions_cross_the_limit_at_about_the_configured_rate() -> None:
    # 2 excursions an hour, all drifts, over 24 h: about 48, about half past the limit
    v = values(one_tool({"excursion_rate_per_h": 2.0, "spike_share": 0.0}), 24 * 3600.0)
    rises, armed = 0, True
    for x in v:  # count episodes past the limit (re-armed once back in the normal range)
        if armed and x > HI:
            rises, armed = rises + 1, False
        elif x <= 200.0:
            armed = True
    assert 12 <= rises <= 40, rises
    assert (v > 200.0).mean() < 0.2  # abnormal, not the rule


def test_spikes_last_one_to_three_samples() -> None:
    v = values(one_tool({"excursion_rate_per_h": 4.0, "spike_share": 1.0}), 24 * 3600.0)
    out = np.flatnonzero(v > 200.5)
    assert out.size
    runs = np.split(out, np.flatnonzero(np.diff(out) > 1) + 1)
    assert max(len(r) for r in runs) <= 3


def test_precursor_drifts_to_the_limit_before_a_breakdown() -> None:
    rel = {"mtbf": {"dist": "constant", "value": 8 * 3600.0}, "mttr": 3600.0}
    spec = one_tool(precursors=[{"tag": "temp", "hours": 2, "to": "hi"}], reliability=rel)
    sim = LiveSimulation(spec, seed=1)
    ev = sim.advance(8 * 3600.0 + 5)
    down = [
        e.time_s for e in ev if isinstance(e, StateChange) and e.state.value == "unscheduled_down"
    ]
    assert down and down[0] == pytest.approx(8 * 3600.0)
    temp = {e.source_ts: e.value for e in ev if isinstance(e, TagUpdate) and e.tag == "temp"}
    assert max(temp[t] for t in temp if t < 6 * 3600.0 - 60) <= 200.0  # before the 2 h: normal
    assert 180.0 < temp[7 * 3600.0] < HI  # half-way
    assert temp[8 * 3600.0 - 2] > HI  # just past the limit at the breakdown


def test_precursor_needs_the_limit_it_drifts_to() -> None:
    with pytest.raises(ValidationError, match="precursor"):
        one_tool(precursors=[{"tag": "temp", "hours": 2, "to": "lo"}])
