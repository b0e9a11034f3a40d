"""The ``factory-twin`` command line: the top layer, above the desktop app (``ui``).

Each sub-command is a module of this package offering ``add_arguments(parser)`` and
``run(args) -> int``. Exit codes: 0 ok, 1 failure, 2 bad usage or bad input. With no
sub-command the desktop app opens on the demo fab.

Layers, top to bottom: ``cli -> ui -> app -> (sim | opcua | ar) -> model -> errors``
(import-linter enforces it; see pyproject.toml). A command module is imported only when its
command runs, so start-up stays fast; the imports are plain ``import`` statements inside
small loader functions, never imports by string, so the layering check sees them.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Callable, Iterator, Sequence
from types import ModuleType
from typing import NoReturn

from factory_twin import __version__
from factory_twin.errors import ConfigError, FactoryTwinError

# Each loader imports its command's module on demand (``simulate`` pulls in pandas and scipy,
# ``serve`` asyncua, ``open`` Qt and VTK).


def _open() -> ModuleType:
    from factory_twin.cli import open_cmd

    return open_cmd


def _validate() -> ModuleType:
    from factory_twin.cli import validate

    return validate


def _schema() -> ModuleType:
    from factory_twin.cli import schema

    return schema


def _simulate() -> ModuleType:
    from factory_twin.cli import simulate

    return simulate


def _compare() -> ModuleType:
    from factory_twin.cli import compare

    return compare


def _experiment() -> ModuleType:
    from factory_twin.cli import experiment

    return experiment


def _optimise() -> ModuleType:
    from factory_twin.cli import optimise

    return optimise


def _report() -> ModuleType:
    from factory_twin.cli import report

    return report


def _scenario() -> ModuleType:
    from factory_twin.cli import scenario

    return scenario


def _import_smt2020() -> ModuleType:
    from factory_twin.cli import import_smt2020

    return import_smt2020


def _serve() -> ModuleType:
    from factory_twin.cli import serve

    return serve


def _browse() -> ModuleType:
    from factory_twin.cli import browse

    return browse


def _import_opcua() -> ModuleType:
    from factory_twin.cli import import_opcua

    return import_opcua


def _record() -> ModuleType:
    from factory_twin.cli import record

    return record


def _export_ar() -> ModuleType:
    from factory_twin.cli import export_ar

    return export_ar


# name -> (module loader, one-line help). Order is the order --help lists them in.
COMMANDS: dict[str, tuple[Callable[[], ModuleType], str]] = {
    "open": (_open, "open the desktop app on a plant file"),
    "validate": (_validate, "check plant files, report every problem"),
    "schema": (_schema, "print the JSON Schema of the plant file format"),
    "simulate": (_simulate, "run a discrete-event simulation of a plant"),
    "compare": (_compare, "compare plant scenarios on common random numbers"),
    "experiment": (_experiment, "run an experiment file's scenarios and store the results"),
    "optimise": (_optimise, "search tool counts and dispatch rules by simulation (a study file)"),
    "report": (_report, "write an experiment result folder's report (HTML or PDF)"),
    "scenario": (_scenario, "show a scenario file's changes, or export it as a plant file"),
    "import-smt2020": (_import_smt2020, "convert an SMT2020 testbed model to a plant file"),
    "serve": (_serve, "run the OPC UA plant simulator server"),
    "browse": (_browse, "print an OPC UA server's address space"),
    "import": (_import_opcua, "write a plant file skeleton from a live OPC UA server"),
    "record": (_record, "record a plant's tags and alarms to Parquet"),
    "export-ar": (_export_ar, "export a maintenance procedure for AR devices"),
}

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        # one line that names the argument and the value; the usage is one --help away
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _command_in(argv: Sequence[str]) -> str | None:
    """Return the sub-command named in ``argv`` (the first word that is not an option)."""
    for word in argv:
        if not word.startswith("-"):
            return word
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """Return the parser.

    Only the module of the sub-command named in ``argv`` is imported (start-up stays fast:
    ``simulate`` pulls in pandas and scipy, ``serve`` asyncua, ...); with ``argv`` None every
    command's arguments are added.
    """
    parser = _Parser(
        prog="factory-twin",
        description="Digital twin of semiconductor and optoelectronics plants. "
        "With no command, opens the desktop app on the demo fab with its embedded "
        "OPC UA plant simulator.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    wanted = None if argv is None else _command_in(argv)
    for name, (load, help_text) in COMMANDS.items():
        if argv is not None and name != wanted:
            sub.add_parser(name, help=help_text, description=help_text)
            continue
        mod = load()
        p = sub.add_parser(name, help=help_text, description=(mod.__doc__ or help_text).strip())
        mod.add_arguments(p)
        p.set_defaults(_run=mod.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if _command_in(argv) is None and not any(a in ("-h", "--help", "--version") for a in argv):
        argv = [*argv, "open"]
    first = _command_in(argv)
    if first is not None and first not in COMMANDS and first.endswith((".yaml", ".yml")):
        i = argv.index(first)
        argv = [*argv[:i], "open", *argv[i:]]  # `factory-twin PLANT.yaml` opens that plant
    parser = build_parser(argv)
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # bad usage (2), or --help / --version (0): a code, not a raise
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return EXIT_USAGE
    with command_logging(args.verbose):
        return _run(args)


@contextlib.contextmanager
def command_logging(verbose: int) -> Iterator[logging.Handler]:
    """Log to stderr at WARNING (``-v`` INFO, ``-vv`` DEBUG) while the block runs.

    The root logger's level and handlers are put back afterwards, whatever happens: a
    program that calls :func:`main` (a test, an embedding application) keeps its own logging
    set-up, and a second call adds no second handler. Unlike ``logging.basicConfig``, the
    handler is added even when the caller has handlers of its own, so ``-v`` always shows.

    Examples
    --------
    >>> root = logging.getLogger()
    >>> before = (root.level, list(root.handlers))
    >>> with command_logging(1) as h:
    ...     root.level == logging.INFO and h in root.handlers
    True
    >>> (root.level, list(root.handlers)) == before
    True
    """
    root = logging.getLogger()
    level, handlers = root.level, list(root.handlers)
    handler = logging.StreamHandler(sys.stderr)  # the stderr of now (pytest swaps it)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root.addHandler(handler)
    root.setLevel(logging.WARNING - 10 * min(verbose, 2))
    try:
        yield handler
    finally:
        root.setLevel(level)
        for h in list(root.handlers):
            if h not in handlers:
                root.removeHandler(h)
        for h in handlers:
            if h not in root.handlers:
                root.addHandler(h)
        handler.close()


def _run(args: argparse.Namespace) -> int:
    """Run the parsed command; turn its errors into messages and exit codes."""
    try:
        return int(args._run(args))
    except ConfigError as exc:
        for line in exc.issues:
            print(line, file=sys.stderr)
        return EXIT_USAGE
    except FactoryTwinError as exc:
        print(f"factory-twin: error: {exc}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("factory-twin: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:  # a file or socket the user named: say which and why
        print(f"factory-twin: error: {os_error_text(exc)}", file=sys.stderr)
        return EXIT_FAILURE
    except Exception as exc:
        # a bug, not the user's fault: one line, the traceback with -v, never a crash dump
        if args.verbose:
            logging.getLogger("factory_twin").exception("unexpected error")
        first = (str(exc).strip().splitlines() or [""])[0]  # a library's text may run on
        print(
            f"factory-twin: internal error: {type(exc).__name__}: {first} "
            "(run with -v for the traceback, and please report it)",
            file=sys.stderr,
        )
        return EXIT_FAILURE


def os_error_text(exc: OSError) -> str:
    """``FILE: why`` for an error about a file (``[Errno 13] ...`` says less), else its text.

    Examples
    --------
    >>> os_error_text(PermissionError(13, "Permission denied", "out/r.html"))
    'out/r.html: Permission denied'
    >>> os_error_text(FileExistsError(17, "File exists", "results"))
    'results: File exists (not a folder?)'
    """
    if exc.filename is None or not exc.strerror:
        return str(exc)
    name = str(exc.filename)
    if exc.filename2 is not None:
        name = f"{name} -> {exc.filename2}"
    hint = " (not a folder?)" if isinstance(exc, FileExistsError) else ""
    return f"{name}: {exc.strerror}{hint}"
