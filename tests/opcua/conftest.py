"""Shared OPC UA test fixtures: free ports, plant specs, a running plant simulator server.

Servers are real asyncua servers on 127.0.0.1 (never a mock). Starting one costs a few
seconds (asyncua builds its standard address space in Python), so the module-scoped
``demo_server`` is shared by tests that only read or that touch distinct tools.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from _server_support import find_free_port

from factory_twin.model.config import load_plant
from factory_twin.model.schema import PlantSpec

REPO = Path(__file__).resolve().parents[2]
MINI_PLANT = REPO / "tests" / "data" / "mini_plant.yaml"
DEMO_PLANT = REPO / "plant_configs" / "demo_fab.yaml"


@pytest.fixture
def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    return find_free_port()


@pytest.fixture(scope="session")
def mini_spec() -> PlantSpec:
    """The two-etcher, one-scanner plant of tests/data/mini_plant.yaml."""
    return load_plant(MINI_PLANT).spec


@pytest.fixture(scope="session")
def demo_spec() -> PlantSpec:
    """The demo fab (plant_configs/demo_fab.yaml), or the mini plant while it does not exist."""
    return load_plant(DEMO_PLANT if DEMO_PLANT.is_file() else MINI_PLANT).spec


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def demo_server(demo_spec: PlantSpec) -> AsyncIterator[Any]:
    """A started PlantServer of the demo fab on a free port (no simulation: feed it apply())."""
    from factory_twin.opcua.server import PlantServer

    server = PlantServer(
        demo_spec, endpoint=f"opc.tcp://127.0.0.1:{find_free_port()}/factory_twin/"
    )
    await server.start()
    yield server
    await server.stop()
