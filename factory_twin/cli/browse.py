"""Print an OPC UA server's address space as a tree.

Each line shows the node class, browse name (``ns:name``), node id and, for variables,
the data type and current value. Starts at Objects unless --root is given. A node reached
through several parents or a reference loop is listed in full at its first place and as one
reference line at each other place, marked ``(shown above)`` or ``(shown below)``.

Example: factory-twin browse opc.tcp://127.0.0.1:4840/factory_twin/ --depth 4 --filter ETCH
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from typing import TYPE_CHECKING

from factory_twin.cli.args import folder_path, non_negative_int, opc_url, positive_float
from factory_twin.errors import ConfigError, ConnectionFailed, FactoryTwinError
from factory_twin.model.schema import SecurityMode

if TYPE_CHECKING:
    from asyncua import ua

    from factory_twin.opcua.client_common import ConnectOptions


def add_connection_arguments(p: argparse.ArgumentParser) -> None:
    """Add --security, --user, --password and --cert-dir (shared with ``import``)."""
    p.add_argument(
        "--security",
        choices=[m.value for m in SecurityMode],
        default="none",
        help="message security (Basic256Sha256 for sign / sign-encrypt); default none",
    )
    p.add_argument("--user", help="user name (password from --password or $FACTORY_TWIN_PASSWORD)")
    p.add_argument("--password", help="password (prefer $FACTORY_TWIN_PASSWORD)")
    p.add_argument(
        "--cert-dir",
        type=folder_path,
        help="folder of the client certificate (made on first use; default: user data folder)",
    )
    p.add_argument(
        "--timeout", type=positive_float, default=5.0, help="seconds to wait for each request"
    )


def connect_options(args: argparse.Namespace, url: str) -> ConnectOptions:
    """Build connection options from the shared arguments."""
    from factory_twin.opcua.client_common import ConnectOptions

    if not url.startswith("opc.tcp://"):
        msg = f"endpoint must look like opc.tcp://host:port/path, got {url!r}"
        raise ConfigError([msg])
    password = args.password or os.environ.get("FACTORY_TWIN_PASSWORD")
    if args.user and password is None:
        msg = f"user {args.user!r} needs a password (--password or $FACTORY_TWIN_PASSWORD)"
        raise ConfigError([msg])
    return ConnectOptions(
        url,
        SecurityMode(args.security),
        args.user,
        password,
        args.cert_dir,
        timeout_s=args.timeout,
        security_setting="--security",
    )


def quiet_asyncua(args: argparse.Namespace) -> None:
    """Silence asyncua's own log lines unless -v was given (our errors say what failed)."""
    if not getattr(args, "verbose", 0):
        logging.getLogger("asyncua").setLevel(logging.CRITICAL)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add this command's arguments."""
    p.add_argument(
        "endpoint", type=opc_url, metavar="ENDPOINT", help="server URL, opc.tcp://host:port/path"
    )
    p.add_argument(
        "--depth",
        type=non_negative_int,
        default=3,
        help="levels below the root to show (default 3)",
    )
    p.add_argument(
        "--filter", metavar="TEXT", help="show only nodes whose name or id contains TEXT"
    )
    p.add_argument(
        "--root", metavar="NODEID", help="start here instead of Objects (e.g. ns=2;s=ETCH-01)"
    )
    p.add_argument(
        "--server-node", action="store_true", help="also expand the standard Server object"
    )
    add_connection_arguments(p)


def run(args: argparse.Namespace) -> int:
    """Browse and print; 0 on success, 1 if the server cannot be reached, 2 on bad input."""
    if args.depth < 0:
        msg = f"--depth must be 0 or more, got {args.depth}"
        raise ConfigError([msg])
    opts = connect_options(args, args.endpoint)
    root = None
    if args.root:
        from factory_twin.opcua.client_common import parse_node_id

        try:
            root = parse_node_id(args.root)
        except ValueError as exc:
            raise ConfigError([str(exc)]) from None
    quiet_asyncua(args)
    lines = asyncio.run(_browse(opts, root, args.depth, args.filter, args.server_node))
    for line in lines:
        print(line)
    if args.filter and len(lines) <= 1:
        print(f"(nothing matches {args.filter!r} within {args.depth} levels)")
    return 0


async def _browse(
    opts: ConnectOptions, root: ua.NodeId | None, depth: int, text: str | None, server_node: bool
) -> list[str]:
    from factory_twin.opcua.browse import browse_tree, format_tree
    from factory_twin.opcua.client_common import (
        connect,
        describe_error,
        disconnect_quietly,
        with_namespace_index,
    )

    client = await connect(opts)
    try:
        if root is not None:  # a root given as nsu=URI;... names its namespace by URI
            root = with_namespace_index(root, await client.get_namespace_array())
        tree = await browse_tree(client, root, depth, expand_server=server_node)
    except (LookupError, ValueError) as exc:
        raise FactoryTwinError(str(exc)) from None
    except ConnectionFailed:
        raise
    except Exception as exc:
        msg = f"browsing {opts.url} failed: {describe_error(exc)}"
        raise ConnectionFailed(msg) from exc
    finally:
        await disconnect_quietly(client)
    return format_tree(tree, text)
