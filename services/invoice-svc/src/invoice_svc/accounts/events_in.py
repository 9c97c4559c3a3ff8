"""iam-svc's account events as this service reads them (tolerant: unknown fields ignored,
a few spellings accepted). Every account event carries the account's full real-name snapshot;
`billing.account.renamed.v1` adds the old and new names and when the new one took effect."""

from __future__ import annotations

from datetime import datetime

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator

from invoice_svc.common.inbound import Instant, Uin

ACCOUNT_CREATED = "billing.account.created.v1"
ACCOUNT_VERIFIED = "billing.account.verified.v1"
ACCOUNT_RENAMED = "billing.account.renamed.v1"
ACCOUNT_EVENTS = (ACCOUNT_CREATED, ACCOUNT_VERIFIED, ACCOUNT_RENAMED)


class AccountSnapshot(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    uin: Uin
    site: str | None = None
    is_international: bool | None = None
    verification_type: str = Field(
        default="none", validation_alias=AliasChoices("verification_type", "verification",
                                                      "verification_kind"))
    legal_name: str | None = Field(default=None, max_length=200)
    uscc: str | None = Field(default=None, max_length=18)
    verified_at: Instant | None = None
    old_legal_name: str | None = Field(
        default=None, validation_alias=AliasChoices("old_legal_name", "old_name"))
    new_legal_name: str | None = Field(
        default=None, validation_alias=AliasChoices("new_legal_name", "new_name"))
    effective_at: Instant | None = Field(
        default=None, validation_alias=AliasChoices("effective_at", "effective_time",
                                                    "renamed_at"))

    @field_validator("verification_type", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        if value is None:
            return "none"
        return value.lower() if isinstance(value, str) else value

    @property
    def resolved_site(self) -> str:
        if self.site:
            return self.site.lower()
        return "international" if self.is_international else "mainland"

    @property
    def current_name(self) -> str | None:
        return self.new_legal_name or self.legal_name

    def effective(self, fallback: datetime) -> datetime:
        return self.effective_at or fallback
