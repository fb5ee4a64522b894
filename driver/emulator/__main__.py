"""``python -m driver.emulator``: serve the emulator until Ctrl-C."""

from __future__ import annotations

import argparse
import time

from .emulator import Emulator
from .server import EmulatorServer
from .sids import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command-line options."""
    parser = argparse.ArgumentParser(prog="python -m driver.emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    parser.add_argument(
        "--latency-ms", type=float, default=0.0, help="delay added to every request"
    )
    parser.add_argument("--seed-demo", action="store_true", help="add the demo conferences")
    parser.add_argument(
        "--conferences", type=int, default=0, help="bulk-seed this many conferences"
    )
    parser.add_argument(
        "--participants-per", type=int, default=0, help="participants per bulk conference"
    )
    parser.add_argument(
        "--status",
        default="completed",
        choices=("init", "in-progress", "completed"),
        help="bulk conference status",
    )
    parser.add_argument(
        "--no-auto-advance", action="store_true", help="only advance state from Python"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    """Build, seed and serve an emulator."""
    args = parse_args(argv)
    emulator = Emulator(auto_advance=not args.no_auto_advance, latency=args.latency_ms / 1000)
    if args.seed_demo:
        emulator.seed_demo()
    if args.conferences:
        emulator.seed_bulk(args.conferences, args.participants_per, args.status)
    with EmulatorServer(emulator, host=args.host, port=args.port) as server:
        print(f"confsql emulator at {server.base_url}")
        print(f"  AccountSid {DEMO_ACCOUNT_SID}")
        print(f"  AuthToken  {DEMO_AUTH_TOKEN}")
        print("Ctrl-C to stop.", flush=True)
        try:
            while True:
                time.sleep(1)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
