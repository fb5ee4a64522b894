"""Result formatting for the shell's output modes."""

from __future__ import annotations

import base64
import csv
import json
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO

from rich import box
from rich.cells import cell_len
from rich.console import Console
from rich.table import Table
from rich.text import Text

Row = Sequence[Any]


def _text(value: Any, null: str) -> str:
    if value is None:
        return null
    if isinstance(value, bytes):
        return value.hex()
    return str(value)


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    return str(value)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _lines_width(text: str) -> int:
    return max((cell_len(line) for line in text.splitlines()), default=0)


def table_width(columns: Sequence[str], rows: Iterable[Row], *, header: bool, null: str) -> int:
    """Terminal cells a boxed table needs to show every value without wrapping it."""
    widths = [_lines_width(c) if header else 0 for c in columns]
    shown_null = null or "NULL"
    for row in rows:
        for i, value in enumerate(row):
            text = shown_null if value is None else _text(value, null)
            widths[i] = max(widths[i], _lines_width(text))
    return sum(w + 3 for w in widths) + 1  # a space either side and a border per column


class Formatter:
    """Writes result sets to ``out`` in one mode."""

    def __init__(self, out: TextIO, *, header: bool, null: str, terminal: bool) -> None:
        self.out = out
        self.header = header
        self.null = null
        self.terminal = terminal

    def _console(self) -> Console:
        return Console(
            file=self.out,
            width=None if self.terminal else 100_000,
            highlight=False,
            markup=False,
            emoji=False,
            force_terminal=self.terminal or None,
        )

    def table_fits(self, columns: Sequence[str], rows: Sequence[Row]) -> bool:
        """Whether a boxed table shows ``rows`` on the terminal without wrapping a value.

        Off a terminal there is no width to fit, so a table always fits.
        """
        if not self.terminal:
            return True
        needed = table_width(columns, rows, header=self.header, null=self.null)
        return needed <= self._console().width

    def table(self, columns: Sequence[str], rows: Iterable[Row]) -> None:
        """Boxed table (rich); the whole result is measured first."""
        data = list(rows)
        if not data and not self.header:
            return
        grid = Table(box=box.SQUARE, show_header=self.header, header_style="bold")
        for i, name in enumerate(columns):
            numeric = bool(data) and all(_is_number(r[i]) or r[i] is None for r in data)
            grid.add_column(
                name,
                justify="right" if numeric else "left",
                overflow="fold",
                no_wrap=i == 0,  # keep names and SIDs on one line
            )
        null = self.null or "NULL"
        for row in data:
            grid.add_row(
                *(Text(null, style="dim") if v is None else Text(_text(v, null)) for v in row)
            )
        self._console().print(grid, crop=False)

    def _delimited(self, columns: Sequence[str], rows: Iterable[Row], dialect: str) -> None:
        writer = csv.writer(self.out, dialect=dialect, lineterminator="\n")
        if self.header:
            writer.writerow(columns)
        for row in rows:
            writer.writerow([_text(v, self.null) for v in row])

    def csv(self, columns: Sequence[str], rows: Iterable[Row]) -> None:
        """Comma-separated values (RFC 4180 quoting); NULL is empty."""
        self._delimited(columns, rows, "excel")

    def tabs(self, columns: Sequence[str], rows: Iterable[Row]) -> None:
        """Tab-separated values."""
        self._delimited(columns, rows, "excel-tab")

    def json(self, columns: Sequence[str], rows: Iterable[Row]) -> None:
        """One JSON array of objects per statement; NULL is null."""
        self.out.write("[")
        sep = "\n"
        for row in rows:
            obj = json.dumps(dict(zip(columns, row, strict=False)), default=_json_default)
            self.out.write(sep + obj)
            sep = ",\n"
        self.out.write("\n]\n" if sep != "\n" else "]\n")

    def jsonl(self, columns: Sequence[str], rows: Iterable[Row]) -> None:
        """One JSON object per line."""
        for row in rows:
            obj = json.dumps(dict(zip(columns, row, strict=False)), default=_json_default)
            self.out.write(obj + "\n")

    def markdown(self, columns: Sequence[str], rows: Iterable[Row]) -> None:
        """A GitHub-flavoured Markdown table."""

        def cell(value: Any) -> str:
            return (
                _text(value, self.null)
                .replace("|", "\\|")
                .replace("\r\n", "<br>")
                .replace("\n", "<br>")
            )

        self.out.write("| " + " | ".join(cell(c) for c in columns) + " |\n")
        self.out.write("|" + "|".join(" --- " for _ in columns) + "|\n")
        for row in rows:
            self.out.write("| " + " | ".join(cell(v) for v in row) + " |\n")

    def line(self, columns: Sequence[str], rows: Iterable[Row]) -> None:
        """One ``column = value`` per line, a blank line between rows."""
        width = max((len(c) for c in columns), default=0)
        for row in rows:
            for name, value in zip(columns, row, strict=False):
                self.out.write(f"{name:>{width}} = {_text(value, self.null)}\n")
            self.out.write("\n")


MODES: dict[str, str] = {
    "table": "boxed table (default when stdout is a terminal)",
    "csv": "comma-separated values (default when stdout is not a terminal)",
    "tabs": "tab-separated values",
    "json": "a JSON array of objects per statement, NULL as null",
    "jsonl": "one JSON object per line",
    "markdown": "a Markdown table",
    "line": "one 'column = value' per line, rows separated by a blank line",
}
"""Output modes and what they print."""

SQLITE_MODES: dict[str, str] = {
    "box": "table",
    "column": "table",
    "qbox": "table",
    "list": "tabs",
    "ascii": "tabs",
    "tcl": "tabs",
    "quote": "csv",
    "html": "markdown",
}
"""sqlite3's other mode names and the confsql mode closest to each."""


def resolve_mode(name: str) -> str | None:
    """The confsql mode for ``name`` (a confsql or sqlite3 mode name, any case), or None."""
    key = name.lower()
    return key if key in MODES else SQLITE_MODES.get(key)


BUFFERED = frozenset({"table"})
"""Modes that need every row before printing anything."""


def writer(formatter: Formatter, mode: str) -> Callable[[Sequence[str], Iterable[Row]], None]:
    """The formatter method for ``mode``."""
    method: Callable[[Sequence[str], Iterable[Row]], None] = getattr(formatter, mode)
    return method
