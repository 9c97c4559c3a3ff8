"""FastAPI dependencies: who may call, and the service's runtime and settings."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Header, Request
from kit.identity import Caller, current_caller
from kit.service import Runtime
from kit.types import ClientToken

from invoice_svc.common.errors import CallerKindRefused
from invoice_svc.config import Settings


def get_runtime(request: Request) -> Runtime:
    return request.app.state.runtime


def get_settings(request: Request) -> Settings:
    return request.app.state.runtime.settings


def customer_caller(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    """A customer (root or sub-user) acting on its own account. The gateway has already made
    the CAM decision for sub-users; handlers only ever touch `caller.uin`'s account."""
    if caller.kind != "customer" or not caller.uin:
        raise CallerKindRefused("this operation is for customer accounts")
    return caller


def operator_caller(caller: Annotated[Caller, Depends(current_caller)]) -> Caller:
    """The provider's staff (back office)."""
    if caller.kind != "operator":
        raise CallerKindRefused("this operation is for the provider's operators only")
    return caller


CustomerCaller = Annotated[Caller, Depends(customer_caller)]
OperatorCaller = Annotated[Caller, Depends(operator_caller)]
RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
IdempotencyKey = Annotated[ClientToken | None, Header(alias="Idempotency-Key")]
