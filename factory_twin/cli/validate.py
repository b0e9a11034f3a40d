"""Check plant files against the schema and their cross-references.

Prints every problem as FILE:LINE: FIELD: MESSAGE and exits 2 if any file is invalid.
"""

from __future__ import annotations

import argparse
import sys

from factory_twin.errors import ConfigError
from factory_twin.model.config import load_plant


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add this command's arguments."""
    p.add_argument("files", nargs="+", metavar="FILE", help="plant YAML files")
    p.add_argument("-q", "--quiet", action="store_true", help="print only problems")


def run(args: argparse.Namespace) -> int:
    """Validate each file; return 0 if all are valid, 2 otherwise."""
    bad = 0
    for f in args.files:
        try:
            doc = load_plant(f)
        except ConfigError as exc:
            bad += 1
            for line in exc.issues:
                print(line, file=sys.stderr)
            continue
        if not args.quiet:
            sp = doc.spec
            print(
                f"{f}: ok ({sp.site.name}: {len(sp.site.bays)} bays, {len(sp.equipment)} tools, "
                f"{len(sp.routes)} routes, {sum(len(r.steps) for r in sp.routes)} steps, "
                f"{len(sp.procedures)} procedures)"
            )
    return 2 if bad else 0
