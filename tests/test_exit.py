"""Scripts that leave cursors half-read still exit promptly and quietly (issue 14, A2 and D).

Each script runs in a fresh interpreter: it must exit on its own within the
timeout, with status 0 and nothing on stderr (no "Task was destroyed but it
is pending", no "Exception ignored", no "aclose(): asynchronous generator is
already running").
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

SANDBOX = """
import driver
conn = driver.connect("Provider=Sandbox")
sid = conn.cursor().execute("SELECT Sid FROM Conferences WHERE Status = 'in-progress'").fetchone()[0]
print(sid)
"""

HTTP = """
import driver
from driver.emulator import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, Emulator, EmulatorServer
emu = Emulator(latency=0.02)
for i in range(30):
    sid = str(emu.create_conference(f"room {i}", "in-progress")["sid"])
    emu.add_participant(sid, status="connected")
server = EmulatorServer(emu).__enter__()
conn = driver.connect(BaseUrl=server.base_url, AccountSid=DEMO_ACCOUNT_SID, AuthToken=DEMO_AUTH_TOKEN)
print(conn.cursor().execute("SELECT Sid FROM Conferences WHERE Status = 'in-progress'").fetchone()[0])
print(conn.cursor().execute("SELECT * FROM Participants").fetchone()[0])
join = "SELECT c.Sid, p.CallSid FROM Conferences c JOIN Participants p ON p.ConferenceSid = c.Sid"
kept = conn.cursor().execute(join)
print(kept.fetchone()[0])
"""

MANY_DROPPED = """
import driver
conn = driver.connect("Provider=Sandbox")
for _ in range(200):
    conn.cursor().execute("SELECT * FROM Participants").fetchone()
    conn.cursor().execute("SELECT c.Sid FROM Conferences c JOIN Participants p ON p.ConferenceSid = c.Sid").fetchone()
print("done")
"""


@pytest.mark.parametrize("script", [SANDBOX, HTTP, MANY_DROPPED], ids=["sandbox", "http", "many"])
def test_script_with_half_read_cursors_exits(script: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    assert done.stderr == ""
