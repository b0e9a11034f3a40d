"""The Plan workspace's edits: every change to a scenario, undoable.

:class:`PlanEdits` holds them for a :class:`~factory_twin.ui.qt_plan_workspace.
QtPlanWorkspace` (as its ``edits``, as :class:`~factory_twin.ui.qt_plan_input.PlanViewInput`
is its ``input``): moving, turning, placing, adding, duplicating and deleting tools, a
group's dispatch rule, and taking out or reordering the scenario's changes. Each is a
scenario change through the workspace's :class:`~factory_twin.app.plan_session.PlanSession`,
pushed on its ``QUndoStack`` as one :class:`_EditCommand`, made before the push (a refused
change never reaches the stack); its redo and undo redraw the workspace
(``after_edit``). The base plant is read-only: an edit there says so and does nothing.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QUndoCommand
from PySide6.QtWidgets import QApplication

from factory_twin.app.plan_session import PlanSession, snap_position
from factory_twin.errors import ConfigError

if TYPE_CHECKING:
    from factory_twin.ui.qt_plan_workspace import QtPlanWorkspace


@contextlib.contextmanager
def busy() -> Iterator[None]:
    """A wait cursor while an edit re-applies the scenario (about 1.5 s on SMT2020)."""
    QApplication.setOverrideCursor(Qt.CursorShape.WaitCursor)
    try:
        yield
    finally:
        QApplication.restoreOverrideCursor()


class _EditCommand(QUndoCommand):
    """One undoable edit: ``do`` and ``undo`` call the session, then the view refreshes."""

    def __init__(
        self,
        ws: QtPlanWorkspace,
        text: str,
        do: Callable[[], None],
        undo: Callable[[], None],
        *,
        done: bool = False,
    ) -> None:
        super().__init__(text)
        self.ws, self._do, self._undo = ws, do, undo
        self._done = done  # the first redo (the push) finds the edit made already

    def redo(self) -> None:
        with busy():
            if self._done:
                self._done = False
            else:
                self._do()
            self.ws.after_edit()

    def undo(self) -> None:
        with busy():
            self._undo()
            self.ws.after_edit()


class PlanEdits:
    """The undoable scenario edits of a Plan workspace (its session, selection, undo stack
    and panels; see the module notes).

    Parameters
    ----------
    ws
        The workspace edited (it holds this as ``ws.edits``).
    """

    def __init__(self, ws: QtPlanWorkspace) -> None:
        self.ws = ws

    def _editable(self) -> PlanSession | None:
        ses = self.ws.session
        if ses is None:
            return None
        if not ses.editable:
            self.ws.info.setText(
                "The base plant is read-only here: make a scenario (Ctrl+N) to edit."
            )
            return None
        return ses

    def push_changes(self, datas: list[dict[str, Any]], text: str) -> bool:
        """Add changes as one undoable edit; False (and a message) if a change is refused."""
        ses = self._editable()
        if ses is None or not datas:
            return False
        done: list[int] = []

        def do() -> None:
            done.clear()
            for d in datas:
                done.append(ses.add_change(d))

        def undo() -> None:
            for k in reversed(done):
                ses.remove_change(k)

        try:  # made here, so that a refused change never reaches the undo stack
            with busy():
                do()
        except ConfigError as exc:
            for k in reversed(done):
                ses.remove_change(k)
            self.ws.after_edit()
            self.ws._error("The edit was refused", exc)
            return False
        self.ws.undo_stack.push(_EditCommand(self.ws, text, do, undo, done=True))
        return True

    def remove_change(self, k: int) -> None:
        """Take change ``k`` out of the scenario (undoable)."""
        ses = self._editable()
        if ses is None:
            return
        box: dict[str, Any] = {}

        def do() -> None:
            box["data"] = ses.remove_change(k)

        def undo() -> None:
            ses.add_change(box["data"], k)

        self.ws.undo_stack.push(_EditCommand(self.ws, f"remove change {k + 1}", do, undo))

    def move_change(self, old: int, new: int) -> None:
        """Apply change ``old`` at position ``new`` instead (undoable)."""
        ses = self._editable()
        if ses is None:
            return
        self.ws.undo_stack.push(
            _EditCommand(
                self.ws,
                f"move change {old + 1} to {new + 1}",
                lambda: ses.move_change(old, new),
                lambda: ses.move_change(new, old),
            )
        )
        self.ws.changes.list.setCurrentRow(new)

    def move_tools(self, places: dict[str, tuple[float, float]]) -> bool:
        """Move tools to floor positions (one undoable edit, one change per tool)."""
        ses = self._editable()
        if ses is None:
            return False
        datas = [ses.move_data(t, p) for t, p in places.items()]
        names = ", ".join(list(places)[:3])
        return self.push_changes(datas, f"move {names}")

    def rotate_selected(self) -> None:
        """Turn every selected tool by 90° about its origin."""
        ses = self._editable()
        if ses is None or not self.ws.selection:
            return
        datas = [
            ses.move_data(t, rotation_deg=(ses.placement(t)[1] + 90.0) % 360)
            for t in self.ws.selection
        ]
        self.push_changes(datas, f"rotate {', '.join(self.ws.selection[:3])}")

    def delete_selected(self) -> None:
        """Remove every selected tool from the scenario."""
        ses = self._editable()
        if ses is None or not self.ws.selection:
            return
        datas = [{"change": "remove_tool", "id": t} for t in self.ws.selection]
        self.push_changes(datas, f"delete {', '.join(self.ws.selection[:3])}")

    def duplicate_selected(self) -> list[str]:
        """Copy every selected tool beside itself; select and return the copies."""
        ses = self._editable()
        if ses is None or not self.ws.selection:
            return []
        datas: list[dict[str, Any]] = []
        taken: set[str] = set()
        for t in self.ws.selection:
            d = ses.duplicate_data(t, self.ws.grid_m)
            while d["id"] in taken:  # two copies of one group in one go
                d["id"] = _bump(d["id"])
            taken.add(d["id"])
            datas.append(d)
        if not self.push_changes(datas, f"duplicate {', '.join(self.ws.selection[:3])}"):
            return []
        new = [d["id"] for d in datas]
        self.ws.select(new)
        return new

    def add_tool(self, type_id: str, position_m: tuple[float, float]) -> str | None:
        """Add a tool of ``type_id`` at a floor point (snapped); return its id."""
        ses = self._editable()
        if ses is None:
            return None
        pos = snap_position(position_m, self.ws.grid_m)
        try:
            data = ses.add_tool_data(type_id, pos)
        except ConfigError as exc:
            self.ws._error("No tool added", exc)
            return None
        if not self.push_changes([data], f"add {data['id']}"):
            return None
        self.ws.select([data["id"]])
        return str(data["id"])

    def place_selected(self, x: float, y: float, rot: float) -> None:
        """Put the one selected tool exactly at (x, y) m turned ``rot`` degrees."""
        ses = self._editable()
        if ses is None or len(self.ws.selection) != 1:
            return
        t = self.ws.selection[0]
        (ox, oy), orot = ses.placement(t)
        pos = None if (ox, oy) == (x, y) else (x, y)
        turn = None if orot == rot else rot
        if pos is None and turn is None:
            return
        self.push_changes([ses.move_data(t, pos, turn)], f"place {t}")

    def set_dispatch(self, group: str, rule: str) -> None:
        """Change a tool group's dispatch rule (one change)."""
        ses = self._editable()
        if ses is None or not group:
            return
        self.push_changes(
            [{"change": "set_dispatch", "group": group, "rule": rule}],
            f"dispatch {group}: {rule}",
        )


def _bump(tool_id: str) -> str:
    head = tool_id.rstrip("0123456789")
    digits = tool_id[len(head) :]
    return f"{head}{int(digits or 0) + 1:0{len(digits) or 2}d}"
