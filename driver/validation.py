"""Check and coerce procedure inputs (and column values) before anything is sent.

Every rule comes from the ``schema/`` objects: an input's ``type``, ``values``,
``min``/``max``, ``list``, ``format`` and ``requires``.  No input is named here.

Two entry points:

* :func:`validate_inputs` resolves the names a user wrote (any case, optional
  ``@``) to a procedure's declared inputs and returns coerced values keyed by
  the declared names, or raises ``ProgrammingError`` (unknown, duplicate or
  missing inputs) or ``DataError`` (a bad value).
* :func:`coerce_value` checks one value against an :class:`Input`, a
  :class:`Column` or a :class:`Rule`; table INSERT/UPDATE reuse it for columns.

>>> rule = Rule("WaitTime", "INTEGER", min=5, max=600)
>>> coerce_value(rule, "30")
30
>>> describe_allowed(rule)
'an integer from 5 to 600'
"""

from __future__ import annotations

import base64
import binascii
import difflib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import NoReturn
from urllib.parse import urlsplit

from driver.errors import DataError, InternalError, ProgrammingError
from driver.schema import Column, Input, Procedure

__all__ = [
    "Rule",
    "coerce_value",
    "describe_allowed",
    "describe_format",
    "validate_inputs",
]

_SHOW_LIMIT = 60
_INTEGER_TEXT = re.compile(r"\s*[+-]?[0-9]+\s*")
_REAL_TEXT = re.compile(r"\s*[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?\s*")
_LIST_SEPARATORS = re.compile(r"[\s,]+")
_BOOLEAN_WORDS = {"true": True, "false": False, "1": True, "0": False}


@dataclass(frozen=True)
class Rule:
    """What one value must satisfy: the checkable part of an Input or a Column."""

    name: str
    type: str
    values: tuple[str, ...] = ()
    min: int | None = None
    max: int | None = None
    list: bool = False
    format: str | None = None

    @classmethod
    def of(cls, spec: Input | Column | Rule) -> Rule:
        """The rule of an input or a column (columns carry only a type and values)."""
        if isinstance(spec, Rule):
            return spec
        return cls(
            name=spec.name,
            type=spec.type,
            values=tuple(spec.values),
            min=getattr(spec, "min", None),
            max=getattr(spec, "max", None),
            list=bool(getattr(spec, "list", False)),
            format=getattr(spec, "format", None),
        )


# ---------------------------------------------------------------------------
# formats


Format = tuple[Callable[[str], bool], str]  # (check, description in words)
Formats = Mapping[str, Format]

# What a format means when no provider is at hand (the README, a DML pre-check): the
# provider's class checks it for real when a call is validated.
_GENERIC: dict[str, str] = {
    "endpoint": "an address to dial (its form depends on the provider)",
    "caller": "a caller id (its form depends on the provider)",
    "call": "a call identifier of the provider",
    "trunk": "a trunk identifier of the provider",
}


def _is_url(text: str) -> bool:
    # An explicit empty URL switches the feature off (e.g. no wait music).
    if text == "":
        return True
    if any(ch.isspace() for ch in text):
        return False
    parts = urlsplit(text)
    return parts.scheme.lower() in ("http", "https") and bool(parts.hostname)


def _is_base64(text: str) -> bool:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return False
    return text != ""


def _format(fmt: str, formats: Formats | None = None) -> Format:
    """The check and the human description of a declared ``format``."""
    if fmt == "url":
        return _is_url, "an http:// or https:// URL ('' for none)"
    if fmt == "base64":
        return _is_base64, "Base64 text (e.g. eyJvcmRlciI6IDQyfQ==)"
    if formats is not None and fmt in formats:
        return formats[fmt]
    if fmt in _GENERIC:
        return (lambda text: True), _GENERIC[fmt]
    raise InternalError(f"schema declares unknown format {fmt!r}")


def describe_format(fmt: str, formats: Formats | None = None) -> str:
    """Human description of a declared ``format`` (raises InternalError if unknown)."""
    return _format(fmt, formats)[1]


# ---------------------------------------------------------------------------
# descriptions


def describe_allowed(spec: Input | Column | Rule, formats: Formats | None = None) -> str:
    """What ``spec`` accepts, in words: values, range, format or plain type.

    >>> describe_allowed(Rule("Events", "TEXT", values=("start", "end"), list=True))
    'one or more of start, end (separated by spaces or commas)'
    >>> describe_allowed(Rule("Muted", "BOOLEAN"))
    'true or false (1 or 0)'
    """
    rule = Rule.of(spec)
    if rule.values:
        choices = ", ".join(rule.values)
        if rule.list:
            return f"one or more of {choices} (separated by spaces or commas)"
        return f"one of {choices}"
    if rule.format:
        text = describe_format(rule.format, formats)
        return f"one or more of {text}, separated by spaces or commas" if rule.list else text
    if rule.type == "BOOLEAN":
        return "true or false (1 or 0)"
    if rule.type in ("INTEGER", "REAL"):
        noun = "an integer" if rule.type == "INTEGER" else "a number"
        if rule.min is not None and rule.max is not None:
            return f"{noun} from {rule.min} to {rule.max}"
        if rule.min is not None:
            return f"{noun} of at least {rule.min}"
        if rule.max is not None:
            return f"{noun} of at most {rule.max}"
        return noun
    if rule.type == "DATETIME":
        return "a date and time, 'YYYY-MM-DD HH:MM:SS' (UTC)"
    if rule.list:
        return "one or more words, separated by spaces or commas"
    return "any text"


def _show(value: object) -> str:
    text = repr(value)
    return text if len(text) <= _SHOW_LIMIT else text[: _SHOW_LIMIT - 3] + "..."


# ---------------------------------------------------------------------------
# coercion


def coerce_value(
    spec: Input | Column | Rule,
    value: object,
    *,
    owner: str = "",
    kind: str = "input",
    formats: Formats | None = None,
) -> object:
    """Check ``value`` against ``spec`` and return it in its canonical Python form.

    TEXT -> ``str``, INTEGER -> ``int``, REAL -> ``float``, BOOLEAN -> ``bool``,
    DATETIME -> ``str`` ('YYYY-MM-DD HH:MM:SS'), list inputs -> ``list[str]``.
    Closed sets match case-insensitively and come back spelled as declared.
    ``None`` is returned unchanged (whether NULL is allowed is the caller's call).
    ``owner`` and ``kind`` only word the error: "AddParticipants input 'WaitTime'",
    "Participants column 'Muted'".  Raises :class:`DataError`.
    """
    if value is None:
        return None
    rule = Rule.of(spec)
    subject = f"{owner} {kind} {rule.name!r}" if owner else f"{kind} {rule.name!r}"

    def fail(problem: str) -> NoReturn:
        allowed = describe_allowed(rule, formats)
        raise DataError(f"{subject}: {_show(value)} {problem}; allowed: {allowed}")

    if rule.list:
        return _coerce_list(rule, value, fail, formats)
    return _coerce_scalar(rule, value, fail, formats)


def _coerce_list(
    rule: Rule, value: object, fail: Callable[[str], NoReturn], formats: Formats | None
) -> list[str]:
    if isinstance(value, str):
        words = [w for w in _LIST_SEPARATORS.split(value) if w]
    elif isinstance(value, (list, tuple)):
        words = []
        for item in value:
            if not isinstance(item, str):
                fail("is not a list of text values")
            words.extend(w for w in _LIST_SEPARATORS.split(item) if w)
    else:
        fail("is not text")
    item_rule = Rule(rule.name, "TEXT", values=rule.values, format=rule.format)
    result: list[str] = []
    for word in words:

        def fail_item(problem: str, word: str = word) -> NoReturn:
            fail(f"contains {_show(word)}, which {problem}")

        checked = str(_coerce_scalar(item_rule, word, fail_item, formats))
        if checked not in result:
            result.append(checked)
    return result


def _coerce_scalar(
    rule: Rule, value: object, fail: Callable[[str], NoReturn], formats: Formats | None
) -> object:
    if rule.type == "BOOLEAN":
        return _to_bool(value, fail)
    if rule.type == "INTEGER":
        number = _to_int(value, fail)
        _check_range(rule, number, fail)
        return number
    if rule.type == "REAL":
        real = _to_float(value, fail)
        _check_range(rule, real, fail)
        return real
    if rule.type == "DATETIME":
        return _to_datetime_text(value, fail)
    text = _to_text(value, fail)
    if rule.values:
        return _pick(rule.values, text, fail)
    if rule.format:
        check, _ = _format(rule.format, formats)
        stripped = text.strip()
        if not check(stripped):
            fail(f"is not a valid {rule.format.split(':')[0]}")
        return stripped
    return text


MAX_TEXT = 4096  # longest text input accepted (providers' limits are far lower)


def _to_text(value: object, fail: Callable[[str], NoReturn]) -> str:
    if isinstance(value, str):
        if len(value) > MAX_TEXT:
            fail(f"is {len(value):,} characters long; at most {MAX_TEXT:,} are accepted")
        return value
    if isinstance(value, bool):  # SQL TRUE/FALSE: the providers' spelling
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    fail("is not text")


def _to_int(value: object, fail: Callable[[str], NoReturn]) -> int:
    if isinstance(value, bool):
        fail("is a boolean, not an integer")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and len(value) <= 40 and _INTEGER_TEXT.fullmatch(value):
        return int(value)
    fail("is not an integer")


def _to_float(value: object, fail: Callable[[str], NoReturn]) -> float:
    if isinstance(value, bool):
        fail("is a boolean, not a number")
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and _REAL_TEXT.fullmatch(value):
        return float(value)
    fail("is not a number")


def _to_bool(value: object, fail: Callable[[str], NoReturn]) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        word = _BOOLEAN_WORDS.get(value.strip().lower())
        if word is not None:
            return word
    fail("is not a boolean")


def _to_datetime_text(value: object, fail: Callable[[str], NoReturn]) -> str:
    if isinstance(value, datetime):
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value.isoformat(sep=" ", timespec="seconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return value
    fail("is not a date and time")


def _check_range(rule: Rule, number: float, fail: Callable[[str], NoReturn]) -> None:
    if (rule.min is not None and number < rule.min) or (rule.max is not None and number > rule.max):
        fail("is out of range")


def _pick(values: tuple[str, ...], text: str, fail: Callable[[str], NoReturn]) -> str:
    wanted = text.strip().lower()
    for declared in values:
        if declared.lower() == wanted:
            return declared
    fail("is not an allowed value")


# ---------------------------------------------------------------------------
# procedures


def validate_inputs(
    proc: Procedure, args: Mapping[str, object], formats: Formats | None = None
) -> dict[str, object]:
    """Resolve, check and coerce the arguments of one call of ``proc``.

    ``args`` maps names as written (any case, optional leading ``@``) to values.
    Returns the given inputs in declaration order, keyed by their declared names;
    NULL (``None``) or an empty list means "not given" and is left out.

    Raises ``ProgrammingError`` for unknown, duplicated or missing required inputs
    and ``DataError`` for a value of the wrong type, outside its set, range or
    format, or an input given without the input it requires.
    """
    given: dict[str, tuple[str, object]] = {}
    unknown: list[str] = []
    for written, value in args.items():
        inp = proc.input(written)
        if inp is None:
            unknown.append(written)
        elif inp.name in given:
            first = given[inp.name][0]
            raise ProgrammingError(
                f"{proc.name} input {inp.name!r} is given twice ({first!r} and {written!r})"
            )
        else:
            given[inp.name] = (written, value)
    if unknown:
        raise ProgrammingError(_unknown_message(proc, unknown))

    _check_missing(proc, {name for name, (_, value) in given.items() if value is not None})

    result: dict[str, object] = {}
    for inp in proc.inputs:
        if inp.name not in given:
            continue
        value = coerce_value(inp, given[inp.name][1], owner=proc.name, formats=formats)
        if value is None or value == []:
            continue
        result[inp.name] = value

    _check_missing(proc, set(result))
    _check_requires(proc, result, formats)
    return result


def _inputs_query(proc: Procedure) -> str:
    return (
        "SELECT ParameterName, DataType, IsRequired, AllowedValues FROM sys_procedureparameters "
        f"WHERE ProcedureName = '{proc.name}' AND Direction = 'IN'"
    )


def _unknown_message(proc: Procedure, unknown: list[str]) -> str:
    """``AddParticipants: unknown inputs: 'Too' (did you mean 'To'?), 'Zzz'; ...``."""
    by_lower = {i.name.lower(): i.name for i in proc.inputs}
    parts = []
    for written in unknown:
        bare = written.lstrip("@")
        close = difflib.get_close_matches(bare.lower(), list(by_lower), n=1)
        hint = f" (did you mean {by_lower[close[0]]!r}?)" if close else ""
        parts.append(f"{bare!r}{hint}")
    noun = "input" if len(parts) == 1 else "inputs"
    return (
        f"{proc.name}: unknown {noun}: {', '.join(parts)}; "
        f"to list its inputs: {_inputs_query(proc)}"
    )


def _check_missing(proc: Procedure, present: set[str]) -> None:
    missing = [i.name for i in proc.inputs if i.required and i.name not in present]
    if missing:
        noun = "input" if len(missing) == 1 else "inputs"
        raise ProgrammingError(
            f"{proc.name} is missing required {noun} {', '.join(missing)} "
            f"(NULL counts as missing; to list its inputs: {_inputs_query(proc)})"
        )


def _check_requires(
    proc: Procedure, values: Mapping[str, object], formats: Formats | None = None
) -> None:
    """An input declaring ``requires = "Other"`` needs Other when it is on.

    "On" means true for a BOOLEAN input and given at all for any other type.
    """
    for inp in proc.inputs:
        needed = getattr(inp, "requires", None)
        if not needed or inp.name not in values:
            continue
        if inp.type == "BOOLEAN" and values[inp.name] is not True:
            continue
        other = proc.input(needed)
        if other is None:
            raise InternalError(f"{proc.name} input {inp.name} requires unknown input {needed!r}")
        shown = "true" if inp.type == "BOOLEAN" else _show(values[inp.name])
        if other.name not in values:
            raise DataError(
                f"{proc.name} input {inp.name!r} is {shown}, which requires {other.name} "
                f"as well; allowed for {other.name}: {describe_allowed(other, formats)}"
            )
        if other.type == "BOOLEAN" and values[other.name] is not True:
            raise DataError(
                f"{proc.name} input {inp.name!r} is {shown}, which takes effect only with "
                f"{other.name} = 1"
            )
    for inp in proc.inputs:
        excluded = getattr(inp, "excludes", None)
        if excluded and inp.name in values and excluded in values:
            raise DataError(
                f"{proc.name}: {inp.name} and {excluded} cannot be given together; give one"
            )
