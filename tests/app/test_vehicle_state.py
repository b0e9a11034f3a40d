"""OHT vehicle records in the plant state (the client's Transport/AMHS tags)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from factory_twin.app.plant_state import PlantState
from factory_twin.model.config import load_plant
from factory_twin.model.events import VEHICLE_PREFIX, Quality, TagUpdate

MINI = Path(__file__).resolve().parents[1] / "data" / "mini_plant.yaml"


def test_vehicle_updates_reach_the_plant_state_not_the_tools() -> None:
    spec = load_plant(MINI).spec
    st = PlantState(spec)
    v1, v2 = f"{VEHICLE_PREFIX}OHT-001", f"{VEHICLE_PREFIX}OHT-002"
    st.apply(
        [
            TagUpdate(v1, "x", 3.0, 1.0),
            TagUpdate(v1, "y", 8.0, 1.0),
            TagUpdate(v1, "state", "loaded", 1.0),
            TagUpdate(v1, "carrier", "p1-0007", 1.0),
            TagUpdate(v2, "x", 19.0, 1.0),  # no y yet: not drawn
            TagUpdate(v2, "x", "oops", 1.0),  # a wrong type is ignored, x stays
        ]
    )
    names, xy, loaded = st.vehicles.arrays()
    assert names == ["OHT-001"]
    assert np.array_equal(xy, [[3.0, 8.0]]) and list(loaded) == [True]
    assert st.vehicles.x["OHT-002"] == 19.0
    assert not any(k[0].startswith(VEHICLE_PREFIX) for k in st.tags)  # not tool tags
    assert st.vehicles.dirty
    st.apply([TagUpdate(v2, "y", 2.0, 2.0), TagUpdate(v1, "state", "idle", 2.0)])
    names, xy, loaded = st.vehicles.arrays()
    assert names == ["OHT-001", "OHT-002"] and list(loaded) == [False, False]
    st.apply([TagUpdate(v1, "x", None, 3.0, Quality.STALE)])
    assert st.vehicles.stale and st.vehicles.x["OHT-001"] == 3.0  # last position kept
