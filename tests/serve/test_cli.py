"""``confsql serve`` as a user starts it: options, config file, the sandbox banner."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from driver.serve.cli import UsageError, build_parser, configure
from driver.serve.scram import parse_verifier
from tests.serve.conftest import need_psql

TWILIO = "Provider=Twilio;AccountSid=AC" + "1" * 32 + ";AuthToken=tok"


def config(*argv: str) -> object:
    return configure(build_parser().parse_args(list(argv)))


def test_sandbox_from_the_confsql_entry_point_answers_psql() -> None:
    psql = need_psql()
    code = "import sys; from driver.shell import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "serve", "--sandbox", "--listen", "127.0.0.1:0"],
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "CONFSQL_SERVE_PASSWORD"},
    )
    try:
        assert proc.stderr is not None
        banner = [proc.stderr.readline() for _ in range(3)]
        assert "accepting any user name and password" in banner[1]
        port = banner[0].rsplit(":", 1)[1].strip()
        done = subprocess.run(
            [
                psql,
                "-X",
                "-h",
                "127.0.0.1",
                "-p",
                port,
                "-U",
                "anyone",
                "confsql",
                "-c",
                'SELECT count(*) > 0 AS live FROM "Conferences"',
            ],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PGSSLMODE": "disable"},
        )
        assert done.returncode == 0, done.stderr
        assert " t\n" in done.stdout
    finally:
        proc.terminate()
        proc.wait(10)


def test_a_real_account_needs_a_password(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CONFSQL_SERVE_PASSWORD", raising=False)
    with pytest.raises(UsageError, match="CONFSQL_SERVE_PASSWORD"):
        config("--dsn", TWILIO)
    monkeypatch.setenv("CONFSQL_SERVE_PASSWORD", "pw")
    assert "SCRAM" in config("--dsn", TWILIO).notes[0]  # type: ignore[attr-defined]


def test_public_address_needs_tls_unless_insecure(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CONFSQL_SERVE_PASSWORD", "pw")
    with pytest.raises(UsageError, match="without TLS"):
        config("--sandbox", "--listen", "0.0.0.0:5433")
    insecure = config("--sandbox", "--listen", "0.0.0.0:5433", "--insecure")
    assert any("WARNING" in n for n in insecure.notes)  # type: ignore[attr-defined]


def test_config_file_maps_users_to_accounts(tmp_path: Path) -> None:
    path = tmp_path / "users.toml"
    path.write_text(
        f'[users.dash]\npassword = "p1"\ndsn = "Provider=Sandbox"\nread_only = true\n\n'
        f'[users.ops]\nscram = "SCRAM-SHA-256$4096:c2FsdA==$c3RvcmVk:c2VydmVy"\ndsn = "{TWILIO}"\n'
    )
    logins = config("--config", str(path)).logins  # type: ignore[attr-defined]
    assert logins("dash").account.read_only and logins("dash").verifier is not None
    assert logins("ops").account.dsn == TWILIO
    assert logins("nobody") is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[users.a]\npassword = 'x'\n", "needs dsn"),
        ("[users.a]\ndsn = 'Provider=Sandbox'\n", "needs password or scram"),
        ("[users.a]\npassword = 'x'\ndsn = 'Provider=Sandbox'\ncolour = 1\n", "unknown key"),
        ("[users.a]\nscram = 'nope'\ndsn = 'Provider=Sandbox'\n", "verifier"),
        ("[users.a]\npassword = 'x'\ndsn = 'Provider=Nowhere'\n", "cannot connect"),
        ("users = [", "not valid TOML"),
    ],
)
def test_config_file_errors(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(UsageError, match=message):
        config("--config", str(path))


def test_hash_password_prints_a_verifier() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "driver.serve", "--hash-password"],
        input="s3cret\n",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0
    assert parse_verifier(done.stdout.strip()).iterations == 4096
