"""The bounded read soak (CI): see :mod:`tests.soak.reads` for what is checked."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from driver.emulator import Emulator, EmulatorServer

from . import config, reads

# (latency, share of SOAK_READS, connection properties): 20 ms keeps a fan-out's requests
# in flight when a LIMIT is met; sequential requests need less to stay affordable.
SETTINGS = [(0.02, 1.0, {}), (0.002, 0.5, {"MaxConcurrency": 1})]


@pytest.mark.parametrize(("latency", "share", "props"), SETTINGS, ids=["defaults", "sequential"])
def test_read_soak(
    server: EmulatorServer, emu: Emulator, latency: float, share: float, props: dict[str, Any]
) -> None:
    settings = config.from_env()
    settings = dataclasses.replace(settings, reads=max(1, round(settings.reads * share)))
    summary = reads.run(emu, server.base_url, settings, latency, **props)
    assert summary.total_defects == 0, summary.render()
