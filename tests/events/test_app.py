"""The receiver's routes: bad bodies are refused with nothing stored, and it keeps serving."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import httpx
import orjson
import pytest

from driver.events.app import MAX_BODY
from driver.events.server import ReceiverServer
from driver.events.signatures import jambonz_header, twilio_signature

from .conftest import (
    JAMBONZ_SECRET,
    SIGNALWIRE_KEY,
    TWILIO_TOKEN,
    jambonz_body,
    jambonz_headers,
    post_twilio,
    stored,
    telnyx_body,
    telnyx_headers,
    twilio_form,
)


def _twilio_raw(url: str, body: bytes, content_type: str | None) -> httpx.Response:
    """A raw body signed as if its fields were empty (so only the body is at fault)."""
    headers = {"X-Twilio-Signature": twilio_signature(TWILIO_TOKEN, url, [])}
    if content_type is not None:
        headers["content-type"] = content_type
    return httpx.post(url, content=body, headers=headers)


def _signed_json(url: str, body: bytes, provider: str) -> httpx.Response:
    if provider == "telnyx":
        return httpx.post(url, content=body, headers=telnyx_headers(body))
    return httpx.post(url, content=body, headers=jambonz_headers(body))


@pytest.fixture
def still_serving(receiver: ReceiverServer, events_db: Path) -> Iterator[None]:
    """After the test's bad requests: nothing was stored, and a good event still is."""
    yield
    assert stored(events_db) == []
    response = post_twilio(receiver.url + "/twilio", twilio_form(99))
    assert response.status_code == 200, response.text
    assert len(stored(events_db)) == 1


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize(
    ("body", "content_type", "status"),
    [
        (b"ConferenceSid=CF1&broken", "application/x-www-form-urlencoded", 400),
        (b"ConferenceSid=%ff%fe", "application/x-www-form-urlencoded", 400),
        (b"\xff\xfe", "application/x-www-form-urlencoded", 400),
        (b"", "application/x-www-form-urlencoded", 400),  # no fields at all
        (b'{"ConferenceSid": "CF1"}', "application/json", 415),
        (b"ConferenceSid=CF1", "text/plain", 415),
        (b"ConferenceSid=CF1", None, 415),
    ],
)
def test_twilio_bad_bodies(
    receiver: ReceiverServer, body: bytes, content_type: str | None, status: int
) -> None:
    response = _twilio_raw(receiver.url + "/twilio", body, content_type)
    assert response.status_code == status, response.text
    assert "error" in response.json()


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"Timestamp": "yesterday"}, "RFC 2822"),
        ({"SequenceNumber": "-1"}, "SequenceNumber"),
        ({"Muted": "maybe"}, "Muted"),
        ({"StatusCallbackEvent": "Participant Join!"}, "event name"),
        ({"ConferenceSid": ""}, "ConferenceSid is missing"),
    ],
)
def test_twilio_bad_fields_are_400(
    receiver: ReceiverServer, change: dict[str, str], message: str
) -> None:
    response = post_twilio(receiver.url + "/twilio", twilio_form(1, **change))
    assert response.status_code == 400
    assert message in response.json()["error"]


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize("provider", ["telnyx", "jambonz"])
@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"{not json", 400),
        (b"[1, 2]", 400),
        (b'"text"', 400),
        (b"\xff\xfe{}", 400),
        (b"{}", 400),
    ],
)
def test_json_bad_bodies(receiver: ReceiverServer, provider: str, body: bytes, status: int) -> None:
    path = "/telnyx" if provider == "telnyx" else "/jambonz/status"
    response = _signed_json(receiver.url + path, body, provider)
    assert response.status_code == status, response.text


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize(
    "body",
    [
        orjson.dumps(
            {
                "data": {
                    "event_type": "conference.created",
                    "id": "x",
                    "payload": {"conference_id": "c", "occurred_at": "soon"},
                }
            }
        ),
        b'{"data": {"event_type": "conference.created", "id": "x", "payload": []}}',
        b'{"data": {"event_type": 5, "id": "x", "payload": {}}}',
        b'{"data": {"event_type": "conference.created", "payload": {"conference_id": "c"}}}',
    ],
)
def test_telnyx_bad_fields(receiver: ReceiverServer, body: bytes) -> None:
    assert _signed_json(receiver.url + "/telnyx", body, "telnyx").status_code == 400


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize(
    "body",
    [
        jambonz_body(time_="half past ten"),
        b'{"event": "join", "conference_sid": "c", "time": "2024-05-01T10:00:00Z"}',
        b'{"event": ["join"], "conference_sid": "c", "call_sid": "x", "time": "2024-05-01T10:00:00Z"}',
    ],
)
def test_jambonz_bad_fields(receiver: ReceiverServer, body: bytes) -> None:
    assert _signed_json(receiver.url + "/jambonz/status", body, "jambonz").status_code == 400


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize("path", ["/twilio", "/signalwire", "/telnyx", "/jambonz/status"])
def test_json_content_type_required(receiver: ReceiverServer, path: str) -> None:
    body = jambonz_body()
    headers = {**jambonz_headers(body), "content-type": "text/plain"}
    if path in ("/twilio", "/signalwire"):
        headers["content-type"] = "application/json"
    assert httpx.post(receiver.url + path, content=body, headers=headers).status_code == 415


@pytest.mark.usefixtures("still_serving")
@pytest.mark.parametrize("path", ["/twilio", "/telnyx", "/jambonz/status"])
def test_oversized_bodies_are_413(receiver: ReceiverServer, path: str) -> None:
    huge = b"x" * (MAX_BODY + 1)
    declared = httpx.post(
        receiver.url + path, content=huge, headers={"content-type": "application/json"}
    )
    assert declared.status_code == 413

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit holds while reading
        for _ in range(MAX_BODY // 4096 + 2):
            yield b"y" * 4096

    streamed = httpx.post(
        receiver.url + path, content=chunks(), headers={"content-type": "application/json"}
    )
    assert streamed.status_code == 413


def test_body_at_the_limit_is_read(receiver: ReceiverServer, events_db: Path) -> None:
    form = twilio_form(1)
    base = len(urlencode(form)) + len("&Padding=")
    form["Padding"] = "p" * (MAX_BODY - base)
    assert len(urlencode(form)) == MAX_BODY
    assert post_twilio(receiver.url + "/twilio", form).status_code == 200
    assert len(stored(events_db)) == 1


def test_redelivery_is_stored_once_per_provider(receiver: ReceiverServer, events_db: Path) -> None:
    url = receiver.url
    for _ in range(3):
        assert post_twilio(url + "/twilio", twilio_form(1)).status_code == 200
        assert (
            post_twilio(
                url + "/signalwire", twilio_form(1), SIGNALWIRE_KEY, "X-SignalWire-Signature"
            ).status_code
            == 200
        )
        body = telnyx_body()
        assert (
            httpx.post(url + "/telnyx", content=body, headers=telnyx_headers(body)).status_code
            == 200
        )
        body = jambonz_body()
        assert (
            httpx.post(
                url + "/jambonz/status", content=body, headers=jambonz_headers(body)
            ).status_code
            == 200
        )
    rows = stored(events_db)
    assert sorted(r["Provider"] for r in rows) == ["Jambonz", "SignalWire", "Telnyx", "Twilio"]
    # the same SequenceNumber of another conference is another event
    other = twilio_form(1, ConferenceSid="CF" + "0" * 31 + "9")
    assert post_twilio(url + "/twilio", other).json()["status"] == "stored"
    # a Telnyx redelivery keeps its id even if the meta (attempt) changed
    body = telnyx_body().replace(b'"attempt":1', b'"attempt":2')
    assert (
        httpx.post(url + "/telnyx", content=body, headers=telnyx_headers(body)).json()["status"]
        == "duplicate"
    )
    # a jambonz event at another time is another event
    body = jambonz_body(time_="2024-05-01T10:00:01.000Z")
    assert (
        httpx.post(url + "/jambonz/status", content=body, headers=jambonz_headers(body)).json()[
            "status"
        ]
        == "stored"
    )
    assert len(stored(events_db)) == 6


def test_twilio_without_sequence_number_dedups_by_content(
    receiver: ReceiverServer, events_db: Path
) -> None:
    form = twilio_form(1)
    del form["SequenceNumber"]
    assert post_twilio(receiver.url + "/twilio", form).json()["status"] == "stored"
    assert post_twilio(receiver.url + "/twilio", form).json()["status"] == "duplicate"
    form["Muted"] = "true"
    assert post_twilio(receiver.url + "/twilio", form).json()["status"] == "stored"
    assert [r["EventId"][:7] for r in stored(events_db)] == ["sha256:", "sha256:"]


def test_telnyx_call_events_are_acknowledged_not_stored(
    receiver: ReceiverServer, events_db: Path
) -> None:
    body = telnyx_body("call.answered", conference_id=None)
    response = httpx.post(receiver.url + "/telnyx", content=body, headers=telnyx_headers(body))
    assert response.status_code == 200 and response.json()["status"] == "ignored"
    assert stored(events_db) == []


def test_routes_methods_and_healthz(receiver: ReceiverServer) -> None:
    health = httpx.get(receiver.url + "/healthz")
    assert health.status_code == 200
    assert health.json() == {
        "status": "ok",
        "providers": ["Twilio", "SignalWire", "Telnyx", "Jambonz"],
    }
    assert httpx.get(receiver.url + "/nope").status_code == 404
    assert httpx.get(receiver.url + "/telnyx").status_code == 405
    assert httpx.delete(receiver.url + "/twilio").status_code == 405


def test_no_secret_in_answers_or_logs(
    receiver: ReceiverServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    body = jambonz_body()
    forged = {"content-type": "application/json", "Jambonz-Signature": jambonz_header("x", body)}
    answers = [
        httpx.post(receiver.url + "/jambonz/status", content=body, headers=forged).text,
        post_twilio(receiver.url + "/twilio", twilio_form(), "wrong").text,
        httpx.get(receiver.url + "/healthz").text,
    ]
    text = "\n".join(answers) + caplog.text + repr(receiver.config)
    for secret in (TWILIO_TOKEN, SIGNALWIRE_KEY, JAMBONZ_SECRET):
        assert secret not in text
