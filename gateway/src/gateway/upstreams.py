"""How the gateway reaches services. The one module that knows the HTTP client, so it can be
swapped; embedded mode calls the service apps in-process through the same interface.

Measured on the proxy path (bench/bench_gateway.py, architecture notes §3.5): aiohttp's pooled
client costs far less per request than httpx under concurrency, so it is the default when
installed; httpx stays as the fallback. Both keep idle connections for less time than
uvicorn's 5 s keep-alive, so a pooled connection is never one the service is closing (which
would fail a POST that cannot safely be retried).
"""

from __future__ import annotations

import asyncio
import importlib.util
import logging
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import unquote

import httpx
from starlette.types import ASGIApp, Message

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
    """An upstream over HTTP with the chosen client (``auto``: aiohttp when installed)."""
    if client == "auto":
        client = "aiohttp" if importlib.util.find_spec("aiohttp") is not None else "httpx"
    if client == "aiohttp":
        return AiohttpUpstream(base_url, timeout=timeout, connect_timeout=connect_timeout,
                               max_connections=max_connections)
    return HttpUpstream(base_url, timeout=timeout, connect_timeout=connect_timeout,
                        max_connections=max_connections)


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
