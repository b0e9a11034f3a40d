"""The plant file format's base model and distributions (see :mod:`factory_twin.model.schema`).

:class:`Strict` is the base of every schema model (unknown keys and non-finite numbers are
errors); the distributions (:data:`Distribution`: constant, exponential, uniform,
triangular, normal, lognormal, gamma) give every random time of a plant, in seconds.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SCHEMA_VERSION = 1

_COLOR = re.compile(r"^#[0-9a-fA-F]{6}$")


class Strict(BaseModel):
    """Base of every schema model: unknown keys are errors, assignment is validated.

    Numbers must be finite: ``.inf`` and ``.nan`` are errors (a tool at infinity has no
    footprint, a NaN time has no mean).
    """

    model_config = ConfigDict(extra="forbid", validate_assignment=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- distributions


class Constant(Strict):
    """Always the same value."""

    dist: Literal["constant"] = "constant"
    value: float = Field(ge=0)

    @property
    def mean(self) -> float:
        """Mean of the distribution."""
        return self.value


class Exponential(Strict):
    """Exponential with the given mean."""

    dist: Literal["exponential"]
    mean: float = Field(gt=0)


class Uniform(Strict):
    """Uniform on ``[low, high]``."""

    dist: Literal["uniform"]
    low: float = Field(ge=0)
    high: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        if self.high < self.low:
            msg = f"high ({self.high}) must not be below low ({self.low})"
            raise ValueError(msg)
        return self

    @property
    def mean(self) -> float:
        """Mean of the distribution."""
        return (self.low + self.high) / 2


class Triangular(Strict):
    """Triangular with ``low <= mode <= high``."""

    dist: Literal["triangular"]
    low: float = Field(ge=0)
    mode: float = Field(ge=0)
    high: float = Field(ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> Triangular:
        if not self.low <= self.mode <= self.high:
            msg = f"need low <= mode <= high, got {self.low}, {self.mode}, {self.high}"
            raise ValueError(msg)
        return self

    @property
    def mean(self) -> float:
        """Mean of the distribution."""
        return (self.low + self.mode + self.high) / 3


class Normal(Strict):
    """Normal, truncated at zero (times cannot be negative)."""

    dist: Literal["normal"]
    mean: float = Field(ge=0)
    sd: float = Field(ge=0)


class Lognormal(Strict):
    """Lognormal given by the mean and standard deviation of the value itself."""

    dist: Literal["lognormal"]
    mean: float = Field(gt=0)
    sd: float = Field(ge=0)


class Gamma(Strict):
    """Gamma given by mean and coefficient of variation (cv = sd / mean)."""

    dist: Literal["gamma"]
    mean: float = Field(gt=0)
    cv: float = Field(gt=0)


Distribution = Annotated[
    Constant | Exponential | Uniform | Triangular | Normal | Lognormal | Gamma,
    Field(discriminator="dist"),
]
"""A random duration or quantity. A bare number in YAML means :class:`Constant`."""


def _number_to_constant(v: Any) -> Any:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return {"dist": "constant", "value": v}
    return v


def dist_mean(
    d: Constant | Exponential | Uniform | Triangular | Normal | Lognormal | Gamma,
) -> float:
    """Return the mean of any distribution spec."""
    return float(d.mean)
