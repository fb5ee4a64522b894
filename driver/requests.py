"""Provider requests for tables: URLs, pages, single resources.

This module knows a provider's *shape* (paths, paging, envelopes) from its
:class:`~driver.providers.Provider` (paths from its mapping, paging and
envelopes from its class), and nothing about SQL.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from typing import Any
from urllib.parse import quote

from . import loop
from .errors import Error, OperationalError
from .http import ApiClient
from .providers import Provider
from .schema import TableMapping


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

    def __init__(self, client: ApiClient, provider: Provider) -> None:
        self.client = client
        self.provider = provider
        paging = provider.mapping.paging
        self.max_page_size = int(paging.get("max_page_size", 1000))

    def url(self, template: str, values: Mapping[str, str]) -> str:
        """Root + template with every placeholder percent-encoded as one path segment."""
        filled = {**self.provider.root_values(), **values}
        out = self.provider.mapping.root + template
        for name, value in filled.items():
            out = out.replace("{" + name + "}", segment(str(value)))
        if "{" in out:
            raise OperationalError(f"internal: unfilled placeholder in {template!r}")
        return out

    def pages(
        self,
        table: str,
        mapping: TableMapping,
        path_values: Mapping[str, str],
        params: Sequence[tuple[str, str]],
        page_size: int | None = None,
    ) -> AsyncIterator[list[dict[str, Any]]]:
        """Yield each page of a list (its items), following the provider's paging.

        A list under a parent that does not exist (404 on its first page) yields
        nothing.  Any other failure, on any page, raises: a scan is never
        silently shortened.
        """
        return self._pages(table, mapping, path_values, params, page_size, None)

    def values(
        self,
        table: str,
        mapping: TableMapping,
        path_values: Mapping[str, str],
        params: Sequence[tuple[str, str]],
        page_size: int | None,
        fields: tuple[str, ...],
    ) -> AsyncIterator[Iterable[tuple[Any, ...]]]:
        """As :meth:`pages`, each item as a tuple of ``fields``' values (``None`` where
        it has no such field): the fast path of a scan.  A page is read once."""
        return self._pages(table, mapping, path_values, params, page_size, fields)

    async def _pages(
        self,
        table: str,
        mapping: TableMapping,
        path_values: Mapping[str, str],
        params: Sequence[tuple[str, str]],
        page_size: int | None,
        fields: tuple[str, ...] | None,
    ) -> AsyncIterator[Any]:
        size = min(page_size or self.max_page_size, self.max_page_size)
        url = self.url(mapping.list, path_values)
        what = f"list {table}"
        query = list(params)
        pages = (
            self.provider.pages(self.client, url, query, mapping, size, what)
            if fields is None
            else self.provider.values(self.client, url, query, mapping, size, what, fields)
        )
        first = True
        async with loop.closing(pages):
            while True:
                try:
                    page = await pages.__anext__()
                except StopAsyncIteration:
                    return
                except Error as exc:
                    if first and exc.status == 404 and path_values:
                        return
                    raise
                first = False
                yield page

    async def fetch(
        self, table: str, mapping: TableMapping, path_values: Mapping[str, str]
    ) -> dict[str, Any] | None:
        """One resource by key; ``None`` when it does not exist."""
        assert mapping.fetch is not None
        try:
            body = await self.client.json(
                "GET", self.url(mapping.fetch, path_values), what=f"fetch {table}"
            )
        except Error as exc:
            if exc.status == 404:
                return None
            raise
        assert body is not None
        return self.provider.unwrap(body)
