"""How the gateway reaches services. The one module that knows the HTTP client, so it can be
swapped; embedded mode calls the service apps in-process through the same interface."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import httpx
from starlette.types import ASGIApp, Message


@dataclass(frozen=True)
class UpstreamResponse:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes


class UpstreamUnavailable(Exception):
    """Could not reach the service (refused, reset, timed out)."""


class Upstream(Protocol):
    async def request(self, method: str, path: str, *, query: bytes = b"",
                      headers: list[tuple[bytes, bytes]] | None = None,
                      body: bytes = b"") -> UpstreamResponse: ...

    async def close(self) -> None: ...


_HOP_BY_HOP = {b"connection", b"keep-alive", b"transfer-encoding", b"te", b"trailer",
               b"upgrade", b"proxy-authorization", b"proxy-authenticate", b"host",
               b"content-length", b"date", b"server"}


def strip_hop_by_hop(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [(k, v) for k, v in headers if k.lower() not in _HOP_BY_HOP]


class HttpUpstream:
    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self._client = httpx.AsyncClient(
            base_url=base_url, timeout=httpx.Timeout(timeout, connect=2.0),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=100),
        )

    async def request(self, method: str, path: str, *, query: bytes = b"",
                      headers: list[tuple[bytes, bytes]] | None = None,
                      body: bytes = b"") -> UpstreamResponse:
        url = path + ("?" + query.decode("latin-1") if query else "")
        try:
            response = await self._client.request(method, url, headers=headers or [],
                                                  content=body)
        except httpx.TransportError as exc:
            raise UpstreamUnavailable(f"{type(exc).__name__}: {exc}") from exc
        return UpstreamResponse(response.status_code, list(response.headers.raw),
                                response.content)

    async def close(self) -> None:
        await self._client.aclose()


class AsgiUpstream:
    """Calls a service's ASGI app directly (embedded mode): no sockets, same contract."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def request(self, method: str, path: str, *, query: bytes = b"",
                      headers: list[tuple[bytes, bytes]] | None = None,
                      body: bytes = b"") -> UpstreamResponse:
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": method, "scheme": "http", "path": path, "raw_path": path.encode(),
            "query_string": query, "root_path": "",
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
                return {"type": "http.disconnect"}
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: Message) -> None:
            nonlocal status, out_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                out_headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        await self.app(scope, receive, send)
        return UpstreamResponse(status, out_headers, b"".join(chunks))

    async def close(self) -> None:
        return None
