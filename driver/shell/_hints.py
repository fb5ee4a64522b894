"""Error hints worded for the shell: the dot-command instead of the catalog query.

Through the DB-API an error points at a runnable query on the ``sys_*``
catalog views, e.g. ``to list its inputs: SELECT ... FROM
sys_procedureparameters WHERE ProcedureName = 'AddParticipants' ...``.  At the
shell's prompt the dot-command that shows the same is shorter to type.  Only
hints are rewritten: a query followed by "lists ...", or the inputs query.

>>> for_shell("no such table: X (SELECT TableName FROM sys_tables lists the tables)")
'no such table: X (.tables lists the tables)'
"""

from __future__ import annotations

import re

_QUERY = r"SELECT [\w*, ]+? FROM "
_REWRITES = (
    (
        re.compile(
            _QUERY + r"sys_procedureparameters WHERE ProcedureName = '(\w+)'"
            r"(?: AND Direction = 'IN')?"
        ),
        r".describe \1",
    ),
    (re.compile(_QUERY + r"sys_procedures(?= lists )"), ".procedures"),
    (re.compile(_QUERY + r"sys_tables(?= lists )"), ".tables"),
)


def for_shell(message: str) -> str:
    """``message`` with each catalog-query hint replaced by its dot-command."""
    for pattern, command in _REWRITES:
        message = pattern.sub(command, message)
    return message
