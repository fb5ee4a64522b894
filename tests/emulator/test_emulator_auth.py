"""HTTP Basic auth with auth tokens and API keys."""

from __future__ import annotations

import httpx

from driver.emulator import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN, Emulator, EmulatorServer

OTHER_SID = "AC" + "1" * 32
KEY_SID = "SK" + "2" * 32
LIST = f"/2010-04-01/Accounts/{DEMO_ACCOUNT_SID}/Conferences.json"


def get(server: EmulatorServer, path: str, auth: tuple[str, str] | None) -> httpx.Response:
    return httpx.get(server.base_url + path, auth=auth)


def assert_401(response: httpx.Response) -> None:
    assert response.status_code == 401
    assert response.json()["code"] == 20003
    assert response.json()["status"] == 401
    assert response.headers["www-authenticate"].startswith("Basic")


def test_auth_token(server: EmulatorServer, emu: Emulator) -> None:
    assert get(server, LIST, (DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN)).status_code == 200


def test_wrong_token_missing_header_and_unknown_user(server: EmulatorServer, emu: Emulator) -> None:
    assert_401(get(server, LIST, (DEMO_ACCOUNT_SID, "nope")))
    assert_401(get(server, LIST, None))
    assert_401(get(server, LIST, ("AC" + "9" * 32, DEMO_AUTH_TOKEN)))
    garbled = httpx.get(server.base_url + LIST, headers={"Authorization": "Basic !!!"})
    assert_401(garbled)


def test_api_key(server: EmulatorServer, emu: Emulator) -> None:
    emu.add_api_key(DEMO_ACCOUNT_SID, KEY_SID, "s3cret")
    assert get(server, LIST, (KEY_SID, "s3cret")).status_code == 200
    assert_401(get(server, LIST, (KEY_SID, "wrong")))


def test_credentials_for_another_account_are_401(server: EmulatorServer, emu: Emulator) -> None:
    emu.add_account(OTHER_SID, "other-token")
    emu.add_api_key(OTHER_SID, KEY_SID, "s3cret")
    assert get(
        server, f"/2010-04-01/Accounts/{OTHER_SID}/Conferences.json", (OTHER_SID, "other-token")
    )
    assert_401(get(server, LIST, (OTHER_SID, "other-token")))
    assert_401(get(server, LIST, (KEY_SID, "s3cret")))


def test_accounts_are_isolated(server: EmulatorServer, emu: Emulator) -> None:
    emu.add_account(OTHER_SID, "other-token")
    mine = emu.create_conference("mine")
    emu.create_conference("theirs", account_sid=OTHER_SID)
    other_list = f"/2010-04-01/Accounts/{OTHER_SID}/Conferences.json"
    body = get(server, other_list, (OTHER_SID, "other-token")).json()
    assert [c["friendly_name"] for c in body["conferences"]] == ["theirs"]
    path = f"/2010-04-01/Accounts/{OTHER_SID}/Conferences/{mine['sid']}.json"
    assert get(server, path, (OTHER_SID, "other-token")).status_code == 404
