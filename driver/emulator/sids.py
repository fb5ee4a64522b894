"""Deterministic SID generation and the SID patterns the API validates."""

from __future__ import annotations

import hashlib
import re
import uuid
from collections import Counter

DEMO_ACCOUNT_SID = "ACcec847a17627701845f3515221998583"
"""The account every fresh :class:`Emulator` starts with."""

DEMO_AUTH_TOKEN = "4f391b47d27d0575b04567b80951acd8"
"""The auth token of :data:`DEMO_ACCOUNT_SID`."""

ACCOUNT_SID = re.compile(r"^AC[0-9a-fA-F]{32}$")
API_KEY_SID = re.compile(r"^SK[0-9a-fA-F]{32}$")
CONFERENCE_SID = re.compile(r"^CF[0-9a-fA-F]{32}$")
CALL_SID = re.compile(r"^CA[0-9a-fA-F]{32}$")
BYOC_SID = re.compile(r"^BY[0-9a-fA-F]{32}$")
LOWER_CALL_SID = re.compile(r"^CA[0-9a-f]{32}$")


class SidFactory:
    """Mints SIDs from a per-prefix counter hashed with a salt.

    The same sequence of calls always yields the same SIDs, so tests are
    reproducible, yet the SIDs look like Twilio's (prefix + 32 lowercase hex).
    """

    def __init__(self, salt: str = "confsql-emulator") -> None:
        self._salt = salt
        self._counters: Counter[str] = Counter()

    def next(self, prefix: str) -> str:
        """Return the next SID for ``prefix`` (e.g. ``"CF"``)."""
        self._counters[prefix] += 1
        seed = f"{self._salt}:{prefix}:{self._counters[prefix]}".encode()
        return prefix + hashlib.sha256(seed).hexdigest()[:32]

    def reset(self) -> None:
        """Restart every counter, so the next SIDs repeat a fresh emulator's."""
        self._counters.clear()


class UuidFactory(SidFactory):
    """Mints deterministic UUIDs (the same per prefix and count), for providers whose ids
    are UUIDs (SignalWire, Telnyx, jambonz)."""

    def next(self, prefix: str) -> str:
        """Return the next UUID for the kind of object ``prefix`` names."""
        self._counters[prefix] += 1
        seed = f"{self._salt}:{prefix}:{self._counters[prefix]}".encode()
        return str(uuid.UUID(bytes=hashlib.sha256(seed).digest()[:16], version=4))
