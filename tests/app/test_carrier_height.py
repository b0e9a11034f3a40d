"""The carriers' travel height is a plant-file figure (``transport.carrier_height_m``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from factory_twin.app.plant_state import PlantState
from factory_twin.errors import ConfigError
from factory_twin.model.config import load_plant, loads_plant
from factory_twin.model.events import LotMove

MINI = Path(__file__).resolve().parents[1] / "data" / "mini_plant.yaml"


def _with_transport(extra: str) -> str:
    return MINI.read_text(encoding="utf-8") + f"\ntransport:\n  {extra}\n"


def test_default_is_3_2_m():
    spec = load_plant(MINI).spec
    assert "transport" not in MINI.read_text(encoding="utf-8")
    assert spec.transport.carrier_height_m == 3.2


@pytest.mark.parametrize("height", [2.5, 4.75])
def test_carriers_travel_at_the_plant_file_height(height):
    spec = loads_plant(_with_transport(f"carrier_height_m: {height}"), path=MINI).spec
    assert spec.transport.carrier_height_m == height
    state = PlantState(spec)
    state.apply([LotMove("L1", "p1", "LITHO-01", "ETCH-02", 100.0, 200.0)])
    mid, _, ids = state.lot_positions(150.0)  # half-way: up on the track
    assert ids == ["L1"] and mid[0, 2] == pytest.approx(height)
    rising, _, _ = state.lot_positions(100.0 + 1e-3)  # just left: hoisted from the load port
    assert 0.9 < rising[0, 2] < height
    end, _, _ = state.lot_positions(250.0)  # arrived: on the tool's load port
    assert end[0, 2] == pytest.approx(0.9)


def test_height_must_be_positive():
    with pytest.raises(ConfigError, match="carrier_height_m"):
        loads_plant(_with_transport("carrier_height_m: 0"), path=MINI)
