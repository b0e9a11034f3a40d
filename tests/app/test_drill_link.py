"""The trainer's desk over a real drill server on loopback: a lost connection is noticed,
said (why, when the next try is), refused for calls, and reconnected with back-off once the
server is back on its port."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from _wait import wait_for

from factory_twin.app.drill_trainer import TrainerDesk
from factory_twin.model.config import load_plant
from factory_twin.opcua.client_common import host_port
from factory_twin.opcua.drill_client import DrillRefused

REPO = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
def desk() -> Iterator[TrainerDesk]:
    spec = load_plant(REPO / "plant_configs" / "demo_fab.yaml").spec
    d = TrainerDesk(spec)
    drill = next(x for x in spec.drills if x.id == "oht_jam")
    d.start(drill, speed=5, load_companion_specs=False)
    try:
        yield d
    finally:
        d.stop()


def test_a_server_restart_on_its_port_is_noticed_and_reconnected(desk: TrainerDesk) -> None:
    server = desk.server
    assert server is not None and desk.running and desk.following
    link = desk.link()
    assert link is not None and link.up and link.url == server.endpoint_url
    desk.inject("alarm", "ETCH-01", "chamber_pressure", 2000).result(30)

    # the server's network side goes (its drill state is kept), then the plant keeps
    # running without it for a while
    server.submit(server.stop()).result(30)
    wait_for(lambda: not desk.running, 15, "the loss to be noticed")
    assert desk.following  # still the trainer's drill, reconnecting
    with pytest.raises(DrillRefused, match=r"connection to the drill server .* is lost"):
        desk.pause()
    wait_for(lambda: (desk.link() or link).attempts >= 2, 15, "two failed attempts")
    lost = desk.link()
    assert lost is not None and not lost.up and lost.reason and lost.last_error
    # the failure names the address tried
    assert f"cannot reach {host_port(server.endpoint_url)}: " in lost.last_error
    assert lost.lost_for_s > 0.5
    assert lost.retry_in_s is not None and lost.retry_in_s <= 4.0  # waits 1, 2, then 4 s
    t_lost = lost.lost_for_s

    # back on the same port: the desk follows again, and calls work again
    server.submit(server.start()).result(60)
    desk.reconnect_now()  # at once, not after the back-off
    wait_for(lambda: desk.running, 15, "the reconnect")
    back = desk.link()
    assert back is not None and back.up and back.reconnects == 1 and back.reason == ""
    assert t_lost < 15
    desk.inject("alarm", "ETCH-02", "chamber_pressure", 2000).result(30)
    wait_for(lambda: any(i.equipment == "ETCH-02" for i in server.injections), 10, "the injection")
    desk.pause().result(30)
    wait_for(lambda: desk.state == "paused", 10, "paused")


def test_a_dropped_connection_to_a_running_server_is_reconnected(desk: TrainerDesk) -> None:
    """The TCP connection drops while the server keeps running (as under heavy load): the
    desk says so, and the keeper reconnects at once."""
    session = desk.session
    assert session is not None
    client = session.client
    ua = client._client
    assert ua is not None
    session.loop.call_soon(ua.disconnect_socket)  # the TCP connection drops under us
    wait_for(lambda: not desk.running, 15, "the loss to be noticed")
    wait_for(lambda: desk.running, 20, "the reconnect")
    link = desk.link()
    assert link is not None and link.up and link.reconnects == 1
    desk.set_speed(7).result(30)
    wait_for(lambda: desk.speed == 7, 10, "the new speed")
