"""Settings of contract-svc, read from `CONTRACT_*` environment variables."""

from kit.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CONTRACT_", extra="ignore")

    service_name: str = "contract-svc"
    database_url: str = "postgresql+asyncpg://root@127.0.0.1:5432/contract_svc"
