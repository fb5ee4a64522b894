"""Keep secrets (AuthToken, ApiSecret) out of everything the shell prints."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..properties import PROPERTIES

MASK = "***"
_SECRET_KEYS = {p.name.lower() for p in PROPERTIES if p.secret}
_PAIR = re.compile(r"([A-Za-z_\- ]+?)\s*=\s*(\{[^}]*\}|[^;]*)")
# A secret key written with ':' or a space instead of '=' (a malformed DSN), e.g.
# "AuthToken:abc" or "auth_token abc": the word after it is still a secret.
_LOOSE_KEY = "|".join(
    r"[_\- ]?".join(re.findall(r"[A-Z][a-z]*", p.name)) for p in PROPERTIES if p.secret
)
_LOOSE_PAIR = re.compile(
    rf"(?<![A-Za-z])({_LOOSE_KEY})(\s*:\s*|\s+)(\{{[^}}]*\}}|[^;\s=][^;\s]*)", re.IGNORECASE
)
# A bare 32-hex-digit word (a Twilio auth token's shape); SIDs are prefixed and so kept.
_TOKEN_SHAPE = re.compile(r"(?<![A-Za-z0-9])[0-9a-fA-F]{32}(?![A-Za-z0-9])")


def _norm(key: str) -> str:
    return key.replace("_", "").replace("-", "").strip().lower()


def secret_names() -> frozenset[str]:
    """Normalised names of the secret connection properties."""
    return frozenset(_SECRET_KEYS)


def dsn_secrets(dsn: str) -> set[str]:
    """The values of secret keys in ``dsn`` (read leniently, even if malformed)."""
    found: set[str] = set()
    for match in _PAIR.finditer(dsn):
        if _norm(match.group(1)) in _SECRET_KEYS:
            value = match.group(2).strip()
            found.update({value, value.strip("{}")})
    for match in _LOOSE_PAIR.finditer(dsn):
        value = match.group(3)
        found.update({value, value.strip("{}")})
    return {v for v in found if v}


def mask_dsn(dsn: str) -> str:
    """``dsn`` with every secret value replaced by ``***``."""

    def repl(match: re.Match[str]) -> str:
        if _norm(match.group(1)) in _SECRET_KEYS:
            return f"{match.group(1)}={MASK}"
        return match.group(0)

    return _LOOSE_PAIR.sub(rf"\1\2{MASK}", _PAIR.sub(repl, dsn))


# "cannot read 'FRAGMENT'" quotes part of a connection string with Python's repr:
# single quotes, or double quotes when the fragment holds a single quote.
_FRAGMENT = re.compile(r"""cannot read (?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")


def hide_fragments(message: str) -> str:
    """``message`` without the connection-string fragments it quotes (they may hold a secret)."""
    return _FRAGMENT.sub("cannot read part of it", message)


class Scrubber:
    """Removes known secrets (and token-shaped words) from text meant for humans."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets: set[str] = set()
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Remember more secret values (very short ones would garble messages)."""
        self.secrets.update(s for s in secrets if s and len(s) >= 4)

    def __call__(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, MASK)
        return _TOKEN_SHAPE.sub(MASK, text)


def describe_settings(values: Mapping[str, Any]) -> str:
    """``Key=Value;...`` for the properties that differ from their defaults, secrets masked."""
    parts = []
    for prop in PROPERTIES:
        value = values.get(prop.name)
        if value is None or (value == prop.default and prop.name != "Provider"):
            continue
        parts.append(f"{prop.name}={MASK if prop.secret else value}")
    return ";".join(parts)
