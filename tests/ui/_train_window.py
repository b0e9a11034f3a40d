"""The main window with the Train workspace on a plant, for the Train GUI tests' fixtures."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _qt_wait import wait_until
from PySide6.QtCore import QSettings
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from factory_twin.app.controller import Controller
from factory_twin.app.drill_debrief import TraineeHistory
from factory_twin.app.maintenance import MaintenanceLog
from factory_twin.ui.qt_main_window import MainWindow
from factory_twin.ui.qt_maintain_workspace import install_maintain
from factory_twin.ui.qt_train_install import install_train


def open_train_window(
    tmp_path: Path,
    plant: Path,
    *,
    size: tuple[int, int] = (1500, 900),
    user: str = "ann",
    maintain: bool = True,
) -> MainWindow:
    """A shown main window (its own settings, journal, maintenance log and drill folder in
    ``tmp_path``) with ``plant`` open, not connected; close it with :func:`close_train_window`."""
    settings = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    w = MainWindow(Controller(journal_path=tmp_path / "journal.sqlite", user=user), settings)
    if maintain:
        install_maintain(w, MaintenanceLog(tmp_path / "maintenance.jsonl"))
    install_train(w, record_dir=tmp_path / "drills", history=TraineeHistory())
    w.train.options = {"load_companion_specs": False}
    w.resize(*size)
    w.show()
    QTest.qWaitForWindowExposed(w)
    w.open_plant(str(plant), connect=False)
    wait_until(lambda: w.controller.doc is not None, 60, "the plant to open")
    return w


def close_train_window(w: MainWindow) -> None:
    """Close without asking: a test's unsaved drill edits get no Save/Discard/Cancel box."""
    w.train.undo_stack.clear()
    w.close()
    QApplication.processEvents()


@contextmanager
def train_window(tmp_path: Path, plant: Path, **kw: object) -> Iterator[MainWindow]:
    """:func:`open_train_window`, closed on leaving (``kw`` as there)."""
    w = open_train_window(tmp_path, plant, **kw)  # type: ignore[arg-type]
    try:
        yield w
    finally:
        close_train_window(w)
