"""The SMT2020 importer's tables and report (see :mod:`factory_twin.model.smt2020`).

:class:`_Table` reads one AutoSched AP table (tab-separated, header first) and converts its
times and distributions to seconds, naming ``file:line: column`` in every error and counting
the columns nobody read; :class:`_Tables` keeps the tables a model directory opened;
:class:`ImportReport` is what an import kept and what the plant format cannot express.
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from factory_twin.errors import ConfigError
from factory_twin.model.smat2022 import LayoutReport

_UNIT_S = {
    "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
    "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
    "hr": 3600.0, "hrs": 3600.0, "h": 3600.0, "hour": 3600.0, "hours": 3600.0,
    "day": 86400.0, "days": 86400.0, "d": 86400.0,
    "week": 604800.0, "weeks": 604800.0, "wk": 604800.0,
}  # fmt: skip
_ENDPOINT = "simulator"
_DATE_FORMATS = ("%m/%d/%y %H:%M:%S", "%m/%d/%Y %H:%M:%S", "%m/%d/%y %H:%M", "%m/%d/%Y %H:%M")


# --------------------------------------------------------------------------- report


@dataclass
class ImportReport:
    """What an import kept, and what it could not express.

    Attributes
    ----------
    source
        Name of the model directory (e.g. ``SMT2020_HVLM``).
    counts
        Sizes of the imported plant: families, tools, routes, steps, products, WIP lots.
    unmodelled
        Features used by the data that the plant format cannot express, with how often
        they occur (rows, families or steps, as the name says).
    ignored
        Columns the importer does not read (``file:column``) with their non-empty cells.
    clock_zero
        The date the plant clock's zero stands for (``YYYY-MM-DD HH:MM:SS``).
    layout
        What placing the tools on a SMAT2022 layout did (None without a layout).
    drills
        Ids of the operator drills written for the fab (synthetic, not in the data).
    """

    source: str
    counts: dict[str, int] = field(default_factory=dict)
    unmodelled: dict[str, int] = field(default_factory=dict)
    ignored: dict[str, int] = field(default_factory=dict)
    clock_zero: str = ""
    layout: LayoutReport | None = None
    drills: list[str] = field(default_factory=list)

    def add(self, feature: str, n: int = 1) -> None:
        """Count ``n`` more occurrences of an unmodelled feature."""
        if n:
            self.unmodelled[feature] = self.unmodelled.get(feature, 0) + n

    def lines(self) -> list[str]:
        """Return the report as text lines."""
        out = [f"SMT2020 import of {self.source}:"]
        out += [f"  {k}: {v:,}" for k, v in self.counts.items()]
        out.append(f"Not modelled ({len(self.unmodelled)} features):")
        out += [f"  {n:>6,}  {k}" for k, n in sorted(self.unmodelled.items())]
        if not self.unmodelled:
            out.append("  (none)")
        out.append(f"Columns not read ({len(self.ignored)}):")
        out += [f"  {n:>6,}  {k}" for k, n in sorted(self.ignored.items())]
        if not self.ignored:
            out.append("  (none)")
        if self.layout is not None:
            out += self.layout.lines()
        return out


# --------------------------------------------------------------------------- tables


class _Row(dict[str, str]):
    """One data row: column -> stripped text; ``line`` is its 1-based line in the file."""

    line: int = 0


class _Table:
    """A tab-separated table with a header line; remembers which columns were read."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.name
        self.used: set[str] = set()
        try:
            raw = path.read_bytes()
        except OSError as exc:
            raise ConfigError([f"{path}: cannot read: {exc}"]) from None
        if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
            text = raw.decode("utf-16")
        else:
            try:
                text = raw.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = raw.decode("latin-1")
        lines = text.splitlines()
        if not lines or not lines[0].strip():
            raise ConfigError([f"{path}:1: empty file, expected a header line"])
        reader = csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
        self.header = [h.strip() for h in next(reader)]
        self.rows: list[_Row] = []
        self.beyond = 0  # non-empty cells right of the last header column
        for i, cells in enumerate(reader, start=2):
            if not any(c.strip() for c in cells):
                continue
            row = _Row(zip(self.header, (c.strip() for c in cells), strict=False))
            for h in self.header[len(cells) :]:
                row[h] = ""
            self.beyond += sum(1 for c in cells[len(self.header) :] if c.strip())
            row.line = i
            self.rows.append(row)

    def need(self, *cols: str) -> None:
        """Check that the columns exist and mark them read."""
        missing = [c for c in cols if c not in self.header]
        if missing:
            msg = f"{self.path}:1: missing column(s) {', '.join(missing)} (header: {', '.join(self.header)})"
            raise ConfigError([msg])
        self.used.update(cols)

    def optional(self, *cols: str) -> None:
        """Mark optional columns read (those present)."""
        self.used.update(c for c in cols if c in self.header)

    def unread(self) -> dict[str, int]:
        """Return non-empty cell counts of the columns nobody read."""
        out: dict[str, int] = {}
        for c in self.header:
            if c and c not in self.used:
                n = sum(1 for r in self.rows if r.get(c))
                if n:
                    out[c] = n
        if self.beyond:
            out["(cells beyond the header)"] = self.beyond
        return out

    def where(self, row: _Row, col: str | None = None) -> str:
        """Return ``file:line`` (and the column) for messages."""
        return f"{self.path}:{row.line}" + (f": {col}" if col else "")

    def num(self, row: _Row, col: str, *, default: float | None = None) -> float:
        """Return a number cell; ``default`` if empty (an error if no default)."""
        v = row.get(col, "")
        if v == "":
            if default is None:
                raise ConfigError([f"{self.where(row, col)}: missing value"])
            return default
        try:
            x = float(v)
        except ValueError:
            raise ConfigError([f"{self.where(row, col)}: expected a number, got {v!r}"]) from None
        if not math.isfinite(x):
            raise ConfigError([f"{self.where(row, col)}: expected a finite number, got {v!r}"])
        return x

    def count(self, row: _Row, col: str, *, default: int | None = None) -> int:
        """Return a whole number cell of 1 or more (wafers, lots); ``default`` if empty."""
        x = self.num(row, col, default=None if default is None else float(default))
        if x < 1 or x != int(x):
            msg = f"{self.where(row, col)}: expected a whole number of 1 or more, got {row.get(col)!r}"
            raise ConfigError([msg])
        return int(x)

    def seconds(
        self, row: _Row, col: str, unit_col: str, *, default: float | None = None
    ) -> float:
        """Return a time cell converted to seconds by its unit column."""
        if row.get(col, "") == "" and default is not None:
            return default
        return self.num(row, col) * self.unit(row, unit_col)

    def unit(self, row: _Row, unit_col: str) -> float:
        """Return seconds per unit named in ``unit_col``."""
        u = row.get(unit_col, "").lower()
        if u not in _UNIT_S:
            msg = f"{self.where(row, unit_col)}: unknown time unit {row.get(unit_col, '')!r} (use min, hr, day, ...)"
            raise ConfigError([msg])
        return _UNIT_S[u]

    def date(self, row: _Row, col: str) -> datetime:
        """Return a date cell (MM/DD/YY HH:MM:SS, as in the AutoSched files)."""
        v = row.get(col, "")
        for fmt in _DATE_FORMATS:
            try:
                return datetime.strptime(v, fmt)
            except ValueError:
                continue
        raise ConfigError(
            [f"{self.where(row, col)}: expected a date like 01/31/18 07:29:20, got {v!r}"]
        )

    def dist(
        self, row: _Row, kind_col: str, p1: str, p2: str | None, unit: float
    ) -> dict[str, Any]:
        """Return a distribution dict (seconds or counts) from AutoSched columns.

        ``uniform`` is mean and half-width (see the module notes).
        """
        kind = row.get(kind_col, "").lower()
        a = self.num(row, p1) * unit
        if a < 0:  # a time or a count: the value (the mean) cannot be negative
            msg = f"{self.where(row, p1)}: expected 0 or more, got {row.get(p1)!r}"
            raise ConfigError([msg])
        b = self.num(row, p2, default=0.0) * unit if p2 else 0.0
        if kind == "constant":
            return {"dist": "constant", "value": _r(a)}
        if kind == "uniform":
            if b > a:
                msg = f"{self.where(row, p2)}: uniform half-width {b / unit:g} exceeds the mean {a / unit:g}"
                raise ConfigError([msg])
            if b == 0:
                return {"dist": "constant", "value": _r(a)}
            return {"dist": "uniform", "low": _r(a - b), "high": _r(a + b)}
        if kind == "exponential":
            if a <= 0:
                raise ConfigError([f"{self.where(row, p1)}: exponential mean must be positive"])
            return {"dist": "exponential", "mean": _r(a)}
        if kind == "normal":
            return {"dist": "normal", "mean": _r(a), "sd": _r(b)}
        if kind == "lognormal":
            return {"dist": "lognormal", "mean": _r(a), "sd": _r(b)}
        msg = f"{self.where(row, kind_col)}: unsupported distribution {row.get(kind_col, '')!r} (constant, uniform, exponential, normal, lognormal)"
        raise ConfigError([msg])


def _r(x: float) -> float | int:
    """Round for the file: 6 decimals, integers without a decimal point."""
    y = round(x, 6)
    return int(y) if y == int(y) and abs(y) < 1e15 else y


def _bay_id(area: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]+", "_", area).lower()


def _class_suffix(lot_name: str) -> str:
    """'Lot_3' -> '', 'HotLot_3' -> 'hot', 'SuperHotLot_3' -> 'superhot'."""
    label = re.sub(r"[_\-]?\d+$", "", lot_name)
    label = re.sub(r"(?i)[_\-]?lots?$", "", label)
    return re.sub(r"[^a-z0-9]+", "_", label.lower()).strip("_")


def _find_tool_file(d: Path) -> Path:
    for name in ("tool.txt.1l", "tool.txt"):
        if (d / name).is_file():
            return d / name
    raise ConfigError([f"{d}: no tool.txt.1l or tool.txt (is this an SMT2020 model directory?)"])


@dataclass
class _Tables:
    """The model directory's tables, in the order they were opened.

    Every opened table takes part in the count of columns nobody read.
    """

    directory: Path
    opened: list[_Table] = field(default_factory=list)

    def add(self, path: Path) -> _Table:
        """Read the table at ``path`` and remember it."""
        t = _Table(path)
        self.opened.append(t)
        return t

    def required(self, file: str) -> _Table:
        """Read a table every SMT2020 model has."""
        p = self.directory / file
        if not p.is_file():
            raise ConfigError([f"{p}: missing (every SMT2020 model has it)"])
        return self.add(p)

    def optional(self, file: str) -> _Table | None:
        """Read a table if the model has it."""
        p = self.directory / file
        return self.add(p) if p.is_file() else None


def _count_unread(tables: list[_Table], route_tables: list[_Table], report: ImportReport) -> None:
    """Count the non-empty cells of every column no reader used (route files together)."""
    for t in tables:
        label = "route_*.txt" if t in route_tables else t.name
        for col, n in t.unread().items():
            ikey = f"{label}:{col}"
            report.ignored[ikey] = report.ignored.get(ikey, 0) + n
