"""Export a procedure for AR devices off the GUI thread, with progress and Cancel."""

from __future__ import annotations

import html
import logging
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, QThread, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from factory_twin.app.ar_export import FORMAT_LABELS, FORMATS, ExportJob, ExportResult
from factory_twin.errors import FactoryTwinError
from factory_twin.model.schema import PlantSpec
from factory_twin.ui.theme import show_message

logger = logging.getLogger(__name__)


class ExportWorker(QObject):
    """Runs an :class:`~factory_twin.app.ar_export.ExportJob` on a worker thread.

    Cancel between steps with :meth:`cancel`: the export's staging folder is removed and
    nothing is written.
    """

    progress = Signal(float, str)
    finished = Signal(object)  # ExportResult
    failed = Signal(str)
    cancelled = Signal()

    def __init__(
        self,
        spec: PlantSpec,
        tool: str,
        procedure: str,
        out_dir: str | Path,
        formats: tuple[str, ...],
        plant_path: Path | None,
    ) -> None:
        super().__init__()
        self.job = ExportJob(spec, tool, procedure, out_dir, formats, plant_path)

    def cancel(self) -> None:
        """Ask the export to stop at its next step."""
        self.job.cancel()

    def run(self) -> None:
        """Run the export (called on the worker thread)."""
        try:
            result = self.job.run(self.progress.emit)
        except FactoryTwinError as exc:
            self.failed.emit(str(exc))
            return
        except Exception as exc:  # a bug in an exporter must not kill the app
            logger.exception("AR export failed")
            self.failed.emit(f"{type(exc).__name__}: {exc}")
            return
        if result is None:
            self.cancelled.emit()
        else:
            self.finished.emit(result)


class QtExportDialog(QDialog):
    """Choose formats and a folder, export with a progress bar, list the files written."""

    def __init__(
        self,
        spec: PlantSpec,
        tool: str,
        procedure: str,
        *,
        plant_path: Path | None = None,
        out_dir: str | Path | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Export for AR: {procedure} on {tool}")
        self.resize(620, 460)
        self.spec, self.tool, self.procedure, self.plant_path = spec, tool, procedure, plant_path
        self.export_result: ExportResult | None = None
        self.error = ""
        self.state = "idle"  # idle, running, done, failed, cancelled
        self._thread: QThread | None = None
        self._worker: ExportWorker | None = None
        lay = QVBoxLayout(self)
        lay.addWidget(QLabel(f"<b>{html.escape(procedure)}</b> on <b>{html.escape(tool)}</b>"))
        box = QGroupBox("Formats")
        bl = QVBoxLayout(box)
        self.format_checks: dict[str, QCheckBox] = {}
        for f in FORMATS:
            cb = QCheckBox(FORMAT_LABELS[f])
            cb.setChecked(True)
            cb.toggled.connect(self._update_buttons)
            bl.addWidget(cb)
            self.format_checks[f] = cb
        lay.addWidget(box)
        row = QHBoxLayout()
        default = (
            out_dir
            if out_dir is not None
            else ((plant_path.parent if plant_path else Path.cwd()) / "ar_export")
        )
        self.dir_edit = QLineEdit(str(default))
        browse = QPushButton("Folder…")
        browse.clicked.connect(self._on_browse)
        row.addWidget(QLabel("Write to"))
        row.addWidget(self.dir_edit, 1)
        row.addWidget(browse)
        lay.addLayout(row)
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setValue(0)
        self.status = QLabel("Ready.")
        self.status.setWordWrap(True)
        self.files = QListWidget()
        lay.addWidget(self.bar)
        lay.addWidget(self.status)
        lay.addWidget(self.files, 1)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton(
            "Export", QDialogButtonBox.ButtonRole.AcceptRole
        )
        self.cancel_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        self.close_button = self.buttons.addButton(QDialogButtonBox.StandardButton.Close)
        self.export_button.clicked.disconnect()
        self.cancel_button.clicked.disconnect()
        self.close_button.clicked.disconnect()
        self.export_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button.clicked.connect(self.close)
        lay.addWidget(self.buttons)
        self._update_buttons()

    def set_formats(self, formats: tuple[str, ...] | list[str]) -> None:
        """Tick exactly these formats."""
        for f, cb in self.format_checks.items():
            cb.setChecked(f in formats)

    def formats(self) -> tuple[str, ...]:
        """The ticked formats."""
        return tuple(f for f, cb in self.format_checks.items() if cb.isChecked())

    def _on_browse(self) -> None:
        d = QFileDialog.getExistingDirectory(self, "Export folder", self.dir_edit.text())
        if d:
            self.dir_edit.setText(d)

    def _update_buttons(self) -> None:
        running = self.state == "running"
        self.export_button.setEnabled(not running and bool(self.formats()))
        self.cancel_button.setEnabled(running)
        self.close_button.setEnabled(not running)

    def start(self) -> None:
        """Start the export on a worker thread."""
        if self.state == "running" or not self.formats():
            return
        self.files.clear()
        self.export_result, self.error = None, ""
        self.state = "running"
        self.bar.setValue(0)
        self._say("Starting…")
        thread = QThread(self)
        worker = ExportWorker(
            self.spec,
            self.tool,
            self.procedure,
            self.dir_edit.text().strip(),
            self.formats(),
            self.plant_path,
        )
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progress.connect(self._on_progress)
        worker.finished.connect(self._on_finished)
        worker.failed.connect(self._on_failed)
        worker.cancelled.connect(self._on_cancelled)
        for sig in (worker.finished, worker.failed, worker.cancelled):
            sig.connect(thread.quit)
        self._thread, self._worker = thread, worker
        self._update_buttons()
        thread.start()

    def cancel(self) -> None:
        """Stop the running export (nothing is written)."""
        if self._worker is not None and self.state == "running":
            self._say("Cancelling…")
            self._worker.cancel()

    def _on_progress(self, frac: float, msg: str) -> None:
        self.bar.setValue(round(frac * 1000))
        self._say(msg)

    def _on_finished(self, result: Any) -> None:
        self.export_result = result
        self.state = "done"
        self.bar.setValue(1000)
        files = result.all_files()
        self._say(f"Wrote {len(files)} files to {result.out_dir} in {result.seconds:.1f} s.")
        for p in files:
            self.files.addItem(str(p))
        self._update_buttons()

    def _on_failed(self, message: str) -> None:
        self.error = message
        self.state = "failed"
        self._say(f"<span>Export failed: {html.escape(message)}</span>", error=True)
        self._update_buttons()

    def _say(self, text: str, *, error: bool = False) -> None:
        """Show the export's status (rich text); a failure in the theme's error colour."""
        show_message(self.status, text, error=error)

    def _on_cancelled(self) -> None:
        self.state = "cancelled"
        self.bar.setValue(0)
        self._say("Cancelled; nothing was written.")
        self._update_buttons()

    def wait(self, ms: int = 60000) -> bool:
        """Block until the worker thread ends (for shutdown); return True if it did."""
        return self._thread.wait(ms) if self._thread is not None else True

    def closeEvent(self, event: Any) -> None:
        """Cancel a running export and wait for its thread before closing."""
        if self.state == "running":
            self.cancel()
            self.wait()
        super().closeEvent(event)
