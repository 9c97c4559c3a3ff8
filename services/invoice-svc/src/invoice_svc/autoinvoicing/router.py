"""REST of autoinvoicing: DescribeAutoInvoiceSetting, ModifyAutoInvoiceSetting, and the
account's runs (INV-REQ-30, 31)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from invoice_svc.autoinvoicing import service
from invoice_svc.common.deps import CustomerCaller, RuntimeDep
from invoice_svc.common.types import Flag

router = APIRouter(tags=["autoinvoicing"])


class SettingRequest(BaseModel):
    """`enabled` must be a JSON boolean; `email` (where auto-issued invoices go) is required
    to turn it on unless one was set before."""

    model_config = ConfigDict(extra="forbid")

    enabled: Flag
    email: str | None = Field(default=None, max_length=254)


@router.get("/v1/auto-invoice-setting",
            summary="Monthly auto-invoicing: the setting, this month's, pending, history")
async def describe_setting(caller: CustomerCaller, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.transaction() as session:
        return await service.describe_setting(session, caller.uin or "", runtime.clock.now())


@router.put("/v1/auto-invoice-setting",
            summary="Turn monthly auto-invoicing on or off (before the 10th: this month)")
async def modify_setting(body: SettingRequest, caller: CustomerCaller,
                         runtime: RuntimeDep) -> dict[str, Any]:
    uin = caller.uin or ""
    async with runtime.db.transaction() as session:
        return await service.modify_setting(
            session, uin, changed_by=caller.sub_uin or uin, enabled=body.enabled,
            email=body.email, clock=runtime.clock)


@router.get("/v1/auto-invoice-runs", summary="The account's monthly auto-invoicing runs")
async def list_runs(caller: CustomerCaller, runtime: RuntimeDep,
                    limit: Annotated[int, Query(ge=1, le=120)] = 24) -> dict[str, Any]:
    async with runtime.db.transaction() as session:
        return await service.list_runs(session, caller.uin or "", limit=limit)
