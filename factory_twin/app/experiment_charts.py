"""Charts of an experiment's results as PNG images (matplotlib's Agg canvas, no GUI).

Used by the HTML and PDF reports. Every chart aggregates over the replications (the mean
per time bin, the CI per KPI), so its cost does not grow with the plant's size beyond the
groups it shows.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import pandas as pd

from factory_twin.app.experiment_result import ExperimentResult
from factory_twin.model.colours import edge_colour
from factory_twin.model.events import E10_COLOURS

TABLEAU_10 = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
    "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
)  # fmt: skip
"""The Tableau 10 palette (matplotlib's ``tab10``), in its order."""
SCENARIO_COLOURS: dict[bool, tuple[str, ...]] = {
    # dark theme (plot background #1a1d22): blue, red, purple and brown lightened to >= 4:1
    True: (
        "#2283c5", "#ff7f0e", "#2ca02c", "#dd4445", "#976bbf",
        "#aa6d60", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf",
    ),
    # light theme and the reports (white): orange, pink, olive and cyan darkened to >= 3.2:1
    False: (
        "#1f77b4", "#e46b00", "#2ca02c", "#d62728", "#9467bd",
        "#8c564b", "#de5eb7", "#7f7f7f", "#91921a", "#139caa",
    ),
}  # fmt: skip
"""The colour of each scenario of a comparison, in turn, per theme (True: dark): Tableau 10,
each at least 3:1 (WCAG contrast ratio) against that theme's plot background. The reports'
charts, on white, take the light theme's."""
COLOURS = list(SCENARIO_COLOURS[False])
TOP_GROUPS = 12


def _figure(width_in: float = 8.0, height_in: float = 3.4) -> Any:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width_in, height_in), dpi=110)
    FigureCanvasAgg(fig)
    return fig


def _png(fig: Any) -> bytes:
    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png")
    return buf.getvalue()


def top_groups(res: ExperimentResult, n: int = TOP_GROUPS) -> list[str]:
    """The ``n`` tool groups busiest in the base scenario (mean utilisation)."""
    s = res.summary()
    u = s[(s["scenario"] == res.base.name) & s["kpi"].str.startswith("utilisation/")]
    u = u.sort_values("mean", ascending=False).head(n)
    return [k.split("/", 1)[1] for k in u["kpi"]]


def time_chart(res: ExperimentResult, name: str, ylabel: str) -> bytes:
    """Mean over the replications of a series per scenario, the warm-up shaded."""
    df = res.series(name)
    fig = _figure()
    ax = fig.add_subplot(1, 1, 1)
    for i, sc in enumerate(res.scenarios):
        d = df[df["scenario"] == sc.name].groupby("time_d")["value"].mean()
        c = COLOURS[i % len(COLOURS)]
        ax.plot(d.index, d.to_numpy(), color=c, lw=1.3, label=sc.name)
        if sc.warmup_s > 0:
            ax.axvspan(0, sc.warmup_s / 86400.0, color=c, alpha=0.08, lw=0)
    ax.set_xlabel("time (days); shaded: warm-up, deleted from the KPIs")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def cycle_time_ecdf(res: ExperimentResult) -> bytes:
    """The distribution of cycle times per product (ECDF), scenarios overlaid."""
    ct = res.cycle_times()
    products = sorted(ct["product"].unique())[:4] or [""]
    fig = _figure(8.0, 3.0 if len(products) <= 2 else 5.4)
    cols = min(2, len(products))
    rows = int(np.ceil(len(products) / cols))
    for j, prod in enumerate(products):
        ax = fig.add_subplot(rows, cols, j + 1)
        for i, sc in enumerate(res.scenarios):
            v = np.sort(
                ct[(ct["scenario"] == sc.name) & (ct["product"] == prod)][
                    "cycle_time_h"
                ].to_numpy()
            )
            if len(v):
                ax.step(v, np.arange(1, len(v) + 1) / len(v), where="post",
                        color=COLOURS[i % len(COLOURS)], lw=1.2, label=sc.name)  # fmt: skip
        ax.set_title(f"cycle time, {prod}", fontsize=9)
        ax.set_xlabel("hours", fontsize=8)
        ax.set_ylabel("share of lots", fontsize=8)
        ax.grid(alpha=0.3)
        if j == 0 and ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    return _png(fig)


def utilisation_chart(res: ExperimentResult, groups: list[str]) -> bytes:
    """Utilisation per tool group and scenario with 95 % CIs."""
    s = res.summary()
    fig = _figure()
    ax = fig.add_subplot(1, 1, 1)
    n = len(res.scenarios)
    x = np.arange(len(groups))
    w = 0.8 / max(n, 1)
    for i, sc in enumerate(res.scenarios):
        d = s[s["scenario"] == sc.name].set_index("kpi")
        keys = [f"utilisation/{g}" for g in groups]
        m = d["mean"].reindex(keys).to_numpy(dtype=float) * 100
        hw = d["half_width"].reindex(keys).to_numpy(dtype=float) * 100
        hw = np.where(np.isfinite(hw), hw, 0.0)
        ax.bar(x + (i - (n - 1) / 2) * w, m, w, yerr=hw, capsize=2,
               color=COLOURS[i % len(COLOURS)], label=sc.name)  # fmt: skip
    ax.set_xticks(x, groups, rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("productive time (%)")
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def e10_chart(res: ExperimentResult, groups: list[str]) -> bytes:
    """SEMI E10 state shares per tool group, one panel per scenario."""
    st = res.states()
    st = st[st["group"].isin(groups)]
    mean = st.groupby(["scenario", "group", "state"])["share"].mean()
    n = len(res.scenarios)
    fig = _figure(8.0, 2.6 * n)
    for i, sc in enumerate(res.scenarios):
        ax = fig.add_subplot(n, 1, i + 1)
        bottom = np.zeros(len(groups))
        for state, c in E10_COLOURS.items():  # the app's own: a report reads like the window
            v = np.array([mean.get((sc.name, g, state), 0.0) for g in groups]) * 100
            # a darker outline of each segment's hue: the pale ones read on the white page
            ax.bar(
                groups,
                v,
                bottom=bottom,
                color=c,
                edgecolor=edge_colour(c),
                linewidth=0.8,
                label=state if i == 0 else None,
            )
            bottom += v
        ax.set_title(sc.name, fontsize=9)
        ax.set_ylim(0, 100)
        ax.set_ylabel("% of time", fontsize=8)
        ax.tick_params(axis="x", labelrotation=45, labelsize=7)
        if i == 0:
            ax.legend(fontsize=6, ncols=3, loc="lower right")
    return _png(fig)


def queue_chart(res: ExperimentResult, groups: list[str]) -> bytes:
    """Queue length over time of the busiest groups, scenarios overlaid."""
    q = res.series("queue")
    q = q[q["group"].isin(groups)]
    fig = _figure(8.0, 4.8)
    for j, g in enumerate(groups):
        ax = fig.add_subplot(2, 2, j + 1)
        for i, sc in enumerate(res.scenarios):
            d = q[(q["scenario"] == sc.name) & (q["group"] == g)].groupby("time_d")["value"].mean()
            ax.plot(d.index, d.to_numpy(), color=COLOURS[i % len(COLOURS)], lw=1.0,
                    label=sc.name)  # fmt: skip
        ax.set_title(f"queue at {g} (lots)", fontsize=9)
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        if j == 0:
            ax.legend(fontsize=6)
    return _png(fig)


def difference_chart(diff: pd.DataFrame, kpis: list[str]) -> bytes:
    """Paired differences vs the base in % of the base mean, with their 95 % CIs."""
    d = diff[diff["kpi"].isin(kpis)].copy()
    fig = _figure(8.0, max(2.0, 0.32 * len(d) + 1.0))
    ax = fig.add_subplot(1, 1, 1)
    if not len(d):
        return _png(fig)
    base = d["base_mean"].abs().replace(0, np.nan)
    m = 100 * d["mean"] / base
    hw = (100 * d["half_width"] / base).where(np.isfinite(d["half_width"]), 0.0)
    colour = d["verdict"].map({"better": "#2a9d55", "worse": "#c0392b"}).fillna("#5b6672")
    y = np.arange(len(d))
    ax.hlines(y, m - hw, m + hw, colors=colour.tolist(), lw=1.5)
    ax.scatter(m, y, c=colour.tolist(), zorder=3)
    ax.axvline(0, color="#222", lw=0.8)
    ax.set_yticks(
        y, [f"{s}: {k}" for s, k in zip(d["scenario"], d["kpi"], strict=True)], fontsize=7
    )
    ax.invert_yaxis()
    ax.set_xlabel("change against the base (% of the base mean), 95% CI")
    ax.grid(axis="x", alpha=0.3)
    return _png(fig)
