"""Where S6's client time goes: 100,000 participants through fetchall, by layer.

The emulator runs in a process of its own (as in ``run.py``); this process runs
``SELECT * FROM Participants`` over 100 live conferences x 1,000 participants
``--runs`` times.  With ``--profile`` it samples itself with py-spy
(``pip install py-spy``) and prints the share of each layer: row building,
HTTP (httpx, httpcore, h11, anyio), JSON decoding, the event loop, the hand-off
to the cursor's thread, SQLite.  Not a test; it prints figures.

    .venv/bin/python benchmarks/profile_s6.py             # wall and CPU per run
    .venv/bin/python benchmarks/profile_s6.py --profile   # and the split by layer
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

SERVE = """
import time
from driver.emulator import Emulator, EmulatorServer
emu = Emulator()
emu.seed_bulk(conferences=100, participants_per=1000, status="in-progress")
print(EmulatorServer(emu).start().base_url, flush=True)
time.sleep(3600)
"""

# (layer, substrings of a frame's file that put it there), first match wins.
LAYERS = [
    ("JSON decoding (msgspec)", ("msgspec", "providers/listing.py", "orjson")),
    (
        "HTTP (httpx, httpcore, h11, anyio)",
        ("httpx", "httpcore", "h11", "anyio", "ssl.py", "driver/http.py", "driver/transport.py"),
    ),
    ("event loop", ("asyncio", "selectors", "uvloop", "driver/loop.py")),
    ("row building", ("driver/scan.py", "driver/values.py", "<string>")),
    # The calling frame here is this script's loop: fetchall's list building is charged to it.
    (
        "cursor (fetchall) and SQLite",
        ("driver/direct.py", "driver/dbapi.py", "driver/vtable.py", "apsw", "profile_s6.py"),
    ),
    ("hand-off between threads", ("threading.py", "queue.py")),
]


def run(runs: int) -> None:
    """Serve the data in a child process and read it ``runs`` times."""
    import driver
    from driver.emulator import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN

    server = subprocess.Popen([sys.executable, "-c", SERVE], stdout=subprocess.PIPE, text=True)
    try:
        assert server.stdout is not None
        base_url = server.stdout.readline().strip()
        conn = driver.connect(
            BaseUrl=base_url, AccountSid=DEMO_ACCOUNT_SID, AuthToken=DEMO_AUTH_TOKEN
        )
        conn.cursor().execute("SELECT * FROM Participants").fetchall()  # warm up
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(runs):
            rows = conn.cursor().execute("SELECT * FROM Participants").fetchall()
        wall, cpu = (time.perf_counter() - wall) / runs, (time.process_time() - cpu) / runs
        print(
            f"{len(rows):,} rows: {wall * 1000:.0f} ms wall, {cpu * 1000:.0f} ms client CPU per "
            f"run ({len(rows) / wall:,.0f} rows/s), mean of {runs} runs"
        )
    finally:
        server.kill()


def layer(frame: str) -> str:
    for name, needles in LAYERS:
        if any(n in frame for n in needles):
            return name
    return "other"


def profile(runs: int) -> None:
    """Sample a run of this script with py-spy; print each layer's share of the samples."""
    spy = shutil.which("py-spy") or os.path.join(os.path.dirname(sys.executable), "py-spy")
    if not os.path.exists(spy):
        sys.exit("py-spy is not installed: pip install py-spy")
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "s6.raw")
        command = [spy, "record", "-r", "997", "--format", "raw", "-o", raw, "--"]
        subprocess.run([*command, sys.executable, __file__, "--runs", str(runs)], check=True)
        counts: collections.Counter[str] = collections.Counter()
        with open(raw, encoding="utf-8") as samples:
            for line in samples:
                stack, _, n = line.rstrip().rpartition(" ")
                frames = stack.split(";")
                if any("_find_and_load" in f or "seed_bulk" in f for f in frames):
                    continue  # imports and set-up, not the reads
                # A builtin has no file: charge it to the nearest frame that has one.
                located = [f for f in frames if re.search(r"\.py:\d+\)|<string>", f)]
                counts[layer(located[-1] if located else frames[-1])] += int(n)
    total = sum(counts.values())
    for name, n in counts.most_common():
        print(f"{100 * n / total:5.1f} %  {name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--profile", action="store_true", help="sample with py-spy")
    args = parser.parse_args()
    if args.profile:
        profile(args.runs)
    else:
        run(args.runs)


if __name__ == "__main__":
    main()
