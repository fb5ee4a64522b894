"""Soak sizes and seeds: a bounded default for CI, overridable by environment variables.

``SOAK_SEED``     base seed (default 14); every statement derives its own from it.
``SOAK_EXECS``    EXECs in the write soak (default 80, over all threads).
``SOAK_READS``    statements in the read soak (default 30; the sequential setting runs half).
``SOAK_THREADS``  write-soak threads, one connection each (default 2).
``SOAK_DURATION`` seconds per soak; when set, a soak runs until then instead of
                  stopping at its count.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace

DEFAULT_SEED = 14


@dataclass(frozen=True)
class SoakConfig:
    """How long and how wide one soak runs."""

    seed: int = DEFAULT_SEED
    execs: int = 80
    reads: int = 30
    threads: int = 2
    duration: float | None = None  # seconds; overrides the counts when given

    def with_duration(self, seconds: float | None) -> SoakConfig:
        """The same settings, run for ``seconds`` instead of a count."""
        return replace(self, duration=seconds)


def from_env(environ: os._Environ[str] | dict[str, str] | None = None) -> SoakConfig:
    """The settings given by ``SOAK_*`` variables (defaults otherwise)."""
    env = os.environ if environ is None else environ
    duration = env.get("SOAK_DURATION")
    return SoakConfig(
        seed=int(env.get("SOAK_SEED", DEFAULT_SEED)),
        execs=int(env.get("SOAK_EXECS", 80)),
        reads=int(env.get("SOAK_READS", 30)),
        threads=int(env.get("SOAK_THREADS", 2)),
        duration=float(duration) if duration else None,
    )
