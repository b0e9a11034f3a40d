"""Open the desktop app on a plant file.

With no file, opens the demo fab (plant_configs/demo_fab.yaml), starts its embedded OPC UA
plant simulator on a free loopback port and connects to it as an ordinary OPC UA client.
With a file, connects to the plant's configured endpoints (or --endpoint); add --simulator
to run the embedded simulator for it instead, or --replay to play a recorded history.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from factory_twin.cli.args import opc_url, positive_float
from factory_twin.errors import ConfigError
from factory_twin.model.scenario import is_scenario_path


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add this command's arguments."""
    p.add_argument("plant", nargs="?", metavar="PLANT.yaml", help="plant file (default: demo fab)")
    p.add_argument(
        "--endpoint", type=opc_url, metavar="URL", help="OPC UA URL replacing the plant's endpoint"
    )
    sim = p.add_mutually_exclusive_group()
    sim.add_argument(
        "--simulator",
        dest="simulator",
        action="store_true",
        default=None,
        help="run the embedded plant simulator server and connect to it",
    )
    sim.add_argument(
        "--no-simulator",
        dest="simulator",
        action="store_false",
        help="connect to the plant's own servers (the default for a given file)",
    )
    p.add_argument(
        "--replay",
        metavar="HISTORY.parquet",
        help="replay a recorded history instead of connecting",
    )
    p.add_argument(
        "--speed",
        type=positive_float,
        default=None,
        help="simulator speed in plant seconds per second (default 60); with --replay, the "
        "replay's (the nearest of 1, 10, 60, 300, 1800, 3600; default: the speed chosen last "
        "in the app)",
    )


def run(args: argparse.Namespace) -> int:
    """Run the window until it closes; return its exit code."""
    if args.endpoint and args.simulator:
        msg = "--endpoint and --simulator exclude each other"
        raise ConfigError([msg])
    for what, name in (("plant file", args.plant), ("history", args.replay)):
        if name is not None and not Path(name).is_file():
            msg = f"{name}: no such {what}" if not Path(name).exists() else f"{name}: not a file"
            raise ConfigError([msg])
    if args.plant is not None and is_scenario_path(args.plant):
        # the Plan workspace will open scenarios; until then, say how to get a plant
        msg = (
            f"{args.plant}: a scenario file: the app opens plant files (export it with "
            f"'factory-twin scenario export {args.plant} -o PLANT.yaml', or simulate it)"
        )
        raise ConfigError([msg])
    from factory_twin.ui.app import run as run_app  # Qt and VTK load only for this command

    simulator = False if args.endpoint else args.simulator
    return run_app(
        args.plant,
        endpoint=args.endpoint,
        simulator=simulator,
        replay=args.replay,
        speed=args.speed,
    )
