"""AR work instructions: export a maintenance procedure for AR devices, tablets and paper.

One procedure on one tool becomes a glTF binary (``.glb``), a USDZ for ARKit/Quick Look,
one self-contained offline HTML page, an IEEE 1589 ARLEM activity and workplace (JSON) and
a PDF checklist. Every file names the plant, equipment, procedure and revision.

No Qt here; the desktop app drives :func:`iter_export` from a worker thread.
"""

from __future__ import annotations

from .context import ExportContext, ExportInputError, build_context
from .export import (
    FORMATS,
    ExportCancelled,
    ExportResult,
    export_procedure,
    iter_export,
    parse_formats,
)

__all__ = [
    "FORMATS",
    "ExportCancelled",
    "ExportContext",
    "ExportInputError",
    "ExportResult",
    "build_context",
    "export_procedure",
    "iter_export",
    "parse_formats",
]
