"""Bodies of the API key endpoints, in CAM's field names (snake_case)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from iam_svc.common.types import ClientToken, KeyDescription, Uin

KeyStatus = Literal["Active", "Inactive"]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreateAccessKeyIn(Strict):
    """`target_uin`: the sub-user (or the root's own uin); absent means the caller itself."""

    target_uin: Uin | None = None
    description: KeyDescription | None = None
    client_token: ClientToken | None = None


class UpdateAccessKeyIn(Strict):
    status: KeyStatus
    target_uin: Uin | None = None


class DeleteAccessKeyIn(Strict):
    target_uin: Uin | None = None


class AccessKeyOut(BaseModel):
    access_key_id: str
    status: KeyStatus
    create_time: str
    description: str | None


class AccessKeyDetail(AccessKeyOut):
    secret_access_key: str


class CreateAccessKeyOut(BaseModel):
    access_key: AccessKeyDetail


class ListAccessKeysOut(BaseModel):
    access_keys: list[AccessKeyOut]


class InternalAccessKeyOut(BaseModel):
    secret_id: str
    secret_key: str
    status: Literal["enabled", "disabled"]
    owner_uin: str
    sub_uin: str | None
    principal_kind: Literal["customer", "operator"]
