"""Check plant, scenario, experiment and study files against their schemas.

The kind of each file is told by its content (its top-level keys: a plant's ``site`` and
``equipment``, an experiment's ``scenarios``, a study's ``variables`` and ``objectives``, a
scenario's ``changes``), else by its name (``*.scenario.yaml``, ``*.experiment.yaml``,
``*.study.yaml``); a file that is none of them is checked as a plant file. Each kind is
checked with its own schema and the files it names: a scenario is applied to its base plant
and the result checked, an experiment's scenario and plant files are each read and checked,
a study is checked against its base plant. Prints the kind and a summary of each valid file,
every problem as FILE:LINE: FIELD: MESSAGE, and exits 2 if any file is invalid.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from factory_twin.errors import ConfigError
from factory_twin.model.config import load_plant, read_config_text
from factory_twin.model.scenario import (
    LoadedPlant,
    is_scenario_path,
    load_scenario,
    scenario_stem,
)
from factory_twin.model.schema import PlantSpec

# top-level keys that tell a file's kind (a plant's first: a plant file with a stray key
# of another kind is still a plant file)
_MARKS = (
    ("plant", {"schema_version", "site", "equipment_types", "equipment"}),
    ("experiment", {"scenarios"}),
    ("study", {"variables", "objectives"}),
    ("scenario", {"changes", "base_scenario"}),
)
_TOP_KEY = re.compile(r"""^(["']?)([A-Za-z_][A-Za-z0-9_-]*)\1[ \t]*:(?:[ \t]|$)""", re.MULTILINE)

_KINDS = {"ohs": "overhead hoist", "agv": "AGV", "manual": "manual", "conveyor": "conveyor"}


def describe_transport(spec: PlantSpec) -> str:
    """One line saying how lots move between tools, and whether the file said so.

    Transport is on by default (an overhead hoist), so a plant file without a ``transport``
    section still has moves that take time: a queueing model must say ``kind: none``.
    """
    t = spec.transport
    given = "transport" in spec.model_fields_set
    if t.kind == "none":
        return "transport: none (moves between tools take no time)"
    what = _KINDS.get(t.kind, t.kind)
    if t.fixed_time is not None:
        how = f"a fixed time per move ({t.fixed_time.dist}, mean {t.fixed_time.mean:g} s)"
    else:
        how = f"{t.handling_s:g} s + distance / {t.speed_m_s:g} m/s"
    fleet = "unlimited vehicles" if t.vehicles is None else f"{t.vehicles} vehicles"
    head = f"transport: {what}" if given else (
        f"transport: default {what} (the file has no transport section)")  # fmt: skip
    return f"{head}, {how}, {fleet}"


def file_kind(path: Path, text: str) -> str:
    """``plant``, ``scenario``, ``experiment`` or ``study``: by the top-level keys, else the name.

    Examples
    --------
    >>> file_kind(Path("a.yaml"), "scenarios: [p.yaml]\\nhorizon_days: 5\\n")
    'experiment'
    >>> file_kind(Path("b.yaml"), "base: p.yaml\\nvariables: []\\n")
    'study'
    >>> file_kind(Path("c.study.yaml"), "name: x\\n"), file_kind(Path("d.yaml"), "base: p.yaml")
    ('study', 'scenario')
    >>> file_kind(Path("e.scenario.yaml"), "site: {}\\n"), file_kind(Path("f.yaml"), "x: 1")
    ('plant', 'plant')
    """
    from factory_twin.app.experiment_spec import is_experiment_path
    from factory_twin.model.study import is_study_path

    keys = {m.group(2) for m in _TOP_KEY.finditer(text)}
    for kind, marks in _MARKS:
        if keys & marks:
            return kind
    if is_experiment_path(path):
        return "experiment"
    if is_study_path(path):
        return "study"
    if is_scenario_path(path) or "base" in keys:
        return "scenario"
    return "plant"


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Add this command's arguments."""
    p.add_argument(
        "files", nargs="+", metavar="FILE",
        help="plant, scenario (*.scenario.yaml), experiment or study YAML files",
    )  # fmt: skip
    p.add_argument("-q", "--quiet", action="store_true", help="print only problems")


def plant_summary(sp: PlantSpec) -> str:
    """``SITE: N bays, N tools, ...``: what a plant holds, in one line."""
    return (
        f"{sp.site.name}: {len(sp.site.bays)} bays, {len(sp.equipment)} tools, "
        f"{len(sp.routes)} routes, {sum(len(r.steps) for r in sp.routes)} steps, "
        f"{len(sp.procedures)} procedures"
    )


def _plant_or_scenario(path: Path, kind: str) -> LoadedPlant:
    if kind == "scenario":  # by content too: a scenario file need not be named *.scenario.yaml
        doc = load_scenario(path)
        return LoadedPlant(scenario_stem(path), doc.apply(), path, doc)
    return LoadedPlant(path.stem, load_plant(path).spec, path)


def _check_plant(path: Path, kind: str) -> list[str]:
    loaded = _plant_or_scenario(path, kind)
    sp = loaded.spec
    lines = [f"{path}: ok ({kind} file; {plant_summary(sp)})"]
    if loaded.scenario is not None:
        base = loaded.scenario.spec.base or loaded.scenario.spec.base_scenario
        n = len(loaded.scenario.spec.changes)
        lines.append(f"  scenario of {base}: {n} change{'' if n == 1 else 's'}")
    lines.append(f"  {describe_transport(sp)}")
    return lines


def _check_experiment(path: Path) -> list[str]:
    from factory_twin.app.experiment_spec import load_experiment

    ef = load_experiment(path)
    loaded = ef.load_scenarios()  # each scenario and plant file read and checked
    spec = ef.spec
    warm = "auto (MSER-5)" if spec.warmup_days is None else f"{spec.warmup_days:g} days"
    lines = [
        f"{path}: ok (experiment file '{ef.name}'; {len(loaded)} scenario"
        f"{'' if len(loaded) == 1 else 's'}, {spec.horizon_days:g} days each, warm-up {warm}, "
        f"{spec.replication_rule()})"
    ]
    for lp in loaded:
        what = "scenario file" if lp.scenario is not None else "plant file"
        lines.append(f"  {lp.name}: {what} {lp.path.name} ok ({plant_summary(lp.spec)})")
    return lines


def _check_study(path: Path) -> list[str]:
    from factory_twin.model.study import load_study

    st = load_study(path)  # the study checked against its base plant (read and checked too)
    spec = st.spec
    nv, no = len(spec.variables), len(spec.objectives)
    return [
        f"{path}: ok (study file '{st.name}'; {nv} variable{'' if nv == 1 else 's'}, "
        f"{no} objective{'' if no == 1 else 's'}, {spec.budget.trials} trials at most)",
        f"  base {spec.base}: {'scenario' if st.base.scenario else 'plant'} file ok "
        f"({plant_summary(st.base.spec)})",
    ]


def check_file(path: Path) -> list[str]:
    """Check one file with its kind's schema; return the lines saying it is valid.

    Raises
    ------
    ConfigError
        With every problem found, each as ``file:line: field: message``.
    """
    kind = file_kind(path, read_config_text(path))
    if kind == "experiment":
        return _check_experiment(path)
    if kind == "study":
        return _check_study(path)
    return _check_plant(path, kind)


def run(args: argparse.Namespace) -> int:
    """Validate each file; return 0 if all are valid, 2 otherwise."""
    bad = 0
    for f in args.files:
        try:
            lines = check_file(Path(f))
        except ConfigError as exc:
            bad += 1
            for line in exc.issues:
                print(line, file=sys.stderr)
            continue
        if not args.quiet:
            print("\n".join(lines))
    return 2 if bad else 0
