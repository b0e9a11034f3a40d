"""The OHT vehicles of a plant state: the latest position, state and carrier of each.

A plant simulator that runs the OHT fleet publishes every vehicle under Transport/AMHS; the
OPC UA client turns them into :class:`~factory_twin.model.events.TagUpdate` records of the
equipment ids ``VEHICLE_PREFIX + "OHT-001"`` etc. (tags ``x``, ``y``, ``state``,
``carrier``), which :class:`~factory_twin.app.plant_state.PlantState` hands to
:class:`VehicleState`. The 3-D view draws :meth:`VehicleState.arrays`.

A simulator that runs the fleet also publishes the rail congestion it measures, per rail link
(equipment id :data:`~factory_twin.model.events.RAIL_EQUIPMENT`): :meth:`VehicleState.congestion`
returns it aligned to the plant file's links, or None when the server publishes none.
"""

from __future__ import annotations

import math

import numpy as np

from factory_twin.model.events import RAIL_EQUIPMENT, VEHICLE_PREFIX, Quality, TagUpdate


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
        # the rail congestion served by the simulator (RAIL_EQUIPMENT), raw as received
        self.link_ids: tuple[str, ...] = ()
        self.link_rates: dict[str, tuple[float, ...]] = {}  # blocked_s_per_h, entries_per_h
        self.window_s = 0.0
        self.congestion_dirty = False

    def __len__(self) -> int:
        return len(self.names)

    def apply(self, ev: TagUpdate) -> bool:
        """Keep one vehicle update; return False if ``ev`` is not a vehicle's."""
        if not ev.equipment.startswith(VEHICLE_PREFIX):
            return False
        if ev.equipment == RAIL_EQUIPMENT:
            self._apply_rails(ev)
            return True
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

    def _apply_rails(self, ev: TagUpdate) -> None:
        if ev.quality is not Quality.GOOD:
            return
        v = ev.value
        if ev.tag == "link_ids" and isinstance(v, tuple | list):
            self.link_ids = tuple(str(x) for x in v)
        elif ev.tag in ("blocked_s_per_h", "entries_per_h") and isinstance(v, tuple | list):
            if all(isinstance(x, int | float) and not isinstance(x, bool) for x in v):
                self.link_rates[ev.tag] = tuple(float(x) for x in v)
        elif ev.tag == "window_s" and isinstance(v, int | float) and not isinstance(v, bool):
            self.window_s = float(v)
        else:
            return
        self.congestion_dirty = True

    def congestion(self, link_ids: list[str], tag: str = "blocked_s_per_h") -> np.ndarray | None:
        """The served per-link rate ``tag`` aligned to ``link_ids`` (the plant file's links;
        a link the server did not name gets 0), or None when nothing usable was served."""
        rates = self.link_rates.get(tag)
        if rates is None or not self.link_ids or len(rates) != len(self.link_ids):
            return None
        if list(self.link_ids) == link_ids:
            return np.asarray(rates, dtype=float)
        where = {lk: i for i, lk in enumerate(self.link_ids)}
        out = np.zeros(len(link_ids))
        for j, lk in enumerate(link_ids):
            i = where.get(lk)
            if i is not None:
                out[j] = rates[i]
        return out

    def arrays(self) -> tuple[list[str], np.ndarray, np.ndarray]:
        """Return (names, floor positions (n, 2), loaded) of the vehicles with a position."""
        names = [n for n in self.names if math.isfinite(self.x[n]) and math.isfinite(self.y[n])]
        xy = np.array([(self.x[n], self.y[n]) for n in names], dtype=float).reshape(-1, 2)
        loaded = np.array([self.state[n] == "loaded" for n in names], dtype=bool)
        return names, xy, loaded
