"""An open62541 OPC UA server (the PyPI package ``o6``) with two machines, driven by JSON lines.

The peer of tests/interop/test_o6_server.py, run as its own process and never imported by
pytest: the PyPI ``o6`` wheel runs in ten-minute Script Mode (importing it starts a timer
that ends the process after ten minutes), so o6 lives only in short-lived child processes.

Usage: ``python o6_server.py PORT LIMIT_S``. Address space (namespace 1 is the server's
application namespace, ``urn:factory-twin:test:o6-server``; node ids are strings)::

    Objects/Machines                 FolderType, "ns=1;s=Machines"
      PUMP-1, PUMP-2                 BaseObjectType, "ns=1;s=<machine>"
        Pressure                     Double, AnalogItemType, EURange 0..10, EngineeringUnits
                                     bar (UNECE "BAR"), "ns=1;s=<machine>.Pressure"
        Speed                        Int32
        Mode                         String
        Running                      Boolean
        Setpoint                     BaseDataType (any Variant), holding a Double

It prints ``{"ready": URL, "namespace": URI}`` once listening, then reads commands, one JSON
object a line: ``{"cmd": "set", "node": "ns=1;s=...", "value": V, "type": "Double"}`` writes a
value of that built-in type (``{"set": node, "status": name}`` answers), ``{"cmd": "stop"}``
ends it. It ends by itself after LIMIT_S seconds or at end of input.
"""

from __future__ import annotations

import json
import os
import sys
import threading
from typing import Any

import o6
from o6.ns import ns0

MACHINES = ("PUMP-1", "PUMP-2")
APPLICATION_URI = "urn:factory-twin:test:o6-server"  # also the URI of namespace 1
_TYPES = {
    "Double": o6.Double,
    "Int32": o6.Int32,
    "String": str,
    "Boolean": bool,
}
# UNECE Recommendation 20 code "BAR" as an EUInformation unitId (OPC 10000-8, 5.6.3)
_BAR = ns0.datatypes.EUInformation(
    namespaceUri="http://www.opcfoundation.org/UA/units/un/cefact",
    unitId=(ord("B") << 16) | (ord("A") << 8) | ord("R"),
    displayName=o6.LocalizedText("bar"),
    description=o6.LocalizedText("bar"),
)


def emit(msg: dict[str, Any]) -> None:
    """Print one JSON line."""
    sys.stdout.write(json.dumps(msg) + "\n")
    sys.stdout.flush()


def build(server: o6.Server) -> None:
    """Add the Machines folder, its two machines and their variables."""
    server.addObject(
        "Machines",
        server.objectsNode,
        nodeId="ns=1;s=Machines",
        typeDefinition=ns0.objtypes.FolderType,
    )
    for i, m in enumerate(MACHINES):
        server.addObject(m, "ns=1;s=Machines", nodeId=f"ns=1;s={m}")
        pressure = server.addVariable(
            "Pressure",
            f"ns=1;s={m}",
            o6.Double(1.5 + i),
            nodeId=f"ns=1;s={m}.Pressure",
            typeDefinition=ns0.vartypes.AnalogItemType,
            parentReference=ns0.reftypes.HasComponent,
        )
        pressure.eURange(ns0.datatypes.Range(low=0.0, high=10.0))
        server.addVariable(
            "EngineeringUnits",
            f"ns=1;s={m}.Pressure",
            _BAR,
            nodeId=f"ns=1;s={m}.Pressure.EngineeringUnits",
            typeDefinition=ns0.vartypes.PropertyType,
            parentReference=ns0.reftypes.HasProperty,
            ns=0,
        )
        values: tuple[tuple[str, Any, str | None], ...] = (
            ("Speed", o6.Int32(1200 + i), None),
            ("Mode", "auto", None),
            ("Running", True, None),
            ("Setpoint", o6.Double(2.5), "i=24"),
        )
        for name, value, dtype in values:
            server.addVariable(
                name,
                f"ns=1;s={m}",
                value,
                nodeId=f"ns=1;s={m}.{name}",
                dataType=dtype,
                parentReference=ns0.reftypes.HasComponent,
            )


def main() -> int:
    port, limit_s = int(sys.argv[1]), float(sys.argv[2])
    watchdog = threading.Timer(limit_s, os._exit, (3,))  # a hung peer never outlives a test
    watchdog.daemon = True
    watchdog.start()
    server = o6.Server(port=port, applicationUri=APPLICATION_URI)
    server.start()
    build(server)
    namespaces = server.read("i=2255")
    emit({"ready": f"opc.tcp://127.0.0.1:{port}", "namespace": str(namespaces[1])})
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        if cmd["cmd"] == "stop":
            break
        if cmd["cmd"] == "set":
            value = _TYPES[cmd["type"]](cmd["value"])
            try:
                server.write(cmd["node"], value)
                status = "Good"
            except o6.StatusCodeError as exc:
                status = str(exc)
            emit({"set": cmd["node"], "status": status})
    server.stop()
    os._exit(0)  # the watchdog timer and o6's threads need not be waited for


if __name__ == "__main__":
    sys.exit(main())
