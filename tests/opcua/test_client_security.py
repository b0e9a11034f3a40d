"""PlantClient security: Basic256Sha256 SignAndEncrypt with a self-signed client certificate,
user/password login, and clear refusals."""

from __future__ import annotations

import asyncio
import shutil
import socket
from pathlib import Path

import pytest
from _client_support import free_port, plant_spec, start_server, wait_for
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from cryptography.x509.oid import ExtendedKeyUsageOID

from factory_twin.cli import main
from factory_twin.errors import ConnectionFailed
from factory_twin.model.events import TagUpdate
from factory_twin.model.schema import PlantSpec, SecurityMode
from factory_twin.opcua.client import PlantClient
from factory_twin.opcua.client_common import (
    ConnectOptions,
    connect,
    disconnect_quietly,
    ensure_client_certificate,
    pinned_certificate_path,
)

pytestmark = pytest.mark.timeout(120)


async def test_sign_encrypt_with_user_works_and_wrong_settings_are_refused_clearly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pki = tmp_path / "server_pki"
    trusted = pki / "trusted"
    trusted.mkdir(parents=True)
    await setup_self_signed_certificate(
        pki / "key.pem", pki / "cert.der", "urn:factory-twin:test-server", socket.gethostname(),
        [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH], {"commonName": "test server"},
    )  # fmt: skip
    client_pki = tmp_path / "client_pki"
    cert, key = await ensure_client_certificate(client_pki)  # created on first use
    assert cert.is_file() and key.is_file()
    shutil.copy(cert, trusted / "client.der")
    port = free_port()
    spec = plant_spec(port)
    data = spec.model_dump(mode="json")
    data["endpoints"][0].update(security="sign-encrypt", username="operator")
    spec = PlantSpec.model_validate(data)
    srv = await start_server(
        spec,
        port,
        secure=(pki / "cert.der", pki / "key.pem", trusted),
        users={"operator": "s3cret"},
    )
    try:
        client = PlantClient(spec, credentials={"sim": ("operator", "s3cret")}, cert_dir=client_pki,
                             publishing_ms=50, sampling_ms=50)  # fmt: skip
        await client.start()
        try:
            assert await client.wait_connected(20), client.status()
            await srv.set("ETCH-01", "rf_power", 123.0)
            got: list = []
            assert await wait_for(
                lambda: (
                    got.extend(client.drain())
                    or any(isinstance(e, TagUpdate) and e.value == 123.0 for e in got)
                ),
                10,
            )
        finally:
            await client.stop()
        # no security against a secure-only server: refused, and the message says what it offers
        with pytest.raises(ConnectionFailed) as info:
            await connect(
                ConnectOptions(srv.url, SecurityMode.NONE, "operator", "s3cret", client_pki)
            )
        msg = str(info.value)
        assert "does not offer security 'none'" in msg and "SignAndEncrypt" in msg, msg
        assert msg.endswith("; set 'security' on the endpoint to sign-encrypt"), msg
        # the commands name their own option, not the plant file's setting
        for command in (["browse"], ["import", "-o", str(tmp_path / "skeleton.yaml")]):
            argv = [*command, srv.url, "--security", "none", "--user", "operator",
                    "--password", "s3cret", "--cert-dir", str(client_pki)]  # fmt: skip
            assert await asyncio.to_thread(main, argv) == 1
            err = capsys.readouterr().err
            assert "does not offer security 'none'" in err, err
            assert "; set --security to sign-encrypt" in err and "on the endpoint" not in err, err
        # the PlantClient reports the same through its status, without raising
        data["endpoints"][0]["security"] = "none"
        plain = PlantClient(PlantSpec.model_validate(data), credentials={"sim": ("operator", "s3cret")},
                            reconnect_initial_s=5)  # fmt: skip
        await plain.start()
        try:
            assert await wait_for(lambda: "retry" in plain.status()["sim"].message, 15)
            assert "does not offer security 'none'" in plain.status()["sim"].message
            assert (
                "set 'security' on the endpoint to sign-encrypt" in plain.status()["sim"].message
            )
        finally:
            await plain.stop()
        # wrong password
        with pytest.raises(ConnectionFailed, match="login refused"):
            await connect(
                ConnectOptions(srv.url, SecurityMode.SIGN_ENCRYPT, "operator", "wrong", client_pki)
            )
        # an untrusted client certificate
        other = tmp_path / "other_pki"
        with pytest.raises(ConnectionFailed) as info2:
            await connect(
                ConnectOptions(srv.url, SecurityMode.SIGN_ENCRYPT, "operator", "s3cret", other)
            )
        assert "BadCertificateUntrusted" in str(info2.value) or "BadSecurityChecksFailed" in str(
            info2.value
        )
    finally:
        await srv.stop()


async def _secure_server(tmp_path: Path, name: str, spec: PlantSpec, port: int, client_cert: Path):
    """A sign-encrypt server with its own new certificate, trusting our client certificate."""
    pki = tmp_path / name
    (pki / "trusted").mkdir(parents=True)
    await setup_self_signed_certificate(
        pki / "key.pem", pki / "cert.der", "urn:factory-twin:test-server", socket.gethostname(),
        [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH], {"commonName": name},
    )  # fmt: skip
    shutil.copy(client_cert, pki / "trusted" / "client.der")
    srv = await start_server(
        spec, port, secure=(pki / "cert.der", pki / "key.pem", pki / "trusted")
    )
    return srv, (pki / "cert.der").read_bytes()


async def test_server_certificate_is_pinned_on_first_use_and_a_changed_one_refused(
    tmp_path: Path,
) -> None:
    client_pki = tmp_path / "client_pki"
    cert, _ = await ensure_client_certificate(client_pki)
    port = free_port()
    spec = plant_spec(port)
    data = spec.model_dump(mode="json")
    data["endpoints"][0].update(security="sign-encrypt")
    spec = PlantSpec.model_validate(data)
    srv, first_der = await _secure_server(tmp_path, "server_a", spec, port, cert)
    opts = ConnectOptions(srv.url, SecurityMode.SIGN_ENCRYPT, None, None, client_pki)
    pin = pinned_certificate_path(client_pki, srv.url)
    try:
        assert not pin.exists()
        await disconnect_quietly(await connect(opts))  # first contact: trusted and kept
        assert pin.read_bytes() == first_der
        await disconnect_quietly(await connect(opts))  # the same server again: fine
    finally:
        await srv.stop()
    # another machine answers on the same address with its own certificate: refused
    srv, second_der = await _secure_server(tmp_path, "server_b", spec, port, cert)
    try:
        with pytest.raises(ConnectionFailed) as info:
            await connect(opts)
        msg = str(info.value)
        assert "certificate changed since it was first trusted" in msg and str(pin) in msg, msg
        assert pin.read_bytes() == first_der  # the pin is not replaced behind the user's back
        # the plant client says so in its status and keeps retrying, never connecting
        client = PlantClient(spec, cert_dir=client_pki, reconnect_initial_s=5)
        await client.start()
        try:
            assert await wait_for(
                lambda: "certificate changed" in client.status()["sim"].message, 20
            )
            assert not client.status()["sim"].connected
        finally:
            await client.stop()
        # the user accepts the re-keyed server by deleting the pinned file
        pin.unlink()
        await disconnect_quietly(await connect(opts))
        assert pin.read_bytes() == second_der
    finally:
        await srv.stop()
