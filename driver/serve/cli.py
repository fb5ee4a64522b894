"""``confsql serve``: options, the config file, safety checks, then the server.

One account (``--dsn``, ``--sandbox``, the per-property flags or the usual
environment variables) or several (``--config FILE``: Postgres user names
mapped to DSNs).  Clients authenticate with SCRAM-SHA-256; only the sandbox on
a loopback address accepts anyone.  A non-loopback address needs TLS
(``--tls-cert``/``--tls-key``) unless ``--insecure`` is given.

The config file (TOML)::

    [users.dashboards]
    password = "..."            # or scram = "SCRAM-SHA-256$4096:..." (--hash-password)
    dsn = "Provider=Twilio;AccountSid=AC...;AuthToken=..."
    read_only = true            # optional, per user

    [users.ops]
    scram = "SCRAM-SHA-256$4096:..."
    dsn = "Provider=Sandbox"
"""

from __future__ import annotations

import argparse
import getpass
import logging
import os
import re
import ssl
import sys
import tomllib
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import driver

from ..errors import Error as DriverError
from ..options import add_connection_options, connection_properties
from ..settings import resolve
from .backend import Account
from .client import Login
from .scram import Verifier, make_verifier, parse_verifier, verifier_from_password
from .server import Server, ServerConfig, is_loopback

PASSWORD_ENV = "CONFSQL_SERVE_PASSWORD"
DEFAULT_LISTEN = "127.0.0.1:5433"
EXIT_OK, EXIT_USAGE = 0, 2

_EPILOG = f"""\
examples:
  confsql serve --sandbox                      demo data on 127.0.0.1:5433, any login
  psql -h 127.0.0.1 -p 5433 -U confsql confsql
  {PASSWORD_ENV}=... confsql serve --dsn "Provider=Twilio;AccountSid=AC...;AuthToken=..."
  confsql serve --config users.toml --listen 0.0.0.0:5433 --tls-cert c.pem --tls-key k.pem
  confsql serve --hash-password                 print a SCRAM verifier for the config file

With one account, clients log in with any user name and the password in
{PASSWORD_ENV}.  With --config, the user name picks the account.
"""


class UsageError(Exception):
    """A setting that prevents the server from starting (exit status 2)."""


def build_parser() -> argparse.ArgumentParser:
    """Options of ``confsql serve``."""
    parser = argparse.ArgumentParser(
        prog="confsql serve",
        description="Serve confsql over the Postgres wire protocol (psql, ODBC, JDBC, BI tools).",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--listen",
        default=DEFAULT_LISTEN,
        metavar="HOST:PORT",
        help=f"address to listen on (default {DEFAULT_LISTEN})",
    )
    parser.add_argument("--config", metavar="FILE", help="TOML file mapping Postgres users to DSNs")
    parser.add_argument(
        "--read-only",
        action="store_true",
        help="refuse EXEC, INSERT, UPDATE and DELETE (SQLSTATE 25006)",
    )
    parser.add_argument("--tls-cert", metavar="FILE", help="TLS certificate chain (PEM)")
    parser.add_argument("--tls-key", metavar="FILE", help="TLS private key (PEM)")
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="allow a non-loopback address without TLS (passwords and data travel in clear)",
    )
    parser.add_argument(
        "--max-clients",
        type=int,
        default=100,
        metavar="N",
        help="most concurrent clients (default 100)",
    )
    parser.add_argument(
        "--hash-password",
        action="store_true",
        help="read a password and print its SCRAM-SHA-256 verifier, then exit",
    )
    parser.add_argument("--verbose", "-v", action="store_true", help="log connections and failures")
    conn = parser.add_argument_group("connection (one account; ignored with --config)")
    add_connection_options(conn)
    return parser


def _listen(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not host:
        raise UsageError(f"--listen must be HOST:PORT, not {text!r}")
    number = int(port)
    if not 0 <= number <= 65535:
        raise UsageError(f"--listen port {number} is out of range")
    return host, number


def _tls(args: argparse.Namespace) -> ssl.SSLContext | None:
    if not args.tls_cert and not args.tls_key:
        return None
    if not (args.tls_cert and args.tls_key):
        raise UsageError("--tls-cert and --tls-key go together")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(args.tls_cert, args.tls_key)
    except (OSError, ssl.SSLError) as exc:
        raise UsageError(f"cannot load the TLS certificate or key: {exc}") from None
    return context


def _single_props(args: argparse.Namespace) -> dict[str, Any]:
    return connection_properties(args)


def _is_sandbox(dsn: str, props: dict[str, Any]) -> bool:
    """Whether these connection options name a provider's sandbox (resolved, not guessed)."""
    _, settings = resolve(dsn, props)
    return bool(settings["Sandbox"])


def _check_account(label: str, account: Account) -> None:
    """Open and close one connection now, so a bad DSN fails at start, not at first login."""
    try:
        driver.connect(account.dsn, **dict(account.props)).close()
    except DriverError as exc:
        message = re.sub(r"cannot read '.*?'", "cannot read part of it", str(exc))
        raise UsageError(f"{label}: cannot connect: {message}") from None


def _config_logins(path: str, notes: list[str]) -> Callable[[str], Login | None]:
    try:
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"cannot read --config {path}: {exc.strerror}") from None
    except tomllib.TOMLDecodeError as exc:
        raise UsageError(f"--config {path} is not valid TOML: {exc}") from None
    users = raw.get("users")
    if not isinstance(users, dict) or not users:
        raise UsageError(f"--config {path}: no [users.NAME] tables")
    unknown = set(raw) - {"users"}
    if unknown:
        raise UsageError(
            f"--config {path}: unknown section(s) {sorted(unknown)}; only [users.NAME]"
        )
    logins: dict[str, Login] = {}
    for user, entry in users.items():
        if not isinstance(entry, dict):
            raise UsageError(f"--config {path}: users.{user} must be a table")
        extra = set(entry) - {"password", "scram", "dsn", "read_only"}
        if extra:
            raise UsageError(f"--config {path}: users.{user} has unknown key(s) {sorted(extra)}")
        verifier = _verifier(path, user, entry)
        dsn = entry.get("dsn")
        if not isinstance(dsn, str) or not dsn:
            raise UsageError(f'--config {path}: users.{user} needs dsn = "..."')
        account = Account(dsn, {}, bool(entry.get("read_only", False)))
        _check_account(f"--config {path}: users.{user}", account)
        logins[user] = Login(account, verifier)
    notes.append(f"{len(logins)} user(s) from {path}: {', '.join(sorted(logins))}")
    return logins.get


def _verifier(path: str, user: str, entry: dict[str, Any]) -> Verifier:
    if "scram" in entry:
        try:
            return parse_verifier(str(entry["scram"]))
        except ValueError as exc:
            raise UsageError(f"--config {path}: users.{user}.scram: {exc}") from None
    password = entry.get("password")
    if not isinstance(password, str) or not password:
        raise UsageError(f"--config {path}: users.{user} needs password or scram")
    return verifier_from_password(password)


def _single_logins(
    args: argparse.Namespace, loopback: bool, notes: list[str]
) -> Callable[[str], Login | None]:
    props = _single_props(args)
    dsn = args.dsn or ""
    account = Account(dsn, props)
    _check_account("the account", account)
    password = os.environ.get(PASSWORD_ENV) or None
    sandbox = _is_sandbox(dsn, props)
    if password is None:
        if not (sandbox and loopback):
            raise UsageError(
                f"set {PASSWORD_ENV} to the password clients must give (or use --config FILE); "
                "only the sandbox on a loopback address accepts any login"
            )
        notes.append("sandbox on a loopback address: accepting any user name and password")
        login = Login(account, None)
        return lambda user: login
    notes.append(f"any user name, with the password from {PASSWORD_ENV} (SCRAM-SHA-256)")
    login = Login(account, verifier_from_password(password))
    return lambda user: login


def configure(args: argparse.Namespace) -> ServerConfig:
    """Check the options and build the server configuration (raises UsageError)."""
    host, port = _listen(args.listen)
    loopback = is_loopback(host)
    tls = _tls(args)
    notes: list[str] = []
    if not loopback and tls is None and not args.insecure:
        raise UsageError(
            f"refusing to listen on {host}, which is not a loopback address, without TLS: "
            "give --tls-cert and --tls-key (or --insecure to send passwords and data in clear)"
        )
    if not loopback and tls is None:
        notes.append(f"WARNING: --insecure: {host} is not loopback and traffic is not encrypted")
    if args.max_clients < 1:
        raise UsageError("--max-clients must be at least 1")
    logins = (
        _config_logins(args.config, notes) if args.config else _single_logins(args, loopback, notes)
    )
    if tls is not None:
        notes.append(
            "TLS on" + ("; clients must use it" if not loopback and not args.insecure else "")
        )
    if args.read_only:
        notes.append("read-only: EXEC, INSERT, UPDATE and DELETE are refused")
    return ServerConfig(
        host,
        port,
        logins,
        tls=tls,
        require_tls=tls is not None and not loopback and not args.insecure,
        read_only=args.read_only,
        max_clients=args.max_clients,
        notes=notes,
    )


def _hash_password() -> int:
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            print("Error: the passwords differ", file=sys.stderr)
            return EXIT_USAGE
    else:
        first = sys.stdin.readline().rstrip("\n")
    if not first:
        print("Error: empty password", file=sys.stderr)
        return EXIT_USAGE
    print(make_verifier(first))
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``confsql serve``; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s confsql serve: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("httpx").setLevel(logging.WARNING)
    if args.hash_password:
        return _hash_password()
    try:
        config = configure(args)
    except UsageError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    server = Server(config)
    try:
        host, port = server.start()
    except OSError as exc:
        print(f"Error: cannot listen on {args.listen}: {exc.strerror or exc}", file=sys.stderr)
        return EXIT_USAGE
    shown = f"[{host}]" if ":" in host else host
    print(f"confsql serve: listening on {shown}:{port}", file=sys.stderr)
    for note in config.notes:
        print(f"confsql serve: {note}", file=sys.stderr)
    print(
        f"confsql serve: try  psql -h {host} -p {port} -U confsql confsql",
        file=sys.stderr,
        flush=True,
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return EXIT_OK
