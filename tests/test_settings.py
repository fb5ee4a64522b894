"""Connection properties resolved in two steps: Provider first, then its own list."""

from __future__ import annotations

import pytest

import driver
from driver.settings import all_properties, resolve, secret_names

TWILIO = {"AccountSid": "AC" + "0" * 32, "AuthToken": "t"}


def test_provider_first_then_its_own_properties() -> None:
    cls, settings = resolve("provider=twilio", TWILIO)
    assert cls.name == "Twilio" and settings["AccountSid"] == TWILIO["AccountSid"]
    assert settings["MaxConcurrency"] == "auto" and settings["Sandbox"] is False


def test_a_property_of_another_provider_names_the_chosen_ones() -> None:
    with pytest.raises(driver.ProgrammingError) as info:
        resolve("Provider=Twilio;ApplicationSid=x", TWILIO)
    text = str(info.value)
    assert "ApplicationSid is not used by Twilio" in text
    assert "Twilio takes: Provider, Sandbox" in text and "AccountSid" in text


def test_unknown_property_suggests_one_of_the_providers() -> None:
    with pytest.raises(driver.ProgrammingError, match="did you mean AccountSid"):
        resolve("Provider=Twilio;AcountSid=x", {})


def test_sandbox_forms() -> None:
    for dsn in ("Provider=Sandbox", "Provider=Twilio;Sandbox=true", "sandbox=1"):
        cls, settings = resolve(dsn, {})
        assert cls.name == "Twilio" and settings["Sandbox"] is True


def test_unknown_provider_lists_them() -> None:
    with pytest.raises(driver.ProgrammingError) as info:
        resolve("Provider=Skype", {})
    assert "unknown Provider 'Skype'" in str(info.value) and "Twilio" in str(info.value)


def test_secrets_are_masked_in_settings_and_known_everywhere() -> None:
    _, settings = resolve("", TWILIO)
    assert "'AuthToken': '***'" in repr(settings)
    assert "authtoken" in secret_names() and "accountsid" not in secret_names()
    assert "maxconcurrency" in all_properties()


def test_max_concurrency_takes_auto_or_a_number() -> None:
    assert resolve("MaxConcurrency=AUTO", TWILIO)[1]["MaxConcurrency"] == "auto"
    assert resolve("MaxConcurrency=8", TWILIO)[1]["MaxConcurrency"] == 8
    with pytest.raises(driver.ProgrammingError, match="must be a number or auto"):
        resolve("MaxConcurrency=lots", TWILIO)
