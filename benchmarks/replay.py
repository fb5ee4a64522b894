"""A caching reverse proxy in front of the emulator, for client-CPU figures.

The emulator renders every participant in Python on one event loop, which
caps how fast it can serve (roughly 100k participants/s on a small VM).  To
measure the *client's* throughput, :class:`ReplayServer` forwards each
request to the emulator once, keeps successful GET responses in memory, and
answers repeats from that cache.  Bodies carry relative ``next_page_uri``
values, so paging keeps going through the proxy.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import httpx
import uvicorn

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
Cached = tuple[int, bytes, bytes]  # status, content type, body


class ReplayApp:
    """ASGI app: GET responses cached by (path, query); everything else forwarded."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.cache: dict[tuple[str, bytes], Cached] = {}
        self.hits = 0
        self.misses = 0
        self._client: httpx.AsyncClient | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        method = scope["method"]
        raw_path = scope.get("raw_path") or scope["path"].encode()
        key = (raw_path.decode("latin-1"), scope.get("query_string", b""))
        cached = self.cache.get(key) if method == "GET" else None
        if cached is None:
            self.misses += 1
            cached = await self._forward(scope, key, body)
            if method == "GET" and cached[0] == 200:
                self.cache[key] = cached
        else:
            self.hits += 1
        status, content_type, content = cached
        headers = [(b"content-type", content_type), (b"content-length", b"%d" % len(content))]
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": content})

    async def _forward(self, scope: Scope, key: tuple[str, bytes], body: bytes) -> Cached:
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=60)
        path, query = key
        url = self.upstream + path + (("?" + query.decode("latin-1")) if query else "")
        keep = {b"authorization", b"content-type", b"accept"}
        headers = [(k.decode(), v.decode()) for k, v in scope["headers"] if k.lower() in keep]
        response = await self._client.request(scope["method"], url, headers=headers, content=body)
        content_type = response.headers.get("content-type", "application/json").encode()
        return response.status_code, content_type, response.content


class ReplayServer:
    """Serve a :class:`ReplayApp` with uvicorn on 127.0.0.1 from a daemon thread."""

    def __init__(self, upstream: str) -> None:
        self.app = ReplayApp(upstream)
        self.port = 0
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ReplayServer:
        """Bind an ephemeral port and wait until uvicorn accepts connections."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app, lifespan="off", log_config=None, log_level="warning", access_log=False
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="bench-replay", daemon=True
        )
        self._server, self._thread = server, thread
        thread.start()
        deadline = time.monotonic() + 5
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("replay server failed to start")
            time.sleep(0.002)
        return self

    def stop(self) -> None:
        """Ask uvicorn to exit and wait for its thread."""
        if self._server is None or self._thread is None:
            return
        self._server.should_exit = True
        self._thread.join(3)
        if self._thread.is_alive():
            self._server.force_exit = True
            self._thread.join(3)
        self._server = self._thread = None
