"""Undo and redo for the authoring panels and workspaces (Maintain, Train, Plan).

* :class:`SpecEditCommand` puts an app-layer edit of the plant spec (a procedure edit of
  :mod:`factory_twin.app.maintenance`, a drill edit of
  :mod:`factory_twin.app.drill_authoring`: anything with ``text``, ``apply(spec)`` and
  ``revert(spec)``) on a ``QUndoStack``, and tells its panel after each redo and undo;
* :func:`undo_buttons` makes a panel's *Undo* / *Redo* buttons, enabled as the stack allows;
* :func:`undo_actions` gives a workspace its Ctrl+Z / Ctrl+Shift+Z (and Ctrl+Y) actions,
  active while the focus is inside it (two workspaces never undo each other's edits).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, Protocol, TypeVar

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QKeySequence, QUndoCommand, QUndoStack
from PySide6.QtWidgets import QPushButton, QWidget

from factory_twin.model.schema import PlantSpec


class SpecEdit(Protocol):
    """An undoable change of the plant spec, made and checked in the app layer."""

    @property
    def text(self) -> str:
        """What the edit does, for the undo history (``"move step 3 up"``)."""
        ...

    def apply(self, spec: PlantSpec) -> None:
        """Make the change on ``spec``."""

    def revert(self, spec: PlantSpec) -> None:
        """Take the change back on ``spec``."""


E = TypeVar("E", bound=SpecEdit)


class SpecEditCommand(QUndoCommand, Generic[E]):
    """An edit of the plant spec on the undo stack.

    Parameters
    ----------
    spec
        The spec the edit changes (in place).
    edit
        The edit.
    changed
        Called after every redo (``changed(edit, False)``) and undo (``changed(edit, True)``),
        the push's own first redo included.
    """

    def __init__(self, spec: PlantSpec, edit: E, changed: Callable[[E, bool], None]) -> None:
        super().__init__(edit.text)
        self.spec = spec
        self.edit = edit
        self._changed = changed

    def redo(self) -> None:
        self.edit.apply(self.spec)
        self._changed(self.edit, False)

    def undo(self) -> None:
        self.edit.revert(self.spec)
        self._changed(self.edit, True)


def undo_buttons(stack: QUndoStack) -> tuple[QPushButton, QPushButton]:
    """Return *Undo* and *Redo* buttons for ``stack``, enabled only when there is something to
    undo or redo."""
    undo = QPushButton("Undo")
    undo.setToolTip("Ctrl+Z")
    redo = QPushButton("Redo")
    redo.setToolTip("Ctrl+Shift+Z")
    undo.clicked.connect(stack.undo)
    redo.clicked.connect(stack.redo)
    stack.canUndoChanged.connect(undo.setEnabled)
    stack.canRedoChanged.connect(redo.setEnabled)
    undo.setEnabled(stack.canUndo())
    redo.setEnabled(stack.canRedo())
    return undo, redo


def undo_actions(widget: QWidget, stack: QUndoStack, what: str) -> tuple[QAction, QAction]:
    """Add *Undo WHAT* (Ctrl+Z) and *Redo WHAT* (Ctrl+Shift+Z, Ctrl+Y) to ``widget``.

    The actions (their text names the next edit) act while the focus is in ``widget`` or
    its children; menus may show them too.
    """
    undo = stack.createUndoAction(widget, f"&Undo {what}")
    undo.setShortcut(QKeySequence.StandardKey.Undo)
    redo = stack.createRedoAction(widget, f"&Redo {what}")
    redo.setShortcuts([QKeySequence("Ctrl+Shift+Z"), QKeySequence("Ctrl+Y")])
    for a in (undo, redo):
        a.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
        widget.addAction(a)
    return undo, redo
