"""The value and write path: plant events in, node values (and limit alarms) out.

:class:`ValuePath` writes the values of :class:`~factory_twin.model.events.TagUpdate` and
:class:`~factory_twin.model.events.StateChange` records into the address space through
asyncua's fast path, counts lot moves into the fab figures, checks tag limits, and passes
accepted client writes on to the write hook. It yields to the event loop every
:data:`~factory_twin.opcua.server.constants.YIELD_EVERY` writes so subscriptions keep being
served.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from asyncua import ua

from factory_twin.model.events import (
    E10State,
    LotMove,
    PlantEvent,
    Quality,
    StateChange,
    TagUpdate,
)
from factory_twin.opcua import _asyncua_adapter as adapter
from factory_twin.opcua._uatypes import status
from factory_twin.opcua.server.constants import (
    E10_OPERATION_MODE,
    OPERATION_MODES,
    STATE_TAGS,
    YIELD_EVERY,
    WriteHook,
)
from factory_twin.opcua.server.fab import FabCounters, FabVariables, count_lot_move

if TYPE_CHECKING:
    from asyncua import Server

    from factory_twin.opcua.server.address_space import PlantNodes, TagNode
    from factory_twin.opcua.server.alarms import AlarmConditions, PlantClock

logger = logging.getLogger(__name__)

_QUALITY = {
    Quality.GOOD: ua.StatusCodes.Good,
    Quality.UNCERTAIN: ua.StatusCodes.Uncertain,
    Quality.BAD: ua.StatusCodes.Bad,
    Quality.STALE: ua.StatusCodes.UncertainLastUsableValue,
}
# Shared, never mutated: one StatusCode object per quality instead of one per write.
_STATUS = {q: status(code) for q, code in _QUALITY.items()}


class ValuePath:
    """Writes plant events into one started server's address space.

    Parameters
    ----------
    server
        The started asyncua server.
    nodes
        Where the plant's nodes are.
    alarms
        The conditions the values drive.
    clock
        The plant clock, advanced to the newest record time.
    fab_variables
        The ``Fab`` variables.
    wafers_per_lot
        Wafers of a lot of each product id (for the fab figures).
    write_hook
        Returns the current client-write hook (read at each write).
    explicit_mode
        Tools whose source sends its own operation mode (kept by the caller, so it
        outlives a restart of the server).
    """

    def __init__(
        self,
        server: Server,
        nodes: PlantNodes,
        alarms: AlarmConditions,
        clock: PlantClock,
        fab_variables: FabVariables,
        wafers_per_lot: dict[str, int],
        write_hook: Callable[[], WriteHook | None],
        explicit_mode: set[str],
    ) -> None:
        self.nodes = nodes
        self.alarms = alarms
        self.clock = clock
        self.fab_variables = fab_variables
        self.wafers_per_lot = wafers_per_lot
        self.write_hook = write_hook
        self.write = adapter.value_writer(server)
        self.explicit_mode = explicit_mode
        # each tool's E10 state and the plant time it entered it (state-based alarming)
        self.states: dict[str, tuple[E10State, float]] = {}
        self._unknown: set[tuple[str, str]] = set()
        adapter.on_client_write(server, self._on_client_write)

    async def apply(
        self, events: Iterable[PlantEvent], clock_s: float | None, fab: FabCounters
    ) -> int:
        """Write the values and states in ``events``; count lot moves into ``fab``.

        Returns
        -------
        int
            The number of plant values written (the ``Fab`` variables not counted).
        """
        write = self.write
        clock = self.clock
        tags = self.nodes.tags
        n = 0
        now = datetime.now(UTC)
        for ev in events:
            if isinstance(ev, TagUpdate):
                clock.now_s = max(clock.now_s, ev.source_ts)
                if ev.tag in STATE_TAGS:
                    n += await self._apply_state_tag(ev, now)
                else:
                    tn = tags.get((ev.equipment, ev.tag))
                    if tn is None:
                        self._warn_unknown(ev.equipment, ev.tag)
                        continue
                    dv = datavalue(ev.value, tn.vtype, ev.quality, source_time(ev.source_ts, now))
                    if dv is None:
                        self._warn_bad_value(ev, tn)
                        continue
                    await write(tn.node_id, ua.AttributeIds.Value, dv)
                    n += 1
                    if tn.conditions and ev.quality is Quality.GOOD and dv.Value is not None:
                        await self.alarms.check_limits(
                            tn.spec,
                            tn.conditions,
                            dv.Value.Value,
                            ev.source_ts,
                            self.states.get(ev.equipment),
                        )
            elif isinstance(ev, StateChange):
                clock.now_s = max(clock.now_s, ev.time_s)
                n += await self.write_state(ev.equipment, ev.state, ev.substate, ev.time_s, now)
            elif isinstance(ev, LotMove):
                clock.now_s = max(clock.now_s, ev.depart_s)
                count_lot_move(fab, ev, self.wafers_per_lot)
                continue
            else:
                continue
            if n and n % YIELD_EVERY == 0:
                await asyncio.sleep(0)
        if clock_s is not None:
            clock.now_s = max(clock.now_s, float(clock_s))
        fab.plant_clock_s = max(fab.plant_clock_s, clock.now_s)
        await self.fab_variables.write(
            write, fab, source_time(fab.plant_clock_s, now), now
        )  # not counted: n is the plant values written
        return n

    async def _apply_state_tag(self, ev: TagUpdate, now: datetime) -> int:
        if ev.equipment not in self.nodes.machine_nodes:
            self._warn_unknown(ev.equipment, ev.tag)
            return 0
        if ev.tag == "state":
            try:
                state = ev.value if isinstance(ev.value, E10State) else E10State(str(ev.value))
            except ValueError:
                try:
                    state = E10State.from_code(int(ev.value))
                except (TypeError, ValueError):
                    logger.warning("%s: %r is not an E10 state", ev.equipment, ev.value)
                    return 0
            return await self.write_state(ev.equipment, state, "", ev.source_ts, now)
        name = STATE_TAGS[ev.tag]
        ts = source_time(ev.source_ts, now)
        value: Any = ev.value
        if name == "OperationMode":
            self.explicit_mode.add(ev.equipment)
            value = operation_mode(value)
            vt = ua.VariantType.Int32
        elif name == "WaferCount":
            try:
                value = max(0, int(value))
            except (TypeError, ValueError):
                return 0
            vt = ua.VariantType.UInt32
        else:
            value = "" if value is None else str(value)
            vt = ua.VariantType.String
        dv = adapter.shared_value(ua.Variant(value, vt), ts, now)
        await self.write(self.nodes.state_nodes[(ev.equipment, name)], ua.AttributeIds.Value, dv)
        return 1

    async def write_state(
        self, equipment: str, state: E10State, substate: str, time_s: float, now: datetime
    ) -> int:
        """Write a tool's E10 state (and operation mode); raise or clear its fault alarm."""
        if equipment not in self.nodes.machine_nodes:
            self._warn_unknown(equipment, "state")
            return 0
        write, state_nodes = self.write, self.nodes.state_nodes
        ts = source_time(time_s, now)
        await write(
            state_nodes[(equipment, "E10State")],
            ua.AttributeIds.Value,
            adapter.shared_value(ua.Variant(state.code, ua.VariantType.Int32), ts, now),
        )
        await write(
            state_nodes[(equipment, "E10StateName")],
            ua.AttributeIds.Value,
            adapter.shared_value(ua.Variant(state.value, ua.VariantType.String), ts, now),
        )
        n = 2
        if equipment not in self.explicit_mode:
            n += 1
            # Machinery's operation mode follows the E10 state unless the source sends its own.
            await write(
                state_nodes[(equipment, "OperationMode")],
                ua.AttributeIds.Value,
                adapter.shared_value(
                    ua.Variant(E10_OPERATION_MODE[state], ua.VariantType.Int32), ts, now
                ),
            )
        old = self.states.get(equipment)
        if old is None or old[0] is not state:
            self.states[equipment] = (state, time_s)
            await self.alarms.state_changed(equipment, state, time_s)
        cond = self.alarms.faults[equipment]
        down = state is E10State.UNSCHEDULED_DOWN
        if down and not cond.active:
            why = f" ({substate})" if substate else ""
            text = f"fault: {equipment} is unscheduled down{why}"
            await self.alarms.activate(cond, text, time_s)
        elif not down and cond.active:
            text = f"fault: {equipment} is back up ({state.value})"
            await self.alarms.deactivate(cond, text, time_s)
        return n

    async def _on_client_write(self, writes: list[tuple[ua.NodeId, Any]]) -> None:
        for nid, value in writes:
            tn = self.nodes.tag_by_node.get(nid)
            if tn is None:
                continue
            if tn.conditions:
                await self.alarms.check_limits(
                    tn.spec,
                    tn.conditions,
                    value,
                    self.clock.now_s,
                    self.states.get(tn.equipment),
                )
            hook = self.write_hook()
            if hook is not None:
                try:
                    hook(tn.equipment, tn.spec.name, value)
                except Exception:
                    logger.exception("on_write hook failed for %s.%s", tn.equipment, tn.spec.name)

    # ------------------------------------------------------------------ warnings

    def _warn_unknown(self, equipment: str, tag: str) -> None:
        key = (equipment, tag)
        if key not in self._unknown:
            self._unknown.add(key)
            logger.debug("ignoring update of %s.%s: not served here", equipment, tag)

    def _warn_bad_value(self, ev: TagUpdate, tn: TagNode) -> None:
        key = (ev.equipment, ev.tag + "#value")
        if key not in self._unknown:
            self._unknown.add(key)
            logger.warning(
                "%s.%s: value %r does not fit data type %s; skipped",
                ev.equipment,
                ev.tag,
                ev.value,
                tn.spec.data_type.value,
            )


def source_time(source_ts: float, now: datetime) -> datetime:
    """Return the SourceTimestamp of a record stamped ``source_ts``.

    Live sources stamp with Unix time; a simulation stamps with plant seconds from 0,
    which OPC UA clients would show as 1970: those are served with the wall clock ``now``.
    """
    if source_ts > 1e9:
        return datetime.fromtimestamp(source_ts, UTC)
    return now


def datavalue(
    value: Any, vt: ua.VariantType, quality: Quality, ts: datetime
) -> ua.DataValue | None:
    """Return the DataValue of a tag value, or None when it does not fit ``vt``."""
    st = _STATUS.get(quality) or _STATUS[Quality.BAD]
    if value is None:
        if st.is_good():
            return None
        return adapter.shared_value(ua.Variant(None, ua.VariantType.Null), ts, ts, st)
    try:
        if vt is ua.VariantType.Double:
            v: Any = float(value)
        elif vt is ua.VariantType.Int32:
            v = int(value)
            if not -(2**31) <= v < 2**31:
                return None
        elif vt is ua.VariantType.Boolean:
            v = bool(value)
        else:
            v = str(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return adapter.shared_value(ua.Variant(v, vt), ts, ts, st)


def operation_mode(value: Any) -> int:
    """Return the Machinery operation mode number of a name or number (0 when unknown)."""
    if isinstance(value, str):
        for i, name in enumerate(OPERATION_MODES):
            if value.strip().lower() == name.lower():
                return i
        return 0
    try:
        i = int(value)
    except (TypeError, ValueError):
        return 0
    return i if 0 <= i < len(OPERATION_MODES) else 0
