"""A stateful Twilio-compatible Conference/Participant API for tests and demos.

Modules, in the order a request meets them: :mod:`.server` (uvicorn on
127.0.0.1) → :mod:`.app` (auth, latency, faults, request log) →
:mod:`.routing` (raw-path segments) → :mod:`.endpoints` (one function per
operation, using :mod:`.params` and :mod:`.paging`) → :mod:`.state` (the
model) → :mod:`.resources` (JSON rendering, cached per object for list pages)
→ :mod:`.encoding` (orjson when available).  :mod:`.emulator` is the Python
facade and :mod:`.seed` fills it with data.  :mod:`.callbacks` posts signed
conference status callbacks (``ConferenceStatusCallback``) from a background
thread.

Where Twilio's behaviour is not pinned down by the spec, the emulator:

* answers 401/20003 when valid credentials name another account in the path;
* answers 400/20001 to ``Status=completed`` (or an announcement) on a
  conference that is already completed;
* answers 400/16025 for a label already used by a live participant and
  400/16024 for an invalid label (over 128 chars, ``/``, or CA-SID-like);
* answers 400/21603 and 400/21604 for a missing ``From`` / ``To``;
* treats participants that left (``complete``/``failed``) as gone: fetch,
  update and delete answer 404, lists omit them;
* lists participants in join order and conferences newest first (ties by SID).

Faults for tests (:data:`FAULT_KINDS`, documented in :mod:`.faults`): 429 with
or without Retry-After, 500, a dropped connection, a hang, a 3xx with an empty
body and a 2xx with an empty body, each before or after the request is applied.
Every logged request and every fault selector names what was asked for by one
provider-neutral :data:`OPERATIONS` entry (``"participants"``: a conference's
participant list, on every wire), so tests need not spell a provider's paths.

>>> from driver.emulator import Emulator, EmulatorServer, DEMO_ACCOUNT_SID
>>> emu = Emulator()
>>> emu.conferences() == []
True
"""

from __future__ import annotations

from .app import ConnectionDropped, create_app
from .emulator import Emulator
from .faults import FAULT_KINDS, Fault, FaultPlan, RequestLog, RequestRecord
from .routing import OPERATIONS
from .server import EmulatorServer
from .sids import DEMO_ACCOUNT_SID, DEMO_AUTH_TOKEN

__all__ = [
    "DEMO_ACCOUNT_SID",
    "DEMO_AUTH_TOKEN",
    "FAULT_KINDS",
    "OPERATIONS",
    "ConnectionDropped",
    "Emulator",
    "EmulatorServer",
    "Fault",
    "FaultPlan",
    "RequestLog",
    "RequestRecord",
    "create_app",
]
