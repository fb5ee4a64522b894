"""One client connection, start to end: TLS and startup, authentication, then messages.

The simple query protocol ('Q', several statements allowed) and the extended
protocol (Parse/Bind/Describe/Execute/Sync/Close) share :class:`Portal`.  After
an error in the extended protocol, messages are skipped until Sync, as
Postgres does.  Output is buffered and sent at ReadyForQuery, Flush, or every
few hundred rows, so a large result streams without piling up in memory.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
import socket
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, BinaryIO

from .. import errors
from . import wire
from .backend import Account, Backend, Portal
from .pgtypes import decode_param
from .scram import MECHANISM, AuthFailed, ScramExchange, Verifier
from .split import split_statements
from .sqlstate import (
    FEATURE_NOT_SUPPORTED,
    INVALID_AUTHORIZATION,
    INVALID_CURSOR_NAME,
    INVALID_PASSWORD,
    INVALID_SQL_STATEMENT_NAME,
    PROTOCOL_VIOLATION,
    ServeError,
    classify,
)
from .statements import Prepared, prepare

log = logging.getLogger("confsql.serve")

STARTUP_TIMEOUT = 30.0
# Errors that end the connection; every other exception fails only its statement.
_PASS_THROUGH = (wire.ProtocolError, wire.Disconnected, OSError)
FLUSH_BYTES = 256 * 1024


@dataclass(frozen=True)
class Login:
    """How a user name is authenticated and which account it opens."""

    account: Account
    verifier: Verifier | None  # None: trusted (sandbox on loopback only)


class Policy:
    """What the server decides for every client: TLS, logins, read-only, cancel routing."""

    tls: ssl.SSLContext | None = None
    require_tls: bool = False
    read_only: bool = False

    def login(self, user: str) -> Login | None:
        """The login for ``user`` (None: unknown user)."""
        raise NotImplementedError

    def register(self, client: Client) -> tuple[int, int]:
        """Record a client for cancel requests; returns (process id, secret key)."""
        raise NotImplementedError

    def unregister(self, client: Client) -> None:
        """Forget a client."""
        raise NotImplementedError

    def cancel(self, process_id: int, secret: int) -> None:
        """Interrupt the statement of the client with this key (if it matches)."""
        raise NotImplementedError


class Fatal(Exception):
    """Ends the connection after sending a FATAL ErrorResponse."""

    def __init__(self, sqlstate: str, message: str) -> None:
        super().__init__(message)
        self.sqlstate = sqlstate
        self.message = message


class Client:
    """Serves one accepted socket until Terminate or disconnect."""

    def __init__(self, sock: socket.socket, address: Any, policy: Policy) -> None:
        self.sock: socket.socket = sock
        self.address = address
        self.policy = policy
        self.backend: Backend | None = None
        self.process_id = 0
        self.secret = secrets.randbits(32)
        self.statements: dict[str, Prepared] = {}
        self.portals: dict[str, Portal] = {}
        self._out = bytearray()
        self._stream: BinaryIO = sock.makefile("rb")
        self._skip_to_sync = False
        self._closing = threading.Event()

    # --- output ----------------------------------------------------------------------------

    def send(self, data: bytes) -> None:
        """Queue bytes; sent at the next flush (or now, past FLUSH_BYTES)."""
        self._out += data
        if len(self._out) >= FLUSH_BYTES:
            self.flush()

    def flush(self) -> None:
        """Send everything queued."""
        if self._out:
            data, self._out = bytes(self._out), bytearray()
            self.sock.sendall(data)

    def _error(self, exc: BaseException) -> None:
        sqlstate, message, hint = classify(exc)
        if sqlstate.startswith("XX"):
            log.exception("internal error serving %s", self.address, exc_info=exc)
        self.send(wire.error_response(sqlstate, message, hint=hint))

    # --- lifecycle ----------------------------------------------------------------------------

    def run(self) -> None:
        """Serve the connection; never raises."""
        try:
            self.sock.settimeout(STARTUP_TIMEOUT)
            login, params = self._startup()
            if login is None:
                return
            self.sock.settimeout(None)
            self._open(login, params)
            self._loop()
        except Fatal as exc:
            self._fatal(exc.sqlstate, exc.message)
        except wire.ProtocolError as exc:
            self._fatal(PROTOCOL_VIOLATION, str(exc))
        except (wire.Disconnected, OSError, ssl.SSLError):
            pass  # the client went away; nothing to tell it
        except Exception as exc:  # a bug: report it, keep the server up
            log.exception("unexpected error serving %s", self.address)
            self._fatal("XX000", f"internal error in confsql serve: {type(exc).__name__}")
        finally:
            self._cleanup()

    def _fatal(self, sqlstate: str, message: str) -> None:
        try:
            self._out.clear()
            self.send(wire.error_response(sqlstate, message, severity="FATAL"))
            self.flush()
        except OSError:
            pass

    def _cleanup(self) -> None:
        for portal in self.portals.values():
            with contextlib.suppress(errors.Error):
                portal.close()
        self.portals.clear()
        if self.process_id:
            self.policy.unregister(self)
        if self.backend is not None:
            log.info("%s: disconnected", self.address)
            try:
                self.backend.close()
            except errors.Error:
                log.warning("closing a client's confsql connection failed", exc_info=True)
            self.backend = None
        try:
            self._stream.close()
            self.sock.close()
        except OSError:
            pass

    def interrupt(self) -> None:
        """Cancel this client's running statement (from the cancel request's thread)."""
        backend = self.backend
        if backend is not None:
            backend.interrupt()

    # --- startup and authentication ------------------------------------------------------------

    def _startup(self) -> tuple[Login | None, dict[str, str]]:
        tls_done = False
        while True:
            msg = wire.read_startup(self._stream)
            if msg.code == wire.SSL_REQUEST and not tls_done:
                if self.policy.tls is None:
                    self.sock.sendall(b"N")
                    continue
                self.sock.sendall(b"S")
                self._stream.close()
                self.sock = self.policy.tls.wrap_socket(self.sock, server_side=True)
                self._stream = self.sock.makefile("rb")
                tls_done = True
                continue
            if msg.code == wire.GSSENC_REQUEST:
                self.sock.sendall(b"N")
                continue
            if msg.code == wire.CANCEL_REQUEST:
                r = wire.Reader(msg.body)
                self.policy.cancel(r.int32(), r.uint32())
                return None, {}
            if msg.code != wire.PROTOCOL_3:
                major, minor = msg.code >> 16, msg.code & 0xFFFF
                raise Fatal(FEATURE_NOT_SUPPORTED, f"unsupported frontend protocol {major}.{minor}")
            break
        if self.policy.require_tls and not tls_done:
            raise Fatal(
                INVALID_AUTHORIZATION,
                "this server accepts only TLS connections (use sslmode=require)",
            )
        params = wire.startup_parameters(msg.body)
        user = params.get("user", "")
        if not user:
            raise Fatal(
                INVALID_AUTHORIZATION, "no PostgreSQL user name specified in startup packet"
            )
        login = self.policy.login(user)
        self._authenticate(user, login)
        assert login is not None
        return login, params

    def _authenticate(self, user: str, login: Login | None) -> None:
        if login is not None and login.verifier is None:
            self.send(wire.auth_ok())
            return
        exchange = ScramExchange(login.verifier if login is not None else None)
        self.send(wire.auth_sasl([MECHANISM]))
        self.flush()
        failed = f'password authentication failed for user "{user}"'
        try:
            kind, payload = wire.read_message(self._stream)
            if kind != b"p":
                raise Fatal(PROTOCOL_VIOLATION, "expected a SASLInitialResponse")
            r = wire.Reader(payload)
            mechanism = r.cstring()
            size = r.int32()
            first = r.bytes(size) if size >= 0 else b""
            self.send(wire.auth_sasl_continue(exchange.server_first(mechanism, first)))
            self.flush()
            kind, payload = wire.read_message(self._stream)
            if kind != b"p":
                raise Fatal(PROTOCOL_VIOLATION, "expected a SASLResponse")
            final = exchange.server_final(payload)
        except AuthFailed:
            log.info("authentication failed for user %r from %s", user, self.address)
            raise Fatal(INVALID_PASSWORD, failed) from None
        self.send(wire.auth_sasl_final(final))
        self.send(wire.auth_ok())

    def _open(self, login: Login, params: dict[str, str]) -> None:
        user = params.get("user", "")
        try:
            self.backend = Backend(
                login.account,
                user,
                params.get("database") or user,
                params.get("application_name", ""),
                self.policy.read_only,
            )
        except errors.Error as exc:
            raise Fatal("08006", f"cannot open the confsql connection: {exc}") from None
        log.info("%s: connected as %r", self.address, user)
        for name, value in self.backend.settings.reported().items():
            self.send(wire.parameter_status(name, value))
        self.process_id, self.secret = self.policy.register(self)
        self.send(wire.backend_key_data(self.process_id, self.secret))
        self._ready()

    def _ready(self) -> None:
        status = self.backend.status if self.backend is not None else b"I"
        self.send(wire.ready_for_query(status))
        self.flush()

    # --- the message loop ------------------------------------------------------------------------

    def _loop(self) -> None:
        handlers: dict[bytes, Callable[[bytes], None]] = {
            b"Q": self._query,
            b"P": self._parse,
            b"B": self._bind,
            b"D": self._describe,
            b"E": self._execute,
            b"C": self._close,
            b"H": lambda _: self.flush(),
        }
        while True:
            kind, payload = wire.read_message(self._stream)
            if kind == b"X":
                return
            if kind == b"S":
                self._skip_to_sync = False
                self._end_of_transaction()
                self._ready()
                continue
            if kind in (b"d", b"c", b"f"):
                continue  # COPY data outside COPY: ignored, as Postgres does
            handler = handlers.get(kind)
            if handler is None:
                raise wire.ProtocolError(f"invalid frontend message type {kind!r}")
            if kind == b"Q":
                handler(payload)
                continue
            if self._skip_to_sync:
                continue
            try:
                handler(payload)
            except _PASS_THROUGH:
                raise
            except Exception as exc:
                self._error(exc)
                self._skip_to_sync = True

    def _end_of_transaction(self) -> None:
        """Outside a BEGIN block, Sync ends the implicit transaction: unnamed portals go."""
        backend = self.backend
        if backend is not None and backend.status == b"I":
            for name in [n for n in self.portals if n == ""]:
                self.portals.pop(name).close()

    # --- simple query ----------------------------------------------------------------------------

    def _query(self, payload: bytes) -> None:
        text = wire.decode_query(payload)
        statements = split_statements(text)
        if not statements:
            self.send(wire.EMPTY_QUERY)
        for sql in statements:
            portal: Portal | None = None
            try:
                prepared = prepare(sql)
                assert self.backend is not None
                portal = self.backend.open_portal(prepared, [], [])
                if prepared.kind == "session" and prepared.session is not None:
                    self._forget(prepared)
                portal.start()
                self._announce(portal)
                if portal.fields is not None:
                    self.send(wire.row_description(portal.fields))
                self._stream_rows(portal, 0)
            except _PASS_THROUGH:
                raise
            except Exception as exc:
                if portal is not None:
                    portal.close()
                self._error(exc)
                break
        self._ready()

    def _announce(self, portal: Portal) -> None:
        for notice in portal.notices:
            self.send(wire.notice_response("25P01", notice))
        for name, value in portal.status_changes:
            self.send(wire.parameter_status(name, value))

    def _stream_rows(self, portal: Portal, limit: int) -> None:
        """Send rows; CommandComplete at the end, PortalSuspended at the row limit."""
        if portal.prepared.kind == "empty":
            self.send(wire.EMPTY_QUERY)
            return
        while not portal.done:
            rows = portal.rows(limit)
            for row in rows:
                self.send(row)
            if limit > 0 and not portal.done and len(rows) >= limit:
                self.send(wire.PORTAL_SUSPENDED)
                return
        self.send(wire.command_complete(portal.tag))

    def _forget(self, prepared: Prepared) -> None:
        """DEALLOCATE and DISCARD ALL drop prepared statements."""
        cmd = prepared.session
        if cmd is None:
            return
        if cmd.name == "deallocate":
            if cmd.argument == "all":
                self.statements = {k: v for k, v in self.statements.items() if k == ""}
            else:
                self.statements.pop(cmd.argument, None)
        if cmd.name == "discard" and cmd.argument == "all":
            self.statements.clear()
            for portal in self.portals.values():
                portal.close()
            self.portals.clear()

    # --- extended query ------------------------------------------------------------------------

    def _parse(self, payload: bytes) -> None:
        msg = wire.decode_parse(payload)
        if msg.name and msg.name in self.statements:
            raise ServeError("42P05", f'prepared statement "{msg.name}" already exists')
        prepared = prepare(msg.sql, list(msg.param_oids))
        self.statements[msg.name] = prepared
        self.send(wire.PARSE_COMPLETE)

    def _statement(self, name: str) -> Prepared:
        prepared = self.statements.get(name)
        if prepared is None:
            raise ServeError(
                INVALID_SQL_STATEMENT_NAME, f'prepared statement "{name}" does not exist'
            )
        return prepared

    def _bind(self, payload: bytes) -> None:
        msg = wire.decode_bind(payload)
        prepared = self._statement(msg.statement)
        if len(msg.values) != prepared.param_count:
            raise ServeError(
                PROTOCOL_VIOLATION,
                f"bind message supplies {len(msg.values)} parameters, but prepared statement "
                f'"{msg.statement}" requires {prepared.param_count}',
            )
        values = []
        for i, raw in enumerate(msg.values):
            oid = prepared.param_oids[i] if i < len(prepared.param_oids) else 0
            values.append(decode_param(oid, raw, msg.param_format(i) == 1))
        if msg.portal in self.portals:
            if msg.portal:
                raise ServeError("42P03", f'cursor "{msg.portal}" already exists')
            self.portals.pop(msg.portal).close()
        assert self.backend is not None
        self.portals[msg.portal] = self.backend.open_portal(prepared, values, msg.result_formats)
        if prepared.kind == "session":
            self._forget(prepared)
        self.send(wire.BIND_COMPLETE)

    def _portal(self, name: str) -> Portal:
        portal = self.portals.get(name)
        if portal is None:
            raise ServeError(INVALID_CURSOR_NAME, f'portal "{name}" does not exist')
        return portal

    def _describe(self, payload: bytes) -> None:
        kind, name = wire.decode_target(payload)
        assert self.backend is not None
        if kind == "S":
            prepared = self._statement(name)
            self.send(wire.parameter_description(_param_oids(prepared)))
            fields = self.backend.describe_statement(prepared)
        else:
            portal = self._portal(name)
            fields = self._describe_portal(portal)
        self.send(wire.NO_DATA if fields is None else wire.row_description(fields))

    def _describe_portal(self, portal: Portal) -> list[wire.Field] | None:
        prepared = portal.prepared
        if portal.started:
            return portal.fields
        if prepared.kind == "query" and prepared.returns_rows:
            portal.start(self._known_fields(portal))
            return portal.fields
        assert self.backend is not None
        fields = self.backend.describe_statement(prepared)
        if fields is None:
            return None
        return [
            wire.Field(f.name, f.type_oid, f.type_size, _format(portal.result_formats, i))
            for i, f in enumerate(fields)
        ]

    def _known_fields(self, portal: Portal) -> list[wire.Field] | None:
        """The columns the client learnt from Describe statement, if it asked."""
        fields = portal.prepared.fields
        if fields is None:
            return None
        return [
            wire.Field(f.name, f.type_oid, f.type_size, _format(portal.result_formats, i))
            for i, f in enumerate(fields)
        ]

    def _execute(self, payload: bytes) -> None:
        name, limit = wire.decode_execute(payload)
        portal = self._portal(name)
        try:
            if not portal.started:
                known = self._known_fields(portal)
                if known is None and portal.prepared.kind == "exec":
                    assert self.backend is not None
                    described = self.backend.describe_statement(portal.prepared)
                    known = (
                        described
                        if described is None
                        else [
                            wire.Field(
                                f.name, f.type_oid, f.type_size, _format(portal.result_formats, i)
                            )
                            for i, f in enumerate(described)
                        ]
                    )
                portal.start(known)
                self._announce(portal)
            self._stream_rows(portal, limit)
        except BaseException:
            portal.close()
            raise

    def _close(self, payload: bytes) -> None:
        kind, name = wire.decode_target(payload)
        if kind == "S":
            self.statements.pop(name, None)
        else:
            portal = self.portals.pop(name, None)
            if portal is not None:
                portal.close()
        self.send(wire.CLOSE_COMPLETE)


def _format(formats: list[int], index: int) -> int:
    if not formats:
        return 0
    return formats[0] if len(formats) == 1 else formats[index]


def _param_oids(prepared: Prepared) -> list[int]:
    oids = list(prepared.param_oids) + [0] * (prepared.param_count - len(prepared.param_oids))
    return [oid or 25 for oid in oids]
