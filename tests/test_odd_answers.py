"""Answers that are not the documented success are errors, never short results (issue 14 C, B2, E).

A 204, a 3xx or an empty 2xx on any page of a scan raises; on a write they
are an unknown outcome with a query to check.  (A next-page link to another
origin is refused rather than followed with the credentials: Twilio's
``next_page_uri``, in tests/providers/test_twilio.py.)
"""

from __future__ import annotations

import pytest

import driver
from driver.emulator import Emulator

ADD = (
    "EXEC AddParticipants ConferenceSid = 'Room', From = '+15550100', To = '+15550101', Label = 'x'"
)


@pytest.fixture
def two_pages(emu: Emulator) -> int:
    """1,500 conferences: two pages of the list (1,000 a page)."""
    emu.seed_bulk(1500, status="in-progress")
    emu.requests.clear()
    return 1500


@pytest.mark.parametrize(
    ("kind", "status"),
    [("empty-2xx", 204), ("empty-2xx", 200), ("redirect", 302), ("redirect", 301)],
)
@pytest.mark.parametrize("skip", [0, 1], ids=["first page", "second page"])
def test_odd_answer_on_any_page_raises(
    conn: driver.Connection, emu: Emulator, two_pages: int, kind: str, status: int, skip: int
) -> None:
    emu.faults.add(kind, status=status, operation="conferences", skip=skip)
    with pytest.raises(driver.OperationalError, match="results are never silently short"):
        conn.cursor().execute("SELECT count(*) FROM Conferences").fetchall()
    assert conn.cursor().execute("SELECT count(*) FROM Conferences").fetchone() == (two_pages,)


@pytest.mark.parametrize(
    ("kind", "status"),
    [("empty-2xx", 200), ("empty-2xx", 201), ("redirect", 302), ("redirect", 307)],
)
def test_odd_answer_to_a_write_is_an_unknown_outcome(
    conn: driver.Connection, emu: Emulator, kind: str, status: int
) -> None:
    emu.faults.add(kind, status=status, method="POST", after_processing=True)
    with pytest.raises(driver.OperationalError) as info:
        conn.cursor().execute(ADD)
    text = str(info.value)
    assert "may or may not" in text and "To check: SELECT * FROM Participants" in text
    assert "Label = 'x'" in text


def test_500_on_a_write_is_an_unknown_outcome_not_a_retry_advice(
    conn: driver.Connection, emu: Emulator
) -> None:
    emu.faults.add("500", method="POST", after_processing=True)
    with pytest.raises(driver.OperationalError) as info:
        conn.cursor().execute(ADD)
    text = str(info.value)
    assert "may or may not" in text and "NOT retried" in text and "To check:" in text
    assert "try again later" not in text
    assert len(emu.requests.matching("POST")) == 1
