"""Settings of esign-svc, read from `ESIGN_*` environment variables."""

from kit.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="ESIGN_", extra="ignore")

    service_name: str = "esign-svc"
    database_url: str = "postgresql+asyncpg://root@127.0.0.1:5432/esign_svc"
