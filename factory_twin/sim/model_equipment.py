"""Equipment events of :class:`factory_twin.sim.model.FabModel`: random failures and repairs,
preventive maintenance with qualification, and operator holds.

:class:`EquipmentEvents` is a mixin: :class:`FabModel` inherits its methods, so the model's
timers call them as plain methods looked up on the model, as they would its own.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from factory_twin.errors import SimulationError
from factory_twin.sim.fab_objects import (
    ENGINEERING,
    PRODUCTIVE,
    SCHEDULED_DOWN,
    UNSCHEDULED_DOWN,
    _failure_samplers,
)

if TYPE_CHECKING:
    from factory_twin.sim.engine import Engine
    from factory_twin.sim.fab_objects import Tool


class EquipmentEvents:
    """Failures, repairs, PMs, qualifications and holds of a :class:`FabModel`'s tools.

    A tool that goes down (repair, PM, qualification) suspends its jobs and its cascading
    next-lot time, and resumes them when it is up again; a hold lets the current load finish
    and then starts nothing new.

    Uses these attributes of :class:`FabModel`: ``env`` (its engine's clock ``now_s``),
    ``_timer`` (schedules a callback), and the methods ``tool`` (look a tool up by id),
    ``_refresh`` (record a tool's E10 state), ``_tool_free`` (give a tool its next work) and
    the job callbacks ``_on_phase`` and ``_on_accept``.
    """

    env: Engine
    _timer: Callable[[float, Callable[[Any], object], Any], None]

    if TYPE_CHECKING:

        def tool(self, equipment_id: str) -> Tool: ...
        def _refresh(self, tool: Tool) -> None: ...
        def _tool_free(self, tool: Tool) -> None: ...
        def _on_phase(self, value: Any) -> None: ...
        def _on_accept(self, value: Any) -> None: ...

    def _leave_free(self, tool: Tool) -> None:
        if tool.in_free:
            tool.in_free = False
            tool.group.free.remove(tool)

    def _suspend(self, tool: Tool) -> None:
        now = self.env.now_s
        for job in tool.jobs:
            job.rem = job.end - now
            job.token += 1
        if not tool.accepting and tool.jobs and tool.accept_at > now:
            tool.accept_rem = tool.accept_at - now
            tool.accept_token += 1
        else:
            tool.accept_rem = -1.0

    def _resume(self, tool: Tool) -> None:
        now = self.env.now_s
        for job in tool.jobs:
            job.end = now + job.rem
            self._timer(job.rem, self._on_phase, (job, job.token))
        if tool.accept_rem >= 0:
            tool.accept_at = now + tool.accept_rem
            self._timer(tool.accept_rem, self._on_accept, (tool, tool.accept_token))
            tool.accept_rem = -1.0

    def _after_up(self, tool: Tool) -> None:
        if tool.down is not None:
            return
        if tool.fail_pending:
            tool.fail_pending = False
            self._fail(tool, None)
            return
        if tool.pm_pending and not tool.jobs and not tool.held:
            self._start_pm(tool)
            return
        self._tool_free(tool)

    # failures

    def _on_fail_timer(self, value: Any) -> None:
        tool, token = value
        if token != tool.fail_token:
            return
        self._fail(tool, None)

    def _fail(self, tool: Tool, repair_s: float | None) -> bool:
        if tool.down is not None:
            if repair_s is None:
                tool.fail_pending = True
            return False
        self._leave_free(tool)
        self._suspend(tool)
        tool.fail_natural = repair_s is None
        if repair_s is None:
            repair_s = _failure_samplers(tool)[1]()
        tool.down = (UNSCHEDULED_DOWN, "repair")
        self._refresh(tool)
        self._timer(repair_s, self._on_repaired, tool)
        return True

    def _on_repaired(self, value: Any) -> None:
        tool = value
        tool.down = None
        if tool.fail_natural:
            if tool.rel_basis == "calendar":
                tool.fail_token += 1
                ttf = _failure_samplers(tool)[0]()
                tool.fail_at = self.env.now_s + ttf
                self._timer(ttf, self._on_fail_timer, (tool, tool.fail_token))
            elif tool.rel_basis == "busy":
                tool.ttf_left = _failure_samplers(tool)[0]()
        self._resume(tool)
        self._refresh(tool)
        self._after_up(tool)

    def time_to_failure(self, tool: Tool) -> float:
        """Return the time left to ``tool``'s next random failure (inf if none is due).

        Calendar basis: seconds of plant time. Busy basis: seconds of productive time left
        (the clock of such a failure runs only while the tool processes).
        """
        if tool.down is not None or tool.rel_basis is None:
            return math.inf
        if tool.rel_basis == "calendar":
            return max(tool.fail_at - self.env.now_s, 0.0)
        left = tool.ttf_left
        if tool.state is PRODUCTIVE:
            left -= self.env.now_s - tool.busy_since
        return max(left, 0.0)

    def inject_breakdown(self, equipment_id: str, duration_s: float) -> bool:
        """Break a tool down now for ``duration_s``; False if it is already down."""
        if duration_s <= 0:
            msg = f"breakdown duration must be positive, got {duration_s}"
            raise SimulationError(msg)
        return self._fail(self.tool(equipment_id), float(duration_s))

    # preventive maintenance

    def _on_pm_timer(self, value: Any) -> None:
        tool, k = value
        pm = tool.pms[k][0]
        self._timer(pm.interval, self._on_pm_timer, (tool, k))
        tool.pm_pending.append(k)
        if tool.down is None and not tool.jobs and not tool.held:
            self._start_pm(tool)

    def _start_pm(self, tool: Tool) -> None:
        k = tool.pm_pending.pop(0)
        _, dur, _ = tool.pms[k]
        self._leave_free(tool)
        tool.down = (SCHEDULED_DOWN, "pm")
        self._refresh(tool)
        self._timer(dur(), self._on_pm_done, (tool, k))

    def _on_pm_done(self, value: Any) -> None:
        tool, k = value
        qual = tool.pms[k][2]
        if qual is not None:
            tool.down = (ENGINEERING, "qualification")
            self._refresh(tool)
            self._timer(qual(), self._on_qual_done, tool)
            return
        tool.down = None
        self._refresh(tool)
        self._after_up(tool)

    def _on_qual_done(self, value: Any) -> None:
        tool = value
        tool.down = None
        self._refresh(tool)
        self._after_up(tool)

    # operator hold

    def hold(self, equipment_id: str) -> bool:
        """Put a tool on operator hold: it starts nothing new (ENGINEERING / 'hold').

        A tool that is processing finishes its load first. Returns False if the tool is
        down (repair, PM, qualification) or already on hold.
        """
        tool = self.tool(equipment_id)
        if tool.down is not None or tool.held or tool.hold_pending:
            return False
        self._leave_free(tool)
        if tool.jobs:
            tool.hold_pending = True
            return True
        tool.held = True
        self._refresh(tool)
        return True

    def resume(self, equipment_id: str) -> bool:
        """Release an operator hold; False if the tool is not on hold."""
        tool = self.tool(equipment_id)
        if tool.hold_pending:
            tool.hold_pending = False
            self._tool_free(tool)
            return True
        if not tool.held:
            return False
        tool.held = False
        self._refresh(tool)
        self._after_up(tool)
        return True
