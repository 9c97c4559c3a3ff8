"""The email that delivers an issued invoice (INV-REQ-17: "sent to the email").

A pure function: the same arguments give the same message (bytes included: the MIME boundary
is derived from the invoice number). `Date` and `Message-ID` are left to
the mailer (it stamps them when it sends) unless the caller passes them, so a retry of the
same delivery can reuse its Message-ID.

Layout: a Chinese plain-text body (base64, UTF-8, so no 8BITMIME is needed on the way), then
`<number>.pdf` (application/pdf) and `<number>.xml` (application/xml, RFC 7303) attachments.
The subject is RFC 2047-encoded by the email package; non-ASCII file names would be RFC 2231
encoded, but invoice numbers are ASCII.
"""

from __future__ import annotations

import re
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr

from kit.clock import SHANGHAI
from kit.money import amount_in_capitals, format_yuan

from invoice_svc.mail.errors import MailAddressInvalid

_ADDRESS = re.compile(
    r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@"
    r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}"
    r"[A-Za-z0-9])?)+$")
_NUMBER = re.compile(r"^[0-9A-Za-z]{1,40}$")
_LINE_BREAK = re.compile(r"[\r\n]")


def address_of(value: str, field: str) -> str:
    """The bare address of `addr` or `Name <addr>`, or MailAddressInvalid naming the field."""
    if _LINE_BREAK.search(value):
        raise MailAddressInvalid(f"{field}: 邮箱地址不能包含换行", details={"field": field})
    _, address = parseaddr(value)
    if len(address) > 254 or not _ADDRESS.match(address):
        raise MailAddressInvalid(f"{field}: 电子邮箱格式不正确：{value!r}",
                                 details={"field": field})
    return address


def _header_address(value: str, field: str) -> Address:
    address = address_of(value, field)
    name, _ = parseaddr(value)
    local, domain = address.rsplit("@", 1)
    return Address(display_name=name, username=local, domain=domain)


def compose_invoice_mail(to: str, invoice_number: str, buyer_name: str, amount_fen: int,
                         issued_at: datetime, pdf: bytes, xml: bytes, sender: str, *,
                         date: datetime | None = None,
                         message_id: str | None = None) -> EmailMessage:
    """The delivery email of one issued invoice. `to` and `sender` are `addr` or
    `Name <addr>`; `amount_fen` is the 价税合计; `issued_at` is aware (shown in Shanghai time);
    `pdf` and `xml` are the documents as issued."""
    if not _NUMBER.match(invoice_number):
        raise ValueError(f"invoice number must be 1-40 letters or digits: {invoice_number!r}")
    if type(amount_fen) is not int:
        raise ValueError(f"amount must be fen (int), got {amount_fen!r}")
    if issued_at.tzinfo is None or issued_at.utcoffset() is None:
        raise ValueError("issued_at must be an aware datetime")
    if not pdf or not xml:
        raise ValueError("both the PDF and the XML document are required")
    buyer = " ".join(buyer_name.split()) or "客户"
    local = issued_at.astimezone(SHANGHAI)
    yuan = format_yuan(amount_fen)

    message = EmailMessage()
    message["Subject"] = f"数电发票开具通知：发票号码 {invoice_number}，价税合计 ¥{yuan}"
    message["From"] = _header_address(sender, "sender")
    message["To"] = _header_address(to, "to")
    if date is not None:
        if date.tzinfo is None or date.utcoffset() is None:
            raise ValueError("date must be an aware datetime")
        message["Date"] = format_datetime(date)
    if message_id is not None:
        message["Message-ID"] = message_id
    body = (
        f"尊敬的{buyer}：\n"
        "\n"
        "您好！您申请的发票已开具成功，发票信息如下：\n"
        "\n"
        f"发票号码：{invoice_number}\n"
        f"开票日期：{local.year}年{local.month:02d}月{local.day:02d}日\n"
        f"购买方名称：{buyer}\n"
        f"价税合计：¥{yuan}（{amount_in_capitals(amount_fen)}）\n"
        "\n"
        f"发票的 PDF 版式文件（{invoice_number}.pdf）和 XML 数据文件（{invoice_number}.xml）"
        "见本邮件附件，您也可以登录控制台，在开票记录页面下载 PDF、XML 或 OFD 格式的发票。\n"
        "数电发票与纸质发票具有同等法律效力。\n"
        "\n"
        "本邮件由系统自动发送，请勿直接回复。\n"
    )
    message.set_content(body, subtype="plain", charset="utf-8", cte="base64")
    message.add_attachment(pdf, maintype="application", subtype="pdf",
                           filename=f"{invoice_number}.pdf")
    message.add_attachment(xml, maintype="application", subtype="xml",
                           filename=f"{invoice_number}.xml")
    # A fixed boundary keeps the function pure. It cannot occur in the parts: they are all
    # base64, whose alphabet has no "_" and whose lines never start with "--".
    message.set_boundary(f"=_invoice_{invoice_number}_=")
    return message
