"""API key endpoints (CAM CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey)
and the gateway's internal key lookup."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path, Query
from kit.idempotency import choose_key, fingerprint, respond
from starlette.responses import Response

from iam_svc.access_keys import service
from iam_svc.access_keys.schemas import (
    CreateAccessKeyIn,
    CreateAccessKeyOut,
    DeleteAccessKeyIn,
    InternalAccessKeyOut,
    ListAccessKeysOut,
    UpdateAccessKeyIn,
)
from iam_svc.common.deps import Customer, IdempotencyKey, RunnerDep, ServiceCaller
from iam_svc.common.idempotency import create_once, scope_of
from iam_svc.common.types import Uin
from iam_svc.common.work import Work
from iam_svc.users.schemas import Empty

router = APIRouter(tags=["API keys"])

KeyIdPath = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9]+$")]


@router.post("/v1/access-keys", response_model=CreateAccessKeyOut,
             summary="CAM CreateAccessKey: the SecretKey is shown only in this answer")
async def create_access_key(body: CreateAccessKeyIn, caller: Customer, runner: RunnerDep,
                            idempotency_key: IdempotencyKey = None) -> Response:
    owner = caller.uin or ""

    async def write(work: Work) -> dict[str, Any]:
        sub_uin = await service.resolve_target(work.session, owner, caller.sub_uin,
                                               body.target_uin)
        return {"access_key": await service.create_key(work, owner, sub_uin, body.description)}
    outcome = await create_once(
        runner, scope=scope_of(caller), key=choose_key(idempotency_key, body.client_token),
        request_hash=fingerprint("CreateAccessKey", body.model_dump(exclude={"client_token"})
                                 | {"caller_sub_uin": caller.sub_uin}),
        fn=write)
    return respond(outcome)


@router.get("/v1/access-keys", response_model=ListAccessKeysOut, summary="CAM ListAccessKeys")
async def list_access_keys(caller: Customer, runner: RunnerDep,
                           target_uin: Annotated[Uin | None, Query()] = None) -> dict[str, Any]:
    owner = caller.uin or ""

    async def read(work: Work) -> dict[str, Any]:
        sub_uin = await service.resolve_target(work.session, owner, caller.sub_uin, target_uin)
        return {"access_keys": await service.list_keys(work.session, owner, sub_uin)}
    return await runner.run(read)


@router.patch("/v1/access-keys/{access_key_id}", response_model=Empty,
              summary="CAM UpdateAccessKey: enable (Active) or disable (Inactive)")
async def update_access_key(access_key_id: KeyIdPath, body: UpdateAccessKeyIn,
                            caller: Customer, runner: RunnerDep) -> dict[str, Any]:
    owner = caller.uin or ""

    async def write(work: Work) -> dict[str, Any]:
        target = None
        if body.target_uin is not None:
            target = (await service.resolve_target(work.session, owner, caller.sub_uin,
                                                   body.target_uin),)
        await service.update_key_status(work, owner, access_key_id, body.status, target)
        return {}
    return await runner.run(write)


@router.delete("/v1/access-keys/{access_key_id}", response_model=Empty,
               summary="CAM DeleteAccessKey")
async def delete_access_key(access_key_id: KeyIdPath, caller: Customer, runner: RunnerDep,
                            body: Annotated[DeleteAccessKeyIn | None, Body()] = None,
                            ) -> dict[str, Any]:
    owner = caller.uin or ""
    target_uin = body.target_uin if body else None

    async def write(work: Work) -> dict[str, Any]:
        target = None
        if target_uin is not None:
            target = (await service.resolve_target(work.session, owner, caller.sub_uin,
                                                   target_uin),)
        await service.delete_key(work, owner, access_key_id, target)
        return {}
    return await runner.run(write)


@router.get("/internal/v1/access-keys/{secret_id}", response_model=InternalAccessKeyOut,
            summary="The gateway's key lookup: the SecretKey decrypted, and its principal")
async def lookup_access_key(secret_id: KeyIdPath, caller: ServiceCaller,
                            runner: RunnerDep) -> dict[str, Any]:
    async def read(work: Work) -> dict[str, Any]:
        return await service.lookup_key(work.session, work.cipher, secret_id)
    return await runner.run(read)
