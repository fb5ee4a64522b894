"""The ASGI application: auth, routing, latency, faults and the request log.

The app is a bare ASGI callable rather than a Starlette router: a router's
path pattern does not match a decoded path holding a newline (a friendly
name such as ``"a\nb"``), and :mod:`.routing` matches the raw path anyway.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from .encoding import JSONBody
from .faults import Fault, RequestRecord
from .params import Params
from .wire import WireError, WireReply, WireRequest

if TYPE_CHECKING:
    from .emulator import Emulator

logger = logging.getLogger(__name__)

FORM_TYPE = "application/x-www-form-urlencoded"
MOVED_PREFIX = "/moved"  # where a ``redirect`` fault points: a path that answers 404
_MALFORMED = object()  # a JSON body that does not parse


class ConnectionDropped(Exception):
    """Raised mid-response to abort the connection (the ``drop`` fault)."""


class DroppedResponse(Response):
    """Start a response, send part of the body, then abort the connection."""

    def __init__(self) -> None:
        super().__init__(status_code=200)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Send a truncated response and raise so the server closes the socket."""
        headers = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": b'{"acc', "more_body": True})
        raise ConnectionDropped("connection dropped by an injected fault")


def create_app(emulator: Emulator) -> ASGIApp:
    """Build the ASGI app serving ``emulator``'s API (every path goes to :mod:`.routing`)."""

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":  # lifespan and websockets: nothing to serve
            return
        response = await _handle(emulator, Request(scope, receive))
        await response(scope, receive, send)

    return app


async def _handle(emulator: Emulator, request: Request) -> Response:
    raw_path = _raw_path(request.scope)
    method = request.method.upper()
    body = await request.body()
    content_type = request.headers.get("content-type", FORM_TYPE)
    form = (
        parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
        if body and FORM_TYPE in content_type
        else []
    )
    record = RequestRecord(
        method, raw_path, list(request.query_params.multi_items()), form, time.time()
    )
    route = emulator.wire.operation(raw_path)
    if route is not None:
        record.operation, record.args = route.operation, route.args
    if body and "json" in content_type:
        try:
            record.json = orjson.loads(body)
        except orjson.JSONDecodeError:
            record.json = _MALFORMED
    emulator.requests.append(record)

    refused = emulator.limits.admit()
    if refused is not None:  # over the concurrency or rate limit: a 429, nothing applied
        record.status, record.fault = 429, "limit"
        return _response(refused.render(emulator.wire))
    try:
        response = await _serve(emulator, request, raw_path, record)
    finally:
        emulator.limits.done()
    headers = emulator.limits.headers(emulator.wire)
    if headers:
        response.headers.update(headers)
    return response


async def _serve(
    emulator: Emulator, request: Request, raw_path: str, record: RequestRecord
) -> Response:
    method = record.method
    if emulator.latency > 0:
        await asyncio.sleep(emulator.latency)
    query = "&".join(f"{k}={v}" for k, v in record.query)
    fault = emulator.faults.take(method, (raw_path, request.url.path), query, record)
    if fault is not None:
        record.fault = fault.kind
    if fault is not None and not fault.after_processing:
        if fault.kind != "timeout-hang":
            return _fault_response(emulator, fault, record)
        if await _hang_abandoned(fault, request):
            return Response(status_code=504)  # nobody is listening; state untouched

    status, response = _process(emulator, request, raw_path, record)
    if fault is not None and fault.after_processing:
        if fault.kind != "timeout-hang":
            return _fault_response(emulator, fault, record)
        if await _hang_abandoned(fault, request):
            return Response(status_code=504)  # applied, but the client gave up
    record.status = status
    return response


async def _hang_abandoned(fault: Fault, request: Request) -> bool:
    """Stall for the fault's time; whether the client disconnected meanwhile."""
    await asyncio.sleep(fault.hang_seconds)
    return await request.is_disconnected()


def _process(
    emulator: Emulator, request: Request, raw_path: str, record: RequestRecord
) -> tuple[int, Response]:
    """Hand the request to the emulator's wire; never raises."""
    wire = emulator.wire
    try:
        if emulator.auto_advance:
            emulator.advance()
        if record.json is _MALFORMED:
            raise WireError(400, "The request body is not valid JSON")
        reply = wire.handle(
            WireRequest(
                method=record.method,
                path=raw_path,
                query=Params(record.query),
                form=Params(record.form),
                json=record.json,
                headers=request.headers,
                record=record,
            )
        )
    except WireError as error:
        reply = wire.error(error)
    except Exception:  # the emulator must answer like a server, not crash the test
        logger.exception("emulator failed on %s %s", record.method, raw_path)
        reply = wire.internal_error()
    return reply.status, _response(reply)


def _response(reply: WireReply) -> Response:
    if reply.body is None:
        return Response(status_code=reply.status, headers=reply.headers)
    return JSONBody(reply.body, status_code=reply.status, headers=reply.headers)


def _fault_response(emulator: Emulator, fault: Fault, record: RequestRecord) -> Response:
    if fault.kind == "drop":
        record.status = None
        return DroppedResponse()
    status = fault.answer_status or 500
    if fault.kind == "redirect":
        record.status = status
        return Response(status_code=status, headers={"Location": MOVED_PREFIX + record.path})
    if fault.kind == "empty-2xx":
        record.status = status
        return Response(status_code=status)
    if fault.kind == "429":
        record.status = 429
        return _response(emulator.wire.too_many_requests(fault.retry_after))
    record.status = 500
    return _response(emulator.wire.internal_error())


def _raw_path(scope: Scope) -> str:
    """The request path exactly as sent (still percent-encoded), without the query."""
    raw = scope.get("raw_path")
    if isinstance(raw, bytes) and raw:
        return raw.decode("latin-1").split("?", 1)[0]
    return quote(str(scope.get("path", "/")))
