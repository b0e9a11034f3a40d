"""The stepped mode: a plant simulation that a timer or an OPC UA server advances in slices.

:class:`LiveSimulation` wraps the same :class:`~factory_twin.sim.model.FabModel` the headless
runs use. Nothing sleeps: the caller decides how fast simulated time goes by calling
:meth:`LiveSimulation.advance` (for speed-up 60 from a 1 s tick, ``advance(60.0)``).

Process tags follow the tool state. Every ``tag_period_s`` each tool's tags are sampled: a
processing tool holds its setpoint (the middle of the tag's ``normal_range``) plus a slow
mean-reverting drift (correlation time ``drift_tau_s``, standard deviation ``drift_share`` of
the range's half-width), with measurement noise (``noise``); any other tool relaxes toward the
tag's ``idle_value``. A tag follows its target with a first-order lag (time constant
``lag_s``). All of these are figures of the tag in the plant file (:class:`~factory_twin.model.schema.TagSpec`). Forced values (:meth:`LiveSimulation.force_tag`)
override a tag for a while, for drills and alarm tests.

Examples
--------
>>> from factory_twin.model.config import load_plant            # doctest: +SKIP
>>> sim = LiveSimulation(load_plant("plant_configs/demo_fab.yaml").spec, seed=1)  # doctest: +SKIP
>>> events = sim.advance(60.0)  # one minute of plant time            # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
from itertools import repeat
from typing import Any

import numpy as np

from factory_twin.errors import SimulationError
from factory_twin.model import schema as s
from factory_twin.model.events import E10State, PlantEvent, Quality, StateChange, TagUpdate
from factory_twin.sim.model import PRODUCTIVE, FabModel
from factory_twin.sim.records import Recorder

logger = logging.getLogger(__name__)

_new = object.__new__
_slots = TagUpdate.__dict__
_set_eq, _set_tag, _set_val, _set_ts, _set_q, _set_sts, _set_status = (
    _slots[f].__set__
    for f in ("equipment", "tag", "value", "source_ts", "quality", "server_ts", "status")
)
_GOOD = Quality.GOOD


def _tag_update(equipment: str, tag: str, value: Any, ts: float) -> TagUpdate:
    """Build ``TagUpdate(equipment, tag, value, ts)`` without the frozen dataclass's __init__.

    Equal (and equally hashable) to the normal construction, about 3x cheaper: the live mode
    makes one per tag per sample period.
    """
    o = _new(TagUpdate)
    _set_eq(o, equipment)
    _set_tag(o, tag)
    _set_val(o, value)
    _set_ts(o, ts)
    _set_q(o, _GOOD)
    _set_sts(o, None)
    _set_status(o, "Good")
    return o


class _Discard(list[Any]):
    """A list that keeps nothing (live runs can last for days)."""

    __slots__ = ()

    def append(self, row: Any) -> None:
        pass


class _LiveRecorder(Recorder):
    def __init__(self) -> None:
        super().__init__()
        self.steps = _Discard()
        self.states = _Discard()
        self.wip = _Discard()
        self.lots = _Discard()
        self.qtime = _Discard()


class LiveSimulation:
    """A plant simulation advanced in slices, producing plant events.

    Parameters
    ----------
    spec
        The plant.
    seed
        Scenario seed (same seed, same events).
    tag_period_s
        Simulated seconds between process-tag samples.
    rule
        Dispatching rule for every tool group (None keeps the plant's).
    """

    def __init__(
        self,
        spec: s.PlantSpec,
        seed: int = 0,
        *,
        tag_period_s: float = 1.0,
        rule: str | None = None,
    ) -> None:
        if not tag_period_s > 0:
            msg = f"tag_period_s must be positive, got {tag_period_s}"
            raise SimulationError(msg)
        self.spec = spec
        self.tag_period_s = float(tag_period_s)
        self.model = FabModel(spec, seed=seed, rule=rule, recorder=_LiveRecorder(), live=True)
        self._rng = self.model.streams.generator("tags")
        self._build_tags()
        self._forced: dict[int, tuple[Any, float]] = {}
        self._sample(None)  # values at time 0, then every period

    # ----------------------------------------------------------------- tags

    def _build_tags(self) -> None:
        types = {t.id: t for t in self.spec.equipment_types}
        tools: list[int] = []
        names: list[str] = []
        kinds: list[s.TagType] = []
        setp: list[float] = []
        idle: list[float] = []
        lo: list[float] = []
        hi: list[float] = []
        noise: list[float] = []
        lag: list[float] = []
        tau: list[float] = []
        share: list[float] = []
        self._index: dict[tuple[str, str], int] = {}
        for ti, e in enumerate(self.spec.equipment):
            for tag in types[e.type].tags:
                self._index[(e.id, tag.name)] = len(names)
                tools.append(ti)
                names.append(tag.name)
                kinds.append(tag.data_type)
                rng = tag.normal_range
                iv = tag.idle_value
                if rng is None:
                    base = iv if iv is not None else 0.0
                    lo.append(-math.inf)
                    hi.append(math.inf)
                    setp.append(base)
                else:
                    lo.append(rng[0])
                    hi.append(rng[1])
                    setp.append((rng[0] + rng[1]) / 2)
                idle.append(iv if iv is not None else (rng[0] if rng is not None else 0.0))
                noise.append(tag.noise)
                lag.append(tag.lag_s)
                tau.append(tag.drift_tau_s)
                share.append(tag.drift_share)
        self._tool_of = np.asarray(tools, dtype=np.int64)
        self._tag_names = names
        self._tag_kinds = kinds
        self._equip_ids = [e.id for e in self.spec.equipment]
        self._tool_objs = [self.model.tools[e.id] for e in self.spec.equipment]
        self._setp = np.asarray(setp, dtype=float)
        self._idle = np.asarray(idle, dtype=float)
        self._lo = np.asarray(lo, dtype=float)
        self._hi = np.asarray(hi, dtype=float)
        self._noise = np.asarray(noise, dtype=float)
        # a tag whose values are all non-negative (pressure, flow, power) never reads below 0
        self._floor = np.where((self._lo >= 0) & (self._idle >= 0), 0.0, -np.inf)
        half = np.where(np.isfinite(self._hi - self._lo), (self._hi - self._lo) / 2, 0.0)
        self._drift_sd = np.asarray(share, dtype=float) * half
        self._lag_s = lag
        self._drift_tau_s = tau
        self._coef_dt = math.nan  # the sample period the coefficients below are for
        self._drift_a = self._drift_b = self._lag_k = np.zeros(len(names))
        self._drift = np.zeros(len(names))
        self._value = self._idle.copy()  # every tool starts idle
        self._last: list[Any] = [None] * len(names)
        self._tag_equip = [self._equip_ids[i] for i in tools]
        self._nonfloat = [i for i, k in enumerate(kinds) if k is not s.TagType.FLOAT]

    def _sample(self, ev: Any) -> None:
        m = self.model
        now = float(m.env.now_s)
        n = len(self._tag_names)
        if n:
            dt = self.tag_period_s
            proc = np.fromiter(
                (t.state is PRODUCTIVE for t in self._tool_objs),
                dtype=bool,
                count=len(self._tool_objs),
            )[self._tool_of]
            if dt != self._coef_dt:
                self._coefficients(dt)
            self._drift = self._drift_a * self._drift + self._drift_b * self._rng.standard_normal(
                n
            )
            run_target = np.clip(self._setp + self._drift, self._lo, self._hi)
            target = np.where(proc, run_target, self._idle)
            self._value = target + (self._value - target) * self._lag_k
            out = self._value + self._noise * self._rng.standard_normal(n)
            out = np.where(proc, np.clip(out, self._lo, self._hi), np.maximum(out, self._floor))
            values: list[Any] = out.tolist()
            for i in self._nonfloat:
                values[i] = self._convert(self._tag_kinds[i], values[i], bool(proc[i]))
            if self._forced:
                for i, (v, until) in list(self._forced.items()):
                    if now < until:
                        values[i] = v
                    else:
                        del self._forced[i]
            self._last = values
            evs = m.events
            assert evs is not None
            evs.extend(map(_tag_update, self._tag_equip, self._tag_names, values, repeat(now, n)))
        m.env.call_later(self.tag_period_s, self._sample, None)

    def _coefficients(self, dt: float) -> None:
        """Per-tag factors of one sample period ``dt``: drift decay and kick, lag decay."""
        # math.exp per tag (not numpy's): the same doubles as the scalar formula always gave
        a = [math.exp(-dt / tau) for tau in self._drift_tau_s]
        self._drift_a = np.asarray(a, dtype=float)
        self._drift_b = np.asarray([math.sqrt(1 - x * x) for x in a], dtype=float) * self._drift_sd
        self._lag_k = np.asarray([math.exp(-dt / lag) for lag in self._lag_s], dtype=float)
        self._coef_dt = dt

    @staticmethod
    def _convert(kind: s.TagType, v: Any, processing: bool) -> Any:
        if isinstance(v, (bool, str)) or v is None:
            return v
        if kind is s.TagType.INT:
            return round(v)
        if kind is s.TagType.BOOL:
            return processing
        return f"{v:g}"

    # ----------------------------------------------------------------- stepping

    @property
    def now_s(self) -> float:
        """The simulation clock, seconds."""
        return self.model.now_s

    def advance(self, dt_s: float) -> list[PlantEvent]:
        """Run ``dt_s`` simulated seconds; return the events produced, in time order.

        The events are :class:`StateChange`, :class:`LotMove` and :class:`TagUpdate`
        records (process tags every ``tag_period_s``; the machine tags ``state``, ``lot``,
        ``recipe`` and ``wafer_count`` when they change).
        """
        if dt_s < 0 or math.isnan(dt_s):
            msg = f"cannot advance by {dt_s} s"
            raise SimulationError(msg)
        self.model.run(self.model.env.now_s + dt_s)
        return self._drain()

    def _drain(self) -> list[PlantEvent]:
        evs = self.model.events
        assert evs is not None
        out = list(evs)
        evs.clear()
        return out

    def drain(self, max_items: int = 10_000) -> list[PlantEvent]:
        """Return events produced outside :meth:`advance` (holds, forced tags), oldest first."""
        evs = self.model.events
        assert evs is not None
        out = evs[:max_items]
        del evs[:max_items]
        return out

    def snapshot(self) -> list[PlantEvent]:
        """Return the current state of every tool and the current value of every tag."""
        now = self.model.now_s
        out: list[PlantEvent] = []
        for eid, t in zip(self._equip_ids, self._tool_objs, strict=True):
            out.append(StateChange(eid, t.state, now, t.sub))
            out.append(TagUpdate(eid, "state", t.state.value, now))
            lots = ",".join(lot.id for job in t.jobs for lot in job.lots)
            recipe = t.jobs[-1].step.recipe if t.jobs else ""
            out.append(TagUpdate(eid, "lot", lots, now))
            out.append(TagUpdate(eid, "recipe", recipe, now))
            out.append(TagUpdate(eid, "wafer_count", t.wafers, now))
        for (eid, tag), i in self._index.items():
            f = self._forced.get(i)
            v = f[0] if f is not None and now < f[1] else self._last[i]
            out.append(TagUpdate(eid, tag, v, now))
        return out

    def state_of(self, equipment_id: str) -> tuple[E10State, str]:
        """Return the E10 state and substate of a tool."""
        t = self.model.tool(equipment_id)
        return t.state, t.sub

    def queue_lengths(self) -> dict[str, int]:
        """Lots waiting per tool group."""
        return self.model.queue_lengths()

    @property
    def lots_in_fab(self) -> int:
        """Lots released and not yet finished or scrapped."""
        return len(self.model.wip)

    # ----------------------------------------------------------------- operator actions

    def hold(self, equipment_id: str) -> bool:
        """Put a tool on operator hold (ENGINEERING / 'hold'); False if not allowed now.

        A processing tool finishes its current load, then holds; a tool that is down
        (repair, PM, qualification) or already held cannot be put on hold.
        """
        return self.model.hold(equipment_id)

    def resume(self, equipment_id: str) -> bool:
        """Release an operator hold; False if the tool is not on hold."""
        return self.model.resume(equipment_id)

    def force_tag(self, equipment: str, tag: str, value: Any, duration_s: float) -> None:
        """Hold a process tag at ``value`` for ``duration_s`` simulated seconds."""
        i = self._index.get((equipment, tag))
        if i is None:
            self.model.tool(equipment)  # unknown tool -> its own message
            known = sorted(t for (e, t) in self._index if e == equipment)
            msg = f"tool {equipment!r} has no process tag {tag!r} (tags: {', '.join(known) or 'none'})"
            raise SimulationError(msg)
        if not duration_s > 0:
            msg = f"duration must be positive, got {duration_s}"
            raise SimulationError(msg)
        now = self.model.now_s
        self._forced[i] = (value, now + float(duration_s))
        self._last[i] = value
        evs = self.model.events
        assert evs is not None
        evs.append(TagUpdate(equipment, tag, value, now))

    def inject_breakdown(self, equipment: str, duration_s: float) -> bool:
        """Break a tool down now for ``duration_s``; False if it is already down."""
        return self.model.inject_breakdown(equipment, duration_s)
