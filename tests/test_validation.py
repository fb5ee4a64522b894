"""driver.validation: every input of every procedure, checked from the schema alone."""

from __future__ import annotations

import dataclasses
import functools
from datetime import UTC, datetime

import pytest

from driver import schema, validation
from driver.errors import DataError, InternalError, ProgrammingError
from driver.providers.twilio import TWILIO_FORMATS
from driver.schema import Input, Procedure
from driver.validation import Rule

# The checks below use Twilio's address and SID formats (each provider brings its own).
coerce_value = functools.partial(validation.coerce_value, formats=TWILIO_FORMATS)
describe_allowed = functools.partial(validation.describe_allowed, formats=TWILIO_FORMATS)
describe_format = functools.partial(validation.describe_format, formats=TWILIO_FORMATS)
validate_inputs = functools.partial(validation.validate_inputs, formats=TWILIO_FORMATS)

CATALOG = schema.load()


def _proc(name: str) -> Procedure:
    proc = CATALOG.procedure(name)
    assert proc is not None
    return proc


ADD = _proc("AddParticipants")
MODIFY = _proc("ModifyParticipants")
ALL_INPUTS = [(p, i) for p in CATALOG.procedures.values() for i in p.inputs]
REQUIRED = {
    "ConferenceSid": "MyConference",
    "From": "+18149044818",
    "To": "919602968074",
    "CallSid": "CA" + "0" * 32,
    "Sid": "MyConference",
}


def _base(proc: Procedure) -> dict[str, object]:
    """Values for the required inputs of ``proc``."""
    return {i.name: REQUIRED[i.name] for i in proc.inputs if i.required}


def _good(inp: Input) -> object:
    """A value that ``inp`` accepts, derived from its declaration."""
    if inp.values:
        return " ".join(inp.values[:2]) if inp.list else inp.values[-1]
    if inp.type == "BOOLEAN":
        return True
    if inp.type == "INTEGER":
        return inp.min if inp.min is not None else 30
    if inp.format in ("endpoint", "caller"):
        return "+18149044818"
    if inp.format == "url":
        return "https://example.com/hook"
    if inp.format == "base64":
        return "eyJvcmRlciI6IDQyfQ=="
    if inp.format in ("call", "trunk"):
        return {"call": "CA", "trunk": "BY"}[inp.format] + "0123456789abcdef" * 2
    return REQUIRED.get(inp.name, "some text")


def _wrong_type(inp: Input) -> object:
    """A value of the wrong Python type for ``inp``."""
    if inp.type == "BOOLEAN":
        return "maybe"
    if inp.type == "INTEGER":
        return "thirty"
    return b"bytes"


def _ids(item: tuple[Procedure, Input]) -> str:
    return f"{item[0].name}.{item[1].name}"


# --- every input ----------------------------------------------------------------------


@pytest.mark.parametrize(("proc", "inp"), ALL_INPUTS, ids=[_ids(x) for x in ALL_INPUTS])
def test_good_value_passes(proc: Procedure, inp: Input) -> None:
    args = {**_base(proc), inp.name: _good(inp)}
    needed = proc.input(inp.requires) if inp.requires else None
    if needed is not None:  # give what the rule asks for (a true BOOLEAN, or a value)
        args[needed.name] = True if needed.type == "BOOLEAN" else _good(needed)
    out = validate_inputs(proc, args)
    assert inp.name in out
    expected_type = {"TEXT": str, "INTEGER": int, "BOOLEAN": bool}[inp.type]
    value = out[inp.name]
    if inp.list:
        assert isinstance(value, list) and value
        assert all(isinstance(v, str) for v in value)
    else:
        assert type(value) is expected_type


@pytest.mark.parametrize(("proc", "inp"), ALL_INPUTS, ids=[_ids(x) for x in ALL_INPUTS])
def test_wrong_type_fails_naming_the_input(proc: Procedure, inp: Input) -> None:
    args = {**_base(proc), inp.name: _wrong_type(inp)}
    with pytest.raises(DataError) as err:
        validate_inputs(proc, args)
    message = str(err.value)
    assert proc.name in message
    assert repr(inp.name) in message
    assert describe_allowed(inp) in message


CLOSED = [(p, i, v) for p, i in ALL_INPUTS for v in i.values]


@pytest.mark.parametrize(
    ("proc", "inp", "value"),
    CLOSED,
    ids=[f"{p.name}.{i.name}={v}" for p, i, v in CLOSED],
)
def test_every_closed_value_is_accepted_in_any_case(
    proc: Procedure, inp: Input, value: str
) -> None:
    for written in (value, value.upper(), value.lower(), f" {value} "):
        out = validate_inputs(proc, {**_base(proc), inp.name: written})
        assert out[inp.name] == ([value] if inp.list else value)


ENUMS = [(p, i) for p, i in ALL_INPUTS if i.values]


@pytest.mark.parametrize(("proc", "inp"), ENUMS, ids=[_ids(x) for x in ENUMS])
def test_value_outside_closed_set_fails(proc: Procedure, inp: Input) -> None:
    with pytest.raises(DataError) as err:
        validate_inputs(proc, {**_base(proc), inp.name: "nonsense"})
    message = str(err.value)
    assert repr(inp.name) in message and "'nonsense'" in message
    for value in inp.values:
        assert value in message


RANGED = [(p, i) for p, i in ALL_INPUTS if i.min is not None or i.max is not None]


@pytest.mark.parametrize(("proc", "inp"), RANGED, ids=[_ids(x) for x in RANGED])
def test_range_bounds(proc: Procedure, inp: Input) -> None:
    assert inp.min is not None and inp.max is not None
    for inside in (inp.min, inp.max, str(inp.min), float(inp.max)):
        assert validate_inputs(proc, {**_base(proc), inp.name: inside})[inp.name] in (
            inp.min,
            inp.max,
        )
    for outside in (inp.min - 1, inp.max + 1):
        with pytest.raises(DataError) as err:
            validate_inputs(proc, {**_base(proc), inp.name: outside})
        message = str(err.value)
        assert repr(inp.name) in message
        assert f"from {inp.min} to {inp.max}" in message
        assert str(outside) in message


def test_known_ranges() -> None:
    ranges = {i.name: (i.min, i.max) for i in ADD.inputs if i.min is not None}
    assert ranges["MaxParticipants"] == (2, 250)
    assert ranges["WaitTime"] == (5, 600)
    assert ranges["MachineDetectionTimeout"] == (3, 59)
    assert ranges["MachineDetectionSpeechThreshold"] == (1000, 6000)
    assert ranges["MachineDetectionSpeechEndThreshold"] == (500, 5000)
    assert ranges["MachineDetectionSilenceTimeout"] == (2000, 10000)


# --- lists ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "written",
    [
        "initiated ringing answered",
        "initiated,ringing,answered",
        "initiated, ringing ,answered",
        "  initiated\tringing,,answered , ",
        "INITIATED Ringing answered",
        ["initiated", "ringing answered"],
        ("initiated", "ringing", "answered", "ringing"),
    ],
)
def test_list_splitting(written: object) -> None:
    out = validate_inputs(ADD, {**_base(ADD), "StatusCallbackEvent": written})
    assert out["StatusCallbackEvent"] == ["initiated", "ringing", "answered"]


def test_list_with_one_bad_item_names_it() -> None:
    with pytest.raises(DataError) as err:
        validate_inputs(ADD, {**_base(ADD), "ConferenceStatusCallbackEvent": "start finish"})
    message = str(err.value)
    assert "'finish'" in message and "ConferenceStatusCallbackEvent" in message
    assert "one or more of start, end" in message


@pytest.mark.parametrize("empty", ["", " , ", [], None])
def test_empty_list_means_not_given(empty: object) -> None:
    out = validate_inputs(ADD, {**_base(ADD), "RecordingStatusCallbackEvent": empty})
    assert "RecordingStatusCallbackEvent" not in out


def test_list_rejects_non_text_items() -> None:
    with pytest.raises(DataError):
        validate_inputs(ADD, {**_base(ADD), "StatusCallbackEvent": ["ringing", 3]})
    with pytest.raises(DataError):
        validate_inputs(ADD, {**_base(ADD), "StatusCallbackEvent": 3})


# --- formats --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "endpoint",
    [
        "+18149044818",
        "919602968074",
        "client:alice",
        "Client:alice_01",
        "client:alice?name=Alice",
        "sip:bob@example.com",
        "sip:bob@example.com;transport=tls",
        "sip:bob@10.0.0.1:5060?X-Header=1",
        "app:AP" + "0" * 32,
    ],
)
@pytest.mark.parametrize("name", ["From", "To", "CallerId"])
def test_endpoint_accepts(name: str, endpoint: str) -> None:
    args = {**_base(ADD), name: endpoint}
    assert validate_inputs(ADD, args)[name] == endpoint


@pytest.mark.parametrize(
    "endpoint",
    [
        "hello",
        "",
        "+",
        "+0123",
        "12",
        "18149044818x",
        "client:",
        "sip:bob",
        "sip:@x",
        "app:x",
    ],
)
def test_endpoint_rejects(endpoint: str) -> None:
    with pytest.raises(DataError) as err:
        validate_inputs(ADD, {**_base(ADD), "To": endpoint})
    assert "'To'" in str(err.value) and "client:NAME" in str(err.value)


def test_endpoint_number_given_as_integer() -> None:
    assert validate_inputs(ADD, {**_base(ADD), "To": 919602968074})["To"] == "919602968074"


@pytest.mark.parametrize(
    "url",
    [
        "https://example.com/hook",
        "http://example.com:8080/a?b=c",
        "HTTPS://EXAMPLE.COM",
        "",
    ],
)
def test_url_accepts(url: str) -> None:
    assert validate_inputs(ADD, {**_base(ADD), "WaitUrl": url})["WaitUrl"] == url


@pytest.mark.parametrize(
    "url",
    ["example.com", "ftp://example.com/x", "http://", "https://exa mple.com", "hello"],
)
def test_url_rejects(url: str) -> None:
    with pytest.raises(DataError) as err:
        validate_inputs(ADD, {**_base(ADD), "StatusCallback": url})
    assert "StatusCallback" in str(err.value) and "https://" in str(err.value)


def test_sid_formats() -> None:
    good = "BY" + "a" * 32
    assert validate_inputs(ADD, {**_base(ADD), "Byoc": good})["Byoc"] == good
    for bad in ("CA" + "a" * 32, "BY" + "a" * 31, "BY" + "g" * 32):
        with pytest.raises(DataError):
            validate_inputs(ADD, {**_base(ADD), "Byoc": bad})
    assert describe_format("call") == "a call SID: CA followed by 32 hex digits"
    assert coerce_value(Rule("X", "TEXT", format="call"), "CA" + "0" * 32) == "CA" + "0" * 32
    assert validation.describe_format("call") == "a call identifier of the provider"
    with pytest.raises(InternalError):
        describe_format("colour")


# --- type coercion --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [(True, True), (False, False), (1, True), (0, False), ("1", True), ("0", False),
     ("true", True), ("FALSE", False), (" True ", True)],
)  # fmt: skip
def test_boolean_coercion(given: object, expected: bool) -> None:
    assert validate_inputs(ADD, {**_base(ADD), "Muted": given})["Muted"] is expected


@pytest.mark.parametrize("given", [2, -1, "yes", "no", "", 1.0, b"1", "t"])
def test_boolean_rejects(given: object) -> None:
    with pytest.raises(DataError, match="'Muted'"):
        validate_inputs(ADD, {**_base(ADD), "Muted": given})


@pytest.mark.parametrize(("given", "expected"), [(30, 30), (30.0, 30), ("30", 30), (" +30 ", 30)])
def test_integer_coercion(given: object, expected: int) -> None:
    assert validate_inputs(ADD, {**_base(ADD), "WaitTime": given})["WaitTime"] == expected


@pytest.mark.parametrize("given", [True, 30.5, "30s", "1_00", "3e1", "", b"30", "٣٠"])
def test_integer_rejects(given: object) -> None:
    with pytest.raises(DataError, match="'WaitTime'"):
        validate_inputs(ADD, {**_base(ADD), "WaitTime": given})


@pytest.mark.parametrize(
    ("given", "expected"),
    [("x", "x"), (42, "42"), (1.5, "1.5"), ("", ""), (" a ", " a ")],
)
def test_text_coercion(given: object, expected: str) -> None:
    assert validate_inputs(ADD, {**_base(ADD), "Label": given})["Label"] == expected


def test_sql_boolean_for_text_with_true_false_values() -> None:
    out = validate_inputs(ADD, {**_base(ADD), "Beep": True, "ConferenceRecord": False})
    assert out["Beep"] == "true" and out["ConferenceRecord"] == "false"
    assert validate_inputs(ADD, {**_base(ADD), "Beep": "ONENTER"})["Beep"] == "onEnter"


@pytest.mark.parametrize("given", [b"x", bytearray(b"x"), ["a"], {"a": 1}, object()])
def test_text_rejects(given: object) -> None:
    with pytest.raises(DataError, match="'Label'"):
        validate_inputs(ADD, {**_base(ADD), "Label": given})


def test_long_bad_value_is_truncated_in_message() -> None:
    with pytest.raises(DataError) as err:
        validate_inputs(ADD, {**_base(ADD), "Region": "x" * 500})
    assert "x" * 500 not in str(err.value)
    assert "..." in str(err.value)


# --- names ----------------------------------------------------------------------------


def test_names_any_case_and_at_sign_map_to_declared_names_in_order() -> None:
    out = validate_inputs(
        ADD,
        {
            "@to": "client:bob",
            "FROM": "client:alice",
            "@conferencesid": "Room",
            "waittime": "20",
        },
    )
    assert list(out) == ["ConferenceSid", "From", "To", "WaitTime"]
    assert out == {
        "ConferenceSid": "Room",
        "From": "client:alice",
        "To": "client:bob",
        "WaitTime": 20,
    }


def test_none_for_optional_input_means_not_given() -> None:
    out = validate_inputs(ADD, {**_base(ADD), "Muted": None, "Label": None})
    assert "Muted" not in out and "Label" not in out


def test_unknown_input_suggests_closest_name() -> None:
    with pytest.raises(ProgrammingError) as err:
        validate_inputs(ADD, {**_base(ADD), "Mutted": True})
    message = str(err.value)
    assert message.startswith("AddParticipants: unknown input: 'Mutted' (did you mean 'Muted'?); ")
    assert (
        "FROM sys_procedureparameters WHERE ProcedureName = 'AddParticipants' AND Direction = 'IN'"
        in message
    )


def test_unknown_inputs_all_listed() -> None:
    with pytest.raises(ProgrammingError) as err:
        validate_inputs(ADD, {**_base(ADD), "@waittimee": 5, "Zzzz": 1})
    message = str(err.value)
    assert "unknown inputs: 'waittimee' (did you mean 'WaitTime'?), 'Zzzz'; " in message


def test_unknown_inputs_read_as_one_list() -> None:
    with pytest.raises(ProgrammingError) as err:
        validate_inputs(ADD, {**_base(ADD), "Too": "+15550001", "Lable": "x"})
    assert str(err.value).startswith(
        "AddParticipants: unknown inputs: 'Too' (did you mean 'To'?), "
        "'Lable' (did you mean 'Label'?); to list its inputs: SELECT "
    )


@pytest.mark.parametrize(("first", "second"), [("from", "From"), ("@From", "FROM")])
def test_duplicate_input(first: str, second: str) -> None:
    args = {
        "ConferenceSid": "Room",
        first: "+15550001111",
        second: "+15550002222",
        "To": "12345",
    }
    with pytest.raises(ProgrammingError, match="given twice"):
        validate_inputs(ADD, args)


def test_missing_required_names_all_of_them() -> None:
    with pytest.raises(ProgrammingError) as err:
        validate_inputs(ADD, {"ConferenceSid": "Room", "Muted": "1"})
    message = str(err.value)
    assert "From, To" in message and "AddParticipants" in message


def test_null_required_input_is_missing() -> None:
    with pytest.raises(ProgrammingError, match="From"):
        validate_inputs(ADD, {**_base(ADD), "From": None})


def test_missing_reported_before_bad_values() -> None:
    with pytest.raises(ProgrammingError):
        validate_inputs(ADD, {"ConferenceSid": "Room", "WaitTime": "soon"})


@pytest.mark.parametrize("name", sorted(CATALOG.procedures))
def test_each_procedure_reports_missing_required(name: str) -> None:
    proc = _proc(name)
    with pytest.raises(ProgrammingError) as err:
        validate_inputs(proc, {})
    for inp in proc.inputs:
        if inp.required:
            assert inp.name in str(err.value)


# --- cross-field rules ----------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class _InputWithRequires(Input):
    """Stand-in until driver.schema.Input carries ``requires`` itself."""

    requires: str | None = None


def _with_coaching_rule(proc: Procedure) -> Procedure:
    """``proc`` with ``requires = "CallSidToCoach"`` on Coaching, whatever Input holds."""

    def ruled(inp: Input) -> Input:
        if inp.name != "Coaching":
            return inp
        fields = {
            f.name: getattr(inp, f.name) for f in dataclasses.fields(Input) if f.name != "requires"
        }
        return _InputWithRequires(**fields, requires="CallSidToCoach")

    inputs = tuple(ruled(i) for i in proc.inputs)
    return dataclasses.replace(proc, inputs=inputs)


@pytest.mark.parametrize("proc", [ADD, MODIFY], ids=lambda p: p.name)
def test_coaching_without_call_sid_to_coach(proc: Procedure) -> None:
    ruled = _with_coaching_rule(proc)
    with pytest.raises(DataError) as err:
        validate_inputs(ruled, {**_base(proc), "Coaching": "true"})
    message = str(err.value)
    assert "'Coaching'" in message and "CallSidToCoach" in message
    assert "CA followed by 32 hex digits" in message
    # off needs nothing; on with the partner passes
    assert validate_inputs(ruled, {**_base(proc), "Coaching": 0})["Coaching"] is False
    coach = {"Coaching": 1, "callsidtocoach": "CA" + "1" * 32}
    assert validate_inputs(ruled, {**_base(proc), **coach})["Coaching"] is True


@pytest.mark.skipif(
    "requires" not in {f.name for f in dataclasses.fields(Input)},
    reason="driver.schema.Input does not load 'requires' yet",
)
@pytest.mark.parametrize("proc", [ADD, MODIFY], ids=lambda p: p.name)
def test_coaching_rule_comes_from_schema(proc: Procedure) -> None:
    with pytest.raises(DataError, match="CallSidToCoach"):
        validate_inputs(proc, {**_base(proc), "Coaching": True})


def test_requires_on_non_boolean_means_given() -> None:
    proc = Procedure(
        name="P",
        description="test",
        inputs=(
            _InputWithRequires("A", "TEXT", False, "a", requires="B"),
            _InputWithRequires("B", "TEXT", False, "b"),
        ),
        results=(),
    )
    with pytest.raises(DataError, match="requires B"):
        validate_inputs(proc, {"A": "x"})
    assert validate_inputs(proc, {"A": "x", "B": "y"}) == {"A": "x", "B": "y"}


def test_requires_unknown_input_is_internal_error() -> None:
    proc = Procedure(
        name="P",
        description="test",
        inputs=(_InputWithRequires("A", "BOOLEAN", False, "a", requires="Nope"),),
        results=(),
    )
    with pytest.raises(InternalError):
        validate_inputs(proc, {"A": True})


# --- the reusable core ----------------------------------------------------------------


def test_describe_allowed() -> None:
    def describe(name: str) -> str:
        inp = ADD.input(name)
        assert inp is not None
        return describe_allowed(inp)

    assert describe("WaitTime") == "an integer from 5 to 600"
    assert describe("StatusCallbackMethod") == "one of GET, POST"
    assert describe("StatusCallbackEvent") == (
        "one or more of initiated, ringing, answered, completed (separated by spaces or commas)"
    )
    assert describe("Muted") == "true or false (1 or 0)"
    assert describe("Label") == "any text"
    assert "sip:USER@HOST" in describe("To")
    assert describe_allowed(Rule("N", "INTEGER")) == "an integer"
    assert describe_allowed(Rule("N", "INTEGER", min=1)) == "an integer of at least 1"
    assert describe_allowed(Rule("N", "REAL", max=2)) == "a number of at most 2"


def test_coerce_value_on_columns() -> None:
    participants = CATALOG.table("Participants")
    conferences = CATALOG.table("Conferences")
    assert participants is not None and conferences is not None
    muted = participants.column("Muted")
    status = conferences.column("Status")
    assert muted is not None and status is not None
    assert coerce_value(muted, "1", owner="Participants", kind="column") is True
    assert coerce_value(status, "COMPLETED") == "completed"
    with pytest.raises(DataError) as err:
        coerce_value(status, "over", owner="Conferences", kind="column")
    assert str(err.value).startswith("Conferences column 'Status': 'over' is not an allowed value")
    assert coerce_value(muted, None) is None


def test_coerce_value_other_column_types() -> None:
    real = Rule("R", "REAL", min=0)
    assert coerce_value(real, "1.5") == 1.5
    assert coerce_value(real, 2) == 2.0
    with pytest.raises(DataError):
        coerce_value(real, -1)
    with pytest.raises(DataError):
        coerce_value(real, True)
    when = Rule("D", "DATETIME")
    assert coerce_value(when, datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2026-01-02 03:04:05"
    assert coerce_value(when, "2026-01-02 03:04:05") == "2026-01-02 03:04:05"
    with pytest.raises(DataError):
        coerce_value(when, 5)


def test_rule_of_input_and_column() -> None:
    inp = ADD.input("StatusCallbackEvent")
    assert inp is not None
    rule = Rule.of(inp)
    assert rule.list and rule.values == inp.values and Rule.of(rule) is rule
    table = CATALOG.table("Participants")
    assert table is not None
    column = table.column("Status")
    assert column is not None
    assert Rule.of(column) == Rule("Status", "TEXT", values=column.values)
