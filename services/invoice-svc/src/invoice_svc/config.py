"""Settings of invoice-svc, read from `INVOICE_*` environment variables."""

from kit.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INVOICE_", extra="ignore")

    service_name: str = "invoice-svc"
    database_url: str = "postgresql+asyncpg://root@127.0.0.1:5432/invoice_svc"
