"""Experiment files (``NAME.experiment.yaml``): which scenarios to run, how long, how often.

::

    name: demo fab, litho and layout
    scenarios:                      # plant or scenario files, relative to this file; base first
      - demo_fab.yaml
      - demo_fab_fourth_scanner.scenario.yaml
    horizon_days: 60
    warmup: auto                    # MSER-5 on the replications' average WIP, or a number of days
    replications: 5                 # or {until_half_width_pct: 5, kpis: [...], min: 3, max: 30}
    seed: 0
    executor: local                 # or dask://host:port
    processes: 2                    # local worker processes (default: one per core)

Every problem is reported at once as ``file:line: field: message`` (the plant loader's
wording), never as a traceback.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, ValidationInfo, field_validator, model_validator

from factory_twin.errors import ConfigError
from factory_twin.model import schema as s
from factory_twin.model.config import (
    has_suffix,
    read_config_text,
    read_yaml_mapping,
    suffixed_stem,
)
from factory_twin.model.config_errors import doc_location, validation_line
from factory_twin.model.scenario import LoadedPlant, load_plant_or_scenario

SUFFIXES = (".experiment.yaml", ".experiment.yml")
DEFAULT_KPIS = ("throughput_lots_per_day", "cycle_time_mean_h")


class SequentialReplications(s.Strict):
    """Add replications until every chosen KPI's 95 % CI half-width is below a share of its mean."""

    until_half_width_pct: float = Field(gt=0, le=100)
    kpis: list[str] = Field(default_factory=lambda: list(DEFAULT_KPIS), min_length=1)
    min: int = Field(default=3, ge=2)
    max: int = Field(default=30, ge=2, le=10_000)

    @model_validator(mode="after")
    def _bounds(self) -> SequentialReplications:
        if self.min > self.max:
            msg = f"min ({self.min}) must not exceed max ({self.max})"
            raise ValueError(msg)
        return self


class ExperimentSpec(s.Strict):
    """A whole experiment file (see the module docstring)."""

    name: str = ""
    notes: str = ""
    scenarios: list[str] = Field(min_length=1, description="plant or scenario files, base first")
    horizon_days: float = Field(gt=0, description="simulated days per replication")
    warmup: Literal["auto"] | float = Field(
        default="auto", description="'auto' (MSER-5, Welch) or days"
    )
    replications: int | SequentialReplications = Field(default=5)
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    executor: str = Field(default="local", description="'local' or 'dask://host:port'")
    processes: int | None = Field(default=None, ge=1, le=1024)
    rule: s.DispatchRule | None = Field(default=None, description="rule for every tool group")
    common_random_numbers: bool = Field(
        default=True,
        description="every scenario uses the same seed (paired differences); false gives "
        "scenario i the seed seed + i (independent streams)",
    )

    @field_validator("warmup", mode="before")
    @classmethod
    def _warmup(cls, v: Any) -> Any:
        if isinstance(v, str) and v.strip().lower() == "auto":
            return "auto"
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            msg = f"expected 'auto' or a number of days, got {v!r}"
            raise ValueError(msg)
        if not v >= 0:
            msg = f"a warm-up of {v} days: expected 0 or more"
            raise ValueError(msg)
        return float(v)

    @field_validator("replications", mode="before")
    @classmethod
    def _replications(cls, v: Any) -> Any:
        if isinstance(v, bool) or not isinstance(v, (int, dict)):
            msg = (
                "expected a number of replications or a mapping "
                f"{{until_half_width_pct: x, kpis: [...], min: 3, max: 30}}, got {v!r}"
            )
            raise ValueError(msg)
        if isinstance(v, int) and not 1 <= v <= 10_000:
            msg = f"expected 1 to 10000 replications, got {v}"
            raise ValueError(msg)
        return v

    @field_validator("executor")
    @classmethod
    def _executor(cls, v: str) -> str:
        scheduler_address(v)
        return v

    @field_validator("warmup")
    @classmethod
    def _warmup_inside(cls, v: Any, info: ValidationInfo) -> Any:
        # a field validator (horizon_days is read first), so the error names warmup's line
        horizon = info.data.get("horizon_days")
        if isinstance(v, float) and horizon is not None and v >= horizon:
            msg = f"warmup ({v:g} days) must be shorter than horizon_days ({horizon:g})"
            raise ValueError(msg)
        return v

    # -- derived

    @property
    def warmup_days(self) -> float | None:
        """The fixed warm-up in days, or None for automatic (MSER-5)."""
        return None if self.warmup == "auto" else float(self.warmup)

    def replication_rule(self) -> str:
        """The replication rule in words."""
        r = self.replications
        if isinstance(r, int):
            return f"{r} replication{'s' if r != 1 else ''}"
        return (
            f"until the 95% CI half-width of {', '.join(r.kpis)} is below "
            f"{r.until_half_width_pct:g}% of the mean (at least {r.min}, at most {r.max})"
        )


def scheduler_address(executor: str) -> str | None:
    """Return the Dask scheduler address of an ``executor`` value, None for ``local``.

    ``dask://host:port`` becomes ``tcp://host:port``; ``tcp://`` and ``tls://`` pass as
    they are.

    Raises
    ------
    ValueError
        For anything else, with the accepted forms.

    Examples
    --------
    >>> scheduler_address("dask://10.0.0.5:8786")
    'tcp://10.0.0.5:8786'
    >>> scheduler_address("local") is None
    True
    """
    text = executor.strip()
    if text.lower() == "local":
        return None
    parts = urlsplit(text)
    if parts.scheme.lower() not in ("dask", "tcp", "tls") or not parts.hostname:
        msg = f"executor must be 'local' or 'dask://host:port', got {executor!r}"
        raise ValueError(msg)
    try:
        port = parts.port
    except ValueError:
        port = -1
    if port is None or not 1 <= port <= 65535:
        msg = f"executor {executor!r}: the scheduler port must be a number between 1 and 65535"
        raise ValueError(msg)
    scheme = "tcp" if parts.scheme.lower() == "dask" else parts.scheme.lower()
    return f"{scheme}://{parts.hostname}:{port}"


def is_experiment_path(path: str | Path) -> bool:
    """Return True if ``path`` names an experiment file (``*.experiment.yaml``)."""
    return has_suffix(path, SUFFIXES)


def experiment_stem(path: str | Path) -> str:
    """Return the file name without ``.experiment.yaml`` (or its plain stem)."""
    return suffixed_stem(path, SUFFIXES)


@dataclass
class ExperimentFile:
    """An experiment read from a file: the spec, where it is and where its lines are."""

    spec: ExperimentSpec
    path: Path
    raw: Any = None

    @property
    def name(self) -> str:
        """The experiment's name: its ``name:`` or the file stem."""
        return self.spec.name or experiment_stem(self.path)

    def default_out_dir(self) -> Path:
        """``<experiment stem>.results/`` beside the experiment file."""
        return self.path.parent / f"{experiment_stem(self.path)}.results"

    def scenario_paths(self) -> list[Path]:
        """The scenario files, resolved against the experiment file's folder."""
        return [(self.path.parent / p).resolve() for p in self.spec.scenarios]

    def load_scenarios(self) -> list[LoadedPlant]:
        """Read and apply every scenario; each problem names its file and line.

        Raises
        ------
        ConfigError
            A scenario file that is missing (at the experiment file's line), or that does not
            load (with that file's own ``file:line`` messages).
        """
        problems: list[str] = []
        loaded: list[LoadedPlant] = []
        names: set[str] = set()
        for i, p in enumerate(self.scenario_paths()):
            line = doc_location(self.raw, ("scenarios", i))[1] if self.raw is not None else 1
            if not p.is_file():
                problems.append(f"{self.path}:{line}: scenarios[{i}]: no such file {p}")
                continue
            try:
                lp = load_plant_or_scenario(p)
            except ConfigError as exc:
                problems.extend(exc.issues)
                continue
            if lp.name in names:
                problems.append(
                    f"{self.path}:{line}: scenarios[{i}]: {lp.name!r} is listed twice "
                    "(every scenario needs its own file name)"
                )
                continue
            names.add(lp.name)
            loaded.append(lp)
        if problems:
            raise ConfigError(problems)
        return loaded


def load_experiment(path: str | Path) -> ExperimentFile:
    """Read an experiment file (the scenarios are read by :meth:`ExperimentFile.load_scenarios`).

    Raises
    ------
    ConfigError
        With every problem found, each as ``file:line: field: message``.
    """
    p = Path(path)
    return loads_experiment(read_config_text(p), source=str(p), path=p)


def loads_experiment(
    text: str, *, source: str = "<experiment>", path: Path | None = None
) -> ExperimentFile:
    """Read experiment YAML given as text (see :func:`load_experiment`)."""
    raw = read_yaml_mapping(text, source, "'scenarios' and 'horizon_days'")
    try:
        spec = ExperimentSpec.model_validate(raw)
    except ValidationError as exc:
        lines: list[str] = []
        for details in exc.errors(include_url=False):
            err: dict[str, Any] = dict(details)
            if "int" in err["loc"] and isinstance(err.get("input"), dict):
                continue  # a mapping given for int | mapping: the mapping's errors say it
            # a union's branch tags (int, SequentialReplications, ...) are not in the file
            err["loc"] = tuple(
                x for x in err["loc"] if not (isinstance(x, str) and _is_branch_tag(x))
            )
            line = validation_line(err, raw, source)
            if line not in lines:
                lines.append(line)
        raise ConfigError(lines) from None
    except (ValueError, TypeError, RecursionError) as exc:
        raise ConfigError([f"{source}:1: invalid experiment: {exc}"]) from None
    return ExperimentFile(spec=spec, path=path or Path(os.getcwd()) / "experiment.yaml", raw=raw)


def _is_branch_tag(part: str) -> bool:
    return part in {
        "int",
        "float",
        "SequentialReplications",
        "literal['auto']",
    } or part.startswith(("function-", "literal["))
