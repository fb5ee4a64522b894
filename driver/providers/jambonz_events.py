"""What the events `confsql listen` recorded say about jambonz conferences and their members.

jambonz lists live conferences by name and nothing else; it has no participant resource.  A
connection with ``EventsDb`` reads the receiver's database (read-only, with :mod:`sqlite3`)
and derives:

* the members of each live conference: calls whose last join in the conference's current run
  was not followed by a leave, with their label, Muted and Hold as last reported, and the
  start/end flags confsql placed them with;
* the dates of each live conference's current run, and the conferences that have ended
  (their last run), with theirs.

A conference *run* ends at a ``conference-end`` event; the current run of a live conference
is what was recorded after its last ``conference-end``.  Events are ordered by jambonz's own
time (milliseconds, in the payload), then by arrival.  Nothing here talks to jambonz: the
caller passes the live names it got from the API, which stays the authority on what is live.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import orjson

from ..errors import OperationalError

PROVIDER = "Jambonz"
BOUNDARIES = ("conference-start", "conference-end")
"""The events that delimit a conference's runs."""
_COLUMNS = "rowid, ConferenceSid, CallSid, Label, Event, Timestamp, Muted, Hold, Payload"


@dataclass(frozen=True)
class Event:
    """One recorded jambonz event, as the derivations need it."""

    at: datetime
    order: int
    conference: str
    call_sid: str | None
    label: str | None
    event: str
    muted: int | None
    hold: int | None
    tag: Mapping[str, Any]


def _when(timestamp: str, payload: Mapping[str, Any]) -> datetime:
    raw = payload.get("time")
    if isinstance(raw, str):
        try:
            value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
        except ValueError:
            pass
        else:
            return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(timestamp).replace(tzinfo=UTC)


def _tag(payload: Mapping[str, Any]) -> Mapping[str, Any]:
    for key in ("customerData", "customer_data"):
        data = payload.get(key)
        if isinstance(data, dict) and isinstance(data.get("confsql"), dict):
            tag: Mapping[str, Any] = data["confsql"]
            return tag
    return {}


def read(
    path: str,
    account: str,
    names: Sequence[str] | None = None,
    kinds: Sequence[str] | None = None,
) -> dict[str, list[Event]]:
    """The account's jambonz events by conference name, in order; ``names`` and ``kinds``
    (event names) narrow them, through the table's indexes."""
    uri = "file:" + quote(str(Path(path).expanduser().resolve())) + "?mode=ro"
    where = ["Provider = ?", "AccountSid = ?"]
    args: list[str] = [PROVIDER, account]
    for column, values in (("ConferenceSid", names), ("Event", kinds)):
        if values is not None:
            where.append(f"{column} IN ({', '.join('?' for _ in values)})")
            args += values
    sql = f'SELECT {_COLUMNS} FROM "ConferenceEvents" WHERE {" AND ".join(where)}'
    try:
        db = sqlite3.connect(uri, uri=True, timeout=5)
        try:
            rows = db.execute(sql, args).fetchall()
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise OperationalError(
            f"EventsDb {path!r} cannot be read ({exc}); it must be the database "
            "`confsql listen` writes"
        ) from None
    out: dict[str, list[Event]] = {}
    for rowid, conference, call, label, name, stamp, muted, hold, raw in rows:
        try:
            payload = orjson.loads(raw)
        except orjson.JSONDecodeError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        out.setdefault(conference, []).append(
            Event(_when(stamp, payload), rowid, conference, call, label, name, muted, hold,
                  _tag(payload))
        )  # fmt: skip
    for events in out.values():
        events.sort(key=lambda e: (e.at, e.order))
    return out


def _current_run(events: Sequence[Event]) -> Sequence[Event]:
    """The events after the last ``conference-end``."""
    for index in range(len(events) - 1, -1, -1):
        if events[index].event == "conference-end":
            return events[index + 1 :]
    return events


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class Member:
    """A live member of a conference, as the events describe it."""

    conference: str
    call_sid: str
    label: str | None
    muted: int | None
    hold: int | None
    start_on_enter: bool | None
    end_on_exit: bool | None
    joined: datetime
    updated: datetime

    def item(self, account: str) -> dict[str, Any]:
        """The row's fields, as schema/providers/jambonz.toml names them."""
        return {
            "conference_sid": self.conference,
            "call_sid": self.call_sid,
            "account_sid": account,
            "label": self.label,
            "status": "connected",
            "muted": None if self.muted is None else bool(self.muted),
            "hold": None if self.hold is None else bool(self.hold),
            "start_conference_on_enter": self.start_on_enter,
            "end_conference_on_exit": self.end_on_exit,
            "date_created": _iso(self.joined),
            "date_updated": _iso(self.updated),
        }


_FLAGS = {
    "participant-mute": ("muted", 1),
    "participant-unmute": ("muted", 0),
    "participant-hold": ("hold", 1),
    "participant-unhold": ("hold", 0),
}


def members(events: Sequence[Event]) -> list[Member]:
    """The live members of a conference's current run, in the order they joined."""
    found: dict[str, Member] = {}
    for event in _current_run(events):
        call = event.call_sid
        if call is None:
            continue
        if event.event == "participant-join":
            tag = event.tag
            found.pop(call, None)
            found[call] = Member(
                conference=event.conference,
                call_sid=call,
                label=event.label,
                muted=event.muted,
                hold=event.hold,
                start_on_enter=(tag.get("startConferenceOnEnter") is not False) if tag else None,
                end_on_exit=(tag.get("endConferenceOnExit") is True) if tag else None,
                joined=event.at,
                updated=event.at,
            )
        elif event.event == "participant-leave":
            found.pop(call, None)
        elif event.event in _FLAGS and call in found:
            which, value = _FLAGS[event.event]
            setattr(found[call], which, value)
            found[call].updated = event.at
    return list(found.values())


def live_members(recorded: Mapping[str, Sequence[Event]], live: Iterable[str]) -> list[Member]:
    """Every live member of the live conferences ``live`` (names jambonz listed)."""
    return [m for name in live for m in members(recorded.get(name, ()))]


def conference_items(
    recorded: Mapping[str, Sequence[Event]], live: Sequence[str], account: str
) -> list[dict[str, Any]]:
    """Conference rows: the live ones jambonz listed (dates from their current run, when
    recorded), then the ones that ended according to the events (their last run)."""
    out: list[dict[str, Any]] = []
    live_set = set(live)
    for name in dict.fromkeys(live):
        run = _current_run(recorded.get(name, ()))
        began = [e.at for e in run if e.event == "conference-start"]
        out.append(
            {
                "name": name,
                "account_sid": account,
                "status": "in-progress",
                "date_created": _iso(began[-1]) if began else None,
                "date_updated": _iso(run[-1].at) if run else None,
            }
        )
    for name in sorted(n for n in recorded if n not in live_set):
        # Not live, so ended: its last run starts at the last conference-start recorded and
        # ended at the first conference-end after it (jambonz may post several).
        events = recorded[name]
        starts: list[int] = [i for i, e in enumerate(events) if e.event == "conference-start"]
        begin = starts[-1] if starts else 0
        ended = next((e.at for e in events[begin:] if e.event == "conference-end"), None)
        out.append(
            {
                "name": name,
                "account_sid": account,
                "status": "completed",
                "date_created": _iso(events[begin].at) if starts else None,
                "date_updated": _iso(ended) if ended is not None else None,
            }
        )
    return out
