"""Gateway settings, from `GATEWAY_*` environment variables."""

from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", extra="ignore")

    service_name: str = "gateway"
    iam_url: str = "http://127.0.0.1:8101"
    invoice_url: str = "http://127.0.0.1:8102"
    contract_url: str = "http://127.0.0.1:8103"
    esign_url: str = "http://127.0.0.1:8104"
    upstream_timeout_seconds: float = 10.0
    log_level: str = "INFO"
    log_json: bool = True

    def upstream_urls(self) -> dict[str, str]:
        return {"iam": self.iam_url, "invoice": self.invoice_url,
                "contract": self.contract_url, "esign": self.esign_url}
