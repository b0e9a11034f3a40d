"""The OHT vehicles of a plant state: the latest position, state and carrier of each.

A plant simulator that runs the OHT fleet publishes every vehicle under Transport/AMHS; the
OPC UA client turns them into :class:`~factory_twin.model.events.TagUpdate` records of the
equipment ids ``VEHICLE_PREFIX + "OHT-001"`` etc. (tags ``x``, ``y``, ``state``,
``carrier``), which :class:`~factory_twin.app.plant_state.PlantState` hands to
:class:`VehicleState`. The 3-D view draws :meth:`VehicleState.arrays`.
"""

from __future__ import annotations

import math

import numpy as np

from factory_twin.model.events import VEHICLE_PREFIX, Quality, TagUpdate


class VehicleState:
    """Latest values of every vehicle seen, in the order they were first seen."""

    def __init__(self) -> None:
        self.x: dict[str, float] = {}
        self.y: dict[str, float] = {}
        self.state: dict[str, str] = {}
        self.carrier: dict[str, str] = {}
        self.names: list[str] = []
        self.dirty = False  # changed since the view last took the arrays
        self.stale = False  # the connection that carried them is gone

    def __len__(self) -> int:
        return len(self.names)

    def apply(self, ev: TagUpdate) -> bool:
        """Keep one vehicle update; return False if ``ev`` is not a vehicle's."""
        if not ev.equipment.startswith(VEHICLE_PREFIX):
            return False
        name = ev.equipment[len(VEHICLE_PREFIX) :]
        if ev.quality is Quality.STALE:
            self.stale = True
            return True
        if ev.quality is not Quality.GOOD:
            return True
        self.stale = False
        if name not in self.state:
            self.names.append(name)
            self.x[name] = self.y[name] = math.nan
            self.state[name] = "idle"
            self.carrier[name] = ""
        v = ev.value
        if ev.tag in ("x", "y"):
            if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
                (self.x if ev.tag == "x" else self.y)[name] = float(v)
        elif ev.tag == "state" and isinstance(v, str):
            self.state[name] = v
        elif ev.tag == "carrier" and isinstance(v, str):
            self.carrier[name] = v
        self.dirty = True
        return True

    def arrays(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Return (names, floor positions (n, 2), loaded) of the vehicles with a position."""
        names = [n for n in self.names if math.isfinite(self.x[n]) and math.isfinite(self.y[n])]
        xy = np.array([(self.x[n], self.y[n]) for n in names], dtype=float).reshape(-1, 2)
        loaded = np.array([self.state[n] == "loaded" for n in names], dtype=bool)
        return names, xy, loaded
