"""Bodies of the internal decision endpoints (the gateway's contract)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from iam_svc.common.types import Text, Uin

MAX_CONTEXT_KEYS = 64


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    owner_uin: Uin
    sub_uin: Uin | None = None
    action: Annotated[Text, StringConstraints(min_length=1, max_length=256)]
    resource: Annotated[Text, StringConstraints(min_length=1, max_length=2048)]
    context: Annotated[dict[str, Any], Field(max_length=MAX_CONTEXT_KEYS)] = {}


class MatchedStatement(BaseModel):
    policy_id: str
    statement_index: int
    effect: Literal["allow", "deny"]


class DecisionOut(BaseModel):
    allowed: bool
    reason: str
    matched_statement: MatchedStatement | None


class PolicyText(BaseModel):
    policy_id: str
    document: str


class PrincipalPoliciesOut(BaseModel):
    owner_uin: str
    sub_uin: str | None
    is_root: bool
    policies: list[PolicyText]
