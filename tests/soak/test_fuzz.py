"""Hypothesis: no input reaches InternalError or an exception outside PEP 249.

Covered: ``cursor.execute`` with arbitrary text and parameters (and the
connection stays usable after each failure), the EXEC parser
(``parse_exec`` / ``bind``), and ``driver.connect`` with arbitrary DSNs and
keyword arguments.  Nothing here reaches the network: connections use the
emulator's BaseUrl or ``Provider=Sandbox``, and ``connect`` sends nothing.

Every example has a hard time limit.  The DSN strategy includes long runs of
whitespace, which once made the DSN parser backtrack for minutes; the limit
turns that into a quick failure with the input that caused it.

``SOAK_SEED`` fixes Hypothesis's seed (the same default as the soaks);
``SOAK_EXAMPLES`` sets how many examples each test draws.
"""

from __future__ import annotations

import contextlib
import datetime
import decimal
import math
import os
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, example, given, seed, settings
from hypothesis import strategies as st

import driver
from driver.emulator import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, EmulatorServer
from driver.exec_parser import bind, parse_exec

from . import config

SEED = config.from_env().seed
EXAMPLES = int(os.environ.get("SOAK_EXAMPLES", 500))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,  # the hard limits below measure time; Hypothesis's deadline only reports
    database=None,  # nothing written into the repository
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    print_blob=True,
)
SECRET = "0badc0de" * 4  # an AuthToken-shaped secret that must never be echoed
CONNECT_LIMIT = 1.0  # seconds: parsing and validating properties is local work
STATEMENT_LIMIT = 10.0  # seconds: one fuzzed statement against a tiny data set


class TooSlow(BaseException):
    """Raised by the time limit (a BaseException, so no ``except Exception`` eats it)."""


@contextlib.contextmanager
def time_limit(seconds: float, what: str) -> Iterator[None]:
    """Interrupt the main thread after ``seconds`` (SIGALRM); restore any outer alarm.

    Regular-expression matching checks for signals, so this also stops a
    backtracking parser.  pytest-timeout's own alarm is put back afterwards.
    """
    if threading.current_thread() is not threading.main_thread():  # pragma: no cover
        yield
        return

    def fire(signum: int, frame: Any) -> None:
        raise TooSlow(f"{what} took more than {seconds:g} s")

    started = time.monotonic()
    previous = signal.signal(signal.SIGALRM, fire)
    outer, _ = signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        if outer:
            left = outer - (time.monotonic() - started)
            signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))


def show(value: object, limit: int = 300) -> str:
    """A short repr that survives values too large to print (huge integers)."""
    try:
        text = repr(value)
    except ValueError:
        text = f"<{type(value).__name__} too large to print>"
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} characters)"


def assert_pep249(exc: BaseException, what: str) -> None:
    """``exc`` is a driver.Error and not an InternalError."""
    assert isinstance(exc, driver.Error), (
        f"{what} raised {type(exc).__module__}.{type(exc).__name__} (not PEP 249): {exc}"
    )
    assert not isinstance(exc, driver.InternalError), f"{what} reached InternalError: {exc}"


def assert_no_secret(text: str, what: str) -> None:
    """No 8-character piece of :data:`SECRET` appears in ``text``."""
    for start in range(len(SECRET) - 7):
        assert SECRET[start : start + 8] not in text, f"{what} echoes the secret: {show(text)}"


# --- connect(): DSNs ---------------------------------------------------------------

KEYS = [
    "Provider",
    "AccountSid",
    "AuthToken",
    "ApiKey",
    "ApiSecret",
    "BaseUrl",
    "Timeout",
    "MaxConcurrency",
    "RetryBudget",
    "CacheTtl",
    "Region",
    "Edge",
    "auth_token",
    "max-concurrency",
    "Bogus",
    "",
]
SECRET_KEYS = ("AuthToken", "ApiSecret", "auth_token")
spaces = st.one_of(
    st.sampled_from(["", "", " ", "\t", "\n", "  "]),
    st.integers(0, 400).map(lambda n: " " * n),
)
values = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["Sandbox", "Twilio", "{a;b}", "{", "}", "=", ";", "nan", "inf", "-1", "1e309", "10000"]
    ),
    st.sampled_from(["AC" + "1" * 32, "http://127.0.0.1:9", "us1", "dublin", "0", "0.5"]),
)


@st.composite
def dsn_fragments(draw: st.DrawFn) -> str:
    """One ``key=value``-ish fragment, sometimes malformed, sometimes holding the secret."""
    key = draw(st.sampled_from(KEYS) | st.text(max_size=6))
    separator = draw(st.sampled_from(["=", "=", "=", ":", " ", "", "=="]))
    value = SECRET if key in SECRET_KEYS and draw(st.booleans()) else draw(values)
    if value == SECRET and draw(st.booleans()):
        value = SECRET[: draw(st.integers(8, 32))]  # a truncated secret is still a secret
    return "".join([draw(spaces), key, draw(spaces), separator, draw(spaces), value, draw(spaces)])


dsns = st.one_of(
    st.lists(dsn_fragments(), max_size=5).map(";".join),
    st.lists(dsn_fragments(), max_size=4).map(lambda parts: "Provider=Sandbox;" + ";".join(parts)),
    st.text(max_size=60),
)


@seed(SEED)
@FUZZ
@given(dsn=dsns)
@example(dsn="a" + " " * 300 + "b")  # issue 14 A3: 2.6 s at 300 spaces, 241 s at 1,000
@example(dsn="Provider=Sandbox;AuthToken" + " " * 300)  # A3: the realistic typo
@example(dsn=f"AccountSid=AC{'1' * 32};AuthToken:{SECRET}")  # B1: quoted the token
@example(dsn=f"AccountSid=AC{'1' * 32};AuthToken {SECRET}")  # B1: leaked 30 hex digits
def test_connect_with_any_dsn(dsn: str) -> None:
    conn = None
    try:
        with time_limit(CONNECT_LIMIT, f"connect() of a {len(dsn)}-character DSN"):
            conn = driver.connect(dsn)
    except TooSlow:
        raise
    except BaseException as exc:
        assert_pep249(exc, f"connect({show(dsn)})")
        assert_no_secret(str(exc), f"connect({show(dsn)})")
    else:
        assert_no_secret(repr(conn), "repr(connection)")
        conn.close()


# --- connect(): keyword arguments ------------------------------------------------------

odd_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=10**6, max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.binary(max_size=8),
    st.lists(st.integers(), max_size=2),
    st.sampled_from([object(), decimal.Decimal("NaN"), datetime.date(2026, 1, 1), 10**5000]),
)
keyword_names = st.one_of(
    st.sampled_from([k for k in KEYS if k]),
    st.sampled_from(["provider", "account_sid", "TIMEOUT", "base_url", "max_concurrency"]),
    st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,12}", fullmatch=True),
)


@seed(SEED)
@FUZZ
@given(props=st.dictionaries(keyword_names, odd_values, max_size=5), sandbox=st.booleans())
@example(props={"MaxConcurrency": 10000}, sandbox=True)  # A4: 59 s and 2 GB on first query
@example(props={"Timeout": math.nan}, sandbox=True)  # A4/D: accepted, then every request fails
@example(props={"Timeout": 10**5000}, sandbox=True)
@example(props={"Provider": 10**5000}, sandbox=False)  # str() of it raises ValueError
def test_connect_with_any_keywords(props: dict[str, Any], sandbox: bool) -> None:
    if sandbox:
        props = {"Provider": "Sandbox", **props}
    conn = None
    try:
        with time_limit(CONNECT_LIMIT, f"connect(**{show(props)})"):
            conn = driver.connect(**props)
    except TooSlow:
        raise
    except BaseException as exc:
        assert_pep249(exc, f"connect(**{show(props)})")
    else:
        conn.close()


hostile_labels = st.one_of(
    st.text(max_size=16),
    st.text(alphabet="ab1-.@#/:?%\\ \u00e9[]", max_size=16),
    st.sampled_from(["x@evil.example#", "evil.example/", "a.b", "ie1", "dublin", "-x", "x-"]),
)


@seed(SEED)
@FUZZ
@given(region=hostile_labels, edge=st.none() | hostile_labels)
@example(region="us1", edge="x@evil.example#")  # issue 14 B3: the host became evil.example
def test_region_and_edge_never_leave_the_provider(region: str, edge: str | None) -> None:
    """Issue 14 B3: whatever Region/Edge say, requests go to a host under twilio.com."""
    props = {"AccountSid": "AC" + "1" * 32, "AuthToken": SECRET, "Region": region, "Edge": edge}
    try:
        with time_limit(CONNECT_LIMIT, f"connect(Region={show(region)}, Edge={show(edge)})"):
            conn = driver.connect(**props)
    except TooSlow:
        raise
    except BaseException as exc:
        assert_pep249(exc, f"connect(Region={show(region)}, Edge={show(edge)})")
        assert_no_secret(str(exc), "a Region/Edge error")
        return
    try:
        url = httpx.URL(conn.session.client.base_url)
        assert url.scheme == "https" and not url.userinfo, url
        assert url.host == "twilio.com" or url.host.endswith(".twilio.com"), url
        assert url.path in ("", "/") and not url.query and not url.fragment, url
    finally:
        conn.close()


def test_numeric_properties_are_range_checked_at_connect() -> None:
    """Issue 14 A4: an absurd or non-finite number is refused when connecting."""
    bad = [
        {"MaxConcurrency": 10000},
        {"MaxConcurrency": 10**9},
        {"Timeout": math.nan},
        {"Timeout": "nan"},
        {"RetryBudget": math.nan},
        {"CacheTtl": math.nan},
        {"Timeout": math.inf},
        {"RetryBudget": math.inf},
    ]
    accepted = []
    for props in bad:
        try:
            driver.connect(Provider="Sandbox", **props).close()
        except driver.ProgrammingError:
            continue
        except driver.Error as exc:
            assert_pep249(exc, f"connect(**{show(props)})")
            continue
        accepted.append(props)
    assert not accepted, f"accepted at connect: {accepted}"


# --- the EXEC parser ---------------------------------------------------------------

EXEC_WORDS = [
    "EXEC",
    "EXECUTE",
    "AddParticipants",
    "dbo.",
    "ConferenceSid",
    "@Label",
    "=",
    ",",
    "?",
    ":name",
    "@p",
    "'text'",
    "N'x'",
    "''''",
    "NULL",
    "TRUE",
    "-",
    "+",
    "1.5",
    ".5",
    "1e3",
    "1e999",
    "9" * 5000,  # issue 14 D: a raw ValueError
    "(",
    ")",
    ";",
    "--",
    "/*",
    "*/",
    "\x00",
    "[x]",
    '"y"',
    "SELECT",
]
exec_texts = st.one_of(
    st.lists(st.sampled_from(EXEC_WORDS), min_size=1, max_size=10).map(" ".join),
    st.text(max_size=40).map(lambda t: "EXEC " + t),
    st.text(max_size=40),
)
params = st.one_of(
    st.none(),
    st.integers(),
    st.text(max_size=5),
    st.lists(odd_values, max_size=4),
    st.tuples(odd_values, odd_values),
    st.dictionaries(st.text(max_size=5), odd_values, max_size=3),
    st.sampled_from([b"xy", 3.5, object(), {1, 2}]),
)


@seed(SEED)
@FUZZ
@given(text=exec_texts, parameters=params)
@example(text="EXEC AddParticipants ConferenceSid = " + "1" * 5000, parameters=None)
def test_exec_parser_with_any_text(text: str, parameters: Any) -> None:
    try:
        with time_limit(CONNECT_LIMIT, f"parse_exec of {len(text)} characters"):
            call = parse_exec(text)
            bind(call, parameters)
    except TooSlow:
        raise
    except BaseException as exc:
        assert_pep249(exc, f"parse_exec/bind({show(text)}, {show(parameters)})")


# --- cursor.execute ------------------------------------------------------------------

SQL_WORDS = [
    "SELECT",
    "*",
    "count(*)",
    "FROM",
    "Conferences",
    "Participants",
    "c",
    "p",
    "JOIN",
    "ON",
    "WHERE",
    "Sid",
    "Status",
    "FriendlyName",
    "CallSid",
    "Label",
    "Muted",
    "ConferenceSid",
    "=",
    "!=",
    "<",
    "IN",
    "(",
    ")",
    ",",
    "?",
    ":x",
    "?1",
    "'in-progress'",
    "'x''y'",
    "NULL",
    "1",
    "9" * 400,
    "LIMIT",
    "OFFSET",
    "ORDER BY",
    "GROUP BY",
    "AND",
    "OR",
    "NOT",
    "UPDATE",
    "SET",
    "DELETE",
    "INSERT INTO",
    "VALUES",
    "EXEC",
    "ModifyParticipants",
    "RemoveParticipant",
    ";",
    "--",
    "\x00",
    "sys_tables",
    "PRAGMA",
]
nested = st.integers(1, 120).map(lambda n: "SELECT " + "(" * n + "1" + ")" * n)
sql_texts = st.one_of(
    st.lists(st.sampled_from(SQL_WORDS), min_size=1, max_size=10).map(" ".join),
    st.text(max_size=40),
    nested,
)


@pytest.fixture(scope="module")
def fuzz_conn(server: EmulatorServer) -> Iterator[driver.Connection]:
    """One connection to a tiny data set (two rooms, two people each) for the whole module."""
    emu = server.emulator
    emu.reset()
    for name in ("Sales", "x y"):
        sid = str(emu.create_conference(name)["sid"])
        for label in ("a", "b"):
            emu.add_participant(sid, label=label)
    conn = driver.connect(
        BaseUrl=server.base_url,
        AccountSid=DEMO_ACCOUNT_SID,
        AuthToken=DEMO_AUTH_TOKEN,
        Timeout=2,
        RetryBudget=1,
    )
    yield conn
    conn.close()
    emu.reset()


@seed(SEED)
@FUZZ
@given(sql=sql_texts, parameters=params)
@example(sql="SELECT 1", parameters=5)  # issue 14 D: parameters that are not a sequence
@example(sql="SELECT '\x00'", parameters=None)  # D: a NUL in the SQL
@example(sql="SELECT " + "(" * 46 + "1" + ")" * 46, parameters=None)  # D: RecursionError
@example(sql="SELECT ?", parameters=[10**5000])  # D: a 5,000-digit integer
def test_execute_with_any_text_and_parameters(
    fuzz_conn: driver.Connection, sql: str, parameters: Any
) -> None:
    watchdog = threading.Timer(STATEMENT_LIMIT, fuzz_conn.interrupt)
    watchdog.start()
    started = time.monotonic()
    try:
        cur = fuzz_conn.cursor()
        cur.execute(sql, parameters)
        cur.fetchall()
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        assert_pep249(exc, f"execute({show(sql)}, {show(parameters)})")
    finally:
        watchdog.cancel()
    elapsed = time.monotonic() - started
    assert elapsed < STATEMENT_LIMIT, f"execute({show(sql)}) took {elapsed:.1f} s"
    # One failure stays one failure: the connection answers the next statement.
    rows = fuzz_conn.cursor().execute("SELECT count(*) FROM Conferences").fetchall()
    assert rows and rows[0][0] >= 2
