"""Which title an account may hold, and what it prints (INV-REQ-11, INV-REQ-12)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from invoice_svc.accounts.service import (
    AccountInfoIncomplete,
    AccountNotVerified,
    InternationalSite,
    require_invoicing_allowed,
)
from invoice_svc.titles.rules import (
    InvoiceTypeNotAllowed,
    SpecialInvoiceNotAllowed,
    TitleFieldFixed,
    TitleInput,
    TitleOutdated,
    check_title,
    resolve_buyer,
)
from kit.errors import MissingParameter

USCC = "9144030071526726XG"


def profile(verification: str = "enterprise", **changes: object) -> SimpleNamespace:
    values = {"site": "mainland", "verification_type": verification,
              "legal_name": "腾讯科技（深圳）有限公司", "uscc": USCC}
    if verification == "personal":
        values |= {"legal_name": "张三", "uscc": None}
    return SimpleNamespace(**(values | changes))


def title(**values: object) -> SimpleNamespace:
    base = {"title_type": "personal_general", "name": None, "taxpayer_id": None,
            "address": None, "phone": None, "bank_name": None, "bank_account": None}
    return SimpleNamespace(**(base | values))


@pytest.mark.parametrize(("verification", "allowed"), [
    ("personal", {"personal_general", "enterprise_general"}),
    ("enterprise", {"enterprise_general", "enterprise_special"}),
    ("organization", {"organization_general"}),
])
def test_inv_req_11_title_types_by_verification(verification: str, allowed: set) -> None:
    for kind in ("personal_general", "enterprise_general", "enterprise_special",
                 "organization_general"):
        data = TitleInput(kind, name="某公司", taxpayer_id=USCC)
        if kind in allowed:
            if kind == "personal_general":
                data = TitleInput(kind)
            elif verification != "personal":
                data = TitleInput(kind)
            assert check_title(profile(verification), data)["title_type"] == kind
        else:
            expected = SpecialInvoiceNotAllowed if kind == "enterprise_special" else (
                InvoiceTypeNotAllowed)
            with pytest.raises(expected):
                check_title(profile(verification), data)


def test_inv_req_12_real_name_titles_store_no_name_and_print_todays() -> None:
    stored = check_title(profile(), TitleInput("enterprise_special",
                                               name="腾讯科技（深圳）有限公司",
                                               taxpayer_id=USCC.lower()))
    assert (stored["name"], stored["taxpayer_id"]) == (None, None)
    buyer = resolve_buyer(profile(legal_name="新名称"), title(**stored))
    assert (buyer.name, buyer.taxpayer_id, buyer.invoice_type_name) == (
        "新名称", USCC, "企业增值税专用发票")
    with pytest.raises(TitleFieldFixed):
        check_title(profile(), TitleInput("enterprise_general", taxpayer_id="91440300708461136T"))


def test_personal_accounts_may_name_an_enterprise_title() -> None:
    with pytest.raises(MissingParameter):
        check_title(profile("personal"), TitleInput("enterprise_general", name="某公司"))
    stored = check_title(profile("personal"), TitleInput(
        "enterprise_general", name="  某公司 ", taxpayer_id="91440300708461136T"))
    assert (stored["name"], stored["taxpayer_id"]) == ("某公司", "91440300708461136T")
    # Later verified as an enterprise: that title no longer fits.
    with pytest.raises(InvoiceTypeNotAllowed):
        resolve_buyer(profile("organization"), title(**stored))
    with pytest.raises(TitleOutdated):
        resolve_buyer(profile("personal"), title(title_type="enterprise_general"))


@pytest.mark.parametrize(("changes", "error"), [
    ({"site": "international"}, InternationalSite),
    ({"verification_type": "none"}, AccountNotVerified),
    ({"legal_name": None}, AccountInfoIncomplete),
    ({"uscc": None}, AccountInfoIncomplete),
])
def test_inv_req_10_preconditions(changes: dict, error: type) -> None:
    with pytest.raises(error):
        require_invoicing_allowed(profile(**changes))  # type: ignore[arg-type]
    with pytest.raises(AccountInfoIncomplete):
        require_invoicing_allowed(None)
