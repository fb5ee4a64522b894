"""Run a receiver with uvicorn: in the foreground (``confsql listen``) or on a thread.

:class:`ReceiverServer` serves from a daemon thread on 127.0.0.1, for tests and Python
walkthroughs; the command line uses :func:`serve` in its main thread.
"""

from __future__ import annotations

import socket
import threading
import time
from dataclasses import replace
from types import TracebackType
from typing import Self

import uvicorn

from .app import create_app
from .config import ReceiverConfig
from .store import EventStore
from .writer import BatchWriter

STARTUP_TIMEOUT = 5.0


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket (port 0: any free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(1024)
    except OSError:
        sock.close()
        raise
    return sock


def local_url(sock: socket.socket) -> str:
    """``http://host:port`` of a bound socket."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def uvicorn_server(config: ReceiverConfig, writer: BatchWriter, log_level: str) -> uvicorn.Server:
    """A uvicorn server for the receiver app (no access log: the app logs rejections)."""
    settings = uvicorn.Config(
        create_app(config, writer),
        lifespan="off",
        log_config=None,
        log_level=log_level,
        access_log=False,
        timeout_graceful_shutdown=2,
    )
    return uvicorn.Server(settings)


class ReceiverServer:
    """A receiver on a daemon thread; ``webhook_url`` defaults to its own local URL.

    >>> with ReceiverServer(events_db="events.db", twilio=["token"]) as receiver:  # doctest: +SKIP
    ...     receiver.url + "/twilio"
    """

    def __init__(
        self,
        config: ReceiverConfig,
        host: str = "127.0.0.1",
        port: int = 0,
        log_level: str = "warning",
    ) -> None:
        self.config = config
        self.host, self.port = host, port
        self._log_level = log_level
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._writer: BatchWriter | None = None
        self.url = ""

    def start(self) -> Self:
        """Open the events database, bind, serve, and wait until requests are answered."""
        if self._server is not None:
            return self
        sock = bind(self.host, self.port)
        self.port = sock.getsockname()[1]
        self.url = local_url(sock)
        if not self.config.webhook_url:
            self.config = replace(self.config, webhook_url=self.url)
        try:
            writer = BatchWriter(EventStore(self.config.events_db))
        except Exception:
            sock.close()
            raise
        server = uvicorn_server(self.config, writer, self._log_level)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="confsql-listen", daemon=True
        )
        self._server, self._thread, self._writer = server, thread, writer
        thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                sock.close()
                raise RuntimeError("the receiver failed to start")
            time.sleep(0.002)
        return self

    def stop(self) -> None:
        """Stop serving and close the events database."""
        server, thread, writer = self._server, self._thread, self._writer
        self._server = self._thread = self._writer = None
        if server is not None and thread is not None:
            server.should_exit = True
            thread.join(STARTUP_TIMEOUT)
            if thread.is_alive():
                server.force_exit = True
                thread.join(STARTUP_TIMEOUT)
        if writer is not None:
            writer.close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
