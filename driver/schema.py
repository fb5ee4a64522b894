"""Load the declarative ``schema/`` files into typed objects.

``schema/`` is the single source of truth for tables, columns, procedures and
provider mappings.  Everything else (the engine, validation, the ``sys_*``
catalog, the README reference) reads these objects; nothing restates them.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

T = TypeVar("T")

SqlType = Literal["TEXT", "INTEGER", "BOOLEAN", "DATETIME", "REAL"]
Exactness = Literal["exact", "superset"]
SQL_TYPES: tuple[str, ...] = ("TEXT", "INTEGER", "BOOLEAN", "DATETIME", "REAL")
# Where a table's rows come from: the provider's API (a virtual table), or the events database
# that ``confsql listen`` writes (see driver.events).
TABLE_SOURCES: tuple[str, ...] = ("provider", "events")
PUSH_OPS: tuple[str, ...] = ("=", "IN", "<", "<=", ">", ">=")


class SchemaError(Exception):
    """A file in schema/ is malformed (a packaging bug, not a user error)."""


@dataclass(frozen=True)
class Column:
    """One SQL column of a table."""

    name: str
    type: SqlType
    description: str
    key: bool = False
    writable: bool = False
    hidden: bool = False
    values: tuple[str, ...] = ()
    push: Mapping[str, Exactness] = field(default_factory=dict)


@dataclass(frozen=True)
class Table:
    """A table: its columns in order, where its rows come from, which procedures back its writes.

    ``source`` is ``"provider"`` for a virtual table over the provider's API (it needs a
    mapping in the provider profile) or ``"events"`` for a read-only table stored by
    ``confsql listen`` (it needs none); ``indexes`` names the columns such a stored table
    indexes.
    """

    name: str
    description: str
    columns: tuple[Column, ...]
    insert: str | None = None
    update: str | None = None
    delete: str | None = None
    source: str = "provider"
    indexes: tuple[str, ...] = ()

    def column(self, name: str) -> Column | None:
        """The column called ``name`` (case-insensitive), if any."""
        lowered = name.lower()
        return next((c for c in self.columns if c.name.lower() == lowered), None)

    @property
    def keys(self) -> tuple[Column, ...]:
        """The key columns, in declaration order."""
        return tuple(c for c in self.columns if c.key)


@dataclass(frozen=True)
class Input:
    """One input parameter of a procedure."""

    name: str
    type: SqlType
    required: bool
    description: str
    values: tuple[str, ...] = ()
    min: int | None = None
    max: int | None = None
    list: bool = False
    format: str | None = None
    requires: str | None = None  # when true (BOOLEAN) or given, this input needs that one
    excludes: str | None = None  # this input and that one may not both be given


@dataclass(frozen=True)
class Result:
    """One result column of a procedure."""

    name: str
    type: SqlType
    description: str


@dataclass(frozen=True)
class Procedure:
    """A stored procedure reachable through EXEC."""

    name: str
    description: str
    inputs: tuple[Input, ...]
    results: tuple[Result, ...]
    results_table: str | None = None

    def input(self, name: str) -> Input | None:
        """The input called ``name`` (case-insensitive, optional leading ``@``)."""
        lowered = name.lstrip("@").lower()
        return next((i for i in self.inputs if i.name.lower() == lowered), None)


@dataclass(frozen=True)
class TableMapping:
    """How one table maps onto a provider's REST resources."""

    items: str
    list: str
    fields: Mapping[str, str]
    filters: Mapping[str, str] = field(default_factory=dict)
    fetch: str | None = None
    update: str | None = None
    delete: str | None = None
    fetch_by: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    fanout: Mapping[str, Any] | None = None
    # column -> {provider's value: SQL value}, e.g. Telnyx's in_progress -> in-progress.
    values: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    def to_api(self, column: str, value: str) -> str:
        """A SQL value as the provider writes it (the inverse of ``values``)."""
        for api, sql in self.values.get(column, {}).items():
            if sql == value:
                return api
        return value


@dataclass(frozen=True)
class ProcedureMapping:
    """The request a procedure sends on one provider, and which inputs it can honour."""

    method: str
    path: str
    fields: Mapping[str, str] = field(default_factory=dict)
    results: Mapping[str, str] = field(default_factory=dict)
    creates: bool = False
    resolve_conference: tuple[str, ...] = ()
    success: int = 200  # the documented success status (204: no body)
    # The inputs this provider takes (None: every declared input).
    inputs: frozenset[str] | None = None

    def takes(self, name: str) -> bool:
        """Whether the provider can honour input ``name`` of this procedure."""
        return self.inputs is None or name in self.inputs


@dataclass(frozen=True)
class ProviderMapping:
    """A provider's data: hosts, root path, paging knobs and resource mappings.

    Its behaviour (auth, bodies, paging, errors) is the provider's class in
    :mod:`driver.providers`; see ``schema/providers/twilio.toml`` for each key.
    """

    name: str
    description: str
    base_url: str
    root: str
    paging: Mapping[str, Any]
    tables: Mapping[str, TableMapping]
    procedures: Mapping[str, ProcedureMapping]
    regional_base_url: str | None = None
    default_region: str | None = None
    conference_sid_pattern: str | None = None
    sandbox_url: str = "http://sandbox.confsql.invalid"


@dataclass(frozen=True)
class Catalog:
    """Everything declared in schema/."""

    tables: Mapping[str, Table]
    procedures: Mapping[str, Procedure]
    providers: Mapping[str, ProviderMapping]

    def table(self, name: str) -> Table | None:
        """The table called ``name`` (case-insensitive)."""
        return _lookup(self.tables, name)

    def procedure(self, name: str) -> Procedure | None:
        """The procedure called ``name`` (case-insensitive)."""
        return _lookup(self.procedures, name)

    def provider(self, name: str) -> ProviderMapping | None:
        """The provider mapping called ``name`` (case-insensitive)."""
        return _lookup(self.providers, name)

    def tables_for(self, provider: ProviderMapping) -> list[Table]:
        """The tables a connection to ``provider`` has: those it maps, then stored ones."""
        return [
            t for t in self.tables.values() if t.name in provider.tables or t.source != "provider"
        ]

    def write_columns(self, table: Table) -> tuple[Column, ...]:
        """Hidden write-only columns: inputs of the table's insert/update procedures.

        They are derived, never restated: every input of ``table.insert`` or
        ``table.update`` that is not already a column becomes a HIDDEN column.
        """
        seen = {c.name.lower() for c in table.columns}
        extra: list[Column] = []
        for proc_name in (table.insert, table.update):
            proc = self.procedure(proc_name) if proc_name else None
            for inp in proc.inputs if proc else ():
                if inp.name.lower() in seen:
                    continue
                seen.add(inp.name.lower())
                sql_type: SqlType = inp.type
                extra.append(
                    Column(
                        name=inp.name,
                        type=sql_type,
                        description=inp.description,
                        writable=True,
                        hidden=True,
                        values=inp.values,
                    )
                )
        return tuple(extra)

    def all_columns(self, table: Table) -> tuple[Column, ...]:
        """Visible columns followed by the derived hidden write-only columns."""
        return table.columns + self.write_columns(table)


def _lookup(items: Mapping[str, T], name: str) -> T | None:
    lowered = name.lower()
    return next((v for k, v in items.items() if k.lower() == lowered), None)


def schema_dir() -> Path:
    """Where schema/ lives: inside the wheel (driver/schema) or beside the package."""
    here = Path(__file__).resolve().parent
    for candidate in (here / "schema", here.parent / "schema"):
        if (candidate / "tables").is_dir():
            return candidate
    raise SchemaError(f"schema/ not found next to {here}")


def _read(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise SchemaError(f"{path.name}: {exc}") from exc


def _check_type(where: str, value: str) -> SqlType:
    if value not in SQL_TYPES:
        raise SchemaError(f"{where}: type {value!r} is not one of {', '.join(SQL_TYPES)}")
    return value  # type: ignore[return-value]


def _column(where: str, raw: Mapping[str, Any]) -> Column:
    push = dict(raw.get("push", {}))
    for op, how in push.items():
        if op not in PUSH_OPS or how not in ("exact", "superset"):
            raise SchemaError(f"{where}: bad push entry {op!r} = {how!r}")
    return Column(
        name=raw["name"],
        type=_check_type(where, raw["type"]),
        description=raw["description"],
        key=bool(raw.get("key", False)),
        writable=bool(raw.get("writable", False)),
        hidden=bool(raw.get("hidden", False)),
        values=tuple(raw.get("values", ())),
        push=push,
    )


def _table(path: Path) -> Table:
    raw = _read(path)
    where = path.name
    columns = tuple(_column(f"{where} {c.get('name')}", c) for c in raw["columns"])
    source = raw.get("source", "provider")
    if source not in TABLE_SOURCES:
        raise SchemaError(f"{where}: source {source!r} is not one of {', '.join(TABLE_SOURCES)}")
    indexes = tuple(raw.get("indexes", ()))
    names = {c.name for c in columns}
    for column in indexes:
        if column not in names:
            raise SchemaError(f"{where}: index on {column!r}, which is not a column")
    return Table(
        name=raw["name"],
        description=raw["description"],
        columns=columns,
        insert=raw.get("insert"),
        update=raw.get("update"),
        delete=raw.get("delete"),
        source=source,
        indexes=indexes,
    )


def _procedure(path: Path, tables: Mapping[str, Table]) -> Procedure:
    raw = _read(path)
    where = path.name
    inputs = tuple(
        Input(
            name=i["name"],
            type=_check_type(f"{where} {i['name']}", i["type"]),
            required=bool(i.get("required", False)),
            description=i["description"],
            values=tuple(i.get("values", ())),
            min=i.get("min"),
            max=i.get("max"),
            list=bool(i.get("list", False)),
            format=i.get("format"),
            requires=i.get("requires"),
            excludes=i.get("excludes"),
        )
        for i in raw.get("inputs", ())
    )
    results_table = raw.get("results_table")
    if results_table:
        table = _lookup(tables, results_table)
        if table is None:
            raise SchemaError(f"{where}: results_table {results_table!r} is not a table")
        results = tuple(Result(c.name, c.type, c.description) for c in table.columns)
    else:
        results = tuple(
            Result(r["name"], _check_type(f"{where} {r['name']}", r["type"]), r["description"])
            for r in raw.get("results", ())
        )
    return Procedure(
        name=raw["name"],
        description=raw["description"],
        inputs=inputs,
        results=results,
        results_table=results_table,
    )


def _provider(path: Path) -> ProviderMapping:
    raw = _read(path)
    if "extends" in raw:  # a mapping that reuses another provider's, overriding some keys
        base = _read(path.with_name(f"{raw['extends']}.toml"))
        raw = {**base, **{k: v for k, v in raw.items() if k != "extends"}}
    tables = {
        name: TableMapping(
            items=t["items"],
            list=t["list"],
            fields=dict(t["fields"]),
            filters=dict(t.get("filters", {})),
            fetch=t.get("fetch"),
            update=t.get("update"),
            delete=t.get("delete"),
            fetch_by={k: tuple(v) for k, v in t.get("fetch_by", {}).items()},
            fanout=t.get("fanout"),
            values={col: dict(m) for col, m in t.get("values", {}).items()},
        )
        for name, t in raw.get("tables", {}).items()
    }
    procedures = {
        name: ProcedureMapping(
            method=p["method"],
            path=p["path"],
            fields=dict(p.get("fields", {})),
            results=dict(p.get("results", {})),
            creates=bool(p.get("creates", False)),
            resolve_conference=tuple(p.get("resolve_conference", ())),
            success=int(p.get("success", 204 if p["method"] == "DELETE" else 200)),
            inputs=frozenset(p["inputs"]) if "inputs" in p else None,
        )
        for name, p in raw.get("procedures", {}).items()
    }
    return ProviderMapping(
        name=raw["name"],
        description=raw["description"],
        base_url=raw["base_url"],
        root=raw.get("root", ""),
        paging=dict(raw.get("paging", {})),
        tables=tables,
        procedures=procedures,
        regional_base_url=raw.get("regional_base_url"),
        default_region=raw.get("default_region"),
        conference_sid_pattern=raw.get("conference_sid_pattern"),
        sandbox_url=raw.get("sandbox_url", "http://sandbox.confsql.invalid"),
    )


@functools.cache
def load(root: Path | None = None) -> Catalog:
    """Read every file under schema/ (cached: the files are immutable at run time)."""
    base = root or schema_dir()
    tables = {t.name: t for t in map(_table, sorted((base / "tables").glob("*.toml")))}
    procedures = {
        p.name: p
        for p in (_procedure(f, tables) for f in sorted((base / "procedures").glob("*.toml")))
    }
    providers = {p.name: p for p in map(_provider, sorted((base / "providers").glob("*.toml")))}
    for table in tables.values():
        for proc in (table.insert, table.update, table.delete):
            if proc and _lookup(procedures, proc) is None:
                raise SchemaError(f"table {table.name}: procedure {proc!r} is not declared")
    return Catalog(tables=tables, procedures=procedures, providers=providers)
