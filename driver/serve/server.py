"""The listening socket: one thread per client, the cancel-key registry, clean shutdown.

A thread per client keeps each confsql connection on one thread (the DB-API's
threadsafety is 1) while clients run concurrently; the HTTP work of all of
them shares confsql's one I/O loop.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import secrets
import socket
import ssl
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from . import wire
from .client import Client, Login, Policy
from .sqlstate import TOO_MANY_CONNECTIONS

log = logging.getLogger("confsql.serve")


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class ServerConfig:
    """Everything the server needs, already validated (see :mod:`driver.serve.cli`)."""

    host: str
    port: int
    logins: Callable[[str], Login | None]
    tls: ssl.SSLContext | None = None
    require_tls: bool = False
    read_only: bool = False
    max_clients: int = 100
    notes: list[str] = field(default_factory=list)


class Server(Policy):
    """A Postgres-protocol server in front of confsql."""

    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.tls = config.tls
        self.require_tls = config.require_tls
        self.read_only = config.read_only
        self._clients: dict[int, Client] = {}
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()

    # --- Policy --------------------------------------------------------------------------

    def login(self, user: str) -> Login | None:
        """The login for ``user``."""
        return self.config.logins(user)

    def register(self, client: Client) -> tuple[int, int]:
        """A fresh (process id, secret) pair for the client's BackendKeyData."""
        with self._lock:
            while True:
                pid = secrets.randbelow(2**31 - 1) + 1
                if pid not in self._clients:
                    break
            self._clients[pid] = client
        return pid, secrets.randbits(32)

    def unregister(self, client: Client) -> None:
        """Forget a client that is gone."""
        with self._lock:
            if self._clients.get(client.process_id) is client:
                del self._clients[client.process_id]

    def cancel(self, process_id: int, secret: int) -> None:
        """Interrupt that client's statement; a wrong key is ignored (as Postgres does)."""
        with self._lock:
            client = self._clients.get(process_id)
        if client is not None and secrets.compare_digest(
            client.secret.to_bytes(4, "big"), (secret & 0xFFFFFFFF).to_bytes(4, "big")
        ):
            client.interrupt()

    @property
    def clients(self) -> Mapping[int, Client]:
        """Connected clients by process id (a snapshot)."""
        with self._lock:
            return dict(self._clients)

    # --- listening -----------------------------------------------------------------------

    def start(self) -> tuple[str, int]:
        """Bind and start accepting in a daemon thread; returns the bound (host, port)."""
        family = socket.AF_INET6 if ":" in self.config.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.config.host.strip("[]"), self.config.port))
        sock.listen(128)
        self._sock = sock
        host, port = sock.getsockname()[:2]
        self._thread = threading.Thread(target=self._accept, name="confsql-serve", daemon=True)
        self._thread.start()
        return str(host), int(port)

    def _accept(self) -> None:
        assert self._sock is not None
        active: list[threading.Thread] = []
        while not self._stopping.is_set():
            try:
                conn, address = self._sock.accept()
            except OSError:
                if self._stopping.is_set():
                    return
                continue
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            active = [t for t in active if t.is_alive()]
            if len(active) >= self.config.max_clients:
                _refuse(conn, "sorry, too many clients already")
                continue
            client = Client(conn, address, self)
            thread = threading.Thread(
                target=client.run, name=f"confsql-client-{address}", daemon=True
            )
            active.append(thread)
            thread.start()

    def serve_forever(self) -> None:
        """Block until :meth:`stop` (or Ctrl-C in the caller)."""
        self._stopping.wait()

    def stop(self) -> None:
        """Stop accepting, cancel running statements and close every client."""
        self._stopping.set()
        if self._sock is not None:
            # close() alone does not wake a thread blocked in accept(); shutdown() does.
            with contextlib.suppress(OSError):
                self._sock.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                self._sock.close()
        for client in self.clients.values():
            client.interrupt()
            with contextlib.suppress(OSError):
                client.sock.shutdown(socket.SHUT_RDWR)
        if self._thread is not None:
            self._thread.join(2)


def _refuse(conn: socket.socket, message: str) -> None:
    try:
        conn.settimeout(2)
        conn.sendall(wire.error_response(TOO_MANY_CONNECTIONS, message, severity="FATAL"))
    except OSError:
        pass
    finally:
        conn.close()
    log.warning("refused a client: %s", message)
