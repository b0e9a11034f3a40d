"""The ``factory-twin`` command line.

Each sub-command lives in its own module under :mod:`factory_twin.app.commands` and offers
``add_arguments(parser)`` and ``run(args) -> int``. Exit codes: 0 ok, 1 failure, 2 bad usage
or bad input. With no sub-command the desktop app opens on the demo fab.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from factory_twin import __version__
from factory_twin.errors import ConfigError, FactoryTwinError

# name -> (module, one-line help). Order is the order --help lists them in.
COMMANDS: dict[str, tuple[str, str]] = {
    "open": ("factory_twin.app.commands.open_cmd", "open the desktop app on a plant file"),
    "validate": ("factory_twin.app.commands.validate", "check plant files, report every problem"),
    "schema": ("factory_twin.app.commands.schema", "print the JSON Schema of the plant file format"),
    "simulate": ("factory_twin.app.commands.simulate", "run a discrete-event simulation of a plant"),
    "compare": ("factory_twin.app.commands.compare", "compare plant scenarios on common random numbers"),
    "import-smt2020": ("factory_twin.app.commands.import_smt2020", "convert an SMT2020 testbed model to a plant file"),
    "serve": ("factory_twin.app.commands.serve", "run the OPC UA plant simulator server"),
    "browse": ("factory_twin.app.commands.browse", "print an OPC UA server's address space"),
    "import": ("factory_twin.app.commands.import_opcua", "write a plant file skeleton from a live OPC UA server"),
    "record": ("factory_twin.app.commands.record", "record a plant's tags and alarms to Parquet"),
    "export-ar": ("factory_twin.app.commands.export_ar", "export a maintenance procedure for AR devices"),
}

EXIT_OK, EXIT_FAILURE, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


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
    for name, (module, help_text) in COMMANDS.items():
        if argv is not None and name != wanted:
            sub.add_parser(name, help=help_text, description=help_text)
            continue
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name == module:
                continue  # that command is not part of this build
            raise
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
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.WARNING - 10 * min(args.verbose, 2),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if getattr(args, "_run", None) is None:
        parser.print_help()
        return EXIT_USAGE
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


if __name__ == "__main__":
    sys.exit(main())
