"""Adversarial input on every route of invoice-svc (customer and operator): a clear 4xx with a
stable `code` and a `detail`, never a 500, and nothing changes (the full contents of every
table of the service, the outbox included, compared before and after).

Covers lone UTF-16 surrogates and NUL bytes in strings (PostgreSQL stores neither), JSON
booleans or numbers where a boolean, string or integer is expected, deeply nested JSON and
huge integers, dates out of range, bad cursors (including well-formed ones carrying bad
values), amounts in exponent / NaN / Infinity / negative-zero forms, unknown enum values and
oversized strings."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import httpx
import pytest_asyncio
from invoice_svc.issuing.worker import IssuingWorker
from invoice_svc.models import metadata
from invoice_svc.taxplatform.simulated import SimulatedTaxPlatform
from invoice_svc.testing import at, order_paid
from kit.testing import fill_placeholders, table_contents

UIN = "100000000077"
EMAIL = "finance@example.com"
IPV = "InvalidParameterValue"
AMOUNT = "InvalidParameterValue.Amount"
CURSOR = "InvalidParameterValue.Cursor"
DATES = "InvalidParameterValue.DateRange"
MISSING = "MissingParameter"
UNKNOWN = "UnknownParameter"
CALLER_KIND = "UnauthorizedOperation.CallerKind"
NOT_FOUND = "ResourceNotFound.Invoice"
NESTED = "[" * 5000 + "]" * 5000
HUGE_INT = "9" * 5000
APPLY = "/v1/invoice-applications"
PREVIEW = "/v1/invoice-previews"
MATCH = "/v1/invoice-amount-matches"
TITLE = "/v1/invoice-title"
LEGACY = f"/v1/operator/accounts/{UIN}/legacy-amount"
SETTING = "/v1/auto-invoice-setting"
UNKNOWN_ID = "0190c0de-0000-7000-8000-000000000000"


def raw(text: str) -> tuple[str, str]:
    """A body sent as is (httpx cannot JSON-encode a lone surrogate)."""
    return ("raw", text)


def surrogate(body: dict[str, Any], field: str) -> tuple[str, str]:
    """`body` as JSON text with `field` set to a string holding a lone surrogate."""
    text = json.dumps(body | {field: "MARK"})
    return raw(text.replace('"MARK"', '"a\\ud800b"'))


def cursor(*position: Any) -> str:
    return base64.urlsafe_b64encode(json.dumps(list(position)).encode()).decode().rstrip("=")


def cursor_text(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


AMT = {"mode": "amount", "total_amount": "10.00", "email": EMAIL}
REC = {"mode": "records", "record_ids": ["{record}"], "email": EMAIL}
AWARE = "2025-02-01T00:00:00+00:00"

# (label, method, path, body (json, raw(...) or None), query params, headers, caller kind,
#  status, code); the caller is the customer UIN unless the kind is "operator".
C, OP = "customer", "operator"
CASES: list[tuple[str, str, str, Any, Any, Any, str, int, str]] = [
    # --- DescribeConsumptionRecords
    ("records start far past", "GET", "/v1/consumption-records", None,
     {"start_date": "0001-01-01"}, None, C, 400, DATES),
    ("records end far future", "GET", "/v1/consumption-records", None,
     {"end_date": "9999-12-31"}, None, C, 400, DATES),
    ("records bad date", "GET", "/v1/consumption-records", None, {"start_date": "2025-02-30"},
     None, C, 400, IPV),
    ("records reversed dates", "GET", "/v1/consumption-records", None,
     {"start_date": "2025-03-01", "end_date": "2025-02-01"}, None, C, 400, DATES),
    ("records NUL sub order", "GET", "/v1/consumption-records", None,
     {"sub_order_id": "S\x001"}, None, C, 400, IPV),
    ("records NUL product", "GET", "/v1/consumption-records", None, {"product": "cvm\x00"},
     None, C, 400, IPV),
    ("records long product", "GET", "/v1/consumption-records", None, {"product": "p" * 129},
     None, C, 400, IPV),
    ("records limit 0", "GET", "/v1/consumption-records", None, {"limit": 0}, None, C, 400,
     IPV),
    ("records limit huge", "GET", "/v1/consumption-records", None, {"limit": 2**64}, None, C,
     400, IPV),
    ("records limit true", "GET", "/v1/consumption-records", None, {"limit": "true"}, None, C,
     400, IPV),
    ("records offset negative", "GET", "/v1/consumption-records", None, {"offset": -1}, None,
     C, 400, IPV),
    ("records invoiceable_only", "GET", "/v1/consumption-records", None,
     {"invoiceable_only": "maybe"}, None, C, 400, IPV),
    ("records cursor garbage", "GET", "/v1/consumption-records", None, {"cursor": "!!!"}, None,
     C, 400, CURSOR),
    ("records cursor arity", "GET", "/v1/consumption-records", None, {"cursor": cursor(1)},
     None, C, 400, CURSOR),
    ("records cursor NUL id", "GET", "/v1/consumption-records", None,
     {"cursor": cursor(AWARE, "r\x00")}, None, C, 400, CURSOR),
    ("records cursor surrogate id", "GET", "/v1/consumption-records", None,
     {"cursor": cursor_text(f'["{AWARE}", "\\ud800"]')}, None, C, 400, CURSOR),
    ("records cursor object id", "GET", "/v1/consumption-records", None,
     {"cursor": cursor(AWARE, {"a": 1})}, None, C, 400, CURSOR),
    ("records cursor naive time", "GET", "/v1/consumption-records", None,
     {"cursor": cursor("2025-02-01T00:00:00", "r")}, None, C, 400, CURSOR),
    ("records cursor year 9999", "GET", "/v1/consumption-records", None,
     {"cursor": cursor("9999-12-31T23:59:59-23:00", "r")}, None, C, 400, CURSOR),
    ("records cursor year 1", "GET", "/v1/consumption-records", None,
     {"cursor": cursor("0001-01-01T00:00:00+23:00", "r")}, None, C, 400, CURSOR),
    ("records cursor nested", "GET", "/v1/consumption-records", None,
     {"cursor": cursor_text("[" * 180 + "]" * 180)}, None, C, 400, CURSOR),
    ("records cursor long", "GET", "/v1/consumption-records", None, {"cursor": "A" * 513},
     None, C, 400, IPV),
    # --- DescribeMonthlyBills
    ("bills limit 61", "GET", "/v1/monthly-bills", None, {"limit": 61}, None, C, 400, IPV),
    ("bills cursor garbage", "GET", "/v1/monthly-bills", None, {"cursor": "%%%"}, None, C,
     400, CURSOR),
    ("bills cursor NUL", "GET", "/v1/monthly-bills", None, {"cursor": cursor("2025-\x0001")},
     None, C, 400, CURSOR),
    ("bills cursor surrogate", "GET", "/v1/monthly-bills", None,
     {"cursor": cursor_text('["\\udfff"]')}, None, C, 400, CURSOR),
    ("bills cursor list", "GET", "/v1/monthly-bills", None, {"cursor": cursor(["2025-01"])},
     None, C, 400, CURSOR),
    ("bills cursor true", "GET", "/v1/monthly-bills", None, {"cursor": cursor(True)}, None, C,
     400, CURSOR),
    # --- DescribeInvoiceableAmount: no input; an operator is refused
    ("invoiceable operator", "GET", "/v1/invoiceable-amount", None, None, None, OP, 403,
     CALLER_KIND),
    # --- CreateInvoiceTitle / ModifyInvoiceTitle / DescribeInvoiceTitle
    ("title no body", "POST", TITLE, None, None, None, C, 400, MISSING),
    ("title not json", "POST", TITLE, raw("{title"), None, None, C, 400, "InvalidParameter"),
    ("title array", "POST", TITLE, [1], None, None, C, 400, "InvalidParameter"),
    ("title nested", "POST", TITLE, raw(NESTED), None, None, C, 400, "InvalidParameter"),
    ("title huge int", "POST", TITLE, raw('{"title_type": ' + HUGE_INT + "}"), None, None, C,
     400, "InvalidParameter"),
    ("title type", "POST", TITLE, {"title_type": "vip"}, None, None, C, 400, IPV),
    ("title type number", "POST", TITLE, {"title_type": 1}, None, None, C, 400, IPV),
    ("title name number", "POST", TITLE, {"title_type": "enterprise_general", "name": 5},
     None, None, C, 400, IPV),
    ("title name list", "POST", TITLE, {"title_type": "enterprise_general", "name": ["a"]},
     None, None, C, 400, IPV),
    ("title long name", "POST", TITLE, {"title_type": "enterprise_general", "name": "n" * 201},
     None, None, C, 400, IPV),
    ("title unknown field", "POST", TITLE, {"title_type": "enterprise_general", "x": 1}, None,
     None, C, 400, UNKNOWN),
    ("title client token", "POST", TITLE,
     {"title_type": "enterprise_general", "client_token": "a b"}, None, None, C, 400, IPV),
    ("title idempotency key", "POST", TITLE, {"title_type": "enterprise_general"}, None,
     {"Idempotency-Key": "k" * 129}, C, 400, IPV),
    ("title surrogate address", "POST", TITLE,
     surrogate({"title_type": "enterprise_general"}, "address"), None, None, C, 400, IPV),
    ("title operator", "GET", TITLE, None, None, None, OP, 403, CALLER_KIND),
    ("modify surrogate address", "PUT", TITLE,
     surrogate({"title_type": "enterprise_special"}, "address"), None, None, C, 400, IPV),
    ("modify surrogate bank", "PUT", TITLE,
     surrogate({"title_type": "enterprise_special"}, "bank_name"), None, None, C, 400, IPV),
    ("modify surrogate name", "PUT", TITLE,
     surrogate({"title_type": "enterprise_special"}, "name"), None, None, C, 400, IPV),
    ("modify NUL address", "PUT", TITLE,
     {"title_type": "enterprise_special", "address": "深圳\x00"}, None, None, C, 400,
     "InvalidParameterValue.AddressCharset"),
    ("modify NUL phone", "PUT", TITLE, {"title_type": "enterprise_special", "phone": "0755\x00"},
     None, None, C, 400, "InvalidParameterValue.Phone"),
    ("modify bank account object", "PUT", TITLE,
     {"title_type": "enterprise_special", "bank_account": {"n": 1}}, None, None, C, 400, IPV),
    ("modify taxpayer surrogate", "PUT", TITLE,
     surrogate({"title_type": "enterprise_special"}, "taxpayer_id"), None, None, C, 400, IPV),
    ("modify type missing", "PUT", TITLE, {}, None, None, C, 400, MISSING),
    # --- MatchInvoiceAmount
    ("match 1e400", "POST", MATCH, {"total_amount": "1e400"}, None, None, C, 400, AMOUNT),
    ("match NaN", "POST", MATCH, {"total_amount": "NaN"}, None, None, C, 400, AMOUNT),
    ("match Infinity", "POST", MATCH, {"total_amount": "Infinity"}, None, None, C, 400,
     AMOUNT),
    ("match -0", "POST", MATCH, {"total_amount": "-0"}, None, None, C, 400, AMOUNT),
    ("match many digits", "POST", MATCH, {"total_amount": "1." + "0" * 30}, None, None, C,
     400, AMOUNT),
    ("match too long", "POST", MATCH, {"total_amount": "1" * 33}, None, None, C, 400, IPV),
    ("match number", "POST", MATCH, {"total_amount": 10}, None, None, C, 400, IPV),
    ("match true", "POST", MATCH, {"total_amount": True}, None, None, C, 400, IPV),
    ("match surrogate", "POST", MATCH, surrogate({}, "total_amount"), None, None, C, 400, IPV),
    ("match by", "POST", MATCH, {"total_amount": "1.00", "match_by": "days"}, None, None, C,
     400, IPV),
    ("match huge int", "POST", MATCH, raw('{"total_amount": ' + HUGE_INT + "}"), None, None,
     C, 400, "InvalidParameter"),
    # --- PreviewInvoice
    ("preview NUL record", "POST", PREVIEW, REC | {"record_ids": ["r\x00"]}, None, None, C,
     400, IPV),
    ("preview surrogate record", "POST", PREVIEW,
     raw('{"mode": "records", "record_ids": ["\\ud800"]}'), None, None, C, 400, IPV),
    ("preview record number", "POST", PREVIEW, REC | {"record_ids": [1]}, None, None, C, 400,
     IPV),
    ("preview record true", "POST", PREVIEW, REC | {"record_ids": [True]}, None, None, C, 400,
     IPV),
    ("preview month year 0", "POST", PREVIEW,
     {"mode": "bills", "months": ["0000-01"], "email": EMAIL}, None, None, C, 404,
     "ResourceNotFound.MonthlyBill"),
    ("preview month NUL", "POST", PREVIEW,
     {"mode": "bills", "months": ["2025-01\x00"], "email": EMAIL}, None, None, C, 400, IPV),
    ("preview allocation NUL record", "POST", PREVIEW, AMT | {"allocation": {
        "lines": [{"record_id": "r\x00", "amount": "10.00"}]}}, None, None, C, 400, IPV),
    ("preview allocation surrogate record", "POST", PREVIEW, raw(json.dumps(AMT | {
        "allocation": {"lines": [{"record_id": "MARK", "amount": "10.00"}]}}).replace(
        '"MARK"', '"\\udc00"')), None, None, C, 400, IPV),
    ("preview allocation NaN", "POST", PREVIEW, AMT | {"allocation": {
        "legacy_amount": "NaN"}}, None, None, C, 400, AMOUNT),
    ("preview allocation -0", "POST", PREVIEW, AMT | {"allocation": {
        "legacy_amount": "-0.00"}}, None, None, C, 400, AMOUNT),
    ("preview bank flag 1", "POST", PREVIEW, AMT | {"show_buyer_bank": 1}, None, None, C, 400,
     IPV),
    ("preview bank flag text", "POST", PREVIEW, AMT | {"show_seller_bank": "yes"}, None, None,
     C, 400, IPV),
    ("preview rate number", "POST", PREVIEW, AMT | {"legacy_tax_rate": 0.06}, None, None, C,
     400, IPV),
    ("preview surrogate remark", "POST", PREVIEW, surrogate(AMT, "remark"), None, None, C,
     400, IPV),
    ("preview NUL remark", "POST", PREVIEW, AMT | {"remark": "a\x00b"}, None, None, C, 400,
     "InvalidParameterValue.RemarkCharset"),
    ("preview surrogate email", "POST", PREVIEW, surrogate(AMT, "email"), None, None, C, 400,
     IPV),
    ("preview mode", "POST", PREVIEW, AMT | {"mode": "everything"}, None, None, C, 400, IPV),
    ("preview nested", "POST", PREVIEW, raw(NESTED), None, None, C, 400, "InvalidParameter"),
    # --- ApplyInvoice
    ("apply NUL record", "POST", APPLY, REC | {"record_ids": ["{record}", "r\x00"]}, None,
     None, C, 400, IPV),
    ("apply surrogate record", "POST", APPLY, raw(json.dumps(REC).replace(
        '"{record}"', '"{record}", "\\ud800"')), None, None, C, 400, IPV),
    ("apply surrogate remark", "POST", APPLY, surrogate(AMT, "remark"), None, None, C, 400, IPV),
    ("apply bank flag 1", "POST", APPLY, REC | {"show_buyer_bank": 1}, None, None, C, 400,
     IPV),
    ("apply bank flag 0", "POST", APPLY, REC | {"show_seller_bank": 0}, None, None, C, 400,
     IPV),
    ("apply 1e400", "POST", APPLY, AMT | {"total_amount": "1e400"}, None, None, C, 400,
     AMOUNT),
    ("apply Infinity", "POST", APPLY, AMT | {"total_amount": "-Infinity"}, None, None, C, 400,
     AMOUNT),
    ("apply -0", "POST", APPLY, AMT | {"total_amount": "-0.00"}, None, None, C, 400, AMOUNT),
    ("apply no email", "POST", APPLY, {"mode": "amount", "total_amount": "1.00"}, None, None,
     C, 400, MISSING),
    ("apply email list", "POST", APPLY, AMT | {"email": [EMAIL]}, None, None, C, 400, IPV),
    ("apply client token", "POST", APPLY, AMT | {"client_token": "\x00"}, None, None, C, 400,
     IPV),
    ("apply surrogate client token", "POST", APPLY, surrogate(AMT, "client_token"), None,
     None, C, 400, IPV),
    ("apply huge remark", "POST", APPLY, AMT | {"remark": "r" * 100_000}, None, None, C, 400,
     IPV),
    ("apply operator", "POST", APPLY, AMT, None, None, OP, 403, CALLER_KIND),
    ("apply too many records", "POST", APPLY, REC | {"record_ids": ["r"] * 5001}, None, None,
     C, 400, IPV),
    ("apply too many months", "POST", APPLY,
     {"mode": "bills", "months": ["2025-01"] * 241, "email": EMAIL}, None, None, C, 400, IPV),
    ("apply tab in record", "POST", APPLY, REC | {"record_ids": ["r\tx"]}, None, None, C,
     400, IPV),
    # --- DescribeInvoices
    ("invoices status", "GET", "/v1/invoices", None, {"status": "lost"}, None, C, 400, IPV),
    ("invoices date far", "GET", "/v1/invoices", None, {"end_date": "9999-12-31"}, None, C,
     400, DATES),
    ("invoices date year 1", "GET", "/v1/invoices", None, {"start_date": "0001-01-01"}, None,
     C, 400, DATES),
    ("invoices number", "GET", "/v1/invoices", None, {"number": "1" * 21}, None, C, 400, IPV),
    ("invoices type", "GET", "/v1/invoices", None, {"invoice_type": "vip"}, None, C, 400, IPV),
    ("invoices method", "GET", "/v1/invoices", None, {"method": "robot"}, None, C, 400, IPV),
    ("invoices limit", "GET", "/v1/invoices", None, {"limit": 101}, None, C, 400, IPV),
    ("invoices cursor garbage", "GET", "/v1/invoices", None, {"cursor": "e30"}, None, C, 400,
     CURSOR),
    ("invoices cursor NUL", "GET", "/v1/invoices", None, {"cursor": cursor(AWARE, "i\x00")},
     None, C, 400, CURSOR),
    ("invoices cursor surrogate", "GET", "/v1/invoices", None,
     {"cursor": cursor_text(f'["{AWARE}", "\\ud800"]')}, None, C, 400, CURSOR),
    ("invoices cursor far", "GET", "/v1/invoices", None,
     {"cursor": cursor("9999-12-31T23:59:59-23:00", "i")}, None, C, 400, CURSOR),
    # --- DescribeInvoiceDetail / CSV / DownloadInvoice / RevokeInvoice
    ("detail bad id", "GET", "/v1/invoices/not-hex", None, None, None, C, 400, IPV),
    ("detail long id", "GET", "/v1/invoices/" + "a" * 37, None, None, None, C, 400, IPV),
    ("detail unknown", "GET", f"/v1/invoices/{UNKNOWN_ID}", None, None, None, C, 404,
     NOT_FOUND),
    ("csv bad id", "GET", "/v1/invoices/x%00/consumption-records.csv", None, None, None, C,
     400, IPV),
    ("csv unknown", "GET", f"/v1/invoices/{UNKNOWN_ID}/consumption-records.csv", None, None,
     None, C, 404, NOT_FOUND),
    ("download fmt", "GET", "/v1/invoices/{issued}/documents/exe", None, None, None, C, 400,
     IPV),
    ("download bad id", "GET", "/v1/invoices/zz/documents/pdf", None, None, None, C, 400, IPV),
    ("revoke bad id", "POST", "/v1/invoices/zz/revoke", None, None, None, C, 400, IPV),
    ("revoke unknown", "POST", f"/v1/invoices/{UNKNOWN_ID}/revoke", None, None, None, C, 404,
     NOT_FOUND),
    ("revoke operator", "POST", "/v1/invoices/{pending}/revoke", None, None, None, OP, 403,
     CALLER_KIND),
    # --- ReturnInvoice / red form / DescribeReturns / lost invoice
    ("return reason", "POST", "/v1/invoices/{issued}/returns", {"reason": "bored"}, None, None,
     C, 400, "InvalidParameterValue.ReturnReason"),
    ("return reason number", "POST", "/v1/invoices/{issued}/returns", {"reason": 1}, None,
     None, C, 400, IPV),
    ("return surrogate description", "POST", "/v1/invoices/{issued}/returns",
     surrogate({"reason": "wrong_amount", "deducted": False}, "description"), None, None, C,
     400, IPV),
    ("return NUL description", "POST", "/v1/invoices/{issued}/returns",
     {"reason": "wrong_amount", "deducted": False, "description": "a\x00"}, None, None, C, 400,
     "InvalidParameterValue.ReturnDescription"),
    ("return deducted 0", "POST", "/v1/invoices/{issued}/returns",
     {"reason": "wrong_amount", "deducted": 0}, None, None, C, 400, IPV),
    ("return deducted text", "POST", "/v1/invoices/{issued}/returns",
     {"reason": "wrong_amount", "deducted": "no"}, None, None, C, 400, IPV),
    ("return surrogate form", "POST", "/v1/invoices/{issued}/returns",
     surrogate({"reason": "wrong_amount", "deducted": True}, "red_form_number"), None, None, C,
     400, IPV),
    ("return surrogate courier", "POST", "/v1/invoices/{issued}/returns",
     surrogate({"reason": "wrong_amount", "deducted": False}, "courier_company"), None, None,
     C, 400, IPV),
    ("return unknown field", "POST", "/v1/invoices/{issued}/returns",
     {"reason": "wrong_amount", "refund": True}, None, None, C, 400, UNKNOWN),
    ("return unknown invoice", "POST", f"/v1/invoices/{UNKNOWN_ID}/returns",
     {"reason": "wrong_amount", "deducted": False}, None, None, C, 404, NOT_FOUND),
    ("red form NUL", "POST", "/v1/invoices/{issued}/returns/red-form",
     {"red_form_number": "1234567\x008"}, None, None, C, 400, IPV),
    ("red form surrogate", "POST", "/v1/invoices/{issued}/returns/red-form",
     surrogate({}, "red_form_number"), None, None, C, 400, IPV),
    ("red form list", "POST", "/v1/invoices/{issued}/returns/red-form",
     {"red_form_number": ["1"]}, None, None, C, 400, IPV),
    ("red form bad id", "POST", "/v1/invoices/zz/returns/red-form", {}, None, None, C, 400,
     IPV),
    ("returns bad id", "GET", "/v1/invoices/zz/returns", None, None, None, C, 400, IPV),
    ("returns unknown", "GET", f"/v1/invoices/{UNKNOWN_ID}/returns", None, None, None, C, 404,
     NOT_FOUND),
    ("lost bad id", "GET", "/v1/invoices/-%00-/lost-invoice-remedy", None, None, None, C, 400,
     IPV),
    ("lost unknown", "GET", f"/v1/invoices/{UNKNOWN_ID}/lost-invoice-remedy", None, None,
     None, C, 404, NOT_FOUND),
    # --- operator returns
    ("approve bad id", "POST", "/v1/operator/invoices/zz/returns/approve", None, None, None, OP,
     400, IPV),
    ("approve customer", "POST", "/v1/operator/invoices/{issued}/returns/approve", None, None,
     None, C, 403, CALLER_KIND),
    ("reject surrogate", "POST", "/v1/operator/invoices/{issued}/returns/reject",
     surrogate({}, "reason"), None, None, OP, 400, IPV),
    ("reject NUL", "POST", "/v1/operator/invoices/{issued}/returns/reject",
     {"reason": "no\x00"}, None, None, OP, 400, IPV),
    ("reject empty", "POST", "/v1/operator/invoices/{issued}/returns/reject", {"reason": ""},
     None, None, OP, 400, IPV),
    ("reject list", "POST", "/v1/operator/invoices/{issued}/returns/reject", {"reason": ["x"]},
     None, None, OP, 400, IPV),
    ("reject missing", "POST", "/v1/operator/invoices/{issued}/returns/reject", {}, None, None,
     OP, 400, MISSING),
    ("complete bad id", "POST", "/v1/operator/invoices/zz/returns/complete", None, None, None,
     OP, 400, IPV),
    ("complete customer", "POST", "/v1/operator/invoices/{issued}/returns/complete", None,
     None, None, C, 403, CALLER_KIND),
    # --- SetLegacyInvoiceableAmount (operator)
    ("legacy 1e400", "PUT", LEGACY, {"amount": "1e400"}, None, None, OP, 400, AMOUNT),
    ("legacy NaN", "PUT", LEGACY, {"amount": "NaN"}, None, None, OP, 400, AMOUNT),
    ("legacy Infinity", "PUT", LEGACY, {"amount": "Infinity"}, None, None, OP, 400, AMOUNT),
    ("legacy -0", "PUT", LEGACY, {"amount": "-0"}, None, None, OP, 400, AMOUNT),
    ("legacy negative", "PUT", LEGACY, {"amount": "-1.00"}, None, None, OP, 400, AMOUNT),
    ("legacy many digits", "PUT", LEGACY, {"amount": "1" * 5000}, None, None, OP, 400, IPV),
    ("legacy number", "PUT", LEGACY, {"amount": 100}, None, None, OP, 400, IPV),
    ("legacy true", "PUT", LEGACY, {"amount": True}, None, None, OP, 400, IPV),
    ("legacy surrogate", "PUT", LEGACY, surrogate({}, "amount"), None, None, OP, 400, IPV),
    ("legacy missing", "PUT", LEGACY, {}, None, None, OP, 400, MISSING),
    ("legacy bad uin", "PUT", "/v1/operator/accounts/0123/legacy-amount", {"amount": "1.00"},
     None, None, OP, 400, IPV),
    ("legacy long uin", "PUT", "/v1/operator/accounts/" + "1" * 21 + "/legacy-amount",
     {"amount": "1.00"}, None, None, OP, 400, IPV),
    ("legacy customer", "PUT", LEGACY, {"amount": "1.00"}, None, None, C, 403, CALLER_KIND),
    # --- auto-invoicing
    ("setting enabled 1", "PUT", SETTING, {"enabled": 1, "email": EMAIL}, None, None, C, 400,
     IPV),
    ("setting enabled text", "PUT", SETTING, {"enabled": "true", "email": EMAIL}, None, None,
     C, 400, IPV),
    ("setting missing", "PUT", SETTING, {"email": EMAIL}, None, None, C, 400, MISSING),
    ("setting surrogate email", "PUT", SETTING, surrogate({"enabled": True}, "email"), None,
     None, C, 400, IPV),
    ("setting NUL email", "PUT", SETTING, {"enabled": True, "email": "a@b.c\x00"}, None, None,
     C, 400, "InvalidParameterValue.Email"),
    ("setting long email", "PUT", SETTING, {"enabled": True, "email": "a" * 255}, None, None,
     C, 400, IPV),
    ("setting unknown", "PUT", SETTING, {"enabled": True, "day": 5}, None, None, C, 400,
     UNKNOWN),
    ("setting operator", "GET", SETTING, None, None, None, OP, 403, CALLER_KIND),
    ("runs limit 0", "GET", "/v1/auto-invoice-runs", None, {"limit": 0}, None, C, 400, IPV),
    ("runs limit text", "GET", "/v1/auto-invoice-runs", None, {"limit": "1e3"}, None, C, 400,
     IPV),
]


async def _setup(inv: Any) -> dict[str, str]:
    """An enterprise account with records, one issued invoice and one still applied."""
    await inv.enterprise(UIN, title="enterprise_special")
    await inv.deliver(*[order_paid(UIN, f"S{n}", amount, at("2025-02-01 10:00:00")
                                   + timedelta(hours=n))
                        for n, amount in enumerate(["106.00", "50.00", "30.00"])])
    rt = inv.runtime
    platform = SimulatedTaxPlatform(clock=inv.clock, latency=timedelta(seconds=5))
    issuing = IssuingWorker(rt.db, rt.outbox, platform, rt.settings, inv.clock)
    applied = await inv.ok("POST", "/v1/invoice-applications", uin=UIN, json_body={
        "mode": "records", "record_ids": [await inv.record_id(UIN, "S0")], "email": EMAIL})
    (issued,) = [i["invoice_id"] for i in applied["invoices"]]
    for _ in range(5):
        await issuing.run_once()
        inv.clock.advance(timedelta(minutes=10))
    detail = await inv.ok("GET", f"/v1/invoices/{issued}", uin=UIN)
    assert detail["status"] == "issued", detail
    applied = await inv.ok("POST", "/v1/invoice-applications", uin=UIN, json_body={
        "mode": "amount", "total_amount": "10.00", "email": EMAIL})
    (pending,) = [i["invoice_id"] for i in applied["invoices"]]
    return {"issued": issued, "pending": pending, "record": await inv.record_id(UIN, "S1")}


@pytest_asyncio.fixture
async def client(inv: Any) -> AsyncIterator[httpx.AsyncClient]:
    """A client that gets the 500 answer instead of the app's exception."""
    transport = httpx.ASGITransport(inv.app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://invoice-svc") as c:
        yield c


async def _send(inv: Any, client: httpx.AsyncClient, names: dict[str, str],
                case: tuple[Any, ...]) -> Any:
    _, method, path, body, params, headers, kind, _, _ = case
    uin = UIN if kind == C else None
    all_headers = inv.headers(kind, uin) | (headers or {})
    path = fill_placeholders(path, names)
    if isinstance(body, tuple):
        all_headers["content-type"] = "application/json"
        return await client.request(method, path, content=fill_placeholders(body[1], names).encode(
            "utf-8", "surrogatepass"), params=params, headers=all_headers)
    return await client.request(method, path, json=fill_placeholders(body, names), params=params,
                                    headers=all_headers)


async def test_adversarial_input_is_refused_with_a_stable_code_and_changes_nothing(
        inv: Any, client: httpx.AsyncClient) -> None:
    names = await _setup(inv)
    before = await table_contents(inv.runtime.db.engine, metadata.sorted_tables)
    failures = []
    for case in CASES:
        label, *_, status, code = case
        answer = await _send(inv, client, names, case)
        try:
            problem = answer.json()
        except ValueError:
            problem = {"text": answer.text[:200]}
        if (answer.status_code, problem.get("code")) != (status, code) or not problem.get(
                "detail"):
            failures.append((label, answer.status_code, problem.get("code"),
                             problem.get("detail")))
    assert failures == [], "\n".join(map(repr, failures))
    assert await table_contents(inv.runtime.db.engine, metadata.sorted_tables) == before


def test_every_route_has_an_adversarial_case() -> None:
    from invoice_svc.routes import ROUTES

    covered = {(method, path.split("?")[0]) for _, method, path, *_ in CASES}

    def matches(template: str, path: str) -> bool:
        a, b = template.strip("/").split("/"), path.strip("/").split("/")
        return len(a) == len(b) and all(x == y or x.startswith("{") or y.startswith("{")
                                        for x, y in zip(a, b, strict=True))

    uncovered = [(r.method, r.path) for r in ROUTES
                 if not any(m == r.method and matches(r.path, p) for m, p in covered)]
    assert uncovered == []
