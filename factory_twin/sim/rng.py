"""Random streams: every draw of a run derives from one scenario seed.

Each purpose (a tool's failures, a step's process times, a product's arrivals, ...) gets its
own :class:`numpy.random.Generator`, built from a :class:`numpy.random.SeedSequence` whose
spawn key is ``(replication, purpose, *ids)``. That is what ``SeedSequence.spawn`` does, but
keyed by *name* rather than spawn order, so a stream stays the same when a scenario adds a
tool or a product: two scenarios run with the same seed share common random numbers, and a
run reproduces to the last digit. There is no global RNG anywhere in :mod:`factory_twin.sim`.

Variates are drawn in blocks (numpy is fast per block, slow per call), which does not change
the sequence a stream produces.
"""

from __future__ import annotations

import math
import zlib
from typing import Any

import numpy as np

from factory_twin.model import schema as s

_BLOCK = 64


def purpose_id(name: str) -> int:
    """Return a stable 32-bit id for a purpose or object name (CRC-32, not Python's hash)."""
    return zlib.crc32(name.encode("utf-8"))


class Streams:
    """Factory of independent, reproducible random generators for one replication.

    Parameters
    ----------
    seed
        The scenario seed.
    replication
        Replication number; different replications get independent streams.
    """

    __slots__ = ("replication", "seed")

    def __init__(self, seed: int, replication: int = 0) -> None:
        if seed < 0 or replication < 0:
            msg = f"seed and replication must be non-negative, got {seed} and {replication}"
            raise ValueError(msg)
        self.seed = int(seed)
        self.replication = int(replication)

    def generator(self, purpose: str, *ids: str | int) -> np.random.Generator:
        """Return the generator of ``purpose`` for the objects named by ``ids``."""
        key = [self.replication, purpose_id(purpose)]
        key += [purpose_id(i) if isinstance(i, str) else int(i) for i in ids]
        ss = np.random.SeedSequence(self.seed, spawn_key=tuple(key))
        return np.random.Generator(np.random.PCG64(ss))

    def sampler(self, dist: Any, purpose: str, *ids: str | int) -> Sampler:
        """Return a sampler of ``dist`` (a schema distribution) on its own stream."""
        return make_sampler(dist, lambda: self.generator(purpose, *ids))


class Sampler:
    """Draws from one distribution on one stream; call it for the next value."""

    __slots__ = ("_buf", "_draw", "_gen", "_i", "mean")

    def __init__(self, draw: Any, factory: Any, mean: float) -> None:
        self._draw = draw
        self._gen: Any = factory  # a generator factory until first use (lazy: big plants)
        self._buf: list[float] = []
        self._i = 0
        self.mean = mean

    def __call__(self) -> float:
        i = self._i
        if i >= len(self._buf):
            if not isinstance(self._gen, np.random.Generator):
                self._gen = self._gen()
            self._buf = self._draw(self._gen, _BLOCK).tolist()
            i = 0
        self._i = i + 1
        return self._buf[i]  # type: ignore[no-any-return]


class ConstSampler:
    """A sampler of a constant (no stream needed)."""

    __slots__ = ("mean",)

    def __init__(self, value: float) -> None:
        self.mean = float(value)

    def __call__(self) -> float:
        return self.mean


def make_sampler(dist: Any, factory: Any) -> Sampler | ConstSampler:
    """Build a sampler for a schema distribution; ``factory()`` returns its generator."""
    if isinstance(dist, (int, float)):
        return ConstSampler(float(dist))
    if isinstance(dist, s.Constant):
        return ConstSampler(dist.value)
    if isinstance(dist, s.Exponential):
        m = dist.mean
        return Sampler(lambda g, n: g.exponential(m, n), factory, m)
    if isinstance(dist, s.Uniform):
        lo, hi = dist.low, dist.high
        if lo == hi:
            return ConstSampler(lo)
        return Sampler(lambda g, n: g.uniform(lo, hi, n), factory, (lo + hi) / 2)
    if isinstance(dist, s.Triangular):
        lo, mo, hi = dist.low, dist.mode, dist.high
        if lo == hi:
            return ConstSampler(lo)
        return Sampler(lambda g, n: g.triangular(lo, mo, hi, n), factory, (lo + mo + hi) / 3)
    if isinstance(dist, s.Normal):
        mu, sd = dist.mean, dist.sd
        if sd == 0:
            return ConstSampler(mu)
        # truncated at zero by rejection, so no mass piles up at 0
        def _normal(g: np.random.Generator, n: int) -> np.ndarray:
            out = g.normal(mu, sd, n)
            bad = out < 0
            while bad.any():
                out[bad] = g.normal(mu, sd, int(bad.sum()))
                bad = out < 0
            return out

        return Sampler(_normal, factory, mu)
    if isinstance(dist, s.Lognormal):
        m, sd = dist.mean, dist.sd
        if sd == 0:
            return ConstSampler(m)
        sig2 = math.log(1.0 + (sd / m) ** 2)
        mu, sig = math.log(m) - sig2 / 2, math.sqrt(sig2)
        return Sampler(lambda g, n: g.lognormal(mu, sig, n), factory, m)
    if isinstance(dist, s.Gamma):
        k = 1.0 / dist.cv**2
        scale = dist.mean / k
        return Sampler(lambda g, n: g.gamma(k, scale, n), factory, dist.mean)
    msg = f"unknown distribution {dist!r}"
    raise TypeError(msg)


def uniform_sampler(streams: Streams, purpose: str, *ids: str | int) -> Sampler:
    """Return a U(0, 1) sampler (for rework, scrap and sampling decisions)."""
    return Sampler(lambda g, n: g.random(n), lambda: streams.generator(purpose, *ids), 0.5)
