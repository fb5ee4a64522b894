"""At most once and clear errors, on every provider (issue 9 §5: the provider-neutral tests).

The same EXEC AddParticipants runs on each provider's emulator while the
write request meets a fault, before or after the emulator applied it.  On
every provider: the participant is never placed twice, every failure is a
PEP 249 error, a success placed exactly one call, a definite failure placed
none, and an unknown outcome says so with a query to check.
"""

from __future__ import annotations

from typing import Any

import pytest

import driver
from tests.conftest import ProviderUnderTest

FAULTS = [
    ("drop", False),
    ("drop", True),
    ("500", False),
    ("500", True),
    ("timeout-hang", False),
    ("timeout-hang", True),
    ("429", False),
]
ADD = "EXEC AddParticipants ConferenceSid = 'room', From = '+15550100', To = '+15550101'"


def _calls_in_room(provider: ProviderUnderTest, sid: str) -> int:
    with provider.emu.state.lock:
        return len(provider.emu.state.conferences[sid].participants)


@pytest.fixture
def room(any_provider: ProviderUnderTest) -> str:
    """A live conference named 'room' with one participant."""
    sid = str(any_provider.emu.create_conference("room", "in-progress")["sid"])
    any_provider.emu.add_participant(sid, status="connected")
    any_provider.emu.requests.clear()
    return sid


@pytest.mark.parametrize(
    ("kind", "after"), FAULTS, ids=[f"{k}-{'after' if a else 'before'}" for k, a in FAULTS]
)
def test_add_participant_under_a_fault_is_at_most_once(
    any_provider: ProviderUnderTest, room: str, kind: str, after: bool
) -> None:
    conn = any_provider.connect(Timeout=0.4, RetryBudget=2)
    emu = any_provider.emu
    extra: dict[str, Any] = {"retry_after": 0.9} if kind == "timeout-hang" else {}
    emu.faults.add(kind, method="POST", after_processing=after, **extra)
    before = _calls_in_room(any_provider, room)
    try:
        conn.cursor().execute(ADD)
    except driver.Error as exc:
        text = str(exc)
        assert not isinstance(exc, driver.InternalError), text
        placed = _calls_in_room(any_provider, room) - before
        if "may or may not" in text:
            assert placed in (0, 1), text
            assert "To check: SELECT" in text
        else:
            assert placed == 0, text
    else:
        assert _calls_in_room(any_provider, room) - before == 1
    emu.faults.clear()
    assert _calls_in_room(any_provider, room) - before <= 1  # never twice
    # The connection is as healthy as before.
    assert conn.cursor().execute("SELECT count(*) FROM Conferences").fetchone() == (1,)


def test_errors_name_the_problem_on_every_provider(any_provider: ProviderUnderTest) -> None:
    conn = any_provider.connect()
    with pytest.raises(driver.ProgrammingError, match="unknown procedure 'DropEverything'"):
        conn.cursor().execute("EXEC DropEverything")
    with pytest.raises(driver.ProgrammingError, match=r"unknown inputs?: 'Too'"):
        conn.cursor().execute(
            "EXEC AddParticipants ConferenceSid = 'x', From = '+15550100', Too = '+1'"
        )
    with pytest.raises(driver.DataError):
        conn.cursor().execute(
            "EXEC AddParticipants ConferenceSid = 'x', From = '+15550100', To = 'nobody'"
        )
    with pytest.raises(driver.ProgrammingError, match="without WHERE"):
        conn.cursor().execute("DELETE FROM Participants")
    assert any_provider.emu.requests.matching("POST") == []
