"""Plain full-table reads, streamed to the DB-API cursor without SQLite's row loop.

``SELECT * FROM Participants`` (or plain columns of one table: no WHERE, join,
ORDER BY, LIMIT, DISTINCT, GROUP BY or expression) leaves SQLite nothing to do
but copy each row through, one Python ``Column`` callback per value.  For a
large extract that copy is about half the client's CPU, so for these
statements the cursor takes the scanner's pages itself.

Two independent checks must agree before a statement goes this way:

* :func:`candidate` — sqlglot sees exactly one SELECT of plain columns (or
  ``*``) from one table, with no other clause;
* :func:`confirm` — SQLite prepares the statement (it is never stepped) and its
  authorizer reports what the result reads: one table of ours, in ``main``,
  and one declared column per result column, in order.  A TEMP table that
  shadows the name, a double-quoted word SQLite takes as a string literal, the
  rowid or a hidden column all fail this check, and the statement runs
  through SQLite as usual.

The description is SQLite's own, and :class:`~driver.scan.RowMaker` already
produces the values SQLite would return (text, integers, reals, 1/0 for
booleans, NULL), so both paths give identical rows; ``tests/test_direct.py``
compares them.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import apsw
import sqlglot
from sqlglot import exp
from sqlglot.errors import SqlglotError

from .loop import anext_or_none
from .planner import unconstrained_plan
from .scan import Page, Row, bind_plan
from .schema import Table
from .statement import Statement

if TYPE_CHECKING:
    from .session import Session

# One authorizer event: (action code, table, column, database).
Event = tuple[int, str | None, str | None, str | None]

_SELECT = re.compile(r"\bselect\b", re.I)
_CLAUSES_ALLOWED = {"expressions", "from_"}
_TABLE_ARGS_ALLOWED = {"this", "alias"}
_MAX_SQL = 4000  # longer text is never a plain full-table read worth parsing


@functools.lru_cache(maxsize=256)
def candidate(sql: str) -> bool:
    """Whether ``sql`` has the shape of a plain full-table read (sqlglot's view).

    Cached by text: tools re-run the same statements, and this runs on every execute.
    """
    if len(sql) > _MAX_SQL or not _SELECT.search(sql):
        return False
    try:
        statements = [s for s in sqlglot.parse(sql, read="sqlite") if s is not None]
    except (SqlglotError, RecursionError):  # deep nesting: SQLite decides
        return False
    if len(statements) != 1 or not isinstance(statements[0], exp.Select):
        return False
    select = statements[0]
    if any(value for key, value in select.args.items() if key not in _CLAUSES_ALLOWED):
        return False
    source = select.args.get("from_")
    if not isinstance(source, exp.From) or not isinstance(source.this, exp.Table):
        return False
    table = source.this
    if any(value for key, value in table.args.items() if key not in _TABLE_ARGS_ALLOWED):
        return False
    alias = table.args.get("alias")
    if alias is not None and alias.args.get("columns"):
        return False
    return bool(select.expressions) and all(_plain(e) for e in select.expressions)


def _plain(expression: exp.Expression) -> bool:
    inner = expression.this if isinstance(expression, exp.Alias) else expression
    if isinstance(inner, exp.Star):
        return not isinstance(expression, exp.Alias)
    if not isinstance(inner, exp.Column) or inner.args.get("db") or inner.args.get("catalog"):
        return False
    return isinstance(inner.this, exp.Identifier | exp.Star)


@dataclass(frozen=True)
class DirectRead:
    """A confirmed plain read: the table and, per result column, its row position."""

    table: Table
    positions: tuple[int, ...]

    def projector(self) -> Callable[[Page], Page] | None:
        """Turns full rows into result rows; ``None`` when they are the same."""
        if self.positions == tuple(range(len(self.table.columns))):
            return None
        if len(self.positions) == 1:
            (only,) = self.positions
            return lambda page: [(row[only],) for row in page]
        pick = operator.itemgetter(*self.positions)
        return lambda page: [pick(row) for row in page]


def confirm(
    events: Sequence[Event],
    description: Sequence[tuple[str, str | None]],
    tables: Mapping[str, Table],
) -> DirectRead | None:
    """What SQLite's authorizer saw while preparing: is it a plain read of one table?

    ``tables`` are the tables that can be read whole (see :func:`readable_whole`).
    """
    if not events or events[0][0] != apsw.SQLITE_SELECT:
        return None
    reads = events[1:]
    if not reads or len(reads) != len(description):
        return None
    if any(code != apsw.SQLITE_READ or db != "main" for code, _, _, db in reads):
        return None
    names = {name for _, name, _, _ in reads}
    name = names.pop() if len(names) == 1 else None
    table = tables.get(name) if name else None
    if table is None:
        return None
    index = {c.name: i for i, c in enumerate(table.columns)}
    positions: list[int] = []
    for (_, _, column, _), (_, decltype) in zip(reads, description, strict=True):
        i = index.get(column or "")
        if i is None or table.columns[i].type != decltype:
            return None
        positions.append(i)
    return DirectRead(table, tuple(positions))


def readable_whole(session: Session) -> dict[str, Table]:
    """The provider's tables that need no key to be listed (e.g. via a fan-out)."""
    out: dict[str, Table] = {}
    for name, mapping in session.provider.tables.items():
        table = session.catalog.table(name)
        if table is not None and unconstrained_plan(mapping).access != "impossible":
            out[table.name] = table
    return out


class DirectRows(Iterator[Row]):
    """The rows of a :class:`DirectRead`, streamed page by page from the scanner."""

    def __init__(self, session: Session, read: DirectRead, statement: Statement) -> None:
        table = read.table
        mapping = session.provider.tables[table.name]
        plan = unconstrained_plan(mapping)
        bound = bind_plan(table, mapping, plan, ())
        self._session = session
        self._project = read.projector()
        self._statement = statement
        scan = session.scanner.scan(table, plan, bound, statement.prefetch)
        self._pages: AsyncIterator[Page] | None = statement.opened(scan.__aiter__())
        self._page: Page = []
        self._i = 0
        # Like SQLite's first step inside execute(): the first page arrives (or fails) now.
        try:
            self._page = self._next_page() or []
        except BaseException:
            self.close()
            raise

    def _next_page(self) -> Page | None:
        """The next non-empty page, or None at the end (the stream is then closed)."""
        while self._pages is not None:
            try:
                self._statement.check()
                page = self._statement.run(anext_or_none(self._pages))
            except BaseException:
                self.close()
                raise
            if page is None:
                self._pages = None
                return None
            if page:
                self._session.note_rows(len(page))
                return self._project(page) if self._project else page
        return None

    def __next__(self) -> Row:
        if self._i >= len(self._page):
            page = self._next_page()
            if page is None:
                self._page, self._i = [], 0
                raise StopIteration
            self._page, self._i = page, 0
        row = self._page[self._i]
        self._i += 1
        return row

    def fetch_all(self) -> list[Row]:
        """Every remaining row (whole pages at a time)."""
        out = self._page[self._i :]
        self._page, self._i = [], 0
        while (page := self._next_page()) is not None:
            out.extend(page)
        return out

    def close(self) -> None:
        """Stop the scan: requests still outstanding are cancelled."""
        pages, self._pages = self._pages, None
        self._page, self._i = [], 0
        if pages is not None:
            self._statement.close_stream(pages)
