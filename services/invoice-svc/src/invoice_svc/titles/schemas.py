"""Request bodies of the title operations (snake_case; the gateway maps PascalCase)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from invoice_svc.common.types import ClientToken
from invoice_svc.titles.rules import TitleInput

TitleType = Literal["personal_general", "enterprise_general", "enterprise_special",
                    "organization_general"]


class TitleRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title_type: TitleType
    name: str | None = Field(default=None, max_length=200)
    taxpayer_id: str | None = Field(default=None, max_length=40)
    address: str | None = Field(default=None, max_length=200)
    phone: str | None = Field(default=None, max_length=40)
    bank_name: str | None = Field(default=None, max_length=200)
    bank_account: str | None = Field(default=None, max_length=64)

    def to_input(self) -> TitleInput:
        return TitleInput(self.title_type, self.name, self.taxpayer_id, self.address,
                          self.phone, self.bank_name, self.bank_account)


class CreateTitleRequest(TitleRequest):
    client_token: ClientToken | None = None
