"""One event vocabulary across providers, and how each provider's names map onto it.

Twilio's ``StatusCallbackEvent`` values are the vocabulary (SignalWire sends the same);
Telnyx's ``conference.*`` webhook types and jambonz's ``statusEvents`` are mapped onto it.
An event with no equivalent keeps the provider's own name, so nothing verified is dropped.
"""

from __future__ import annotations

EVENTS: tuple[str, ...] = (
    "conference-start",
    "conference-end",
    "participant-join",
    "participant-leave",
    "participant-mute",
    "participant-unmute",
    "participant-hold",
    "participant-unhold",
    "participant-speech-start",
    "participant-speech-stop",
    "participant-modify",
    "announcement-end",
)

# Telnyx Call Control webhook ``data.event_type``.  Its "speak" events are text-to-speech
# played into the conference (an announcement), not a participant talking.
TELNYX_EVENTS: dict[str, str] = {
    "conference.created": "conference-start",
    "conference.ended": "conference-end",
    "conference.participant.joined": "participant-join",
    "conference.participant.left": "participant-leave",
    "conference.playback.ended": "announcement-end",
    "conference.speak.ended": "announcement-end",
    "conference.participant.playback.ended": "announcement-end",
    "conference.participant.speak.ended": "announcement-end",
}

# jambonz ``conference`` verb status events.  Its docs name the end of speech ``end-talking``;
# feature-server (lib/tasks/conference.js) sends ``stop-talking``.  Both are accepted.
# jambonz reports no mute or hold changes: the last four are what confsql itself reports,
# signed like a jambonz event, after jambonz accepted a change it asked for (see
# driver.providers.jambonz); their body says ``"reported_by": "confsql"``.
JAMBONZ_EVENTS: dict[str, str] = {
    "start": "conference-start",
    "end": "conference-end",
    "join": "participant-join",
    "leave": "participant-leave",
    "start-talking": "participant-speech-start",
    "stop-talking": "participant-speech-stop",
    "end-talking": "participant-speech-stop",
    "mute": "participant-mute",
    "unmute": "participant-unmute",
    "hold": "participant-hold",
    "unhold": "participant-unhold",
}
# The Muted / Hold value each of confsql's reports sets.
JAMBONZ_FLAGS: dict[str, tuple[str, bool]] = {
    "mute": ("muted", True),
    "unmute": ("muted", False),
    "hold": ("hold", True),
    "unhold": ("hold", False),
}

# Telnyx ``conference.ended`` reasons in Twilio's ReasonConferenceEnded words.
TELNYX_REASONS: dict[str, str] = {
    "all_left": "last-participant-left",
    "host_left": "participant-with-end-conference-on-exit-left",
    "ended_via_api": "conference-ended-via-api",
}

# Twilio's subscription names (ConferenceStatusCallbackEvent) and the events each one covers.
TWILIO_SUBSCRIPTIONS: dict[str, tuple[str, ...]] = {
    "start": ("conference-start",),
    "end": ("conference-end",),
    "join": ("participant-join",),
    "leave": ("participant-leave",),
    "mute": ("participant-mute", "participant-unmute"),
    "hold": ("participant-hold", "participant-unhold"),
    "modify": ("participant-modify",),
    "speaker": ("participant-speech-start", "participant-speech-stop"),
    "announcement": ("announcement-end", "announcement-fail"),
}
# What Twilio subscribes a conference to when the callback is given without events.
TWILIO_DEFAULT_SUBSCRIPTION: tuple[str, ...] = ("start", "end")
