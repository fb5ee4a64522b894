"""The confsql shell, run as ``python -m driver`` against the emulator and the sandbox."""

from __future__ import annotations

import contextlib
import csv
import fcntl
import io
import json
import os
import pty
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from driver.emulator import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, Emulator, EmulatorServer
from driver.shell._secrets import dsn_secrets, mask_dsn
from driver.shell._split import split

pytestmark = pytest.mark.timeout(30)

CALL = "EXEC AddParticipants @ConferenceSid = 'Lobby', @From = '+15005550006', @To = '+15005550001'"
WRONG_TOKEN = "0123456789abcdef0123456789abcdef"


def _env(home: Path, **extra: str) -> dict[str, str]:
    # COLUMNS/LINES (set by pytest-xdist's workers) would override the pty's real size.
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith("TWILIO_") and k not in ("COLUMNS", "LINES")
    }
    env.update(HOME=str(home), NO_COLOR="1", PYTHONUNBUFFERED="1", **extra)
    return env


@pytest.fixture
def shell(tmp_path: Path) -> Any:
    """Run ``python -m driver ARGS`` with piped stdio; returns the CompletedProcess."""

    def run(*args: str, stdin: str | None = None, timeout: float = 15) -> Any:
        return subprocess.run(
            [sys.executable, "-m", "driver", *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=_env(tmp_path),
            cwd=tmp_path,
            stdin=subprocess.DEVNULL if stdin is None else None,
        )

    return run


@pytest.fixture
def account(server: EmulatorServer, emu: Emulator) -> list[str]:
    """Options that connect to the served emulator, seeded with demo data."""
    emu.seed_demo()
    return [
        "--base-url",
        server.base_url,
        "--account-sid",
        DEMO_ACCOUNT_SID,
        "--auth-token",
        DEMO_AUTH_TOKEN,
        "--timeout",
        "5",
    ]


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


# --- statement splitting ---------------------------------------------------------------


def test_split_statements_exec_lines_strings_and_comments() -> None:
    text = (
        "-- leading comment\n"
        "SELECT 'a;b\nc' AS s; SELECT 2;\n"
        "EXEC Foo @a = 'x;y', @b = 1\n"
        "EXEC Bar @a = 1; EXEC Baz\n"
        "/* block\n comment */ SELECT\n 3\n;\n"
        "EXEC Q @t = 'two\nlines'\n"
        "SELECT 4"
    )
    got = [(s.text, s.line) for s in split(text)]
    assert got == [
        ("SELECT 'a;b\nc' AS s;", 2),
        ("SELECT 2;", 3),
        ("EXEC Foo @a = 'x;y', @b = 1", 4),
        ("EXEC Bar @a = 1;", 5),
        ("EXEC Baz", 5),
        ("SELECT\n 3\n;", 7),
        ("EXEC Q @t = 'two\nlines'", 10),
        ("SELECT 4", 12),
    ]


def test_split_exec_goes_on_after_comma_equals_parenthesis_or_quote() -> None:
    text = (
        "EXEC A @a = 1,\n  @b = 2\n"
        "EXEC B b = 1, -- a comment after the comma\n  c = 2\n"
        "EXEC C c =\n  'x'\n"
        "EXEC D d = (1,\n2)\n"
        "EXEC E e = 'it''s\nlong'\n"
        "EXEC F f = 1\n"
        "EXEC G g = 'a,', h = ')'\n"
        "EXEC H h = 1,"
    )
    got = [(s.text, s.line) for s in split(text)]
    assert got == [
        ("EXEC A @a = 1,\n  @b = 2", 1),
        ("EXEC B b = 1, -- a comment after the comma\n  c = 2", 3),
        ("EXEC C c =\n  'x'", 5),
        ("EXEC D d = (1,\n2)", 7),
        ("EXEC E e = 'it''s\nlong'", 9),
        ("EXEC F f = 1", 11),
        ("EXEC G g = 'a,', h = ')'", 12),
        ("EXEC H h = 1,", 13),  # at the end of input: runs, and its error names line 13
    ]


def test_split_keeps_trigger_bodies_whole() -> None:
    text = "CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 1; SELECT 2; END;\nSELECT 3;"
    assert [s.text for s in split(text)] == [
        "CREATE TRIGGER t AFTER INSERT ON x BEGIN SELECT 1; SELECT 2; END;",
        "SELECT 3;",
    ]


# --- scripts -------------------------------------------------------------------------------

SCRIPT = f"""\
-- calls.sql: a script
/* select, then call
   without a trailing ';' */
SELECT FriendlyName FROM Conferences WHERE Status = 'completed' ORDER BY FriendlyName;
{CALL}
SELECT 'semi;colon
newline' AS s;
SELECT * FROM NoSuchTable;
SELECT 'after the error' AS s;
"""


def test_script_from_stdin_stops_at_first_error(shell: Any, account: list[str]) -> None:
    done = shell(*account, stdin=SCRIPT)
    assert done.returncode == 1
    assert "<stdin>:8: ProgrammingError: no such table: NoSuchTable" in done.stderr
    assert "Traceback" not in done.stderr
    assert "after the error" not in done.stdout
    assert "Board Review" in done.stdout
    assert "queued" in done.stdout  # the EXEC's result row
    assert '"semi;colon\nnewline"' in done.stdout


def test_script_file_continue_reports_failure(
    shell: Any, account: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "calls.sql"
    path.write_text(SCRIPT)
    done = shell(*account, "-f", str(path), "--continue")
    assert done.returncode == 1
    assert f"{path}:8: ProgrammingError: no such table" in done.stderr
    assert "after the error" in done.stdout


def test_script_file_success_exit_zero(shell: Any, account: list[str], tmp_path: Path) -> None:
    path = tmp_path / "ok.sql"
    path.write_text(SCRIPT.replace("SELECT * FROM NoSuchTable;\n", ""))
    done = shell(*account, "-f", str(path))
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""


def test_exec_without_semicolon_runs_and_reports_its_line(shell: Any, account: list[str]) -> None:
    script = f"{CALL}\n\n\nEXEC AddParticipants @ConferenceSid = 'Lobby'\nSELECT 1;\n"
    done = shell(*account, "--mode", "json", stdin=script)
    assert done.returncode == 1
    assert json.loads(done.stdout)[0]["Status"] == "queued"
    assert re.search(
        r"<stdin>:4: ProgrammingError: .*missing required inputs From, To", done.stderr
    )


CONTINUED = """\
EXEC AddParticipants ConferenceSid = 'Lobby',
  From = '+15005550006',
  To = '+15005550001', Label = 'first'
EXEC AddParticipants ConferenceSid = 'Lobby', Label = 'two
lines', From = '+15005550006', To = '+15005550001'
SELECT Label FROM Participants WHERE Label IN ('first', 'two
lines') ORDER BY Label;
EXEC AddParticipants ConferenceSid = 'Lobby', To = (
  '+15005550001'), From = '+15005550006'
"""


@pytest.mark.parametrize("via", ["stdin", "file"])
def test_script_exec_goes_on_after_comma_parenthesis_or_quote(
    shell: Any, account: list[str], tmp_path: Path, via: str
) -> None:
    if via == "file":
        (tmp_path / "calls.sql").write_text(CONTINUED)
        done, source = shell(*account, "--mode", "json", "-f", "calls.sql"), "calls.sql"
    else:
        done, source = shell(*account, "--mode", "json", stdin=CONTINUED), "<stdin>"
    assert done.returncode == 1
    results = [json.loads(part) for part in done.stdout.replace("]\n[", "]\x00[").split("\x00")]
    assert [r[0]["Status"] for r in results[:2]] == ["queued", "queued"]
    assert results[2] == [{"Label": "first"}, {"Label": "two\nlines"}]
    # the open parenthesis carried the call on; the parser then names the real problem
    assert done.stderr == (
        f"{source}:8: ProgrammingError: EXEC: the value of parameter 'To' is an expression "
        "(\"(\\n  '+15005550001')\"); only a literal, ?, :name or @name is allowed\n"
    )
    assert "missing argument" not in done.stderr


def test_missing_file_is_a_usage_error(shell: Any, tmp_path: Path) -> None:
    done = shell("--sandbox", "-f", str(tmp_path / "nope.sql"))
    assert done.returncode == 2
    assert "cannot read" in done.stderr


# --- output modes ---------------------------------------------------------------------------

QUERY = (
    "SELECT FriendlyName, Status, ReasonConferenceEnded FROM Conferences "
    "WHERE FriendlyName IN ('Lobby', 'Board Review') ORDER BY FriendlyName"
)


def test_csv_is_default_when_piped(shell: Any, account: list[str]) -> None:
    done = shell(*account, QUERY)
    assert done.returncode == 0, done.stderr
    rows = _csv(done.stdout)
    assert [r["FriendlyName"] for r in rows] == ["Board Review", "Lobby"]
    assert rows[1]["ReasonConferenceEnded"] == ""  # NULL is empty in csv


def test_json_mode(shell: Any, account: list[str]) -> None:
    done = shell(*account, "--mode", "json", QUERY)
    assert done.returncode == 0, done.stderr
    rows = json.loads(done.stdout)
    assert rows[1] == {"FriendlyName": "Lobby", "Status": "init", "ReasonConferenceEnded": None}


def test_jsonl_tabs_line_markdown_table_modes(shell: Any, account: list[str]) -> None:
    jsonl = shell(*account, "--mode", "jsonl", QUERY).stdout.splitlines()
    assert json.loads(jsonl[1])["FriendlyName"] == "Lobby"
    tabs = shell(*account, "--mode", "tabs", QUERY).stdout.splitlines()
    assert tabs[0].split("\t") == ["FriendlyName", "Status", "ReasonConferenceEnded"]
    line = shell(*account, "--mode", "line", QUERY).stdout
    assert "FriendlyName = Lobby" in line
    assert "\n\n" in line
    markdown = shell(*account, "--mode", "markdown", QUERY).stdout.splitlines()
    assert markdown[0] == "| FriendlyName | Status | ReasonConferenceEnded |"
    assert markdown[1].startswith("| --- |")
    assert markdown[3] == "| Lobby | init |  |"
    table = shell(*account, "--mode", "table", QUERY).stdout
    assert "FriendlyName" in table and "Lobby" in table and "NULL" in table
    assert "┌" in table


def test_mode_headers_and_nullvalue_commands(shell: Any, account: list[str]) -> None:
    done = shell(*account, ".headers off", ".nullvalue -", QUERY, ".mode json", "SELECT NULL AS n")
    assert done.returncode == 0, done.stderr
    first, rest = done.stdout.split("[", 1)
    assert first.splitlines() == ["Board Review,completed,conference-ended-via-api", "Lobby,init,-"]
    assert json.loads("[" + rest) == [{"n": None}]


def test_output_and_read_commands(shell: Any, account: list[str], tmp_path: Path) -> None:
    (tmp_path / "inner.sql").write_text("SELECT 'from inner' AS s;\nSELECT * FROM Nope;\n")
    out = tmp_path / "out.csv"
    done = shell(*account, f".output {out}", ".read inner.sql", ".output stdout", "SELECT 1 AS x")
    assert done.returncode == 1
    assert "inner.sql:2: ProgrammingError: no such table: Nope" in done.stderr
    assert "from inner" in out.read_text()
    assert "from inner" not in done.stdout


def test_sql_arguments_and_sandbox(shell: Any) -> None:
    done = shell("--sandbox", "SELECT count(*) AS n FROM Conferences", CALL + ";")
    assert done.returncode == 0, done.stderr
    first, second = done.stdout.split("AccountSid", 1)
    assert int(_csv(first)[0]["n"]) > 0
    assert "queued" in second


# --- dot-commands -------------------------------------------------------------------------


def test_tables_procedures_schema_describe(shell: Any) -> None:
    done = shell(
        "--sandbox",
        ".tables",
        ".procedures Add%",
        ".schema Participants",
        ".describe AddParticipants",
        ".describe Conferences",
    )
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "Conferences," in out and "Participants," in out and "sys_tables," in out
    assert "AddParticipants," in out and "RemoveParticipant," not in out
    assert "CREATE TABLE Participants (" in out
    assert re.search(r'"From"\s+TEXT HIDDEN,\s+-- write-only', out)
    assert "PRIMARY KEY (ConferenceSid, CallSid)" in out
    assert "\nConferenceSid,TEXT,yes," in out  # inputs shown as the README writes them
    assert '\nStatusCallbackMethod,TEXT,no,"one of GET, POST"' in out
    assert not re.search(r"@[A-Z][a-z]+[A-Z]", out)
    assert "CallSid,TEXT," in out  # result columns
    assert re.search(r"FriendlyName,TEXT,,yes,,", out)  # table: read-only column


def test_unsupported_and_unknown_commands(shell: Any) -> None:
    done = shell("--sandbox", "--continue", ".dump", ".open x.db", ".frobnicate", "SELECT 1")
    assert done.returncode == 1
    assert ".dump is not supported by confsql" in done.stderr
    assert ".open is not supported by confsql: use .connect" in done.stderr
    assert 'unknown command ".frobnicate"' in done.stderr


def test_usage_errors_exit_2(shell: Any) -> None:
    assert shell("--sandbox", "--mode", "bogus").returncode == 2
    done = shell("SELECT 1")
    assert done.returncode == 2
    assert "no credentials" in done.stderr and "--sandbox" in done.stderr
    assert shell("--sandbox", "--max-concurrency", "0").returncode == 2


def test_help_lists_commands(shell: Any) -> None:
    done = shell("--sandbox", ".help")
    assert ".describe NAME" in done.stdout and ".connect ?DSN?" in done.stdout
    assert re.search(r"^\.quit \?CODE\? +Leaves the shell", done.stdout, re.M)
    assert re.search(r"^\.exit \?CODE\? +Leaves the shell", done.stdout, re.M)
    assert ".backup" not in done.stdout
    assert "EXEC Procedure Input = value, ..." in done.stdout
    assert done.stdout.count("optional") == 1  # '@' is optional: said once


def test_describe_writes_inputs_without_at(shell: Any) -> None:
    done = shell("--sandbox", ".mode table", ".describe AddParticipants")
    assert done.returncode == 0, done.stderr
    assert re.search(r"│ ConferenceSid +│ TEXT", done.stdout)
    assert "Example: EXEC AddParticipants ConferenceSid = '...', From = '...', To = '...'" in (
        done.stdout
    )
    assert not re.search(r"@[A-Z][a-z]+[A-Z]", done.stdout)


def test_errors_point_at_dot_commands(shell: Any, account: list[str]) -> None:
    done = shell(
        *account,
        "--continue",
        "EXEC AddParticipants ConferenceSid = 'Lobby', Too = '+15005550001', Lable = 'x', "
        "From = '+15005550006'",
        "EXEC AddParticipants ConferenceSid = 'Lobby'",
        "EXEC AddParticipant ConferenceSid = 'Lobby'",
        "SELECT * FROM Participant",
        ".schema Participant",
        ".describe addparticipant",
        ".describe Nothing",
        ".schema SYS_TABLES",
    )
    assert done.returncode == 1
    errors = [line.split(": Error: ", 1)[-1] for line in done.stderr.splitlines()]
    errors = [e.split(": ProgrammingError: ", 1)[-1] for e in errors]
    assert errors == [
        "AddParticipants: unknown inputs: 'Too' (did you mean 'To'?), "
        "'Lable' (did you mean 'Label'?); to list its inputs: .describe AddParticipants",
        "AddParticipants is missing required inputs From, To "
        "(NULL counts as missing; to list its inputs: .describe AddParticipants)",
        "unknown procedure 'AddParticipant'; known procedures: AddParticipants, "
        "JoinConference, ModifyConference, ModifyParticipants, RemoveParticipant "
        "(.procedures lists them with descriptions)",
        "no such table: Participant (.tables lists the tables)",
        "no table or procedure named 'Participant'; did you mean Participants? "
        "(.tables and .procedures list what this connection has)",
        "no table or procedure named 'addparticipant'; did you mean AddParticipants? "
        "(.tables and .procedures list what this connection has)",
        "no table or procedure named 'Nothing' "
        "(.tables and .procedures list what this connection has)",
        "sys_tables is a catalog view with columns TableName, Description, IsUpdatable; "
        "query it: SELECT * FROM sys_tables",
    ]


def test_sqlite3_mode_names_map_to_the_closest_mode(shell: Any) -> None:
    done = shell(
        "--sandbox",
        "--continue",
        *(".mode column", "SELECT 1 AS a"),
        *(".mode list", "SELECT 1 AS a, 'x' AS b"),
        *(".mode quote", "SELECT 'y' AS c"),
        *(".mode HTML", "SELECT 2 AS d"),
        ".mode insert",
        ".mode",
    )
    assert done.returncode == 1
    assert done.stdout == (
        "┌───┐\n│ a │\n├───┤\n│ 1 │\n└───┘\n"
        "a\tb\n1\tx\n"
        "c\ny\n"
        "| d |\n| --- |\n| 2 |\n"
        "current output mode: markdown\n"
    )
    assert "mode insert is not supported" in done.stderr and ".mode csv" in done.stderr
    boxed = shell("--sandbox", "--mode", "box", "SELECT 1 AS a")
    assert boxed.returncode == 0 and boxed.stdout.startswith("┌")


# --- secrets ---------------------------------------------------------------------------------


def test_secrets_never_echoed(shell: Any, server: EmulatorServer, emu: Emulator) -> None:
    secret_dsn = (
        f"Provider=Twilio;AccountSid={DEMO_ACCOUNT_SID};AuthToken=sekrit-{WRONG_TOKEN};"
        f"BaseUrl={server.base_url}"
    )
    done = shell(
        "--base-url",
        server.base_url,
        "--account-sid",
        DEMO_ACCOUNT_SID,
        "--auth-token",
        WRONG_TOKEN,
        "--echo",
        "--continue",
        "SELECT * FROM Conferences",  # 401
        ".show",
        f".connect {secret_dsn}",
        ".connect",
        "SELECT * FROM Conferences",  # 401 again
        ".connect AccountSid=AC;AuthToken=hunter2hunter2;{unbalanced",
    )
    both = done.stdout + done.stderr
    assert done.returncode == 1
    assert "401" in both
    assert "AuthToken=***" in both
    for secret in (WRONG_TOKEN, "sekrit", "hunter2hunter2", DEMO_AUTH_TOKEN):
        assert secret not in both


def test_masks_cover_malformed_pairs() -> None:
    assert mask_dsn("AccountSid=AC;AuthToken:sekrit") == "AccountSid=AC;AuthToken ***"
    assert mask_dsn("auth_token sekrit;Region=ie1") == "auth_token ***;Region=ie1"
    assert mask_dsn("ApiSecret = {a;b}") == "ApiSecret = ***"
    assert dsn_secrets("AuthToken:sekrit") == {"sekrit"}
    assert dsn_secrets('AuthToken "it\'s-sekrit"') >= {"it's-sekrit"}


def test_bad_dsn_does_not_echo_it(shell: Any) -> None:
    done = shell("--dsn", f"AccountSid=AC;{WRONG_TOKEN}", "SELECT 1")
    assert done.returncode == 2
    assert WRONG_TOKEN not in done.stdout + done.stderr


MALFORMED = [
    "AccountSid=AC;AuthToken:it's-sekrit",  # Python quotes this fragment with "..."
    'AccountSid=AC;AuthToken:say-"sekrit"',
    "AccountSid=AC;auth_token it's-sekrit",
]


def test_malformed_dsn_secret_is_hidden_in_any_quoting(shell: Any) -> None:
    for dsn in MALFORMED:
        done = shell("--dsn", dsn, "SELECT 1")
        assert done.returncode == 2
        assert "cannot connect" in done.stderr
        assert "sekrit" not in done.stdout + done.stderr
    # the same through .connect, with --echo printing each command first
    words = ["'" + dsn.replace("'", "'\"'\"'") + "'" for dsn in MALFORMED]  # one shell word
    done = shell("--sandbox", "--echo", "--continue", *(f".connect {w}" for w in words))
    assert done.returncode == 1
    assert done.stderr.count("cannot connect") == len(MALFORMED)
    assert "sekrit" not in done.stdout + done.stderr


# --- progress ----------------------------------------------------------------------------------


def test_no_progress_when_stderr_is_piped(shell: Any, account: list[str], emu: Emulator) -> None:
    emu.latency = 0.2
    done = shell(*account, "SELECT count(*) AS n FROM Participants")
    assert done.returncode == 0
    assert done.stderr == ""
    assert int(_csv(done.stdout)[0]["n"]) > 0


# --- interactive, under a pseudo-terminal -----------------------------------------------------


class Terminal:
    """The shell on a pseudo-terminal: send keystrokes, wait for output."""

    def __init__(self, args: list[str], env: dict[str, str], columns: int = 200) -> None:
        pid, fd = pty.fork()
        if pid == 0:  # child: become the shell
            with contextlib.suppress(OSError):
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
            os.execve(sys.executable, [sys.executable, "-m", "driver", *args], env)
        self.pid, self.fd = pid, fd
        self.output = ""
        self._seen = 0
        self.status: int | None = None
        self.log: list[tuple[float, bytes]] = []  # (when, bytes) for diagnosing timing

    def expect(self, pattern: str, timeout: float = 8) -> str:
        """Wait until ``pattern`` (a regex) appears in output not yet matched."""
        deadline = time.monotonic() + timeout
        regex = re.compile(pattern)
        while True:
            match = regex.search(self.output, self._seen)
            if match:
                self._seen = match.end()
                return self.output[match.start() : match.end()]
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{pattern!r} not seen; output so far:\n{self.output}")
            ready, _, _ = select.select([self.fd], [], [], min(left, 0.1))
            if ready:
                try:
                    data = os.read(self.fd, 65536)
                except OSError:
                    data = b""
                if not data:
                    raise AssertionError(f"{pattern!r} not seen before EOF:\n{self.output}")
                self.output += data.decode("utf-8", "replace").replace("\r\n", "\n")
                self.log.append((time.monotonic(), data))

    def send(self, text: str) -> None:
        """Type ``text``."""
        os.write(self.fd, text.encode())

    def close(self) -> int:
        """End the shell (EOF, then kill if need be); returns its exit status."""
        if self.status is not None:
            return self.status
        with contextlib.suppress(OSError):
            self.send("\x04")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(status)
                break
            ready, _, _ = select.select([self.fd], [], [], 0.05)
            if ready:
                with contextlib.suppress(OSError):
                    self.output += os.read(self.fd, 65536).decode("utf-8", "replace")
        else:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.status = -9
        os.close(self.fd)
        return self.status


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[Any]:
    opened: list[Terminal] = []

    def start(*args: str, term: str = "dumb", columns: int = 200, color: bool = True) -> Terminal:
        """The shell on a terminal ``columns`` wide (TERM=dumb makes rich assume 80)."""
        env = _env(tmp_path, TERM=term)
        if color:
            env.pop("NO_COLOR")
        t = Terminal(list(args), env, columns)
        opened.append(t)
        return t

    yield start
    for t in opened:
        t.close()


PROMPT = r"confsql> "


def test_interactive_exec_describe_and_history(
    terminal: Any, account: list[str], tmp_path: Path
) -> None:
    term = terminal(*account)
    term.expect(r"Enter \"\.help\"")
    term.expect(PROMPT)
    term.send(CALL + "\n")  # no ';'
    term.expect(r"queued")
    term.expect(PROMPT)
    term.send(".describe AddParticipants\n")
    term.expect(r"Inputs:")
    term.expect(r"ConferenceSid")
    term.expect(r"Results:")
    term.expect(PROMPT)
    term.send("SELECT 1 +\n")
    term.expect(r"\.\.\.> ")
    term.send("41 AS answer;\n")
    term.expect(r"42")
    term.expect(PROMPT)
    term.send(f".connect Provider=Sandbox;AuthToken={WRONG_TOKEN}\n")
    term.expect(r"Connected to Provider=Sandbox;AuthToken=\*\*\*")
    term.expect(PROMPT)
    assert term.close() == 0
    history = (tmp_path / ".confsql_history").read_text()
    assert "AddParticipants" in history
    assert WRONG_TOKEN not in history
    assert term.output.count(WRONG_TOKEN) == 1  # only the terminal's echo of the typing


def test_interactive_ctrl_c_cancels_statement(
    terminal: Any, account: list[str], emu: Emulator
) -> None:
    term = terminal(*account, term="xterm")
    term.expect(PROMPT)
    emu.latency = 3  # uncancelled, the statement takes two rounds: at least 6 s
    started = time.monotonic()
    term.send("SELECT * FROM Participants;\n")
    term.expect(r"requests?")  # progress on the terminal's stderr
    term.send("\x03")
    term.expect(r"Interrupted")
    term.expect(PROMPT)
    assert time.monotonic() - started < 5.0
    emu.latency = 0
    term.send("SELECT count(*) AS n FROM Conferences;\n")
    term.expect(r"│\s+6\s+│")
    term.expect(PROMPT)
    time.sleep(0.2)  # a human pause: let readline start waiting for keys
    term.send("\x03")  # at the prompt: a fresh prompt, not an exit
    term.expect(PROMPT)
    term.send("SELECT 'still here' AS s;\n")
    term.expect(r"│ still here │")
    term.expect(PROMPT)
    assert term.close() == 0


def test_interactive_error_is_one_line(terminal: Any) -> None:
    term = terminal("--sandbox")
    term.expect(PROMPT)
    term.send("SELECT * FROM Nope;\n")
    term.expect(r"Error: no such table: Nope")
    term.expect(PROMPT)
    term.send(".bogus\n")
    term.expect(r"Error: unknown command")
    term.expect(PROMPT)
    assert "Traceback" not in term.output
    assert term.close() == 0


WIDE = "SELECT * FROM Participants LIMIT 2;\n"
MEDIUM = (  # about 104 cells as a table: records at 80 columns, a table at 200
    "SELECT Sid, AccountSid, FriendlyName, Status FROM Conferences ORDER BY FriendlyName LIMIT 2;\n"
)
NARROW = "SELECT FriendlyName, Status FROM Conferences WHERE FriendlyName = 'Lobby';\n"
NOTE = "wider than the terminal"


@pytest.mark.parametrize("columns", [80, 200])
def test_results_wider_than_the_terminal_become_records(terminal: Any, columns: int) -> None:
    term = terminal("--sandbox", term="xterm", columns=columns, color=False)
    term.expect(PROMPT)
    term.send(WIDE)
    term.expect(NOTE)
    term.expect(r"\n +ConferenceSid = CF[0-9a-f]{32}\n +CallSid = CA[0-9a-f]{32}\n")
    term.expect(r"\n +CallSidToCoach = NULL\n")  # NULL shown as the table would show it
    term.expect(PROMPT)
    start = len(term.output)
    term.send(MEDIUM)
    if columns == 80:
        term.expect(r"\n +Sid = CF[0-9a-f]{32}\n +AccountSid = AC[0-9a-f]{32}\n")
        term.expect(r"FriendlyName = Board Review\n +Status = completed\n")
    else:
        line = term.expect(r"│ CF[0-9a-f]{32} │ AC[0-9a-f]{32} │ Board Review +│ completed +│")
        assert 80 < len(line) <= 200
    term.expect(PROMPT)
    assert "┌" not in term.output[start:] if columns == 80 else "=" not in term.output[start:]
    term.send(NARROW)
    term.expect(r"│ Lobby +│ in-progress │")
    term.expect(PROMPT)
    term.send(".mode box\n")
    term.expect(r"\.mode box is shown as confsql's table")
    term.expect(PROMPT)
    assert term.output.count(NOTE) == 1  # said once per session
    shown = re.sub(r"\x1b\[[0-9;]*m", "", term.output).splitlines()  # bold headers
    table_lines = [ln for ln in shown if ln.startswith(("┌", "│", "└"))]
    assert table_lines and all(len(ln) <= columns for ln in table_lines)
    assert term.close() == 0


def test_interactive_exec_goes_on_after_comma_and_open_quote(
    terminal: Any, account: list[str], emu: Emulator
) -> None:
    term = terminal(*account)
    term.expect(PROMPT)
    term.send("EXEC AddParticipants ConferenceSid = 'Lobby',\n")
    term.expect(r"\.\.\.> ")
    term.send("  From = '+15005550006',\n")
    term.expect(r"\.\.\.> ")
    term.send("  To = '+15005550001', Label = 'two\n")
    term.expect(r"\.\.\.> ")
    term.send("lines'\n")
    term.expect(r"queued")
    term.expect(PROMPT)
    assert "Error" not in term.output
    assert term.close() == 0
    assert len(emu.requests.matching("POST", operation="participants")) == 1
    with emu.state.lock:
        labels = [p.label for c in emu.state.conferences.values() for p in c.participants]
    assert "two\nlines" in labels


def test_progress_line_shows_concurrency_and_429s() -> None:
    import io

    from driver.http import Stats
    from driver.shell._progress import StatementProgress
    from driver.throttle import GateStats

    stats = Stats(gate=GateStats(limit=12))
    progress = StatementProgress(stats, io.StringIO(), enabled=False)
    with progress:
        stats.rows, stats.requests = 1200, 40
        stats.gate.in_flight, stats.gate.throttled = 9, 3
        line = progress._describe()
    assert line.startswith("1200 rows, 40 requests, 9 in flight (limit 12), 3 × 429")
