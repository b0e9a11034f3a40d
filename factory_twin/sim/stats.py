"""Output analysis: confidence intervals, MSER-5 warm-up detection, paired comparisons.

Replications are independent (independent random streams), so the replication means of a
KPI are i.i.d. and a Student-t interval applies (Law, *Simulation Modeling and Analysis*,
ch. 9). Scenarios run on common random numbers are compared by paired differences (Law
ch. 10.2): the t interval of the per-replication differences, which CRN makes narrow.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np


@dataclass(frozen=True)
class Interval:
    """A mean with its confidence interval."""

    mean: float
    half_width: float
    n: int
    sd: float
    level: float = 0.95

    @property
    def low(self) -> float:
        """Lower bound."""
        return self.mean - self.half_width

    @property
    def high(self) -> float:
        """Upper bound."""
        return self.mean + self.half_width

    def contains(self, x: float) -> bool:
        """Return True if ``x`` lies in the interval."""
        return self.low <= x <= self.high

    def spans_zero(self) -> bool:
        """Return True if the interval contains zero (no significant difference)."""
        return self.low <= 0.0 <= self.high

    def as_dict(self) -> dict[str, float]:
        """Plain dict for JSON."""
        return {
            "mean": self.mean,
            "half_width": self.half_width,
            "low": self.low,
            "high": self.high,
            "sd": self.sd,
            "n": self.n,
            "level": self.level,
        }


@lru_cache(maxsize=256)
def _t_critical(dof: int, level: float) -> float:
    from scipy import stats as sps  # imported here: worker processes start faster without it

    return float(sps.t.ppf(0.5 + level / 2, dof))


def t_interval(values: Iterable[float], level: float = 0.95) -> Interval:
    """Return the Student-t confidence interval of the mean of ``values`` (NaNs dropped).

    One value gives an infinite half-width; none gives NaN.
    """
    x = np.asarray([v for v in values if v is not None and not math.isnan(v)], dtype=float)
    n = len(x)
    if n == 0:
        return Interval(math.nan, math.nan, 0, math.nan, level)
    m = float(x.mean())
    if n == 1:
        return Interval(m, math.inf, 1, math.nan, level)
    sd = float(x.std(ddof=1))
    hw = _t_critical(n - 1, level) * sd / math.sqrt(n)
    return Interval(m, hw, n, sd, level)


def t_intervals(values: np.ndarray, level: float = 0.95) -> dict[str, np.ndarray]:
    """Return :func:`t_interval` of every column of the 2-D array ``values`` at once.

    Rows are replications, columns quantities; NaNs are dropped per column. The result maps
    ``mean, half_width, low, high, sd, n`` to one array each (a column's length), with the
    same rules as :func:`t_interval` (one value: infinite half-width; none: NaN).

    Examples
    --------
    >>> r = t_intervals(np.array([[1.0, 2.0], [3.0, np.nan]]))
    >>> r["mean"].tolist(), r["n"].tolist(), float(r["half_width"][1])
    ([2.0, 2.0], [2, 1], inf)
    """
    x = np.asarray(values, dtype=float)
    if x.ndim != 2:
        msg = f"t_intervals needs a 2-D array (replications x quantities), got {x.ndim}-D"
        raise ValueError(msg)
    ok = ~np.isnan(x)
    n = ok.sum(axis=0)
    filled = np.where(ok, x, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = filled.sum(axis=0) / n
        dev = np.where(ok, x - mean, 0.0)
        sd = np.sqrt((dev * dev).sum(axis=0) / (n - 1))
    sd = np.where(n >= 2, sd, math.nan)
    t = np.array([_t_critical(int(k) - 1, level) if k >= 2 else math.nan for k in n])
    with np.errstate(invalid="ignore", divide="ignore"):
        hw = t * sd / np.sqrt(n)
    hw = np.where(n == 1, math.inf, np.where(n == 0, math.nan, hw))
    mean = np.where(n == 0, math.nan, mean)
    return {"mean": mean, "half_width": hw, "low": mean - hw, "high": mean + hw, "sd": sd, "n": n}


def mser(series: Sequence[float] | np.ndarray, batch: int = 5, max_fraction: float = 0.5) -> int:
    """Return the MSER-``batch`` truncation point: observations to delete as warm-up.

    The series is averaged in batches of ``batch``; the truncation ``d`` (in batches)
    minimises the marginal standard error ``var(tail) / (n - d)^2`` over the first
    ``max_fraction`` of the batches (White 1997; MSER-5 with ``batch=5``).
    """
    y = np.asarray(series, dtype=float)
    nb = len(y) // batch
    if nb < 4:
        return 0
    z = y[: nb * batch].reshape(nb, batch).mean(axis=1)
    best_d, best = 0, math.inf
    for d in range(int(nb * max_fraction) + 1):
        tail = z[d:]
        m = len(tail)
        if m < 2:
            break
        v = float(((tail - tail.mean()) ** 2).sum()) / (m * m)
        if v < best:
            best, best_d = v, d
    return best_d * batch


@dataclass(frozen=True)
class Difference:
    """A paired difference (scenario minus baseline) of one KPI."""

    kpi: str
    baseline: str
    scenario: str
    interval: Interval

    @property
    def significant(self) -> bool:
        """True if the interval excludes zero."""
        return not self.interval.spans_zero() and math.isfinite(self.interval.half_width)

    def verdict(self) -> str:
        """Plain-words verdict."""
        # no replication has the KPI on both sides: a group one plant lacks, or no lot done
        if self.interval.n == 0:
            return "no paired values"
        if not self.significant:
            return "no significant difference"
        return "higher" if self.interval.mean > 0 else "lower"


def paired_difference(
    base: Sequence[float], other: Sequence[float], level: float = 0.95
) -> Interval:
    """Return the t interval of ``other[i] - base[i]`` over paired replications."""
    n = min(len(base), len(other))
    diffs = [other[i] - base[i] for i in range(n)]
    return t_interval(diffs, level)
