"""Show or export a scenario file (``NAME.scenario.yaml``): a base plant plus changes.

``show`` prints the base, the notes and each change in words, then ``ok: the scenario
validates`` or every problem as FILE:LINE: changes[k].field: MESSAGE (exit 2).
``export`` writes the base plant with the changes applied as a full plant file.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from factory_twin.errors import ConfigError
from factory_twin.model.scenario import ScenarioDocument, is_scenario_path, load_scenario


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add this command's arguments."""
    sub = p.add_subparsers(dest="action", metavar="ACTION", required=True, parser_class=type(p))
    show = sub.add_parser("show", help="the changes in words, then whether it validates")
    show.add_argument("scenario", type=Path, metavar="S.scenario.yaml", help="scenario file")
    export = sub.add_parser("export", help="write the applied scenario as a plant file")
    export.add_argument("scenario", type=Path, metavar="S.scenario.yaml", help="scenario file")
    export.add_argument(
        "-o", "--out", type=Path, required=True, metavar="PLANT.yaml", help="plant file to write"
    )


def _load(path: Path) -> ScenarioDocument:
    if not is_scenario_path(path):
        msg = f"{path}:1: not a scenario file: its name must end in .scenario.yaml"
        raise ConfigError([msg])
    return load_scenario(path)


def _sources(doc: ScenarioDocument) -> list[Path]:
    """The files a scenario is made of: itself, its base scenarios, its base plant."""
    files: list[Path] = []
    while doc.path is not None and doc.path.resolve() not in files:
        files.append(doc.path.resolve())
        base = doc.base_path()
        if doc.spec.base_scenario is None or not base.is_file():
            files.append(base.resolve())
            break
        try:
            doc = load_scenario(base)
        except ConfigError:  # export reports it; the base file is all there is to guard
            files.append(base.resolve())
            break
    return files


def _check_out(doc: ScenarioDocument, out: Path) -> None:
    """Refuse an output that would overwrite a file the scenario is built from, or that is
    named as a scenario (a plant file under that name would read as a broken scenario)."""
    if is_scenario_path(out):
        msg = f"{out}: a plant file cannot be named *.scenario.yaml (choose NAME.yaml)"
        raise ConfigError([msg])
    if out.resolve() in _sources(doc):
        msg = f"{out}: the plant would overwrite a file the scenario builds on (choose another -o)"
        raise ConfigError([msg])


def run(args: argparse.Namespace) -> int:
    """Run ``show`` or ``export``; return 0, or 2 if the scenario does not validate."""
    doc = _load(args.scenario)
    if args.action == "export":
        _check_out(doc, args.out)
        doc.to_plant_yaml(args.out)
        n = len(doc.spec.changes)
        print(f"{args.out}: written ({doc.name}: {n} change{'' if n == 1 else 's'} applied)")
        return 0
    spec = doc.spec
    print(f"scenario: {spec.name or doc.name} ({args.scenario})")
    if spec.base is not None:
        print(f"base: {spec.base}")
    else:
        print(f"base scenario: {spec.base_scenario}")
    if spec.notes:
        print(f"notes: {spec.notes.strip()}")
    words, problems = doc.check()
    print(f"changes: {len(words)}")
    for k, text in enumerate(words):
        print(f"  [{k}] {text}")
    if problems:
        for line in problems:
            print(line, file=sys.stderr)
        return 2
    print("ok: the scenario validates")
    return 0
