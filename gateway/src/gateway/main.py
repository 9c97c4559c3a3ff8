"""The API gateway: the one door into the system.

So far: health, readiness of every service, metrics, and the operational passthrough
`/services/{name}/(healthz|readyz|openapi.json)`. Authentication, CAM enforcement, the route
table and the API 3.0 facade come with the gateway issue.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI, Request
from kit import jsonutil
from kit.errors import install_error_handlers, problem
from kit.http import JsonResponse, MetricsMiddleware, RequestIdMiddleware
from kit.logging import configure_logging, current_request_id
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from starlette.responses import Response

from gateway.config import Settings
from gateway.upstreams import HttpUpstream, Upstream, UpstreamUnavailable, strip_hop_by_hop

VERSION = "0.1.0"
OPERATIONAL_PATHS = {"healthz", "readyz", "openapi.json"}


def create_app(settings: Settings | None = None, *,
               upstreams: dict[str, Upstream] | None = None) -> FastAPI:
    settings = settings or Settings()
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    registry = CollectorRegistry()
    owned = upstreams is None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if owned:
            app.state.upstreams = {
                name: HttpUpstream(url, timeout=settings.upstream_timeout_seconds)
                for name, url in settings.upstream_urls().items()
            }
        try:
            yield
        finally:
            if owned:
                for upstream in app.state.upstreams.values():
                    await upstream.close()

    app = FastAPI(title="gateway", version=VERSION, lifespan=lifespan,
                  default_response_class=JsonResponse)
    app.state.upstreams = upstreams or {}
    install_error_handlers(app)

    async def upstream_readiness(name: str, upstream: Upstream) -> dict[str, object]:
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

    @app.get("/readyz", tags=["operations"], summary="Ready when every service is ready")
    async def readyz(request: Request) -> Response:
        ups: dict[str, Upstream] = request.app.state.upstreams
        results = await asyncio.gather(*(upstream_readiness(n, u) for n, u in ups.items()))
        services = dict(zip(ups, results, strict=True))
        ready = all(s["ready"] for s in services.values())
        return JsonResponse({"status": "ready" if ready else "not ready", "services": services},
                              status_code=200 if ready else 503)

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

    app.add_middleware(MetricsMiddleware, registry=registry, service=settings.service_name)
    app.add_middleware(RequestIdMiddleware)
    return app
