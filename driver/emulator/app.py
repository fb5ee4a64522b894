"""The ASGI application: auth, routing, latency, faults and the request log.

The app is a bare ASGI callable rather than a Starlette router: a router's
path pattern does not match a decoded path holding a newline (a friendly
name such as ``"a\nb"``), and :mod:`.routing` matches the raw path anyway.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import logging
import time
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, quote

from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from . import endpoints
from .encoding import JSONBody
from .errors import (
    AUTHENTICATION_FAILED,
    INTERNAL_ERROR,
    METHOD_NOT_ALLOWED,
    TOO_MANY_REQUESTS,
    ApiError,
    error_body,
    not_found,
)
from .faults import Fault, RequestRecord
from .params import Params
from .routing import METHODS, Match, account_segment, match

if TYPE_CHECKING:
    from .emulator import Emulator

logger = logging.getLogger(__name__)

FORM_TYPE = "application/x-www-form-urlencoded"
MOVED_PREFIX = "/moved"  # where a ``redirect`` fault points: a path that answers 404


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
    emulator.requests.append(record)

    if emulator.latency > 0:
        await asyncio.sleep(emulator.latency)
    query = "&".join(f"{k}={v}" for k, v in record.query)
    fault = emulator.faults.take(method, (raw_path, request.url.path), query)
    if fault is not None:
        record.fault = fault.kind
    if fault is not None and not fault.after_processing:
        if fault.kind != "timeout-hang":
            return _fault_response(fault, record)
        if await _hang_abandoned(fault, request):
            return Response(status_code=504)  # nobody is listening; state untouched

    status, response = _process(emulator, request, raw_path, record)
    if fault is not None and fault.after_processing:
        if fault.kind != "timeout-hang":
            return _fault_response(fault, record)
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
    """Authenticate, route and run the operation; never raises."""
    try:
        if emulator.auto_advance:
            emulator.advance()
        path_account = account_segment(raw_path)
        if path_account is None:
            raise not_found(raw_path)
        account_sid = _authenticate(emulator, request.headers.get("authorization"))
        record.account_sid = account_sid
        if account_sid != path_account:
            raise ApiError(
                401,
                AUTHENTICATION_FAILED,
                "Authentication Error - the account in the URL is not yours",
            )
        route = match(raw_path)
        if route is None:
            raise not_found(raw_path)
        method = "GET" if record.method == "HEAD" else record.method
        if method not in METHODS[route.operation]:
            raise ApiError(
                405, METHOD_NOT_ALLOWED, f"Method {record.method} is not allowed on {raw_path}"
            )
        reply = _run(
            emulator,
            route,
            method,
            account_sid,
            raw_path,
            Params(record.query),
            Params(record.form),
        )
    except ApiError as error:
        headers = {"WWW-Authenticate": 'Basic realm="Twilio API"'} if error.status == 401 else None
        return error.status, JSONBody(error.body(), status_code=error.status, headers=headers)
    except Exception:  # the emulator must answer like a server, not crash the test
        logger.exception("emulator failed on %s %s", record.method, raw_path)
        return 500, JSONBody(
            error_body(500, INTERNAL_ERROR, "Internal Server Error"), status_code=500
        )
    if reply.body is None:
        return reply.status, Response(status_code=reply.status)
    return reply.status, JSONBody(reply.body, status_code=reply.status)


def _run(
    emulator: Emulator,
    route: Match,
    method: str,
    account_sid: str,
    path: str,
    query: Params,
    form: Params,
) -> endpoints.Reply:
    state = emulator.state
    op, args = route.operation, route.args
    base = path.split("?", 1)[0]
    if op == "conferences":
        return endpoints.list_conferences(state, account_sid, query, base)
    if op == "conference":
        if method == "GET":
            return endpoints.fetch_conference(state, account_sid, args[0], base)
        return endpoints.update_conference(state, account_sid, args[0], form, base)
    if op == "participants":
        if method == "GET":
            return endpoints.list_participants(state, account_sid, args[0], query, base)
        return endpoints.create_participant(state, account_sid, args[0], form, base)
    if method == "GET":
        return endpoints.fetch_participant(state, account_sid, args[0], args[1], base)
    if method == "POST":
        return endpoints.update_participant(state, account_sid, args[0], args[1], form, base)
    return endpoints.delete_participant(state, account_sid, args[0], args[1], base)


def _authenticate(emulator: Emulator, header: str | None) -> str:
    """The account proven by an ``Authorization: Basic`` header, or a 401."""
    if not header:
        raise ApiError(401, AUTHENTICATION_FAILED, "Authentication Error - No credentials provided")
    scheme, _, encoded = header.partition(" ")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    username, sep, password = decoded.partition(":")
    account_sid = (
        emulator.state.authenticate(username, password)
        if scheme.lower() == "basic" and sep
        else None
    )
    if account_sid is None:
        raise ApiError(
            401, AUTHENTICATION_FAILED, "Authentication Error - invalid username or password"
        )
    return account_sid


def _fault_response(fault: Fault, record: RequestRecord) -> Response:
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
        headers = {} if fault.retry_after is None else {"Retry-After": _seconds(fault.retry_after)}
        body = error_body(429, TOO_MANY_REQUESTS, "Too Many Requests")
        return JSONBody(body, status_code=429, headers=headers)
    record.status = 500
    return JSONBody(error_body(500, INTERNAL_ERROR, "Internal Server Error"), status_code=500)


def _seconds(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _raw_path(scope: Scope) -> str:
    """The request path exactly as sent (still percent-encoded), without the query."""
    raw = scope.get("raw_path")
    if isinstance(raw, bytes) and raw:
        return raw.decode("latin-1").split("?", 1)[0]
    return quote(str(scope.get("path", "/")))
