"""What a jambonz feature server does with a call: fetch its hook, run the verbs it answers.

Like the real server, the emulator fetches a placed call's call hook once the call is
answered (here: at once) and a redirected call's new hook; both requests are signed with the
account's webhook secret (``Jambonz-Signature``).  The answer is a JSON array of verbs:
``tag`` sets the call's ``customerData``, ``conference`` puts the call into a conference,
``hangup`` ends it, ``say``/``play``/``pause`` pass at once; a call whose verbs run out is
hung up.  The conference verb behaves as feature-server's lib/tasks/conference.js:

* the first caller with ``startConferenceOnEnter`` not false *starts* the conference (its
  ``statusHook``/``statusEvents`` serve the whole conference; later callers' are ignored);
  callers with ``startConferenceOnEnter: false`` wait for it and join when it starts;
* ``joinMuted``, ``endConferenceOnExit``, ``maxParticipants`` (a full conference refuses a
  caller, who moves on to its next verb);
* a member leaves when its call hangs up or is redirected; the conference ends when the last
  member leaves or a member with ``endConferenceOnExit`` does, which removes everyone else;
* status events, each posted by the member it is about: ``start`` (members 0), ``join``
  (count after joining), ``leave`` (count left behind; 0 for a removed member), ``end``
  posted by the member whose leaving ended it *and again by each member removed with it*
  (members 0), ``start-talking``/``stop-talking``.  ``conference_sid`` is
  ``conf:<account>:<name>``, ``time`` ISO 8601 with milliseconds, keys in snake_case, the
  call's fields alongside (``customerData`` as set by ``tag``);
* changes over REST: ``conf_hold_status`` (this member), ``conf_mute_status`` (every member
  who is not a moderator, i.e. did not join with ``startConferenceOnEnter: true``),
  ``mute_status`` and ``conferenceParticipantAction`` (this member).  None of them is
  reported as an event: jambonz sends none.

A call's ``call_status_hook`` is kept but never called (confsql does not use call status
events).  HTTP requests leave from one background thread, in order, so API requests never wait
for a hook; :meth:`CallEngine.drain` waits until everything queued has run.
"""

from __future__ import annotations

import atexit
import logging
import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
import orjson

from ...events.signatures import jambonz_header
from ..state import Call, Conference, Participant, State

logger = logging.getLogger("driver.emulator.jambonz")

HOOK_TIMEOUT = 5.0
PASSING_VERBS = frozenset({"say", "play", "pause", "answer"})
# conference verb attributes and their JSON types (verb-specifications' specs.json).
CONFERENCE_TYPES: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "beep": (bool,),
    "memberTag": (str,),
    "speakOnlyTo": (str,),
    "startConferenceOnEnter": (bool,),
    "endConferenceOnExit": (bool,),
    "endConferenceDuration": (int, float),
    "maxParticipants": (int, float),
    "joinMuted": (bool,),
    "actionHook": (dict, str),
    "waitHook": (dict, str),
    "statusEvents": (list,),
    "statusHook": (dict, str),
    "enterHook": (dict, str),
    "distributeDtmf": (bool,),
}
STATUS_EVENTS = ("start", "end", "join", "leave", "start-talking", "stop-talking")


@dataclass(frozen=True)
class Hook:
    """A webhook: where, and with which method (jambonz's ``Webhook``)."""

    url: str
    method: str = "POST"

    @classmethod
    def of(cls, raw: object) -> Hook | None:
        """A hook from a verb attribute or request field (a URL, or ``{url, method}``)."""
        if isinstance(raw, str) and raw:
            return cls(raw)
        if isinstance(raw, dict) and isinstance(raw.get("url"), str) and raw["url"]:
            method = str(raw.get("method") or "POST").upper()
            return cls(raw["url"], method if method in ("GET", "POST") else "POST")
        return None


def iso_ms(value: datetime) -> str:
    """``2020-04-27T13:44:17.336Z``, as JavaScript's ``toISOString``."""
    text = value.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


@dataclass
class Counters:
    """What the engine's HTTP requests came to."""

    hooks: int = 0
    hooks_failed: int = 0
    events: int = 0
    events_failed: int = 0
    sent: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


class Worker:
    """Runs jobs in order on one daemon thread; :meth:`drain` waits for all of them."""

    def __init__(self) -> None:
        self._queue: queue.Queue[Callable[[], None]] = queue.Queue()
        self._idle = threading.Condition()
        self._outstanding = 0
        self._thread: threading.Thread | None = None

    def submit(self, job: Callable[[], None]) -> None:
        """Queue ``job`` (never blocks)."""
        with self._idle:
            self._outstanding += 1
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="confsql-emulator-jambonz", daemon=True
                )
                self._thread.start()
                atexit.register(self.drain, 2.0)
        self._queue.put(job)

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every queued job (and the jobs they queued) has run; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._outstanding == 0, timeout)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                job()
            except Exception:  # a job must never stop the thread
                logger.exception("jambonz emulator job failed")
            finally:
                with self._idle:
                    self._outstanding -= 1
                    self._idle.notify_all()


class CallEngine:
    """Calls, their verbs and the conference verb, over the emulator's shared state."""

    def __init__(self, state: State) -> None:
        self.state = state
        self.worker = Worker()
        self.counters = Counters()
        self._waiting: dict[tuple[str, str], list[tuple[str, dict[str, Any]]]] = {}
        self._http: httpx.Client | None = None

    def reset(self) -> None:
        """Let queued work finish, then forget waiting callers and counters."""
        self.worker.drain()
        self._waiting.clear()
        self.counters = Counters()

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every hook fetch and event post queued so far has run."""
        return self.worker.drain(timeout)

    # -- calls --------------------------------------------------------------------------

    def place(
        self,
        account: str,
        from_: str,
        to: str,
        hook: Hook,
        *,
        tag: dict[str, Any] | None = None,
        application_sid: str | None = None,
        status_hook: Hook | None = None,
    ) -> Call:
        """A new outbound call; it is answered and its hook fetched in the background."""
        with self.state.lock:
            call = self.state.new_call(account, from_, to, status="queued")
            call.options.update(
                hook=hook,
                status_hook=status_hook,
                application_sid=application_sid,
                customer_data=tag,
                program=[],
                call_id=f"{call.sid}@emulator.jambonz",
            )
        self.worker.submit(lambda: self._answer(call.sid))
        return call

    def redirect(self, call_sid: str, hook: Hook) -> None:
        """Fetch ``hook`` for a live call and replace what it is doing with the answer."""
        self.worker.submit(lambda: self._fetch_and_run(call_sid, hook, redirect=True))

    def live_call(self, account: str, call_sid: str) -> Call | None:
        """A call of ``account`` that has not ended (placed here, or a seeded member's)."""
        with self.state.lock:
            call = self.state.live_calls.get(call_sid)
            if call is None:
                member = self.state.calls.get(call_sid)
                if member is None or not member.live or member.account_sid != account:
                    return None
                call = Call(call_sid, account, "", "", "in-progress", member.date_created)
                call.options.update(program=[], customer_data=None)
                self.state.live_calls[call_sid] = call
            if call.account_sid != account or call.status in ("completed", "failed"):
                return None
            return call

    def hang_up(self, call_sid: str, status: str = "completed") -> None:
        """End a call: it leaves its conference (or stops waiting) and runs no more verbs."""
        with self.state.lock:
            call = self.state.live_calls.get(call_sid)
            if call is not None:
                call.options["program"] = []
                call.status = status
            self._stop_waiting(call_sid)
            member = self._member(call_sid)
            if member is not None:
                self._leave(member, removed=False, then_continue=False)

    def speech(self, call_sid: str, *, speaking: bool) -> None:
        """The member on ``call_sid`` starts or stops talking."""
        with self.state.lock:
            member = self._member(call_sid)
            if member is None:
                raise KeyError(f"no member on call {call_sid!r}")
            room = self.state.conferences[member.conference_sid]
            event = "start-talking" if speaking else "stop-talking"
            self._notify(room, call_sid, event, len(room.live_participants()))

    # -- changes over REST ----------------------------------------------------------------------

    def hold(self, call_sid: str, on: bool) -> None:
        """``conf_hold_status`` (or the hold/unhold participant action): this member."""
        with self.state.lock:
            member = self._member(call_sid)
            if member is not None and member.hold != on:
                member.hold = on
                member.date_updated = self.state.now()
                member.changed()

    def mute(self, call_sid: str, on: bool) -> None:
        """``mute_status`` or the mute/unmute participant action: this member."""
        with self.state.lock:
            member = self._member(call_sid)
            if member is not None:
                member.muted = on
                member.date_updated = self.state.now()
                member.changed()

    def mute_others(self, call_sid: str, on: bool) -> None:
        """``conf_mute_status``: every member of this call's conference who is no moderator."""
        with self.state.lock:
            member = self._member(call_sid)
            if member is None:
                return
            room = self.state.conferences[member.conference_sid]
            for other in room.live_participants():
                if not other.options.get("moderator"):
                    other.muted = on
                    other.date_updated = self.state.now()
                    other.changed()

    # -- the background side ----------------------------------------------------------------

    def _client(self) -> httpx.Client:
        if self._http is None:
            self._http = httpx.Client(timeout=HOOK_TIMEOUT)
        return self._http

    def _answer(self, call_sid: str) -> None:
        with self.state.lock:
            call = self.state.live_calls.get(call_sid)
            if call is None or call.status != "queued":
                return  # hung up before it was answered
            call.status = "in-progress"
            hook = call.options["hook"]
        assert isinstance(hook, Hook)
        self._fetch_and_run(call_sid, hook, redirect=False)

    def _fetch_and_run(self, call_sid: str, hook: Hook, *, redirect: bool) -> None:
        with self.state.lock:
            call = self.state.live_calls.get(call_sid)
            if call is None or call.status != "in-progress":
                return
            body = orjson.dumps(self._call_info(call_sid))
            secret = self.state.accounts[call.account_sid].auth_token
        verbs = self._fetch(hook, body, secret)
        with self.state.lock:
            call = self.state.live_calls.get(call_sid)
            if call is None or call.status != "in-progress":
                return
            if verbs is None:
                if not redirect:  # a new call with no application to run is hung up
                    self.hang_up(call_sid, "failed")
                return
            if redirect:  # the new verbs replace the current ones (and end the conference verb)
                call.options["program"] = []
                self._stop_waiting(call_sid)
                member = self._member(call_sid)
                if member is not None:
                    self._leave(member, removed=False, then_continue=False)
            call.options["program"] = list(verbs)
            self._continue(call)

    def _fetch(self, hook: Hook, body: bytes, secret: str) -> list[dict[str, Any]] | None:
        """POST (or GET) the hook, signed; the verbs it answers, or None if it failed."""
        headers = {"Jambonz-Signature": jambonz_header(secret, body)}
        try:
            if hook.method == "GET":
                response = self._client().get(hook.url, headers=headers)
            else:
                headers["Content-Type"] = "application/json"
                response = self._client().post(hook.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            self.counters.hooks_failed += 1
            logger.warning("jambonz call hook %s failed: %s", hook.url, exc)
            return None
        self.counters.hooks += 1
        verbs: object = None
        if response.status_code in (200, 202, 204) and "json" in response.headers.get(
            "content-type", ""
        ):
            try:
                verbs = orjson.loads(response.content)
            except orjson.JSONDecodeError:
                verbs = None
        if not isinstance(verbs, list) or not all(
            isinstance(v, dict) and isinstance(v.get("verb"), str) for v in verbs
        ):
            self.counters.hooks_failed += 1
            logger.warning(
                "jambonz call hook %s answered %s without a JSON array of verbs",
                hook.url,
                response.status_code,
            )
            return None
        return verbs

    def _post(self, hook: Hook, body: bytes, secret: str) -> None:
        headers = {"Jambonz-Signature": jambonz_header(secret, body)}
        try:
            if hook.method == "GET":  # jambonz sends a GET hook without the payload
                response = self._client().get(hook.url, headers=headers)
            else:
                headers["Content-Type"] = "application/json"
                response = self._client().post(hook.url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            self.counters.events_failed += 1
            logger.warning("jambonz status hook %s failed: %s", hook.url, exc)
            return
        if response.status_code in (200, 202, 204):
            self.counters.events += 1
        else:
            self.counters.events_failed += 1
            logger.warning("jambonz status hook %s answered %s", hook.url, response.status_code)

    # -- verbs (always under the state lock) ---------------------------------------------------

    def _continue(self, call: Call) -> None:
        """Run the call's verbs until one holds it (a conference) or none are left."""
        program: list[dict[str, Any]] = call.options["program"]  # type: ignore[assignment]
        while program and call.status == "in-progress":
            verb = program.pop(0)
            name = verb.get("verb")
            if name == "tag":
                data = verb.get("data")
                if not isinstance(data, dict):
                    self._fail(call, "tag: data is not an object")
                    return
                call.options["customer_data"] = data
            elif name == "conference":
                problem = _conference_problem(verb)
                if problem:
                    self._fail(call, problem)
                    return
                if self._conference(call, verb):
                    return  # in (or waiting for) the conference until it leaves
            elif name == "hangup":
                break
            elif name not in PASSING_VERBS:
                self._fail(call, f"invalid instruction: {name}")
                return
        if call.status == "in-progress" and not program:
            call.status = "completed"

    def _fail(self, call: Call, reason: str) -> None:
        logger.warning("jambonz call %s: %s; hanging up", call.sid, reason)
        call.options["program"] = []
        call.status = "completed"

    def _conference(self, call: Call, verb: dict[str, Any]) -> bool:
        """Run the conference verb; True while the call stays in (or waits for) it."""
        name = str(verb["name"])
        room = self.state.live_conference_named(call.account_sid, name)
        if room is None and verb.get("startConferenceOnEnter") is False:
            self._waiting.setdefault((call.account_sid, name), []).append((call.sid, verb))
            return True
        if room is None:
            room = self.state.new_conference(call.account_sid, name, "in-progress")
            room.options["started"] = self.state.clock()
            status_hook = Hook.of(verb.get("statusHook"))
            events = [e for e in verb.get("statusEvents") or () if e in STATUS_EVENTS]
            if status_hook is not None and events:
                room.options["status_hook"] = status_hook
                room.options["status_events"] = frozenset(events)
            self._notify(room, call.sid, "start", 0)
            joined = self._join(room, call, verb)
            for waiting_sid, waiting_verb in self._waiting.pop((call.account_sid, name), []):
                waiting = self.state.live_calls.get(waiting_sid)
                live = waiting is not None and waiting.status == "in-progress"
                if live and waiting is not None and not self._join(room, waiting, waiting_verb):
                    self._continue(waiting)
            return joined
        if room.status == "init":  # a seeded conference that has not started
            room.status = "in-progress"
            room.options.setdefault("started", self.state.clock())
            room.changed()
        return self._join(room, call, verb)

    def _join(self, room: Conference, call: Call, verb: dict[str, Any]) -> bool:
        limit = room.options.get("max")
        members = room.live_participants()
        if isinstance(limit, int) and len(members) >= limit:
            logger.info("jambonz conference %s is full; call %s moves on", room.sid, call.sid)
            return False
        member = self.state.new_participant(
            room,
            "connected",
            call_sid=call.sid,
            muted=verb.get("joinMuted") is True,
            end_conference_on_exit=verb.get("endConferenceOnExit") is True,
            start_conference_on_enter=verb.get("startConferenceOnEnter") is not False,
            options={"moderator": verb.get("startConferenceOnEnter") is True},
        )
        most = verb.get("maxParticipants")
        if isinstance(most, int | float) and not isinstance(most, bool) and most > 1:
            room.options["max"] = int(most)
        self._notify(room, member.call_sid, "join", len(room.live_participants()))
        return True

    def _leave(self, member: Participant, *, removed: bool, then_continue: bool) -> None:
        """``member`` leaves; the conference ends if it was the last or a moderator left."""
        room = self.state.conferences[member.conference_sid]
        member.status = "complete"
        member.date_updated = self.state.now()
        member.changed()
        remaining = room.live_participants()
        count = 0 if removed else len(remaining)
        self._notify(room, member.call_sid, "leave", count)
        ends = not remaining or member.end_conference_on_exit
        if removed or ends:
            self._notify(room, member.call_sid, "end", count)
        if not removed and ends and room.live:
            for other in remaining:  # everyone else is removed, each posting leave and end
                self._leave(other, removed=True, then_continue=True)
            reason = (
                "participant-with-end-conference-on-exit-left"
                if remaining
                else "last-participant-left"
            )
            self.state.end_conference(room, reason, member.call_sid)
        if then_continue:
            call = self.state.live_calls.get(member.call_sid)
            if call is not None:
                self._continue(call)

    def _stop_waiting(self, call_sid: str) -> None:
        for key, entries in list(self._waiting.items()):
            kept = [e for e in entries if e[0] != call_sid]
            if kept:
                self._waiting[key] = kept
            else:
                del self._waiting[key]

    def _member(self, call_sid: str) -> Participant | None:
        member = self.state.calls.get(call_sid)
        return member if member is not None and member.status == "connected" else None

    def _call_info(self, call_sid: str) -> dict[str, Any]:
        """The call's fields as jambonz sends them with every hook (snake_case)."""
        call = self.state.live_calls.get(call_sid)
        member = self.state.calls.get(call_sid)
        account = call.account_sid if call else member.account_sid if member else ""
        info: dict[str, Any] = {
            "call_sid": call_sid,
            "direction": "outbound",
            "from": call.from_ if call else "",
            "to": call.to if call else "",
            "call_id": str(call.options.get("call_id", "")) if call else "",
            "sip_status": 200,
            "sip_reason": "OK",
            "call_status": call.status if call else "in-progress",
            "account_sid": account,
            "trace_id": "00000000000000000000000000000000",
        }
        application = call.options.get("application_sid") if call else None
        if application:
            info["application_sid"] = application
        info["fs_sip_address"] = "127.0.0.1:5070"
        data = call.options.get("customer_data") if call else None
        if data:
            info["customerData"] = data
        return info

    def _notify(self, room: Conference, call_sid: str, event: str, members: int) -> None:
        """Queue the status event ``event`` if the conference subscribed to it."""
        hook = room.options.get("status_hook")
        events = room.options.get("status_events") or frozenset()
        if not isinstance(hook, Hook) or event not in events:  # type: ignore[operator]
            return
        now = self.state.clock()
        started = room.options.get("started")
        duration = (now - started).total_seconds() if isinstance(started, datetime) else 0.0
        payload = {
            "event": event,
            "duration": round(duration, 3),
            "time": iso_ms(now),
            "members": members,
            "conference_sid": f"conf:{room.account_sid}:{room.friendly_name}",
            "friendly_name": room.friendly_name,
            **self._call_info(call_sid),
        }
        body = orjson.dumps(payload)
        secret = self.state.accounts[room.account_sid].auth_token
        self.counters.sent.append((event, payload))
        self.worker.submit(lambda: self._post(hook, body, secret))


def _conference_problem(verb: dict[str, Any]) -> str | None:
    """Why a conference verb is invalid (verb-specifications' checks), if it is."""
    if not isinstance(verb.get("name"), str) or not verb["name"]:
        return "conference: name is required"
    for key, value in verb.items():
        types = CONFERENCE_TYPES.get(key)
        if types is None or value is None:
            continue
        if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
            return f"conference: property {key} has invalid data type"
    return None
