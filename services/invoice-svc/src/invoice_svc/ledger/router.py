"""REST: consumption records, monthly bills, invoiceable amount; the operator's legacy amount."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from kit.errors import InvalidParameterValue

from invoice_svc.common.deps import CustomerCaller, OperatorCaller, RuntimeDep
from invoice_svc.common.money import to_fen, yuan
from invoice_svc.common.times import day_range
from invoice_svc.common.types import Token
from invoice_svc.ledger import service
from invoice_svc.ledger.schemas import LegacyAmountRequest, bill_view, record_view

router = APIRouter(tags=["consumption ledger"])

Limit = Annotated[int, Query(ge=1, le=100)]
Cursor = Annotated[str | None, Query(min_length=1, max_length=512)]


@router.get("/v1/consumption-records", summary="Consumption records, newest first (INV-REQ-2)")
async def describe_records(
    caller: CustomerCaller, runtime: RuntimeDep,
    start_date: Annotated[date | None, Query(description="Asia/Shanghai, inclusive")] = None,
    end_date: Annotated[date | None, Query(description="Asia/Shanghai, inclusive")] = None,
    sub_order_id: Annotated[Token | None, Query(min_length=1, max_length=64)] = None,
    product: Annotated[Token | None, Query(min_length=1, max_length=128,
                                         description="product code or name")] = None,
    invoiceable_only: bool = False, limit: Limit = 20, cursor: Cursor = None,
    offset: Annotated[int, Query(ge=0, le=10000)] = 0,
) -> dict[str, Any]:
    start, end = day_range(start_date, end_date)
    flt = service.RecordFilter(
        start=start, end=end, sub_order_id=sub_order_id, product=product,
        invoiceable_only=invoiceable_only)
    async with runtime.db.transaction() as session:
        rows, next_cursor, total = await service.list_records(
            session, caller.uin or "", flt, limit=limit, cursor=cursor, offset=offset)
    return {"total_count": total, "records": [record_view(row) for row in rows],
            "next_cursor": next_cursor}


@router.get("/v1/monthly-bills", summary="Monthly bills newest first, per product (INV-REQ-4)")
async def describe_bills(caller: CustomerCaller, runtime: RuntimeDep,
                         limit: Annotated[int, Query(ge=1, le=60)] = 12,
                         cursor: Cursor = None) -> dict[str, Any]:
    async with runtime.db.transaction() as session:
        bills, next_cursor = await service.monthly_bills(session, caller.uin or "",
                                                         limit=limit, cursor=cursor)
    return {"bills": [bill_view(b) for b in bills], "next_cursor": next_cursor}


@router.get("/v1/invoiceable-amount", summary="What the account can invoice now (INV-REQ-1, 5)")
async def describe_invoiceable(caller: CustomerCaller, runtime: RuntimeDep) -> dict[str, Any]:
    uin = caller.uin or ""
    async with runtime.db.transaction() as session:
        ledger = await service.read_ledger(session, uin)
        by_rate = await service.balances_by_rate(session, uin)
    return {
        "total_amount": yuan(ledger.total_fen), "legacy_amount": yuan(ledger.legacy_fen),
        "records_amount": yuan(ledger.records_balance_fen),
        "by_tax_rate": [{"tax_rate": rate, "amount": yuan(fen)} for rate, fen in by_rate],
    }


@router.put("/v1/operator/accounts/{target_uin}/legacy-amount",
            summary="Operator: set an account's legacy remaining invoiceable amount (INV-REQ-5)")
async def set_legacy_amount(
    body: LegacyAmountRequest, caller: OperatorCaller, runtime: RuntimeDep,
    target_uin: Annotated[str, Path(pattern=r"^[1-9][0-9]{0,19}$")],
) -> dict[str, Any]:
    fen = to_fen(body.amount, "amount")
    if fen < 0:
        raise InvalidParameterValue("amount: 旧版剩余可开票金额不能为负数",
                                    code="InvalidParameterValue.Amount")
    expected = (to_fen(body.expected_amount, "expected_amount")
                if body.expected_amount is not None else None)
    async with runtime.db.transaction() as session:
        ledger = await service.set_legacy(session, target_uin, fen, runtime.clock.now(),
                                          expected_fen=expected)
    return {"uin": target_uin, "legacy_amount": yuan(ledger.legacy_fen),
            "records_amount": yuan(ledger.records_balance_fen),
            "total_amount": yuan(ledger.total_fen)}
