"""The connection-string reader: linear time, exact pairs, and no secret in any message."""

from __future__ import annotations

import time

import pytest

import driver
from driver import dsn

KNOWN = {"provider", "authtoken", "accountsid"}
SECRET = "0badc0de" * 4


def test_pairs_braces_and_whitespace() -> None:
    pairs = dsn.split(" Provider = Twilio ;AuthToken={a;b=c}} d} ; ;Timeout=5;", KNOWN)
    assert [(p.key, p.value) for p in pairs] == [
        ("Provider", "Twilio"),
        ("AuthToken", "a;b=c} d"),
        ("Timeout", "5"),
    ]
    assert pairs[1].position == 20


@pytest.mark.parametrize(
    "text",
    [
        "a" + " " * 200_000 + "b",
        "Provider=Twilio;AuthToken" + " " * 200_000,
        "a;" * 100_000,
        "k={" + "}}" * 100_000 + "}",
        "x=" + "=" * 200_000,
        "=" * 200_000,
        "{" * 200_000,
    ],
)
def test_linear_time_on_hostile_strings(text: str) -> None:
    # 200,000 characters: linear takes well under a second, quadratic would take minutes
    # (the bound leaves room for a loaded CI machine).
    started = time.perf_counter()
    dsn.scan(text, KNOWN)
    assert time.perf_counter() - started < 3.0


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (f"Provider=Twilio;AuthToken:{SECRET}", "position 17 (starting with AuthToken) has no '='"),
        (f"AuthToken {SECRET}", "position 1 (starting with AuthToken) has no '='"),
        (f'AuthToken "{SECRET}"', "position 1 (starting with AuthToken) has no '='"),
        (f"AuthToken:{SECRET}=x", "position 1 (starting with AuthToken) has no property name"),
        (f"{SECRET}", "position 1 has no '='"),
        (f"AuthToken={{{SECRET}", "starting with AuthToken) opens '{' but never closes it"),
        (f"AuthToken={{{SECRET}}} x", "has text after its closing '}'"),
    ],
)
def test_malformed_parts_name_position_and_key_never_the_text(text: str, message: str) -> None:
    with pytest.raises(driver.ProgrammingError) as info:
        dsn.split(text, KNOWN)
    assert message in str(info.value)
    assert SECRET[:6] not in str(info.value) and "0badc0" not in repr(info.value)


def test_connect_reports_malformed_dsn_without_the_secret() -> None:
    for text in (f"Provider=Twilio;AuthToken:{SECRET}", f"AuthToken {SECRET[:30]}"):
        with pytest.raises(driver.ProgrammingError) as info:
            driver.connect(text)
        assert "0badc0" not in str(info.value)


@pytest.mark.parametrize(
    "text",
    [
        "Provider=Sandbox;provider=Twilio",
        "Provider=Sandbox;Timeout=5;TIME_OUT=6",
    ],
)
def test_duplicate_keys_are_an_error(text: str) -> None:
    with pytest.raises(driver.ProgrammingError, match="given twice"):
        driver.connect(text)


def test_same_property_in_dsn_and_keywords_is_an_error() -> None:
    with pytest.raises(driver.ProgrammingError, match="given twice"):
        driver.connect("Provider=Sandbox;Timeout=5", timeout=6)


def test_unknown_key_is_quoted_only_when_it_is_a_plain_name() -> None:
    with pytest.raises(driver.ProgrammingError, match="'Colour'"):
        driver.connect("Provider=Sandbox;Colour=blue")
    with pytest.raises(driver.ProgrammingError) as info:
        driver.connect(f"Provider=Sandbox;{SECRET}=1")
    assert "0badc0" not in str(info.value)


def test_very_long_connection_string_is_refused_quickly() -> None:
    started = time.perf_counter()
    with pytest.raises(driver.ProgrammingError, match="too long"):
        driver.connect("Provider=Sandbox;" + " " * 1_000_000)
    assert time.perf_counter() - started < 1.0
