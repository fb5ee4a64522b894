"""PEP 249 Connection and Cursor.

``cursor.execute`` routes each statement: ``EXEC``/``EXECUTE`` goes to the
procedure runner (never through SQLite, so a SELECT can never place a call);
everything else runs in SQLite over the virtual tables.  Every failure leaves
as a PEP 249 exception.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import decimal
import re
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from types import TracebackType
from typing import Any

import apsw

from . import catalog as sys_catalog
from . import direct, dml, errors, explain, loop, schema, stats
from .errors import Error, InterfaceError
from .events import table as events_table
from .exec_parser import bind, is_exec, parse_exec
from .session import Session
from .settings import resolve
from .statement import Statement, WriteContext
from .vtable import Module

Params = Sequence[Any] | Mapping[str, Any] | None
Description = tuple[tuple[str, str | None, None, None, None, None, bool | None], ...]


def translate(exc: BaseException) -> BaseException:
    """Map any exception from SQLite, APSW or our own layers to a PEP 249 error."""
    if isinstance(exc, Error) or not isinstance(exc, Exception):
        return exc
    try:
        text = str(exc)
    except ValueError:  # e.g. an integer too long to print inside the message
        text = type(exc).__name__
    if isinstance(exc, apsw.InterruptError | loop.Cancelled):
        return errors.OperationalError("the statement was cancelled")
    if isinstance(exc, loop.LoopStopped):
        return errors.InterfaceError(f"{text}; no statement can run any more")
    if isinstance(exc, RecursionError):
        return errors.ProgrammingError(
            "the statement is nested too deeply to run; simplify it (e.g. fewer nested "
            "parentheses or subqueries)"
        )
    if _empty_in_set(exc):
        return errors.NotSupportedError(
            "an IN (subquery) that is empty for some rows cannot be passed to a virtual "
            "table; write it as a JOIN or EXISTS instead"
        )
    if isinstance(exc, apsw.AuthError):
        return errors.ProgrammingError(f"{text}: the sys_* catalog views are read-only")
    if isinstance(exc, apsw.SQLError | apsw.BindingsError | apsw.ReadOnlyError):
        return errors.ProgrammingError(_sql_hint(text))
    if isinstance(exc, apsw.ConstraintError):
        return errors.IntegrityError(text)
    if isinstance(exc, apsw.MismatchError | apsw.TooBigError | apsw.RangeError):
        return errors.DataError(text)
    if isinstance(
        exc, apsw.ExecutionCompleteError | apsw.CursorClosedError | apsw.ConnectionClosedError
    ):
        return errors.InterfaceError(text)
    if isinstance(exc, apsw.Error):
        return errors.OperationalError(text)
    if isinstance(exc, OverflowError):
        return errors.DataError(
            f"a value is out of range ({text}): SQLite's integers are 64-bit and its reals "
            "are doubles"
        )
    if isinstance(exc, TypeError) and "bind" in text.lower():
        return errors.ProgrammingError(f"a parameter cannot be used: {text}")
    return errors.InternalError(f"unexpected {type(exc).__name__}: {text} (please report this)")


_DROPS = {apsw.SQLITE_DROP_VIEW, apsw.SQLITE_DROP_TEMP_VIEW}


class _Authorizer:
    """SQLite authorizer: protects the sys_* views and can record what a statement reads.

    While ``events`` is a list, every action SQLite authorizes while preparing
    is appended to it (see :func:`driver.direct.confirm`).
    """

    def __init__(self) -> None:
        self.events: list[direct.Event] | None = None

    def __call__(
        self, op: int, p1: str | None, p2: str | None, db: str | None, trig: str | None
    ) -> int:
        if op in _DROPS and p1 and p1.lower() in sys_catalog.SYS_VIEWS:
            return apsw.SQLITE_DENY
        if self.events is not None:
            self.events.append((op, p1, p2, db))
        return apsw.SQLITE_OK


_LEADING_NOISE = re.compile(r"^(?:;|\s+|--[^\n]*(?:\n|$)|/\*.*?(?:\*/|$))*", re.S)


def _empty_in_set(exc: BaseException) -> bool:
    """APSW 3.54's error for an empty IN set handed to a virtual table as one batch."""
    return isinstance(exc, apsw.SQLError) and str(exc).endswith("<NULL>")


def _sql_hint(text: str) -> str:
    if "no such table" in text:
        return f"{text} (SELECT TableName FROM sys_tables lists the tables)"
    return text


def _adapt(value: Any) -> Any:
    """Python values SQLite cannot store, as the text/numbers our columns hold."""
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.UTC).replace(tzinfo=None)
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return float(value)
    return value


def _adapt_params(params: Params) -> Params:
    if params is None:
        return None
    if isinstance(params, Mapping):
        return {k: _adapt(v) for k, v in params.items()}
    if isinstance(params, str | bytes | bytearray) or not isinstance(params, Sequence):
        raise errors.ProgrammingError(
            "parameters must be a sequence (a tuple or list, one value per ?) or a mapping "
            f"(for :name), not {type(params).__name__}"
        )
    return tuple(_adapt(v) for v in params)


def _check_sql(operation: object) -> str:
    """The statement text, or ProgrammingError for what cannot be SQL at all."""
    if not isinstance(operation, str):
        raise errors.ProgrammingError(
            f"the statement must be a string, not {type(operation).__name__}"
        )
    if "\x00" in operation:
        raise errors.ProgrammingError(
            f"the statement contains a NUL character at position {operation.index(chr(0))}; "
            "remove it (pass binary data as a parameter instead)"
        )
    return operation


class Connection:
    """A connection to one provider account (PEP 249).

    ``threadsafety`` is 1: a connection may be used from any thread, but by one
    thread at a time.  A second thread using it while a statement runs gets a
    ProgrammingError; :meth:`close` and :meth:`interrupt` work from any thread.
    """

    Warning = errors.Warning
    Error = errors.Error
    InterfaceError = errors.InterfaceError
    DatabaseError = errors.DatabaseError
    DataError = errors.DataError
    OperationalError = errors.OperationalError
    IntegrityError = errors.IntegrityError
    InternalError = errors.InternalError
    ProgrammingError = errors.ProgrammingError
    NotSupportedError = errors.NotSupportedError

    def __init__(self, dsn: str = "", **props: Any) -> None:
        self.catalog = schema.load()
        provider_cls, settings = resolve(dsn, props)
        self.session = Session(self.catalog, provider_cls, settings)
        self.provider = self.session.provider
        # SQLITE_OPEN_URI: so EventsDb can be attached read-only (file:...?mode=ro).
        self._db = apsw.Connection(
            ":memory:",
            flags=apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_CREATE | apsw.SQLITE_OPEN_URI,
        )
        self._closed = False
        self._lock = threading.RLock()  # held while a statement runs (see _use)
        self._cursors: weakref.WeakSet[Cursor] = weakref.WeakSet()
        self._last: Statement | None = None  # the latest statement, for interrupt()
        for table in self.catalog.tables.values():
            if table.name in self.provider.tables:
                self._db.create_module(
                    table.name,
                    Module(self.session, table),  # type: ignore[arg-type]
                    use_bestindex_object=True,
                    eponymous_only=True,
                )
        events_table.install(self._db, self.catalog, settings["EventsDb"])
        rows = sys_catalog.rows(self.catalog, self.session.mapping, self.provider.formats)
        for name, columns in sys_catalog.SYS_VIEWS.items():
            self._db.execute(sys_catalog.view_sql(name, columns, rows[name]))
        stats.install(self._db, self.session.stats)
        self._authorizer = _Authorizer()
        self._db.authorizer = self._authorizer
        self._whole_tables = direct.readable_whole(self.session)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<driver.Connection {state} {self.session.settings!r}>"

    @property
    def db(self) -> apsw.Connection:
        """The underlying APSW connection (the shell builds on it)."""
        self._check()
        return self._db

    @property
    def settings(self) -> Mapping[str, Any]:
        """The connection's properties; secrets are replaced by '***'."""
        return self.session.settings.shown()

    @property
    def stats(self) -> Any:
        """Request counters for this connection: requests, retries, rows."""
        return self.session.stats

    def _check(self) -> None:
        if self._closed:
            raise InterfaceError("the connection is closed")

    @contextlib.contextmanager
    def _use(self) -> Iterator[None]:
        """Hold the connection for one call; refuse a second thread instead of corrupting it."""
        if not self._lock.acquire(blocking=False):
            raise errors.ProgrammingError(
                "this connection is busy with a statement in another thread; a confsql "
                "connection is used by one thread at a time (threadsafety 1): open one "
                "connection per thread, or use a pool"
            )
        try:
            self._check()
            yield
        finally:
            self._lock.release()

    def cursor(self) -> Cursor:
        """A new cursor."""
        self._check()
        cursor = Cursor(self)
        self._cursors.add(cursor)
        return cursor

    def close(self) -> None:
        """Close the connection (from any thread); further use raises InterfaceError.

        A statement running in another thread is cancelled first, and the
        connection closes once it has unwound.
        """
        if self._closed:
            return
        if not self._lock.acquire(blocking=False):
            self.interrupt()
            if not self._lock.acquire(timeout=loop.UNWIND_TIMEOUT + 5):
                raise errors.OperationalError(
                    "close: the statement running in another thread did not stop within "
                    f"{loop.UNWIND_TIMEOUT + 5:g} s; the connection is still open"
                )
        try:
            if self._closed:
                return
            self._closed = True
            for cursor in list(self._cursors):
                cursor._reset_rows()
            self.session.close()
        finally:
            try:
                self._db.close(force=True)
            finally:
                self._lock.release()

    def commit(self) -> None:
        """No-op: every write is sent to the provider when its statement runs."""
        self._check()

    def rollback(self) -> None:
        """No-op: there is no transaction to roll back (writes are sent immediately)."""
        self._check()

    def interrupt(self) -> None:
        """Cancel the statement running on this connection (from any thread)."""
        if self._closed:
            return
        statement = self.session.current or self._last
        if statement is not None and not statement.closed:
            statement.cancel()
        self._db.interrupt()

    def __enter__(self) -> Connection:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


Row = tuple[Any, ...]


def _to_bool(value: Any) -> Any:
    return value if value is None else bool(value)


def _to_datetime(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        return dt.datetime.fromisoformat(value).replace(tzinfo=dt.UTC)
    except ValueError:
        return value


_NATIVE = {"BOOLEAN": _to_bool, "DATETIME": _to_datetime}


def native_converter(description: Description) -> Callable[[Row], Row] | None:
    """Row converter for NativeTypes=true (BOOLEAN -> bool, DATETIME -> aware datetime)."""
    converters = [_NATIVE.get((d[1] or "").upper()) for d in description]
    if not any(converters):
        return None

    def convert(row: Row) -> Row:
        return tuple(f(v) if f else v for f, v in zip(converters, row, strict=False))

    return convert


@contextlib.contextmanager
def _stepping(session: Session, statement: Statement) -> Iterator[None]:
    """Make ``statement`` the one virtual tables serve while SQLite steps it."""
    previous, session.current = session.current, statement
    try:
        yield
    finally:
        session.current = previous


def _rows_of(
    connection: Connection, statement: Statement, rows: Iterator[tuple[Any, ...]]
) -> Iterator[tuple[Any, ...]]:
    """Step ``rows`` as ``statement``, one connection user at a time; PEP 249 errors only.

    A plain function, not a Cursor method: the generator must not reference
    its cursor, or a dropped half-read cursor would live in a reference cycle
    until the garbage collector (possibly at interpreter exit) closed it.
    """
    session = connection.session
    while True:
        with connection._use(), _stepping(session, statement):
            try:
                row = next(rows)
            except StopIteration:
                statement.close()
                return
            except Exception as exc:
                err = translate(exc)
                statement.close()
                raise err from (None if err is exc else exc)
        yield row


class Cursor:
    """A PEP 249 cursor; rows stream from the provider as they are fetched."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.arraysize = 1
        self.rowcount = -1
        self.lastrowid: int | None = None
        self.description: Description | None = None
        # PEP 249 extension: (class, message) notes about the last statement, e.g. rows
        # a DELETE found already gone.
        self.messages: list[tuple[type[errors.Warning], str]] = []
        self._rows: Iterator[tuple[Any, ...]] | None = None
        self._direct: direct.DirectRows | None = None
        self._apsw: apsw.Cursor | None = None
        self._statement: Statement | None = None
        self._explain = False  # rows are rewritten (EXPLAIN QUERY PLAN): no bulk fetch
        self._native: Callable[[Row], Row] | None = None  # NativeTypes conversion
        self._closed = False

    # --- executing --------------------------------------------------------------

    def execute(self, operation: str, parameters: Params = None) -> Cursor:
        """Run one statement (EXEC, SELECT, INSERT, UPDATE, DELETE, ...)."""
        self._check()
        conn = self.connection
        with conn._use():
            self._reset()
            statement = self._statement = conn._last = Statement()
            try:
                sql = _check_sql(operation)
                with _stepping(conn.session, statement):
                    if is_exec(sql):
                        self._execute_proc(sql, parameters)
                    else:
                        self._execute_sql(sql, parameters, statement)
                if self.description and conn.session.settings["NativeTypes"]:
                    self._native = native_converter(self.description)
                    if self._native is not None and self._rows is not None:
                        self._rows = map(self._native, self._rows)
            except BaseException as exc:
                self._reset()
                err = translate(exc)
                raise err from (None if err is exc else exc)
        return self

    def executemany(self, operation: str, seq_of_parameters: Sequence[Params]) -> Cursor:
        """Run ``operation`` once per parameter set (one EXEC / one write each).

        There is no transaction: if one set fails, the error says how many sets
        before it were already executed (and their writes sent).
        """
        total = 0
        for done, params in enumerate(seq_of_parameters):
            try:
                self.execute(operation, params)
            except Error as exc:
                if done:
                    exc.message = (
                        f"{exc.message} (parameter set {done + 1} failed; the {done} before it "
                        "were already executed and their writes sent; there is no transaction "
                        "to roll back)"
                    )
                    exc.args = (exc.message,)
                raise
            total += max(self.rowcount, 0)
        self.rowcount = total
        self._reset_rows()
        return self

    def _execute_proc(self, sql: str, params: Params) -> None:
        call = parse_exec(sql)
        args = bind(call, _adapt_params(params))
        session = self.connection.session
        proc = session.runner.procedure(call.procedure)
        rows = session.call_procedure(proc.name, args)
        self.description = tuple(
            (r.name, r.type, None, None, None, None, True) for r in proc.results
        )
        self.rowcount = len(rows)
        self._rows = iter(rows)

    def _execute_sql(self, sql: str, params: Params, statement: Statement) -> None:
        conn = self.connection
        bindings = _adapt_params(params)
        self._explain = explain.is_explain_query_plan(sql)
        safe = bool(conn.session.settings["SafeUpdates"])
        statement.write_context = (
            dml.check(
                sql,
                conn.catalog,
                bindings,
                safe_updates=safe,
                formats=conn.provider.formats,
                supported=conn.session.runner.procedure,
            )
            if dml.is_dml(sql)
            else WriteContext()
        )
        cursor = conn.db.cursor()
        described: list[tuple[tuple[str, str | None], ...]] = []
        # A plain full-table read skips SQLite's row loop (see driver.direct): the
        # authorizer records what the statement reads while SQLite prepares it.
        plain = not bindings and not self._explain and direct.candidate(sql)
        events: list[direct.Event] | None = [] if plain else None
        chosen: list[direct.DirectRead] = []

        def trace(cur: apsw.Cursor, statement_text: str, _bindings: Any) -> bool:
            if not cur.has_vdbe:
                return True  # only a comment or whitespace
            start = sql.find(statement_text)
            rest = sql[start + len(statement_text) :] if start >= 0 else ""
            if described or _LEADING_NOISE.sub("", rest):
                # More than one statement: refuse before any of it runs, as sqlite3 does.
                raise errors.ProgrammingError(
                    "cursor.execute runs one statement at a time; nothing was run "
                    "(use the confsql shell for scripts, or one execute per statement)"
                )
            described.append(cur.getdescription())  # known before any row exists
            if events is not None:
                read = direct.confirm(events, described[-1], conn._whole_tables)
                if read is not None:
                    chosen.append(read)
                    return False  # stop before the first step: nothing has run
            return True

        cursor.exec_trace = trace
        conn._authorizer.events = events
        before = conn.db.total_changes()
        try:
            try:
                # Uncached when recording: a cached statement is not prepared (or authorized) again.
                cursor.execute(sql, bindings, can_cache=events is None)
            except apsw.ExecTraceAbort:
                if not chosen:
                    raise
            except apsw.SQLError as exc:
                if not _empty_in_set(exc):
                    raise
                # APSW fails before Filter when a batched IN set is empty; no row
                # has been produced (or written) yet, so plan again without batching.
                statement.batched_in = False
                described.clear()
                cursor.execute(sql, bindings, can_cache=False)
        finally:
            conn._authorizer.events = None
        desc = described[-1] if described else ()
        if desc:
            self.description = tuple(
                (name, decltype, None, None, None, None, True) for name, decltype in desc
            )
        if chosen:
            self._direct = direct.DirectRows(conn.session, chosen[0], statement)
            self._rows = _rows_of(conn, statement, self._direct)
            return
        self._apsw = cursor
        if desc and self._explain:
            self._rows = _rows_of(conn, statement, explain.rows(cursor, conn.provider.tables))
        elif desc:
            self._rows = _rows_of(conn, statement, cursor)
        else:
            self.rowcount = conn.db.total_changes() - before
            self._rows = None
            self.messages = [(errors.Warning, text) for text in statement.messages]
            statement.close()

    # --- fetching ---------------------------------------------------------------

    def _need_rows(self) -> Iterator[tuple[Any, ...]]:
        self._check()
        if self._rows is None:
            raise errors.ProgrammingError(
                "no result set: execute a statement that returns rows first"
            )
        return self._rows

    def fetchone(self) -> tuple[Any, ...] | None:
        """The next row, or None when the result is exhausted."""
        return next(self._need_rows(), None)

    def fetchmany(self, size: int | None = None) -> list[tuple[Any, ...]]:
        """Up to ``size`` (default ``arraysize``) rows."""
        rows = self._need_rows()
        count = self.arraysize if size is None else size
        out: list[tuple[Any, ...]] = []
        for row in rows:
            out.append(row)
            if len(out) >= count:
                break
        return out

    def fetchall(self) -> list[tuple[Any, ...]]:
        """All remaining rows."""
        rows = self._need_rows()
        bulk: Any = self._direct.fetch_all if self._direct is not None else None
        if bulk is None and self._apsw is not None and not self._explain:
            bulk = self._apsw.fetchall  # no Python generator step per row
        if bulk is None or self._statement is None:
            return list(rows)
        conn, statement = self.connection, self._statement
        with conn._use(), _stepping(conn.session, statement):
            try:
                out: list[tuple[Any, ...]] = bulk()
            except Exception as exc:
                err = translate(exc)
                statement.close()
                raise err from (None if err is exc else exc)
        statement.close()
        self._rows = iter(())
        return [self._native(row) for row in out] if self._native else out

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return self

    def __next__(self) -> tuple[Any, ...]:
        row = self.fetchone()
        if row is None:
            raise StopIteration
        return row

    # --- housekeeping -------------------------------------------------------------

    def setinputsizes(self, sizes: Any) -> None:
        """Accepted and ignored (PEP 249)."""

    def setoutputsize(self, size: Any, column: Any = None) -> None:
        """Accepted and ignored (PEP 249)."""

    def close(self) -> None:
        """Close the cursor and stop any scan still running (rowcount stays readable)."""
        if self._closed:
            return
        with self.connection._lock:
            self._reset_rows()
        self._closed = True

    def _check(self) -> None:
        if self._closed:
            raise InterfaceError("the cursor is closed")
        self.connection._check()

    def _reset_rows(self) -> None:
        """Stop the current result: streams closed, requests and tasks gone."""
        if self._direct is not None:
            direct_rows, self._direct = self._direct, None
            direct_rows.close()
        if self._apsw is not None:
            with contextlib.suppress(apsw.Error):
                self._apsw.close(force=True)
            self._apsw = None
        if self._statement is not None:
            statement, self._statement = self._statement, None
            statement.close()
        self._rows = None

    def _reset(self) -> None:
        self._reset_rows()
        self._native = None
        self.description = None
        self.rowcount = -1
        self.messages = []

    def __del__(self) -> None:
        # A dropped half-read cursor stops its scan now (never during interpreter exit,
        # and never while another thread is using the connection).
        if self._statement is None or not loop.alive():
            return
        lock = self.connection._lock
        if lock.acquire(blocking=False):
            try:
                with contextlib.suppress(Exception):
                    self._reset_rows()
            finally:
                lock.release()

    def __enter__(self) -> Cursor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
