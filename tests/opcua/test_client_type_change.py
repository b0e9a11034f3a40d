"""A server that changes a tag value's type mid-run, against the PlantClient.

A Double tag whose node (declared BaseDataType, so it may hold any Variant) starts sending a
String, then a Double again: the tag is marked bad with one clear warning naming
the node and both types, the other tags keep updating meanwhile, and the tag is good again
as soon as a value of the right type arrives. The server is a plain asyncua server built
here, on 127.0.0.1 and a free port.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
from _any_type_server import ANY_TAG, AnyTypeServer, any_type_server
from _client_support import plant_spec, wait_for
from asyncua import ua

from factory_twin.model.events import Quality, TagUpdate
from factory_twin.opcua.client import PlantClient

pytestmark = pytest.mark.timeout(120)

TAGS = {
    "chamber_pressure": (3.0, ua.VariantType.Double),
    "rf_power": (200.0, ua.VariantType.Double),
}


@pytest_asyncio.fixture
async def served() -> AsyncIterator[tuple[AnyTypeServer, Any]]:
    async with any_type_server(TAGS) as srv:
        yield srv, plant_spec(srv.port)


def latest(events: list, equipment: str, tag: str) -> TagUpdate | None:
    ups = [
        e for e in events if isinstance(e, TagUpdate) and (e.equipment, e.tag) == (equipment, tag)
    ]
    return ups[-1] if ups else None


async def test_a_tag_whose_value_changes_type_is_bad_until_the_type_is_right_again(
    served: tuple[AnyTypeServer, Any], caplog: pytest.LogCaptureFixture
) -> None:
    srv, spec = served
    caplog.set_level(logging.INFO, logger="factory_twin.opcua.client")
    client = PlantClient(spec, publishing_ms=50, sampling_ms=50)
    await client.start()
    got: list = []

    def now(equipment: str, tag: str) -> TagUpdate | None:
        got.extend(client.drain())
        return latest(got, equipment, tag)

    def is_good(equipment: str, tag: str, value: Any) -> bool:
        u = now(equipment, tag)
        return u is not None and u.quality is Quality.GOOD and u.value == value

    try:
        assert await client.wait_connected(20), client.status()
        assert ANY_TAG in client._links["sim"].bound, client.problems()
        assert await wait_for(lambda: is_good(*ANY_TAG, 3.0), 10)
        node = srv.node(*ANY_TAG).to_string()
        # the node starts sending a String
        await srv.write(*ANY_TAG, "sensor offline", ua.VariantType.String)

        def bad() -> bool:
            u = now(*ANY_TAG)
            return u is not None and u.quality is Quality.BAD

        assert await wait_for(bad, 10)
        u = now(*ANY_TAG)
        assert u is not None and u.status == "BadTypeMismatch" and u.value is None
        warned = [
            r.getMessage() for r in caplog.records
            if r.levelno == logging.WARNING and "ETCH-01.chamber_pressure" in r.getMessage()
        ]  # fmt: skip
        assert len(warned) == 1, warned
        assert node in warned[0] and "String" in warned[0] and "Double" in warned[0], warned
        # the other tags keep updating while it is bad, on this tool and on another
        await srv.write("ETCH-01", "rf_power", 250.0, ua.VariantType.Double)
        await srv.write("ETCH-02", "chamber_pressure", 4.0, ua.VariantType.Double)
        assert await wait_for(lambda: is_good("ETCH-01", "rf_power", 250.0), 10)
        assert await wait_for(lambda: is_good("ETCH-02", "chamber_pressure", 4.0), 10)
        # still a String: still bad, and no second warning
        await srv.write(*ANY_TAG, "still offline", ua.VariantType.String)
        await srv.write("ETCH-01", "rf_power", 260.0, ua.VariantType.Double)
        assert await wait_for(lambda: is_good("ETCH-01", "rf_power", 260.0), 10)
        assert now(*ANY_TAG).quality is Quality.BAD
        # a Double again: good again at once
        await srv.write(*ANY_TAG, 4.5, ua.VariantType.Double)
        assert await wait_for(lambda: is_good(*ANY_TAG, 4.5), 10)
        recovered = [r.getMessage() for r in caplog.records if "good again" in r.getMessage()]
        assert len(recovered) == 1 and node in recovered[0], recovered
        # a second change of type is warned about again (a new episode)
        await srv.write(*ANY_TAG, True, ua.VariantType.Boolean)
        assert await wait_for(bad, 10)
        warned = [
            r.getMessage() for r in caplog.records
            if r.levelno == logging.WARNING and "ETCH-01.chamber_pressure" in r.getMessage()
        ]  # fmt: skip
        assert len(warned) == 2 and "Boolean" in warned[1], warned
        assert client.status()["sim"].connected
    finally:
        await client.stop()
