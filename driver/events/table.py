"""The ConferenceEvents table on a DB-API connection.

With the ``EventsDb`` property set, the receiver's database is attached read-only
(``mode=ro``) and a TEMP view named ConferenceEvents shows its table, so SQLite uses its
indexes and it joins like any table.  Without it, an eponymous virtual table of that name
answers every statement that mentions it with an error saying how to enable it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import quote

import apsw

from .. import errors
from ..schema import Catalog
from .store import TABLE, EventStore, StoreError

SCHEMA = "confsql_events"
"""Name the events database is attached under."""

DISABLED = (
    "ConferenceEvents needs the receiver's database: run `confsql listen` (it records "
    "conference webhooks in ./confsql-events.db by default) and connect with "
    "EventsDb=<that file>"
)


class _Disabled:
    """Virtual-table module whose tables cannot be opened: the message says why."""

    def Connect(self, *args: Any) -> Any:
        raise errors.NotSupportedError(DISABLED)

    Create = Connect


def install(db: apsw.Connection, catalog: Catalog, events_db: str | None) -> None:
    """Make ConferenceEvents queryable on ``db`` (or explain, on use, why it is not)."""
    table = catalog.table(TABLE)
    if table is None:
        return
    if not events_db:
        db.create_module(TABLE, _Disabled(), eponymous_only=True)  # type: ignore[arg-type]
        return
    path = Path(events_db).expanduser().resolve()
    if not path.exists():
        try:  # an empty database, so the table exists before the first event arrives
            EventStore(path).close()
        except StoreError as exc:
            raise errors.OperationalError(f"EventsDb: {exc}") from None
    uri = "file:" + quote(str(path)) + "?mode=ro"
    try:
        db.execute(f"ATTACH DATABASE ? AS {SCHEMA}", (uri,))
        found = db.execute(
            f"SELECT 1 FROM {SCHEMA}.sqlite_master WHERE type = 'table' AND name = ?", (TABLE,)
        ).fetchall()
    except apsw.Error as exc:
        raise errors.OperationalError(f"EventsDb {events_db!r} cannot be read: {exc}") from None
    if not found:
        raise errors.OperationalError(
            f"EventsDb {events_db!r} is not a confsql events database (no {TABLE} table)"
        )
    names = ", ".join(f'"{c.name}"' for c in table.columns)
    db.execute(f'CREATE TEMP VIEW "{TABLE}"({names}) AS SELECT {names} FROM {SCHEMA}."{TABLE}"')
