"""What the commands that run many simulations share: their run options and progress line.

``factory-twin experiment`` and ``factory-twin optimise`` both write an output folder, may
run on a Dask scheduler or on local worker processes (:func:`add_run_options`), and show
their progress as one line on stderr (:class:`ProgressLine`): rewritten in place on a
terminal, one line per report otherwise (a log file or a pipe keeps every step).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from factory_twin.app.experiment_spec import scheduler_address
from factory_twin.cli.args import bounded_int


def dask_address(text: str) -> str:
    """An argument type: a Dask scheduler as ``host:port`` or ``dask://host:port``."""
    url = text if "://" in text else f"dask://{text}"
    try:
        scheduler_address(url)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return url


dask_address.__name__ = "address"


def add_run_options(p: argparse.ArgumentParser, *, out_help: str, dask_help: str) -> None:
    """Add ``-o/--out DIR``, ``--dask ADDRESS`` and ``--processes N`` to ``p``."""
    p.add_argument("-o", "--out", type=Path, default=None, metavar="DIR", help=out_help)
    p.add_argument("--dask", type=dask_address, default=None, metavar="ADDRESS", help=dask_help)
    p.add_argument(
        "--processes", type=bounded_int(1, 1024), default=None, metavar="N",
        help="local worker processes (default: the file's, else one per core)",
    )  # fmt: skip


def duration(s: float) -> str:
    """Seconds as ``M min SS s`` (or ``S s`` under a minute)."""
    m, sec = divmod(round(s), 60)
    return f"{m} min {sec:02d} s" if m else f"{sec} s"


class ProgressLine:
    """One progress line on stderr: rewritten in place on a terminal, a line per report else.

    Parameters
    ----------
    width
        On a terminal, the line is cut to this many characters (None: never cut).
    """

    def __init__(self, width: int | None = None) -> None:
        self.tty = sys.stderr.isatty()
        self.width = width
        self.shown = False
        self.last = ""

    def show(self, text: str) -> None:
        """Show ``text`` (a repeat of the last line is not shown again)."""
        if text == self.last:
            return
        self.last = text
        if self.tty:
            sys.stderr.write("\r\x1b[2K" + text[: self.width])
            self.shown = True
        else:
            print(text, file=sys.stderr)
        sys.stderr.flush()

    def close(self) -> None:
        """End the line on a terminal (so what is printed next starts on its own)."""
        if self.shown:
            sys.stderr.write("\n")
            self.shown = False
