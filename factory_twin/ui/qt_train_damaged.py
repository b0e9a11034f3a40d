"""The trainer is told when a drill started in the Train window found its event log damaged.

A drill server started with *Start drill here* keeps its event log in the record folder
(``<drill>.events``, :mod:`factory_twin.opcua.server.drill_events`). A damaged log does not
stop the drill: the server moves it aside to ``<drill>.events.damaged`` and starts a fresh
log. :func:`damaged_events_box` tells the trainer so in a warning that does not block the
window (the drill is running already): the file, line and column, what is wrong there, where
the damaged file is kept, and that a fresh log started. (A damaged trainee token file stops
the start instead: the window asks first, see
:func:`~factory_twin.ui.qt_train_names.damaged_token_box`.)
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

if TYPE_CHECKING:
    from factory_twin.app.drill_trainer import DrillEventLog


def damage_where(log: DrillEventLog) -> str:
    """Where ``log``'s file was damaged, in words: ``line 4, column 51 of /x/d.events``
    (the parts known); '' if it was not."""
    exc = log.damage
    if exc is None:
        return ""
    parts = []
    if exc.line is not None:
        parts.append(f"line {exc.line}")
    if exc.column is not None:
        parts.append(f"column {exc.column}")
    return f"{', '.join(parts)} of {exc.path}" if parts else str(exc.path)


def damaged_events_box(parent: QWidget, log: DrillEventLog) -> QMessageBox | None:
    """Show (non-modal, at once) a warning that ``log``'s file was damaged and set aside
    (see the module doc) and return it; None (nothing shown) if it was not damaged."""
    exc = log.damage
    if exc is None:
        return None
    if log.damaged_path is not None:
        kept = f"The damaged file is kept as {log.damaged_path}"
    else:
        kept = "The damaged file could not be moved aside"
    where = f"in {log.path}" if log.path is not None else "kept in memory only"
    fresh = f"{kept}, and the drill started with a fresh event log (id {log.id}, {where})."
    box = QMessageBox(
        QMessageBox.Icon.Warning,
        "Damaged drill event log",
        f"The drill's event log is damaged at {damage_where(log)}:\n{exc.problem or exc}",
        QMessageBox.StandardButton.Ok,
        parent,
    )
    box.setObjectName("damaged_events_box")
    box.setInformativeText(
        f"{fresh}\n\nThe drill runs normally. The log lets a trainer's app that lost its "
        "connection fetch what it missed; an app that followed this drill before this start "
        "reads the fresh log from its start, and what it missed before is not fetched."
    )
    box.setDetailedText(log.problem or str(exc))
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.show()
    return box
