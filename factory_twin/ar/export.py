"""Export one maintenance procedure on one tool in several AR formats, with progress.

Two ways in:

* :func:`iter_export` is a generator yielding ``(fraction, message)``; closing it (or
  stopping to iterate) cancels. This is the form a GUI worker thread wants: it can abort
  between yields (superqt's ``thread_worker`` does exactly that).
* :func:`export_procedure` runs it to the end, calling ``progress(fraction, message)``;
  the callback returns False to cancel, which raises :class:`ExportCancelled`.

Every file is built in a hidden staging folder inside ``out_dir`` and moved into place
only when all formats are done, so a failed or cancelled export changes nothing.

Examples
--------
>>> from factory_twin.model.config import load_plant                     # doctest: +SKIP
>>> doc = load_plant("plant_configs/demo_fab.yaml")                       # doctest: +SKIP
>>> result = export_procedure(doc.spec, "ETCH-01", "etch-chamber-clean", "out",
...                           plant_path=doc.path)                        # doctest: +SKIP
>>> sorted(result.files)                                                  # doctest: +SKIP
['arlem', 'glb', 'html', 'pdf', 'usdz']
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from factory_twin.errors import ExportError
from factory_twin.model import schema as s

from .context import ExportContext, ExportInputError, build_context

logger = logging.getLogger(__name__)

FORMATS: tuple[str, ...] = ("glb", "usdz", "html", "arlem", "pdf")
"""Every export format, in the order they are written."""

# relative cost of each format, for an even progress bar
_WEIGHT = {"glb": 1.0, "usdz": 2.0, "html": 1.0, "arlem": 0.5, "pdf": 5.0}

Progress = Generator[tuple[float, str], None, dict[str, bytes]]


class ExportCancelled(ExportError):
    """The export was cancelled; nothing was written."""


@dataclass
class ExportResult:
    """What an export wrote.

    Attributes
    ----------
    out_dir
        The folder the files are in.
    files
        Format name -> files written for it (ARLEM writes two).
    seconds
        Wall time of the export.
    """

    out_dir: Path
    files: dict[str, list[Path]] = field(default_factory=dict)
    seconds: float = 0.0

    def all_files(self) -> list[Path]:
        """Return every file written, in format order."""
        return [p for f in FORMATS for p in self.files.get(f, [])]


def parse_formats(text: str | Iterable[str]) -> tuple[str, ...]:
    """Return formats from ``"glb,pdf"`` or a list, in :data:`FORMATS` order.

    Raises
    ------
    ExportInputError
        If a name is not a known format or none is given.
    """
    items = text.split(",") if isinstance(text, str) else list(text)
    names = {t.strip().lower() for t in items if t.strip()}
    unknown = sorted(names - set(FORMATS))
    if unknown:
        msg = f"unknown export format(s) {', '.join(unknown)}; choose from {', '.join(FORMATS)}"
        raise ExportInputError(msg)
    if not names:
        msg = f"no export format given; choose from {', '.join(FORMATS)}"
        raise ExportInputError(msg)
    return tuple(f for f in FORMATS if f in names)


def _writer(fmt: str, ctx: ExportContext) -> Progress:
    # imported on demand: usd-core and reportlab take a while to load
    if fmt == "glb":
        from .gltf import iter_glb

        data = yield from iter_glb(ctx)
        return {f"{ctx.stem}.glb": data}
    if fmt == "usdz":
        from .usdz import iter_usdz

        data = yield from iter_usdz(ctx)
        return {f"{ctx.stem}.usdz": data}
    if fmt == "html":
        from .html import iter_html

        data = yield from iter_html(ctx)
        return {f"{ctx.stem}.html": data}
    if fmt == "arlem":
        from .arlem import iter_arlem

        return (yield from iter_arlem(ctx))
    if fmt == "pdf":
        from .pdf import iter_pdf

        data = yield from iter_pdf(ctx)
        return {f"{ctx.stem}.pdf": data}
    msg = f"unknown export format {fmt!r}"
    raise ExportInputError(msg)


def iter_export(
    spec: s.PlantSpec,
    equipment_id: str,
    procedure: str,
    out_dir: str | Path,
    formats: Iterable[str] = FORMATS,
    *,
    plant_path: str | Path | None = None,
) -> Generator[tuple[float, str], None, ExportResult]:
    """Export a procedure, yielding ``(fraction in [0, 1], message)`` as it goes.

    Parameters
    ----------
    spec
        The plant.
    equipment_id
        The tool to export the procedure for.
    procedure
        Id or name of a procedure of that tool's type.
    out_dir
        Folder to write into (created if missing). Files are named
        ``<equipment>_<procedure>_rev<revision>.<ext>``.
    formats
        Any of :data:`FORMATS`.
    plant_path
        The plant file, for mesh files relative to it and for metadata.

    Returns
    -------
    ExportResult
        As the generator's return value (``StopIteration.value``).

    Raises
    ------
    ExportInputError
        Unknown tool, procedure, component or format.
    ExportError
        A file could not be built or written.
    """
    start = time.perf_counter()
    fmts = parse_formats(list(formats))
    yield 0.0, f"Preparing {procedure} on {equipment_id}"
    ctx = build_context(spec, equipment_id, procedure, plant_path=plant_path)
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out))
    except OSError as exc:
        msg = f"cannot write to {out}: {exc}"
        raise ExportError(msg) from None
    total = sum(_WEIGHT[f] for f in fmts)
    done = 0.0
    written: dict[str, list[str]] = {}
    try:
        for fmt in fmts:
            w = _WEIGHT[fmt]
            gen = _writer(fmt, ctx)
            while True:
                try:
                    frac, message = next(gen)
                except StopIteration as stop:
                    files: dict[str, bytes] = stop.value
                    break
                yield 0.02 + 0.96 * (done + w * min(max(frac, 0.0), 1.0)) / total, message
            for name, data in files.items():
                with (staging / name).open("wb") as fh:
                    fh.write(data)
                    fh.flush()
                    os.fsync(fh.fileno())
            written[fmt] = list(files)
            done += w
            logger.info("exported %s: %s", fmt, ", ".join(files))
        yield 0.99, "Moving files into place"
        result = ExportResult(out_dir=out)
        for fmt, names in written.items():
            result.files[fmt] = []
            for name in names:
                os.replace(staging / name, out / name)
                result.files[fmt].append(out / name)
    except OSError as exc:
        msg = f"cannot write the export to {out}: {exc}"
        raise ExportError(msg) from None
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    result.seconds = time.perf_counter() - start
    yield 1.0, f"Exported {len(result.all_files())} files to {out}"
    return result


def export_procedure(
    spec: s.PlantSpec,
    equipment_id: str,
    procedure: str,
    out_dir: str | Path,
    formats: Iterable[str] = FORMATS,
    *,
    plant_path: str | Path | None = None,
    progress: Callable[[float, str], bool | None] | None = None,
) -> ExportResult:
    """Export a procedure (see :func:`iter_export`), reporting to ``progress``.

    ``progress(fraction, message)`` may return False to cancel: the export stops, nothing
    is written and :class:`ExportCancelled` is raised.
    """
    gen = iter_export(spec, equipment_id, procedure, out_dir, formats, plant_path=plant_path)
    while True:
        try:
            frac, message = next(gen)
        except StopIteration as stop:
            return stop.value
        if progress is not None and progress(frac, message) is False:
            gen.close()
            msg = "export cancelled"
            raise ExportCancelled(msg)


__all__ = [
    "FORMATS",
    "ExportCancelled",
    "ExportInputError",
    "ExportResult",
    "export_procedure",
    "iter_export",
    "parse_formats",
]
