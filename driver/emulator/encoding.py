"""JSON response bodies: ``orjson`` when it is importable, the stdlib otherwise.

Both produce the same compact UTF-8 JSON as Starlette's ``JSONResponse``
(``","``/``":"`` separators, non-ASCII unescaped, keys in insertion order).
List pages embed each item's cached encoding (see :func:`embed`), so a page
costs a copy of bytes per item rather than a re-encode.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a core dependency
    _orjson = None  # type: ignore[assignment]


def dumps(content: Any) -> bytes:
    """Encode ``content`` (which may hold :func:`embed` results) as compact JSON."""
    if _orjson is not None:
        return _orjson.dumps(content)
    return json.dumps(
        content, ensure_ascii=False, allow_nan=False, indent=None, separators=(",", ":")
    ).encode("utf-8")


def embed(resource: dict[str, object]) -> object:
    """A pre-encoded stand-in for ``resource`` that :func:`dumps` copies verbatim.

    With orjson this is an ``orjson.Fragment`` of the encoded bytes; without
    it, the dict itself (which must then not be mutated).
    """
    if _orjson is not None:
        # Keep a str copy: holding orjson's own (over-allocated, then shrunk)
        # bytes objects by the hundred thousand makes each dumps ~10x slower.
        return _orjson.Fragment(_orjson.dumps(resource).decode())
    return resource


class JSONBody(Response):
    """A JSON response encoded with :func:`dumps`."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """Encode the body."""
        return dumps(content)
