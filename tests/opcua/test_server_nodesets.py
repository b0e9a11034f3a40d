"""Finding and loading the OPC UA companion nodesets (DI, IA, Machinery)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from asyncua import Server

from factory_twin.opcua.nodesets import (
    ENV_VAR,
    NODESET_FILES,
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
    assert "own types instead" in caplog.text
