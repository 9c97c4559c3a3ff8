"""Settings base shared by every service; each service subclasses it with its own env prefix."""

from __future__ import annotations

from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict

SYSTEM_EXCHANGE = "billing.events"


class ServiceSettings(BaseSettings):
    """Common knobs. Defaults point at localhost so `make up` needs no configuration."""

    model_config = SettingsConfigDict(extra="ignore")

    service_name: str = "service"
    database_url: str = "postgresql+asyncpg://root@127.0.0.1:5432/service"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    bus: Literal["rabbitmq", "inprocess"] = "rabbitmq"
    events_exchange: str = "billing.events"
    queue_prefix: str = ""  # prepended to this service's queue names (see queue_name)
    dlx_exchange: str = "billing.dlx"
    auto_migrate: bool = False
    run_relay: bool = True
    run_consumers: bool = True
    consumer_prefetch: int = 200
    consumer_batch_size: int = 100
    delivery_limit: int = 5
    retry_backoff_seconds: float = 0.5
    relay_batch_size: int = 200
    relay_poll_seconds: float = 2.0
    outbox_retention_hours: float = 24.0
    gateway_public_key: str | None = None  # base64 Ed25519; verifies caller assertions
    log_level: str = "INFO"
    log_json: bool = True

    def queue_name(self, base: str) -> str:
        """`invoice-svc.ledger` on the system's exchange `billing.events`. On any other
        exchange the queues are namespaced by it (`<exchange>.invoice-svc.ledger`), so systems
        sharing a broker under different exchanges (test runs, staging) never share, or
        conflict over, a queue. An explicit `queue_prefix` wins."""
        if self.queue_prefix:
            return self.queue_prefix + base
        if self.events_exchange != SYSTEM_EXCHANGE:
            return f"{self.events_exchange}.{base}"
        return base
