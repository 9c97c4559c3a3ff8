"""Bodies of the CAM policy endpoints, in CAM's field names (snake_case)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from iam_svc.common.types import ClientToken, Id, PolicyName, Remark

MAX_DELETE_BATCH = 50


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CreatePolicyIn(Strict):
    policy_name: PolicyName
    policy_document: Any = Field(description="The policy as JSON text (CAM syntax 2.0).")
    """Typed `Any` so a non-string gets the policy-document error, not a generic one."""
    description: Remark | None = None
    client_token: ClientToken | None = None


class CreatePolicyOut(BaseModel):
    policy_id: int


class GetPolicyOut(BaseModel):
    policy_name: str
    description: str | None
    type: Literal[1, 2]
    add_time: str
    update_time: str
    policy_document: str
    preset_alias: str | None


class StrategyInfo(BaseModel):
    policy_id: int
    policy_name: str
    add_time: str
    type: Literal[1, 2]
    description: str | None
    create_mode: int
    attachments: int


class ListPoliciesOut(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    total_num: int
    items: list[StrategyInfo] = Field(alias="list")


class DeletePolicyIn(Strict):
    policy_id: Annotated[list[Id], Field(min_length=1, max_length=MAX_DELETE_BATCH)]


class AttachPolicyIn(Strict):
    policy_id: Id


class AttachedGroup(BaseModel):
    group_id: int
    group_name: str


class AttachedUserPolicy(BaseModel):
    policy_id: str
    policy_name: str
    description: str | None
    add_time: str
    strategy_type: str
    create_mode: str
    groups: list[AttachedGroup]
    deactived: int


class ListAttachedUserAllPoliciesOut(BaseModel):
    policy_list: list[AttachedUserPolicy]
    total_num: int


Scope = Literal["All", "QCS", "Local"]
