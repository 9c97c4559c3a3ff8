"""What every service process is made of, assembled once: database, bus, outbox relay,
consumers, health, metrics, errors, request ids and JSON logs, in one lifespan.

A service's `create_app(settings)` declares its own parts (routers, tables, subscriptions)
and calls `build_service_app`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from fastapi import APIRouter, FastAPI, Request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from sqlalchemy import MetaData, Table
from starlette.responses import Response

from kit.clock import Clock, SystemClock
from kit.db import Database, ensure_postgres_database
from kit.errors import document_problems, install_error_handlers
from kit.http import JsonResponse, MetricsMiddleware, RequestIdMiddleware
from kit.identity import AssertionVerifier
from kit.logging import configure_logging, service_var
from kit.messaging import Consumer, InProcessBus, OutboxRelay, RabbitBus, Subscription
from kit.messaging.transport import Bus
from kit.migrations import at_head, upgrade_to_head_async
from kit.settings import ServiceSettings

log = logging.getLogger("kit.service")

Hook = Callable[["Runtime"], Awaitable[None]]


class BackgroundWorker(Protocol):
    """A loop a service runs beside its HTTP server (schedulers, issuing workers)."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


WorkerFactory = Callable[["Runtime"], BackgroundWorker]


@dataclass
class Runtime:
    """Everything a request handler or event handler of one service may need."""

    settings: ServiceSettings
    db: Database
    bus: Bus
    outbox: Table
    inbox: Table
    migrations_dir: Path
    clock: Clock
    registry: CollectorRegistry
    relay: OutboxRelay | None = None
    consumers: list[Consumer] = field(default_factory=list)
    workers: list[BackgroundWorker] = field(default_factory=list)
    owns_bus: bool = True

    async def readiness(self) -> dict[str, bool]:
        return {
            "database": await self.db.ping(),
            "migrations": await at_head(self.db, self.migrations_dir),
            "broker": self.bus.connected,
        }


def make_bus(settings: ServiceSettings) -> Bus:
    if settings.bus == "inprocess":
        return InProcessBus()
    return RabbitBus(settings.amqp_url, exchange=settings.events_exchange,
                     dlx=settings.dlx_exchange, connection_name=settings.service_name)


def build_service_app(
    settings: ServiceSettings, *, title: str, version: str, metadata: MetaData,
    migrations_dir: Path, routers: Sequence[APIRouter] = (),
    subscriptions: Sequence[Subscription] = (), bus: Bus | None = None,
    clock: Clock | None = None, on_startup: Sequence[Hook] = (),
    workers: Sequence[WorkerFactory] = (), description: str = "",
) -> FastAPI:
    configure_logging(settings.service_name, settings.log_level, settings.log_json)
    registry = CollectorRegistry()
    owns_bus = bus is None
    runtime = Runtime(
        settings=settings, db=Database(settings.database_url),
        bus=bus if bus is not None else make_bus(settings),
        outbox=metadata.tables["outbox"], inbox=metadata.tables["inbox"],
        migrations_dir=migrations_dir, clock=clock or SystemClock(), registry=registry,
        owns_bus=owns_bus,
    )

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        token = service_var.set(settings.service_name)  # inherited by the tasks started here
        if settings.auto_migrate:
            await ensure_postgres_database(settings.database_url)
            await upgrade_to_head_async(migrations_dir, settings.database_url)
        if owns_bus:
            await runtime.bus.connect()
        if settings.run_relay:
            runtime.relay = OutboxRelay(
                runtime.db, runtime.outbox, runtime.bus, batch_size=settings.relay_batch_size,
                poll_seconds=settings.relay_poll_seconds, registry=registry,
                retention=timedelta(hours=settings.outbox_retention_hours),
                service=settings.service_name,
            )
            await runtime.relay.start()
        if settings.run_consumers:
            for sub in subscriptions:
                consumer = Consumer(
                    runtime.db, runtime.inbox, runtime.bus,
                    dataclasses.replace(sub, queue=settings.queue_name(sub.queue)),
                    delivery_limit=settings.delivery_limit, prefetch=settings.consumer_prefetch,
                    batch_size=settings.consumer_batch_size,
                    backoff_seconds=settings.retry_backoff_seconds, registry=registry,
                )
                await consumer.start()
                runtime.consumers.append(consumer)
        for hook in on_startup:
            await hook(runtime)
        for make_worker in workers:
            worker = make_worker(runtime)
            await worker.start()
            runtime.workers.append(worker)
        log.info("service started", extra={"database": runtime.db.dialect,
                                           "bus": type(runtime.bus).__name__})
        service_var.reset(token)
        try:
            yield
        finally:
            for worker in reversed(runtime.workers):
                await worker.stop()
            runtime.workers.clear()
            for consumer in runtime.consumers:
                await consumer.stop()
            runtime.consumers.clear()
            if runtime.relay is not None:
                await runtime.relay.stop()
            if owns_bus:
                await runtime.bus.close()
            await runtime.db.dispose()
            log.info("service stopped")

    app = FastAPI(title=title, version=version, description=description, lifespan=lifespan,
                  default_response_class=JsonResponse)
    app.state.runtime = runtime
    app.state.assertion_verifier = AssertionVerifier(settings.gateway_public_key)
    install_error_handlers(app)
    document_problems(app)
    app.include_router(health_router())
    for router in routers:
        app.include_router(router)
    app.add_middleware(MetricsMiddleware, registry=registry, service=settings.service_name)
    app.add_middleware(RequestIdMiddleware, service=settings.service_name)
    return app


def runtime_of(request: Request) -> Runtime:
    """FastAPI dependency: the service's runtime."""
    return request.app.state.runtime


def health_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="Liveness: the process answers")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @router.get("/readyz", summary="Readiness: database reachable, migrations at head, broker up")
    async def readyz(request: Request) -> Response:
        checks = await runtime_of(request).readiness()
        ready = all(checks.values())
        return JsonResponse({"status": "ready" if ready else "not ready", "checks": checks},
                              status_code=200 if ready else 503)

    @router.get("/metrics", summary="Prometheus metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        return Response(generate_latest(runtime_of(request).registry),
                        media_type=CONTENT_TYPE_LATEST)

    return router
