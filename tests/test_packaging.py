"""The package says it is typed (PEP 561), and the wheel carries that marker."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_package_ships_the_pep561_marker() -> None:
    assert (ROOT / "factory_twin" / "py.typed").is_file()
    # hatchling puts every file of a listed package into the wheel (py.typed and
    # ar/viewer/* included) unless an include/exclude setting narrows it.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    wheel = pyproject["tool"]["hatch"]["build"]["targets"]["wheel"]
    assert wheel["packages"] == ["factory_twin"]
    assert not {"only-include", "include", "exclude"} & set(wheel)
