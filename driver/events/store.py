"""The events database: a SQLite file holding the ConferenceEvents table.

The receiver is its only writer.  The file is in WAL mode with ``synchronous=FULL``: a
batch of events is on disk when :meth:`EventStore.add` returns, before any request of the
batch is answered.  Its columns and indexes come from schema/tables/ConferenceEvents.toml;
``(Provider, EventId)`` is unique, which is what makes a redelivery a no-op.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import apsw

from .. import schema
from .record import EventRecord

TABLE = "ConferenceEvents"
SCHEMA_VERSION = 1
"""``PRAGMA user_version`` of a database this code wrote; anything else is refused."""


class StoreError(Exception):
    """The events database cannot be opened or written."""


def table() -> schema.Table:
    """The declared ConferenceEvents table."""
    declared = schema.load().table(TABLE)
    if declared is None:
        raise StoreError(f"schema/ declares no {TABLE} table")
    return declared


def ddl(schema_name: str = "main") -> list[str]:
    """CREATE statements for the table and its indexes (idempotent)."""
    declared = table()
    keys = ", ".join(f'"{c.name}"' for c in declared.keys)
    columns = ", ".join(
        f'"{c.name}" {c.type}' + (" NOT NULL" if c.key else "") for c in declared.columns
    )
    out = [
        f'CREATE TABLE IF NOT EXISTS {schema_name}."{TABLE}" ({columns}, UNIQUE ({keys}))',
    ]
    out += [
        f'CREATE INDEX IF NOT EXISTS {schema_name}."{TABLE}_{c}" ON "{TABLE}" ("{c}")'
        for c in declared.indexes
    ]
    return out


def initialise(db: apsw.Connection, where: str) -> None:
    """Create the schema in an empty database, or check one written before."""
    version = db.execute("PRAGMA user_version").fetchall()[0][0]
    if version not in (0, SCHEMA_VERSION):
        raise StoreError(
            f"{where} holds events database version {version}; this confsql reads version "
            f"{SCHEMA_VERSION}: use a new EventsDb file"
        )
    with db:
        for statement in ddl():
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


class EventStore:
    """The receiver's connection to the events database (one writer thread at a time)."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        try:
            self._db = apsw.Connection(self.path)
            self._db.set_busy_timeout(5000)
            mode = self._db.execute("PRAGMA journal_mode = WAL").fetchall()[0][0]
            if str(mode).lower() != "wal":
                raise StoreError(f"{self.path}: cannot switch to WAL mode (got {mode})")
            self._db.execute("PRAGMA synchronous = FULL")
            initialise(self._db, self.path)
        except apsw.Error as exc:
            raise StoreError(f"cannot open the events database {self.path}: {exc}") from None
        names = [c.name for c in table().columns]
        marks = ", ".join("?" for _ in names)
        quoted = ", ".join(f'"{n}"' for n in names)
        self._insert = f'INSERT OR IGNORE INTO "{TABLE}" ({quoted}) VALUES ({marks})'
        self._names = names

    def add(self, records: Sequence[EventRecord]) -> list[bool]:
        """Store ``records`` in one durable transaction; True for each one that was new."""
        fresh: list[bool] = []
        try:
            with self._db:
                for record in records:
                    values = record.columns()
                    before = self._db.total_changes()
                    self._db.execute(self._insert, [values[n] for n in self._names])
                    fresh.append(self._db.total_changes() > before)
        except apsw.Error as exc:
            raise StoreError(f"cannot write to the events database {self.path}: {exc}") from None
        return fresh

    def check(self) -> None:
        """Raise :class:`StoreError` unless the database answers (for /healthz)."""
        try:
            self._db.execute(f'SELECT 1 FROM "{TABLE}" LIMIT 1').fetchall()
        except apsw.Error as exc:
            raise StoreError(f"the events database {self.path} does not answer: {exc}") from None

    def close(self) -> None:
        """Close the database (committed events are already on disk)."""
        self._db.close()
