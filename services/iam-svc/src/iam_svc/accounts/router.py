"""Account endpoints: the customer's own account (real-name verification, rename, site) and
the internal bootstrap of root accounts."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from kit.idempotency import choose_key, fingerprint, respond
from starlette.responses import Response

from iam_svc.accounts import service
from iam_svc.accounts.schemas import AccountOut, CreateAccountIn, RenameIn, VerificationIn
from iam_svc.common.deps import AdminCaller, Customer, IdempotencyKey, RunnerDep
from iam_svc.common.idempotency import create_once, scope_of
from iam_svc.common.types import UIN_PATTERN
from iam_svc.common.work import Work

router = APIRouter(tags=["accounts"])


@router.get("/v1/account", response_model=AccountOut, summary="The caller's account")
async def describe_account(caller: Customer, runner: RunnerDep) -> dict[str, Any]:
    async def read(work: Work) -> dict[str, Any]:
        return service.describe(await service.get_account(work.session, caller.uin or ""))
    return await runner.run(read)


@router.post("/v1/account/verification", response_model=AccountOut,
             summary="Real-name verification: personal, enterprise or organization (ACC-REQ-1)")
async def verify_account(body: VerificationIn, caller: Customer,
                         runner: RunnerDep) -> dict[str, Any]:
    async def write(work: Work) -> dict[str, Any]:
        return service.describe(await service.verify_account(work, caller.uin or "", body))
    return await runner.run(write)


@router.post("/v1/account/rename", response_model=AccountOut,
             summary="Change the real-name information; once per 30 days (ACC-REQ-2)")
async def rename_account(body: RenameIn, caller: Customer, runner: RunnerDep) -> dict[str, Any]:
    async def write(work: Work) -> dict[str, Any]:
        return service.describe(await service.rename_account(work, caller.uin or "", body))
    return await runner.run(write)


@router.post("/internal/v1/accounts", response_model=AccountOut,
             summary="Create a root account (services and operators; embedded mode, tests)")
async def create_account(body: CreateAccountIn, caller: AdminCaller, runner: RunnerDep,
                         idempotency_key: IdempotencyKey = None) -> Response:
    async def write(work: Work) -> dict[str, Any]:
        return service.describe(await service.create_account(work, body))
    outcome = await create_once(
        runner, scope=scope_of(caller), key=choose_key(idempotency_key, body.client_token),
        request_hash=fingerprint("CreateAccount", body.model_dump(exclude={"client_token"})),
        fn=write)
    return respond(outcome)


@router.get("/internal/v1/accounts/{uin}", response_model=AccountOut,
            summary="One account (services and operators)")
async def get_account(uin: Annotated[str, Path(pattern=UIN_PATTERN)], caller: AdminCaller,
                      runner: RunnerDep) -> dict[str, Any]:
    async def read(work: Work) -> dict[str, Any]:
        return service.describe(await service.get_account(work.session, uin))
    return await runner.run(read)
