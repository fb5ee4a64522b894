"""The long soak: ``python -m tests.soak --duration 600 --threads 4`` (or ``make soak``).

Serves an emulator on 127.0.0.1, then runs the write soak (``--threads``
connections) for 40 % of ``--duration``, and the read soak on one shared
connection for the rest: 50 % with default properties, 10 % with
MaxConcurrency=1; with ``--only`` that soak gets all of ``--duration``.
Prints each summary and a total; exits 1 if any defect was found.  Without
``--duration`` it runs the bounded CI sizes (see :mod:`tests.soak.config`).
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

from driver.emulator import Emulator, EmulatorServer

from . import config, reads, writes
from .summary import DEFECTS, Summary

SHARES = {"write": 0.4, "read": 0.5, "read sequential": 0.1}


def main(argv: list[str] | None = None) -> int:
    defaults = config.from_env()
    parser = argparse.ArgumentParser(
        prog="python -m tests.soak", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--duration", type=float, default=defaults.duration, help="seconds in all")
    parser.add_argument("--threads", type=int, default=defaults.threads, help="write-soak threads")
    parser.add_argument("--seed", type=int, default=defaults.seed, help="base seed")
    parser.add_argument("--only", choices=["writes", "reads"], help="run one soak only")
    args = parser.parse_args(argv)
    settings = config.SoakConfig(
        seed=args.seed, execs=defaults.execs, reads=defaults.reads, threads=args.threads
    )

    def share(name: str) -> config.SoakConfig:
        """The soak's part of --duration (all of it, split among the soaks that run)."""
        running = [k for k in SHARES if args.only is None or k.startswith(args.only[:-1])]
        part = SHARES[name] / sum(SHARES[k] for k in running)
        seconds = None if args.duration is None else args.duration * part
        return settings.with_duration(seconds)

    summaries: list[Summary] = []
    with EmulatorServer(Emulator()) as server:
        emu = server.emulator
        if args.only != "reads":
            summaries.append(writes.run(emu, server.base_url, share("write")))
            print(summaries[-1].render(), flush=True)
            emu.reset()
        if args.only != "writes":
            summaries.append(reads.run(emu, server.base_url, share("read"), 0.02))
            print(summaries[-1].render(), flush=True)
            emu.reset()
            sequential = share("read sequential")
            if args.duration is None:  # the CI sizes: half as many sequential reads
                sequential = dataclasses.replace(sequential, reads=max(1, settings.reads // 2))
            summaries.append(reads.run(emu, server.base_url, sequential, 0.002, MaxConcurrency=1))
            print(summaries[-1].render(), flush=True)
    total = Summary("all", args.seed)
    for summary in summaries:
        total.merge(summary)
    faults = sum(total.faults.values())
    print(
        f"\nTOTAL seed {args.seed}: {total.statements} statements, {faults} faults fired, "
        + ", ".join(f"{k} {total.defects.get(k, 0)}" for k in DEFECTS)
    )
    return 1 if total.total_defects else 0


if __name__ == "__main__":
    sys.exit(main())
