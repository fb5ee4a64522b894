"""SCRAM-SHA-256 against RFC 7677's worked example (psycopg and libpq cover the live path)."""

from __future__ import annotations

import base64

import pytest

from driver.serve.scram import (
    AuthFailed,
    ScramExchange,
    make_verifier,
    parse_verifier,
    verifier_from_password,
)

SALT = base64.b64decode("W22ZaJ0SNY7soEsUEjb6gQ==")
CLIENT_FIRST = b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO"
SERVER_NONCE = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0"
NONCE = "rOprNGfwEbeRWgbNEkqO" + SERVER_NONCE
CLIENT_FINAL = f"c=biws,r={NONCE},p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=".encode()


def exchange() -> ScramExchange:
    return ScramExchange(verifier_from_password("pencil", SALT), server_nonce=SERVER_NONCE)


def test_rfc7677_example() -> None:
    scram = exchange()
    first = scram.server_first("SCRAM-SHA-256", CLIENT_FIRST)
    assert first == f"r={NONCE},s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096".encode()
    assert scram.server_final(CLIENT_FINAL) == b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="


def test_wrong_proof_nonce_or_mechanism_fail() -> None:
    scram = exchange()
    scram.server_first("SCRAM-SHA-256", CLIENT_FIRST)
    with pytest.raises(AuthFailed):
        scram.server_final(CLIENT_FINAL.replace(b"p=dHz", b"p=AHz"))
    other = exchange()
    other.server_first("SCRAM-SHA-256", CLIENT_FIRST)
    with pytest.raises(AuthFailed, match="nonce"):
        other.server_final(CLIENT_FINAL.replace(b"r=rOpr", b"r=xOpr"))
    with pytest.raises(AuthFailed, match="mechanism"):
        exchange().server_first("PLAIN", CLIENT_FIRST)
    with pytest.raises(AuthFailed, match="channel binding"):
        exchange().server_first("SCRAM-SHA-256", b"p=tls-server-end-point,,n=,r=x")


def test_unknown_user_fails_even_with_a_valid_looking_proof() -> None:
    scram = ScramExchange(None, server_nonce=SERVER_NONCE)
    scram.server_first("SCRAM-SHA-256", CLIENT_FIRST)
    with pytest.raises(AuthFailed):
        scram.server_final(CLIENT_FINAL)


def test_verifier_text_round_trip() -> None:
    text = make_verifier("pencil", SALT)
    assert text.startswith("SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$")
    assert parse_verifier(text) == verifier_from_password("pencil", SALT)
    with pytest.raises(ValueError, match="--hash-password"):
        parse_verifier("md5abc")
