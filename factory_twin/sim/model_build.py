"""Building a :class:`factory_twin.sim.model.FabModel` from its :class:`PlantSpec`.

:class:`ModelBuild` is a mixin: it prepares the runtime objects (tool groups, tools, routes,
products, the transport) and schedules the timers that start the run (failures, calendar PMs,
releases, initial WIP). Beside it are the checks a plant must pass to be simulated
(:func:`check_spec`), the dispatching rule parser (:func:`parse_rule`) and the raw process
time (:func:`raw_process_time`).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from factory_twin.errors import SimulationError
from factory_twin.model import schema as s
from factory_twin.model.capacity import raw_process_time_s
from factory_twin.model.events import StateChange
from factory_twin.sim.fab_objects import (
    STANDBY,
    Group,
    Lot,
    ProductRt,
    StepRt,
    Tool,
    _failure_samplers,
    _next_wafer_pm,
)
from factory_twin.sim.oht_fast import Fleet, new_fleet
from factory_twin.sim.queues import BatchQueue, LotQueue
from factory_twin.sim.rng import Streams, make_sampler, uniform_sampler

if TYPE_CHECKING:
    from factory_twin.sim.engine import Engine


def raw_process_time(spec: s.PlantSpec, product_id: str) -> float:
    """Return the raw process time of a product (the X-factor denominator), seconds."""
    return float(raw_process_time_s(spec, product_id))


class ModelBuild:
    """Build a :class:`FabModel`'s runtime objects from its plant and start its timers.

    :meth:`_build` sets the model's ``groups``, ``tools``, ``tool_list``, ``routes``,
    ``products``, the transport (``vehicles``, ``oht`` and their state) and calls
    :meth:`_start_processes`. Uses these attributes of :class:`FabModel`: ``spec``,
    ``streams``, ``env``, ``events``, ``_timer`` (schedules a callback), and the callbacks it
    schedules: ``_on_fail_timer`` and ``_on_pm_timer`` (:class:`EquipmentEvents`),
    ``_on_rate_release``, ``_on_schedule_release``, ``_on_conwip_start``, with ``_new_lot``
    and ``_goto`` for the initial WIP.
    """

    spec: s.PlantSpec
    streams: Streams
    env: Engine
    events: list[Any] | None
    _timer: Callable[[float, Callable[[Any], object], Any], None]

    if TYPE_CHECKING:

        def _on_fail_timer(self, value: Any) -> None: ...
        def _on_pm_timer(self, value: Any) -> None: ...
        def _on_rate_release(self, value: Any) -> None: ...
        def _on_schedule_release(self, value: Any) -> None: ...
        def _on_conwip_start(self, value: Any) -> None: ...
        def _new_lot(
            self,
            pr: ProductRt,
            *,
            lot_id: str | None = None,
            wafers: int | None = None,
            priority: int | None = None,
            due_s: float | None = None,
        ) -> Lot: ...
        def _goto(self, lot: Lot, i: int, tool: Tool | None, sample: bool) -> None: ...

    def _build(self, rule: s.DispatchRule | None) -> None:
        spec, st = self.spec, self.streams
        types = {t.id: t for t in spec.equipment_types}
        self.groups: dict[str, Group] = {}
        self.tools: dict[str, Tool] = {}
        batch_groups = {
            step.tool_group for r in spec.routes for step in r.steps if step.per == "batch"
        }
        for gi, (gid, members) in enumerate(spec.groups().items()):
            cfg = spec.tool_group(gid)
            g = Group()
            g.id, g.idx = gid, gi
            g.rule = rule if rule is not None else cfg.dispatch
            g.is_batch = gid in batch_groups or any(types[e.type].batch for e in members)
            g.min_run = cfg.min_run_lots
            g.batch_wait = cfg.batch_wait_s
            g.load_s, g.unload_s = cfg.load_s, cfg.unload_s
            g.cascade = cfg.cascade_lots
            g.setups = {
                (c.from_setup, c.to_setup): make_sampler(
                    c.time, _lazy(st, "setup", gid, c.from_setup or "*", c.to_setup)
                )
                for c in cfg.setups
            }
            g.setup_default = (
                make_sampler(cfg.setup_default, _lazy(st, "setup", gid, "*", "*"))
                if cfg.setup_default is not None
                else None
            )
            with_setups = any(
                step.setup is not None and step.tool_group == gid
                for r in spec.routes
                for step in r.steps
            )
            g.queue = (
                BatchQueue(g.rule, cfg.batch_wait_s)
                if g.is_batch
                else LotQueue(g.rule, with_setups=with_setups)
            )
            g.free = []
            g.wake_at = None
            g.tools = []
            xs = [e.position_m[0] for e in members]
            ys = [e.position_m[1] for e in members]
            g.pos = (sum(xs) / len(xs), sum(ys) / len(ys))
            self.groups[gid] = g
            for e in members:
                t = self._build_tool(e, g, len(self.tools))
                g.tools.append(t)
                self.tools[e.id] = t
                t.in_free = True
                g.free.append(t)
        self.tool_list = list(self.tools.values())
        # routes and products
        self.routes: dict[str, list[StepRt]] = {}
        self._group_caps = _group_caps(spec, types)
        for r in spec.routes:
            self.routes[r.id] = self._build_route(r, types)
        self.products: dict[str, ProductRt] = {}
        for p in spec.products:
            pr = ProductRt()
            pr.id = p.id
            pr.route = self.routes[p.route]
            pr.wafers = p.wafers_per_lot
            pr.priority = p.priority
            pr.due_after = p.due_after_s
            pr.count = 0
            pr.conwip = p.release.mode == "conwip"
            pr.rpt_s = raw_process_time(spec, p.id)
            self.products[p.id] = pr
        for r in spec.routes:  # remaining raw time per step, for CR
            steps = self.routes[r.id]
            wafers = next((p.wafers_per_lot for p in spec.products if p.route == r.id), 25)
            rem = 0.0
            for step in reversed(steps):
                rem += step.sample / 100.0 * self._nominal_time(step, wafers)
                step.rem_s = rem
        tr = spec.transport
        self._tr_fixed = (
            make_sampler(tr.fixed_time, _lazy(st, "transport"))
            if tr.fixed_time is not None
            else None
        )
        self._tr_none = tr.kind == "none"
        # Limited vehicles: a counted pool with a FIFO of waiting lots. It behaves exactly as a
        # simpy.Resource(capacity=vehicles) would, at a third of the cost per move.
        self.vehicles: int | None = (
            tr.vehicles if tr.vehicles is not None and not self._tr_none else None
        )
        self._veh_free = self.vehicles or 0
        self._veh_wait: deque[tuple[Lot, float]] = deque()
        # OHT fleet on the rails (amhs model 'oht'): every move rides a vehicle (sim/oht_fast.py)
        am = spec.amhs
        self.oht: Fleet | None = None
        self._port: dict[str, str] = {}
        self._nominal: dict[tuple[str, str], float] = {}
        if am is not None and am.model == "oht" and not self._tr_none:
            self.oht = new_fleet(am, self.env)
            self._port = {p.tool: p.node for p in am.ports}
            ni = self.oht.graph.node_index
            for tool in self.tools.values():
                if tool.id in self._port:
                    tool.port = ni[self._port[tool.id]]
            missing = sorted(t.id for t in self.tools.values() if t.port < 0)
            if missing:  # (the plant check says so first; a plant built in code may not)
                msg = f"cannot simulate this plant: no load port on the rails for {missing[:5]}"
                raise SimulationError(msg)
        self._start_processes()

    def _build_tool(self, e: s.Equipment, g: Group, idx: int) -> Tool:
        st = self.streams
        t = Tool()
        t.id, t.idx, t.group, t.type = e.id, idx, g, e.type
        t.pos = e.position_m
        t.port = -1
        rel = e.reliability
        t.rel_basis = None
        t.mtbf = t.mttr = t.first_fail = None
        if rel is not None:
            t.rel_basis = rel.basis
            t.mtbf = make_sampler(rel.mtbf, _lazy(st, "mtbf", e.id))
            t.mttr = make_sampler(rel.mttr, _lazy(st, "mttr", e.id))
            if rel.first_s is not None:
                t.first_fail = make_sampler(rel.first_s, _lazy(st, "first_failure", e.id))
        t.pms = []
        t.pm_next = []
        for pm in e.pm:
            dur = make_sampler(pm.duration, _lazy(st, "pm", e.id, pm.name))
            qual = (
                make_sampler(pm.qualification, _lazy(st, "qual", e.id, pm.name))
                if pm.qualification is not None
                else None
            )
            t.pms.append((pm, dur, qual))
            t.pm_next.append(pm.first if pm.first is not None else pm.interval)
        t.pm_wafer_due = _next_wafer_pm(t)
        return t

    def _build_route(self, r: s.Route, types: dict[str, s.EquipmentType]) -> list[StepRt]:
        st = self.streams
        out = []
        for i, step in enumerate(r.steps):
            x = StepRt()
            x.route, x.idx, x.no = r.id, i, i + 1
            x.group = self.groups[step.tool_group]
            x.recipe = step.recipe
            x.setup = step.setup
            x.per = step.per
            x.time = make_sampler(step.process_time, _lazy(st, "process", r.id, i + 1))
            x.mean_s = x.time.mean
            x.wint = step.wafer_interval_s
            x.bint = step.batch_interval_s
            x.bmin, x.bmax = _batch_limits(step, self._group_caps)
            x.batch_key = step.recipe or f"{r.id}#{i + 1}"
            x.sample = step.sample_pct
            x.sample_u = (
                uniform_sampler(st, "sampling", r.id, i + 1) if step.sample_pct < 100 else None
            )
            x.scrap_p = step.scrap_probability
            x.rework_p = step.rework.probability if step.rework is not None else 0.0
            x.rework_to = step.rework.to_step - 1 if step.rework is not None else -1
            x.decide = (
                uniform_sampler(st, "yield", r.id, i + 1)
                if x.scrap_p > 0 or x.rework_p > 0
                else None
            )
            q = step.queue_time_limit
            x.qt_to = q.to_step - 1 if q is not None else -1
            x.qt_limit = q.limit_s if q is not None else 0.0
            out.append(x)
        return out

    @staticmethod
    def _nominal_time(step: StepRt, wafers: int) -> float:
        t = step.mean_s
        if step.per == "wafer":
            t = t + (wafers - 1) * step.wint if step.wint else t * wafers
        return t + step.group.load_s + step.group.unload_s

    def _start_processes(self) -> None:
        for t in self.tool_list:
            if self.events is not None:
                self.events.append(StateChange(t.id, STANDBY, 0.0, ""))
            if t.rel_basis is not None:
                first = t.first_fail() if t.first_fail is not None else _failure_samplers(t)[0]()
                if t.rel_basis == "calendar":
                    t.fail_at = first
                    self._timer(first, self._on_fail_timer, (t, t.fail_token))
                else:  # busy: the clock runs while the tool is productive
                    t.ttf_left = first
            for k, (pm, _, _) in enumerate(t.pms):
                if pm.basis == "calendar":
                    self._timer(t.pm_next[k], self._on_pm_timer, (t, k))
        for p in self.spec.products:
            pr = self.products[p.id]
            rel = p.release
            if rel.mode == "rate":
                assert rel.interarrival is not None
                arr = make_sampler(rel.interarrival, _lazy(self.streams, "arrivals", p.id))
                self._timer(
                    rel.start_s + arr(), self._on_rate_release, (pr, arr, rel.lots_per_release)
                )
            elif rel.mode == "schedule":
                times = sorted(rel.times_s)
                self._timer(
                    times[0], self._on_schedule_release, (pr, times, 0, rel.lots_per_release)
                )
            else:
                assert rel.wip_lots is not None
                self._timer(rel.start_s, self._on_conwip_start, (pr, rel.wip_lots))
        for il in self.spec.initial_wip:
            pr = self.products[il.product]
            lot = self._new_lot(
                pr, lot_id=il.id, wafers=il.wafers, priority=il.priority, due_s=il.due_s
            )
            lot.initial = True
            self._goto(lot, il.step - 1, None, False)


def _lazy(streams: Streams, purpose: str, *ids: str | int) -> Any:
    return lambda: streams.generator(purpose, *ids)


def _group_caps(
    spec: s.PlantSpec, types: dict[str, s.EquipmentType]
) -> dict[str, list[s.BatchSpec]]:
    """Return the batch capacities of the tools of each group."""
    out: dict[str, list[s.BatchSpec]] = {}
    for e in spec.equipment:
        b = types[e.type].batch
        if b is not None:
            out.setdefault(e.group, []).append(b)
    return out


def _batch_limits(step: s.RouteStep, group_caps: dict[str, list[s.BatchSpec]]) -> tuple[int, int]:
    """Return (min, max) wafers of a batch at ``step``; (1, 1) means one lot at a time."""
    if step.per != "batch":
        return 1, 1
    caps = group_caps.get(step.tool_group, [])
    spec_b = step.batch or (caps[0] if caps else None)
    if step.per != "batch" or spec_b is None:
        return 1, 1
    hi = spec_b.max_wafers
    for c in caps:
        assert c is not None
        hi = min(hi, c.max_wafers)
    return min(spec_b.min_wafers, hi), hi


def parse_rule(rule: s.DispatchRule | str | None) -> s.DispatchRule | None:
    """Return the dispatch rule named ``rule`` (SimulationError if unknown)."""
    if rule is None or isinstance(rule, s.DispatchRule):
        return rule
    try:
        return s.DispatchRule(str(rule).lower())
    except ValueError:
        names = ", ".join(r.value for r in s.DispatchRule)
        msg = f"unknown dispatching rule {rule!r}: choose one of {names}"
        raise SimulationError(msg) from None


def check_spec(spec: s.PlantSpec) -> None:
    """Check that a plant can be simulated; raise SimulationError listing every problem.

    Checks: every route step's tool group has tools; products exist with routes; batch
    steps admit a lot (its wafers fit the batch); initial WIP names existing steps; and
    there is something to simulate (a product or initial WIP).
    """
    problems: list[str] = []
    groups = spec.groups()
    types = {t.id: t for t in spec.equipment_types}
    for e in spec.equipment:
        if e.type not in types:
            problems.append(f"equipment {e.id}: unknown equipment type {e.type!r}")
    if problems:
        raise SimulationError("cannot simulate this plant:\n  " + "\n  ".join(problems))
    route_ids = {r.id for r in spec.routes}
    group_caps = _group_caps(spec, types)
    for r in spec.routes:
        for i, st in enumerate(r.steps, 1):
            where = f"route {r.id} step {i} ({st.name or st.recipe or st.tool_group})"
            if st.tool_group not in groups:
                problems.append(
                    f"{where}: no tool can run it (tool group {st.tool_group!r} has no tools)"
                )
                continue
            if st.rework is not None and st.rework.to_step > i:
                problems.append(f"{where}: rework goes forward to step {st.rework.to_step}")
            if st.queue_time_limit is not None and not (
                i < st.queue_time_limit.to_step <= len(r.steps)
            ):
                problems.append(
                    f"{where}: queue-time limit to step {st.queue_time_limit.to_step} is not a later step"
                )
            if st.per == "batch":
                lo, hi = _batch_limits(st, group_caps)
                sb = st.batch
                if sb is not None and sb.min_wafers > hi:
                    problems.append(
                        f"{where}: impossible batch size: min_wafers {sb.min_wafers} exceeds the "
                        f"tools' max_wafers {hi}"
                    )
                for p in spec.products:
                    if p.route == r.id and (lo, hi) != (1, 1) and p.wafers_per_lot > hi:
                        problems.append(
                            f"{where}: impossible batch size: a lot of product {p.id} has "
                            f"{p.wafers_per_lot} wafers, more than max_wafers {hi}"
                        )
    for p in spec.products:
        if p.route not in route_ids:
            problems.append(f"product {p.id}: unknown route {p.route!r}")
    prods = {p.id: p for p in spec.products}
    for il in spec.initial_wip:
        prod = prods.get(il.product)
        if prod is None:
            problems.append(f"initial lot {il.id}: unknown product {il.product!r}")
            continue
        if prod.route in route_ids and il.step > len(spec.route(prod.route).steps):
            problems.append(
                f"initial lot {il.id}: step {il.step} is beyond the end of route {prod.route}"
            )
    if problems:
        raise SimulationError("cannot simulate this plant:\n  " + "\n  ".join(problems))
