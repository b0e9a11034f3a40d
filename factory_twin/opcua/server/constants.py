"""Names, codes and hook signatures of the plant simulator server's address space."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asyncua import ua

from factory_twin.model.events import AlarmEvent, AlarmPriority, E10State
from factory_twin.model.schema import DEFAULT_PRIORITY

NAMESPACE_URI = "urn:factory-twin:plant"
DEFAULT_ENDPOINT = "opc.tcp://127.0.0.1:4840/factory_twin/"

E10_STATES: tuple[str, ...] = tuple(st.value for st in sorted(E10State, key=lambda s: s.code))
OPERATION_MODES: tuple[str, ...] = ("None", "Maintenance", "Setup", "Processing")
METHODS: tuple[str, ...] = ("Hold", "Resume", "ResetAlarm")
# TagUpdate.tag names that are machine state, not Parameters (see model.events.TagUpdate).
STATE_TAGS = {
    "state": "E10State",
    "lot": "CurrentLot",
    "recipe": "Recipe",
    "wafer_count": "WaferCount",
    "operation_mode": "OperationMode",
}
# Severity of a limit (or the fault) with the default priority; a plant file's own priority
# is served as model.events.PRIORITY_SEVERITY, the one mapping of priority to severity.
FAULT_PRIORITY = AlarmPriority.HIGH
SEVERITY = {
    **{k: p.severity for k, p in DEFAULT_PRIORITY.items()},
    "fault": FAULT_PRIORITY.severity,
}
LIMIT_STATE_NAMES = {"hihi": "HighHigh", "hi": "High", "lo": "Low", "lolo": "LowLow"}
# Fab-level variables: (name, VariantType, description); node ids "ns=P;s=Fab.<name>".
FAB_VARIABLES: tuple[tuple[str, ua.VariantType, str], ...] = (
    ("PlantClock", ua.VariantType.Double, "Plant clock: time of the newest record, seconds"),
    ("LotsCompleted", ua.VariantType.UInt32, "Lots that left the fab (cumulative)"),
    ("WafersCompleted", ua.VariantType.UInt32, "Wafers of the lots that left the fab"),
    ("WIP", ua.VariantType.UInt32, "Lots in the fab now"),
    ("Moves", ua.VariantType.UInt32, "Step completions: lot moves that leave a tool"),
)
YIELD_EVERY = 400  # writes between asyncio.sleep(0), so publish/keep-alive never starve

# Machinery operation mode (0 None, 1 Maintenance, 2 Setup, 3 Processing) for each E10 state.
E10_OPERATION_MODE = {
    E10State.PRODUCTIVE: 3,
    E10State.STANDBY: 3,
    E10State.ENGINEERING: 2,
    E10State.SCHEDULED_DOWN: 1,
    E10State.UNSCHEDULED_DOWN: 1,
    E10State.NON_SCHEDULED: 0,
}

# A method hook returns whether the method may run, or an awaitable of that.
MethodHook = Callable[[str, str], bool | Awaitable[bool]]
WriteHook = Callable[[str, str, Any], None]
AlarmHook = Callable[[AlarmEvent], None]
