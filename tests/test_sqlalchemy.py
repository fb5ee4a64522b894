"""The SQLAlchemy dialect against the real emulator: URLs, reflection, pushdown, pandas, EXEC.

Also replays the calls Apache Superset makes to test a connection and add a dataset.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import closing
from typing import Any
from urllib.parse import quote

import pandas as pd  # type: ignore[import-untyped,unused-ignore]
import pytest
import sqlalchemy as sa
from sqlalchemy import MetaData, Table, create_engine, insert, inspect, select, text
from sqlalchemy.dialects import registry
from sqlalchemy.engine import Engine

from driver.emulator import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, Emulator, EmulatorServer
from driver.sqlalchemy import ConfsqlDateTime, ConfsqlDialect

try:  # the entry point needs `pip install -e .`; tests also run from a bare checkout
    registry.load("confsql")
except Exception:  # pragma: no cover - only without an installed entry point
    registry.register("confsql", "driver.sqlalchemy", "ConfsqlDialect")


def _url(server: EmulatorServer, **query: str) -> str:
    params = "&".join(
        f"{k}={quote(v, safe='')}" for k, v in {"BaseUrl": server.base_url, **query}.items()
    )
    return (
        f"confsql://{quote(DEMO_ACCOUNT_SID, safe='')}:{quote(DEMO_AUTH_TOKEN, safe='')}@/?{params}"
    )


@pytest.fixture
def engine(server: EmulatorServer, emu: Emulator) -> Iterator[Engine]:
    emu.seed_demo()
    eng = create_engine(_url(server, Timeout="5"))
    yield eng
    eng.dispose()


def _filters(emu: Emulator) -> dict[str, str]:
    """The filters the last request pushed, by column (whatever the wire calls them)."""
    return emu.wire.filters(emu.requests[-1])


def _page_size(emu: Emulator) -> int | None:
    return emu.wire.page_size(emu.requests[-1])


# --- URLs and connecting -----------------------------------------------------------


def test_entry_point_resolves_the_dialect() -> None:
    assert registry.load("confsql") is ConfsqlDialect
    assert sa.engine.make_url("confsql://").get_dialect() is ConfsqlDialect


def test_url_maps_credentials_and_every_property(server: EmulatorServer) -> None:
    url = sa.engine.make_url(_url(server, region="ie1", max_concurrency="4", CacheTtl="2"))
    args, kwargs = ConfsqlDialect().create_connect_args(url)
    assert args == []
    assert kwargs == {
        "AccountSid": DEMO_ACCOUNT_SID,
        "AuthToken": DEMO_AUTH_TOKEN,
        "BaseUrl": server.base_url,
        "Region": "ie1",
        "MaxConcurrency": "4",
        "CacheTtl": "2",
    }
    api_key = sa.engine.make_url(f"confsql://SKabc:s3cret@/?AccountSid={DEMO_ACCOUNT_SID}")
    _, kwargs = ConfsqlDialect().create_connect_args(api_key)
    assert kwargs == {"ApiKey": "SKabc", "ApiSecret": "s3cret", "AccountSid": DEMO_ACCOUNT_SID}


def test_url_errors_are_reported_when_the_engine_is_created() -> None:
    with pytest.raises(sa.exc.ArgumentError, match="did you mean MaxConcurrency"):
        create_engine("confsql:///?Provider=Sandbox&MaxConcurency=2")
    with pytest.raises(sa.exc.ArgumentError, match="AccountSid is given twice"):
        create_engine(f"confsql://{DEMO_ACCOUNT_SID}:x@/?account_sid={DEMO_ACCOUNT_SID}")


def test_bad_credentials_surface_as_dbapi_errors(server: EmulatorServer, emu: Emulator) -> None:
    eng = create_engine(
        f"confsql://{DEMO_ACCOUNT_SID}:wrong@/?BaseUrl={quote(server.base_url, safe='')}"
    )
    with pytest.raises(sa.exc.DBAPIError), eng.connect() as conn:
        conn.exec_driver_sql("SELECT count(*) FROM Conferences").scalar()


def test_password_never_shows(server: EmulatorServer, emu: Emulator) -> None:
    emu.seed_demo()
    eng = create_engine(_url(server))
    assert DEMO_AUTH_TOKEN not in repr(eng)
    assert DEMO_AUTH_TOKEN not in str(eng.url)
    assert "***" in repr(eng)
    with eng.connect() as conn:
        assert DEMO_AUTH_TOKEN not in repr(conn.connection.dbapi_connection)
    # SQLAlchemy masks only the password slot; a token given as a query parameter is
    # masked by the dialect, and the engine still connects with the real one.
    as_query = create_engine(
        f"confsql:///?AccountSid={DEMO_ACCOUNT_SID}&AuthToken={DEMO_AUTH_TOKEN}"
        f"&BaseUrl={quote(server.base_url, safe='')}"
    )
    assert DEMO_AUTH_TOKEN not in repr(as_query)
    assert DEMO_AUTH_TOKEN not in as_query.url.render_as_string(hide_password=False)
    with as_query.connect() as conn:
        assert conn.exec_driver_sql("SELECT count(*) FROM Conferences").scalar() == 6


def test_sandbox_engine() -> None:
    eng = create_engine("confsql:///?Provider=Sandbox")
    assert inspect(eng).get_table_names() == ["Conferences", "Participants"]
    conferences = Table("Conferences", MetaData(), autoload_with=eng)
    with eng.connect() as conn:
        rows = conn.execute(select(conferences.c.Sid, conferences.c.DateCreated)).all()
    assert rows
    assert all(isinstance(r.DateCreated, dt.datetime) for r in rows)
    eng.dispose()


# --- reflection -------------------------------------------------------------------------


def test_reflection(engine: Engine) -> None:
    insp = inspect(engine)
    assert insp.default_schema_name == "main"
    assert insp.get_schema_names() == ["main"]
    assert insp.get_table_names() == ["Conferences", "Participants"]
    assert insp.get_table_names(schema="main") == ["Conferences", "Participants"]
    assert insp.get_table_names(schema="elsewhere") == []
    assert insp.get_view_names() == []
    assert insp.get_temp_table_names() == []
    assert insp.get_temp_view_names() == [
        "sys_tables",
        "sys_tablecolumns",
        "sys_procedures",
        "sys_procedureparameters",
    ]
    assert insp.has_table("Conferences")
    assert insp.has_table("conferences", schema="main")
    assert insp.has_table("sys_tables")
    assert not insp.has_table("Calls")
    assert not insp.has_table("sys_tables", schema="main")  # a temp view, not in main

    columns = {c["name"]: c for c in insp.get_columns("Conferences")}
    assert list(columns)[:3] == ["Sid", "AccountSid", "FriendlyName"]
    assert isinstance(columns["DateCreated"]["type"], sa.DateTime)
    assert isinstance(columns["Status"]["type"], sa.String)
    assert columns["Sid"]["nullable"] is False
    assert "CF followed by 32 hex digits" in str(columns["Sid"]["comment"])

    part = {c["name"]: c["type"] for c in insp.get_columns("Participants")}
    assert isinstance(part["Muted"], sa.Boolean)
    assert isinstance(part["QueueTime"], sa.Integer)
    assert isinstance(part["DateUpdated"], sa.DateTime)
    assert "From" not in part and "To" not in part  # hidden write-only columns

    assert insp.get_pk_constraint("Conferences")["constrained_columns"] == ["Sid"]
    assert insp.get_pk_constraint("Participants")["constrained_columns"] == [
        "ConferenceSid",
        "CallSid",
    ]
    fks = insp.get_foreign_keys("Participants")
    assert [
        (f["constrained_columns"], f["referred_table"], f["referred_columns"]) for f in fks
    ] == [(["ConferenceSid"], "Conferences", ["Sid"])]
    assert insp.get_foreign_keys("Conferences") == []
    assert insp.get_indexes("Conferences") == []
    assert insp.get_unique_constraints("Conferences") == []
    assert insp.get_check_constraints("Conferences") == []
    assert str(insp.get_table_comment("Conferences")["text"]).startswith("Conference rooms")
    with pytest.raises(sa.exc.NoSuchTableError):
        insp.get_columns("Calls")

    sys_cols = {c["name"]: c["type"] for c in insp.get_columns("sys_tablecolumns")}
    assert isinstance(sys_cols["IsKey"], sa.Boolean)
    assert insp.get_view_definition("sys_tables").startswith("CREATE VIEW")


def test_reflection_sends_no_requests(engine: Engine, emu: Emulator) -> None:
    metadata = MetaData()
    metadata.reflect(engine, views=True)
    assert sorted(metadata.tables) == ["Conferences", "Participants"]
    participants = metadata.tables["Participants"]
    assert participants.c.ConferenceSid.references(metadata.tables["Conferences"].c.Sid)
    assert participants.primary_key.columns.keys() == ["ConferenceSid", "CallSid"]
    assert not emu.requests


# CallSid is assigned by the provider; SQLAlchemy warns that no value is given for a key column.
@pytest.mark.filterwarnings("ignore:Column 'Participants.CallSid' is marked as a member")
def test_hidden_columns_option_allows_core_inserts(server: EmulatorServer, emu: Emulator) -> None:
    emu.seed_demo()
    eng = create_engine(_url(server), hidden_columns=True)
    participants = Table("Participants", MetaData(), autoload_with=eng)
    assert str(participants.c.From.comment).startswith("(write-only)")
    conference = next(c for c in emu.conferences() if c["friendly_name"] == "Lobby")
    with eng.connect() as conn:
        result = conn.execute(
            insert(participants).values(
                ConferenceSid=conference["sid"], From="+18149044818", To="+19196029680"
            ),
            execution_options={"preserve_rowcount": True},
        )
        assert result.rowcount == 1
    assert len(emu.participants(str(conference["sid"]))) == 2
    eng.dispose()


# --- queries and pushdown ---------------------------------------------------------------


def test_select_limit_is_pushed_down(engine: Engine, emu: Emulator) -> None:
    conferences = Table("Conferences", MetaData(), autoload_with=engine)
    with engine.connect() as conn:
        rows = conn.execute(select(conferences).limit(5)).all()
    assert len(rows) == 5
    assert _page_size(emu) == 5


def test_select_where_is_pushed_down(engine: Engine, emu: Emulator) -> None:
    conferences = Table("Conferences", MetaData(), autoload_with=engine)
    query = (
        select(conferences.c.Sid, conferences.c.FriendlyName, conferences.c.DateCreated)
        .where(conferences.c.Status == "in-progress")
        .order_by(conferences.c.DateCreated)
        .limit(5)
    )
    with engine.connect() as conn:
        rows = conn.execute(query).all()
    assert [r.FriendlyName for r in rows] == ["Daily Standup", "Customer Escalation"]
    assert all(isinstance(r.DateCreated, dt.datetime) for r in rows)
    assert _filters(emu) == {"Status": "in-progress"}


def test_schema_qualified_table_and_datetime_binds(engine: Engine, emu: Emulator) -> None:
    conferences = Table("Conferences", MetaData(), schema="main", autoload_with=engine)
    cutoff = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)  # aware: converted to UTC text
    query = select(conferences.c.FriendlyName).where(conferences.c.DateCreated >= cutoff)
    assert 'FROM main."Conferences"' in str(query.compile(engine))
    with engine.connect() as conn:
        names = conn.execute(query).scalars().all()
    assert set(names) <= {"Daily Standup", "Customer Escalation", "Lobby"}
    assert _filters(emu) == {"DateCreated>=": cutoff.date().isoformat()}


def test_raw_sql_results_are_typed(engine: Engine) -> None:
    with engine.connect() as conn:
        row = conn.exec_driver_sql(
            "SELECT Muted, QueueTime, DateCreated, Label FROM Participants WHERE Label = 'bob'"
        ).one()
        assert row.Muted is True
        assert isinstance(row.DateCreated, dt.datetime)
        typed = conn.execute(text("SELECT DateCreated FROM Conferences LIMIT 1")).scalar()
        assert isinstance(typed, dt.datetime)
        # an expression has no declared type: SQLite's text comes back
        assert isinstance(
            conn.exec_driver_sql("SELECT max(DateCreated) FROM Conferences").scalar(), str
        )


# --- pandas ------------------------------------------------------------------------------


def _assert_typed(frame: pd.DataFrame, datetimes: list[str], bools: list[str]) -> None:
    for name in datetimes:
        assert pd.api.types.is_datetime64_any_dtype(frame[name]), (name, frame[name].dtype)
    for name in bools:
        assert pd.api.types.is_bool_dtype(frame[name]), (name, frame[name].dtype)


def test_pandas_read_sql_raw_text(engine: Engine) -> None:
    frame = pd.read_sql("SELECT Sid, Status, DateCreated, DateUpdated FROM Conferences", engine)
    assert len(frame) == 6
    _assert_typed(frame, ["DateCreated", "DateUpdated"], [])
    parts = pd.read_sql(
        "SELECT ConferenceSid, Label, Muted, Hold, DateCreated FROM Participants", engine
    )
    _assert_typed(parts, ["DateCreated"], ["Muted", "Hold"])
    assert parts.loc[parts.Label == "bob", "Muted"].item()


def test_pandas_read_sql_table_and_select(engine: Engine) -> None:
    frame = pd.read_sql_table("Conferences", engine)
    assert list(frame.columns)[:2] == ["Sid", "AccountSid"]
    _assert_typed(frame, ["DateCreated", "DateUpdated"], [])
    participants = Table("Participants", MetaData(), autoload_with=engine)
    parts = pd.read_sql(select(participants).where(participants.c.Muted.is_(True)), engine)
    assert set(parts.Label) == {"bob", "coach"}
    _assert_typed(parts, ["DateCreated"], ["Muted", "Hold", "Coaching"])


# --- EXEC ------------------------------------------------------------------------------------


def test_exec_driver_sql_runs_procedures(engine: Engine, emu: Emulator) -> None:
    with engine.connect() as conn:
        result = conn.exec_driver_sql(
            "EXEC AddParticipants ConferenceSid = 'Ad hoc bridge', "
            "From = '+18149044818', To = '+19196029680'"
        )
        rows = result.mappings().all()
        assert len(rows) == 1
        assert rows[0]["CallSid"].startswith("CA")
        assert rows[0]["Status"]
        named = conn.exec_driver_sql(
            "EXEC AddParticipants ConferenceSid = ?, From = ?, To = ?",
            ("Ad hoc bridge", "+18149044818", "+19196029681"),
        ).all()
        assert len(named) == 1
    assert any(c["friendly_name"] == "Ad hoc bridge" for c in emu.conferences())


# --- Apache Superset --------------------------------------------------------------------------


def test_superset_connection_test_and_dataset_sequence(engine: Engine, emu: Emulator) -> None:
    """The calls Superset makes for "Test connection", browsing, adding a dataset, previewing."""
    dialect = engine.dialect
    # TestConnectionDatabaseCommand → commands.database.utils.ping
    with closing(engine.raw_connection()) as raw:
        assert dialect.do_ping(raw)
    from driver import __version__

    assert __version__.startswith(".".join(map(str, dialect.server_version_info)))

    insp = inspect(engine)
    schema = insp.default_schema_name
    assert schema in insp.get_schema_names()
    tables = insp.get_table_names(schema)
    views = insp.get_view_names(schema)
    assert "Conferences" in tables and views == []
    assert insp.get_materialized_view_names(schema) == []

    # Adding a dataset: get_table_metadata / external_metadata.
    for name in tables:
        assert insp.has_table(name, schema)
        columns = insp.get_columns(name, schema)
        for column in columns:
            column["type"].compile(dialect=dialect)  # column_datatype_to_string
        assert insp.get_pk_constraint(name, schema)["constrained_columns"]
        insp.get_foreign_keys(name, schema)
        assert insp.get_indexes(name, schema) == []
        assert insp.get_unique_constraints(name, schema) == []
        assert insp.get_check_constraints(name, schema) == []
        assert insp.get_table_comment(name, schema)["text"]

    # select_star preview: compiled with literal binds, run on a raw DB-API cursor.
    columns = insp.get_columns("Conferences", schema)
    preview: Any = (
        select(*[sa.column(c["name"]) for c in columns])
        .select_from(sa.table("Conferences", schema=schema))
        .limit(100)
    )
    sql = str(preview.compile(engine, compile_kwargs={"literal_binds": True}))
    assert "LIMIT 100" in sql
    with closing(engine.raw_connection()) as raw:
        cursor = raw.cursor()
        cursor.execute(sql)
        assert [d[0] for d in cursor.description] == [c["name"] for c in columns]
        assert len(cursor.fetchmany(100)) == 6
    assert _page_size(emu) == 100

    # Chart query: SQLAlchemy-built, run through the engine (pandas in Superset).
    conferences = Table("Conferences", MetaData(), schema=schema, autoload_with=engine)
    count = sa.func.count().label("count")
    chart = (
        select(conferences.c.Status, count)
        .where(conferences.c.Status.in_(["in-progress", "completed"]))
        .group_by(conferences.c.Status)
        .order_by(count.desc())
        .limit(10000)
    )
    frame = pd.read_sql(chart, engine)
    assert dict(zip(frame.Status, frame["count"], strict=True)) == {
        "completed": 3,
        "in-progress": 2,
    }


def test_isolation_level_is_autocommit(engine: Engine) -> None:
    with engine.connect() as conn:
        assert conn.get_isolation_level() == "AUTOCOMMIT"
        conn.commit()
        conn.rollback()
    autocommit: Any = engine.execution_options(isolation_level="AUTOCOMMIT")
    with autocommit.connect() as conn:
        assert conn.exec_driver_sql("SELECT 1").scalar() == 1


def test_result_type_for_datetime_is_the_dialect_type(engine: Engine) -> None:
    assert isinstance(sa.DateTime().dialect_impl(engine.dialect), ConfsqlDateTime)
    processor = ConfsqlDateTime().bind_processor(engine.dialect)
    assert processor is not None
    aware = dt.datetime(2024, 5, 1, 14, 30, 5, tzinfo=dt.timezone(dt.timedelta(hours=2)))
    assert processor(aware) == "2024-05-01 12:30:05"
    assert processor(dt.date(2024, 5, 1)) == "2024-05-01 00:00:00"
    assert processor("2024-05-01") == "2024-05-01"
