"""Issue 14 A2: Python exits although a half-read cursor was dropped.

The three-line script from the issue runs in a fresh interpreter, once on the
sandbox and once over HTTP against an emulator served by the same process; it
must exit promptly, with status 0 and nothing on stderr (no "Exception
ignored ... Connection is busy in another thread").
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
EXIT_LIMIT = 15  # seconds; the script itself takes one or two

SANDBOX = """
import driver
conn = driver.connect("Provider=Sandbox")
sid = conn.cursor().execute("SELECT Sid FROM Conferences WHERE Status = 'in-progress'").fetchone()[0]
print(sid)
"""

OVER_HTTP = """
import driver
from driver.emulator import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, EmulatorServer
server = EmulatorServer().start()
server.emulator.seed_demo()
conn = driver.connect(BaseUrl=server.base_url, AccountSid=DEMO_ACCOUNT_SID, AuthToken=DEMO_AUTH_TOKEN)
sid = conn.cursor().execute("SELECT Sid FROM Conferences WHERE Status = 'in-progress'").fetchone()[0]
print(sid)
"""


@pytest.mark.parametrize("script", [SANDBOX, OVER_HTTP], ids=["sandbox", "http"])
def test_script_with_a_dropped_half_read_cursor_exits(script: str) -> None:
    try:
        done = subprocess.run(
            [sys.executable, "-c", script],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=EXIT_LIMIT,
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"the script printed {exc.stdout!r} but did not exit within {EXIT_LIMIT} s")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("CF"), done.stdout
    assert done.stderr == "", done.stderr
