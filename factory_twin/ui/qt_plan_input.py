"""Mouse on the Plan workspace's 3-D view: select, drag with snapping, turn, rubber band,
drops.

:class:`PlanViewInput` filters the view widget's events before VTK sees them: a press on
a tool selects it (Ctrl toggles) and starts a drag that VTK never sees, so the camera
stays put; Ctrl-drag on a selected tool, or a drag of the selection's rotate knob (drawn
beyond its box in a scenario, a hand cursor over it), turns the selection about its centre
(:mod:`factory_twin.app.plan_turn`: 15° steps, Shift held a free angle, the pressed tool's
origin, or the first selected one's for the knob, kept on the grid; a ring and the angle
shown while it turns); Shift-drag on the floor draws a rubber band; any other press
goes on to VTK and turns the camera. A palette type dropped on the floor adds a tool there.
Esc ends a move or a turn with nothing changed; a drop is one undoable edit.
"""

from __future__ import annotations

import contextlib
import logging
import time
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QEvent, QObject, QPoint, QRect, QSize, Qt
from PySide6.QtWidgets import QRubberBand

from factory_twin.app.plan_session import snap_position
from factory_twin.app.plan_turn import onto_grid, pointer_angle, turn_by_pointer
from factory_twin.ui.qt_plan_panels import TYPE_MIME

if TYPE_CHECKING:
    from factory_twin.ui.qt_plan_workspace import QtPlanWorkspace

logger = logging.getLogger(__name__)

DRAG_PX = 3
"""Pointer travel (pixels) before a press on a tool becomes a drag."""

KNOB_PX = 10
"""How near (pixels) the pointer must come to the rotate knob's centre to take it."""


class PlanViewInput(QObject):
    """The event filter of the Plan view (see the module notes).

    Attributes
    ----------
    drag
        The drag under way: its kind (``move`` or ``turn``), the tool under the pointer,
        the floor point pressed, the selection's start places and the places previewed
        (a turn: also the centre and the turn reached); None between drags.
    drag_ms
        Milliseconds of each drag event (checks, flows, points, colours, panels).
    """

    def __init__(self, ws: QtPlanWorkspace) -> None:
        super().__init__(ws)
        self.ws = ws
        self.drag: dict[str, Any] | None = None
        self.band: tuple[QPoint, QRubberBand] | None = None
        self.click: QPoint | None = None
        self.drag_ms: list[float] = []
        self.hover_knob: bool | None = False  # over the knob (an open hand); None: unknown

    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        """Selection, drags, the rubber band and palette drops on the 3-D view."""
        if obj is not self.ws.interactor or self.ws.session is None:
            return False
        t = event.type()
        E = QEvent.Type
        try:
            if t == E.MouseButtonPress:
                return self._on_press(event)
            if t == E.MouseMove:
                return self._on_move(event)
            if t == E.MouseButtonRelease:
                return self._on_release(event)
            if t in (E.DragEnter, E.DragMove):
                if event.mimeData().hasFormat(TYPE_MIME):  # type: ignore[attr-defined]
                    event.acceptProposedAction()  # type: ignore[attr-defined]
                    return True
                return False
            if t == E.Drop:
                return self._on_drop(event)
        except Exception:  # an edit that fails must not take the event loop down
            logger.exception("plan view event failed")
            self.drag = None
            self.ws.session.cancel_preview()
            if self.ws.overlay is not None:
                self.ws.overlay.show_turn_ring(None)
            self.ws.after_edit()  # the view drawn from the session again
            self.ws.info.setText("That did not work (see the log); the plan is as it was.")
            return True
        return False

    def _on_press(self, ev: Any) -> bool:
        if ev.button() != Qt.MouseButton.LeftButton:
            return False
        if self.ws.heat_shown:
            self.ws.end_heat()
        pos = ev.position().toPoint()
        mods = ev.modifiers()
        if self.knob_at(pos) and ses_editable(self.ws):
            anchor = self.ws.floor_at(pos)
            if anchor is not None:
                self.drag = self._turn_drag(self.ws.selection[0], anchor, pos)
                self.drag["knob"] = True
                self.hover_knob = None  # the next pointer move sets the cursor again
                self.ws.interactor.setCursor(Qt.CursorShape.ClosedHandCursor)
                return True
        tid = self.ws.tool_at(pos)
        if tid is not None:
            ses = self.ws.session
            assert ses is not None
            anchor = self.ws.floor_at(pos)
            ctrl = bool(mods & Qt.KeyboardModifier.ControlModifier)
            if ctrl and tid in self.ws.selection and ses.editable and anchor is not None:
                self.drag = self._turn_drag(tid, anchor, pos)  # a click still toggles
                return True
            if ctrl:
                self.ws.select([tid], add=True)
                return True
            if tid not in self.ws.selection:
                self.ws.select([tid])
            if ses.editable and anchor is not None:
                self.drag = {
                    "kind": "move",
                    "tool": tid,
                    "anchor": anchor,
                    "press": pos,
                    "start": {t: ses.placement(t) for t in self.ws.selection},
                    "moved": False,
                }
            return True
        if mods & Qt.KeyboardModifier.ShiftModifier:
            band = QRubberBand(QRubberBand.Shape.Rectangle, self.ws.interactor)
            band.setGeometry(QRect(pos, QSize()))
            band.show()
            self.band = (pos, band)
            return True
        self.click = pos
        return False  # the camera turns

    def _on_move(self, ev: Any) -> bool:
        pos = ev.position().toPoint()
        if self.band is not None:
            origin, band = self.band
            band.setGeometry(QRect(origin, pos).normalized())
            return True
        d = self.drag
        if d is None:
            self._hover(pos)
            return False
        if not d["moved"] and (pos - d["press"]).manhattanLength() < DRAG_PX:
            return True
        here = self.ws.floor_at(pos)
        if here is not None and d["kind"] == "turn":
            self.turn_to(here, free=bool(ev.modifiers() & Qt.KeyboardModifier.ShiftModifier))
        elif here is not None:
            self.drag_to(here)
        return True

    def knob_at(self, pos: QPoint) -> bool:
        """Whether widget pixel ``pos`` is on the selection's rotate knob (shown)."""
        ov = self.ws.overlay
        if ov is None or ov.knob is None or not ov.mark_visible("knob"):
            return False
        ov.orient_knob()  # the disc faces the camera as it is now
        x, y, z = ov.knob
        at = self.ws.widget_position_of_floor((x, y), z)
        rx, ry, rz = ov.knob_rim() or (x + ov.knob_radius_m, y, z)
        rim = self.ws.widget_position_of_floor((rx, ry), rz)
        tol = max(KNOB_PX, (rim - at).manhattanLength())
        d = pos - at
        return d.x() * d.x() + d.y() * d.y() <= tol * tol

    def _hover(self, pos: QPoint) -> None:
        """An open hand over the knob, the usual cursor elsewhere."""
        over = self.knob_at(pos)
        if over != self.hover_knob:
            self.hover_knob = over
            if over:
                self.ws.interactor.setCursor(Qt.CursorShape.OpenHandCursor)
            else:
                self.ws.interactor.unsetCursor()

    def show_knob(self) -> bool:
        """Draw the selection's rotate knob (a scenario's selection, not while it turns)."""
        ov, ses = self.ws.overlay, self.ws.session
        if ov is None:
            return False
        box = None
        turning = self.drag is not None and self.drag["kind"] == "turn" and self.drag["moved"]
        if ses_editable(self.ws) and not turning:
            assert ses is not None
            with contextlib.suppress(KeyError):  # a tool just removed
                box = ses.footprint_box(self.ws.selection)
        return ov.show_knob(box)

    def _turn_drag(self, tid: str, anchor: tuple[float, float], pos: QPoint) -> dict[str, Any]:
        ses = self.ws.session
        assert ses is not None
        x0, y0, x1, y1 = ses.footprint_box(self.ws.selection)
        centre = ((x0 + x1) / 2, (y0 + y1) / 2)
        return {
            "kind": "turn",
            "tool": tid,
            "anchor": anchor,
            "press": pos,
            "start": {t: ses.placement(t) for t in self.ws.selection},
            "centre": centre,
            "radius": 0.5 * float(((x1 - x0) ** 2 + (y1 - y0) ** 2) ** 0.5) + 0.5,
            "moved": False,
        }

    def turn_to(
        self, floor: tuple[float, float], *, free: bool = False
    ) -> dict[str, tuple[tuple[float, float], float]]:
        """One turn event: turn the selection about its centre as the pointer, now over
        ``floor``, went round it from the press (the pressed tool's rotation in 15° steps
        unless ``free``). Updates checks, flows, points, the ring and the angle shown;
        returns the places and rotations."""
        d = self.drag
        ses, ov = self.ws.session, self.ws.overlay
        assert d is not None and ses is not None and ov is not None
        t0 = time.perf_counter()
        d["moved"] = True
        places, delta = turn_by_pointer(
            d["start"], d["centre"], d["anchor"], floor, d["tool"], free=free
        )
        places = onto_grid(places, d["tool"], self.ws.grid_m)
        for t, (p, rot) in places.items():
            if ses.placement(t) != (p, rot):
                ses.preview_move(t, p, rot)
                ov.move_tool(t, p, rot)
        d["turned"], d["delta"] = places, delta
        spoke = pointer_angle(d["centre"], d["anchor"]) + delta
        ov.show_turn_ring(d["centre"], d["radius"], spoke)
        lead = d["tool"]
        n = len(places)
        self.ws.info.setText(
            f"Turning {n} tool{'s' if n != 1 else ''} by {delta:+g}° ({lead} at "
            f"{places[lead][1]:g}°): Shift held for a free angle, Esc cancels"
        )
        self.ws.refresh_drawing()
        self.ws._refresh_live_panels()
        self.drag_ms.append((time.perf_counter() - t0) * 1e3)
        return places

    def drag_to(self, floor: tuple[float, float]) -> dict[str, tuple[float, float]]:
        """One drag event: move the dragged selection so its pointer is over ``floor``.

        The dragged tool's origin snaps (grid, bay edges); the others keep their offsets.
        Updates checks, flows, the moved tools' points and the panels; returns the places.
        """
        d = self.drag
        ses, ov = self.ws.session, self.ws.overlay
        assert d is not None and ses is not None and ov is not None
        t0 = time.perf_counter()
        d["moved"] = True
        (ax, ay) = d["anchor"]
        (sx, sy), _rot = d["start"][d["tool"]]
        want = (sx + floor[0] - ax, sy + floor[1] - ay)
        if self.ws.edge_snap.isChecked():
            snapped = ses.snap(d["tool"], want, self.ws.grid_m)
        else:
            snapped = snap_position(want, self.ws.grid_m)
        dx, dy = snapped[0] - sx, snapped[1] - sy
        places: dict[str, tuple[float, float]] = {}
        for t, ((px, py), rot) in d["start"].items():
            p = (round(px + dx, 6), round(py + dy, 6))
            places[t] = p
            if ses.placement(t) != (p, rot):
                ses.preview_move(t, p, rot)
                ov.move_tool(t, p, rot)
        d["places"] = places
        self.ws.refresh_drawing()
        self.ws._refresh_live_panels()
        self.drag_ms.append((time.perf_counter() - t0) * 1e3)
        return places

    def _on_release(self, ev: Any) -> bool:
        if ev.button() != Qt.MouseButton.LeftButton:
            return False
        pos = ev.position().toPoint()
        if self.band is not None:
            origin, band = self.band
            self.band = None
            band.hide()
            band.deleteLater()
            self.select_in_rect(QRect(origin, pos).normalized())
            return True
        d, self.drag = self.drag, None
        if d is not None and d.get("knob"):
            if d["moved"]:
                self.finish_turn(d)
            self.hover_knob = None
            self._hover(pos)
            return True
        if d is not None:
            if d["kind"] == "turn" and d["moved"]:
                self.finish_turn(d)
            elif d["kind"] == "turn":
                self.ws.select([d["tool"]], add=True)  # Ctrl-click: take it away
            elif d["moved"]:
                self.finish_drag(d)
            return True
        click, self.click = self.click, None
        ctrl = ev.modifiers() & Qt.KeyboardModifier.ControlModifier
        if click is not None and (pos - click).manhattanLength() < DRAG_PX and not ctrl:
            self.ws.select([])
        return False

    def finish_drag(self, d: dict[str, Any]) -> None:
        """Drop: the previewed places become one undoable edit."""
        ses = self.ws.session
        assert ses is not None
        places = {t: p for t, p in d.get("places", {}).items() if p != d["start"][t][0]}
        ses.cancel_preview()
        if places:
            self.ws.edits.move_tools(places)
        else:
            self.ws._sync_scene()
            self.ws.refresh_drawing()
            self.ws._refresh_live_panels()

    def finish_turn(self, d: dict[str, Any]) -> None:
        """Drop a turn: the previewed places and rotations become one undoable edit."""
        ses, ov = self.ws.session, self.ws.overlay
        assert ses is not None
        turned = {t: pr for t, pr in d.get("turned", {}).items() if pr != d["start"][t]}
        ses.cancel_preview()
        if ov is not None:
            ov.show_turn_ring(None)
        if turned:
            names = ", ".join(list(turned)[:3])
            datas = [ses.move_data(t, p, rot) for t, (p, rot) in turned.items()]
            self.ws.edits.push_changes(datas, f"turn {names} by {d['delta']:+g}°")
        else:
            self.ws._sync_scene()
            self.ws.refresh_drawing()
            self.ws._refresh_live_panels()
            self.ws._update_info()

    def select_in_rect(self, rect: QRect) -> list[str]:
        """Select the tools whose top centre is inside a rectangle of the view."""
        ov = self.ws.overlay
        if ov is None:
            return []
        inside = [t for t in ov.scene.ids if rect.contains(self.ws.view.widget_position_of(t))]
        self.ws.select(inside)
        return inside

    def _on_drop(self, ev: Any) -> bool:
        md = ev.mimeData()
        if not md.hasFormat(TYPE_MIME):
            return False
        type_id = bytes(md.data(TYPE_MIME).data()).decode("utf-8")
        floor = self.ws.floor_at(ev.position().toPoint())
        ev.acceptProposedAction()
        if floor is not None:
            self.ws.edits.add_tool(type_id, floor)
        return True


def ses_editable(ws: QtPlanWorkspace) -> bool:
    """Whether the workspace shows a scenario (not the read-only base) with a selection."""
    return ws.session is not None and ws.session.editable and bool(ws.selection)
