"""Postgres SQL in, SQLite SQL out (sqlglot), for the engine and the emulated catalog.

:func:`translate` parses one statement with ``read="postgres"``, rewrites what
SQLite lacks into SQL or into functions that :mod:`driver.serve.pgcatalog`
registers, and writes it back with ``write="sqlite"``:

* ``x::type`` casts (``::bool`` reads ``'t'``/``'f'`` as Postgres does);
* ``ILIKE``, ``~``/``~*`` regular expressions, ``LIMIT``/``OFFSET``;
* ``now()``, ``date_trunc``, ``extract``, ``timestamp ± interval``;
* ``x = ANY(ARRAY[...])``, array subscripts and ``array_agg``;
* ``pg_catalog.``-qualified functions, ``regclass``/``regtype`` casts;
* quoted identifiers keep their case (``"Conferences"``).

``EXEC`` statements never come here; they pass through untranslated.
What cannot be translated raises :class:`Untranslatable` naming the construct.

>>> translate('SELECT "Sid" FROM "Conferences" WHERE "FriendlyName" ILIKE $1 LIMIT 2').sql
'SELECT "Sid" FROM "Conferences" WHERE LOWER("FriendlyName") LIKE LOWER(?) LIMIT 2'
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

import sqlglot
from sqlglot import exp
from sqlglot.errors import ErrorLevel, ParseError, SqlglotError, UnsupportedError
from sqlglot.optimizer.annotate_types import annotate_types

from .. import schema as confsql_schema
from . import pgtypes
from .split import positional


class Untranslatable(Exception):
    """A Postgres construct with no SQLite equivalent here (SQLSTATE 0A000)."""


class PgSyntaxError(Exception):
    """The statement is not valid Postgres SQL (SQLSTATE 42601)."""


@dataclass
class Translated:
    """A statement ready for the DB-API."""

    sql: str
    order: list[int]  # parameter numbers ($n) in the order of the ?s in ``sql``
    command: str  # SELECT, INSERT, UPDATE, DELETE: names the CommandComplete tag
    returns_rows: bool
    types: list[int | None] = field(default_factory=list)  # per output column, when known


# Names of catalog columns that hold object names: matched case-insensitively, since
# confsql's identifiers (like SQLite's) are case-insensitive (psql lower-cases `\d Foo`).
NAME_COLUMNS = frozenset(
    {"relname", "nspname", "attname", "typname", "conname", "datname", "proname", "table_name"}
)

_TRUNC_FORMATS = {
    "YEAR": "%Y-01-01 00:00:00",
    "MONTH": "%Y-%m-01 00:00:00",
    "DAY": "%Y-%m-%d 00:00:00",
    "HOUR": "%Y-%m-%d %H:00:00",
    "MINUTE": "%Y-%m-%d %H:%M:00",
    "SECOND": "%Y-%m-%d %H:%M:%S",
}

_EXTRACT_FORMATS = {
    "YEAR": "%Y",
    "MONTH": "%m",
    "DAY": "%d",
    "HOUR": "%H",
    "MINUTE": "%M",
    "DOW": "%w",
    "DOY": "%j",
}

_UNITS = {
    "SECOND": "seconds",
    "MINUTE": "minutes",
    "HOUR": "hours",
    "DAY": "days",
    "WEEK": "days",
    "MONTH": "months",
    "YEAR": "years",
}

_REG_TYPES = {"REGCLASS", "REGTYPE", "REGNAMESPACE", "REGPROC", "REGPROCEDURE", "REGROLE", "OID"}


def _func(name: str, *args: exp.Expr) -> exp.Expr:
    return exp.Anonymous(this=name, expressions=list(args))


def _unit(node: exp.Expr | None) -> str:
    text = node.name if node is not None else ""
    text = text.upper().rstrip("S") if text.upper() not in ("S",) else text.upper()
    return {"DOW": "DOW", "DOY": "DOY", "EPOCH": "EPOCH", "QUARTER": "QUARTER"}.get(text, text)


def _date_trunc(node: exp.Expr) -> exp.Expr:
    unit = _unit(node.args.get("unit"))
    value = node.this
    if unit == "WEEK":  # Postgres weeks start on Monday
        return _func(
            "strftime",
            exp.Literal.string("%Y-%m-%d 00:00:00"),
            value,
            exp.Literal.string("-6 days"),
            exp.Literal.string("weekday 1"),
        )
    if unit == "QUARTER":
        return _func("pg_trunc_quarter", value)
    fmt = _TRUNC_FORMATS.get(unit)
    if fmt is None:
        raise Untranslatable(f"date_trunc('{unit.lower()}', ...) is not supported")
    return _func("strftime", exp.Literal.string(fmt), value)


def _extract(node: exp.Extract) -> exp.Expr:
    unit = _unit(node.this)
    value = node.expression
    if unit == "EPOCH":
        return _func("pg_epoch", value)
    if unit == "SECOND":
        return exp.Cast(
            this=_func("strftime", exp.Literal.string("%f"), value), to=exp.DataType.build("REAL")
        )
    if unit == "QUARTER":
        month = exp.Cast(
            this=_func("strftime", exp.Literal.string("%m"), value), to=exp.DataType.build("INT")
        )
        return exp.paren(exp.Div(this=exp.paren(month + 2), expression=exp.Literal.number(3)))
    fmt = _EXTRACT_FORMATS.get(unit)
    if fmt is None:
        raise Untranslatable(f"extract({unit.lower()} from ...) is not supported")
    return exp.Cast(
        this=_func("strftime", exp.Literal.string(fmt), value), to=exp.DataType.build("INT")
    )


def _interval_modifier(interval: exp.Interval, sign: int) -> exp.Expr:
    """``INTERVAL '2 hours'`` as SQLite's datetime() modifier ``'+2 hours'``."""
    amount = interval.this.name if isinstance(interval.this, exp.Literal) else None
    unit = _unit(interval.args.get("unit"))
    if amount is None or unit not in _UNITS:
        raise Untranslatable(f"the interval {interval.sql('postgres')} is not supported")
    try:
        number = float(amount)
    except ValueError:
        raise Untranslatable(f"the interval {interval.sql('postgres')} is not supported") from None
    if unit == "WEEK":
        number *= 7
    number *= sign
    shown = int(number) if number.is_integer() else number
    return exp.Literal.string(f"{'+' if number >= 0 else ''}{shown} {_UNITS[unit]}")


def _interval_math(node: exp.Expr) -> exp.Expr:
    left, right = node.this, node.expression
    sign = 1 if isinstance(node, exp.Add) else -1
    if isinstance(right, exp.Interval):
        return _func("pg_datetime", left, _interval_modifier(right, sign))
    if isinstance(left, exp.Interval) and isinstance(node, exp.Add):
        return _func("pg_datetime", right, _interval_modifier(left, 1))
    return node


def _cast_target(to: exp.Expr) -> tuple[str | None, exp.Expr]:
    """(special type name or None, the DataType) of a cast's target."""
    if isinstance(to, exp.ObjectIdentifier):
        return to.name.upper(), to
    if isinstance(to, exp.DataType) and to.this == exp.DType.USERDEFINED:
        kind = to.args.get("kind")
        name = (kind.name if isinstance(kind, exp.Dot | exp.Identifier) else str(kind)).strip('"')
        if name.upper() in _REG_TYPES or name.upper() in _TEXTUAL_TYPES:
            return name.upper(), to
        try:
            return None, exp.DataType.build(name, dialect="postgres")
        except (SqlglotError, ValueError):
            return name.upper(), to
    return None, to


_TEXTUAL_TYPES = {"NAME", "CHAR", "INT2VECTOR", "OIDVECTOR"}


def _cast(node: exp.Cast) -> exp.Expr:
    target, to = _cast_target(node.to)
    if isinstance(to, exp.DataType) and to.this == exp.DType.ARRAY:
        inner: exp.Expr = node.this
        return inner  # arrays travel as their text form
    if target in _REG_TYPES:
        return _func(f"pg_{target.lower()}_oid" if target != "OID" else "pg_oid", node.this)
    if target in _TEXTUAL_TYPES or (isinstance(to, exp.DataType) and to.this == exp.DType.NAME):
        return exp.Cast(this=node.this, to=exp.DataType.build("TEXT"))
    if target is None and isinstance(to, exp.DataType):
        if to.this == exp.DType.BOOLEAN:
            return _func("pg_bool", node.this)
        if to.is_type(*exp.DataType.TEXT_TYPES):
            inner = node.this
            if isinstance(inner, exp.Anonymous) and inner.name.endswith("_oid"):
                kind = inner.name[3:-4]
                if kind in ("regclass", "regtype", "regnamespace", "regproc", "regrole"):
                    return _func(f"pg_{kind}_name", *inner.expressions)
            return exp.Cast(this=inner, to=exp.DataType.build("TEXT"))
        if to.this in (exp.DType.TIMESTAMP, exp.DType.TIMESTAMPTZ, exp.DType.DATETIME):
            return _func("pg_timestamp", node.this)
        if to.this == exp.DType.DATE:
            return _func("date", node.this)
        if to.is_type(*exp.DataType.INTEGER_TYPES):
            return exp.Cast(this=node.this, to=exp.DataType.build("INTEGER"))
        if to.is_type(*exp.DataType.REAL_TYPES):
            return exp.Cast(this=node.this, to=exp.DataType.build("REAL"))
        if to.this in (exp.DType.JSON, exp.DType.JSONB, exp.DType.UUID):
            return exp.Cast(this=node.this, to=exp.DataType.build("TEXT"))
        if to.this in (exp.DType.DECIMAL, exp.DType.BIGDECIMAL):
            return exp.Cast(this=node.this, to=exp.DataType.build("REAL"))
        raise Untranslatable(f"the cast to {to.sql('postgres').lower()} is not supported")
    raise Untranslatable(f"the cast to {str(target).lower()} is not supported")


def _regex(node: exp.Expr, negate: bool = False) -> exp.Expr:
    insensitive = isinstance(node, exp.RegexpILike)
    subject = node.this
    if isinstance(subject, exp.Column) and subject.name.lower() in NAME_COLUMNS:
        insensitive = True
    pattern = node.expression
    if isinstance(pattern, exp.Collate):
        pattern = pattern.this
    call = _func("pg_regex", subject, pattern, exp.Literal.number(int(insensitive)))
    return exp.Not(this=call) if negate else call


def _operator(node: exp.Operator) -> exp.Expr:
    op = str(node.args.get("operator") or "").split(".")[-1].strip()
    pairs = {"~": (False, False), "~*": (True, False), "!~": (False, True), "!~*": (True, True)}
    if op in pairs:
        insensitive, negate = pairs[op]
        cls = exp.RegexpILike if insensitive else exp.RegexpLike
        return _regex(cls(this=node.this, expression=node.expression), negate)
    simple = {"=": exp.EQ, "<>": exp.NEQ, "<": exp.LT, ">": exp.GT, "<=": exp.LTE, ">=": exp.GTE}
    if op in simple:
        return simple[op](this=node.this, expression=node.expression)
    raise Untranslatable(f"OPERATOR({op}) is not supported")


_BOOL_WORDS = {"t", "f", "true", "false", "y", "n", "yes", "no", "on", "off"}


def _bool_literal(node: exp.Expr) -> exp.Expr:
    """``bool_column = 't'``: Postgres reads the string as a boolean; so must SQLite."""
    left, right = node.this, node.expression
    for column, other in ((left, right), (right, left)):
        if (
            isinstance(column, exp.Column)
            and column.name.lower() in _bool_columns()
            and isinstance(other, exp.Literal)
            and other.is_string
            and other.name.strip().lower() in _BOOL_WORDS
        ):
            other.replace(_func("pg_bool", other.copy()))
    return node


@functools.cache
def _bool_columns() -> frozenset[str]:
    """Names of boolean columns: confsql's (schema/) and the emulated catalog's."""
    from .pgcatalog import TABLES  # the catalog's declarations

    names = {
        c.name.lower()
        for t in confsql_schema.load().tables.values()
        for c in t.columns
        if c.type == "BOOLEAN"
    }
    for tables in TABLES.values():
        for decl in tables.values():
            names |= {p.split()[0].lower() for p in decl.split(",") if p.split()[1] == "BOOLEAN"}
    return frozenset(names)


def _any(node: exp.Expr) -> exp.Expr:
    """``x = ANY(ARRAY[..])`` -> IN; ``x = ANY(array_column)`` -> pg_array_has()."""
    quantified = node.expression
    if not isinstance(quantified, exp.Any | exp.All):
        return node
    inner = quantified.this
    while isinstance(inner, exp.Paren):
        inner = inner.this
    is_all = isinstance(quantified, exp.All)
    if (isinstance(node, exp.EQ) and not is_all) or (isinstance(node, exp.NEQ) and is_all):
        negate = isinstance(node, exp.NEQ)
        if isinstance(inner, exp.Anonymous) and inner.name == "pg_array":
            found: exp.Expr = exp.In(this=node.this, expressions=inner.expressions)
        else:
            found = _func("pg_array_has", inner, node.this)
        return exp.Not(this=found) if negate else found
    raise Untranslatable(f"{node.key.upper()} {'ALL' if is_all else 'ANY'}(...) is not supported")


def _array(node: exp.Array) -> exp.Expr:
    items = node.expressions
    if len(items) == 1 and isinstance(items[0], exp.Query):
        query = items[0].copy()
        if not isinstance(query, exp.Select) or len(query.expressions) != 1:
            raise Untranslatable("ARRAY(subquery) needs a single-column SELECT")
        query.set("expressions", [_func("pg_array_agg", query.expressions[0].unalias())])
        return exp.Subquery(this=query)
    return _func("pg_array", *items)


def _table_function(node: exp.Table) -> exp.Expr:
    """``unnest(arr) x`` / ``generate_series(a, b) s`` in FROM, as a json_each() derived table."""
    func = node.this
    alias = node.alias or "unnest"
    if isinstance(func, exp.Explode | exp.Unnest):
        arg = func.this if isinstance(func, exp.Explode) else func.expressions[0]
        items = _func("pg_array_json", arg)
    elif isinstance(func, exp.ExplodingGenerateSeries | exp.GenerateSeries):
        bounds = [func.args.get("start"), func.args.get("end"), func.args.get("step")]
        items = _func("pg_series_json", *[b for b in bounds if b is not None])
    else:
        raise Untranslatable(f"the table function {func.sql('postgres')} is not supported")
    inner = exp.select(exp.alias_(exp.column("value"), alias, quoted=True)).from_(
        exp.Table(this=_func("json_each", items))
    )
    return exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(alias)))


def _escape_string(node: exp.ByteString) -> exp.Expr:
    """``E'a\\nb'``: a Postgres escape string, as a plain literal."""
    text = node.name
    try:
        decoded = text.encode("latin-1", "backslashreplace").decode("unicode_escape")
    except UnicodeDecodeError:
        raise Untranslatable(f"cannot read the escape string E'{text}'") from None
    return exp.Literal.string(decoded)


def _rewrite(node: exp.Expr) -> exp.Expr:
    if isinstance(node, exp.ByteString):
        return _escape_string(node)
    if isinstance(node, exp.Table) and isinstance(node.this, exp.Func):
        if isinstance(node.this, exp.Anonymous) and node.this.name == "json_each":
            return node  # already SQLite's
        return _table_function(node)
    if (
        isinstance(node, exp.Dot)
        and isinstance(node.this, exp.Identifier)
        and node.this.name.lower() == "pg_catalog"
        and isinstance(node.expression, exp.Func)
    ):
        return node.expression
    if isinstance(node, exp.Collate):
        collated: exp.Expr = node.this
        return collated
    if isinstance(node, exp.Operator):
        return _operator(node)
    if isinstance(node, exp.RegexpLike | exp.RegexpILike):
        return _regex(node)
    if isinstance(node, exp.EQ | exp.NEQ):
        _bool_literal(node)
    if isinstance(node, exp.EQ | exp.NEQ | exp.GT | exp.LT | exp.GTE | exp.LTE):
        return _any(node)
    if isinstance(node, exp.TimestampTrunc | exp.DateTrunc):
        return _date_trunc(node)
    if isinstance(node, exp.Extract):
        return _extract(node)
    if isinstance(node, exp.Add | exp.Sub):
        return _interval_math(node)
    if isinstance(node, exp.Cast | exp.TryCast):
        return _cast(node)
    if isinstance(node, exp.Array):
        return _array(node)
    if isinstance(node, exp.Bracket):
        if len(node.expressions) != 1:
            raise Untranslatable("array slices are not supported")
        index = node.expressions[0]
        if isinstance(index, exp.Literal) and index.is_int:
            index = exp.Literal.number(int(index.name) + 1)  # sqlglot stores a[1] as 0
        return _func("pg_array_get", node.this, index)
    if isinstance(node, exp.ArrayAgg):
        return _array_agg(node)
    if isinstance(node, exp.CurrentSchema):
        return _func("current_schema")
    if isinstance(node, exp.CurrentUser | exp.SessionUser):
        return _func("current_user")
    if isinstance(node, exp.CurrentDatabase):
        return _func("current_database")
    if isinstance(node, exp.CurrentVersion):
        return _func("version")
    if isinstance(node, exp.CurrentTimestamp | exp.CurrentDate | exp.CurrentTime):
        return node
    if isinstance(node, exp.Interval) and not isinstance(node.parent, exp.Add | exp.Sub):
        raise Untranslatable(
            f"the interval {node.sql('postgres')} is only supported added to or subtracted "
            "from a timestamp"
        )
    if not isinstance(node.parent, exp.Table) and (
        isinstance(node, exp.Explode | exp.ExplodingGenerateSeries)
        or (isinstance(node, exp.Anonymous) and node.name.lower() == "generate_subscripts")
    ):
        raise Untranslatable(f"the set-returning function {node.sql('postgres')} is not supported")
    return node


# Catalog tables that never hold a row here (no inheritance, policies, publications ...).
EMPTY_TABLES = frozenset(
    {
        "pg_inherits",
        "pg_policy",
        "pg_statistic_ext",
        "pg_publication",
        "pg_publication_rel",
        "pg_publication_namespace",
        "pg_trigger",
        "pg_rewrite",
        "pg_sequence",
        "pg_attrdef",
        "pg_extension",
        "pg_enum",
        "pg_range",
        "pg_foreign_table",
        "pg_foreign_server",
        "pg_partitioned_table",
        "pg_depend",
        "pg_event_trigger",
        "pg_cast",
        "pg_operator",
        "pg_language",
        "pg_auth_members",
        "pg_opclass",
        "pg_matviews",
        "pg_stat_activity",
        "pg_locks",
    }
)


def _reads_empty(select: exp.Select) -> bool:
    """True when an inner source of ``select`` is a catalog table that is always empty."""
    source = select.args.get("from_") or select.args.get("from")
    if source is None:
        return False
    inner = [source.this]
    for join in select.args.get("joins") or []:
        side = (join.side or "").upper()
        if side in ("RIGHT", "FULL"):
            return False
        if side != "LEFT":
            inner.append(join.this)
    if select.args.get("group") is None and any(
        agg.parent_select is select for agg in select.find_all(exp.AggFunc)
    ):
        return False  # an aggregate over nothing still answers one row
    return any(
        isinstance(t, exp.Table) and t.name.lower() in EMPTY_TABLES and not t.args.get("joins")
        for t in inner
    )


def _prune_empty(tree: exp.Expr) -> exp.Expr:
    """Replace each SELECT that reads an always-empty catalog table by a row-less stub.

    Exact (an inner source with no rows gives no rows), and it spares translating the
    arrays and set-returning functions those queries use (psql's \\d footers).
    """
    for select in list(tree.find_all(exp.Select)):
        if not _reads_empty(select):
            continue
        names = [
            item.alias if isinstance(item, exp.Alias) else _figure_name(item)
            for item in select.expressions
        ]
        stub = exp.select(*[exp.alias_(exp.Null(), n, quoted=True) for n in names]).where(
            exp.false()
        )
        if select is tree:
            return stub
        select.replace(stub)
    return tree


def _is_srf(node: exp.Expr) -> bool:
    return isinstance(node, exp.Explode) or (
        isinstance(node, exp.Anonymous) and node.name.lower() == "generate_subscripts"
    )


def _lift_srfs(tree: exp.Expr) -> exp.Expr:
    """``SELECT unnest(a), generate_subscripts(a, 1) FROM t`` as a join with json_each(a).

    Set-returning functions in a select list multiply rows; several over
    arrays of one length advance together.  Each distinct array becomes one
    json_each() joined on its element index.
    """
    for select in list(tree.find_all(exp.Select)):
        found = [
            n
            for item in select.expressions
            for n in item.find_all(exp.Explode, exp.Anonymous)
            if _is_srf(n) and n.parent_select is select
        ]
        if not found:
            continue
        aliases: dict[str, str] = {}
        for node in found:
            array = node.this if isinstance(node, exp.Explode) else node.expressions[0]
            key = array.sql("postgres")
            if key not in aliases:
                alias = f"_srf{len(aliases)}"
                aliases[key] = alias
                table = exp.Table(
                    this=_func("json_each", _func("pg_array_json", array.copy())),
                    alias=exp.TableAlias(this=exp.to_identifier(alias)),
                )
                on = (
                    None
                    if alias == "_srf0"
                    else exp.column("key", alias).eq(exp.column("key", "_srf0"))
                )
                select.join(table, on=on, copy=False)
            alias = aliases[key]
            if isinstance(node, exp.Explode):
                node.replace(exp.column("value", alias))
            else:
                lower = _func("array_lower", array.copy(), exp.Literal.number(1))
                node.replace(exp.Add(this=exp.column("key", alias), expression=lower))
    return tree


def _transform(node: exp.Expr) -> exp.Expr:
    """Rewrite bottom-up: children first, so every rewrite sees translated operands."""
    for child in list(node.iter_expressions()):
        new = _transform(child)
        if new is not child:
            child.replace(new)
    return _rewrite(node)


def _array_agg(node: exp.ArrayAgg) -> exp.Expr:
    return _func("pg_array_agg", node.this)  # agg(x ORDER BY y) works in SQLite too


_CAST_NAMES = {
    "BOOLEAN": "bool",
    "INT": "int4",
    "BIGINT": "int8",
    "SMALLINT": "int2",
    "DOUBLE PRECISION": "float8",
    "REAL": "float4",
    "TIMESTAMP": "timestamp",
}


def _figure_name(node: exp.Expr) -> str:
    """The column name Postgres gives an unaliased output expression."""
    if isinstance(node, exp.Column):
        return node.name
    if isinstance(node, exp.Cast):
        inner = _figure_name(node.this)
        if inner != "?column?":
            return inner
        to = node.to.sql("postgres").upper()
        return _CAST_NAMES.get(to, to.lower())
    if isinstance(node, exp.Dot) and isinstance(node.expression, exp.Func):
        return _figure_name(node.expression)
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    if isinstance(node, exp.CurrentSchema):
        return "current_schema"
    if isinstance(node, exp.CurrentVersion):
        return "version"
    if isinstance(node, exp.CurrentTimestamp):
        return "now"
    if isinstance(node, exp.TimestampTrunc | exp.DateTrunc):
        return "date_trunc"
    if isinstance(node, exp.Func):
        return (node.sql_name() or "?column?").lower()
    return "?column?"


def _output_names(tree: exp.Expr) -> list[str | None]:
    """The name Postgres gives each unaliased output expression (None: leave as is)."""
    if not isinstance(tree, exp.Select):
        return []
    return [
        None if isinstance(item, exp.Alias | exp.Star | exp.Column) else _figure_name(item)
        for item in tree.expressions
    ]


def _apply_names(tree: exp.Expr, names: list[str | None]) -> None:
    if not names or not isinstance(tree, exp.Select) or len(tree.expressions) != len(names):
        return
    tree.set(
        "expressions",
        [
            item if name is None else exp.alias_(item, name, quoted=True)
            for item, name in zip(tree.expressions, names, strict=True)
        ],
    )


def _annotated_types(tree: exp.Expr) -> list[int | None]:
    """OIDs sqlglot infers for each output expression (None where unknown)."""
    if not isinstance(tree, exp.Query) or any(isinstance(s, exp.Star) for s in tree.selects):
        return []
    try:
        annotated = annotate_types(tree.copy(), dialect="postgres")
    except (SqlglotError, KeyError, ValueError, TypeError, AttributeError):
        return []
    out: list[int | None] = []
    for select in annotated.selects:
        node = select.unalias()
        if isinstance(node, exp.Column | exp.Null):
            out.append(None)  # the engine's declared type decides
            continue
        kind = node.type.sql("postgres") if node.type else None
        if isinstance(node, exp.ArrayAgg) and not (kind or "").endswith("[]"):
            kind = "TEXT[]"
        elif isinstance(node, exp.TimestampTrunc | exp.DateTrunc) or (
            isinstance(node, exp.Add | exp.Sub) and isinstance(node.expression, exp.Interval)
        ):
            kind = "TIMESTAMP"
        out.append(pgtypes.oid_for_annotation(kind))
    return out


_COMMANDS: dict[type[exp.Expr], str] = {
    exp.Insert: "INSERT",
    exp.Update: "UPDATE",
    exp.Delete: "DELETE",
}


def translate(sql: str) -> Translated:
    """Translate one Postgres statement (not EXEC, not a session command) for SQLite."""
    try:
        trees = sqlglot.parse(sql, read="postgres")
    except ParseError as exc:
        raise PgSyntaxError(_parse_message(exc)) from None
    except SqlglotError as exc:
        raise PgSyntaxError(f"syntax error: {exc}") from None
    found = [t for t in trees if t is not None]
    if len(found) != 1:
        raise PgSyntaxError("expected exactly one statement")
    tree: exp.Expr = found[0]
    if isinstance(tree, exp.Command):
        word = str(tree.this).upper()
        raise Untranslatable(f"{word} is not supported by confsql serve")
    if not isinstance(tree, exp.Query | exp.Insert | exp.Update | exp.Delete):
        raise Untranslatable(
            f"{tree.key.upper()} statements are not supported by confsql serve "
            "(it runs SELECT, INSERT, UPDATE, DELETE, EXEC and session commands)"
        )
    for node in tree.find_all(exp.Anonymous):
        if node.name.lower() == "now":
            node.replace(exp.CurrentTimestamp())
    if tree.find(exp.Lock) is not None:
        raise Untranslatable("SELECT ... FOR UPDATE/SHARE is not supported (no row locks)")
    types = _annotated_types(tree)
    names = _output_names(tree)
    returns_rows = isinstance(tree, exp.Query) or bool(tree.args.get("returning"))
    if tree.args.get("returning"):
        raise Untranslatable("RETURNING is not supported; EXEC the procedure to get its result row")
    try:
        rewritten = _transform(_lift_srfs(_prune_empty(tree.copy())))
        _apply_names(rewritten, names)
        text = rewritten.sql(dialect="sqlite", unsupported_level=ErrorLevel.RAISE)
    except UnsupportedError as exc:
        raise Untranslatable(str(exc).strip()) from None
    except SqlglotError as exc:
        raise Untranslatable(f"cannot translate this statement for SQLite: {exc}") from None
    text, order = positional(text, "@")
    return Translated(text, order, _COMMANDS.get(type(tree), "SELECT"), returns_rows, types)


def _parse_message(exc: ParseError) -> str:
    errors = exc.errors or []
    if errors:
        first = errors[0]
        near = str(first.get("highlight") or "").strip()
        where = f' at or near "{near}"' if near else ""
        return f"syntax error{where} (line {first.get('line')}, column {first.get('col')})"
    return f"syntax error: {exc}"
