"""Write the report of an experiment's result folder: one self-contained HTML file or a PDF.

The report holds the scenarios and their changes in words, the options, the KPI and
difference tables with 95% confidence intervals, charts, the static capacity summary and
the engine version and seeds that reproduce the results. The HTML embeds everything (no
network needed to open it); the format follows the suffix of -o.

The folder of a ``simulate`` or ``compare`` run (``--out DIR``: a summary.json and no
experiment.json) gives a shorter report of its summary: complete or partial and why, the
options, the KPIs with their intervals and a comparison's differences.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from factory_twin.app.experiment_report import write_report
from factory_twin.app.experiment_result import load_result
from factory_twin.errors import ConfigError


def _output(text: str) -> Path:
    p = Path(text)
    if p.suffix.lower() not in (".html", ".htm", ".pdf"):
        msg = f"the report is .html or .pdf, got {text!r}"
        raise argparse.ArgumentTypeError(msg)
    return p


_output.__name__ = "report file"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add this command's arguments."""
    p.add_argument(
        "result", type=Path, metavar="RESULT_DIR",
        help="an experiment's result folder, or the --out folder of simulate or compare",
    )  # fmt: skip
    p.add_argument(
        "-o", "--out", type=_output, required=True, metavar="REPORT.html|REPORT.pdf",
        help="the report file (format by suffix)",
    )  # fmt: skip


def run(args: argparse.Namespace) -> int:
    """Write the report; return 0 (2 if the folder is not a complete result)."""
    from factory_twin.app.run_summary import is_run_folder, load_run_summary, write_run_report

    if is_run_folder(args.result):
        summary = load_run_summary(args.result)
        print(f"wrote {write_run_report(summary, args.out)}")
        if summary.partial is not None:
            msg = summary.partial.get("message", "")
            print(f"factory-twin: note: the results are partial: {msg}", file=sys.stderr)
        return 0
    res = load_result(args.result)
    try:
        path = write_report(res, args.out)
    except (ValueError, KeyError) as exc:
        # a damaged file of the result: a cut or overwritten Parquet table (ArrowInvalid), an
        # edited plant.json (ValidationError) or scenario marker (a missing key)
        from factory_twin.app.experiment_store import damage

        found = [d for sc in res.scenarios if (d := damage(sc.folder)) is not None]
        if found:  # name the file; the experiment runs a damaged scenario again
            raise ConfigError([f"{d}; run the experiment again" for d in found]) from None
        why = (str(exc).strip().splitlines() or [""])[0]
        msg = (
            f"{args.result}: a file of this result is damaged ({type(exc).__name__}: {why}); "
            "run the experiment again"
        )
        raise ConfigError([msg]) from None
    print(f"wrote {path}")
    return 0
