"""Dispatch queues of a tool group: heaps keyed per rule, lazy deletion, O(log n) per lot.

Every rule sorts first by priority (hot lots first), then by its own key:

* ``fifo``: time the lot joined the queue;
* ``spt``: mean process time of the step;
* ``edd``: due date (lots without one last);
* ``priority``: release time into the fab (oldest lot first among equal priorities);
* ``setup_avoid``: FIFO, but a lot needing the tool's current setup goes first unless a lot
  of higher priority waits;
* ``cr``: critical ratio (time to due date / remaining raw process time), smallest first.
  The ratio changes with time, so no static heap key exists; the queue scans the live lots
  of the highest priority present (O(n) per dispatch, never a sort).

A lot sits in the main heap and, when the group has setups, in one heap per setup too; the
copy that is not popped is deleted lazily (its sequence number no longer matches the lot's)
and the heaps are compacted when stale entries outnumber live ones.
"""

from __future__ import annotations

import heapq
import itertools
import math
from typing import TYPE_CHECKING, Any

from factory_twin.model.schema import DispatchRule

if TYPE_CHECKING:
    from factory_twin.sim.fab_objects import Lot

_INF = math.inf
Entry = tuple[int, float, int, "Lot"]


def lot_key(rule: DispatchRule, lot: Lot, now: float) -> float:
    """Return the static secondary key of ``lot`` under ``rule`` (not for CR)."""
    if rule is DispatchRule.SPT:
        return lot.step.mean_s
    if rule is DispatchRule.EDD:
        return lot.due_s if lot.due_s is not None else _INF
    if rule is DispatchRule.PRIORITY:
        return lot.release_s
    return now


def critical_ratio(lot: Lot, now: float) -> float:
    """Return (due - now) / remaining raw process time; +inf without a due date."""
    if lot.due_s is None:
        return _INF
    rem = lot.step.rem_s
    return (lot.due_s - now) / rem if rem > 0 else (lot.due_s - now) * 1e12


# Queue entry numbers are unique across all queues: an entry is live while its number equals
# the lot's ``qseq``, and a stale entry left in one group's queue (setup-avoidance queues keep
# two copies) must never match the number the lot got in the next group's queue. Numbers only
# order entries within a queue, so a shared counter changes no result.
_QSEQ = itertools.count(1)


class LotQueue:
    """The queue of a group of single-lot tools."""

    __slots__ = ("_heap", "_items", "_seq", "_stale", "by_setup", "n", "rule")

    def __init__(self, rule: DispatchRule, *, with_setups: bool) -> None:
        self.rule = rule
        self._heap: list[Entry] = []
        self.by_setup: dict[str, list[Entry]] | None = {} if with_setups else None
        self._items: dict[int, Lot] = {}  # only for CR
        self._seq = 0
        self._stale = 0
        self.n = 0

    def __len__(self) -> int:
        return self.n

    def push(self, lot: Lot, now: float) -> None:
        """Add a lot."""
        seq = next(_QSEQ)
        lot.qseq = seq
        self.n += 1
        if self.rule is DispatchRule.CR:
            self._items[seq] = lot
            return
        entry = (-lot.priority, lot_key(self.rule, lot, now), seq, lot)
        heapq.heappush(self._heap, entry)
        if self.by_setup is not None:
            su = lot.step.setup
            if su is not None:
                heapq.heappush(self.by_setup.setdefault(su, []), entry)
                self._stale += 1  # one of the two copies will go stale

    def requeue(self, lot: Lot, now: float) -> None:
        """Re-key a lot already in the queue (its priority changed): its old entry goes stale."""
        if self.rule is DispatchRule.CR:
            self._items.pop(lot.qseq, None)
        else:
            self._stale += 1
        self.n -= 1
        self.push(lot, now)

    @staticmethod
    def _clean(h: list[Entry]) -> Entry | None:
        while h:
            e = h[0]
            if e[3].qseq == e[2]:
                return e
            heapq.heappop(h)
        return None

    def _take(self, lot: Lot) -> Lot:
        if self.rule is DispatchRule.CR:
            del self._items[lot.qseq]
        lot.qseq = 0
        self.n -= 1
        if self._stale > 256 and self._stale > 2 * self.n:
            self._compact()
        return lot

    def _compact(self) -> None:
        self._heap = [e for e in self._heap if e[3].qseq == e[2]]
        heapq.heapify(self._heap)
        if self.by_setup is not None:
            for k, h in list(self.by_setup.items()):
                live = [e for e in h if e[3].qseq == e[2]]
                if live:
                    heapq.heapify(live)
                    self.by_setup[k] = live
                else:
                    del self.by_setup[k]
        self._stale = sum(len(h) for h in (self.by_setup or {}).values())

    def _cr_best(self, now: float, setup: str | None) -> Lot | None:
        best: Lot | None = None
        bk: tuple[int, float, int] = (0, _INF, 0)
        for seq, lot in self._items.items():
            if setup is not None and lot.step.setup != setup:
                continue
            k = (-lot.priority, critical_ratio(lot, now), seq)
            if best is None or k < bk:
                best, bk = lot, k
        return best

    def pop(self, now: float, setup: str | None = None, *, stick: bool = False) -> Lot | None:
        """Remove and return the next lot for a tool, or None if the queue is empty.

        Parameters
        ----------
        setup
            The tool's current setup.
        stick
            The tool has not yet run its minimum lots on ``setup``: take a lot needing
            that setup if one waits, whatever the rule.
        """
        if self.n == 0:
            return None
        prefer = setup is not None and (stick or self.rule is DispatchRule.SETUP_AVOID)
        if not prefer and self.rule is not DispatchRule.CR:  # the common case, inlined
            h = self._heap
            while h:
                e = heapq.heappop(h)
                lot = e[3]
                if lot.qseq == e[2]:
                    return self._take(lot)
            return None
        if self.rule is DispatchRule.CR:
            if prefer:
                best = self._cr_best(now, setup)
                if best is not None:
                    if stick:
                        return self._take(best)
                    top = self._cr_best(now, None)
                    if top is not None and top.priority > best.priority:
                        best = top
                    return self._take(best)
            best = self._cr_best(now, None)
            return None if best is None else self._take(best)
        head = self._clean(self._heap)
        if prefer and self.by_setup is not None:
            hs = self.by_setup.get(setup)  # type: ignore[arg-type]  # prefer: setup is not None
            if hs:
                es = self._clean(hs)
                if es is not None and (stick or head is None or es[0] <= head[0]):
                    heapq.heappop(hs)
                    return self._take(es[3])
        if head is None:
            return None
        heapq.heappop(self._heap)
        return self._take(head[3])

    def lots(self) -> list[Lot]:
        """Return the lots waiting (any order)."""
        if self.rule is DispatchRule.CR:
            return list(self._items.values())
        found = {e[2]: e[3] for e in self._heap if e[3].qseq == e[2]}
        for h in (self.by_setup or {}).values():
            found.update((e[2], e[3]) for e in h if e[3].qseq == e[2])
        return list(found.values())


class BatchQueue:
    """The queue of a group of batch tools: lots grouped by recipe, batches formed on demand.

    A recipe can start when its waiting wafers reach the step's minimum; it starts at once
    when they reach the maximum, otherwise after ``batch_wait_s`` since the minimum was
    reached (waiting for a fuller batch). Among recipes that can start, the one whose best
    lot ranks first under the rule goes.
    """

    __slots__ = ("_seq", "n", "recipes", "rule", "wait_s")

    def __init__(self, rule: DispatchRule, wait_s: float) -> None:
        self.rule = rule
        self.wait_s = wait_s
        # recipe -> [heap of entries, wafers, ready_since or None, bmin, bmax, setup]
        self.recipes: dict[str, list[Any]] = {}
        self._seq = 0
        self.n = 0

    def __len__(self) -> int:
        return self.n

    def push(self, lot: Lot, now: float) -> None:
        """Add a lot."""
        st = lot.step
        r = self.recipes.get(st.batch_key)
        if r is None:
            r = self.recipes[st.batch_key] = [[], 0, None, st.bmin, st.bmax, st.setup]
        seq = next(_QSEQ)
        lot.qseq = seq
        key = (
            critical_ratio(lot, now)
            if self.rule is DispatchRule.CR
            else lot_key(self.rule, lot, now)
        )
        heapq.heappush(r[0], (-lot.priority, key, seq, lot))
        r[1] += lot.wafers
        if r[2] is None and r[1] >= r[3]:
            r[2] = now
        self.n += 1

    def take(
        self, now: float, setup: str | None = None, *, stick: bool = False
    ) -> tuple[list[Lot] | None, float | None]:
        """Form a batch for a free tool.

        Returns
        -------
        (lots, wake_s)
            The batch (None if none can start now) and, if a batch could start later
            without new arrivals, the time it becomes ready.
        """
        best: tuple[Any, ...] | None = None
        wake: float | None = None
        prefer = setup is not None and (stick or self.rule is DispatchRule.SETUP_AVOID)
        for name, r in self.recipes.items():
            if r[2] is None:
                continue
            ready_at = r[2] + self.wait_s if r[1] < r[4] else r[2]
            if ready_at > now:
                wake = ready_at if wake is None else min(wake, ready_at)
                continue
            head = r[0][0]
            rank = (0 if (prefer and r[5] == setup) else 1, head[0], head[1], head[2])
            if best is None or rank < best[0]:
                best = (rank, name, r)
        if best is None:
            return None, wake
        _, name, r = best
        heap, cap = r[0], r[4]
        lots: list[Lot] = []
        skipped = []
        w = 0
        while heap:
            e = heapq.heappop(heap)
            lot = e[3]
            if not lots or w + lot.wafers <= cap:
                lots.append(lot)
                w += lot.wafers
                lot.qseq = 0
                if w >= cap:
                    break
            else:
                skipped.append(e)
        for e in skipped:
            heapq.heappush(heap, e)
        r[1] -= w
        self.n -= len(lots)
        if not heap:
            del self.recipes[name]
        elif r[1] < r[3]:
            r[2] = None
        return lots, wake

    def lots(self) -> list[Lot]:
        """Return the lots waiting (any order)."""
        return [e[3] for r in self.recipes.values() for e in r[0]]
