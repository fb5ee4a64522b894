"""``confsql listen``: the webhook receiver's command line.

Secrets come from options or, when an option is not given, from the environment
(TWILIO_AUTH_TOKEN, SIGNALWIRE_SIGNING_KEY, TELNYX_PUBLIC_KEY, JAMBONZ_WEBHOOK_SECRET).
Options may be repeated to accept an old and a new key while rotating.
"""

from __future__ import annotations

import argparse
import importlib.util
import logging
import os
import sys
from collections.abc import Mapping, Sequence

from ..emulator.sids import DEMO_AUTH_TOKEN
from ..emulator.wires.jambonz import DEMO_WEBHOOK_SECRET
from ..emulator.wires.signalwire import DEMO_SIGNING_KEY
from ..emulator.wires.telnyx import DEMO_WEBHOOK_PUBLIC_KEY
from .app import MAX_BODY
from .config import DEFAULT_EVENTS_DB, ReceiverConfig, Secrets
from .server import bind, local_url, uvicorn_server
from .signatures import telnyx_public_key
from .store import EventStore, StoreError
from .writer import BatchWriter

EXIT_OK, EXIT_USAGE = 0, 2

_EPILOG = f"""\
routes (append them to WEBHOOK_URL when you configure the provider):
  POST /twilio            Twilio conference status callbacks (GET also accepted)
  POST /signalwire        SignalWire conference status callbacks (GET also accepted)
  POST /telnyx            Telnyx Call Control webhooks (conference.* events)
  POST /jambonz/status    jambonz conference statusHook events
  POST /jambonz/hook      jambonz call hook of calls placed with EXEC (answers the verbs)
  GET  /healthz           200 while the events database answers

Bodies over {MAX_BODY} bytes are refused (413). Query the events with
  confsql --events-db {DEFAULT_EVENTS_DB} "SELECT * FROM ConferenceEvents"
"""

_SECRETS = (
    # (option, environment variable, help)
    ("--twilio-auth-token", "TWILIO_AUTH_TOKEN", "Twilio auth token (signs X-Twilio-Signature)"),
    (
        "--signalwire-signing-key",
        "SIGNALWIRE_SIGNING_KEY",
        "SignalWire project signing key (signs X-SignalWire-Signature)",
    ),
    (
        "--telnyx-public-key",
        "TELNYX_PUBLIC_KEY",
        "Telnyx account public key, base64 (checks telnyx-signature-ed25519)",
    ),
    (
        "--jambonz-webhook-secret",
        "JAMBONZ_WEBHOOK_SECRET",
        "jambonz account webhook secret (signs Jambonz-Signature)",
    ),
)


class UsageError(Exception):
    """Bad options (exit status 2)."""


def build_parser() -> argparse.ArgumentParser:
    """Options of ``confsql listen``."""
    parser = argparse.ArgumentParser(
        prog="confsql listen",
        description="Receive, verify and store conference events from providers' webhooks.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=8080, help="port (0: any free port)")
    parser.add_argument(
        "--webhook-url",
        help="public base URL providers reach this receiver at, e.g. a tunnel "
        "(env CONFSQL_WEBHOOK_URL; default http://HOST:PORT)",
    )
    parser.add_argument(
        "--events-db",
        help=f"SQLite file to store events in (env CONFSQL_EVENTS_DB; default {DEFAULT_EVENTS_DB})",
    )
    keys = parser.add_argument_group("verification keys (each may be repeated)")
    for option, env, text in _SECRETS:
        keys.add_argument(
            option,
            action="append",
            default=[],
            metavar="KEY",
            help=f"{text} (env {env}; prefer the environment: others can see command lines)",
        )
    keys.add_argument(
        "--sandbox",
        action="store_true",
        help="also accept the events (and jambonz hooks) of the built-in sandboxes' demo "
        "accounts: Twilio, SignalWire, jambonz, and Telnyx when 'cryptography' is installed",
    )
    parser.add_argument(
        "--log-level", default="info", choices=["debug", "info", "warning", "error"]
    )
    return parser


def config_from(args: argparse.Namespace, environ: Mapping[str, str]) -> ReceiverConfig:
    """The receiver's settings from parsed options and the environment."""

    def given(option: str, env: str) -> list[str]:
        values = getattr(args, option[2:].replace("-", "_"))
        return [v for v in values if v] or ([environ[env]] if environ.get(env) else [])

    twilio, signalwire, telnyx, jambonz = (given(option, env) for option, env, _ in _SECRETS)
    if args.sandbox:
        twilio.append(DEMO_AUTH_TOKEN)
        jambonz.append(DEMO_WEBHOOK_SECRET)
        signalwire.append(DEMO_SIGNING_KEY)
        if importlib.util.find_spec("cryptography") is not None:
            telnyx.append(DEMO_WEBHOOK_PUBLIC_KEY)
    try:
        telnyx_keys = tuple(telnyx_public_key(k) for k in telnyx)
    except ValueError as exc:
        raise UsageError(f"--telnyx-public-key: {exc}") from None
    if telnyx_keys:
        try:
            import cryptography  # noqa: F401
        except ImportError:
            raise UsageError(
                "checking Telnyx signatures needs the 'cryptography' package: "
                "pip install 'confsql[listen]'"
            ) from None
    secrets = Secrets(tuple(twilio), tuple(signalwire), telnyx_keys, tuple(jambonz))
    if not secrets.providers():
        raise UsageError(
            "no verification key: give at least one of "
            + ", ".join(option for option, _, _ in _SECRETS)
            + " (or --sandbox); unsigned events are never stored"
        )
    return ReceiverConfig(
        webhook_url=args.webhook_url or environ.get("CONFSQL_WEBHOOK_URL", ""),
        events_db=args.events_db or environ.get("CONFSQL_EVENTS_DB") or DEFAULT_EVENTS_DB,
        secrets=secrets,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the receiver until interrupted; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        config = config_from(args, os.environ)
    except UsageError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    logging.basicConfig(level=args.log_level.upper(), format="%(levelname)s %(message)s")
    try:
        sock = bind(args.host, args.port)
    except OSError as exc:
        print(f"Error: cannot listen on {args.host}:{args.port}: {exc.strerror}", file=sys.stderr)
        return EXIT_USAGE
    url = local_url(sock)
    if not config.webhook_url:
        config = ReceiverConfig(url, config.events_db, config.secrets)
    try:
        writer = BatchWriter(EventStore(config.events_db))
    except StoreError as exc:
        sock.close()
        print(f"Error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    print(
        f"confsql listen: receiving on {url} (webhook URL {config.webhook_url}), "
        f"storing in {config.events_db}, verifying {', '.join(config.secrets.providers())}",
        file=sys.stderr,
        flush=True,
    )
    try:
        uvicorn_server(config, writer, args.log_level).run(sockets=[sock])
    finally:
        writer.close()
    return EXIT_OK
