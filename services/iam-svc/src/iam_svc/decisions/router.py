"""Internal endpoints for the gateway: a principal's policies, and CAM decisions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from iam_svc.common.deps import RunnerDep, ServiceCaller
from iam_svc.common.types import UIN_PATTERN, Uin
from iam_svc.common.work import Work
from iam_svc.decisions import service
from iam_svc.decisions.schemas import DecisionIn, DecisionOut, PrincipalPoliciesOut

router = APIRouter(tags=["internal"])


@router.get("/internal/v1/principals/{owner_uin}/policies",
            response_model=PrincipalPoliciesOut,
            summary="Direct and group-inherited policies of a principal (no sub_uin: the root)")
async def principal_policies(owner_uin: Annotated[str, Path(pattern=UIN_PATTERN)],
                             caller: ServiceCaller, runner: RunnerDep,
                             sub_uin: Annotated[Uin | None, Query()] = None) -> dict[str, Any]:
    async def read(work: Work) -> dict[str, Any]:
        return await service.principal_policies(work.session, owner_uin, sub_uin)
    return await runner.run(read)


@router.post("/internal/v1/decisions", response_model=DecisionOut,
             summary="Decide one request against the principal's policies (CAM-REQ-2)")
async def decide(body: DecisionIn, caller: ServiceCaller, runner: RunnerDep) -> dict[str, Any]:
    async def read(work: Work) -> dict[str, Any]:
        return await service.decide(work.session, work.clock, body)
    return await runner.run(read)
