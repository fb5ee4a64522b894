"""`confsql listen` options: keys from options or the environment, clear usage errors."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from driver.emulator import DEMO_AUTH_TOKEN
from driver.emulator.wires.jambonz import DEMO_WEBHOOK_SECRET
from driver.emulator.wires.signalwire import DEMO_SIGNING_KEY
from driver.emulator.wires.telnyx import DEMO_WEBHOOK_PUBLIC_KEY
from driver.events import cli
from driver.events.signatures import telnyx_public_key
from driver.shell import main as confsql

from .conftest import TELNYX_PUBLIC, TELNYX_PUBLIC_B64


def config(argv: list[str], environ: dict[str, str] | None = None) -> cli.ReceiverConfig:
    return cli.config_from(cli.build_parser().parse_args(argv), environ or {})


def test_dispatched_from_the_confsql_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        confsql(["listen", "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    for text in ("confsql listen", "/twilio", "/telnyx", "/jambonz/status", "--webhook-url"):
        assert text in out


def test_keys_from_options_and_environment() -> None:
    got = config(
        ["--twilio-auth-token", "tok-old", "--twilio-auth-token", "tok-new",
         "--telnyx-public-key", TELNYX_PUBLIC_B64],
        {"TWILIO_AUTH_TOKEN": "ignored-when-given", "JAMBONZ_WEBHOOK_SECRET": "jam-secret"},
    )  # fmt: skip
    assert got.secrets.twilio == ("tok-old", "tok-new")
    assert got.secrets.telnyx == (TELNYX_PUBLIC,)
    assert got.secrets.jambonz == ("jam-secret",)
    assert got.secrets.providers() == ["Twilio", "Telnyx", "Jambonz"]
    for secret in ("tok-old", "tok-new", "jam-secret", TELNYX_PUBLIC_B64):
        assert secret not in repr(got)
    assert got.events_db == "./confsql-events.db"


def test_environment_defaults() -> None:
    got = config(
        [],
        {
            "SIGNALWIRE_SIGNING_KEY": "k",
            "CONFSQL_EVENTS_DB": "/tmp/x.db",
            "CONFSQL_WEBHOOK_URL": "https://hooks.example.com",
        },
    )
    assert got.secrets.signalwire == ("k",)
    assert (got.events_db, got.webhook_url) == ("/tmp/x.db", "https://hooks.example.com")


def test_sandbox_trusts_the_demo_accounts() -> None:
    secrets = config(["--sandbox"]).secrets
    assert secrets.twilio == (DEMO_AUTH_TOKEN,)
    assert secrets.jambonz == (DEMO_WEBHOOK_SECRET,)
    assert secrets.signalwire == (DEMO_SIGNING_KEY,)
    assert secrets.telnyx == (telnyx_public_key(DEMO_WEBHOOK_PUBLIC_KEY),)


def test_sandbox_without_cryptography_leaves_telnyx_out(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli.importlib.util, "find_spec", lambda name: None)
    secrets = config(["--sandbox"]).secrets
    assert secrets.telnyx == () and secrets.providers() == ["Twilio", "SignalWire", "Jambonz"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "no verification key"),
        (["--telnyx-public-key", "not base64!"], "base64"),
        (["--telnyx-public-key", "AAAA"], "32 bytes"),
    ],
)
def test_usage_errors(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(argv) == cli.EXIT_USAGE
    assert message in capsys.readouterr().err


def test_port_in_use(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    try:
        port = str(taken.getsockname()[1])
        status = cli.main(["--sandbox", "--port", port, "--events-db", str(tmp_path / "e.db")])
    finally:
        taken.close()
    assert status == cli.EXIT_USAGE
    assert "cannot listen" in capsys.readouterr().err


def test_unusable_events_db(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status = cli.main(
        ["--sandbox", "--port", "0", "--events-db", str(tmp_path / "no" / "such" / "dir.db")]
    )
    assert status == cli.EXIT_USAGE
    assert "cannot open the events database" in capsys.readouterr().err
