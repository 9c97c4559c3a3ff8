"""Gateway settings, from `GATEWAY_*` environment variables."""

from typing import Literal

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    service_name: str = "gateway"
    iam_url: str = "http://127.0.0.1:8101"
    invoice_url: str = "http://127.0.0.1:8102"
    contract_url: str = "http://127.0.0.1:8103"
    esign_url: str = "http://127.0.0.1:8104"
    # auto: "raw" (asyncio + httptools, gateway.upstreams.RawHttpUpstream) when httptools is
    # installed, else aiohttp, else httpx
    http_client: Literal["auto", "raw", "aiohttp", "httpx"] = "auto"
    upstream_timeout_seconds: float = 10.0
    upstream_connect_timeout_seconds: float = 2.0
    upstream_max_connections: int = 256

    # Identity assertions (kit.identity): base64 of the raw Ed25519 private key.
    assertion_private_key: str | None = None
    assertion_reuse_seconds: float = 30.0  # of the 60 s lifetime; 0: one per request

    # Authentication and authorization caches (invalidated by iam events; the TTL bounds
    # staleness when an event is missed).
    signature_window_seconds: int = 300
    key_cache_ttl_seconds: float = 60.0
    key_cache_negative_ttl_seconds: float = 5.0
    policy_cache_ttl_seconds: float = 60.0
    cache_max_entries: int = 100_000
    iam_timeout_seconds: float = 2.0

    # Per-SecretId token bucket.
    rate_limit_rps: float = 20.0
    rate_limit_burst: int = 40

    max_body_bytes: int = 1024 * 1024
    body_timeout_seconds: float = 30.0  # the whole request body, once its headers arrived
    trust_forwarded_for: bool = False  # take qcs:ip from X-Forwarded-For (behind an ingress)

    # Cache invalidation events: each replica consumes them on its own exclusive queue,
    # `<invalidation_queue>.<host>.<pid>`, deleted when it disconnects.
    bus: Literal["rabbitmq", "none"] = "rabbitmq"
    amqp_url: str = "amqp://guest:guest@127.0.0.1:5672/"
    events_exchange: str = "billing.events"
    dlx_exchange: str = "billing.dlx"
    invalidation_queue: str = "gateway.cache-invalidation"

    # One log line per request: "errors" (refusals and failures; the default, since a line
    # per success costs about a tenth of the gateway's CPU), "all", or "none".
    access_log: Literal["errors", "all", "none"] = "errors"
    log_level: str = "INFO"
    log_json: bool = True

    def upstream_urls(self) -> dict[str, str]:
        return {"iam": self.iam_url, "invoice": self.invoice_url,
                "contract": self.contract_url, "esign": self.esign_url}
