"""Read ODBC-style connection strings: ``Key=Value;Key={value; with braces}``.

One left-to-right pass, linear in the length of the string (a connection
string may come from an untrusted client, e.g. through ``confsql serve``).

* Pairs are separated by ``;``; empty pairs and whitespace around keys and
  values are ignored.
* A value wrapped in ``{…}`` may hold ``;`` and ``=``; ``}}`` inside braces
  stands for one ``}``.
* Keys are plain names (letters, digits, ``_`` and ``-``).

Error messages never quote the text of a malformed part, since it may hold a
secret (``AuthToken:0badc0de…`` with a typo for ``=``).  They name the
position and, when the part starts with a known property name, that name.

>>> [(p.key, p.value) for p in split("Provider=Twilio; AuthToken={a;b}")]
[('Provider', 'Twilio'), ('AuthToken', 'a;b')]
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from .errors import ProgrammingError

_KEY = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")
_LEADING_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}")
_SEPARATOR = re.compile("[=;]")
_SPACE = " \t\r\n"


@dataclass(frozen=True)
class Pair:
    """One ``Key=Value`` pair and where its key starts in the string."""

    key: str
    value: str
    position: int
    span: tuple[int, int] = (0, 0)  # [start, end) of the value as written (braces included)


@dataclass(frozen=True)
class Problem:
    """A part that could not be read: its position and, if recognisable, its key."""

    position: int
    what: str  # a sentence fragment that quotes nothing from the string
    key: str | None = None
    end: int = 0  # where the part ends (exclusive)


def normalise(key: str) -> str:
    """Case-insensitive, ``_`` and ``-`` ignored: ``account_sid`` is ``AccountSid``."""
    return key.replace("_", "").replace("-", "").lower()


def scan(dsn: str, known: Collection[str] = ()) -> tuple[list[Pair], list[Problem]]:
    """Every readable pair and every problem, in order (never raises).

    ``known`` holds normalised property names: a malformed part that starts
    with one of them is reported under that name.
    """
    pairs: list[Pair] = []
    problems: list[Problem] = []
    n = len(dsn)
    i = 0
    while i < n:
        while i < n and (dsn[i] in _SPACE or dsn[i] == ";"):
            i += 1
        if i >= n:
            break
        start = i
        eq = _find_separator(dsn, i)
        if eq == -1 or dsn[eq] == ";":
            end = n if eq == -1 else eq
            problems.append(Problem(start, "has no '='", _leading_key(dsn, start, known), end))
            i = end + 1
            continue
        key = dsn[start:eq].strip(_SPACE)
        i = eq + 1
        while i < n and dsn[i] in " \t":
            i += 1
        value_start = i
        if i < n and dsn[i] == "{":
            value, i, closed = _braced(dsn, i + 1)
            value_end = i
            if not closed:
                problems.append(
                    Problem(start, "opens '{' but never closes it", _safe(key, known), n)
                )
                break
            while i < n and dsn[i] in _SPACE:
                i += 1
            if i < n and dsn[i] != ";":
                end = dsn.find(";", i)
                end = n if end == -1 else end
                problems.append(
                    Problem(start, "has text after its closing '}'", _safe(key, known), end)
                )
                i = end + 1
                continue
            i += 1
        else:
            end = dsn.find(";", i)
            end = n if end == -1 else end
            value = dsn[i:end].strip(_SPACE)
            value_end = end
            i = end + 1
        if not _KEY.fullmatch(key):
            leading = _leading_key(dsn, start, known)
            problems.append(Problem(start, "has no property name before '='", leading, value_end))
            continue
        pairs.append(Pair(key, value, start, (value_start, value_end)))
    return pairs, problems


def split(dsn: str, known: Collection[str] = ()) -> list[Pair]:
    """The pairs of ``dsn``; ProgrammingError for the first malformed part."""
    pairs, problems = scan(dsn, known)
    if problems:
        raise ProgrammingError(describe(problems[0]))
    return pairs


def describe(problem: Problem) -> str:
    """The message for a problem (positions count from 1)."""
    where = f"the part at position {problem.position + 1}"
    if problem.key:
        where += f" (starting with {problem.key})"
    return (
        f"connection string: {where} {problem.what}; write Key=Value pairs separated by ';' "
        "and wrap values holding ';' in {braces}"
    )


def _find_separator(text: str, start: int) -> int:
    """Index of the first ``=`` or ``;`` at or after ``start``, or -1 (scans no further)."""
    match = _SEPARATOR.search(text, start)
    return match.start() if match else -1


def _braced(text: str, i: int) -> tuple[str, int, bool]:
    """The value after ``{`` at ``i``: (value, index after the closing ``}``, closed?)."""
    parts: list[str] = []
    n = len(text)
    while True:
        close = text.find("}", i)
        if close == -1:
            return "", n, False
        parts.append(text[i:close])
        if close + 1 < n and text[close + 1] == "}":  # '}}' is a literal '}'
            parts.append("}")
            i = close + 2
            continue
        return "".join(parts), close + 1, True


def _leading_key(text: str, start: int, known: Collection[str]) -> str | None:
    """The property name a malformed part starts with, if it is a known one."""
    match = _LEADING_NAME.match(text, start)
    return _safe(match.group(0), known) if match else None


def _safe(key: str, known: Collection[str]) -> str | None:
    """``key`` if it may be shown: only known property names are ever quoted."""
    return key if normalise(key) in known else None
