"""Tests for driver.exec_parser (EXEC / EXECUTE parsing and binding)."""

from __future__ import annotations

import dataclasses

import pytest
from sqlglot.dialects.tsql import TSQL

from driver.errors import DatabaseError, ProgrammingError
from driver.exec_parser import (
    Argument,
    ExecCall,
    Named,
    Positional,
    bind,
    is_exec,
    parse_exec,
)

SEED = (
    "EXEC AddParticipants ConferenceSid = 'MyConference', "
    "From = '+18149044818', To = '919602968074'"
)


def args(sql: str) -> list[tuple[str, object]]:
    """The (name, value) pairs of a parsed statement."""
    return [(arg.name, arg.value) for arg in parse_exec(sql).arguments]


def rejected(sql: str) -> str:
    """Parse ``sql``, expecting a ProgrammingError; return its message."""
    with pytest.raises(ProgrammingError) as info:
        parse_exec(sql)
    return str(info.value)


# ---------------------------------------------------------------------------
# Names to sweep: every single-word keyword of sqlglot's T-SQL tokenizer plus
# common function names of SQL Server and other dialects.
# ---------------------------------------------------------------------------


def _is_plain_word(text: str) -> bool:
    return text.replace("_", "").isalnum() and (text[0].isalpha() or text[0] == "_")


TSQL_KEYWORDS = sorted({key for key in TSQL.Tokenizer.KEYWORDS if _is_plain_word(key)})

COMMON_FUNCTIONS = [
    "abs",
    "acos",
    "ascii",
    "asin",
    "atan",
    "atn2",
    "avg",
    "cast",
    "ceiling",
    "char",
    "charindex",
    "checksum",
    "choose",
    "coalesce",
    "concat",
    "concat_ws",
    "convert",
    "cos",
    "cot",
    "count",
    "count_big",
    "current_timestamp",
    "current_user",
    "datalength",
    "date",
    "dateadd",
    "datediff",
    "datefromparts",
    "datename",
    "datepart",
    "datetime2fromparts",
    "day",
    "degrees",
    "difference",
    "eomonth",
    "exp",
    "first_value",
    "floor",
    "format",
    "getdate",
    "getutcdate",
    "grouping",
    "hashbytes",
    "iif",
    "isdate",
    "isjson",
    "isnull",
    "isnumeric",
    "json_modify",
    "json_query",
    "json_value",
    "lag",
    "last_value",
    "lead",
    "left",
    "len",
    "length",
    "log",
    "log10",
    "lower",
    "ltrim",
    "max",
    "min",
    "month",
    "newid",
    "now",
    "nullif",
    "object_id",
    "parsename",
    "patindex",
    "pi",
    "power",
    "quotename",
    "radians",
    "rand",
    "rank",
    "replace",
    "replicate",
    "reverse",
    "right",
    "round",
    "row_number",
    "rtrim",
    "sign",
    "sin",
    "soundex",
    "space",
    "sqrt",
    "square",
    "stdev",
    "str",
    "string_agg",
    "string_split",
    "stuff",
    "substring",
    "sum",
    "switchoffset",
    "sysdatetime",
    "tan",
    "timefromparts",
    "todatetimeoffset",
    "translate",
    "trim",
    "try_cast",
    "try_convert",
    "unicode",
    "upper",
    "user_name",
    "var",
    "year",
    "status",
    "name",
    "type",
    "value",
    "key",
    "data",
    "text",
    "time",
    "timestamp",
    "level",
    "action",
    "position",
    "result",
    "message",
    "error",
    "code",
    "source",
    "target",
    "sid",
    "to",
    "from",
]

# Reserved words that the tokenizer only knows as part of a longer keyword
# (``ORDER BY``, ``GROUP BY``) or not at all.
OTHER_RESERVED_WORDS = [
    "order",
    "group",
    "by",
    "having",
    "over",
    "partition",
    "fetch",
    "next",
    "rows",
    "only",
    "offset",
    "percent",
    "top",
    "identity",
    "proc",
    "procedure",
    "declare",
    "return",
    "output",
    "out",
    "readonly",
    "nocount",
    "print",
    "raiserror",
    "throw",
    "cursor",
    "open",
    "close",
    "deallocate",
    "break",
    "continue",
    "while",
    "if",
    "else",
    "goto",
    "waitfor",
    "tran",
    "transaction",
    "save",
    "rollback",
    "commit",
    "merge",
    "matched",
    "primary",
    "foreign",
    "key",
    "references",
    "check",
    "unique",
    "clustered",
    "nonclustered",
    "index",
    "deny",
    "grant",
    "revoke",
    "user",
    "login",
    "role",
    "holdlock",
    "nolock",
    "tablock",
    "rowlock",
]

NAMES = sorted(
    {name.upper() for name in TSQL_KEYWORDS}
    | {name.upper() for name in COMMON_FUNCTIONS}
    | {name.upper() for name in OTHER_RESERVED_WORDS}
)

NAMED_IN_BRIEF = [
    "From",
    "To",
    "Order",
    "Select",
    "Where",
    "Any",
    "Case",
    "Left",
    "Replace",
    "Status",
]


def test_sweep_is_large_enough() -> None:
    assert len(NAMES) >= 300
    for name in ("FROM", "SELECT", "WHERE", "ORDER", "CASE", "ANY", "EXEC", "NULL"):
        assert name in NAMES


def _spellings(name: str) -> list[str]:
    return sorted({name, name.lower(), name.title()})


# ---------------------------------------------------------------------------
# Basic shapes
# ---------------------------------------------------------------------------


def test_seed_example_verbatim() -> None:
    call = parse_exec(SEED)
    assert call == ExecCall(
        procedure="AddParticipants",
        schema=None,
        arguments=(
            Argument("ConferenceSid", "MyConference"),
            Argument("From", "+18149044818"),
            Argument("To", "919602968074"),
        ),
    )


def test_seed_example_with_execute_and_at_names() -> None:
    sql = (
        "EXECUTE AddParticipants @ConferenceSid = 'MyConference', "
        "@From = '+18149044818', @To = '919602968074';"
    )
    assert parse_exec(sql) == parse_exec(SEED)


@pytest.mark.parametrize("keyword", ["EXEC", "EXECUTE", "exec", "execute", "Exec", "eXeCuTe"])
def test_exec_keyword_spellings(keyword: str) -> None:
    call = parse_exec(f"{keyword} P a = 1")
    assert call.procedure == "P"
    assert call.arguments == (Argument("a", 1),)


@pytest.mark.parametrize(
    "sql",
    ["EXEC P", "EXEC P;", "EXEC P ;", "  EXEC   P  ", "EXEC P -- note", "EXEC\nP\n"],
)
def test_no_arguments(sql: str) -> None:
    assert parse_exec(sql) == ExecCall("P", None, ())


def test_schema_qualified() -> None:
    call = parse_exec("EXEC dbo.P a=1")
    assert (call.schema, call.procedure) == ("dbo", "P")
    call = parse_exec("EXEC [my schema].[my proc]")
    assert (call.schema, call.procedure) == ("my schema", "my proc")
    call = parse_exec('EXECUTE "Sales" . "Order" @From = 1')
    assert (call.schema, call.procedure) == ("Sales", "Order")
    assert call.arguments == (Argument("From", 1),)


def test_procedure_name_kept_as_written() -> None:
    assert parse_exec("exec addParticipants").procedure == "addParticipants"
    assert parse_exec("EXEC [Add Participants]").procedure == "Add Participants"
    assert parse_exec('EXEC "p""q"').procedure == 'p"q'


@pytest.mark.parametrize("name", ["Select", "From", "Order", "Exec", "Table", "Null", "Case"])
def test_keyword_procedure_names(name: str) -> None:
    call = parse_exec(f"EXEC {name} a=1, {name}=2")
    assert call.procedure == name
    assert call.arguments == (Argument("a", 1), Argument(name, 2))
    assert parse_exec(f"EXEC {name}.{name}") == ExecCall(name, name, ())


def test_at_names_and_mixed_prefixes() -> None:
    assert args("EXEC P @a=1, b=2, @C=3") == [("a", 1), ("b", 2), ("C", 3)]


def test_bracket_and_double_quote_names() -> None:
    assert args("EXEC P [From]='+1', \"To\"='2', [My Param]=3, [a]]b]=4") == [
        ("From", "+1"),
        ("To", "2"),
        ("My Param", 3),
        ("a]b", 4),
    ]
    assert args('EXEC P @[x]=1, "a""b"=2') == [("x", 1), ('a"b', 2)]


def test_argument_order_is_kept() -> None:
    names = [f"p{i}" for i in range(30, 0, -1)]
    sql = "EXEC P " + ", ".join(f"{name}={i}" for i, name in enumerate(names))
    assert [arg.name for arg in parse_exec(sql).arguments] == names


def test_whitespace_and_newlines() -> None:
    sql = "EXEC\n\tP\n\t\ta\t=\t1 ,\n b =\n'x'\n;\n"
    assert args(sql) == [("a", 1), ("b", "x")]


def test_comments_everywhere() -> None:
    sql = (
        "-- leading\n/* block */ EXEC /* a */ P /* b */ a /* c */ = /* d */ 1 "
        "/* e */ , -- f\n b = 'x' -- trailing\n; -- after\n/* end */"
    )
    assert args(sql) == [("a", 1), ("b", "x")]
    assert args("EXEC P a=1 /* nested /* comment */ still */") == [("a", 1)]


def test_comment_markers_inside_strings_are_text() -> None:
    assert args("EXEC P a='--x', b='/* y */', c=';'") == [
        ("a", "--x"),
        ("b", "/* y */"),
        ("c", ";"),
    ]


# ---------------------------------------------------------------------------
# Values
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("'abc'", "abc"),
        ("''", ""),
        ("'O''Brien'", "O'Brien"),
        ("''''", "'"),
        ("'a,b=c'", "a,b=c"),
        ("'line1\nline2'", "line1\nline2"),
        ("'héllo ☃'", "héllo ☃"),
        ("N'wide'", "wide"),
        ("'+18149044818'", "+18149044818"),
        ("0", 0),
        ("42", 42),
        ("007", 7),
        ("12345678901234567890", 12345678901234567890),
        ("9" * 60, int("9" * 60)),
        ("-3", -3),
        ("- 3", -3),
        ("+5", 5),
        ("1.5", 1.5),
        ("-1.5", -1.5),
        (".25", 0.25),
        ("-.5", -0.5),
        ("2.", 2.0),
        ("1e3", 1000.0),
        ("1.5E-3", 0.0015),
        ("TRUE", True),
        ("true", True),
        ("FALSE", False),
        ("False", False),
        ("NULL", None),
        ("null", None),
        ("?", Positional(0)),
        (":sid", Named("sid")),
        (":Sid_2", Named("Sid_2")),
        ("@sid", Named("sid")),
    ],
)
def test_value_kinds(text: str, value: object) -> None:
    result = args(f"EXEC P v = {text}")
    assert result == [("v", value)]
    assert type(result[0][1]) is type(value)


def test_negative_zero_and_types() -> None:
    assert args("EXEC P a=-0, b=-0.0") == [("a", 0), ("b", -0.0)]


def test_positional_markers_are_numbered_in_order() -> None:
    assert args("EXEC P a=?, b=1, c=?, d=:x, e=?") == [
        ("a", Positional(0)),
        ("b", 1),
        ("c", Positional(1)),
        ("d", Named("x")),
        ("e", Positional(2)),
    ]


def test_same_named_placeholder_twice() -> None:
    assert args("EXEC P a=:x, b=:x, c=@x") == [
        ("a", Named("x")),
        ("b", Named("x")),
        ("c", Named("x")),
    ]


# ---------------------------------------------------------------------------
# Keyword / function name sweep
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_sweep_as_parameter_name(name: str) -> None:
    for word in _spellings(name):
        assert args(f"EXEC P {word} = 'v', x = 2") == [(word, "v"), ("x", 2)]
        assert args(f"EXEC P x = 1, {word}=?") == [("x", 1), (word, Positional(0))]
        assert args(f"EXEC P @{word} = 1") == [(word, 1)]
        assert args(f'EXEC P [{word}] = TRUE, "{word}2" = NULL') == [
            (word, True),
            (f"{word}2", None),
        ]


@pytest.mark.parametrize("name", NAMES)
def test_sweep_as_placeholder_name(name: str) -> None:
    for word in _spellings(name):
        assert args(f"EXEC P a = :{word}, b = @{word}") == [
            ("a", Named(word)),
            ("b", Named(word)),
        ]
        assert args(f"EXEC P {word} = :{word}") == [(word, Named(word))]


@pytest.mark.parametrize("name", NAMES)
def test_sweep_as_procedure_name(name: str) -> None:
    call = parse_exec(f"EXEC {name.title()} a=1")
    assert (call.procedure, call.arguments) == (name.title(), (Argument("a", 1),))
    call = parse_exec(f"EXECUTE {name}.{name}")
    assert (call.schema, call.procedure, call.arguments) == (name, name, ())


@pytest.mark.parametrize("name", NAMES)
def test_sweep_bare_word_value_is_rejected(name: str) -> None:
    if name in {"TRUE", "FALSE", "NULL"}:
        return
    with pytest.raises(ProgrammingError, match="parameter 'a'"):
        parse_exec(f"EXEC P a = {name}")
    with pytest.raises(ProgrammingError, match="parameter 'a'"):
        parse_exec(f"EXEC P a = 1 {name}")


def test_every_sqlglot_tsql_function_name_is_a_valid_parameter_name() -> None:
    functions = sorted(name for name in TSQL.Parser.FUNCTIONS if _is_plain_word(name))
    assert len(functions) > 300
    for name in functions:
        assert args(f"EXEC P {name}=:{name}, @{name}x=?") == [
            (name, Named(name)),
            (f"{name}x", Positional(0)),
        ]


def test_sqlglot_function_calls_as_values_never_leak_raw_errors() -> None:
    for name in sorted(TSQL.Parser.FUNCTIONS):
        if not _is_plain_word(name):
            continue
        for value in (f"{name}()", f"{name}(1)", f"{name}('a', 2)"):
            with pytest.raises(ProgrammingError):
                parse_exec(f"EXEC P a = {value}")


@pytest.mark.parametrize("name", NAMED_IN_BRIEF)
def test_names_from_the_brief(name: str) -> None:
    sql = f"EXEC P {name} = 1, [{name}x] = :{name}, @{name}y = @{name}"
    assert args(sql) == [
        (name, 1),
        (f"{name}x", Named(name)),
        (f"{name}y", Named(name)),
    ]


# ---------------------------------------------------------------------------
# Rejections
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sql", "fragment"),
    [
        # expressions and function calls
        ("EXEC P a = 1+2", "parameter 'a' is an expression ('1+2')"),
        ("EXEC P a = 1 + 2", "is an expression"),
        ("EXEC P a = 'a' || 'b'", "is an expression"),
        ("EXEC P a = 'a' 'b'", "is an expression"),
        ("EXEC P a = (1)", "is an expression"),
        ("EXEC P a = -'x'", "is an expression"),
        ("EXEC P a = +'x'", "is an expression"),
        ("EXEC P a = -?", "is an expression"),
        ("EXEC P a = -:x", "is an expression"),
        ("EXEC P a = . 5", "parameter 'a'"),
        ("EXEC P a = -.", "parameter 'a'"),
        ("EXEC P a = 1.5.5", "parameter 'a'"),
        ("EXEC P a = .5 x", "unexpected text 'x'"),
        ("EXEC P a = 2*3", "is an expression"),
        ("EXEC P a = 1 = 1", "parameter 'a' is an expression ('1 = 1')"),
        ("EXEC P a = NOT TRUE", "parameter 'a'"),
        ("EXEC P a = upper('x')", "is a function call"),
        ("EXEC P a = now()", "is a function call"),
        ("EXEC P a = GETDATE()", "is a function call"),
        ("EXEC P a = CAST(1 AS INT)", "parameter 'a'"),
        ("EXEC P a = CURRENT_TIMESTAMP", "parameter 'a'"),
        # bare words and column references
        ("EXEC P a = abc", "is a column reference or bare word ('abc')"),
        ("EXEC P a = t.abc", "column reference"),
        ("EXEC P a = [abc]", "column reference"),
        ('EXEC P a = "abc"', "column reference"),
        ("EXEC P a = DEFAULT", "parameter 'a'"),
        # unsupported literal forms
        ("EXEC P a = 0x1F", "binary or bit string"),
        ("EXEC P a = 1e999", "out of range"),
        # placeholders
        ("EXEC P a = : x", "invalid placeholder"),
        ("EXEC P a = :", "invalid placeholder"),
        ("EXEC P a = @", "invalid placeholder"),
        ("EXEC P a = @@x", "invalid placeholder"),
        ("EXEC P a = :1", "invalid placeholder"),
        ("EXEC P a = :[x]", "invalid placeholder"),
        ("EXEC P a = ?::int", "parameter 'a'"),
        # trailing text
        (
            "EXEC P a=1 garbage",
            "unexpected text 'garbage' after the value of parameter 'a'",
        ),
        ("EXEC P a=1 AS", "unexpected text 'AS'"),
        ("EXEC P a=1 AS x", "parameter 'a'"),
        ("EXEC P a=1 2", "parameter 'a'"),
        ("EXEC P a=1 b=2", "parameter 'a'"),
        ("EXEC P a='x' garbage", "unexpected text 'garbage'"),
        ("EXEC P a=:x garbage", "unexpected text 'garbage'"),
        ("EXEC P a=? garbage", "unexpected text 'garbage'"),
        ("EXEC P a=-1 garbage", "unexpected text 'garbage'"),
        ("EXEC P a=1, b=2 x", "unexpected text 'x' after the value of parameter 'b'"),
        ("EXEC P a=1; SELECT 1", "only one statement"),
        ("EXEC P a=1;;", "only one statement"),
        ("EXEC P; EXEC Q", "only one statement"),
        # structure
        ("EXEC P a 1", "expected '=' after parameter 'a'"),
        ("EXEC P a", "missing '=' after parameter 'a'"),
        ("EXEC P a=1, b", "missing '=' after parameter 'b'"),
        ("EXEC P a, b=1", "missing '=' after parameter 'a'"),
        ("EXEC P a=", "missing value for parameter 'a'"),
        ("EXEC P a=;", "missing value for parameter 'a'"),
        ("EXEC P a=, b=1", "missing value for parameter 'a'"),
        ("EXEC P a=1, b=", "missing value for parameter 'b'"),
        ("EXEC P a=1, =2", "missing parameter name before '='"),
        ("EXEC P []=1", "empty parameter name"),
        ('EXEC P ""=1', "empty parameter name"),
        ("EXEC P @=1", "missing parameter name before '='"),
        ("EXEC P @ a=1", "'@' must be followed directly by a parameter name"),
        ("EXEC P a=1,", "missing argument after ','"),
        ("EXEC P a=1,,b=2", "missing argument after ','"),
        ("EXEC P ,a=1", "missing argument before ','"),
        ("EXEC P 1", "expected a parameter name, got '1'"),
        ("EXEC P 'a'=1", "expected a parameter name"),
        ("EXEC P 1, 2", "expected a parameter name"),
        ("EXEC P ?", "expected a parameter name"),
        ("EXEC P(a=1)", "expected a parameter name, got '('"),
        ("EXEC P #t=1", "expected a parameter name"),
        ("EXEC P =1", "missing procedure name or parameter name"),
        ("EXEC a=1", "missing procedure name or parameter name"),
        ("EXEC", "missing procedure name"),
        ("EXEC ;", "missing procedure name"),
        ("EXEC -- nothing", "missing procedure name"),
        ("EXEC 'P'", "expected a procedure name"),
        ("EXEC 1", "expected a procedure name"),
        ("EXEC []", "empty procedure name"),
        ("EXEC a.b.c", "too many parts"),
        ("EXEC a.", "incomplete procedure name"),
        ("EXEC a. b=1", "parameter"),
        ("EXEC @r = P", "return-status"),
        # not an EXEC statement at all
        ("SELECT 1", "does not start with EXEC"),
        ("", "does not start with EXEC"),
        ("-- only a comment", "does not start with EXEC"),
        ("; EXEC P", "does not start with EXEC"),
        ("EXECUTED P", "does not start with EXEC"),
        # tokenizer failures
        ("EXEC P a='x", "cannot tokenize"),
        ("EXEC P a=1 /* open", "cannot tokenize"),
        ("EXEC P [a=1", "cannot tokenize"),
        ('EXEC P "a=1', "cannot tokenize"),
        ("EXEC P a=N'x", "cannot tokenize"),
    ],
)
def test_rejections(sql: str, fragment: str) -> None:
    message = rejected(sql)
    assert message.startswith("EXEC: ")
    assert fragment in message


@pytest.mark.parametrize(
    ("sql", "message"),
    [
        ("EXEC P From = '1', From = '2'", "EXEC: parameter 'From' is given twice"),
        (
            "EXEC P From = '1', from = '2'",
            "EXEC: parameter 'from' is given twice (also as 'From')",
        ),
        (
            "EXEC P @From = 1, [FROM] = 2",
            "EXEC: parameter 'FROM' is given twice (also as 'From')",
        ),
        ('EXEC P a=1, b=2, "A"=3', "EXEC: parameter 'A' is given twice (also as 'a')"),
        (
            "EXEC P straße=1, STRASSE=2",
            "EXEC: parameter 'STRASSE' is given twice (also as 'straße')",
        ),
    ],
)
def test_duplicates_are_case_insensitive(sql: str, message: str) -> None:
    assert rejected(sql) == message


def test_distinct_names_are_not_duplicates() -> None:
    assert args("EXEC P a=1, a_=2, [a ]=3") == [("a", 1), ("a_", 2), ("a ", 3)]


def test_errors_are_pep249_programming_errors() -> None:
    with pytest.raises(DatabaseError) as info:
        parse_exec("EXEC P a='unterminated")
    assert isinstance(info.value, ProgrammingError)
    # The sqlglot failure is kept as the cause, not raised directly.
    assert info.value.__cause__ is not None
    assert info.value.message.startswith("EXEC: ")


# ---------------------------------------------------------------------------
# Data model
# ---------------------------------------------------------------------------


def test_results_are_frozen_and_hashable() -> None:
    call = parse_exec("EXEC s.P a=?, b=:x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        call.procedure = "Q"  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        call.arguments[0].name = "z"  # type: ignore[misc]
    assert isinstance(call.arguments, tuple)
    assert hash(call) == hash(parse_exec("EXEC s.P a=?, b=:x"))
    assert Positional(1) != Positional(2)
    assert Named("a") != Named("A")


# ---------------------------------------------------------------------------
# is_exec
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "sql",
    [
        "EXEC P",
        "exec p",
        "EXECUTE P",
        "eXeCuTe P",
        "   \n\tEXEC P",
        "-- comment\nEXEC P",
        "/* comment */EXEC P",
        "/* a */ -- b\n /* c\n d */ execute P",
        "/* outer /* inner */ still */ EXEC P",
        "EXEC",
        "EXEC;",
        "EXEC[P]",
        "EXEC garbage that parse_exec rejects ((",
    ],
)
def test_is_exec_true(sql: str) -> None:
    assert is_exec(sql)


@pytest.mark.parametrize(
    "sql",
    [
        "",
        "   ",
        "SELECT 1",
        "EXECUTED",
        "EXECX P",
        "EXEC_P",
        "EXEC1 P",
        "XEXEC P",
        "-- EXEC P",
        "/* EXEC P */",
        "/* EXEC P",
        "/* outer /* inner */ EXEC P",
        "'EXEC' P",
        "[EXEC] P",
        "; EXEC P",
        "SELECT 1; EXEC P",
    ],
)
def test_is_exec_false(sql: str) -> None:
    assert not is_exec(sql)


# ---------------------------------------------------------------------------
# bind
# ---------------------------------------------------------------------------


def test_bind_literals_only() -> None:
    call = parse_exec(SEED)
    expected = {
        "ConferenceSid": "MyConference",
        "From": "+18149044818",
        "To": "919602968074",
    }
    assert bind(call, None) == expected
    assert bind(call, ()) == expected
    assert bind(call, []) == expected
    assert bind(call, {}) == expected


def test_bind_no_arguments() -> None:
    assert bind(parse_exec("EXEC P"), None) == {}
    assert bind(parse_exec("EXEC P"), []) == {}


@pytest.mark.parametrize("params", [("x", 2), ["x", 2]])
def test_bind_positional(params: tuple[object, ...] | list[object]) -> None:
    call = parse_exec("EXEC P a=?, b=1, c=?")
    assert bind(call, params) == {"a": "x", "b": 1, "c": 2}


def test_bind_positional_keeps_objects_as_given() -> None:
    marker = object()
    call = parse_exec("EXEC P From=?, To=?")
    assert bind(call, (marker, None)) == {"From": marker, "To": None}


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ((), "too few parameters: the statement has 2 ? placeholder(s) but 0"),
        ((1,), "too few parameters"),
        ([1, 2, 3], "too many parameters: the statement has 2 ? placeholder(s) but 3"),
        (None, "too few parameters"),
        ({"a": 1}, "parameters must be a sequence, not dict"),
        ({}, "parameters must be a sequence, not dict"),
        ("ab", "sequence or a mapping, not str"),
        (b"ab", "sequence or a mapping, not bytes"),
    ],
)
def test_bind_positional_errors(params: object, fragment: str) -> None:
    call = parse_exec("EXEC P a=?, b=?")
    with pytest.raises(ProgrammingError) as info:
        bind(call, params)  # type: ignore[arg-type]
    assert fragment in str(info.value)


def test_bind_named() -> None:
    call = parse_exec("EXEC P ConferenceSid=:sid, From=@from, To=:to, Label='x'")
    params = {"sid": "CF1", "from": "+1", "to": "+2", "unused": 0}
    assert bind(call, params) == {
        "ConferenceSid": "CF1",
        "From": "+1",
        "To": "+2",
        "Label": "x",
    }


def test_bind_named_reused_placeholder() -> None:
    call = parse_exec("EXEC P a=:x, b=:x")
    assert bind(call, {"x": 5}) == {"a": 5, "b": 5}


def test_bind_named_case_sensitive_first_then_insensitive() -> None:
    call = parse_exec("EXEC P a=:Sid")
    assert bind(call, {"Sid": 1, "sid": 2}) == {"a": 1}
    assert bind(call, {"SID": 3}) == {"a": 3}
    with pytest.raises(ProgrammingError, match="matches several parameters"):
        bind(call, {"sid": 1, "SID": 2})


def test_bind_named_missing_is_named() -> None:
    call = parse_exec("EXEC P a=:sid, b=:other")
    with pytest.raises(ProgrammingError) as info:
        bind(call, {"sid": 1})
    assert str(info.value) == "EXEC: no value given for placeholder 'other'"


def test_bind_named_prefixed_keys_are_not_names() -> None:
    call = parse_exec("EXEC P a=:sid")
    with pytest.raises(ProgrammingError, match="'sid'"):
        bind(call, {":sid": 1})


@pytest.mark.parametrize(
    ("params", "fragment"),
    [
        ((1,), "parameters must be a mapping, not tuple"),
        ([1], "parameters must be a mapping, not list"),
        (None, "parameters must be a mapping, not tuple"),
        ({}, "no value given for placeholder 'sid'"),
    ],
)
def test_bind_named_errors(params: object, fragment: str) -> None:
    call = parse_exec("EXEC P a=:sid")
    with pytest.raises(ProgrammingError) as info:
        bind(call, params)  # type: ignore[arg-type]
    assert fragment in str(info.value)


def test_bind_mixing_styles_is_rejected() -> None:
    call = parse_exec("EXEC P a=?, b=:x")
    for params in ((1,), {"x": 1}, None):
        with pytest.raises(ProgrammingError, match="mixes positional"):
            bind(call, params)


@pytest.mark.parametrize("params", [(1,), [None], {"x": 1}])
def test_bind_params_without_placeholders(params: object) -> None:
    call = parse_exec("EXEC P a=1")
    with pytest.raises(ProgrammingError, match="has no placeholders but 1 parameter"):
        bind(call, params)  # type: ignore[arg-type]


def test_bind_rejects_non_collections() -> None:
    call = parse_exec("EXEC P a=?")
    with pytest.raises(ProgrammingError, match="not int"):
        bind(call, 5)  # type: ignore[arg-type]
    with pytest.raises(ProgrammingError, match="not set"):
        bind(call, {1})  # type: ignore[arg-type]
