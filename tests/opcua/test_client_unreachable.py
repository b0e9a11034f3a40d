"""An endpoint nobody answers at: ``cannot reach HOST:PORT: why``, in the socket's words.

Found by the bad-input audit: a connect that timed out, or a connection dropped before the
server answered, was reported only as "connection lost". The CLI (``browse``), the plant
client's status (what the window shows) and the connection dialog's test now say which
address could not be reached and why: connection refused, a name not known, timed out.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Iterator

import pytest
from _client_support import free_port, plant_spec, wait_for

from factory_twin.cli import main
from factory_twin.errors import ConnectionFailed, ServerUnreachable
from factory_twin.opcua.client import PlantClient
from factory_twin.opcua.client_common import ConnectOptions, connect

pytestmark = pytest.mark.timeout(120)

UNKNOWN_HOST = "no-such-host.invalid"  # RFC 6761: never resolves


@contextlib.contextmanager
def syn_dropping_port() -> Iterator[int]:
    """A port on 127.0.0.1 whose listen queue is full: a new connect gets no answer.

    Linux drops the handshake of a connection its full queue cannot take, so the client
    waits as it would for a host behind a firewall that drops packets.
    """
    with socket.socket() as srv:
        srv.bind(("127.0.0.1", 0))
        srv.listen(0)
        port = int(srv.getsockname()[1])
        filler = socket.create_connection(("127.0.0.1", port), timeout=2)
        try:
            yield port
        finally:
            filler.close()


async def test_a_refused_port_is_named_with_its_reason() -> None:
    port = free_port()
    with pytest.raises(ServerUnreachable) as info:
        await connect(ConnectOptions(f"opc.tcp://127.0.0.1:{port}/x/", timeout_s=2))
    # was: "cannot connect to opc.tcp://...: connection refused (is the server running ...)"
    assert str(info.value) == f"cannot reach 127.0.0.1:{port}: connection refused"


async def test_an_unknown_host_is_named() -> None:
    with pytest.raises(ServerUnreachable) as info:
        await connect(ConnectOptions(f"opc.tcp://{UNKNOWN_HOST}:4841/", timeout_s=2))
    msg = str(info.value)
    assert msg.startswith(f"cannot reach {UNKNOWN_HOST}:4841: "), msg
    assert "not known" in msg or "name resolution" in msg or "nodename" in msg, msg


async def test_a_connect_without_answer_times_out_after_the_timeout() -> None:
    with syn_dropping_port() as port, pytest.raises(ServerUnreachable) as info:
        await connect(ConnectOptions(f"opc.tcp://127.0.0.1:{port}/", timeout_s=1.5))
    assert str(info.value) == f"cannot reach 127.0.0.1:{port}: timed out after 1.5 s"


async def test_a_connection_closed_before_the_server_answered_says_so() -> None:
    async def hang_up(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.close()

    tcp = await asyncio.start_server(hang_up, "127.0.0.1", 0)
    port = tcp.sockets[0].getsockname()[1]
    try:
        with pytest.raises(ConnectionFailed) as info:
            await connect(ConnectOptions(f"opc.tcp://127.0.0.1:{port}/", timeout_s=2))
    finally:
        tcp.close()
        await tcp.wait_closed()
    assert not isinstance(info.value, ServerUnreachable)
    # was: "cannot connect to opc.tcp://127.0.0.1:PORT/: connection lost"
    assert f"127.0.0.1:{port} closed the connection before answering" in str(info.value)


async def test_the_plant_clients_status_names_the_unreachable_address() -> None:
    port = free_port()
    c = PlantClient(plant_spec(port), reconnect_initial_s=0.1, reconnect_max_s=0.2)
    await c.start()
    try:
        assert await wait_for(lambda: "retry" in c.status()["sim"].message, 15)
        msg = c.status()["sim"].message
    finally:
        await c.stop()
    assert msg.startswith(f"cannot reach 127.0.0.1:{port}: connection refused; retry "), msg


@pytest.mark.parametrize("where", ["refused", "unknown host", "timeout"])
async def test_browse_names_the_address_and_why(where: str, capsys) -> None:
    with contextlib.ExitStack() as stack:
        if where == "timeout":
            address = f"127.0.0.1:{stack.enter_context(syn_dropping_port())}"
        else:
            address = f"127.0.0.1:{free_port()}" if where == "refused" else f"{UNKNOWN_HOST}:4840"
        argv = ["browse", f"opc.tcp://{address}/", "--timeout", "1"]
        code = await asyncio.to_thread(main, argv)
    err = capsys.readouterr().err
    assert code == 1
    assert err.startswith(f"factory-twin: error: cannot reach {address}: "), err
    why = err.strip().rsplit(": ", 1)[-1]
    expected = {"refused": "connection refused", "timeout": "timed out after 1 s"}
    assert why == expected.get(where, why) and "connection lost" not in err, err
