"""What a receiver needs to know: where it is reached, where it stores, what it trusts."""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_EVENTS_DB = "./confsql-events.db"


@dataclass(frozen=True)
class Secrets:
    """Per-provider verification keys; several per provider allow key rotation.

    ``repr`` never shows them.
    """

    twilio: tuple[str, ...] = ()
    signalwire: tuple[str, ...] = ()
    telnyx: tuple[bytes, ...] = ()
    jambonz: tuple[str, ...] = ()

    def providers(self) -> list[str]:
        """The providers this receiver can verify (and so accepts events from)."""
        named = (
            ("Twilio", self.twilio),
            ("SignalWire", self.signalwire),
            ("Telnyx", self.telnyx),
            ("Jambonz", self.jambonz),
        )
        return [name for name, keys in named if keys]

    def __repr__(self) -> str:
        return f"Secrets(providers={self.providers()})"


@dataclass(frozen=True)
class ReceiverConfig:
    """A receiver's settings.

    ``webhook_url`` is the public base URL providers post to (a tunnel or ingress); the
    receiver's routes are appended to it, and Twilio/SignalWire signatures are checked
    against that URL, as the provider saw it.
    """

    webhook_url: str
    events_db: str = DEFAULT_EVENTS_DB
    secrets: Secrets = field(default_factory=Secrets)

    def public_url(self, raw_path: str, query: str) -> str:
        """The URL a provider posted to, for a request that reached ``raw_path?query``."""
        url = self.webhook_url.rstrip("/") + raw_path
        return f"{url}?{query}" if query else url
