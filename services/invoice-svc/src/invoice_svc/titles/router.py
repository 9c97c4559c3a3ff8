"""REST: the account's invoice title (CreateInvoiceTitle, ModifyInvoiceTitle,
DescribeInvoiceTitle)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from kit.idempotency import choose_key, fingerprint, respond
from starlette.responses import Response

from invoice_svc.common.deps import CustomerCaller, IdempotencyKey, RuntimeDep
from invoice_svc.common.idempotency import run_once
from invoice_svc.titles import service
from invoice_svc.titles.schemas import CreateTitleRequest, TitleRequest

router = APIRouter(prefix="/v1/invoice-title", tags=["invoice titles"])


@router.post("", summary="Create the account's invoice title (one per account)")
async def create_title(body: CreateTitleRequest, caller: CustomerCaller, runtime: RuntimeDep,
                       idempotency_key: IdempotencyKey = None) -> Response:
    uin = caller.uin or ""
    now = runtime.clock.now()
    outcome = await run_once(
        runtime.db.transaction, owner=uin, key=choose_key(idempotency_key, body.client_token),
        operation="CreateInvoiceTitle",
        request_hash=fingerprint("CreateInvoiceTitle", body.model_dump(exclude={"client_token"})),
        now=now, fn=lambda session: service.create_title(session, uin, body.to_input(), now))
    return respond(outcome)


@router.put("", summary="Replace the account's invoice title")
async def modify_title(body: TitleRequest, caller: CustomerCaller,
                       runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.transaction() as session:
        return await service.modify_title(session, caller.uin or "", body.to_input(),
                                          runtime.clock.now())


@router.get("", summary="The account's invoice title, with today's real-name name")
async def describe_title(caller: CustomerCaller, runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.transaction() as session:
        return await service.describe_title(session, caller.uin or "")
