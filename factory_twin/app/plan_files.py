"""Scenario files beside a plant: list, create, duplicate, rename, delete (no Qt).

The Plan workspace keeps a plant's scenarios as ``NAME.scenario.yaml`` files in the plant
file's folder, each naming the plant as its ``base``. :func:`scenarios_beside` is the one
listing of them, used by the Plan workspace's scenario list and by the Compare dock's
experiments (:mod:`factory_twin.app.experiment_job` re-exports it).

Every write goes through :func:`~factory_twin.model.config.atomic_write_text`; a deleted
or renamed scenario's last text is kept as ``NAME.scenario.yaml.bak``.
:func:`save_new_scenario` writes a scenario made elsewhere (an optimisation trial taken
into Plan) under a free name, never over an existing file.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

from factory_twin.errors import ConfigError
from factory_twin.model.config import atomic_write_text
from factory_twin.model.scenario import is_scenario_path, load_scenario, scenario_stem

SUFFIX = ".scenario.yaml"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]*$")


def scenarios_beside(
    plant_path: str | Path, broken: list[tuple[Path, str]] | None = None
) -> list[tuple[str, Path]]:
    """The plant and the scenario files beside it that build on it: ``(name, path)``, base first.

    A scenario's name is its ``name:`` field, else its file name without
    ``.scenario.yaml``. A scenario file that does not read is left out; pass a list as
    ``broken`` to get ``(path, first problem)`` of each such file (the Plan workspace's
    list shows them with the reason).
    """
    plant = Path(plant_path)
    out = [(plant.stem, plant)]
    for p in sorted(plant.parent.glob("*")):
        if not (is_scenario_path(p) and p.is_file()):
            continue
        try:
            doc = load_scenario(p)
        except ConfigError as exc:
            if broken is not None:
                broken.append((p, exc.issues[0] if exc.issues else str(exc)))
            continue
        try:
            same = doc.spec.base is not None and doc.base_path().resolve() == plant.resolve()
        except OSError:
            same = False
        if same:
            out.append((doc.spec.name or scenario_stem(p), p))
    return out


def check_name(name: str) -> str:
    """Return ``name`` stripped if it can be a scenario file name, else raise ConfigError."""
    name = name.strip()
    if name.lower().endswith(SUFFIX):
        name = name[: -len(SUFFIX)]
    if not _NAME.match(name) or len(name) > 80:
        msg = (
            f"{name!r} cannot name a scenario file: use letters, digits, '_', '-' and '.', "
            "starting with a letter or digit (at most 80)"
        )
        raise ConfigError([msg])
    return name


def scenario_path(plant_path: str | Path, name: str) -> Path:
    """Where the scenario ``name`` of the plant lives: ``NAME.scenario.yaml`` beside it."""
    return Path(plant_path).parent / f"{check_name(name)}{SUFFIX}"


def _free(path: Path) -> Path:
    if path.exists():
        msg = f"{path}: a file of that name exists already"
        raise ConfigError([msg])
    return path


def new_scenario(plant_path: str | Path, name: str, notes: str = "") -> Path:
    """Write an empty scenario of the plant beside it; return its path.

    Raises
    ------
    ConfigError
        A bad name, or a file of that name exists already.
    """
    plant = Path(plant_path)
    target = _free(scenario_path(plant, name))
    lines = [f"name: {check_name(name)}"]
    if notes:
        lines.append(f"notes: {_quoted(notes)}")
    lines += [f"base: {plant.name}", "changes: []", ""]
    atomic_write_text(target, "\n".join(lines))
    return target


def save_new_scenario(
    folder: str | Path, stem: str, name: str, text: Callable[[str], str], tries: int = 999
) -> tuple[Path, bool]:
    """Write a scenario as ``STEM.scenario.yaml`` in ``folder``, never over an existing file.

    When that file exists, ``STEM_2``, ``STEM_3``, ... are tried, and the scenario's
    ``name:`` gets the same number (``NAME (2)``); ``text(name)`` is the file's text for
    a name. A file that already holds exactly that text is reused rather than copied
    again. The write is atomic and exclusive (a file that appears meanwhile is not
    replaced: the next number is tried).

    Returns
    -------
    tuple of (Path, bool)
        The scenario's file, and whether it was written (False: an identical one was there).

    Raises
    ------
    ConfigError
        A stem that cannot name a file, or no free name among ``tries``.
    OSError
        The folder cannot be written (its files are untouched).

    Examples
    --------
    >>> import tempfile
    >>> d = Path(tempfile.mkdtemp())
    >>> body = lambda n: f"name: {n}\\nbase: fab.yaml\\nchanges: []\\n"
    >>> _ = (d / "fab_trial_3.scenario.yaml").write_text("name: mine\\n")
    >>> path, written = save_new_scenario(d, "fab_trial_3", "fab trial 3", body)
    >>> path.name, written, path.read_text().splitlines()[0]
    ('fab_trial_3_2.scenario.yaml', True, 'name: fab trial 3 (2)')
    >>> save_new_scenario(d, "fab_trial_3", "fab trial 3", body) == (path, False)
    True
    """
    stem = check_name(stem)
    for k in range(1, tries + 1):
        target = Path(folder) / (f"{stem}{SUFFIX}" if k == 1 else f"{stem}_{k}{SUFFIX}")
        body = text(name if k == 1 else f"{name} ({k})")
        if target.exists() or target.is_symlink():
            if _holds(target, body):
                return target, False
            continue
        try:
            atomic_write_text(target, body, exclusive=True)
        except FileExistsError:
            continue
        return target, True
    msg = f"{Path(folder) / stem}{SUFFIX}: no free name (tried {tries})"
    raise ConfigError([msg])


def _holds(path: Path, text: str) -> bool:
    try:
        return path.is_file() and path.read_text(encoding="utf-8") == text
    except (OSError, UnicodeDecodeError):
        return False


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def duplicate_scenario(path: str | Path, name: str) -> Path:
    """Copy a scenario file (comments and all) under a new name; return the new path.

    The copy's ``name:`` becomes ``name`` when the original's named itself after its file.
    """
    src = Path(path)
    target = _free(src.parent / f"{check_name(name)}{SUFFIX}")
    doc = load_scenario(src)
    if doc.spec.name in ("", scenario_stem(src)):
        doc.spec.name = check_name(name)
    doc.save(target)
    target.with_name(target.name + ".bak").unlink(missing_ok=True)
    return target


def rename_scenario(path: str | Path, name: str) -> Path:
    """Rename a scenario file (and its ``name:`` if it was the file's); return the new path.

    The old file is kept as ``OLD.scenario.yaml.bak``.
    """
    src = Path(path)
    target = src.parent / f"{check_name(name)}{SUFFIX}"
    if target == src:
        return src
    _free(target)
    doc = load_scenario(src)
    if doc.spec.name in ("", scenario_stem(src)):
        doc.spec.name = check_name(name)
    doc.save(target)
    target.with_name(target.name + ".bak").unlink(missing_ok=True)
    src.replace(src.with_name(src.name + ".bak"))
    return target


def delete_scenario(path: str | Path) -> Path:
    """Delete a scenario file, keeping its text as ``NAME.scenario.yaml.bak``; return that."""
    src = Path(path)
    bak = src.with_name(src.name + ".bak")
    src.replace(bak)
    return bak
