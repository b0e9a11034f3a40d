"""Fab-level counters: plant clock, lots and wafers out, WIP and moves, served under ``Fab``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from asyncua import ua

from factory_twin.model.events import LotMove
from factory_twin.opcua import _asyncua_adapter as adapter
from factory_twin.opcua.server.constants import FAB_VARIABLES


@dataclass
class FabCounters:
    """The fab-level figures a :class:`PlantServer` derives from the records it applies.

    ``lots_in_fab`` holds the ids of the lots seen entering and not yet leaving; a lot that
    leaves without having been seen entering (the server started mid-run) is still counted
    as completed.
    """

    plant_clock_s: float = 0.0
    lots_completed: int = 0
    wafers_completed: int = 0
    moves: int = 0
    lots_in_fab: set[str] = field(default_factory=set)

    @property
    def wip(self) -> int:
        """Lots in the fab now."""
        return len(self.lots_in_fab)

    def values(self) -> dict[str, float | int]:
        """Return the value of each :data:`FAB_VARIABLES` name."""
        return {
            "PlantClock": float(self.plant_clock_s),
            "LotsCompleted": self.lots_completed,
            "WafersCompleted": self.wafers_completed,
            "WIP": self.wip,
            "Moves": self.moves,
        }

    def copy(self) -> FabCounters:
        """Return an independent copy."""
        return FabCounters(
            self.plant_clock_s,
            self.lots_completed,
            self.wafers_completed,
            self.moves,
            set(self.lots_in_fab),
        )


def count_lot_move(fab: FabCounters, ev: LotMove, wafers_per_lot: dict[str, int]) -> None:
    """Update ``fab`` for one lot move.

    A move with ``from_equipment`` and ``to_equipment`` both ``None`` and ``step`` 0 is a lot
    entering the fab; any other one with ``to_equipment`` ``None`` is a lot leaving it.
    """
    if ev.from_equipment is None and ev.to_equipment is None and ev.step == 0:
        fab.lots_in_fab.add(ev.lot)
        return
    if ev.from_equipment is None and ev.to_equipment is not None:
        fab.lots_in_fab.add(ev.lot)  # a source that enters lots straight at a tool
        return
    if ev.from_equipment is not None:
        fab.moves += 1
    if ev.to_equipment is None:
        fab.lots_in_fab.discard(ev.lot)
        fab.lots_completed += 1
        fab.wafers_completed += wafers_per_lot.get(ev.product, 0)


class FabVariables:
    """The ``Fab.<name>`` variables of one server and the values last written to them."""

    def __init__(self, nodes: dict[str, ua.NodeId], initial: dict[str, float | int]) -> None:
        self.nodes = nodes
        self.written = dict(initial)

    async def write(
        self, write: adapter.ValueWriter, fab: FabCounters, ts: datetime, now: datetime
    ) -> int:
        """Write the variables that changed since the last call; return how many."""
        if not self.nodes:
            return 0
        n = 0
        for (name, vt, _), value in zip(FAB_VARIABLES, fab.values().values(), strict=True):
            if self.written.get(name) == value:
                continue
            self.written[name] = value
            dv = adapter.shared_value(ua.Variant(value, vt), ts, now)
            await write(self.nodes[name], ua.AttributeIds.Value, dv)
            n += 1
        return n
