"""Request and answer bodies of the account endpoints."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, StringConstraints

from iam_svc.common.types import ClientToken, Text, Uin

Site = Literal["mainland", "international"]
VerificationType = Literal["personal", "enterprise", "organization"]
AccountKind = Literal["customer", "operator"]

LegalName = Annotated[Text, StringConstraints(min_length=1, max_length=200)]
UsccText = Annotated[Text, StringConstraints(min_length=1, max_length=40)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class VerificationIn(Strict):
    """Real-name verification (ACC-REQ-1). `uscc` is required for enterprise and organization
    verification and not accepted for personal verification."""

    verification_type: VerificationType
    legal_name: LegalName
    uscc: UsccText | None = None


class CreateAccountIn(Strict):
    uin: Uin | None = None
    kind: AccountKind = "customer"
    site: Site = "mainland"
    verification: VerificationIn | None = None
    client_token: ClientToken | None = None


class RenameIn(Strict):
    """A change of the real-name information (ACC-REQ-2): the new legal name and, for a new
    entity or personal -> enterprise, the verification type and USCC."""

    legal_name: LegalName
    verification_type: VerificationType | None = None
    uscc: UsccText | None = None


class AccountOut(BaseModel):
    uin: str
    kind: AccountKind
    site: Site
    is_international: bool
    verification_type: Literal["none", "personal", "enterprise", "organization"]
    legal_name: str | None
    uscc: str | None
    verified_at: str | None
    name_changed_at: str | None
    next_rename_allowed_at: str | None
    created_at: str
