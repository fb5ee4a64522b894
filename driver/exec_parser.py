"""Parsing of stored-procedure calls (``EXEC`` / ``EXECUTE``).

Accepted grammar::

    { EXEC | EXECUTE } [schema.]ProcName [ [@]Name = value [, ...] ] [;]
    value ::= 'string' | number | TRUE | FALSE | NULL | ? | :name | @name

The statement is tokenized and parsed by sqlglot's T-SQL dialect.  Before
parsing, the token stream is adjusted so that any word (SQL keywords and
function names included) is accepted as a procedure or parameter name and as
a ``:name`` / ``@name`` placeholder.  The resulting ``exp.Execute`` tree is
then checked strictly: every argument must be ``name = value`` with a plain
literal or placeholder as the value.

Values: ``'..'`` and ``N'..'`` give ``str``; digits only give ``int`` (any
size); other numbers (``1.5``, ``.5``, ``1e3``, optionally signed with ``-`` or
``+``) give ``float``; ``TRUE``/``FALSE`` give ``bool``; ``NULL`` gives
``None``.  Names are compared with ``str.casefold``.

This module only parses; whether the procedure and its parameters exist is
decided elsewhere.  Every failure is reported as
:class:`~driver.errors.ProgrammingError`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlglot import exp
from sqlglot.dialects.tsql import TSQL
from sqlglot.errors import ParseError
from sqlglot.tokenizer_core import Token, TokenType

from driver.errors import DataError, ProgrammingError

__all__ = [
    "Argument",
    "ExecCall",
    "Named",
    "Positional",
    "bind",
    "is_exec",
    "parse_exec",
]


# --------------------------------------------------------------------------
# Public data model
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class Positional:
    """A ``?`` marker: the ``index``-th ``?`` of the statement (0-based)."""

    index: int


@dataclass(frozen=True)
class Named:
    """A ``:name`` or ``@name`` marker in a value position (prefix removed)."""

    name: str


@dataclass(frozen=True)
class Argument:
    """One ``name = value`` pair of the call.

    ``name`` is as written, without a leading ``@`` or quoting.  ``value`` is
    ``str | int | float | bool | None`` for a literal, or a
    :class:`Positional` / :class:`Named` marker.
    """

    name: str
    value: object


@dataclass(frozen=True)
class ExecCall:
    """A parsed ``EXEC`` statement.

    ``procedure`` is as written (without schema or quoting); callers compare
    it case-insensitively.  ``arguments`` keeps the written order.
    """

    procedure: str
    schema: str | None
    arguments: tuple[Argument, ...]


# --------------------------------------------------------------------------
# is_exec
# --------------------------------------------------------------------------

_EXEC_WORDS = frozenset({"EXEC", "EXECUTE"})


def _is_word_char(ch: str) -> bool:
    return ch.isalnum() or ch in "_$#@"


def _skip_space_and_comments(sql: str, pos: int) -> int:
    """Return the index of the first character that is not blank or comment.

    Returns ``-1`` when a block comment is left unterminated.
    """
    size = len(sql)
    while pos < size:
        ch = sql[pos]
        if ch.isspace():
            pos += 1
        elif sql.startswith("--", pos):
            newline = sql.find("\n", pos)
            pos = size if newline < 0 else newline + 1
        elif sql.startswith("/*", pos):
            # T-SQL block comments nest.
            depth = 1
            pos += 2
            while depth:
                opening = sql.find("/*", pos)
                closing = sql.find("*/", pos)
                if closing < 0:
                    return -1
                if 0 <= opening < closing:
                    depth += 1
                    pos = opening + 2
                else:
                    depth -= 1
                    pos = closing + 2
        else:
            break
    return pos


def is_exec(sql: str) -> bool:
    """Tell cheaply whether the first keyword of ``sql`` is EXEC or EXECUTE.

    Leading whitespace and ``--`` / ``/* */`` comments are skipped; the
    comparison is case-insensitive.  Nothing beyond the first word is checked.
    """
    start = _skip_space_and_comments(sql, 0)
    if start < 0:
        return False
    end = start
    while end < len(sql) and _is_word_char(sql[end]):
        end += 1
    return sql[start:end].upper() in _EXEC_WORDS


# --------------------------------------------------------------------------
# parse_exec
# --------------------------------------------------------------------------

_DIALECT = TSQL()
_PREFIX = "EXEC: "
_NESTING_OPEN = frozenset({TokenType.L_PAREN, TokenType.L_BRACKET, TokenType.L_BRACE})
_NESTING_CLOSE = frozenset({TokenType.R_PAREN, TokenType.R_BRACKET, TokenType.R_BRACE})
_PLACEHOLDER_PREFIXES = frozenset({TokenType.COLON, TokenType.PARAMETER})
_SIGNS = frozenset({TokenType.DASH, TokenType.PLUS})


def _error(message: str) -> ProgrammingError:
    return ProgrammingError(_PREFIX + message)


def _is_word(text: str) -> bool:
    """A bare identifier: a letter or ``_`` followed by word characters."""
    return (
        bool(text)
        and (text[0].isalpha() or text[0] == "_")
        and all(_is_word_char(ch) for ch in text)
    )


def _retyped(token: Token, token_type: TokenType) -> Token:
    return Token(
        token_type,
        token.text,
        token.line,
        token.col,
        token.start,
        token.end,
        token.comments,
    )


def _adjacent(first: Token, second: Token) -> bool:
    return first.end + 1 == second.start


@dataclass(frozen=True)
class _Segment:
    """Token positions of one ``[@]name = value`` argument."""

    name: str
    name_index: int
    first: int  # first token of the value
    last: int  # last token of the value (inclusive)


class _Prepared:
    """The token stream of one EXEC statement, checked and retyped."""

    def __init__(self, sql: str) -> None:
        self.sql = sql
        try:
            tokens = _DIALECT.tokenize(sql)
        except Exception as exc:  # sqlglot errors and its internal failures
            raise _error(f"cannot tokenize the statement: {exc}") from exc
        self.tokens: list[Token] = list(tokens)
        self.segments: list[_Segment] = []
        self.dropped: set[int] = set()
        self._check_keyword()
        self._strip_semicolon()
        body = self._read_procedure_name()
        self._read_arguments(body)

    # -- helpers -----------------------------------------------------------

    def source(self, first: int, last: int) -> str:
        """The SQL text spanned by tokens ``first`` .. ``last`` (inclusive)."""
        tokens = self.tokens
        return self.sql[tokens[first].start : tokens[last].end + 1]

    def _is_name(self, index: int) -> bool:
        token = self.tokens[index]
        if token.token_type == TokenType.IDENTIFIER:
            return True
        # Unquoted words, keywords included.  Comparing with the source text
        # rules out strings whose content merely looks like a word.
        written = self.sql[token.start : token.end + 1]
        return written == token.text and _is_word(token.text)

    def _as_identifier(self, index: int) -> None:
        self.tokens[index] = _retyped(self.tokens[index], TokenType.IDENTIFIER)

    # -- steps -------------------------------------------------------------

    def _strip_semicolon(self) -> None:
        tokens = self.tokens
        for index, token in enumerate(tokens):
            if token.token_type == TokenType.SEMICOLON:
                if index != len(tokens) - 1:
                    rest = self.sql[tokens[index + 1].start :].strip()
                    raise _error(
                        f"only one statement is allowed; unexpected text after ';': {rest!r}"
                    )
                del tokens[index]
                return

    def _check_keyword(self) -> None:
        tokens = self.tokens
        if (
            not tokens
            or tokens[0].token_type != TokenType.EXECUTE
            or tokens[0].text.upper() not in _EXEC_WORDS
        ):
            raise _error("the statement does not start with EXEC or EXECUTE")

    def _read_procedure_name(self) -> int:
        """Check ``[schema.]name`` after EXEC; return the next token index."""
        tokens = self.tokens
        size = len(tokens)
        if size == 1:
            raise _error("missing procedure name")
        first = tokens[1]
        if first.token_type == TokenType.PARAMETER:
            raise _error("a return-status variable (EXEC @var = proc) is not supported")
        if not self._is_name(1):
            raise _error(f"expected a procedure name after EXEC, got {first.text!r}")
        if size > 2 and tokens[2].token_type == TokenType.EQ:
            # ``EXEC a = 1`` or ``EXEC P = 1``: one of the two names is missing.
            raise _error(
                "missing procedure name or parameter name: "
                f"{self.source(1, size - 1)!r} is not [schema.]procedure "
                "followed by name = value"
            )
        parts = [1]
        index = 2
        while index < size and tokens[index].token_type == TokenType.DOT:
            if index + 1 >= size or not self._is_name(index + 1):
                raise _error(f"incomplete procedure name {self.source(1, index)!r}")
            parts.append(index + 1)
            index += 2
        if len(parts) > 2:
            raise _error(
                f"procedure name {self.source(1, index - 1)!r} has too many "
                "parts; write [schema.]procedure"
            )
        for part in parts:
            if not tokens[part].text:
                raise _error("empty procedure name")
            self._as_identifier(part)
        return index

    def _split(self, start: int) -> list[tuple[int, int]]:
        """Split tokens ``start..`` at top-level commas: ``(first, last)`` spans."""
        spans: list[tuple[int, int]] = []
        depth = 0
        first = start
        for index in range(start, len(self.tokens)):
            token_type = self.tokens[index].token_type
            if token_type in _NESTING_OPEN:
                depth += 1
            elif token_type in _NESTING_CLOSE:
                depth = max(depth - 1, 0)
            elif token_type == TokenType.COMMA and depth == 0:
                spans.append((first, index - 1))
                first = index + 1
        spans.append((first, len(self.tokens) - 1))
        return spans

    def _read_arguments(self, start: int) -> None:
        tokens = self.tokens
        if start >= len(tokens):
            return
        spans = self._split(start)
        for number, (first, last) in enumerate(spans):
            if first > last:
                if number == 0:
                    raise _error("missing argument before ','")
                raise _error(f"missing argument after ',' (argument {number + 1})")
            self.segments.append(self._read_argument(first, last))

    def _read_argument(self, first: int, last: int) -> _Segment:
        tokens = self.tokens
        index = first
        at_sign: Token | None = None
        if tokens[index].token_type == TokenType.PARAMETER:
            at_sign = tokens[index]
            index += 1
            if index > last or not _adjacent(at_sign, tokens[index]):
                raise _error(
                    f"'@' must be followed directly by a parameter name "
                    f"(in {self.source(first, last)!r})"
                )
        token = tokens[index]
        if token.token_type == TokenType.EQ:
            raise _error(f"missing parameter name before '=' in {self.source(first, last)!r}")
        if not self._is_name(index):
            raise _error(
                f"expected a parameter name, got {self.source(index, index)!r} "
                f"in {self.source(first, last)!r} (arguments are written "
                "name = value)"
            )
        name = token.text
        if not name:
            raise _error(f"empty parameter name in {self.source(first, last)!r}")
        if at_sign is not None:
            # Drop the '@' so that every name parses the same way.
            self.dropped.add(index - 1)
        self._as_identifier(index)
        if index == last:
            raise _error(f"missing '=' after parameter {name!r}")
        if tokens[index + 1].token_type != TokenType.EQ:
            raise _error(
                f"expected '=' after parameter {name!r}, got {self.source(index + 1, index + 1)!r}"
            )
        value_first = index + 2
        if value_first > last:
            raise _error(f"missing value for parameter {name!r}")
        self._prepare_placeholder(name, value_first, last)
        return _Segment(name, index, value_first, last)

    def _prepare_placeholder(self, name: str, first: int, last: int) -> None:
        """Make the word of a leading ``:word`` / ``@word`` a plain variable."""
        tokens = self.tokens
        if tokens[first].token_type not in _PLACEHOLDER_PREFIXES:
            return
        if (
            first == last
            or not _adjacent(tokens[first], tokens[first + 1])
            or tokens[first + 1].token_type == TokenType.IDENTIFIER
            or not self._is_name(first + 1)
        ):
            raise _error(
                f"invalid placeholder {self.source(first, last)!r} for parameter "
                f"{name!r}; write :name or @name"
            )
        tokens[first + 1] = _retyped(tokens[first + 1], TokenType.VAR)

    def check_width(self, segment: _Segment) -> None:
        """Reject tokens left over after an accepted value.

        The parser is lenient (it drops a dangling ``AS``, reads a trailing
        word as an alias), so the span of an accepted value is checked
        against the number of tokens such a value is made of.
        """
        tokens = self.tokens
        first, last = segment.first, segment.last
        index = first
        if tokens[index].token_type in _SIGNS:
            index += 1
            if not self._starts_number(index, last):
                raise _error(
                    f"the value of parameter {segment.name!r} is an expression "
                    f"({self.source(first, last)!r}); only a literal, ?, :name "
                    "or @name is allowed"
                )
        if self._starts_number(index, last) and tokens[index].token_type == TokenType.DOT:
            index += 1  # ``.25`` is tokenized as '.' and '25'
        elif tokens[index].token_type in _PLACEHOLDER_PREFIXES:
            index += 1
        width = index - first + 1
        if last - first + 1 > width:
            raise _error(
                f"unexpected text {self.source(first + width, last)!r} after the "
                f"value of parameter {segment.name!r}"
            )

    def _starts_number(self, index: int, last: int) -> bool:
        """Whether a number (``25`` or ``.25``) starts at token ``index``."""
        tokens = self.tokens
        if index > last:
            return False
        if tokens[index].token_type == TokenType.NUMBER:
            return True
        return (
            tokens[index].token_type == TokenType.DOT
            and index < last
            and tokens[index + 1].token_type == TokenType.NUMBER
            and _adjacent(tokens[index], tokens[index + 1])
        )

    def parse_tokens(self) -> list[Token]:
        """The tokens to hand to the parser."""
        return [tok for i, tok in enumerate(self.tokens) if i not in self.dropped]

    def find_segment(self, line: int, col: int) -> _Segment | None:
        """The argument containing the token at ``line``/``col``, if any."""
        for index, token in enumerate(self.tokens):
            if token.line == line and token.col == col:
                for segment in self.segments:
                    if segment.name_index <= index <= segment.last:
                        return segment
                return None
        return None


def _parse_tree(prepared: _Prepared) -> exp.Execute:
    try:
        statements = _DIALECT.parser().parse(prepared.parse_tokens(), prepared.sql)
    except ParseError as exc:
        details = exc.errors[0] if exc.errors else {}
        line, col = details.get("line"), details.get("col")
        segment = None
        if isinstance(line, int) and isinstance(col, int):
            segment = prepared.find_segment(line, col)
        if segment is not None:
            value = prepared.source(segment.first, segment.last)
            raise _error(
                f"invalid value for parameter {segment.name!r}: {value!r}; "
                "expected a literal, ?, :name or @name"
            ) from exc
        raise _error(f"cannot parse the statement: {exc}") from exc
    except Exception as exc:  # sqlglot can fail with ValueError, IndexError...
        raise _error(f"cannot parse the statement: {exc}") from exc
    trees = [tree for tree in statements if tree is not None]
    if len(trees) != 1 or not isinstance(trees[0], exp.Execute):
        raise _error("cannot parse the statement as a single procedure call")
    return trees[0]


def _procedure(tree: exp.Execute) -> tuple[str, str | None]:
    table = tree.this
    if tree.args.get("return_status") is not None:
        raise _error("a return-status variable (EXEC @var = proc) is not supported")
    if not isinstance(table, exp.Table) or not isinstance(table.this, exp.Identifier):
        raise _error("cannot read the procedure name")
    extra = [key for key, value in table.args.items() if key not in ("this", "db") and value]
    if extra:
        raise _error("cannot read the procedure name")
    schema = table.args.get("db")
    return table.this.this, schema.this if isinstance(schema, exp.Identifier) else None


_MAX_DIGITS = 309  # no number SQLite can hold (64-bit integer or double) has more digits


def _number(text: str) -> int | float:
    digits = len(text.partition(".")[0].partition("e")[0].partition("E")[0])
    if digits > _MAX_DIGITS:
        raise DataError(
            f"the number {text[:12]}… ({digits} digits) is out of range: SQLite's integers go "
            f"up to {2**63 - 1} and its reals to about 1.8e308"
        )
    if text.isdigit():
        return int(text)
    try:
        value = float(text)
    except ValueError:
        raise _error(f"invalid number {text!r}") from None
    if not math.isfinite(value):
        raise _error(f"number {text!r} is out of range")
    return value


def _describe(node: exp.Expr) -> str:
    if isinstance(node, (exp.HexString, exp.BitString, exp.ByteString)):
        return "a binary or bit string, which is not supported"
    if isinstance(node, exp.Column):
        return "a column reference or bare word"
    if isinstance(node, exp.Concat):
        return "an expression"
    if isinstance(node, exp.Func):
        return "a function call"
    if isinstance(node, (exp.Binary, exp.Unary, exp.Paren, exp.Concat, exp.Condition)):
        return "an expression"
    return "an unsupported kind of value"


def _value(node: exp.Expr, name: str, text: str, counter: list[int]) -> object:
    """Convert one value node; ``counter`` numbers the ``?`` markers."""
    if isinstance(node, exp.Literal):
        return node.this if node.is_string else _number(node.this)
    if isinstance(node, exp.National):
        return node.this
    if isinstance(node, exp.Boolean):
        return bool(node.this)
    if isinstance(node, exp.Null):
        return None
    if isinstance(node, exp.Neg):
        inner = node.this
        if isinstance(inner, exp.Literal) and not inner.is_string:
            return -_number(inner.this)
    if isinstance(node, exp.Placeholder):
        marker = node.this
        if marker is None:
            counter[0] += 1
            return Positional(counter[0] - 1)
        if isinstance(marker, str) and _is_word(marker):
            return Named(marker)
    if isinstance(node, exp.Parameter):
        inner = node.this
        if isinstance(inner, exp.Var) and _is_word(inner.this):
            return Named(inner.this)
    raise _error(
        f"the value of parameter {name!r} is {_describe(node)} ({text!r}); "
        "only a literal, ?, :name or @name is allowed"
    )


def parse_exec(sql: str) -> ExecCall:
    """Parse one ``EXEC``/``EXECUTE`` statement into an :class:`ExecCall`.

    Raises :class:`ProgrammingError` for anything outside the grammar.
    """
    prepared = _Prepared(sql)
    tree = _parse_tree(prepared)
    procedure, schema = _procedure(tree)
    expressions = tree.expressions
    if len(expressions) != len(prepared.segments):
        raise _error("cannot parse the argument list")
    arguments: list[Argument] = []
    seen: dict[str, str] = {}
    counter = [0]
    for segment, written in zip(prepared.segments, expressions, strict=True):
        text = prepared.source(segment.first, segment.last)
        # ``name = value junk``: sqlglot reads ``junk`` as an alias; the width
        # check below reports it once the value itself has been checked.
        node = written.this if isinstance(written, exp.Alias) else written
        left = node.this if isinstance(node, exp.EQ) else None
        if not (
            isinstance(left, exp.Column)
            and isinstance(left.this, exp.Identifier)
            and not left.table
        ):
            # The name and '=' were checked on the tokens, so the value made
            # the parser build something else (``a = 1 = 1``).
            raise _error(
                f"the value of parameter {segment.name!r} is an expression "
                f"({text!r}); only a literal, ?, :name or @name is allowed"
            )
        name = left.this.this
        folded = name.casefold()
        if folded in seen:
            earlier = seen[folded]
            also = "" if earlier == name else f" (also as {earlier!r})"
            raise _error(f"parameter {name!r} is given twice{also}")
        seen[folded] = name
        value = _value(node.expression, name, text, counter)
        prepared.check_width(segment)
        arguments.append(Argument(name, value))
    return ExecCall(procedure, schema, tuple(arguments))


# --------------------------------------------------------------------------
# bind
# --------------------------------------------------------------------------


def _lookup(params: Mapping[str, object], name: str) -> object:
    if name in params:
        return params[name]
    folded = name.casefold()
    matches = [key for key in params if isinstance(key, str) and key.casefold() == folded]
    if not matches:
        raise _error(f"no value given for placeholder {name!r}")
    if len(matches) > 1:
        raise _error(
            f"placeholder {name!r} matches several parameters: "
            + ", ".join(repr(key) for key in matches)
        )
    return params[matches[0]]


def bind(
    call: ExecCall,
    params: Sequence[object] | Mapping[str, object] | None,
) -> dict[str, object]:
    """Return ``{argument name as written: concrete value}`` for ``call``.

    ``?`` markers take ``params`` as a sequence, in order; ``:name``/``@name``
    markers take it as a mapping keyed by the name without prefix (exact match
    first, then case-insensitive).  Unused mapping keys are ignored.  Raises
    :class:`ProgrammingError` on wrong counts, missing names, a wrong kind of
    ``params`` or a statement that mixes ``?`` with named markers.
    """
    positional = sum(isinstance(arg.value, Positional) for arg in call.arguments)
    named = any(isinstance(arg.value, Named) for arg in call.arguments)
    if params is None:
        params = ()
    if isinstance(params, (str, bytes, bytearray)) or not isinstance(params, (Sequence, Mapping)):
        raise _error(f"parameters must be a sequence or a mapping, not {type(params).__name__}")
    if positional and named:
        raise _error(
            "the statement mixes positional (?) and named (:name/@name) placeholders; use one style"
        )
    result: dict[str, object] = {}
    if named:
        if not isinstance(params, Mapping):
            raise _error(
                "the statement uses named placeholders; parameters must be a "
                f"mapping, not {type(params).__name__}"
            )
        for arg in call.arguments:
            value = arg.value
            result[arg.name] = _lookup(params, value.name) if isinstance(value, Named) else value
        return result
    if isinstance(params, Mapping):
        if positional:
            raise _error(
                "the statement uses ? placeholders; parameters must be a "
                f"sequence, not {type(params).__name__}"
            )
        if params:
            raise _error(
                f"the statement has no placeholders but {len(params)} parameter(s) were given"
            )
        return {arg.name: arg.value for arg in call.arguments}
    if len(params) != positional:
        if not positional:
            raise _error(
                f"the statement has no placeholders but {len(params)} parameter(s) were given"
            )
        few_or_many = "few" if len(params) < positional else "many"
        raise _error(
            f"too {few_or_many} parameters: the statement has {positional} ? "
            f"placeholder(s) but {len(params)} value(s) were given"
        )
    for arg in call.arguments:
        value = arg.value
        result[arg.name] = params[value.index] if isinstance(value, Positional) else value
    return result
