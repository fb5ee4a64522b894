"""EXPLAIN QUERY PLAN, readable: what each virtual table asks the provider for.

SQLite's plan names a virtual-table scan with the plan confsql encoded for it
(``SCAN p VIRTUAL TABLE INDEX 0:{"access": …}``).  :func:`readable` turns
that into words — which request shape, which filters the API applies, which
ones SQLite rechecks, and whether LIMIT reached the API:

    SCAN Participants (as p): one list per live Conferences row (fan-out); API filter
    Muted =; SQLite rechecks Label LIKE; LIMIT not pushed (ORDER BY …)

Other plan lines (SQLite's own sorting, subqueries) pass through unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import Any

from .planner import Plan, path_inputs
from .schema import TableMapping

_VTABLE_LINE = re.compile(
    r"^(?P<verb>SCAN|SEARCH) (?P<name>\S+) VIRTUAL TABLE INDEX \d+:(?P<plan>\{.*\})$"
)
_EXPLAIN = re.compile(r"^\s*explain\s+query\s+plan\b", re.I)


def is_explain_query_plan(sql: str) -> bool:
    """Whether ``sql`` is an ``EXPLAIN QUERY PLAN`` statement."""
    return _EXPLAIN.match(sql) is not None


def describe(plan: Plan, tables: Mapping[str, TableMapping]) -> str:
    """One plan in words, given the provider's table mappings."""
    mapping = tables.get(plan.table)
    if plan.access == "fetch":
        access = "fetch each row by its key (one request per key)"
    elif plan.access == "fanout" and mapping is not None and mapping.fanout:
        access = f"one list per live {mapping.fanout['table']} row (fan-out)"
    elif plan.access in ("list", "fanout"):
        access = "API list"
    else:
        return f"cannot be read: needs {', '.join(plan.missing)} (add WHERE … = or a join)"
    parts = [access]
    sent = [p for p in plan.pushed if _sent(mapping, plan.access, p.column, p.op)]
    in_api = [f"{p.column} {p.op}{'' if p.exact else ' (coarse)'}" for p in sent]
    local = [f"{p.column} {p.op}" for p in plan.pushed if p not in sent]
    if in_api:
        parts.append("API filter " + ", ".join(in_api))
    if local:
        parts.append("confsql filter " + ", ".join(local))
    rechecked = _without_like_bounds(plan.rechecked)
    if rechecked:
        parts.append("SQLite rechecks " + ", ".join(rechecked))
    if plan.limit_note:
        parts.append(f"LIMIT {plan.limit_note}")
    return "; ".join(parts)


def _sent(mapping: TableMapping | None, access: str, column: str, op: str) -> bool:
    """Whether ``column op`` goes to the API (a query parameter or a path value)."""
    if mapping is None:
        return False
    base = "=" if op == "IN" else op
    if access != "fetch" and f"{column} {base}" in mapping.filters:
        return True
    path = mapping.fetch if access == "fetch" else mapping.list
    by = [c for name in path_inputs(path) for c in (name, *mapping.fetch_by.get(name, ()))]
    return base == "=" and column in by


def _without_like_bounds(checks: tuple[str, ...]) -> list[str]:
    """Drop the range bounds SQLite adds for ``x LIKE 'abc%'`` (the LIKE itself stays)."""
    liked = {c.split(" ", 1)[0] for c in checks if c.endswith(" LIKE")}
    return [
        c for c in checks if not (c.split(" ", 1)[0] in liked and c.split(" ", 2)[1] in (">=", "<"))
    ]


def readable(detail: str, tables: Mapping[str, TableMapping]) -> str:
    """A plan line with its virtual-table plan in words (other lines unchanged)."""
    match = _VTABLE_LINE.match(detail)
    if match is None:
        return detail
    try:
        plan = Plan.decode(match.group("plan"))
    except (ValueError, TypeError, KeyError):
        return detail
    name = match.group("name")
    label = plan.table if name == plan.table or not plan.table else f"{plan.table} (as {name})"
    return f"{match.group('verb')} {label}: {describe(plan, tables)}"


def rows(
    plan_rows: Iterator[tuple[Any, ...]], tables: Mapping[str, TableMapping]
) -> Iterator[tuple[Any, ...]]:
    """EXPLAIN QUERY PLAN rows (id, parent, notused, detail) with readable details."""
    for row in plan_rows:
        if len(row) == 4 and isinstance(row[3], str):
            yield (*row[:3], readable(row[3], tables))
        else:
            yield row
