"""Argument types that reject bad values up front, with one line naming the value.

argparse calls these while parsing, so a wrong number or URL ends the command with exit
code 2 and ``factory-twin CMD: error: argument --speed: ...`` before anything starts.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit


def _number(text: str, kind: type[float] | type[int]) -> float:
    try:
        value = kind(text)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        msg = f"expected {what}, got {text!r}"
        raise argparse.ArgumentTypeError(msg) from None
    if not math.isfinite(value):
        msg = f"expected a finite number, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return value


def bounded_float(
    lo: float | None = None, hi: float | None = None, *, lo_open: bool = False
) -> Callable[[str], float]:
    """Return a type for a finite float in ``[lo, hi]`` (``(lo, hi]`` with ``lo_open``)."""

    def parse(text: str) -> float:
        value = float(_number(text, float))
        if lo is not None and (value < lo or (lo_open and value == lo)):
            op = ">" if lo_open else ">="
            msg = f"must be {op} {lo:g}, got {text!r}"
            raise argparse.ArgumentTypeError(msg)
        if hi is not None and value > hi:
            msg = f"must be <= {hi:g}, got {text!r}"
            raise argparse.ArgumentTypeError(msg)
        return value

    parse.__name__ = "number"
    return parse


def bounded_int(lo: int | None = None, hi: int | None = None) -> Callable[[str], int]:
    """Return a type for an integer in ``[lo, hi]``."""

    def parse(text: str) -> int:
        value = int(_number(text, int))
        if (lo is not None and value < lo) or (hi is not None and value > hi):
            span = f"between {lo} and {hi}" if lo is not None and hi is not None else (
                f">= {lo}" if lo is not None else f"<= {hi}")  # fmt: skip
            msg = f"must be {span}, got {text!r}"
            raise argparse.ArgumentTypeError(msg)
        return value

    parse.__name__ = "integer"
    return parse


positive_float = bounded_float(0.0, lo_open=True)
non_negative_float = bounded_float(0.0)
positive_int = bounded_int(1)
non_negative_int = bounded_int(0)
seed_int = bounded_int(0, 2**63 - 1)


def nonempty_text(text: str) -> str:
    """argparse type for a name that must say something (not empty or only spaces)."""
    if not text.strip():
        msg = f"must not be empty, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return text


nonempty_text.__name__ = "text"


def folder_path(text: str) -> Path:
    """argparse type for a folder the command may create: anything but an existing file."""
    path = Path(text)
    if path.exists() and not path.is_dir():
        msg = f"{text} is a file, not a folder"
        raise argparse.ArgumentTypeError(msg)
    return path


folder_path.__name__ = "folder"


def check_opc_url(text: str) -> str:
    """Return ``text`` if it is a usable ``opc.tcp://host[:port][/path]`` URL.

    Raises
    ------
    ValueError
        With a one-line reason (the scheme, a missing host, a port that is not a number in
        1-65535).
    """
    url = text.strip()
    if not url.lower().startswith("opc.tcp://"):
        msg = f"an OPC UA endpoint looks like opc.tcp://host:port/path, got {text!r}"
        raise ValueError(msg)
    parts = urlsplit(url)
    if not parts.hostname:
        msg = f"no host in endpoint {text!r}"
        raise ValueError(msg)
    try:
        port = parts.port
    except ValueError:
        port_text = parts.netloc.rpartition(":")[2]
        msg = f"port {port_text!r} in endpoint {text!r} is not a number between 1 and 65535"
        raise ValueError(msg) from None
    if port is not None and not 1 <= port <= 65535:
        msg = f"port {port} in endpoint {text!r} is not between 1 and 65535"
        raise ValueError(msg)
    if any(c.isspace() for c in url):
        msg = f"endpoint {text!r} contains white space"
        raise ValueError(msg)
    return url


def opc_url(text: str) -> str:
    """argparse type for an OPC UA endpoint URL (see :func:`check_opc_url`)."""
    try:
        return check_opc_url(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


opc_url.__name__ = "endpoint"
