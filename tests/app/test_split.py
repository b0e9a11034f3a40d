"""A split plant: one simulation here, server processes that forward what clients ask of it."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import psutil
import pytest
from asyncua import Client, ua
from asyncua.ua.uaerrors import UaStatusCodeError

from factory_twin.app.controller import free_port
from factory_twin.app.split import SplitPlantSimulator, split_equipment
from factory_twin.model.config import load_plant
from factory_twin.model.events import PlantEvent, TagUpdate
from factory_twin.opcua.server import NAMESPACE_URI
from factory_twin.opcua.server.feed import pack, unpack

MINI = Path(__file__).resolve().parents[1] / "data" / "mini_plant.yaml"
WATCHDOG_S = 5.0  # asyncua's 1 s keep-alive probe is too tight for a shared 2-core machine


async def _until(cond: object, what: str, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not (cond() if callable(cond) else cond):
        assert asyncio.get_running_loop().time() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


def test_split_equipment_gives_every_tool_to_one_part() -> None:
    spec = load_plant(MINI).spec
    assert split_equipment(spec, 2) == [["ETCH-01", "ETCH-02"], ["LITHO-01"]]
    with pytest.raises(ValueError, match="exactly one group"):
        SplitPlantSimulator(spec, endpoints=["opc.tcp://h:1/", "opc.tcp://h:2/"], groups=[[], []])


def test_pack_round_trip() -> None:
    from factory_twin.model.events import E10State, LotMove, Quality, StateChange

    events: list[PlantEvent] = [
        TagUpdate("ETCH-01", "chamber_pressure", 4.2, 60.0),
        TagUpdate("ETCH-01", "chamber_pressure", None, 61.0, Quality.BAD),
        StateChange("ETCH-01", E10State.ENGINEERING, 62.0, "hold"),
        LotMove("L1", "p1", None, None, 0.0, 0.0),
    ]
    packed = pack(events)
    assert packed[0] == ("ETCH-01", "chamber_pressure", 4.2, 60.0)  # the cheap form
    assert unpack(packed) == events


async def test_split_forwards_calls_and_writes_to_the_one_simulation() -> None:
    spec = load_plant(MINI).spec
    port = free_port()
    urls = [f"opc.tcp://127.0.0.1:{port + i}/factory_twin/" for i in range(2)]
    sim = SplitPlantSimulator(
        spec,
        endpoints=urls,
        groups=split_equipment(spec, 2),  # etchers on urls[0], the scanner on urls[1]
        speed=1.0,  # slow: a forced tag stays forced (600 plant s) for the whole test
        allow_client_writes=True,
        load_companion_specs=False,
    )
    seen: list[PlantEvent] = []
    sim.add_listener(seen.extend)
    before = {p.pid for p in psutil.Process().children(recursive=True)}
    await sim.start()
    parts = [
        p
        for p in psutil.Process().children(recursive=True)
        if p.pid not in before and "spawn_main" in " ".join(p.cmdline())
    ]
    try:
        async with (
            Client(urls[0], watchdog_intervall=WATCHDOG_S) as a,
            Client(urls[1], watchdog_intervall=WATCHDOG_S) as b,
        ):
            na = await a.get_namespace_index(NAMESPACE_URI)
            nb = await b.get_namespace_index(NAMESPACE_URI)
            # a write to process 1 forces the tag in the simulation, which publishes it back
            tag = a.get_node(f"ns={na};s=ETCH-01.Parameters.chamber_pressure")
            await tag.write_value(ua.DataValue(ua.Variant(9.5, ua.VariantType.Double)))

            def forced() -> bool:
                return any(
                    isinstance(e, TagUpdate)
                    and (e.equipment, e.tag, e.value) == ("ETCH-01", "chamber_pressure", 9.5)
                    for e in seen
                )

            await _until(forced, "the forced value from the simulation")
            assert sim.sim._forced  # the simulation itself holds the tag

            # methods on process 2 get the simulation's answers
            litho = b.get_node(f"ns={nb};s=LITHO-01")
            await litho.call_method(f"{nb}:Hold")
            assert (
                sim.sim.model.tool("LITHO-01").held or sim.sim.model.tool("LITHO-01").hold_pending
            )
            with pytest.raises(UaStatusCodeError, match="BadInvalidState"):
                await litho.call_method(f"{nb}:Hold")  # already held, says the simulation
            await litho.call_method(f"{nb}:ResetAlarm")
            await litho.call_method(f"{nb}:Resume")
            with pytest.raises(UaStatusCodeError, match="BadInvalidState"):
                await litho.call_method(f"{nb}:Resume")
            assert not sim.sim.model.tool("LITHO-01").held
            # each tool is served once: process 2 has no etcher
            with pytest.raises(UaStatusCodeError, match="BadNodeIdUnknown"):
                await b.get_node(f"ns={nb};s=ETCH-01.State.E10StateName").read_value()

        # a server process that dies makes the split fail, and stopping ends the others
        assert len(parts) == 2
        os.kill(parts[-1].pid, signal.SIGKILL)
        await asyncio.wait_for(sim.failed.wait(), 10)
    finally:
        await sim.stop()
    _, alive = psutil.wait_procs(parts, timeout=10)
    assert not alive, alive


async def test_split_that_cannot_listen_fails_clearly_and_leaves_no_process() -> None:
    import socket

    from factory_twin.errors import FactoryTwinError

    spec = load_plant(MINI).spec
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1] - 1  # the second server process's port is taken
        urls = [f"opc.tcp://127.0.0.1:{port + i}/factory_twin/" for i in range(2)]
        sim = SplitPlantSimulator(
            spec, endpoints=urls, groups=split_equipment(spec, 2), load_companion_specs=False
        )
        before = {p.pid for p in psutil.Process().children(recursive=True)}
        with pytest.raises(FactoryTwinError, match=rf"server process 2 \({urls[1]}\): cannot"):
            await sim.start()
    left = [
        p
        for p in psutil.Process().children(recursive=True)
        if p.pid not in before and "spawn_main" in " ".join(p.cmdline())
    ]
    assert not left
    assert not sim.running
