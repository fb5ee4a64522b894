"""The jambonz call hook: signed conference parameters, and the verbs the receiver answers.

A call that confsql places (or redirects) on jambonz fetches its call hook from the receiver,
``<WebhookUrl>/jambonz/hook``.  What the receiver answers (a ``tag`` verb, then a ``conference``
verb) is built from the EXEC's inputs, which travel with the call as a *token*: the parameters
as JSON, and an HMAC-SHA256 over them keyed by the account's jambonz webhook secret (the key
the receiver already holds to check ``Jambonz-Signature``).  So the receiver keeps no state
shared with the connection that placed the call, and nobody without the secret can change the
parameters: jambonz's own signature covers the request body but not the URL, so the URL's
parameters need a signature of their own.

The token rides in the hook URL's query (``?confsql=<token>``), or, for a call placed with a
jambonz application whose call hook is the receiver, in the call's ``tag`` (jambonz hands it
back in the hook body as ``customerData.confsql``).  A token names the call it was made for
when that is known (a redirect), and expires after :data:`MAX_AGE` seconds.

The ``tag`` verb records what confsql asked for (label, joined muted, start/end flags) on the
call, so jambonz repeats it in every conference event about that call (``customerData``):
that is how ConferenceEvents and the Participants derived from it know a participant's label.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from collections.abc import Iterable, Mapping
from typing import Any

import orjson

from .signatures import SignatureError

QUERY_KEY = "confsql"
"""Query parameter (and ``customerData`` key) carrying the token."""
MAX_AGE = 3600
"""Seconds a token stays valid: a placed call is answered, or a redirect fetched, well within."""
VERSION = 1
_DOMAIN = b"confsql-jambonz-hook-v1."  # keeps a token's HMAC apart from body signatures
ALL_EVENTS = ("start", "end", "join", "leave", "start-talking", "stop-talking")
"""Every ``statusEvents`` name jambonz's conference verb sends."""
# Parameters that become attributes of the conference verb, as jambonz spells them.
_VERB_ATTRIBUTES = (
    "beep",
    "startConferenceOnEnter",
    "endConferenceOnExit",
    "maxParticipants",
    "joinMuted",
    "waitHook",
)
# What the tag verb records about the participant (repeated in its conference events).
_TAGGED = ("label", "joinMuted", "startConferenceOnEnter", "endConferenceOnExit")


class BadToken(Exception):
    """The hook request carries no readable conference parameters (answered 400)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, payload: str) -> bytes:
    return hmac.new(secret.encode(), _DOMAIN + payload.encode("ascii"), hashlib.sha256).digest()


def sign_parameters(secret: str, parameters: Mapping[str, Any], now: float | None = None) -> str:
    """A token carrying ``parameters`` (JSON values), signed with ``secret``."""
    issued = int(time.time() if now is None else now)
    body = {"v": VERSION, "iat": issued, **parameters}
    payload = _b64(orjson.dumps(body, option=orjson.OPT_SORT_KEYS))
    return f"{payload}.{_b64(_mac(secret, payload))}"


def verify_parameters(
    secrets: Iterable[str], token: str, now: float | None = None
) -> dict[str, Any]:
    """The parameters of ``token`` if one of ``secrets`` signed it and it has not expired.

    Raises :class:`BadToken` for text that is not a token, :class:`SignatureError` for a
    forged, altered or expired one.
    """
    payload, dot, mac = token.partition(".")
    if not dot or not payload or not mac:
        raise BadToken("the conference parameters are not a confsql token")
    try:
        given = _unb64(mac)
        raw = _unb64(payload)
    except (binascii.Error, ValueError):
        raise BadToken("the conference parameters are not base64url") from None
    if not any(hmac.compare_digest(_mac(s, payload), given) for s in secrets):
        raise SignatureError("the conference parameters' signature does not match")
    try:
        decoded = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise BadToken("the conference parameters are not JSON") from None
    if not isinstance(decoded, dict) or decoded.get("v") != VERSION:
        raise BadToken("the conference parameters are of an unknown version")
    issued = decoded.get("iat")
    current = time.time() if now is None else now
    if not isinstance(issued, int) or isinstance(issued, bool):
        raise BadToken("the conference parameters have no issue time")
    if current - issued > MAX_AGE or issued - current > 300:
        raise SignatureError("the conference parameters have expired; place the call again")
    name = decoded.get("name")
    if not isinstance(name, str) or not name:
        raise BadToken("the conference parameters name no conference")
    return decoded


def token_of(query_value: str | None, body: Mapping[str, Any]) -> str:
    """The token of a hook request: in the URL, else in the call's tag (``customerData``)."""
    if query_value:
        return query_value
    for key in ("customerData", "customer_data"):
        data = body.get(key)
        if isinstance(data, dict) and isinstance(data.get(QUERY_KEY), str):
            return str(data[QUERY_KEY])
    raise BadToken(
        "the hook request carries no conference parameters: confsql's calls have them in "
        f"the URL (?{QUERY_KEY}=...) or, placed with an application, in their tag"
    )


def conference_verbs(
    parameters: Mapping[str, Any], body: Mapping[str, Any], status_url: str
) -> list[dict[str, Any]]:
    """The verbs answering a hook: record the participant (``tag``), then ``conference``.

    ``status_url`` is the receiver's own ``/jambonz/status``, used unless the EXEC named a
    status hook of its own.  A token made for one call does not serve another.
    """
    bound = parameters.get("callSid")
    call_sid = body.get("call_sid")
    if bound is not None and bound != call_sid:
        raise SignatureError("the conference parameters were made for another call")
    customer: dict[str, Any] = {}
    earlier: dict[str, Any] = {}
    for key in ("customerData", "customer_data"):
        data = body.get(key)
        if isinstance(data, dict):
            customer = {k: v for k, v in data.items() if k != QUERY_KEY}
            if isinstance(data.get(QUERY_KEY), dict):  # tagged before: a moved call
                earlier = data[QUERY_KEY]
            break
    tagged = {k: parameters[k] for k in _TAGGED if parameters.get(k) is not None}
    if "label" not in tagged and isinstance(earlier.get("label"), str):
        tagged = {"label": earlier["label"], **tagged}  # a call keeps its label when moved
    conference: dict[str, Any] = {"verb": "conference", "name": parameters["name"]}
    for key in _VERB_ATTRIBUTES:
        if parameters.get(key) is not None:
            conference[key] = parameters[key]
    hook = parameters.get("statusHook")
    conference["statusHook"] = hook if hook else status_url
    events = parameters.get("statusEvents")
    conference["statusEvents"] = list(events) if isinstance(events, list) else list(ALL_EVENTS)
    return [{"verb": "tag", "data": {**customer, QUERY_KEY: tagged}}, conference]
