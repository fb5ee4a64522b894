"""Cut script text into statements, line by line.

A SQL statement ends at a ``;`` that :func:`apsw.complete` accepts (so a
trigger body's inner ``;`` does not end it).  An ``EXEC`` ends at ``;`` or at
the end of its line, unless the line leaves the call unfinished: it ends in
``,`` or ``=``, or inside parentheses.  Neither ends inside a string, a quoted
name or a comment, so ``'a;b'`` and a string spanning lines are safe.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import apsw

from ..exec_parser import is_exec

_QUOTES = {"'": "'", '"': '"', "`": "`", "[": "]"}


@dataclass(frozen=True)
class Statement:
    """One statement and the 1-based line its first token is on."""

    text: str
    line: int


_MARK = re.compile(r"""['"`\[;\n(),=]|--|/\*""")
_CONTINUES = frozenset({",", "="})
"""The last mark of an EXEC line that continues onto the next line."""


def _marks(text: str, pos: int) -> Iterator[tuple[int, str]]:
    """Marks outside comments: ``;``, newline, ``(``, ``)``, ``,`` and ``=`` as themselves,
    a closed string or quoted name as ``'`` and any other text as ``w``.

    Stops at an unclosed string, quoted name or comment.
    """
    n = len(text)
    while pos < n:
        match = _MARK.search(text, pos)
        at = match.start() if match else n
        if text[pos:at].strip():
            yield pos, "w"
        if match is None:
            return
        mark = match.group()
        if mark in _QUOTES:
            close = text.find(_QUOTES[mark], at + 1)
            if close < 0:
                return
            yield at, "'"
            pos = close + 1
        elif mark == "--":
            close = text.find("\n", at)
            if close < 0:
                return
            pos = close  # the newline itself is a mark
        elif mark == "/*":
            close = text.find("*/", at + 2)
            if close < 0:
                return
            pos = close + 2
        else:
            yield at, mark
            pos = at + 1


def skip_blank(text: str, pos: int = 0) -> int:
    """Index of the first character that is not space or comment; -1 inside a ``/*``."""
    n = len(text)
    while pos < n:
        if text[pos].isspace():
            pos += 1
        elif text.startswith("--", pos):
            close = text.find("\n", pos)
            pos = n if close < 0 else close + 1
        elif text.startswith("/*", pos):
            close = text.find("*/", pos + 2)
            if close < 0:
                return -1
            pos = close + 2
        else:
            return pos
    return n


class Splitter:
    """Accumulates input lines and hands back each statement once it is complete."""

    def __init__(self, first_line: int = 1) -> None:
        self.buffer = ""
        self.line = first_line  # line number of the buffer's first character

    @property
    def pending(self) -> bool:
        """True while an unfinished statement (or ``/*`` comment) is buffered."""
        return skip_blank(self.buffer) != len(self.buffer)

    def feed(self, line: str) -> list[Statement]:
        """Add one line (without its newline); return the statements it completes."""
        self.buffer += line + "\n"
        return self._take(final=False)

    def finish(self) -> list[Statement]:
        """End of input: whatever is left is one last statement."""
        out = self._take(final=True)
        self.buffer = ""
        return out

    def reset(self) -> None:
        """Drop a half-typed statement (Ctrl-C at the prompt)."""
        self.line += self.buffer.count("\n")
        self.buffer = ""

    def _take(self, final: bool) -> list[Statement]:
        out: list[Statement] = []
        while True:
            buf = self.buffer
            start = skip_blank(buf)
            if start < 0 and not final:
                break
            if start < 0 or start == len(buf):
                self.reset()
                break
            end = self._end(buf, start)
            if end is None:
                if not final:
                    break
                end = len(buf)
            text = buf[start:end].strip()
            if text.rstrip(";").strip():
                out.append(Statement(text, self.line + buf.count("\n", 0, start)))
            self.line += buf.count("\n", 0, end)
            self.buffer = buf[end:]
        return out

    @staticmethod
    def _end(buf: str, start: int) -> int | None:
        """Where the statement starting at ``start`` ends, or None if it goes on.

        An EXEC line ending in ``,`` or ``=``, or inside parentheses, goes on.
        """
        exec_call = is_exec(buf[start:])
        depth, last = 0, ""
        for pos, mark in _marks(buf, start):
            if mark == ";":
                if exec_call or apsw.complete(buf[: pos + 1]):
                    return pos + 1
            elif mark == "\n":
                if exec_call and depth <= 0 and last not in _CONTINUES:
                    return pos
                continue
            elif mark == "(":
                depth += 1
            elif mark == ")":
                depth -= 1
            last = mark
        return None


def split(text: str, first_line: int = 1) -> list[Statement]:
    """All statements in ``text`` (the last may lack its ``;``)."""
    splitter = Splitter(first_line)
    out: list[Statement] = []
    for line in text.split("\n"):
        out.extend(splitter.feed(line))
    return out + splitter.finish()
