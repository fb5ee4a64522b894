"""Preparing one statement: what it is (session command, EXEC, SQL), and what the DB-API runs.

A :class:`Prepared` statement is built once (simple query, or the extended
protocol's Parse) and can then be bound and run many times.

>>> p = prepare("EXEC AddParticipants ConferenceSid = $1, From = $2, To = $3")
>>> p.kind, p.sql, p.order
('exec', 'EXEC AddParticipants ConferenceSid = ?, From = ?, To = ?', [1, 2, 3])
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from ..exec_parser import is_exec
from . import commands
from .split import is_blank, positional
from .translate import translate
from .wire import Field

Kind = Literal["empty", "session", "exec", "query"]


@dataclass
class Prepared:
    """A parsed statement, ready to bind."""

    text: str
    kind: Kind
    sql: str = ""
    order: list[int] = field(default_factory=list)
    command: str = "SELECT"
    returns_rows: bool = True
    types: list[int | None] = field(default_factory=list)
    session: commands.Command | None = None
    param_oids: list[int] = field(default_factory=list)
    fields: list[Field] | None = None  # set once described (Describe statement)

    @property
    def param_count(self) -> int:
        """How many parameters Bind must supply."""
        return max([*self.order, len(self.param_oids), 0])

    @property
    def writes(self) -> bool:
        """True for EXEC and DML: what --read-only refuses."""
        return self.kind == "exec" or (self.kind == "query" and self.command != "SELECT")


def prepare(text: str, param_oids: list[int] | None = None) -> Prepared:
    """Classify and translate one statement (raises on syntax or translation errors)."""
    oids = list(param_oids or [])
    if is_blank(text):
        return Prepared(text, "empty", param_oids=oids, returns_rows=False)
    session = commands.match(text)
    if session is not None:
        returns = session.name == "show"
        return Prepared(text, "session", session=session, param_oids=oids, returns_rows=returns)
    if is_exec(text):
        sql, order = positional(text.strip().rstrip(";"), "$")
        return Prepared(text, "exec", sql, order, "EXEC", True, param_oids=oids)
    done = translate(text)
    return Prepared(
        text,
        "query",
        done.sql,
        done.order,
        done.command,
        done.returns_rows,
        done.types,
        param_oids=oids,
    )
