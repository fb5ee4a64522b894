"""The client side of the per-provider scenarios (P1, P3), for ``workloads.py``.

For each provider whose emulator lists conferences (Twilio, SignalWire, Telnyx
Call Control, Telnyx TeXML) this module builds the two non-confsql jobs:

* ``raw``: plain httpx sending the requests confsql sends (same paths, query
  pairs in the same order, the same auth header shape) with the best schedule a
  hand-written loop would use, at a fixed concurrency and the same pool layout
  as confsql (``driver.http.CONNECTIONS_PER_POOL``).  Next-link lists
  (Twilio, SignalWire, TeXML) follow ``next_page_uri`` one page after the
  other, as they must; Telnyx reads page 1, then every other page number at
  once (as many in flight as the concurrency allows), as confsql does.
* ``sdk-default`` / ``sdk-tuned``: the provider's own SDK as users write it,
  where one installs and can be pointed at the emulator (:data:`SDK_NOTES`
  says which, and why not for the others).

The harness (``run.py``) compares the requests the emulator logged for confsql
and for plain httpx, so a schedule that sent different requests would show.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit

Job = Callable[[], int]

# The providers of the P family, in report order (jambonz lists no conferences: see SKIPPED).
PROVIDERS = ("Twilio", "SignalWire", "Telnyx", "TelnyxTeXML")
SKIPPED = (
    "jambonz: excluded — its spec has no conference listing API (confsql derives its "
    "conferences and participants from call events), so there is no list to scan or fan out."
)

# What stands for the provider's SDK in the report, or why there is none.
SDK_NOTES: dict[str, str] = {
    "Twilio": "twilio-python",
    "SignalWire": (
        "no SDK figure: `signalwire` 2.1.1 (the LaML REST client) pins twilio==6.54.0 "
        "(the dev extra has twilio>=9) and sends Twilio's paths (/2010-04-01/…/Conferences.json), "
        "which the SignalWire spec, and so the emulator, does not have; `signalwire-sdk` "
        "has no LaML conference API"
    ),
    "Telnyx": "telnyx (Python SDK), auto-paging list()",
    "TelnyxTeXML": (
        "telnyx (Python SDK): retrieve_conferences() returns one page, so the loop follows "
        "next_page_uri's Page/PageToken by hand"
    ),
}
SDK_MODULE = {"Twilio": "twilio", "Telnyx": "telnyx", "TelnyxTeXML": "telnyx"}


class SdkUnavailable(Exception):
    """The provider has no SDK this benchmark can use (the message says why)."""


# -- plain httpx ------------------------------------------------------------------------


@dataclass(frozen=True)
class Dialect:
    """How one provider spells the requests of P1 and P3."""

    conferences: str  # the conference list, relative to BaseUrl
    participants: str  # a conference's participant list ({sid})
    items: str  # the conference list's items key
    members: str  # the participant list's items key
    id_field: str
    live: tuple[tuple[tuple[str, str], ...], ...]  # the live-conference list queries
    first_page: tuple[tuple[str, str], ...]  # paging query of a conference list's first request
    participant_page: tuple[tuple[str, str], ...]  # query of a participant list's first request
    numbered: bool = False  # Telnyx: page[number]/meta.total_pages, else next_page_uri


def dialect(provider: str, creds: dict[str, str]) -> Dialect:
    """The requests ``provider`` is sent (as confsql sends them: see ``schema/providers``)."""
    if provider in ("Twilio", "SignalWire"):
        json = ".json" if provider == "Twilio" else ""
        account = creds["AccountSid"] if provider == "Twilio" else creds["ProjectId"]
        root = f"/2010-04-01/Accounts/{account}" if provider == "Twilio" else f"/Accounts/{account}"
        size = (("PageSize", "1000"),)
        return Dialect(
            conferences=f"{root}/Conferences{json}",
            participants=f"{root}/Conferences/{{sid}}/Participants{json}",
            items="conferences",
            members="participants",
            id_field="sid",
            live=tuple((("Status", s), *size) for s in ("init", "in-progress")),
            first_page=size,
            participant_page=size,
        )
    if provider == "TelnyxTeXML":
        root = f"/texml/Accounts/{creds['AccountSid']}"
        size = (("PageSize", "1000"),)
        return Dialect(
            conferences=f"{root}/Conferences",
            participants=f"{root}/Conferences/{{sid}}/Participants",
            items="conferences",
            members="participants",
            id_field="sid",
            live=tuple((("Status", s), *size) for s in ("init", "in-progress")),
            first_page=size,
            participant_page=(),  # the spec documents no query for it, so confsql sends none
        )
    if provider == "Telnyx":
        page = (("page[number]", "1"), ("page[size]", "250"))
        return Dialect(
            conferences="/conferences",
            participants="/conferences/{sid}/participants",
            items="data",
            members="data",
            id_field="id",
            live=tuple((("filter[status]", s), *page) for s in ("init", "in_progress")),
            first_page=page,
            participant_page=page,
            numbered=True,
        )
    raise ValueError(f"no per-provider benchmark for {provider!r}")


def auth_headers(provider: str, creds: dict[str, str]) -> dict[str, str]:
    """The Authorization header confsql sends (Basic for the Twilio shapes, else Bearer)."""
    import base64

    if provider in ("Twilio", "SignalWire"):
        user, secret = (
            (creds["AccountSid"], creds["AuthToken"])
            if provider == "Twilio"
            else (creds["ProjectId"], creds["ApiToken"])
        )
        token = base64.b64encode(f"{user}:{secret}".encode()).decode()
        return {"Authorization": f"Basic {token}"}
    return {"Authorization": f"Bearer {creds['ApiKey']}"}


class RawProvider:
    """Plain httpx sending P1's or P3's requests for one provider (see the module docstring)."""

    def __init__(
        self, provider: str, work: str, base_url: str, creds: dict[str, str], concurrency: int
    ) -> None:
        import httpx

        from driver.http import CONNECTIONS_PER_POOL

        if work not in ("conferences", "participants"):
            raise ValueError(f"no plain-httpx form of {work!r} for {provider}")
        self.work = work
        self.d = dialect(provider, creds)
        parts = urlsplit(base_url)
        self.origin = f"{parts.scheme}://{parts.netloc}"  # next_page_uri is host-absolute
        self.loop = asyncio.new_event_loop()
        pools = max(1, -(-concurrency // CONNECTIONS_PER_POOL))
        per_pool = -(-concurrency // pools)
        limits = httpx.Limits(max_connections=per_pool, max_keepalive_connections=per_pool)
        headers = auth_headers(provider, creds)
        self.clients = [
            httpx.AsyncClient(base_url=base_url, headers=headers, limits=limits)
            for _ in range(pools)
        ]
        self.busy = [0] * pools
        self.concurrency = concurrency

    async def _get(self, slots: asyncio.Semaphore, url: str, params: Any = None) -> Any:
        import orjson

        async with slots:
            pool = self.busy.index(min(self.busy))
            self.busy[pool] += 1
            try:
                response = await self.clients[pool].get(url, params=params)
            finally:
                self.busy[pool] -= 1
        response.raise_for_status()
        return orjson.loads(response.content)

    async def _list(
        self, slots: asyncio.Semaphore, path: str, query: tuple[tuple[str, str], ...], key: str
    ) -> list[Any]:
        """The items under ``key`` of one list: next_page_uri in turn, or page 1 then every
        other page number at once."""
        d = self.d
        body = await self._get(slots, path, list(query))
        items: list[Any] = list(body[key])
        if d.numbered:
            pages = int(body["meta"]["total_pages"])
            rest = [(k, v) for k, v in query if k != "page[number]"]
            later = await asyncio.gather(
                *(
                    self._get(slots, path, [*rest[:-1], ("page[number]", str(n)), rest[-1]])
                    for n in range(2, pages + 1)
                )
            )
            for page in later:
                items.extend(page[key])
            return items
        while body.get("next_page_uri"):
            url = urlsplit(body["next_page_uri"])
            body = await self._get(
                slots, self.origin + url.path, parse_qsl(url.query, keep_blank_values=True)
            )
            items.extend(body[key])
        return items

    async def _run(self) -> int:
        d = self.d
        slots = asyncio.Semaphore(self.concurrency)
        if self.work == "conferences":
            return len(await self._list(slots, d.conferences, d.first_page, d.items))
        lists = await asyncio.gather(
            *(self._list(slots, d.conferences, q, d.items) for q in d.live)
        )
        sids = [c[d.id_field] for page in lists for c in page]
        members = await asyncio.gather(
            *(
                self._list(slots, d.participants.format(sid=sid), d.participant_page, d.members)
                for sid in sids
            )
        )
        return sum(len(m) for m in members)

    def __call__(self) -> int:
        return self.loop.run_until_complete(self._run())


# -- provider SDKs -----------------------------------------------------------------------


def sdk_job(provider: str, work: str, base_url: str, creds: dict[str, str], tuned: bool) -> Job:
    """The provider's SDK pointed at the emulator (raises :class:`SdkUnavailable`)."""
    if provider not in SDK_MODULE:
        raise SdkUnavailable(SDK_NOTES.get(provider, f"no SDK for {provider}"))
    try:
        __import__(SDK_MODULE[provider])
    except ImportError:
        raise SdkUnavailable(
            f"the `{SDK_MODULE[provider]}` package is not installed "
            f"(pip install {SDK_MODULE[provider]})"
        ) from None
    if provider == "Telnyx":
        return _telnyx_job(work, base_url, creds, tuned)
    if provider == "TelnyxTeXML":
        return _texml_job(work, base_url, creds, tuned)
    raise SdkUnavailable("twilio-python's job lives in workloads.py")


def _telnyx_job(work: str, base_url: str, creds: dict[str, str], tuned: bool) -> Job:
    """telnyx-python: ``conferences.list()`` auto-pages by page number, one page at a time."""
    import telnyx

    client = telnyx.Telnyx(api_key=creds["ApiKey"], base_url=base_url)
    paging: dict[str, Any] = {"page_size": 250} if tuned else {}

    def conferences() -> int:
        return sum(1 for _ in client.conferences.list(**paging))

    def participants() -> int:
        rows = 0
        for conf in client.conferences.list(filter={"status": "in_progress"}, **paging):
            rows += sum(1 for _ in client.conferences.list_participants(conf.id, **paging))
        return rows

    return {"conferences": conferences, "participants": participants}[work]


def _texml_job(work: str, base_url: str, creds: dict[str, str], tuned: bool) -> Job:
    """telnyx-python's TeXML resources: one page per call, next_page_uri followed by hand."""
    import telnyx

    client = telnyx.Telnyx(api_key=creds["ApiKey"], base_url=base_url)
    account = creds["AccountSid"]
    api = client.texml.accounts.conferences
    paging: dict[str, Any] = {"page_size": 1000} if tuned else {}

    def conference_pages(**filters: Any) -> list[Any]:
        page = api.retrieve_conferences(account, **filters, **paging)
        found = list(page.conferences or [])
        while page.next_page_uri:
            query = dict(parse_qsl(urlsplit(page.next_page_uri).query))
            page = api.retrieve_conferences(
                account,
                **filters,
                page=int(query["Page"]),
                page_size=int(query["PageSize"]),
                page_token=query["PageToken"],
            )
            found.extend(page.conferences or [])
        return found

    def conferences() -> int:
        return len(conference_pages())

    def participants() -> int:
        rows = 0
        for conf in conference_pages(status="in-progress"):
            answer = api.participants.retrieve_participants(conf.sid, account_sid=account)
            rows += len(answer.participants or [])
        return rows

    return {"conferences": conferences, "participants": participants}[work]
