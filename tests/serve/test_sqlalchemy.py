"""SQLAlchemy's postgresql+psycopg dialect and pandas: what Superset-style sync does."""

from __future__ import annotations

import pytest

from tests.serve.conftest import PASSWORDS, Direct, Running

sa = pytest.importorskip("sqlalchemy")
pd = pytest.importorskip("pandas")
pytest.importorskip("psycopg")

JOIN = (
    'SELECT p."CallSid", c."FriendlyName", p."Muted", c."DateCreated" FROM "Participants" p '
    'JOIN "Conferences" c ON c."Sid" = p."ConferenceSid" ORDER BY 1'
)


@pytest.fixture
def engine(running: Running) -> object:
    url = f"postgresql+psycopg://alice:{PASSWORDS['alice']}@{running.host}:{running.port}/confsql"
    eng = sa.create_engine(url, connect_args={"sslmode": "disable"})
    yield eng
    eng.dispose()


def test_inspector(engine: object) -> None:
    inspector = sa.inspect(engine)
    assert inspector.get_table_names() == ["Conferences", "Participants"]
    assert "sys_tables" in inspector.get_view_names()
    columns = {c["name"]: c["type"] for c in inspector.get_columns("Participants")}
    assert isinstance(columns["Muted"], sa.Boolean)
    assert isinstance(columns["QueueTime"], sa.BigInteger)
    assert isinstance(columns["DateCreated"], sa.DateTime)
    assert inspector.get_pk_constraint("Participants")["constrained_columns"] == [
        "ConferenceSid",
        "CallSid",
    ]
    assert inspector.has_table("Conferences") and not inspector.has_table("Nope")


def test_table_reflection(engine: object) -> None:
    table = sa.Table("Conferences", sa.MetaData(), autoload_with=engine)
    assert [c.name for c in table.primary_key] == ["Sid"]
    with engine.connect() as conn:  # type: ignore[attr-defined]
        count = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar()
    assert count == 6


def test_pandas_read_sql_of_a_join(engine: object, direct: Direct) -> None:
    frame = pd.read_sql(JOIN, engine)
    expected = direct(
        "SELECT p.CallSid, c.FriendlyName, p.Muted, c.DateCreated FROM Participants p "
        "JOIN Conferences c ON c.Sid = p.ConferenceSid ORDER BY 1"
    )
    assert list(frame.columns) == ["CallSid", "FriendlyName", "Muted", "DateCreated"]
    assert len(frame) == len(expected) > 0
    assert list(frame["CallSid"]) == [r[0] for r in expected]
    assert list(frame["Muted"]) == [bool(r[2]) for r in expected]
    assert str(frame["DateCreated"].dtype).startswith("datetime64")
