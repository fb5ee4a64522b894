"""Killing `confsql listen` (SIGKILL) loses no acknowledged event and duplicates none.

The receiver runs as a real subprocess; the burst is 1,000 concurrent signed callbacks.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

import driver
from driver.events.signatures import twilio_signature

from .conftest import TWILIO_TOKEN, twilio_form

BURST = 1000
IN_FLIGHT = 64
READY = re.compile(r"receiving on (http://\S+)")


class Listener:
    """`python -m driver listen` on a free port, storing in ``events_db``."""

    def __init__(self, events_db: Path, log: Path) -> None:
        self.events_db = events_db
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> str:
        env = {**os.environ, "TWILIO_AUTH_TOKEN": TWILIO_TOKEN}
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "driver", "listen", "--port", "0",
                 "--events-db", str(self.events_db), "--log-level", "warning"],
                stdout=subprocess.DEVNULL,
                stderr=out,
                env=env,
            )  # fmt: skip
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            found = READY.findall(self.log.read_text())
            if found and self.proc.poll() is None:
                self.url = found[-1]
                if httpx.get(self.url + "/healthz").status_code == 200:
                    return self.url
            assert self.proc.poll() is None, self.log.read_text()
            time.sleep(0.05)
        raise AssertionError("confsql listen did not start:\n" + self.log.read_text())

    def kill(self) -> None:
        """kill -9: no shutdown code runs."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def restart(self) -> str:
        self.log.write_text("")
        return self.start()


@pytest.fixture
def listener(tmp_path: Path) -> Iterator[Listener]:
    running = Listener(tmp_path / "events.db", tmp_path / "listen.log")
    yield running
    running.kill()


def form(n: int) -> dict[str, str]:
    return twilio_form(n, "participant-join", CallSid=f"CA{n:032x}")


def post(url: str, n: int) -> httpx.Response:
    fields = form(n)
    signature = twilio_signature(TWILIO_TOKEN, url + "/twilio", list(fields.items()))
    return httpx.post(url + "/twilio", data=fields, headers={"X-Twilio-Signature": signature})


def recorded(events_db: Path) -> list[int]:
    """SequenceNumbers in the table, read through the DB-API (duplicates would show)."""
    with driver.connect(f"Provider=Sandbox;EventsDb={events_db}") as conn:
        rows = conn.cursor().execute("SELECT SequenceNumber FROM ConferenceEvents").fetchall()
    return sorted(r[0] for r in rows)


async def _burst(listener: Listener, kill_after: int | None) -> tuple[dict[int, str], int]:
    """Send BURST events at once: IN_FLIGHT workers, each with its own keep-alive connection.

    With ``kill_after``, kill -9 the receiver as soon as that many were answered 2xx.
    Returns the answer's status ("stored"/"duplicate") of each acknowledged event, and how
    many requests failed.  (One client per worker: httpx's shared pool costs more CPU per
    request than the receiver does, at this concurrency.)
    """
    url = listener.url + "/twilio"
    acked: dict[int, str] = {}
    failures = 0
    todo = iter(range(1, BURST + 1))

    async def worker() -> None:
        nonlocal failures
        async with httpx.AsyncClient(timeout=15) as client:
            for n in todo:
                fields = form(n)
                signature = twilio_signature(TWILIO_TOKEN, url, list(fields.items()))
                try:
                    response = await client.post(
                        url, data=fields, headers={"X-Twilio-Signature": signature}
                    )
                except httpx.HTTPError:
                    failures += 1
                    continue
                if not response.is_success:
                    failures += 1
                    continue
                acked[n] = response.json()["status"]
                if len(acked) == kill_after:
                    listener.kill()

    await asyncio.gather(*(worker() for _ in range(IN_FLIGHT)))
    return acked, failures


def test_kill_mid_burst_loses_nothing_acknowledged(listener: Listener) -> None:
    listener.start()
    acked, failures = asyncio.run(_burst(listener, kill_after=300))
    assert len(acked) >= 300 and failures > 0, (len(acked), failures)  # killed mid-burst
    listener.restart()
    stored = recorded(listener.events_db)
    assert len(stored) == len(set(stored))  # none twice
    assert set(acked) <= set(stored)  # every 2xx is there
    # the provider redelivers everything it has no 2xx for (and some it has): stored once
    again, failures = asyncio.run(_burst(listener, kill_after=None))
    assert failures == 0 and len(again) == BURST
    assert list(again.values()).count("stored") == BURST - len(stored)
    assert recorded(listener.events_db) == list(range(1, BURST + 1))


def test_kill_between_requests(listener: Listener) -> None:
    url = listener.start()
    for n in range(1, 21):
        assert post(url, n).status_code == 200
    listener.kill()
    url = listener.restart()
    assert recorded(listener.events_db) == list(range(1, 21))
    assert post(url, 21).json()["status"] == "stored"
    assert post(url, 5).json()["status"] == "duplicate"
    listener.kill()
    listener.restart()
    assert recorded(listener.events_db) == list(range(1, 22))
