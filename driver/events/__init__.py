"""Conference events: a webhook receiver (``confsql listen``) and the ConferenceEvents table.

Modules, in the order an event meets them: :mod:`.app` (the ASGI routes: body limit, content
type) → :mod:`.signatures` (each provider's scheme) → :mod:`.parse` (provider body →
:class:`~.record.EventRecord`, names mapped by :mod:`.vocabulary`) → :mod:`.writer` (group
commit) → :mod:`.store` (the SQLite file).  :mod:`.cli` and :mod:`.server` run it;
:mod:`.table` shows the stored events to a DB-API connection that sets ``EventsDb``.

This package imports no web framework until a receiver is started, so ``import driver``
stays light.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .config import DEFAULT_EVENTS_DB, ReceiverConfig, Secrets
from .vocabulary import EVENTS

if TYPE_CHECKING:
    from .server import ReceiverServer

__all__ = ["DEFAULT_EVENTS_DB", "EVENTS", "ReceiverConfig", "ReceiverServer", "Secrets"]


def __getattr__(name: str) -> Any:
    if name == "ReceiverServer":
        from .server import ReceiverServer

        return ReceiverServer
    raise AttributeError(name)
