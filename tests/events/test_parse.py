"""Provider bodies become ConferenceEvents rows in one vocabulary."""

from __future__ import annotations

import orjson
import pytest

from driver import schema
from driver.events import EVENTS, parse
from driver.events.record import EventRecord
from driver.events.vocabulary import JAMBONZ_EVENTS, TELNYX_EVENTS, TWILIO_SUBSCRIPTIONS

from .conftest import CONFERENCE, jambonz_body, telnyx_body, twilio_form


def test_record_columns_are_the_declared_columns() -> None:
    declared = schema.load().tables["ConferenceEvents"]
    record = EventRecord("id", "Twilio", "CF", "participant-join", "2024-01-01 00:00:00", "{}")
    assert list(record.columns()) == [c.name for c in declared.columns]


def test_vocabulary_covers_every_mapping() -> None:
    assert len(EVENTS) == 12
    assert set(TELNYX_EVENTS.values()) <= set(EVENTS)
    assert set(JAMBONZ_EVENTS.values()) <= set(EVENTS)
    covered = {e for events in TWILIO_SUBSCRIPTIONS.values() for e in events}
    assert set(EVENTS) <= covered
    described = schema.load().tables["ConferenceEvents"].column("Event")
    assert described is not None
    assert all(name in described.description for name in EVENTS)


def test_twilio_fields() -> None:
    form = twilio_form(
        4,
        "conference-end",
        ReasonConferenceEnded="participant-with-end-conference-on-exit-left",
        Muted="TRUE",
    )
    record = parse.from_twilio("Twilio", list(form.items()))
    assert record.event_id == f"{CONFERENCE}/4"
    assert record.timestamp == "2017-06-01 20:48:32"
    assert (record.muted, record.hold, record.coaching) == (True, False, False)
    assert record.label == "ana" and record.friendly_name == "standup"
    assert record.reason_conference_ended == "participant-with-end-conference-on-exit-left"
    assert orjson.loads(record.payload) == form


def test_twilio_timestamp_is_converted_to_utc() -> None:
    form = twilio_form(1, Timestamp="Thu, 01 Jun 2017 22:48:32 +0200")
    assert parse.from_twilio("Twilio", list(form.items())).timestamp == "2017-06-01 20:48:32"


def test_twilio_unknown_event_keeps_its_name() -> None:
    form = twilio_form(1, "announcement-fail")
    assert parse.from_twilio("Twilio", list(form.items())).event == "announcement-fail"


def test_repeated_form_fields_stay_in_the_payload() -> None:
    pairs = [*twilio_form(1).items(), ("X", "a"), ("X", "b")]
    assert orjson.loads(parse.from_twilio("Twilio", pairs).payload)["X"] == ["a", "b"]


@pytest.mark.parametrize(("raw", "event"), sorted(TELNYX_EVENTS.items()))
def test_telnyx_event_types(raw: str, event: str) -> None:
    record = parse.from_telnyx(telnyx_body(raw))
    assert record is not None
    assert record.event == event
    assert record.timestamp == "2024-05-01 10:00:00"
    assert record.event_id == "evt-1" and record.conference_sid == "c0nf-1"
    wide = event in ("conference-start", "conference-end")
    assert record.call_sid == (None if wide else "v3:call-1")
    assert record.account_sid is None and record.friendly_name is None


@pytest.mark.parametrize(
    ("reason", "normalised"),
    [
        ("all_left", "last-participant-left"),
        ("host_left", "participant-with-end-conference-on-exit-left"),
        ("time_exceeded", "time_exceeded"),
    ],
)
def test_telnyx_end_reasons(reason: str, normalised: str) -> None:
    record = parse.from_telnyx(telnyx_body("conference.ended", reason=reason))
    assert record is not None and record.reason_conference_ended == normalised


def test_telnyx_other_conference_events_keep_their_name() -> None:
    record = parse.from_telnyx(telnyx_body("conference.floor.changed"))
    assert record is not None and record.event == "conference.floor.changed"


@pytest.mark.parametrize(("raw", "event"), sorted(JAMBONZ_EVENTS.items()))
def test_jambonz_events(raw: str, event: str) -> None:
    record = parse.from_jambonz(jambonz_body(raw))
    assert record.event == event
    assert record.event_id == f"9f1e-call/{raw}/2024-05-01T10:00:00.336Z"
    assert record.conference_sid == "standup" and record.timestamp == "2024-05-01 10:00:00"
    wide = event in ("conference-start", "conference-end")
    assert record.call_sid == (None if wide else "9f1e-call")
    assert record.sequence_number is None
    flags = {"mute": (True, None), "unmute": (False, None), "hold": (None, True)}
    flags["unhold"] = (None, False)
    assert (record.muted, record.hold) == flags.get(raw, (None, None))


def test_jambonz_conference_is_its_name() -> None:
    """jambonz sends conf:<account>:<name>; the name is what its REST API lists."""
    body = jambonz_body(conference_sid="conf:acct-1:standup", friendly_name="standup")
    assert parse.from_jambonz(body).conference_sid == "standup"

    def unnamed(conference_sid: str) -> bytes:
        fields = orjson.loads(jambonz_body(conference_sid=conference_sid))
        del fields["friendly_name"]
        return orjson.dumps(fields)

    assert parse.from_jambonz(unnamed("conf:acct-1:a room")).conference_sid == "a room"
    # another account's prefix is not stripped
    assert parse.from_jambonz(unnamed("conf:other:room")).conference_sid == "conf:other:room"


def test_jambonz_confsql_tag_gives_label_and_join_flags() -> None:
    tag = {"customerData": {"confsql": {"label": "ana", "joinMuted": True}}}
    joined = parse.from_jambonz(jambonz_body("join", **tag))
    assert (joined.label, joined.muted, joined.hold) == ("ana", True, False)
    left = parse.from_jambonz(jambonz_body("leave", **tag))
    assert (left.label, left.muted, left.hold) == ("ana", None, None)
    untagged = parse.from_jambonz(jambonz_body("join", customerData={"crm": 7}))
    assert (untagged.label, untagged.muted, untagged.hold) == (None, None, None)
    # an application's call still carrying the token (before confsql's tag verb ran)
    token = parse.from_jambonz(jambonz_body("join", customerData={"confsql": "x.y"}))
    assert (token.label, token.muted) == (None, None)
    # conference-wide events are not about the tagged participant
    ended = parse.from_jambonz(jambonz_body("end", **tag))
    assert (ended.call_sid, ended.label) == (None, None)


def test_jambonz_end_reason_only_when_certain() -> None:
    """Only a participant with endConferenceOnExit ends it while others remain."""
    by_moderator = parse.from_jambonz(jambonz_body("end", members=2))
    assert by_moderator.reason_conference_ended == "participant-with-end-conference-on-exit-left"
    for members in (0, None, "2", True):
        ended = parse.from_jambonz(jambonz_body("end", members=members))
        assert ended.reason_conference_ended is None
    assert parse.from_jambonz(jambonz_body("leave", members=2)).reason_conference_ended is None


def test_jambonz_camel_case_keys_are_read_too() -> None:
    body = orjson.dumps(
        {"event": "leave", "conferenceSid": "room", "callSid": "c1", "time": "2024-05-01T10:00:00Z"}
    )
    record = parse.from_jambonz(body)
    assert (record.conference_sid, record.call_sid, record.event) == (
        "room",
        "c1",
        "participant-leave",
    )
