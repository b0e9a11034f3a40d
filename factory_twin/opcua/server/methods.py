"""The machine methods Hold, Resume and ResetAlarm.

Hold and Resume are passed to the method hook (the embedded simulator holds or releases the
tool; the hook may be a coroutine function, as for a server process of a split plant, which
asks the simulation in another process); without a hook they answer ``BadNotImplemented``. ResetAlarm acknowledges the tool's
alarms that have returned to normal (the hook, when there is one, may refuse it first).

asyncua finds a method's callback by the method's node alone and checks neither the object
it is called on nor the input arguments, so each method node's callback does (OPC 10000-4,
5.11.2): a method called on an object other than its own machine answers
``BadMethodInvalid`` (it never runs on the other tool), one called with input arguments
``BadTooManyArguments`` (the methods take none).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from asyncua import ua

from factory_twin.opcua import _asyncua_adapter as adapter
from factory_twin.opcua._uatypes import status
from factory_twin.opcua.server.constants import MethodHook

if TYPE_CHECKING:
    from asyncua import Server

    from factory_twin.opcua.server.alarms import AlarmConditions

logger = logging.getLogger(__name__)

MethodResult = ua.StatusCode | list[Any]


class PlantMethods:
    """Serves the machine methods.

    Parameters
    ----------
    alarms
        The conditions ResetAlarm acknowledges.
    hook
        Returns the current method hook (read at each call, so it may be set at any time).
    """

    def __init__(self, alarms: AlarmConditions, hook: Callable[[], MethodHook | None]) -> None:
        self.alarms = alarms
        self.hook = hook
        self.machine_by_node: dict[ua.NodeId, str] = {}

    def bind(
        self,
        server: Server,
        machine_by_node: dict[ua.NodeId, str],
        method_names: dict[ua.NodeId, tuple[str, str]],
    ) -> None:
        """Serve the method nodes ``method_names`` (node -> (equipment, method)) on ``server``."""
        self.machine_by_node = machine_by_node
        for mid, (equipment, mname) in method_names.items():
            adapter.add_method_callback(server, mid, self._callback(equipment, mname))

    def _callback(self, equipment: str, method: str) -> Callable[..., Any]:
        # One callback per method node: it runs only on its own machine, without arguments.
        async def call(parent: ua.NodeId, *args: Any) -> MethodResult:
            if self.machine_by_node.get(parent) != equipment:
                logger.warning(
                    "%s.%s called on %s, not on its machine: refused",
                    equipment,
                    method,
                    parent.to_string(),
                )
                return status(ua.StatusCodes.BadMethodInvalid)
            if args:
                return status(ua.StatusCodes.BadTooManyArguments)
            return await self.run(equipment, method)

        return call

    async def run(self, equipment: str, method: str) -> MethodResult:
        """Run ``method`` on ``equipment``: ``[]`` when done, else the refusal's status."""
        refused = await self._refusal(
            equipment, method, allowed_without_hook=method == "ResetAlarm"
        )
        if refused is not None:
            return refused
        if method == "ResetAlarm":
            for c in list(self.alarms.conditions.values()):
                if c.equipment == equipment and not c.active and not c.acked:
                    await self.alarms.ack(c, "reset from the tool", "")
        return []

    async def _refusal(
        self, equipment: str, method: str, *, allowed_without_hook: bool
    ) -> ua.StatusCode | None:
        """Ask the hook; return None if the method may run, else the status refusing it."""
        hook = self.hook()
        if hook is None:
            if allowed_without_hook:
                return None
            return status(ua.StatusCodes.BadNotImplemented)
        try:
            ok = hook(equipment, method)
            if inspect.isawaitable(ok):
                ok = await ok
        except Exception:
            logger.exception("method %s on %s failed", method, equipment)
            return status(ua.StatusCodes.BadInternalError)
        return None if ok else status(ua.StatusCodes.BadInvalidState)
