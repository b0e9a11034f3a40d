"""The drill server's trainee names and their secret tokens, kept over restarts as hashes.

A :class:`TokenStore` binds each taken trainee name to the token its first ``Join`` got (see
:mod:`factory_twin.opcua.server.drill_space`). With a ``path`` every change (a new name, a
released one) rewrites that file atomically, and a new store on the same path (the drill
server started again) loads it, so a trainee's saved token still joins under their name and
nobody else can. The file never holds a token, only a salted scrypt hash of it (a random
16-byte salt per token): one JSON object per line, after a ``#`` comment::

    # factory-twin drill trainee names: scrypt hashes of their tokens (never the tokens)
    {"trainee": "ann", "hash": "scrypt$16384$8$1$<salt hex>$<hash hex>"}

A Join's token is checked against the hash in constant time (:func:`hmac.compare_digest`).
The tokens are 128-bit random strings, not passwords, so the hash only has to be salted and
one-way; scrypt's cost is moderate to keep a Join quick, and a token checked once is
remembered (in memory only) so the trainee's later GetDebrief calls cost nothing.

A damaged file (not UTF-8, a line that is not such an object, a bad hash, a name twice) or an
unreadable one raises :class:`TokenFileError` naming the file and line, after copying the
file to ``<file>.bak``; :meth:`TokenStore.open` with ``forget=True`` instead logs that
loudly and starts with no names taken (writing an empty file; the ``.bak`` keeps the old one).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

from factory_twin.errors import FactoryTwinError
from factory_twin.model.config import atomic_write_text, keep_backup
from factory_twin.opcua.server.json_lines import json_lines

logger = logging.getLogger(__name__)

HEADER = "# factory-twin drill trainee names: scrypt hashes of their tokens (never the tokens)"
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SALT_BYTES, HASH_BYTES = 16, 32


class TokenFileError(FactoryTwinError):
    """The token file is damaged or unreadable (the message names the file and line;
    ``problem`` says what is wrong there, without the file, line and advice)."""

    def __init__(self, message: str, path: Path, line: int | None, problem: str = "") -> None:
        super().__init__(message)
        self.path = path
        self.line = line
        self.problem = problem


def hash_token(token: str, salt: bytes | None = None) -> str:
    """Return the stored form of ``token``: ``scrypt$n$r$p$<salt hex>$<hash hex>``.

    Examples
    --------
    >>> h = hash_token("s3cret", bytes(16))
    >>> h.split("$")[:4]
    ['scrypt', '16384', '8', '1']
    >>> token_matches_hash("s3cret", h), token_matches_hash("guess", h)
    (True, False)
    """
    salt = secrets.token_bytes(SALT_BYTES) if salt is None else salt
    digest = _scrypt(token, salt, SCRYPT_N, SCRYPT_R, SCRYPT_P, HASH_BYTES)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def token_matches_hash(token: str, stored: str) -> bool:
    """True if ``token`` hashes to ``stored`` (compared in constant time)."""
    n, r, p, salt, want = _parse_hash(stored)
    got = _scrypt(token, salt, n, r, p, len(want))
    return hmac.compare_digest(got, want)


def _scrypt(token: str, salt: bytes, n: int, r: int, p: int, size: int) -> bytes:
    return hashlib.scrypt(
        token.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=size, maxmem=256 * n * r + 2**20
    )


def _parse_hash(stored: str) -> tuple[int, int, int, bytes, bytes]:
    """``scrypt$n$r$p$salt$hash`` split and checked (ValueError saying what is wrong)."""
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        msg = "the hash is not 'scrypt$n$r$p$<salt hex>$<hash hex>'"
        raise ValueError(msg)
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt, digest = bytes.fromhex(parts[4]), bytes.fromhex(parts[5])
    except ValueError:
        msg = "the hash's numbers or hex digits are malformed"
        raise ValueError(msg) from None
    if not (1 < n <= 2**20 and n & (n - 1) == 0 and 1 <= r <= 32 and 1 <= p <= 16):
        msg = f"the hash's scrypt cost (n={n}, r={r}, p={p}) is out of range"
        raise ValueError(msg)
    if len(salt) < 8 or len(digest) < 16:
        msg = "the hash's salt or digest is too short"
        raise ValueError(msg)
    return n, r, p, salt, digest


class TokenStore:
    """Trainee name -> salted hash of its token, in memory and (with ``path``) on disk.

    Parameters
    ----------
    path
        The token file; None keeps the names in memory only (forgotten on a restart).
    hashes
        Name -> stored hash to start with (as :meth:`open` loads them).
    """

    def __init__(self, path: Path | None = None, hashes: dict[str, str] | None = None) -> None:
        self.path = path
        self._hashes: dict[str, str] = dict(hashes or {})
        # tokens issued or checked by this process (never written): a later check is a
        # constant-time comparison instead of a hash, and a logged-in user's Join gets theirs
        self._known: dict[str, str] = {}

    @classmethod
    def open(cls, path: Path, *, forget: bool = False) -> TokenStore:
        """The store kept in ``path`` (empty if there is no file yet).

        Raises :class:`TokenFileError` for a damaged or unreadable file (copied to
        ``<path>.bak`` first); with ``forget`` it logs the problem as an error and returns an
        empty store instead, written to ``path`` at once.
        """
        try:
            return cls(path, _load(path))
        except TokenFileError as exc:
            if not forget:
                raise
            logger.error(
                "%s; starting with NO trainee names taken (forget tokens): every name is free "
                "to the next Join",
                exc,
            )
            store = cls(path)
            store.save()
            return store

    def __contains__(self, trainee: object) -> bool:
        return trainee in self._hashes

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._hashes))

    def __len__(self) -> int:
        return len(self._hashes)

    def matches(self, trainee: str, token: str) -> bool:
        """True if ``token`` is ``trainee``'s token (a taken name and a non-empty token)."""
        stored = self._hashes.get(trainee)
        if not stored or not token:
            return False
        known = self._known.get(trainee)
        if known is not None:
            return hmac.compare_digest(known.encode("utf-8"), token.encode("utf-8"))
        if not token_matches_hash(token, stored):
            return False
        self._known[trainee] = token
        return True

    def issue(self, trainee: str, given: str = "") -> str:
        """The token ``trainee`` joins with: ``given`` if it is theirs, else the one this
        process knows for the name, else a new one (the name taken, the file rewritten);
        '' for no name."""
        if not trainee:
            return ""
        if self.matches(trainee, given):
            return given
        known = self._known.get(trainee)
        if known is not None and trainee in self._hashes:
            return known
        token = secrets.token_urlsafe(16)
        self._hashes[trainee] = hash_token(token)
        self._known[trainee] = token
        self.save()
        return token

    def release(self, trainee: str) -> bool:
        """Forget ``trainee``'s token (the file rewritten); False if the name was free."""
        if trainee not in self._hashes:
            return False
        del self._hashes[trainee]
        self._known.pop(trainee, None)
        self.save()
        return True

    def save(self) -> None:
        """Rewrite the file (atomically) from the names held; nothing without a path.

        A write that fails is logged as an error: the names still hold in memory, but a
        restart would forget the ones since the last good write."""
        if self.path is None:
            return
        lines = [HEADER]
        lines += [
            json.dumps({"trainee": name, "hash": self._hashes[name]}, ensure_ascii=False)
            for name in sorted(self._hashes)
        ]
        try:
            atomic_write_text(self.path, "\n".join(lines) + "\n")
        except OSError as exc:
            logger.error(
                "cannot write the drill's trainee token file %s: %s; a restart of the drill "
                "server would forget the names taken since",
                self.path,
                exc.strerror or exc,
            )


def _load(path: Path) -> dict[str, str]:
    """The names and hashes in ``path`` ({} if there is none); TokenFileError if damaged."""
    lines = json_lines(path, lambda line, problem, _column: _damaged(path, line, problem))
    hashes: dict[str, str] = {}
    for number, entry in lines or ():
        if set(entry) != {"trainee", "hash"}:
            _damaged(path, number, 'not {"trainee": NAME, "hash": HASH}')
        name, stored = entry["trainee"], entry["hash"]
        if not isinstance(name, str) or not name or not isinstance(stored, str):
            _damaged(path, number, "the trainee must be a name and the hash a string")
        try:
            _parse_hash(stored)
        except ValueError as exc:
            _damaged(path, number, str(exc))
        if name in hashes:
            _damaged(path, number, f"the name {name!r} is listed twice")
        hashes[name] = stored
    return hashes


def _damaged(path: Path, line: int | None, problem: str) -> NoReturn:
    """Copy the damaged ``path`` to ``<path>.bak`` and raise TokenFileError saying so."""
    where = f"{path}:{line}" if line is not None else str(path)
    try:
        backup = keep_backup(path)
        kept = f"a copy is kept as {backup}"
    except OSError as exc:
        kept = f"no copy could be kept ({exc.strerror or exc})"
    msg = (
        f"{where}: the drill's trainee token file is damaged: {problem}; {kept}. The drill "
        "server does not start with it: repair the file, or remove it to start with every "
        "trainee name free (their saved tokens then prove nothing)"
    )
    raise TokenFileError(msg, path, line, problem)
