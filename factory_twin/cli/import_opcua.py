"""Write a plant file skeleton from a live OPC UA server.

Finds Machinery-style machines (a Machines folder) or any objects holding variables, makes
one equipment type per distinct set of variables (units from EngineeringUnits, normal
ranges from EURange), binds every tag by node id and lays the tools out on a provisional
grid, one bay per type. The result passes ``factory-twin validate`` and binds with
``factory-twin open``; edit kinds, shapes and layout afterwards.

Example: factory-twin import opc.tcp://plc-gateway:4840/ -o plant_configs/line3.yaml
"""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any

from factory_twin.cli.args import non_negative_int, nonempty_text, opc_url
from factory_twin.cli.browse import (
    add_connection_arguments,
    connect_options,
    quiet_asyncua,
)
from factory_twin.errors import ConfigError, ConnectionFailed, FactoryTwinError
from factory_twin.model.schema import SecurityMode

if TYPE_CHECKING:
    from factory_twin.opcua.client_common import ConnectOptions

_SHOW_SKIPPED = 20


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add this command's arguments."""
    p.add_argument(
        "endpoint", type=opc_url, metavar="ENDPOINT", help="server URL, opc.tcp://host:port/path"
    )
    p.add_argument("-o", "--output", type=Path, required=True, help="plant YAML file to write")
    p.add_argument(
        "--site-name", type=nonempty_text, default="Imported plant", help="name of the site"
    )
    p.add_argument(
        "--endpoint-id", type=nonempty_text, default="plant",
        help="id of the endpoint in the plant file",
    )  # fmt: skip
    p.add_argument(
        "--depth",
        type=non_negative_int,
        default=5,
        help="levels below Objects to search (default 5)",
    )
    add_connection_arguments(p)


def run(args: argparse.Namespace) -> int:
    """Discover, write, report; 0 on success, 1 if unreachable or nothing found."""
    opts = connect_options(args, args.endpoint)
    if args.output.suffix.lower() not in (".yaml", ".yml"):
        msg = f"output must be a .yaml file, got {args.output}"
        raise ConfigError([msg])
    quiet_asyncua(args)
    machines = asyncio.run(_discover(opts, args.depth))
    from factory_twin.opcua.discovery import plant_from_machines, write_plant

    try:
        data = plant_from_machines(
            machines,
            args.endpoint,
            security=SecurityMode(args.security),
            site_name=args.site_name,
            endpoint_id=args.endpoint_id,
        )
    except LookupError as exc:
        msg = f"{args.endpoint}: {exc}"
        raise FactoryTwinError(msg) from None
    write_plant(data, args.output, args.endpoint)
    n_tags = sum(len(m.tags) for m in machines)
    print(
        f"{args.output}: {len(machines)} machines, {len(data['equipment_types'])} equipment "
        f"types, {n_tags} tags bound by node id"
    )
    skipped = [s for m in machines for s in m.skipped]
    if skipped:
        print(f"left out {len(skipped)} variables no plant tag can hold:")
        for line in skipped[:_SHOW_SKIPPED]:
            print(f"  {line}")
        if len(skipped) > _SHOW_SKIPPED:
            print(f"  ... and {len(skipped) - _SHOW_SKIPPED} more")
    return 0


async def _discover(opts: ConnectOptions, depth: int) -> Any:
    from factory_twin.opcua.client_common import connect, describe_error, disconnect_quietly
    from factory_twin.opcua.discovery import discover

    client = await connect(opts)
    try:
        return await discover(client, depth)
    except Exception as exc:
        msg = f"discovering {opts.url} failed: {describe_error(exc)}"
        raise ConnectionFailed(msg) from exc
    finally:
        await disconnect_quietly(client)
