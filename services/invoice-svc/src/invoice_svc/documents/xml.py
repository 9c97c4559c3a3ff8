"""The XML of a fully-digital (数电) invoice, and reading one back.

Follows the skeleton of reference/einvoice.md §2.3: root `EInvoice` without namespace,
`Header/EIid` equal to `TaxSupervisionInfo/InvoiceNumber`, amounts with two decimals, tax rates
as fractions (`0.06`). Red invoices carry negative amounts, `（负数）` capitals,
`SpecificInformation/RedEInvoice` and the automatic remark. This is our export format and test
fixture; the legal XML is the one the tax platform signs. `parse_invoice_xml` also reads the
platform's variants (`6%` or `0.130000` as a rate, an `IssueTime` with or without a time).
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation

from kit.clock import SHANGHAI
from kit.money import format_yuan, parse_yuan

from invoice_svc.documents.model import (
    KIND_LABEL_CODES,
    DocumentLine,
    InvoiceDocument,
    InvoiceKind,
    Party,
)

__all__ = ["ParsedInvoice", "parse_invoice_xml", "render_invoice_xml"]

DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'
VERSION = "0.32"
BLUE_FLAG_NAME = "是否蓝字发票标志"
# Characters XML 1.0 cannot carry at all, escaped or not (most C0 controls, lone surrogates).
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
_PARTY_FIELDS = (("Addr", "address"), ("TelNum", "phone"), ("BankName", "bank_name"),
                 ("BankAccNum", "bank_account"))


def _add(parent: ET.Element, tag: str, text: str = "") -> ET.Element:
    bad = _NOT_XML.search(text)
    if bad:
        raise ValueError(f"<{tag}> cannot carry the character U+{ord(bad.group()):04X} in XML")
    element = ET.SubElement(parent, tag)
    element.text = text
    return element


def _decimal(value: Decimal | None) -> str:
    return "" if value is None else format(value.normalize(), "f")


def _rate(rate: Decimal) -> str:
    """`0.06`, `0.13`, `0.10`, `0.015`: at least two decimals."""
    text = _decimal(rate)
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def _label(parent: ET.Element, tag: str, code: str, name: str) -> None:
    label = ET.SubElement(parent, tag)
    _add(label, "LabelCode", code)
    _add(label, "LabelName", name)


def _party(parent: ET.Element, tag: str, prefix: str, party: Party) -> None:
    block = ET.SubElement(parent, tag)
    _add(block, f"{prefix}IdNum", party.taxpayer_id or "")
    _add(block, f"{prefix}Name", party.name)
    for suffix, attr in _PARTY_FIELDS:
        value = getattr(party, attr)
        if value:
            _add(block, prefix + suffix, value)


def render_invoice_xml(doc: InvoiceDocument) -> bytes:
    """The invoice as UTF-8 XML bytes (reference/einvoice.md §2.3)."""
    root = ET.Element("EInvoice")
    header = ET.SubElement(root, "Header")
    _add(header, "EIid", doc.number)
    # SWEI + province + 00 (SWEI4400 for 广东); the province is in the bureau code 1xx00000000.
    _add(header, "EInvoiceTag", f"SWEI{doc.tax_bureau_code[1:3]}00")
    _add(header, "Version", VERSION)
    labels = ET.SubElement(header, "InherentLabel")
    _label(labels, "InIssuType", "N" if doc.is_red else "Y", BLUE_FLAG_NAME)
    _label(labels, "EInvoiceType", "01", "电子发票")
    _label(labels, "GeneralOrSpecialVAT", *KIND_LABEL_CODES[doc.kind])

    data = ET.SubElement(root, "EInvoiceData")
    _party(data, "SellerInformation", "Seller", doc.seller)
    _party(data, "BuyerInformation", "Buyer", doc.buyer)
    basic = ET.SubElement(data, "BasicInformation")
    _add(basic, "TotalAmWithoutTax", format_yuan(doc.net_fen))
    _add(basic, "TotalTaxAm", format_yuan(doc.tax_fen))
    _add(basic, "TotalTax-includedAmount", format_yuan(doc.amount_fen))
    _add(basic, "TotalTax-includedAmountInChinese", doc.amount_in_capitals)
    _add(basic, "Drawer", doc.drawer)
    issued = doc.issued_at.astimezone(SHANGHAI)
    _add(basic, "RequestTime", f"{issued:%Y-%m-%d %H:%M:%S}")
    for line in doc.lines:
        item = ET.SubElement(data, "IssuItemInformation")
        _add(item, "ItemName", line.item_name)
        _add(item, "SpecMod", line.spec or "")
        _add(item, "MeaUnits", line.unit or "")
        _add(item, "Quantity", _decimal(line.quantity))
        _add(item, "UnPrice", _decimal(line.unit_price))
        _add(item, "Amount", format_yuan(line.net_fen))
        _add(item, "TaxRate", _rate(line.tax_rate))
        _add(item, "ComTaxAm", format_yuan(line.tax_fen))
        _add(item, "TotaltaxIncludedAmount", format_yuan(line.amount_fen))
        if line.tax_classification_code:
            _add(item, "TaxClassificationCode", line.tax_classification_code)
    if doc.is_red:
        red = ET.SubElement(ET.SubElement(data, "SpecificInformation"), "RedEInvoice")
        _add(red, "OriginalInvoiceCode", doc.original_number or "")
        _add(red, "CreditNoteNumber", doc.red_form_number or "")
    _add(ET.SubElement(data, "AdditionalInformation"), "Remark", doc.face_remark)

    supervision = ET.SubElement(root, "TaxSupervisionInfo")
    _add(supervision, "InvoiceNumber", doc.number)
    _add(supervision, "IssueTime", f"{issued:%Y-%m-%d}")
    _add(supervision, "TaxBureauCode", doc.tax_bureau_code)
    _add(supervision, "TaxBureauName", doc.tax_bureau_name)
    return DECLARATION + ET.tostring(root, encoding="utf-8")


# --- reading ------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class ParsedInvoice:
    """What an invoice XML states. Totals are as written, not recomputed from the lines, so
    a validator can compare the two."""

    number: str  # TaxSupervisionInfo/InvoiceNumber
    eiid: str  # Header/EIid
    kind: InvoiceKind
    is_red: bool  # InIssuType N
    issued_at: datetime  # RequestTime if present, else IssueTime (Asia/Shanghai)
    buyer: Party
    seller: Party
    lines: tuple[DocumentLine, ...]
    net_fen: int
    tax_fen: int
    amount_fen: int
    amount_in_capitals: str
    drawer: str
    remark: str
    original_number: str | None
    red_form_number: str | None


def _text(root: ET.Element, path: str, *, required: bool = True) -> str | None:
    element = root.find(path)
    if element is None:
        if required:
            raise ValueError(f"invoice XML lacks {path}")
        return None
    return element.text or ""


def _need(root: ET.Element, path: str) -> str:
    text = _text(root, path)
    assert text is not None  # required=True raised otherwise
    return text


def _fen(root: ET.Element, path: str) -> int:
    return parse_yuan(_need(root, path).strip())


def _number(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text.strip())
    except InvalidOperation:
        value = Decimal("NaN")
    if not value.is_finite():
        raise ValueError(f"{what} is not a number: {text!r}")
    return value


def _optional_decimal(text: str | None, what: str) -> Decimal | None:
    return _number(text, what) if text and text.strip() else None


def _parse_rate(text: str) -> Decimal:
    """`0.06`, `0.130000` or `6%` as a fraction. 免税/不征税 have no numeric rate and are
    refused rather than read as 0."""
    text = text.strip()
    if text.endswith("%"):
        return (_number(text.removesuffix("%"), "tax rate") / 100).normalize()
    return _number(text, "tax rate").normalize()


def _parse_time(text: str) -> datetime:
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            return datetime.strptime(text.strip(), fmt).replace(tzinfo=SHANGHAI)
        except ValueError:
            continue
    raise ValueError(f"not a time: {text!r}")


def _read_party(root: ET.Element, tag: str, prefix: str) -> Party:
    block = root.find(f"EInvoiceData/{tag}")
    if block is None:
        raise ValueError(f"invoice XML lacks EInvoiceData/{tag}")
    values = {attr: _text(block, prefix + suffix, required=False) or None
              for suffix, attr in _PARTY_FIELDS}
    return Party(name=_need(block, f"{prefix}Name"),
                 taxpayer_id=_text(block, f"{prefix}IdNum", required=False) or None, **values)


def _read_line(item: ET.Element) -> DocumentLine:
    return DocumentLine(
        item_name=_need(item, "ItemName"), net_fen=_fen(item, "Amount"),
        tax_rate=_parse_rate(_need(item, "TaxRate")), tax_fen=_fen(item, "ComTaxAm"),
        spec=_text(item, "SpecMod", required=False) or None,
        unit=_text(item, "MeaUnits", required=False) or None,
        quantity=_optional_decimal(_text(item, "Quantity", required=False), "Quantity"),
        unit_price=_optional_decimal(_text(item, "UnPrice", required=False), "UnPrice"),
        tax_classification_code=_text(item, "TaxClassificationCode", required=False) or None)


def parse_invoice_xml(data: bytes) -> ParsedInvoice:
    """Read an invoice XML (ours or the platform's); ValueError if it is not one."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        raise ValueError(f"not well-formed XML: {exc}") from None
    if root.tag != "EInvoice":
        raise ValueError(f"root element is <{root.tag}>, not <EInvoice>")
    vat_code = _need(root, "Header/InherentLabel/GeneralOrSpecialVAT/LabelCode")
    kinds = {code: kind for kind, (code, _) in KIND_LABEL_CODES.items()}
    if vat_code not in kinds:
        raise ValueError(f"unknown GeneralOrSpecialVAT code {vat_code!r}")
    blue_flag = _need(root, "Header/InherentLabel/InIssuType/LabelCode")
    if blue_flag not in ("Y", "N"):
        raise ValueError(f"unknown InIssuType code {blue_flag!r}")
    basic = "EInvoiceData/BasicInformation/"
    red = "EInvoiceData/SpecificInformation/RedEInvoice/"
    issued = (_text(root, basic + "RequestTime", required=False)
              or _need(root, "TaxSupervisionInfo/IssueTime"))
    return ParsedInvoice(
        number=_need(root, "TaxSupervisionInfo/InvoiceNumber"),
        eiid=_need(root, "Header/EIid"),
        kind=kinds[vat_code],  # type: ignore[arg-type]
        is_red=blue_flag == "N",
        issued_at=_parse_time(issued),
        buyer=_read_party(root, "BuyerInformation", "Buyer"),
        seller=_read_party(root, "SellerInformation", "Seller"),
        lines=tuple(map(_read_line, root.iterfind("EInvoiceData/IssuItemInformation"))),
        net_fen=_fen(root, basic + "TotalAmWithoutTax"),
        tax_fen=_fen(root, basic + "TotalTaxAm"),
        amount_fen=_fen(root, basic + "TotalTax-includedAmount"),
        amount_in_capitals=_need(root, basic + "TotalTax-includedAmountInChinese"),
        drawer=_text(root, basic + "Drawer", required=False) or "",
        remark=_text(root, "EInvoiceData/AdditionalInformation/Remark", required=False) or "",
        original_number=_text(root, red + "OriginalInvoiceCode", required=False) or None,
        red_form_number=_text(root, red + "CreditNoteNumber", required=False) or None,
    )
