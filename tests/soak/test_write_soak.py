"""The bounded write soak (CI): see :mod:`tests.soak.writes` for what is checked."""

from __future__ import annotations

from driver.emulator import Emulator, EmulatorServer

from . import config, writes


def test_write_soak(server: EmulatorServer, emu: Emulator) -> None:
    summary = writes.run(emu, server.base_url, config.from_env())
    assert summary.total_defects == 0, summary.render()
