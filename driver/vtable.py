"""APSW virtual tables: SQLite's callbacks → planner, scanner and procedures.

Each table in ``schema/tables`` becomes an eponymous virtual table.  Reads
stream pages from :mod:`driver.scan`; writes run the table's declared
procedures once per row through :mod:`driver.procedures`.  Nothing here names
a specific table or provider.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import apsw

from .errors import Error, ProgrammingError
from .loop import anext_or_none
from .planner import Plan, best_index
from .scan import Page, Row, bind_plan, row_key
from .schema import Column, Table
from .statement import Statement

if TYPE_CHECKING:
    from .session import Session


def declaration(columns: Sequence[Column]) -> str:
    """The CREATE TABLE statement SQLite sees (declared types feed reflection)."""
    cols = ", ".join(f'"{c.name}" {c.type}{" HIDDEN" if c.hidden else ""}' for c in columns)
    return f"CREATE TABLE x({cols})"


def _row_label(keys: Mapping[str, object]) -> str:
    """``ConferenceSid=CF…, CallSid=CA…``: which row a write was about."""
    return ", ".join(f"{name}={value}" for name, value in keys.items())


def rowid_for(key: Sequence[Any]) -> int:
    """A stable 63-bit rowid derived from a row's key."""
    digest = hashlib.blake2b("\x1f".join(map(str, key)).encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & 0x7FFF_FFFF_FFFF_FFFF


class Module:
    """The APSW module for one table."""

    def __init__(self, session: Session, table: Table) -> None:
        self.session = session
        self.table = table

    def Create(
        self, db: apsw.Connection, modulename: str, dbname: str, tablename: str, *args: str
    ) -> tuple[str, VTable]:
        vt = VTable(self.session, self.table)
        return declaration(vt.columns), vt

    Connect = Create


@dataclass
class VTable:
    """One virtual table instance."""

    session: Session
    table: Table
    columns: tuple[Column, ...] = field(init=False)

    def __post_init__(self) -> None:
        self.columns = self.session.catalog.all_columns(self.table)
        self.mapping = self.session.provider.tables[self.table.name]

    # --- planning and reading ---------------------------------------------------

    def BestIndexObject(self, info: apsw.IndexInfo) -> bool:
        batched_in = self.session.statement().batched_in
        return best_index(self.table, self.mapping, info, batched_in=batched_in)

    def Open(self) -> Cursor:
        return Cursor(self)

    # --- writes -----------------------------------------------------------------

    def UpdateInsertRow(self, rowid: int | None, fields: tuple[Any, ...]) -> int:
        proc = self._proc(self.table.insert, "INSERT INTO")
        args = {c.name: v for c, v in zip(self.columns, fields, strict=True) if v is not None}
        not_inputs = [n for n in args if proc.input(n) is None]
        if not_inputs:
            raise ProgrammingError(
                f"INSERT INTO {self.table.name}: column {not_inputs[0]} cannot be set "
                f"(the values it accepts are the inputs of {proc.name})"
            )
        rows = self._write(proc.name, args, "INSERT INTO")
        result = dict(zip((r.name for r in proc.results), rows[0], strict=True))
        return rowid_for([result.get(c.name) for c in self.table.keys])

    def UpdateChangeRow(self, rowid: int, newrowid: int, fields: tuple[Any, ...]) -> None:
        proc = self._proc(self.table.update, "UPDATE")
        statement = self.session.statement()
        old = statement.rows_by_id.get((self.table.name, rowid))
        new = dict(zip((c.name for c in self.columns), fields, strict=True))
        set_columns = statement.write_context.set_columns
        if set_columns is None:  # the statement could not be pre-parsed: compare rows
            if old is None:
                raise ProgrammingError(
                    f"UPDATE {self.table.name}: cannot tell which columns this statement "
                    "sets; write it as UPDATE ... SET ... WHERE ..."
                )
            # Rows hold the declared columns; hidden write-only ones always read as NULL.
            set_columns = tuple(
                c.name
                for i, c in enumerate(self.columns)
                if (old[i] != fields[i] if i < len(old) else fields[i] is not None)
            )
        args: dict[str, object] = {c.name: new[c.name] for c in self.table.keys}
        for name in set_columns:
            if proc.input(name) is None:
                raise ProgrammingError(f"UPDATE {self.table.name}: column {name} is read-only")
            args[name] = new[name]
        for name in set_columns:  # bring along current values a rule requires
            inp = proc.input(name)
            needed = inp.requires if inp else None
            if needed and needed not in args and new.get(needed) is not None:
                args[needed] = new[needed]
        self._write(proc.name, args, "UPDATE")

    def UpdateDeleteRow(self, rowid: int) -> None:
        proc = self._proc(self.table.delete, "DELETE FROM")
        statement = self.session.statement()
        old = statement.rows_by_id.get((self.table.name, rowid))
        if old is None:
            raise ProgrammingError(f"DELETE FROM {self.table.name}: row {rowid} is unknown")
        args = {c.name: v for c, v in zip(self.table.columns, old, strict=False) if c.key}
        try:
            self._write(proc.name, args, "DELETE FROM")
        except Error as exc:
            if exc.status != 404:
                raise
            # Already gone (e.g. its conference ended when another row was deleted): the
            # state the statement asked for.  Counted as deleted, and said so.
            statement.messages.append(
                f"DELETE FROM {self.table.name}: {_row_label(args)} was already gone "
                "(the provider answered 404); counted as deleted"
            )

    def _proc(self, name: str | None, verb: str) -> Any:
        if not name:
            raise ProgrammingError(f"{verb} {self.table.name} is not supported")
        return self.session.runner.procedure(name)

    # --- transactions: each write is sent when its statement runs ---------------

    def _write(self, proc: str, args: dict[str, object], verb: str) -> list[Row]:
        """Run one row's procedure.

        A failure names the row (not a provider URL) and says how many rows this
        statement already wrote, since there is no transaction to roll back.
        """
        statement = self.session.statement()
        try:
            rows = self.session.call_procedure(proc, args)
        except Error as exc:
            if exc.status != 404 or verb != "DELETE FROM":  # a 404 delete may be "done"
                keys = {c.name: args[c.name] for c in self.table.keys if c.name in args}
                where = f"{verb} {self.table.name} ({_row_label(keys)})" if keys else ""
                exc.message = f"{where}: {exc.message}" if where else exc.message
                if statement.written:
                    exc.message += (
                        f" ({statement.written} earlier row(s) of this statement were already "
                        "written; there is no transaction to roll back)"
                    )
                exc.args = (exc.message,)
            raise
        statement.written += 1
        return rows

    def Begin(self) -> None:
        pass

    def Sync(self) -> None:
        pass

    def Commit(self) -> None:
        pass

    def Rollback(self) -> None:
        pass

    def Disconnect(self) -> None:
        pass

    Destroy = Disconnect


class Cursor:
    """Streams the rows of one Filter call, one page in memory at a time."""

    def __init__(self, vtable: VTable) -> None:
        self.vtable = vtable
        self.table = vtable.table
        self.width = len(vtable.columns)
        self._pages: AsyncIterator[Page] | None = None
        self._statement: Statement | None = None
        self._ready: list[Page] = []  # pages already at hand (see Scanner.ready)
        self._page: Page = []
        self._i = 0
        self._row: Row = ()

    def Filter(self, indexnum: int, indexname: str, constraintargs: tuple[Any, ...]) -> None:
        self._close_stream()
        plan = Plan.decode(indexname)
        if plan.access == "impossible":
            raise ProgrammingError(
                f"{self.table.name} needs a value for {', '.join(plan.missing)}: add "
                f"WHERE {plan.missing[0]} = '...' (or IN (...), or join on it)"
            )
        session = self.vtable.session
        statement = self._statement = session.statement()
        statement.check()
        bound = bind_plan(self.table, self.vtable.mapping, plan, constraintargs)
        self._page, self._i = [], 0
        ready = session.scanner.ready(self.table, plan, bound, statement.prefetch)
        if ready is not None:  # a join's inner lookup, already prefetched
            self._ready = ready
        else:
            scan = session.scanner.scan(self.table, plan, bound, statement.prefetch)
            self._pages = statement.opened(scan.__aiter__())
        self._advance_page()

    def _advance_page(self) -> None:
        while self._ready or self._pages is not None:
            if self._ready:
                page: Page | None = self._ready.pop(0)
            else:
                assert self._pages is not None and self._statement is not None
                page = self._statement.run(anext_or_none(self._pages))
            if page is None:
                self._pages = None
                break
            if page:
                self.vtable.session.note_rows(len(page))
                self._page, self._i, self._row = page, 0, page[0]
                return
        self._page, self._i = [], 0

    def Eof(self) -> bool:
        return self._i >= len(self._page)

    def Next(self) -> None:
        self._i += 1
        if self._i < len(self._page):
            self._row = self._page[self._i]
        else:
            self._advance_page()

    def Column(self, col: int) -> Any:
        if col < 0:
            return self.Rowid()
        try:
            return self._row[col]
        except IndexError:  # rows hold the declared columns; hidden inputs read as NULL
            return None

    def Rowid(self) -> int:
        row = self._row
        rowid = rowid_for(row_key(self.table, row))
        if self._statement is not None:  # kept for UPDATE/DELETE, until the statement ends
            self._statement.rows_by_id[(self.table.name, rowid)] = row
        return rowid

    def Close(self) -> None:
        self._close_stream()

    def _close_stream(self) -> None:
        self._ready = []
        if self._pages is not None and self._statement is not None:
            pages, self._pages = self._pages, None
            self._statement.close_stream(pages)
