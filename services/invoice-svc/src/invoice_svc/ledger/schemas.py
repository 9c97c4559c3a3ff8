"""Answers of the ledger's read operations (money as yuan strings) and the operator's body."""

from __future__ import annotations

from typing import Any

from kit.clock import iso
from pydantic import BaseModel, ConfigDict

from invoice_svc.common.money import yuan
from invoice_svc.common.types import Amount
from invoice_svc.ledger.records import kind_label


def record_view(row: Any) -> dict[str, Any]:
    if row.kind == "settlement":
        display_id = row.period
    elif row.kind in ("transfer_out", "transfer_in"):
        display_id = row.source_id
    else:
        display_id = row.sub_order_id
    return {
        "record_id": row.record_id, "kind": row.kind,
        "type_label": kind_label(row.kind, row.order_type), "display_id": display_id,
        "order_id": row.order_id, "sub_order_id": row.sub_order_id,
        "related_sub_order_id": row.related_sub_order_id, "order_type": row.order_type,
        "product_code": row.product_code, "product_name": row.product_name,
        "instance_id": row.instance_id, "tax_rate": row.tax_rate,
        "billing_mode": row.billing_mode, "period": row.period, "bill_month": row.bill_month,
        "occurred_at": iso(row.occurred_at), "cash_amount": yuan(row.cash_fen),
        "voucher_amount": yuan(row.voucher_fen),
        "invoiced_amount": yuan(row.cash_fen - row.balance_fen),
        "invoiceable_balance": yuan(row.balance_fen),
    }


def _money(part: dict[str, Any]) -> dict[str, Any]:
    return {"cash_amount": yuan(part["cash_fen"]),
            "invoiced_amount": yuan(part["cash_fen"] - part["balance_fen"]),
            "invoiceable_amount": yuan(part["balance_fen"]),
            "record_count": part["record_count"]}


def bill_view(bill: dict[str, Any]) -> dict[str, Any]:
    return {"month": bill["month"], **_money(bill),
            "products": [{"product_code": p["product_code"], "product_name": p["product_name"],
                          **_money(p)} for p in bill["products"]]}


class LegacyAmountRequest(BaseModel):
    """`amount` replaces the legacy remaining amount. `expected_amount`, when given, is the
    remaining amount the operator saw: if an application drew on it (or another operator set
    it) meanwhile, the update is refused (409 FailedOperation.LegacyAmountChanged) instead of
    silently giving back money already invoiced."""

    model_config = ConfigDict(extra="forbid")

    amount: Amount
    expected_amount: Amount | None = None
