"""Print the JSON Schema of the plant file format.

Point an editor at it (VS Code: the YAML extension's ``yaml.schemas`` setting) to check
plant files as they are typed.
"""

from __future__ import annotations

import argparse

from factory_twin.model.config import atomic_write_text, json_schema_text


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add this command's arguments."""
    p.add_argument("-o", "--out", help="write to this file instead of standard output")


def run(args: argparse.Namespace) -> int:
    """Print or write the schema."""
    text = json_schema_text() + "\n"
    if args.out:
        atomic_write_text(args.out, text)
    else:
        print(text, end="")
    return 0
