"""ASGI middleware: request id propagation and Prometheus request metrics."""

from __future__ import annotations

import re
import time
from typing import Any

from prometheus_client import CollectorRegistry, Histogram
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kit import jsonutil
from kit.ids import uuid7
from kit.logging import request_id_var, service_var

# What a caller-supplied X-Request-Id may look like; anything else is replaced by a new id.
VALID_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


class RequestIdMiddleware:
    """Takes `X-Request-Id` from the caller (when well formed) or makes one; echoes it back."""

    def __init__(self, app: ASGIApp, service: str | None = None) -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        service_token = service_var.set(self.service) if self.service is not None else None
        incoming = None
        for name, value in scope["headers"]:
            if name == b"x-request-id":
                incoming = value.decode("latin-1")
                break
        rid = incoming if incoming and VALID_REQUEST_ID.fullmatch(incoming) else str(uuid7())
        token = request_id_var.set(rid)
        raw = rid.encode()

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), (b"x-request-id", raw)]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            request_id_var.reset(token)
            if service_token is not None:
                service_var.reset(service_token)


class MetricsMiddleware:
    """Request latency histogram labelled by route template, method and status."""

    def __init__(self, app: ASGIApp, registry: CollectorRegistry, service: str) -> None:
        self.app = app
        self.histogram = Histogram(
            "http_request_duration_seconds", "HTTP request latency",
            ["service", "method", "route", "status"], registry=registry,
        )
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            self.histogram.labels(self.service, scope["method"], template, str(status)).observe(
                time.perf_counter() - started
            )


class JsonResponse(JSONResponse):
    """JSON rendered with orjson and the project's conventions (Decimal as string)."""

    def render(self, content: Any) -> bytes:
        return jsonutil.dumps(content)
