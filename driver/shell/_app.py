"""The confsql shell: :class:`apsw.shell.Shell` driven through the DB-API cursor.

apsw's shell supplies line input (readline, prompts, completion) and the
dot-command conventions (``command_<name>`` methods whose docstrings feed
``.help``).  Everything that runs goes through ``driver.Connection.cursor()``,
because SQLite cannot parse ``EXEC``.  Statements are cut by
:mod:`._split`; results are printed by :mod:`._output`.
"""

from __future__ import annotations

import contextlib
import difflib
import os
import re
import shlex
import signal
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from types import FrameType
from typing import Any, TextIO

import apsw
import apsw.shell

from .. import __version__
from .. import connect as driver_connect
from .. import loop as driver_loop
from ..catalog import SYS_VIEWS, takers
from ..dbapi import Connection
from ..errors import Error as DriverError
from ..schema import Procedure, Table
from ..validation import describe_allowed
from ._hints import for_shell
from ._output import BUFFERED, MODES, SQLITE_MODES, Formatter, resolve_mode, writer
from ._progress import StatementProgress
from ._secrets import Scrubber, describe_settings, dsn_secrets, mask_dsn
from ._split import Splitter, Statement, split

TEXT_MODES = frozenset({"table", "markdown", "line"})
"""Modes in which .describe prints titles between its result sets."""


@contextlib.contextmanager
def sigint_for_main_thread() -> Iterator[None]:
    """Threads started inside never take SIGINT, so Ctrl-C always wakes the main thread.

    A process-directed signal goes to any thread that does not block it; if a
    background thread (the driver's I/O loop, progress) took it, the main
    thread would sleep on until its wait ended.  Threads inherit this mask.
    """
    if not hasattr(signal, "pthread_sigmask"):
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


class Stop(Exception):
    """Stops the input at its first error (bail)."""


def _is_tty(stream: Any) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # closed file
        return False


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'' if n == 1 else 's'}"


def _like(pattern: str) -> re.Pattern[str]:
    """A SQL LIKE pattern (``%`` and ``_``) as a case-insensitive regex."""
    parts = (".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile("".join(parts) + r"\Z", re.IGNORECASE)


# apsw.shell is untyped; treat the base class as dynamic rather than annotate it here.
_ShellBase: Any = apsw.shell.Shell


class ConfShell(_ShellBase):  # type: ignore[misc]
    """A sqlite3-style shell over a confsql connection."""

    def __init__(
        self,
        conn: Connection,
        *,
        stdin: TextIO,
        stdout: TextIO,
        stderr: TextIO,
        mode: str | None = None,
        header: bool = True,
        bail: bool = False,
        echo: bool = False,
        nullvalue: str = "",
        secrets: Iterable[str] = (),
    ) -> None:
        self.conn = conn
        self.mode = mode or ("table" if _is_tty(stdout) else "csv")
        super().__init__(stdin=stdin, stdout=stdout, stderr=stderr, db=conn.db)
        self.interactive = _is_tty(stdin)
        self.history_file = "~/.confsql_history"
        self.prompt = "confsql> "
        self.moreprompt = "   ...> "
        self.header = header
        self.bail = bail
        self.echo = echo
        self.nullvalue = nullvalue
        self.changes = self.interactive
        self.failures = 0
        self.scrub = Scrubber(secrets)
        self.source = "<stdin>"
        self._cancel_requested = False
        self._told_records = False
        self._install(conn)

    # --- connection -----------------------------------------------------------------

    def _install(self, conn: Connection) -> None:
        """Make ``conn`` the shell's connection (the base class sees its apsw db)."""
        self.conn = conn
        self._db = conn.db
        self.dbfilename = ":memory:"
        with sigint_for_main_thread():
            driver_loop.get_loop()  # start the I/O thread now, with SIGINT blocked
        self._completion_cache = None
        # Lets Ctrl-C reach long pure-SQLite work (sorting, CTEs) between callbacks.
        conn.db.set_progress_handler(lambda: False, 20_000)

    def connection_info(self) -> str:
        """The current connection's properties, secrets masked."""
        return describe_settings(self.conn.session.settings.values)

    def _check_connection(self) -> None:
        """After a cancel, make sure the connection still answers."""
        for _ in range(2):
            try:
                self.conn.db.execute("SELECT 1").fetchall()
                return
            except apsw.InterruptError:
                continue
            except apsw.Error:
                break
        self.write_error("Error: the connection is no longer usable; use .connect to reopen it\n")

    # --- reading input ----------------------------------------------------------------

    def run_input(self, source: str) -> None:
        """Read ``self.stdin`` to its end, running statements and dot-commands."""
        self.source = source
        self.input_line_number = 0
        splitter = Splitter()
        while True:
            prompt = self.moreprompt if splitter.pending else self.prompt
            try:
                line = self.get_line(prompt)
            except KeyboardInterrupt:
                if not self.interactive:
                    raise
                self.write(self.stderr, "^C\n")
                splitter.reset()
                continue
            if line is None:
                for stmt in splitter.finish():
                    self.run_statement(stmt)
                if self.interactive:
                    self.write(self.stderr, "\n")
                return
            if not splitter.pending and line.lstrip().startswith("."):
                splitter.feed("")  # keeps the line count
                self._forget_secret_history(line)
                self.run_command(line.strip(), self.input_line_number)
                continue
            for stmt in splitter.feed(line):
                self.run_statement(stmt)

    def run_text(self, text: str, source: str) -> None:
        """Run one command-line argument: a dot-command or SQL/EXEC statements."""
        self.source = source
        if text.lstrip().startswith("."):
            self.run_command(text.strip(), 1)
            return
        for stmt in split(text):
            self.run_statement(stmt)

    def _raw_input(self, prompt: str = "") -> str:
        """input(), with the prompt on stderr when stdout is redirected to a file."""
        if _is_tty(self.stdout):
            return input(prompt)
        self.stderr.write(prompt.replace("\x01", "").replace("\x02", ""))  # readline markers
        self.stderr.flush()
        return input()

    def _forget_secret_history(self, line: str) -> None:
        """Keep ``.connect ...AuthToken=...`` out of the readline history file."""
        if not (self._using_readline and line.lstrip().startswith(".connect") and "=" in line):
            return
        try:
            import readline

            count = readline.get_current_history_length()
            if count:
                readline.remove_history_item(count - 1)
        except (ImportError, ValueError):
            pass

    def cmdloop(self, intro: str | None = None, transient: str | None = None) -> None:
        """The interactive loop: banner, readline history, prompt until EOF."""
        self.write(self.stderr, intro or self._banner())  # stdout is for results only
        readline: Any = None
        if self.stdin is sys.stdin:
            try:
                import readline as _readline

                readline = _readline
            except ImportError:
                readline = None
        history = os.path.expanduser(self.history_file)
        if readline is not None:
            readline.set_completer(self.complete)
            readline.set_completer_delims(" \t\n`~!#$%^&*()=+[{]}\\|;:'\",<>/?")
            readline.parse_and_bind("tab: complete")
            with contextlib.suppress(OSError):
                readline.read_history_file(history)
            self._using_readline = True
        try:
            self.run_input("<stdin>")
        finally:
            if readline is not None:
                readline.set_history_length(1000)
                with contextlib.suppress(OSError):
                    readline.write_history_file(history)

    def _banner(self) -> str:
        where = self.connection_info()
        sandbox = self.conn.provider.name == "Sandbox"
        extra = " (built-in emulator with demo data)" if sandbox else ""
        return (
            f"confsql {__version__}, connected to {where}{extra}\n"
            'Enter ".help" for instructions. EXEC needs no ";" at the end of its line.\n'
        )

    # --- running ------------------------------------------------------------------------

    def run_statement(self, stmt: Statement) -> None:
        """Run one statement, reporting (not raising) its failure."""
        self._guard(lambda: self._execute(stmt), stmt.line)

    def run_command(self, line: str, line_number: int) -> None:
        """Run one dot-command, reporting (not raising) its failure."""
        self._guard(lambda: self.process_command(line), line_number)

    def _guard(self, action: Callable[[], None], line: int) -> None:
        self._cancel_requested = False
        try:
            with self._sigint_cancels():
                action()
        except (Stop, SystemExit, BrokenPipeError):
            raise
        except KeyboardInterrupt:
            self._cancelled()
        except Exception as exc:
            if self._cancel_requested:  # cleanup after Ctrl-C may fail differently
                self._cancelled()
                return
            self.failures += 1
            self.report(exc, line)
            if self.bail:
                raise Stop from None

    def _cancelled(self) -> None:
        self.write_error("Interrupted\n")
        if not self.interactive:
            raise KeyboardInterrupt
        self._check_connection()

    @contextlib.contextmanager
    def _sigint_cancels(self) -> Iterator[None]:
        """While a statement runs, Ctrl-C also interrupts SQLite."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def on_sigint(signum: int, frame: FrameType | None) -> None:
            self._cancel_requested = True
            self.conn.interrupt()
            raise KeyboardInterrupt

        previous = signal.signal(signal.SIGINT, on_sigint)
        try:
            yield
        finally:
            signal.signal(signal.SIGINT, previous)

    def report(self, exc: BaseException, line: int) -> None:
        """Print ``exc`` as one line: ``Error: ...`` or ``FILE:LINE: Kind: ...``."""
        text = for_shell(self.scrub(str(exc).strip() or type(exc).__name__))
        with contextlib.suppress(Exception):
            self.stdout.flush()  # keep errors after the output that preceded them
        if self.interactive:
            self.write_error(f"Error: {text}\n")
            return
        kind = type(exc).__name__ if isinstance(exc, DriverError) else "Error"
        self.write_error(f"{self.source}:{line}: {kind}: {text}\n")

    def _execute(self, stmt: Statement) -> None:
        if self.echo:
            self.write(self.stderr, stmt.text + "\n")
        stats = self.conn.stats
        started = time.perf_counter()
        before = (int(stats.requests), int(stats.rows), int(stats.gate.throttled))
        cursor = self.conn.cursor()
        buffered = self.mode in BUFFERED or _is_tty(self.stdout)
        progress = StatementProgress(stats, self.stderr, enabled=_is_tty(self.stderr))
        try:
            with progress:
                cursor.execute(stmt.text)
                if cursor.description is not None:
                    columns = [d[0] for d in cursor.description]
                    rows: Iterable[Sequence[Any]] = cursor.fetchall() if buffered else cursor
                    progress.stop()
                    self.emit(columns, rows)
                elif self.changes and cursor.rowcount >= 0:
                    self.write(self.stderr, f"{_count(cursor.rowcount, 'row')} changed\n")
        finally:
            cursor.close()
        if self.timer:
            took = time.perf_counter() - started
            requests, fetched = int(stats.requests) - before[0], int(stats.rows) - before[1]
            throttled = int(stats.gate.throttled) - before[2]
            self.write(
                self.stderr,
                f"Run Time: {took:.3f} s, {_count(requests, 'request')}, "
                f"{_count(fetched, 'row')} fetched, concurrency limit {stats.gate.limit}"
                + (f", {throttled} × 429" if throttled else "")
                + "\n",
            )

    def emit(
        self, columns: Sequence[str], rows: Iterable[Sequence[Any]], *, wrap: bool = False
    ) -> None:
        """Print one result set in the current mode.

        In table mode a result wider than the terminal is shown as records
        (``line`` mode), as psql's ``\\x auto`` does, unless ``wrap`` asks for
        a table whose long texts wrap (the shell's own listings).
        """
        mode = self.mode
        formatter = Formatter(
            self.stdout, header=self.header, null=self.nullvalue, terminal=_is_tty(self.stdout)
        )
        if mode in BUFFERED:
            data = list(rows)
            if not data:
                if self.interactive:
                    self.write(self.stderr, "(no rows)\n")
                return
            if mode == "table" and not wrap and not formatter.table_fits(columns, data):
                mode = "line"
                formatter.null = self.nullvalue or "NULL"  # as the table would show it
                self._tell_records_once()
            rows = data
        writer(formatter, mode)(columns, rows)
        self.stdout.flush()

    def _tell_records_once(self) -> None:
        if not self._told_records:
            self._told_records = True
            self.write(self.stderr, _RECORDS_NOTE)

    def _title(self, text: str) -> None:
        if self.mode in TEXT_MODES:
            self.write(self.stdout, text + "\n")

    # --- dot-command dispatch -------------------------------------------------------------

    def process_command(self, command: str) -> None:
        """Split a dot-command with shlex and call its ``command_<name>`` method."""
        if self.echo:
            self.write(self.stderr, mask_dsn(command) + "\n")
        try:
            parts = shlex.split(command)
        except ValueError as exc:
            raise self.Error(f"cannot read the command: {exc}") from None
        name = parts[0][1:]
        method = getattr(self, "command_" + name.replace("-", "_"), None)
        if method is None or not name:
            raise self.Error(f'unknown command ".{name}"; enter ".help" for the list')
        args = parts[1:]
        if name == "shell":
            rest = command.strip()[len(parts[0]) :].strip()
            args = [rest] if rest else []
        method(args)

    def _commands(self) -> dict[str, str]:
        """Supported command name -> docstring (aliases and unsupported ones left out)."""
        out: dict[str, str] = {}
        for attr in sorted(dir(self)):
            if not attr.startswith("command_"):
                continue
            method = getattr(self, attr)
            name = attr[len("command_") :]
            if getattr(method, "unsupported", False) or name in _ALIASES:
                continue
            out[name] = textwrap.dedent(method.__doc__ or f"{name}: ").strip()
        return out

    def complete_command(self, line: str, token: str, beg: int, end: int) -> list[str]:
        """Tab completion for dot-commands (supported ones only)."""
        self._builtin_commands = ["." + name for name in self._commands()]
        result: list[str] = super().complete_command(line, token, beg, end)
        return result

    def complete_sql(self, line: str, token: str, beg: int, end: int) -> list[str]:
        """Tab completion for SQL, plus table, column, procedure and input names."""
        found: list[str] = super().complete_sql(line, token, beg, end)
        catalog = self.conn.catalog
        names = {"EXEC ", *self._table_names(), *self._procedure_names()}
        for table in catalog.tables.values():
            names.update(c.name for c in catalog.all_columns(table))
        at = "@" if token.startswith("@") else ""  # inputs are written with or without @
        for proc in catalog.procedures.values():
            names.update(at + i.name for i in proc.inputs)
        upper = token.upper()
        extra = sorted(n for n in names if n.upper().startswith(upper) and n not in found)
        return extra + found

    def _calculate_output_modes(self) -> None:
        self._output_modes = list(MODES)
        self._output_modes_detail = [f"{m}: {d}" for m, d in MODES.items()]

    # --- catalog helpers --------------------------------------------------------------------

    def _table_names(self) -> list[str]:
        return [t for t in self.conn.catalog.tables if t in self.conn.provider.tables]

    def _procedure_names(self) -> list[str]:
        return [p for p in self.conn.catalog.procedures if p in self.conn.provider.procedures]

    def _table(self, name: str) -> Table | None:
        table = self.conn.catalog.table(name)
        return table if table and table.name in self.conn.provider.tables else None

    def _procedure(self, name: str) -> Procedure | None:
        proc = self.conn.catalog.procedure(name)
        return proc if proc and proc.name in self.conn.provider.procedures else None

    def _not_found(self, name: str) -> Exception:
        view = next((v for v in SYS_VIEWS if v.lower() == name.lower()), None)
        if view is not None:
            error: Exception = self.Error(
                f"{view} is a catalog view with columns {', '.join(SYS_VIEWS[view])}; "
                f"query it: SELECT * FROM {view}"
            )
            return error
        known = {n.lower(): n for n in (*self._table_names(), *self._procedure_names())}
        close = difflib.get_close_matches(name.lower(), list(known), n=1)
        hint = f"; did you mean {known[close[0]]}?" if close else ""
        error = self.Error(
            f"no table or procedure named {name!r}{hint} "
            "(.tables and .procedures list what this connection has)"
        )
        return error

    # --- commands -------------------------------------------------------------------------

    def command_tables(self, cmd: list[str]) -> None:
        """tables ?PATTERN?: Lists the tables and sys_* catalog views (PATTERN as in LIKE)"""
        if len(cmd) > 1:
            raise self.Error("tables takes at most one pattern")
        match = _like(cmd[0]) if cmd else None
        rows = [(t, self.conn.catalog.tables[t].description) for t in self._table_names()]
        rows += [(v, "catalog view: " + ", ".join(cols)) for v, cols in SYS_VIEWS.items()]
        self.emit(
            ["Table", "Description"],
            [r for r in rows if not match or match.match(r[0])],
            wrap=True,
        )

    def command_procedures(self, cmd: list[str]) -> None:
        """procedures ?PATTERN?: Lists the stored procedures you can EXEC (PATTERN as in LIKE)"""
        if len(cmd) > 1:
            raise self.Error("procedures takes at most one pattern")
        match = _like(cmd[0]) if cmd else None
        procs = self.conn.catalog.procedures
        rows = [(p, procs[p].description) for p in self._procedure_names()]
        self.emit(
            ["Procedure", "Description"],
            [r for r in rows if not match or match.match(r[0])],
            wrap=True,
        )

    def command_schema(self, cmd: list[str]) -> None:
        """schema ?TABLE?: Shows the CREATE TABLE-like declaration of TABLE (or of every table)

        HIDDEN columns are write-only: they are inputs of the procedure an
        INSERT or UPDATE runs and always read back as NULL.
        """
        if len(cmd) > 1:
            raise self.Error("schema takes at most one table name")
        names = cmd or self._table_names()
        for name in names:
            table = self._table(name)
            if table is None:
                if self._procedure(name):
                    raise self.Error(f"{name} is a procedure: use .describe {name}")
                raise self._not_found(name)
            self.write(self.stdout, self._declaration(table))

    def _declaration(self, table: Table) -> str:
        catalog = self.conn.catalog
        lines = []
        columns = catalog.all_columns(table)
        width = max(len(self._fmt_sql_identifier(c.name)) for c in columns)
        for col in columns:
            ident = self._fmt_sql_identifier(col.name)
            flags = " HIDDEN" if col.hidden else ""
            note = "write-only" if col.hidden else ("" if col.writable else "read-only")
            if col.key:
                note = "key, " + note if note else "key"
            comment = f"  -- {note}: {col.description}" if note else f"  -- {col.description}"
            lines.append(f"    {ident:<{width}} {col.type}{flags},{comment}")
        keys = ", ".join(self._fmt_sql_identifier(c.name) for c in table.keys)
        if keys:
            lines.append(f"    PRIMARY KEY ({keys})")
        else:  # no trailing comma on the last column
            lines[-1] = lines[-1].replace(",  --", "   --", 1)
        return f"CREATE TABLE {table.name} (\n" + "\n".join(lines) + "\n);\n"

    def command_describe(self, cmd: list[str]) -> None:
        """describe NAME: Shows a procedure's inputs and result columns, or a table's columns

        For a procedure: each input's type, whether it is required, the
        values it accepts and what it does, then the columns EXEC returns.
        For a table: each column's type, whether it is a key, read-only or
        a hidden write-only column, and what it holds.
        """
        if len(cmd) != 1:
            raise self.Error("describe takes one table or procedure name")
        proc = self._procedure(cmd[0])
        if proc is not None:
            self._describe_procedure(proc)
            return
        table = self._table(cmd[0])
        if table is None:
            raise self._not_found(cmd[0])
        self._describe_table(table)

    def _describe_procedure(self, proc: Procedure) -> None:
        self._title(f"{proc.name}: {proc.description}\n\nInputs:")
        formats = self.conn.provider.formats
        self.emit(
            ["Input", "Type", "Required", "Allowed", "Providers", "Description"],
            [
                (
                    i.name,
                    i.type,
                    "yes" if i.required else "no",
                    describe_allowed(i, formats),
                    ", ".join(takers(self.conn.catalog, proc.name, i.name)),
                    i.description,
                )
                for i in proc.inputs
            ],
        )
        self._title("\nResults:")
        self.emit(
            ["Column", "Type", "Description"],
            [(r.name, r.type, r.description) for r in proc.results],
        )
        required = ", ".join(f"{i.name} = '...'" for i in proc.inputs if i.required)
        self._title(f"\nExample: EXEC {proc.name} {required}".rstrip())

    def _describe_table(self, table: Table) -> None:
        self._title(f"{table.name}: {table.description}\n")
        catalog = self.conn.catalog
        self.emit(
            ["Column", "Type", "Key", "ReadOnly", "Hidden", "Description"],
            [
                (
                    c.name,
                    c.type,
                    "yes" if c.key else "",
                    "" if c.writable else "yes",
                    "yes" if c.hidden else "",
                    c.description,
                )
                for c in catalog.all_columns(table)
            ],
        )
        writes = [
            f"{verb} runs {proc}"
            for verb, proc in (
                ("INSERT", table.insert),
                ("UPDATE", table.update),
                ("DELETE", table.delete),
            )
            if proc
        ]
        self._title("\nWrites: " + ("; ".join(writes) if writes else "read-only table"))

    def command_connect(self, cmd: list[str]) -> None:
        """connect ?DSN?: Opens a new connection (without DSN: shows the current one)

        DSN is Key=Value pairs separated by ';' (or given as separate
        words), e.g. Provider=Sandbox, or
        "Provider=Twilio;AccountSid=AC...;AuthToken=..." (quote it).
        Missing credentials come from the TWILIO_* environment variables.
        Secrets are never shown.
        """
        if not cmd:
            self.write(self.stdout, f"Connected to {self.connection_info()}\n")
            return
        if [c.lower() for c in cmd] in (["sandbox"], ["--sandbox"]):
            cmd = ["Provider=Sandbox"]
        dsn = ";".join(cmd)
        self.scrub.add(dsn_secrets(dsn))
        try:
            with sigint_for_main_thread():
                conn = driver_connect(dsn)
        except DriverError as exc:
            raise self.Error(f"cannot connect: {exc}") from None
        old = self.conn
        self._install(conn)
        with contextlib.suppress(Exception):
            old.close()
        self.write(self.stderr, f"Connected to {self.connection_info()}\n")

    def command_show(self, cmd: list[str]) -> None:
        """show: Shows the connection (secrets masked) and the shell's settings"""
        if cmd:
            raise self.Error("show takes no arguments")
        output = getattr(self.stdout, "name", "stdout")
        if self.stdout is self._original_stdout:
            output = "stdout"
        settings = [
            ("connection", self.connection_info()),
            ("mode", self.mode),
            ("headers", "on" if self.header else "off"),
            ("nullvalue", repr(self.nullvalue)),
            ("output", str(output)),
            ("bail", "on" if self.bail else "off"),
            ("echo", "on" if self.echo else "off"),
            ("timer", "on" if self.timer else "off"),
            ("changes", "on" if self.changes else "off"),
        ]
        width = max(len(k) for k, _ in settings)
        for key, value in settings:
            self.write(self.stdout, f"{key:>{width}}: {value}\n")

    def command_mode(self, cmd: list[str]) -> None:
        """mode ?MODE?: Sets the output mode (without MODE: shows it)

        table     boxed table (default when stdout is a terminal); a result
                  wider than the terminal is shown as in line mode
        csv       comma-separated values, NULL as empty (default otherwise)
        tabs      tab-separated values
        json      a JSON array of objects per statement, NULL as null
        jsonl     one JSON object per line
        markdown  a Markdown table
        line      one "column = value" per line, a blank line between rows

        sqlite3's names work too: box, column and qbox give table, list,
        ascii and tcl give tabs, quote gives csv and html gives markdown.
        """
        if not cmd:
            self.write(self.stdout, f"current output mode: {self.mode}\n")
            return
        if len(cmd) != 1:
            raise self.Error("mode takes one mode name")
        mode = resolve_mode(cmd[0])
        if mode is None:
            if cmd[0].lower() == "insert":
                raise self.Error(
                    "mode insert is not supported: the tables are live views, not a database "
                    "to reload; use .mode csv or .mode json to export"
                )
            raise self.Error(
                f"mode must be one of {', '.join(MODES)} (or sqlite3's {', '.join(SQLITE_MODES)})"
            )
        if mode != cmd[0].lower() and self.interactive:
            self.write(self.stderr, f"(.mode {cmd[0].lower()} is shown as confsql's {mode})\n")
        self.mode = mode

    def command_header(self, cmd: list[str]) -> None:
        """headers ON|OFF: Show column names in table, csv, tabs and markdown output (default ON)"""
        self.header = self._boolean_command("headers", cmd)

    command_headers = command_header

    def command_changes(self, cmd: list[str]) -> None:
        """changes ON|OFF: Show how many rows each INSERT, UPDATE or DELETE changed"""
        self.changes = self._boolean_command("changes", cmd)

    def command_nullvalue(self, cmd: list[str]) -> None:
        """nullvalue STRING: Show NULL as STRING in table, csv, tabs, markdown and line output

        JSON output always uses null.  The default is an empty string
        (tables show a dim NULL).
        """
        super().command_nullvalue(cmd)

    def command_timer(self, cmd: list[str]) -> None:
        """timer ON|OFF: After each statement show its run time, requests sent and rows fetched"""
        self.timer = self._boolean_command("timer", cmd)

    def command_bail(self, cmd: list[str]) -> None:
        """bail ON|OFF: Stop at the first error (default ON for scripts, OFF at the prompt)"""
        self.bail = self._boolean_command("bail", cmd)

    def command_read(self, cmd: list[str]) -> None:
        """read FILE: Runs the statements and dot-commands in FILE

        Errors are reported as FILE:LINE; with .bail on the first one
        stops everything.
        """
        if len(cmd) != 1:
            raise self.Error("read takes one file name")
        try:
            handle = open(cmd[0], encoding=self.encoding[0])  # noqa: SIM115
        except OSError as exc:
            raise self.Error(f"cannot read {cmd[0]}: {exc.strerror}") from None
        source = self.source
        self.push_input()
        try:
            self.stdin = handle
            self.interactive = False
            self.run_input(cmd[0])
        finally:
            self.pop_input()
            self.source = source
            handle.close()

    def command_version(self, cmd: list[str]) -> None:
        """version: Shows the confsql, SQLite and APSW versions"""
        self.write(
            self.stdout,
            f"confsql {__version__}\nSQLite {apsw.sqlite_lib_version()}\n"
            f"APSW {apsw.apsw_version()}\n",
        )

    def command_exit(self, cmd: list[str], name: str = "exit") -> None:
        """exit ?CODE?: Leaves the shell (Ctrl-D at the prompt does too)"""
        super().command_exit(cmd, name=name)

    def command_quit(self, cmd: list[str]) -> None:
        """quit ?CODE?: Leaves the shell, like .exit"""
        self.command_exit(cmd, name="quit")

    def command_help(self, cmd: list[str]) -> None:
        """help ?COMMAND?: Lists the dot-commands, or shows the details of COMMAND"""
        commands = self._commands()
        if not cmd:
            rows = []
            for doc in commands.values():
                usage, _, summary = doc.split("\n", 1)[0].partition(":")
                rows.append(("." + usage.strip(), summary.strip()))
            width = max(len(u) for u, _ in rows)
            self.write(self.stdout, _HELP_INTRO)
            for usage, summary in rows:
                self.write(self.stdout, f"{usage:<{width}}  {summary}\n")
            return
        for name in cmd:
            key = name.lstrip(".").replace("-", "_")
            key = _ALIASES.get(key, key)
            method = getattr(self, "command_" + key, None)
            if method is None:
                raise self.Error(f'no command ".{key}"; enter ".help" for the list')
            doc = textwrap.dedent(method.__doc__ or "").strip()
            first, _, rest = doc.partition("\n")
            usage, _, summary = first.partition(":")
            text = f".{usage.strip()}\n    {summary.strip()}\n"
            if rest.strip():
                text += "\n" + textwrap.indent(textwrap.dedent(rest).strip("\n"), "    ") + "\n"
            self.write(self.stdout, text)


Shell = apsw.shell.Shell

_RECORDS_NOTE = (
    "(Rows wider than the terminal are shown as records: a 'column = value' line per\n"
    " column, a blank line between rows.  Select fewer columns or widen the terminal\n"
    " to get a table.)\n"
)

_ALIASES = {"headers": "header", "color": "colour"}

_HELP_INTRO = """\
Statements: SELECT, INSERT, UPDATE and DELETE end with ';'.
EXEC Procedure Input = value, ... ends with ';' or at the end of its line, unless
the line ends in ',' or '=' or inside parentheses or a string: then it goes on.
The '@' before an input name (@Input = value) is optional.
.describe Procedure lists its inputs.  -- and /* */ comments are allowed.
Ctrl-C cancels a running statement.

"""

SUPPORTED = frozenset(
    {
        *("bail", "cd", "changes", "color", "colour", "connect", "describe", "echo", "exit"),
        *("header", "headers", "help", "mode", "nullvalue", "output", "print", "procedures"),
        *("prompt", "quit", "read", "schema", "shell", "show", "tables", "timer", "version"),
    }
)
"""Dot-commands that make sense for confsql; the base class's others are disabled."""

_EXPORT = (
    "the tables are live views of the account, not a database file; to export use "
    ".mode csv, .output FILE and SELECT"
)
_HINTS = {
    "backup": _EXPORT,
    "restore": "change data with INSERT, UPDATE, DELETE or EXEC",
    "dump": _EXPORT,
    "open": "use .connect DSN to switch accounts",
    "close": "use .connect DSN to switch accounts",
    "connection": "use .connect to show or switch the connection",
    "databases": "use .connect to show the connection",
    "import": "add rows with INSERT INTO Participants ... or EXEC AddParticipants",
    "autoimport": "add rows with INSERT INTO Participants ... or EXEC AddParticipants",
    "find": "query the tables with SELECT ... WHERE",
    "separator": "use .mode csv or .mode tabs",
    "width": ".mode table sizes columns to fit",
    "parameter": "write the values into the statement",
    "py": "use the Python API: import driver; driver.connect(...)",
    "exceptions": "errors are always shown as one line",
}


def _unsupported(name: str, hint: str) -> Callable[[ConfShell, list[str]], None]:
    def command(self: ConfShell, cmd: list[str]) -> None:
        raise self.Error(f".{name} is not supported by confsql: {hint}")

    command.__doc__ = f"{name}: not supported by confsql"
    command.unsupported = True  # type: ignore[attr-defined]
    return command


for _attr in dir(Shell):
    _name = _attr[len("command_") :]
    if _attr.startswith("command_") and _name not in SUPPORTED:
        _hint = _HINTS.get(_name, "it has no meaning for a live API connection")
        setattr(ConfShell, _attr, _unsupported(_name, _hint))
