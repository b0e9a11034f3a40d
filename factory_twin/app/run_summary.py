"""The report of a ``simulate`` or ``compare`` run's ``--out`` folder, from its summary.json.

``factory-twin report DIR -o R.html`` on such a folder (no ``experiment.json``) writes what
``summary.json`` holds: whether the run is complete or partial and why (a replication that
failed and its error, or Ctrl-C), the options, the KPIs with their 95 % intervals over the
finished replications, a comparison's paired differences, and the bottleneck. The charts of
an experiment's report need tables a ``simulate`` run does not write, so there are none.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from factory_twin.app.experiment_report import MAIN_KPIS, Section, ci_text, write_document
from factory_twin.errors import ConfigError

SUMMARY = "summary.json"


@dataclass
class RunSummary:
    """A ``simulate`` or ``compare`` run's ``summary.json``.

    Attributes
    ----------
    path
        The run's folder.
    data
        The summary as written.
    """

    path: Path
    data: dict[str, Any]

    @property
    def scenarios(self) -> list[dict[str, Any]]:
        """One entry per scenario (a ``simulate`` run has one): name, partial, results, run."""
        found = self.data.get("scenarios")
        return list(found) if isinstance(found, list) else [self.data]

    @property
    def is_comparison(self) -> bool:
        """True for a ``compare`` run."""
        return "scenarios" in self.data

    @property
    def partial(self) -> dict[str, Any] | None:
        """``{"reason", "message"[, "earlier_results"]}`` of a run that stopped early, or None."""
        p = self.data.get("partial")
        if isinstance(p, dict):
            return p
        if "partial" not in self.data and any(  # written before summaries had "partial"
            sc["results"].get("interrupted") for sc in self.scenarios
        ):
            return {"reason": "interrupted", "message": "interrupted (Ctrl-C)"}
        return None

    @property
    def title(self) -> str:
        """The report's title."""
        names = [str(sc.get("scenario", "?")) for sc in self.scenarios]
        kind = "Comparison report" if self.is_comparison else "Simulation report"
        return f"{kind}: {' vs '.join(names)}" + (" (PARTIAL)" if self.partial else "")


def is_run_folder(path: str | Path) -> bool:
    """True if ``path`` holds a ``simulate`` or ``compare`` summary and no experiment."""
    p = Path(path)
    return (p / SUMMARY).is_file() and not (p / "experiment.json").exists()


def load_run_summary(path: str | Path) -> RunSummary:
    """Read ``path/summary.json`` (ConfigError naming the file if it is not a run summary)."""
    file = Path(path) / SUMMARY
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError, RecursionError) as exc:
        raise ConfigError([f"{file}: cannot read: {exc}"]) from None
    ok = isinstance(data, dict) and (
        isinstance(data.get("results"), dict) or isinstance(data.get("scenarios"), list)
    )
    summary = RunSummary(Path(path), data) if ok else None
    if summary is None or not all(
        isinstance(sc, dict) and isinstance(sc.get("results"), dict) for sc in summary.scenarios
    ):
        msg = f"{file}: not the summary of a simulate or compare run (no 'results')"
        raise ConfigError([msg])
    return summary


def _kpis(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    k = results.get("kpis")
    return {n: v for n, v in k.items() if isinstance(v, dict)} if isinstance(k, dict) else {}


def _num(v: Any) -> float:
    return float(v) if isinstance(v, (int, float)) else math.nan


def _kpi_names(summary: RunSummary) -> list[str]:
    have = _kpis(summary.scenarios[0].get("results", {}))
    names = [k for k, _ in MAIN_KPIS if k in have]
    for k, _ in MAIN_KPIS[:3]:
        names += sorted(x for x in have if x.startswith(k + "/"))
    return names + sorted(x for x in have if x.startswith("utilisation/"))


def _ci(iv: dict[str, Any] | None) -> str:
    return "-" if iv is None else ci_text(_num(iv.get("mean")), _num(iv.get("half_width")))


def build_run_report(summary: RunSummary) -> list[Section]:
    """The report's content, format-neutral: status first, then options, KPIs, differences."""
    scs = summary.scenarios
    status = Section("Status")
    partial = summary.partial
    if partial is not None:
        status.paragraphs.append(f"PARTIAL RESULTS: {partial.get('message', '')}.")
        status.paragraphs.append(
            "Only the finished replications are summarised: every interval below is over "
            "them alone, and the run should be repeated once the cause is fixed."
        )
        if partial.get("earlier_results"):
            status.paragraphs.append(
                f"The earlier run's results are kept in {partial['earlier_results']}."
            )
    else:
        status.paragraphs.append("Complete: every requested replication finished.")
    failed = [
        {"scenario": sc.get("scenario"), "replication": f.get("replication"), "error": f.get("error")}
        for sc in scs for f in sc["results"].get("failed") or [] if isinstance(f, dict)
    ]  # fmt: skip
    if failed:
        status.tables.append(("Failed replications", pd.DataFrame(failed)))
    rows = []
    for sc in scs:
        res, opts = sc["results"], sc["results"].get("options") or {}
        warm = opts.get("warmup_days")
        rows.append({
            "scenario": sc.get("scenario"),
            "replications": res.get("replications"),
            "requested": res.get("replications_requested", "-"),
            "days": opts.get("days"),
            "warm-up (days)": "auto (MSER-5)" if warm is None else warm,
            "seed": opts.get("seed"),
            "rule": opts.get("rule") or "each group's own",
            "status": (sc.get("partial") or {}).get("message", "complete"),
        })  # fmt: skip
    scen = Section("Scenarios and options")
    scen.tables.append(("Replications finished and options", pd.DataFrame(rows)))
    names = _kpi_names(summary)
    table = []
    for k in names:
        row: dict[str, Any] = {"KPI": k}
        for sc in scs:
            iv = _kpis(sc["results"]).get(k)
            row[str(sc.get("scenario"))] = _ci(iv)
            row[f"n {sc.get('scenario')}"] = "-" if iv is None else iv.get("n")
        table.append(row)
    kp = Section("KPIs (mean ± 95% CI half-width over the finished replications)")
    kp.tables.append(("KPIs per scenario", pd.DataFrame(table)))
    sections = [status, scen, kp]
    diffs = summary.data.get("differences")
    if summary.is_comparison and isinstance(diffs, dict):
        d = Section("Differences against the baseline (paired, common random numbers)")
        drows = [
            {"KPI": k, "scenario": e.get("scenario"), "difference": _ci(e.get("difference")),
             "verdict": e.get("verdict")}
            for k in names for e in diffs.get(k) or [] if isinstance(e, dict)
        ]  # fmt: skip
        d.tables.append(("scenario - baseline, 95% CI", pd.DataFrame(drows)))
        sections.append(d)
    bn = Section("Bottleneck")
    for sc in scs:
        b = sc["results"].get("bottleneck")
        text = (
            "none named" if not isinstance(b, dict) else f"{b.get('group')} ({b.get('evidence')})"
        )
        bn.paragraphs.append(f"{sc.get('scenario')}: {text}.")
    run = scs[0].get("run") or {}
    rep = Section("Reproduce")
    plant = f"; plant {run['plant']}" if run.get("plant") else ""
    rep.paragraphs.append(
        f"factory_twin {run.get('factory_twin', '?')} on {run.get('host', '?')}, finished "
        f"{run.get('finished_utc', '?')}{plant}. Replication r draws every random stream "
        "from Streams(seed, r): the same plant files and options repeat it."
    )
    return [*sections, bn, rep]


def write_run_report(summary: RunSummary, path: str | Path) -> Path:
    """Write the report of a run's summary to ``path`` (``.html`` or ``.pdf``), atomically."""
    return write_document(summary.title, build_run_report(summary), path)
