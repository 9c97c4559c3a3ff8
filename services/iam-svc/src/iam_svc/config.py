"""Settings of iam-svc, read from `IAM_*` environment variables.

Run mode is read from the database URL: a SQLite URL is embedded mode, anything else is
distributed mode. It matters for two settings:

- `IAM_KEY_ENCRYPTION_KEY` (base64 of 32 random bytes) encrypts API SecretKeys at rest with
  AES-256-GCM. Distributed mode refuses to start without it. Embedded mode, when it is unset,
  generates one on first start and keeps it in `<database file>.kek` next to the SQLite file
  (permissions 0600); losing that file makes the stored SecretKeys unreadable.
- `IAM_CREATE_DEMO_ACCOUNT`: unset means "yes in embedded mode, no in distributed mode".
"""

from kit.db import is_sqlite
from kit.settings import ServiceSettings
from pydantic import SecretStr
from pydantic_settings import SettingsConfigDict


class Settings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="IAM_", extra="ignore")

    service_name: str = "iam-svc"
    database_url: str = "postgresql+asyncpg://root@127.0.0.1:5432/iam_svc"

    key_encryption_key: SecretStr | None = None
    """Base64 of 32 bytes: the AES-256-GCM key that encrypts SecretKeys at rest."""

    create_demo_account: bool | None = None
    """Create the demo root account and its API key on first start (None: embedded mode only)."""
    demo_secret_id: str | None = None
    """The demo key's SecretId (`AKID` + letters and digits); generated and printed when unset."""
    demo_secret_key: SecretStr | None = None
    """The demo key's SecretKey (letters and digits); generated and printed when unset."""

    @property
    def embedded(self) -> bool:
        return is_sqlite(self.database_url)

    @property
    def demo_account_enabled(self) -> bool:
        if self.create_demo_account is None:
            return self.embedded
        return self.create_demo_account
