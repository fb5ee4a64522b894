"""The httpx transport of a connection's pools: httpx's own, reading in large chunks.

httpcore asks its network stream for at most 64 KiB per read.  A page of 1,000
participants is about 600 KB, so reading one took a dozen trips through the
read path (httpcore, h11, anyio: a timeout scope, pausing and resuming the
socket, splitting the larger chunk the event loop had already received and
copying the rest back), about a tenth of a large scan's CPU.  Here each read
asks for up to :data:`READ_SIZE` bytes and gets whatever has arrived, so a
page takes a few reads.  Nothing else changes: it is httpx's transport with
httpcore's own backend inside, so TLS, HTTP/2, timeouts and errors behave as
before.

httpx does not expose the pool's network backend, so :func:`transport` sets it
on the pool httpx built (a private attribute).  If a later httpx or httpcore
arranges this differently, the transport is left as it is (correct, just
slower); ``tests/test_transport.py`` notices.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable
from typing import Any

import httpcore
import httpx

READ_SIZE = 1 << 20  # bytes asked for per read; a read returns what has arrived, up to this


class LargeReads(httpcore.AsyncNetworkBackend):
    """A network backend whose streams read up to :data:`READ_SIZE` bytes at a time."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self.inner = inner

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self.inner.connect_tcp(host, port, timeout, local_address, socket_options)
        return LargeReadStream(stream)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[Any] | None = None
    ) -> httpcore.AsyncNetworkStream:
        stream = await self.inner.connect_unix_socket(path, timeout, socket_options)
        return LargeReadStream(stream)

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class LargeReadStream(httpcore.AsyncNetworkStream):
    """A network stream that asks for at least :data:`READ_SIZE` bytes per read."""

    def __init__(self, inner: httpcore.AsyncNetworkStream) -> None:
        self.inner = inner

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return await self.inner.read(max(max_bytes, READ_SIZE), timeout)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self.inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def start_tls(
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await self.inner.start_tls(ssl_context, server_hostname, timeout)
        return LargeReadStream(stream)

    def get_extra_info(self, info: str) -> Any:
        return self.inner.get_extra_info(info)


def transport(limits: httpx.Limits, http2: bool) -> httpx.AsyncHTTPTransport:
    """httpx's transport as ``httpx.AsyncClient(limits=..., http2=...)`` would build it,
    with :class:`LargeReads` around its pool's network backend."""
    built = httpx.AsyncHTTPTransport(limits=limits, http2=http2)
    pool = getattr(built, "_pool", None)
    backend = getattr(pool, "_network_backend", None)
    if isinstance(pool, httpcore.AsyncConnectionPool) and isinstance(
        backend, httpcore.AsyncNetworkBackend
    ):
        pool._network_backend = LargeReads(backend)
    return built


def reads_large(built: httpx.AsyncBaseTransport) -> bool:
    """Whether ``built`` reads through :class:`LargeReads` (for tests)."""
    pool = getattr(built, "_pool", None)
    return isinstance(getattr(pool, "_network_backend", None), LargeReads)
