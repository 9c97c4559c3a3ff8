"""The API gateway: the one door into the system.

`create_app` assembles it. The ASGI entry point sends operational paths (`/healthz`, `/readyz`,
`/metrics`, `/services/{name}/(healthz|readyz|openapi.json)`) to a small FastAPI app, and every
API call straight to the bare proxy (`gateway.proxy`), which measured about twice the
throughput of a routed FastAPI endpoint (reference architecture notes §3.5).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Iterable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from iam_svc.policies import CallerPolicies, Principal
from kit import jsonutil
from kit.errors import install_error_handlers, problem
from kit.http import JsonResponse, MetricsMiddleware, RequestIdMiddleware
from kit.identity import AssertionSigner
from kit.logging import configure_logging, current_request_id
from kit.messaging import RabbitBus
from kit.messaging.transport import Bus
from kit.routes import Route
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from gateway.assertions import Assertions
from gateway.auth import Authenticator
from gateway.authorization import Authorizer, PolicyKey
from gateway.cache import TtlCache
from gateway.config import Settings
from gateway.iam_client import AccessKey, IamClient
from gateway.invalidation import CacheInvalidator
from gateway.proxy import Proxy
from gateway.rate_limit import RateLimiter
from gateway.routes_table import RouteTable, load_service_routes
from gateway.upstreams import (
    Upstream,
    UpstreamUnavailable,
    make_http_upstream,
    strip_hop_by_hop,
)

log = logging.getLogger("gateway")

VERSION = "0.1.0"
OPERATIONAL_PATHS = {"healthz", "readyz", "openapi.json"}
OPS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


class Gateway:
    """The ASGI application. ``state`` exposes the parts (caches, limiter, table) to
    operators' tooling and tests."""

    def __init__(self, ops: FastAPI, proxy: Proxy) -> None:
        self.ops = ops
        self.proxy = proxy

    @property
    def state(self) -> Any:
        return self.ops.state

    def lifespan(self) -> contextlib.AbstractAsyncContextManager[None]:
        return self.ops.router.lifespan_context(self.ops)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = scope["path"]
            if path not in OPS_PATHS and not path.startswith("/services/"):
                await self.proxy(scope, receive, send)
                return
        await self.ops(scope, receive, send)


def _instance_queue(base: str, bus: Bus) -> str:
    """On RabbitMQ each replica listens on its own queue (`<base>.<host>.<pid>`)."""
    if isinstance(bus, RabbitBus):
        return f"{base}.{socket.gethostname()}.{os.getpid()}"
    return base


def create_app(settings: Settings | None = None, *,
               upstreams: Mapping[str, Upstream] | None = None, bus: Bus | None = None,
               routes: Iterable[Route] | None = None) -> Gateway:
    """``upstreams`` and ``bus`` are owned by the caller when given (embedded mode, tests);
    otherwise they are made from the settings and closed with the app."""
    settings = settings or Settings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    if not settings.assertion_private_key:
        raise ValueError("GATEWAY_ASSERTION_PRIVATE_KEY is not set: the gateway cannot vouch "
                         "for callers (generate one with kit.identity.generate_keypair)")
    registry = CollectorRegistry()
    owns_upstreams = upstreams is None
    if upstreams is None:
        upstreams = {
            name: make_http_upstream(
                url, client=settings.http_client, timeout=settings.upstream_timeout_seconds,
                connect_timeout=settings.upstream_connect_timeout_seconds,
                max_connections=settings.upstream_max_connections)
            for name, url in settings.upstream_urls().items()}
    owns_bus = bus is None and settings.bus == "rabbitmq"
    if owns_bus:
        bus = RabbitBus(settings.amqp_url, exchange=settings.events_exchange,
                        dlx=settings.dlx_exchange, connection_name=settings.service_name)

    signer = AssertionSigner(settings.assertion_private_key)
    table = RouteTable(load_service_routes() if routes is None else routes)
    iam = IamClient(upstreams["iam"], signer, timeout=settings.iam_timeout_seconds)
    keys: TtlCache[str, AccessKey | None] = TtlCache(
        iam.access_key, ttl=settings.key_cache_ttl_seconds,
        negative_ttl=settings.key_cache_negative_ttl_seconds,
        max_entries=settings.cache_max_entries)

    async def load_policies(key: PolicyKey) -> CallerPolicies:
        return await iam.caller_policies(Principal(*key))

    policies: TtlCache[PolicyKey, CallerPolicies] = TtlCache(
        load_policies, ttl=settings.policy_cache_ttl_seconds,
        max_entries=settings.cache_max_entries)
    authorizer = Authorizer(policies)
    limiter = RateLimiter(settings.rate_limit_rps, settings.rate_limit_burst)
    invalidator = (CacheInvalidator(bus, _instance_queue(settings.invalidation_queue, bus),
                                    keys, authorizer)
                   if bus is not None else None)
    proxy = Proxy(
        table=table, authenticator=Authenticator(keys, window=settings.signature_window_seconds),
        authorizer=authorizer, limiter=limiter,
        assertions=Assertions(signer, reuse_seconds=settings.assertion_reuse_seconds),
        upstreams=upstreams,
        registry=registry, max_body_bytes=settings.max_body_bytes,
        trust_forwarded_for=settings.trust_forwarded_for, access_log=settings.access_log,
        body_timeout=settings.body_timeout_seconds)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if owns_bus and bus is not None:
            await bus.connect()
        if invalidator is not None:
            await invalidator.start()
        log.info("gateway started", extra={
            "routes": len(table.routes), "api3": table.versions(),
            "client": type(next(iter(upstreams.values()), None)).__name__})
        try:
            yield
        finally:
            if invalidator is not None:
                await invalidator.stop()
            if owns_bus and bus is not None:
                await bus.close()
            if owns_upstreams:
                for upstream in upstreams.values():
                    await upstream.close()

    ops = FastAPI(title="gateway", version=VERSION, lifespan=lifespan,
                  default_response_class=JsonResponse)
    ops.state.settings = settings
    ops.state.upstreams = upstreams
    ops.state.table = table
    ops.state.keys = keys
    ops.state.policies = policies
    ops.state.proxy = proxy
    ops.state.invalidator = invalidator
    ops.state.bus = bus
    install_error_handlers(ops)
    _operations(ops, registry)
    ops.add_middleware(MetricsMiddleware, registry=registry, service=settings.service_name)
    ops.add_middleware(RequestIdMiddleware)
    return Gateway(ops, proxy)


def _operations(app: FastAPI, registry: CollectorRegistry) -> None:
    async def upstream_readiness(upstream: Upstream) -> dict[str, object]:
        try:
            rid = (current_request_id() or "").encode()
            answer = await asyncio.wait_for(
                upstream.request("GET", "/readyz", headers=[(b"x-request-id", rid)]), timeout=3.0)
        except (UpstreamUnavailable, TimeoutError) as exc:
            return {"ready": False, "error": str(exc) or type(exc).__name__}
        try:
            checks = jsonutil.loads(answer.body).get("checks", {})
        except ValueError:
            checks = {}
        return {"ready": answer.status == 200, "checks": checks}

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"],
             summary="Ready when every service is ready and the event bus is connected")
    async def readyz(request: Request) -> Response:
        ups: Mapping[str, Upstream] = request.app.state.upstreams
        results = await asyncio.gather(*(upstream_readiness(u) for u in ups.values()))
        services = dict(zip(ups, results, strict=True))
        bus: Bus | None = request.app.state.bus
        broker = bus is None or bus.connected
        ready = all(s["ready"] for s in services.values()) and broker
        return JsonResponse({"status": "ready" if ready else "not ready", "broker": broker,
                             "services": services}, status_code=200 if ready else 503)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    @app.get("/services/{name}/{path}", tags=["operations"],
             summary="A service's health, readiness or OpenAPI document")
    async def service_operational(name: str, path: str, request: Request) -> Response:
        upstream = request.app.state.upstreams.get(name)
        if upstream is None or path not in OPERATIONAL_PATHS:
            return problem(404, "ResourceNotFound", f"no such service path: {name}/{path}")
        try:
            answer = await upstream.request(
                "GET", f"/{path}",
                headers=[(b"x-request-id", (current_request_id() or "").encode())])
        except UpstreamUnavailable:
            return problem(503, "ResourceUnavailable", f"service {name} is unreachable")
        return Response(answer.body, status_code=answer.status,
                        headers={k.decode(): v.decode() for k, v in
                                 strip_hop_by_hop(answer.headers) if k.lower() != b"x-request-id"})
