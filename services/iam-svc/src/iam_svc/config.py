"""Settings of iam-svc, read from `IAM_*` environment variables."""

from kit.settings import ServiceSettings
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IAM_", extra="ignore")

    service_name: str = "iam-svc"
    database_url: str = "postgresql+asyncpg://root@127.0.0.1:5432/iam_svc"
