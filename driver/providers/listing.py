"""List pages decoded straight into value tuples (the hot path of a large scan).

Twilio and TeXML answer a list with one JSON object: the page's items under
one key (``participants``) and the next page's link under another
(``next_page_uri``).  Decoding that into dicts and then reading a dozen keys
from each costs about as much as everything else a large scan does, so
:class:`ListDecoder` asks msgspec for just the wanted fields of each item, as
a struct, and hands back plain tuples in the caller's field order (a field an
item leaves out reads as ``None``, as ``dict.get`` would give).

Values are exactly what ``orjson.loads`` would produce (fields are typed
``Any``), so the rows built from them do not depend on which path ran.  An
answer of another shape (not an object, no items list, items that are not
objects) is not handled here: :meth:`ListDecoder.decode` returns ``None`` and
the caller decodes it the ordinary way, which reports what is wrong.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Sequence
from typing import Any

import msgspec

Values = tuple[Any, ...]


class ListDecoder:
    """Decodes one kind of list page: its items (as tuples of ``fields``) and next link."""

    def __init__(self, items_key: str, next_field: str, fields: Sequence[str]) -> None:
        self.fields = tuple(fields)
        # Attribute names are positional (f0, f1, ...); ``rename`` maps them to the JSON keys,
        # so any key works, identifier or not.
        item = msgspec.defstruct(
            "Item",
            [(f"f{i}", Any, None) for i in range(len(self.fields))],
            rename={f"f{i}": name for i, name in enumerate(self.fields)},
            gc=False,  # flat values only: nothing for the cycle collector to track
        )
        page = msgspec.defstruct(
            "Page",
            [("items", list[item]), ("next", Any, None)],  # type: ignore[valid-type]
            rename={"items": items_key, "next": next_field},
            gc=False,
        )
        self._decoder = msgspec.json.Decoder(page)

    def decode(self, content: bytes) -> tuple[Iterator[Values], Any] | None:
        """(the items' value tuples, the next-link field's raw value), or ``None`` for
        another shape.

        The tuples are made as they are iterated, once: each lives only while
        its row is built, so a page does not leave a thousand short-lived
        tuples for the cycle collector to count (and run for).
        """
        try:
            page: Any = self._decoder.decode(content)
        except (msgspec.ValidationError, msgspec.DecodeError):
            return None
        return map(msgspec.structs.astuple, page.items), page.next


@functools.lru_cache(maxsize=64)
def list_decoder(items_key: str, next_field: str, fields: tuple[str, ...]) -> ListDecoder:
    """The decoder for one table's pages (built once: building one costs a few ms)."""
    return ListDecoder(items_key, next_field, fields)
