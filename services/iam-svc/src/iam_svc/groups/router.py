"""User-group endpoints (CAM CreateGroup, ListGroups, DeleteGroup, AddUserToGroup,
RemoveUserFromGroup). Group policies are in iam_svc.policies.router."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from kit.idempotency import choose_key, fingerprint, respond
from starlette.responses import Response

from iam_svc.common.deps import Customer, IdempotencyKey, RunnerDep
from iam_svc.common.idempotency import create_once, scope_of
from iam_svc.common.types import Id, Keyword, Page, PageSize
from iam_svc.common.work import Work
from iam_svc.groups import service
from iam_svc.groups.schemas import CreateGroupIn, CreateGroupOut, ListGroupsOut, MembersIn
from iam_svc.users.schemas import Empty

router = APIRouter(tags=["user groups"])


@router.post("/v1/groups", response_model=CreateGroupOut, summary="CAM CreateGroup")
async def create_group(body: CreateGroupIn, caller: Customer, runner: RunnerDep,
                       idempotency_key: IdempotencyKey = None) -> Response:
    async def write(work: Work) -> dict[str, Any]:
        return await service.create_group(work, caller.uin or "", body)
    outcome = await create_once(
        runner, scope=scope_of(caller), key=choose_key(idempotency_key, body.client_token),
        request_hash=fingerprint("CreateGroup", body.model_dump(exclude={"client_token"})),
        fn=write)
    return respond(outcome)


@router.get("/v1/groups", response_model=ListGroupsOut, summary="CAM ListGroups")
async def list_groups(caller: Customer, runner: RunnerDep,
                      page: Annotated[Page, Query()] = 1, rp: Annotated[PageSize, Query()] = 20,
                      keyword: Annotated[Keyword | None, Query()] = None) -> dict[str, Any]:
    async def read(work: Work) -> dict[str, Any]:
        return await service.list_groups(work.session, caller.uin or "", page, rp, keyword)
    return await runner.run(read)


@router.delete("/v1/groups/{group_id}", response_model=Empty, summary="CAM DeleteGroup")
async def delete_group(group_id: Annotated[Id, Path()], caller: Customer,
                       runner: RunnerDep) -> dict[str, Any]:
    async def write(work: Work) -> dict[str, Any]:
        await service.delete_group(work, caller.uin or "", group_id)
        return {}
    return await runner.run(write)


@router.post("/v1/group-memberships", response_model=Empty, summary="CAM AddUserToGroup")
async def add_user_to_group(body: MembersIn, caller: Customer,
                            runner: RunnerDep) -> dict[str, Any]:
    async def write(work: Work) -> dict[str, Any]:
        await service.add_users_to_group(work, caller.uin or "", body.info)
        return {}
    return await runner.run(write)


@router.delete("/v1/group-memberships", response_model=Empty,
               summary="CAM RemoveUserFromGroup")
async def remove_user_from_group(body: MembersIn, caller: Customer,
                                 runner: RunnerDep) -> dict[str, Any]:
    async def write(work: Work) -> dict[str, Any]:
        await service.remove_users_from_group(work, caller.uin or "", body.info)
        return {}
    return await runner.run(write)
