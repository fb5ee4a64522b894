"""Session statements answered by the server itself: SET, SHOW, BEGIN/COMMIT/ROLLBACK, DISCARD ...

Drivers send these on connect and around every statement.  confsql has no
transactions (each write is sent when its statement runs), so the
transaction statements only track the status byte clients expect.

>>> match("SET extra_float_digits = 3").name
'set'
>>> match("SELECT 1") is None
True
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .. import __version__

SERVER_VERSION = "15.0"
VERSION_TEXT = (
    f"PostgreSQL {SERVER_VERSION} (confsql {__version__}: the Postgres wire protocol over "
    "confsql; not a PostgreSQL server) on x86_64-pc-linux-gnu, 64-bit"
)

# Settings every session starts with; the ones marked True are reported to the client
# (ParameterStatus) at startup and whenever they change.
DEFAULTS: dict[str, tuple[str, bool]] = {
    "server_version": (SERVER_VERSION, True),
    "server_version_num": ("150000", False),
    "server_encoding": ("UTF8", True),
    "client_encoding": ("UTF8", True),
    "datestyle": ("ISO, MDY", True),
    "timezone": ("UTC", True),
    "intervalstyle": ("postgres", True),
    "integer_datetimes": ("on", True),
    "standard_conforming_strings": ("on", True),
    "is_superuser": ("off", True),
    "application_name": ("", True),
    "default_transaction_read_only": ("off", True),
    "in_hot_standby": ("off", True),
    "transaction_isolation": ("read committed", False),
    "default_transaction_isolation": ("read committed", False),
    "transaction_read_only": ("off", False),
    "extra_float_digits": ("1", False),
    "search_path": ('"$user", public', False),
    "max_identifier_length": ("63", False),
    "statement_timeout": ("0", False),
    "lock_timeout": ("0", False),
    "bytea_output": ("hex", False),
    "lc_messages": ("C", False),
    "lc_collate": ("C", False),
    "lc_ctype": ("C", False),
    "lc_monetary": ("C", False),
    "lc_numeric": ("C", False),
    "lc_time": ("C", False),
    "max_connections": ("100", False),
    "block_size": ("8192", False),
    "default_table_access_method": ("heap", False),
    "max_index_keys": ("32", False),
    "server_encoding_num": ("6", False),
    "session_authorization": ("", True),
}

_ALIASES = {
    "time zone": "timezone",
    "transaction isolation level": "transaction_isolation",
    "names": "client_encoding",
}


@dataclass(frozen=True)
class Command:
    """A recognised session statement."""

    name: str  # set, reset, show, begin, commit, rollback, savepoint, release, discard ...
    argument: str = ""  # setting name, or what DISCARD/DEALLOCATE names
    value: str = ""


_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    (
        "set_transaction",
        re.compile(r"SET\s+(SESSION\s+CHARACTERISTICS\s+AS\s+)?TRANSACTION\b", re.I),
    ),
    (
        "set",
        re.compile(
            r"SET\s+(?:SESSION\s+|LOCAL\s+)?(?P<arg>TIME\s+ZONE|NAMES|[\w.]+)\s*(?:(?:TO|=)\s*)?(?P<value>.*)",
            re.I | re.S,
        ),
    ),
    ("reset", re.compile(r"RESET\s+(?P<arg>ALL|[\w.]+)", re.I)),
    (
        "show",
        re.compile(
            r"SHOW\s+(?P<arg>ALL|TRANSACTION\s+ISOLATION\s+LEVEL|TIME\s+ZONE|[\w.]+)\s*$", re.I
        ),
    ),
    ("rollback_to", re.compile(r"ROLLBACK\s+(?:WORK\s+|TRANSACTION\s+)?TO\b", re.I)),
    ("begin", re.compile(r"(?:BEGIN|START\s+TRANSACTION)\b(?!\s*\w*\s*;?\s*\bEND\b)", re.I)),
    (
        "commit",
        re.compile(
            r"(?:COMMIT|END)(?:\s+(?:WORK|TRANSACTION))?(?:\s+AND\s+(?:NO\s+)?CHAIN)?\s*$", re.I
        ),
    ),
    (
        "rollback",
        re.compile(
            r"(?:ROLLBACK|ABORT)(?:\s+(?:WORK|TRANSACTION))?(?:\s+AND\s+(?:NO\s+)?CHAIN)?\s*$", re.I
        ),
    ),
    ("savepoint", re.compile(r"SAVEPOINT\s+\S+", re.I)),
    ("release", re.compile(r"RELEASE\s+(?:SAVEPOINT\s+)?\S+", re.I)),
    ("discard", re.compile(r"DISCARD\s+(?P<arg>ALL|PLANS|SEQUENCES|TEMP|TEMPORARY)\s*$", re.I)),
    (
        "deallocate",
        re.compile(r"DEALLOCATE\s+(?:PREPARE\s+)?(?P<arg>ALL|\"[^\"]+\"|\S+)\s*$", re.I),
    ),
    ("close", re.compile(r"CLOSE\s+(?P<arg>ALL|\S+)\s*$", re.I)),
    ("unlisten", re.compile(r"UNLISTEN\s+\S+\s*$", re.I)),
]

TAGS = {
    "set": "SET",
    "set_transaction": "SET",
    "reset": "RESET",
    "show": "SHOW",
    "begin": "BEGIN",
    "commit": "COMMIT",
    "rollback": "ROLLBACK",
    "rollback_to": "ROLLBACK",
    "savepoint": "SAVEPOINT",
    "release": "RELEASE",
    "discard": "DISCARD ALL",
    "deallocate": "DEALLOCATE",
    "close": "CLOSE CURSOR",
    "unlisten": "UNLISTEN",
}


def _strip_comments(sql: str) -> str:
    return (
        re.sub(r"^(?:\s+|--[^\n]*\n?|/\*.*?\*/)*", "", sql, flags=re.S).strip().rstrip(";").strip()
    )


def match(sql: str) -> Command | None:
    """The session command ``sql`` is, or None for anything else."""
    text = _strip_comments(sql)
    for name, pattern in _PATTERNS:
        found = pattern.match(text)
        if not found:
            continue
        groups = found.groupdict()
        arg = " ".join((groups.get("arg") or "").lower().split())
        arg = _ALIASES.get(arg, arg)
        value = (groups.get("value") or "").strip()
        if name == "set" and not value:
            continue
        if name == "discard":
            return Command(name, arg)
        raw = (groups.get("arg") or "").strip()
        if name in ("deallocate", "close") and raw.startswith('"'):
            arg = raw[1:-1].replace('""', '"')  # a quoted name keeps its case
        return Command(name, arg.strip('"'), _unquote(value))
    return None


def _unquote(value: str) -> str:
    parts = [p.strip() for p in value.split(",")] if value else []
    cleaned = []
    for part in parts:
        if len(part) >= 2 and part[0] == part[-1] == "'":
            part = part[1:-1].replace("''", "'")
        cleaned.append(part)
    return ", ".join(cleaned)


class Settings:
    """One client's run-time settings (what SET changes and SHOW reads)."""

    def __init__(self, user: str, application_name: str, read_only: bool) -> None:
        self.values = {k: v for k, (v, _) in DEFAULTS.items()}
        self.values["session_authorization"] = user
        self.values["application_name"] = application_name
        if read_only:
            self.values["default_transaction_read_only"] = "on"
            self.values["transaction_read_only"] = "on"
        self._initial = dict(self.values)

    def reported(self) -> Mapping[str, str]:
        """Settings announced with ParameterStatus, under their Postgres spelling."""
        return {
            _SPELLING.get(k, k): self.values[k] for k, (_, report) in DEFAULTS.items() if report
        }

    def set(self, name: str, value: str) -> tuple[str, str] | None:
        """Apply SET; returns (name, value) when the client must be told (ParameterStatus)."""
        key = name.lower()
        if key in ("datestyle",) and "iso" not in value.lower():
            value = "ISO, MDY"  # dates always travel as ISO
        if key == "client_encoding":
            value = "UTF8"  # all text is sent as UTF-8
        self.values[key] = value
        if key in DEFAULTS and DEFAULTS[key][1]:
            return _SPELLING.get(key, key), value
        return None

    def reset(self, name: str) -> list[tuple[str, str]]:
        """RESET name | ALL; returns changed reported settings."""
        keys = list(self._initial) if name == "all" else [name.lower()]
        changed = []
        for key in keys:
            if key in self._initial:
                self.values[key] = self._initial[key]
            else:
                self.values.pop(key, None)
            if key in DEFAULTS and DEFAULTS[key][1]:
                changed.append((_SPELLING.get(key, key), self.values.get(key, "")))
        return changed

    def show(self, name: str) -> str | None:
        """SHOW name (None when unknown)."""
        return self.values.get(name.lower())


_SPELLING = {"datestyle": "DateStyle", "timezone": "TimeZone", "intervalstyle": "IntervalStyle"}
