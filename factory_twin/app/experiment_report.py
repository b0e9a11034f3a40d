"""The experiment report: HTML (one self-contained file) or PDF, from a result folder.

Both formats render the same content (:func:`build_report`): the scenarios and their
changes in words, the options, the KPI table with 95 % CIs and the replications behind
each, the paired differences against the base (better / worse / no significant difference),
charts (throughput and WIP over time with the warm-up shaded, cycle-time distributions,
utilisation and E10 states per tool group, queues over time, the differences), the static
capacity summary of every scenario, and the engine version and seeds that reproduce it.

The HTML page embeds its charts as PNG data URIs and its style inline: no script, no font,
no network. The PDF is drawn with reportlab (as the AR exporter's PDFs are).
"""

from __future__ import annotations

import base64
import html
import math
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from factory_twin.app.experiment_charts import (
    cycle_time_ecdf,
    difference_chart,
    e10_chart,
    queue_chart,
    time_chart,
    top_groups,
    utilisation_chart,
)
from factory_twin.app.experiment_result import ExperimentResult
from factory_twin.errors import ExportError
from factory_twin.model import schema as s
from factory_twin.model.capacity import bottleneck, capacity_table
from factory_twin.model.config import atomic_write_bytes, atomic_write_text
from factory_twin.model.flows import flow_table
from factory_twin.sim.report import number_text

MAIN_KPIS = [
    ("throughput_lots_per_day", "throughput (lots/day)"),
    ("throughput_wafers_per_day", "throughput (wafers/day)"),
    ("cycle_time_mean_h", "cycle time mean (h)"),
    ("cycle_time_p95_h", "cycle time p95 (h)"),
    ("x_factor", "X-factor"),
    ("wip_lots", "WIP (lots)"),
    ("moves_per_day", "moves/day"),
    ("qtime_violations_per_day", "queue-time violations/day"),
    ("scrapped_lots_per_day", "scrapped lots/day"),
    ("transport_mean_min", "transport per move (min)"),
    # the OHT fleet (amhs model 'oht'): listed when the scenarios run it
    ("amhs_vehicles", "OHT vehicles"),
    ("amhs_transport_mean_min", "OHT transport per move, mean (min)"),
    ("amhs_transport_p95_min", "OHT transport per move, p95 (min)"),
    ("amhs_wait_vehicle_mean_min", "wait for a vehicle (min)"),
    ("amhs_vehicle_utilisation", "vehicle utilisation"),
    ("amhs_empty_travel_share", "empty-travel share"),
    ("amhs_moves_per_h", "vehicle moves/h"),
    ("amhs_blocked_per_move_s", "blocked per move (s)"),
    ("amhs_deadlocks", "deadlocks resolved"),
]
FLOWS_NOTE = (
    "Transport flows: lot moves per day between tool groups from the routes and release "
    "rates, the distance of each move on the scenario's layout (to the nearest tool of the "
    "next group, the simulator's rule) and the transport time the simulator uses per move."
)


@dataclass
class Section:
    """One part of the report: paragraphs, tables and charts, in that order."""

    title: str
    paragraphs: list[str] = field(default_factory=list)
    tables: list[tuple[str, pd.DataFrame]] = field(default_factory=list)
    charts: list[tuple[str, bytes]] = field(default_factory=list)


def fmt(v: object) -> str:
    """A table value as short text.

    Examples
    --------
    >>> fmt(1234.5), fmt(0.12345), fmt(float("nan"))
    ('1,234', '0.123', '-')
    """
    return number_text(v) if isinstance(v, float) else str(v)


def _label(kpi: str) -> str:
    for k, label in MAIN_KPIS:
        if kpi == k:
            return label
        if kpi.startswith(k + "/"):
            return f"{label}, {kpi.split('/', 1)[1]}"
    return kpi


def ci_text(mean: float, hw: float) -> str:
    """``mean ± half-width`` as table text (the mean alone without a finite half-width)."""
    if not math.isfinite(hw):
        return fmt(mean)
    return f"{fmt(mean)} ± {fmt(hw)}"


def _kpi_list(res: ExperimentResult) -> list[str]:
    kp = set(res.base.kpis()["kpi"])
    out = [k for k, _ in MAIN_KPIS if k in kp]
    for k, _ in MAIN_KPIS[:3]:
        out += sorted(x for x in kp if x.startswith(k + "/"))
    out += [f"utilisation/{g}" for g in top_groups(res, 5)]
    return out


def build_report(res: ExperimentResult) -> list[Section]:
    """The report's content, format-neutral."""
    meta = res.meta
    spec = meta.get("spec", {})
    kpis = _kpi_list(res)
    summ = res.summary()
    diff = res.differences()
    intro = Section("Experiment")
    if meta.get("notes"):
        intro.paragraphs.append(str(meta["notes"]))
    warm = spec.get("warmup")
    intro.paragraphs.append(
        f"{len(res.scenarios)} scenarios, {fmt(float(spec.get('horizon_days', math.nan)))} "
        f"simulated days each; warm-up "
        + ("automatic (MSER-5 on the replications' average WIP, Welch)" if warm == "auto" else f"{warm} days")
        + f"; replications: {meta.get('replication_rule', '')}; seed {spec.get('seed')}"
        + ("; common random numbers" if spec.get("common_random_numbers", True) else "; independent streams")
        + (f"; dispatch rule {spec['rule']} for every group" if spec.get("rule") else "")
        + "."
    )  # fmt: skip
    scen = Section("Scenarios")
    for i, sc in enumerate(res.scenarios):
        n = len(sc.replications)
        head = f"{'Base' if i == 0 else 'Scenario'} {sc.name} ({Path(sc.meta.get('source', '')).name}): "
        head += f"{n} replications ({sc.meta.get('stop', 'fixed')}), warm-up {sc.warmup_s / 86400:.2f} days."
        scen.paragraphs.append(head)
        scen.paragraphs.extend(f"- {line}" for line in sc.description)
    scen.tables.append(("Replications and why they stopped", _counts_table(res)))
    k = Section("KPIs (mean ± 95% CI half-width)")
    k.tables.append(("KPIs per scenario", _kpi_table(summ, res, kpis)))
    d = Section("Differences against the base (paired, common random numbers)")
    if len(res.scenarios) > 1:
        d.tables.append(("scenario - base, 95% CI", _diff_table(diff, kpis)))
        d.charts.append(("Change against the base", difference_chart(diff, kpis)))
    else:
        d.paragraphs.append("Only one scenario: nothing to compare.")
    groups = top_groups(res)
    ch = Section("Charts")
    ch.charts += [
        ("Throughput over time (mean of the replications)", time_chart(res, "throughput", "lots/day")),
        ("WIP over time (mean of the replications)", time_chart(res, "wip", "lots")),
        ("Cycle-time distribution per product", cycle_time_ecdf(res)),
        ("Utilisation per tool group (busiest in the base)", utilisation_chart(res, groups)),
        ("SEMI E10 states per tool group", e10_chart(res, groups)),
        ("Queue length over time, the four busiest groups", queue_chart(res, groups[:4])),
    ]  # fmt: skip
    cap = Section("Capacity and flow summary (static, before simulation)")
    cap.paragraphs.append(
        "Rough-cut capacity of each scenario's plant at its release rates: the busy tools "
        "each group needs against the tools' time left after failures and PMs. The "
        "simulation above is the honest answer; this is the instant estimate."
    )
    cap.paragraphs.append(FLOWS_NOTE)
    plants = {
        sc.name: s.PlantSpec.model_validate_json((sc.folder / "plant.json").read_text("utf-8"))
        for sc in res.scenarios
    }
    for name, plant in plants.items():
        cap.tables.append((f"Capacity, {name}", _capacity_table(plant)))
    cap.tables.append(("Transport per day, every scenario", _flow_totals(plants)))
    for name, plant in plants.items():
        cap.tables.append((f"Largest flows, {name}", _flow_table(plant)))
    bn = res.bottlenecks()
    cap.tables.append(("Simulated bottleneck (group named most often)", bn))
    rep = Section("Reproduce")
    rep.paragraphs.append(
        f"Engine: factory_twin {meta.get('engine_version')}. Replication r of every scenario "
        "draws each random stream from Streams(seed, r); the seeds below with the same plant "
        "files and options give identical results on any executor."
    )
    rep.paragraphs.append(f"factory-twin experiment {meta.get('experiment_file', '')}")
    rep.tables.append(("Seeds and keys", pd.DataFrame(
        [{"scenario": sc.name, "seed": sc.meta.get("seed"), "replications": ", ".join(map(str, sc.replications)),
          "key": sc.key, "source": sc.meta.get("source")} for sc in res.scenarios]
    )))  # fmt: skip
    return [intro, scen, k, d, ch, cap, rep]


def _counts_table(res: ExperimentResult) -> pd.DataFrame:
    c = res.replication_counts()
    c["half_width_pct"] = [
        ", ".join(f"{k} {fmt(float(v)) if v is not None else '-'}%" for k, v in d.items()) or "-"
        for d in c["half_width_pct"]
    ]
    return c.rename(columns={"half_width_pct": "final half-width (% of mean)"})


def _kpi_table(summ: pd.DataFrame, res: ExperimentResult, kpis: list[str]) -> pd.DataFrame:
    rows = []
    for kpi in kpis:
        row: dict[str, object] = {"KPI": _label(kpi)}
        for sc in res.scenarios:
            r = summ[(summ["scenario"] == sc.name) & (summ["kpi"] == kpi)]
            row[sc.name] = (
                ci_text(float(r["mean"].iloc[0]), float(r["half_width"].iloc[0]))
                if len(r)
                else "-"
            )
            row[f"n {sc.name}"] = int(r["n"].iloc[0]) if len(r) else 0
        rows.append(row)
    return pd.DataFrame(rows)


def _diff_table(diff: pd.DataFrame, kpis: list[str]) -> pd.DataFrame:
    d = diff[diff["kpi"].isin(kpis)]
    return pd.DataFrame(
        {
            "scenario": d["scenario"],
            "KPI": d["kpi"].map(_label),
            "base": d["base_mean"].map(fmt),
            "difference": [ci_text(m, h) for m, h in zip(d["mean"], d["half_width"], strict=True)],
            "change %": d["change_pct"].map(fmt),
            "n": d["n"],
            "verdict": d["verdict"],
        }
    )


def _flow_totals(plants: dict[str, s.PlantSpec]) -> pd.DataFrame:
    rows = []
    for name, plant in plants.items():
        t = flow_table(plant)
        rows.append(
            {
                "scenario": name,
                "moves/day": fmt(t.total_moves_per_day),
                "transport distance (km/day)": fmt(t.total_distance_m_per_day / 1000.0),
                "transport time (h/day)": fmt(t.total_transport_s_per_day / 3600.0),
            }
        )
    return pd.DataFrame(rows)


def _flow_table(plant: s.PlantSpec, top: int = 10) -> pd.DataFrame:
    t = flow_table(plant)
    return pd.DataFrame(
        [
            {
                "from": f.src, "to": f.dst, "moves/day": fmt(f.moves_per_day),
                "distance per move (m)": fmt(f.distance_m),
                "time per move (s)": fmt(f.move_time_s),
            }
            for f in t.flows[:top]
        ],
        columns=["from", "to", "moves/day", "distance per move (m)", "time per move (s)"],
    )  # fmt: skip


def _capacity_table(plant: s.PlantSpec) -> pd.DataFrame:
    rows = capacity_table(plant)
    top = bottleneck(rows)
    rows = sorted(rows, key=lambda r: -r.utilisation)[:10]
    return pd.DataFrame(
        [
            {
                "group": r.group, "tools": r.tools, "lots/day": fmt(r.lots_per_day),
                "offered load (tools)": fmt(r.offered_load),
                "availability": f"{100 * r.availability:.1f}%",
                "utilisation": f"{100 * r.utilisation:.1f}%",
                "": "bottleneck" if top is not None and r.group == top.group else "",
            }
            for r in rows
        ]
    )  # fmt: skip


# --------------------------------------------------------------------------- HTML

_CSS = """
body { font-family: sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
table { border-collapse: collapse; margin-bottom: 1em; }
caption { text-align: left; font-weight: bold; padding: 4px 0; }
th, td { border: 1px solid #bbb; padding: 3px 8px; text-align: left; font-size: 13px; }
th { background: #eee; }
td.better { background: #d5f5e3; } td.worse { background: #f5b7b1; }
figure { margin: 1em 0; } figcaption { font-size: 13px; color: #444; }
img { max-width: 100%; }
"""


def render_html(res: ExperimentResult, sections: list[Section] | None = None) -> str:
    """The report as one self-contained HTML page."""
    sections = sections if sections is not None else build_report(res)
    return html_page(f"Experiment report: {res.name}", sections)


def html_page(title: str, sections: list[Section]) -> str:
    """``sections`` under ``title`` as one self-contained HTML page."""
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
    ]
    for sec in sections:
        parts.append(f"<h2>{html.escape(sec.title)}</h2>")
        parts += [f"<p>{html.escape(p)}</p>" for p in sec.paragraphs]
        for caption, df in sec.tables:
            parts.append(_html_table(caption, df))
        for caption, png in sec.charts:
            uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
            parts.append(
                f'<figure><img alt="{html.escape(caption)}" src="{uri}">'
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"
            )
    parts.append("</body></html>")
    return "\n".join(parts)


def _html_table(caption: str, df: pd.DataFrame) -> str:
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in df.columns)
    body = []
    for row in df.itertuples(index=False):
        cells = []
        for v in row:
            text = fmt(v)
            cls = f' class="{text}"' if text in ("better", "worse") else ""
            cells.append(f"<td{cls}>{html.escape(text)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f"<table><caption>{html.escape(caption)}</caption><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table>"
    )


# --------------------------------------------------------------------------- PDF


def _pdf_fonts() -> tuple[str, str]:
    """DejaVu Sans if installed (names in any script), else Helvetica (Latin-1 only)."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    folder = Path("/usr/share/fonts/truetype/dejavu")
    regular, bold = folder / "DejaVuSans.ttf", folder / "DejaVuSans-Bold.ttf"
    if "ft-report" in pdfmetrics.getRegisteredFontNames():
        return "ft-report", "ft-report-bold"
    if regular.is_file() and bold.is_file():
        try:
            pdfmetrics.registerFont(TTFont("ft-report", str(regular)))
            pdfmetrics.registerFont(TTFont("ft-report-bold", str(bold)))
        except Exception:  # a broken font file: the built-in font still works
            return "Helvetica", "Helvetica-Bold"
        return "ft-report", "ft-report-bold"
    return "Helvetica", "Helvetica-Bold"


def render_pdf(res: ExperimentResult, sections: list[Section] | None = None) -> bytes:
    """The report as a PDF (A4 landscape), drawn with reportlab."""
    sections = sections if sections is not None else build_report(res)
    return pdf_document(f"Experiment report: {res.name}", sections)


def pdf_document(title: str, sections: list[Section]) -> bytes:
    """``sections`` under ``title`` as a PDF (A4 landscape), drawn with reportlab."""
    import io

    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    font, bold = _pdf_fonts()
    styles = getSampleStyleSheet()
    for st in styles.byName.values():
        st.fontName = bold if "Heading" in st.name or st.name == "Title" else font
    buf = io.BytesIO()
    doc = SimpleDocTemplate(
        buf, pagesize=landscape(A4), leftMargin=1.5 * cm, rightMargin=1.5 * cm,
        topMargin=1.2 * cm, bottomMargin=1.2 * cm, title=title,
    )  # fmt: skip
    width = doc.width
    story: list[object] = [Paragraph(html.escape(title), styles["Title"])]
    small = styles["BodyText"].clone("small", fontSize=7, leading=8.5)
    for sec in sections:
        story.append(Paragraph(html.escape(sec.title), styles["Heading2"]))
        story += [Paragraph(html.escape(p), styles["BodyText"]) for p in sec.paragraphs]
        for caption, df in sec.tables:
            story.append(Paragraph(html.escape(caption), styles["Heading4"]))
            data = [[Paragraph(html.escape(str(c)), small) for c in df.columns]]
            data += [
                [Paragraph(html.escape(fmt(v)), small) for v in row]
                for row in df.itertuples(index=False)
            ]
            t = Table(data, repeatRows=1, hAlign="LEFT",
                      colWidths=[width / max(len(df.columns), 1)] * len(df.columns))  # fmt: skip
            t.setStyle(TableStyle([
                ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#bbbbbb")),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#eeeeee")),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]))  # fmt: skip
            story += [t, Spacer(1, 6)]
        for caption, png in sec.charts:
            img = Image(io.BytesIO(png))
            scale = min(width / img.imageWidth, (doc.height - 40) / img.imageHeight, 1.0)
            img.drawWidth, img.drawHeight = img.imageWidth * scale, img.imageHeight * scale
            story += [img, Paragraph(html.escape(caption), small), Spacer(1, 8)]
    doc.build(story)
    return buf.getvalue()


def write_report(res: ExperimentResult, path: str | Path) -> Path:
    """Write the experiment's report to ``path`` (as :func:`write_document` does)."""
    _check_suffix(Path(path))  # before the report is built
    return write_document(f"Experiment report: {res.name}", build_report(res), path)


def _check_suffix(p: Path) -> None:
    if p.suffix.lower() not in (".html", ".htm", ".pdf"):
        msg = f"{p}: the report is written as .html or .pdf, not {p.suffix or 'no suffix'!r}"
        raise ExportError(msg)


def write_document(title: str, sections: list[Section], path: str | Path) -> Path:
    """Write ``sections`` under ``title`` to ``path`` (``.html`` or ``.pdf``), atomically.

    Raises
    ------
    ExportError
        For any other suffix.
    """
    p = Path(path)
    _check_suffix(p)
    if p.suffix.lower() == ".pdf":
        atomic_write_bytes(p, pdf_document(title, sections))
    else:
        atomic_write_text(p, html_page(title, sections))
    return p
