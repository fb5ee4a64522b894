"""Render model objects as the API's JSON resources."""

from __future__ import annotations

from datetime import datetime
from urllib.parse import quote

from .state import Conference, Participant

API_VERSION = "2010-04-01"
ROOT = f"/{API_VERSION}/Accounts"

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def rfc2822(value: datetime) -> str:
    """Format an aware UTC datetime the way Twilio does (locale independent).

    >>> from datetime import UTC, datetime
    >>> rfc2822(datetime(2011, 2, 18, 19, 26, 50, tzinfo=UTC))
    'Fri, 18 Feb 2011 19:26:50 +0000'
    """
    return (
        f"{_DAYS[value.weekday()]}, {value.day:02d} {_MONTHS[value.month - 1]} {value.year} "
        f"{value.hour:02d}:{value.minute:02d}:{value.second:02d} +0000"
    )


def account_root(account_sid: str) -> str:
    """The path every resource of an account lives under."""
    return f"{ROOT}/{account_sid}"


def conference_path(account_sid: str, conference_sid: str) -> str:
    """Path of one conference, without the ``.json`` suffix."""
    return f"{account_root(account_sid)}/Conferences/{conference_sid}"


def conference_json(conference: Conference) -> dict[str, object]:
    """The conference resource, with exactly the spec's properties."""
    base = conference_path(conference.account_sid, conference.sid)
    return {
        "account_sid": conference.account_sid,
        "date_created": rfc2822(conference.date_created),
        "date_updated": rfc2822(conference.date_updated),
        "api_version": API_VERSION,
        "friendly_name": conference.friendly_name,
        "region": conference.region,
        "sid": conference.sid,
        "status": conference.status,
        "uri": f"{base}.json",
        "subresource_uris": {
            "participants": f"{base}/Participants.json",
            "recordings": f"{base}/Recordings.json",
        },
        "reason_conference_ended": conference.reason_conference_ended,
        "call_sid_ending_conference": conference.call_sid_ending_conference,
    }


def participant_json(
    participant: Participant, *, with_queue_time: bool = False
) -> dict[str, object]:
    """The participant resource; ``queue_time`` is only filled on create."""
    base = conference_path(participant.account_sid, participant.conference_sid)
    return {
        "account_sid": participant.account_sid,
        "call_sid": participant.call_sid,
        "label": participant.label,
        "call_sid_to_coach": participant.call_sid_to_coach,
        "coaching": participant.coaching,
        "conference_sid": participant.conference_sid,
        "date_created": rfc2822(participant.date_created),
        "date_updated": rfc2822(participant.date_updated),
        "end_conference_on_exit": participant.end_conference_on_exit,
        "muted": participant.muted,
        "hold": participant.hold,
        "start_conference_on_enter": participant.start_conference_on_enter,
        "status": participant.status,
        "queue_time": str(participant.queue_time_ms) if with_queue_time else None,
        "uri": f"{base}/Participants/{quote(participant.call_sid, safe='')}.json",
    }
