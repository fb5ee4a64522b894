"""Keep secrets (AuthToken, ApiSecret) out of everything the shell prints."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from ..dsn import normalise, scan
from ..settings import all_properties, secret_names

MASK = "***"
_SECRET_KEYS = set(secret_names())
_KNOWN = set(all_properties())
# A bare 32-hex-digit word (a Twilio auth token's shape); SIDs are prefixed and so kept.
_TOKEN_SHAPE = re.compile(r"(?<![A-Za-z0-9])[0-9a-fA-F]{32}(?![A-Za-z0-9])")
_SEPARATORS = " \t:=\"'{}"


def _secret_spans(dsn: str) -> list[tuple[int, int, str]]:
    """Where secret values are written in ``dsn`` and what replaces them.

    Read with the driver's own linear scanner: a well-formed secret pair masks
    its value; a malformed part that starts with a secret key (``AuthToken:x``,
    ``auth_token x``) masks everything after the key.
    """
    pairs, problems = scan(dsn, _KNOWN)
    spans = [(*p.span, MASK) for p in pairs if normalise(p.key) in _SECRET_KEYS]
    for problem in problems:
        if problem.key and normalise(problem.key) in _SECRET_KEYS:
            spans.append((problem.position + len(problem.key), problem.end, " " + MASK))
    return sorted(spans)


def dsn_secrets(dsn: str) -> set[str]:
    """The values of secret keys in ``dsn`` (read leniently, even if malformed)."""
    found: set[str] = set()
    for start, end, _ in _secret_spans(dsn):
        raw = dsn[start:end]
        found.add(raw.strip(_SEPARATORS))
        found.update(word.strip(_SEPARATORS) for word in raw.split())
    return {v for v in found if v}


def mask_dsn(dsn: str) -> str:
    """``dsn`` with every secret value replaced by ``***``."""
    out: list[str] = []
    at = 0
    for start, end, mask in _secret_spans(dsn):
        out.append(dsn[at:start])
        out.append(mask)
        at = end
    out.append(dsn[at:])
    return "".join(out)


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
    """``Key=Value;...`` for the properties that differ from their defaults, secrets masked.

    The Twilio sandbox reads as ``Provider=Sandbox``, as it is usually written.
    """
    shown = dict(values)
    if shown.get("Sandbox") and shown.get("Provider") == "Twilio":
        shown["Provider"], shown["Sandbox"] = "Sandbox", False
    parts = []
    for prop in all_properties().values():
        value = shown.get(prop.name)
        if value is None or (value == prop.default and prop.name != "Provider"):
            continue
        if isinstance(value, bool):
            value = "true" if value else "false"
        secret = normalise(prop.name) in _SECRET_KEYS
        parts.append(f"{prop.name}={MASK if secret else value}")
    return ";".join(parts)
