"""Run stored procedures: validated inputs → one provider request → result rows.

Procedures are declared in ``schema/procedures``; the request each one sends
is declared in the provider mapping.  Table writes (INSERT/UPDATE/DELETE) go
through here too, so a row written with SQL and a row written with EXEC take
the same path.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from . import loop
from .errors import NotSupportedError, OperationalError, ProgrammingError
from .http import OutcomeUnknown
from .planner import path_inputs
from .requests import Requester
from .schema import Catalog, Procedure, ProcedureMapping
from .validation import validate_inputs
from .values import decoder

Row = tuple[Any, ...]


class ProcedureRunner:
    """Sends procedure calls for one connection."""

    def __init__(self, catalog: Catalog, requester: Requester) -> None:
        self.catalog = catalog
        self.requester = requester
        self.provider = requester.provider

    def procedure(self, name: str) -> Procedure:
        """The declared procedure, or ProgrammingError listing the known ones.

        A procedure this provider cannot run at all is NotSupportedError, with
        the provider's own words on what to do instead.
        """
        proc = self.catalog.procedure(name)
        if proc is not None and self.provider.procedures.get(proc.name) is None:
            raise NotSupportedError(
                f"{proc.name} is not supported by {self.provider.name}: "
                f"{self.provider.unsupported_procedure(proc.name)}"
            )
        if proc is None:
            known = ", ".join(sorted(self.provider.procedures))
            raise ProgrammingError(
                f"unknown procedure {name!r}; known procedures: {known} "
                "(SELECT * FROM sys_procedures lists them with descriptions)"
            )
        return proc

    def validate(self, name: str, args: Mapping[str, object]) -> dict[str, object]:
        """Check and coerce inputs, and that the provider can honour them; nothing is sent."""
        proc = self.procedure(name)
        inputs = validate_inputs(proc, args, formats=self.provider.formats)
        self.provider.check_inputs(proc, self.provider.procedures[proc.name], inputs)
        return inputs

    async def call(self, name: str, inputs: Mapping[str, object]) -> list[Row]:
        """Run one (already validated) call through the provider; return its result rows.

        An answer that leaves the outcome unknown gets a runnable check query.
        """
        proc = self.procedure(name)
        values = dict(inputs)
        try:
            return await self.provider.call(self, proc, values)
        except OutcomeUnknown as exc:
            if "To check:" not in exc.message:  # a provider may have said how already
                _append(exc, self.check_hint(proc, values))
            raise
        except asyncio.CancelledError:
            # Cancelled (interrupt, close, Ctrl-C) while a request may already have been
            # sent: report that, rather than a plain cancellation, to the waiting thread.
            raise OutcomeUnknown(
                f"{proc.name}: cancelled while its request was in flight; it may or may not "
                f"have been carried out and was NOT retried. {self.check_hint(proc, values)}"
            ) from None

    async def send_declared(self, proc: Procedure, values: dict[str, object]) -> list[Row]:
        """The default call: the one request declared in the provider's TOML.

        Inputs named in the path fill it (conference names resolved where the
        mapping says so); the rest go in the body under their wire names.
        """
        mapping = self.provider.procedures[proc.name]
        for input_name in mapping.resolve_conference:
            if input_name in values:
                values[input_name] = await self.conference_sid(str(values[input_name]))
        path_names = set(path_inputs(mapping.path))
        path = {n: str(values[n]) for n in path_names if n in values}
        body = [
            (mapping.fields.get(n, n), item)
            for n, v in values.items()
            if n not in path_names
            for item in (v if isinstance(v, list) else [v])
        ]
        answer = await self.requester.client.json(
            mapping.method,
            self.requester.url(mapping.path, path),
            body=body if mapping.method != "DELETE" else None,
            what=proc.name,
            expect=mapping.success,
        )
        if answer is not None:
            answer = self.provider.unwrap(answer)
        return [self.result_row(proc, mapping, answer, values)]

    def result_row(
        self,
        proc: Procedure,
        mapping: ProcedureMapping,
        body: Mapping[str, Any] | None,
        values: Mapping[str, object],
    ) -> Row:
        fields: Mapping[str, str] = mapping.results
        required = list(fields.values())
        spellings: Mapping[str, Mapping[str, str]] = {}
        if not fields and proc.results_table:
            table_mapping = self.provider.tables[proc.results_table]
            fields, spellings = table_mapping.fields, table_mapping.values
            table = self.catalog.tables[proc.results_table]
            required = [fields[c.name] for c in table.keys if c.name in fields]
        missing = [f for f in required if body is not None and f not in body]
        if missing:  # not the documented answer: whether it took effect is unknown
            raise OutcomeUnknown(
                f"{proc.name}: the provider's answer lacks {', '.join(missing)}, so it is not "
                "the documented success; the request may or may not have been carried out "
                "and was NOT retried."
            )
        row = []
        for result in proc.results:
            if body is not None and result.name in fields:
                raw = body.get(fields[result.name])
                if isinstance(raw, str) and result.name in spellings:  # e.g. in_progress
                    raw = spellings[result.name].get(raw, raw)
            else:
                raw = values.get(result.name)  # e.g. DELETE answers 204: echo the inputs
            row.append(decoder(result.type, self.provider.decode_datetime)(raw))
        return tuple(row)

    async def conference_sid(self, value: str) -> str:
        """A conference SID as given, or the SID of the live conference with that name."""
        if self.provider.is_conference_sid(value):
            return value
        # The live-conference scan declared for the Participants fan-out says which table
        # holds conferences, which column is the SID and which statuses are live.
        spec = next(m.fanout for m in self.provider.tables.values() if m.fanout)
        parent = str(spec["table"])
        table = self.provider.tables[parent]
        live = {(col, s) for col, vals in dict(spec.get("filter", {})).items() for s in vals}
        name_field = table.fields["FriendlyName"]
        found: list[str] = []
        query = [(table.filters["FriendlyName ="], value)]
        async with loop.closing(self.requester.pages(parent, table, {}, query)) as pages:
            async for items in pages:
                found.extend(
                    str(it.get(table.fields[str(spec["column"])]))
                    for it in items
                    if it.get(name_field) == value
                    and (
                        not live
                        or any(it.get(table.fields[c]) == table.to_api(c, s) for c, s in live)
                    )
                )
        if not found:
            raise ProgrammingError(
                f"no live conference is named {value!r}; give its SID or the exact "
                "friendly name (SELECT Sid, FriendlyName FROM Conferences "
                "WHERE Status != 'completed')",
                status=404,
            )
        if len(found) > 1:
            raise ProgrammingError(
                f"{len(found)} live conferences are named {value!r}; give its SID instead"
            )
        return found[0]

    def check_hint(self, proc: Procedure, values: Mapping[str, object]) -> str:
        """A SELECT the user can run to see whether an unanswered call took effect.

        Every value is quoted as an SQL string literal; a key given as a friendly
        name or a label (not a SID) is matched the way a SELECT can match it.
        """
        for table in self.catalog.tables.values():
            writes = (table.insert, table.update, table.delete)
            if proc.name not in writes and proc.results_table != table.name:
                continue
            # A column the provider does not show reads NULL, so no term on it can match.
            mapping = self.provider.tables.get(table.name)
            shown = set(mapping.fields) if mapping else {c.name for c in table.columns}
            terms: list[str] = []
            for column in table.columns:
                if column.name not in values or not (column.key or column.name == "Label"):
                    continue
                if column.name not in shown:
                    continue
                term = self._hint_term(table.name, column.name, str(values[column.name]), values)
                if term and term not in terms:
                    terms.append(term)
            where = f" WHERE {' AND '.join(terms)}" if terms else ""
            hint = f"To check: SELECT * FROM {table.name}{where}"
            labelled = table.column("Label") is not None and "Label" in shown
            if proc.name == table.insert and not (labelled and "Label" in values):
                hint += " ORDER BY DateCreated DESC"
                if labelled:
                    hint += " (a Label makes the new row easy to find)"
            return hint
        return ""

    def _hint_term(
        self, table_name: str, column: str, value: str, values: Mapping[str, object]
    ) -> str:
        """One WHERE term of the check hint for ``column = value`` ('' when redundant)."""
        mapping = self.provider.tables.get(table_name)
        if mapping is None or self.provider.is_identifier(value):
            return f"{column} = {_sql_text(value)}"
        fanout = mapping.fanout or {}
        parent = self.provider.tables.get(str(fanout.get("table")))
        if fanout.get("into") == column and parent and "FriendlyName =" in parent.filters:
            # A friendly name where the parent's SID goes (AddParticipants creates by name):
            # match the one live parent of that name.  A scalar subquery, not IN: an empty
            # IN set makes APSW fail the statement.
            live = " AND ".join(
                f"{col} IN ({', '.join(_sql_text(str(v)) for v in vals)})"
                for col, vals in dict(fanout.get("filter", {})).items()
            )
            return (
                f"{column} = (SELECT {fanout['column']} FROM {fanout['table']} "
                f"WHERE FriendlyName = {_sql_text(value)}{' AND ' + live if live else ''})"
            )
        alternatives = [c for c in mapping.fetch_by.get(column, ()) if c != column]
        if alternatives:  # e.g. a label standing in for the call SID
            return "" if alternatives[0] in values else f"{alternatives[0]} = {_sql_text(value)}"
        if column in mapping.fetch_by:
            # Not an id, and no column shows what stands in for one (a label the provider
            # never returns): no term can match it, so leave it out rather than find nothing.
            return ""
        return f"{column} = {_sql_text(value)}"


def _sql_text(value: str) -> str:
    """``value`` as an SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def _append(exc: OperationalError, text: str) -> None:
    """Add a sentence to an error's message (and its args)."""
    if not text:
        return
    exc.message = f"{exc.message} {text}"
    exc.args = (exc.message,)
