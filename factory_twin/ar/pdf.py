"""Printable PDF checklist of a procedure (reportlab): a cover page, then one page per step.

Each step page has, at fixed places: a header naming the procedure, revision and step, a
QR code identifying plant / equipment / procedure / revision / step, a picture of the tool
from an angle that shows the step's component (highlighted), the instruction with the
safety notes in a red box, tools and parts, the acceptance value with a blank for the
measured value, sign-off boxes (technician and verifier: name, date, signature) and a
footer. Text that would not fit is shrunk, never spilled onto a second page, so the file
always has exactly ``1 + number of steps`` pages.

Pictures come from :mod:`factory_twin.ar.render` (numpy + Pillow, no display needed).
"""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

from PIL import Image

from .context import ExportContext, Progress, StepInfo, acceptance_text, drain, format_duration
from .render import HIGHLIGHT, Marker, render_tool

logger = logging.getLogger(__name__)

PICTURE_PX = (880, 500)
"""Size of the step pictures (about 120 dpi across the page)."""

COVER_PX = (880, 400)
"""Size of the cover's overview picture."""

_DARK = "#17324d"
_RED = "#b3261e"
_CAUTION = "#fff4d6"
_GREY = "#5b6672"
_LINE = "#c3cad3"

_FONT, _BOLD = "Helvetica", "Helvetica-Bold"
_SYMBOLS = {"box": "[  ]", "warn": "!"}  # upgraded to real glyphs when the font has them


def _fonts() -> tuple[str, str]:
    """Register a Unicode TrueType font (DejaVu if installed, else reportlab's Vera)."""
    global _FONT, _BOLD
    if _FONT != "Helvetica":
        return _FONT, _BOLD
    from reportlab import rl_config
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    candidates = [
        (
            "DejaVuSans",
            "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
            "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf",
        ),
    ]
    for folder in rl_config.TTFSearchPath:
        candidates.append(
            ("Vera", str(Path(folder) / "Vera.ttf"), str(Path(folder) / "VeraBd.ttf"))
        )
    for name, regular, bold in candidates:
        if Path(regular).is_file() and Path(bold).is_file():
            try:
                pdfmetrics.registerFont(TTFont(f"ft-{name}", regular))
                pdfmetrics.registerFont(TTFont(f"ft-{name}-Bold", bold))
            except Exception:  # a broken font file: try the next one
                logger.debug("cannot use font %s", regular, exc_info=True)
                continue
            _FONT, _BOLD = f"ft-{name}", f"ft-{name}-Bold"
            pdfmetrics.registerFontFamily(
                _FONT, normal=_FONT, bold=_BOLD, italic=_FONT, boldItalic=_BOLD
            )
            glyphs = pdfmetrics.getFont(_FONT).face.charToGlyph
            if 0x2610 in glyphs:
                _SYMBOLS["box"] = "\u2610"
            if 0x25B2 in glyphs:
                _SYMBOLS["warn"] = "\u25b2"
            break
    return _FONT, _BOLD


def _x(text: object) -> str:
    """Escape text for a reportlab Paragraph."""
    return escape(str(text))


class _Pages:
    """Draws the pages on one reportlab canvas."""

    def __init__(self, ctx: ExportContext) -> None:
        from reportlab.lib.pagesizes import A4
        from reportlab.lib.units import mm
        from reportlab.pdfgen import canvas

        self.ctx = ctx
        self.mm = mm
        self.width, self.height = A4
        self.font, self.bold = _fonts()
        self.buf = io.BytesIO()
        self.c = canvas.Canvas(self.buf, pagesize=A4, pageCompression=1)
        self.pages = 1 + len(ctx.steps)
        ident = ctx.identity()
        self.c.setTitle(f"{ctx.procedure.name} - {ctx.equipment.id} rev {ctx.revision}")
        self.c.setAuthor(ident["generator"])
        self.c.setCreator(ident["generator"])
        self.c.setSubject(ctx.identity_line())
        self.c.setKeywords(
            [ctx.plant_name, ctx.equipment.id, ctx.procedure.id, f"rev {ctx.revision}"]
        )
        self.styles = self._styles()

    def _styles(self) -> dict[str, object]:
        from reportlab.lib.colors import HexColor
        from reportlab.lib.styles import ParagraphStyle

        base = ParagraphStyle("base", fontName=self.font, fontSize=10.5, leading=14)
        return {
            "body": base,
            "small": ParagraphStyle("small", parent=base, fontSize=8.5, leading=11),
            "title": ParagraphStyle(
                "title", parent=base, fontName=self.bold, fontSize=17, leading=21
            ),
            "where": ParagraphStyle("where", parent=base, textColor=HexColor(_GREY), spaceAfter=4),
            "safety_head": ParagraphStyle(
                "sh", parent=base, fontName=self.bold, fontSize=11.5, textColor=HexColor(_RED)
            ),
            "safety": ParagraphStyle("s", parent=base, fontSize=10.5, leading=13.5, leftIndent=4),
            "cell": ParagraphStyle("cell", parent=base, fontSize=9.5, leading=12),
            "cellb": ParagraphStyle(
                "cellb", parent=base, fontName=self.bold, fontSize=9.5, leading=12
            ),
            "h2": ParagraphStyle(
                "h2",
                parent=base,
                fontName=self.bold,
                fontSize=12,
                leading=16,
                spaceBefore=4,
                spaceAfter=3,
            ),
        }

    # ------------------------------------------------------------------ furniture

    def header(self, right: str, qr_text: str) -> None:
        """Dark band: procedure name, identity lines, page role and the QR code."""
        c, mm = self.c, self.mm
        from reportlab.lib.colors import HexColor, white
        from reportlab.pdfbase.pdfmetrics import stringWidth

        band = 27 * mm
        c.setFillColor(HexColor(_DARK))
        c.rect(0, self.height - band, self.width, band, stroke=0, fill=1)
        c.setFillColor(white)
        text_right = self.width - 42 * mm  # the QR tile starts here
        c.setFont(self.bold, 13)
        c.drawRightString(text_right, self.height - 11 * mm, right)
        room = text_right - 15 * mm - stringWidth(right, self.bold, 13) - 6 * mm
        c.drawString(
            15 * mm, self.height - 11 * mm, _fit(c, self.ctx.procedure.name, self.bold, 13, room)
        )
        c.setFont(self.font, 8)
        ctx = self.ctx
        lines = (
            f"Plant {ctx.plant_name}  |  equipment {ctx.equipment.id} ({ctx.etype.id})",
            f"Procedure {ctx.procedure.id}  |  revision {ctx.revision}",
        )
        for k, line in enumerate(lines):
            c.drawString(
                15 * mm,
                self.height - (17 + 4.5 * k) * mm,
                _fit(c, line, self.font, 8, text_right - 15 * mm),
            )
        size = 23 * mm
        x, y = self.width - 15 * mm - size, self.height - band + 2 * mm
        c.setFillColor(white)
        c.rect(x - 1 * mm, y - 1 * mm, size + 2 * mm, size + 2 * mm, stroke=0, fill=1)
        _draw_qr(c, qr_text, x, y, size)

    def footer(self, page: int) -> None:
        c, mm = self.c, self.mm
        from reportlab.lib.colors import HexColor

        c.setStrokeColor(HexColor(_LINE))
        c.line(15 * mm, 14 * mm, self.width - 15 * mm, 14 * mm)
        c.setFillColor(HexColor(_GREY))
        c.setFont(self.font, 7.5)
        ident = self.ctx.identity()
        left = f"{self.ctx.stem} - {ident['generator']}"
        c.drawString(15 * mm, 10 * mm, _fit(c, left, self.font, 7.5, 110 * mm))
        c.drawRightString(
            self.width - 15 * mm,
            10 * mm,
            f"Page {page} of {self.pages} - printed copies are uncontrolled: check the revision",
        )

    def picture(self, img: Image.Image, x: float, y: float, w: float, h: float) -> None:
        from reportlab.lib.colors import HexColor
        from reportlab.lib.utils import ImageReader

        # JPEG passes through reportlab untouched (no slow re-encoding, a smaller file)
        buf = io.BytesIO()
        img.convert("RGB").save(buf, "JPEG", quality=90, subsampling=0)
        buf.seek(0)
        self.c.drawImage(ImageReader(buf), x, y, w, h)
        self.c.setStrokeColor(HexColor(_LINE))
        self.c.rect(x, y, w, h, stroke=1, fill=0)

    def flow(self, items: list[object], x: float, y: float, w: float, h: float) -> float:
        """Draw flowables at the top of a box, shrunk if they do not fit (never a new page).

        Returns the height used.
        """
        from reportlab.platypus import Frame, KeepInFrame

        frame = Frame(
            x,
            y,
            w,
            h,
            leftPadding=0,
            rightPadding=0,
            topPadding=0,
            bottomPadding=0,
            showBoundary=0,
        )
        box = KeepInFrame(w, h, items, mode="shrink")
        _, used = box.wrapOn(self.c, w, h)
        frame.addFromList([box], self.c)
        return float(min(used, h))

    # ------------------------------------------------------------------ pages

    def cover(self, draw: Callable[[tuple[int, int]], Image.Image]) -> None:
        """The cover; ``draw(size)`` renders the overview picture at the size it gets."""
        from reportlab.lib.colors import HexColor
        from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

        c, mm, ctx, st = self.c, self.mm, self.ctx, self.styles
        self.header("Cover", ctx.qr_payload())
        et = ctx.etype
        make = " ".join(x for x in (et.manufacturer, et.model) if x)
        rows = [
            ("Plant", ctx.plant_name + (f" ({ctx.plant_file})" if ctx.plant_file else "")),
            (
                "Equipment",
                f"{ctx.equipment.id} - type {et.id} ({et.kind.value}{', ' + make if make else ''})",
            ),
            (
                "Bay",
                ctx.equipment.bay + (f" - {ctx.bay.name}" if ctx.bay and ctx.bay.name else ""),
            ),
        ]
        if ctx.equipment.serial_number:
            rows.append(("Serial number", ctx.equipment.serial_number))
        if ctx.equipment.asset_id:
            rows.append(("Asset id", ctx.equipment.asset_id))
        rows += [
            ("Procedure", f"{ctx.procedure.id} - {ctx.procedure.name}"),
            ("Revision", ctx.revision),
            ("Steps", f"{len(ctx.steps)}, planned {format_duration(ctx.total_duration_s)}"),
        ]
        if ctx.procedure.alarm_codes:
            rows.append(("Fixes alarms", ", ".join(ctx.procedure.alarm_codes)))
        exported = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
        rows.append(("Exported", exported))
        info = Table(
            [[Paragraph(_x(k), st["cellb"]), Paragraph(_x(v), st["cell"])] for k, v in rows],
            colWidths=[32 * mm, 148 * mm],
        )
        info.setStyle(
            TableStyle(
                [
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.3, HexColor(_LINE)),
                    ("TOPPADDING", (0, 0), (-1, -1), 2),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ]
            )
        )
        top = self.height - 31 * mm
        c.setFont(self.bold, 20)
        c.setFillColor(HexColor("#1d252d"))
        c.drawString(15 * mm, top - 7 * mm, _fit(c, ctx.procedure.name, self.bold, 20, 180 * mm))
        info_top = top - 11 * mm
        used = self.flow([info], 15 * mm, info_top - 62 * mm, 180 * mm, 62 * mm)
        # a wide overview picture leaves the cover room for the step list
        pic_w = 180 * mm
        pic_top = info_top - used - 4 * mm

        steps = [[Paragraph(h, st["cellb"]) for h in ("#", "Step", "Component", "Time", "Safety")]]
        for s in ctx.steps:
            kinds = ", ".join(dict.fromkeys(n.kind.upper() for n in s.step.safety))
            steps.append(
                [
                    Paragraph(str(s.number), st["cell"]),
                    Paragraph(_x(s.step.title), st["cell"]),
                    Paragraph(_x(s.component.name), st["cell"]),
                    Paragraph(_x(format_duration(s.step.duration_s)), st["cell"]),
                    Paragraph(f'<font color="{_RED}">{_x(kinds)}</font>', st["cell"]),
                ]
            )
        table = Table(steps, colWidths=[9 * mm, 76 * mm, 40 * mm, 23 * mm, 32 * mm], repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("BACKGROUND", (0, 0), (-1, 0), HexColor("#e8ecf1")),
                    ("LINEBELOW", (0, 0), (-1, -1), 0.3, HexColor(_LINE)),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ("TOPPADDING", (0, 0), (-1, -1), 2),
                    ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
                ]
            )
        )
        items: list[object] = []
        if ctx.procedure.description:
            items += [Paragraph(_x(ctx.procedure.description), st["body"]), Spacer(1, 3 * mm)]
        items += [Paragraph("Steps", st["h2"]), table]
        bottom = 52 * mm
        # the picture gets what the step list leaves, between 40 mm and its natural height
        need = sum(f.wrap(180 * mm, 1000 * mm)[1] for f in items)  # type: ignore[attr-defined]
        natural = pic_w * COVER_PX[1] / COVER_PX[0]
        pic_h = max(40 * mm, min(natural, pic_top - bottom - 4 * mm - need))
        picture = draw((COVER_PX[0], round(COVER_PX[0] * pic_h / pic_w)))
        pic_y = pic_top - pic_h
        self.picture(picture, 15 * mm, pic_y, pic_w, pic_h)
        self.flow(items, 15 * mm, bottom, 180 * mm, pic_y - 4 * mm - bottom)
        self.job_box(17 * mm)
        self.footer(1)
        c.showPage()

    def job_box(self, y: float) -> None:
        """Work order, start/end and the final sign-off on the cover."""
        c, mm = self.c, self.mm
        from reportlab.lib.colors import HexColor

        c.setFont(self.bold, 10)
        c.setFillColor(HexColor("#1d252d"))
        c.drawString(15 * mm, y + 30 * mm, "Job record")
        labels = [("Work order", 60), ("Started (date, time)", 60), ("Finished (date, time)", 60)]
        self._boxes(labels, 15 * mm, y + 16 * mm, 12 * mm)
        self._boxes(
            [("Tool released by (name)", 60), ("Date", 40), ("Signature", 80)],
            15 * mm,
            y + 1 * mm,
            12 * mm,
        )

    def _boxes(self, labels: Sequence[tuple[str, float]], x: float, y: float, h: float) -> None:
        """Draw labelled boxes side by side, each ``(label, width in mm)``."""
        c, mm = self.c, self.mm
        from reportlab.lib.colors import HexColor

        c.setStrokeColor(HexColor("#7d8894"))
        c.setLineWidth(0.6)
        for label, w_mm in labels:
            w = w_mm * mm
            c.rect(x, y, w, h, stroke=1, fill=0)
            c.setFillColor(HexColor(_GREY))
            c.setFont(self.font, 7)
            c.drawString(x + 1.5 * mm, y + h - 3 * mm, label)
            x += w

    def step_page(
        self, info: StepInfo, draw: Callable[[tuple[int, int]], Image.Image], page: int
    ) -> None:
        """One step's page; ``draw(size)`` renders its picture at the size it gets."""
        from reportlab.lib.colors import HexColor
        from reportlab.platypus import Paragraph, Spacer, Table, TableStyle

        c, mm, ctx, st = self.c, self.mm, self.ctx, self.styles
        s = info.step
        self.header(
            f"Step {info.number} of {len(ctx.steps)}", f"{ctx.qr_payload()}&step={info.number}"
        )
        top = self.height - 31 * mm
        items: list[object] = [
            Paragraph(f"{info.number}. {_x(s.title)}", st["title"]),
            Paragraph(
                f"At <b>{_x(info.component.name)}</b> - {_x(s.action.value)} - planned "
                f"{_x(format_duration(s.duration_s))}",
                st["where"],
            ),
        ]
        if s.safety:
            rows = [
                [
                    Paragraph(
                        f"{_SYMBOLS['warn']} SAFETY - read before you start", st["safety_head"]
                    )
                ]
            ]
            rows += [
                [Paragraph(f"<b>{_x(n.kind.upper())}</b>: {_x(n.text)}", st["safety"])]
                for n in s.safety
            ]
            box = Table(rows, colWidths=[180 * mm])
            box.setStyle(
                TableStyle(
                    [
                        ("BOX", (0, 0), (-1, -1), 1.6, HexColor(_RED)),
                        ("BACKGROUND", (0, 0), (-1, -1), HexColor(_CAUTION)),
                        ("TOPPADDING", (0, 0), (-1, -1), 2.5),
                        ("BOTTOMPADDING", (0, 0), (-1, -1), 2.5),
                        ("LEFTPADDING", (0, 0), (-1, -1), 6),
                    ]
                )
            )
            items += [Spacer(1, 1.5 * mm), box, Spacer(1, 2 * mm)]
        if s.text:
            items += [Paragraph(_x(s.text), st["body"]), Spacer(1, 2 * mm)]
        facts = []
        if s.tools:
            facts.append(("Tools", "; ".join(s.tools)))
        if s.parts:
            facts.append(("Parts", "; ".join(s.parts)))
        if info.component.description:
            facts.append(("Component", info.component.description))
        if facts:
            t = Table(
                [[Paragraph(_x(k), st["cellb"]), Paragraph(_x(v), st["cell"])] for k, v in facts],
                colWidths=[24 * mm, 156 * mm],
            )
            t.setStyle(
                TableStyle(
                    [
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                        ("LEFTPADDING", (0, 0), (-1, -1), 0),
                        ("TOPPADDING", (0, 0), (-1, -1), 1),
                        ("BOTTOMPADDING", (0, 0), (-1, -1), 1),
                    ]
                )
            )
            items.append(t)
        bottom = 78 * mm
        # long instructions take room from the picture (down to 55 mm) before any shrinking
        need = sum(f.wrap(180 * mm, 1000 * mm)[1] for f in items)  # type: ignore[attr-defined]
        natural = 180 * mm * PICTURE_PX[1] / PICTURE_PX[0]
        pic_h = max(55 * mm, min(natural, top - bottom - 4 * mm - need))
        pic_y = top - pic_h
        self.picture(
            draw((PICTURE_PX[0], round(PICTURE_PX[0] * pic_h / (180 * mm)))),
            15 * mm,
            pic_y,
            180 * mm,
            pic_h,
        )
        # legend chip on the picture
        c.setFillColor(HexColor(HIGHLIGHT))
        c.rect(17 * mm, pic_y + 2.5 * mm, 3.5 * mm, 3.5 * mm, stroke=0, fill=1)
        c.setFillColor(HexColor("#1d252d"))
        c.setFont(self.font, 8)
        c.drawString(22 * mm, pic_y + 3 * mm, _fit(c, info.component.name, self.font, 8, 120 * mm))
        room = pic_y - 4 * mm - bottom
        used = self.flow(items, 15 * mm, bottom, 180 * mm, room)
        if room - used >= 18 * mm:
            self.notes(15 * mm, bottom + 1 * mm, 180 * mm, room - used - 5 * mm)
        self.acceptance(info, 52 * mm)
        self.signoff(17 * mm)
        self.footer(page)
        c.showPage()

    def notes(self, x: float, y: float, w: float, h: float) -> None:
        """A ruled box for findings, filling the room the instruction left free."""
        from reportlab.lib.colors import HexColor

        c, mm = self.c, self.mm
        c.setStrokeColor(HexColor("#7d8894"))
        c.setLineWidth(0.6)
        c.rect(x, y, w, h, stroke=1, fill=0)
        c.setFillColor(HexColor(_GREY))
        c.setFont(self.font, 7)
        c.drawString(x + 1.5 * mm, y + h - 3 * mm, "Notes / findings")
        c.setStrokeColor(HexColor("#d5dbe2"))
        c.setLineWidth(0.4)
        line = y + h - 10 * mm
        while line > y + 2 * mm:
            c.line(x + 2 * mm, line, x + w - 2 * mm, line)
            line -= 7 * mm

    def acceptance(self, info: StepInfo, y: float) -> None:
        """The measurement table (22 mm high) at ``y``."""
        from reportlab.lib.colors import HexColor
        from reportlab.platypus import Paragraph, Table, TableStyle

        mm, st = self.mm, self.styles
        a = info.step.acceptance
        if a is None:
            head = ["Check", "Result"]
            box = _SYMBOLS["box"]
            row = ["Step done as described", f"{box} Done    {box} Not done"]
            widths = [98 * mm, 82 * mm]
        else:
            head = ["Measure", "Limits", "Measured value", "Result"]
            row = [
                a.quantity,
                acceptance_text(a),
                f"________________ {a.unit}",
                f"{_SYMBOLS['box']} Pass    {_SYMBOLS['box']} Fail",
            ]
            widths = [48 * mm, 50 * mm, 46 * mm, 36 * mm]
        data = [
            [Paragraph(_x(h), st["cellb"]) for h in head],
            [Paragraph(_x(v), st["cell"]) for v in row],
        ]
        t = Table(data, colWidths=widths, rowHeights=[7 * mm, 11 * mm])
        t.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.6, HexColor("#7d8894")),
                    ("BACKGROUND", (0, 0), (-1, 0), HexColor("#e8ecf1")),
                    ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ]
            )
        )
        self.c.setFont(self.bold, 10)
        self.c.setFillColor(HexColor("#1d252d"))
        self.c.drawString(15 * mm, y + 21 * mm, "Acceptance" if a is not None else "Completion")
        t.wrapOn(self.c, 180 * mm, 18 * mm)
        t.drawOn(self.c, 15 * mm, y)

    def signoff(self, y: float) -> None:
        """Technician and verifier sign-off boxes (30 mm high) at ``y``."""
        from reportlab.lib.colors import HexColor

        c, mm = self.c, self.mm
        c.setFont(self.bold, 10)
        c.setFillColor(HexColor("#1d252d"))
        c.drawString(15 * mm, y + 29 * mm, "Sign-off")
        self._boxes(
            [("Technician (name)", 70), ("Date", 35), ("Signature", 75)],
            15 * mm,
            y + 13 * mm,
            13 * mm,
        )
        self._boxes(
            [("Verified by (name)", 70), ("Date", 35), ("Signature", 75)],
            15 * mm,
            y - 1 * mm,
            13 * mm,
        )

    def finish(self) -> bytes:
        self.c.save()
        return self.buf.getvalue()


def _fit(c: Any, text: str, font: str, size: float, width: float) -> str:
    """Return ``text`` cut with an ellipsis to fit ``width`` points."""
    from reportlab.pdfbase.pdfmetrics import stringWidth

    if stringWidth(text, font, size) <= width:
        return text
    while text and stringWidth(text + "\u2026", font, size) > width:
        text = text[:-1]
    return text + "\u2026"


def _draw_qr(c: Any, text: str, x: float, y: float, size: float) -> None:
    """Draw ``text`` as a QR code (vector, one path) in a ``size`` square at (x, y)."""
    import qrcode
    from reportlab.lib.colors import black

    # a fixed mask pattern: searching all eight for the "best" one costs more than a page
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, border=0, mask_pattern=0)
    qr.add_data(text)
    qr.make(fit=True)
    matrix = qr.get_matrix()
    cell = size / len(matrix)
    path = c.beginPath()
    for r, row in enumerate(matrix):
        col = 0
        while col < len(row):
            if not row[col]:
                col += 1
                continue
            start = col
            while col < len(row) and row[col]:
                col += 1
            path.rect(
                x + start * cell, y + size - (r + 1) * cell, (col - start) * cell, cell * 1.02
            )
    c.setFillColor(black)
    c.drawPath(path, stroke=0, fill=1)


def iter_pdf(ctx: ExportContext) -> Progress[bytes]:
    """Build the PDF, yielding progress per page; returns its bytes."""
    pages = _Pages(ctx)
    n = len(ctx.steps)
    markers = [Marker(st.anchor, str(st.number)) for st in ctx.steps]
    with _binary_streams():
        pages.cover(lambda size: render_tool(ctx.geometry, ctx.overview, size, markers=markers))
    yield 1 / (n + 2), "PDF: cover"
    for k, info in enumerate(ctx.steps, start=1):

        def draw(size: tuple[int, int], info: StepInfo = info) -> Image.Image:
            return render_tool(
                ctx.geometry,
                info.view,
                size,
                highlight=info.highlight,
                markers=[Marker(info.anchor, str(info.number), active=True)],
            )

        with _binary_streams():
            pages.step_page(info, draw, k + 1)
        yield (k + 1) / (n + 2), f"PDF: step {k} of {n}"
    with _binary_streams():
        data = pages.finish()
    yield 1.0, "PDF: done"
    return data


@contextmanager
def _binary_streams() -> Iterator[None]:
    """Write PDF streams as binary, not ASCII85 (reportlab's pure-Python encoder is slow)."""
    from reportlab import rl_config

    old = rl_config.useA85
    rl_config.useA85 = 0
    try:
        yield
    finally:
        rl_config.useA85 = old


def build_pdf(ctx: ExportContext) -> bytes:
    """Return the PDF of ``ctx`` (see :func:`iter_pdf`)."""
    return drain(iter_pdf(ctx))
