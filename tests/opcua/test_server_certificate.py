"""The server certificate names its host the way RFC 5280 says: IPs as IP addresses."""

from __future__ import annotations

import ipaddress
from pathlib import Path

from cryptography import x509

from factory_twin.opcua.security import APPLICATION_URI, ensure_server_certificate


def _san(path: Path) -> x509.SubjectAlternativeName:
    cert = x509.load_der_x509_certificate(path.read_bytes())
    return cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value


async def test_an_ip_host_goes_in_the_ip_addresses(tmp_path: Path) -> None:
    cert, key = await ensure_server_certificate(tmp_path, APPLICATION_URI, "127.0.0.1")
    san = _san(cert)
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
    assert "127.0.0.1" not in san.get_values_for_type(x509.DNSName)
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert APPLICATION_URI in san.get_values_for_type(x509.UniformResourceIdentifier)
    assert key.stat().st_mode & 0o077 == 0


async def test_a_fitting_certificate_is_kept_and_a_new_host_renews_it(tmp_path: Path) -> None:
    cert, key = await ensure_server_certificate(tmp_path, APPLICATION_URI, "127.0.0.1")
    first, first_key = cert.read_bytes(), key.read_bytes()
    await ensure_server_certificate(tmp_path, APPLICATION_URI, "127.0.0.1")
    assert cert.read_bytes() == first  # still valid and naming the host: kept
    await ensure_server_certificate(tmp_path, APPLICATION_URI, "plc-7.fab.example")
    assert cert.read_bytes() != first and key.read_bytes() == first_key
    assert "plc-7.fab.example" in _san(cert).get_values_for_type(x509.DNSName)
    await ensure_server_certificate(tmp_path, APPLICATION_URI, "::1")
    assert ipaddress.ip_address("::1") in _san(cert).get_values_for_type(x509.IPAddress)
