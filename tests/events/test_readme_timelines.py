"""The README's "Conference timelines": its walkthrough runs, its queries give right answers.

The walkthrough runs as a user would: `confsql listen --sandbox` as a real process, the calls
on a sandbox connection with EventsDb.  The queries are then checked against a recorded
timeline with known durations (the emulator's clock is stepped between events).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

import driver
from driver.emulator import Emulator, EmulatorServer
from driver.events.server import ReceiverServer
from driver.sandbox import sandbox_emulator
from tests.conftest import Connect, wire_server

README = Path(__file__).resolve().parents[2] / "README.md"


def section() -> str:
    text = README.read_text()
    start = text.index("## Conference timelines")
    return text[start : text.index("\n## ", start + 1)]


def calls(provider: str = "Twilio") -> list[str]:
    """The walkthrough's statements (one per line, or ending at ';'): Twilio's, then jambonz's."""
    blocks = re.findall(r"```sql\n(.*?)```", section(), flags=re.S)
    assert len(blocks) == 2
    block = blocks[["Twilio", "Jambonz"].index(provider)]
    lines = [line for line in block.splitlines() if line and not line.startswith("--")]
    return [line.rstrip(";") for line in lines]


def queries() -> dict[str, str]:
    """The timeline queries, by what they answer."""
    found = re.findall(r"```sqlite\n(.*?)```", section(), flags=re.S)
    names = ["joined", "talk", "hold", "moderator"]
    assert len(found) == len(names)
    return dict(zip(names, found, strict=True))


def run(conn: driver.Connection, sql: str) -> list[dict[str, Any]]:
    cur = conn.cursor().execute(sql)
    assert cur.description is not None
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


@pytest.fixture
def listen_sandbox(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`confsql listen --sandbox` as a process; yields its URL and database."""
    events_db, log = tmp_path / "confsql-events.db", tmp_path / "listen.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "driver", "listen", "--sandbox", "--port", "0",
             "--events-db", str(events_db)],
            stderr=out,
            stdout=subprocess.DEVNULL,
            env=os.environ.copy(),
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 20
        while not (found := re.findall(r"receiving on (http://\S+)", log.read_text())):
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        assert httpx.get(found[0] + "/healthz").status_code == 200
        yield found[0], events_db
    finally:
        proc.kill()
        proc.wait(10)


def test_walkthrough_on_the_sandbox(listen_sandbox: tuple[str, Path]) -> None:
    url, events_db = listen_sandbox
    with driver.connect(f"Provider=Sandbox;EventsDb={events_db}") as conn:
        for statement in calls():
            conn.cursor().execute(statement.replace("http://127.0.0.1:8080", url))
        assert sandbox_emulator().callbacks.drain()
        sql = queries()
        joined = run(conn, sql["joined"])
        assert [(r["FriendlyName"], r["Label"]) for r in joined] == [
            ("timeline-demo", "ana"),
            ("timeline-demo", "ben"),
        ]
        assert run(conn, sql["talk"]) == []  # the sandbox has no audio
        held = run(conn, sql["hold"])
        assert [(r["Label"], r["Holds"]) for r in held] == [("ben", 1)]
        ended = run(conn, sql["moderator"])
        assert [(r["FriendlyName"], r["EndedBy"], r["ReasonConferenceEnded"]) for r in ended] == [
            ("timeline-demo", "ana", "participant-with-end-conference-on-exit-kicked")
        ]


def test_walkthrough_on_the_jambonz_sandbox(listen_sandbox: tuple[str, Path]) -> None:
    """The same walkthrough on Provider=Jambonz;Sandbox=true: hooks and events over real HTTP."""
    url, events_db = listen_sandbox
    statements = calls("Jambonz")
    assert statements[:2] == [s.split(", ConferenceStatusCallback")[0] for s in calls()[:2]]
    dsn = f"Provider=Jambonz;Sandbox=true;EventsDb={events_db};WebhookUrl={url}"
    with driver.connect(dsn) as conn:
        listed: list[tuple[Any, ...]] = []
        for statement in statements:
            answer = conn.cursor().execute(statement).fetchall()
            if statement.startswith("SELECT"):  # no waiting: the sandbox settles each EXEC
                listed = answer
        assert sorted(listed) == [("ana", "connected"), ("ben", "connected")]
        sql = queries()
        joined = run(conn, sql["joined"])
        assert [(r["FriendlyName"], r["Label"]) for r in joined] == [
            ("timeline-demo", "ana"),
            ("timeline-demo", "ben"),
        ]
        assert run(conn, sql["talk"]) == []  # the sandbox has no audio
        held = run(conn, sql["hold"])
        assert [(r["Label"], r["Holds"]) for r in held] == [("ben", 1)]
        ended = run(conn, sql["moderator"])
        assert [(r["FriendlyName"], r["EndedBy"], r["ReasonConferenceEnded"]) for r in ended] == [
            ("timeline-demo", "ana", "participant-with-end-conference-on-exit-left")
        ]


class SteppedClock:
    """A clock the test moves forward."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 2, 9, 0, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def step(self, seconds: int) -> None:
        self.now += timedelta(seconds=seconds)


def test_queries_on_a_known_timeline(connect: Connect, emu: Emulator, tmp_path: Path) -> None:
    from driver.emulator import DEMO_AUTH_TOKEN
    from driver.events import ReceiverConfig, Secrets

    clock = SteppedClock()
    emu.clock = clock
    config = ReceiverConfig("", str(tmp_path / "e.db"), Secrets(twilio=(DEMO_AUTH_TOKEN,)))
    with ReceiverServer(config) as receiver:
        conn = connect(EventsDb=config.events_db)
        hook = receiver.url + "/twilio"

        def add(room: str, label: str, moderator: bool = False) -> str:
            cur = conn.cursor().execute(
                f"EXEC AddParticipants ConferenceSid = '{room}', From = '+15550100', "
                f"To = '+15550199', Label = '{label}', EndConferenceOnExit = {int(moderator)}, "
                f"ConferenceStatusCallback = '{hook}', "
                "ConferenceStatusCallbackEvent = 'start end join leave mute hold speaker'"
            )
            return str(cur.fetchone()[1])

        def hold(room: str, label: str, on: bool) -> None:
            conn.cursor().execute(
                f"EXEC ModifyParticipants ConferenceSid = '{room}', CallSid = '{label}', "
                f"Hold = {int(on)}"
            )

        ana = add("review", "ana", moderator=True)
        ben = add("review", "ben")
        emu.advance(2)
        clock.step(5)
        emu.speech(ana, speaking=True)
        clock.step(12)
        emu.speech(ana, speaking=False)
        clock.step(3)
        emu.speech(ben, speaking=True)
        clock.step(4)
        emu.speech(ben, speaking=False)
        emu.speech(ben, speaking=True)  # never stopped: not counted
        hold("review", "ben", True)
        clock.step(30)
        hold("review", "ben", False)
        clock.step(10)
        hold("review", "ben", True)
        clock.step(7)
        emu.hang_up(ana)  # the moderator leaves while ben is on hold: ends it
        # another conference ends by its last participant leaving: not a moderator ending
        cy = add("casual", "cy")
        emu.advance(2)
        clock.step(20)
        emu.hang_up(cy)
        assert emu.callbacks.drain()

        assert_known_timeline(conn)


def test_queries_on_a_known_jambonz_timeline(
    wire_servers: dict[str, EmulatorServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same timeline on jambonz: its events, and the holds confsql reports, give the
    same answers (the emulator's clock, and the clock confsql stamps its reports with, are
    stepped together)."""
    from driver.emulator.wires import jambonz as wire
    from driver.events import ReceiverConfig, Secrets
    from driver.providers import jambonz

    running = wire_server(wire_servers, "jambonz")
    emu = running.emulator
    emu.reset()
    clock = SteppedClock()
    emu.clock = clock
    monkeypatch.setattr(jambonz, "now", clock)
    config = ReceiverConfig(
        "", str(tmp_path / "e.db"), Secrets(jambonz=(wire.DEMO_WEBHOOK_SECRET,))
    )
    with (
        ReceiverServer(config) as receiver,
        driver.connect(
            Provider="Jambonz",
            BaseUrl=running.base_url + "/v1",
            AccountSid=wire.DEMO_ACCOUNT,
            ApiKey=wire.DEMO_API_KEY,
            WebhookSecret=wire.DEMO_WEBHOOK_SECRET,
            WebhookUrl=receiver.url,
            EventsDb=config.events_db,
        ) as conn,
    ):

        def add(room: str, label: str, moderator: bool = False) -> str:
            cur = conn.cursor().execute(
                f"EXEC AddParticipants ConferenceSid = '{room}', From = '+15550100', "
                f"To = '+15550199', Label = '{label}', EndConferenceOnExit = {int(moderator)}"
            )
            return str(cur.fetchone()[1])

        def hold(room: str, label: str, on: bool) -> None:
            conn.cursor().execute(
                f"EXEC ModifyParticipants ConferenceSid = '{room}', CallSid = '{label}', "
                f"Hold = {int(on)}"
            )

        try:
            ana = add("review", "ana", moderator=True)
            ben = add("review", "ben")
            assert emu.wire.drain()
            clock.step(5)
            emu.wire.speech(ana, speaking=True)
            clock.step(12)
            emu.wire.speech(ana, speaking=False)
            clock.step(3)
            emu.wire.speech(ben, speaking=True)
            clock.step(4)
            emu.wire.speech(ben, speaking=False)
            clock.now += timedelta(milliseconds=1)
            emu.wire.speech(ben, speaking=True)  # never stopped: not counted
            hold("review", "ben", True)
            clock.step(30)
            hold("review", "ben", False)
            clock.step(10)
            hold("review", "ben", True)
            clock.step(7)
            emu.wire.hang_up(ana)  # the moderator leaves while ben is on hold: ends it
            assert emu.wire.drain()
            cy = add("casual", "cy")  # ends by its last participant leaving
            assert emu.wire.drain()
            clock.step(20)
            emu.wire.hang_up(cy)
            assert emu.wire.drain()

            assert_known_timeline(conn)
        finally:
            emu.reset()


def assert_known_timeline(conn: driver.Connection) -> None:
    """The README's four timeline queries give the known timeline's answers."""
    sql = queries()
    joined = run(conn, sql["joined"])
    assert sorted((r["FriendlyName"], r["Label"], r["JoinedAt"]) for r in joined) == [
        ("casual", "cy", "2026-03-02 09:01:11"),
        ("review", "ana", "2026-03-02 09:00:00"),
        ("review", "ben", "2026-03-02 09:00:00"),
    ]
    talk = run(conn, sql["talk"])
    assert [(r["Label"], r["TalkSeconds"]) for r in talk] == [("ana", 12), ("ben", 4)]
    held = run(conn, sql["hold"])
    assert [(r["Label"], r["Holds"], r["HeldSeconds"]) for r in held] == [("ben", 2, 37)]
    ended = run(conn, sql["moderator"])
    assert [
        (r["FriendlyName"], r["EndedBy"], r["Seconds"], r["ReasonConferenceEnded"]) for r in ended
    ] == [("review", "ana", 71, "participant-with-end-conference-on-exit-left")]
