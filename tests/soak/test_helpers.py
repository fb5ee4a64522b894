"""The soaks' own judgement: outcome classes, check-query extraction, summaries, leak probes."""

from __future__ import annotations

import driver
from driver.http import OutcomeUnknown

from . import leaks
from .summary import Summary, judged
from .writes import check_query, classify


def test_classify() -> None:
    assert classify(None) == "success"
    assert classify(OutcomeUnknown("x: it may or may not have been carried out")) == "unknown"
    assert classify(driver.OperationalError("429 for too long")) == "failure"
    assert classify(driver.DataError("bad label")) == "failure"
    assert classify(driver.InternalError("please report this")) == "unexpected"
    assert classify(KeyError("x")) == "unexpected"


def test_check_query_is_cut_from_the_message() -> None:
    message = (
        "AddParticipants: timed out. It may or may not have been carried out. "
        "To check: SELECT * FROM Participants WHERE Label = 'a' (a Label makes it easy)"
    )
    assert check_query(message) == "SELECT * FROM Participants WHERE Label = 'a'"
    assert check_query("To check: SELECT 1 ORDER BY DateCreated DESC") == "SELECT 1"
    assert check_query("no hint here") is None


def test_summary_counts_keeps_a_few_reproducers_per_kind_and_merges() -> None:
    first, second = Summary("write", 1), Summary("write", 1)
    for i in range(6):
        first.defect("lost_writes", f"lost {i}")
    second.defect("duplicates", "twice")
    second.defect("lost_writes", "lost again")
    first.merge(second)
    assert first.defects == {"lost_writes": 7, "duplicates": 1}
    assert first.total_defects == 8
    assert sum(r.startswith("[lost_writes]") for r in first.reproducers) == 4
    assert "[duplicates] twice" in first.reproducers
    text = first.render()
    assert "lost_writes 7" in text and "SOAK_SEED=1" in text


def test_judged_lets_ctrl_c_and_exit_through() -> None:
    assert judged(driver.OperationalError("x")) and judged(KeyError("x"))
    assert not judged(KeyboardInterrupt()) and not judged(SystemExit(1))


def test_leak_probes_answer_or_say_they_cannot_see() -> None:
    with driver.connect("Provider=Sandbox") as conn:
        conn.cursor().execute("SELECT count(*) FROM Conferences").fetchall()
        assert leaks.checked_out(conn) is None  # in-process transport: no HTTP pool to look at
        assert leaks.running_tasks() >= 0
    assert leaks.checked_out(object()) is None  # type: ignore[arg-type]
