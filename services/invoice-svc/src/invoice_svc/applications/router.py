"""REST: MatchInvoiceAmount, PreviewInvoice, ApplyInvoice."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from kit.idempotency import choose_key, fingerprint, respond
from starlette.responses import Response

from invoice_svc.applications import service
from invoice_svc.applications.schemas import ApplyRequest, InvoiceRequest, MatchRequest
from invoice_svc.common.deps import CustomerCaller, IdempotencyKey, RuntimeDep
from invoice_svc.common.idempotency import run_once
from invoice_svc.common.money import to_fen

router = APIRouter(tags=["invoice applications"])


@router.post("/v1/invoice-amount-matches",
             summary="Propose records or monthly bills for an amount (INV-REQ-13c)")
async def match_amount(body: MatchRequest, caller: CustomerCaller,
                       runtime: RuntimeDep) -> dict[str, Any]:
    total = to_fen(body.total_amount, "total_amount", positive=True)
    async with runtime.db.transaction() as session:
        return await service.match(session, caller.uin or "", total, body.match_by)


@router.post("/v1/invoice-previews", summary="What would be issued (INV-REQ-16)")
async def preview_invoice(body: InvoiceRequest, caller: CustomerCaller,
                          runtime: RuntimeDep) -> dict[str, Any]:
    prepared = service.prepare(body, runtime.settings)  # type: ignore[arg-type]
    async with runtime.db.transaction() as session:
        return await service.preview(session, caller.uin or "", prepared,
                                     runtime.settings)  # type: ignore[arg-type]


@router.post("/v1/invoice-applications",
             summary="Apply for invoices: reserve the money, one invoice per tax rate")
async def apply_invoice(body: ApplyRequest, caller: CustomerCaller, runtime: RuntimeDep,
                        idempotency_key: IdempotencyKey = None) -> Response:
    settings = runtime.settings
    prepared = service.prepare(body, settings)  # type: ignore[arg-type]
    uin = caller.uin or ""
    now = runtime.clock.now()
    outcome = await run_once(
        runtime.db.transaction, owner=uin, key=choose_key(idempotency_key, body.client_token),
        operation="ApplyInvoice",
        request_hash=fingerprint("ApplyInvoice", body.model_dump(exclude={"client_token"})),
        now=now, fn=lambda session: service.apply(
            session, uin=uin, sub_uin=caller.sub_uin, p=prepared,
            settings=settings, outbox=runtime.outbox, now=now))  # type: ignore[arg-type]
    return respond(outcome)
