"""The Twilio provider: base URL (Region/Edge), Basic auth, environment fallbacks, identity."""

from __future__ import annotations

import base64

import httpx
import pytest

import driver
from driver import schema
from driver.http import USER_AGENT
from driver.providers import Provider
from driver.requests import segment
from driver.settings import resolve

SID = "AC" + "a" * 32


def _provider(**props: object) -> Provider:
    cls, settings = resolve("", {"AccountSid": SID, "AuthToken": "tok", **props})
    mapping = schema.load().provider(cls.mapping_name)
    assert mapping is not None
    return cls(mapping, settings)


@pytest.mark.parametrize(
    ("props", "url"),
    [
        ({}, "https://api.twilio.com"),
        ({"Region": "ie1", "Edge": "dublin"}, "https://api.dublin.ie1.twilio.com"),
        ({"Region": "au1"}, "https://api.au1.twilio.com"),
        ({"Edge": "sydney"}, "https://api.sydney.us1.twilio.com"),
        ({"BaseUrl": "http://127.0.0.1:9/proxy/", "Region": "ie1"}, "http://127.0.0.1:9/proxy"),
    ],
)
def test_base_url(props: dict[str, object], url: str) -> None:
    assert _provider(**props).base_url() == url


def test_api_key_wins_over_token_and_secrets_are_masked() -> None:
    provider = _provider(ApiKey="SK" + "b" * 32, ApiSecret="very-secret")
    auth = provider.auth()
    request = next(auth.auth_flow(httpx.Request("GET", "https://x")))  # type: ignore[union-attr]
    sent = base64.b64decode(request.headers["Authorization"].split()[1]).decode()
    assert sent == "SK" + "b" * 32 + ":very-secret"
    settings = provider.settings
    assert "very-secret" not in repr(settings) and "very-secret" not in repr(provider)
    assert "tok" not in repr(settings).replace("'AuthToken': '***'", "")


def test_user_agent_names_confsql_and_version() -> None:
    assert USER_AGENT.startswith(f"confsql/{driver.__version__}")


@pytest.mark.parametrize(
    ("value", "encoded"),
    [
        ("a/../Calls", "a%2F..%2FCalls"),
        ("x y", "x%20y"),
        ("..", "%2E%2E"),
        (".", "%2E"),
        ("q?#", "q%3F%23"),
    ],
)
def test_every_path_segment_is_encoded(value: str, encoded: str) -> None:
    assert segment(value) == encoded


def test_environment_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", SID)
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "from-env")
    monkeypatch.setenv("TWILIO_REGION", "ie1")
    _, settings = resolve("", {})
    assert settings["AuthToken"] == "from-env" and settings["Region"] == "ie1"


def test_sandbox_needs_no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    with driver.connect("Provider=Sandbox") as conn:
        assert conn.cursor().execute("SELECT count(*) FROM Conferences").fetchone()[0] >= 6
