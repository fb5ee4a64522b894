"""The confsql procedures as Telnyx Call Control commands.

One SQL call may become several requests (ModifyParticipants: a PATCH, then
mute/unmute, hold/unhold, update and play); they are sent one after another,
and if one fails the error says which changes were already carried out and
which were not sent.  Commands that carry a ``command_id`` (dial, join,
update, end, hangup) are sent as idempotent, so an unanswered one is retried
with the same key; the others (mute, unmute, hold, unhold, play, PATCH) have
no key and are never sent twice.  An empty ``call_control_ids`` list means
*every participant* to Telnyx, so one is never sent.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from .. import loop
from ..errors import DataError, Error, ProgrammingError
from ..http import OutcomeUnknown
from ..schema import Procedure, TableMapping
from .base import Item

if TYPE_CHECKING:
    from ..procedures import ProcedureRunner, Row
    from .base import Provider

# confsql's Beep words -> Telnyx's beep_enabled.
BEEP = {"true": "always", "false": "never", "onEnter": "on_enter", "onExit": "on_exit"}
# Twilio's recording channel words -> Telnyx's record_channels.
CHANNELS = {"mono": "single", "dual": "dual"}
CALL_ENDED = "90018"
WEBHOOK_URL = "webhook_url"
"""Key in a procedure's values: the dial's ``webhook_url`` (set by Telnyx.subscribe, not an
input users give)."""

Step = tuple[str, Callable[[], Awaitable[object]]]  # (the command in words, the request)


def command_id() -> str:
    """A fresh idempotency key."""
    return str(uuid.uuid4())


class Commands:
    """One procedure call on Telnyx: its requests, checks and result row."""

    def __init__(
        self,
        provider: Provider,
        runner: ProcedureRunner,
        proc: Procedure,
        values: dict[str, object],
    ) -> None:
        self.provider = provider
        self.runner = runner
        self.proc = proc
        self.values = values  # the runner's dict: resolved ids written back feed its check hint

    # --- procedures ----------------------------------------------------------------------

    async def add_participant(self) -> list[Row]:
        """``POST /calls`` with ``conference_config``: dial a call into the conference."""
        v = self.values
        connection = self.provider.settings["ConnectionId"]
        if not connection:
            raise ProgrammingError(
                "AddParticipants on Telnyx dials out through a Call Control App, and "
                "ConnectionId is not set: set ConnectionId (or TELNYX_CONNECTION_ID) to the "
                "app's id; nothing was sent"
            )
        target = str(v["ConferenceSid"])
        by_id = self.provider.is_conference_sid(target)
        config: dict[str, Any] = {"id" if by_id else "conference_name": target}
        _put(config, "mute", v.get("Muted"))
        _put(config, "start_conference_on_enter", v.get("StartConferenceOnEnter"))
        _put(config, "end_conference_on_exit", v.get("EndConferenceOnExit"))
        _put(config, "early_media", v.get("EarlyMedia"))
        _put(config, "beep_enabled", BEEP.get(str(v["Beep"])) if "Beep" in v else None)
        coach = v.get("CallSidToCoach")
        coaching = v.get("Coaching", True if coach is not None else None)
        if coaching is not None:
            config["supervisor_role"] = "whisper" if coaching else "none"
            if coaching and coach is not None:
                config["whisper_call_control_ids"] = [str(coach)]
        body: list[tuple[str, Any]] = [
            ("connection_id", str(connection)),
            ("from", v["From"]),
            ("to", v["To"]),
            ("command_id", command_id()),
            ("conference_config", config),
        ]
        optional = {
            "timeout_secs": v.get("WaitTime"),
            "time_limit_secs": v.get("TimeLimit"),
            "from_display_name": v.get("CallerDisplayName"),
            "record": "record-from-answer" if v.get("Record") else None,
            "record_channels": CHANNELS.get(str(v.get("RecordingChannels"))),
            "record_track": v.get("RecordingTrack"),
            # do-not-trim is Telnyx's default: it needs no field.
            "record_trim": "trim-silence" if v.get("Trim") == "trim-silence" else None,
            "webhook_url": v.get(WEBHOOK_URL),
        }
        body += [(k, value) for k, value in optional.items() if value is not None]
        answer = await self._post("/calls", {}, body, idempotent=True)
        data = answer.get("data")
        call = data.get("call_control_id") if isinstance(data, dict) else None
        if not isinstance(call, str) or not call:
            raise OutcomeUnknown(
                f"{self.proc.name}: the provider's answer has no data.call_control_id, so it is "
                "not the documented success; the call may or may not have been placed and was "
                "NOT retried."
            )
        assert isinstance(data, dict)
        # The dial's answer names no conference: when joining by name, the conference is
        # the live one of that name (Telnyx allows one), if it already shows.
        conference = target if by_id else await self._quietly(self._live_id(target))
        return [
            self._results(
                AccountSid=None,
                CallSid=call,
                ConferenceSid=conference,
                # Dialling is asynchronous: a call that is not alive yet is queued.
                Status="queued" if data.get("is_alive") is False else None,
            )
        ]

    async def join_conference(self) -> list[Row]:
        """``POST /conferences/{id}/actions/join``, then the participant row."""
        v = self.values
        conference = await self._conference(
            "ConferenceSid",
            "Telnyx's join needs a conference that exists; to start one by name, dial a "
            "participant into it with AddParticipants",
        )
        call = _one_call(v["CallSid"], "CallSid")
        body: list[tuple[str, Any]] = [
            ("call_control_id", call),
            ("command_id", str(v.get("CommandId") or command_id())),
        ]
        renames = {
            "Muted": "mute",
            "Hold": "hold",
            "HoldAudioUrl": "hold_audio_url",
            "HoldMediaName": "hold_media_name",
            "StartConferenceOnEnter": "start_conference_on_enter",
            "EndConferenceOnExit": "end_conference_on_exit",
            "SoftEndConferenceOnExit": "soft_end_conference_on_exit",
            "SupervisorRole": "supervisor_role",
            "ClientState": "client_state",
        }
        body += [(wire, v[name]) for name, wire in renames.items() if name in v]
        if "Beep" in v:
            body.append(("beep_enabled", BEEP[str(v["Beep"])]))
        if "WhisperCallSids" in v:
            whispers = v["WhisperCallSids"]
            body.append(
                (
                    "whisper_call_control_ids",
                    list(whispers) if isinstance(whispers, list) else [whispers],
                )
            )
        path = "/conferences/{Id}/actions/join"
        try:
            self._result(await self._post(path, {"Id": conference}, body, idempotent=True))
        except OutcomeUnknown as exc:  # no table write: the runner has no check of its own
            _append(
                exc,
                f"To check: SELECT * FROM Participants WHERE ConferenceSid = '{conference}' "
                f"AND CallSid = '{_sql(call)}'",
            )
            raise
        item = await self._quietly(self._participant(conference, call))
        return [self._row(item, ConferenceSid=conference, CallSid=call)]

    async def modify_participant(self) -> list[Row]:
        """One command per change (PATCH, mute/unmute, hold/unhold, update, play)."""
        v = self.values
        hold_url = v.get("HoldUrl")
        if hold_url is not None and v.get("Hold") is not True:
            raise DataError(
                "ModifyParticipants on Telnyx: HoldUrl is the audio of the hold command, so it "
                "needs Hold = 1 in the same call; nothing was sent"
            )
        if v.get("AnnounceUrl") == "":
            raise DataError(
                "ModifyParticipants on Telnyx: AnnounceUrl must be an audio URL (Telnyx plays "
                "it; an empty one plays nothing); nothing was sent"
            )
        conference = await self._conference("ConferenceSid")
        call = _one_call(v["CallSid"], "CallSid")
        found = await self._participant(conference, call)
        if found is None:
            raise self._not_a_participant(conference, call)
        where = {"Id": conference}
        only = [call]  # never empty: an empty list is every participant
        steps: list[Step] = []
        patch: list[tuple[str, Any]] = []
        if "EndConferenceOnExit" in v:
            patch.append(("end_conference_on_exit", v["EndConferenceOnExit"]))
        if "BeepOnExit" in v:  # the participant is in already: only the exit beep is left
            patch.append(("beep_enabled", "on_exit" if v["BeepOnExit"] else "never"))
        if patch:
            pid = str(found.get("id"))
            path = "/conferences/{Id}/participants/{Participant}"
            steps.append(
                (
                    "update the participant (" + ", ".join(k for k, _ in patch) + ")",
                    lambda: self._patch(path, {**where, "Participant": pid}, patch),
                )
            )
        if "Muted" in v:
            action = "mute" if v["Muted"] else "unmute"
            steps.append((action, self._act(action, where, [("call_control_ids", only)])))
        if "Hold" in v:
            fields: list[tuple[str, Any]] = [("call_control_ids", only)]
            if v["Hold"] and hold_url:
                fields.append(("audio_url", hold_url))
            action = "hold" if v["Hold"] else "unhold"
            steps.append((action, self._act(action, where, fields)))
        coach = v.get("CallSidToCoach")
        coaching = v.get("Coaching", True if coach is not None else None)
        if coaching is not None:
            update: list[tuple[str, Any]] = [
                ("call_control_id", call),
                ("supervisor_role", "whisper" if coaching else "none"),
                ("command_id", command_id()),
            ]
            if coaching and coach is not None:
                update.append(("whisper_call_control_ids", [str(coach)]))
            change = f"update (whisper to {coach})" if coaching else "update (stop whispering)"
            steps.append((change, self._act("update", where, update, idempotent=True)))
        if "AnnounceUrl" in v:
            fields = [("audio_url", v["AnnounceUrl"]), ("call_control_ids", only)]
            steps.append(("play AnnounceUrl", self._act("play", where, fields)))
        await self._run(steps)
        item = await self._quietly(self._participant(conference, call))
        return [self._row(item, ConferenceSid=conference, CallSid=call)]

    async def remove_participant(self) -> list[Row]:
        """``POST /calls/{call_control_id}/actions/hangup`` for a participant of the conference."""
        conference = await self._conference("ConferenceSid")
        call = _one_call(self.values["CallSid"], "CallSid")
        if await self._participant(conference, call) is None:
            raise self._not_a_participant(conference, call)
        path = "/calls/{Call}/actions/hangup"
        try:
            answer = await self._post(
                path, {"Call": call}, [("command_id", command_id())], idempotent=True
            )
        except Error as exc:
            if exc.code != CALL_ENDED:
                raise
            raise ProgrammingError(
                f"{self.proc.name}: call {call} has already ended",
                status=404,
                code=exc.code,
                more_info=exc.more_info,
            ) from None
        self._result(answer)
        return [self._results(ConferenceSid=conference, CallSid=call)]

    async def modify_conference(self) -> list[Row]:
        """``actions/play`` to everyone, then ``actions/end`` (by id), then the row."""
        v = self.values
        if v.get("AnnounceUrl") == "":
            raise DataError(
                "ModifyConference on Telnyx: AnnounceUrl must be an audio URL (Telnyx plays "
                "it; an empty one plays nothing); nothing was sent"
            )
        conference = await self._conference("Sid")
        where = {"Id": conference}
        steps: list[Step] = []
        if "AnnounceUrl" in v:  # no call_control_ids: the whole conference hears it
            fields = [("audio_url", v["AnnounceUrl"])]
            steps.append(("play AnnounceUrl", self._act("play", where, fields)))
        if v.get("Status") == "completed":
            end = [("command_id", command_id())]
            steps.append(("end", self._act("end", where, end, idempotent=True)))
        await self._run(steps)
        item = await self._quietly(self._fetch_conference(conference))
        return [self._row(item, Sid=conference)]

    # --- requests --------------------------------------------------------------------------

    async def _post(
        self,
        path: str,
        where: Mapping[str, str],
        body: list[tuple[str, Any]],
        *,
        idempotent: bool = False,
        method: str = "POST",
        what: str = "",
    ) -> Item:
        requester = self.runner.requester
        answer = await requester.client.json(
            method,
            requester.url(path, where),
            body=body,
            what=what or self.proc.name,
            idempotent=idempotent,
        )
        assert answer is not None
        return answer

    def _act(
        self,
        action: str,
        where: Mapping[str, str],
        body: list[tuple[str, Any]],
        *,
        idempotent: bool = False,
    ) -> Callable[[], Awaitable[object]]:
        """A conference action (``/conferences/{id}/actions/<action>``), ready to send."""

        async def send() -> object:
            path = "/conferences/{Id}/actions/" + action
            what = f"{self.proc.name} ({action})"
            answer = await self._post(path, where, body, idempotent=idempotent, what=what)
            return self._result(answer, what)

        return send

    async def _patch(
        self, path: str, where: Mapping[str, str], body: list[tuple[str, Any]]
    ) -> object:
        what = f"{self.proc.name} (update participant)"
        answer = await self._post(path, where, body, method="PATCH", what=what)
        if not isinstance(answer.get("data"), dict):
            raise _not_documented(what, "data")
        return answer

    def _result(self, answer: Item, what: str = "") -> str:
        """The ``result`` of a command's ``{"data": {"result": "ok"}}``."""
        data = answer.get("data")
        result = data.get("result") if isinstance(data, dict) else None
        if not isinstance(result, str):
            raise _not_documented(what or self.proc.name, "data.result")
        return result

    async def _run(self, steps: list[Step]) -> None:
        """Send ``steps`` in order; a failure says what was already carried out."""
        done: list[str] = []
        for number, (change, send) in enumerate(steps):
            rest = [c for c, _ in steps[number + 1 :]]
            try:
                await send()
            except Error as exc:
                if len(steps) > 1:
                    _append(exc, _progress(done, rest))
                raise
            except asyncio.CancelledError:
                raise OutcomeUnknown(
                    f"{self.proc.name}: cancelled while its {change} request was in flight; it "
                    f"may or may not have been carried out and was NOT retried. "
                    f"{_progress(done, rest)}"
                ) from None
            done.append(change)

    # --- reads ---------------------------------------------------------------------------

    async def _conference(self, name: str, hint: str = "") -> str:
        """The conference id for input ``name`` (a name is resolved to the live one).

        The id is written back into the call's values, so a check hint names it.
        """
        given = str(self.values[name])
        if self.provider.is_conference_sid(given):
            return given
        try:
            found = await self.runner.conference_sid(given)
        except ProgrammingError as exc:
            many = exc.status != 404
            why = (
                f"several live conferences are named {given!r}; give the conference id instead"
                if many
                else f"no live conference is named {given!r}"
            )
            extra = f" ({hint})" if hint and not many else ""
            raise ProgrammingError(
                f"{self.proc.name} on Telnyx: {why}{extra}; nothing was sent. SELECT Sid, "
                "FriendlyName FROM Conferences WHERE Status != 'completed' lists them.",
                status=exc.status,
            ) from None
        self.values[name] = found
        return found

    async def _live_id(self, name: str) -> str | None:
        """The id of the live conference called ``name``, if exactly one shows."""
        try:
            return await self.runner.conference_sid(name)
        except ProgrammingError:
            return None

    async def _participant(self, conference: str, call: str) -> Item | None:
        """The list item of the participant on ``call`` in ``conference``, if live."""
        requester = self.runner.requester
        mapping = self._table("Participants")
        pages = requester.pages("Participants", mapping, {"ConferenceSid": conference}, [])
        async with loop.closing(pages) as listing:
            async for items in listing:
                for item in items:
                    if item.get(mapping.fields["CallSid"]) == call:
                        return item
        return None

    async def _fetch_conference(self, conference: str) -> Item | None:
        return await self.runner.requester.fetch(
            "Conferences", self._table("Conferences"), {"Sid": conference}
        )

    async def _quietly(self, read: Awaitable[Any]) -> Any:
        """A read after the change was carried out: a failure leaves its columns NULL
        (the change happened; reporting it as failed would invite a repeat)."""
        try:
            return await read
        except Error:
            return None

    def _not_a_participant(self, conference: str, call: str) -> ProgrammingError:
        return ProgrammingError(
            f"{self.proc.name} on Telnyx: call {call!r} is not a live participant of conference "
            f"{conference}; nothing was sent (SELECT CallSid FROM Participants WHERE "
            f"ConferenceSid = '{conference}' lists them)",
            status=404,
        )

    # --- rows ------------------------------------------------------------------------------

    def _table(self, name: str) -> TableMapping:
        return self.provider.tables[name]

    def _row(self, item: Item | None, **keys: str) -> Row:
        """The procedure's results-table row from a resource (keys only when unknown)."""
        assert self.proc.results_table is not None
        mapping = self._table(self.proc.results_table)
        if item is None:  # the change was made, but what the row holds now is not known
            item = {mapping.fields[column]: value for column, value in keys.items()}
        else:
            item = _in_sql_words(mapping, item)
        own = self.provider.procedures[self.proc.name]
        return self.runner.result_row(self.proc, own, item, self.values)

    def _results(self, **columns: object) -> Row:
        """A row of the procedure's declared result columns (absent ones NULL)."""
        return tuple(columns.get(r.name) for r in self.proc.results)


def _put(target: dict[str, Any], key: str, value: object) -> None:
    if value is not None:
        target[key] = value


def _one_call(value: object, name: str) -> str:
    """A call_control_id that is not empty (to Telnyx, no call means every call)."""
    text = str(value).strip()
    if not text:
        raise DataError(
            f"{name} must name a call: on Telnyx an empty list of calls means every "
            "participant; nothing was sent"
        )
    return text


def _in_sql_words(mapping: TableMapping, item: Item) -> Item:
    """A resource with the provider's values in the SQL vocabulary (``joined`` -> ``connected``)."""
    out = dict(item)
    for column, words in mapping.values.items():
        field = mapping.fields.get(column)
        raw = out.get(field) if field else None
        if field and isinstance(raw, str):
            out[field] = words.get(raw, raw)
    return out


def _not_documented(what: str, field: str) -> OutcomeUnknown:
    return OutcomeUnknown(
        f"{what}: the provider's answer has no {field}, so it is not the documented success; "
        "the request may or may not have been carried out and was NOT retried."
    )


def _progress(done: list[str], rest: list[str]) -> str:
    """What a multi-request call had carried out, and what it did not send."""
    applied = (
        "Already carried out by this call: " + "; ".join(done) + "."
        if done
        else "No earlier request of this call had been sent."
    )
    skipped = " Not sent: " + "; ".join(rest) + "." if rest else ""
    return applied + skipped


def _sql(text: str) -> str:
    """``text`` for inside an SQL string literal."""
    return text.replace("'", "''")


def _append(exc: Error, text: str) -> None:
    exc.message = f"{exc.message} {text}"
    exc.args = (exc.message,)
