"""Finding and loading the OPC UA companion nodesets (DI, IA, Machinery)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from asyncua import Server

from factory_twin.opcua import nodesets
from factory_twin.opcua.nodesets import (
    ENV_VAR,
    NODESET_FILES,
    PACKAGED_DIR,
    find_nodeset_dir,
    load_companion_specs,
)


def test_env_var_points_at_the_nodesets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    for _, name in NODESET_FILES:
        (tmp_path / name).write_text("<UANodeSet/>", encoding="utf-8")
    monkeypatch.setenv(ENV_VAR, str(tmp_path))
    assert find_nodeset_dir() == tmp_path
    (tmp_path / NODESET_FILES[-1][1]).unlink()  # incomplete: fall back to the next place
    assert find_nodeset_dir() != tmp_path


async def test_unusable_nodesets_fall_back_with_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for _, name in NODESET_FILES:
        (tmp_path / name).write_text("this is not XML", encoding="utf-8")
    server = Server()
    await server.init()
    with caplog.at_level(logging.WARNING, logger="factory_twin.opcua.nodesets"):
        specs = await load_companion_specs(server, tmp_path)
    assert not specs.loaded
    assert specs.machines_folder() is None
    assert "could not import" in specs.problem
    assert "own types instead" in caplog.text


def test_shipped_nodesets_are_found_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert find_nodeset_dir() == PACKAGED_DIR
    assert PACKAGED_DIR.is_relative_to(Path(nodesets.__file__).parent)  # package data
    for _, name in NODESET_FILES:
        head = (PACKAGED_DIR / name).read_text(encoding="utf-8")[:2000]
        assert "OPC Foundation MIT License" in head, name


async def test_shipped_nodesets_load_and_machinery_types_resolve(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    server = Server()
    await server.init()
    specs = await load_companion_specs(server)
    assert specs.loaded, specs.problem
    assert specs.source == PACKAGED_DIR
    assert specs.problem == ""
    assert specs.di is not None and specs.ia is not None
    folder, ident_type = specs.machines_folder(), specs.machine_identification_type()
    assert folder is not None and ident_type is not None
    assert (await server.get_node(folder).read_browse_name()).Name == "Machines"
    name = await server.get_node(ident_type).read_browse_name()
    assert name.Name == "MachineIdentificationType"


async def test_missing_nodesets_say_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.delenv(ENV_VAR, raising=False)
    monkeypatch.setattr(nodesets, "PACKAGED_DIR", tmp_path)  # an install without the XML
    server = Server()
    await server.init()
    with caplog.at_level(logging.WARNING, logger="factory_twin.opcua.nodesets"):
        specs = await load_companion_specs(server)
    assert not specs.loaded
    assert "not found" in specs.problem and str(tmp_path) in specs.problem
    assert "own types instead" in caplog.text
