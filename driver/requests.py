"""Provider requests for tables: URLs, pages, single resources.

This module knows a provider's *shape* (paths, paging, envelopes) from its
:class:`~driver.schema.Provider` mapping, and nothing about SQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from .errors import Error, OperationalError
from .http import ApiClient
from .schema import Provider, TableMapping


def segment(value: str) -> str:
    """Percent-encode ``value`` as exactly one path segment.

    Every reserved character is encoded (``/`` included), and the dot segments
    ``.`` and ``..`` are encoded too, since HTTP clients and servers would
    otherwise resolve them and call a different endpoint.
    """
    encoded = quote(value, safe="")
    if encoded.strip(".") == "":
        encoded = encoded.replace(".", "%2E")
    return encoded


class Requester:
    """Builds and sends the requests behind table scans for one connection."""

    def __init__(self, client: ApiClient, provider: Provider, account_sid: str) -> None:
        self.client = client
        self.provider = provider
        self.account_sid = account_sid
        self.max_page_size = int(provider.paging.get("max_page_size", 1000))
        self.page_size_param = str(provider.paging.get("page_size_param", "PageSize"))
        self.next_field = str(provider.paging.get("next_field", "next_page_uri"))

    def url(self, template: str, values: Mapping[str, str]) -> str:
        """Root + template with every placeholder percent-encoded as one path segment."""
        filled = dict(values)
        filled.setdefault("AccountSid", self.account_sid)
        out = self.provider.root + template
        for name, value in filled.items():
            out = out.replace("{" + name + "}", segment(str(value)))
        if "{" in out:
            raise OperationalError(f"internal: unfilled placeholder in {template!r}")
        return out

    async def pages(
        self,
        table: str,
        mapping: TableMapping,
        path_values: Mapping[str, str],
        params: Sequence[tuple[str, str]],
        page_size: int | None = None,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield each page of a list, following the provider's next-page link.

        A list under a parent that does not exist (404) yields nothing.  Any
        other failure, on any page, raises: a scan is never silently shortened.
        """
        size = min(page_size or self.max_page_size, self.max_page_size)
        url: str | None = self.url(mapping.list, path_values)
        query: list[tuple[str, str]] | None = [*params, (self.page_size_param, str(size))]
        what = f"list {table}"
        followed: set[str] = set()  # next-page links taken so far
        while url:
            try:
                body = await self.client.json("GET", url, params=query, what=what)
            except Error as exc:
                if exc.status == 404 and query is not None and path_values:
                    return
                raise
            assert body is not None  # json() raises unless the answer is a JSON object
            items = body.get(mapping.items)
            if not isinstance(items, list):
                raise OperationalError(
                    f"{what}: the provider's answer has no '{mapping.items}' list"
                )
            nxt = body.get(self.next_field)
            if isinstance(nxt, str) and nxt in followed:
                raise OperationalError(
                    f"{what}: the provider's next-page link repeats an earlier page ({nxt}); "
                    "stopping rather than returning rows twice"
                )
            url = nxt if isinstance(nxt, str) and nxt else None
            if url:
                followed.add(url)
            query = None  # the next-page link carries the whole query
            # Hand the page over without keeping it in this frame: while a page waits
            # for the consumer, its parsed JSON must not stay alive here as well.
            del body
            handed = [items]
            del items
            yield handed.pop()

    async def fetch(
        self, table: str, mapping: TableMapping, path_values: Mapping[str, str]
    ) -> dict[str, Any] | None:
        """One resource by key; ``None`` when it does not exist."""
        assert mapping.fetch is not None
        try:
            return await self.client.json(
                "GET", self.url(mapping.fetch, path_values), what=f"fetch {table}"
            )
        except Error as exc:
            if exc.status == 404:
                return None
            raise
