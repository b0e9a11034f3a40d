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

Those values stay inside ``normal_range`` while processing. Abnormal values come from two
sources, both on their own random stream (so plants without them draw the same numbers as
before): **excursions** (``excursion_rate_per_h`` per processing hour; a share
``spike_share`` are spikes of one to three samples, the rest drifts out and back over
minutes) carry a value from its setpoint 0.5 to 1.5 times the way to an alarm limit, so
about half cross it; **failure precursors** (an equipment type's ``precursors``) move a
tag from its setpoint to just beyond a limit over the last hours before each random
failure of the tool (:meth:`~factory_twin.sim.model.FabModel.time_to_failure`).

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
from factory_twin.sim.drill_faults import TransportJam, prioritise_lot, release_hot_lot
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
        self._jam: TransportJam | None = None
        self._build_excursions()
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
            if self._exc_idx.size or self._precursors:
                out = np.maximum(out + self._abnormal(now, proc, out), self._floor)
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

    # ----------------------------------------------------------------- abnormal values

    def _build_excursions(self) -> None:
        """Index the tags with excursions and the tools' failure precursors."""
        types = {t.id: t for t in self.spec.equipment_types}
        idx: list[int] = []
        rate: list[float] = []
        spike: list[float] = []
        up: list[float] = []
        down: list[float] = []
        self._precursors: list[tuple[Any, int, float, float]] = []
        for (eid, name), i in self._index.items():
            tag = self._tag_spec(types, eid, name)
            if tag.data_type is not s.TagType.FLOAT or tag.normal_range is None:
                continue
            if tag.excursion_rate_per_h > 0:
                lims = dict(tag.alarms.limits()) if tag.alarms is not None else {}
                half = (tag.normal_range[1] - tag.normal_range[0]) / 2 or 1.0
                hi = lims.get("hi", lims.get("hihi", self._hi[i] + half))
                lo = lims.get("lo", lims.get("lolo", self._lo[i] - half))
                idx.append(i)
                rate.append(tag.excursion_rate_per_h)
                spike.append(tag.spike_share)
                # a side without a limit gets no excursion (nothing to alarm on)
                up.append(hi - self._setp[i] if "hi" in lims or "hihi" in lims else 0.0)
                down.append(lo - self._setp[i] if "lo" in lims or "lolo" in lims else 0.0)
        for ti, e in enumerate(self.spec.equipment):
            for p in types[e.type].precursors:
                i = self._index[(e.id, p.tag)]
                tag = types[e.type].tag(p.tag)
                assert tag.alarms is not None
                limit = float(getattr(tag.alarms, p.to))
                # just beyond the limit at the breakdown: 2 % of the setpoint's distance past it
                target = limit + (limit - self._setp[i]) * 0.02
                self._precursors.append((self._tool_objs[ti], i, p.hours * 3600.0, target))
        self._exc_idx = np.asarray(idx, dtype=np.int64)
        m = len(idx)
        self._exc_rate = np.asarray(rate, dtype=float) / 3600.0
        self._exc_spike_share = np.asarray(spike, dtype=float)
        self._exc_up = np.asarray(up, dtype=float)
        self._exc_down = np.asarray(down, dtype=float)
        self._exc_start = np.full(m, np.nan)
        self._exc_peak = np.zeros(m)
        self._exc_rise = np.ones(m)
        self._exc_hold = np.zeros(m)
        self._exc_rng = self.model.streams.generator("tag_excursions") if m else None

    def _tag_spec(self, types: dict[str, s.EquipmentType], eid: str, name: str) -> s.TagSpec:
        return types[self.model.tools[eid].type].tag(name)

    def _abnormal(self, now: float, proc: np.ndarray, base: np.ndarray) -> np.ndarray:
        """Return the excursion and precursor offsets of every tag (0 where none, or idle)."""
        extra = np.zeros(len(self._tag_names))
        idx = self._exc_idx
        if idx.size:
            rng = self._exc_rng
            assert rng is not None
            p = proc[idx]
            # an excursion belongs to the run it started in: a tool that stops processing
            # ends it (else it would re-alarm at every load/unload cycle: chattering)
            self._exc_start[~p] = np.nan
            free = np.isnan(self._exc_start)
            new = free & p & (rng.random(idx.size) < self._exc_rate * self.tag_period_s)
            if new.any():
                k = np.flatnonzero(new)
                up, down = self._exc_up[k], self._exc_down[k]
                go_up = np.where((up != 0) & (down != 0), rng.random(k.size) < 0.5, up != 0)
                reach = np.where(go_up, up, down) * rng.uniform(0.5, 1.5, k.size)
                spike = rng.random(k.size) < self._exc_spike_share[k]
                self._exc_start[k] = now
                self._exc_peak[k] = reach
                # spikes: 1-3 samples; drifts: out over 2-10 min, held 1-5 min, back as fast
                n_spike = rng.integers(1, 4, k.size) * self.tag_period_s
                self._exc_rise[k] = np.where(spike, 0.0, rng.uniform(120.0, 600.0, k.size))
                self._exc_hold[k] = np.where(spike, n_spike, rng.uniform(60.0, 300.0, k.size))
            on = ~np.isnan(self._exc_start)
            if on.any():
                k = np.flatnonzero(on)
                el = now - self._exc_start[k]
                rise, hold = self._exc_rise[k], self._exc_hold[k]
                with np.errstate(divide="ignore", invalid="ignore"):
                    up_part = np.where(rise > 0, el / rise, 1.0)
                    down_part = np.where(rise > 0, (2 * rise + hold - el) / rise, 0.0)
                shape = np.clip(np.minimum(up_part, down_part), 0.0, 1.0)
                shape = np.where(el < rise + hold, np.minimum(up_part, 1.0), shape)
                over = el >= 2 * rise + hold
                self._exc_start[k[over]] = np.nan
                extra[idx[k]] = np.where(over, 0.0, shape * self._exc_peak[k])
        extra = np.where(proc, extra, 0.0)
        # a precursor is wear, not a process upset: it shows at idle too (else the alarm
        # would clear and return with every load/unload cycle)
        for tool, i, span_s, target in self._precursors:
            ttf = self.model.time_to_failure(tool)
            if ttf < span_s:  # pulled from where it would be toward the target, linearly
                extra[i] += (target - base[i] - extra[i]) * (1.0 - ttf / span_s)
        return extra

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

    def value_of(self, equipment: str, tag: str) -> Any:
        """Return the last served value of a process tag (forced or simulated)."""
        i = self._index.get((equipment, tag))
        if i is None:
            msg = f"tool {equipment!r} has no process tag {tag!r}"
            raise SimulationError(msg)
        f = self._forced.get(i)
        return f[0] if f is not None and self.model.now_s < f[1] else self._last[i]

    def unforce_tag(self, equipment: str, tag: str) -> None:
        """End a forced value now (the tag follows the simulation again)."""
        i = self._index.get((equipment, tag))
        if i is not None:
            self._forced.pop(i, None)

    def release_hot_lot(
        self, product: str, *, lot_id: str | None = None, priority: int = 100, step: int = 1
    ) -> str:
        """Release a lot of ``product`` now at 1-based route ``step``; return its id."""
        return release_hot_lot(self.model, product, lot_id=lot_id, priority=priority, step=step)

    def prioritise_lot(self, lot_id: str, priority: int) -> bool:
        """Give a lot in the fab a new priority; False if there is no such lot."""
        return prioritise_lot(self.model, lot_id, priority)

    def jam_transport(self, duration_s: float) -> None:
        """Stop every transport delivery for ``duration_s`` plant seconds (an OHT jam)."""
        if self._jam is None:
            self._jam = TransportJam(self.model)
        self._jam.jam(duration_s)

    @property
    def transport_jammed(self) -> bool:
        """True while a transport jam stops deliveries."""
        return self._jam is not None and self._jam.active
