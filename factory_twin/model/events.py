"""Plain records that flow between layers: tag updates, state changes, lot moves, alarms.

Producers (the simulation, the OPC UA client, the historian replay) create these frozen
records; consumers (the OPC UA plant simulator server, the window) read them. No layer's
library types (asyncua nodes, VTK actors, SimPy events) ever travel in them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Protocol


class E10State(str, Enum):
    """SEMI E10 equipment states.

    Setups are scheduled downtime in E10; a tool that is idle for lack of lots is standby.
    """

    PRODUCTIVE = "productive"
    STANDBY = "standby"
    ENGINEERING = "engineering"
    SCHEDULED_DOWN = "scheduled_down"
    UNSCHEDULED_DOWN = "unscheduled_down"
    NON_SCHEDULED = "non_scheduled"

    @property
    def code(self) -> int:
        """Integer used for this state on OPC UA (an enumeration index)."""
        return _E10_CODES[self]

    @classmethod
    def from_code(cls, code: int) -> E10State:
        """Return the state whose :attr:`code` is ``code`` (ValueError if none)."""
        for st, c in _E10_CODES.items():
            if c == code:
                return st
        msg = f"no E10 state has code {code}"
        raise ValueError(msg)


_E10_CODES = {
    E10State.PRODUCTIVE: 0,
    E10State.STANDBY: 1,
    E10State.ENGINEERING: 2,
    E10State.SCHEDULED_DOWN: 3,
    E10State.UNSCHEDULED_DOWN: 4,
    E10State.NON_SCHEDULED: 5,
}

# The one colour of each E10 state, wherever a state is drawn: the 3-D tools, the legend and
# KPI strip, the Compare charts and the HTML/PDF reports (keyed by the state's value).
E10_COLOURS: dict[str, str] = {
    E10State.PRODUCTIVE.value: "#2ca02c",
    E10State.STANDBY.value: "#f2c12e",
    E10State.ENGINEERING.value: "#1f8fd6",
    E10State.SCHEDULED_DOWN.value: "#ff7f0e",
    E10State.UNSCHEDULED_DOWN.value: "#d62728",
    E10State.NON_SCHEDULED.value: "#9467bd",
}


class Quality(str, Enum):
    """Quality of a value, as OPC UA status codes group them."""

    GOOD = "good"
    UNCERTAIN = "uncertain"
    BAD = "bad"
    STALE = "stale"  # the connection that carried it is gone


@dataclass(frozen=True, slots=True)
class TagUpdate:
    """A new value of one tag of one tool.

    ``tag`` is the tag name of the equipment type, or one of the standard machine tags
    ``state`` (an :class:`E10State` value), ``lot``, ``recipe``, ``wafer_count``,
    ``operation_mode``.

    Fab-level figures (not of one tool) use the reserved equipment id :data:`FAB_EQUIPMENT`
    (``"__fab__"``, never a valid tool id) with the tags of :data:`FAB_TAGS`.
    """

    equipment: str
    tag: str
    value: Any
    source_ts: float
    quality: Quality = Quality.GOOD
    server_ts: float | None = None
    status: str = "Good"


FAB_EQUIPMENT = "__fab__"
"""Equipment id of the fab-level :class:`TagUpdate` records (plant clock, output, WIP)."""

FAB_TAGS: dict[str, str] = {
    "plant_clock": "plant clock, seconds (plant seconds of a simulation)",
    "lots_completed": "lots that left the fab, cumulative",
    "wafers_completed": "wafers of the lots that left the fab, cumulative",
    "wip": "lots in the fab now",
    "moves": "step completions (lot moves leaving a tool), cumulative",
}
"""Tags of :data:`FAB_EQUIPMENT`: name -> meaning. Counters are cumulative since the
source started; consumers take rates from their differences over the plant clock."""

VEHICLE_PREFIX = "__oht__/"
"""Equipment ids of OHT vehicle :class:`TagUpdate` records start with this (never a valid
tool id): ``"__oht__/OHT-001"`` with the tags of :data:`VEHICLE_TAGS`."""

VEHICLE_TAGS: tuple[str, ...] = ("x", "y", "state", "carrier")
"""Tags of a vehicle: floor position x, y (metres), state (``idle``, ``moving`` or
``loaded``) and carrier (the id of the lot on board, empty when none)."""


RAIL_EQUIPMENT = VEHICLE_PREFIX + "rails"
"""Equipment id of the :class:`TagUpdate` records of the rail congestion a plant simulator
publishes (never a vehicle's name), with the tags of :data:`RAIL_TAGS`."""

RAIL_TAGS: tuple[str, ...] = ("link_ids", "blocked_s_per_h", "entries_per_h", "window_s")
"""Tags of :data:`RAIL_EQUIPMENT`: the rail link ids (a tuple of str, the order of the
arrays), per link blocked seconds per hour and entries per hour (tuples of float), and the
plant seconds those rates cover."""


def vehicle_name(index: int) -> str:
    """Name of the ``index``-th vehicle of a fleet (from 0): ``OHT-001``, ``OHT-002``, ..."""
    return f"OHT-{index + 1:03d}"


@dataclass(frozen=True, slots=True)
class StateChange:
    """A tool entered an E10 state (``substate`` says why: setup, pm, repair, ...)."""

    equipment: str
    state: E10State
    time_s: float
    substate: str = ""


@dataclass(frozen=True, slots=True)
class LotMove:
    """A lot (FOUP) left one place for another; ``None`` is the fab's entry or exit.

    ``depart_s`` and ``arrive_s`` let a view animate the carrier between them.
    """

    lot: str
    product: str
    from_equipment: str | None
    to_equipment: str | None
    depart_s: float
    arrive_s: float
    step: int = 0


class AlarmPriority(str, Enum):
    """ISA-18.2 alarm priority, set per limit in the plant file."""

    CRITICAL = "critical"
    HIGH = "high"
    MEDIUM = "medium"
    LOW = "low"

    @property
    def severity(self) -> int:
        """The OPC UA severity (1..1000) this priority is served with."""
        return PRIORITY_SEVERITY[self]


# The one place that maps priority to OPC UA severity and back. A priority is served as the
# middle of its band; :func:`priority_of` reads any severity (also a foreign server's) by band:
# critical 800..1000, high 600..799, medium 400..599, low 1..399.
PRIORITY_SEVERITY: dict[AlarmPriority, int] = {
    AlarmPriority.CRITICAL: 900,
    AlarmPriority.HIGH: 700,
    AlarmPriority.MEDIUM: 500,
    AlarmPriority.LOW: 250,
}
PRIORITIES: tuple[str, ...] = tuple(p.value for p in AlarmPriority)


def priority_of(severity: int) -> str:
    """Return the ISA-18.2 priority name of an OPC UA severity (1..1000).

    Examples
    --------
    >>> priority_of(AlarmPriority.HIGH.severity), priority_of(820), priority_of(100)
    ('high', 'critical', 'low')
    """
    if severity >= 800:
        return AlarmPriority.CRITICAL.value
    if severity >= 600:
        return AlarmPriority.HIGH.value
    if severity >= 400:
        return AlarmPriority.MEDIUM.value
    return AlarmPriority.LOW.value


def priority_rank(priority: str) -> int:
    """Return 1 for critical .. 4 for low (5 for anything else)."""
    try:
        return PRIORITIES.index(priority) + 1
    except ValueError:
        return 5


class ShelvingState(str, Enum):
    """OPC UA ShelvedStateMachine states of an alarm (Part 9)."""

    UNSHELVED = "Unshelved"
    ONE_SHOT = "OneShotShelved"
    TIMED = "TimedShelved"


class AlarmState(str, Enum):
    """ISA-18.2 alarm states."""

    ACTIVE_UNACKED = "unacknowledged"
    ACTIVE_ACKED = "acknowledged"
    CLEARED_UNACKED = "returned_unacknowledged"
    CLEARED = "returned_to_normal"


@dataclass(frozen=True, slots=True)
class AlarmEvent:
    """An alarm transition: raised, acknowledged or returned to normal.

    ``code`` follows the procedure alarm-link convention: ``<tag>.<lolo|lo|hi|hihi>`` or
    ``fault[.<name>]``.
    """

    alarm_id: str
    equipment: str
    code: str
    severity: int
    message: str
    time_s: float
    active: bool
    acked: bool
    user: str = ""
    comment: str = ""
    event_id: bytes = field(default=b"", compare=False)
    shelving: ShelvingState = ShelvingState.UNSHELVED
    unshelve_time_s: float = 0.0  # a timed shelve: seconds left when the event was sent
    out_of_service: bool = False

    @property
    def priority(self) -> str:
        """The ISA-18.2 priority of :attr:`severity` (critical, high, medium, low)."""
        return priority_of(self.severity)

    @property
    def suppressed(self) -> bool:
        """Shelved or out of service: kept from the operator's list (still journaled)."""
        return self.out_of_service or self.shelving is not ShelvingState.UNSHELVED

    @property
    def state(self) -> AlarmState:
        """The ISA-18.2 state this transition leaves the alarm in."""
        if self.active:
            return AlarmState.ACTIVE_ACKED if self.acked else AlarmState.ACTIVE_UNACKED
        return AlarmState.CLEARED if self.acked else AlarmState.CLEARED_UNACKED


@dataclass(frozen=True, slots=True)
class ConnectionStatus:
    """An endpoint connected, dropped or is retrying."""

    endpoint: str
    connected: bool
    message: str = ""
    time_s: float = 0.0
    gap_s: float | None = None


PlantEvent = TagUpdate | StateChange | LotMove | AlarmEvent | ConnectionStatus


class TagSource(Protocol):
    """Anything that produces plant events: the simulation, an OPC UA link, a replay."""

    def drain(self, max_items: int = 10_000) -> list[PlantEvent]:
        """Return the events that arrived since the last call (at most ``max_items``)."""
        ...


def latest_per_tag(events: Iterable[PlantEvent]) -> dict[tuple[str, str], TagUpdate]:
    """Keep only the newest update of each (equipment, tag) from a batch."""
    out: dict[tuple[str, str], TagUpdate] = {}
    for ev in events:
        if isinstance(ev, TagUpdate):
            out[(ev.equipment, ev.tag)] = ev
    return out
