"""Lexical helpers over SQL text: split a simple query into statements, number placeholders.

Both walk the text once, skipping string literals (``'..'``, ``E'..'``,
``$tag$..$tag$``), quoted identifiers and comments, so a ``;`` or ``$1``
inside them is left alone.

>>> split_statements("SET a = 1; SELECT ';'; ")
['SET a = 1', "SELECT ';'"]
>>> positional("SELECT $2, $1, $2", "$")
('SELECT ?, ?, ?', [2, 1, 2])
"""

from __future__ import annotations

import re

_DOLLAR_TAG = re.compile(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$")


def _skip(text: str, i: int) -> int:
    """If a literal, quoted identifier or comment starts at ``i``, the index after it."""
    c = text[i]
    nxt = text[i + 1] if i + 1 < len(text) else ""
    if c == "-" and nxt == "-":
        end = text.find("\n", i)
        return len(text) if end < 0 else end + 1
    if c == "/" and nxt == "*":
        depth, j = 1, i + 2
        while j < len(text) and depth:
            if text.startswith("/*", j):
                depth, j = depth + 1, j + 2
            elif text.startswith("*/", j):
                depth, j = depth - 1, j + 2
            else:
                j += 1
        return j
    if c in ("'", '"'):
        backslash = c == "'" and i > 0 and text[i - 1] in "eE" and not _word_char(text, i - 2)
        j = i + 1
        while j < len(text):
            if backslash and text[j] == "\\":
                j += 2
                continue
            if text[j] == c:
                if j + 1 < len(text) and text[j + 1] == c:
                    j += 2
                    continue
                return j + 1
            j += 1
        return len(text)
    if c == "$" and not _word_char(text, i - 1):
        match = _DOLLAR_TAG.match(text, i)
        if match:
            end = text.find(match.group(0), match.end())
            return len(text) if end < 0 else end + len(match.group(0))
    return i


def _word_char(text: str, i: int) -> bool:
    return 0 <= i < len(text) and (text[i].isalnum() or text[i] == "_")


def split_statements(text: str) -> list[str]:
    """The non-empty statements of a simple-query string, without their ``;``."""
    out: list[str] = []
    start = i = 0
    while i < len(text):
        j = _skip(text, i)
        if j != i:
            i = j
            continue
        if text[i] == ";":
            out.append(text[start:i])
            start = i + 1
        i += 1
    out.append(text[start:])
    return [s.strip() for s in out if not is_blank(s)]


def is_blank(text: str) -> bool:
    """True when ``text`` holds only whitespace and comments."""
    i = 0
    while i < len(text):
        if text[i].isspace():
            i += 1
            continue
        j = _skip(text, i)
        if j == i or text[i] in "'\"$":
            return False
        i = j
    return True


def positional(text: str, marker: str) -> tuple[str, list[int]]:
    """Replace numbered placeholders (``$1`` or ``@1``) by ``?``; return their numbers in order."""
    out: list[str] = []
    order: list[int] = []
    i = last = 0
    while i < len(text):
        c = text[i]
        if (
            c == marker
            and i + 1 < len(text)
            and text[i + 1].isdigit()
            and not _word_char(text, i - 1)
        ):
            j = i + 1
            while j < len(text) and text[j].isdigit():
                j += 1
            out.append(text[last:i])
            out.append("?")
            order.append(int(text[i + 1 : j]))
            i = last = j
            continue
        j = _skip(text, i)
        i = j if j != i else i + 1
    out.append(text[last:])
    return "".join(out), order
