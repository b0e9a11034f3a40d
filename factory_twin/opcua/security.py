"""Security for the plant simulator server: certificates, users, client trust.

* **Application certificate.** ``Basic256Sha256`` needs an RSA key and an X.509 certificate
  whose subject-alternative-name URI equals the server's application URI. On first run one is
  made (self-signed, valid one year, renewed when expired or when the URI/host no longer
  match) in ``<user data dir>/factory_twin/pki/server`` or in the ``cert_dir`` given.
* **Users.** A users file (YAML or JSON) maps user names to passwords, each either plain
  text or ``"sha256:<hex digest of the UTF-8 password>"`` (print one with
  ``python -c "from factory_twin.opcua.security import hash_password; print(hash_password('pw'))"``).
  With a users file, anonymous sessions are refused. Example::

      operator: "sha256:5e884898da28047151d0e56f8dc6292773603d0d6aabbdd62a11ef721d1542d8"
      trainer: plain-text-is-accepted-too

* **Client certificates.** With a trust directory, only client certificates found in it (DER or
  PEM files) may open a secure channel; others get ``BadCertificateUntrusted``. Without one,
  any client certificate is accepted (the channel is still signed and encrypted): convenient
  for a simulator, logged as a warning.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import ipaddress
import json
import logging
import re
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from asyncua import ua
from asyncua.crypto.permission_rules import User, UserRole
from asyncua.server.user_managers import UserManager
from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from factory_twin.errors import ConfigError
from factory_twin.model.config import atomic_write_bytes, decode_utf8, read_yaml_mapping
from factory_twin.opcua._asyncua_adapter import set_user_manager

if TYPE_CHECKING:
    from asyncua import Server

logger = logging.getLogger(__name__)

SECURITY_MODES = ("none", "sign", "sign-encrypt")
APPLICATION_URI = "urn:factory-twin:plant-simulator"

_POLICIES = {
    "none": [ua.SecurityPolicyType.NoSecurity],
    "sign": [ua.SecurityPolicyType.Basic256Sha256_Sign],
    "sign-encrypt": [ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt],
}


def security_policies(mode: str) -> list[ua.SecurityPolicyType]:
    """Return the endpoint policies offered for ``mode`` ("none", "sign", "sign-encrypt")."""
    try:
        return list(_POLICIES[mode])
    except KeyError:
        msg = f"security must be one of {', '.join(SECURITY_MODES)}, got {mode!r}"
        raise ValueError(msg) from None


def default_cert_dir() -> Path:
    """Return ``<user data dir>/factory_twin/pki/server``."""
    import platformdirs

    return Path(platformdirs.user_data_dir("factory_twin", appauthor=False)) / "pki" / "server"


def subject_alt_names(app_uri: str, host: str) -> list[Any]:
    """The certificate's subject alternative names for a server reached at ``host``.

    RFC 5280 and OPC UA Part 6 (6.2.2): an IP address belongs in ``iPAddress``, a host name
    in ``dNSName``. The machine's name and, for a loopback host, ``localhost`` are added, so
    a client may use any of them.
    """
    names: list[Any] = [x509.UniformResourceIdentifier(app_uri)]
    dns: list[str] = []
    ips: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for h in (host, socket.gethostname()):
        h = h.strip("[]")
        try:
            ip = ipaddress.ip_address(h)
        except ValueError:
            if h and h not in dns:
                dns.append(h)
        else:
            if ip not in ips:
                ips.append(ip)
            if ip.is_loopback and "localhost" not in dns:
                dns.append("localhost")
    names += [x509.DNSName(d) for d in dns] + [x509.IPAddress(ip) for ip in ips]
    return names


def _certificate_fits(cert: x509.Certificate, app_uri: str, host: str) -> bool:
    """True if ``cert`` is valid for a week more and names ``app_uri`` and ``host`` rightly."""
    if cert.not_valid_after_utc - datetime.now(UTC) < timedelta(days=7):
        return False
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        return False
    if app_uri not in san.get_values_for_type(x509.UniformResourceIdentifier):
        return False
    h = host.strip("[]")
    try:
        return ipaddress.ip_address(h) in san.get_values_for_type(x509.IPAddress)
    except ValueError:
        return h in san.get_values_for_type(x509.DNSName)


async def ensure_server_certificate(
    cert_dir: Path, app_uri: str = APPLICATION_URI, host: str | None = None
) -> tuple[Path, Path]:
    """Create (or renew) the server's self-signed certificate in ``cert_dir``.

    The key is kept once made; the certificate is made again when it expires within a week
    or does not name ``host`` (an IP host as an IP address, see :func:`subject_alt_names`).

    Returns
    -------
    tuple
        ``(certificate DER path, private key PEM path)``.
    """
    from asyncua.crypto import cert_gen
    from cryptography.hazmat.primitives.serialization import Encoding

    cert_dir.mkdir(parents=True, exist_ok=True)
    host = host or socket.gethostname()
    key_path = cert_dir / "server_key.pem"
    cert_path = cert_dir / "server_cert.der"
    if key_path.is_file():
        key = await cert_gen.load_private_key(key_path)
    else:
        key = cert_gen.generate_private_key()
        atomic_write_bytes(key_path, cert_gen.dump_private_key_as_pem(key))
    fits = False
    if cert_path.is_file():
        with contextlib.suppress(Exception):  # unreadable: make a new one
            fits = _certificate_fits(x509.load_der_x509_certificate(cert_path.read_bytes()),
                                     app_uri, host)  # fmt: skip
    if not fits:
        cert = cert_gen.generate_self_signed_app_certificate(
            key,
            app_uri,
            {"commonName": "factory_twin plant simulator", "organizationName": "factory_twin"},
            subject_alt_names(app_uri, host),
            extended=[ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH],
            days=365,
        )
        atomic_write_bytes(cert_path, cert.public_bytes(encoding=Encoding.DER))
    with contextlib.suppress(OSError):  # e.g. a file system without permissions
        key_path.chmod(0o600)
    return cert_path, key_path


_SHA256_HEX = re.compile(r"[0-9a-fA-F]{64}")


def hash_password(password: str) -> str:
    """Return the ``sha256:<hex>`` form of ``password`` accepted in users files."""
    return "sha256:" + hashlib.sha256(password.encode("utf-8")).hexdigest()


def check_password(stored: str, given: str) -> bool:
    """Return True if ``given`` matches ``stored`` (plain text or ``sha256:<hex>``)."""
    if stored.startswith("sha256:"):
        return hmac.compare_digest(stored[7:].lower(), hash_password(given)[7:])
    return hmac.compare_digest(stored.encode("utf-8"), given.encode("utf-8"))


def load_users(path: str | Path) -> dict[str, str]:
    """Read a users file (YAML or JSON mapping ``user: password``).

    Raises
    ------
    ConfigError
        If the file is missing, unreadable or not a mapping of strings.
    """
    p = Path(path)
    try:
        text = decode_utf8(p.read_bytes(), p)
    except OSError as exc:
        msg = f"{p}: cannot read users file: {exc.strerror or exc}"
        raise ConfigError([msg]) from None
    data: Any
    if p.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ConfigError([f"{p}:{exc.lineno}: not valid JSON: {exc.msg}"]) from None
        except RecursionError:
            raise ConfigError([f"{p}:1: not valid JSON: nested too deeply"]) from None
    else:  # YAML: errors name their line, as in plant files
        data = read_yaml_mapping(text, str(p), "'user: password'")
    if not isinstance(data, dict) or not data:
        msg = f"{p}: expected a mapping 'user: password' with at least one user"
        raise ConfigError([msg])
    users: dict[str, str] = {}
    problems = []
    for name, pw in data.items():
        if not isinstance(name, str) or not name:
            problems.append(f"{p}: user name {name!r} must be a non-empty string")
        elif not isinstance(pw, str) or not pw:
            problems.append(f"{p}: {name}: password must be a non-empty string")
        elif pw.startswith("sha256:") and not _SHA256_HEX.fullmatch(pw[7:]):
            # no password ever matches it: the user could never log in
            problems.append(
                f"{p}: {name}: 'sha256:' must be followed by the 64 hex digits of the "
                f"password's SHA-256 (got {len(pw) - 7} characters)"
            )
        else:
            users[name] = pw
    if problems:
        raise ConfigError(problems)
    return users


class PasswordUserManager(UserManager):
    """asyncua user manager: anonymous when no users are configured, else name/password.

    Every session gets the ``User`` role (never ``Admin``), so the access levels of the
    variables decide what a client may write.
    """

    def __init__(self, users: dict[str, str] | None = None) -> None:
        self.users = dict(users or {})

    def get_user(
        self,
        iserver: Any,
        username: str | None = None,
        password: str | None = None,
        certificate: Any = None,
    ) -> User | None:
        """Return the session's user, or None to refuse it."""
        if not self.users:
            return User(role=UserRole.User, name=username)
        if username is None:
            return None
        stored = self.users.get(username)
        if stored is None or password is None or not check_password(stored, password):
            logger.warning("refused OPC UA login for user %r", username)
            return None
        return User(role=UserRole.User, name=username)


async def configure_security(
    server: Server,
    mode: str,
    *,
    cert_dir: Path | None,
    users: dict[str, str] | None,
    trust_dir: Path | None,
    host: str,
) -> None:
    """Apply security ``mode``, certificates, users and client trust to an unstarted server."""
    server.set_security_policy(security_policies(mode))
    tokens: list[type] = [ua.UserNameIdentityToken] if users else [ua.AnonymousIdentityToken]
    server.set_identity_tokens(tokens)
    set_user_manager(server, PasswordUserManager(users))
    server.allow_remote_admin(False)
    if mode == "none" and not users:
        return
    # Username tokens on a no-security endpoint are encrypted with the server certificate,
    # so a certificate is made whenever users exist, too.
    cdir = cert_dir or default_cert_dir()
    cert, key = await ensure_server_certificate(cdir, APPLICATION_URI, host)
    await server.set_application_uri(APPLICATION_URI)
    await server.load_certificate(str(cert))
    await server.load_private_key(str(key))
    if mode != "none":
        if trust_dir is not None:
            from asyncua.crypto.truststore import TrustStore
            from asyncua.crypto.validator import CertificateValidator, CertificateValidatorOptions

            trust_dir.mkdir(parents=True, exist_ok=True)
            if not any(p.is_file() for p in trust_dir.iterdir()):
                logger.warning(
                    "client trust directory %s holds no certificates: every client is refused "
                    "until its certificate (DER or PEM) is copied there and the server restarted",
                    trust_dir,
                )
                server.set_certificate_validator(_refuse_all)
                return
            store = TrustStore([trust_dir], [])
            await store.load()
            server.set_certificate_validator(
                CertificateValidator(
                    CertificateValidatorOptions.TRUSTED_VALIDATION
                    | CertificateValidatorOptions.PEER_CLIENT,
                    store,
                )
            )
        else:
            logger.warning(
                "security %s without a client trust directory: any client certificate is "
                "accepted (the channel is still signed%s)",
                mode,
                " and encrypted" if mode == "sign-encrypt" else "",
            )


async def _refuse_all(certificate: Any, app_description: Any) -> None:
    from asyncua.common.utils import ServiceError

    raise ServiceError(ua.StatusCodes.BadCertificateUntrusted)
