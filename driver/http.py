"""The HTTP layer: one ``httpx.AsyncClient`` per connection, retries, error mapping.

Retry policy (the same for reads and writes, so nothing is ever sent twice
unless the server provably did not process it):

* HTTP 429 — the provider says the request was not processed.  Wait for
  ``Retry-After`` when given, else exponential backoff with jitter; give up
  after a bounded total wait.
* Connection refused / DNS failure before anything was sent — retried the same way.

Everything else raises a PEP 249 exception at once.  A write whose outcome is
unknown (timeout after sending, connection dropped mid-response) raises
:class:`~driver.errors.OperationalError` saying the change may have happened.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import anyio
import httpx
import orjson

from ._version import __version__
from .errors import (
    DataError,
    Error,
    OperationalError,
)
from .throttle import Gate, GateStats
from .transport import transport

log = logging.getLogger("confsql.http")

USER_AGENT = f"confsql/{__version__} (+python-httpx/{httpx.__version__})"
MAX_RETRY_WAIT = 60.0  # seconds spent waiting on 429s before giving up
MAX_ATTEMPTS = 8
CONNECTIONS_PER_POOL = 4


class OutcomeUnknown(OperationalError):
    """A change was sent but no answer came back: it may or may not have happened."""


class _Retryable(Exception):
    """Internal: the request was provably not processed and may be sent again."""

    def __init__(
        self,
        reason: str,
        retry_after: float | None = None,
        maybe_processed: bool = False,
        throttled: bool = False,
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.throttled = throttled  # a 429
        # Sent with an idempotency key and unanswered: safe to repeat, but if every
        # attempt goes unanswered, whether it was carried out is unknown.
        self.maybe_processed = maybe_processed


@dataclass
class Stats:
    """Counters a connection exposes for tests, benchmarks and progress display.

    ``gate`` is the provider account's admission state: the concurrency limit
    in use, requests in flight, 429s and time spent paused.
    """

    requests: int = 0
    retries: int = 0
    rows: int = 0
    cache_hits: int = 0
    by_method: dict[str, int] = field(default_factory=dict)
    gate: GateStats = field(default_factory=GateStats)


class Wire(Protocol):
    """What the HTTP layer asks the provider (see :class:`driver.providers.Provider`)."""

    def auth(self) -> httpx.Auth | None: ...

    def encode_body(self, fields: Sequence[tuple[str, Any]]) -> dict[str, Any]: ...

    def retry_after(self, response: httpx.Response) -> float | None: ...

    def rate_limit(self, response: httpx.Response) -> tuple[int, float] | None: ...

    def error(
        self, response: httpx.Response, what: str, mutating: bool, outcome_unknown: type[Error]
    ) -> Error: ...


class ApiClient:
    """Sends requests to one provider for one connection.

    All coroutine methods must run on :mod:`driver.loop`'s event loop.
    """

    def __init__(
        self,
        base_url: str,
        wire: Wire,
        *,
        timeout: float,
        gate: Gate,
        transport: httpx.AsyncBaseTransport | None = None,
        cache_ttl: float = 0.0,
        retry_budget: float = MAX_RETRY_WAIT,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.wire = wire
        self.timeout = timeout
        self.gate = gate
        self.stats = Stats(gate=gate.stats)
        self.cache_ttl = cache_ttl
        self.retry_budget = retry_budget
        self._cache: dict[tuple[str, tuple[tuple[str, str], ...]], tuple[float, bytes]] = {}
        self._transport = transport
        self._clients: list[httpx.AsyncClient] = []
        self._busy: list[int] = []  # requests in flight per pooled client
        self._origin = _origin(httpx.URL(self.base_url))
        self.in_flight = 0  # HTTP exchanges running now (tests: nothing left after a statement)

    def __repr__(self) -> str:
        return f"ApiClient(base_url={self.base_url!r})"

    def _new_pool(self) -> httpx.AsyncClient:
        """One more small pool of connections (``CONNECTIONS_PER_POOL``).

        The connections are spread over several small httpx pools: httpcore
        scans a pool's connections on every request and response, so one large
        pool slows down sharply past a few dozen concurrent requests
        (encode/httpx#3215), while small ones keep 64 requests close to 64-way
        parallel.  Pools are added as the gate lets more requests through.
        """
        limits = httpx.Limits(
            max_connections=CONNECTIONS_PER_POOL, max_keepalive_connections=CONNECTIONS_PER_POOL
        )
        http2 = _h2_available() and self._transport is None
        client = httpx.AsyncClient(
            base_url=self.base_url,
            auth=self.wire.auth(),
            timeout=httpx.Timeout(self.timeout),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            limits=limits,
            # httpx's own transport, reading the socket in large chunks (driver.transport).
            transport=self._transport or transport(limits, http2),
            http2=http2,
            follow_redirects=False,
        )
        self._clients.append(client)
        self._busy.append(0)
        return client

    async def aclose(self) -> None:
        """Close the pooled connections."""
        clients, self._clients = self._clients, []
        for client in clients:
            await client.aclose()

    async def request(
        self,
        method: str,
        url: str,
        *,
        params: Sequence[tuple[str, str]] | None = None,
        body: Sequence[tuple[str, Any]] | None = None,
        what: str = "",
        idempotent: bool = False,
    ) -> httpx.Response:
        """Send one request with the retry policy; return a 2xx response or raise.

        ``idempotent`` marks a write that carries a provider idempotency key
        (Telnyx's ``command_id``): sending it again cannot act twice, so an
        unknown outcome (timeout, dropped connection, 5xx) is retried too.

        ``url`` is a path relative to the base URL (already percent-encoded) or
        an absolute URL on the same host.  ``what`` names the operation for
        error messages (e.g. "list Conferences").
        """
        mutating = method.upper() not in ("GET", "HEAD")
        target = self._absolute(url, params, what)
        deadline = time.monotonic() + self.retry_budget
        attempt = 0
        while True:
            try:
                return await self._send_once(method, target, body, mutating, what, idempotent)
            except _Retryable as exc:
                attempt += 1
                wait = exc.retry_after if exc.retry_after is not None else _backoff(attempt)
                if attempt >= MAX_ATTEMPTS or time.monotonic() + wait > deadline:
                    raise self._gave_up(exc, what) from None
                self.stats.retries += 1
                log.info("retrying after %s (attempt %d)", exc.reason, attempt)
                if exc.retry_after is None:
                    await asyncio.sleep(wait)  # a Retry-After pause is the gate's, shared

    def _gave_up(self, exc: _Retryable, what: str) -> OperationalError:
        """The error once retrying is over (or off)."""
        throttled = exc.throttled
        advice = (
            "Lower MaxConcurrency or try again later."
            if throttled
            else "Check BaseUrl (or Region/Edge) and the network, or try again later."
        )
        tried = (
            "not retried (RetryBudget=0)"
            if self.retry_budget <= 0
            else f"still failing after retrying for up to {self.retry_budget:g} s (RetryBudget)"
        )
        if exc.maybe_processed:
            return OutcomeUnknown(
                f"{what}: {exc.reason}; {tried} with the same idempotency key, which the "
                "provider would ignore had it already acted. It may or may not have been "
                "carried out; running it again with the same key is safe."
            )
        return OperationalError(
            f"{what}: {exc.reason}; {tried}. {advice}", status=429 if throttled else None
        )

    @contextlib.asynccontextmanager
    async def _client(self) -> AsyncIterator[httpx.AsyncClient]:
        """Admission by the gate, then the least busy pool (a new one if all are full)."""
        started = await self.gate.acquire()
        ok = False
        try:
            busy = self._busy
            least = min(busy) if busy else CONNECTIONS_PER_POOL
            if least >= CONNECTIONS_PER_POOL:
                self._new_pool()
                least = 0
            pool = busy.index(least)
            busy[pool] += 1
            try:
                yield self._clients[pool]
                ok = True
            finally:
                busy[pool] -= 1
        finally:
            self.gate.release(started, ok=ok)

    def _absolute(self, url: str, params: Sequence[tuple[str, str]] | None, what: str) -> httpx.URL:
        """The request URL, built once (httpx would parse a relative one three times).

        An absolute URL (a provider's next-page link) must be on the base URL's
        origin: credentials are never sent anywhere else.
        """
        full = url if "://" in url else f"{self.base_url}/{url.lstrip('/')}"
        try:
            # Only with parameters: URL(..., params=None) would drop a query already in ``url``.
            target = httpx.URL(full, params=list(params)) if params else httpx.URL(full)
        except httpx.InvalidURL as exc:
            raise DataError(
                f"{what}: the request cannot be built ({exc}); a value is too long or "
                "malformed for a URL"
            ) from None
        if "://" in url and _origin(target) != self._origin:
            raise OperationalError(
                f"{what}: the provider's next-page link points at another origin "
                f"({target.scheme}://{target.host}:{target.port or ''}); confsql does not send "
                "credentials there, so the scan stopped. Check BaseUrl (a proxy may rewrite links)."
            )
        return target

    async def _send_once(
        self,
        method: str,
        target: httpx.URL,
        body: Sequence[tuple[str, Any]] | None,
        mutating: bool,
        what: str,
        idempotent: bool = False,
    ) -> httpx.Response:
        content = self.wire.encode_body(body) if body is not None else {}
        try:
            async with self._client() as client:
                self.stats.requests += 1
                self.stats.by_method[method] = self.stats.by_method.get(method, 0) + 1
                log.debug("%s %s", method, target)
                response = await self._exchange(client, method, target, content)
                # httpx keeps a response and its body stream in a reference cycle, so the
                # body would wait for the cyclic garbage collector; a large extract piles
                # them up.
                response.stream = _READ
                budget = self.wire.rate_limit(response)
                if budget is not None:
                    self.gate.budget(*budget)
                if response.status_code == 429:
                    # Told while this request still counts as in flight (the gate reads the
                    # provider's limit from that level); raising releases it as not clean,
                    # so a refusal neither grows the limit nor counts as a latency sample.
                    retry_after = self.wire.retry_after(response)
                    self.gate.throttled(retry_after)
                    raise _Retryable(
                        "the provider answered 429 Too Many Requests", retry_after, throttled=True
                    )
        except httpx.ConnectError as exc:
            if _unknown_host(exc):  # retrying a name that does not exist only wastes time
                raise OperationalError(
                    f"{what}: the host {target.host!r} is unknown (DNS lookup failed); check "
                    "BaseUrl, or Region and Edge"
                ) from None
            # Nothing reached the server: safe to send again.
            raise _Retryable(f"could not connect to {self.base_url} ({_reason(exc)})") from exc
        except httpx.PoolTimeout as exc:
            raise OperationalError(
                f"{what}: no free connection in confsql's own HTTP pool after {self.timeout:g} s "
                "(a local limit, not the network or the provider); nothing was sent"
            ) from exc
        except httpx.TimeoutException as exc:
            if isinstance(exc, httpx.ConnectTimeout):
                raise _Retryable(f"timed out connecting to {self.base_url}") from exc
            reason = f"timed out after {self.timeout:g} s"
            if idempotent:  # the provider ignores a repeat of the same key
                raise _Retryable(reason, maybe_processed=True) from exc
            raise _unknown_outcome(what, mutating, reason) from exc
        except (httpx.RemoteProtocolError, httpx.ReadError, httpx.WriteError) as exc:
            reason = f"the connection was dropped ({_reason(exc)})"
            if idempotent:
                raise _Retryable(reason, maybe_processed=True) from exc
            raise _unknown_outcome(what, mutating, reason) from exc
        except httpx.HTTPError as exc:
            raise OperationalError(f"{what}: HTTP failure ({_reason(exc)})") from exc
        if response.status_code >= 500 and idempotent:
            raise _Retryable(f"the provider answered {response.status_code}", maybe_processed=True)
        if response.status_code >= 400:
            raise self.wire.error(response, what, mutating, OutcomeUnknown)
        return response

    async def _exchange(
        self,
        client: httpx.AsyncClient,
        method: str,
        target: httpx.URL,
        content: dict[str, Any],
    ) -> httpx.Response:
        """One request/response, run so that cancelling the caller never breaks the pool.

        A plain ``task.cancel()`` that lands inside httpcore's connection-release
        code leaves that connection checked out for ever (httpcore shields its
        cleanup with an anyio scope, which does not stop native cancellation);
        after a few abandoned scans the pool is exhausted.  So the exchange runs
        in a task of its own under an anyio cancel scope: cancelling the caller
        becomes ``scope.cancel()``, which httpcore's shields respect, and the
        caller waits for the exchange to unwind before it re-raises.
        """
        scope = anyio.CancelScope()

        async def exchange() -> httpx.Response:
            self.in_flight += 1
            try:
                with scope:
                    return await client.request(method, target, **content)
                raise asyncio.CancelledError  # the scope swallowed its own cancellation
            finally:
                self.in_flight -= 1

        task = asyncio.ensure_future(exchange())
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError as cancelled:
            scope.cancel()
            while not task.done():
                with contextlib.suppress(BaseException):
                    await asyncio.wait([task])
            if not task.cancelled():
                task.exception()  # retrieved: the caller was cancelled, not failed
            raise cancelled

    async def json(
        self,
        method: str,
        url: str,
        *,
        params: Sequence[tuple[str, str]] | None = None,
        body: Sequence[tuple[str, Any]] | None = None,
        what: str = "",
        expect: int = 200,
        idempotent: bool = False,
    ) -> dict[str, Any] | None:
        """Send a request and decode its JSON object body (``None`` when ``expect`` is 204).

        Anything but the documented success status ``expect`` with a JSON object
        body is an error, never an empty answer: a 3xx, a 2xx without a body or
        with a body that is not an object.  For a write it is an unknown outcome
        (:class:`OutcomeUnknown`), since the provider may have acted on it.
        Caching is :meth:`content`'s.
        """
        content = await self.content(
            method, url, params=params, body=body, what=what, expect=expect, idempotent=idempotent
        )
        if content is None:
            return None
        return json_object(content, what, expect, mutating=method.upper() != "GET")

    async def content(
        self,
        method: str,
        url: str,
        *,
        params: Sequence[tuple[str, str]] | None = None,
        body: Sequence[tuple[str, Any]] | None = None,
        what: str = "",
        expect: int = 200,
        idempotent: bool = False,
    ) -> bytes | None:
        """Send a request; the body of the documented success answer (``None`` for a 204).

        The checks of :meth:`json` except decoding: a caller with a faster decoder
        for a known shape (a list page) decodes the bytes itself, and hands
        anything else to :func:`json_object`.

        With ``CacheTtl`` > 0, GET answers are reused for that many seconds
        (keyed by URL and query; one cache per connection, hence per credentials).
        Any write through the connection empties the cache, whatever its outcome.
        """
        is_get = method.upper() == "GET"
        key = (url, tuple(params or ()))
        if is_get and self.cache_ttl > 0:
            hit = self._cache.get(key)
            if hit is not None and hit[0] > time.monotonic():
                self.stats.cache_hits += 1
                return hit[1]
        if not is_get:
            self._cache.clear()
        response = await self.request(
            method, url, params=params, body=body, what=what, idempotent=idempotent
        )
        status = response.status_code
        if expect == 204 and status == 204:
            return None
        if status != expect or not response.content:
            got = f"{status} {response.reason_phrase}".strip()
            wanted = f"{expect}" + (" with a JSON body" if expect != 204 else "")
            empty = " with an empty body" if not response.content else ""
            raise _odd_answer(
                what, not is_get, f"the provider answered {got}{empty} where {wanted} was expected"
            )
        content = response.content
        # Only answers json() would accept are kept (an odd one is asked again).
        if is_get and self.cache_ttl > 0 and isinstance(json_or_none(content), dict):
            self._cache[key] = (time.monotonic() + self.cache_ttl, content)
        return content


def json_object(content: bytes, what: str, status: int = 200, *, mutating: bool) -> dict[str, Any]:
    """A success answer's body as a JSON object; anything else is an error (see ``json``)."""
    decoded = json_or_none(content)
    if not isinstance(decoded, dict):
        raise _odd_answer(
            what,
            mutating,
            f"the provider answered {status} with a body that is not a JSON object",
        )
    return decoded


def json_or_none(content: bytes) -> Any:
    """``content`` decoded as JSON, or ``None`` when it is not JSON."""
    try:
        return orjson.loads(content)
    except ValueError:
        return None


_READ = httpx.ByteStream(b"")  # stands in for a response's stream once its body is read


def _reason(exc: BaseException) -> str:
    return type(exc).__name__ + (f": {exc}" if str(exc) else "")


def _backoff(attempt: int) -> float:
    """Jittered exponential backoff when the provider gave no Retry-After."""
    return float(min(8.0, 0.05 * 2.0**attempt)) * random.uniform(0.5, 1.0)


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return (url.scheme, url.host, url.port or default)


def _unknown_host(exc: BaseException) -> bool:
    """Whether a connect failure was a DNS answer that the name does not exist."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, socket.gaierror):
            return seen.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", -5))
        seen = seen.__cause__ or seen.__context__
    return False


def _odd_answer(what: str, mutating: bool, reason: str) -> OperationalError:
    """An answer that is not the documented success: unknown outcome for a write."""
    if mutating:
        return OutcomeUnknown(
            f"{what}: {reason}. The request was sent and may or may not have been carried "
            "out; it was NOT retried. Check the current state before trying again."
        )
    return OperationalError(
        f"{what}: {reason}; the answer was not used (results are never silently short). "
        "Check BaseUrl points at the provider's REST API."
    )


def _unknown_outcome(what: str, mutating: bool, reason: str) -> OperationalError:
    if mutating:
        return OutcomeUnknown(
            f"{what}: {reason}. The request was sent but no answer came back, so it "
            "may or may not have been carried out; it was NOT retried. Check the "
            "current state before trying again (for example with SELECT on the table)."
        )
    return OperationalError(f"{what}: {reason}. Try again, or raise the Timeout property.")


def _h2_available() -> bool:
    import importlib.util

    return importlib.util.find_spec("h2") is not None
