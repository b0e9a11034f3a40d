"""Export a maintenance procedure for AR devices, tablets and print.

Writes, for one procedure on one tool: a glTF binary (.glb), a USDZ (ARKit / Quick Look),
a self-contained offline HTML page, an IEEE 1589 ARLEM activity and workplace (two .json)
and a PDF checklist with sign-off boxes. Files are named
<equipment>_<procedure>_rev<revision>.<ext> in the output folder.
"""

from __future__ import annotations

import argparse
import sys

from factory_twin.app.ar_export import FORMATS, ExportJob, parse_formats
from factory_twin.ar import ExportInputError
from factory_twin.model.config import load_plant


def _formats(text: str) -> tuple[str, ...]:
    try:
        return parse_formats(text)
    except ExportInputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add this command's arguments."""
    p.add_argument("plant", metavar="PLANT.yaml", help="plant file")
    p.add_argument("--equipment", required=True, metavar="ID", help="tool id, e.g. ETCH-01")
    p.add_argument("--procedure", required=True, metavar="NAME", help="procedure id (or its name)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder (created)")
    p.add_argument(
        "--format",
        type=_formats,
        default=FORMATS,
        metavar="LIST",
        help=f"comma-separated formats (default: all: {','.join(FORMATS)})",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print only the files written")


def run(args: argparse.Namespace) -> int:
    """Export; return 0 on success, 2 for a bad plant/tool/procedure."""
    doc = load_plant(args.plant)
    show = not args.quiet and sys.stderr.isatty()

    def progress(frac: float, message: str) -> None:
        if show:
            print(f"\r[{frac:4.0%}] {message[:70]:<70}", end="", file=sys.stderr)

    job = ExportJob(doc.spec, args.equipment, args.procedure, args.out, args.format, doc.path)
    try:
        result = job.run(progress)
    except ExportInputError as exc:
        print(f"factory-twin export-ar: {exc}", file=sys.stderr)
        return 2
    finally:
        if show:
            print(file=sys.stderr)
    assert result is not None  # nothing cancels a command-line export
    for path in result.all_files():
        print(path)
    if not args.quiet:
        print(
            f"{len(result.all_files())} files in {result.seconds:.1f} s "
            f"({', '.join(result.files)})",
            file=sys.stderr,
        )
    return 0
