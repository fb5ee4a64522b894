"""One conference event, normalised: a row of the ConferenceEvents table."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


def utc_text(value: datetime) -> str:
    """UTC 'YYYY-MM-DD HH:MM:SS', as every DATETIME column holds (naive means UTC)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%d %H:%M:%S")


def _flag(value: bool | None) -> int | None:
    return None if value is None else int(value)


@dataclass(frozen=True)
class EventRecord:
    """A verified, normalised conference event (see schema/tables/ConferenceEvents.toml)."""

    event_id: str
    provider: str
    conference_sid: str
    event: str
    timestamp: str
    payload: str
    account_sid: str | None = None
    friendly_name: str | None = None
    call_sid: str | None = None
    label: str | None = None
    sequence_number: int | None = None
    muted: bool | None = None
    hold: bool | None = None
    coaching: bool | None = None
    reason_conference_ended: str | None = None

    def columns(self) -> dict[str, object]:
        """Column name → stored value (booleans as 1/0)."""
        return {
            "EventId": self.event_id,
            "Provider": self.provider,
            "AccountSid": self.account_sid,
            "ConferenceSid": self.conference_sid,
            "FriendlyName": self.friendly_name,
            "CallSid": self.call_sid,
            "Label": self.label,
            "Event": self.event,
            "Timestamp": self.timestamp,
            "SequenceNumber": self.sequence_number,
            "Muted": _flag(self.muted),
            "Hold": _flag(self.hold),
            "Coaching": _flag(self.coaching),
            "ReasonConferenceEnded": self.reason_conference_ended,
            "Payload": self.payload,
        }
