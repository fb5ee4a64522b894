"""Webhook signature schemes of each provider: compute (HMAC ones) and verify.

* Twilio and SignalWire: ``X-Twilio-Signature`` / ``X-SignalWire-Signature`` is
  base64(HMAC-SHA1(key, url + each form field name and value, sorted by name)), keyed by the
  auth token (Twilio) or the project's signing key (SignalWire).  The scheme has no
  timestamp: a replay verifies, and is stored once because events are deduplicated.
* Telnyx: ``telnyx-signature-ed25519`` is base64(Ed25519 signature of
  ``timestamp|body``), checked with the account's public key; ``telnyx-timestamp`` must be
  within :data:`TOLERANCE` seconds of now.
* jambonz: ``Jambonz-Signature: t=<unix time>,v1=<hex HMAC-SHA256(secret, "t.body")>``
  (feature-server lib/utils/base-requestor.js; checked as @jambonz/node-client's
  ``WebhookResponse.verifyJambonzSignature`` does), with the same tolerance.

Primitives come from :mod:`hmac`/:mod:`hashlib` and, for Ed25519, ``cryptography``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Iterable, Sequence
from urllib.parse import urlsplit, urlunsplit

TOLERANCE = 300
"""Seconds a timestamped signature (Telnyx, jambonz) stays acceptable, either way."""

Pairs = Sequence[tuple[str, str]]


class SignatureError(Exception):
    """The request is unsigned, forged or stale (answered 403)."""


def twilio_signature(key: str, url: str, params: Pairs) -> str:
    """Twilio's signature of a request to ``url`` with form ``params`` (no params for GET).

    Like twilio-python's ``RequestValidator``: field names sorted, and each name's distinct
    values sorted.
    """
    values: dict[str, set[str]] = {}
    for name, value in params:
        values.setdefault(name, set()).add(value)
    data = url + "".join(name + value for name in sorted(values) for value in sorted(values[name]))
    digest = hmac.new(key.encode(), data.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def _port_variants(url: str) -> list[str]:
    """``url`` as given, and with its default port added or removed (the SDKs accept both)."""
    parts = urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    userinfo = parts.netloc.rpartition("@")[0]
    prefix = f"{userinfo}@" if userinfo else ""
    if parts.port is None and default is not None:
        other = parts._replace(netloc=f"{prefix}{host}:{default}")
    elif parts.port is not None and parts.port == default:
        other = parts._replace(netloc=f"{prefix}{host}")
    else:
        return [url]
    return [url, urlunsplit(other)]


def verify_twilio(keys: Iterable[str], url: str, params: Pairs, signature: str | None) -> None:
    """Raise :class:`SignatureError` unless one of ``keys`` signed this request."""
    if not signature:
        raise SignatureError("the request is not signed")
    for key in keys:
        for candidate in _port_variants(url):
            if hmac.compare_digest(twilio_signature(key, candidate, params), signature):
                return
    raise SignatureError("the signature does not match")


def _check_fresh(raw: str | None, now: float | None) -> str:
    """``raw`` (a Unix time) if it is within :data:`TOLERANCE` of now; signed as written."""
    try:
        stamp = int(raw or "")
    except ValueError:
        raise SignatureError("the signature timestamp is missing or not a number") from None
    current = time.time() if now is None else now
    if abs(current - stamp) > TOLERANCE:
        raise SignatureError(f"the signature timestamp is more than {TOLERANCE} s from now")
    return str(raw)


def verify_telnyx(
    public_keys: Iterable[bytes],
    body: bytes,
    signature: str | None,
    timestamp: str | None,
    now: float | None = None,
) -> None:
    """Raise :class:`SignatureError` unless one of the Ed25519 ``public_keys`` signed this."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    if not signature:
        raise SignatureError("the request is not signed")
    stamp = _check_fresh(timestamp, now)
    try:
        raw_signature = base64.b64decode(signature, validate=True)
    except binascii.Error:
        raise SignatureError("the signature is not base64") from None
    message = f"{stamp}|".encode() + body
    for key in public_keys:
        try:
            Ed25519PublicKey.from_public_bytes(key).verify(raw_signature, message)
        except InvalidSignature:
            continue
        return
    raise SignatureError("the signature does not match")


def telnyx_public_key(text: str) -> bytes:
    """The 32 raw bytes of a Telnyx public key given as base64 (as the portal shows it)."""
    try:
        key = base64.b64decode(text.strip(), validate=True)
    except binascii.Error:
        raise ValueError("a Telnyx public key is base64 text") from None
    if len(key) != 32:
        raise ValueError("a Telnyx public key is 32 bytes (44 characters of base64)")
    return key


def jambonz_signature(secret: str, body: bytes, timestamp: int | str) -> str:
    """The hex HMAC-SHA256 jambonz puts after ``v1=``."""
    data = f"{timestamp}.".encode() + body
    return hmac.new(secret.encode(), data, hashlib.sha256).hexdigest()


def jambonz_header(secret: str, body: bytes, timestamp: int | None = None) -> str:
    """A ``Jambonz-Signature`` header value for ``body`` (emulator and tests)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return f"t={stamp},v1={jambonz_signature(secret, body, stamp)}"


def verify_jambonz(
    secrets: Iterable[str], body: bytes, header: str | None, now: float | None = None
) -> None:
    """Raise :class:`SignatureError` unless one of ``secrets`` signed this ``body``."""
    if not header:
        raise SignatureError("the request is not signed")
    stamp: str | None = None
    signatures: list[str] = []
    for item in header.split(","):
        key, _, value = item.strip().partition("=")
        if key == "t":
            stamp = value
        elif key == "v1":
            signatures.append(value)
    if stamp is None or not signatures:
        raise SignatureError("the Jambonz-Signature header has no t= or v1= part")
    checked = _check_fresh(stamp, now)
    for secret in secrets:
        expected = jambonz_signature(secret, body, checked)
        if any(hmac.compare_digest(expected, s) for s in signatures):
            return
    raise SignatureError("the signature does not match")
