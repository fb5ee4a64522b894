"""The SQLAlchemy dialect: ``create_engine("confsql://…")``.

>>> from sqlalchemy import create_engine, inspect
>>> engine = create_engine("confsql:///?Provider=Sandbox")
>>> inspect(engine).get_table_names()
['Conferences', 'Participants']

URL form: ``confsql://ACCOUNT_SID:AUTH_TOKEN@/?Property=Value&…``.  The user
and password slots carry the credentials (an ``SK…`` user is an API key, its
password the key's secret); every connection property (``Region``,
``BaseUrl``, ``Timeout``, ``MaxConcurrency``, …) may be given as a query
parameter, with the same case-insensitive names as in a DSN.  Host, port and
database are ignored, so tools that insist on a host may put anything there.

The dialect builds on SQLAlchemy's SQLite dialect (the SQL that runs is
SQLite's), but reflects from ``schema/`` rather than SQLite PRAGMAs, which do
not see eponymous virtual tables.  Writes are sent to the provider as each
statement runs: there are no transactions, and COMMIT/ROLLBACK do nothing.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Callable
from types import ModuleType
from typing import TYPE_CHECKING, Any

from sqlalchemy import exc
from sqlalchemy import types as sqltypes
from sqlalchemy.dialects.sqlite.base import DATETIME as _SQLiteDateTime
from sqlalchemy.dialects.sqlite.base import SQLiteDialect, SQLiteExecutionContext
from sqlalchemy.engine import default, reflection

from . import schema as _schema
from .catalog import SYS_VIEWS
from .providers import provider_class
from .settings import all_properties, secret_names

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection as SAConnection
    from sqlalchemy.engine import Engine
    from sqlalchemy.engine.interfaces import DBAPIConnection, IsolationLevel
    from sqlalchemy.engine.url import URL

    from .dbapi import Connection as DriverConnection

__all__ = ["ConfsqlDateTime", "ConfsqlDialect"]

DEFAULT_SCHEMA = "main"
_STORAGE_FORMAT = "%(year)04d-%(month)02d-%(day)02d %(hour)02d:%(minute)02d:%(second)02d"


class ConfsqlDateTime(_SQLiteDateTime):
    """DATETIME columns: UTC text ``'YYYY-MM-DD HH:MM:SS'`` ⇄ naive ``datetime``.

    Binds render whole seconds (the stored format, so ``>=`` comparisons
    against stored values behave), aware datetimes are converted to UTC
    first, and ready-made strings pass through unchanged.
    """

    cache_ok = True

    def __init__(self, *args: Any, **kw: Any) -> None:
        kw.setdefault("storage_format", _STORAGE_FORMAT)
        super().__init__(*args, **kw)  # type: ignore[no-untyped-call]

    def bind_processor(self, dialect: Any) -> Callable[[Any], Any] | None:
        inner = super().bind_processor(dialect)
        assert inner is not None

        def process(value: Any) -> Any:
            if isinstance(value, str):
                return value
            if isinstance(value, dt.datetime) and value.tzinfo is not None:
                value = value.astimezone(dt.UTC).replace(tzinfo=None)
            return inner(value)

        return process

    def result_processor(self, dialect: Any, coltype: object) -> Callable[[Any], Any] | None:
        inner = super().result_processor(dialect, coltype)
        assert inner is not None

        def process(value: Any) -> Any:
            if value is None or isinstance(value, dt.datetime):
                return value
            return inner(value)

        return process


# Declared column types (schema/ and cursor.description type codes) → SQLAlchemy types.
_TYPES: dict[str, type[sqltypes.TypeEngine[Any]]] = {
    "TEXT": sqltypes.TEXT,
    "INTEGER": sqltypes.INTEGER,
    "BOOLEAN": sqltypes.BOOLEAN,
    "REAL": sqltypes.REAL,
    "DATETIME": ConfsqlDateTime,
}

# Result conversion for untyped (textual) statements, keyed by cursor.description type code.
_TEXTUAL_RESULT_TYPES: dict[str, sqltypes.TypeEngine[Any]] = {
    "DATETIME": ConfsqlDateTime(),
    "BOOLEAN": sqltypes.Boolean(),
}


def _norm(key: str) -> str:
    """Property-name normalisation, as the driver does it (case, ``_`` and ``-`` ignored)."""
    return key.replace("_", "").replace("-", "").strip().lower()


_PROPERTY_NAMES = {norm: p.name for norm, p in all_properties().items()}
_SECRETS = set(secret_names())


class ConfsqlExecutionContext(SQLiteExecutionContext):
    """Types the results of raw SQL too, from the declared types in cursor.description.

    ``conn.exec_driver_sql("SELECT DateCreated FROM Conferences")`` (and so
    ``pandas.read_sql("SELECT …", engine)``) returns ``datetime`` and ``bool``
    values for DATETIME and BOOLEAN columns without ``parse_dates``.
    Computed expressions (``max(DateCreated)``) have no declared type and
    stay as SQLite returns them.
    """

    def get_result_processor(
        self, type_: sqltypes.TypeEngine[Any], colname: str, coltype: Any
    ) -> Callable[[Any], Any] | None:
        if type_._isnull and isinstance(coltype, str):
            mapped = _TEXTUAL_RESULT_TYPES.get(coltype.upper())
            if mapped is not None:
                return mapped._cached_result_processor(self.dialect, coltype)
        return super().get_result_processor(type_, colname, coltype)


def _version_tuple(version: str) -> tuple[int, ...]:
    return tuple(int(m) for m in re.findall(r"\d+", version.split("+")[0])[:3])


class ConfsqlDialect(SQLiteDialect):
    """SQLAlchemy dialect for confsql (``confsql://`` URLs).

    ``hidden_columns=True`` (a ``create_engine`` keyword) also reflects the
    hidden write-only columns (``Participants.From``, ``To``, …) so that
    ``insert(table).values(From=…)`` can name them; they are left out by
    default because they always read as NULL.
    """

    name = "confsql"
    driver = "confsql"
    supports_statement_cache = True

    execution_ctx_cls = ConfsqlExecutionContext
    colspecs = {**SQLiteDialect.colspecs, sqltypes.DateTime: ConfsqlDateTime}  # noqa: RUF012
    ischema_names = {**SQLiteDialect.ischema_names, **_TYPES}  # noqa: RUF012

    default_schema_name = DEFAULT_SCHEMA
    # Virtual tables: no RETURNING, writes go out one row at a time.
    insert_returning = False
    update_returning = False
    delete_returning = False
    update_returning_multifrom = False
    use_insertmanyvalues = False
    postfetch_lastrowid = False

    def __init__(
        self,
        hidden_columns: bool = False,
        json_serializer: Callable[[Any], str] | None = None,
        json_deserializer: Callable[[str], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        # SQLiteDialect.__init__ reads sqlite3-only module attributes
        # (dbapi.sqlite_version_info); our SQLite is always recent.
        default.DefaultDialect.__init__(self, **kwargs)
        self._json_serializer = json_serializer
        self._json_deserializer = json_deserializer
        self.native_datetime = False
        self.hidden_columns = hidden_columns

    @classmethod
    def import_dbapi(cls) -> ModuleType:
        import driver

        return driver

    # --- connecting -------------------------------------------------------------

    def create_connect_args(self, url: URL) -> tuple[list[Any], dict[str, Any]]:
        props: dict[str, Any] = {}

        def put(key: str, value: Any, where: str) -> None:
            name = _PROPERTY_NAMES.get(_norm(key))
            if name is None:
                close = difflib.get_close_matches(_norm(key), list(_PROPERTY_NAMES), n=1)
                hint = f"; did you mean {_PROPERTY_NAMES[close[0]]}?" if close else ""
                known = ", ".join(_PROPERTY_NAMES.values())
                raise exc.ArgumentError(
                    f"confsql URL: unknown connection property {key!r}{hint} (known: {known})"
                )
            if name in props:
                raise exc.ArgumentError(f"confsql URL: {name} is given twice ({where})")
            if isinstance(value, tuple):
                raise exc.ArgumentError(f"confsql URL: {name} is given more than once")
            props[name] = value

        for key, value in url.query.items():
            put(key, value, "query")
        if url.username or url.password is not None:
            # The provider class says which properties a URL's user and password fill.
            name = str(props.get("Provider", "Twilio"))
            cls = provider_class("Twilio" if name.lower() == "sandbox" else name)
            if cls is None:
                raise exc.ArgumentError(f"confsql URL: unknown Provider {name!r}")
            for key, value in cls.url_properties(url.username, url.password).items():
                put(key, value, "user/password")
        return [], props

    @classmethod
    def engine_created(cls, engine: Engine) -> None:
        """Mask secrets given as query parameters in ``engine.url`` (and so in ``repr``).

        SQLAlchemy hides only the URL's password; an ``AuthToken=`` or
        ``ApiSecret=`` query parameter is masked here.  Connections are
        unaffected: their arguments were computed from the original URL.
        """
        hidden = {k: "***" for k in engine.url.query if _norm(k) in _SECRETS}
        if hidden:
            engine.url = engine.url.update_query_dict(hidden)

    def _driver_connection(self, connection: SAConnection) -> DriverConnection:
        return connection.connection.dbapi_connection  # type: ignore[return-value]

    def _get_server_version_info(self, connection: SAConnection) -> tuple[int, ...]:
        from ._version import __version__

        return _version_tuple(__version__)

    def _get_default_schema_name(self, connection: SAConnection) -> str:
        return DEFAULT_SCHEMA

    # --- transactions: there are none -------------------------------------------

    def get_isolation_level_values(self, dbapi_connection: DBAPIConnection) -> list[IsolationLevel]:
        return ["AUTOCOMMIT"]

    def get_isolation_level(self, dbapi_connection: DBAPIConnection) -> IsolationLevel:
        return "AUTOCOMMIT"

    def set_isolation_level(self, dbapi_connection: DBAPIConnection, level: IsolationLevel) -> None:
        """Nothing to set: every statement takes effect when it runs."""

    # --- reflection ---------------------------------------------------------------

    def _tables(self, connection: SAConnection, schema: str | None) -> list[_schema.Table]:
        """The tables the connection's provider maps, in declaration order."""
        if schema is not None and schema.lower() != DEFAULT_SCHEMA:
            return []
        conn = self._driver_connection(connection)
        return [t for t in conn.catalog.tables.values() if t.name in conn.provider.tables]

    def _table(
        self, connection: SAConnection, table_name: str, schema: str | None
    ) -> _schema.Table | None:
        lowered = table_name.lower()
        return next(
            (t for t in self._tables(connection, schema) if t.name.lower() == lowered), None
        )

    @staticmethod
    def _sys_view(table_name: str, schema: str | None) -> str | None:
        if schema is not None and schema.lower() != "temp":
            return None
        lowered = table_name.lower()
        return next((v for v in SYS_VIEWS if v == lowered), None)

    def _require(
        self, connection: SAConnection, table_name: str, schema: str | None
    ) -> _schema.Table | str:
        found = self._table(connection, table_name, schema) or self._sys_view(table_name, schema)
        if found is None:
            name = f"{schema}.{table_name}" if schema else table_name
            raise exc.NoSuchTableError(name)
        return found

    @reflection.cache
    def get_schema_names(self, connection: SAConnection, **kw: Any) -> list[str]:
        return [DEFAULT_SCHEMA]

    def has_schema(self, connection: SAConnection, schema_name: str, **kw: Any) -> bool:
        return schema_name.lower() == DEFAULT_SCHEMA

    @reflection.cache
    def get_table_names(
        self,
        connection: SAConnection,
        schema: str | None = None,
        sqlite_include_internal: bool = False,
        **kw: Any,
    ) -> list[str]:
        return [t.name for t in self._tables(connection, schema)]

    @reflection.cache
    def get_view_names(
        self,
        connection: SAConnection,
        schema: str | None = None,
        sqlite_include_internal: bool = False,
        **kw: Any,
    ) -> list[str]:
        return []

    def get_materialized_view_names(
        self, connection: SAConnection, schema: str | None = None, **kw: Any
    ) -> list[str]:
        return []

    def get_temp_table_names(  # type: ignore[override]  # SQLite's and the interface's differ
        self, connection: SAConnection, sqlite_include_internal: bool = False, **kw: Any
    ) -> list[str]:
        return []

    def get_temp_view_names(  # type: ignore[override]  # SQLite's and the interface's differ
        self, connection: SAConnection, sqlite_include_internal: bool = False, **kw: Any
    ) -> list[str]:
        """The ``sys_*`` catalog views (SQLite temp views, as SQLite's dialect reports them)."""
        return list(SYS_VIEWS)

    def get_sequence_names(
        self, connection: SAConnection, schema: str | None = None, **kw: Any
    ) -> list[str]:
        return []

    def has_table(
        self,
        connection: SAConnection,
        table_name: str,
        schema: str | None = None,
        **kw: Any,
    ) -> bool:
        found = self._table(connection, table_name, schema) or self._sys_view(table_name, schema)
        return found is not None

    def has_index(
        self,
        connection: SAConnection,
        table_name: str,
        index_name: str,
        schema: str | None = None,
        **kw: Any,
    ) -> bool:
        return False

    def has_sequence(
        self,
        connection: SAConnection,
        sequence_name: str,
        schema: str | None = None,
        **kw: Any,
    ) -> bool:
        return False

    @reflection.cache
    def get_columns(  # type: ignore[override]
        self, connection: SAConnection, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[dict[str, Any]]:
        found = self._require(connection, table_name, schema)
        if isinstance(found, str):
            return [
                _column(name, "BOOLEAN" if name.startswith("Is") else "TEXT", None, nullable=True)
                for name in SYS_VIEWS[found]
            ]
        columns = [_column(c.name, c.type, c.description, not c.key) for c in found.columns]
        if self.hidden_columns:
            catalog = self._driver_connection(connection).catalog
            columns += [
                _column(c.name, c.type, f"(write-only) {c.description}", True)
                for c in catalog.write_columns(found)
            ]
        return columns

    @reflection.cache
    def get_pk_constraint(  # type: ignore[override]
        self, connection: SAConnection, table_name: str, schema: str | None = None, **kw: Any
    ) -> dict[str, Any]:
        found = self._require(connection, table_name, schema)
        keys = [] if isinstance(found, str) else [c.name for c in found.keys]
        return {"constrained_columns": keys, "name": None}

    @reflection.cache
    def get_foreign_keys(  # type: ignore[override]
        self, connection: SAConnection, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[dict[str, Any]]:
        """``<Thing>Sid`` columns referring to the ``Sid`` key of a ``<Thing>s`` table.

        Derived from the naming convention of ``schema/`` (for example
        Participants.ConferenceSid → Conferences.Sid); no table is named here.
        """
        found = self._require(connection, table_name, schema)
        if isinstance(found, str):
            return []
        by_name = {t.name.lower(): t for t in self._tables(connection, schema)}
        out: list[dict[str, Any]] = []
        for column in found.columns:
            if not column.name.endswith("Sid") or column.name == "Sid":
                continue
            target = by_name.get(column.name[:-3].lower() + "s")
            if target is None or target is found or [c.name for c in target.keys] != ["Sid"]:
                continue
            out.append(
                {
                    "name": None,
                    "constrained_columns": [column.name],
                    "referred_schema": schema,
                    "referred_table": target.name,
                    "referred_columns": ["Sid"],
                    "options": {},
                }
            )
        return out

    def _empty(
        self, connection: SAConnection, table_name: str, schema: str | None
    ) -> list[dict[str, Any]]:
        self._require(connection, table_name, schema)
        return []

    @reflection.cache
    def get_indexes(  # type: ignore[override]
        self, connection: SAConnection, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[dict[str, Any]]:
        return self._empty(connection, table_name, schema)

    @reflection.cache
    def get_unique_constraints(  # type: ignore[override]
        self, connection: SAConnection, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[dict[str, Any]]:
        return self._empty(connection, table_name, schema)

    @reflection.cache
    def get_check_constraints(  # type: ignore[override]
        self, connection: SAConnection, table_name: str, schema: str | None = None, **kw: Any
    ) -> list[dict[str, Any]]:
        return self._empty(connection, table_name, schema)

    @reflection.cache
    def get_table_comment(  # type: ignore[override]
        self, connection: SAConnection, table_name: str, schema: str | None = None, **kw: Any
    ) -> dict[str, Any]:
        found = self._require(connection, table_name, schema)
        if isinstance(found, str):
            return {"text": "confsql system catalog view"}
        return {"text": found.description}

    @reflection.cache
    def get_table_options(
        self, connection: SAConnection, table_name: str, schema: str | None = None, **kw: Any
    ) -> dict[str, Any]:
        self._require(connection, table_name, schema)
        return {}

    @reflection.cache
    def get_view_definition(
        self, connection: SAConnection, view_name: str, schema: str | None = None, **kw: Any
    ) -> str:
        view = self._sys_view(view_name, schema)
        if view is None:
            raise exc.NoSuchTableError(view_name)
        sql = connection.exec_driver_sql(
            "SELECT sql FROM sqlite_temp_master WHERE type = 'view' AND name = ?", (view,)
        ).scalar()
        return str(sql)


def _column(name: str, sql_type: str, comment: str | None, nullable: bool) -> dict[str, Any]:
    return {
        "name": name,
        "type": _TYPES[sql_type](),
        "nullable": nullable,
        "default": None,
        "autoincrement": False,
        "comment": comment,
    }
