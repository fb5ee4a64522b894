"""A plain SQLite copy of the emulator's data: the answer every pushed-down query must match.

The copy is built from the emulator's own rendering of its state in the
provider's wire format, read with the provider's field mapping, so the same
oracle checks the SQL semantics (filters, IN, LIMIT, joins) on every provider.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from driver import schema
from driver.emulator import Emulator
from driver.properties import Settings
from driver.providers import provider_class
from driver.values import decoder


def build(emu: Emulator, provider: str = "Twilio") -> sqlite3.Connection:
    """Load conferences and live participants into ordinary SQLite tables."""
    catalog = schema.load()
    cls = provider_class(provider)
    assert cls is not None
    mapping = _mapping(cls)
    db = sqlite3.connect(":memory:")
    for name in ("Conferences", "Participants"):
        table = catalog.tables[name]
        cols = ", ".join(f'"{c.name}" {c.type}' for c in table.columns)
        db.execute(f"CREATE TABLE {name}({cols})")
    with emu.state.lock:
        conferences = emu.conferences()
        participants = [
            p
            for c in emu.state.by_account.get(emu.demo_account, [])
            for p in emu.live_participants(c.sid)
        ]
    reader = cls(mapping, Settings({}))  # only its timestamp reader is used
    for name, items in (("Conferences", conferences), ("Participants", participants)):
        table = catalog.tables[name]
        table_mapping = mapping.tables[name]
        rows = []
        for item in items:
            row = []
            for column in table.columns:
                field = table_mapping.fields.get(column.name)
                raw = _field(item, field) if field else None
                if isinstance(raw, str) and column.name in table_mapping.values:
                    raw = table_mapping.values[column.name].get(raw, raw)
                row.append(decoder(column.type, reader.decode_datetime)(raw))
            rows.append(tuple(row))
        marks = ", ".join("?" for _ in table.columns)
        db.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)
    return db


def _mapping(cls: Any) -> Any:
    mapping = schema.load().provider(cls.mapping_name)
    assert mapping is not None
    return mapping


def _field(item: dict[str, Any], field: str) -> Any:
    """A (possibly dotted) field of an item, as the provider class flattens it."""
    value: Any = item
    for part in field.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def answer(db: sqlite3.Connection, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` over the plain copy."""
    return list(db.execute(sql, params))
