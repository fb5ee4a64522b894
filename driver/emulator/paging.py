"""List paging: PageSize/Page/PageToken and the Twilio list envelope.

A ``PageToken`` is ``PA<sid>`` (the page after that item) or ``PB<sid>`` (the
page before it), as Twilio's look.  Resolving one is a dictionary or bisect
lookup, so following ``next_page_uri`` costs O(page), not O(total).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeVar
from urllib.parse import quote, urlencode

from .errors import invalid
from .params import Params

T = TypeVar("T")

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 1000


@dataclass(frozen=True, slots=True)
class PageRequest:
    """The paging parameters of one list request."""

    page_size: int = DEFAULT_PAGE_SIZE
    page: int = 0
    token: str | None = None

    @classmethod
    def parse(cls, params: Params) -> PageRequest:
        """Read and validate ``PageSize``, ``Page`` and ``PageToken``."""
        size = params.integer("PageSize", 1, MAX_PAGE_SIZE)
        page = params.integer("Page", 0, None)
        token = params.get("PageToken")
        if token is not None and (len(token) < 3 or token[:2] not in ("PA", "PB")):
            raise invalid(f"Invalid value for PageToken: '{token}'")
        return cls(DEFAULT_PAGE_SIZE if size is None else size, page or 0, token or None)


@dataclass(slots=True)
class Window(Generic[T]):
    """The items of one page and whether more follow."""

    items: list[T]
    has_next: bool


def select(
    items: Sequence[T],
    request: PageRequest,
    keep: Callable[[T], bool] | None,
    locate: Callable[[str], int | None],
) -> Window[T]:
    """Pick the page ``request`` names from ``items`` (already in listing order).

    ``keep`` filters items (``None`` keeps all); ``locate`` maps a token's SID
    to its index in ``items`` or ``None`` when it is not part of this list.
    """
    size = request.page_size
    if request.token is None:
        if keep is None:
            start = request.page * size
            chosen = list(items[start : start + size])
            return Window(chosen, start + size < len(items))
        index = _skip(items, keep, request.page * size)
        return _forward(items, index, size, keep)
    anchor = locate(request.token[2:])
    if anchor is None:
        raise invalid(f"Invalid value for PageToken: '{request.token}'")
    if request.token.startswith("PA"):
        return _forward(items, anchor + 1, size, keep)
    before: list[T] = []
    index = anchor - 1
    while index >= 0 and len(before) < size:
        if keep is None or keep(items[index]):
            before.append(items[index])
        index -= 1
    before.reverse()
    return Window(before, _any_from(items, anchor, keep))


def _skip(items: Sequence[T], keep: Callable[[T], bool], count: int) -> int:
    """Index just past the first ``count`` kept items."""
    index = 0
    while count > 0 and index < len(items):
        if keep(items[index]):
            count -= 1
        index += 1
    return index


def _forward(
    items: Sequence[T], index: int, size: int, keep: Callable[[T], bool] | None
) -> Window[T]:
    if keep is None:
        return Window(list(items[index : index + size]), index + size < len(items))
    chosen: list[T] = []
    # Filter slice by slice: each slice is no longer than the items still wanted,
    # so nothing past the page's last kept item is taken.
    while index < len(items) and len(chosen) < size:
        batch = items[index : index + size - len(chosen)]
        chosen.extend(filter(keep, batch))
        index += len(batch)
    return Window(chosen, _any_from(items, index, keep))


def _any_from(items: Sequence[T], index: int, keep: Callable[[T], bool] | None) -> bool:
    if keep is None:
        return index < len(items)
    return any(keep(items[i]) for i in range(index, len(items)))


def query_string(pairs: Sequence[tuple[str, str]]) -> str:
    """Encode pairs the way Twilio's page URIs are (``DateCreated%3C=...``)."""
    return urlencode(list(pairs), quote_via=quote)


def envelope(
    key: str,
    path: str,
    filters: Sequence[tuple[str, str]],
    request: PageRequest,
    rendered: Sequence[object],
    sids: tuple[str, str] | None,
    has_next: bool,
) -> dict[str, object]:
    """Build the list envelope; ``sids`` are the first and last SIDs on the page."""

    def uri(page: int, token: str | None) -> str:
        pairs = [*filters, ("PageSize", str(request.page_size)), ("Page", str(page))]
        if token is not None:
            pairs.append(("PageToken", token))
        return f"{path}?{query_string(pairs)}"

    start = request.page * request.page_size
    next_uri = uri(request.page + 1, f"PA{sids[1]}") if has_next and sids else None
    previous_uri = uri(request.page - 1, f"PB{sids[0]}") if request.page > 0 and sids else None
    return {
        "first_page_uri": uri(0, None),
        "next_page_uri": next_uri,
        "previous_page_uri": previous_uri,
        "page": request.page,
        "page_size": request.page_size,
        "start": start,
        "end": start + max(len(rendered) - 1, 0),
        "uri": uri(request.page, request.token),
        key: rendered,
    }
