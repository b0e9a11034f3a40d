"""The alarm performance report as one self-contained HTML page with an inline SVG chart.

No external file, script or font: the page can be mailed or archived as it is. The chart is
SVG written here (no plotting library needed): the alarms per 10 minutes as bars, flood
intervals shaded red and marked by a strip along the plot's top, and the ISA-18.2 lines
(flood threshold 10 per 10 minutes, "maximum manageable" 2 and "very likely acceptable" 1
per 10 minutes, i.e. 12 and 6 per hour). Every mark is at least 3:1 against the white page.
"""

from __future__ import annotations

import datetime as _dt
import html
import math
from pathlib import Path

import numpy as np
import pandas as pd

from factory_twin.app.alarm_report import (
    ACCEPTABLE_PER_10MIN,
    MANAGEABLE_PER_10MIN,
    NO_DATA,
    OK,
    OVER,
    AlarmReport,
)
from factory_twin.model.config import atomic_write_text

MAX_TABLE_ROWS = 500
"""Rows of a table shown in the page; the CSV export has them all."""
MAX_BARS = 720
"""More 10-minute intervals than this are drawn as the peak of groups of intervals."""


def format_time(t: float) -> str:
    """Return a journal time as text: epoch seconds as UTC, plant seconds as ``Nd hh:mm``.

    Examples
    --------
    >>> format_time(90061.0)
    '1d 01:01:01'
    >>> format_time(1_700_000_000.0)
    '2023-11-14 22:13 UTC'
    """
    if not math.isfinite(t):
        return ""
    if t > 1e9:
        return _dt.datetime.fromtimestamp(t, tz=_dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    d, rem = divmod(int(max(0.0, t)), 86400)
    h, rem = divmod(rem, 3600)
    m, sec = divmod(rem, 60)
    return f"{d}d {h:02d}:{m:02d}:{sec:02d}"


def chart_series(counts: np.ndarray, max_bars: int = MAX_BARS) -> tuple[np.ndarray, int]:
    """Return the values to draw and how many intervals each covers (peak of each group)."""
    n = len(counts)
    if n <= max_bars:
        return counts.astype(float), 1
    group = math.ceil(n / max_bars)
    pad = (-n) % group
    padded = np.concatenate([counts.astype(float), np.zeros(pad)])
    return padded.reshape(-1, group).max(axis=1), group


CHART_COLOURS = {
    "bar": "#2471a3",  # an interval's alarms
    "bar_over": "#c0392b",  # more than the flood threshold
    "flood_line": "#c0392b",
    "manageable_line": "#b85c00",
    "acceptable_line": "#1e8449",
    "flood_mark": "#a93226",  # the strip above a flood interval
    "frame": "#767676",
    "text": "#333333",
    "muted": "#555555",
}
"""The chart's marks: each at least 3:1 (WCAG contrast ratio) against the white page and
against the flood shading, so nothing pale vanishes when the report is printed or read."""
AREA_COLOURS = {"plot": "#fafafa", "flood": "#f8d5d1"}
"""The areas behind the marks (the plot, a flood interval's shading): pale on purpose; a
flood is also marked by a strip in ``CHART_COLOURS["flood_mark"]``."""
FLOOD_MARK_PX = 4


def render_svg(report: AlarmReport, position: str, width: int = 900, height: int = 300) -> str:
    """Return an SVG chart of the alarms per 10 minutes of one operator position.

    The unit caption stands above the plot and the lines' legend below it, so no text
    can cover a bar, however early a flood starts.
    """
    c = CHART_COLOURS
    b = report.bins[report.bins["position"] == position]
    values, group = chart_series(b["alarms"].to_numpy())
    flood_src = b["flood"].to_numpy()
    flood = chart_series(flood_src.astype(float))[0] > 0 if len(flood_src) else flood_src
    thr = report.settings.flood_threshold
    left, right, top, bottom = 48, 12, 24, 56
    pw, ph = width - left - right, height - top - bottom
    ymax = max(float(values.max()) if len(values) else 0.0, thr + 2.0) * 1.1
    n = max(len(values), 1)
    bw = pw / n

    def y(v: float) -> float:
        return top + ph - ph * v / ymax

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="alarms per 10 minutes">',
        f'<rect class="plot" x="{left}" y="{top}" width="{pw}" height="{ph}" '
        f'fill="{AREA_COLOURS["plot"]}" stroke="{c["frame"]}"/>',
    ]
    for i, v in enumerate(values):
        x = left + i * bw
        if flood[i]:
            out.append(
                f'<rect class="flood" x="{x:.2f}" y="{top}" width="{bw:.2f}" height="{ph}" '
                f'fill="{AREA_COLOURS["flood"]}"/>'
            )
            out.append(
                f'<rect class="flood-mark" x="{x:.2f}" y="{top}" width="{max(bw, 1.0):.2f}" '
                f'height="{FLOOD_MARK_PX}" fill="{c["flood_mark"]}"/>'
            )
        if v > 0:
            colour = c["bar_over"] if v > thr else c["bar"]
            # the tallest bar ends 1/11 of the plot below its top (ymax): clear of the strip
            out.append(
                f'<rect class="bar" x="{x:.2f}" y="{y(v):.2f}" width="{max(bw * 0.9, 0.5):.2f}" '
                f'height="{top + ph - y(v):.2f}" fill="{colour}"/>'
            )
    # the lines are named in a legend below the chart: a label on the line could hide a bar
    legend_x = float(left)
    ly = height - 10
    for value, colour, label in (
        (float(thr), c["flood_line"], f"flood: more than {thr} / 10 min"),
        (MANAGEABLE_PER_10MIN, c["manageable_line"], "max manageable: 12 / h"),
        (ACCEPTABLE_PER_10MIN, c["acceptable_line"], "acceptable: 6 / h"),
    ):
        out.append(
            f'<line class="target" x1="{left}" x2="{left + pw}" y1="{y(value):.2f}" '
            f'y2="{y(value):.2f}" stroke="{colour}" stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
        out.append(
            f'<line x1="{legend_x:.0f}" x2="{legend_x + 24:.0f}" y1="{ly - 4}" y2="{ly - 4}" '
            f'stroke="{colour}" stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
        out.append(
            f'<text class="legend" x="{legend_x + 30:.0f}" y="{ly}" font-size="11" '
            f'fill="{c["text"]}">{html.escape(label)}</text>'
        )
        legend_x += 36 + 6.5 * len(label)
    out.append(
        f'<rect class="flood-swatch" x="{legend_x:.0f}" y="{height - 20}" width="24" '
        f'height="12" fill="{AREA_COLOURS["flood"]}"/>'
        f'<rect class="flood-mark" x="{legend_x:.0f}" y="{height - 20}" width="24" '
        f'height="{FLOOD_MARK_PX}" fill="{c["flood_mark"]}"/>'
        f'<text class="legend" x="{legend_x + 30:.0f}" y="{ly}" font-size="11" '
        f'fill="{c["text"]}">flood interval</text>'
    )
    step = max(1, math.ceil(ymax / 6))
    for v in range(0, int(ymax) + 1, step):
        out.append(
            f'<text class="tick" x="{left - 6}" y="{y(v) + 4:.2f}" text-anchor="end" '
            f'font-size="11" fill="{c["text"]}">{v}</text>'
        )
    starts = b["bin_start_s"].to_numpy()
    if len(starts):
        ticks = np.linspace(0, len(values) - 1, num=min(5, len(values))).round().astype(int)
        for j, k in enumerate(ticks):
            x = left + (k + 0.5) * bw
            # the first and last labels align to the plot's edges, so neither is cut off
            anchor = "start" if j == 0 else "end" if j == len(ticks) - 1 else "middle"
            x = left if anchor == "start" else left + pw if anchor == "end" else x
            label = html.escape(format_time(float(starts[k * group])))
            out.append(
                f'<text class="tick" x="{x:.2f}" y="{top + ph + 16}" text-anchor="{anchor}" '
                f'font-size="11" fill="{c["text"]}">{label}</text>'
            )
    unit = "alarms per 10 min" + (f" (peak of each {group} intervals)" if group > 1 else "")
    out.append(
        f'<text class="caption" x="{left}" y="{top - 8}" font-size="11" '
        f'fill="{c["muted"]}">{html.escape(unit)}</text>'
    )
    out.append("</svg>")
    return "\n".join(out)


def header_text(col: str) -> str:
    """Return a column name as a header: ``active_since_s`` -> ``active since``."""
    return col.removesuffix("_s").replace("_", " ")


def format_cell(col: str, v: object) -> str:
    """Return a table value as text: times readable, shares in %, floats short."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return ""
    if isinstance(v, bool | np.bool_):
        return "yes" if v else "no"
    if col.endswith("_s") and isinstance(v, int | float | np.integer | np.floating):
        return format_time(float(v))
    if "share" in col and isinstance(v, float | np.floating):
        return f"{100 * float(v):.1f} %"
    if isinstance(v, float | np.floating):
        return f"{float(v):.3g}" if abs(float(v)) < 1000 else f"{float(v):.0f}"
    return str(v)


_VERDICT_CLASS = {OK: "ok", OVER: "over", NO_DATA: "nodata"}


def _table(df: pd.DataFrame, caption: str, empty: str) -> str:
    parts = [f"<h2>{html.escape(caption)}</h2>"]
    if df.empty:
        parts.append(f'<p class="empty">{html.escape(empty)}</p>')
        return "\n".join(parts)
    more = len(df) - MAX_TABLE_ROWS
    if more > 0:
        df = df.head(MAX_TABLE_ROWS)
    head = "".join(f"<th>{html.escape(header_text(str(c)))}</th>" for c in df.columns)
    parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>")
    for row in df.itertuples(index=False):
        cells = []
        for col, v in zip(df.columns, row, strict=True):
            text = format_cell(str(col), v)
            cls = _VERDICT_CLASS.get(text, "manageable") if str(col).startswith("verdict") else ""
            attr = f' class="{cls}"' if cls and text else ""
            cells.append(f"<td{attr}>{html.escape(text)}</td>")
        parts.append(f"<tr>{''.join(cells)}</tr>")
    parts.append("</tbody></table>")
    if more > 0:
        parts.append(f'<p class="empty">{more} more rows in the CSV export.</p>')
    return "\n".join(parts)


_CSS = """
body { font-family: sans-serif; margin: 2em; color: #222; }
table { border-collapse: collapse; margin-bottom: 1em; }
th, td { border: 1px solid #bbb; padding: 3px 8px; text-align: left; font-size: 13px; }
th { background: #eee; }
td.ok { background: #d5f5e3; } td.over { background: #f5b7b1; }
td.manageable { background: #fdebd0; } td.nodata { color: #6b6b6b; }
p.empty { color: #555; font-style: italic; }
"""


def render_html(report: AlarmReport, title: str = "Alarm performance report") -> str:
    """Return the report as one self-contained HTML page."""
    s = report.settings
    period = f"{format_time(report.start_s)} to {format_time(report.end_s)}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>Period: {html.escape(period)}; {report.alarms} alarms from "
        f"{report.transitions} journal transitions. Targets: ANSI/ISA-18.2-2016 and EEMUA 191, "
        "per operator position.</p>",
        _table(report.summary, "Summary", "no data"),
        _table(report.rates, "Alarm rate per operator position", "no data"),
    ]
    for pos in report.positions:
        parts.append(f"<h2>Alarms per 10 minutes: {html.escape(pos)}</h2>")
        parts.append(f"<figure>{render_svg(report, pos)}</figure>")
    parts += [
        _table(
            report.floods,
            f"Flood periods (more than {s.flood_threshold} alarms in 10 minutes)",
            "No alarm flood in this period.",
        ),
        _table(report.bad_actors, f"Top {s.top_n} bad actors", "No alarm in this period."),
        _table(
            report.chattering,
            f"Chattering alarms ({s.chatter_count} or more activations within "
            f"{s.chatter_window_s:g} s)",
            "No chattering alarm.",
        ),
        _table(
            report.stale,
            f"Stale alarms (active longer than {s.stale_after_s / 3600:g} h)",
            "No stale alarm.",
        ),
        _table(
            report.priorities,
            "Priority distribution (target ~80 % low, ~15 % medium, ~5 % high, < 1 % critical)",
            "no data",
        ),
        "</body></html>",
    ]
    return "\n".join(parts) + "\n"


def write_html(
    report: AlarmReport, path: str | Path, title: str = "Alarm performance report"
) -> Path:
    """Write :func:`render_html` to ``path`` atomically; return the path."""
    atomic_write_text(path, render_html(report, title))
    return Path(path)
