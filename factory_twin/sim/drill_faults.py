"""Drill faults and operator actions on a running :class:`~factory_twin.sim.model.FabModel`
that the model itself has no use for: a hot lot released mid-route, a lot's priority
changed in its queue, and a transport (OHT) jam.

Kept out of ``model.py`` (already the largest module); they use its internals, as a
friend module of the same package.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from factory_twin.errors import SimulationError

if TYPE_CHECKING:
    from factory_twin.sim.model import FabModel

_QUEUED = 1  # FabModel's Lot.where for a lot waiting in its group's queue


def release_hot_lot(
    model: FabModel,
    product: str,
    *,
    lot_id: str | None = None,
    priority: int = 100,
    step: int = 1,
) -> str:
    """Release a lot of ``product`` now, at 1-based route ``step``; return its id.

    Raises
    ------
    SimulationError
        For an unknown product, a step outside its route, or a lot id already in the fab.
    """
    pr = model.products.get(product)
    if pr is None:
        msg = f"no product {product!r} in this plant"
        raise SimulationError(msg)
    if not 1 <= step <= len(pr.route):
        msg = f"product {product!r} has {len(pr.route)} route steps, not {step}"
        raise SimulationError(msg)
    if lot_id is not None and lot_id in model.wip:
        msg = f"lot {lot_id!r} is already in the fab"
        raise SimulationError(msg)
    lot = model._new_lot(pr, lot_id=lot_id, priority=priority)
    model._goto(lot, step - 1, None, False)
    return str(lot.id)


def prioritise_lot(model: FabModel, lot_id: str, priority: int) -> bool:
    """Give lot ``lot_id`` a new priority (re-queued if waiting); False if not in the fab."""
    lot = model.wip.get(lot_id)
    if lot is None:
        return False
    lot.priority = int(priority)
    g = lot.step.group
    if lot.where == _QUEUED and not g.is_batch and lot.qseq:
        g.queue.requeue(lot, model.env.now_s)  # type: ignore[union-attr]
    return True


class TransportJam:
    """Stops every transport delivery of ``model`` until a plant time (a drill fault).

    Lots on the move when the jam starts, or sent while it lasts, arrive when it ends
    (vehicles are not freed meanwhile). The model's own delivery callbacks are wrapped on
    the instance; after the jam the wrappers pass through.
    """

    def __init__(self, model: FabModel) -> None:
        self.model = model
        self.until_s = 0.0
        self._arrive = model._arrive
        self._delivered = model._on_delivered

    @property
    def active(self) -> bool:
        """True while deliveries are stopped."""
        return self.model.env.now_s < self.until_s

    def jam(self, duration_s: float) -> None:
        """Stop deliveries for ``duration_s`` plant seconds from now (extends a running jam)."""
        if not duration_s > 0:
            msg = f"jam duration must be positive, got {duration_s}"
            raise SimulationError(msg)
        m = self.model
        self.until_s = max(self.until_s, m.env.now_s + float(duration_s))
        m._cb_moved = self._moved
        m._on_delivered = self._on_delivered  # type: ignore[method-assign]

    def _moved(self, lot: Any) -> None:
        m = self.model
        if m.env.now_s < self.until_s:
            m._at(self.until_s, self._moved, lot)
        else:
            self._arrive(lot)

    def _on_delivered(self, value: Any) -> None:
        m = self.model
        if m.env.now_s < self.until_s:
            m._at(self.until_s, self._on_delivered, value)
        else:
            self._delivered(value)
