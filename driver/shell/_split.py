"""Cut script text into statements, line by line.

A SQL statement ends at a ``;`` that :func:`apsw.complete` accepts (so a
trigger body's inner ``;`` does not end it).  An ``EXEC`` ends at ``;`` or at
the end of its line.  Neither ends inside a string, a quoted name or a
comment, so ``'a;b'`` and a string spanning lines are safe.
"""

from __future__ import annotations

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


def _boundaries(text: str, pos: int) -> Iterator[tuple[int, str]]:
    """Positions of ``;`` and newlines outside strings, quoted names and comments."""
    n = len(text)
    while pos < n:
        char = text[pos]
        if char in _QUOTES:
            close = text.find(_QUOTES[char], pos + 1)
            if close < 0:
                return
            pos = close + 1
        elif text.startswith("--", pos):
            close = text.find("\n", pos)
            if close < 0:
                return
            pos = close  # the newline itself is a boundary
        elif text.startswith("/*", pos):
            close = text.find("*/", pos + 2)
            if close < 0:
                return
            pos = close + 2
        else:
            if char in ";\n":
                yield pos, char
            pos += 1


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
        exec_call = is_exec(buf[start:])
        for pos, char in _boundaries(buf, start):
            if char == ";" and (exec_call or apsw.complete(buf[: pos + 1])):
                return pos + 1
            if char == "\n" and exec_call:
                return pos
        return None


def split(text: str, first_line: int = 1) -> list[Statement]:
    """All statements in ``text`` (the last may lack its ``;``)."""
    splitter = Splitter(first_line)
    out: list[Statement] = []
    for line in text.split("\n"):
        out.extend(splitter.feed(line))
    return out + splitter.finish()
