"""Convert an SMT2020 testbed model directory into a plant file.

Reads the AutoSched AP tables of one SMT2020 model (e.g. SMT2020_HVLM: tool.txt.1l,
route_N.txt, part.txt, order.txt, WIP.txt, setup.txt, setupgrp.txt, pmcal.txt, downcal.txt,
attach.txt, fromto.txt), writes a validated plant file and prints what could not be carried
over. Source: Kopp, Hassoun, Kalir, Mönch (2020), SMT2020 — A Semiconductor Manufacturing
Testbed, IEEE Transactions on Semiconductor Manufacturing 33(4), 522-531.
"""

from __future__ import annotations

import argparse
import logging
import time

from factory_twin.model.config import atomic_write_text
from factory_twin.model.smt2020 import import_smt2020

logger = logging.getLogger(__name__)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add this command's arguments."""
    p.add_argument("directory", metavar="DIR", help="SMT2020 model directory, e.g. SMT2020_HVLM")
    p.add_argument("-o", "--out", required=True, metavar="PLANT.yaml", help="plant file to write")
    p.add_argument("--name", help="site name (default: 'SMT2020 <model> (Kopp et al. 2020)')")
    p.add_argument(
        "--layout",
        metavar="SMAT2022_DIR",
        help="SMAT2022 folder: place the tools on the real layout and add its OHT rail network",
    )
    p.add_argument(
        "--fleet", type=int, default=100, metavar="N", help="OHT vehicles with --layout (100)"
    )
    p.add_argument("-q", "--quiet", action="store_true", help="do not print the import report")


def run(args: argparse.Namespace) -> int:
    """Import, write the plant atomically and print the report; 0 on success."""
    t0 = time.perf_counter()
    result = import_smt2020(args.directory, name=args.name, layout=args.layout, fleet=args.fleet)
    text = result.text()
    atomic_write_text(args.out, text)
    logger.info("imported %s in %.1f s", args.directory, time.perf_counter() - t0)
    if not args.quiet:
        for line in result.report.lines():
            print(line)
        print(f"wrote {args.out} ({len(text.encode('utf-8')) / 1e6:.2f} MB)")
    return 0
