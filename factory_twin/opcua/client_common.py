"""Pieces shared by the plant client, ``browse``, ``import`` and ``record``.

Connecting with or without security (a self-signed client certificate is made on first
use), turning asyncua failures into one clear sentence, walking browse paths whose names
may or may not carry a namespace prefix, and mapping OPC UA data types to plant tag types.
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from asyncua import Client, Node, ua
from asyncua.client.ua_client import UaClientState
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256
from asyncua.observer import Observer

from factory_twin.errors import ConnectionFailed, ServerUnreachable
from factory_twin.model.schema import SecurityMode, TagType
from factory_twin.opcua._uatypes import node_id

logger = logging.getLogger(__name__)

PLANT_NAMESPACE = "urn:factory-twin:plant"
CLIENT_APP_URI = "urn:factory-twin:client"

# Built-in data type node ids (namespace 0) grouped by the plant tag type they can carry.
_FLOAT_TYPES = {10, 11}  # Float, Double
_INT_TYPES = {2, 3, 4, 5, 6, 7, 8, 9}  # SByte .. UInt64
_BOOL_TYPES = {1}
_STRING_TYPES = {12, 21}  # String, LocalizedText
_ABSTRACT_NUMBER = {26, 27, 28}  # Number, Integer, UInteger
ENUMERATION = 29
BASE_DATA_TYPE = 24

DATA_TYPE_NAMES = {
    1: "Boolean", 2: "SByte", 3: "Byte", 4: "Int16", 5: "UInt16", 6: "Int32", 7: "UInt32",
    8: "Int64", 9: "UInt64", 10: "Float", 11: "Double", 12: "String", 13: "DateTime",
    14: "Guid", 15: "ByteString", 16: "XmlElement", 17: "NodeId", 18: "ExpandedNodeId",
    19: "StatusCode", 20: "QualifiedName", 21: "LocalizedText", 22: "Structure",
    23: "DataValue", 24: "BaseDataType", 25: "DiagnosticInfo", 26: "Number",
    27: "Integer", 28: "UInteger", 29: "Enumeration", 290: "Duration", 294: "UtcTime",
}  # fmt: skip

SECURITY_MODES = {
    SecurityMode.SIGN: ua.MessageSecurityMode.Sign,
    SecurityMode.SIGN_ENCRYPT: ua.MessageSecurityMode.SignAndEncrypt,
}


def data_type_name(dt: ua.NodeId | None) -> str:
    """Return a readable name of a DataType node id (``ns=2;i=3003`` if not built in)."""
    if dt is None:
        return "?"
    if dt.NamespaceIndex == 0 and isinstance(dt.Identifier, int):
        return DATA_TYPE_NAMES.get(dt.Identifier, f"i={dt.Identifier}")
    return dt.to_string()


def tag_type_of(dt: ua.NodeId | None) -> TagType | None:
    """Return the plant tag type a node of DataType ``dt`` carries (None if no fit)."""
    if dt is None or dt.NamespaceIndex != 0 or not isinstance(dt.Identifier, int):
        return None
    i = dt.Identifier
    if i in _FLOAT_TYPES or i == 26:
        return TagType.FLOAT
    if i in _INT_TYPES or i in (27, 28, ENUMERATION):
        return TagType.INT
    if i in _BOOL_TYPES:
        return TagType.BOOL
    if i in _STRING_TYPES:
        return TagType.STRING
    return None


def type_fits(expected: TagType, dt: ua.NodeId | None) -> bool:
    """Return True if a node of DataType ``dt`` can serve a tag of type ``expected``.

    Integer nodes may serve float tags (a count is a number); the reverse is refused
    because the fraction would be lost. Custom (non namespace 0) and enumeration types
    serve integer tags; BaseDataType (any Variant) serves every tag, its values checked
    as they arrive; other types are accepted only for their exact match.
    """
    got = tag_type_of(dt)
    if is_base_data_type(dt):
        return True  # a Variant of any type: each value is checked when it arrives
    if got is None:
        # a custom enumeration or structure: integer tags may use enumerations
        return expected is TagType.INT and dt is not None and dt.NamespaceIndex != 0
    if got is expected:
        return True
    return expected is TagType.FLOAT and got is TagType.INT


def value_fits(expected: TagType, value: Any) -> bool:
    """Return True if a received Python value is of the kind a tag of type ``expected`` holds."""
    if expected is TagType.BOOL:
        return isinstance(value, bool)
    if isinstance(value, bool):
        return False
    if expected is TagType.FLOAT:
        return isinstance(value, int | float)
    if expected is TagType.INT:
        return isinstance(value, int)
    return isinstance(value, str | ua.LocalizedText)


def is_number_type(dt: ua.NodeId | None) -> bool:
    """Return True if a node of DataType ``dt`` holds numbers only, so that an absolute
    deadband filter applies to its values.

    BaseDataType (any Variant: a String may follow a Double), enumerations, custom types
    and every non-number type are not: a server may refuse a deadband on them, or, like
    asyncua's, accept it and then fail comparing a String with the previous number.

    Examples
    --------
    >>> is_number_type(ua.NodeId(ua.ObjectIds.Double)), is_number_type(ua.NodeId(26))
    (True, True)
    >>> is_number_type(ua.NodeId(ua.ObjectIds.BaseDataType)), is_number_type(None)
    (False, False)
    """
    if dt is None or dt.NamespaceIndex != 0 or not isinstance(dt.Identifier, int):
        return False
    return dt.Identifier in _FLOAT_TYPES | _INT_TYPES | _ABSTRACT_NUMBER


def is_base_data_type(dt: ua.NodeId | None) -> bool:
    """Return True if ``dt`` is BaseDataType (i=24): the node's value may be any Variant."""
    return dt is not None and dt.NamespaceIndex == 0 and dt.Identifier == BASE_DATA_TYPE


# Variant types a write can carry (what _coerce in client.py turns a Python value into)
WRITABLE_VARIANT_TYPES = frozenset(
    ua.VariantType(i) for i in (*_BOOL_TYPES, *_INT_TYPES, *_FLOAT_TYPES, *_STRING_TYPES)
)
# the Variant type of each plant tag type, as the plant simulator serves it
TAG_VARIANT_TYPES = {
    TagType.FLOAT: ua.VariantType.Double,
    TagType.INT: ua.VariantType.Int32,
    TagType.BOOL: ua.VariantType.Boolean,
    TagType.STRING: ua.VariantType.String,
}


def variant_type_for(dt: ua.NodeId | None) -> ua.VariantType | None:
    """Return the Variant type to write to a node of DataType ``dt`` (None if unknown;
    BaseDataType is unknown here: the client writes the type of the value the node holds)."""
    if dt is None or dt.NamespaceIndex != 0 or not isinstance(dt.Identifier, int):
        return None
    i = dt.Identifier
    if i in _FLOAT_TYPES | _INT_TYPES | _BOOL_TYPES or i in (12, 21):
        return ua.VariantType(i)
    if i == ENUMERATION:
        return ua.VariantType.Int32
    return None


def to_epoch(ts: datetime | None) -> float | None:
    """Return a POSIX time from an asyncua timestamp (naive ones are UTC)."""
    if ts is None:
        return None
    if ts.tzinfo is None:
        ts = ts.replace(tzinfo=UTC)
    t = ts.timestamp()
    return t if t > 0 else None


def describe_error(exc: BaseException) -> str:
    """Turn a connection or service failure into one sentence for a user."""
    if isinstance(exc, ConnectionFailed):
        return str(exc)
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused (is the server running and the port right?)"
    if isinstance(exc, socket.gaierror):
        return f"host name not found ({exc.strerror})"
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return "no answer in time (server down, firewall, or wrong host)"
    if isinstance(exc, ua.UaStatusCodeError):
        try:
            name = ua.StatusCode(exc.code).name
        except Exception:
            name = f"0x{exc.code:08X}"
        hints = {
            "BadSecurityPolicyRejected": "the server refuses this security policy/mode",
            "BadSecurityModeRejected": "the server refuses this security mode",
            "BadCertificateUntrusted": "the server does not trust our client certificate "
            "(copy it into the server's trusted certificates)",
            "BadCertificateInvalid": "a certificate was rejected as invalid",
            "BadSecurityChecksFailed": "security checks failed (certificate not trusted, or wrong "
            "security settings)",
            "BadUserAccessDenied": "login refused (user name or password wrong)",
            "BadIdentityTokenRejected": "login refused (user name or password wrong)",
            "BadIdentityTokenInvalid": "login refused (this kind of login is not offered)",
            "BadTooManySessions": "the server has too many sessions open",
        }
        hint = hints.get(name, "")
        return f"{name}: {hint}" if hint else name
    if isinstance(exc, OSError):
        return exc.strerror or str(exc) or type(exc).__name__
    return str(exc) or type(exc).__name__


def host_port(url: str) -> str:
    """``HOST:PORT`` of an ``opc.tcp://`` URL (port 4840 when none is given).

    Examples
    --------
    >>> host_port("opc.tcp://plc-7:4841/x"), host_port("opc.tcp://[::1]/")
    ('plc-7:4841', '[::1]:4840')
    """
    from urllib.parse import urlparse

    u = urlparse(url)
    host = u.hostname or "?"
    try:
        port = u.port or 4840
    except ValueError:  # a port out of range: say what was written
        return u.netloc or host
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def socket_failure(exc: BaseException, timeout_s: float) -> str:
    """Why a TCP connection could not be made, in the socket's words.

    Examples
    --------
    >>> socket_failure(ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 1)"), 4)
    'connection refused'
    >>> socket_failure(socket.gaierror(-2, "Name or service not known"), 4)
    'name or service not known'
    >>> socket_failure(TimeoutError(), 2.5)
    'timed out after 2.5 s'
    """
    if isinstance(exc, TimeoutError | asyncio.TimeoutError):
        return f"timed out after {timeout_s:g} s"
    text = ""
    if isinstance(exc, socket.gaierror):
        text = exc.strerror or ""
    elif isinstance(exc, OSError) and exc.errno:  # asyncio's strerror says "Connect call failed"
        text = os.strerror(exc.errno)
    elif isinstance(exc, OSError):  # "Multiple exceptions: [Errno 111] ..., [Errno 111] ..."
        m = re.search(r"\[Errno (\d+)\]", str(exc))
        text = os.strerror(int(m.group(1))) if m else str(exc)
    text = text or str(exc) or type(exc).__name__
    return text[:1].lower() + text[1:]


class _SocketWatch(Observer):
    """Notes whether a client's TCP connection was made (asyncua's state observer)."""

    def __init__(self) -> None:
        self.opened = self.answered = False

    def on_state_change(self, state: UaClientState) -> None:
        if state is UaClientState.SOCKET_OPEN:
            self.opened = True
        elif state is UaClientState.CHANNEL_OPEN:
            self.answered = True


async def open_session(client: Client, url: str, timeout_s: float) -> None:
    """``client.connect()``; raise :class:`ServerUnreachable` if no TCP connection was made.

    A refused port, an unknown host, no route or a connect that timed out then read
    ``cannot reach HOST:PORT: connection refused`` (and so on) instead of asyncua's own
    words. A connection closed before the server answered (asyncua's "connection lost":
    no OPC UA server on that port, or a firewall or proxy that accepts and drops it) is a
    :class:`ConnectionFailed` saying so. Other failures after the connection was made (a
    refused security mode, a login) are raised as they come.
    """
    uaclient = client.uaclient
    watch, before = _SocketWatch(), uaclient.observer
    uaclient.observer = watch
    try:
        await client.connect()
    except Exception as exc:
        if not watch.opened and isinstance(exc, OSError | asyncio.TimeoutError):
            msg = f"cannot reach {host_port(url)}: {socket_failure(exc, timeout_s)}"
            raise ServerUnreachable(msg) from exc
        if watch.opened and not watch.answered and isinstance(exc, ConnectionError):
            reason = (
                f"{host_port(url)} closed the connection before answering (no OPC UA server "
                "there, or a firewall or proxy in between)"
            )
            raise ConnectionFailed(f"cannot connect to {url}: {reason}", reason) from exc
        raise
    finally:
        uaclient.observer = before


@dataclass(frozen=True)
class ConnectOptions:
    """How to reach one server.

    ``security_setting`` names, for the caller's user, where the security mode is set: the
    plant file's endpoint setting by default, ``--security`` for a command line.
    """

    url: str
    security: SecurityMode = SecurityMode.NONE
    username: str | None = None
    password: str | None = None
    cert_dir: Path | None = None
    timeout_s: float = 4.0
    watchdog_s: float = 1.0
    security_setting: str = "'security' on the endpoint"


def default_cert_dir() -> Path:
    """Return the folder that holds our client certificate when none is given."""
    import platformdirs

    return Path(platformdirs.user_data_dir("factory_twin", appauthor=False)) / "pki"


async def ensure_client_certificate(cert_dir: Path | None) -> tuple[Path, Path]:
    """Create (once) a self-signed client certificate and key; return their paths.

    The certificate's application URI is :data:`CLIENT_APP_URI`; a server must trust the
    ``client_cert.der`` file before it accepts signed or encrypted connections from us.
    """
    from asyncua.crypto.cert_gen import setup_self_signed_certificate
    from cryptography.x509.oid import ExtendedKeyUsageOID

    folder = Path(cert_dir) if cert_dir is not None else default_cert_dir()
    folder.mkdir(parents=True, exist_ok=True)
    cert, key = folder / "client_cert.der", folder / "client_key.pem"
    if not (cert.is_file() and key.is_file()):
        logger.info("creating a self-signed client certificate in %s", folder)
    await setup_self_signed_certificate(
        key,
        cert,
        CLIENT_APP_URI,
        socket.gethostname(),
        [ExtendedKeyUsageOID.CLIENT_AUTH],
        {"commonName": "factory_twin client"},
    )
    return cert, key


def pinned_certificate_path(cert_dir: Path | None, url: str) -> Path:
    """Where the certificate first trusted for the server at ``url`` is kept.

    One DER file per host and port in ``<cert_dir>/trusted_servers/`` (the client's PKI
    folder, :func:`default_cert_dir` if None).
    """
    from urllib.parse import urlparse

    u = urlparse(url)
    name = re.sub(r"[^A-Za-z0-9_.-]", "_", f"{u.hostname or 'server'}_{u.port or 4840}")
    folder = Path(cert_dir) if cert_dir is not None else default_cert_dir()
    return folder / "trusted_servers" / f"{name}.der"


def _fingerprint(der: bytes) -> str:
    import hashlib

    h = hashlib.sha256(der).hexdigest().upper()
    return ":".join(h[i : i + 2] for i in range(0, 16, 2)) + "…"


def pinning_validator(url: str, pin: Path) -> Any:
    """Return an asyncua certificate validator that trusts a server's certificate on first use.

    The first signed or encrypted connection to ``url`` keeps the server's certificate in
    ``pin``; later connections must present the same certificate, or are refused with a
    message saying how to accept a re-keyed server (delete the pinned file). An expired or
    not yet valid certificate is refused too. This is SSH's model: it stops a machine that
    takes over the server's address from reading or forging plant data after first contact.
    """
    from cryptography.hazmat.primitives.serialization import Encoding

    from factory_twin.model.config import atomic_write_bytes

    async def validate(cert: Any, _app: Any) -> None:
        der = cert.public_bytes(Encoding.DER)
        now = datetime.now(UTC)
        if not cert.not_valid_before_utc <= now <= cert.not_valid_after_utc:
            msg = (
                f"the server's certificate is not valid now (valid {cert.not_valid_before_utc:%Y-%m-%d} "
                f"to {cert.not_valid_after_utc:%Y-%m-%d})"
            )
            raise ConnectionFailed(msg)
        if pin.is_file():
            trusted = pin.read_bytes()
            if trusted != der:
                msg = (
                    f"the server's certificate changed since it was first trusted (now "
                    f"{_fingerprint(der)}, trusted {_fingerprint(trusted)}): refusing to connect. "
                    f"If the server was given a new certificate on purpose, delete {pin} to "
                    "trust the new one"
                )
                raise ConnectionFailed(msg)
            return
        atomic_write_bytes(pin, der)
        logger.warning(
            "trusting the certificate of %s on first use (SHA-256 %s); kept in %s",
            url, _fingerprint(der), pin,
        )  # fmt: skip

    return validate


async def make_client(opts: ConnectOptions) -> Client:
    """Return an asyncua client set up for ``opts`` (not yet connected)."""
    client = Client(opts.url, timeout=opts.timeout_s, watchdog_intervall=opts.watchdog_s)
    client.application_uri = CLIENT_APP_URI
    client.name = client.description = "factory_twin"
    client.session_timeout = 60_000
    if opts.username:
        client.set_user(opts.username)
        if opts.password is not None:
            client.set_password(opts.password)
    if opts.security is not SecurityMode.NONE:
        cert, key = await ensure_client_certificate(opts.cert_dir)
        await client.set_security(
            SecurityPolicyBasic256Sha256,
            str(cert),
            str(key),
            mode=SECURITY_MODES[opts.security],
        )
        client.certificate_validator = pinning_validator(
            opts.url, pinned_certificate_path(opts.cert_dir, opts.url)
        )
    return client


async def offered_modes(url: str, timeout_s: float = 4.0) -> list[str]:
    """Return the security modes a server offers, e.g. ``['Basic256Sha256/SignAndEncrypt']``."""
    probe = Client(url, timeout=timeout_s)
    eps = await probe.connect_and_get_server_endpoints()
    out = []
    for ep in eps:
        pol = ep.SecurityPolicyUri.rsplit("#", 1)[-1]
        mode = ua.MessageSecurityMode(ep.SecurityMode).name
        label = "none" if mode == "None_" else f"{pol}/{mode}"
        if label not in out:
            out.append(label)
    return out


async def connect(opts: ConnectOptions) -> Client:
    """Connect to a server; raise :class:`ConnectionFailed` with a clear message if we cannot.

    When the server refuses our security mode the message lists what it offers and names
    ``opts.security_setting``; when no TCP connection could be made it is
    :class:`ServerUnreachable` (``cannot reach HOST:PORT: why``).
    """
    try:
        client = await make_client(opts)
        await open_session(client, opts.url, opts.timeout_s)
    except ServerUnreachable:
        raise
    except Exception as exc:
        reason = exc.reason if isinstance(exc, ConnectionFailed) else describe_error(exc)
        if isinstance(exc, ua.UaStatusCodeError) or "Security" in reason:
            try:
                modes = await offered_modes(opts.url, opts.timeout_s)
            except Exception:
                modes = []
            kinds = _mode_kinds(modes)
            if modes and _mode_label(opts.security) not in kinds:
                fits = [m.value for m in SecurityMode if _mode_label(m) in kinds]
                reason = (
                    f"the server does not offer security '{opts.security.value}' "
                    f"(it offers: {', '.join(modes)})"
                )
                if fits:
                    reason += f"; set {opts.security_setting} to {' or '.join(fits)}"
        msg = f"cannot connect to {opts.url}: {reason}"
        raise ConnectionFailed(msg, reason) from exc
    return client


def _mode_label(mode: SecurityMode) -> str:
    return {"none": "none", "sign": "Sign", "sign-encrypt": "SignAndEncrypt"}[mode.value]


def _mode_kinds(modes: Iterable[str]) -> set[str]:
    return {m.rsplit("/", 1)[-1] for m in modes}


async def disconnect_quietly(client: Client | None) -> None:
    """Disconnect, ignoring a server that is already gone."""
    if client is None:
        return
    try:
        await asyncio.wait_for(client.disconnect(), 3.0)
    except Exception:
        logger.debug("disconnect failed (server gone?)", exc_info=True)


# --------------------------------------------------------------------------- browse paths


def split_browse_path(path: str) -> list[tuple[int | None, str]]:
    """Split ``'2:Machines/FURN-01/Parameters/2:temperature'`` into (ns or None, name) pairs.

    A leading ``Objects/`` (or ``0:Objects/``) is dropped: paths start at Objects.
    """
    parts = [p for p in path.strip("/").split("/") if p]
    out: list[tuple[int | None, str]] = []
    for p in parts:
        ns, sep, name = p.partition(":")
        if sep and ns.isdigit():
            out.append((int(ns), name))
        else:
            out.append((None, p))
    if out and out[0][1] == "Objects" and out[0][0] in (None, 0):
        out = out[1:]
    return out


class BrowseCache:
    """Children of nodes by browse name, fetched once per node."""

    def __init__(self, client: Client) -> None:
        self.client = client
        self._children: dict[ua.NodeId, list[tuple[ua.QualifiedName, ua.NodeId]]] = {}

    async def children(self, nodeid: ua.NodeId) -> list[tuple[ua.QualifiedName, ua.NodeId]]:
        """Return (browse name, node id) of the hierarchical children of ``nodeid``."""
        if nodeid not in self._children:
            node = self.client.get_node(nodeid)
            refs = await node.get_references(
                refs=ua.ObjectIds.HierarchicalReferences, direction=ua.BrowseDirection.Forward
            )
            self._children[nodeid] = [
                (
                    r.BrowseName,
                    ua.NodeId(r.NodeId.Identifier, r.NodeId.NamespaceIndex, r.NodeId.NodeIdType),
                )
                for r in refs
            ]
        return self._children[nodeid]

    async def resolve(self, path: str, start: ua.NodeId | None = None) -> ua.NodeId | None:
        """Return the node at ``path`` below Objects (or ``start``), or None if it is missing."""
        current = start or node_id(ua.ObjectIds.ObjectsFolder)
        for ns, name in split_browse_path(path):
            found = None
            for qn, nid in await self.children(current):
                if qn.Name == name and (ns is None or qn.NamespaceIndex == ns):
                    found = nid
                    break
            if found is None:
                return None
            current = found
        return current


def parse_node_id(text: str) -> ua.NodeId:
    """Parse a node id string, raising ValueError with the text on failure."""
    try:
        return ua.NodeId.from_string(text)
    except Exception as exc:
        msg = f"not a node id: {text!r} (expected e.g. 'ns=2;s=FURN-01.Parameters.temperature')"
        raise ValueError(msg) from exc


def portable_node_id(nid: ua.NodeId, namespaces: list[str]) -> str:
    """Return ``nid`` as text that survives a server reordering its namespaces.

    Outside namespace 0 the index is replaced by the namespace URI (``nsu=URI;s=...``, as
    OPC UA Part 6 writes an ExpandedNodeId), which :func:`with_namespace_index` maps back to
    whatever index the server gives it. Namespace 0, an index the server does not list and a
    URI with a ``;`` in it (which the text form could not carry) keep ``ns=``.
    """
    text = nid.to_string()
    idx = nid.NamespaceIndex
    if idx == 0 or idx >= len(namespaces) or ";" in namespaces[idx]:
        return text
    head, sep, rest = text.partition(";")
    if not sep or not head.startswith("ns="):
        return text
    return f"nsu={namespaces[idx]};{rest}"


def with_namespace_index(nid: ua.NodeId, namespaces: list[str]) -> ua.NodeId:
    """Return ``nid`` with its namespace URI (``nsu=...``) replaced by the server's index.

    Raises
    ------
    ValueError
        The server has no namespace of that URI.
    """
    uri = getattr(nid, "NamespaceUri", None)
    if not uri:
        return nid
    if uri not in namespaces:
        msg = f"the server has no namespace {uri!r}"
        raise ValueError(msg)
    return ua.NodeId(nid.Identifier, ua.Int16(namespaces.index(uri)), nid.NodeIdType)


def now_s() -> float:
    """Wall-clock time (POSIX seconds)."""
    return datetime.now(UTC).timestamp()


def node_of(client: Client, nodeid: ua.NodeId | str) -> Node:
    """Return the client's node object for ``nodeid``."""
    return client.get_node(nodeid)
