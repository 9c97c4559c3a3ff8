"""How the gateway reaches services. The one module that knows the HTTP client, so it can be
swapped; embedded mode calls the service apps in-process through the same interface.

Measured on the proxy path (bench/bench_gateway.py, architecture notes §3.5): a pooled client
built on asyncio's Protocol and httptools' response parser (:class:`RawHttpUpstream`, the
default) costs far less per request than aiohttp's ``ClientSession`` (about a fifth of the
gateway's CPU per request went into aiohttp), which costs far less than httpx under
concurrency; both stay selectable (``GATEWAY_HTTP_CLIENT``). Every client keeps idle
connections for less time than uvicorn's 5 s keep-alive, so a pooled connection is never one
the service is closing (which would fail a POST that cannot safely be retried).
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from collections import deque
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote, urlsplit

import httpx
from starlette.types import ASGIApp, Message

try:
    import httptools
except ImportError:  # pragma: no cover - uvicorn[standard] installs it
    httptools = None

log = logging.getLogger("gateway.upstreams")

IDLE_KEEPALIVE_SECONDS = 3.0


@dataclass(frozen=True, slots=True)
class UpstreamResponse:
    status: int
    headers: list[tuple[bytes, bytes]]  # names lower-case
    body: bytes


class UpstreamUnavailable(Exception):
    """Could not reach the service (refused, reset)."""


class UpstreamTimeout(UpstreamUnavailable):
    """The service did not answer in time."""


class Upstream(Protocol):
    async def request(self, method: str, path: str, *, query: bytes = b"",
                      headers: list[tuple[bytes, bytes]] | None = None,
                      body: bytes = b"") -> UpstreamResponse:
        """``path`` and ``query`` are sent as given (already percent-encoded)."""
        ...

    async def close(self) -> None: ...


_HOP_BY_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer",
               b"upgrade", b"proxy-authorization", b"proxy-authenticate", b"host",
               b"content-length", b"date", b"server"}


def strip_hop_by_hop(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP]


def make_http_upstream(base_url: str, *, client: str = "auto", timeout: float = 10.0,
                       connect_timeout: float = 2.0, max_connections: int = 256) -> Upstream:
    """An upstream over HTTP with the chosen client (``auto``: the raw client when httptools
    is installed, as uvicorn[standard] installs it; else aiohttp, else httpx)."""
    if client == "auto":
        if importlib.util.find_spec("httptools") is not None:
            client = "raw"
        elif importlib.util.find_spec("aiohttp") is not None:
            client = "aiohttp"
        else:
            client = "httpx"
    if client == "raw":
        return RawHttpUpstream(base_url, timeout=timeout, connect_timeout=connect_timeout,
                               max_connections=max_connections)
    if client == "aiohttp":
        return AiohttpUpstream(base_url, timeout=timeout, connect_timeout=connect_timeout,
                               max_connections=max_connections)
    return HttpUpstream(base_url, timeout=timeout, connect_timeout=connect_timeout,
                        max_connections=max_connections)


_SAFE_TO_RETRY = frozenset({"GET", "HEAD", "OPTIONS"})
_NO_LENGTH_METHODS = frozenset({"GET", "HEAD"})


class _Connection(asyncio.Protocol):
    """One keep-alive HTTP/1.1 connection to a service: one request at a time, the answer
    parsed by httptools as it arrives (no stream objects, no extra tasks)."""

    __slots__ = ("_parser", "body", "closed", "complete", "done", "head_only", "headers",
                 "headers_done", "idle_since", "keep_alive", "received", "status", "transport",
                 "upstream")

    def __init__(self, upstream: RawHttpUpstream) -> None:
        self.upstream = upstream
        self.transport: asyncio.Transport | None = None
        self._parser = httptools.HttpResponseParser(self)
        self.done: asyncio.Future[UpstreamResponse] | None = None
        self.closed = False
        self.idle_since = 0.0
        self._reset()

    def _reset(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.headers_done = False
        self.complete = False
        self.keep_alive = False
        self.received = False
        self.head_only = False

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        self.received = True
        if self.done is None:  # nothing asked: a stray answer, the connection is unusable
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(UpstreamUnavailable(f"malformed answer from the service: {exc}"))
            self.close()
            return
        if self.head_only and self.headers_done and not self.complete:
            self._finish(keep_alive=False)  # HEAD: the parser would wait for a body

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self.upstream._forget(self)
        if self.done is not None and not self.done.done():
            if self.headers_done and not self._framed():  # body delimited by the close
                self._finish(keep_alive=False)
                return
            self._fail(UpstreamUnavailable(
                "the service closed the connection" + (f": {exc}" if exc else "")))

    # httptools callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self.headers.append((name.lower(), value))

    def on_headers_complete(self) -> None:
        self.status = self._parser.get_status_code()
        self.headers_done = True

    def on_body(self, body: bytes) -> None:
        self.body.append(body)

    def on_message_complete(self) -> None:
        if 100 <= self.status < 200 and self.status != 101:  # informational: the answer follows
            head_only = self.head_only
            self._reset()
            self.received = True
            self.head_only = head_only
            return
        self._finish(keep_alive=self._parser.should_keep_alive())

    # requests
    def send(self, request: bytes, head_only: bool) -> asyncio.Future[UpstreamResponse]:
        self._reset()
        self.head_only = head_only
        self.done = self.upstream._loop.create_future()
        self.transport.write(request)  # type: ignore[union-attr]
        return self.done

    def _framed(self) -> bool:
        return any(k in (b"content-length", b"transfer-encoding") for k, _ in self.headers)

    def _finish(self, *, keep_alive: bool) -> None:
        self.complete = True
        self.keep_alive = keep_alive and not self.closed
        done = self.done
        if done is not None and not done.done():
            body = self.body
            done.set_result(UpstreamResponse(
                self.status, self.headers,
                body[0] if len(body) == 1 else b"".join(body)))

    def _fail(self, exc: Exception) -> None:
        if self.done is not None and not self.done.done():
            self.done.set_exception(exc)

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class RawHttpUpstream:
    """A pooled HTTP/1.1 client on asyncio's Protocol with httptools' response parser.

    Connections are reused last-in first-out and dropped after ``IDLE_KEEPALIVE_SECONDS``
    idle; at most ``max_connections`` are open at once (later requests wait for one). The
    request goes out in one write. ``timeout`` bounds the whole call (connecting included),
    ``connect_timeout`` the connection. A reused connection that the service closed before
    answering is retried once on a new one for GET, HEAD and OPTIONS only.
    """

    def __init__(self, base_url: str, *, timeout: float = 10.0, connect_timeout: float = 2.0,
                 max_connections: int = 256) -> None:
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"not an http(s) URL: {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self._host = parts.hostname
        self._ssl = parts.scheme == "https"
        self._port = parts.port or (443 if self._ssl else 80)
        self._prefix = parts.path.rstrip("/")
        self._host_header = b"host: " + parts.netloc.encode("idna") + b"\r\n"
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._max_connections = max_connections
        self._idle: list[_Connection] = []
        self._open = 0
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]

    async def request(self, method: str, path: str, *, query: bytes = b"",
                      headers: list[tuple[bytes, bytes]] | None = None,
                      body: bytes = b"") -> UpstreamResponse:
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        deadline = loop.time() + self._timeout
        message = self._message(method, path, query, headers or (), body)
        head_only = method == "HEAD"
        for attempt in (0, 1):
            conn, reused = self._idle_connection(loop.time())
            if conn is None:
                conn = await self._connect(deadline)
            future = conn.send(message, head_only)
            timer = loop.call_at(deadline, _expire, future)
            try:
                response = await future
            except UpstreamTimeout:
                conn.close()
                raise
            except UpstreamUnavailable:
                conn.close()
                if (attempt == 0 and reused and not conn.received
                        and method in _SAFE_TO_RETRY):
                    continue
                raise
            except BaseException:  # cancelled: the connection's state is unknown
                conn.close()
                raise
            finally:
                timer.cancel()
                conn.done = None
            self._release(conn, loop.time())
            return response
        raise AssertionError("unreachable")

    def _message(self, method: str, path: str, query: bytes,
                 headers: object, body: bytes) -> bytes:
        target = self._prefix + path + ("?" + query.decode("latin-1") if query else "")
        parts = [f"{method} {target} HTTP/1.1\r\n".encode("latin-1"), self._host_header]
        lines = 3
        for name, value in headers:  # type: ignore[attr-defined]
            parts += (name, b": ", value, b"\r\n")
            lines += 1
        if body or method not in _NO_LENGTH_METHODS:
            parts.append(b"content-length: %d\r\n" % len(body))
            lines += 1
        parts.append(b"\r\n")
        head = b"".join(parts)
        # Header injection: every line break must be one this function wrote.
        if head.count(b"\n") != lines or head.count(b"\r") != lines:
            raise ValueError("line break in the request line or a header")
        return head + body if body else head

    def _idle_connection(self, now: float) -> tuple[_Connection | None, bool]:
        idle = self._idle
        while idle:
            conn = idle.pop()
            if not conn.closed and now - conn.idle_since < IDLE_KEEPALIVE_SECONDS:
                return conn, True
            self._discard(conn)
        return None, False

    async def _connect(self, deadline: float) -> _Connection:
        loop = self._loop
        while self._open >= self._max_connections:
            waiter = loop.create_future()
            self._waiters.append(waiter)
            try:
                async with asyncio.timeout_at(deadline):
                    await waiter
            except TimeoutError as exc:
                raise UpstreamTimeout(f"no connection free within {self._timeout} s") from exc
            finally:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
            conn, _ = self._idle_connection(loop.time())
            if conn is not None:
                return conn
        self._open += 1
        try:
            budget = min(self._connect_timeout, deadline - loop.time())
            async with asyncio.timeout(max(budget, 0.0)):
                _, conn = await loop.create_connection(
                    lambda: _Connection(self), self._host, self._port,
                    ssl=True if self._ssl else None)
        except TimeoutError as exc:
            self._open -= 1
            self._wake()
            raise UpstreamTimeout(f"could not connect within {self._connect_timeout} s") from exc
        except OSError as exc:
            self._open -= 1
            self._wake()
            raise UpstreamUnavailable(f"{type(exc).__name__}: {exc}") from exc
        except BaseException:
            self._open -= 1
            self._wake()
            raise
        return conn

    def _release(self, conn: _Connection, now: float) -> None:
        if conn.keep_alive and not conn.closed:
            conn.idle_since = now
            self._idle.append(conn)
            self._wake()
        else:
            conn.close()  # connection_lost forgets it

    def _forget(self, conn: _Connection) -> None:
        """The connection is gone: free its slot (once)."""
        if conn.upstream is None:
            return
        conn.upstream = None  # type: ignore[assignment]
        self._open -= 1
        if conn in self._idle:
            self._idle.remove(conn)
        self._wake()

    def _discard(self, conn: _Connection) -> None:
        conn.close()

    def _wake(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def _expire(future: asyncio.Future[UpstreamResponse]) -> None:
    if not future.done():
        future.set_exception(UpstreamTimeout("the service did not answer in time"))


class AiohttpUpstream:
    def __init__(self, base_url: str, *, timeout: float = 10.0, connect_timeout: float = 2.0,
                 max_connections: int = 256) -> None:
        self.base_url = base_url.rstrip("/")
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._max_connections = max_connections
        self._session = None  # created on first use, inside the running loop

    def _open(self):  # type: ignore[no-untyped-def]
        import aiohttp

        self._session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=self._max_connections,
                                           keepalive_timeout=IDLE_KEEPALIVE_SECONDS),
            timeout=aiohttp.ClientTimeout(total=self._timeout,
                                          sock_connect=self._connect_timeout),
            auto_decompress=False, skip_auto_headers=("User-Agent", "Accept-Encoding"),
        )
        return self._session

    async def request(self, method: str, path: str, *, query: bytes = b"",
                      headers: list[tuple[bytes, bytes]] | None = None,
                      body: bytes = b"") -> UpstreamResponse:
        import aiohttp
        from yarl import URL

        session = self._session or self._open()
        url = self.base_url + path + ("?" + query.decode("latin-1") if query else "")
        try:
            async with session.request(
                method, URL(url, encoded=True), data=body or None,
                headers=[(k.decode("latin-1"), v.decode("latin-1")) for k, v in headers or ()],
            ) as response:
                content = await response.read()
                return UpstreamResponse(response.status,
                                        [(k.lower(), v) for k, v in response.raw_headers],
                                        content)
        except TimeoutError as exc:
            raise UpstreamTimeout(f"no answer within {self._timeout} s") from exc
        except aiohttp.ClientError as exc:
            raise UpstreamUnavailable(f"{type(exc).__name__}: {exc}") from exc

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class HttpUpstream:
    def __init__(self, base_url: str, *, timeout: float = 10.0, connect_timeout: float = 2.0,
                 max_connections: int = 256) -> None:
        self._timeout = timeout
        self._client = httpx.AsyncClient(
            base_url=base_url, timeout=httpx.Timeout(timeout, connect=connect_timeout),
            limits=httpx.Limits(max_connections=max_connections,
                                max_keepalive_connections=max_connections,
                                keepalive_expiry=IDLE_KEEPALIVE_SECONDS),
        )

    async def request(self, method: str, path: str, *, query: bytes = b"",
                      headers: list[tuple[bytes, bytes]] | None = None,
                      body: bytes = b"") -> UpstreamResponse:
        url = path + ("?" + query.decode("latin-1") if query else "")
        try:
            response = await self._client.request(method, url, headers=headers or [],
                                                  content=body)
        except httpx.TimeoutException as exc:
            raise UpstreamTimeout(f"no answer within {self._timeout} s") from exc
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return UpstreamResponse(response.status_code,
                                [(k.lower(), v) for k, v in response.headers.raw],
                                response.content)

    async def close(self) -> None:
        await self._client.aclose()


class AsgiUpstream:
    """Calls a service's ASGI app directly (embedded mode): no sockets, same contract."""

    def __init__(self, app: ASGIApp, *, timeout: float = 10.0) -> None:
        self.app = app
        self._timeout = timeout

    async def request(self, method: str, path: str, *, query: bytes = b"",
                      headers: list[tuple[bytes, bytes]] | None = None,
                      body: bytes = b"") -> UpstreamResponse:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "scheme": "http", "path": unquote(path),
            "raw_path": path.encode("latin-1"), "query_string": query, "root_path": "",
            "headers": [(k.lower(), v) for k, v in (headers or [])]
                       + [(b"content-length", str(len(body)).encode())],
            "client": ("127.0.0.1", 0), "server": ("embedded", 80),
        }
        sent = False
        status = 500
        out_headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def receive() -> Message:
            nonlocal sent
            if sent:
                await asyncio.Event().wait()  # like a client that stays: no disconnect
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            nonlocal status, out_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                out_headers = [(k.lower(), v) for k, v in message.get("headers", [])]
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            async with asyncio.timeout(self._timeout):
                await self.app(scope, receive, send)
        except TimeoutError as exc:
            raise UpstreamTimeout(f"no answer within {self._timeout} s") from exc
        except Exception as exc:  # Starlette re-raises after sending its 500: keep the answer
            if not chunks:
                raise UpstreamUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return UpstreamResponse(status, out_headers, b"".join(chunks))

    async def close(self) -> None:
        return None
