"""The ``sys_*`` system catalog, derived from ``schema/``.

Four read-only views that users and BI tools query with plain SELECTs:
``sys_tables``, ``sys_tablecolumns``, ``sys_procedures`` and
``sys_procedureparameters``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from .schema import Catalog, ProviderMapping
from .validation import Formats, describe_allowed

SYS_VIEWS: dict[str, tuple[str, ...]] = {
    "sys_tables": ("TableName", "Description", "IsUpdatable"),
    "sys_tablecolumns": (
        "TableName",
        "ColumnName",
        "DataType",
        "IsKey",
        "IsReadOnly",
        "IsHidden",
        "Description",
    ),
    "sys_procedures": ("ProcedureName", "Description"),
    "sys_procedureparameters": (
        "ProcedureName",
        "ParameterName",
        "DataType",
        "IsRequired",
        "Direction",
        "AllowedValues",
        "Description",
        "Providers",
    ),
}


def rows(
    catalog: Catalog, provider: ProviderMapping, formats: Formats | None = None
) -> dict[str, list[tuple[Any, ...]]]:
    """The catalog's rows for the tables and procedures this provider maps (plus stored tables)."""
    tables = catalog.tables_for(provider)
    procs = [p for p in catalog.procedures.values() if p.name in provider.procedures]
    return {
        "sys_tables": [
            (t.name, t.description, int(bool(t.insert or t.update or t.delete))) for t in tables
        ],
        "sys_tablecolumns": [
            (
                t.name,
                c.name,
                c.type,
                int(c.key),
                int(not c.writable),
                int(c.hidden),
                c.description,
            )
            for t in tables
            for c in catalog.all_columns(t)
        ],
        "sys_procedures": [(p.name, p.description) for p in procs],
        "sys_procedureparameters": [
            row
            for p in procs
            for row in [
                (
                    p.name,
                    i.name,
                    i.type,
                    int(i.required),
                    "IN",
                    describe_allowed(i, formats),
                    i.description,
                    ", ".join(takers(catalog, p.name, i.name)),
                )
                for i in p.inputs
            ]
            + [(p.name, r.name, r.type, 0, "OUT", None, r.description, None) for r in p.results]
        ],
    }


def takers(catalog: Catalog, procedure: str, name: str) -> list[str]:
    """The providers that take input ``name`` of ``procedure`` (by their mapping names)."""
    return [
        m.name
        for m in catalog.providers.values()
        if procedure in m.procedures and m.procedures[procedure].takes(name)
    ]


def _literal(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def view_sql(name: str, columns: Sequence[str], data: Iterable[Sequence[Any]]) -> str:
    """CREATE TEMP VIEW statement holding ``data`` as literal rows."""
    cols = ", ".join(f'"{c}"' for c in columns)
    select = " UNION ALL ".join(
        "SELECT " + ", ".join(f'{_literal(v)} AS "{c}"' for v, c in zip(row, columns, strict=True))
        for row in data
    )
    if not select:
        select = "SELECT " + ", ".join(f'NULL AS "{c}"' for c in columns) + " WHERE 0"
    return f'CREATE TEMP VIEW "{name}"({cols}) AS {select}'
