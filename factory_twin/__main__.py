"""``python -m factory_twin``: the command line (see :mod:`factory_twin.cli`)."""

from __future__ import annotations

import sys

from factory_twin.cli import COMMANDS, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, build_parser, main

__all__ = ["COMMANDS", "EXIT_FAILURE", "EXIT_OK", "EXIT_USAGE", "build_parser", "main"]

if __name__ == "__main__":
    sys.exit(main())
