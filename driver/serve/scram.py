"""SCRAM-SHA-256 (RFC 5802 / RFC 7677), the server side, as Postgres uses it.

The server keeps a *verifier* (salt, iterations, StoredKey, ServerKey), never
the password.  :func:`make_verifier` builds one in Postgres' own text form
(``SCRAM-SHA-256$4096:<salt>$<StoredKey>:<ServerKey>``), so a config file can
hold verifiers instead of passwords.  Channel binding is not offered
(``SCRAM-SHA-256-PLUS``); clients that insist on it are refused.

>>> v = parse_verifier(make_verifier("s3cret", salt=b"0123456789abcdef"))
>>> v.iterations
4096
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass

MECHANISM = "SCRAM-SHA-256"
ITERATIONS = 4096


class AuthFailed(Exception):
    """The client's proof or message was wrong (reported as 28P01, without detail)."""


@dataclass(frozen=True)
class Verifier:
    """What the server stores for one password."""

    salt: bytes
    iterations: int
    stored_key: bytes
    server_key: bytes


def _hmac(key: bytes, msg: bytes) -> bytes:
    return hmac.new(key, msg, hashlib.sha256).digest()


def verifier_from_password(
    password: str, salt: bytes | None = None, iterations: int = ITERATIONS
) -> Verifier:
    """Derive a verifier from a clear-text password."""
    salt = os.urandom(16) if salt is None else salt
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = _hmac(salted, b"Client Key")
    return Verifier(
        salt, iterations, hashlib.sha256(client_key).digest(), _hmac(salted, b"Server Key")
    )


def make_verifier(password: str, salt: bytes | None = None) -> str:
    """A verifier in Postgres' text form, for the config file."""
    v = verifier_from_password(password, salt)
    b64 = base64.b64encode
    return (
        f"{MECHANISM}${v.iterations}:{b64(v.salt).decode()}"
        f"${b64(v.stored_key).decode()}:{b64(v.server_key).decode()}"
    )


def parse_verifier(text: str) -> Verifier:
    """Read ``SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>``."""
    try:
        mechanism, rest = text.split("$", 1)
        head, keys = rest.split("$", 1)
        iterations, salt = head.split(":", 1)
        stored, server = keys.split(":", 1)
        if mechanism != MECHANISM:
            raise ValueError(mechanism)
        return Verifier(
            base64.b64decode(salt, validate=True),
            int(iterations),
            base64.b64decode(stored, validate=True),
            base64.b64decode(server, validate=True),
        )
    except ValueError:
        raise ValueError(
            "not a SCRAM-SHA-256 verifier (expected SCRAM-SHA-256$<iterations>:<salt>$"
            "<StoredKey>:<ServerKey>; `confsql serve --hash-password` makes one)"
        ) from None


def _attributes(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in text.split(","):
        if len(part) < 2 or part[1] != "=":
            raise AuthFailed("malformed SCRAM message")
        out[part[0]] = part[2:]
    return out


class ScramExchange:
    """One server-side SCRAM exchange: first message in, challenge out, proof in, signature out.

    ``verifier`` may be None (unknown user): the exchange then runs against a
    random verifier, so a client cannot tell an unknown user from a wrong password.
    """

    def __init__(self, verifier: Verifier | None, server_nonce: str | None = None) -> None:
        self.verifier = verifier or verifier_from_password(secrets.token_hex(16))
        self._server_nonce = server_nonce or base64.b64encode(os.urandom(18)).decode()
        self.known = verifier is not None
        self._client_first_bare = ""
        self._server_first = ""
        self._nonce = ""
        self._gs2 = ""

    def server_first(self, mechanism: str, client_first: bytes) -> bytes:
        """Answer the client-first-message with the server-first-message."""
        if mechanism != MECHANISM:
            raise AuthFailed(f"unsupported SASL mechanism {mechanism!r}; use {MECHANISM}")
        text = client_first.decode("utf-8", "replace")
        if text.startswith("p="):
            raise AuthFailed("channel binding is not supported by this server")
        parts = text.split(",", 2)
        if len(parts) != 3 or parts[0] not in ("n", "y"):
            raise AuthFailed("malformed SCRAM client-first-message")
        self._gs2 = f"{parts[0]},{parts[1]},"
        self._client_first_bare = parts[2]
        attrs = _attributes(parts[2])
        client_nonce = attrs.get("r", "")
        if not client_nonce:
            raise AuthFailed("SCRAM client-first-message has no nonce")
        self._nonce = client_nonce + self._server_nonce
        salt = base64.b64encode(self.verifier.salt).decode()
        self._server_first = f"r={self._nonce},s={salt},i={self.verifier.iterations}"
        return self._server_first.encode()

    def server_final(self, client_final: bytes) -> bytes:
        """Check the client's proof; return the server-final-message (or raise AuthFailed)."""
        text = client_final.decode("utf-8", "replace")
        without_proof, sep, proof_b64 = text.rpartition(",p=")
        if not sep:
            raise AuthFailed("SCRAM client-final-message has no proof")
        attrs = _attributes(without_proof)
        if attrs.get("r") != self._nonce:
            raise AuthFailed("SCRAM nonce mismatch")
        if attrs.get("c") != base64.b64encode(self._gs2.encode()).decode():
            raise AuthFailed("SCRAM channel-binding data mismatch")
        try:
            proof = base64.b64decode(proof_b64, validate=True)
        except ValueError:
            raise AuthFailed("SCRAM proof is not base64") from None
        auth_message = f"{self._client_first_bare},{self._server_first},{without_proof}".encode()
        signature = _hmac(self.verifier.stored_key, auth_message)
        if len(proof) != len(signature):
            raise AuthFailed("wrong password")
        client_key = bytes(a ^ b for a, b in zip(proof, signature, strict=True))
        valid = hmac.compare_digest(hashlib.sha256(client_key).digest(), self.verifier.stored_key)
        if not (valid and self.known):
            raise AuthFailed("wrong password")
        server_signature = _hmac(self.verifier.server_key, auth_message)
        return b"v=" + base64.b64encode(server_signature)
