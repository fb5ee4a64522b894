"""One client's confsql connection: runs prepared statements and streams their rows.

Everything goes through the public DB-API (``driver.connect``, cursors,
``Connection.interrupt``); ``Connection.db`` is used only to attach the
emulated catalog.  A :class:`Backend` belongs to one client thread; only
:meth:`Backend.interrupt` may be called from another thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import driver

from .. import schema as confsql_schema
from ..exec_parser import parse_exec
from . import commands, pgcatalog, pgtypes
from .sqlstate import READ_ONLY, UNDEFINED_OBJECT, ServeError
from .statements import Prepared
from .wire import Field, data_row

BATCH = 500  # rows fetched from the DB-API at a time


@dataclass(frozen=True)
class Account:
    """Which confsql connection a client gets: a DSN and/or keyword properties."""

    dsn: str
    props: Mapping[str, Any]
    read_only: bool = False


class Backend:
    """The confsql connection of one Postgres client, with its catalog and settings."""

    def __init__(
        self, account: Account, user: str, database: str, application_name: str, read_only: bool
    ) -> None:
        self.read_only = read_only or account.read_only
        self.conn = driver.connect(account.dsn, **dict(account.props))
        try:
            self.settings = commands.Settings(user, application_name, self.read_only)
            self.catalog = confsql_schema.load()
            self._install_catalog(user, database)
        except BaseException:
            self.conn.close()
            raise
        self.status = b"I"  # transaction status byte for ReadyForQuery
        self.wrote_in_block = False
        self._running = False
        self._lock = threading.Lock()

    def _install_catalog(self, user: str, database: str) -> None:
        cursor = self.conn.cursor()
        offered = []
        for (name,) in cursor.execute("SELECT TableName FROM sys_tables").fetchall():
            try:  # LIMIT 0 sends no request; a table this connection cannot read is left out
                cursor.execute(f'SELECT * FROM "{name}" LIMIT 0')
            except driver.NotSupportedError:
                continue
            offered.append(name)
        names = cursor.execute(
            "SELECT name FROM sqlite_temp_master WHERE type = 'view' ORDER BY name"
        ).fetchall()
        views: dict[str, list[tuple[str, str]]] = {}
        for (name,) in names:
            cursor.execute(f'SELECT * FROM "{name}" LIMIT 0')
            views[name] = [
                (d[0], "INTEGER" if d[0].startswith("Is") else "TEXT")
                for d in cursor.description or ()
            ]
        cursor.close()
        procedures = [p for p in self.catalog.procedures.values()]
        data = pgcatalog.CatalogData(
            pgcatalog.relations(self.catalog, offered, views),
            user,
            database,
            self.settings,
            self.read_only,
            procedures,
        )
        pgcatalog.install(self.conn.db, data)

    # --- cancel and close -------------------------------------------------------------

    def interrupt(self) -> None:
        """Cancel the statement this client is running, if any (any thread)."""
        with self._lock:
            if self._running:
                self.conn.interrupt()

    def _enter(self) -> None:
        with self._lock:
            self._running = True

    def _leave(self) -> None:
        with self._lock:
            self._running = False

    def close(self) -> None:
        """Close the confsql connection."""
        self.conn.close()

    # --- running --------------------------------------------------------------------------

    def check_allowed(self, prepared: Prepared) -> None:
        """--read-only: refuse EXEC and DML before anything is sent."""
        if self.read_only and prepared.writes:
            what = "EXEC" if prepared.kind == "exec" else prepared.command
            raise ServeError(
                READ_ONLY,
                f"cannot run {what}: this server is read-only (confsql serve --read-only); "
                "only SELECT and session statements are allowed",
            )

    def describe_statement(self, prepared: Prepared) -> list[Field] | None:
        """The columns a statement will return (None: no rows), without running it."""
        if prepared.fields is not None or not prepared.returns_rows:
            return prepared.fields
        if prepared.kind == "session" and prepared.session is not None:
            prepared.fields = [Field(prepared.session.argument or "setting", pgtypes.TEXT)]
        elif prepared.kind == "exec":
            prepared.fields = self._procedure_fields(prepared.sql)
        elif prepared.kind == "query":
            cursor = self.conn.cursor()
            try:
                self._enter()
                params = [None] * len(prepared.order)
                cursor.execute(f"SELECT * FROM ({prepared.sql}) LIMIT 0", params)
                desc = cursor.description or ()
            finally:
                self._leave()
                cursor.close()
            prepared.fields = [
                Field(d[0], oid, pgtypes.type_size(oid))
                for d, oid in zip(desc, choose_oids(desc, prepared.types, []), strict=True)
            ]
        return prepared.fields

    def _procedure_fields(self, sql: str) -> list[Field]:
        call = parse_exec(sql)
        proc = self.catalog.procedure(call.procedure)
        if proc is None:
            raise ServeError(
                UNDEFINED_OBJECT,
                f"unknown procedure {call.procedure!r} (SELECT ProcedureName FROM "
                "sys_procedures lists them)",
            )
        return [
            Field(r.name, oid, pgtypes.type_size(oid))
            for r in proc.results
            for oid in [pgtypes.DECLTYPE_OIDS[r.type]]
        ]

    def open_portal(
        self, prepared: Prepared, params: Sequence[Any], result_formats: Sequence[int]
    ) -> Portal:
        """Bind parameters; nothing runs until :meth:`Portal.start`."""
        self.check_allowed(prepared)
        ordered = [params[n - 1] for n in prepared.order]
        return Portal(self, prepared, ordered, list(result_formats))

    def session_command(
        self, prepared: Prepared
    ) -> tuple[list[list[Any]], str, list[tuple[str, str]], str | None]:
        """Run SET/SHOW/BEGIN/...: (rows, tag, changed ParameterStatus, warning)."""
        cmd = prepared.session
        assert cmd is not None
        tag = commands.TAGS[cmd.name]
        rows: list[list[Any]] = []
        changed: list[tuple[str, str]] = []
        warning = None
        if cmd.name == "set":
            report = self.settings.set(cmd.argument, cmd.value)
            if report:
                changed.append(report)
        elif cmd.name == "reset":
            changed = self.settings.reset(cmd.argument)
        elif cmd.name == "show":
            if cmd.argument == "all":
                rows = [[k, v, ""] for k, v in sorted(self.settings.values.items())]
            else:
                value = self.settings.show(cmd.argument)
                if value is None:
                    raise ServeError(
                        UNDEFINED_OBJECT, f'unrecognized configuration parameter "{cmd.argument}"'
                    )
                rows = [[value]]
        elif cmd.name == "begin":
            if self.status == b"T":
                warning = "there is already a transaction in progress"
            self.status = b"T"
            self.wrote_in_block = False
        elif cmd.name in ("commit", "rollback"):
            if cmd.name == "rollback" and self.wrote_in_block:
                warning = (
                    "ROLLBACK did not undo anything: confsql has no transactions, and each "
                    "write was sent to the provider when its statement ran"
                )
            self.status = b"I"
            self.wrote_in_block = False
        elif cmd.name == "rollback_to" and self.wrote_in_block:
            warning = "ROLLBACK TO SAVEPOINT did not undo anything: writes are immediate"
        return rows, tag, changed, warning

    def run_rows(self, sql: str, params: Sequence[Any]) -> driver.Cursor:
        """Execute through the DB-API, marked as running (so a cancel can reach it)."""
        cursor = self.conn.cursor()
        self._enter()
        try:
            cursor.execute(sql, list(params) or None)
        except BaseException:
            cursor.close()
            raise
        finally:
            self._leave()
        return cursor

    def fetch(self, cursor: driver.Cursor, count: int) -> list[tuple[Any, ...]]:
        """Up to ``count`` more rows (cancellable)."""
        self._enter()
        try:
            return cursor.fetchmany(count)
        finally:
            self._leave()


def choose_oids(
    description: Sequence[Sequence[Any]],
    annotated: Sequence[int | None],
    rows: Sequence[Sequence[Any]],
) -> list[int]:
    """Each column's OID: declared type, else sqlglot's guess (if the rows agree), else values."""
    out: list[int] = []
    for i, column in enumerate(description):
        oid = pgtypes.oid_for_decltype(column[1])
        values = [r[i] for r in rows if r[i] is not None]
        if oid is None and i < len(annotated) and annotated[i] is not None:
            candidate = annotated[i]
            assert candidate is not None
            if _fits(candidate, values):
                oid = candidate
        if oid is None:
            oid = _from_values(values)
        out.append(oid)
    return out


def _fits(oid: int, values: Sequence[Any]) -> bool:
    encode = pgtypes.encoder(oid, False)
    try:
        for value in values:
            encode(value)
    except pgtypes.ValueMismatch:
        return False
    return True


def _from_values(values: Sequence[Any]) -> int:
    kinds = {pgtypes.oid_for_value(v) for v in values} - {None}
    if not kinds:
        return pgtypes.TEXT
    if kinds == {pgtypes.INT8, pgtypes.FLOAT8}:
        return pgtypes.FLOAT8
    if len(kinds) == 1:
        (only,) = kinds
        return only if only is not None else pgtypes.TEXT
    return pgtypes.TEXT


class Portal:
    """A bound statement: started once, then fetched in pieces (Execute with a row limit)."""

    def __init__(
        self, backend: Backend, prepared: Prepared, params: list[Any], result_formats: list[int]
    ) -> None:
        self.backend = backend
        self.prepared = prepared
        self.params = params
        self.result_formats = result_formats
        self.fields: list[Field] | None = None
        self.started = False
        self.done = False
        self.sent = 0
        self.tag = ""
        self.notices: list[str] = []
        self.status_changes: list[tuple[str, str]] = []
        self._cursor: driver.Cursor | None = None
        self._pending: list[tuple[Any, ...]] = []
        self._encoders: list[Callable[[Any], bytes]] = []

    def _format(self, index: int) -> int:
        formats = self.result_formats
        if not formats:
            return 0
        return formats[0] if len(formats) == 1 else formats[index]

    def _set_fields(self, names: Sequence[str], oids: Sequence[int]) -> None:
        self.fields = [
            Field(name, oid, pgtypes.type_size(oid), self._format(i))
            for i, (name, oid) in enumerate(zip(names, oids, strict=True))
        ]
        self._encoders = [pgtypes.encoder(f.type_oid, f.format == 1) for f in self.fields]

    def start(self, known: list[Field] | None = None) -> None:
        """Run the statement (once).  ``known``: columns the client was already told."""
        if self.started:
            return
        self.started = True
        p = self.prepared
        backend = self.backend
        if p.kind == "empty":
            self.done = True
            return
        if p.kind == "session":
            rows, self.tag, self.status_changes, warning = backend.session_command(p)
            if warning:
                self.notices.append(warning)
            if p.returns_rows:  # SHOW name: one column named after the setting; SHOW ALL: three
                argument = p.session.argument if p.session else "setting"
                names = ["name", "setting", "description"] if argument == "all" else [argument]
                width = len(names)
                self._set_fields(names, [pgtypes.TEXT] * width)
                self._pending = [tuple(r) for r in rows]
            else:
                self.done = True
            return
        if backend.status == b"T" and p.writes:
            backend.wrote_in_block = True
        cursor = backend.run_rows(p.sql, self.params)
        self._cursor = cursor
        desc = cursor.description
        if not desc:
            count = max(cursor.rowcount, 0)
            self.tag = f"INSERT 0 {count}" if p.command == "INSERT" else f"{p.command} {count}"
            self.done = True
            cursor.close()
            self._cursor = None
            return
        if known is not None:
            self._set_fields([f.name for f in known], [f.type_oid for f in known])
            return
        self._pending = backend.fetch(cursor, BATCH)
        oids = choose_oids(desc, p.types, self._pending)
        self._set_fields([d[0] for d in desc], oids)

    def rows(self, limit: int) -> list[bytes]:
        """Up to ``limit`` (0 = all) encoded DataRow messages; sets ``done`` at the end."""
        out: list[bytes] = []
        encoders = self._encoders
        while not self.done and (limit <= 0 or len(out) < limit):
            if not self._pending:
                if self._cursor is None:
                    self._finish()
                    break
                self._pending = self.backend.fetch(self._cursor, BATCH)
                if not self._pending:
                    self._finish()
                    break
            take = len(self._pending) if limit <= 0 else min(limit - len(out), len(self._pending))
            chunk, self._pending = self._pending[:take], self._pending[take:]
            for row in chunk:
                out.append(
                    data_row(
                        [
                            None if v is None else enc(v)
                            for enc, v in zip(encoders, row, strict=True)
                        ]
                    )
                )
            self.sent += len(chunk)
            if limit <= 0 and len(out) >= BATCH:
                break  # let the caller flush; it calls again until done
        return out

    def _finish(self) -> None:
        self.done = True
        if not self.tag:
            self.tag = (
                f"SELECT {self.sent}"
                if self.prepared.kind != "session"
                else (commands.TAGS["show"])
            )
        self.close()

    def close(self) -> None:
        """Stop the scan (if still running) and release the cursor."""
        if self._cursor is not None:
            cursor, self._cursor = self._cursor, None
            cursor.close()
        self._pending = []
