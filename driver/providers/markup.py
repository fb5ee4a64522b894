"""Inline call markup (Twilio's TwiML, SignalWire's cXML) that dials a call into a conference.

Twilio and SignalWire move a live call, or start a new one, by handing it a
document to execute instead of a URL to fetch one from.  confsql only ever
sends one shape of document::

    <Response><Dial><Conference muted="true" …>Room name</Conference></Dial></Response>

It is built with :mod:`xml.etree.ElementTree`, so a room name or an attribute
value can hold any character XML can carry (``<``, ``&``, quotes, newlines)
and stays one text node or one attribute; characters XML cannot carry at all
are refused before anything is sent.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence

from ..errors import DataError

# The longest inline document Twilio takes (its Twiml parameter); SignalWire's withdrawn
# draft of the same parameter gave the same limit.
MAX_LENGTH = 4000
# Characters XML 1.0 cannot carry in any form (not even as a character reference), and
# lone surrogates, which cannot be sent as UTF-8.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def check_markup_text(owner: str, values: Mapping[str, object]) -> None:
    """DataError naming the first input whose text cannot be written into markup."""
    for name, value in values.items():
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, str) and _NOT_XML.search(item):
                raise DataError(
                    f"{owner} input {name!r} contains a control character that call markup "
                    "(XML) cannot carry; remove it. Nothing was sent."
                )


def markup_value(value: object) -> str:
    """An input as an attribute value: booleans as true/false, lists space-separated."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return " ".join(markup_value(v) for v in value)
    return str(value)


def conference_markup(owner: str, room: str, attributes: Sequence[tuple[str, str]]) -> str:
    """``<Response><Dial><Conference …>room</Conference></Dial></Response>``.

    Raises DataError when the document would be longer than the providers take.
    """
    check_markup_text(owner, {"ConferenceSid": room, **dict(attributes)})
    response = ET.Element("Response")
    dial = ET.SubElement(response, "Dial")
    conference = ET.SubElement(dial, "Conference", dict(attributes))
    conference.text = room
    text = ET.tostring(response, encoding="unicode")
    if len(text) > MAX_LENGTH:
        raise DataError(
            f"{owner}: the call markup for this conference would be {len(text)} characters, "
            f"more than the provider's {MAX_LENGTH}; shorten the conference name or the URLs. "
            "Nothing was sent."
        )
    return text
