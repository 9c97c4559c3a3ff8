"""Invoice titles and the preconditions of invoicing (INV-REQ-8, 10, 11, 12)."""

from __future__ import annotations

from datetime import timedelta

from invoice_svc.testing import ENTERPRISE_NAME, ENTERPRISE_USCC, account_event, at, order_paid

UIN = "100000000001"
TITLE = "/v1/invoice-title"


async def test_inv_req_12_personal_title_is_always_ge_ren(inv) -> None:
    """INV-REQ-12: the personal title's name is 个人 and cannot be changed."""
    await inv.personal(UIN)
    created = await inv.ok("POST", TITLE, uin=UIN, json_body={"title_type": "personal_general"})
    assert (created["name"], created["taxpayer_id"], created["name_editable"]) == (
        "个人", None, False)
    assert created["invoice_type_name"] == "个人增值税普通发票"
    await inv.refused("PUT", TITLE, "FailedOperation.TitleFieldFixed", 409, uin=UIN,
                      json_body={"title_type": "personal_general", "name": "张三"})
    await inv.refused("PUT", TITLE, "FailedOperation.TitleFieldFixed", 409, uin=UIN,
                      json_body={"title_type": "personal_general",
                                 "taxpayer_id": ENTERPRISE_USCC})
    assert (await inv.ok("GET", TITLE, uin=UIN))["name"] == "个人"


async def test_inv_req_12_one_valid_title_per_account(inv) -> None:
    """INV-REQ-12: one title per account: a second create is refused, modify replaces it."""
    await inv.personal(UIN)
    await inv.ok("POST", TITLE, uin=UIN, json_body={"title_type": "personal_general"})
    await inv.refused("POST", TITLE, "FailedOperation.InvoiceTitleExists", 409, uin=UIN,
                      json_body={"title_type": "personal_general"})
    changed = await inv.ok("PUT", TITLE, uin=UIN, json_body={
        "title_type": "enterprise_general", "name": "深圳市某某贸易有限公司",
        "taxpayer_id": "91440300 708461136T", "bank_name": "招商银行",
        "bank_account": "7559 1234 5610 001"})
    assert (changed["title_type"], changed["name"], changed["taxpayer_id"]) == (
        "enterprise_general", "深圳市某某贸易有限公司", "91440300708461136T")
    assert changed["name_editable"] is True
    assert await inv.count("invoice_titles") == 1
    await inv.personal("100000000002")
    await inv.refused("PUT", TITLE, "ResourceNotFound.InvoiceTitle", 404, uin="100000000002",
                      json_body={"title_type": "personal_general"})


async def test_inv_req_11_special_invoices_only_for_enterprises(inv) -> None:
    """INV-REQ-11: special invoices only for enterprise-verified accounts; their title is the
    real-name name, and follows a rename (ACC-REQ-2)."""
    await inv.personal(UIN)
    await inv.refused("POST", TITLE, "FailedOperation.SpecialInvoiceNotAllowed", 409, uin=UIN,
                      json_body={"title_type": "enterprise_special"})
    ent = "100000000002"
    await inv.deliver(account_event(ent, "verified", time=at("2025-01-01 10:00:00")))
    title = await inv.ok("POST", TITLE, uin=ent, json_body={"title_type": "enterprise_special"})
    assert (title["name"], title["taxpayer_id"], title["name_source"]) == (
        ENTERPRISE_NAME, ENTERPRISE_USCC, "real_name")
    await inv.refused("PUT", TITLE, "FailedOperation.TitleFieldFixed", 409, uin=ent,
                      json_body={"title_type": "enterprise_special", "name": "别的公司"})
    await inv.refused("PUT", TITLE, "FailedOperation.InvoiceTypeNotAllowed", 409, uin=ent,
                      json_body={"title_type": "personal_general"})
    renamed = account_event(ent, "renamed", legal_name="腾讯科技（深圳）股份有限公司",
                            time=at("2025-02-01 10:00:00"),
                            old_legal_name=ENTERPRISE_NAME,
                            new_legal_name="腾讯科技（深圳）股份有限公司",
                            effective_at=at("2025-02-01 10:00:00").isoformat())
    late_verified = account_event(ent, "verified", time=at("2025-01-01 09:00:00"))
    await inv.deliver(renamed)
    await inv.deliver(late_verified)  # older than the rename: ignored
    assert (await inv.ok("GET", TITLE, uin=ent))["name"] == "腾讯科技（深圳）股份有限公司"


async def test_inv_req_11_organizations_get_organization_general(inv) -> None:
    """INV-REQ-11: organizations (schools, NGOs...) get the organization general invoice."""
    await inv.deliver(account_event(UIN, verification_type="organization",
                                    legal_name="深圳市某某中学", uscc="12440300MB2C12345U"))
    await inv.refused("POST", TITLE, "FailedOperation.InvoiceTypeNotAllowed", 409, uin=UIN,
                      json_body={"title_type": "enterprise_general"})
    title = await inv.ok("POST", TITLE, uin=UIN, json_body={"title_type": "organization_general"})
    assert (title["name"], title["invoice_type_name"]) == ("深圳市某某中学", "组织增值税普通发票")


async def test_taxpayer_ids_are_checked(inv) -> None:
    """A customer-given taxpayer id: an 18-character USCC with its check character, or a
    15/17/20-character legacy id; anything else is refused with what is wrong."""
    await inv.personal(UIN)
    body = {"title_type": "enterprise_general", "name": "某某有限公司"}
    refused = await inv.refused("POST", TITLE, "InvalidParameterValue.TaxpayerId", 400, uin=UIN,
                                json_body=body | {"taxpayer_id": "9144030071526726XH"})
    assert "应为 G" in refused["detail"]
    await inv.refused("POST", TITLE, "InvalidParameterValue.TaxpayerId", 400, uin=UIN,
                      json_body=body | {"taxpayer_id": "12345"})
    await inv.refused("POST", TITLE, "MissingParameter", 400, uin=UIN, json_body=body)
    created = await inv.ok("POST", TITLE, uin=UIN,
                           json_body=body | {"taxpayer_id": "440300708461136"})
    assert created["taxpayer_id"] == "440300708461136"


async def test_title_text_fields_refuse_what_gbk_cannot_print(inv) -> None:
    await inv.personal(UIN)
    answer = await inv.refused("POST", TITLE, "InvalidParameterValue.AddressCharset", 400,
                               uin=UIN, json_body={"title_type": "personal_general",
                                                   "address": "深圳 😀 南山"})
    assert answer["position"] == 4
    await inv.refused("POST", TITLE, "InvalidParameterValue.Phone", 400, uin=UIN,
                      json_body={"title_type": "personal_general", "phone": "call me"})
    await inv.refused("POST", TITLE, "InvalidParameterValue", 400, uin=UIN,
                      json_body={"title_type": "personal_general", "name": 12})
    assert await inv.count("invoice_titles") == 0


async def test_inv_req_10_verified_and_complete_accounts_only(inv) -> None:
    """INV-REQ-10: no title and no invoice before the account is complete and verified."""
    body = {"title_type": "personal_general"}
    await inv.refused("POST", TITLE, "FailedOperation.AccountInfoIncomplete", 409, uin=UIN,
                      json_body=body)
    await inv.deliver(account_event(UIN, "created", verification_type="none", legal_name=None,
                                    uscc=None, time=at("2025-01-01 10:00:00")))
    await inv.refused("POST", TITLE, "FailedOperation.AccountNotVerified", 409, uin=UIN,
                      json_body=body)
    await inv.deliver(order_paid(UIN, "S1", "10.00", at("2025-01-05 10:00:00")))
    await inv.refused("POST", "/v1/invoice-amount-matches", "FailedOperation.AccountNotVerified",
                      409, uin=UIN, json_body={"total_amount": "1.00"})
    await inv.deliver(account_event(UIN, "verified", verification_type="enterprise",
                                    legal_name="某某公司", uscc=None,
                                    time=at("2025-01-02 10:00:00")))
    await inv.refused("POST", TITLE, "FailedOperation.AccountInfoIncomplete", 409, uin=UIN,
                      json_body={"title_type": "enterprise_general"})
    await inv.deliver(account_event(UIN, "verified", time=at("2025-01-03 10:00:00")))
    await inv.ok("POST", TITLE, uin=UIN, json_body={"title_type": "enterprise_general"})


async def test_inv_req_8_international_site_is_told_where_to_go(inv) -> None:
    """INV-REQ-8 / ACC-REQ-4: international-site accounts get a clear refusal saying where
    to go, for titles, matching, previews and applications."""
    await inv.deliver(account_event(UIN, site="international"),
                      order_paid(UIN, "S1", "10.00", at("2025-01-05 10:00:00")))
    code = "UnsupportedOperation.InternationalSite"
    answer = await inv.refused("POST", TITLE, code, 409, uin=UIN,
                               json_body={"title_type": "enterprise_general"})
    assert "工单" in answer["detail"] and "ticket" in answer["detail"]
    await inv.refused("POST", "/v1/invoice-amount-matches", code, 409, uin=UIN,
                      json_body={"total_amount": "1.00"})
    body = {"mode": "amount", "total_amount": "1.00", "email": "a@example.com"}
    await inv.refused("POST", "/v1/invoice-previews", code, 409, uin=UIN, json_body=body)
    await inv.refused("POST", "/v1/invoice-applications", code, 409, uin=UIN, json_body=body)


async def test_inv_req_8_products_invoiced_elsewhere(inv) -> None:
    """INV-REQ-8: exmail domains and cloud development paid with WeChat Pay are refused with
    where to go; they never count in the provider's amounts."""
    await inv.enterprise(UIN)
    await inv.deliver(
        order_paid(UIN, "S1", "10.00", at("2025-01-05 10:00:00")),
        order_paid(UIN, "E1", "50.00", at("2025-01-06 10:00:00"),
                   product=("exmail", "企业邮箱域名")),
        order_paid(UIN, "W1", "20.00", at("2025-01-07 10:00:00"), product=("tcb", "云开发"),
                   payment_channel="wechat_pay"),
        order_paid(UIN, "W2", "30.00", at("2025-01-08 10:00:00"), product=("tcb", "云开发")))
    summary = await inv.ok("GET", "/v1/invoiceable-amount", uin=UIN)
    assert summary["total_amount"] == "40.00"
    before = await inv.snapshot(UIN)
    for source_id, where in (("E1", "企业邮箱"), ("W1", "微信 IDE")):
        answer = await inv.refused(
            "POST", "/v1/invoice-applications", "FailedOperation.OutOfScopeRecord", 409, uin=UIN,
            json_body={"mode": "records", "email": "a@example.com",
                       "record_ids": [await inv.record_id(UIN, source_id)]})
        assert where in answer["detail"]
    assert await inv.snapshot(UIN) == before


async def test_title_create_is_idempotent(inv) -> None:
    await inv.personal(UIN)
    key = {"Idempotency-Key": "title-1"}
    first = await inv.call("POST", TITLE, uin=UIN, headers=key,
                           json_body={"title_type": "personal_general"})
    again = await inv.call("POST", TITLE, uin=UIN, headers=key,
                           json_body={"title_type": "personal_general"})
    assert first.status_code == again.status_code == 200
    assert again.headers["Idempotent-Replayed"] == "true" and again.json() == first.json()
    inv.clock.advance(timedelta(minutes=1))
    await inv.refused("POST", TITLE, "InvalidParameter.IdempotencyKeyReused", 409, uin=UIN,
                      headers=key, json_body={"title_type": "enterprise_general", "name": "X公司",
                                              "taxpayer_id": ENTERPRISE_USCC})
