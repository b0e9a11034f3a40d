"""Basic256Sha256 security, client trust and user logins of the plant simulator server."""

from __future__ import annotations

from pathlib import Path

import pytest
from _server_support import WATCHDOG_S, find_free_port
from asyncua import Client, ua
from asyncua.crypto.cert_gen import setup_self_signed_certificate
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from cryptography.x509.oid import ExtendedKeyUsageOID

from factory_twin.errors import ConfigError
from factory_twin.model.schema import PlantSpec
from factory_twin.opcua.security import check_password, hash_password, load_users
from factory_twin.opcua.server import NAMESPACE_URI, PlantServer

CLIENT_URI = "urn:factory-twin:test-client"


async def client_cert(directory: Path) -> tuple[Path, Path]:
    directory.mkdir(parents=True, exist_ok=True)
    cert, key = directory / "client_cert.der", directory / "client_key.pem"
    await setup_self_signed_certificate(
        key,
        cert,
        CLIENT_URI,
        "localhost",
        [ExtendedKeyUsageOID.CLIENT_AUTH],
        {"commonName": "test client"},
    )
    return cert, key


async def secure_client(url: str, cert: Path, key: Path, mode: ua.MessageSecurityMode) -> Client:
    c = Client(url, timeout=10, watchdog_intervall=WATCHDOG_S)
    c.application_uri = CLIENT_URI
    await c.set_security(SecurityPolicyBasic256Sha256, str(cert), str(key), mode=mode)
    return c


async def test_sign_and_encrypt_works_and_no_security_is_refused(
    mini_spec: PlantSpec, tmp_path: Path
) -> None:
    server = PlantServer(
        mini_spec,
        endpoint=f"opc.tcp://127.0.0.1:{find_free_port()}/secure/",
        security="sign-encrypt",
        cert_dir=tmp_path / "pki",
        load_companion_specs=False,
    )
    cert, key = await client_cert(tmp_path / "client")
    async with server:
        assert (tmp_path / "pki" / "server_cert.der").is_file()
        endpoints = await server.server.get_endpoints()
        assert {e.SecurityMode for e in endpoints} == {ua.MessageSecurityMode.SignAndEncrypt}

        c = await secure_client(
            server.endpoint_url, cert, key, ua.MessageSecurityMode.SignAndEncrypt
        )
        async with c:
            ns = await c.get_namespace_index(NAMESPACE_URI)
            assert (
                await c.get_node(f"ns={ns};s=ETCH-01.State.E10StateName").read_value() == "standby"
            )

        # A client without security finds no endpoint it may use and is told why.
        plain = Client(server.endpoint_url, timeout=5, watchdog_intervall=WATCHDOG_S)
        with pytest.raises(ua.UaError) as err:
            async with plain:
                await plain.nodes.server.read_browse_name()
        assert "Security" in str(err.value) or "security" in str(err.value)


async def test_sign_only_mode(mini_spec: PlantSpec, tmp_path: Path) -> None:
    server = PlantServer(
        mini_spec,
        endpoint=f"opc.tcp://127.0.0.1:{find_free_port()}/sign/",
        security="sign",
        cert_dir=tmp_path / "pki",
        load_companion_specs=False,
    )
    cert, key = await client_cert(tmp_path / "client")
    async with server:
        c = await secure_client(server.endpoint_url, cert, key, ua.MessageSecurityMode.Sign)
        async with c:
            ns = await c.get_namespace_index(NAMESPACE_URI)
            assert (
                await c.get_node(f"ns={ns};s=ETCH-02.Identification.Location").read_value()
                == "etch"
            )


async def test_trust_dir_refuses_unknown_client_certificates(
    mini_spec: PlantSpec, tmp_path: Path
) -> None:
    trusted = tmp_path / "trusted"
    trusted.mkdir()
    server = PlantServer(
        mini_spec,
        endpoint=f"opc.tcp://127.0.0.1:{find_free_port()}/trust/",
        security="sign-encrypt",
        cert_dir=tmp_path / "pki",
        trust_dir=trusted,
        load_companion_specs=False,
    )
    cert, key = await client_cert(tmp_path / "client")
    mode = ua.MessageSecurityMode.SignAndEncrypt
    async with server:  # an empty trust directory refuses everyone
        c = await secure_client(server.endpoint_url, cert, key, mode)
        with pytest.raises(ua.UaError, match=r"BadCertificateUntrusted|Untrusted"):
            async with c:
                pass
    # Another client's certificate is trusted, ours is not; then ours is, too.
    other, _ = await client_cert(tmp_path / "other")
    (trusted / "other.der").write_bytes(other.read_bytes())
    async with server:
        c = await secure_client(server.endpoint_url, cert, key, mode)
        with pytest.raises(ua.UaError, match=r"BadCertificateUntrusted|Untrusted"):
            async with c:
                pass
    (trusted / "ours.der").write_bytes(cert.read_bytes())
    async with server:
        c = await secure_client(server.endpoint_url, cert, key, mode)
        async with c:
            assert await c.get_namespace_index(NAMESPACE_URI) == server.namespace_index


async def test_users_file_logins(mini_spec: PlantSpec, tmp_path: Path) -> None:
    users_file = tmp_path / "users.yaml"
    users_file.write_text(
        f'operator: "{hash_password("s3cret")}"\ntrainer: plain\n', encoding="utf-8"
    )
    users = load_users(users_file)
    assert users["trainer"] == "plain"
    server = PlantServer(
        mini_spec,
        endpoint=f"opc.tcp://127.0.0.1:{find_free_port()}/users/",
        users=users,
        cert_dir=tmp_path / "pki",
        load_companion_specs=False,
    )
    async with server:
        for name, pw in (("operator", "s3cret"), ("trainer", "plain")):
            c = Client(server.endpoint_url, timeout=10, watchdog_intervall=WATCHDOG_S)
            c.set_user(name)
            c.set_password(pw)
            async with c:
                assert await c.get_namespace_index(NAMESPACE_URI) == server.namespace_index
        bad = Client(server.endpoint_url, timeout=10, watchdog_intervall=WATCHDOG_S)
        bad.set_user("operator")
        bad.set_password("wrong")
        with pytest.raises(ua.UaError, match=r"BadUserAccessDenied|BadIdentityToken"):
            async with bad:
                pass
        anonymous = Client(server.endpoint_url, timeout=10, watchdog_intervall=WATCHDOG_S)
        with pytest.raises(ua.UaError, match=r"BadIdentityToken|BadUserAccessDenied"):
            async with anonymous:
                pass


def test_users_file_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match=r"nope\.yaml: cannot read users file"):
        load_users(missing)
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.json: expected a mapping"):
        load_users(bad)
    empty_pw = tmp_path / "u.yaml"
    empty_pw.write_text("bob: ''\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="bob: password must be a non-empty string"):
        load_users(empty_pw)
    assert check_password(hash_password("x"), "x")
    assert not check_password(hash_password("x"), "y")
