"""Optimisation studies (``NAME.study.yaml``): what to vary, what to aim at, what must hold.

::

    name: cheaper demo fab
    base: demo_fab.yaml                 # a plant or a *.scenario.yaml, relative to this file
    horizon_days: 120                   # simulated days per replication
    warmup_days: 20                     # deleted from every replication
    replications: 3                     # per trial (common random numbers: seed, r = 0, 1, ...)
    seed: 7
    variables:
      - {tools: SCAN, min: 2, max: 4}           # tool count of a group (integer bounds)
      - {dispatch: IMP, rules: [fifo, spt]}     # dispatch rule of a group (a set)
      - {release: LOGIC-A, min: 8, max: 12, step: 0.5}   # lots/day (step optional)
      - {conwip: NOR-B, min: 40, max: 120, step: 10}     # CONWIP level (lots)
      - {vehicles: {min: 6, max: 14}}                    # transport vehicles
    objectives:                         # one (TPE) or several (NSGA-II, a Pareto front)
      - {minimise: cost}                # capital + cost_years x running cost of the tools
      - {minimise: cycle_time_mean_h}   # or throughput_lots_per_day (maximise), x_factor, .../PRODUCT
    constraints:
      min_throughput_share: 0.98        # every product's throughput >= its release rate x 0.98
      max_utilisation: 0.9              # no tool group busier than 90 %
    budget: {trials: 60, wall_minutes: 10}
    selection: {top_k: 5, replications: 10}   # the honest final comparison
    executor: local                     # or dask://host:port
    processes: 2

:func:`load_study` reads and checks it against its base plant; every problem is reported
at once as ``file:line: field: message`` (the plant loader's wording), never as a traceback:
an unknown group or product, empty bounds, an objective the plant has no data for (cost
without cost figures, a product that does not exist).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    Discriminator,
    Field,
    Tag,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)

from factory_twin.errors import ConfigError
from factory_twin.model import schema as s
from factory_twin.model.config import (
    has_suffix,
    read_config_text,
    read_yaml_mapping,
    suffixed_stem,
)
from factory_twin.model.config_errors import doc_location, error_path, validation_line
from factory_twin.model.scenario import LoadedPlant, load_plant_or_scenario

SUFFIXES = (".study.yaml", ".study.yml")

KPI_BASES = (
    "cycle_time_mean_h",
    "cycle_time_p50_h",
    "cycle_time_p95_h",
    "x_factor",
    "throughput_lots_per_day",
    "throughput_wafers_per_day",
    "wip_lots",
    "moves_per_day",
)
"""Simulated KPIs an objective may name (``cost`` is computed, not simulated)."""
PER_PRODUCT = ("cycle_time_mean_h", "cycle_time_p50_h", "cycle_time_p95_h", "x_factor",
               "throughput_lots_per_day")  # fmt: skip
"""KPIs that also exist per product, as ``kpi/PRODUCT``."""
COST = "cost"


class _Bounds(s.Strict):
    min: Any
    max: Any

    @model_validator(mode="after")
    def _ordered(self) -> Any:
        lo, hi = self.min, self.max
        if lo > hi:
            msg = f"empty bounds: min ({lo:g}) is above max ({hi:g})"
            raise ValueError(msg)
        step = getattr(self, "step", None)
        if step is not None and step > hi - lo and hi > lo:
            msg = f"step {step:g} is wider than the bounds [{lo:g}, {hi:g}]"
            raise ValueError(msg)
        return self


class ToolCount(_Bounds):
    """How many tools a group has (tools beyond the base's copy its last tool, placed free)."""

    tools: str = Field(min_length=1, description="tool group id")
    min: int = Field(ge=1)
    max: int = Field(ge=1, le=64)


class DispatchChoice(s.Strict):
    """Which dispatch rule a group uses."""

    dispatch: str = Field(min_length=1, description="tool group id")
    rules: list[s.DispatchRule] = Field(min_length=1)

    @model_validator(mode="after")
    def _distinct(self) -> DispatchChoice:
        if len(set(self.rules)) != len(self.rules):
            msg = "a rule is listed twice"
            raise ValueError(msg)
        return self


class ReleaseRate(_Bounds):
    """A product's release rate in lots per day (continuous, or stepped by ``step``)."""

    release: str = Field(min_length=1, description="product id")
    min: float = Field(gt=0)
    max: float = Field(gt=0)
    step: float | None = Field(default=None, gt=0)


class ConwipLevel(_Bounds):
    """A product's CONWIP level (lots in the line)."""

    conwip: str = Field(min_length=1, description="product id")
    min: int = Field(ge=1)
    max: int = Field(ge=1)
    step: int = Field(default=1, ge=1)


class VehicleBounds(_Bounds):
    min: int = Field(ge=1)
    max: int = Field(ge=1, le=1000)


class Vehicles(s.Strict):
    """How many transport vehicles there are."""

    vehicles: VehicleBounds


_KINDS = ("tools", "dispatch", "release", "conwip", "vehicles")


def _kind(v: Any) -> str | None:
    if isinstance(v, dict):
        found = [k for k in _KINDS if k in v]
        return found[0] if len(found) == 1 else None
    for k, cls in zip(_KINDS, (ToolCount, DispatchChoice, ReleaseRate, ConwipLevel, Vehicles),
                      strict=True):  # fmt: skip
        if isinstance(v, cls):
            return k
    return None


Variable = Annotated[
    Annotated[ToolCount, Tag("tools")]
    | Annotated[DispatchChoice, Tag("dispatch")]
    | Annotated[ReleaseRate, Tag("release")]
    | Annotated[ConwipLevel, Tag("conwip")]
    | Annotated[Vehicles, Tag("vehicles")],
    Discriminator(
        _kind,
        custom_error_type="variable_kind",
        custom_error_message="a variable is a mapping with exactly one of "
        "'tools', 'dispatch', 'release', 'conwip' or 'vehicles'",
    ),
]


class Objective(s.Strict):
    """One objective: ``{minimise: KPI}`` or ``{maximise: KPI}``."""

    minimise: str | None = Field(default=None, min_length=1)
    maximise: str | None = Field(default=None, min_length=1)

    @model_validator(mode="after")
    def _one(self) -> Objective:
        if (self.minimise is None) == (self.maximise is None):
            msg = "an objective needs exactly one of 'minimise' or 'maximise'"
            raise ValueError(msg)
        return self

    @property
    def kpi(self) -> str:
        """The KPI (or ``cost``)."""
        return self.minimise or self.maximise or ""

    @property
    def sign(self) -> int:
        """+1 to minimise, -1 to maximise."""
        return 1 if self.minimise is not None else -1

    @property
    def label(self) -> str:
        """``minimise cost``, ``maximise throughput_lots_per_day``."""
        return f"{'minimise' if self.sign > 0 else 'maximise'} {self.kpi}"


class Constraints(s.Strict):
    """What a configuration must achieve to count (judged on the replications' means)."""

    min_throughput_share: float | None = Field(
        default=0.98, gt=0, le=1.5,
        description="every rate-released product's throughput >= release rate x this",
    )  # fmt: skip
    max_utilisation: float | None = Field(
        default=None, gt=0, le=1, description="no tool group busier than this share of its time"
    )


class Budget(s.Strict):
    """When the search stops: after ``trials`` trials or ``wall_minutes``, whichever first."""

    trials: int = Field(default=50, ge=1, le=100_000)
    wall_minutes: float | None = Field(default=None, gt=0)


class Selection(s.Strict):
    """The final, honest comparison of the best candidates."""

    top_k: int = Field(default=5, ge=1, le=50, description="candidates re-simulated")
    replications: int = Field(default=10, ge=2, le=10_000, description="replications each")
    level: float = Field(default=0.95, gt=0.5, lt=1, description="confidence level (family)")


class StudySpec(s.Strict):
    """A whole study file (see the module docstring)."""

    name: str = ""
    notes: str = ""
    base: str = Field(min_length=1, description="plant or scenario file")
    horizon_days: float = Field(gt=0)
    warmup_days: float = Field(default=0.0, ge=0)
    replications: int = Field(default=3, ge=1, le=1000)
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    variables: list[Variable] = Field(min_length=1)
    objectives: list[Objective] = Field(min_length=1, max_length=4)
    constraints: Constraints = Field(default_factory=Constraints)
    cost_years: float = Field(default=5.0, ge=0, description="years of running cost in 'cost'")
    budget: Budget = Field(default_factory=Budget)
    selection: Selection = Field(default_factory=Selection)
    sampler: Literal["auto", "tpe", "nsga2", "random"] = "auto"
    executor: str = Field(default="local", description="'local' or 'dask://host:port'")
    processes: int | None = Field(default=None, ge=1, le=1024)

    @field_validator("executor")
    @classmethod
    def _executor(cls, v: str) -> str:
        text = v.strip()
        if text.lower() == "local":
            return v
        parts = urlsplit(text)
        try:
            port = parts.port
        except ValueError:
            port = None
        if parts.scheme.lower() not in ("dask", "tcp", "tls") or not parts.hostname or not port:
            msg = f"executor must be 'local' or 'dask://host:port', got {v!r}"
            raise ValueError(msg)
        return v

    @field_validator("warmup_days")
    @classmethod
    def _warmup_inside(cls, v: float, info: ValidationInfo) -> float:
        # a field validator (horizon_days is read first), so the error names its line
        horizon = info.data.get("horizon_days")
        if horizon is not None and v >= horizon:
            msg = f"warmup_days ({v:g}) must be shorter than horizon_days ({horizon:g})"
            raise ValueError(msg)
        return v

    @model_validator(mode="after")
    def _consistent(self) -> StudySpec:
        if self.selection.replications < self.replications:
            msg = (
                f"selection.replications ({self.selection.replications}) must be at least "
                f"replications ({self.replications}): the final comparison adds to the trials'"
            )
            raise ValueError(msg)
        return self

    @property
    def sampler_name(self) -> str:
        """``tpe`` for one objective, ``nsga2`` for several, unless the file chose."""
        if self.sampler != "auto":
            return self.sampler
        return "tpe" if len(self.objectives) == 1 else "nsga2"


def is_study_path(path: str | Path) -> bool:
    """Return True if ``path`` names a study file (``*.study.yaml``)."""
    return has_suffix(path, SUFFIXES)


def study_stem(path: str | Path) -> str:
    """The file name without ``.study.yaml`` (or its plain stem)."""
    return suffixed_stem(path, SUFFIXES)


def default_out_dir(path: str | Path) -> Path:
    """The output folder of the study file ``path``: ``<study stem>.optimise/`` beside it.

    Examples
    --------
    >>> default_out_dir("plans/tiny.study.yaml").as_posix()
    'plans/tiny.optimise'
    """
    return Path(path).parent / f"{study_stem(path)}.optimise"


def variable_key(v: Any) -> str:
    """The name of a variable in trials and reports: ``tools/SCAN``, ``vehicles``, ..."""
    k = _kind(v)
    if k == "vehicles":
        return "vehicles"
    target = getattr(v, k or "", "")
    return f"{k}/{target}"


def tool_cost(plant: s.PlantSpec, years: float) -> float:
    """Capital of every tool plus ``years`` of their running cost (types without figures: 0)."""
    costs = {t.id: t.cost for t in plant.equipment_types}
    total = 0.0
    for e in plant.equipment:
        c = costs.get(e.type)
        if c is not None:
            total += c.capital + years * c.per_year
    return total


@dataclass
class StudyFile:
    """A study read from a file and checked against its base plant."""

    spec: StudySpec
    path: Path
    base: LoadedPlant
    raw: Any = None

    @property
    def name(self) -> str:
        """The study's ``name:`` or the file stem."""
        return self.spec.name or study_stem(self.path)

    def default_out_dir(self) -> Path:
        """``<study stem>.optimise/`` beside the study file."""
        return default_out_dir(self.path)

    def line(self, *loc: Any) -> int:
        """The line of ``loc`` in the file (1 if unknown)."""
        if self.raw is None:
            return 1
        try:
            return doc_location(self.raw, tuple(loc))[1]
        except (TypeError, KeyError, IndexError, AttributeError):
            return 1


def load_study(path: str | Path) -> StudyFile:
    """Read a study file and check it against its base plant.

    Raises
    ------
    ConfigError
        With every problem found, each as ``file:line: field: message``; a base that does
        not load brings its own ``file:line`` messages.
    """
    p = Path(path)
    return loads_study(read_config_text(p), source=str(p), path=p)


def loads_study(text: str, *, source: str = "<study>", path: Path | None = None) -> StudyFile:
    """Read study YAML given as text (see :func:`load_study`); ``base`` is relative to ``path``."""
    raw = read_yaml_mapping(text, source, "'base', 'horizon_days', 'variables', 'objectives'")
    try:
        spec = StudySpec.model_validate(raw)
    except ValidationError as exc:
        lines: list[str] = []
        for details in exc.errors(include_url=False):
            err: dict[str, Any] = dict(details)
            if len(err["loc"]) >= 3 and err["loc"][0] == "variables" and err["loc"][2] in _KINDS:
                err["loc"] = (*err["loc"][:2], *err["loc"][3:])  # drop the union's tag
            line = validation_line(err, raw, source)
            if line not in lines:
                lines.append(line)
        raise ConfigError(lines) from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise ConfigError([f"{source}:1: invalid study: {exc}"]) from None
    file_path = path or Path(os.getcwd()) / "study.yaml"
    base_path = Path(spec.base)
    if not base_path.is_absolute():
        base_path = file_path.parent / base_path
    at = _Locator(raw, source)
    if not base_path.is_file():
        raise ConfigError([at(("base",), f"no plant or scenario file {base_path}")])
    try:
        base = load_plant_or_scenario(base_path)
    except ConfigError as exc:
        head = at(("base",), f"the base {base_path} does not load:")
        raise ConfigError([head, *exc.issues]) from None
    problems = check_study(spec, base.spec, at)
    if problems:
        raise ConfigError(problems)
    return StudyFile(spec=spec, path=file_path, base=base, raw=raw)


class _Locator:
    def __init__(self, raw: Any, source: str) -> None:
        self.raw, self.source = raw, source

    def __call__(self, loc: tuple[Any, ...], message: str) -> str:
        try:
            kept, line = doc_location(self.raw, loc)
        except (TypeError, KeyError, IndexError, AttributeError):
            kept, line = loc, 1
        return f"{self.source}:{line}: {error_path(kept)}: {message}"


def _names(items: list[str], limit: int = 10) -> str:
    head = ", ".join(items[:limit])
    return head + (f", ... ({len(items)} in all)" if len(items) > limit else "")


def check_study(spec: StudySpec, plant: s.PlantSpec, at: Any) -> list[str]:
    """Every problem of ``spec`` against its base ``plant`` (``at(loc, msg)`` formats one)."""
    out: list[str] = []
    groups = list(plant.groups())
    products = {p.id: p for p in plant.products}
    seen: dict[str, int] = {}
    for i, v in enumerate(spec.variables):
        key = variable_key(v)
        if key in seen:
            out.append(at(("variables", i), f"{key} is already varied by variables[{seen[key]}]"))
        seen.setdefault(key, i)
        if isinstance(v, (ToolCount, DispatchChoice)):
            g = v.tools if isinstance(v, ToolCount) else v.dispatch
            fld = "tools" if isinstance(v, ToolCount) else "dispatch"
            if g not in groups:
                out.append(at(("variables", i, fld), f"no tool group {g} (groups: {_names(groups)})"))  # fmt: skip
        elif isinstance(v, (ReleaseRate, ConwipLevel)):
            pid = v.release if isinstance(v, ReleaseRate) else v.conwip
            fld = "release" if isinstance(v, ReleaseRate) else "conwip"
            if pid not in products:
                out.append(at(("variables", i, fld), f"no product {pid} (products: {_names(sorted(products))})"))  # fmt: skip
        elif isinstance(v, Vehicles) and plant.transport.kind == "none":
            out.append(at(("variables", i, "vehicles"), "the plant has no transport system (kind: none)"))  # fmt: skip
    for i, o in enumerate(spec.objectives):
        fld = "minimise" if o.sign > 0 else "maximise"
        out += _check_objective(o, plant, products, lambda m, i=i, fld=fld: at(("objectives", i, fld), m), spec)  # fmt: skip
    labels = [o.kpi for o in spec.objectives]
    for i, k in enumerate(labels):
        if k in labels[:i]:
            out.append(at(("objectives", i), f"{k} is already an objective"))
    return out


def _check_objective(
    o: Objective, plant: s.PlantSpec, products: dict[str, s.Product], at: Any, spec: StudySpec
) -> list[str]:
    k = o.kpi
    if k == COST:
        priced = [t.id for t in plant.equipment_types if t.cost is not None]
        if not priced:
            return [at("no data for cost: no equipment type of the plant has 'cost' figures "
                       "(cost: {capital: ..., per_year: ...})")]  # fmt: skip
        varied = {v.tools for v in spec.variables if isinstance(v, ToolCount)}
        types = {e.type for e in plant.equipment if e.group in varied}
        unpriced = sorted(t for t in types if t not in priced)
        if unpriced:
            return [at(f"no data for cost: equipment type(s) {', '.join(unpriced)} of the varied "
                       "groups have no 'cost' figures")]  # fmt: skip
        if o.sign < 0:
            return [at("cost is minimised, not maximised")]
        return []
    base, _, product = k.partition("/")
    if base not in KPI_BASES:
        return [at(f"no KPI {k!r} (KPIs: cost, {', '.join(KPI_BASES)}; per product as KPI/PRODUCT)")]  # fmt: skip
    if product:
        if base not in PER_PRODUCT:
            return [
                at(f"{base} has no per-product figure (per product: {', '.join(PER_PRODUCT)})")
            ]
        if product not in products:
            return [at(f"no data for {k}: no product {product} (products: {_names(sorted(products))})")]  # fmt: skip
    return []
