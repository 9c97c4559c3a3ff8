"""CAM policy endpoints: CreatePolicy, GetPolicy, ListPolicies, DeletePolicy, Attach/Detach
User/GroupPolicy, ListAttachedUserAllPolicies."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from kit.idempotency import choose_key, fingerprint, respond
from starlette.responses import Response

from iam_svc.common.deps import Customer, IdempotencyKey, RunnerDep
from iam_svc.common.idempotency import create_once, scope_of
from iam_svc.common.types import UIN_PATTERN, Id, Keyword, Page, PageSize
from iam_svc.common.work import Work
from iam_svc.policies import service
from iam_svc.policies.schemas import (
    AttachPolicyIn,
    CreatePolicyIn,
    CreatePolicyOut,
    DeletePolicyIn,
    GetPolicyOut,
    ListAttachedUserAllPoliciesOut,
    ListPoliciesOut,
    Scope,
)
from iam_svc.users.schemas import Empty

router = APIRouter(tags=["policies"])

UinPath = Annotated[str, Path(pattern=UIN_PATTERN)]


@router.post("/v1/policies", response_model=CreatePolicyOut, summary="CAM CreatePolicy")
async def create_policy(body: CreatePolicyIn, caller: Customer, runner: RunnerDep,
                        idempotency_key: IdempotencyKey = None) -> Response:
    async def write(work: Work) -> dict[str, Any]:
        return await service.create_policy(work, caller.uin or "", body)
    outcome = await create_once(
        runner, scope=scope_of(caller), key=choose_key(idempotency_key, body.client_token),
        request_hash=fingerprint("CreatePolicy", body.model_dump(exclude={"client_token"})),
        fn=write)
    return respond(outcome)


@router.get("/v1/policies", response_model=ListPoliciesOut, summary="CAM ListPolicies")
async def list_policies(caller: Customer, runner: RunnerDep,
                        page: Annotated[Page, Query()] = 1,
                        rp: Annotated[PageSize, Query()] = 20,
                        scope: Annotated[Scope, Query()] = "All",
                        keyword: Annotated[Keyword | None, Query()] = None) -> dict[str, Any]:
    async def read(work: Work) -> dict[str, Any]:
        return await service.list_policies(work.session, caller.uin or "", page, rp, scope,
                                           keyword)
    return await runner.run(read)


@router.get("/v1/policies/{policy_id}", response_model=GetPolicyOut, summary="CAM GetPolicy")
async def get_policy(policy_id: Annotated[Id, Path()], caller: Customer,
                     runner: RunnerDep) -> dict[str, Any]:
    async def read(work: Work) -> dict[str, Any]:
        return await service.get_policy(work.session, caller.uin or "", policy_id)
    return await runner.run(read)


@router.delete("/v1/policies", response_model=Empty, summary="CAM DeletePolicy (batch)")
async def delete_policy(body: DeletePolicyIn, caller: Customer,
                        runner: RunnerDep) -> dict[str, Any]:
    async def write(work: Work) -> dict[str, Any]:
        await service.delete_policies(work, caller.uin or "", body.policy_id)
        return {}
    return await runner.run(write)


@router.post("/v1/users/{attach_uin}/policies", response_model=Empty,
             summary="CAM AttachUserPolicy")
async def attach_user_policy(attach_uin: UinPath, body: AttachPolicyIn, caller: Customer,
                             runner: RunnerDep) -> dict[str, Any]:
    async def write(work: Work) -> dict[str, Any]:
        await service.attach_user_policy(work, caller.uin or "", attach_uin, body.policy_id)
        return {}
    return await runner.run(write)


@router.delete("/v1/users/{detach_uin}/policies/{policy_id}", response_model=Empty,
               summary="CAM DetachUserPolicy")
async def detach_user_policy(detach_uin: UinPath, policy_id: Annotated[Id, Path()],
                             caller: Customer, runner: RunnerDep) -> dict[str, Any]:
    async def write(work: Work) -> dict[str, Any]:
        await service.detach_user_policy(work, caller.uin or "", detach_uin, policy_id)
        return {}
    return await runner.run(write)


@router.get("/v1/users/{target_uin}/policies", response_model=ListAttachedUserAllPoliciesOut,
            summary="CAM ListAttachedUserAllPolicies")
async def list_attached_user_all_policies(
    target_uin: UinPath, caller: Customer, runner: RunnerDep,
    page: Annotated[Page, Query()] = 1, rp: Annotated[PageSize, Query()] = 20,
    attach_type: Annotated[int, Query(ge=0, le=2)] = 0,
    strategy_type: Annotated[int | None, Query(ge=1, le=2)] = None,
    keyword: Annotated[Keyword | None, Query()] = None,
) -> dict[str, Any]:
    async def read(work: Work) -> dict[str, Any]:
        return await service.list_attached_user_all_policies(
            work.session, caller.uin or "", target_uin, page, rp, attach_type, strategy_type,
            keyword)
    return await runner.run(read)


@router.post("/v1/groups/{attach_group_id}/policies", response_model=Empty,
             summary="CAM AttachGroupPolicy")
async def attach_group_policy(attach_group_id: Annotated[Id, Path()], body: AttachPolicyIn,
                              caller: Customer, runner: RunnerDep) -> dict[str, Any]:
    async def write(work: Work) -> dict[str, Any]:
        await service.attach_group_policy(work, caller.uin or "", attach_group_id,
                                          body.policy_id)
        return {}
    return await runner.run(write)


@router.delete("/v1/groups/{detach_group_id}/policies/{policy_id}", response_model=Empty,
               summary="CAM DetachGroupPolicy")
async def detach_group_policy(detach_group_id: Annotated[Id, Path()],
                              policy_id: Annotated[Id, Path()], caller: Customer,
                              runner: RunnerDep) -> dict[str, Any]:
    async def write(work: Work) -> dict[str, Any]:
        await service.detach_group_policy(work, caller.uin or "", detach_group_id, policy_id)
        return {}
    return await runner.run(write)
