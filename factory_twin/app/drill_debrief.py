"""The drill debrief (no Qt): per trainee timeline, response times against limits, points,
wrong actions, pass/fail; a self-contained HTML and a PDF report; the trainee history in
local SQLite, exportable as CSV.

Everything is computed from a :class:`~factory_twin.app.drill_log.DrillLog` and the drill
(scores by :func:`factory_twin.model.drill_scoring.score_all`), so a debrief can be made
again at any time from the recorded run.

One trainee's part of it is a :class:`TraineeDebrief` (their score and timeline); the drill
server keeps each trainee's as JSON text (:func:`debrief_texts`) and hands it only to that
trainee (the Drill object's ``GetDebrief`` method, with the token their ``Join`` returned);
the trainee's app reads it back with :func:`own_debrief`.
"""

from __future__ import annotations

import csv
import html
import io
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from factory_twin.app.drill_log import DrillLog
from factory_twin.errors import FactoryTwinError
from factory_twin.model import schema as s
from factory_twin.model.config import atomic_write_bytes, atomic_write_text
from factory_twin.model.drill_scoring import (
    ActionRecord,
    ResponseRow,
    TraineeScore,
    WrongAction,
    safety_steps,
    score_all,
)


@dataclass(frozen=True, slots=True)
class TimelineRow:
    """One line of a trainee's timeline (drill seconds)."""

    time_s: float
    kind: str  # injection | alarm | ack | action | wrong
    text: str
    points: float = 0.0


def debrief_scores(log: DrillLog, drill: s.Drill, spec: s.PlantSpec) -> dict[str, TraineeScore]:
    """Final scores of every trainee of the run (unanswered responses are missed)."""
    return score_all(
        drill, log.injections, log.actions, trainees=log.trainees, steps=safety_steps(spec)
    )


def timeline(log: DrillLog, score: TraineeScore) -> list[TimelineRow]:
    """The trainee's timeline: injections, alarms raised, their actions, wrong actions."""
    rows = [
        TimelineRow(i.time_s, "injection", f"{i.fault} {i.equipment}: {i.detail}")
        for i in log.injections
    ]
    seen: set[str] = set()
    for a in log.alarms:
        if a.active and not a.acked and a.alarm_id not in seen:
            seen.add(a.alarm_id)
            rows.append(TimelineRow(a.time_s, "alarm", a.message or a.alarm_id))
    for act in score.actions:
        what = " ".join(x for x in (act.equipment, act.alarm, act.procedure, act.lot) if x)
        step = f" step {act.step}" if act.step else ""
        note = f' "{act.comment}"' if act.comment else ""
        kind = "ack" if act.action == "acknowledge_alarm" else "action"
        refused = "" if act.accepted else " (refused)"
        rows.append(TimelineRow(act.time_s, kind, f"{act.action} {what}{step}{note}{refused}"))
    rows += [TimelineRow(w.time_s, "wrong", w.reason, -w.penalty) for w in score.wrong]
    order = {"injection": 0, "alarm": 1, "ack": 2, "action": 3, "wrong": 4}
    return sorted(rows, key=lambda r: (r.time_s, order[r.kind]))


@dataclass(frozen=True, slots=True)
class TraineeDebrief:
    """What the debrief shows for one trainee: their score (verdict, responses against their
    limits, wrong actions) and their timeline."""

    score: TraineeScore
    timeline: tuple[TimelineRow, ...]

    def to_dict(self) -> dict[str, Any]:
        """Return the debrief as plain JSON-able data (read back by :meth:`from_dict`)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TraineeDebrief:
        """Rebuild a debrief from :meth:`to_dict`'s data (TypeError/KeyError if it is not)."""
        sc = dict(data["score"])
        score = TraineeScore(
            **{
                **sc,
                "rows": tuple(ResponseRow(**r) for r in sc["rows"]),
                "wrong": tuple(WrongAction(**w) for w in sc["wrong"]),
                "actions": tuple(ActionRecord(**a) for a in sc.get("actions", ())),
            }
        )
        return cls(score, tuple(TimelineRow(**r) for r in data["timeline"]))


def trainee_debrief(log: DrillLog, score: TraineeScore) -> TraineeDebrief:
    """One trainee's debrief: ``score`` and their :func:`timeline` in ``log``."""
    return TraineeDebrief(score, tuple(timeline(log, score)))


def debrief_texts(log: DrillLog, scores: Mapping[str, TraineeScore]) -> dict[str, str]:
    """Every trainee's debrief as its own JSON text: ``{trainee: TraineeDebrief.to_dict()
    as JSON}`` (the drill server gives each text to its trainee only)."""
    return {
        n: json.dumps(trainee_debrief(log, sc).to_dict(), sort_keys=True)
        for n, sc in scores.items()
    }


def own_debrief(text: str | None) -> TraineeDebrief | None:
    """The debrief in one of :func:`debrief_texts`' texts (None for no text or a bad one).

    Examples
    --------
    >>> log = DrillLog("fab", "d", 0.0, 0.0, trainees=["ann"])
    >>> sc = TraineeScore("ann", (), (), 0.0, 0.0, 0.0, 80.0)
    >>> own_debrief(debrief_texts(log, {"ann": sc})["ann"]).score == sc
    True
    >>> own_debrief("") is None
    True
    """
    try:
        data = json.loads(text) if text else None
        return None if not data else TraineeDebrief.from_dict(data)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def _t(v: float | None) -> str:
    if v is None:
        return "-"
    m, sec = divmod(round(v), 60)
    return f"{m}:{sec:02d}"


_CSS = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
h1{font-size:1.5em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;margin:.6em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}
th{background:#f0f0f0}.pass{color:#17752d;font-weight:bold}.fail{color:#b00020;font-weight:bold}
.late,.missed,.wrong{color:#b00020}.ontime{color:#17752d}.banner{background:#ffd54f;padding:.4em;font-weight:bold}
"""


def _table_head(*columns: str) -> str:
    """Open a table: its header row in ``<thead>``, then ``<tbody>`` for the rows."""
    head = "".join(f"<th>{html.escape(c)}</th>" for c in columns)
    return f"<table><thead><tr>{head}</tr></thead><tbody>"


def render_html(log: DrillLog, drill: s.Drill, spec: s.PlantSpec) -> str:
    """The debrief as one self-contained HTML page (no scripts, no external resources)."""
    e = html.escape
    scores = debrief_scores(log, drill, spec)
    out = [
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">',
        f"<title>Debrief: {e(drill.name)}</title><style>{_CSS}</style></head><body>",
        '<div class="banner">DRILL — simulated plant</div>',
        f"<h1>Debrief: {e(drill.name)}</h1>",
        f"<p>Plant {e(log.plant)}; drill <code>{e(drill.id)}</code>; "
        f"length {_t(log.end_s)}; pass mark {drill.pass_mark_pct:g} %.</p>",
    ]
    if drill.objectives:
        out.append("<h2>Learning objectives</h2><ul>")
        out += [f"<li>{e(o)}</li>" for o in drill.objectives]
        out.append("</ul>")
    out.append("<h2>Summary</h2>")
    out.append(_table_head("Trainee", "Points", "%", "Wrong actions", "Result"))
    for n, sc in scores.items():
        res = '<span class="pass">PASS</span>' if sc.passed else '<span class="fail">FAIL</span>'
        out.append(
            f"<tr><td>{e(n)}</td><td>{sc.score:g} / {sc.max_points:g}</td>"
            f"<td>{sc.percent:.0f}</td><td>{len(sc.wrong)}</td><td>{res}</td></tr>"
        )
    out.append("</tbody></table>")
    if not scores:
        out.append("<p>No trainee took part.</p>")
    for n, sc in scores.items():
        out.append(f"<h2>{e(n)}</h2><h3>Responses</h3>")
        out.append(
            _table_head("Expected", "Equipment", "Response time", "Limit", "Points", "Status")
        )
        for r in sc.rows:
            cls = r.status.replace(" ", "")
            target = f" ({e(r.target)})" if r.target else ""
            out.append(
                f"<tr><td>{e(r.action)}{target}</td><td>{e(r.equipment)}</td>"
                f"<td>{_t(r.response_s)}</td><td>{_t(r.limit_s)}</td>"
                f"<td>{r.points:g} / {r.points_possible:g}</td>"
                f'<td class="{e(cls)}">{e(r.status)}</td></tr>'
            )
        out.append("</tbody></table><h3>Timeline</h3>")
        out.append(_table_head("Time", "What", "Event"))
        for row in timeline(log, sc):
            pts = f" ({row.points:g} points)" if row.points else ""
            out.append(
                f'<tr class="{e(row.kind)}"><td>{_t(row.time_s)}</td><td>{e(row.kind)}</td>'
                f"<td>{e(row.text)}{pts}</td></tr>"
            )
        out.append("</tbody></table>")
    out.append("</body></html>")
    return "\n".join(out)


def write_html(path: str | Path, log: DrillLog, drill: s.Drill, spec: s.PlantSpec) -> Path:
    """Write the HTML debrief atomically; return the path."""
    p = Path(path)
    atomic_write_text(p, render_html(log, drill, spec))
    return p


def build_pdf(log: DrillLog, drill: s.Drill, spec: s.PlantSpec) -> bytes:
    """The debrief as a PDF (A4; a summary, then each trainee's responses and timeline)."""
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

    st = getSampleStyleSheet()
    e = html.escape
    grid = TableStyle(
        [
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
            ("FONTSIZE", (0, 0), (-1, -1), 8),
        ]
    )
    scores = debrief_scores(log, drill, spec)
    story: list[object] = [
        Paragraph("DRILL — simulated plant", st["Heading4"]),
        Paragraph(f"Debrief: {e(drill.name)}", st["Title"]),
        Paragraph(
            f"Plant {e(log.plant)}, drill {e(drill.id)}, pass mark {drill.pass_mark_pct:g} %",
            st["Normal"],
        ),
        Spacer(1, 8),
    ]
    rows = [["Trainee", "Points", "%", "Wrong", "Result"]]
    rows += [
        [n, f"{sc.score:g} / {sc.max_points:g}", f"{sc.percent:.0f}", str(len(sc.wrong)),
         "PASS" if sc.passed else "FAIL"]
        for n, sc in scores.items()
    ]  # fmt: skip
    story += [Table(rows, style=grid), Spacer(1, 10)]
    for n, sc in scores.items():
        story.append(Paragraph(e(n), st["Heading2"]))
        resp = [["Expected", "Equipment", "Time", "Limit", "Points", "Status"]]
        resp += [
            [f"{r.action} {r.target}".strip(), r.equipment, _t(r.response_s), _t(r.limit_s),
             f"{r.points:g} / {r.points_possible:g}", r.status]
            for r in sc.rows
        ]  # fmt: skip
        story += [Table(resp, style=grid), Spacer(1, 6)]
        tl = [["Time", "What", "Event"]]
        tl += [
            [_t(r.time_s), r.kind, Paragraph(e(r.text[:160]), st["BodyText"])]
            for r in timeline(log, sc)
        ]
        story += [Table(tl, style=grid, colWidths=[40, 55, 400]), Spacer(1, 10)]
    buf = io.BytesIO()
    SimpleDocTemplate(buf, pagesize=A4, title=f"Debrief {drill.name}").build(story)
    return buf.getvalue()


def write_pdf(path: str | Path, log: DrillLog, drill: s.Drill, spec: s.PlantSpec) -> Path:
    """Write the PDF debrief atomically; return the path."""
    p = Path(path)
    atomic_write_bytes(p, build_pdf(log, drill, spec))
    return p


# --------------------------------------------------------------------------- history

_COLUMNS = ("trainee", "drill_id", "plant", "started_at", "score", "max_points", "percent",
            "passed", "wrong_actions", "log")  # fmt: skip


class TraineeHistory:
    """Per-drill results of every trainee, in a local SQLite file (``:memory:`` for tests)."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        try:
            self.db = sqlite3.connect(str(path))
            self.db.execute(
                "CREATE TABLE IF NOT EXISTS results (trainee TEXT, drill_id TEXT, plant TEXT, "
                "started_at REAL, score REAL, max_points REAL, percent REAL, passed INTEGER, "
                "wrong_actions INTEGER, log TEXT, UNIQUE(trainee, drill_id, started_at))"
            )
            self.db.commit()
        except sqlite3.Error as exc:
            msg = f"cannot open the trainee history {path}: {exc}"
            raise FactoryTwinError(msg) from None

    def add(
        self, log: DrillLog, scores: dict[str, TraineeScore], log_path: str | Path = ""
    ) -> int:
        """Store the results of one run (again: replaced); return the rows stored."""
        rows = [
            (n, log.drill_id, log.plant, log.started_at, sc.score, sc.max_points,
             round(sc.percent, 2), int(sc.passed), len(sc.wrong), str(log_path))
            for n, sc in scores.items()
        ]  # fmt: skip
        with self.db:
            self.db.executemany(
                f"INSERT OR REPLACE INTO results ({', '.join(_COLUMNS)}) "
                f"VALUES ({', '.join('?' * len(_COLUMNS))})",
                rows,
            )
        return len(rows)

    def rows(self, trainee: str | None = None) -> list[dict[str, object]]:
        """Results (of one trainee, or everyone), oldest first."""
        sql = f"SELECT {', '.join(_COLUMNS)} FROM results"
        args: tuple[str, ...] = ()
        if trainee is not None:
            sql += " WHERE trainee = ?"
            args = (trainee,)
        cur = self.db.execute(sql + " ORDER BY started_at, trainee", args)
        return [dict(zip(_COLUMNS, r, strict=True)) for r in cur.fetchall()]

    def export_csv(self, path: str | Path, trainee: str | None = None) -> Path:
        """Write the results as CSV (atomically); return the path."""
        buf = io.StringIO()
        w = csv.DictWriter(buf, fieldnames=list(_COLUMNS))
        w.writeheader()
        w.writerows(self.rows(trainee))
        p = Path(path)
        atomic_write_text(p, buf.getvalue())
        return p

    def close(self) -> None:
        """Close the database."""
        self.db.close()


def trainees_in(history: TraineeHistory) -> Iterable[str]:
    """The trainees with results, sorted."""
    return sorted({str(r["trainee"]) for r in history.rows()})
