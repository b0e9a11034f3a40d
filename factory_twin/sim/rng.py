"""Random streams: every draw of a run derives from one scenario seed.

Each purpose (a tool's failures, a step's process times, a product's arrivals, ...) gets its
own :class:`numpy.random.Generator`, built from a :class:`numpy.random.SeedSequence` whose
spawn key is ``(replication, purpose, *ids)``. That is what ``SeedSequence.spawn`` does, but
keyed by *name* rather than spawn order, so a stream stays the same when a scenario adds a
tool or a product: two scenarios run with the same seed share common random numbers, and a
run reproduces to the last digit. There is no global RNG anywhere in :mod:`factory_twin.sim`.

Variates are drawn in blocks (numpy is fast per block, slow per call), which does not change
the sequence a stream produces (except a truncated normal's, whose rejected draws are replaced
at the end of their block). A sampler is a C-level callable: the model calls samplers about
once per event, so a Python ``__call__`` would cost more than the draw.
"""

from __future__ import annotations

import functools
import itertools
import math
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from factory_twin.model import schema as s

_FIRST_BLOCK = 8  # a stream's first block; each refill doubles it up to _MAX_BLOCK, so
_MAX_BLOCK = 64  # rarely used streams stay small (big plants have thousands of streams)


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


class Sampler(functools.partial[float]):
    """Draws from one distribution; call it for the next value, read ``mean`` for its mean.

    It is ``next`` bound to an iterator over the values (a ``functools.partial``), so a draw
    runs in C: for a random distribution the iterator chains blocks drawn from its stream.
    """

    mean: float


def _blocks(
    draw: Callable[[np.random.Generator, int], np.ndarray], factory: Any
) -> Iterator[list[float]]:
    gen = factory()  # built at the first draw (lazy: big plants have thousands of streams)
    n = _FIRST_BLOCK
    while True:
        yield draw(gen, n).tolist()
        n = min(2 * n, _MAX_BLOCK)


def _random(
    draw: Callable[[np.random.Generator, int], np.ndarray], factory: Any, mean: float
) -> Sampler:
    smp = Sampler(next, itertools.chain.from_iterable(_blocks(draw, factory)))
    smp.mean = mean
    return smp


def const_sampler(value: float) -> Sampler:
    """Return a sampler of a constant (no stream needed)."""
    smp = Sampler(next, itertools.repeat(float(value)))
    smp.mean = float(value)
    return smp


def make_sampler(dist: Any, factory: Any) -> Sampler:
    """Build a sampler for a schema distribution; ``factory()`` returns its generator."""
    if isinstance(dist, (int, float)):
        return const_sampler(float(dist))
    if isinstance(dist, s.Constant):
        return const_sampler(dist.value)
    if isinstance(dist, s.Exponential):
        m = dist.mean
        return _random(lambda g, n: g.exponential(m, n), factory, m)
    if isinstance(dist, s.Uniform):
        lo, hi = dist.low, dist.high
        if lo == hi:
            return const_sampler(lo)
        return _random(lambda g, n: g.uniform(lo, hi, n), factory, (lo + hi) / 2)
    if isinstance(dist, s.Triangular):
        lo, mo, hi = dist.low, dist.mode, dist.high
        if lo == hi:
            return const_sampler(lo)
        return _random(lambda g, n: g.triangular(lo, mo, hi, n), factory, (lo + mo + hi) / 3)
    if isinstance(dist, s.Normal):
        mu, sd = dist.mean, dist.sd
        if sd == 0:
            return const_sampler(mu)

        # truncated at zero by rejection, so no mass piles up at 0
        def _normal(g: np.random.Generator, n: int) -> np.ndarray:
            out = g.normal(mu, sd, n)
            bad = out < 0
            while bad.any():
                out[bad] = g.normal(mu, sd, int(bad.sum()))
                bad = out < 0
            return out

        return _random(_normal, factory, mu)
    if isinstance(dist, s.Lognormal):
        m, sd = dist.mean, dist.sd
        if sd == 0:
            return const_sampler(m)
        sig2 = math.log(1.0 + (sd / m) ** 2)
        mu, sig = math.log(m) - sig2 / 2, math.sqrt(sig2)
        return _random(lambda g, n: g.lognormal(mu, sig, n), factory, m)
    if isinstance(dist, s.Gamma):
        k = 1.0 / dist.cv**2
        scale = dist.mean / k
        return _random(lambda g, n: g.gamma(k, scale, n), factory, dist.mean)
    msg = f"unknown distribution {dist!r}"
    raise TypeError(msg)


def uniform_sampler(streams: Streams, purpose: str, *ids: str | int) -> Sampler:
    """Return a U(0, 1) sampler (for rework, scrap and sampling decisions)."""
    return _random(lambda g, n: g.random(n), lambda: streams.generator(purpose, *ids), 0.5)
