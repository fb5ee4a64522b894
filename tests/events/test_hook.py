"""The jambonz call hook: signed conference parameters in, the verbs out; tampering refused."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlencode

import httpx
import orjson
import pytest

from driver.events import hook
from driver.events.server import ReceiverServer
from driver.events.signatures import SignatureError

from .conftest import JAMBONZ_SECRET, jambonz_headers, stored

CALL = "2531329f-fb09-4ef7-887e-84e648214436"
PARAMETERS = {
    "name": "standup",
    "beep": True,
    "startConferenceOnEnter": False,
    "endConferenceOnExit": True,
    "maxParticipants": 5,
    "joinMuted": True,
    "label": "ana",
    "statusEvents": ["join", "leave"],
}


def hook_body(call_sid: str = CALL, **extra: object) -> bytes:
    """What jambonz posts to a call hook: the call's fields, snake_case."""
    return orjson.dumps(
        {"call_sid": call_sid, "account_sid": "acct-1", "from": "+15550100", **extra}
    )


def post_hook(receiver: ReceiverServer, token: str | None, body: bytes) -> httpx.Response:
    query = f"?{urlencode({hook.QUERY_KEY: token})}" if token is not None else ""
    url = f"{receiver.url}/jambonz/hook{query}"
    return httpx.post(url, content=body, headers=jambonz_headers(body))


# -- the token -------------------------------------------------------------------------


def test_token_round_trip_and_key_rotation() -> None:
    token = hook.sign_parameters(JAMBONZ_SECRET, PARAMETERS)
    got = hook.verify_parameters(["old-secret", JAMBONZ_SECRET], token)
    assert {k: got[k] for k in PARAMETERS} == PARAMETERS
    with pytest.raises(SignatureError, match="does not match"):
        hook.verify_parameters(["another-secret"], token)


def test_token_cannot_be_altered() -> None:
    token = hook.sign_parameters(JAMBONZ_SECRET, PARAMETERS)
    payload, mac = token.split(".")
    forged = hook.sign_parameters("attacker", {**PARAMETERS, "name": "board"}).split(".")[0]
    for altered in (f"{forged}.{mac}", f"{payload}.{mac[:-2]}AA", f"{payload}X.{mac}"):
        with pytest.raises((SignatureError, hook.BadToken)):
            hook.verify_parameters([JAMBONZ_SECRET], altered)
    for junk in ("", "no-dot", ".", "a.", "!!.!!"):
        with pytest.raises((SignatureError, hook.BadToken)):
            hook.verify_parameters([JAMBONZ_SECRET], junk)


def test_token_expires() -> None:
    old = hook.sign_parameters(JAMBONZ_SECRET, PARAMETERS, now=time.time() - hook.MAX_AGE - 5)
    with pytest.raises(SignatureError, match="expired"):
        hook.verify_parameters([JAMBONZ_SECRET], old)
    future = hook.sign_parameters(JAMBONZ_SECRET, PARAMETERS, now=time.time() + 3600)
    with pytest.raises(SignatureError, match="expired"):
        hook.verify_parameters([JAMBONZ_SECRET], future)


def test_a_token_of_another_version_or_without_a_name_is_refused() -> None:
    for bad in ({"v": 2, "name": "x"}, {"name": ""}, {"beep": True}):
        token = hook.sign_parameters(JAMBONZ_SECRET, bad)
        with pytest.raises(hook.BadToken):
            hook.verify_parameters([JAMBONZ_SECRET], token)


def test_verbs_tag_the_call_then_join_the_conference() -> None:
    status = "https://hooks.example.com/jambonz/status"
    body = {"call_sid": CALL, "customerData": {"crm": 7, "confsql": "token"}}
    verbs = hook.conference_verbs(PARAMETERS, body, status)
    assert verbs == [
        {
            "verb": "tag",
            "data": {
                "crm": 7,
                "confsql": {
                    "label": "ana",
                    "joinMuted": True,
                    "startConferenceOnEnter": False,
                    "endConferenceOnExit": True,
                },
            },
        },
        {
            "verb": "conference",
            "name": "standup",
            "beep": True,
            "startConferenceOnEnter": False,
            "endConferenceOnExit": True,
            "maxParticipants": 5,
            "joinMuted": True,
            "statusHook": status,
            "statusEvents": ["join", "leave"],
        },
    ]
    plain = hook.conference_verbs({"name": "x"}, {"call_sid": CALL}, status)
    assert plain[1] == {
        "verb": "conference",
        "name": "x",
        "statusHook": status,
        "statusEvents": list(hook.ALL_EVENTS),
    }
    own = {"name": "x", "statusHook": {"url": "https://mine.example.com/s", "method": "post"}}
    assert hook.conference_verbs(own, {}, status)[1]["statusHook"] == own["statusHook"]


def test_a_token_bound_to_a_call_serves_only_that_call() -> None:
    bound = {"name": "x", "callSid": CALL}
    assert hook.conference_verbs(bound, {"call_sid": CALL}, "s")[1]["name"] == "x"
    with pytest.raises(SignatureError, match="another call"):
        hook.conference_verbs(bound, {"call_sid": "someone-else"}, "s")


# -- the route -----------------------------------------------------------------------------


def test_hook_answers_the_verbs(receiver: ReceiverServer, events_db: Path) -> None:
    token = hook.sign_parameters(JAMBONZ_SECRET, PARAMETERS)
    response = post_hook(receiver, token, hook_body())
    assert response.status_code == 200, response.text
    verbs = response.json()
    assert [v["verb"] for v in verbs] == ["tag", "conference"]
    assert verbs[1]["statusHook"] == receiver.url + "/jambonz/status"
    assert stored(events_db) == []  # a hook is not an event


def test_hook_reads_the_token_from_the_tag(receiver: ReceiverServer) -> None:
    """A call placed with an application: the token comes back as customerData.confsql."""
    token = hook.sign_parameters(JAMBONZ_SECRET, PARAMETERS)
    response = post_hook(receiver, None, hook_body(customerData={hook.QUERY_KEY: token}))
    assert response.status_code == 200
    assert response.json()[0]["data"] == {
        "confsql": {
            "label": "ana",
            "joinMuted": True,
            "startConferenceOnEnter": False,
            "endConferenceOnExit": True,
        }
    }


def test_tampered_parameters_are_403(receiver: ReceiverServer) -> None:
    token = hook.sign_parameters(JAMBONZ_SECRET, PARAMETERS)
    mac = token.split(".")[1]
    other = hook.sign_parameters(JAMBONZ_SECRET, {**PARAMETERS, "name": "board"}).split(".")[0]
    response = post_hook(receiver, f"{other}.{mac}", hook_body())
    assert response.status_code == 403
    assert "signature does not match" in response.json()["error"]
    wrong_key = hook.sign_parameters("not-the-secret", PARAMETERS)
    assert post_hook(receiver, wrong_key, hook_body()).status_code == 403
    bound = hook.sign_parameters(JAMBONZ_SECRET, {"name": "x", "callSid": "other-call"})
    assert post_hook(receiver, bound, hook_body()).status_code == 403


def test_unsigned_or_forged_hook_requests_are_403(receiver: ReceiverServer) -> None:
    token = hook.sign_parameters(JAMBONZ_SECRET, PARAMETERS)
    url = f"{receiver.url}/jambonz/hook?{urlencode({hook.QUERY_KEY: token})}"
    body = hook_body()
    plain = {"content-type": "application/json"}
    assert httpx.post(url, content=body, headers=plain).status_code == 403
    signed = jambonz_headers(body)
    assert httpx.post(url, content=body + b" ", headers=signed).status_code == 403  # altered


def test_hook_requests_without_parameters_are_400(receiver: ReceiverServer) -> None:
    assert post_hook(receiver, None, hook_body()).status_code == 400
    assert post_hook(receiver, "not-a-token", hook_body()).status_code == 400
    token = hook.sign_parameters(JAMBONZ_SECRET, PARAMETERS)
    assert post_hook(receiver, token, b"[1, 2]").status_code == 400
    url = f"{receiver.url}/jambonz/hook"
    assert httpx.get(url).status_code == 405
