"""List paging: envelope, next_page_uri, PageSize bounds, page tokens."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from driver.emulator import DEMO_ACCOUNT_SID, Emulator

ROOT = f"/2010-04-01/Accounts/{DEMO_ACCOUNT_SID}"
LIST = f"{ROOT}/Conferences.json"
ENVELOPE = {
    "first_page_uri",
    "next_page_uri",
    "previous_page_uri",
    "page",
    "page_size",
    "start",
    "end",
    "uri",
}


def follow(client: httpx.Client, url: str, params: dict[str, str] | None = None) -> list[dict]:
    """Every page's envelope, following next_page_uri verbatim."""
    pages = [client.get(url, params=params).json()]
    while pages[-1]["next_page_uri"]:
        response = client.get(pages[-1]["next_page_uri"])
        assert response.status_code == 200
        pages.append(response.json())
    return pages


def test_envelope_of_empty_list(client: httpx.Client, emu: Emulator) -> None:
    body = client.get(LIST).json()
    assert set(body) == ENVELOPE | {"conferences"}
    assert body["conferences"] == []
    assert body["next_page_uri"] is None and body["previous_page_uri"] is None
    assert (body["page"], body["page_size"], body["start"], body["end"]) == (0, 50, 0, 0)
    assert body["first_page_uri"] == f"{LIST}?PageSize=50&Page=0"
    assert body["uri"] == body["first_page_uri"]


def test_following_next_page_uri_visits_everything_once_newest_first(
    client: httpx.Client, emu: Emulator
) -> None:
    sids = emu.seed_bulk(conferences=53, status="in-progress")
    pages = follow(client, LIST, {"PageSize": "10"})
    assert len(pages) == 6
    seen = [c["sid"] for page in pages for c in page["conferences"]]
    assert seen == sids  # bulk SIDs are returned newest first
    assert [p["page"] for p in pages] == [0, 1, 2, 3, 4, 5]
    assert [(p["start"], p["end"]) for p in pages][:2] == [(0, 9), (10, 19)]
    assert pages[-1]["start"] == 50 and pages[-1]["end"] == 52
    assert pages[0]["previous_page_uri"] is None
    assert pages[1]["previous_page_uri"].startswith(LIST)
    assert "PageToken=PA" in pages[0]["next_page_uri"]
    assert all(p["next_page_uri"].startswith(f"{ROOT}/") for p in pages[:-1])


def test_previous_page_uri_returns_the_previous_page(client: httpx.Client, emu: Emulator) -> None:
    emu.seed_bulk(conferences=25)
    pages = follow(client, LIST, {"PageSize": "10"})
    back = client.get(pages[2]["previous_page_uri"]).json()
    assert back["page"] == 1
    assert [c["sid"] for c in back["conferences"]] == [c["sid"] for c in pages[1]["conferences"]]


def test_next_page_uri_keeps_filters(client: httpx.Client, emu: Emulator) -> None:
    emu.seed_bulk(conferences=30, status="completed")
    emu.seed_bulk(conferences=30, status="in-progress")
    pages = follow(client, LIST, {"PageSize": "7", "Status": "completed"})
    assert "Status=completed" in pages[0]["next_page_uri"]
    statuses = {c["status"] for page in pages for c in page["conferences"]}
    assert statuses == {"completed"}
    assert sum(len(p["conferences"]) for p in pages) == 30


def test_ties_on_date_created_break_by_sid(client: httpx.Client, emu: Emulator) -> None:
    when = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    for name in ("a", "b", "c", "d"):
        emu.create_conference(name, date_created=when)
    emu.create_conference("newer", date_created=when + timedelta(seconds=1))
    listed = [c["sid"] for c in follow(client, LIST, {"PageSize": "2"})[0]["conferences"]]
    rest = sorted(str(c["sid"]) for c in emu.conferences() if c["friendly_name"] != "newer")
    assert listed[0] == emu.conferences()[0]["sid"]
    assert emu.conferences()[0]["friendly_name"] == "newer"
    assert listed[1] == rest[0]


@pytest.mark.parametrize("size", ["0", "1001", "-3", "ten"])
def test_page_size_out_of_range_is_400(client: httpx.Client, size: str) -> None:
    response = client.get(LIST, params={"PageSize": size})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == 20001 and "PageSize" in body["message"]


@pytest.mark.parametrize("size", [1, 1000])
def test_page_size_bounds_are_accepted(client: httpx.Client, emu: Emulator, size: int) -> None:
    emu.seed_bulk(conferences=3)
    body = client.get(LIST, params={"PageSize": size}).json()
    assert body["page_size"] == size
    assert len(body["conferences"]) == min(size, 3)


def test_bad_page_token_is_400(client: httpx.Client) -> None:
    for token in ("garbage", "PACF00000000000000000000000000000000"):
        response = client.get(LIST, params={"PageToken": token, "Page": "1"})
        assert response.status_code == 400
        assert "PageToken" in response.json()["message"]


def test_page_without_token_is_an_offset(client: httpx.Client, emu: Emulator) -> None:
    sids = emu.seed_bulk(conferences=12)
    body = client.get(LIST, params={"PageSize": "5", "Page": "2"}).json()
    assert [c["sid"] for c in body["conferences"]] == sids[10:]
    assert body["next_page_uri"] is None


def test_participant_paging(client: httpx.Client, emu: Emulator) -> None:
    (sid,) = emu.seed_bulk(conferences=1, participants_per=7, status="in-progress")
    url = f"{ROOT}/Conferences/{sid}/Participants.json"
    pages = follow(client, url, {"PageSize": "3"})
    assert [len(p["participants"]) for p in pages] == [3, 3, 1]
    labels = [p["label"] for page in pages for p in page["participants"]]
    assert labels == [f"p{i}" for i in range(7)]  # join order
    assert "PageToken=PA" in pages[0]["next_page_uri"]


def test_paging_5000_conferences_is_fast(client: httpx.Client, emu: Emulator) -> None:
    emu.seed_bulk(conferences=5000)
    started = time.perf_counter()
    pages = follow(client, LIST, {"PageSize": "1000"})
    assert sum(len(p["conferences"]) for p in pages) == 5000
    tail = follow(client, LIST, {"PageSize": "50", "Page": "0"})
    assert len(tail) == 100
    assert time.perf_counter() - started < 8
