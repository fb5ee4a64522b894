"""psql (the Debian postgresql-client) against ``confsql serve``."""

from __future__ import annotations

import os
import subprocess

from tests.serve.conftest import PASSWORDS, Running, need_psql


def psql(
    running: Running, command: str, *extra: str, user: str = "alice"
) -> subprocess.CompletedProcess[str]:
    """Run one psql command; returns the finished process (stdout, stderr)."""
    binary = need_psql()
    env = {
        **os.environ,
        "PGPASSWORD": PASSWORDS[user],
        "PGSSLMODE": "disable",
        "PGCONNECT_TIMEOUT": "10",
    }
    return subprocess.run(
        [
            binary,
            "-X",
            "-h",
            running.host,
            "-p",
            str(running.port),
            "-U",
            user,
            "-d",
            "confsql",
            *extra,
            "-c",
            command,
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_dt_lists_the_tables(running: Running) -> None:
    done = psql(running, r"\dt")
    assert done.returncode == 0, done.stderr
    assert "Conferences" in done.stdout and "Participants" in done.stdout
    assert "(2 rows)" in done.stdout


def test_d_participants_shows_columns_and_types(running: Running) -> None:
    done = psql(running, r"\d Participants")
    assert done.returncode == 0, done.stderr
    lines = {line.split("|")[0].strip(): line for line in done.stdout.splitlines() if "|" in line}
    assert "text" in lines["CallSid"] and "not null" in lines["CallSid"]
    assert "boolean" in lines["Muted"]
    assert "bigint" in lines["QueueTime"]
    assert "timestamp without time zone" in lines["DateCreated"]
    assert '"Participants_pkey" PRIMARY KEY' in done.stdout


def test_join_prints_rows(running: Running) -> None:
    done = psql(
        running,
        'SELECT c."FriendlyName", p."Label" FROM "Participants" p '
        'JOIN "Conferences" c ON c."Sid" = p."ConferenceSid" WHERE p."Label" = \'carol\'',
    )
    assert done.returncode == 0, done.stderr
    assert "Daily Standup" in done.stdout and "carol" in done.stdout and "(1 row)" in done.stdout


def test_exec_returns_its_row(running: Running) -> None:
    done = psql(
        running,
        "EXEC AddParticipants ConferenceSid = 'Daily Standup', From = '+15551230000', "
        "To = '+15557654321'",
    )
    assert done.returncode == 0, done.stderr
    assert "CallSid" in done.stdout and "queued" in done.stdout and "(1 row)" in done.stdout


def test_syntax_error_prints_error_with_sqlstate(running: Running) -> None:
    done = psql(running, "SELEC 1", "-v", "VERBOSITY=verbose")
    assert done.returncode == 1
    assert "ERROR:  42601: syntax error" in done.stderr


def test_untranslatable_construct_is_named(running: Running) -> None:
    done = psql(running, "SELECT interval '1 day'", "-v", "VERBOSITY=verbose")
    assert done.returncode == 1
    assert "ERROR:  0A000" in done.stderr and "interval" in done.stderr.lower()


def test_sessions_commands_and_meta_commands(running: Running) -> None:
    for command in (r"\l", r"\dn", r"\dv", r"\df", r"\d+ Conferences", "SHOW server_version"):
        done = psql(running, command)
        assert done.returncode == 0, (command, done.stderr)
