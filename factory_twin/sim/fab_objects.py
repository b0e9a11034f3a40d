"""The runtime objects of :class:`factory_twin.sim.model.FabModel`: steps, products, lots, jobs,
tool groups and tools, prepared from a :class:`PlantSpec` for the run.

They are slot classes the model fills and mutates on its hot path; the constants beside them
name their states (a lot's whereabouts, a job's phase, a step's outcome), and the helpers
read a tool's reliability and wafer-count PM figures.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from factory_twin.errors import SimulationError
from factory_twin.model.events import E10State

if TYPE_CHECKING:
    from factory_twin.model import schema as s
    from factory_twin.sim.queues import BatchQueue, LotQueue
    from factory_twin.sim.rng import Sampler

PRODUCTIVE = E10State.PRODUCTIVE
STANDBY = E10State.STANDBY
ENGINEERING = E10State.ENGINEERING
SCHEDULED_DOWN = E10State.SCHEDULED_DOWN
UNSCHEDULED_DOWN = E10State.UNSCHEDULED_DOWN

_SETUP, _PROC = 0, 1
_MOVING, _QUEUED, _IN_PROCESS = 0, 1, 2
OUTCOME_OK, OUTCOME_REWORK, OUTCOME_SCRAP = 0, 1, 2


def _failure_samplers(tool: Tool) -> tuple[Sampler, Sampler]:
    """Return the (time between failures, repair time) samplers of a tool that can fail."""
    if tool.mtbf is None or tool.mttr is None:
        msg = f"tool {tool.id} failed but has no reliability figures"
        raise SimulationError(msg)
    return tool.mtbf, tool.mttr


def _wafer_pms_due(tool: Tool) -> None:
    """Queue the wafer-count PMs the tool's wafer count has reached; set the next due count."""
    for k, (pm, _, _) in enumerate(tool.pms):
        if pm.basis == "wafers" and tool.wafers >= tool.pm_next[k]:
            tool.pm_next[k] += pm.interval
            tool.pm_pending.append(k)
    tool.pm_wafer_due = _next_wafer_pm(tool)


def _next_wafer_pm(tool: Tool) -> float:
    """Wafer count at which the tool's next wafer-count PM falls due (inf if it has none)."""
    return min(
        (tool.pm_next[k] for k, (pm, _, _) in enumerate(tool.pms) if pm.basis == "wafers"),
        default=math.inf,
    )


class StepRt:
    """One route step, prepared for the run."""

    __slots__ = (
        "batch_key", "bint", "bmax", "bmin", "decide", "group", "idx", "mean_s", "no", "per",
        "qt_limit", "qt_to", "recipe", "rem_s", "rework_p", "rework_to", "route", "sample",
        "sample_u", "scrap_p", "setup", "time", "wint",
    )  # fmt: skip

    batch_key: str  # lots sharing it may share a batch
    bint: float | None  # cascading batches: next batch accepted this long after the start
    bmax: int  # wafers in a batch, at most
    bmin: int  # wafers in a batch, at least
    decide: Sampler | None  # U(0, 1) draws for scrap and rework (None: neither can happen)
    group: Group
    idx: int  # 0-based index in the route
    mean_s: float  # mean process time
    no: int  # 1-based step number
    per: str  # "lot", "wafer" or "batch"
    qt_limit: float  # queue-time limit from this step, seconds
    qt_to: int  # index of the step the queue-time limit runs to (-1: none)
    recipe: str
    rem_s: float  # remaining raw process time from this step on (for CR)
    rework_p: float
    rework_to: int  # index of the step a reworked lot goes back to (-1: none)
    route: str
    sample: float  # sampling percentage
    sample_u: Sampler | None  # U(0, 1) draws for sampling (None: every lot)
    scrap_p: float
    setup: str | None
    time: Sampler  # process time
    wint: float | None  # cascading wafers: the next wafer starts this long after one

    def __init__(self) -> None:
        self.rem_s = 0.0


class ProductRt:
    """A product, prepared for the run."""

    __slots__ = ("conwip", "count", "due_after", "id", "priority", "route", "rpt_s", "wafers")

    conwip: bool
    count: int  # lots released so far
    due_after: float | None
    id: str
    priority: int
    route: list[StepRt]
    rpt_s: float  # raw process time
    wafers: int


class Lot:
    """A lot (FOUP) in the fab."""

    __slots__ = (
        "due_s", "id", "idx", "initial", "priority", "product", "qenter", "qseq", "qt_deadline",
        "qt_from", "qt_to", "release_s", "route", "start_s", "step", "tool", "transport_s",
        "wafers", "where",
    )  # fmt: skip

    def __init__(self, lot_id: str, product: ProductRt, wafers: int, priority: int) -> None:
        self.id = lot_id
        self.product = product
        self.route = product.route
        self.wafers = wafers
        self.priority = priority
        self.due_s: float | None = None
        self.idx = 0
        self.step: StepRt = product.route[0]
        self.qenter = math.nan
        self.start_s = math.nan
        self.qseq = 0
        self.qt_to = -1
        self.qt_from = 0
        self.qt_deadline = 0.0
        self.release_s = 0.0
        self.transport_s = 0.0
        self.tool: Tool | None = None
        self.where = _MOVING
        self.initial = False


class Job:
    """A load on a tool: one lot, or the lots of a batch."""

    __slots__ = (
        "end",
        "id",
        "lots",
        "phase",
        "rem",
        "setup_s",
        "start_s",
        "step",
        "token",
        "tool",
    )

    end: float  # when the current phase ends
    id: int
    lots: list[Lot]
    phase: int  # _SETUP or _PROC
    rem: float  # time left in the phase when the tool went down
    setup_s: float
    start_s: float
    step: StepRt
    token: int  # phase entries carry it; a stale entry's token no longer matches
    tool: Tool


class Group:
    """A tool group: identical tools sharing one dispatch queue."""

    __slots__ = (
        "batch_wait", "cascade", "free", "id", "idx", "is_batch", "load_s", "min_run", "pos",
        "queue", "rule", "setup_default", "setups", "tools", "unload_s", "wake_at",
    )  # fmt: skip

    batch_wait: float
    cascade: int  # lots a cascading tool holds at once
    free: list[Tool]  # idle tools able to take work
    id: str
    idx: int
    is_batch: bool
    load_s: float
    min_run: int  # lots to run before a setup change
    pos: tuple[float, float]  # centre of the group's tools on the floor
    queue: LotQueue | BatchQueue
    rule: s.DispatchRule
    setup_default: Sampler | None
    setups: dict[tuple[str | None, str], Sampler]
    tools: list[Tool]
    unload_s: float
    wake_at: float | None  # when a waiting batch may start (None: no wake-up pending)


class Tool:
    """One tool and its state."""

    __slots__ = (
        "accept_at",
        "accept_due",
        "accept_rem",
        "accept_token",
        "accepting",
        "busy_since",
        "dist",
        "down",
        "fail_at",
        "fail_natural",
        "fail_pending",
        "fail_token",
        "first_fail",
        "group",
        "held",
        "hold_pending",
        "id",
        "idx",
        "in_free",
        "jobs",
        "mtbf",
        "mttr",
        "pm_next",
        "pm_pending",
        "pm_wafer_due",
        "pms",
        "port",
        "pos",
        "rel_basis",
        "runs",
        "setup",
        "since",
        "state",
        "sub",
        "ttf_left",
        "type",
        "wafers",
    )  # fmt: skip

    accept_at: float  # when the tool accepts the next load (cascading)
    accept_due: bool  # a cascading tool's next-lot time came while it was full
    accept_rem: float  # accept_at - now when the tool went down (-1: none)
    accept_token: int
    accepting: bool
    busy_since: float
    dist: dict[Group, tuple[float, Tool]]  # transport time to each group, and the nearest tool
    down: tuple[E10State, str] | None
    fail_natural: bool
    fail_pending: bool
    fail_token: int
    first_fail: Sampler | None
    group: Group
    held: bool
    hold_pending: bool
    id: str
    idx: int
    in_free: bool
    jobs: list[Job]
    mtbf: Sampler | None
    mttr: Sampler | None
    pm_next: list[float]  # when (time or wafer count) each PM falls due next
    pm_pending: list[int]  # PMs due, by index in pms
    pm_wafer_due: float  # wafer count at which the next wafer-count PM falls due
    pms: list[tuple[s.PmSpec, Sampler, Sampler | None]]  # (PM, duration, qualification)
    port: int  # its load port's rail node number in the OHT fleet's graph (-1: none)
    pos: tuple[float, float]
    rel_basis: str | None  # "calendar", "busy" or None (never fails)
    runs: int  # lots run since the last setup change
    setup: str | None
    since: float  # start of the current state interval
    state: E10State
    sub: str
    ttf_left: float  # busy-basis failures: busy time left to the next failure
    type: str
    wafers: int

    def __init__(self) -> None:
        self.state = STANDBY
        self.sub = ""
        self.since = 0.0
        self.dist = {}
        self.setup = None
        self.runs = 0
        self.jobs = []
        self.down = None
        self.held = False
        self.hold_pending = False
        self.accepting = True
        self.accept_at = 0.0
        self.accept_due = False  # a cascading tool's next-lot time came while it was full
        self.accept_rem = -1.0
        self.accept_token = 0
        self.in_free = False
        self.fail_pending = False
        self.fail_natural = False
        self.fail_token = 0
        self.fail_at = math.inf  # calendar-basis failures: when the next one is due
        self.ttf_left = math.inf
        self.busy_since = 0.0
        self.pm_pending = []
        self.wafers = 0
