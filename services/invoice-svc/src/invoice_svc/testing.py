"""Builders of the CloudEvents invoice-svc consumes, for tests and demos (no pytest here).

Payloads follow the producers' contracts (billing core: tools/sim's `sim.contracts`; iam-svc:
`iam_svc.accounts.events`): money as `"12.34"`, aware times, numeric-string uins.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from kit.clock import SHANGHAI
from kit.messaging import CloudEvent, new_event
from kit.money import split_tax_inclusive

from invoice_svc.documents.model import DocumentLine, InvoiceDocument, Party

BILLING_CORE = "/billing-core"
IAM = "/services/iam-svc"
ENTERPRISE_NAME = "腾讯科技（深圳）有限公司"
ENTERPRISE_USCC = "9144030071526726XG"


def at(text: str) -> datetime:
    """`"2023-09-04 16:51:52"` as Asia/Shanghai (how the console shows times)."""
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def _event(event_type: str, data: dict[str, Any], subject: str, source: str = BILLING_CORE,
           event_id: str | None = None, time: datetime | None = None) -> CloudEvent:
    return new_event(event_type, source=source, subject=subject, data=data, event_id=event_id,
                     time=time)


def order_paid(uin: str, sub_order_id: str, cash: str, when: datetime, *,
               product: tuple[str, str] = ("cvm", "云服务器"), tax_rate: str = "0.06",
               order_type: str = "new", voucher: str = "0.00", instance_id: str | None = None,
               order_id: str | None = None, vendor: tuple[str, str] | None = None,
               event_id: str | None = None, **extra: Any) -> CloudEvent:
    data = {
        "order_id": order_id or f"o{sub_order_id}", "sub_order_id": sub_order_id, "uin": uin,
        "product_code": product[0], "product_name": product[1], "instance_id": instance_id,
        "billing_mode": "prepaid", "order_type": order_type, "tax_rate": tax_rate,
        "paid_at": when.isoformat(), "cash_amount": cash, "voucher_amount": voucher,
        "marketplace": vendor is not None, "vendor_id": vendor[0] if vendor else None,
        "vendor_name": vendor[1] if vendor else None, **extra,
    }
    return _event("billing.order.paid.v1", data, uin, event_id=event_id)


def order_refunded(uin: str, refund_id: str, sub_order_id: str, cash: str, when: datetime, *,
                   product: tuple[str, str] = ("cvm", "云服务器"), tax_rate: str = "0.06",
                   voucher: str = "0.00", vendor: str | None = None,
                   event_id: str | None = None) -> CloudEvent:
    data = {
        "refund_id": refund_id, "sub_order_id": sub_order_id, "uin": uin,
        "product_code": product[0], "product_name": product[1], "tax_rate": tax_rate,
        "refunded_at": when.isoformat(), "cash_amount": cash, "voucher_amount": voucher,
        "marketplace": vendor is not None, "vendor_id": vendor,
    }
    return _event("billing.order.refunded.v1", data, uin, event_id=event_id)


def bill_settled(uin: str, bill_id: str, period: str, cash: str, when: datetime, *,
                 product: tuple[str, str] = ("cos", "对象存储"), tax_rate: str = "0.06",
                 voucher: str = "0.00", vendor: str | None = None,
                 event_id: str | None = None) -> CloudEvent:
    data = {
        "bill_id": bill_id, "uin": uin, "product_code": product[0], "product_name": product[1],
        "billing_mode": "postpaid", "period": period, "settled_at": when.isoformat(),
        "tax_rate": tax_rate, "cash_amount": cash, "voucher_amount": voucher,
        "marketplace": vendor is not None, "vendor_id": vendor,
    }
    return _event("billing.bill.settled.v1", data, uin, event_id=event_id)


def transfer_completed(transfer_id: str, sender: str, receiver: str, amount: str,
                       when: datetime, *, kind: str = "reseller_customer",
                       event_id: str | None = None) -> CloudEvent:
    data = {"transfer_id": transfer_id, "kind": kind, "sender_uin": sender,
            "receiver_uin": receiver, "amount": amount, "transferred_at": when.isoformat()}
    return _event("billing.account.transfer.completed.v1", data, sender, event_id=event_id)


def account_event(uin: str, what: str = "verified", *, site: str = "mainland",
                  verification_type: str = "enterprise", legal_name: str | None = ENTERPRISE_NAME,
                  uscc: str | None = ENTERPRISE_USCC, time: datetime | None = None,
                  **extra: Any) -> CloudEvent:
    """`billing.account.<what>.v1` with iam-svc's full snapshot."""
    data = {"uin": uin, "kind": "customer", "site": site,
            "is_international": site == "international",
            "verification_type": verification_type, "legal_name": legal_name, "uscc": uscc,
            "verified_at": None if verification_type == "none" else (
                (time or datetime.now(SHANGHAI)).isoformat()), **extra}
    return _event(f"billing.account.{what}.v1", data, uin, source=IAM, time=time)


# --- invoice documents (the face of a 数电 invoice, for renderer tests) ---------------------

NUMBER = "26442000000000000123"
BLUE_NUMBER = "26442000000000000001"
FORM_NUMBER = "44010020260901000077"
BUYER = Party("腾讯科技（深圳）有限公司", "9144030071526726XG")
SELLER = Party("示例云计算（深圳）有限公司", "91440300MA5FQ2LT1Y", "深圳市南山区科技园示例路 1 号",
               "0755-86000000", "招商银行深圳分行科技园支行", "755900000000001")


def document_line(name: str, amount_fen: int, rate: str = "0.06", **extra: object) -> DocumentLine:
    net, tax = split_tax_inclusive(amount_fen, Decimal(rate))
    return DocumentLine(f"*信息技术服务*{name}", net, Decimal(rate), tax, **extra)  # type: ignore[arg-type]


def sample_invoice(lines: tuple[DocumentLine, ...], **changes: object) -> InvoiceDocument:
    values: dict[str, object] = {
        "number": NUMBER, "issued_at": datetime(2026, 9, 1, 10, 11, 12, tzinfo=SHANGHAI),
        "kind": "special", "buyer": BUYER, "seller": SELLER, "lines": lines, "drawer": "张三",
        "remark": "账期2026-08 账号1234567890"}
    return InvoiceDocument(**(values | changes))  # type: ignore[arg-type]
