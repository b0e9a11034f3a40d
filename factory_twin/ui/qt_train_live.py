"""The Train workspace's *Live* tab: who is in the drill, the scores and the live timeline.

:class:`QtTrainLive` is the tab a :class:`~factory_twin.ui.qt_train_workspace.
QtTrainWorkspace` holds as its ``live``. At its top the trainee names the drill holds
(:class:`~factory_twin.ui.qt_train_names.QtTraineeNames`: joined ones and, grey italic, ones
kept from an earlier run, with *Release name…* and *Release all names…*); then the scores
(as tall as their rows, :data:`SCORE_ROWS_MIN` to :data:`SCORE_ROWS_MAX` of them, then it
scrolls); then the live timeline: injections, alarms, each trainee's actions with response
time against the limit and points, wrong actions. Its *Event* column takes the width the
others leave (at least :data:`EVENT_SHARE` of it) and wraps, also inside names after ``_`` or
``.`` (:func:`~factory_twin.ui.qt_tables.fit_wrapped_columns`,
:func:`~factory_twin.ui.qt_tables.break_names`); the others are no wider than they need
(short headers *Resp.* and *Pts*, their tooltips whole; the response wraps in a narrow pane),
so nothing is elided at 1280x800 or 1920x1200. :meth:`QtTrainLive.refresh` redraws
them from the workspace's :class:`~factory_twin.app.drill_trainer.TrainerDesk`, and again
after a theme switch (the colours are the theme's).

Following another computer's drill server, the entries the trainer's app fetched after a
reconnect (they happened while the connection was lost,
:attr:`~factory_twin.app.drill_trainer.TimelineEntry.caught_up`) stand out: their *What*
ends in :data:`CAUGHT_UP_MARK`, *What* and *Event* are in italics (*Event* in the theme's
``info`` colour) and every cell's tooltip says so with the drill time it happened at
(:func:`caught_up_tip`); a note over the timeline (:attr:`QtTrainLive.caught_note`) explains
the mark while the timeline has such entries.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel, QTableWidget, QVBoxLayout, QWidget

from factory_twin.app.drill_trainer import TimelineEntry
from factory_twin.ui.qt_tables import (
    break_names,
    cell,
    fit_columns,
    fit_wrapped_columns,
    row_table,
)
from factory_twin.ui.qt_train_debrief import fill_table, mmss
from factory_twin.ui.qt_train_names import QtTraineeNames
from factory_twin.ui.theme import coloured, on_theme_change, text_colour

# the scores table shows this many rows at least (room for the first trainees), and at most
# this many before it scrolls (the timeline below keeps its room)
SCORE_ROWS_MIN = 3
SCORE_ROWS_MAX = 8

# text colour roles (ui.theme.text_colour) of a timeline row's kind
KIND_COLOURS = {"injection": "event", "alarm": "warning", "wrong": "error", "refused": "error"}

CAUGHT_UP_MARK = "↻"  # ends the What of an entry caught up after a reconnect
CAUGHT_UP_ROLE = "info"  # the text colour role of its Event (italic)
EVENT_COLUMN = 5
# the columns but Event take no more than they need (short headers, whose tooltips say
# them whole; the response on two lines in a narrow pane): Event takes the rest and wraps
TIMELINE_HEADERS = ["Time", "What", "Trainee", "Resp.", "Pts", "Event"]
HEADER_TIPS = {
    3: "response time / its limit",
    4: "points: won by an expected action in time, lost by a wrong one",
}
EVENT_SHARE = 0.4  # of the width, at least, before the other columns wrap for Event


def event_text(e: TimelineEntry) -> str:
    """A timeline entry's text for the table, whose Trainee column names the trainee: the
    ``"ann: "`` the text starts with (for exports and debriefs) is left out."""
    lead = f"{e.trainee}: "
    if e.trainee and e.text.startswith(lead):
        return e.text[len(lead) :]
    return e.text


def _timeline_cells(e: TimelineEntry) -> list[tuple[str, str | None]]:
    resp = ""
    if e.response_s is not None:
        resp = f"{mmss(e.response_s)} / {mmss(e.limit_s)}"
    pts = "" if e.points is None else f"{e.points:+g}"
    role = KIND_COLOURS.get(e.kind)
    if e.kind == "action" and e.points is not None:
        role = "ok" if e.points > 0 else "error"
    colour = text_colour(role) if role is not None else None
    what = f"{e.kind} {CAUGHT_UP_MARK}" if e.caught_up else e.kind
    event = text_colour(CAUGHT_UP_ROLE) if e.caught_up else None
    return [(mmss(e.time_s), None), (what, colour), (e.trainee, None), (resp, None),
            (pts, colour if e.points is not None else None), (event_text(e), event)]  # fmt: skip


def caught_up_tip(e: TimelineEntry) -> str:
    """The tooltip of an entry caught up after a reconnect.

    Examples
    --------
    >>> caught_up_tip(TimelineEntry(135.0, "action", "cy: hold ETCH-01", caught_up=True))
    'received after the reconnect: happened at drill time 2:15, while the link was lost'
    """
    return (
        f"received after the reconnect: happened at drill time {mmss(e.time_s)}, while the "
        "link was lost"
    )


def fill_timeline(table: QTableWidget, rows: list[TimelineEntry]) -> None:
    """Fill the timeline ``table`` with ``rows`` (each cell's whole text its tooltip; the
    caught-up ones marked, see the module doc), then fit it (the Event column wraps)."""
    table.setRowCount(len(rows))
    for i, e in enumerate(rows):
        tip = caught_up_tip(e) if e.caught_up else ""
        for j, (text, colour) in enumerate(_timeline_cells(e)):
            item = cell(text, "\n\n".join(t for t in (text, tip) if t), colour=colour)
            if e.caught_up and j in (1, EVENT_COLUMN):
                font = item.font()
                font.setItalic(True)
                item.setFont(font)
            table.setItem(i, j, item)
    fit_wrapped_columns(table, EVENT_COLUMN, share=EVENT_SHARE)


class QtTrainLive(QWidget):
    """The Live tab (see the module doc).

    Parameters
    ----------
    ws
        The Train workspace (its ``desk``; the names use its ``_say`` and ``_after``).
    """

    def __init__(self, ws: Any, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ws = ws
        self._shown_timeline = -1  # the timeline rows shown (a hash), redrawn on a change
        col = QVBoxLayout(self)
        col.setContentsMargins(4, 4, 4, 4)
        self.names = QtTraineeNames(ws)  # on top, where the trainer sees who is in
        col.addWidget(self.names)
        col.addWidget(QLabel("Scores"))
        self.scores_table = row_table(
            ["Trainee", "Points", "%", "Wrong", "Result"], alternating=True, fit=False
        )
        self.names.menu_on(self.scores_table)
        col.addWidget(self.scores_table)
        col.addWidget(QLabel("Timeline"))
        self.caught_note = QLabel()  # shown while the timeline has entries caught up
        self.caught_note.setObjectName("caught_up_note")
        self.caught_note.setWordWrap(True)
        self.caught_note.hide()
        col.addWidget(self.caught_note)
        self.timeline_table = row_table(TIMELINE_HEADERS, alternating=True, fit=False)
        for j, tip in HEADER_TIPS.items():
            head = self.timeline_table.horizontalHeaderItem(j)
            if head is not None:
                head.setToolTip(tip)
        break_names(self.timeline_table, [EVENT_COLUMN])  # end_station_pressure.hihi wraps
        col.addWidget(self.timeline_table, 1)
        fit_columns(self.scores_table)  # the headers fit before a fill too
        self.fit_scores_height()
        # the events wrap: no sideways scrolling
        fit_wrapped_columns(self.timeline_table, EVENT_COLUMN, share=EVENT_SHARE)
        on_theme_change(self, self._on_theme_changed)

    def restart(self) -> None:
        """A new drill is followed: its timeline is drawn afresh."""
        self._shown_timeline = -1

    def _on_theme_changed(self, _dark: bool) -> None:
        self.restart()  # the cells' colours are the old theme's: draw them again
        self.refresh()

    def timeline_entries(self) -> list[TimelineEntry]:
        """The live timeline shown."""
        desk = self.ws.desk
        return desk.timeline() if desk is not None else []

    def refresh(self) -> None:
        """Redraw the trainees, scores and timeline of the drill followed."""
        desk = self.ws.desk
        if desk is None:
            return
        self.names.show_names(desk.names(), desk.token_path)
        fill_table(
            self.scores_table,
            [
                [(sc.trainee, None), (f"{sc.score:g} / {sc.max_points:g}", None),
                 (f"{sc.percent:.0f}", None),
                 (str(sc.wrong), text_colour("error") if sc.wrong else None),
                 ("pass" if sc.passed else "fail", text_colour("ok" if sc.passed else "error"))]
                for sc in desk.scores()
            ],
        )  # fmt: skip
        rows = self.timeline_entries()
        key = hash(tuple(rows))
        if key != self._shown_timeline:
            self._shown_timeline = key
            fill_timeline(self.timeline_table, rows)
            self.timeline_table.scrollToBottom()
            self._show_caught_note(rows)
        self.fit_scores_height()

    def _show_caught_note(self, rows: list[TimelineEntry]) -> None:
        n = sum(1 for e in rows if e.caught_up)
        self.caught_note.setVisible(n > 0)
        if n:
            self.caught_note.setText(
                f"{coloured(CAUGHT_UP_ROLE, CAUGHT_UP_MARK)} <i>in italics</i>: {n} {'entry' if n == 1 else 'entries'} received "
                "after a reconnect; they happened while the connection was lost (at the drill "
                "time shown)"
            )

    def fit_scores_height(self) -> int:
        """Make the scores table as tall as its rows (SCORE_ROWS_MIN..SCORE_ROWS_MAX of
        them; it scrolls beyond); return the height."""
        t = self.scores_table
        rows = min(max(t.rowCount(), SCORE_ROWS_MIN), SCORE_ROWS_MAX)
        vh = t.verticalHeader()
        row_h = vh.defaultSectionSize()
        if t.rowCount():
            row_h = max(row_h, max(vh.sectionSize(i) for i in range(t.rowCount())))
        hh = t.horizontalHeader()
        h = max(hh.height(), hh.sizeHint().height()) + rows * row_h + 2 * t.frameWidth()
        if t.horizontalScrollBar().isVisible():
            h += t.horizontalScrollBar().height()
        if t.minimumHeight() != h or t.maximumHeight() != h:
            t.setFixedHeight(h)
        return h
