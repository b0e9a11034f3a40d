"""Export maintenance procedures for AR devices: the wiring between the window and ``ar/``.

The Maintain workspace's export dialog (``ui/``) and the ``export-ar`` command both drive
:func:`factory_twin.ar.export.iter_export` through :class:`ExportJob`, which turns the
exporter's generator into progress callbacks and stops it cleanly between steps when asked
(the export's staging folder is removed and nothing is written).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from factory_twin.ar.export import (
    FORMATS,
    ExportCancelled,
    ExportResult,
    export_procedure,
    parse_formats,
)
from factory_twin.model.schema import PlantSpec

__all__ = ["FORMATS", "FORMAT_LABELS", "ExportJob", "ExportResult", "parse_formats"]

#: What each format is for, as a person choosing formats reads it.
FORMAT_LABELS: dict[str, str] = {
    "glb": "glTF binary (.glb): Android, web, HoloLens",
    "usdz": "USDZ: iPhone / iPad AR Quick Look",
    "html": "Offline HTML page (tablets)",
    "arlem": "IEEE 1589 ARLEM activity + workplace (JSON)",
    "pdf": "PDF checklist (paper)",
}

ProgressCallback = Callable[[float, str], None]


@dataclass
class ExportJob:
    """One export of one procedure on one tool, cancellable from another thread.

    Parameters
    ----------
    spec
        The plant.
    equipment_id
        The tool.
    procedure
        Id or name of a procedure of that tool's type.
    out_dir
        Folder to write into (created if missing).
    formats
        Any of :data:`FORMATS`.
    plant_path
        The plant file (mesh files are relative to it).
    """

    spec: PlantSpec
    equipment_id: str
    procedure: str
    out_dir: str | Path
    formats: Iterable[str] = FORMATS
    plant_path: Path | None = None
    _cancel: threading.Event = field(default_factory=threading.Event, repr=False)

    def cancel(self) -> None:
        """Ask the export to stop at its next step (safe from any thread)."""
        self._cancel.set()

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` was called."""
        return self._cancel.is_set()

    def run(self, progress: ProgressCallback | None = None) -> ExportResult | None:
        """Run the export on the calling thread.

        Parameters
        ----------
        progress
            Called with ``(fraction in [0, 1], message)`` after each step.

        Returns
        -------
        ExportResult or None
            The files written, or None when the job was cancelled (nothing written).

        Raises
        ------
        factory_twin.errors.ExportError
            Bad tool, procedure or format (``ExportInputError``), or a file that could not
            be built or written.
        """

        def report(frac: float, message: str) -> bool:
            if progress is not None:
                progress(frac, message)
            return not self._cancel.is_set()

        if self._cancel.is_set():
            return None
        try:
            return export_procedure(
                self.spec,
                self.equipment_id,
                self.procedure,
                self.out_dir,
                tuple(self.formats),
                plant_path=self.plant_path,
                progress=report,
            )
        except ExportCancelled:
            return None
