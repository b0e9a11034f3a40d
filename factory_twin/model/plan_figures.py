"""Capacity of a scenario against its base plant: the planner's instant estimate.

The static capacity analysis (:mod:`factory_twin.model.capacity`) of two plants side by
side, per tool group: utilisation before and after, which groups go over 100 % and which
group is the predicted bottleneck in each. It is a long-run average with no queueing; a
simulation of the scenario is the honest answer.

Examples
--------
>>> cmp = compare_capacity(base_spec, scenario_spec)        # doctest: +SKIP
>>> cmp.scenario_bottleneck, cmp.row("SCAN").scenario_utilisation  # doctest: +SKIP
('IMP', 0.71)
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from factory_twin.model import schema as s
from factory_twin.model.capacity import GroupLoad, bottleneck, capacity_table


@dataclass(frozen=True)
class GroupCapacityChange:
    """One tool group's capacity figures in the base plant and in the scenario.

    ``base`` or ``scenario`` is None where the group does not exist (a scenario that
    removed every tool of a group the routes no longer use, or a new group).
    """

    group: str
    base: GroupLoad | None
    scenario: GroupLoad | None

    @property
    def base_utilisation(self) -> float:
        """Utilisation in the base plant (0 where the group does not exist)."""
        return self.base.utilisation if self.base is not None else 0.0

    @property
    def scenario_utilisation(self) -> float:
        """Utilisation in the scenario (0 where the group does not exist)."""
        return self.scenario.utilisation if self.scenario is not None else 0.0

    @property
    def change(self) -> float:
        """Scenario minus base utilisation (nan when either is infinite)."""
        d = self.scenario_utilisation - self.base_utilisation
        return d if math.isfinite(d) else math.nan

    @property
    def base_over(self) -> bool:
        """True if the group cannot keep up in the base plant (utilisation >= 100 %)."""
        return self.base_utilisation >= 1.0

    @property
    def scenario_over(self) -> bool:
        """True if the group cannot keep up in the scenario (utilisation >= 100 %)."""
        return self.scenario_utilisation >= 1.0


@dataclass(frozen=True)
class CapacityComparison:
    """Capacity of a scenario next to its base, one row per tool group.

    Attributes
    ----------
    rows
        Base groups in the base's order, then groups only the scenario has.
    base_bottleneck, scenario_bottleneck
        The most utilised group of each plant (None if nothing is loaded).
    """

    rows: list[GroupCapacityChange]
    base_bottleneck: str | None
    scenario_bottleneck: str | None

    def row(self, group: str) -> GroupCapacityChange:
        """Return the row of ``group`` (KeyError if neither plant has it)."""
        for r in self.rows:
            if r.group == group:
                return r
        raise KeyError(group)

    @property
    def over_capacity(self) -> list[str]:
        """Groups at or over 100 % utilisation in the scenario."""
        return [r.group for r in self.rows if r.scenario_over]

    @property
    def bottleneck_moved(self) -> bool:
        """True if the scenario's predicted bottleneck differs from the base's."""
        return self.base_bottleneck != self.scenario_bottleneck


CAPACITY_NEUTRAL_CHANGES = frozenset({"move_tool", "set_transport", "set_dispatch"})
"""Scenario change kinds that cannot change the static capacity figures.

Capacity has no layout, no transport and no dispatching in it (those show in a simulation):
after a change of one of these kinds a live view keeps its last :func:`compare_capacity`
result, which matters on a large plant (some 30 ms per table on SMT2020's 1,443 tools).
"""


def changes_capacity(change_kind: str) -> bool:
    """Return True if a scenario change of kind ``change_kind`` can change the capacity.

    Examples
    --------
    >>> changes_capacity("move_tool"), changes_capacity("add_tool")
    (False, True)
    """
    return change_kind not in CAPACITY_NEUTRAL_CHANGES


def compare_capacity(
    base: s.PlantSpec,
    scenario: s.PlantSpec,
    rates_per_s: dict[str, float] | None = None,
    *,
    base_rows: list[GroupLoad] | None = None,
) -> CapacityComparison:
    """Return the capacity of ``scenario`` next to ``base``, per tool group.

    Parameters
    ----------
    base, scenario
        The base plant and the plant with the scenario's changes applied.
    rates_per_s
        Release rates (lots per second by product) replacing both files' rates.
    base_rows
        ``capacity_table(base, rates_per_s)`` if the caller already has it (the base does
        not change while a scenario is edited, so a live view computes it once).

    Returns
    -------
    CapacityComparison
    """
    b_rows = base_rows if base_rows is not None else capacity_table(base, rates_per_s)
    s_rows = capacity_table(scenario, rates_per_s)
    by_b = {r.group: r for r in b_rows}
    by_s = {r.group: r for r in s_rows}
    order = [r.group for r in b_rows] + [r.group for r in s_rows if r.group not in by_b]
    rows = [GroupCapacityChange(g, by_b.get(g), by_s.get(g)) for g in order]
    top_b, top_s = bottleneck(b_rows), bottleneck(s_rows)
    return CapacityComparison(
        rows=rows,
        base_bottleneck=top_b.group if top_b is not None else None,
        scenario_bottleneck=top_s.group if top_s is not None else None,
    )
