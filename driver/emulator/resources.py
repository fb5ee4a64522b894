"""Render model objects as the API's JSON resources."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import quote

from .encoding import embed
from .state import Conference, Participant

if TYPE_CHECKING:
    from .calls import CallView

API_VERSION = "2010-04-01"
ROOT = f"/{API_VERSION}/Accounts"

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_TWO_DIGITS = tuple(f"{n:02d}" for n in range(60))  # 3x faster than f"{n:02d}" per use

# Formatted dates by datetime: model dates are whole seconds and shared by many
# resources (a bulk conference's participants all join at once).
_DATE_CACHE: dict[datetime, str] = {}
_DATE_CACHE_LIMIT = 1 << 16


def rfc2822(value: datetime) -> str:
    """Format an aware UTC datetime the way Twilio does (locale independent).

    >>> from datetime import UTC, datetime
    >>> rfc2822(datetime(2011, 2, 18, 19, 26, 50, tzinfo=UTC))
    'Fri, 18 Feb 2011 19:26:50 +0000'
    """
    if value.tzinfo is not UTC:  # equal instants in other zones have other fields
        return _format_date(value)
    text = _DATE_CACHE.get(value)
    if text is None:
        if len(_DATE_CACHE) >= _DATE_CACHE_LIMIT:
            _DATE_CACHE.clear()
        text = _DATE_CACHE[value] = _format_date(value)
    return text


def _format_date(value: datetime) -> str:
    two = _TWO_DIGITS
    return (
        f"{_DAYS[value.weekday()]}, {two[value.day]} {_MONTHS[value.month - 1]} {value.year} "
        f"{two[value.hour]}:{two[value.minute]}:{two[value.second]} +0000"
    )


def account_root(account_sid: str) -> str:
    """The path every resource of an account lives under."""
    return f"{ROOT}/{account_sid}"


def conference_path(account_sid: str, conference_sid: str) -> str:
    """Path of one conference, without the ``.json`` suffix."""
    return f"{account_root(account_sid)}/Conferences/{conference_sid}"


def conference_json(conference: Conference) -> dict[str, object]:
    """The conference resource, with exactly the spec's properties."""
    base = f"{ROOT}/{conference.account_sid}/Conferences/{conference.sid}"  # conference_path
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


def conference_item(conference: Conference) -> object:
    """The conference as a list item: :func:`conference_json`, encoded once and cached.

    The cache lives on the model object until :meth:`Conference.changed`.
    """
    item = conference.rendered
    if item is None:
        item = conference.rendered = embed(conference_json(conference))
    return item


def participant_item(participant: Participant) -> object:
    """The participant as a list item (``queue_time`` null), encoded once and cached.

    The cache lives on the model object until :meth:`Participant.changed`.
    """
    item = participant.rendered
    if item is None:
        item = participant.rendered = embed(participant_json(participant))
    return item


def participant_json(
    participant: Participant, *, with_queue_time: bool = False
) -> dict[str, object]:
    """The participant resource; ``queue_time`` is only filled on create."""
    call_sid = participant.call_sid
    segment = call_sid if call_sid.isascii() and call_sid.isalnum() else quote(call_sid, safe="")
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
        "uri": (
            f"{ROOT}/{participant.account_sid}/Conferences/{participant.conference_sid}"
            f"/Participants/{segment}.json"  # SIDs, the usual case, need no quoting
        ),
    }


def call_json(call: CallView) -> dict[str, object]:
    """A call resource (``/Calls/{Sid}.json``), with exactly the spec's properties."""
    base = f"{ROOT}/{call.account_sid}/Calls/{call.sid}"
    ended = call.status in ("completed", "canceled", "failed", "busy", "no-answer")
    return {
        "sid": call.sid,
        "date_created": rfc2822(call.date_created),
        "date_updated": rfc2822(call.date_updated),
        "parent_call_sid": None,
        "account_sid": call.account_sid,
        "to": call.to,
        "to_formatted": call.to,
        "from": call.from_,
        "from_formatted": call.from_,
        "phone_number_sid": None,
        "status": call.status,
        "start_time": rfc2822(call.date_created) if call.status != "queued" else None,
        "end_time": rfc2822(call.date_updated) if ended else None,
        "duration": str(int((call.date_updated - call.date_created).total_seconds()))
        if ended
        else None,
        "price": None,
        "price_unit": "USD",
        "direction": "outbound-api",
        "answered_by": None,
        "api_version": API_VERSION,
        "forwarded_from": None,
        "group_sid": None,
        "caller_name": None,
        "queue_time": "0",
        "trunk_sid": None,
        "uri": f"{base}.json",
        "subresource_uris": {
            "notifications": f"{base}/Notifications.json",
            "recordings": f"{base}/Recordings.json",
        },
    }
