"""Turn a verified webhook body into an :class:`EventRecord`, per provider.

Every function raises :class:`Malformed` (answered 400, nothing stored) when the body is
not a well-formed conference event of that provider.  ``None`` means the request is
well-formed but not about a conference (Telnyx posts every call event of an application to
one URL): it is acknowledged and not stored.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import parse_qsl

import orjson

from .record import EventRecord, utc_text
from .vocabulary import JAMBONZ_EVENTS, JAMBONZ_FLAGS, TELNYX_EVENTS, TELNYX_REASONS

_EVENT_NAME = re.compile(r"^[a-z][a-z0-9_.-]{0,63}$")
_FLAGS = {"true": True, "false": False}


class Malformed(Exception):
    """The body is not a well-formed event (answered 400)."""


# -- shared helpers -------------------------------------------------------------------


def form_pairs(body: bytes) -> list[tuple[str, str]]:
    """The fields of an ``application/x-www-form-urlencoded`` body, strictly parsed."""
    try:
        text = body.decode("utf-8")
        return parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict")
    except (UnicodeDecodeError, ValueError) as exc:
        raise Malformed(f"the form body cannot be read: {exc}") from None


def json_object(body: bytes) -> dict[str, Any]:
    """The JSON object a body holds."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise Malformed(f"the body is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise Malformed("the body is not a JSON object")
    return value


def _text(source: Mapping[str, Any], *names: str, required: bool = False) -> str | None:
    for name in names:
        value = source.get(name)
        if isinstance(value, str) and value:
            return value
        if value is not None and not isinstance(value, str):
            raise Malformed(f"{name} is not text")
    if required:
        raise Malformed(f"{names[0]} is missing")
    return None


def _event_name(raw: str) -> str:
    if not _EVENT_NAME.match(raw):
        raise Malformed(f"{raw[:40]!r} is not an event name")
    return raw


def _iso_time(raw: str, name: str) -> str:
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise Malformed(f"{name} {raw[:40]!r} is not an ISO 8601 time") from None
    return utc_text(value if value.tzinfo else value.replace(tzinfo=UTC))


def _digest(parts: object) -> str:
    """A content hash: the identity of an event whose provider gives it none."""
    return "sha256:" + hashlib.sha256(orjson.dumps(parts)).hexdigest()


# -- Twilio and SignalWire -----------------------------------------------------------------


def _flag(fields: Mapping[str, str], name: str) -> bool | None:
    raw = fields.get(name)
    if raw is None or raw == "":
        return None
    flag = _FLAGS.get(raw.lower())
    if flag is None:
        raise Malformed(f"{name} is {raw[:20]!r}, not true or false")
    return flag


def from_twilio(provider: str, pairs: Sequence[tuple[str, str]]) -> EventRecord:
    """A Twilio or SignalWire conference status callback (form fields)."""
    fields = dict(pairs)
    conference = _text(fields, "ConferenceSid", required=True)
    event = _event_name(_text(fields, "StatusCallbackEvent", required=True) or "")
    stamp = _text(fields, "Timestamp", required=True) or ""
    try:
        when = parsedate_to_datetime(stamp)
    except (TypeError, ValueError):
        raise Malformed(f"Timestamp {stamp[:40]!r} is not an RFC 2822 date") from None
    sequence: int | None = None
    raw_sequence = fields.get("SequenceNumber")
    if raw_sequence:
        if not raw_sequence.isdigit():
            raise Malformed(f"SequenceNumber {raw_sequence[:20]!r} is not a number")
        sequence = int(raw_sequence)
    grouped: dict[str, Any] = {}
    for name, value in pairs:
        grouped.setdefault(name, []).append(value)
    payload = {k: v[0] if len(v) == 1 else v for k, v in grouped.items()}
    identity = f"{conference}/{sequence}" if sequence is not None else _digest(sorted(pairs))
    return EventRecord(
        event_id=identity,
        provider=provider,
        account_sid=_text(fields, "AccountSid"),
        conference_sid=conference or "",
        friendly_name=_text(fields, "FriendlyName"),
        call_sid=_text(fields, "CallSid"),
        label=_text(fields, "ParticipantLabel"),
        event=event,
        timestamp=utc_text(when if when.tzinfo else when.replace(tzinfo=UTC)),
        sequence_number=sequence,
        muted=_flag(fields, "Muted"),
        hold=_flag(fields, "Hold"),
        coaching=_flag(fields, "Coaching"),
        reason_conference_ended=_text(fields, "ReasonConferenceEnded"),
        payload=orjson.dumps(payload).decode(),
    )


# -- Telnyx -----------------------------------------------------------------------------------


def from_telnyx(body: bytes) -> EventRecord | None:
    """A Telnyx Call Control webhook (``{"data": {event_type, id, payload, ...}}``)."""
    envelope = json_object(body)
    data = envelope.get("data")
    if not isinstance(data, dict):
        raise Malformed("data is missing or not an object")
    raw_event = _text(data, "event_type", required=True) or ""
    identity = _text(data, "id", required=True) or ""
    payload = data.get("payload", {})
    if not isinstance(payload, dict):
        raise Malformed("data.payload is not an object")
    conference = _text(payload, "conference_id")
    if conference is None:
        return None  # a call event of the same application, not a conference event
    occurred = _text(data, "occurred_at") or _text(payload, "occurred_at", required=True) or ""
    event = TELNYX_EVENTS.get(raw_event) or _event_name(raw_event)
    reason = _text(payload, "reason")
    wide = event in ("conference-start", "conference-end")
    return EventRecord(
        event_id=identity,
        provider="Telnyx",
        conference_sid=conference,
        call_sid=None if wide else _text(payload, "call_control_id"),
        event=event,
        timestamp=_iso_time(occurred, "occurred_at"),
        reason_conference_ended=TELNYX_REASONS.get(reason, reason) if reason else None,
        payload=body.decode("utf-8"),
    )


# -- jambonz ----------------------------------------------------------------------------------


def from_jambonz(body: bytes) -> EventRecord:
    """A jambonz ``conference`` verb statusHook event (snake_case keys over HTTP).

    jambonz names the conference ``conf:<account>:<name>`` in ``conference_sid``; the stored
    ConferenceSid is the name (``friendly_name``), which is what its REST API lists.  A call
    that confsql placed carries confsql's tag in ``customerData`` (see
    :mod:`driver.events.hook`): its label, and on ``join`` whether it joined muted.  jambonz
    posts ``end`` once from the participant whose leaving ended the conference and again from
    each one removed with it; only the first can have ``members`` above 0, which happens only
    when that participant had endConferenceOnExit (feature-server lib/tasks/conference.js,
    ``_doFinalMemberCheck``), so that one is given its reason.  The events confsql reports
    itself (``mute``, ``unmute``, ``hold``, ``unhold``) set Muted or Hold.
    """
    fields = json_object(body)
    raw_event = _text(fields, "event", required=True) or ""
    call = _text(fields, "call_sid", "callSid", required=True) or ""
    occurred = _text(fields, "time", required=True) or ""
    account = _text(fields, "account_sid", "accountSid")
    raw_conference = _text(fields, "conference_sid", "conferenceSid", required=True) or ""
    name = _text(fields, "friendly_name", "friendlyName")
    event = JAMBONZ_EVENTS.get(raw_event) or _event_name(raw_event)
    wide = event in ("conference-start", "conference-end")
    tagged = _confsql_tag(fields)
    label = tagged.get("label") if isinstance(tagged.get("label"), str) else None
    flags: dict[str, bool | None] = {"muted": None, "hold": None}
    if raw_event in JAMBONZ_FLAGS:
        which, value = JAMBONZ_FLAGS[raw_event]
        flags[which] = value
    elif event == "participant-join" and tagged is not _UNTAGGED:
        flags["muted"] = tagged.get("joinMuted") is True
        flags["hold"] = False
    members = fields.get("members")
    reason = None
    if event == "conference-end" and _count(members) > 0:
        reason = "participant-with-end-conference-on-exit-left"
    return EventRecord(
        event_id=f"{call}/{raw_event}/{occurred}",
        provider="Jambonz",
        account_sid=account,
        conference_sid=name or _conference_name(raw_conference, account),
        friendly_name=name,
        call_sid=None if wide else call,
        label=None if wide else label,
        event=event,
        timestamp=_iso_time(occurred, "time"),
        muted=flags["muted"],
        hold=flags["hold"],
        reason_conference_ended=reason,
        payload=body.decode("utf-8"),
    )


_UNTAGGED: dict[str, Any] = {}


def _confsql_tag(fields: Mapping[str, Any]) -> dict[str, Any]:
    """What confsql's tag verb recorded on the call (``customerData.confsql``), if anything."""
    for key in ("customerData", "customer_data"):
        data = fields.get(key)
        if isinstance(data, dict):
            tag = data.get("confsql")
            if isinstance(tag, dict):
                return tag
    return _UNTAGGED


def _count(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return int(value)


def _conference_name(raw: str, account: str | None) -> str:
    """``conf:<account>:<name>`` -> ``<name>`` (anything else is kept as it is)."""
    prefix = f"conf:{account}:" if account else None
    if prefix and raw.startswith(prefix) and len(raw) > len(prefix):
        return raw[len(prefix) :]
    return raw
