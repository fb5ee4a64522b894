"""The ``pg_catalog`` and ``information_schema`` clients query, generated from schema/.

Each client's confsql connection gets two attached in-memory SQLite databases
named ``pg_catalog`` and ``information_schema``.  Their tables hold rows built
from :func:`driver.schema.load` (the tables and columns this connection's
provider offers) and from the ``sys_*`` views, with the OIDs and flags that
psql's ``\\d``, psqlODBC's SQLTables/SQLColumns and SQLAlchemy's inspector read.
The functions those queries call (``format_type``, ``pg_table_is_visible``,
``has_table_privilege`` ...) are registered on the same SQLite connection, as
are the helpers :mod:`driver.serve.translate` emits (``pg_regex``, ``pg_bool`` ...).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .. import schema as confsql_schema
from ..errors import DataError, ProgrammingError
from . import commands, pgtypes

PG_CATALOG, PUBLIC, INFORMATION_SCHEMA = 11, 2200, 13000
OWNER = 10
FIRST_TABLE_OID = 16384
DATABASE_OID = 16383
PG_CLASS_OID, PG_CONSTRAINT_OID, PG_PROC_OID, PG_TYPE_OID = 1259, 2606, 1255, 1247
PG_NAMESPACE_OID = 2615

# Column declarations: the first word names the Postgres type (see pgtypes.DECLTYPE_OIDS);
# a trailing TEXT gives SQLite text affinity where the Postgres type name would not.
TABLES: dict[str, dict[str, str]] = {
    "pg_catalog": {
        "pg_namespace": "oid OID, nspname NAME TEXT, nspowner OID, nspacl TEXT[]",
        "pg_class": (
            "oid OID, relname NAME TEXT, relnamespace OID, reltype OID, reloftype OID, "
            "relowner OID, relam OID, relfilenode OID, reltablespace OID, relpages INT4, "
            "reltuples REAL, relallvisible INT4, reltoastrelid OID, relhasindex BOOLEAN, "
            "relisshared BOOLEAN, relpersistence CHAR, relkind CHAR, relnatts INT2, "
            "relchecks INT2, relhasrules BOOLEAN, relhastriggers BOOLEAN, "
            "relhassubclass BOOLEAN, relrowsecurity BOOLEAN, relforcerowsecurity BOOLEAN, "
            "relispopulated BOOLEAN, relreplident CHAR, relispartition BOOLEAN, "
            "relrewrite OID, relfrozenxid INTEGER, relminmxid INTEGER, relacl TEXT[], "
            "reloptions TEXT[], relpartbound TEXT"
        ),
        "pg_attribute": (
            "attrelid OID, attname NAME TEXT, atttypid OID, attstattarget INT4, attlen INT2, "
            "attnum INT2, attndims INT4, attcacheoff INT4, atttypmod INT4, attbyval BOOLEAN, "
            "attalign CHAR, attstorage CHAR, attcompression CHAR, attnotnull BOOLEAN, "
            "atthasdef BOOLEAN, atthasmissing BOOLEAN, attidentity CHAR, attgenerated CHAR, "
            "attisdropped BOOLEAN, attislocal BOOLEAN, attinhcount INT4, attcollation OID, "
            "attacl TEXT[], attoptions TEXT[], attfdwoptions TEXT[], attmissingval TEXT"
        ),
        "pg_type": (
            "oid OID, typname NAME TEXT, typnamespace OID, typowner OID, typlen INT2, "
            "typbyval BOOLEAN, typtype CHAR, typcategory CHAR, typispreferred BOOLEAN, "
            "typisdefined BOOLEAN, typdelim CHAR, typrelid OID, typsubscript TEXT, "
            "typelem OID, typarray OID, typinput TEXT, typoutput TEXT, typreceive TEXT, "
            "typsend TEXT, typmodin TEXT, typmodout TEXT, typanalyze TEXT, typalign CHAR, "
            "typstorage CHAR, typnotnull BOOLEAN, typbasetype OID, typtypmod INT4, "
            "typndims INT4, typcollation OID, typdefaultbin TEXT, typdefault TEXT, "
            "typacl TEXT[]"
        ),
        "pg_index": (
            "indexrelid OID, indrelid OID, indnatts INT2, indnkeyatts INT2, "
            "indisunique BOOLEAN, indnullsnotdistinct BOOLEAN, indisprimary BOOLEAN, "
            "indisexclusion BOOLEAN, indimmediate BOOLEAN, indisclustered BOOLEAN, "
            "indisvalid BOOLEAN, indcheckxmin BOOLEAN, indisready BOOLEAN, "
            "indislive BOOLEAN, indisreplident BOOLEAN, indkey INT2VECTOR, "
            "indcollation OIDVECTOR, indclass OIDVECTOR, indoption INT2VECTOR, "
            "indexprs TEXT, indpred TEXT"
        ),
        "pg_constraint": (
            "oid OID, conname NAME TEXT, connamespace OID, contype CHAR, "
            "condeferrable BOOLEAN, condeferred BOOLEAN, convalidated BOOLEAN, "
            "conrelid OID, contypid OID, conindid OID, conparentid OID, confrelid OID, "
            "confupdtype CHAR, confdeltype CHAR, confmatchtype CHAR, conislocal BOOLEAN, "
            "coninhcount INT4, connoinherit BOOLEAN, conkey INT2[], confkey INT2[], "
            "conpfeqop TEXT[], conppeqop TEXT[], conffeqop TEXT[], confdelsetcols INT2[], "
            "conexclop TEXT[], conbin TEXT"
        ),
        "pg_description": "objoid OID, classoid OID, objsubid INT4, description TEXT",
        "pg_settings": (
            "name TEXT, setting TEXT, unit TEXT, category TEXT, short_desc TEXT, "
            "extra_desc TEXT, context TEXT, vartype TEXT, source TEXT, min_val TEXT, "
            "max_val TEXT, enumvals TEXT[], boot_val TEXT, reset_val TEXT, "
            "sourcefile TEXT, sourceline INT4, pending_restart BOOLEAN"
        ),
        "pg_database": (
            "oid OID, datname NAME TEXT, datdba OID, encoding INT4, datlocprovider CHAR, "
            "datistemplate BOOLEAN, datallowconn BOOLEAN, datconnlimit INT4, "
            "datfrozenxid INTEGER, datminmxid INTEGER, dattablespace OID, datcollate TEXT, "
            "datctype TEXT, daticulocale TEXT, datcollversion TEXT, datacl TEXT[]"
        ),
        "pg_roles": (
            "oid OID, rolname NAME TEXT, rolsuper BOOLEAN, rolinherit BOOLEAN, "
            "rolcreaterole BOOLEAN, rolcreatedb BOOLEAN, rolcanlogin BOOLEAN, "
            "rolreplication BOOLEAN, rolconnlimit INT4, rolpassword TEXT, "
            "rolvaliduntil TEXT, rolbypassrls BOOLEAN, rolconfig TEXT[]"
        ),
        "pg_user": (
            "usename NAME TEXT, usesysid OID, usecreatedb BOOLEAN, usesuper BOOLEAN, "
            "userepl BOOLEAN, usebypassrls BOOLEAN, passwd TEXT, valuntil TEXT, "
            "useconfig TEXT[]"
        ),
        "pg_am": "oid OID, amname NAME TEXT, amhandler TEXT, amtype CHAR",
        "pg_attrdef": "oid OID, adrelid OID, adnum INT2, adbin TEXT",
        "pg_collation": (
            "oid OID, collname NAME TEXT, collnamespace OID, collowner OID, "
            "collprovider CHAR, collisdeterministic BOOLEAN, collencoding INT4, "
            "collcollate TEXT, collctype TEXT"
        ),
        "pg_proc": (
            "oid OID, proname NAME TEXT, pronamespace OID, proowner OID, prolang OID, "
            "prokind CHAR, prorettype OID, proargtypes OIDVECTOR, proargnames TEXT[], "
            "proretset BOOLEAN, prosrc TEXT"
        ),
        "pg_tables": (
            "schemaname NAME TEXT, tablename NAME TEXT, tableowner NAME TEXT, "
            "tablespace NAME TEXT, hasindexes BOOLEAN, hasrules BOOLEAN, "
            "hastriggers BOOLEAN, rowsecurity BOOLEAN"
        ),
        "pg_views": (
            "schemaname NAME TEXT, viewname NAME TEXT, viewowner NAME TEXT, definition TEXT"
        ),
        "pg_matviews": "schemaname NAME TEXT, matviewname NAME TEXT, definition TEXT",
        "pg_tablespace": "oid OID, spcname NAME TEXT, spcowner OID",
        "pg_inherits": "inhrelid OID, inhparent OID, inhseqno INT4, inhdetachpending BOOLEAN",
        "pg_policy": (
            "oid OID, polname NAME TEXT, polrelid OID, polcmd CHAR, polpermissive BOOLEAN, "
            "polroles TEXT[], polqual TEXT, polwithcheck TEXT"
        ),
        "pg_statistic_ext": (
            "oid OID, stxrelid OID, stxname NAME TEXT, stxnamespace OID, stxowner OID, "
            "stxstattarget INT4, stxkeys INT2VECTOR, stxkind TEXT[]"
        ),
        "pg_publication": "oid OID, pubname NAME TEXT, puballtables BOOLEAN",
        "pg_publication_rel": "oid OID, prpubid OID, prrelid OID, prqual TEXT, prattrs INT2VECTOR",
        "pg_publication_namespace": "oid OID, pnpubid OID, pnnspid OID",
        "pg_trigger": (
            "oid OID, tgrelid OID, tgname NAME TEXT, tgisinternal BOOLEAN, tgenabled CHAR"
        ),
        "pg_rewrite": "oid OID, rulename NAME TEXT, ev_class OID",
        "pg_sequence": (
            "seqrelid OID, seqtypid OID, seqstart INTEGER, seqincrement INTEGER, "
            "seqmax INTEGER, seqmin INTEGER, seqcache INTEGER, seqcycle BOOLEAN"
        ),
        "pg_opclass": "oid OID, opcname NAME TEXT, opcnamespace OID, opcdefault BOOLEAN",
        "pg_extension": "oid OID, extname NAME TEXT, extversion TEXT",
        "pg_enum": "oid OID, enumtypid OID, enumsortorder REAL, enumlabel NAME TEXT",
        "pg_range": "rngtypid OID, rngsubtype OID",
        "pg_foreign_table": "ftrelid OID, ftserver OID",
        "pg_foreign_server": "oid OID, srvname NAME TEXT",
        "pg_partitioned_table": "partrelid OID, partstrat CHAR",
        "pg_depend": (
            "classid OID, objid OID, objsubid INT4, refclassid OID, refobjid OID, "
            "refobjsubid INT4, deptype CHAR"
        ),
        "pg_stat_activity": (
            "datid OID, datname NAME TEXT, pid INT4, usename NAME TEXT, "
            "application_name TEXT, state TEXT, query TEXT"
        ),
        "pg_locks": "locktype TEXT, pid INT4, mode TEXT, granted BOOLEAN",
        "pg_event_trigger": "oid OID, evtname NAME TEXT",
        "pg_cast": "oid OID, castsource OID, casttarget OID",
        "pg_operator": "oid OID, oprname NAME TEXT",
        "pg_language": "oid OID, lanname NAME TEXT",
        "pg_auth_members": "roleid OID, member OID",
    },
    "information_schema": {
        "schemata": "catalog_name TEXT, schema_name TEXT, schema_owner TEXT",
        "tables": (
            "table_catalog TEXT, table_schema TEXT, table_name TEXT, table_type TEXT, "
            "self_referencing_column_name TEXT, reference_generation TEXT, "
            "user_defined_type_catalog TEXT, user_defined_type_schema TEXT, "
            "user_defined_type_name TEXT, is_insertable_into TEXT, is_typed TEXT, "
            "commit_action TEXT"
        ),
        "columns": (
            "table_catalog TEXT, table_schema TEXT, table_name TEXT, column_name TEXT, "
            "ordinal_position INTEGER, column_default TEXT, is_nullable TEXT, "
            "data_type TEXT, character_maximum_length INTEGER, "
            "character_octet_length INTEGER, numeric_precision INTEGER, "
            "numeric_precision_radix INTEGER, numeric_scale INTEGER, "
            "datetime_precision INTEGER, interval_type TEXT, interval_precision INTEGER, "
            "udt_catalog TEXT, udt_schema TEXT, udt_name TEXT, is_identity TEXT, "
            "is_generated TEXT, is_updatable TEXT, description TEXT"
        ),
        "views": "table_catalog TEXT, table_schema TEXT, table_name TEXT, view_definition TEXT",
        "table_constraints": (
            "constraint_catalog TEXT, constraint_schema TEXT, constraint_name TEXT, "
            "table_catalog TEXT, table_schema TEXT, table_name TEXT, constraint_type TEXT, "
            "is_deferrable TEXT, initially_deferred TEXT"
        ),
        "key_column_usage": (
            "constraint_catalog TEXT, constraint_schema TEXT, constraint_name TEXT, "
            "table_catalog TEXT, table_schema TEXT, table_name TEXT, column_name TEXT, "
            "ordinal_position INTEGER, position_in_unique_constraint INTEGER"
        ),
        "routines": (
            "specific_name TEXT, routine_catalog TEXT, routine_schema TEXT, "
            "routine_name TEXT, routine_type TEXT, data_type TEXT"
        ),
        "parameters": (
            "specific_name TEXT, ordinal_position INTEGER, parameter_mode TEXT, "
            "parameter_name TEXT, data_type TEXT"
        ),
    },
}


@dataclass
class Relation:
    """A table or view the catalog lists, with its columns (name, confsql type)."""

    oid: int
    name: str
    kind: str  # 'r' table, 'v' view
    description: str
    columns: list[tuple[str, str, str]]  # (name, SQL type, description)
    keys: list[str] = field(default_factory=list)
    writable: bool = False

    @property
    def index_oid(self) -> int:
        """OID of the primary-key index (and, plus one, of its constraint)."""
        return self.oid + 1

    @property
    def pkey(self) -> str:
        """Name of the primary key."""
        return f"{self.name}_pkey"


def relations(
    catalog: confsql_schema.Catalog,
    offered: Sequence[str],
    views: Mapping[str, Sequence[tuple[str, str]]],
) -> list[Relation]:
    """The user-visible relations: the provider's tables, then the sys_* views."""
    out: list[Relation] = []
    oid = FIRST_TABLE_OID
    for table in catalog.tables.values():
        if table.name not in offered:
            continue
        cols: list[tuple[str, str, str]] = [
            (c.name, c.type, c.description) for c in table.columns if not c.hidden
        ]
        keys = [c.name for c in table.columns if c.key]
        writable = bool(table.insert or table.update or table.delete)
        out.append(Relation(oid, table.name, "r", table.description, cols, keys, writable))
        oid += 3
    for name, view_cols in views.items():
        described = [(c, t, "") for c, t in view_cols]
        out.append(Relation(oid, name, "v", "confsql catalog view (read-only)", described))
        oid += 3
    return out


def _defaults(decl: str) -> tuple[list[str], dict[str, Any]]:
    names: list[str] = []
    defaults: dict[str, Any] = {}
    for part in decl.split(","):
        words = part.split()
        names.append(words[0])
        kind = words[1]
        if kind in ("BOOLEAN", "OID", "INT2", "INT4", "INTEGER", "REAL"):
            defaults[words[0]] = 0
        elif kind == "CHAR":
            defaults[words[0]] = ""
        else:
            defaults[words[0]] = None
    return names, defaults


def _sql_type_oid(sql_type: str) -> int:
    return pgtypes.DECLTYPE_OIDS[sql_type]


@dataclass
class CatalogData:
    """Everything the catalog tables and functions answer from, for one session."""

    relations: list[Relation]
    user: str
    database: str
    settings: commands.Settings
    read_only: bool
    procedures: list[confsql_schema.Procedure] = field(default_factory=list)

    def by_oid(self, oid: Any) -> Relation | None:
        """The relation with this OID (or whose index/constraint has it)."""
        try:
            number = int(oid)
        except (TypeError, ValueError):
            return None
        for rel in self.relations:
            if number in (rel.oid, rel.index_oid, rel.index_oid + 1):
                return rel
        return None

    def rows(self) -> dict[str, list[dict[str, Any]]]:
        """Rows for every catalog table, keyed by table name."""
        rels = self.relations
        out: dict[str, list[dict[str, Any]]] = {name: [] for db in TABLES.values() for name in db}
        out["pg_namespace"] = [
            {"oid": PG_CATALOG, "nspname": "pg_catalog", "nspowner": OWNER},
            {"oid": PUBLIC, "nspname": "public", "nspowner": OWNER},
            {"oid": INFORMATION_SCHEMA, "nspname": "information_schema", "nspowner": OWNER},
        ]
        for oid, (name, size, array, category) in pgtypes.TYPES.items():
            elem = next((o for o, t in pgtypes.TYPES.items() if t[2] == oid), 0)
            out["pg_type"].append(
                {
                    "oid": oid,
                    "typname": name,
                    "typnamespace": PG_CATALOG,
                    "typowner": OWNER,
                    "typlen": size,
                    "typbyval": int(0 < size <= 8),
                    "typtype": "b",
                    "typcategory": category,
                    "typisdefined": 1,
                    "typdelim": ",",
                    "typelem": elem,
                    "typarray": array,
                    "typinput": f"{name}in",
                    "typoutput": f"{name}out",
                    "typalign": "d" if size == 8 else "i",
                    "typstorage": "p" if size > 0 else "x",
                    "typtypmod": -1,
                    "typcollation": 100 if category == "S" else 0,
                }
            )
        out["pg_am"] = [
            {"oid": 2, "amname": "heap", "amhandler": "heap_tableam_handler", "amtype": "t"},
            {"oid": 403, "amname": "btree", "amhandler": "bthandler", "amtype": "i"},
        ]
        out["pg_collation"] = [
            {
                "oid": 100,
                "collname": "default",
                "collnamespace": PG_CATALOG,
                "collowner": OWNER,
                "collprovider": "d",
                "collisdeterministic": 1,
                "collencoding": -1,
            }
        ]
        out["pg_database"] = [
            {
                "oid": DATABASE_OID,
                "datname": self.database,
                "datdba": OWNER,
                "encoding": 6,
                "datlocprovider": "c",
                "datallowconn": 1,
                "datconnlimit": -1,
                "dattablespace": 1663,
                "datcollate": "C",
                "datctype": "C",
            }
        ]
        out["pg_roles"] = [
            {
                "oid": OWNER,
                "rolname": self.user,
                "rolinherit": 1,
                "rolcanlogin": 1,
                "rolconnlimit": -1,
            }
        ]
        out["pg_user"] = [{"usename": self.user, "usesysid": OWNER}]
        out["pg_tablespace"] = [{"oid": 1663, "spcname": "pg_default", "spcowner": OWNER}]
        out["pg_settings"] = [
            {
                "name": name,
                "setting": value,
                "category": "confsql",
                "short_desc": "",
                "context": "user",
                "vartype": "string",
                "source": "default",
                "boot_val": value,
                "reset_val": value,
            }
            for name, value in sorted(self.settings.values.items())
        ]
        for name, oid in _CATALOG_RELATIONS.items():
            out["pg_class"].append(
                {
                    "oid": oid,
                    "relname": name,
                    "relnamespace": PG_CATALOG,
                    "relkind": "r",
                    "relowner": OWNER,
                    "relam": 2,
                    "relpersistence": "p",
                    "relreplident": "n",
                    "relispopulated": 1,
                }
            )
        for rel in rels:
            self._relation_rows(rel, out)
        for proc_oid, proc in enumerate(self.procedures, start=FIRST_TABLE_OID - 200):
            out["pg_proc"].append(
                {
                    "oid": proc_oid,
                    "proname": proc.name,
                    "pronamespace": PUBLIC,
                    "proowner": OWNER,
                    "prokind": "p",
                    "prosrc": proc.description,
                }
            )
            out["pg_description"].append(
                {
                    "objoid": proc_oid,
                    "classoid": PG_PROC_OID,
                    "objsubid": 0,
                    "description": proc.description,
                }
            )
            out["routines"].append(
                {
                    "specific_name": proc.name,
                    "routine_catalog": self.database,
                    "routine_schema": "public",
                    "routine_name": proc.name,
                    "routine_type": "PROCEDURE",
                }
            )
            for pos, inp in enumerate(proc.inputs, 1):
                out["parameters"].append(
                    {
                        "specific_name": proc.name,
                        "ordinal_position": pos,
                        "parameter_mode": "IN",
                        "parameter_name": inp.name,
                        "data_type": pgtypes.FORMAT_NAMES[_sql_type_oid(inp.type)],
                    }
                )
        out["schemata"] = [
            {"catalog_name": self.database, "schema_name": n, "schema_owner": self.user}
            for n in ("information_schema", "pg_catalog", "public")
        ]
        return out

    def _relation_rows(self, rel: Relation, out: dict[str, list[dict[str, Any]]]) -> None:
        has_key = bool(rel.keys)
        out["pg_class"].append(
            {
                "oid": rel.oid,
                "relname": rel.name,
                "relnamespace": PUBLIC,
                "reltype": 0,
                "relowner": OWNER,
                "relam": 2 if rel.kind == "r" else 0,
                "relhasindex": int(has_key),
                "relpersistence": "p",
                "relkind": rel.kind,
                "relnatts": len(rel.columns),
                "relispopulated": 1,
                "relreplident": "d",
                "reltuples": -1.0,
            }
        )
        out["pg_description"].append(
            {
                "objoid": rel.oid,
                "classoid": PG_CLASS_OID,
                "objsubid": 0,
                "description": rel.description,
            }
        )
        kind = "BASE TABLE" if rel.kind == "r" else "VIEW"
        out["tables"].append(
            {
                "table_catalog": self.database,
                "table_schema": "public",
                "table_name": rel.name,
                "table_type": kind,
                "is_insertable_into": "YES" if rel.writable and not self.read_only else "NO",
                "is_typed": "NO",
            }
        )
        if rel.kind == "r":
            out["pg_tables"].append(
                {
                    "schemaname": "public",
                    "tablename": rel.name,
                    "tableowner": self.user,
                    "hasindexes": int(has_key),
                }
            )
        else:
            out["pg_views"].append(
                {
                    "schemaname": "public",
                    "viewname": rel.name,
                    "viewowner": self.user,
                    "definition": f"-- {rel.description}",
                }
            )
            out["views"].append(
                {
                    "table_catalog": self.database,
                    "table_schema": "public",
                    "table_name": rel.name,
                    "view_definition": f"-- {rel.description}",
                }
            )
        for num, (name, sql_type, description) in enumerate(rel.columns, 1):
            oid = _sql_type_oid(sql_type)
            out["pg_attribute"].append(
                {
                    "attrelid": rel.oid,
                    "attname": name,
                    "atttypid": oid,
                    "attstattarget": -1,
                    "attlen": pgtypes.type_size(oid),
                    "attnum": num,
                    "attcacheoff": -1,
                    "atttypmod": -1,
                    "attbyval": int(0 < pgtypes.type_size(oid) <= 8),
                    "attalign": "d",
                    "attstorage": "x" if oid == pgtypes.TEXT else "p",
                    "attnotnull": int(name in rel.keys),
                    "attislocal": 1,
                    "attcollation": 100 if oid == pgtypes.TEXT else 0,
                }
            )
            if description:
                out["pg_description"].append(
                    {
                        "objoid": rel.oid,
                        "classoid": PG_CLASS_OID,
                        "objsubid": num,
                        "description": description,
                    }
                )
            out["columns"].append(
                {
                    "table_catalog": self.database,
                    "table_schema": "public",
                    "table_name": rel.name,
                    "column_name": name,
                    "ordinal_position": num,
                    "is_nullable": "NO" if name in rel.keys else "YES",
                    "data_type": pgtypes.FORMAT_NAMES[oid],
                    "numeric_precision": {pgtypes.INT8: 64, pgtypes.FLOAT8: 53}.get(oid),
                    "numeric_precision_radix": 2 if oid in (pgtypes.INT8, pgtypes.FLOAT8) else None,
                    "numeric_scale": 0 if oid == pgtypes.INT8 else None,
                    "datetime_precision": 6 if oid == pgtypes.TIMESTAMP else None,
                    "udt_catalog": self.database,
                    "udt_schema": "pg_catalog",
                    "udt_name": pgtypes.TYPES[oid][0],
                    "is_identity": "NO",
                    "is_generated": "NEVER",
                    "is_updatable": "YES" if rel.writable and not self.read_only else "NO",
                    "description": description,
                }
            )
        if not has_key:
            return
        positions = [str(1 + [c[0] for c in rel.columns].index(k)) for k in rel.keys]
        out["pg_class"].append(
            {
                "oid": rel.index_oid,
                "relname": rel.pkey,
                "relnamespace": PUBLIC,
                "relkind": "i",
                "relowner": OWNER,
                "relam": 403,
                "relnatts": len(rel.keys),
                "relpersistence": "p",
                "relispopulated": 1,
                "relreplident": "n",
            }
        )
        for pos, key in enumerate(rel.keys, 1):
            key_type = _sql_type_oid(next(c[1] for c in rel.columns if c[0] == key))
            out["pg_attribute"].append(
                {
                    "attrelid": rel.index_oid,
                    "attname": key,
                    "atttypid": key_type,
                    "attnum": pos,
                    "attlen": pgtypes.type_size(key_type),
                    "atttypmod": -1,
                    "attislocal": 1,
                    "attstattarget": -1,
                    "attcacheoff": -1,
                }
            )
        out["pg_index"].append(
            {
                "indexrelid": rel.index_oid,
                "indrelid": rel.oid,
                "indnatts": len(rel.keys),
                "indnkeyatts": len(rel.keys),
                "indisunique": 1,
                "indisprimary": 1,
                "indimmediate": 1,
                "indisvalid": 1,
                "indisready": 1,
                "indislive": 1,
                "indkey": " ".join(positions),
                "indcollation": " ".join("100" for _ in positions),
                "indclass": " ".join("3126" for _ in positions),
                "indoption": " ".join("0" for _ in positions),
            }
        )
        out["pg_constraint"].append(
            {
                "oid": rel.index_oid + 1,
                "conname": rel.pkey,
                "connamespace": PUBLIC,
                "contype": "p",
                "convalidated": 1,
                "conrelid": rel.oid,
                "conindid": rel.index_oid,
                "conislocal": 1,
                "connoinherit": 1,
                "conkey": "{" + ",".join(positions) + "}",
            }
        )
        out["table_constraints"].append(
            {
                "constraint_catalog": self.database,
                "constraint_schema": "public",
                "constraint_name": rel.pkey,
                "table_catalog": self.database,
                "table_schema": "public",
                "table_name": rel.name,
                "constraint_type": "PRIMARY KEY",
                "is_deferrable": "NO",
                "initially_deferred": "NO",
            }
        )
        for pos, key in enumerate(rel.keys, 1):
            out["key_column_usage"].append(
                {
                    "constraint_catalog": self.database,
                    "constraint_schema": "public",
                    "constraint_name": rel.pkey,
                    "table_catalog": self.database,
                    "table_schema": "public",
                    "table_name": rel.name,
                    "column_name": key,
                    "ordinal_position": pos,
                }
            )


_CATALOG_RELATIONS = {
    "pg_class": PG_CLASS_OID,
    "pg_type": PG_TYPE_OID,
    "pg_attribute": 1249,
    "pg_proc": PG_PROC_OID,
    "pg_namespace": PG_NAMESPACE_OID,
    "pg_constraint": PG_CONSTRAINT_OID,
    "pg_index": 2610,
    "pg_description": 2609,
    "pg_database": 1262,
    "pg_attrdef": 2604,
    "pg_am": 2601,
    "pg_collation": 3456,
    "pg_settings": 12000,
    "pg_roles": 12001,
    "pg_inherits": 2611,
    "pg_trigger": 2620,
}


def install(db: Any, data: CatalogData) -> None:
    """Attach and fill the catalog databases and register the functions on ``db`` (APSW)."""
    rows = data.rows()
    for schema_name, tables in TABLES.items():
        db.execute(f"ATTACH DATABASE ':memory:' AS {schema_name}")
        for table, decl in tables.items():
            names, defaults = _defaults(decl)
            db.execute(f'CREATE TABLE {schema_name}."{table}" ({decl})')
            table_rows = rows.get(table, [])
            if table_rows:
                placeholders = ", ".join("?" for _ in names)
                db.executemany(
                    f'INSERT INTO {schema_name}."{table}" VALUES ({placeholders})',
                    [tuple({**defaults, **r}.get(n) for n in names) for r in table_rows],
                )
    register_functions(db, data)


# --- functions -----------------------------------------------------------------------


def _array_items(value: Any) -> list[str]:
    """Elements of an array in text form: '{a,b}' (1-based) or an int2vector '1 2'."""
    if value is None:
        return []
    text = str(value)
    if text.startswith("{") and text.endswith("}"):
        inner = text[1:-1]
        return [item.strip('"') for item in _split_array(inner)] if inner else []
    return text.split()


def _split_array(inner: str) -> Iterator[str]:
    current, quoted = "", False
    for ch in inner:
        if ch == '"':
            quoted = not quoted
        if ch == "," and not quoted:
            yield current
            current = ""
        else:
            current += ch
    yield current


def _array_text(items: Sequence[Any]) -> str:
    def one(item: Any) -> str:
        if item is None:
            return "NULL"
        text = str(item)
        if text == "" or any(c in text for c in ',{}" \\') or text.upper() == "NULL":
            return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
        return text

    return "{" + ",".join(one(i) for i in items) + "}"


def _array_get(value: Any, index: Any) -> Any:
    if value is None or index is None:
        return None
    items = _array_items(value)
    position = int(index) - (1 if str(value).startswith("{") else 0)
    if 0 <= position < len(items):
        item = items[position]
        return int(item) if re.fullmatch(r"-?\d+", item) else item
    return None


def _array_has(value: Any, item: Any) -> Any:
    if value is None or item is None:
        return None
    return int(str(item) in _array_items(value))


def _array_json(value: Any) -> Any:
    if value is None:
        return "[]"
    return json.dumps([int(i) if re.fullmatch(r"-?\d+", i) else i for i in _array_items(value)])


def _series_json(start: Any, end: Any, step: Any = 1) -> str:
    if start is None or end is None or not step:
        return "[]"
    count = (int(end) - int(start)) // int(step) + 1
    if count > 1_000_000:
        raise DataError("generate_series is limited to a million rows here")
    return json.dumps(list(range(int(start), int(end) + (1 if int(step) > 0 else -1), int(step))))


class _ArrayAgg:
    """array_agg(x) as Postgres' array text form."""

    def __init__(self) -> None:
        self.items: list[Any] = []

    def step(self, value: Any) -> None:
        self.items.append(value)

    def final(self) -> Any:
        return _array_text(self.items) if self.items else None


def _regex(value: Any, pattern: Any, insensitive: int) -> Any:
    if value is None or pattern is None:
        return None
    try:
        compiled = re.compile(str(pattern), re.IGNORECASE if insensitive else 0)
    except re.error as exc:
        raise DataError(f"invalid regular expression {pattern!r}: {exc}") from None
    return int(compiled.search(str(value)) is not None)


def _to_bool(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, int | float):
        return int(bool(value))
    lowered = str(value).strip().lower()
    if lowered in ("t", "true", "y", "yes", "on", "1"):
        return 1
    if lowered in ("f", "false", "n", "no", "off", "0"):
        return 0
    raise DataError(f"invalid input syntax for type boolean: {value!r}")


def _to_timestamp(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, int | float):
        return dt.datetime.fromtimestamp(value, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    text = str(value).strip()
    if text.lower() in ("now", "today"):
        moment = dt.datetime.now(dt.UTC)
        if text.lower() == "today":
            moment = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return moment.strftime("%Y-%m-%d %H:%M:%S")
    try:
        parsed = dt.datetime.fromisoformat(text)
    except ValueError:
        raise DataError(f"invalid input syntax for type timestamp: {text!r}") from None
    if parsed.tzinfo is not None:
        parsed = parsed.astimezone(dt.UTC).replace(tzinfo=None)
    return parsed.isoformat(sep=" ")


def _epoch(value: Any) -> Any:
    stamp = _to_timestamp(value)
    if stamp is None:
        return None
    moment = dt.datetime.fromisoformat(stamp).replace(tzinfo=dt.UTC)
    return moment.timestamp()


def _datetime(value: Any, modifier: str) -> Any:
    stamp = _to_timestamp(value)
    if stamp is None:
        return None
    moment = dt.datetime.fromisoformat(stamp)
    amount_text, unit = modifier.split()
    amount = float(amount_text)
    if unit in ("months", "years"):
        months = int(amount) * (12 if unit == "years" else 1)
        year, month = divmod(moment.month - 1 + months, 12)
        day = min(moment.day, _days_in(moment.year + year, month + 1))
        moment = moment.replace(year=moment.year + year, month=month + 1, day=day)
    else:
        moment += dt.timedelta(**{unit: amount})
    return moment.isoformat(sep=" ")


def _days_in(year: int, month: int) -> int:
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return (following - dt.timedelta(days=1)).day


def _trunc_quarter(value: Any) -> Any:
    stamp = _to_timestamp(value)
    if stamp is None:
        return None
    moment = dt.datetime.fromisoformat(stamp)
    month = 3 * ((moment.month - 1) // 3) + 1
    return f"{moment.year:04d}-{month:02d}-01 00:00:00"


def register_functions(db: Any, data: CatalogData) -> None:
    """The Postgres functions clients call, on the session's SQLite connection."""
    relations_by_name = {r.name.lower(): r for r in data.relations}
    catalog_oids = {name: oid for name, oid in _CATALOG_RELATIONS.items()}
    type_by_name = {t[0]: oid for oid, t in pgtypes.TYPES.items()}
    type_by_name.update({n: o for o, n in pgtypes.FORMAT_NAMES.items()})
    type_by_name.update({"integer": pgtypes.INT4, "int": pgtypes.INT4, "boolean": pgtypes.BOOL})
    namespaces = {
        "pg_catalog": PG_CATALOG,
        "public": PUBLIC,
        "information_schema": INFORMATION_SCHEMA,
    }

    def regclass_oid(value: Any) -> Any:
        if value is None or isinstance(value, int):
            return value
        text = str(value).strip()
        if text.isdigit():
            return int(text)
        name = text.split(".")[-1].strip('"').lower()
        rel = relations_by_name.get(name)
        if rel is not None:
            return rel.oid
        if name in catalog_oids:
            return catalog_oids[name]
        raise ProgrammingError(f'relation "{text}" does not exist')

    def regclass_name(value: Any) -> Any:
        if value is None:
            return None
        rel = data.by_oid(value)
        if rel is not None:
            return rel.name if int(value) == rel.oid else rel.pkey
        found = next((n for n, o in catalog_oids.items() if o == value), None)
        return found if found else str(value)

    def regtype_oid(value: Any) -> Any:
        if value is None or isinstance(value, int):
            return value
        text = str(value).strip()
        if text.isdigit():
            return int(text)
        name = text.split(".")[-1].strip('"').lower()
        if name in type_by_name:
            return type_by_name[name]
        raise ProgrammingError(f'type "{text}" does not exist')

    def to_regtype(value: Any) -> Any:
        try:
            return regtype_oid(value)
        except ProgrammingError:
            return None

    def to_regclass(value: Any) -> Any:
        try:
            return regclass_oid(value)
        except ProgrammingError:
            return None

    def regtype_name(value: Any) -> Any:
        if value is None:
            return None
        return pgtypes.FORMAT_NAMES.get(int(value), pgtypes.TYPES.get(int(value), (str(value),))[0])

    def regnamespace_oid(value: Any) -> Any:
        if value is None or isinstance(value, int):
            return value
        return namespaces.get(str(value).strip('"').lower())

    def regnamespace_name(value: Any) -> Any:
        return next(
            (n for n, o in namespaces.items() if o == value), None if value is None else str(value)
        )

    def format_type(type_oid: Any, typmod: Any = None) -> Any:
        if type_oid is None:
            return None
        oid = int(type_oid)
        if oid in pgtypes.FORMAT_NAMES:
            return pgtypes.FORMAT_NAMES[oid]
        name = pgtypes.TYPES.get(oid, ("???",))[0]
        return name[1:] + "[]" if name.startswith("_") else name

    def index_def(index_oid: Any, column: Any = 0, pretty: Any = None) -> Any:
        rel = data.by_oid(index_oid)
        if rel is None or not rel.keys:
            return None
        if column:
            position = int(column)
            return rel.keys[position - 1] if 0 < position <= len(rel.keys) else None
        cols = ", ".join(f'"{k}"' for k in rel.keys)
        return f'CREATE UNIQUE INDEX "{rel.pkey}" ON public."{rel.name}" USING btree ({cols})'

    def constraint_def(constraint_oid: Any, pretty: Any = None) -> Any:
        rel = data.by_oid(constraint_oid)
        if rel is None or not rel.keys:
            return None
        return "PRIMARY KEY (" + ", ".join(f'"{k}"' for k in rel.keys) + ")"

    def privilege(*args: Any) -> int:
        wanted = str(args[-1] or "").upper()
        if data.read_only and any(w in wanted for w in ("INSERT", "UPDATE", "DELETE", "EXECUTE")):
            return 0
        return 1

    def obj_description(oid: Any, catalog: Any = "pg_class") -> Any:
        rel = data.by_oid(oid)
        return rel.description if rel is not None and rel.oid == oid else None

    def col_description(oid: Any, column: Any) -> Any:
        rel = data.by_oid(oid)
        if rel is None or rel.oid != oid or column is None:
            return None
        position = int(column)
        return rel.columns[position - 1][2] or None if 0 < position <= len(rel.columns) else None

    def string_to_array(text: Any, sep: Any, null: Any = None) -> Any:
        if text is None:
            return None
        items = [None if null is not None and i == null else i for i in str(text).split(str(sep))]
        return _array_text(items)

    def array_length(value: Any, dim: Any = 1) -> Any:
        items = _array_items(value)
        return len(items) if items else None

    def array_lower(value: Any, dim: Any = 1) -> Any:
        items = _array_items(value)
        if not items:
            return None
        return 1 if str(value).startswith("{") else 0

    def array_upper(value: Any, dim: Any = 1) -> Any:
        items = _array_items(value)
        if not items:
            return None
        return len(items) if str(value).startswith("{") else len(items) - 1

    def array_to_string(value: Any, sep: Any, null: Any = None) -> Any:
        if value is None:
            return None
        items = _array_items(value)
        return str(sep).join(
            null if i == "NULL" and null is not None else i
            for i in items
            if i != "NULL" or null is not None
        )

    def quote_ident(value: Any) -> Any:
        if value is None:
            return None
        text = str(value)
        if re.fullmatch(r"[a-z_][a-z0-9_$]*", text):
            return text
        return '"' + text.replace('"', '""') + '"'

    def current_setting(name: Any, missing_ok: Any = False) -> Any:
        value = data.settings.show(str(name))
        if value is None and not missing_ok:
            raise ProgrammingError(f'unrecognized configuration parameter "{name}"')
        return value

    scalar: dict[str, tuple[Callable[..., Any], int]] = {
        "pg_regex": (_regex, 3),
        "pg_bool": (_to_bool, 1),
        "pg_timestamp": (_to_timestamp, 1),
        "pg_datetime": (_datetime, 2),
        "pg_epoch": (_epoch, 1),
        "pg_trunc_quarter": (_trunc_quarter, 1),
        "pg_array": (lambda *items: _array_text(items), -1),
        "pg_array_has": (_array_has, 2),
        "pg_array_get": (_array_get, 2),
        "pg_array_json": (_array_json, 1),
        "pg_series_json": (_series_json, -1),
        "pg_oid": (
            lambda v: (
                None
                if v is None
                else int(regclass_oid(v))
                if not str(v).strip().lstrip("-").isdigit()
                else int(v)
            ),
            1,
        ),
        "pg_regclass_oid": (regclass_oid, 1),
        "pg_regclass_name": (regclass_name, 1),
        "pg_regtype_oid": (regtype_oid, 1),
        "pg_regtype_name": (regtype_name, 1),
        "pg_regnamespace_oid": (regnamespace_oid, 1),
        "pg_regnamespace_name": (regnamespace_name, 1),
        "pg_regproc_oid": (lambda v: v, 1),
        "pg_regproc_name": (lambda v: None if v is None else str(v), 1),
        "pg_regprocedure_oid": (lambda v: v, 1),
        "pg_regrole_oid": (lambda v: OWNER, 1),
        "pg_regrole_name": (lambda v: data.user, 1),
        "to_regtype": (to_regtype, 1),
        "to_regclass": (to_regclass, 1),
        "version": (lambda: commands.VERSION_TEXT, 0),
        "current_schema": (lambda: "public", 0),
        "current_schemas": (
            lambda include: _array_text(["pg_catalog", "public"] if include else ["public"]),
            1,
        ),
        "current_user": (lambda: data.user, 0),
        "session_user": (lambda: data.user, 0),
        "current_database": (lambda: data.database, 0),
        "current_catalog": (lambda: data.database, 0),
        "current_setting": (current_setting, -1),
        "pg_backend_pid": (lambda: 0, 0),
        "pg_is_in_recovery": (lambda: 0, 0),
        "pg_postmaster_start_time": (lambda: None, 0),
        "inet_server_addr": (lambda: None, 0),
        "inet_server_port": (lambda: None, 0),
        "pg_table_is_visible": (lambda oid: 1, 1),
        "pg_type_is_visible": (lambda oid: 1, 1),
        "pg_function_is_visible": (lambda oid: 1, 1),
        "pg_collation_is_visible": (lambda oid: 1, 1),
        "pg_get_userbyid": (lambda oid: data.user, 1),
        "format_type": (format_type, -1),
        "pg_get_expr": (lambda *args: None, -1),
        "pg_get_indexdef": (index_def, -1),
        "pg_get_constraintdef": (constraint_def, -1),
        "pg_get_viewdef": (lambda *args: None, -1),
        "pg_get_triggerdef": (lambda *args: None, -1),
        "pg_get_functiondef": (lambda *args: None, -1),
        "pg_get_function_arguments": (lambda *args: "", -1),
        "pg_get_function_result": (lambda *args: None, -1),
        "pg_get_statisticsobjdef_columns": (lambda *args: None, -1),
        "pg_get_serial_sequence": (lambda *args: None, -1),
        "pg_relation_is_publishable": (lambda oid: 0, 1),
        "pg_relation_size": (lambda *args: 0, -1),
        "pg_total_relation_size": (lambda *args: 0, -1),
        "pg_table_size": (lambda *args: 0, -1),
        "pg_size_pretty": (lambda n: f"{n or 0} bytes", 1),
        "pg_encoding_to_char": (lambda n: "UTF8", 1),
        "pg_tablespace_location": (lambda oid: "", 1),
        "obj_description": (obj_description, -1),
        "col_description": (col_description, 2),
        "shobj_description": (lambda *args: None, -1),
        "has_table_privilege": (privilege, -1),
        "has_schema_privilege": (lambda *args: 1, -1),
        "has_database_privilege": (lambda *args: 1, -1),
        "has_column_privilege": (privilege, -1),
        "has_function_privilege": (privilege, -1),
        "has_any_column_privilege": (privilege, -1),
        "has_sequence_privilege": (lambda *args: 1, -1),
        "pg_has_role": (lambda *args: 1, -1),
        "array_to_string": (array_to_string, -1),
        "array_length": (array_length, -1),
        "array_lower": (array_lower, -1),
        "array_upper": (array_upper, -1),
        "cardinality": (lambda v: len(_array_items(v)), 1),
        "string_to_array": (string_to_array, -1),
        "quote_ident": (quote_ident, 1),
        "json_build_object": (
            lambda *a: json.dumps({str(a[i]): a[i + 1] for i in range(0, len(a) - 1, 2)}),
            -1,
        ),
        "txid_current": (lambda: 1, 0),
        "pg_current_xact_id": (lambda: 1, 0),
        "to_timestamp": (lambda v: _to_timestamp(float(v)) if v is not None else None, 1),
        "isfinite": (
            lambda v: int(v is not None and not (isinstance(v, float) and math.isinf(v))),
            1,
        ),
    }
    for name, (func, nargs) in scalar.items():
        db.create_scalar_function(name, func, nargs, deterministic=False)
    db.create_aggregate_function("pg_array_agg", _ArrayAgg)
