"""The invoice XML (INV-REQ-17): the reference skeleton, totals, red variant, reading back."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import replace
from datetime import datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from invoice_svc.documents.model import InvoiceDocument, Party
from invoice_svc.documents.xml import parse_invoice_xml, render_invoice_xml
from invoice_svc.testing import BLUE_NUMBER, BUYER, FORM_NUMBER, NUMBER
from invoice_svc.testing import document_line as line
from invoice_svc.testing import sample_invoice as invoice
from kit.clock import SHANGHAI
from kit.money import parse_yuan

BLUE = invoice((
    line("云服务器", 106000, spec="ecs.g7.large", unit="项", quantity=Decimal(1),
         unit_price=Decimal("1000"), tax_classification_code="3040201030000000000"),
    line("对象存储", 13130, rate="0.13")))
RED = invoice((line("云服务器", -106000, quantity=Decimal(-1), unit_price=Decimal("1000")),),
              original_number=BLUE_NUMBER, red_form_number=FORM_NUMBER)


def text(root: ET.Element, path: str) -> str | None:
    element = root.find(path)
    assert element is not None, path
    return element.text


def test_inv_req_17_xml_follows_the_reference_skeleton() -> None:
    data = render_invoice_xml(BLUE)
    assert data.startswith(b'<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(data)
    assert root.tag == "EInvoice" and "}" not in root.tag
    assert [child.tag for child in root] == ["Header", "EInvoiceData", "TaxSupervisionInfo"]
    assert text(root, "Header/EIid") == text(root, "TaxSupervisionInfo/InvoiceNumber") == NUMBER
    assert text(root, "Header/EInvoiceTag") == "SWEI4400"
    assert text(root, "Header/InherentLabel/InIssuType/LabelCode") == "Y"
    assert text(root, "Header/InherentLabel/EInvoiceType/LabelCode") == "01"
    assert text(root, "Header/InherentLabel/GeneralOrSpecialVAT/LabelCode") == "01"
    assert text(root, "Header/InherentLabel/GeneralOrSpecialVAT/LabelName") == "增值税专用发票"
    data_el = root.find("EInvoiceData")
    assert data_el is not None
    assert [child.tag for child in data_el] == [
        "SellerInformation", "BuyerInformation", "BasicInformation", "IssuItemInformation",
        "IssuItemInformation", "AdditionalInformation"]
    assert text(root, "EInvoiceData/BuyerInformation/BuyerName") == BUYER.name
    assert text(root, "EInvoiceData/BuyerInformation/BuyerIdNum") == BUYER.taxpayer_id
    assert root.find("EInvoiceData/BuyerInformation/BuyerBankName") is None  # absent: omitted
    assert text(root, "EInvoiceData/SellerInformation/SellerBankAccNum") == "755900000000001"
    basic = "EInvoiceData/BasicInformation/"
    assert text(root, basic + "TotalAmWithoutTax") == "1116.19"
    assert text(root, basic + "TotalTaxAm") == "75.11"
    assert text(root, basic + "TotalTax-includedAmount") == "1191.30"
    assert text(root, basic + "TotalTax-includedAmountInChinese") == "壹仟壹佰玖拾壹圆叁角整"
    assert text(root, basic + "Drawer") == "张三"
    assert text(root, basic + "RequestTime") == "2026-09-01 10:11:12"
    assert text(root, "TaxSupervisionInfo/IssueTime") == "2026-09-01"
    first = root.find("EInvoiceData/IssuItemInformation")
    assert first is not None
    assert [(child.tag, child.text) for child in first] == [
        ("ItemName", "*信息技术服务*云服务器"), ("SpecMod", "ecs.g7.large"), ("MeaUnits", "项"),
        ("Quantity", "1"), ("UnPrice", "1000"), ("Amount", "1000.00"), ("TaxRate", "0.06"),
        ("ComTaxAm", "60.00"), ("TotaltaxIncludedAmount", "1060.00"),
        ("TaxClassificationCode", "3040201030000000000")]
    assert text(root, "EInvoiceData/AdditionalInformation/Remark") == BLUE.remark
    assert root.find("EInvoiceData/SpecificInformation") is None


def test_inv_req_17_xml_lines_add_up_to_the_totals() -> None:
    root = ET.fromstring(render_invoice_xml(BLUE))
    items = root.findall("EInvoiceData/IssuItemInformation")
    assert len(items) == 2

    def total(path: str) -> int:
        return parse_yuan(text(root, "EInvoiceData/BasicInformation/" + path) or "")

    def column(tag: str) -> int:
        return sum(parse_yuan(item.findtext(tag) or "") for item in items)

    assert column("Amount") == total("TotalAmWithoutTax") == BLUE.net_fen
    assert column("ComTaxAm") == total("TotalTaxAm") == BLUE.tax_fen
    assert column("TotaltaxIncludedAmount") == total("TotalTax-includedAmount")
    assert total("TotalAmWithoutTax") + total("TotalTaxAm") == total("TotalTax-includedAmount")


def test_inv_req_17_xml_red_invoice() -> None:
    root = ET.fromstring(render_invoice_xml(RED))
    assert text(root, "Header/InherentLabel/InIssuType/LabelCode") == "N"
    basic = "EInvoiceData/BasicInformation/"
    assert text(root, basic + "TotalAmWithoutTax") == "-1000.00"
    assert text(root, basic + "TotalTaxAm") == "-60.00"
    assert text(root, basic + "TotalTax-includedAmount") == "-1060.00"
    assert text(root, basic + "TotalTax-includedAmountInChinese") == "（负数）壹仟零陆拾圆整"
    item = "EInvoiceData/IssuItemInformation/"
    assert text(root, item + "Amount") == "-1000.00" and text(root, item + "ComTaxAm") == "-60.00"
    assert text(root, item + "Quantity") == "-1" and text(root, item + "UnPrice") == "1000"
    red = "EInvoiceData/SpecificInformation/RedEInvoice/"
    assert text(root, red + "OriginalInvoiceCode") == BLUE_NUMBER
    assert text(root, red + "CreditNoteNumber") == FORM_NUMBER
    assert text(root, "EInvoiceData/AdditionalInformation/Remark") == (
        f"被红冲蓝字数电发票号码：{BLUE_NUMBER} 红字发票信息确认单编号：{FORM_NUMBER} "
        "账期2026-08 账号1234567890")


def test_inv_req_17_xml_general_invoice_label() -> None:
    root = ET.fromstring(render_invoice_xml(replace(BLUE, kind="general")))
    assert text(root, "Header/InherentLabel/GeneralOrSpecialVAT/LabelCode") == "02"
    assert text(root, "Header/InherentLabel/GeneralOrSpecialVAT/LabelName") == "普通发票"


@pytest.mark.parametrize("doc", [BLUE, RED], ids=["blue", "red"])
def test_inv_req_17_xml_reads_back(doc: InvoiceDocument) -> None:
    parsed = parse_invoice_xml(render_invoice_xml(doc))
    assert parsed.number == parsed.eiid == doc.number
    assert parsed.kind == doc.kind and parsed.is_red == doc.is_red
    assert parsed.issued_at == doc.issued_at
    assert parsed.buyer == doc.buyer and parsed.seller == doc.seller
    assert parsed.lines == doc.lines
    assert (parsed.net_fen, parsed.tax_fen, parsed.amount_fen) == (
        doc.net_fen, doc.tax_fen, doc.amount_fen)
    assert parsed.amount_in_capitals == doc.amount_in_capitals
    assert parsed.drawer == doc.drawer and parsed.remark == doc.face_remark
    assert (parsed.original_number, parsed.red_form_number) == (
        doc.original_number, doc.red_form_number)


def test_inv_req_17_xml_escapes_markup_in_text() -> None:
    tricky = "A&B <C> \"D\" 'E' ]]> &amp;"
    doc = invoice((line(tricky, 10600),), buyer=Party(f"{tricky}有限公司", BUYER.taxpayer_id),
                  remark=tricky)
    data = render_invoice_xml(doc)
    assert b"A&amp;B &lt;C&gt;" in data and b"&amp;amp;" in data
    ET.fromstring(data)  # well-formed
    parsed = parse_invoice_xml(data)
    assert parsed.buyer.name == f"{tricky}有限公司"
    assert parsed.lines[0].item_name == f"*信息技术服务*{tricky}"
    assert parsed.remark == tricky


def test_inv_req_17_xml_refuses_characters_xml_cannot_carry() -> None:
    with pytest.raises(ValueError, match="U\\+0001"):
        render_invoice_xml(invoice((line("云服务器\x01", 10600),)))


def test_parse_reads_platform_variants() -> None:
    data = render_invoice_xml(BLUE).replace(b"<TaxRate>0.06</TaxRate>", b"<TaxRate>6%</TaxRate>")
    data = data.replace(b"<TaxRate>0.13</TaxRate>", b"<TaxRate>0.130000</TaxRate>")
    data = data.replace(b"<RequestTime>2026-09-01 10:11:12</RequestTime>", b"")
    parsed = parse_invoice_xml(data)
    assert [item.tax_rate for item in parsed.lines] == [Decimal("0.06"), Decimal("0.13")]
    assert parsed.issued_at == datetime(2026, 9, 1, tzinfo=SHANGHAI)  # IssueTime, date only


@pytest.mark.parametrize(("data", "message"), [
    (b"<EInvoice><Header>", "well-formed"),
    (b"<Invoice/>", "EInvoice"),
    (render_invoice_xml(BLUE).replace(b">0.06<", ">免税<".encode()), "tax rate"),
    (render_invoice_xml(BLUE).replace(b"<Quantity>1<", b"<Quantity>NaN<"), "Quantity"),
    (render_invoice_xml(BLUE).replace(b"<TotalTaxAm>75.11</TotalTaxAm>", b""), "TotalTaxAm"),
])
def test_parse_refuses_what_is_not_an_invoice(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse_invoice_xml(data)


# Any text XML 1.0 can carry: no C0 controls, surrogates or U+FFFE/U+FFFF.
names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"),
                              exclude_characters="\ufffe\uffff"), max_size=40)
amounts = st.integers(min_value=-10**11, max_value=10**11)
rates = st.sampled_from(["0", "0.01", "0.03", "0.05", "0.06", "0.09", "0.13"])


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(names, amounts, rates), min_size=1, max_size=12), names)
def test_inv_req_17_xml_totals_and_lines_survive_any_content(
        rows: list[tuple[str, int, str]], buyer: str) -> None:
    lines = tuple(line(name, amount, rate) for name, amount, rate in rows)
    doc = invoice(lines, buyer=Party(buyer or "个人", None))
    parsed = parse_invoice_xml(render_invoice_xml(doc))
    assert parsed.lines == lines
    assert parsed.net_fen == sum(item.net_fen for item in parsed.lines) == doc.net_fen
    assert parsed.tax_fen == sum(item.tax_fen for item in parsed.lines) == doc.tax_fen
    assert parsed.amount_fen == parsed.net_fen + parsed.tax_fen
    assert parsed.amount_in_capitals == doc.amount_in_capitals
    assert parsed.buyer == doc.buyer


def test_inv_req_17_red_remark_is_not_repeated_when_already_given() -> None:
    auto = f"被红冲蓝字数电发票号码：{BLUE_NUMBER} 红字发票信息确认单编号：{FORM_NUMBER}"
    doc = replace(RED, remark=f"{auto} 退订")
    assert doc.face_remark == f"{auto} 退订"
    assert replace(RED, remark="").face_remark == auto
    assert parse_invoice_xml(render_invoice_xml(doc)).remark == f"{auto} 退订"
