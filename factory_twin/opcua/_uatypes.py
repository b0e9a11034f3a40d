"""Typed constructors for the asyncua ``ua`` values we build from plain Python values.

asyncua annotates the fields of its structures with its own marker classes (``ua.Int32``,
``ua.Int16``, ``ua.UInt32``, ``ua.DateTime``), subclasses of ``int``/``datetime`` that it never
requires at run time: ``ua.NodeId(5, 2)`` and ``ua.StatusCode(ua.StatusCodes.Good)`` are how
asyncua's own code and documentation build them. Wrapping every value in a marker class would
cost an allocation per node and per write for nothing, so the few constructors live here,
typed with the plain types, each with one targeted ``type: ignore``.
"""

from __future__ import annotations

from asyncua import ua


def node_id(identifier: int | str, namespace: int = 0) -> ua.NodeId:
    """Return ``ua.NodeId(identifier, namespace)``.

    Examples
    --------
    >>> node_id(85).to_string()
    'i=85'
    >>> node_id("ETCH-01.State", 2).to_string()
    'ns=2;s=ETCH-01.State'
    """
    # asyncua types Identifier as ua.Int32 | ua.String | ... and NamespaceIndex as ua.Int16
    return ua.NodeId(identifier, namespace)  # type: ignore[arg-type]


def status(code: int) -> ua.StatusCode:
    """Return ``ua.StatusCode(code)`` for a ``ua.StatusCodes`` constant.

    Examples
    --------
    >>> status(ua.StatusCodes.BadNodeIdUnknown).name
    'BadNodeIdUnknown'
    """
    # asyncua types StatusCode.value as ua.UInt32; its StatusCodes constants are plain ints
    return ua.StatusCode(code)  # type: ignore[arg-type]
