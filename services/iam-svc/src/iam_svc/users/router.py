"""Sub-user endpoints (CAM AddUser, GetUser, ListUsers, DeleteUser)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path
from kit.idempotency import choose_key, fingerprint, respond
from starlette.responses import Response

from iam_svc.common.deps import Customer, IdempotencyKey, RunnerDep
from iam_svc.common.idempotency import create_once, scope_of
from iam_svc.common.work import Work
from iam_svc.users import repository, service
from iam_svc.users.schemas import (
    AddUserIn,
    AddUserOut,
    DeleteUserIn,
    Empty,
    ListUsersOut,
    UserOut,
)

router = APIRouter(tags=["sub-users"])

NamePath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_+=,.@-]+$")]


@router.post("/v1/users", response_model=AddUserOut, summary="CAM AddUser")
async def add_user(body: AddUserIn, caller: Customer, runner: RunnerDep,
                   idempotency_key: IdempotencyKey = None) -> Response:
    async def write(work: Work) -> dict[str, Any]:
        return await service.add_user(work, caller.uin or "", body)
    outcome = await create_once(
        runner, scope=scope_of(caller), key=choose_key(idempotency_key, body.client_token),
        request_hash=fingerprint("AddUser", body.model_dump(exclude={"client_token"})), fn=write)
    return respond(outcome)


@router.get("/v1/users", response_model=ListUsersOut, summary="CAM ListUsers")
async def list_users(caller: Customer, runner: RunnerDep) -> dict[str, Any]:
    async def read(work: Work) -> dict[str, Any]:
        return {"data": await service.list_users(work.session, caller.uin or "")}
    return await runner.run(read)


@router.get("/v1/users/{name}", response_model=UserOut, summary="CAM GetUser")
async def get_user(name: NamePath, caller: Customer, runner: RunnerDep) -> dict[str, Any]:
    async def read(work: Work) -> dict[str, Any]:
        return service.user_view(await repository.by_name(work.session, caller.uin or "", name))
    return await runner.run(read)


@router.delete("/v1/users/{name}", response_model=Empty, summary="CAM DeleteUser")
async def delete_user(name: NamePath, caller: Customer, runner: RunnerDep,
                      body: Annotated[DeleteUserIn | None, Body()] = None) -> dict[str, Any]:
    force = bool(body and body.force)

    async def write(work: Work) -> dict[str, Any]:
        await service.delete_user(work, caller.uin or "", name, force)
        return {}
    return await runner.run(write)
