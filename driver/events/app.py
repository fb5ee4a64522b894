"""The receiver's ASGI application: verify, parse, store, then answer.

Every provider route follows the same order, and nothing is stored unless all of it passes:

1. the body is read up to :data:`MAX_BODY` bytes (more: 413);
2. its content type is the provider's (form or JSON; otherwise 415);
3. its signature verifies with that provider's scheme and a configured key (otherwise 403);
4. it parses as a conference event of that provider (otherwise 400);
5. the event is committed to the events database (a failure there: 503, so the provider
   retries), and only then is the request answered 200.

A redelivered event is answered 200 as well (``"duplicate"``) and stored once.

The jambonz call hook (``/jambonz/hook``) is checked the same way (size, JSON, signature), then
answers the verbs built from the call's signed conference parameters (:mod:`.hook`); it stores
nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import hook, parse, signatures
from .config import ReceiverConfig
from .record import EventRecord
from .store import StoreError
from .writer import BatchWriter

logger = logging.getLogger("driver.events")

MAX_BODY = 64 * 1024
"""Largest accepted request body in bytes; conference webhooks are a few kilobytes."""

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


class Rejected(Exception):
    """A request answered with an error status; nothing was stored."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


Handler = Callable[[Request, bytes], Awaitable[EventRecord | None]]


def create_app(config: ReceiverConfig, writer: BatchWriter) -> Starlette:
    """The receiver: one route per provider, the jambonz call hook, and /healthz."""
    secrets = config.secrets

    async def twilio(request: Request, body: bytes) -> EventRecord:
        return _twilio_like(request, body, config, "Twilio", secrets.twilio)

    async def signalwire(request: Request, body: bytes) -> EventRecord:
        return _twilio_like(request, body, config, "SignalWire", secrets.signalwire)

    async def telnyx(request: Request, body: bytes) -> EventRecord | None:
        _content_type(request, JSON)
        keys = _keys(secrets.telnyx, "Telnyx", "--telnyx-public-key")
        try:
            signatures.verify_telnyx(
                keys,
                body,
                request.headers.get("telnyx-signature-ed25519"),
                request.headers.get("telnyx-timestamp"),
            )
        except signatures.SignatureError as exc:
            raise Rejected(403, f"Telnyx signature: {exc}") from None
        return parse.from_telnyx(body)

    async def jambonz(request: Request, body: bytes) -> EventRecord:
        _verify_jambonz(request, body, secrets.jambonz)
        return parse.from_jambonz(body)

    status_url = config.public_url("/jambonz/status", "")

    async def jambonz_hook(request: Request) -> Response:
        """The call hook: the verbs that put the call into its conference (nothing stored)."""
        try:
            body = await _read_body(request)
            _verify_jambonz(request, body, secrets.jambonz)
            fields = parse.json_object(body)
            token = hook.token_of(request.query_params.get(hook.QUERY_KEY), fields)
            parameters = hook.verify_parameters(secrets.jambonz, token)
            verbs = hook.conference_verbs(parameters, fields, status_url)
        except Rejected as exc:
            logger.warning("%s: %s %s", request.url.path, exc.status, exc)
            return _answer(exc.status, {"error": str(exc)})
        except (parse.Malformed, hook.BadToken) as exc:
            logger.warning("%s: 400 %s", request.url.path, exc)
            return _answer(400, {"error": str(exc)})
        except signatures.SignatureError as exc:
            logger.warning("%s: 403 %s", request.url.path, exc)
            return _answer(403, {"error": f"jambonz call hook: {exc}"})
        return JSONResponse(verbs)

    def route(path: str, handler: Handler, methods: list[str]) -> Route:
        async def endpoint(request: Request) -> Response:
            return await _receive(request, handler, writer)

        return Route(path, endpoint, methods=methods)

    async def healthz(request: Request) -> Response:
        try:
            await writer.check()
        except StoreError as exc:
            return JSONResponse({"status": "failing", "error": str(exc)}, status_code=503)
        return JSONResponse({"status": "ok", "providers": secrets.providers()})

    return Starlette(
        routes=[
            route("/twilio", twilio, ["GET", "POST"]),
            route("/signalwire", signalwire, ["GET", "POST"]),
            route("/telnyx", telnyx, ["POST"]),
            route("/jambonz/status", jambonz, ["POST"]),
            Route("/jambonz/hook", jambonz_hook, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ]
    )


async def _receive(request: Request, handler: Handler, writer: BatchWriter) -> Response:
    """Run one provider route; every failure becomes an error status, never a crash."""
    try:
        body = await _read_body(request)
        record = await handler(request, body)
        if record is None:
            return _answer(200, {"status": "ignored", "reason": "not a conference event"})
        try:
            new = await writer.add(record)
        except StoreError as exc:
            logger.error("%s: %s", request.url.path, exc)
            raise Rejected(503, "the event could not be stored; send it again") from None
    except Rejected as exc:
        logger.warning("%s: %s %s", request.url.path, exc.status, exc)
        return _answer(exc.status, {"error": str(exc)})
    except parse.Malformed as exc:
        logger.warning("%s: 400 %s", request.url.path, exc)
        return _answer(400, {"error": str(exc)})
    return _answer(200, {"status": "stored" if new else "duplicate", "event": record.event})


def _answer(status: int, body: dict[str, Any]) -> Response:
    return JSONResponse(body, status_code=status)


async def _read_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY:
        raise Rejected(413, f"the body is larger than {MAX_BODY} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_BODY:
            raise Rejected(413, f"the body is larger than {MAX_BODY} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _content_type(request: Request, expected: str) -> None:
    given = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if given != expected:
        raise Rejected(415, f"the content type is {given or 'missing'}, not {expected}")


def _keys(keys: tuple[Any, ...], provider: str, option: str) -> tuple[Any, ...]:
    if not keys:
        raise Rejected(403, f"this receiver has no {provider} key: start it with {option}")
    return keys


def _raw_path(request: Request) -> str:
    raw = request.scope.get("raw_path")
    if isinstance(raw, bytes) and raw:
        return raw.decode("latin-1").split("?", 1)[0]
    return request.url.path


def _twilio_like(
    request: Request,
    body: bytes,
    config: ReceiverConfig,
    provider: str,
    keys: tuple[str, ...],
) -> EventRecord:
    """Twilio and SignalWire: a signed form POST, or a signed GET with the fields in the URL."""
    option = "--twilio-auth-token" if provider == "Twilio" else "--signalwire-signing-key"
    query = request.scope.get("query_string", b"").decode("latin-1")
    url = config.public_url(_raw_path(request), query)
    if request.method == "GET":
        signed: list[tuple[str, str]] = []
        fields = parse.form_pairs(query.encode("latin-1"))
    else:
        _content_type(request, FORM)
        signed = fields = parse.form_pairs(body)
    header = request.headers.get(f"x-{provider.lower()}-signature")
    if header is None and provider == "SignalWire":
        header = request.headers.get("x-twilio-signature")  # also sent, for compatibility
    try:
        signatures.verify_twilio(_keys(keys, provider, option), url, signed, header)
    except signatures.SignatureError as exc:
        raise Rejected(403, f"{provider} signature: {exc}") from None
    return parse.from_twilio(provider, fields)


def _verify_jambonz(request: Request, body: bytes, secrets: tuple[str, ...]) -> None:
    _content_type(request, JSON)
    keys = _keys(secrets, "jambonz", "--jambonz-webhook-secret")
    try:
        signatures.verify_jambonz(keys, body, request.headers.get("jambonz-signature"))
    except signatures.SignatureError as exc:
        raise Rejected(403, f"jambonz signature: {exc}") from None
