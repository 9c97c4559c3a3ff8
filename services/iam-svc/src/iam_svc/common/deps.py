"""FastAPI dependencies: who may call, and the unit-of-work runner."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from kit.identity import Caller, current_caller

from iam_svc.accounts.service import get_account
from iam_svc.common.errors import CallerKindRefused
from iam_svc.common.types import ClientToken
from iam_svc.common.work import Runner


def get_runner(request: Request) -> Runner:
    return request.app.state.iam_runner


def customer_caller(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    """A customer (root or sub-user) acting on its own account. The gateway has already made
    the CAM decision for sub-users; handlers only ever touch `caller.uin`'s account."""
    if caller.kind != "customer" or caller.uin is None:
        raise CallerKindRefused("this operation is for customer accounts")
    return caller


def service_caller(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    """Another part of the system (the gateway); never a customer."""
    if caller.kind != "service":
        raise CallerKindRefused("this internal operation is for services only")
    return caller


def admin_caller(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    """A service or the provider's operator (bootstrap and back-office operations)."""
    if caller.kind not in ("service", "operator"):
        raise CallerKindRefused("this internal operation is for services and operators only")
    return caller


CustomerCaller = Annotated[Caller, Depends(customer_caller)]
ServiceCaller = Annotated[Caller, Depends(service_caller)]
AdminCaller = Annotated[Caller, Depends(admin_caller)]
RunnerDep = Annotated[Runner, Depends(get_runner)]
IdempotencyKey = Annotated[ClientToken | None, Header(alias="Idempotency-Key")]


async def customer_account(caller: CustomerCaller, runner: RunnerDep) -> Caller:
    """A customer caller whose account exists (404 `ResourceNotFound.Account` otherwise)."""
    async with runner.runtime.db.transaction() as session:
        await get_account(session, caller.uin or "")
    return caller


Customer = Annotated[Caller, Depends(customer_account)]
