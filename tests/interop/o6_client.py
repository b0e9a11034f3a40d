"""An open62541 OPC UA client (the PyPI package ``o6``) driven by JSON lines.

The peer of tests/interop/test_o6_client.py, run as its own process and never imported by
pytest: the PyPI ``o6`` wheel runs in ten-minute Script Mode (importing it starts a timer
that ends the process after ten minutes), so o6 lives only in short-lived child processes.

Usage: ``python o6_client.py URL LIMIT_S``. It connects to URL, then reads one JSON command a
line from stdin and answers each with one JSON line on stdout, ``{"id": n, "ok": true, ...}``
or ``{"id": n, "ok": false, "error": "..."}``. Data changes (``{"data": node, ...}``) and events
(``{"event": {...}}``) are printed whenever they arrive. Node ids travel as
``nsu=<namespace uri>;<id>`` (namespace 0: plain ``i=..``), so they mean the same in every
process. Other lines on stdout (o6's banner) do not start with ``{``. The process ends after
LIMIT_S seconds whatever happens, at end of input, or on ``{"cmd": "quit"}``.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import traceback
from typing import Any

import numpy as np
import o6
from o6.ns import ns0

_LOCK = threading.Lock()
_NUMPY_TYPES = {
    "bool": "Boolean",
    "int8": "SByte",
    "uint8": "Byte",
    "int16": "Int16",
    "uint16": "UInt16",
    "int32": "Int32",
    "uint32": "UInt32",
    "int64": "Int64",
    "uint64": "UInt64",
    "float32": "Float",
    "float64": "Double",
}
_ALL = int(ns0.datatypes.BrowseResultMask.ALL)
# (type that defines the field, browse path) of the event fields selected
_EVENT_FIELDS = (
    ("i=2041", "EventId"),
    ("i=2041", "EventType"),
    ("i=2041", "SourceNode"),
    ("i=2041", "SourceName"),
    ("i=2041", "Time"),
    ("i=2041", "Message"),
    ("i=2041", "Severity"),
    ("i=2782", "ConditionName"),
    ("i=2782", "Retain"),
    ("i=2881", "AckedState/Id"),
    ("i=2915", "ActiveState/Id"),
)


def emit(msg: dict[str, Any]) -> None:
    """Print one JSON line (callbacks run on o6's worker thread, commands on the main one)."""
    text = json.dumps(msg)
    with _LOCK:
        sys.stdout.write(text + "\n")
        sys.stdout.flush()


def portable(nid: Any) -> str:
    """Return ``nsu=<uri>;<id>`` for a node id of any namespace (``i=..`` etc. in ns 0)."""
    text = str(nid)
    ns = nid.ns
    if isinstance(ns, int):
        if ns == 0:
            return text
        ns = o6.ns[ns]
    if ns.index == 0:
        return text.split(";", 1)[1] if text.startswith("ns=") else text
    return f"nsu={ns.uri};{text.split(';', 1)[1]}"


def type_name(v: Any) -> str:
    """Return the OPC UA built-in type name of a value o6 decoded."""
    if isinstance(v, bool | np.bool_):
        return "Boolean"
    if isinstance(v, np.generic):
        return _NUMPY_TYPES.get(v.dtype.name, v.dtype.name)
    if isinstance(v, str):
        return "String"
    if isinstance(v, o6.LocalizedText):
        return "LocalizedText"
    if isinstance(v, o6.NodeId | o6.ExpandedNodeId):
        return "NodeId"
    return type(v).__name__


def plain(v: Any) -> Any:
    """Return a value o6 decoded as JSON data (structures as dicts of their fields)."""
    if v is None or isinstance(v, bool | int | float | str):
        return v
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, o6.StatusCode):
        return {"code": int(v), "name": v.name}
    if isinstance(v, o6.NodeId | o6.ExpandedNodeId):
        return portable(v)
    if isinstance(v, o6.LocalizedText | o6.QualifiedName):
        return str(v)
    if isinstance(v, bytes):
        return v.hex()
    if isinstance(v, list | tuple | np.ndarray):
        return [plain(x) for x in v]
    if isinstance(v, ns0.datatypes.Structure):
        names = [k for k in dir(v) if not k.startswith("_") and not callable(getattr(v, k))]
        return {k: plain(getattr(v, k)) for k in names}
    return str(v)


def _field_name(key: Any) -> str:
    """Return an event field's browse path: o6 keys a field of a subtype of BaseEventType
    ``i=2782/ConditionName`` and one of BaseEventType ``/Message``."""
    head, _, rest = str(key).lstrip("/").partition("/")
    return rest if "=" in head else str(key).lstrip("/")


class Peer:
    """The connected client and the commands it serves."""

    def __init__(self, url: str) -> None:
        self.client = o6.Client(url)
        self.client.connect()
        self.items: list[Any] = []  # keep monitored items alive

    def machines(self) -> dict[str, Any]:
        """The objects of the Machines folder under Objects (any namespace)."""
        folder = next(
            r
            for r in self.client.browse("i=85", resultMask=_ALL)
            if r.browseName.name == "Machines"
        )
        return {"folder": portable(folder.nodeId), "machines": self._children(folder.nodeId)}

    def browse(self, node: str) -> dict[str, Any]:
        return {"children": self._children(node)}

    def _children(self, node: Any) -> list[dict[str, Any]]:
        return [
            {
                "name": r.browseName.name,
                "node": portable(r.nodeId),
                "class": int(r.nodeClass),
                "type": portable(r.typeDefinition),
                "ref": portable(r.referenceTypeId),
            }
            for r in self.client.browse(node, resultMask=_ALL)
        ]

    def read(self, nodes: list[str], attr: str = "Value") -> dict[str, Any]:
        """Each node's DataValue: value, its built-in type, and status."""
        dvs = self.client.read(list(nodes), attr=attr, valueOnly=False)
        return {
            "results": [
                {
                    "value": plain(dv.value),
                    "type": type_name(dv.value),
                    "status": int(dv.status),
                    "status_name": dv.status.name,
                }
                for dv in dvs
            ]
        }

    def call(self, obj: str, method: str, args: list[Any] | None = None) -> dict[str, Any]:
        status, *outputs = self.client.call(obj, method, list(args or []))
        return {"status": int(status), "status_name": status.name, "outputs": plain(outputs)}

    def monitor(self, nodes: list[str], sampling_ms: float = 50.0) -> dict[str, Any]:
        """Subscribe to data changes of ``nodes``; each change is printed as a data line."""
        for node in nodes:

            def changed(dv: Any, node: str = node) -> None:
                emit(
                    {
                        "data": node,
                        "value": plain(dv.value),
                        "type": type_name(dv.value),
                        "status": int(dv.status),
                    }
                )

            self.items.append(
                self.client.monitor(node, changed, samplingInterval=sampling_ms, valueOnly=False)
            )
        return {"monitored": len(nodes)}

    def events(self, node: str) -> dict[str, Any]:
        """Subscribe to events of ``node``; each is printed as an event line."""
        clauses = []
        for tdef, path in _EVENT_FIELDS:
            op = ns0.datatypes.SimpleAttributeOperand()
            op.typeDefinitionId = o6.NodeId(tdef)
            op.browsePath = [o6.QualifiedName(0, p) for p in path.split("/")]
            op.attributeId = o6.AttributeId.VALUE
            clauses.append(op)
        ef = ns0.datatypes.EventFilter()
        ef.selectClauses = clauses

        def got(fields: dict[Any, Any]) -> None:
            emit({"event": {_field_name(k): plain(v) for k, v in fields.items()}})

        self.items.append(self.client.monitorEvent(node, got, ef))
        return {"events": node}

    def quit(self) -> dict[str, Any]:
        self.client.disconnect()
        return {}


def main() -> int:
    url, limit_s = sys.argv[1], float(sys.argv[2])
    watchdog = threading.Timer(limit_s, os._exit, (3,))  # a hung peer never outlives a test
    watchdog.daemon = True
    watchdog.start()
    peer = Peer(url)
    emit({"ready": url})
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        name, rid = cmd.pop("cmd"), cmd.pop("id", None)
        try:
            result = getattr(peer, name)(**cmd)
            emit({"id": rid, "ok": True, **result})
        except Exception as exc:
            emit({"id": rid, "ok": False, "error": f"{type(exc).__name__}: {exc}"})
            traceback.print_exc()
        if name == "quit":
            break
    os._exit(0)  # the watchdog timer and o6's worker threads need not be waited for


if __name__ == "__main__":
    sys.exit(main())
