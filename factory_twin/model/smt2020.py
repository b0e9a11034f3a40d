"""Import the SMT2020 semiconductor fab testbed into a plant.

SMT2020 (Kopp, Hassoun, Kalir, Mönch 2020, see :data:`CITATION`) publishes its fab models as
AutoSched AP input tables: tab-separated text, first line the header, times with their own
unit column. :func:`import_smt2020` reads one model directory (``SMT2020_HVLM``,
``SMT2020_LVHM``) and returns a validated :class:`~factory_twin.model.config.PlantDocument`
plus an :class:`ImportReport` naming, with counts, every feature of the data that the plant
format cannot express and every column the importer does not read. Nothing is dropped
silently.

How the tables map onto the plant (units converted to seconds):

* ``tool.txt[.1l]``: one tool group per family (STNFAM), STNQTY identical tools
  ``<family>_<n>``, one equipment type per family, areas (STNGRP) as bays. Dispatch from
  RULE and FWLRANK: every rule of the simulator ranks priority first, so
  ``rank_HP;rank_RSETUP;rank_FIFO`` is ``setup_avoid`` on a family with setups and ``fifo``
  otherwise, ``rank_HP;rank_RSETUP;rank_CR`` is ``cr`` on a family without setups (with
  setups it is ``setup_avoid``, whose FIFO tie-break is reported). ``rule_LSSU`` is
  ``setup_avoid`` with the setup group's minimum run (``setupgrp.txt`` MINRUN) as
  ``min_run_lots``. LTIME/ULTIME are ``load_s``/``unload_s``. BATCHCRITF
  ``crit_sameroutestep`` needs nothing: steps get no recipe, and without one only lots at
  the same route step share a batch. Batch capacity of a family's type is the widest
  BATCHMN..BATCHMX of its steps. STNCAP (lots a cascading tool holds at once) is
  ``cascade_lots``: such a tool takes the next lot after the step's PartInterval x wafers
  or BatchInterval, loading and unloading overlapping with processing.
* ``route_N.txt``: PTPER ``per_piece``/``per_lot``/``per_batch`` is ``per`` wafer/lot/batch;
  BATCHMN/BATCHMX (wafers, BATCHPER ``piece``) the step's batch; SETUP the step's setup
  (setup time from the step's STIME, else ``setup.txt``); StepPercent ``sample_pct``;
  RWKSTEP/REWORK (percent) ``rework``; STEP_CQT/CQT ``queue_time_limit``; PartInterval
  ``wafer_interval_s`` and BatchInterval ``batch_interval_s`` (cascading).
* Distributions: ``uniform`` with parameters (P, P2) is the uniform distribution on
  [P - P2, P + P2], i.e. mean and half-width, as in AutoSched AP. The data confirm it: every
  process time has P2 = 5 % of P, PM durations 20 %, and ``fromto.txt`` gives transport as
  (7.5, 2.5) min, the U[5, 10] min of the paper; read as (low, high) all of these would be
  empty intervals. ``constant`` and ``exponential`` take the first parameter as the value or
  mean.
* ``pmcal.txt``: ``mtbpm_by_cal`` is a calendar PM every MTBPM, ``mtbpm_by_pieces`` a PM
  every MTBPM wafers; MTTR/MTTR2 is the uniform duration. ``downcal.txt``: MTTF/MTTR
  distributions of calendar-time failures. ``attach.txt`` attaches both to a family
  (``stnfam``), an area (``stngrp``) or one tool (``stn``); its first occurrence (FOA) is
  ``first`` (PM) or ``first_s`` (failure). A constant FOA is staggered over the N tools it
  attaches to (tool k of N first at FOA * k / N), so that a family's tools do not all stop at
  once; a random FOA is drawn per tool.
* ``part.txt`` + ``order.txt``: one product per order line, i.e. per (part, priority class)
  (regular, hot, super hot lots of one part share its route); the product id is the part,
  or the part with the class taken from the order's lot name (``part_3_hot``). Release is
  ``rate`` with the order's REPEAT as interarrival, START as ``start_s``, DUE - START as
  ``due_after_s``, PRIOR as ``priority`` and PIECES as ``wafers_per_lot``.
* ``WIP.txt``: initial lots waiting for CURSTEP, due at DUE. The plant clock's zero is the
  earliest START of ``order.txt`` and ``WIP.txt``.
* ``fromto.txt``: the fab's one from-to pair is ``transport.fixed_time``.

The floor layout, equipment shapes, components and tags are synthetic (SMT2020 has none):
bays sized to their tools in a grid with aisles, tools in rows with service clearance.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from factory_twin.errors import ConfigError
from factory_twin.model import schema as s
from factory_twin.model.config import PlantDocument, check_references
from factory_twin.model.smat2022 import LayoutReport, apply_layout

logger = logging.getLogger(__name__)

CITATION = (
    "Kopp, D., Hassoun, M., Kalir, A., Mönch, L. (2020). SMT2020 — A Semiconductor "
    "Manufacturing Testbed. IEEE Transactions on Semiconductor Manufacturing 33(4), 522-531."
)

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
    """

    source: str
    counts: dict[str, int] = field(default_factory=dict)
    unmodelled: dict[str, int] = field(default_factory=dict)
    ignored: dict[str, int] = field(default_factory=dict)
    clock_zero: str = ""
    layout: LayoutReport | None = None

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


@dataclass
class Smt2020Import:
    """The result of :func:`import_smt2020`."""

    document: PlantDocument
    report: ImportReport
    data: dict[str, Any] = field(repr=False)

    def text(self) -> str:
        """Return the plant file: a header citing the source, then compact YAML."""
        return header_comment(self.report) + plant_yaml(self.data)


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


# --------------------------------------------------------------------------- synthetic geometry

# Per equipment kind: (EquipmentKind, parts, components, tags). Shapes are believable boxes and
# cylinders of roughly the real tools' size (metres); components and tags give the 3-D view,
# OPC UA and AR something to point at. All synthetic: SMT2020 has no geometry or sensors.
_Part = tuple[
    str, tuple[float, ...], tuple[float, float, float], str, str
]  # name, dims, at, solid, colour


@dataclass(frozen=True)
class _Template:
    kind: s.EquipmentKind
    parts: tuple[_Part, ...]
    components: tuple[tuple[str, tuple[float, float, float], str, str], ...]
    tags: tuple[dict[str, Any], ...]
    gap_m: float = 1.2  # clearance to the next tool in a row
    aisle_m: float = 2.4  # service aisle in front of a row


def _tag(
    name: str, unit: str, lo: float, hi: float, idle: float, noise: float, comp: str, **kw: Any
) -> dict[str, Any]:
    d: dict[str, Any] = {
        "name": name,
        "unit": unit,
        "normal_range": [lo, hi],
        "idle_value": idle,
        "noise": noise,
        "component": comp,
    }
    d.update(kw)
    return d


_TEMPLATES: dict[str, _Template] = {
    "scanner": _Template(
        s.EquipmentKind.LITHO_SCANNER,
        (
            ("body", (4.2, 2.6, 2.5), (0.4, 0, 0), "box", "#d8dde6"),
            ("wafer_handler", (1.2, 1.6, 1.9), (-2.3, 0, 0), "box", "#a9b4c4"),
        ),
        (
            ("reticle stage", (0.4, 0, 2.5), "body", "Reticle stage and loader"),
            ("wafer stage", (0.8, 0, 1.2), "body", "Wafer stage"),
            ("load port", (-2.3, -0.8, 0.9), "wafer_handler", "Lot load port"),
        ),
        (
            _tag(
                "stage_temperature",
                "degC",
                21.9,
                22.1,
                22.0,
                0.01,
                "wafer stage",
                alarms={"lo": 21.7, "hi": 22.3},
            ),
            _tag("dose", "mJ/cm2", 20, 40, 0, 0.2, "reticle stage"),
            _tag("overlay_error", "nm", 0, 3, 0, 0.1, "wafer stage", alarms={"hi": 5}),
        ),
    ),
    "track": _Template(
        s.EquipmentKind.LITHO_TRACK,
        (
            ("body", (3.6, 2.0, 2.2), (0, 0, 0), "box", "#e3e6ea"),
            ("chemical_cabinet", (0.8, 2.0, 1.6), (-2.2, 0, 0), "box", "#9fb0c2"),
        ),
        (
            ("coater", (0.8, 0, 1.1), "body", "Spin coater cup"),
            ("hot plate", (-0.6, 0, 1.1), "body", "Bake plate"),
            ("resist supply", (-2.2, 0, 1.6), "chemical_cabinet", "Resist pump and filter"),
        ),
        (
            _tag(
                "hotplate_temperature", "degC", 90, 130, 25, 0.3, "hot plate", alarms={"hi": 140}
            ),
            _tag("spin_speed", "rpm", 1000, 4000, 0, 5, "coater"),
        ),
    ),
    "metrology": _Template(
        s.EquipmentKind.METROLOGY,
        (
            ("body", (1.8, 1.6, 1.9), (0, 0, 0), "box", "#c9d3df"),
            ("efem", (0.6, 1.6, 1.6), (-1.2, 0, 0), "box", "#8fa1b5"),
        ),
        (
            ("measurement head", (0.2, 0, 1.9), "body", "Optical measurement head"),
            ("load port", (-1.2, -0.8, 0.9), "efem", "Lot load port"),
        ),
        (
            _tag("stage_vibration", "um/s", 0, 2, 0.2, 0.05, "measurement head", alarms={"hi": 5}),
            _tag("lamp_hours", "h", 0, 2000, 0, 0, "measurement head", alarms={"hi": 2500}),
        ),
    ),
    "dry_etch": _Template(
        s.EquipmentKind.DRY_ETCH,
        (
            ("mainframe", (2.2, 2.2, 1.7), (0, 0, 0), "box", "#b8c2cf"),
            ("chamber_a", (0.45, 1.0), (0.9, 0.9, 0.6), "cylinder", "#7d8ea3"),
            ("chamber_b", (0.45, 1.0), (0.9, -0.9, 0.6), "cylinder", "#7d8ea3"),
            ("efem", (0.7, 2.2, 1.6), (-1.45, 0, 0), "box", "#95a6b9"),
        ),
        (
            ("chamber A", (0.9, 0.9, 1.6), "chamber_a", "Process chamber A"),
            ("chamber B", (0.9, -0.9, 1.6), "chamber_b", "Process chamber B"),
            ("rf generator", (0, 0, 1.7), "mainframe", "RF generator and match"),
        ),
        (
            _tag(
                "chamber_pressure",
                "Pa",
                2,
                6,
                0.1,
                0.05,
                "chamber A",
                alarms={"hi": 8, "hihi": 10},
            ),
            _tag("rf_power", "W", 800, 1500, 0, 10, "rf generator", alarms={"hi": 1800}),
            _tag("he_flow", "sccm", 5, 15, 0, 0.2, "chamber A"),
        ),
    ),
    "cvd": _Template(
        s.EquipmentKind.CVD,
        (
            ("mainframe", (2.4, 2.4, 1.9), (0, 0, 0), "box", "#bcc6d2"),
            ("reactor", (0.55, 1.0), (0.6, 0, 1.9), "cylinder", "#7c8da1"),
            ("gas_box", (0.7, 1.2, 1.8), (-1.55, 0.6, 0), "box", "#a0adbd"),
        ),
        (
            ("reactor", (0.6, 0, 2.9), "reactor", "Deposition reactor"),
            ("gas panel", (-1.55, 0.6, 1.8), "gas_box", "Precursor gas panel"),
            ("heater", (0.6, 0, 1.9), "mainframe", "Susceptor heater"),
        ),
        (
            _tag("susceptor_temperature", "degC", 350, 420, 25, 0.5, "heater", alarms={"hi": 450}),
            _tag("chamber_pressure", "Pa", 200, 400, 1, 2, "reactor", alarms={"hi": 500}),
            _tag("precursor_flow", "sccm", 100, 300, 0, 2, "gas panel"),
        ),
    ),
    "furnace": _Template(
        s.EquipmentKind.FURNACE,
        (
            ("cabinet", (1.8, 2.8, 3.4), (0, 0, 0), "box", "#d0d6de"),
            ("tube", (0.35, 1.2), (0, 0.5, 3.4), "cylinder", "#c47d55"),
            ("boat_elevator", (1.8, 0.8, 1.4), (0, -1.8, 0), "box", "#9aa8b8"),
        ),
        (
            ("tube", (0, 0.5, 4.0), "tube", "Quartz process tube"),
            ("boat elevator", (0, -1.8, 1.4), "boat_elevator", "Wafer boat elevator"),
            ("heater", (0, 0.5, 2.5), "cabinet", "Five-zone heater"),
        ),
        (
            _tag(
                "tube_temperature",
                "degC",
                900,
                1050,
                400,
                0.5,
                "heater",
                alarms={"hi": 1100, "hihi": 1150},
            ),
            _tag("o2_flow", "sccm", 2000, 6000, 0, 20, "tube"),
            _tag("tube_pressure", "Pa", 95000, 101325, 101325, 50, "tube"),
        ),
        aisle_m=2.8,
    ),
    "implanter": _Template(
        s.EquipmentKind.IMPLANTER,
        (
            ("beamline", (4.6, 2.4, 2.3), (0.3, 0, 0), "box", "#c2cad5"),
            ("ion_source", (0.5, 1.1), (2.0, 0, 2.3), "cylinder", "#8a6f9e"),
            ("end_station", (1.0, 2.4, 1.8), (-2.5, 0, 0), "box", "#94a3b6"),
        ),
        (
            ("ion source", (2.0, 0, 3.0), "ion_source", "Ion source and gas box"),
            ("end station", (-2.5, 0, 1.8), "end_station", "Wafer end station"),
            ("analyser magnet", (0.5, 0, 2.3), "beamline", "Analyser magnet"),
        ),
        (
            _tag("beam_current", "mA", 1, 20, 0, 0.1, "ion source"),
            _tag("beam_energy", "keV", 5, 200, 0, 0.2, "analyser magnet"),
            _tag(
                "end_station_pressure",
                "Pa",
                1e-5,
                1e-3,
                1e-5,
                1e-6,
                "end station",
                alarms={"hi": 5e-3},
            ),
        ),
    ),
    "cmp": _Template(
        s.EquipmentKind.CMP,
        (
            ("polisher", (3.4, 2.4, 2.1), (0.3, 0, 0), "box", "#c8d0da"),
            ("platen_1", (0.45, 0.3), (0.9, 0, 2.1), "cylinder", "#6f8498"),
            ("cleaner", (1.2, 2.4, 1.9), (-2.0, 0, 0), "box", "#9eacbc"),
        ),
        (
            ("platen", (0.9, 0, 2.4), "platen_1", "Polishing platen and pad"),
            ("slurry arm", (0.3, 0.6, 2.1), "polisher", "Slurry delivery arm"),
            ("post-CMP cleaner", (-2.0, 0, 1.9), "cleaner", "Brush and megasonic clean"),
        ),
        (
            _tag("down_force", "kPa", 10, 30, 0, 0.2, "platen"),
            _tag("slurry_flow", "ml/min", 150, 250, 0, 2, "slurry arm", alarms={"lo": 100}),
            _tag("pad_temperature", "degC", 30, 50, 22, 0.3, "platen", alarms={"hi": 60}),
        ),
    ),
    "pvd": _Template(
        s.EquipmentKind.PVD,
        (
            ("mainframe", (2.4, 2.4, 1.7), (0.2, 0, 0), "box", "#b9c3d0"),
            ("target_a", (0.5, 0.9), (0.8, 0.8, 1.7), "cylinder", "#8b95a5"),
            ("target_b", (0.5, 0.9), (0.8, -0.8, 1.7), "cylinder", "#8b95a5"),
            ("load_lock", (0.8, 2.4, 1.6), (-1.4, 0, 0), "box", "#9caabb"),
        ),
        (
            ("chamber A", (0.8, 0.8, 2.6), "target_a", "Sputter chamber A"),
            ("chamber B", (0.8, -0.8, 2.6), "target_b", "Sputter chamber B"),
            ("load lock", (-1.4, 0, 1.6), "load_lock", "Load lock"),
        ),
        (
            _tag("dc_power", "kW", 5, 30, 0, 0.1, "chamber A", alarms={"hi": 35}),
            _tag("base_pressure", "Pa", 1e-6, 1e-4, 1e-6, 1e-7, "load lock", alarms={"hi": 1e-3}),
            _tag("argon_flow", "sccm", 20, 60, 0, 0.5, "chamber A"),
        ),
    ),
    "wet_bench": _Template(
        s.EquipmentKind.WET_BENCH,
        (
            ("bench", (5.6, 1.6, 2.1), (0, 0, 0), "box", "#dde3ea"),
            ("robot_rail", (5.6, 0.3, 0.3), (0, -0.95, 1.6), "box", "#8c99aa"),
        ),
        (
            ("chemical bath", (1.5, 0, 1.0), "bench", "Heated chemical bath"),
            ("rinse tank", (-0.5, 0, 1.0), "bench", "Quick-dump rinse tank"),
            ("dryer", (-2.2, 0, 1.0), "bench", "Spin rinse dryer"),
        ),
        (
            _tag("bath_temperature", "degC", 60, 80, 25, 0.2, "chemical bath", alarms={"hi": 85}),
            _tag(
                "rinse_resistivity",
                "MOhm.cm",
                16,
                18.2,
                18.2,
                0.05,
                "rinse tank",
                alarms={"lo": 15},
            ),
            _tag("bath_level", "mm", 290, 310, 300, 0.5, "chemical bath", alarms={"lo": 280}),
        ),
        gap_m=1.0,
    ),
    "delay": _Template(
        s.EquipmentKind.STOCKER,
        (("shelf", (0.8, 0.7, 1.8), (0, 0, 0), "box", "#b5bcc6"),),
        (
            ("shelf slot", (0, 0, 1.0), "shelf", "Lot storage slot (a pure delay in SMT2020)"),
            ("indicator", (0, -0.35, 1.8), "shelf", "Occupancy indicator"),
        ),
        (
            _tag("occupied", "", 0, 1, 0, 0, "shelf slot", data_type="bool"),
            _tag("dwell_time", "s", 0, 86400, 0, 0, "shelf slot"),
        ),
        gap_m=0.3,
        aisle_m=1.4,
    ),
}

# Area (STNGRP) -> bay kind, colour and the template used when the family name does not say more.
_AREAS: dict[str, tuple[s.AreaKind, str, str]] = {
    "dry_etch": (s.AreaKind.ETCH, "#c0504d", "dry_etch"),
    "wet_etch": (s.AreaKind.WET_CLEAN, "#4bacc6", "wet_bench"),
    "def_met": (s.AreaKind.METROLOGY, "#8064a2", "metrology"),
    "litho_met": (s.AreaKind.METROLOGY, "#9b7fc2", "metrology"),
    "tf_met": (s.AreaKind.METROLOGY, "#b39ddb", "metrology"),
    "dielectric": (s.AreaKind.THIN_FILM, "#9bbb59", "cvd"),
    "tf": (s.AreaKind.THIN_FILM, "#77933c", "pvd"),
    "diffusion": (s.AreaKind.DIFFUSION, "#f79646", "furnace"),
    "implant": (s.AreaKind.IMPLANT, "#4f81bd", "implanter"),
    "litho": (s.AreaKind.PHOTOLITHOGRAPHY, "#f2c314", "scanner"),
    "planar": (s.AreaKind.CMP, "#1f9e89", "cmp"),
}


def _template_key(family: str, area: str, location: str) -> str:
    """Pick the synthetic template of a family from its name, area and location."""
    f, a = family.lower(), area.lower()
    if location.lower() == "delay" or a.startswith("delay"):
        return "delay"
    if "met" in f or "reg" in f.split("_") or a.endswith("_met"):
        return "metrology"
    if f.startswith("lithotrack"):
        return "track"
    if f.startswith("epi"):
        return "cvd"
    return _AREAS.get(a, (s.AreaKind.OTHER, "", "metrology"))[2]


def _type_dict(
    family: str, t: _Template, batch: tuple[int, int] | None, title: str
) -> dict[str, Any]:
    parts = []
    for name, dims, at, solid, colour in t.parts:
        p: dict[str, Any] = {"name": name, solid: list(dims), "at": list(at), "color": colour}
        parts.append(p)
    d: dict[str, Any] = {
        "id": family,
        "kind": t.kind.value,
        "manufacturer": "synthetic",
        "model": title,
        "shape": {"parts": parts},
        "components": [
            {"name": n, "anchor_m": list(a), "part": p, "description": desc}
            for n, a, p, desc in t.components
        ],
    }
    if batch is not None:
        d["batch"] = {"min_wafers": batch[0], "max_wafers": batch[1]}
    if t.gap_m < _DEFAULT_CLEARANCE_M:
        # rows packed closer than the default service clearance (shelves of lot slots,
        # serviced from the aisle): the row gap is the type's clearance, so the layout
        # checks do not flag every neighbour in the row
        d["service_clearance_m"] = t.gap_m
    d["tags"] = [dict(tag) for tag in t.tags]
    return d


_DEFAULT_CLEARANCE_M = s.EquipmentType.model_fields["service_clearance_m"].default


def _extent(t: _Template) -> tuple[float, float, float, float]:
    ext = []
    for _name, dims, at, solid, _c in t.parts:
        hw, hd = (dims[0] / 2, dims[1] / 2) if solid == "box" else (dims[0], dims[0])
        ext.append((at[0] - hw, at[1] - hd, at[0] + hw, at[1] + hd))
    return (
        min(e[0] for e in ext),
        min(e[1] for e in ext),
        max(e[2] for e in ext),
        max(e[3] for e in ext),
    )


# --------------------------------------------------------------------------- layout

_BAY_MARGIN_M = 2.0  # between a bay's wall and its tools
_AISLE_M = 5.0  # main aisles between bays and around the floor


def _pack_bay(
    cells: list[tuple[float, float]], width: float
) -> tuple[list[tuple[float, float]], float, float]:
    """Shelf-pack cells (w, d) left to right in rows of at most ``width``.

    Returns the lower-left corner of every cell, the used width and the total depth.
    """
    out: list[tuple[float, float]] = []
    x = y = row_d = used_w = 0.0
    for w, d in cells:
        if x > 0 and x + w > width + 1e-9:
            y += row_d
            x = row_d = 0.0
        out.append((x, y))
        x += w
        used_w = max(used_w, x)
        row_d = max(row_d, d)
    return out, used_w, y + row_d


def _layout(
    areas: dict[str, list[tuple[str, _Template, tuple[float, float, float, float]]]],
) -> tuple[
    dict[str, tuple[float, float, float, float]],
    dict[str, tuple[float, float]],
    tuple[float, float],
]:
    """Place bays in a grid and tools in rows inside their bay.

    Parameters
    ----------
    areas
        Area id -> its tools in order, as (tool id, template, footprint extent).

    Returns
    -------
    (bays, positions, floor)
        Bay id -> (x0, y0, width, depth); tool id -> (x, y); floor (width, depth), metres.
    """
    bay_sizes: dict[str, tuple[float, float]] = {}
    local: dict[str, list[tuple[str, float, float]]] = {}
    for area, tools in areas.items():
        cells = []
        for _tid, t, ext in tools:
            cells.append((ext[2] - ext[0] + t.gap_m, ext[3] - ext[1] + t.aisle_m))
        total = sum(w * d for w, d in cells)
        # Bays about 1.6 times as wide as deep, never narrower than the widest tool.
        width = max(max(w for w, _ in cells), math.sqrt(total * 1.6))
        corners, used_w, depth = _pack_bay(cells, width)
        pos = []
        for (tid, _t, ext), (cx, cy), (w, d) in zip(tools, corners, cells, strict=True):
            # Centre the footprint in the cell (gap and aisle split on both sides).
            x = cx + w / 2 - (ext[0] + ext[2]) / 2
            y = cy + d / 2 - (ext[1] + ext[3]) / 2
            pos.append((tid, x, y))
        local[area] = pos
        bay_sizes[area] = (used_w + 2 * _BAY_MARGIN_M, depth + 2 * _BAY_MARGIN_M)
    # Bays: shelf-pack the tallest first into a floor about as wide as it is deep.
    order = sorted(bay_sizes, key=lambda a: (-bay_sizes[a][1], a))
    area_total = sum((w + _AISLE_M) * (d + _AISLE_M) for w, d in bay_sizes.values())
    floor_w = max(max(w for w, _ in bay_sizes.values()), math.sqrt(area_total))
    cells = [(bay_sizes[a][0] + _AISLE_M, bay_sizes[a][1] + _AISLE_M) for a in order]
    corners, used_w, depth = _pack_bay(cells, floor_w)
    bays: dict[str, tuple[float, float, float, float]] = {}
    positions: dict[str, tuple[float, float]] = {}
    for a, (cx, cy) in zip(order, corners, strict=True):
        x0, y0 = _r(cx + _AISLE_M), _r(cy + _AISLE_M)
        w, d = bay_sizes[a]
        bays[a] = (x0, y0, _r(w), _r(d))
        for tid, x, y in local[a]:
            positions[tid] = (_r(x0 + _BAY_MARGIN_M + x), _r(y0 + _BAY_MARGIN_M + y))
    floor = (_r(used_w + _AISLE_M), _r(depth + _AISLE_M))
    return bays, positions, floor


# --------------------------------------------------------------------------- import


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


def import_smt2020(
    directory: str | Path,
    *,
    name: str | None = None,
    layout: str | Path | None = None,
    fleet: int = 100,
) -> Smt2020Import:
    """Read an SMT2020 model directory and build a validated plant.

    Each table has its own reader below, called in the order the tables depend on each
    other: families, routes and their steps, setups, tool groups, tools and bays,
    maintenance, orders and WIP, transport.

    Parameters
    ----------
    directory
        A model directory such as ``SMT2020_HVLM`` (``tool.txt.1l``, ``route_N.txt``, ...).
    name
        Site name; default ``"SMT2020 <model> (Kopp et al. 2020)"``.
    layout
        A SMAT2022 folder: place the tools on its layout and add its OHT rails and a fleet of
        ``fleet`` vehicles (:func:`factory_twin.model.smat2022.apply_layout`).

    Returns
    -------
    Smt2020Import
        The plant document, the import report and the plain plant data.

    Raises
    ------
    ConfigError
        If a table is missing or malformed (message names file, line and column), or the
        resulting plant does not validate.
    """
    d = Path(directory)
    if not d.is_dir():
        raise ConfigError([f"{d}: not a directory"])
    report = ImportReport(source=d.name)
    tables = _Tables(d)

    tt, fams = _read_families(tables)
    part_route, routes, route_tables = _read_routes(tables)
    steps = _route_steps(routes, fams, tt.name, report)
    group_setups = _setup_times(tables, steps, report)
    min_run = _min_runs(tables, report)
    group_data = _tool_groups(tt, fams, steps, group_setups, min_run, report)
    floor = _tools_and_bays(fams, steps.batch_range)
    pm_of, rel_of = _maintenance(tables, floor, report)
    equipment = _equipment(floor, pm_of, rel_of)
    bay_data = _bays(floor.bays)
    ot, wt = _order_tables(tables)
    t0 = _clock_zero(ot, wt, report)
    products = _products(ot, part_route, t0, report)
    wip = _initial_wip(wt, products, part_route, routes, t0, report) if wt is not None else []
    transport = _transport(tables, report)

    title = (
        name or f"SMT2020 {re.sub(r'(?i)^smt2020[_ -]*', '', d.name) or d.name} (Kopp et al. 2020)"
    )
    data: dict[str, Any] = {
        "schema_version": s.SCHEMA_VERSION,
        "site": {"name": title, "floor_m": list(floor.size), "bays": bay_data},
        # Every tool's synthetic tags are served by the app's embedded plant simulator.
        "endpoints": [{"id": _ENDPOINT, "url": "opc.tcp://127.0.0.1:4840/factory_twin/"}],
        "equipment_types": floor.types,
        "tool_groups": group_data,
        "equipment": equipment,
        "routes": steps.routes,
        "products": products.items,
        "initial_wip": wip,
        "transport": transport,
    }
    if layout is not None:
        report.layout = apply_layout(data, layout, fleet=fleet)
    _count_unread(tables.opened, route_tables, report)
    report.counts = {
        "tool families": len(fams),
        "tools": len(equipment),
        "bays": len(bay_data),
        "routes": len(steps.routes),
        "route steps": sum(len(r["steps"]) for r in steps.routes),
        "products": len(products.items),
        "initial WIP lots": len(wip),
    }
    doc = _validate(data, d.name)
    return Smt2020Import(document=doc, report=report, data=data)


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


# ---- tool families (tool.txt.1l)


def _read_families(tables: _Tables) -> tuple[_Table, dict[str, _Row]]:
    """Read the tool table: family name -> its row, names and tool counts checked."""
    tt = tables.add(_find_tool_file(tables.directory))
    tt.need(
        "STNFAM", "STNQTY", "STNGRP", "RULE", "FWLRANK", "LTIME", "LTUNITS", "ULTIME", "ULTUNITS"
    )
    tt.optional(
        "STN",
        "STNCAP",
        "WAKERESRANK",
        "BATCHCRITF",
        "BATCHPER",
        "STNFAMLOC",
        "SETUPGRP",
        "STNFAMSTEP_ACTLIST",
        "PRERULERWL",
    )
    fams: dict[str, _Row] = {}
    for row in tt.rows:
        f = row["STNFAM"]
        if not f:
            raise ConfigError([tt.where(row, "STNFAM") + ": empty family name"])
        if f in fams:
            raise ConfigError(
                [
                    tt.where(row, "STNFAM")
                    + f": family {f!r} listed twice (first on line {fams[f].line})"
                ]
            )
        if not re.match(r"^[A-Za-z0-9_.\-]+$", f):
            raise ConfigError(
                [tt.where(row, "STNFAM") + f": family {f!r} has characters a tool id cannot hold"]
            )
        q = tt.num(row, "STNQTY")
        if q < 1 or q != int(q):
            raise ConfigError(
                [
                    tt.where(row, "STNQTY")
                    + f": expected a whole number of tools >= 1, got {row['STNQTY']!r}"
                ]
            )
        fams[f] = row
    if not fams:
        raise ConfigError([f"{tt.path}: no tool families"])
    return tt, fams


# ---- parts and routes (part.txt, route_N.txt)

_RouteRows = list[tuple[_Table, _Row]]


def _read_routes(
    tables: _Tables,
) -> tuple[dict[str, str], dict[str, _RouteRows], list[_Table]]:
    """Read ``part.txt`` and the route files it names.

    Returns
    -------
    (part_route, routes, route_tables)
        Part -> route id; route id -> its step rows in order; the route files read.
    """
    pt = tables.required("part.txt")
    pt.need("PART", "ROUTEFILE", "ROUTE")
    routes: dict[str, _RouteRows] = {}
    part_route: dict[str, str] = {}
    for row in pt.rows:
        part, rfile, rid = row["PART"], row["ROUTEFILE"], row["ROUTE"]
        if not part or not rid or not rfile:
            raise ConfigError([pt.where(row) + ": PART, ROUTEFILE and ROUTE are required"])
        part_route[part] = rid
        if rid in routes:
            continue
        routes[rid] = _route_rows(tables.required(rfile), rid)

    route_tables = [t for t in tables.opened if t.name.startswith("route")]
    for rt in route_tables:
        rt.optional(
            "PTIME2",
            "DESC",
            "BATCHMN",
            "BATCHMX",
            "SETUP",
            "WHEN",
            "STIME",
            "STUNITS",
            "SVESTN",
            "FORSTEP",
            "BatchInterval",
            "BatchIntUnits",
            "PartInterval",
            "PartIntUnits",
            "SDIST",
            "STIME2",
            "RWKSTEP",
            "REWORK",
            "RWKTYPE",
            "StepPercent",
            "STEP_CQT",
            "CQT",
            "CQTUNITS",
        )
    return part_route, routes, route_tables


def _route_rows(rt: _Table, rid: str) -> _RouteRows:
    """Return the step rows of route ``rid``, checked to be that route's steps 1, 2, ..."""
    rt.need("ROUTE", "STEP", "STNFAM", "PDIST", "PTIME", "PTUNITS", "PTPER")
    rows = []
    for r in rt.rows:
        if r["ROUTE"] != rid:
            raise ConfigError(
                [
                    rt.where(r, "ROUTE")
                    + f": route {r['ROUTE']!r}, but part.txt names {rid!r} for this file"
                ]
            )
        rows.append((rt, r))
    for i, (_t, r) in enumerate(rows, start=1):
        if rt.num(r, "STEP") != i:
            raise ConfigError(
                [
                    rt.where(r, "STEP")
                    + f": expected step {i} (steps must run 1, 2, ...), got {r['STEP']!r}"
                ]
            )
    if not rows:
        raise ConfigError([f"{rt.path}: route {rid!r} has no steps"])
    return rows


# ---- route steps


@dataclass
class _Steps:
    """The routes' steps, and what they tell the tool groups."""

    routes: list[dict[str, Any]] = field(default_factory=list)
    steps_on: Counter[str] = field(default_factory=Counter)  # family -> steps it serves
    batch_range: dict[str, tuple[int, int]] = field(default_factory=dict)  # widest, wafers
    setup_users: defaultdict[str, set[str]] = field(
        default_factory=lambda: defaultdict(set)
    )  # setup -> families whose steps need it
    setup_time: dict[tuple[str, str], tuple[dict[str, Any], str]] = field(
        default_factory=dict
    )  # (family, setup) -> (time from a step's STIME, where)


def _route_steps(
    routes: dict[str, _RouteRows], fams: dict[str, _Row], tool_file: str, report: ImportReport
) -> _Steps:
    """Convert every route's step rows into plant steps."""
    acc = _Steps()
    for rid, rows in routes.items():
        n = len(rows)
        steps = [_step(t, r, n, fams, tool_file, acc, report) for t, r in rows]
        acc.routes.append({"id": rid, "steps": steps})
    return acc


def _step(
    t: _Table,
    r: _Row,
    n: int,
    fams: dict[str, _Row],
    tool_file: str,
    acc: _Steps,
    report: ImportReport,
) -> dict[str, Any]:
    """Convert one step row of a route of ``n`` steps."""
    fam = r["STNFAM"]
    if fam not in fams:
        raise ConfigError(
            [t.where(r, "STNFAM") + f": unknown tool family {fam!r} (not in {tool_file})"]
        )
    acc.steps_on[fam] += 1
    unit = t.unit(r, "PTUNITS")
    st: dict[str, Any] = {"tool_group": fam}
    if r.get("DESC"):
        st["name"] = r["DESC"]
    st["process_time"] = t.dist(
        r, "PDIST", "PTIME", "PTIME2" if "PTIME2" in t.header else None, unit
    )
    per = {"per_piece": "wafer", "per_lot": "lot", "per_batch": "batch"}.get(r["PTPER"].lower())
    if per is None:
        raise ConfigError(
            [
                t.where(r, "PTPER")
                + f": unknown PTPER {r['PTPER']!r} (per_piece, per_lot, per_batch)"
            ]
        )
    st["per"] = per
    _step_batch(t, r, st, acc)
    if r.get("SETUP"):
        _step_setup(t, r, st, acc, report)
    if r.get("SVESTN", "").lower() == "yes" or r.get("FORSTEP"):
        report.add(
            "route SVESTN/FORSTEP: a later step must run on the tool this step used (steps)"
        )
    if r.get("PartInterval"):
        st["wafer_interval_s"] = _r(t.seconds(r, "PartInterval", "PartIntUnits"))
    if r.get("BatchInterval"):
        st["batch_interval_s"] = _r(t.seconds(r, "BatchInterval", "BatchIntUnits"))
    if r.get("RWKSTEP") or r.get("REWORK"):
        _step_rework(t, r, st, report)
    if r.get("StepPercent"):
        _step_sampling(t, r, st)
    if r.get("STEP_CQT") or r.get("CQT"):
        _step_queue_time(t, r, n, st)
    return st


def _step_batch(t: _Table, r: _Row, st: dict[str, Any], acc: _Steps) -> None:
    """Add the step's batch (BATCHMN/BATCHMX) and widen its family's batch range."""
    fam = st["tool_group"]
    if r.get("BATCHMN") or r.get("BATCHMX"):
        bmin = int(t.num(r, "BATCHMN", default=1))
        bmax = int(t.num(r, "BATCHMX", default=bmin))
        if bmax < bmin or bmin < 1:
            raise ConfigError(
                [t.where(r, "BATCHMX") + f": batch {bmin}..{bmax} wafers is not a valid range"]
            )
        st["batch"] = {"min_wafers": bmin, "max_wafers": bmax}
        lo, hi = acc.batch_range.get(fam, (bmin, bmax))
        acc.batch_range[fam] = (min(lo, bmin), max(hi, bmax))
    elif st["per"] == "batch":
        raise ConfigError([t.where(r, "BATCHMN") + ": a per_batch step needs BATCHMN/BATCHMX"])


def _step_setup(t: _Table, r: _Row, st: dict[str, Any], acc: _Steps, report: ImportReport) -> None:
    """Add the step's setup (SETUP, WHEN) and remember its setup time (STIME)."""
    fam = st["tool_group"]
    su = r["SETUP"]
    st["setup"] = su
    acc.setup_users[su].add(fam)
    when = r.get("WHEN", "").lower()
    if when not in ("", "need"):
        report.add(
            f"route WHEN={when}: setup on every visit, not only when the tool's setup differs (steps)"
        )
    if not r.get("STIME"):
        return
    time = (
        t.dist(
            r,
            "SDIST",
            "STIME",
            "STIME2" if "STIME2" in t.header else None,
            t.unit(r, "STUNITS"),
        )
        if r.get("SDIST")
        else {"dist": "constant", "value": _r(t.seconds(r, "STIME", "STUNITS"))}
    )
    key = (fam, su)
    if key in acc.setup_time and acc.setup_time[key][0] != time:
        report.add(
            "route STIME: different setup times for one setup on one family (steps; first kept)"
        )
    else:
        acc.setup_time[key] = (time, t.where(r, "STIME"))


def _step_rework(t: _Table, r: _Row, st: dict[str, Any], report: ImportReport) -> None:
    """Add the step's rework (RWKSTEP, REWORK percent, RWKTYPE)."""
    to = int(t.num(r, "RWKSTEP"))
    pct = t.num(r, "REWORK")
    if not 0 <= pct <= 100:
        raise ConfigError([t.where(r, "REWORK") + f": rework percentage {pct:g} is not in 0..100"])
    if not 1 <= to < int(r["STEP"]):
        raise ConfigError(
            [t.where(r, "RWKSTEP") + f": rework step {to} must come before step {r['STEP']}"]
        )
    if pct > 0:
        st["rework"] = {"to_step": to, "probability": _r(pct / 100)}
    kind = r.get("RWKTYPE", "lot").lower() or "lot"
    if kind != "lot":
        report.add(f"route RWKTYPE={kind}: rework of part of a lot (steps)")


def _step_sampling(t: _Table, r: _Row, st: dict[str, Any]) -> None:
    """Add the step's sampling percentage (StepPercent), unless every lot runs it."""
    pct = t.num(r, "StepPercent")
    if not 0 < pct <= 100:
        raise ConfigError(
            [t.where(r, "StepPercent") + f": sampling percentage {pct:g} is not in (0, 100]"]
        )
    if pct < 100:
        st["sample_pct"] = _r(pct)


def _step_queue_time(t: _Table, r: _Row, n: int, st: dict[str, Any]) -> None:
    """Add the step's critical queue time (STEP_CQT, CQT) to a later step."""
    to = int(t.num(r, "STEP_CQT"))
    if not int(r["STEP"]) < to <= n:
        raise ConfigError(
            [
                t.where(r, "STEP_CQT")
                + f": queue-time target step {to} must come after step {r['STEP']} and be <= {n}"
            ]
        )
    st["queue_time_limit"] = {
        "to_step": to,
        "limit_s": _r(t.seconds(r, "CQT", "CQTUNITS")),
    }


# ---- setups (route STIME, setup.txt, setupgrp.txt)

_GroupSetups = defaultdict[str, dict[tuple[str | None, str], dict[str, Any]]]


def _setup_times(tables: _Tables, acc: _Steps, report: ImportReport) -> _GroupSetups:
    """Return each family's setup changes: route STIME (from any setup), then ``setup.txt``.

    ``setup.txt`` times are sequence dependent (current -> new setup); a change from any
    setup that a route's STIME already times keeps the route's time.
    """
    group_setups: _GroupSetups = defaultdict(dict)
    for (fam, su), (time, _where) in acc.setup_time.items():
        group_setups[fam][(None, su)] = {"to_setup": su, "time": time}
    sut = tables.optional("setup.txt")
    if sut is not None:
        sut.need("CURSETUP", "NEWSETUP", "STIME", "STUNITS")
        sut.optional("SDIST", "STIME2")
        for row in sut.rows:
            _setup_change(sut, row, acc.setup_users, group_setups, report)
    return group_setups


def _setup_change(
    sut: _Table,
    row: _Row,
    setup_users: dict[str, set[str]],
    group_setups: _GroupSetups,
    report: ImportReport,
) -> None:
    """Add one ``setup.txt`` row to every family whose steps need its new setup."""
    frm, new_su = row["CURSETUP"] or None, row["NEWSETUP"]
    if not new_su:
        raise ConfigError([sut.where(row, "NEWSETUP") + ": empty setup name"])
    if row.get("SDIST"):
        time = sut.dist(
            row,
            "SDIST",
            "STIME",
            "STIME2" if "STIME2" in sut.header else None,
            sut.unit(row, "STUNITS"),
        )
    else:
        time = {"dist": "constant", "value": _r(sut.seconds(row, "STIME", "STUNITS"))}
    users = setup_users.get(new_su, set())
    if not users:
        report.add("setup.txt: changes to a setup no route step needs (rows)")
        return
    for fam in sorted(users):
        change_key = (frm, new_su)
        if change_key in group_setups[fam] and frm is None:
            report.add("setup.txt: change also timed by the route's STIME (rows; route kept)")
            continue
        entry: dict[str, Any] = {"from_setup": frm} if frm else {}
        entry.update({"to_setup": new_su, "time": time})
        group_setups[fam][change_key] = entry


def _min_runs(tables: _Tables, report: ImportReport) -> dict[str, int]:
    """Read ``setupgrp.txt``: setup group -> its minimum run in lots (the smallest MINRUN)."""
    min_run: dict[str, int] = {}
    sgt = tables.optional("setupgrp.txt")
    if sgt is None:
        return min_run
    sgt.need("SETUPGRP", "SETUP", "MINRUN")
    current = ""
    runs: dict[str, list[int]] = defaultdict(list)
    for row in sgt.rows:
        current = row["SETUPGRP"] or current  # a blank group continues the one above
        if not current:
            raise ConfigError(
                [sgt.where(row, "SETUPGRP") + ": no setup group named above this row"]
            )
        if row.get("MINRUN"):
            runs[current].append(int(sgt.num(row, "MINRUN")))
    for grp, vals in runs.items():
        min_run[grp] = max(1, min(vals))
        if len(set(vals)) > 1:
            report.add(
                "setupgrp.txt MINRUN: different minimum runs per setup in one group (groups; smallest kept)"
            )
    return min_run


# ---- tool groups (dispatch, load/unload, setups, min runs)


def _tool_groups(
    tt: _Table,
    fams: dict[str, _Row],
    acc: _Steps,
    group_setups: _GroupSetups,
    min_run: dict[str, int],
    report: ImportReport,
) -> list[dict[str, Any]]:
    """Return one tool group per family, reporting the family columns the plant cannot express."""
    out = []
    for fam, row in fams.items():
        out.append(_tool_group(tt, fam, row, acc, group_setups, min_run, report))
        _family_features(tt, fam, row, acc.steps_on[fam], report)
    return out


def _tool_group(
    tt: _Table,
    fam: str,
    row: _Row,
    acc: _Steps,
    group_setups: _GroupSetups,
    min_run: dict[str, int],
    report: ImportReport,
) -> dict[str, Any]:
    """Return the tool group of one family: dispatch, setups, min run, load/unload, cascade."""
    ranks = [x.strip() for x in row["FWLRANK"].split(";") if x.strip()]
    rule = row["RULE"]
    has_setups = bool(group_setups.get(fam)) or any(fam in u for u in acc.setup_users.values())
    g: dict[str, Any] = {
        "id": fam,
        "dispatch": _dispatch(fam, rule, ranks, has_setups, report),
    }
    if group_setups.get(fam):
        g["setups"] = list(group_setups[fam].values())
    sgrp = row.get("SETUPGRP", "")
    if sgrp:
        if sgrp not in min_run:
            raise ConfigError(
                [tt.where(row, "SETUPGRP") + f": setup group {sgrp!r} is not in setupgrp.txt"]
            )
        if min_run[sgrp] > 1:
            g["min_run_lots"] = min_run[sgrp]
    load, unload = (
        tt.seconds(row, "LTIME", "LTUNITS", default=0.0),
        tt.seconds(row, "ULTIME", "ULTUNITS", default=0.0),
    )
    if load:
        g["load_s"] = _r(load)
    if unload:
        g["unload_s"] = _r(unload)
    if row.get("STNCAP"):
        cap = tt.num(row, "STNCAP")
        if cap != int(cap) or not 1 <= cap <= 16:
            raise ConfigError(
                [tt.where(row, "STNCAP") + f": {row['STNCAP']!r} is not a lot count 1-16"]
            )
        if cap > 1:
            g["cascade_lots"] = int(cap)
    return g


def _family_features(tt: _Table, fam: str, row: _Row, n_steps: int, report: ImportReport) -> None:
    """Report the columns of a family the plant cannot express; reject unsupported BATCHPER."""
    if row.get("WAKERESRANK"):
        report.add(f"tool WAKERESRANK {row['WAKERESRANK']}: choice among idle tools (families)")
    # Steps get no recipe, so only lots at the same route step share a batch.
    if row.get("BATCHCRITF") and row["BATCHCRITF"].lower() != "crit_sameroutestep":
        report.add(f"tool BATCHCRITF {row['BATCHCRITF']}: which lots may share a batch (families)")
    if row.get("BATCHPER") and row["BATCHPER"].lower() not in ("piece", "pieces", "wafer"):
        raise ConfigError(
            [
                tt.where(row, "BATCHPER")
                + f": batch sizes per {row['BATCHPER']!r} are not supported (piece)"
            ]
        )
    if row.get("STNFAMSTEP_ACTLIST"):
        report.add(
            f"tool STNFAMSTEP_ACTLIST {row['STNFAMSTEP_ACTLIST']}: AutoSched activity list (families)"
        )
    if row.get("PRERULERWL") and row["PRERULERWL"].lower() != "no":
        report.add(f"tool PRERULERWL {row['PRERULERWL']}: pre-rule workload check (families)")
    loc = row.get("STNFAMLOC", "")
    if loc and loc.lower() != "fab":
        report.add(
            f"tool STNFAMLOC {loc}: no from-to time for this location, the fab's transport time applies (route steps)",
            n_steps,
        )
    if row.get("STN") and row["STN"] != fam:
        report.add(
            "tool STN: station name differing from its family, tools are named <family>_<n> (families)"
        )


def _dispatch(
    fam: str, rule: str, ranks: list[str], has_setups: bool, report: ImportReport
) -> str:
    """Map an AutoSched rule and rank list onto a dispatch rule (priority always ranks first)."""
    r = rule.lower()
    known = {"rank_hp", "rank_rsetup", "rank_fifo", "rank_cr"}
    low = [x.lower() for x in ranks]
    for x in low:
        if x not in known:
            report.add(f"tool FWLRANK {x}: ranking criterion (families)")
    if r not in ("rule_hotlotfirst", "rule_lssu"):
        report.add(f"tool RULE {rule}: dispatch rule (families)")
    if low and low[0] != "rank_hp":
        report.add(
            "tool FWLRANK without rank_HP first: the plant always ranks priority first (families)"
        )
    last = next((x for x in reversed(low) if x in ("rank_fifo", "rank_cr")), "rank_fifo")
    setup_rank = "rank_rsetup" in low or r == "rule_lssu"
    if has_setups and setup_rank:
        if last == "rank_cr":
            report.add(
                "tool FWLRANK rank_CR after rank_RSETUP: setup_avoid breaks ties FIFO, not by critical ratio (families)"
            )
        return s.DispatchRule.SETUP_AVOID.value
    return s.DispatchRule.CR.value if last == "rank_cr" else s.DispatchRule.FIFO.value


# ---- equipment types, tools and bays (synthetic geometry)


@dataclass
class _Floor:
    """Equipment types, tools and the synthetic floor layout."""

    area_of: dict[str, str]  # family -> area (STNGRP)
    types: list[dict[str, Any]]  # one equipment type per family
    tool_ids: dict[str, list[str]]  # family -> its tools <family>_<n>
    bays: dict[str, tuple[float, float, float, float]]  # area -> (x0, y0, width, depth)
    positions: dict[str, tuple[float, float]]  # tool -> (x, y)
    size: tuple[float, float]  # floor (width, depth)


def _tools_and_bays(fams: dict[str, _Row], batch_range: dict[str, tuple[int, int]]) -> _Floor:
    """Give every family a synthetic equipment type and STNQTY tools laid out in its area's bay."""
    area_of = {f: row["STNGRP"] or "Fab" for f, row in fams.items()}
    type_data: list[dict[str, Any]] = []
    areas: dict[str, list[tuple[str, _Template, tuple[float, float, float, float]]]] = {}
    tool_ids: dict[str, list[str]] = {}
    for fam, row in fams.items():
        tkey = _template_key(fam, area_of[fam], row.get("STNFAMLOC", ""))
        tpl = _TEMPLATES[tkey]
        title = f"{tkey.replace('_', ' ')} ({area_of[fam]} family {fam})"
        type_data.append(_type_dict(fam, tpl, batch_range.get(fam), title))
        ext = _extent(tpl)
        ids = [f"{fam}_{k}" for k in range(1, int(float(row["STNQTY"])) + 1)]
        tool_ids[fam] = ids
        areas.setdefault(area_of[fam], []).extend((tid, tpl, ext) for tid in ids)
    bays, positions, floor = _layout(areas)
    return _Floor(area_of, type_data, tool_ids, bays, positions, floor)


def _equipment(
    floor: _Floor, pm_of: dict[str, list[dict[str, Any]]], rel_of: dict[str, dict[str, Any]]
) -> list[dict[str, Any]]:
    """Return the tools, each with its position, failures and PMs."""
    equipment: list[dict[str, Any]] = []
    for fam, ids in floor.tool_ids.items():
        for tid in ids:
            e: dict[str, Any] = {
                "id": tid,
                "type": fam,
                "group": fam,
                "bay": _bay_id(floor.area_of[fam]),
                "position_m": list(floor.positions[tid]),
                "opcua": {"endpoint": _ENDPOINT},
            }
            if tid in rel_of:
                e["reliability"] = rel_of[tid]
            if pm_of.get(tid):
                e["pm"] = pm_of[tid]
            equipment.append(e)
    return equipment


def _bays(bays: dict[str, tuple[float, float, float, float]]) -> list[dict[str, Any]]:
    """Return the bays, one per area, front to back and left to right."""
    bay_data = []
    for area, (x0, y0, w, dd) in sorted(bays.items(), key=lambda kv: (kv[1][1], kv[1][0])):
        kind, colour, _tpl = _AREAS.get(area.lower(), (s.AreaKind.OTHER, "#8a8f98", ""))
        if area.lower().startswith("delay"):
            kind, colour = s.AreaKind.STOCKER, "#8a8f98"
        bay_data.append(
            {
                "id": _bay_id(area),
                "name": area.replace("_", " "),
                "kind": kind.value,
                "origin_m": [x0, y0],
                "size_m": [w, dd],
                "color": colour,
            }
        )
    return bay_data


# ---- maintenance (pmcal.txt, downcal.txt, attach.txt)


def _maintenance(
    tables: _Tables, floor: _Floor, report: ImportReport
) -> tuple[dict[str, list[dict[str, Any]]], dict[str, dict[str, Any]]]:
    """Attach PM and failure calendars to families, areas or tools.

    Returns
    -------
    (pm_of, rel_of)
        Tool -> its PMs; tool -> its failure model (reliability).
    """
    pm_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
    rel_of: dict[str, dict[str, Any]] = {}
    pmc = tables.optional("pmcal.txt")
    dnc = tables.optional("downcal.txt")
    att = tables.optional("attach.txt")
    pm_cals = _pm_calendars(pmc) if pmc is not None else {}
    down_cals = _down_calendars(dnc) if dnc is not None else {}
    if att is None:
        return pm_of, rel_of
    att.need("CALNAME", "CALTYPE", "RESTYPE", "RESNAME")
    att.optional("FOADIST", "FOA", "FOAUNITS")
    all_tools = {tid for ids in floor.tool_ids.values() for tid in ids}
    for row in att.rows:
        targets = _attach_targets(att, row, floor, all_tools)
        cal, ctype = row["CALNAME"], row["CALTYPE"].lower()
        if ctype == "pm":
            if cal not in pm_cals:
                raise ConfigError(
                    [att.where(row, "CALNAME") + f": PM calendar {cal!r} is not in pmcal.txt"]
                )
            _attach_pm(att, row, pm_cals[cal], targets, pm_of, pmc)
        elif ctype == "down":
            if cal not in down_cals:
                raise ConfigError(
                    [
                        att.where(row, "CALNAME")
                        + f": failure calendar {cal!r} is not in downcal.txt"
                    ]
                )
            _attach_down(att, row, down_cals[cal], targets, rel_of, dnc, report)
        else:
            raise ConfigError(
                [
                    att.where(row, "CALTYPE")
                    + f": unknown calendar type {row['CALTYPE']!r} (pm, down)"
                ]
            )
    return pm_of, rel_of


def _pm_calendars(pmc: _Table) -> dict[str, tuple[_Row, str]]:
    """Read ``pmcal.txt``: calendar name -> (row, PM type)."""
    pmc.need("PMCALNAME", "PMCALTYPE", "MTBPM", "MTBPMUNITS", "MTTRDIST", "MTTR", "MTTRUNITS")
    pmc.optional("MTTR2")
    pm_cals: dict[str, tuple[_Row, str]] = {}
    for row in pmc.rows:
        kind = row["PMCALTYPE"].lower()
        if kind not in ("mtbpm_by_cal", "mtbpm_by_pieces"):
            raise ConfigError(
                [
                    pmc.where(row, "PMCALTYPE")
                    + f": unknown PM type {row['PMCALTYPE']!r} (mtbpm_by_cal, mtbpm_by_pieces)"
                ]
            )
        pm_cals[row["PMCALNAME"]] = (row, kind)
    return pm_cals


def _down_calendars(dnc: _Table) -> dict[str, _Row]:
    """Read ``downcal.txt``: calendar name -> row."""
    dnc.need(
        "DOWNCALNAME",
        "DOWNCALTYPE",
        "MTTFDIST",
        "MTTF",
        "MTTFUNITS",
        "MTTRDIST",
        "MTTR",
        "MTTRUNITS",
    )
    dnc.optional("MTTF2", "MTTR2")
    down_cals: dict[str, _Row] = {}
    for row in dnc.rows:
        if row["DOWNCALTYPE"].lower() not in ("mttf_by_cal", "mttf_by_busy"):
            raise ConfigError(
                [
                    dnc.where(row, "DOWNCALTYPE")
                    + f": unknown failure type {row['DOWNCALTYPE']!r} (mttf_by_cal, mttf_by_busy)"
                ]
            )
        down_cals[row["DOWNCALNAME"]] = row
    return down_cals


def _attach_targets(att: _Table, row: _Row, floor: _Floor, all_tools: set[str]) -> list[str]:
    """Return the tools an ``attach.txt`` row names: a family, an area or one tool."""
    rtype, rname = row["RESTYPE"].lower(), row["RESNAME"]
    if rtype == "stnfam":
        targets = floor.tool_ids.get(rname)
    elif rtype == "stngrp":
        targets = [
            tid for f, ids in floor.tool_ids.items() if floor.area_of[f] == rname for tid in ids
        ] or None
    elif rtype == "stn":
        targets = [rname] if rname in all_tools else None
    else:
        raise ConfigError(
            [
                att.where(row, "RESTYPE")
                + f": unknown resource type {row['RESTYPE']!r} (stnfam, stngrp, stn)"
            ]
        )
    if not targets:
        raise ConfigError([att.where(row, "RESNAME") + f": no tools in {rtype} {rname!r}"])
    return targets


def _stagger(k: int, n: int) -> float:
    return k / n


def _attach_pm(
    att: _Table,
    row: _Row,
    cal: tuple[_Row, str],
    targets: list[str],
    pm_of: dict[str, list[dict[str, Any]]],
    pmc: _Table | None,
) -> None:
    assert pmc is not None
    crow, kind = cal
    by_wafers = kind == "mtbpm_by_pieces"
    if by_wafers:
        if crow["MTBPMUNITS"].lower() not in ("pieces", "piece", "wafers", "wafer", ""):
            raise ConfigError(
                [
                    pmc.where(crow, "MTBPMUNITS")
                    + f": a by-pieces PM needs pieces, got {crow['MTBPMUNITS']!r}"
                ]
            )
        interval = pmc.num(crow, "MTBPM")
    else:
        interval = pmc.seconds(crow, "MTBPM", "MTBPMUNITS")
    if interval <= 0:
        raise ConfigError([pmc.where(crow, "MTBPM") + ": the time between PMs must be positive"])
    duration = pmc.dist(
        crow,
        "MTTRDIST",
        "MTTR",
        "MTTR2" if "MTTR2" in pmc.header else None,
        pmc.unit(crow, "MTTRUNITS"),
    )
    first: float | None = None
    if row.get("FOA"):
        if row.get("FOADIST", "constant").lower() not in ("", "constant"):
            raise ConfigError(
                [att.where(row, "FOADIST") + ": a PM's first occurrence must be constant"]
            )
        if by_wafers:
            if row.get("FOAUNITS"):
                raise ConfigError(
                    [
                        att.where(row, "FOAUNITS")
                        + ": a by-pieces PM's first occurrence is in pieces (leave FOAUNITS empty)"
                    ]
                )
            first = att.num(row, "FOA")
        else:
            first = att.seconds(row, "FOA", "FOAUNITS")
    n = len(targets)
    for k, tid in enumerate(targets, start=1):
        pm: dict[str, Any] = {
            "name": crow["PMCALNAME"],
            "basis": "wafers" if by_wafers else "calendar",
            "interval": _r(interval),
            "duration": duration,
        }
        if first is not None:
            pm["first"] = _r(first * _stagger(k, n))
        pm_of[tid].append(pm)


def _attach_down(
    att: _Table,
    row: _Row,
    crow: _Row,
    targets: list[str],
    rel_of: dict[str, dict[str, Any]],
    dnc: _Table | None,
    report: ImportReport,
) -> None:
    assert dnc is not None
    rel: dict[str, Any] = {
        "mtbf": dnc.dist(
            crow,
            "MTTFDIST",
            "MTTF",
            "MTTF2" if "MTTF2" in dnc.header else None,
            dnc.unit(crow, "MTTFUNITS"),
        ),
        "mttr": dnc.dist(
            crow,
            "MTTRDIST",
            "MTTR",
            "MTTR2" if "MTTR2" in dnc.header else None,
            dnc.unit(crow, "MTTRUNITS"),
        ),
    }
    if crow["DOWNCALTYPE"].lower() == "mttf_by_busy":
        rel["basis"] = "busy"
    first: dict[str, Any] | None = None
    if row.get("FOA"):
        first = att.dist(row, "FOADIST", "FOA", None, att.unit(row, "FOAUNITS"))
    n = len(targets)
    for k, tid in enumerate(targets, start=1):
        if tid in rel_of:
            report.add(
                "attach.txt: a second failure calendar on one tool, the first is kept (tools)"
            )
            continue
        r = dict(rel)
        if first is not None:
            if first["dist"] == "constant":
                r["first_s"] = _r(first["value"] * _stagger(k, n))
            else:
                r["first_s"] = first
        rel_of[tid] = r


# ---- orders, products, WIP (order.txt, WIP.txt)


def _order_tables(tables: _Tables) -> tuple[_Table, _Table | None]:
    """Open ``order.txt`` and, if present, ``WIP.txt``."""
    ot = tables.required("order.txt")
    ot.need("LOT", "PART", "PRIOR", "PIECES", "START", "RDIST", "REPEAT", "RUNITS")
    ot.optional("DUE", "LOTSPERRPT", "RPT#", "HOTLOT")
    wt = tables.optional("WIP.txt")
    if wt is not None:
        wt.need("LOT", "PART", "PRIOR", "PIECES", "START", "CURSTEP")
        wt.optional("DUE", "HOTLOT")
    return ot, wt


def _clock_zero(ot: _Table, wt: _Table | None, report: ImportReport) -> datetime:
    """Return the plant clock's zero: the earliest START of the orders and the WIP."""
    starts = [ot.date(r, "START") for r in ot.rows] + (
        [wt.date(r, "START") for r in wt.rows] if wt else []
    )
    if not starts:
        raise ConfigError([f"{ot.path}: no orders"])
    t0 = min(starts)
    report.clock_zero = t0.strftime("%Y-%m-%d %H:%M:%S")
    return t0


@dataclass
class _Products:
    """The products, one per order line, and how WIP lots find theirs."""

    items: list[dict[str, Any]] = field(default_factory=list)
    by_id: dict[str, dict[str, Any]] = field(default_factory=dict)
    by_class: dict[tuple[str, int], str] = field(default_factory=dict)  # (part, prior) -> id
    regular: dict[str, str] = field(default_factory=dict)  # part -> its regular lots' product


def _products(
    ot: _Table, part_route: dict[str, str], t0: datetime, report: ImportReport
) -> _Products:
    """Return one product per order line, released at the order's rate."""
    out = _Products()
    used_ids: set[str] = set()
    for row in ot.rows:
        part = row["PART"]
        if part not in part_route:
            raise ConfigError([ot.where(row, "PART") + f": part {part!r} is not in part.txt"])
        suffix = _class_suffix(row["LOT"])
        pid = f"{part}_{suffix}" if suffix else part
        base, k = pid, 2
        while pid in used_ids:
            pid, k = f"{base}_{k}", k + 1
        used_ids.add(pid)
        prior = int(ot.num(row, "PRIOR"))
        start = ot.date(row, "START")
        rel = _release(ot, row, start, t0)
        p: dict[str, Any] = {
            "id": pid,
            "route": part_route[part],
            "wafers_per_lot": int(ot.num(row, "PIECES")),
            "priority": prior,
        }
        if row.get("DUE"):
            due = (ot.date(row, "DUE") - start).total_seconds()
            if due > 0:
                p["due_after_s"] = _r(due)
            else:
                report.add("order DUE at or before START: no due date (orders)")
        p["release"] = rel
        out.items.append(p)
        out.by_id[pid] = p
        out.by_class.setdefault((part, prior), pid)
        if not suffix:
            out.regular.setdefault(part, pid)
        if row.get("RPT#"):
            report.add(
                "order RPT#: cap on the number of releases, the plant releases without end (orders)"
            )
        if row.get("HOTLOT", "").lower() == "yes":
            report.add("HOTLOT=yes: a super hot lot reserves its next tool (lots)")
    return out


def _release(ot: _Table, row: _Row, start: datetime, t0: datetime) -> dict[str, Any]:
    """Return an order's release: every REPEAT (LOTSPERRPT lots each time) from START on."""
    rel: dict[str, Any] = {
        "mode": "rate",
        "interarrival": ot.dist(row, "RDIST", "REPEAT", None, ot.unit(row, "RUNITS")),
    }
    if rel["interarrival"].get("dist") == "constant":
        rel["interarrival"] = rel["interarrival"]["value"]
    lots_per = int(ot.num(row, "LOTSPERRPT", default=1))
    if lots_per > 1:
        rel["lots_per_release"] = lots_per
    if start > t0:
        rel["start_s"] = _r((start - t0).total_seconds())
    return rel


def _initial_wip(
    wt: _Table,
    products: _Products,
    part_route: dict[str, str],
    routes: dict[str, _RouteRows],
    t0: datetime,
    report: ImportReport,
) -> list[dict[str, Any]]:
    """Return the lots in the fab at time zero, each waiting for its CURSTEP."""
    wip: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for row in wt.rows:
        lot, part = row["LOT"], row["PART"]
        if lot in seen:
            raise ConfigError(
                [wt.where(row, "LOT") + f": lot {lot!r} listed twice (first on line {seen[lot]})"]
            )
        seen[lot] = row.line
        if part not in part_route:
            raise ConfigError([wt.where(row, "PART") + f": part {part!r} is not in part.txt"])
        wip.append(_wip_lot(wt, row, products, part_route[part], routes, t0, report))
    return wip


def _wip_lot(
    wt: _Table,
    row: _Row,
    products: _Products,
    route: str,
    routes: dict[str, _RouteRows],
    t0: datetime,
    report: ImportReport,
) -> dict[str, Any]:
    """Return one WIP lot, of the product of its part and priority class."""
    lot, part = row["LOT"], row["PART"]
    prior = int(wt.num(row, "PRIOR"))
    lot_pid: str | None = (
        products.by_class.get((part, prior))
        or products.regular.get(part)
        or next((p["id"] for p in products.items if p["route"] == route), None)
    )
    if lot_pid is None:
        raise ConfigError(
            [
                wt.where(row, "PART")
                + f": no order releases part {part!r}, so its lots have no product"
            ]
        )
    prod = products.by_id[lot_pid]
    step = int(wt.num(row, "CURSTEP"))
    nsteps = len(routes[route])
    if not 1 <= step <= nsteps:
        raise ConfigError(
            [wt.where(row, "CURSTEP") + f": step {step} is not in route {route!r} (1..{nsteps})"]
        )
    lotd: dict[str, Any] = {"id": lot, "product": lot_pid, "step": step}
    wafers = int(wt.num(row, "PIECES"))
    if wafers != prod["wafers_per_lot"]:
        lotd["wafers"] = wafers
    if prior != prod["priority"]:
        lotd["priority"] = prior
    if row.get("DUE"):
        lotd["due_s"] = _r((wt.date(row, "DUE") - t0).total_seconds())
    if wt.date(row, "START") != t0:
        report.add("WIP START before the plant clock's zero: the lot's age (lots)")
    if row.get("HOTLOT", "").lower() == "yes":
        report.add("HOTLOT=yes: a super hot lot reserves its next tool (lots)")
    return lotd


# ---- transport (fromto.txt)


def _transport(tables: _Tables, report: ImportReport) -> dict[str, Any]:
    """Return the transport: the first from-to time of ``fromto.txt`` applies everywhere."""
    transport: dict[str, Any] = {"kind": "ohs"}
    ft = tables.optional("fromto.txt")
    if ft is None:
        return transport
    ft.need("FROMLOC", "TOLOC", "DDIST", "DTIME", "DUNITS")
    ft.optional("DTIME2")
    if ft.rows:
        row = ft.rows[0]
        transport["fixed_time"] = ft.dist(
            row,
            "DDIST",
            "DTIME",
            "DTIME2" if "DTIME2" in ft.header else None,
            ft.unit(row, "DUNITS"),
        )
        if len(ft.rows) > 1:
            report.add(
                "fromto.txt: transport times of further location pairs, the first applies everywhere (rows)",
                len(ft.rows) - 1,
            )
    return transport


def _count_unread(tables: list[_Table], route_tables: list[_Table], report: ImportReport) -> None:
    """Count the non-empty cells of every column no reader used (route files together)."""
    for t in tables:
        label = "route_*.txt" if t in route_tables else t.name
        for col, n in t.unread().items():
            ikey = f"{label}:{col}"
            report.ignored[ikey] = report.ignored.get(ikey, 0) + n


def _validate(data: dict[str, Any], source: str) -> PlantDocument:
    try:
        spec = s.PlantSpec.model_validate(data)
    except ValidationError as exc:
        msgs = [
            f"{source}: imported plant: {'.'.join(str(x) for x in e['loc'])}: {e['msg']}"
            for e in exc.errors(include_url=False)[:20]
        ]
        raise ConfigError(msgs) from None
    problems = check_references(spec)
    if problems:
        raise ConfigError(
            [
                f"{source}: imported plant: {'.'.join(str(x) for x in loc)}: {m}"
                for loc, m in problems[:20]
            ]
        )
    return PlantDocument(spec=spec, path=None, raw=None)


# --------------------------------------------------------------------------- writing


def header_comment(report: ImportReport) -> str:
    """Return the comment block a written SMT2020 plant starts with."""
    lines = [
        f"{report.source} imported by 'factory-twin import-smt2020'.",
        "",
        "Source: " + CITATION,
        "The testbed data are published by the authors for public use; cite the paper wherever",
        "results on this plant are shown.",
        "",
        "Tool families, routes, setups, PM and failure calendars, orders, initial WIP and the",
        "transport time come from the testbed (times converted to seconds; a uniform (P, P2) is",
        "U[P - P2, P + P2]). Synthetic, not part of SMT2020: the floor layout, bay sizes, tool",
        "footprints and shapes, components and tags.",
        f"Plant clock zero: {report.clock_zero} (the earliest START of order.txt and WIP.txt);",
        "due dates count seconds from it. A constant first occurrence (FOA) of a PM is staggered",
        "over the N tools it attaches to: tool k first at FOA * k / N.",
        "",
        "Not expressible in this plant format (feature: count):",
    ]
    lines += [f"  {k}: {v}" for k, v in sorted(report.unmodelled.items())] or ["  (none)"]
    lines.append("Columns not read (file:column: non-empty cells):")
    lines += [f"  {k}: {v}" for k, v in sorted(report.ignored.items())] or ["  (none)"]
    if report.layout is not None:
        lines += ["", *report.layout.lines()]
    return "".join(f"# {x}".rstrip() + "\n" for x in lines)


# Lists whose items are written one per line in flow style; other lists of mappings (equipment
# types, routes) are block lists, every other mapping or list is one flow-style value.
_FLOW_ITEMS = {
    "bays",
    "endpoints",
    "tool_groups",
    "equipment",
    "steps",
    "products",
    "initial_wip",
    "parts",
    "components",
    "tags",
    "nodes",
    "links",
    "ports",
    "stockers",
}
_BLOCK_MAPS = {"site", "shape", "amhs"}
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-/ ()]*$")
_RESERVED = {"true", "false", "null", "yes", "no", "on", "off", "y", "n", "~"}


def _scalar(v: Any) -> str:
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            msg = f"cannot write the non-finite number {v!r}"
            raise ValueError(msg)
        text = repr(v)
        if "e" in text:  # keep a dot and a signed exponent: a float in YAML 1.1 and 1.2 alike
            mant, exp = text.split("e")
            mant = mant if "." in mant else mant + ".0"
            exp = exp if exp[0] in "+-" else "+" + exp
            text = f"{mant}e{exp}"
        return text
    text = str(v)
    if _PLAIN.match(text) and text.lower() not in _RESERVED and not text.endswith(" "):
        return text
    return json.dumps(text, ensure_ascii=False)


def _flow(v: Any) -> str:
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_flow(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(_flow(x) for x in v) + "]"
    return _scalar(v)


def _block(out: list[str], v: dict[str, Any], indent: int) -> None:
    pad = " " * indent
    for k, x in v.items():
        key = _scalar(k)
        if isinstance(x, dict) and k in _BLOCK_MAPS:
            out.append(f"{pad}{key}:")
            _block(out, x, indent + 2)
        elif (
            isinstance(x, list) and x and (k in _FLOW_ITEMS or all(isinstance(i, dict) for i in x))
        ):
            out.append(f"{pad}{key}:")
            for item in x:
                if k in _FLOW_ITEMS or not isinstance(item, dict):
                    out.append(f"{pad}  - {_flow(item)}")
                else:
                    sub: list[str] = []
                    _block(sub, item, indent + 4)
                    sub[0] = f"{pad}  - {sub[0][indent + 4 :]}"
                    out.extend(sub)
        else:
            out.append(f"{pad}{key}: {_flow(x)}")


def plant_yaml(data: dict[str, Any]) -> str:
    """Return compact YAML of plant data: block structure, one flow-style line per item.

    Strings are plain when unambiguous, else JSON-quoted (valid YAML); floats always carry a
    dot so that YAML 1.1 and 1.2 readers agree.
    """
    out: list[str] = []
    _block(out, data, 0)
    return "\n".join(out) + "\n"
