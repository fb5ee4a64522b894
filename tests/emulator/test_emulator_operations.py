"""The provider-neutral operation of each logged request, its filters, and the fault
selectors on it."""

from __future__ import annotations

import pytest

import driver
from driver import schema
from driver.emulator import OPERATIONS, Emulator, RequestRecord
from driver.emulator.endpoints import CONFERENCE_FILTERS, PARTICIPANT_FILTERS
from driver.emulator.routing import Match
from driver.emulator.wire import TWILIO_FILTERS
from driver.providers import provider_class
from tests.conftest import PROVIDERS, ProviderUnderTest

TW = "/2010-04-01/Accounts/AC1"
SW = "/api/laml/2010-04-01/Accounts/p1"
TX = "/v2/texml/Accounts/a1"
JB = "/v1/Accounts/a1"

PATHS = {
    "twilio": [
        (f"{TW}/Conferences.json", Match("conferences", ())),
        (f"{TW}/Conferences/CF1.json", Match("conference", ("CF1",))),
        (f"{TW}/Conferences/a%2Fb/Participants.json", Match("participants", ("a/b",))),
        (f"{TW}/Conferences/CF1/Participants/CA2.json", Match("participant", ("CF1", "CA2"))),
        (f"{TW}/Calls/CA2.json", Match("call", ("CA2",))),
        (f"{TW}/Conferences", None),
        ("/elsewhere", None),
    ],
    "signalwire": [
        (f"{SW}/Conferences", Match("conferences", ())),
        (f"{SW}/Conferences/c1/Participants", Match("participants", ("c1",))),
        (f"{SW}/Conferences/c1/Participants/p2", Match("participant", ("c1", "p2"))),
        (f"{SW}/Calls", Match("calls", ())),
        (f"{TW}/Conferences.json", None),
    ],
    "texml": [
        (f"{TX}/Conferences.json", Match("conferences", ())),
        (f"{TX}/Conferences/c1", Match("conference", ("c1",))),
        (f"{TX}/Conferences/c1/Participants.json", Match("participants", ("c1",))),
        (f"{TX}/Conferences/c1/Participants/p2", Match("participant", ("c1", "p2"))),
        (f"{TX}/Calls/c2.json", Match("call", ("c2",))),
    ],
    "telnyx": [
        ("/v2/conferences", Match("conferences", ())),
        ("/v2/conferences/c1", Match("conference", ("c1",))),
        ("/v2/conferences/c1/participants", Match("participants", ("c1",))),
        ("/v2/conferences/c1/participants/p2", Match("participant", ("c1", "p2"))),
        ("/v2/conferences/c1/actions/join", Match("conference", ("c1", "join"))),
        ("/v2/calls", Match("calls", ())),
        ("/v2/calls/v3%3Aleg/actions/hangup", Match("call", ("v3:leg", "hangup"))),
        ("/v2/conferences/c1/recordings", None),
        ("/v2/conferences//participants", None),
    ],
    "jambonz": [
        (f"{JB}/Conferences", Match("conferences", ())),
        (f"{JB}/Calls", Match("calls", ())),
        (f"{JB}/Calls/c2", Match("call", ("c2",))),
        (f"{JB}/Conferences/c1", None),
    ],
}


@pytest.mark.parametrize(
    ("wire", "path", "expected"),
    [(wire, path, expected) for wire, cases in PATHS.items() for path, expected in cases],
)
def test_every_wire_names_its_paths_with_one_vocabulary(
    wire: str, path: str, expected: Match | None
) -> None:
    route = Emulator(wire=wire).wire.operation(path)
    assert route == expected
    assert route is None or route.operation in OPERATIONS


@pytest.mark.parametrize(
    ("wire", "first", "later", "size"),
    [
        ("twilio", [("PageSize", "50")], [("Page", "1"), ("PageToken", "PAx")], 50),
        ("telnyx", [("page[number]", "1"), ("page[size]", "20")], [("page[number]", "2")], 20),
    ],
)
def test_page_questions_in_each_wire_spelling(
    wire: str, first: list[tuple[str, str]], later: list[tuple[str, str]], size: int
) -> None:
    emulator = Emulator(wire=wire)

    def record(query: list[tuple[str, str]]) -> RequestRecord:
        return RequestRecord("GET", "/", query, [], 0.0)

    assert not emulator.wire.later_page(record(first))
    assert emulator.wire.later_page(record(later))
    assert emulator.wire.page_size(record(first)) == size
    assert emulator.wire.page_size(record(later)) is None


# (wire, operation, query as sent, filters as read)
FILTER_SPELLINGS = [
    (
        "twilio",
        "conferences",
        [("Status", "in-progress"), ("FriendlyName", "a b"), ("DateCreated>", "2026-11-18"),
         ("DateCreated<", "2026-11-19"), ("DateUpdated", "2026-11-20"), ("PageSize", "5")],
        {"Status": "in-progress", "FriendlyName": "a b", "DateCreated>=": "2026-11-18",
         "DateCreated<=": "2026-11-19", "DateUpdated": "2026-11-20"},
    ),
    (
        "twilio",
        "participants",
        [("Muted", "True"), ("Hold", "false"), ("Coaching", "FALSE"), ("PageToken", "PA1")],
        {"Muted": "true", "Hold": "false", "Coaching": "false"},
    ),
    ("twilio", "call", [("Status", "completed")], {}),
    ("signalwire", "participants", [("Muted", "true"), ("Coaching", "true")], {"Muted": "true"}),
    (
        "texml",
        "conferences",
        [("Status", "init"), ("DateCreated", ">=2026-11-18"), ("DateUpdated", "2026-11-19")],
        {"Status": "init", "DateCreated>=": "2026-11-18", "DateUpdated": "2026-11-19"},
    ),
    ("texml", "participants", [("Muted", "true")], {}),
    (
        "telnyx",
        "conferences",
        [("filter[status]", "in_progress"), ("filter[name]", "Sales"), ("page[size]", "5")],
        {"Status": "in-progress", "FriendlyName": "Sales"},
    ),
    (
        "telnyx",
        "participants",
        [("filter[muted]", "true"), ("filter[on_hold]", "false"), ("filter[whispering]", "true")],
        {"Muted": "true", "Hold": "false"},
    ),
    ("jambonz", "conferences", [("Status", "init")], {}),
]  # fmt: skip


@pytest.mark.parametrize(("wire", "operation", "query", "expected"), FILTER_SPELLINGS)
def test_filters_in_each_wire_spelling(
    wire: str, operation: str, query: list[tuple[str, str]], expected: dict[str, str]
) -> None:
    record = RequestRecord("GET", "/", query, [], 0.0, operation=operation)
    assert Emulator(wire=wire).wire.filters(record) == expected


def test_twilio_filters_are_those_its_lists_read() -> None:
    assert set(TWILIO_FILTERS["conferences"]) == set(CONFERENCE_FILTERS)
    assert set(TWILIO_FILTERS["participants"]) == set(PARTICIPANT_FILTERS)


@pytest.mark.parametrize("provider", PROVIDERS)
def test_filters_read_every_parameter_the_provider_mapping_sends(provider: str) -> None:
    """Each "Column op" = parameter of schema/providers/*.toml reads back as that column,
    and its values in confsql's words (jambonz filters no API list, so is not here)."""
    cls = provider_class(provider)
    assert cls is not None
    mapping = schema.load().provider(cls.mapping_name)
    assert mapping is not None
    wire = Emulator(wire=cls.wire).wire
    for table, operation in (("Conferences", "conferences"), ("Participants", "participants")):
        tm = mapping.tables[table]
        for key, parameter in tm.filters.items():
            column, op = key.split()
            read = wire.list_filters.get(operation, {}).get(parameter)
            assert read is not None and read.rstrip("<>=") == column, (table, key, parameter)
            assert op == "=" or read.endswith("="), (key, read)  # a date bound is inclusive
            for api, ours in tm.values.get(column, {}).items():
                assert wire.filter_values.get(column, {}).get(api, api) == ours


def test_filters_of_the_requests_each_provider_sends(any_provider: ProviderUnderTest) -> None:
    """What the driver pushes, read back as columns: a filter the provider cannot take is
    absent (SQLite checks it)."""
    emu = any_provider.emu
    cls = provider_class(any_provider.name)
    assert cls is not None
    mapping = schema.load().provider(cls.mapping_name)
    assert mapping is not None
    sid = str(emu.create_conference("Sales", "in-progress")["sid"])
    emu.add_participant(sid, status="connected", muted=True)
    conn = any_provider.connect()
    cases = [
        (
            "Conferences",
            "SELECT Sid FROM Conferences WHERE Status = 'in-progress' AND FriendlyName = 'Sales'"
            " AND DateCreated >= '2020-01-01' AND DateUpdated < '2100-01-01 08:00:00'",
            (),
            {"Status": "in-progress", "FriendlyName": "Sales", "DateCreated>=": "2020-01-01",
             "DateUpdated<=": "2100-01-01"},
        ),
        (
            "Participants",
            "SELECT CallSid FROM Participants WHERE ConferenceSid = ?"
            " AND Muted = 1 AND Hold = 0 AND Coaching = 0",
            (sid,),
            {"Muted": "true", "Hold": "false", "Coaching": "false"},
        ),
    ]  # fmt: skip
    for table, sql, params, wanted in cases:
        emu.requests.clear()
        conn.cursor().execute(sql, params).fetchall()
        (request,) = emu.requests.matching("GET", operation=table.lower())
        pushed = {key.split()[0] for key in mapping.tables[table].filters}
        expected = {k: v for k, v in wanted.items() if k.rstrip("<>=") in pushed}
        assert emu.wire.filters(request) == expected


def test_unknown_operation_is_refused(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="unknown operation 'participant_list'"):
        emu.faults.add("500", operation="participant_list")
    with pytest.raises(ValueError, match="unknown operation"):
        emu.requests.matching(operation="Participants")


def test_log_and_selectors_speak_operations_on_every_provider(
    any_provider: ProviderUnderTest,
) -> None:
    """The participant list of conference X fails, on every wire, and nothing else does."""
    emu = any_provider.emu
    sids = [str(emu.create_conference(f"room {i}", "in-progress")["sid"]) for i in range(2)]
    for sid in sids:
        emu.add_participant(sid, status="connected")
    conn = any_provider.connect()
    emu.requests.clear()
    emu.faults.add("500", operation="participants", conference=sids[1])
    sql = "SELECT count(*) FROM Participants WHERE ConferenceSid = ?"
    assert conn.cursor().execute(sql, (sids[0],)).fetchone() == (1,)
    with pytest.raises(driver.OperationalError):
        conn.cursor().execute(sql, (sids[1],)).fetchall()
    assert not emu.faults.pending
    assert [(r.operation, r.conference, r.fault) for r in emu.requests] == [
        ("participants", sids[0], None),
        ("participants", sids[1], "500"),
    ]
    assert len(emu.requests.matching("GET", operation="participants", conference=sids[1])) == 1
    emu.requests.clear()
    conn.cursor().execute("SELECT Sid FROM Conferences WHERE Sid = ?", (sids[0],)).fetchall()
    assert {r.operation for r in emu.requests} <= {"conference", "conferences"}
