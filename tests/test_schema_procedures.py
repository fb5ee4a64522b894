"""The procedure files in schema/procedures/ against their contracts.

AddParticipants must declare exactly the inputs of seed 001 (name, type, required, order);
closed sets and ranges must agree with the Twilio OpenAPI spec where it states them.
The seed and the spec live outside the repository: their tests skip when absent.
"""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from driver import schema
from driver.schema import Procedure
from driver.validation import describe_format

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
SEEDS = SHARED / "seeds"
SPEC = SHARED / "specs" / "twilio" / "conferences-participants.openapi.json"
SEED_TYPES = {"String": "TEXT", "Integer": "INTEGER", "Boolean": "BOOLEAN"}
PROCEDURES = (
    "AddParticipants",
    "JoinConference",
    "ModifyParticipants",
    "RemoveParticipant",
    "ModifyConference",
)
# The procedures that Twilio runs as the one request its TOML declares (checked against
# the Twilio spec below); JoinConference is built by the provider class instead.
DECLARED_ON_TWILIO = tuple(p for p in PROCEDURES if p != "JoinConference")


@pytest.fixture(scope="module")
def catalog() -> schema.Catalog:
    return schema.load()


def _proc(catalog: schema.Catalog, name: str) -> Procedure:
    proc = catalog.procedure(name)
    assert proc is not None, f"{name} is not declared"
    return proc


# --- the seed -------------------------------------------------------------------------


def _seed_tables(title: str) -> tuple[list[list[str]], list[list[str]]]:
    """The Input and Result Set Columns rows of the seed whose first line is ``title``."""
    if not SEEDS.is_dir():
        pytest.skip(f"seeds not found at {SEEDS}")
    for path in sorted(SEEDS.glob("*.txt")):
        lines = path.read_text(encoding="utf-8").splitlines()
        if lines and lines[0].strip() == title:
            break
    else:
        pytest.skip(f"no seed for {title} in {SEEDS}")
    inputs: list[list[str]] = []
    results: list[list[str]] = []
    section: list[list[str]] | None = None
    for line in lines:
        stripped = line.strip()
        if stripped == "Input":
            section = inputs
        elif stripped == "Result Set Columns":
            section = results
        elif section is not None and stripped.startswith("|"):
            cells = [c.strip() for c in stripped.strip("|").split("|")]
            if cells[0] != "Name":  # header row
                section.append(cells)
    return inputs, results


def test_all_procedures_declared(catalog: schema.Catalog) -> None:
    assert sorted(catalog.procedures) == sorted(PROCEDURES)


def test_add_participants_inputs_match_seed(catalog: schema.Catalog) -> None:
    seed_inputs, _ = _seed_tables("AddParticipants")
    expected = [(c[0], SEED_TYPES[c[1]], c[2] == "True") for c in seed_inputs]
    declared = [(i.name, i.type, i.required) for i in _proc(catalog, "AddParticipants").inputs]
    assert declared == expected


def test_add_participants_results_match_seed(catalog: schema.Catalog) -> None:
    _, seed_results = _seed_tables("AddParticipants")
    expected = [(c[0], SEED_TYPES[c[1]]) for c in seed_results]
    declared = [(r.name, r.type) for r in _proc(catalog, "AddParticipants").results]
    assert declared == expected


def test_add_participants_descriptions_are_our_own(catalog: schema.Catalog) -> None:
    seed_inputs, seed_results = _seed_tables("AddParticipants")
    theirs = {c[0]: c[-1].strip().rstrip(".").lower() for c in seed_inputs + seed_results}
    proc = _proc(catalog, "AddParticipants")
    ours = [(i.name, i.description) for i in proc.inputs]
    ours += [(r.name, r.description) for r in proc.results]
    for name, description in ours:
        assert description.strip().rstrip(".").lower() != theirs.get(name), name


def test_add_participants_shape() -> None:
    proc = _proc(schema.load(), "AddParticipants")
    assert len(proc.inputs) == 49
    assert [i.name for i in proc.inputs if i.required] == [
        "ConferenceSid",
        "From",
        "To",
    ]
    assert [(r.name, r.type) for r in proc.results] == [
        ("AccountSid", "TEXT"),
        ("CallSid", "TEXT"),
        ("ConferenceSid", "TEXT"),
        ("Status", "TEXT"),
    ]
    conference = proc.input("ConferenceSid")
    assert conference is not None
    assert "friendly name" in conference.description
    assert "CF" in conference.description


def test_add_participants_lists_and_endpoints(catalog: schema.Catalog) -> None:
    proc = _proc(catalog, "AddParticipants")
    assert {i.name for i in proc.inputs if i.list} == {
        "StatusCallbackEvent",
        "ConferenceStatusCallbackEvent",
        "RecordingStatusCallbackEvent",
        "ConferenceRecordingStatusCallbackEvent",
    }
    assert {i.name for i in proc.inputs if i.format == "endpoint"} == {"To"}
    assert {i.name for i in proc.inputs if i.format == "caller"} == {"From", "CallerId"}
    for inp in proc.inputs:
        if inp.name.endswith(("Url", "Callback")):
            assert inp.format == "url", inp.name
        if inp.name.endswith("Method"):
            assert inp.values == ("GET", "POST"), inp.name


def test_other_procedures_shape(catalog: schema.Catalog) -> None:
    modify = _proc(catalog, "ModifyParticipants")
    assert modify.results_table == "Participants"
    assert [i.name for i in modify.inputs if i.required] == ["ConferenceSid", "CallSid"]
    assert {i.name for i in modify.inputs} == {
        "ConferenceSid",
        "CallSid",
        "Muted",
        "Hold",
        "HoldUrl",
        "HoldMethod",
        "AnnounceUrl",
        "AnnounceMethod",
        "WaitUrl",
        "WaitMethod",
        "Coaching",
        "CallSidToCoach",
        "BeepOnExit",
        "EndConferenceOnExit",
    }
    remove = _proc(catalog, "RemoveParticipant")
    assert [(i.name, i.required) for i in remove.inputs] == [
        ("ConferenceSid", True),
        ("CallSid", True),
    ]
    assert [(r.name, r.type) for r in remove.results] == [
        ("ConferenceSid", "TEXT"),
        ("CallSid", "TEXT"),
    ]
    conference = _proc(catalog, "ModifyConference")
    assert conference.results_table == "Conferences"
    assert [(i.name, i.required) for i in conference.inputs] == [
        ("Sid", True),
        ("Status", False),
        ("AnnounceUrl", False),
        ("AnnounceMethod", False),
    ]
    status = conference.input("Status")
    assert status is not None and status.values == ("completed",)


# --- internal consistency ---------------------------------------------------------------


@pytest.mark.parametrize("name", PROCEDURES)
def test_procedure_is_well_formed(catalog: schema.Catalog, name: str) -> None:
    proc = _proc(catalog, name)
    assert proc.description and "\n" not in proc.description
    lowered = [i.name.lower() for i in proc.inputs]
    assert len(lowered) == len(set(lowered)), "input names must differ case-insensitively"
    for inp in proc.inputs:
        assert inp.description and "\n" not in inp.description, inp.name
        if inp.values or inp.list or inp.format:
            assert inp.type == "TEXT", inp.name
        if inp.min is not None or inp.max is not None:
            assert inp.type == "INTEGER", inp.name
        if inp.min is not None and inp.max is not None:
            assert inp.min <= inp.max, inp.name
        if inp.format:
            describe_format(inp.format)  # raises on an unknown format
    for result in proc.results:
        assert result.description and "\n" not in result.description


def _raw_inputs(name: str) -> list[dict[str, Any]]:
    path = schema.schema_dir() / "procedures" / f"{name}.toml"
    with path.open("rb") as fh:
        inputs: list[dict[str, Any]] = tomllib.load(fh).get("inputs", [])
    return inputs


@pytest.mark.parametrize("name", PROCEDURES)
def test_requires_names_a_declared_input(catalog: schema.Catalog, name: str) -> None:
    proc = _proc(catalog, name)
    for raw in _raw_inputs(name):
        if "requires" in raw:
            other = proc.input(raw["requires"])
            assert other is not None and other.name != raw["name"], raw["name"]


def test_coaching_requires_call_sid_to_coach() -> None:
    for name in ("AddParticipants", "ModifyParticipants"):
        coaching = next(r for r in _raw_inputs(name) if r["name"] == "Coaching")
        assert coaching.get("requires") == "CallSidToCoach"


# --- the Twilio spec -------------------------------------------------------------------


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    if not SPEC.is_file():
        pytest.skip(f"spec not found at {SPEC}")
    loaded: dict[str, Any] = json.loads(SPEC.read_text(encoding="utf-8"))
    return loaded


def _operation(
    spec: dict[str, Any], catalog: schema.Catalog, name: str
) -> tuple[dict[str, Any], set[str]]:
    """The spec's body properties and path parameters of the request ``name`` sends."""
    twilio = catalog.provider("Twilio")
    assert twilio is not None
    mapping = twilio.procedures[name]
    op = spec["paths"][twilio.root + mapping.path][mapping.method.lower()]
    body = op.get("requestBody", {}).get("content", {})
    form = body.get("application/x-www-form-urlencoded", {}).get("schema", {})
    props: dict[str, Any] = form.get("properties", {})
    return props, set(re.findall(r"\{(\w+)\}", mapping.path))


def _resolve(spec: dict[str, Any], prop: dict[str, Any]) -> dict[str, Any]:
    ref = prop.get("$ref")
    if ref:
        node: Any = spec
        for part in ref.lstrip("#/").split("/"):
            node = node[part]
        return {**node, **{k: v for k, v in prop.items() if k != "$ref"}}
    return prop


def _documented_values(description: str) -> list[str]:
    """Backticked choices of the description's 'Can be: ...' sentence, if it has one."""
    match = re.search(r"Can be:?(.*?)(\.\s|\.$|$)", description, re.DOTALL)
    return re.findall(r"`([^`]+)`", match.group(1)) if match else []


def _documented_range(description: str) -> tuple[int, int] | None:
    for pattern in (
        r"Possible Values: (\d+)-(\d+)",
        r"between `(\d+)` and `(\d+)`",
        r"from `(\d+)` to `(\d+)`",
    ):
        match = re.search(pattern, description)
        if match:
            return int(match.group(1)), int(match.group(2))
    return None


SPEC_TYPES = {
    "boolean": "BOOLEAN",
    "integer": "INTEGER",
    "string": "TEXT",
    "array": "TEXT",
}


@pytest.mark.parametrize("name", DECLARED_ON_TWILIO)
def test_inputs_exist_in_spec_with_matching_types(
    spec: dict[str, Any], catalog: schema.Catalog, name: str
) -> None:
    proc = _proc(catalog, name)
    props, path_params = _operation(spec, catalog, name)
    twilio = catalog.provider("Twilio")
    assert twilio is not None
    renames = twilio.procedures[name].fields
    for inp in proc.inputs:
        if inp.name in path_params:
            continue
        wire = renames.get(inp.name, inp.name)
        assert wire in props, f"{name}.{inp.name} is not a body field ({wire}) in the spec"
        prop = _resolve(spec, props[wire])
        assert SPEC_TYPES[prop["type"]] == inp.type, inp.name
        assert (prop["type"] == "array") == inp.list, inp.name


@pytest.mark.parametrize("name", DECLARED_ON_TWILIO)
def test_closed_sets_agree_with_spec(
    spec: dict[str, Any], catalog: schema.Catalog, name: str
) -> None:
    proc = _proc(catalog, name)
    props, _ = _operation(spec, catalog, name)
    twilio = catalog.provider("Twilio")
    assert twilio is not None
    renames = twilio.procedures[name].fields
    for inp in proc.inputs:
        prop = props.get(renames.get(inp.name, inp.name))
        if prop is None:
            continue
        prop = _resolve(spec, prop)
        documented_values = _documented_values(prop.get("description", ""))
        enum = prop.get("enum") or (documented_values if inp.type == "TEXT" else [])
        if enum:
            assert inp.values, f"{inp.name}: the spec has a closed set {enum}"
            assert set(inp.values) <= set(enum), inp.name
        documented = _documented_range(prop.get("description", ""))
        if documented:
            assert (inp.min, inp.max) == documented, inp.name
