"""A plain SQLite copy of the emulator's data: the answer every pushed-down query must match."""

from __future__ import annotations

import sqlite3
from typing import Any

from driver import schema
from driver.emulator import Emulator
from driver.values import decoder

LIVE_PARTICIPANT = {"queued", "connecting", "ringing", "connected"}


def build(emu: Emulator) -> sqlite3.Connection:
    """Load conferences and live participants into ordinary SQLite tables."""
    catalog = schema.load()
    twilio = catalog.providers["Twilio"]
    db = sqlite3.connect(":memory:")
    for name in ("Conferences", "Participants"):
        table = catalog.tables[name]
        cols = ", ".join(f'"{c.name}" {c.type}' for c in table.columns)
        db.execute(f"CREATE TABLE {name}({cols})")
    conferences = emu.conferences()
    participants = [
        p
        for c in conferences
        for p in emu.participants(str(c["sid"]))
        if p["status"] in LIVE_PARTICIPANT
    ]
    for name, items in (("Conferences", conferences), ("Participants", participants)):
        table = catalog.tables[name]
        fields = twilio.tables[name].fields
        rows = [
            tuple(decoder(c.type)(item.get(fields[c.name])) for c in table.columns)
            for item in items
        ]
        marks = ", ".join("?" for _ in table.columns)
        db.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)
    return db


def answer(db: sqlite3.Connection, sql: str, params: Any = ()) -> list[tuple[Any, ...]]:
    """Rows of ``sql`` over the plain copy."""
    return list(db.execute(sql, params))
