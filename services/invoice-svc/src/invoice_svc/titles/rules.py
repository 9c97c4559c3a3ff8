"""Invoice title rules (INV-REQ-11, INV-REQ-12), pure functions over the account's real-name
snapshot (the accounts read model) and what the customer sent.

Which title an account may hold (the source: special invoices only for enterprise-verified
accounts, whose title is the real-name name; "开具其他企业抬头的发票,请先修改实名认证信息"):

| verification | title types                               | name and taxpayer id            |
|--------------|-------------------------------------------|---------------------------------|
| personal     | personal_general                          | "个人", none (fixed)             |
| personal     | enterprise_general                        | the customer's, id validated    |
| enterprise   | enterprise_general, enterprise_special    | the real-name name and USCC     |
| organization | organization_general                      | the real-name name and USCC     |

Real-name names are not stored with the title: they are read when used, so a rename
(ACC-REQ-2) reaches the next invoice by itself. Sending a different name or id for a title whose
name is fixed is refused (never silently replaced).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from kit.errors import FailedOperation, InvalidParameterValue, MissingParameter

from invoice_svc.common.text import blank_to_none, gbk_text
from invoice_svc.titles.taxpayer_id import compact, validate_taxpayer_id

INVOICE_TYPE_NAMES = {
    "personal_general": "个人增值税普通发票",
    "enterprise_general": "企业增值税普通发票",
    "enterprise_special": "企业增值税专用发票",
    "organization_general": "组织增值税普通发票",
}
ALLOWED_TYPES = {
    "personal": ("personal_general", "enterprise_general"),
    "enterprise": ("enterprise_general", "enterprise_special"),
    "organization": ("organization_general",),
}
PERSONAL_NAME = "个人"
_PHONE = re.compile(r"^[0-9+() -]{5,40}$")
_BANK_ACCOUNT = re.compile(r"^[0-9A-Za-z -]{4,64}$")


class InvoiceTypeNotAllowed(FailedOperation):
    code = "FailedOperation.InvoiceTypeNotAllowed"


class SpecialInvoiceNotAllowed(InvoiceTypeNotAllowed):
    code = "FailedOperation.SpecialInvoiceNotAllowed"


class TitleFieldFixed(FailedOperation):
    code = "FailedOperation.TitleFieldFixed"


class TitleOutdated(FailedOperation):
    code = "FailedOperation.InvoiceTitleOutdated"


@dataclass(frozen=True, slots=True)
class TitleInput:
    title_type: str
    name: str | None = None
    taxpayer_id: str | None = None
    address: str | None = None
    phone: str | None = None
    bank_name: str | None = None
    bank_account: str | None = None


@dataclass(frozen=True, slots=True)
class Buyer:
    """A title as printed on an invoice (购买方)."""

    title_type: str
    name: str
    taxpayer_id: str | None
    address: str | None
    phone: str | None
    bank_name: str | None
    bank_account: str | None
    name_source: str  # fixed | real_name | customer

    @property
    def invoice_type_name(self) -> str:
        return INVOICE_TYPE_NAMES[self.title_type]


def name_source(title_type: str, verification_type: str) -> str:
    if title_type == "personal_general":
        return "fixed"
    if title_type == "enterprise_general" and verification_type == "personal":
        return "customer"
    return "real_name"


def check_type_allowed(title_type: str, verification_type: str) -> None:
    allowed = ALLOWED_TYPES.get(verification_type, ())
    if title_type in allowed:
        return
    if title_type == "enterprise_special":
        raise SpecialInvoiceNotAllowed(
            "增值税专用发票仅支持实名认证为企业的账号开具，如需开具专票请先实名认证为企业"
            " (special VAT invoices are for enterprise-verified accounts only)",
            details={"field": "title_type"})
    names = "、".join(INVOICE_TYPE_NAMES[t] for t in allowed) or "无"
    raise InvoiceTypeNotAllowed(
        f"实名认证类型为 {verification_type} 的账号不能使用{INVOICE_TYPE_NAMES[title_type]}抬头；"
        f"可用：{names}", details={"field": "title_type"})


def _other_fields(data: TitleInput) -> dict[str, Any]:
    out: dict[str, Any] = {"address": None, "phone": None, "bank_name": None,
                           "bank_account": None}
    if (address := blank_to_none(data.address)) is not None:
        out["address"] = gbk_text(address, 200, "地址", stem="Address", param="address")
    if (phone := blank_to_none(data.phone)) is not None:
        phone = phone.strip()
        if not _PHONE.match(phone):
            raise InvalidParameterValue(f"电话号码格式不正确：{phone!r}",
                                        code="InvalidParameterValue.Phone",
                                        details={"field": "phone"})
        out["phone"] = phone
    if (bank_name := blank_to_none(data.bank_name)) is not None:
        out["bank_name"] = gbk_text(bank_name, 200, "开户银行", stem="BankName",
                                    param="bank_name")
    if (account := blank_to_none(data.bank_account)) is not None:
        account = account.strip()
        if not _BANK_ACCOUNT.match(account):
            raise InvalidParameterValue(f"银行账号格式不正确：{account!r}",
                                        code="InvalidParameterValue.BankAccount",
                                        details={"field": "bank_account"})
        out["bank_account"] = account
    return out


def check_title(profile: Any, data: TitleInput) -> dict[str, Any]:
    """The columns to store for a title, or the reason it is refused. `profile` has passed
    `require_invoicing_allowed` (verified, mainland, complete)."""
    verification = profile.verification_type
    check_type_allowed(data.title_type, verification)
    name, taxpayer_id = blank_to_none(data.name), blank_to_none(data.taxpayer_id)
    source = name_source(data.title_type, verification)
    stored: dict[str, Any] = {"title_type": data.title_type, "name": None, "taxpayer_id": None}
    if source == "fixed":
        if name is not None and name.strip() != PERSONAL_NAME:
            raise TitleFieldFixed("个人增值税普通发票抬头固定为“个人”，不能修改；"
                                  "如需其他抬头请选择企业普通发票",
                                  details={"field": "name"})
        if taxpayer_id is not None:
            raise TitleFieldFixed("个人抬头不填写纳税人识别号", details={"field": "taxpayer_id"})
    elif source == "real_name":
        if name is not None and name.strip() != profile.legal_name:
            raise TitleFieldFixed(
                f"该抬头名称为实名认证名称“{profile.legal_name}”，不能修改；如需修改请先修改实名认证信息",
                details={"field": "name"})
        if taxpayer_id is not None and compact(taxpayer_id) != profile.uscc:
            raise TitleFieldFixed(
                f"该抬头的纳税人识别号为实名认证的统一社会信用代码 {profile.uscc}，不能修改",
                details={"field": "taxpayer_id"})
    else:
        if name is None:
            raise MissingParameter("企业抬头须填写名称", details={"field": "name"})
        if taxpayer_id is None:
            raise MissingParameter("企业抬头须填写纳税人识别号", details={"field": "taxpayer_id"})
        stored["name"] = gbk_text(name, 200, "抬头名称", stem="TitleName", param="name")
        stored["taxpayer_id"] = validate_taxpayer_id(taxpayer_id)
    stored.update(_other_fields(data))
    return stored


def resolve_buyer(profile: Any, title: Any) -> Buyer:
    """The buyer printed on the next invoice: stored fields plus today's real-name data.
    Re-checks the type against the current verification (it may have changed since)."""
    check_type_allowed(title.title_type, profile.verification_type)
    source = name_source(title.title_type, profile.verification_type)
    if source == "fixed":
        name, taxpayer_id = PERSONAL_NAME, None
    elif source == "real_name":
        name, taxpayer_id = profile.legal_name, profile.uscc
    else:
        if not title.name or not title.taxpayer_id:
            raise TitleOutdated("账号的实名认证已变化，请重新设置发票抬头（名称与纳税人识别号）")
        name, taxpayer_id = title.name, title.taxpayer_id
    return Buyer(title.title_type, name, taxpayer_id, title.address, title.phone,
                 title.bank_name, title.bank_account, source)
