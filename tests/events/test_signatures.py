"""Each provider's scheme, over real HTTP: valid, forged, missing and replayed signatures.

A rejected request is answered 403 and stores nothing; the Twilio signature is the one
twilio-python's RequestValidator computes.
"""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from twilio.request_validator import RequestValidator

from driver.events import signatures
from driver.events.server import ReceiverServer
from driver.events.signatures import SignatureError, twilio_signature

from .conftest import (
    JAMBONZ_SECRET,
    SIGNALWIRE_KEY,
    TELNYX_PUBLIC,
    TWILIO_TOKEN,
    jambonz_body,
    jambonz_headers,
    post_twilio,
    stored,
    telnyx_body,
    telnyx_headers,
    twilio_form,
)

# -- the Twilio computation agrees with twilio-python ------------------------------------


@pytest.mark.parametrize(
    ("url", "params"),
    [
        ("https://hooks.example.com/twilio", {"ConferenceSid": "CF1", "Muted": "true"}),
        ("https://hooks.example.com/twilio?tenant=a&x=1", {"B": "2", "A": "1", "a": "0"}),
        ("http://127.0.0.1:8080/twilio", {"FriendlyName": "ünïcode & spaces", "Empty": ""}),
        ("https://hooks.example.com/signalwire", {}),
    ],
)
def test_twilio_signature_matches_request_validator(url: str, params: dict[str, str]) -> None:
    validator = RequestValidator(TWILIO_TOKEN)
    ours = twilio_signature(TWILIO_TOKEN, url, list(params.items()))
    assert ours == validator.compute_signature(url, params)
    assert validator.validate(url, params, ours)


def test_twilio_repeated_fields_match_request_validator() -> None:
    from twilio.request_validator import RequestValidator as Validator

    url = "https://hooks.example.com/twilio"
    pairs = [("Event", "b"), ("Event", "a"), ("Other", "x")]

    class MultiDict(dict[str, list[str]]):
        def getall(self, key: str) -> list[str]:
            return self[key]

    multi = MultiDict({"Event": ["b", "a"], "Other": ["x"]})
    assert twilio_signature(TWILIO_TOKEN, url, pairs) == Validator(TWILIO_TOKEN).compute_signature(
        url, multi
    )


def test_twilio_default_port_either_way() -> None:
    params = [("A", "1")]
    signed = twilio_signature(TWILIO_TOKEN, "https://h.example.com:443/twilio", params)
    signatures.verify_twilio([TWILIO_TOKEN], "https://h.example.com/twilio", params, signed)
    signed = twilio_signature(TWILIO_TOKEN, "https://h.example.com/twilio", params)
    signatures.verify_twilio([TWILIO_TOKEN], "https://h.example.com:443/twilio", params, signed)
    with pytest.raises(SignatureError):  # a different port is a different URL
        signatures.verify_twilio(
            [TWILIO_TOKEN], "https://h.example.com:8443/twilio", params, signed
        )


def test_key_rotation_accepts_either_key() -> None:
    params = [("A", "1")]
    url = "https://h.example.com/twilio"
    signed = twilio_signature("new-token", url, params)
    signatures.verify_twilio(["old-token", "new-token"], url, params, signed)


# -- Twilio and SignalWire over HTTP --------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "key", "header"),
    [
        ("/twilio", TWILIO_TOKEN, "X-Twilio-Signature"),
        ("/signalwire", SIGNALWIRE_KEY, "X-SignalWire-Signature"),
    ],
)
def test_twilio_like_valid_forged_missing_replayed(
    receiver: ReceiverServer, events_db: Path, path: str, key: str, header: str
) -> None:
    url = receiver.url + path
    form = twilio_form(1)
    # missing
    response = post_twilio(url, form, key, header, signature="")
    assert response.status_code == 403 and "not signed" in response.text
    # forged: signed with the wrong key, or for other fields
    assert post_twilio(url, form, "not-the-key", header).status_code == 403
    tampered = httpx.post(
        url,
        data={**form, "Muted": "true"},
        headers={header: twilio_signature(key, url, list(form.items()))},
    )
    assert tampered.status_code == 403
    # signed for another URL (a request captured on one route, replayed to another)
    other = receiver.url + ("/signalwire" if path == "/twilio" else "/twilio")
    moved = httpx.post(
        url, data=form, headers={header: twilio_signature(key, other, list(form.items()))}
    )
    assert moved.status_code == 403
    assert stored(events_db) == []
    # valid
    response = post_twilio(url, form, key, header)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "stored"
    # replayed: the scheme has no timestamp, so it verifies; it is stored once
    again = post_twilio(url, form, key, header)
    assert again.status_code == 200 and again.json()["status"] == "duplicate"
    rows = stored(events_db)
    assert len(rows) == 1
    assert rows[0]["Provider"] == ("Twilio" if path == "/twilio" else "SignalWire")


def test_signalwire_also_accepts_x_twilio_signature(
    receiver: ReceiverServer, events_db: Path
) -> None:
    url = receiver.url + "/signalwire"
    assert post_twilio(url, twilio_form(), SIGNALWIRE_KEY, "X-Twilio-Signature").status_code == 200
    # a Twilio token does not sign for SignalWire
    assert post_twilio(url, twilio_form(2), TWILIO_TOKEN, "X-Twilio-Signature").status_code == 403
    assert len(stored(events_db)) == 1


def test_twilio_get_callback_signed_over_its_query(
    receiver: ReceiverServer, events_db: Path
) -> None:
    form = twilio_form(7)
    url = str(httpx.URL(receiver.url + "/twilio", params=form))
    good = httpx.get(url, headers={"X-Twilio-Signature": twilio_signature(TWILIO_TOKEN, url, [])})
    assert good.status_code == 200, good.text
    bad_url = url.replace("SequenceNumber=7", "SequenceNumber=8")
    forged = httpx.get(
        bad_url, headers={"X-Twilio-Signature": twilio_signature(TWILIO_TOKEN, url, [])}
    )
    assert forged.status_code == 403
    assert [r["SequenceNumber"] for r in stored(events_db)] == [7]


def test_webhook_url_is_what_the_signature_covers(tmp_path: Path) -> None:
    """Behind a tunnel the provider signs the public URL, not the local one."""
    from driver.events import ReceiverConfig

    from .conftest import secrets

    public = "https://abc.tunnel.example"
    config = ReceiverConfig(public, str(tmp_path / "e.db"), secrets())
    with ReceiverServer(config) as receiver:
        form = twilio_form()
        local = httpx.post(
            receiver.url + "/twilio",
            data=form,
            headers={
                "X-Twilio-Signature": twilio_signature(
                    TWILIO_TOKEN, receiver.url + "/twilio", list(form.items())
                )
            },
        )
        assert local.status_code == 403
        signed = twilio_signature(TWILIO_TOKEN, public + "/twilio", list(form.items()))
        ok = httpx.post(receiver.url + "/twilio", data=form, headers={"X-Twilio-Signature": signed})
        assert ok.status_code == 200


# -- Telnyx -------------------------------------------------------------------------------------


def test_telnyx_valid_forged_missing_replayed(receiver: ReceiverServer, events_db: Path) -> None:
    url = receiver.url + "/telnyx"
    body = telnyx_body()
    headers = telnyx_headers(body)
    # missing
    unsigned = {"content-type": "application/json", "telnyx-timestamp": headers["telnyx-timestamp"]}
    assert httpx.post(url, content=body, headers=unsigned).status_code == 403
    no_time = {k: v for k, v in headers.items() if k != "telnyx-timestamp"}
    assert httpx.post(url, content=body, headers=no_time).status_code == 403
    # forged: body changed after signing; signature from another key; another timestamp
    assert (
        httpx.post(url, content=body.replace(b"c0nf-1", b"c0nf-2"), headers=headers).status_code
        == 403
    )
    import base64

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    other = Ed25519PrivateKey.generate().sign(f"{headers['telnyx-timestamp']}|".encode() + body)
    forged = {**headers, "telnyx-signature-ed25519": base64.b64encode(other).decode()}
    assert httpx.post(url, content=body, headers=forged).status_code == 403
    shifted = {**headers, "telnyx-timestamp": str(int(headers["telnyx-timestamp"]) + 1)}
    assert httpx.post(url, content=body, headers=shifted).status_code == 403
    garbage = {**headers, "telnyx-signature-ed25519": "%%%not-base64"}
    assert httpx.post(url, content=body, headers=garbage).status_code == 403
    # replayed after the tolerance: a correct signature over an old timestamp
    stale = telnyx_headers(body, int(time.time()) - signatures.TOLERANCE - 60)
    response = httpx.post(url, content=body, headers=stale)
    assert response.status_code == 403 and "timestamp" in response.text
    assert stored(events_db) == []
    # valid, then replayed within the tolerance: stored once
    assert httpx.post(url, content=body, headers=headers).json()["status"] == "stored"
    assert httpx.post(url, content=body, headers=headers).json()["status"] == "duplicate"
    assert len(stored(events_db)) == 1


def test_telnyx_verify_unit() -> None:
    body = telnyx_body()
    headers = telnyx_headers(body, 1_700_000_000)
    signatures.verify_telnyx(
        [TELNYX_PUBLIC],
        body,
        headers["telnyx-signature-ed25519"],
        headers["telnyx-timestamp"],
        now=1_700_000_100,
    )
    with pytest.raises(SignatureError, match="timestamp"):  # from the future, too
        signatures.verify_telnyx(
            [TELNYX_PUBLIC],
            body,
            headers["telnyx-signature-ed25519"],
            headers["telnyx-timestamp"],
            now=1_700_000_000 - signatures.TOLERANCE - 1,
        )


# -- jambonz --------------------------------------------------------------------------------


def test_jambonz_valid_forged_missing_replayed(receiver: ReceiverServer, events_db: Path) -> None:
    url = receiver.url + "/jambonz/status"
    body = jambonz_body()
    headers = jambonz_headers(body)
    # missing, malformed header
    assert (
        httpx.post(url, content=body, headers={"content-type": "application/json"}).status_code
        == 403
    )
    for value in ("v1=abc", "t=123", "garbage"):
        bad = {**headers, "Jambonz-Signature": value}
        assert httpx.post(url, content=body, headers=bad).status_code == 403
    # forged: other secret, changed body
    other = {
        "content-type": "application/json",
        "Jambonz-Signature": signatures.jambonz_header("not-the-secret", body),
    }
    assert httpx.post(url, content=body, headers=other).status_code == 403
    assert (
        httpx.post(url, content=body.replace(b"join", b"leave"), headers=headers).status_code == 403
    )
    # replayed after the tolerance
    stale = jambonz_headers(body, int(time.time()) - signatures.TOLERANCE - 60)
    assert httpx.post(url, content=body, headers=stale).status_code == 403
    assert stored(events_db) == []
    # valid; a second v1 (secret rotation on the sender's side) is fine
    assert httpx.post(url, content=body, headers=headers).json()["status"] == "stored"
    rotated = {**headers, "Jambonz-Signature": headers["Jambonz-Signature"] + ",v1=00ff"}
    assert httpx.post(url, content=body, headers=rotated).json()["status"] == "duplicate"
    assert len(stored(events_db)) == 1


def test_jambonz_scheme_is_feature_servers() -> None:
    """HMAC-SHA256 over "<t>.<body>", hex, as feature-server's base-requestor computes it."""
    import hashlib
    import hmac

    body = b'{"event":"join"}'
    expected = hmac.new(JAMBONZ_SECRET.encode(), b"1700000000." + body, hashlib.sha256).hexdigest()
    assert (
        signatures.jambonz_header(JAMBONZ_SECRET, body, 1700000000) == f"t=1700000000,v1={expected}"
    )
    signatures.verify_jambonz([JAMBONZ_SECRET], body, f"t=1700000000,v1={expected}", now=1700000000)


def test_unconfigured_provider_is_refused(tmp_path: Path) -> None:
    from driver.events import ReceiverConfig, Secrets

    config = ReceiverConfig("", str(tmp_path / "e.db"), Secrets(twilio=(TWILIO_TOKEN,)))
    with ReceiverServer(config) as receiver:
        body = jambonz_body()
        response = httpx.post(
            receiver.url + "/jambonz/status", content=body, headers=jambonz_headers(body)
        )
        assert response.status_code == 403
        assert "--jambonz-webhook-secret" in response.text
        assert stored(tmp_path / "e.db") == []
