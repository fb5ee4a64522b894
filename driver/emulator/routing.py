"""Match request paths to API operations, segment by segment on the raw path.

:data:`OPERATIONS` is the provider-neutral vocabulary every wire names its requests
by; the rest of the module is Twilio's path layout (SignalWire shares it).

Splitting the *raw* path keeps ``%2F`` inside a segment (a friendly name or
label such as ``a/../Calls``) from being taken as a separator; each segment
is percent-decoded only after splitting.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

API_VERSION_SEGMENT = "2010-04-01"
SUFFIX = ".json"

# The operations every wire names its requests by, whatever its paths look like: the
# request log (``RequestRecord.operation``) and the fault selectors (``operation=``,
# ``conference=``) use them, so a test can say "the participant list of conference X"
# without a provider's URL.  A :class:`~.routing.Match`'s ``args`` start with the
# conference (or call) reference as sent; a participant's call follows, and a command
# endpoint (Telnyx's ``…/actions/{name}``) adds the command's name.
OPERATIONS: dict[str, str] = {
    "conferences": "the conference list",
    "conference": "one conference: fetch, update, or a command on it",
    "participants": "one conference's participant list: list, or add a participant",
    "participant": "one participant: fetch, update or remove",
    "calls": "the call list, or place a call",
    "call": "one call: fetch, update, hang up, or a command on it",
}
# The operations whose first argument is a conference.
CONFERENCE_OPERATIONS = frozenset({"conference", "participants", "participant"})

# Operation name -> allowed methods (Twilio's; ``calls``, the list, is not in its slice).
METHODS: dict[str, tuple[str, ...]] = {
    "conferences": ("GET",),
    "conference": ("GET", "POST"),
    "participants": ("GET", "POST"),
    "participant": ("GET", "POST", "DELETE"),
    "call": ("GET", "POST"),
}


@dataclass(frozen=True, slots=True)
class Match:
    """A matched route: the operation and its decoded path arguments."""

    operation: str
    args: tuple[str, ...]


def account_segment(raw_path: str) -> str | None:
    """The decoded AccountSid of a ``/2010-04-01/Accounts/{AccountSid}/...`` path."""
    parts = raw_path.split("/")
    if (
        len(parts) < 5
        or parts[0] != ""
        or parts[1] != API_VERSION_SEGMENT
        or parts[2] != "Accounts"
    ):
        return None
    return unquote(parts[3]) or None


def match(raw_path: str, suffix: str = SUFFIX) -> Match | None:
    """Map a raw path under an account to an operation, or ``None`` (404).

    ``suffix`` ends every resource path (Twilio's ``.json``; SignalWire has none).
    """
    if account_segment(raw_path) is None:
        return None
    rest = raw_path.split("/")[4:]
    if suffix:
        if not rest[-1].endswith(suffix):
            return None
        rest[-1] = rest[-1][: -len(suffix)]
    if any(segment == "" for segment in rest):
        return None
    decoded = tuple(unquote(segment) for segment in rest)
    if rest[0] == "Calls":
        if len(rest) == 1:
            return Match("calls", ())
        return Match("call", (decoded[1],)) if len(rest) == 2 else None
    if rest[0] != "Conferences":
        return None
    if len(rest) == 1:
        return Match("conferences", ())
    if len(rest) == 2:
        return Match("conference", (decoded[1],))
    if len(rest) == 3 and rest[2] == "Participants":
        return Match("participants", (decoded[1],))
    if len(rest) == 4 and rest[2] == "Participants":
        return Match("participant", (decoded[1], decoded[3]))
    return None
