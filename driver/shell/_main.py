"""``confsql`` command line: options, connection, then script, arguments or prompt."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import Any

from .. import __version__
from .. import connect as driver_connect
from ..errors import Error as DriverError
from ..options import add_connection_options, connection_properties, given_secrets
from ..settings import secret_env_vars
from ._app import ConfShell, Stop, sigint_for_main_thread
from ._output import MODES, SQLITE_MODES, resolve_mode
from ._secrets import Scrubber, dsn_secrets

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

_EPILOG = """\
examples:
  confsql --sandbox                                  interactive, demo data
  confsql --sandbox "SELECT FriendlyName, Status FROM Conferences"
  confsql --sandbox -f calls.sql                     run a script, stop at the first error
  confsql --dsn "Provider=Twilio;AccountSid=AC...;AuthToken=..." --mode json < calls.sql
  confsql listen --help                              receive conference events (webhooks)

Credentials may also come from TWILIO_ACCOUNT_SID / TWILIO_AUTH_TOKEN (or
TWILIO_API_KEY / TWILIO_API_SECRET).  An EXEC ends at ';' or at the end of its
line (a line ending in ',' or '=', or inside parentheses or a string, goes on);
other statements end at ';'.
exit status: 0 ok, 1 a statement failed, 2 usage or connection error.
"""


def _mode(name: str) -> str:
    """A --mode value: sqlite3's names become the closest confsql mode."""
    return resolve_mode(name) or name


def build_parser() -> argparse.ArgumentParser:
    """The argument parser; one option per connection property."""
    parser = argparse.ArgumentParser(
        prog="confsql",
        description="SQL shell for programmable-voice conferences (Twilio or the sandbox).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "sql",
        nargs="*",
        metavar="SQL",
        help="statements or dot-commands to run, then exit (each argument may hold several)",
    )
    add_connection_options(parser.add_argument_group("connection"))
    out = parser.add_argument_group("input and output")
    out.add_argument("-f", "--file", help="run the statements in FILE ('-' for stdin)")
    out.add_argument(
        "--mode",
        type=_mode,
        choices=list(MODES),
        help="output mode (default: table on a terminal, csv otherwise); sqlite3's names "
        f"{', '.join(SQLITE_MODES)} give the closest of these",
    )
    out.add_argument(
        "--header",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="column names in table/csv/tabs/markdown output (default on)",
    )
    out.add_argument("--nullvalue", default="", metavar="TEXT", help="how to show NULL")
    out.add_argument(
        "--continue",
        dest="keep_going",
        action="store_true",
        help="keep going after a failed statement (the exit status still reports it)",
    )
    out.add_argument("--echo", action="store_true", help="print each statement before it runs")
    out.add_argument("--version", action="version", version=f"confsql {__version__}")
    return parser


def _secrets(args: argparse.Namespace) -> set[str]:
    found = given_secrets(args)
    found |= {os.environ[name] for name in secret_env_vars() if name in os.environ}
    if args.dsn:
        found |= dsn_secrets(args.dsn)
    return found


def _connect(args: argparse.Namespace) -> Any:
    return driver_connect(args.dsn or "", **connection_properties(args))


def main(argv: Sequence[str] | None = None) -> int:
    """Run the shell; returns the exit status (0 ok, 1 statement failed, 2 usage)."""
    words = list(sys.argv[1:] if argv is None else argv)
    if words[:1] == ["listen"]:  # `confsql listen ...`: the webhook receiver
        from ..events.cli import main as listen

        return listen(words[1:])
    if words[:1] == ["serve"]:  # `confsql serve ...`: the Postgres wire-protocol server
        from ..serve import main as serve

        return serve(words[1:])
    parser = build_parser()
    args = parser.parse_intermixed_args(argv)
    scrub = Scrubber(_secrets(args))
    try:
        with sigint_for_main_thread():
            conn = _connect(args)
    except DriverError as exc:
        message = str(exc)
        if "Provider=Sandbox" in message:
            message += " (here: confsql --sandbox)"
        print(f"Error: cannot connect: {scrub(message)}", file=sys.stderr)
        return EXIT_USAGE
    script = args.file is not None or bool(args.sql) or not sys.stdin.isatty()
    shell = ConfShell(
        conn,
        stdin=sys.stdin,
        stdout=sys.stdout,
        stderr=sys.stderr,
        mode=args.mode,
        header=args.header,
        bail=script and not args.keep_going,
        echo=args.echo,
        nullvalue=args.nullvalue,
        secrets=scrub.secrets,
    )
    try:
        if args.file is not None:
            if args.file == "-":
                shell.interactive = False
                shell.run_input("<stdin>")
            else:
                try:
                    handle = open(args.file, encoding="utf-8")  # noqa: SIM115
                except OSError as exc:
                    print(f"Error: cannot read {args.file}: {exc.strerror}", file=sys.stderr)
                    return EXIT_USAGE
                with handle:
                    shell.stdin, shell.interactive = handle, False
                    shell.run_input(args.file)
        for number, text in enumerate(args.sql, 1):
            shell.interactive = False
            shell.run_text(text, f"<argument {number}>")
        if not script:
            shell.cmdloop()
            return EXIT_OK
        if args.file is None and not args.sql:
            shell.run_input("<stdin>")
    except Stop:
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away (e.g. `| head`): stop quietly
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    finally:
        shell.conn.close()
    return EXIT_FAILED if shell.failures else EXIT_OK
