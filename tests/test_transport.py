"""The connection's httpx transport reads the socket in large chunks (driver.transport)."""

from __future__ import annotations

import asyncio
import ssl
from typing import Any

import httpcore

import driver
from driver.emulator import Emulator
from driver.transport import READ_SIZE, LargeReadStream, reads_large
from tests.conftest import Connect


class _Stream(httpcore.AsyncNetworkStream):
    def __init__(self) -> None:
        self.asked: list[int] = []

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        self.asked.append(max_bytes)
        return b"x"

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return _Stream()

    def get_extra_info(self, info: str) -> Any:
        return info


def test_reads_ask_for_at_least_read_size() -> None:
    inner = _Stream()
    stream = LargeReadStream(inner)
    asyncio.run(stream.read(65536))
    asyncio.run(stream.read(4 * READ_SIZE))
    assert inner.asked == [READ_SIZE, 4 * READ_SIZE]
    assert stream.get_extra_info("peer") == "peer"
    tls = asyncio.run(stream.start_tls(ssl.create_default_context()))
    assert isinstance(tls, LargeReadStream)  # a TLS stream reads large too


def test_the_connection_pools_read_large(connect: Connect, emu: Emulator) -> None:
    """If an httpx/httpcore upgrade moves the pool's backend, this says so (rows stay right)."""
    emu.seed_bulk(3, participants_per=1000, status="in-progress")  # pages of ~600 KB
    conn: driver.Connection = connect()
    rows = conn.cursor().execute("SELECT * FROM Participants").fetchall()
    assert len(rows) == 3000
    pools = conn.session.client._clients
    assert pools and all(reads_large(p._transport) for p in pools)
