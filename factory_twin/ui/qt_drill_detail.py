"""The Author tab's detail pane: the selected injection or expected response, every field whole.

In a short window the Author tab's tables cut their rows to one line each (so that several
rows stay in sight), eliding fault names and messages. :class:`QtDrillDetail`, under the
tables, shows the selected row in words, wrapped to the pane's width, names breaking after
``_`` or ``.`` (:func:`~factory_twin.ui.qt_tables.breakable`), so a trainer reads and checks
what he wrote without hovering over each cell. :func:`injection_detail` and
:func:`response_detail` write that text.

The pane's height is kept for the longest text of the drill's rows (at most
:data:`DETAIL_LINES` lines of it), so the tables above do not move as the selection goes from
row to row; a longer text makes it taller while it is shown, never cut.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import QFrame, QLabel, QSizePolicy, QWidget

from factory_twin.model import schema as s
from factory_twin.model.drill_scoring import anchor_of
from factory_twin.ui.qt_tables import breakable

DETAIL_LINES = 5
"""The most text lines the pane keeps room for whatever row is selected."""
NO_ROW = "Select an injection or a response to read it whole here."


def _name(text: str) -> str:
    """``text`` escaped for rich text, breakable inside names."""
    return html.escape(breakable(text))


def _num(v: float) -> str:
    return f"{v:g}"


def _injection_label(inj: s.FaultInjection, k: int, note: str = "") -> str:
    """``injection 3 (leak)``: its number from 1, its id and ``note`` in brackets."""
    inside = ", ".join(x for x in (inj.id, note) if x)
    return f"injection {k + 1}" + (f" ({inside})" if inside else "")


def injection_detail(inj: s.FaultInjection, k: int) -> str:
    """Rich text of injection ``k`` (0-based): its fault, tool, time and every field it sets,
    then its message to the trainees.

    Examples
    --------
    >>> from factory_twin.model import schema as s
    >>> inj = s.FaultInjection(at_s=60, equipment="ETCH-02", fault="breakdown", message="Down")
    >>> injection_detail(inj, 0)
    '<b>Injection 1</b>: <b>breakdown</b> of <b>ETCH-02</b> at 60 s.<br>Message: <i>Down</i>'
    """
    label = _injection_label(inj, k)
    head = f"<b>{html.escape(label[0].upper() + label[1:])}</b>: <b>{_name(inj.fault)}</b>"
    if inj.equipment:
        head += f" of <b>{_name(inj.equipment)}</b>"
    if inj.at_s is not None:
        head += f" at {_num(inj.at_s)} s"
    elif inj.trigger is not None:
        head += f" when {_name(inj.trigger.describe())}"
    parts = []
    if inj.duration_s is not None:
        parts.append(f"for {_num(inj.duration_s)} s")
    if inj.tag:
        parts.append(f"tag {_name(inj.tag)}")
    if inj.value is not None:
        parts.append(f"value {_num(inj.value)}")
    if inj.rate_per_s is not None:
        parts.append(f"rate {_num(inj.rate_per_s)}/s")
    if inj.limit is not None:
        parts.append(f"limit {_name(str(inj.limit))}")
    if inj.procedure:
        step = f" step {inj.step}" if inj.step is not None else ""
        parts.append(f"procedure {_name(inj.procedure)}{step}")
    elif inj.step is not None:
        parts.append(f"route step {inj.step}")
    if inj.product:
        parts.append(f"product {_name(inj.product)}")
    if inj.lot:
        parts.append(f"lot {_name(inj.lot)}")
    if inj.fault == "hot_lot":
        parts.append(f"priority {inj.priority}")
    text = head + ("; " + ", ".join(parts) if parts else "") + "."
    message = f"<i>{_name(inj.message)}</i>" if inj.message else "none"
    return f"{text}<br>Message: {message}"


def response_detail(drill: s.Drill, r: s.ExpectedResponse, k: int) -> str:
    """Rich text of expected response ``k`` (0-based) of ``drill``: its action, tool,
    target, time limit (and the injection it counts from), and points.

    Examples
    --------
    >>> from factory_twin.model import schema as s
    >>> from factory_twin.ui.qt_tables import ZWSP
    >>> r = s.ExpectedResponse(action="hold_tool", equipment="ETCH-02", within_s=300)
    >>> response_detail(s.Drill(id="d", name="D"), r, 0).replace(ZWSP, "")  # name breaks
    '<b>Response 1</b>: <b>hold_tool</b> of <b>ETCH-02</b>; within 300 s; 10 points.'
    """
    text = f"<b>Response {k + 1}</b>: <b>{_name(r.action)}</b>"
    if r.equipment:
        text += f" of <b>{_name(r.equipment)}</b>"
    parts = []
    if r.procedure:
        step = f" step {r.step}" if r.step is not None else ""
        parts.append(f"procedure {_name(r.procedure)}{step}")
    if r.alarm:
        parts.append(f"alarm {_name(r.alarm)}")
    if r.lot:
        parts.append(f"lot {_name(r.lot)}")
    if r.comment_required:
        parts.append("a comment required")
    if parts:
        text += ", " + ", ".join(parts)
    text += f"; within {_num(r.within_s)} s"
    anchor = anchor_of(drill, r)
    if anchor is not None:
        n = next(j for j, inj in enumerate(drill.injections) if inj is anchor)
        note = "" if r.after else "by default"
        text += f" of {_name(_injection_label(anchor, n, note))}"
    return f"{text}; {_num(r.points)} points."


class QtDrillDetail(QLabel):
    """The selected row of the Author tab's tables in words, wrapped (see the module doc).

    :meth:`set_rows` gives it the texts of every row of the drill (its height is kept for
    the longest, up to :data:`DETAIL_LINES` lines); :meth:`show_row` shows one of them, or
    :data:`NO_ROW` for ``None``.

    Signals
    -------
    fitted(int)
        Its height changed to fit its texts (pixels).
    """

    fitted = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("author_detail")
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setWordWrap(True)
        self.setAlignment(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setMargin(3)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
        self._texts: list[str] = []
        self._measure = QLabel(self)  # never shown: measures the other rows' texts
        self._measure.hide()
        self._fitted_width = -1
        self.show_row(None)

    def set_rows(self, texts: Sequence[str]) -> None:
        """The texts of every row of the drill (the height is kept for the longest)."""
        self._texts = list(texts)
        self._fit_height()

    def show_row(self, text: str | None) -> None:
        """Show ``text`` (a row's, from :func:`injection_detail` or :func:`response_detail`),
        or :data:`NO_ROW` for ``None``."""
        self.setText(text if text is not None else html.escape(NO_ROW))
        self.setToolTip("" if text is None else "the selected row; select text to copy it")
        self._fit_height()

    def _height_of(self, text: str, width: int) -> int:
        """The height ``text`` needs in this label at ``width`` (its own heightForWidth
        answers at least its fixed height)."""
        m = self._measure  # drawn as this label draws it
        m.setFont(self.font())
        m.setFrameShape(self.frameShape())
        m.setMargin(self.margin())
        m.setWordWrap(True)
        m.setTextFormat(Qt.TextFormat.RichText)
        m.setTextInteractionFlags(self.textInteractionFlags())
        m.setAlignment(self.alignment())
        m.setText(text)
        return m.heightForWidth(width)

    def _fit_height(self) -> None:
        width = self.width()
        if width <= 1:
            return
        self._fitted_width = width
        # DETAIL_LINES lines in the fonts the texts use (bold names, an italic message)
        most = self._height_of("<br>".join(["<b>M</b> <i>M</i>"] * DETAIL_LINES), width)
        keep = max((self._height_of(t, width) for t in self._texts), default=0)
        own = self._height_of(self.text(), width)
        height = max(own, min(keep, most), self._height_of("M", width))
        if height != self.minimumHeight() or height != self.maximumHeight():
            self.setFixedHeight(height)
            self.fitted.emit(height)

    def sizeHint(self) -> QSize:
        """Its width (it takes the pane's) by the height its text needs there (QLabel's own
        hint lays a wrapped text out at a width of its choosing)."""
        width = max(self.width(), 1)
        return QSize(width, self._height_of(self.text(), width))

    def minimumSizeHint(self) -> QSize:
        return QSize(1, self.minimumHeight())

    def resizeEvent(self, e: Any) -> None:
        super().resizeEvent(e)
        if self.width() != self._fitted_width:
            self._fit_height()
