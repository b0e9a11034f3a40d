"""Static capacity analysis of a plant: offered load, utilisation and the bottleneck.

A rough-cut capacity check, the first thing a planner does with a new fab model (Hopp &
Spearman, *Factory Physics*, ch. 7): for every tool group, how many tool-seconds of work per
second the release plan offers, against how many tool-seconds the group's tools can give
once breakdowns and preventive maintenance are taken out. A group whose utilisation reaches 1
cannot keep up and its queue grows without bound; a simulation of such a plant never reaches
steady state.

The figures are long-run means, all in seconds:

* **Visits.** Expected visits of a lot to each step of its route, from sampling
  (``sample_pct``), rework loops (``rework``: a lot fails after the step with the given
  probability and repeats the steps from ``to_step``, again and again if it fails again) and
  scrap (``scrap_probability``: the lot leaves the line after the step).
* **Tool time per visit.** ``per: lot`` is the process time; ``per: wafer`` is wafers x
  process time, or with cascading (``wafer_interval_s``) process time + (wafers - 1) x
  interval; ``per: batch`` is the batch time shared by the lots of a full batch
  (whole lots that fit in the smaller of the step's and the tools' ``max_wafers``), capped by
  ``batch_interval_s`` when the tool cascades batches (it then accepts the next load that
  long after the previous one started; the same cap applies to a lot or a wafer-timed load).
  The group's ``load_s`` and ``unload_s`` are added once per lot.
* **Setups.** A step with a ``setup`` costs a change with probability (1 - share of the
  group's visits needing that setup), at most once per ``min_run_lots`` lots; the change time
  is the ``setups`` entry (from a specific setup, else from any) or ``setup_default``.
* **Availability.** ``reliability`` with ``basis: calendar`` takes MTTR / (MTBF + MTTR) of
  the tool's time; ``basis: busy`` adds MTTR / MTBF of repair per second of processing.
  Calendar PMs take (duration + qualification) / interval of the tool's time; wafer-count PMs
  add (duration + qualification) / interval per wafer processed.

Batch tools are counted with full batches (the long-run limit: a batch tool that falls
behind builds a queue and so fills its batches); :attr:`GroupLoad.utilisation_min_batch`
gives the pessimistic figure with batches of the minimum size.

Release: ``rate`` releases ``lots_per_release`` lots per mean interarrival; ``schedule``
releases its lots over the span of ``times_s``; ``conwip`` gets its best-case throughput
(Little's law: WIP / raw process time), scaled down so no group exceeds utilisation 1.

Examples
--------
>>> from factory_twin.model.config import load_plant          # doctest: +SKIP
>>> rows = capacity_table(load_plant("plant_configs/demo_fab.yaml").spec)  # doctest: +SKIP
>>> max(rows, key=lambda r: r.utilisation).group              # doctest: +SKIP
'IMP'
>>> print(format_capacity_table(rows))                          # doctest: +SKIP
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

from factory_twin.model import schema as s

logger = logging.getLogger(__name__)

_DAY_S = 86400.0


@dataclass(frozen=True)
class GroupLoad:
    """Capacity figures of one tool group (one row of :func:`capacity_table`).

    Attributes
    ----------
    group
        Tool group id.
    tools
        Number of tools in the group.
    lot_visits_per_s
        Lots arriving at the group per second, all products, after sampling and rework.
    wafers_per_s
        Wafers processed by the group per second.
    process_load
        Tool-seconds of processing (with load/unload) offered per second.
    setup_load
        Tool-seconds of setup changes per second (an estimate, see the module notes).
    usage_down_load
        Tool-seconds per second lost to wafer-count PMs and busy-time failures.
    offered_load
        ``process_load + setup_load + usage_down_load``: busy tools needed on average.
    available_tools
        Tools' worth of time left after calendar breakdowns and calendar PMs.
    availability
        Mean fraction of a tool's time it is up (breakdowns only).
    pm_fraction
        Mean fraction of a tool's time spent in calendar PMs and their qualification.
    utilisation
        ``offered_load / available_tools``; must stay below 1 for a steady state.
    utilisation_min_batch
        Utilisation if every batch ran at its minimum size (equals ``utilisation`` for
        groups without batch steps).
    mean_time_per_visit_s
        Tool time one lot visit costs on average (processing, load/unload, setups).
    visits_per_product
        Expected visits of one released lot of each product.
    is_bottleneck
        True for the group with the highest utilisation.
    """

    group: str
    tools: int
    lot_visits_per_s: float
    wafers_per_s: float
    process_load: float
    setup_load: float
    usage_down_load: float
    offered_load: float
    available_tools: float
    availability: float
    pm_fraction: float
    utilisation: float
    utilisation_min_batch: float
    mean_time_per_visit_s: float
    visits_per_product: dict[str, float] = field(default_factory=dict)
    is_bottleneck: bool = False

    @property
    def lots_per_day(self) -> float:
        """Lot visits per day."""
        return self.lot_visits_per_s * _DAY_S


# --------------------------------------------------------------------------- route figures


def expected_visits(route: s.Route) -> list[float]:
    """Return the expected number of times one released lot is processed at each step.

    Sampling (a lot skips an unsampled step), rework loops and scrap are accounted for.
    A loop that a lot can never leave (rework probability 1 on a sampled step) gives
    ``inf`` for the steps in it.
    """
    steps = route.steps
    n = len(steps)
    sampled = [st.sample_pct / 100.0 for st in steps]
    kept = [1.0 - st.scrap_probability for st in steps]
    p_rw = [st.rework.probability if st.rework is not None else 0.0 for st in steps]
    # back[i]: (target step, fraction of arrivals at i sent back there)
    back = [
        (st.rework.to_step - 1, sampled[i] * kept[i] * p_rw[i])
        for i, st in enumerate(steps)
        if st.rework is not None and p_rw[i] > 0
    ]
    back_from = [i for i, st in enumerate(steps) if st.rework is not None and p_rw[i] > 0]
    onward = [(1.0 - sampled[j]) + sampled[j] * kept[j] * (1.0 - p_rw[j]) for j in range(n)]
    # arrivals[j] = [j == 0] + arrivals[j-1] * onward[j-1] + sum of rework flows into j.
    # Rework only goes backwards, so a forward Gauss-Seidel sweep with the rework flows of
    # the previous sweep converges geometrically (at the rate of the loop probabilities).
    arrivals = [0.0] * n
    growing: list[float] = [0.0] * n
    for _ in range(5_000):
        inflow = [0.0] * n
        for i, (k, frac) in zip(back_from, back, strict=True):
            inflow[k] += arrivals[i] * frac
        new = [0.0] * n
        for j in range(n):
            new[j] = inflow[j] + (1.0 if j == 0 else new[j - 1] * onward[j - 1])
        growing = [abs(x - y) for x, y in zip(new, arrivals, strict=True)]
        arrivals = new
        if max(growing) < 1e-12 * max(1.0, max(arrivals)):
            break
    else:
        # A loop no lot can leave (a rework probability of 1): its steps never settle.
        logger.warning("route %r has a rework loop that lots cannot leave", route.id)
        arrivals = [math.inf if g > 1e-6 else a for a, g in zip(arrivals, growing, strict=True)]
    return [a * sampled[j] if math.isfinite(a) else math.inf for j, a in enumerate(arrivals)]


_Dist = s.Constant | s.Exponential | s.Uniform | s.Triangular | s.Normal | s.Lognormal | s.Gamma


def _mean(d: _Dist | None) -> float:
    return 0.0 if d is None else s.dist_mean(d)


def lot_time_s(step: s.RouteStep, wafers: int) -> float:
    """Return the mean time a lot of ``wafers`` wafers spends in process at ``step``.

    For ``per: batch`` this is the whole batch time: every lot of the batch waits for it.
    """
    pt = _mean(step.process_time)
    if step.per == "wafer":
        if step.wafer_interval_s is not None:
            return pt + (wafers - 1) * step.wafer_interval_s
        return pt * wafers
    return pt


@dataclass
class _Lookup:
    """The plant's look-ups built once per table (the spec's own are linear searches)."""

    groups: dict[str, list[s.Equipment]]
    settings: dict[str, s.ToolGroup]
    types: dict[str, s.EquipmentType]

    @classmethod
    def of(cls, spec: s.PlantSpec) -> _Lookup:
        return cls(
            spec.groups(),
            {g.id: g for g in spec.tool_groups},
            {t.id: t for t in spec.equipment_types},
        )

    def tool_group(self, gid: str) -> s.ToolGroup:
        g = self.settings.get(gid)
        return g if g is not None else s.ToolGroup(id=gid)


def _batch_cap_wafers(spec: s.PlantSpec, step: s.RouteStep, look: _Lookup) -> tuple[int, int]:
    """Return (min, max) wafers of a batch at ``step``, within the group's tool capacity."""
    assert step.batch is not None
    hi = step.batch.max_wafers
    for e in look.groups.get(step.tool_group, []):
        t = look.types.get(e.type)
        cap = t.batch if t is not None else None
        if cap is not None:
            hi = min(hi, cap.max_wafers)
    return min(step.batch.min_wafers, hi), hi


def lots_per_batch(
    spec: s.PlantSpec, step: s.RouteStep, wafers: int, *, _look: _Lookup | None = None
) -> tuple[int, int]:
    """Return (fewest, most) whole lots of ``wafers`` wafers that form a batch at ``step``.

    A step that is not batched gives (1, 1).
    """
    if step.per != "batch" or step.batch is None:
        return 1, 1
    lo_w, hi_w = _batch_cap_wafers(spec, step, _look or _Lookup.of(spec))
    most = max(1, hi_w // wafers)
    fewest = min(most, max(1, math.ceil(lo_w / wafers)))
    return fewest, most


def tool_time_per_visit_s(
    spec: s.PlantSpec,
    step: s.RouteStep,
    wafers: int,
    *,
    full_batches: bool = True,
    _look: _Lookup | None = None,
) -> float:
    """Return the mean tool time one lot's visit to ``step`` costs (setups excluded).

    A load (one lot, or one batch: full batches, or the fewest lots a batch may start with
    when ``full_batches`` is False) occupies the tool for its process time plus the group's
    load and unload time per lot, shared among its lots. Cascading caps that at the time
    after which the tool takes the next load: ``batch_interval_s``, or on a group with
    ``cascade_lots`` of 2 or more, wafers x ``wafer_interval_s`` (as the simulator does).
    """
    look = _look or _Lookup.of(spec)
    g = look.tool_group(step.tool_group)
    fewest, most = lots_per_batch(spec, step, wafers, _look=look)
    n = most if full_batches else fewest
    t = lot_time_s(step, wafers) + n * (g.load_s + g.unload_s)
    if step.batch_interval_s is not None:
        t = min(t, step.batch_interval_s)
    elif g.cascade_lots > 1 and step.per == "wafer" and step.wafer_interval_s is not None:
        t = min(t, n * wafers * step.wafer_interval_s)
    return t / n


# --------------------------------------------------------------------------- release rates


def release_rate_per_s(product: s.Product) -> float | None:
    """Return the long-run lot release rate of ``product`` (lots per second).

    ``rate``: lots per release / mean interarrival; ``schedule``: the listed releases over
    their span (0 if they all come at one instant); ``conwip``: None (it depends on the
    cycle time; :func:`capacity_table` uses the best case).
    """
    r = product.release
    if r.mode == "rate":
        mean = _mean(r.interarrival)
        return math.inf if mean <= 0 else r.lots_per_release / mean
    if r.mode == "schedule":
        times = sorted(r.times_s)
        if len(times) < 2 or times[-1] <= times[0]:
            return 0.0
        return r.lots_per_release * (len(times) - 1) / (times[-1] - times[0])
    return None


def raw_process_time_s(spec: s.PlantSpec, product_id: str, *, expected: bool = True) -> float:
    """Return the raw process time of one lot of ``product_id``: the sum of its process times.

    Each step counts the time its lot is in process (a batch step the whole batch time)
    plus the group's load and unload times; no queueing, setups, transport or downtime.
    With ``expected`` (the default) steps are weighted by their expected visits (sampling,
    rework, scrap); otherwise every step counts once. This is the denominator of the
    X-factor (cycle time / raw process time).

    Raises
    ------
    KeyError
        If there is no such product or its route does not exist.
    """
    product = next((p for p in spec.products if p.id == product_id), None)
    if product is None:
        raise KeyError(product_id)
    route = spec.route(product.route)
    visits = expected_visits(route) if expected else [1.0] * len(route.steps)
    total = 0.0
    for v, st in zip(visits, route.steps, strict=True):
        if v == 0:
            continue
        g = spec.tool_group(st.tool_group)
        total += v * (lot_time_s(st, product.wafers_per_lot) + g.load_s + g.unload_s)
    return total


# --------------------------------------------------------------------------- the table


@dataclass
class _Acc:
    visits: float = 0.0
    wafers: float = 0.0
    process: float = 0.0
    process_min_batch: float = 0.0
    setup_visits: dict[str, float] = field(default_factory=dict)
    per_product: dict[str, float] = field(default_factory=dict)


def _setup_time(g: s.ToolGroup, frm: str, to: str) -> float:
    generic = None
    for ch in g.setups:
        if ch.to_setup == to:
            if ch.from_setup == frm:
                return _mean(ch.time)
            if ch.from_setup is None and generic is None:
                generic = _mean(ch.time)
    if generic is not None:
        return generic
    return _mean(g.setup_default)


def _setup_load(g: s.ToolGroup, setup_visits: dict[str, float]) -> float:
    """Tool-seconds per second of setup changes, lots arriving in random setup order."""
    total = sum(setup_visits.values())
    if total <= 0 or len(setup_visits) < 2 or not math.isfinite(total):
        return 0.0
    share = {k: v / total for k, v in setup_visits.items()}
    load = 0.0
    for to, rate in setup_visits.items():
        # a lot needing 'to' follows one needing 'frm' with probability share[frm]
        per_visit = sum(share[frm] * _setup_time(g, frm, to) for frm in share if frm != to)
        load += rate * per_visit / g.min_run_lots
    return load


def _tool_downtime(e: s.Equipment) -> tuple[float, float, float, float]:
    """Return (calendar down fraction, calendar PM fraction, busy overhead, PM s per wafer)."""
    down = busy = pm_cal = pm_wafer = 0.0
    if e.reliability is not None:
        mtbf, mttr = _mean(e.reliability.mtbf), _mean(e.reliability.mttr)
        if e.reliability.basis == "calendar":
            down = mttr / (mtbf + mttr) if mtbf + mttr > 0 else 1.0
        else:
            busy = mttr / mtbf if mtbf > 0 else math.inf
    for pm in e.pm:
        t = _mean(pm.duration) + _mean(pm.qualification)
        if pm.basis == "calendar":
            pm_cal += t / pm.interval
        else:
            pm_wafer += t / pm.interval
    return down, pm_cal, busy, pm_wafer


def _loads(spec: s.PlantSpec, rates: dict[str, float]) -> tuple[dict[str, _Acc], _Lookup]:
    look = _Lookup.of(spec)
    groups = look.groups
    acc: dict[str, _Acc] = {g: _Acc() for g in groups}
    routes = {r.id: r for r in spec.routes}
    for p in spec.products:
        rate = rates.get(p.id, 0.0)
        route = routes.get(p.route)
        if route is None or rate == 0:
            continue
        w = p.wafers_per_lot
        for v, st in zip(expected_visits(route), route.steps, strict=True):
            if v == 0:
                continue
            a = acc.setdefault(st.tool_group, _Acc())
            flow = rate * v
            a.visits += flow
            a.wafers += flow * w
            a.process += flow * tool_time_per_visit_s(spec, st, w, _look=look)
            a.process_min_batch += flow * tool_time_per_visit_s(
                spec, st, w, full_batches=False, _look=look
            )
            a.per_product[p.id] = a.per_product.get(p.id, 0.0) + v
            if st.setup is not None:
                a.setup_visits[st.setup] = a.setup_visits.get(st.setup, 0.0) + flow
    return acc, look


def _rows(spec: s.PlantSpec, rates: dict[str, float]) -> list[GroupLoad]:
    acc, look = _loads(spec, rates)
    groups = look.groups
    rows: list[GroupLoad] = []
    for gid, a in acc.items():
        tools = groups.get(gid, [])
        g = look.tool_group(gid)
        figures = [_tool_downtime(e) for e in tools]
        n = len(tools)
        down = sum(f[0] for f in figures) / n if n else 0.0
        pm_cal = sum(f[1] for f in figures) / n if n else 0.0
        busy = sum(f[2] for f in figures) / n if n else 0.0
        pm_wafer = sum(f[3] for f in figures) / n if n else 0.0
        available = sum(max(0.0, 1.0 - f[0] - f[1]) for f in figures)
        setup = _setup_load(g, a.setup_visits)
        usage_down = _times(a.process + setup, busy) + _times(a.wafers, pm_wafer)
        offered = a.process + setup + usage_down
        usage_down_min = _times(a.process_min_batch + setup, busy) + _times(a.wafers, pm_wafer)
        offered_min = a.process_min_batch + setup + usage_down_min
        rows.append(
            GroupLoad(
                group=gid,
                tools=n,
                lot_visits_per_s=a.visits,
                wafers_per_s=a.wafers,
                process_load=a.process,
                setup_load=setup,
                usage_down_load=usage_down,
                offered_load=offered,
                available_tools=available,
                availability=1.0 - down,
                pm_fraction=pm_cal,
                utilisation=_ratio(offered, available),
                utilisation_min_batch=_ratio(offered_min, available),
                mean_time_per_visit_s=_ratio(a.process + setup, a.visits),
                visits_per_product=dict(a.per_product),
            )
        )
    return rows


def _times(a: float, b: float) -> float:
    """``a * b`` where no work (either factor zero) costs nothing, even against infinity."""
    return 0.0 if a == 0 or b == 0 else a * b


def _ratio(load: float, capacity: float) -> float:
    if load == 0:
        return 0.0
    if math.isinf(load):
        return math.inf
    return load / capacity if capacity > 0 else math.inf


def release_rates(
    spec: s.PlantSpec, overrides: dict[str, float] | None = None
) -> dict[str, float]:
    """Return the lot release rate of every product (lots per second).

    ``overrides`` maps product ids to rates to use instead of the file's. CONWIP products get
    their best-case throughput, ``wip_lots`` / raw process time (Little's law), scaled down
    together so that no tool group is loaded beyond its capacity.
    """
    overrides = dict(overrides or {})
    rates: dict[str, float] = {}
    conwip: dict[str, float] = {}
    for p in spec.products:
        if p.id in overrides:
            rates[p.id] = float(overrides[p.id])
            continue
        r = release_rate_per_s(p)
        if r is not None:
            rates[p.id] = r
            continue
        try:
            rpt = raw_process_time_s(spec, p.id)
        except KeyError:
            rpt = 0.0
        wip = p.release.wip_lots or 0
        conwip[p.id] = wip / rpt if rpt > 0 else 0.0
    if not conwip:
        return rates
    fixed = {r.group: r for r in _rows(spec, rates)}
    full = _rows(spec, {**rates, **conwip})
    scale = 1.0
    for row in full:
        base = fixed[row.group].utilisation if row.group in fixed else 0.0
        extra = row.utilisation - base
        if extra > 0 and math.isfinite(extra):
            scale = min(scale, max(0.0, 1.0 - base) / extra)
    return {**rates, **{k: v * scale for k, v in conwip.items()}}


def capacity_table(
    spec: s.PlantSpec, rates_per_s: dict[str, float] | None = None
) -> list[GroupLoad]:
    """Return the load of every tool group at the plant's release rates.

    Parameters
    ----------
    spec
        A validated plant.
    rates_per_s
        Optional lot release rates (lots per second) by product id, replacing the file's.

    Returns
    -------
    list of GroupLoad
        One row per tool group, in the order the groups first appear in ``equipment``
        (then any group a route names but no tool belongs to), the most utilised one
        flagged ``is_bottleneck``.

    Examples
    --------
    >>> spec = load_plant("tests/data/mini_plant.yaml").spec    # doctest: +SKIP
    >>> [(r.group, round(r.utilisation, 3)) for r in capacity_table(spec)]  # doctest: +SKIP
    [('ETCH', 0.225), ('LITHO', 0.455)]
    """
    rows = _rows(spec, release_rates(spec, rates_per_s))
    top = bottleneck(rows)
    if top is None:
        return rows
    return [GroupLoad(**{**r.__dict__, "is_bottleneck": True}) if r is top else r for r in rows]


def bottleneck(rows: list[GroupLoad]) -> GroupLoad | None:
    """Return the row with the highest utilisation (None if nothing is loaded)."""
    loaded = [r for r in rows if r.offered_load > 0]
    if not loaded:
        return None
    return max(loaded, key=lambda r: (r.utilisation, r.offered_load))


def format_capacity_table(rows: list[GroupLoad]) -> str:
    """Return ``rows`` as a fixed-width text table (for the command line and reports)."""
    head = (
        f"{'group':<14} {'tools':>5} {'lots/day':>9} {'t/visit min':>11} {'load':>7} "
        f"{'avail':>6} {'cal PM':>6} {'util':>6} {'util@min':>8}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        mark = "  <- bottleneck" if r.is_bottleneck else ""
        lines.append(
            f"{r.group:<14} {r.tools:>5} {r.lots_per_day:>9.1f} "
            f"{r.mean_time_per_visit_s / 60:>11.1f} {r.offered_load:>7.2f} "
            f"{r.availability:>6.1%} {r.pm_fraction:>6.1%} {r.utilisation:>6.1%} "
            f"{r.utilisation_min_batch:>8.1%}{mark}"
        )
    return "\n".join(lines)
