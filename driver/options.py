"""Connection options on a command line (``confsql`` and ``confsql serve``).

One ``--kebab-case`` option per connection property of every provider, plus
``--dsn`` and ``--sandbox``; :func:`connection_properties` turns the parsed
arguments back into ``connect()`` keywords.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

from .dsn import normalise
from .settings import all_properties, secret_names

_SECRET_NOTE = "; prefer the environment variable: other users can see command lines"


def option(name: str) -> str:
    """``AccountSid`` -> ``--account-sid``."""
    return "--" + re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def add_connection_options(group: argparse._ArgumentGroup) -> None:
    """``--dsn``, ``--sandbox`` and one option per connection property."""
    which = group.add_mutually_exclusive_group()
    which.add_argument("--dsn", help="connection string: Key=Value pairs separated by ';'")
    which.add_argument(
        "--sandbox",
        action="store_true",
        help="use the provider's built-in emulator (demo data, no account; Twilio unless "
        "--provider says otherwise)",
    )
    secret = secret_names()
    for prop in all_properties().values():
        if prop.name == "Sandbox":
            continue  # --sandbox above
        extra = []
        if prop.env:
            extra.append(f"env {prop.env}")
        if prop.default is not None:
            extra.append(f"default {prop.default}")
        detail = f" ({', '.join(extra)})" if extra else ""
        group.add_argument(
            option(prop.name),
            dest=prop.name,
            metavar=option(prop.name)[2:].replace("-", "_").upper(),
            help=prop.description.replace("%", "%%")
            + detail
            + _SECRET_NOTE * (normalise(prop.name) in secret),
        )


def connection_properties(args: argparse.Namespace) -> dict[str, Any]:
    """``connect()`` keywords from parsed arguments (the DSN stays separate)."""
    props = {
        p.name: getattr(args, p.name)
        for p in all_properties().values()
        if p.name != "Sandbox" and getattr(args, p.name, None)
    }
    if args.sandbox:
        props["Sandbox"] = True
    return props


def given_secrets(args: argparse.Namespace) -> set[str]:
    """Secret values given as options (to scrub from everything printed)."""
    secret = secret_names()
    return {
        str(getattr(args, p.name))
        for p in all_properties().values()
        if normalise(p.name) in secret and getattr(args, p.name, None)
    }
