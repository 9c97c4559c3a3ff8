"""REST: invoice records (INV-REQ-20), their documents and linked consumption records."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query
from fastapi.responses import Response

from invoice_svc.common.deps import CustomerCaller, RuntimeDep
from invoice_svc.common.times import day_range
from invoice_svc.records import service
from invoice_svc.returns.rules import Status

router = APIRouter(tags=["invoice records"])

InvoiceId = Annotated[str, Path(min_length=1, max_length=36, pattern=r"^[0-9a-fA-F-]{1,36}$")]
MEDIA_TYPES = {"pdf": "application/pdf", "xml": "application/xml", "ofd": "application/ofd"}


@router.get("/v1/invoices", summary="Invoice records, newest first (INV-REQ-20)")
async def describe_invoices(
    caller: CustomerCaller, runtime: RuntimeDep,
    status: Annotated[list[Status] | None, Query(max_length=len(Status))] = None,
    start_date: Annotated[date | None, Query(description="Asia/Shanghai, inclusive")] = None,
    end_date: Annotated[date | None, Query(description="Asia/Shanghai, inclusive")] = None,
    invoice_type: Annotated[Literal["personal_general", "enterprise_general",
                                    "enterprise_special", "organization_general"] | None,
                            Query()] = None,
    number: Annotated[str | None, Query(pattern=r"^[0-9]{20}$")] = None,
    method: Annotated[Literal["manual", "auto"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(min_length=1, max_length=512)] = None,
) -> dict[str, Any]:
    start, end = day_range(start_date, end_date)
    flt = service.InvoiceFilter(
        statuses=tuple(status or ()), invoice_type=invoice_type, number=number, method=method,
        start=start, end=end)
    async with runtime.db.transaction() as session:
        rows, next_cursor, total = await service.list_invoices(
            session, caller.uin or "", flt, limit=limit, cursor=cursor)
    return {"total_count": total, "invoices": [service.invoice_view(r) for r in rows],
            "next_cursor": next_cursor}


@router.get("/v1/invoices/{invoice_id}", summary="One invoice: data, lines, progress")
async def describe_invoice(invoice_id: InvoiceId, caller: CustomerCaller,
                           runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.transaction() as session:
        return await service.invoice_detail(session, caller.uin or "", invoice_id)


@router.get("/v1/invoices/{invoice_id}/consumption-records.csv",
            summary="The consumption records an invoice draws on, as CSV",
            response_class=Response,
            responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
async def export_linked_records(invoice_id: InvoiceId, caller: CustomerCaller,
                                runtime: RuntimeDep) -> Response:
    async with runtime.db.transaction() as session:
        rows = await service.linked_records(session, caller.uin or "", invoice_id)
    return Response(service.linked_records_csv(rows), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition":
                             f'attachment; filename="invoice-{invoice_id}-records.csv"'})


@router.get("/v1/invoices/{invoice_id}/documents/{fmt}",
            summary="Download an issued invoice as PDF, XML or OFD (INV-REQ-17, 26)",
            response_class=Response,
            responses={200: {"content": {media: {"schema": {"type": "string",
                                                            "format": "binary"}}
                                         for media in sorted(set(MEDIA_TYPES.values()))}}})
async def download_document(invoice_id: InvoiceId, fmt: Literal["pdf", "xml", "ofd"],
                            caller: CustomerCaller, runtime: RuntimeDep) -> Response:
    async with runtime.db.transaction() as session:
        row, content = await service.document(session, caller.uin or "", invoice_id, fmt)
    name = f"{row.number or invoice_id}.{fmt}"
    return Response(content, media_type=MEDIA_TYPES[fmt],
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/v1/invoices/{invoice_id}/revoke",
             summary="Revoke an invoice not yet sent to the tax platform (INV-REQ-21)")
async def revoke_invoice(invoice_id: InvoiceId, caller: CustomerCaller,
                         runtime: RuntimeDep) -> dict[str, Any]:
    async with runtime.db.transaction() as session:
        return await service.revoke(session, runtime.outbox, caller.uin or "", invoice_id,
                                    caller.sub_uin, runtime.clock.now())
