"""Print the JSON Schema of a factory_twin file format: plant files (the default), scenario,
experiment or optimisation study files.

Point an editor at it (VS Code: the YAML extension's ``yaml.schemas`` setting) to check
files as they are typed.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from pydantic import BaseModel

from factory_twin.app.experiment_spec import ExperimentSpec
from factory_twin.model.config import atomic_write_text, file_json_schema, json_schema
from factory_twin.model.scenario import ScenarioSpec
from factory_twin.model.schema import SCHEMA_VERSION
from factory_twin.model.study import StudySpec

KINDS = ("plant", "scenario", "experiment", "study")


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add this command's arguments."""
    p.add_argument(
        "--kind",
        choices=KINDS,
        default="plant",
        help="which file format: plant (default), scenario (*.scenario.yaml), experiment "
        "(*.experiment.yaml) or study (*.study.yaml)",
    )
    p.add_argument("-o", "--out", help="write to this file instead of standard output")


def schema_of(kind: str) -> dict[str, Any]:
    """Return the JSON Schema of file format ``kind`` (one of :data:`KINDS`)."""
    if kind == "plant":
        return json_schema()
    specs: dict[str, tuple[type[BaseModel], str]] = {
        "scenario": (ScenarioSpec, "scenario file (*.scenario.yaml)"),
        "experiment": (ExperimentSpec, "experiment file (*.experiment.yaml)"),
        "study": (StudySpec, "optimisation study file (*.study.yaml)"),
    }
    spec, what = specs[kind]
    return file_json_schema(spec, f"factory_twin {what}, schema version {SCHEMA_VERSION}")


def run(args: argparse.Namespace) -> int:
    """Print or write the schema."""
    text = json.dumps(schema_of(args.kind), indent=2) + "\n"
    if args.out:
        atomic_write_text(args.out, text)
    else:
        print(text, end="")
    return 0
