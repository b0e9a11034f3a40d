"""The honest final selection of an optimisation study, and its report (no Qt).

The search ranks trials by a few replications each, and the best of many noisy estimates is
biased (the winner's curse). So the best candidates (the top ``k`` feasible trials for one
objective, the feasible Pareto set for several, thinned to ``k`` along the first objective)
and the base plant are simulated again with ``selection.replications`` replications on the
same common random numbers (the trials' replications are reused; only the new ones run),
and judged on those alone:

* **Feasible** only if the means over all replications meet every constraint.
* **Winner, lexicographically with significance.** For the first objective, the best mean
  is found and every other candidate whose paired difference to it is significantly worse
  (a Bonferroni-adjusted ``level`` over the comparisons made) drops out; the survivors go
  on to the next objective. One survivor is the winner; several are statistically tied and
  the report lists them (no winner is named). Cost is exact, so a cheaper tool set beats a
  dearer one outright and the simulation's noise decides only between equal costs.
* **Pairwise CIs**: every pair of finalists on every objective, and each finalist against
  the base (throughput and cycle time too), are in ``report.json`` and ``report.txt``.

The winner (tied candidates: each of them) is written as a scenario of the plant, checked
to apply first, with a note naming the study, the trial and its final objective values
(:mod:`factory_twin.app.optimise_take`). With ``beside_plant`` (``factory-twin optimise``)
it is saved beside the plant as an ordinary scenario that the Plan workspace lists, as
``<study>_winner.scenario.yaml`` (``<study>_tied_trial_<n>``) or, when that name is taken,
the next free ``_2``, ``_3``, ...: atomically and exclusively, never over a file (a re-run
reuses its own identical file); a plant folder that cannot be written gets it in the output
folder instead, and the report says so. Without it (a study run from the Plan workspace,
whose planner takes the winner into Plan by hand) it goes into the output folder as
``<study stem>_winner.scenario.yaml`` (``_tied_trial_<n>``); once the new report is written,
the winner and tied files an earlier selection left in the output folder go
(:func:`earlier_selection_files`), so the folder never offers two selections' results.
"""

from __future__ import annotations

import json
import logging
import math
import re
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from factory_twin.app.optimise import (
    OptimiseCancelled,
    Planner,
    ProgressCallback,
    TrialRecord,
    config_key,
    describe_params,
    evaluate,
    progress_of,
    records,
    trial_kpis,
)
from factory_twin.app.optimise_take import candidate_trial, plant_of, take_trial, trial_scenario
from factory_twin.errors import FactoryTwinError, SimulationError
from factory_twin.model.config import atomic_write_bytes, atomic_write_text
from factory_twin.model.study import COST, StudyFile, StudySpec, study_stem
from factory_twin.sim.stats import Interval, paired_difference, t_interval

logger = logging.getLogger(__name__)

REPORT_KPIS = ("throughput_lots_per_day", "cycle_time_mean_h", "x_factor", "wip_lots")


@dataclass
class Candidate:
    """A finalist (or the base) with its final replications."""

    name: str
    trial: int | None
    params: dict[str, Any]
    kpis: dict[str, list[float]]
    cost: float
    values: list[float] = field(default_factory=list)
    constraints: list[float] = field(default_factory=list)
    feasible: bool = False
    scenario_file: Path | None = None

    def series(self, spec: StudySpec, i: int) -> list[float]:
        """Objective ``i`` per replication (cost: the same figure each time)."""
        k = spec.objectives[i].kpi
        n = len(next(iter(self.kpis.values()), []))
        return [self.cost] * n if k == COST else list(self.kpis.get(k, []))

    def interval(self, spec: StudySpec, kpi: str) -> Interval:
        """The t interval of ``kpi`` (or cost) over the replications."""
        if kpi == COST:
            return Interval(self.cost, 0.0, len(next(iter(self.kpis.values()), [])), 0.0)
        return t_interval(self.kpis.get(kpi, []), spec.selection.level)


@dataclass
class Selection:
    """What the final comparison found."""

    winner: Candidate | None
    tied: list[Candidate]
    finalists: list[Candidate]
    base: Candidate | None
    message: str
    files: dict[str, Path] = field(default_factory=dict)
    saved: list[str] = field(default_factory=list)
    """Where each scenario file went, in words (``The winner saved beside the plant as ...``)."""


def _finalists(recs: list[TrialRecord], spec: StudySpec) -> list[TrialRecord]:
    seen: set[str] = set()
    ok = []
    for r in recs:
        if r.state != "complete" or not r.feasible or not r.values:
            continue
        key = config_key(r.params)
        if key not in seen:
            seen.add(key)
            ok.append(r)
    signs = [o.sign for o in spec.objectives]

    def score(r: TrialRecord) -> tuple[float, ...]:
        return tuple(sg * v for sg, v in zip(signs, r.values or [], strict=False))

    k = spec.selection.top_k
    if len(signs) == 1:
        return sorted(ok, key=score)[:k]
    front = [r for r in ok if not any(_dominates(score(o), score(r)) for o in ok if o is not r)]
    front.sort(key=score)
    if len(front) <= k:
        return front
    idx = sorted({round(i * (len(front) - 1) / (k - 1)) for i in range(k)}) if k > 1 else [0]
    return [front[i] for i in idx]


def _dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(x <= y for x, y in zip(a, b, strict=True)) and any(
        x < y for x, y in zip(a, b, strict=True)
    )


def pareto_numbers(recs: list[TrialRecord], spec: StudySpec) -> list[int]:
    """Trial numbers on the feasible Pareto front of the complete trials."""
    signs = [o.sign for o in spec.objectives]
    ok = [r for r in recs if r.state == "complete" and r.feasible and r.values]
    sc = {
        r.number: tuple(sg * v for sg, v in zip(signs, r.values or [], strict=False)) for r in ok
    }
    return [n for n in sc if not any(_dominates(sc[m], sc[n]) for m in sc if m != n)]


def _resimulate(
    sf: StudyFile, planner: Planner, ex: Any, items: list[Candidate], cancel: threading.Event,
    progress: ProgressCallback | None, ost: Any, t0: float,
) -> None:  # fmt: skip
    spec = sf.spec
    n = spec.selection.replications
    futures: dict[Any, tuple[Candidate, int]] = {}
    shared: dict[int, Any] = {}
    for c in items:
        have = len(next(iter(c.kpis.values()), []))
        if have >= n:
            continue
        plant = planner.plant(c.params)
        ref = ex.share(plant)
        shared[id(c)] = ref
        for r in range(have, n):
            f = ex.submit(trial_kpis, ref, spec.horizon_days, spec.warmup_days, spec.seed, r)
            futures[f] = (c, r)
    results: dict[int, dict[int, dict[str, float]]] = {}
    total = len(futures)
    while futures:
        if cancel.is_set():
            ex.stop()
            msg = "the study was cancelled during the final selection; its trials are kept"
            raise OptimiseCancelled(msg)
        ready = [f for f in futures if f.done()]
        if not ready:
            cancel.wait(0.02)
            continue
        for f in ready:
            c, r = futures.pop(f)
            try:
                results.setdefault(id(c), {})[r] = f.result()
            except FactoryTwinError:
                raise
            except Exception as exc:
                msg = f"final replication {r} of {c.name} failed: {type(exc).__name__}: {exc}"
                raise SimulationError(msg) from exc
        if progress is not None:
            p = progress_of(ost, spec, "selection", 0, time.perf_counter() - t0)
            progress(type(p)(**{**p.__dict__, "done": total - len(futures), "total": total}))
    for c in items:
        new = results.get(id(c), {})
        for r in sorted(new):
            for k in set(c.kpis) | set(new[r]):
                c.kpis.setdefault(k, [math.nan] * r).append(new[r].get(k, math.nan))


def select(sf: StudyFile, ost: Any, planner: Planner, ex: Any, progress: ProgressCallback | None,
           cancel: threading.Event, t0: float) -> Selection:  # fmt: skip
    """Re-simulate the finalists and the base, judge them (see the module docstring)."""
    spec = sf.spec
    recs = records(ost)
    final = _finalists(recs, spec)
    by_key = {config_key(r.params): r for r in reversed(recs) if r.state == "complete"}
    cands = [Candidate(f"trial {r.number}", r.number, dict(r.params),
                       {k: list(v) for k, v in r.kpis.items()}, r.cost) for r in final]  # fmt: skip
    base: Candidate | None = None
    bp = planner.base_params()
    if bp is not None:
        prior = by_key.get(config_key(bp))
        same = next((c for c in cands if prior is not None and c.trial == prior.number), None)
        if same is not None:
            base = same
        elif prior is not None:
            base = Candidate(f"base (trial {prior.number})", prior.number, dict(bp),
                             {k: list(v) for k, v in prior.kpis.items()}, prior.cost)  # fmt: skip
        else:
            base = Candidate("base", None, dict(bp), {}, planner.cost(bp))
    items = cands + ([base] if base is not None and base not in cands else [])
    _resimulate(sf, planner, ex, items, cancel, progress, ost, t0)
    for c in items:
        c.values, c.constraints, c.feasible = evaluate(
            spec, planner.plant(c.params), c.kpis, c.cost
        )
    if base is not None and base in cands:
        base.name = f"{base.name} (the base)"
    alive = [c for c in cands if c.feasible]
    if not cands:
        msg = "no trial met the constraints: no configuration to recommend"
        return Selection(None, [], [], base, msg)
    if not alive:
        msg = ("none of the finalists meets the constraints on the final replications "
               "(they met them on the search's few): no configuration to recommend")  # fmt: skip
        return Selection(None, [], cands, base, msg)
    level = spec.selection.level
    for i, o in enumerate(spec.objectives):
        if len(alive) == 1:
            break
        best = min(alive, key=lambda c: o.sign * _mean(c.series(spec, i)))
        fam = 1.0 - (1.0 - level) / max(1, len(alive) - 1)
        keep = [best]
        for c in alive:
            if c is best:
                continue
            d = paired_difference(best.series(spec, i), c.series(spec, i), fam)
            worse = d.low > 0 if o.sign > 0 else d.high < 0
            if not (worse and math.isfinite(d.half_width)):
                keep.append(c)
        alive = keep
    if len(alive) == 1:
        w = alive[0]
        msg = f"{w.name} is the winner: {describe_params(w.params)}"
        return Selection(w, [], cands, base, msg)
    names = ", ".join(c.name for c in alive)
    msg = (f"no winner: {names} are statistically tied on every objective "
           f"({spec.selection.replications} replications, {level:.0%} family confidence)")  # fmt: skip
    return Selection(None, alive, cands, base, msg)


def _mean(xs: list[float]) -> float:
    v = [x for x in xs if math.isfinite(x)]
    return sum(v) / len(v) if v else math.nan


# --------------------------------------------------------------------------- files


def _iv(iv: Interval) -> dict[str, Any]:
    d = iv.as_dict()
    return {k: (v if not isinstance(v, float) or math.isfinite(v) else None) for k, v in d.items()}


def report_data(sf: StudyFile, sel: Selection, recs: list[TrialRecord], wall_s: float) -> dict[str, Any]:  # fmt: skip
    """Everything the report says, as JSON-ready data."""
    spec = sf.spec
    level = spec.selection.level
    kpis = [o.kpi for o in spec.objectives] + [k for k in REPORT_KPIS if k not in [o.kpi for o in spec.objectives]]  # fmt: skip

    def cand(c: Candidate) -> dict[str, Any]:
        return {
            "name": c.name, "trial": c.trial, "params": c.params, "cost": c.cost,
            "feasible": c.feasible, "constraints": c.constraints,
            "replications": len(next(iter(c.kpis.values()), [])),
            "kpis": {k: _iv(c.interval(spec, k)) for k in kpis},
            "scenario_file": None if c.scenario_file is None else str(c.scenario_file),
        }  # fmt: skip

    pairs = []
    fin = sel.finalists
    for i, o in enumerate(spec.objectives):
        for a in range(len(fin)):
            for b in range(a + 1, len(fin)):
                d = paired_difference(fin[a].series(spec, i), fin[b].series(spec, i), level)
                pairs.append({"objective": o.kpi, "a": fin[a].name, "b": fin[b].name,
                              "b_minus_a": _iv(d)})  # fmt: skip
    vs_base = []
    if sel.base is not None:
        for c in fin:
            if c is sel.base:
                continue
            for k in kpis:
                if k == COST:
                    d = Interval(c.cost - sel.base.cost, 0.0, 0, 0.0)
                else:
                    d = paired_difference(sel.base.kpis.get(k, []), c.kpis.get(k, []), level)
                vs_base.append({"candidate": c.name, "kpi": k, "minus_base": _iv(d),
                                "significant": bool(math.isfinite(d.half_width) and not d.spans_zero())})  # fmt: skip
    return {
        "study": sf.name, "study_file": str(sf.path), "base": str(sf.base.path),
        "objectives": [o.label for o in spec.objectives],
        "constraints": spec.constraints.model_dump(), "seed": spec.seed,
        "trial_replications": spec.replications, "final_replications": spec.selection.replications,
        "level": level,
        "trials": {
            "total": len(recs), "complete": sum(r.state == "complete" for r in recs),
            "pruned": sum(r.state == "pruned" for r in recs),
            "failed": sum(r.state == "fail" for r in recs),
            "feasible": sum(r.state == "complete" and r.feasible for r in recs),
        },
        "pruned_trials": [{"trial": r.number, "params": r.params, "reason": r.note}
                          for r in recs if r.state == "pruned"],
        "message": sel.message,
        "winner": None if sel.winner is None else cand(sel.winner),
        "tied": [cand(c) for c in sel.tied],
        "finalists": [cand(c) for c in fin],
        "base_candidate": None if sel.base is None else cand(sel.base),
        "pairwise": pairs, "against_base": vs_base, "saved": list(sel.saved),
        "wall_s": wall_s, "written_utc": datetime.now(UTC).isoformat(timespec="seconds"),
    }  # fmt: skip


def report_text(data: dict[str, Any]) -> str:
    """The report in words (what ``factory-twin optimise`` prints)."""
    t = data["trials"]
    lines = [
        f"study {data['study']}: {', '.join(data['objectives'])}",
        f"trials: {t['total']} ({t['complete']} simulated, {t['pruned']} pruned by capacity, "
        f"{t['failed']} failed), {t['feasible']} feasible; {data['trial_replications']} "
        f"replications each, {data['final_replications']} for the finalists",
        "",
        data["message"],
        "",
        f"finalists ({data['level']:.0%} CIs over {data['final_replications']} replications):",
    ]
    for c in data["finalists"] + ([data["base_candidate"]] if data["base_candidate"] and data["base_candidate"]["name"] not in {f["name"] for f in data["finalists"]} else []):  # fmt: skip
        flag = "" if c["feasible"] else "  (infeasible)"
        lines.append(f"  {c['name']}: {describe_params(c['params'])}{flag}")
        for k, iv in c["kpis"].items():
            hw = "" if not iv["half_width"] else f" ± {iv['half_width']:.3g}"
            mean = iv["mean"] if iv["mean"] is not None else math.nan
            lines.append(f"      {k:<26} {mean:.5g}{hw}")
    if data["against_base"]:
        lines += ["", "against the base (paired differences, candidate minus base):"]
        for row in data["against_base"]:
            iv = row["minus_base"]
            mean = iv["mean"] if iv["mean"] is not None else math.nan
            hw = f" ± {iv['half_width']:.3g}" if iv["half_width"] else ""
            sig = "significant" if row["significant"] else "not significant"
            lines.append(f"  {row['candidate']:<12} {row['kpi']:<26} {mean:+.5g}{hw}  {sig}")
    if data.get("saved"):
        lines += ["", *data["saved"]]
    elif data["winner"] and data["winner"]["scenario_file"]:
        lines += ["", f"winner written as {data['winner']['scenario_file']}"]
    return "\n".join(lines) + "\n"


def pareto_png(sf: StudyFile, recs: list[TrialRecord], sel: Selection, path: Path) -> None:
    """The trials in objective space (two objectives) or by trial (one), the front, the pick."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    spec = sf.spec
    fig = Figure(figsize=(9.5, 5.0), dpi=110)
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    done = [r for r in recs if r.state == "complete" and r.values]
    feas = [r for r in done if r.feasible]
    infeas = [r for r in done if not r.feasible]
    scale = 1e6 if spec.objectives[0].kpi == COST else 1.0

    def xy(r: TrialRecord) -> tuple[float, float]:
        v = r.values or [math.nan, math.nan]
        return (v[0] / scale, v[1]) if len(spec.objectives) > 1 else (r.number, v[0] / scale)

    if infeas:
        ax.scatter(*zip(*[xy(r) for r in infeas], strict=True), marker="x", color="#c05050",
                   label="trial: misses a constraint", alpha=0.7)  # fmt: skip
    if feas:
        ax.scatter(*zip(*[xy(r) for r in feas], strict=True), color="#4a78b0", alpha=0.8,
                   label="trial: feasible")  # fmt: skip
    if len(spec.objectives) > 1:
        front = sorted(xy(r) for r in feas if r.number in set(pareto_numbers(recs, spec)))
        if front:
            ax.plot(*zip(*front, strict=True), color="#4a78b0", lw=1.2, label="Pareto front")
    for i, c in enumerate(sel.finalists):
        p = _cand_xy(spec, c, scale)
        ax.scatter([p[0]], [p[1]], s=140, facecolors="none", edgecolors="#333333", lw=1.2,
                   label="finalist (final replications)" if i == 0 else None)  # fmt: skip
    if sel.base is not None:
        p = _cand_xy(spec, sel.base, scale)
        ax.scatter([p[0]], [p[1]], marker="s", s=90, color="#888888", label="base plant (final)")
    for i, c in enumerate(sel.tied):
        p = _cand_xy(spec, c, scale)
        ax.scatter([p[0]], [p[1]], marker="D", s=90, color="#e0a020",
                   label="statistically tied" if i == 0 else None)  # fmt: skip
    if sel.winner is not None:
        p = _cand_xy(spec, sel.winner, scale)
        ax.scatter([p[0]], [p[1]], marker="*", s=320, color="#20a040", label="winner (final)",
                   zorder=5)  # fmt: skip
    unit = " (millions)" if scale != 1 else ""
    if len(spec.objectives) > 1:
        ax.set_xlabel(spec.objectives[0].label + unit)
        ax.set_ylabel(spec.objectives[1].label)
    else:
        ax.set_xlabel("trial")
        ax.set_ylabel(spec.objectives[0].label + unit)
    ax.set_title(f"{sf.name}: {len(done)} simulated trials", fontsize=10)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside: no point hidden
    fig.tight_layout()
    import io

    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    atomic_write_bytes(path, buf.getvalue())


def _cand_xy(spec: StudySpec, c: Candidate, scale: float) -> tuple[float, float]:
    if len(spec.objectives) > 1:
        return (c.values[0] / scale, c.values[1])
    return (float(c.trial if c.trial is not None else -1), c.values[0] / scale)


def select_and_report(sf: StudyFile, out: Path, ost: Any, planner: Planner, ex: Any,
                      progress: ProgressCallback | None, cancel: threading.Event,
                      t0: float, *, beside_plant: bool = False) -> Selection:  # fmt: skip
    """Run :func:`select`, write the scenario file(s) (see the module docstring) and the report."""
    sel = select(sf, ost, planner, ex, progress, cancel, t0)
    if sel.winner is not None:
        sel.files["winner"] = _save(sf, out, planner, sel, sel.winner, beside_plant, winner=True)
    for c in sel.tied:
        sel.files[c.name] = _save(sf, out, planner, sel, c, beside_plant, tied=True)
    recs = records(ost)
    data = report_data(sf, sel, recs, time.perf_counter() - t0)
    atomic_write_text(out / "report.json", json.dumps(data, indent=1, default=str))
    atomic_write_text(out / "report.txt", report_text(data))
    pareto_png(sf, recs, sel, out / "pareto.png")
    sel.files.update({"report": out / "report.txt", "json": out / "report.json",
                      "plot": out / "pareto.png"})  # fmt: skip
    for path in earlier_selection_files(sf, out, sel.files.values()):
        path.unlink(missing_ok=True)
        logger.info("removed %s: the earlier selection's, not this one's", path)
    return sel


def earlier_selection_files(sf: StudyFile, out: Path, kept: Iterable[Path]) -> list[Path]:
    """The winner and tied scenario files in ``out`` that an earlier selection wrote.

    A resumed study may pick another winner, or tie where it named one: the earlier
    selection's files would stay beside the new report. Trials taken by hand
    (``<study>_trial_<n>``) are not a selection's and stay, and so does every file when
    ``out`` is the plant's own folder (its scenarios are Plan's, never removed).
    """
    if out.resolve() == plant_of(sf).resolve().parent:
        return []
    stem = re.escape(study_stem(sf.path))
    own = re.compile(rf"^{stem}_(winner|tied_trial_\d+)\.scenario\.yaml$")
    keep = {Path(p).resolve() for p in kept}
    return sorted(
        p for p in out.iterdir() if own.match(p.name) and p.is_file() and p.resolve() not in keep
    )


def _save(sf: StudyFile, out: Path, planner: Planner, sel: Selection, c: Candidate,
          beside_plant: bool, *, winner: bool = False, tied: bool = False) -> Path:  # fmt: skip
    """Write candidate ``c``'s scenario (beside the plant or into ``out``); return its path."""
    rec = candidate_trial(c)
    if rec is None:  # the base alone has no trial number: it has no scenario to write
        msg = f"{c.name} has no trial to write as a scenario"
        raise SimulationError(msg)
    what = "The winner" if winner else f"Tied {c.name}"
    if beside_plant:
        taken = take_trial(sf, out, rec, planner, winner=winner, tied=tied)
        path = taken.path
        done = "saved" if taken.written else "is already"
        said = f"{what} {done} beside the plant as {path} (the Plan workspace lists it)"
        sel.saved.append(said if taken.beside_plant else taken.message(what))
    else:
        path = trial_scenario(sf, out, rec, planner, winner=winner, tied=tied)
        sel.saved.append(f"{what} written as {path}")
    c.scenario_file = path
    return path
