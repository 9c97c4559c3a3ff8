"""Invoice delivery email (INV-REQ-17: "the invoice is sent to the email"): the message, and
SMTP delivery against a real local SMTP server (aiosmtpd) on a free port."""

from __future__ import annotations

import asyncio
import email
import email.policy
from collections.abc import Iterator
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from invoice_svc.mail import (
    MailRejected,
    MailUnavailable,
    SendResult,
    SmtpMailer,
    compose_invoice_mail,
)
from invoice_svc.mail.errors import MailAddressInvalid
from kit.clock import FrozenClock
from kit.testing import free_port

NUMBER = "25442000000123456789"
PDF = b"%PDF-1.7\n" + bytes(range(256)) * 8 + b"\n%%EOF\n"
XML = ('<?xml version="1.0" encoding="UTF-8"?>\n<EInvoice><BuyerInformation>'
       "<BuyerName>深圳某某科技有限公司</BuyerName></BuyerInformation></EInvoice>").encode()
SENDER = "发票中心 <invoice@cloud.example>"
ISSUED_AT = datetime(2025, 3, 31, 17, 5, tzinfo=UTC)  # 2025-04-01 01:05 in Shanghai


def mail(**changes: Any) -> EmailMessage:
    values: dict[str, Any] = {
        "to": "finance@buyer.example", "invoice_number": NUMBER,
        "buyer_name": "深圳某某科技有限公司", "amount_fen": 123456, "issued_at": ISSUED_AT,
        "pdf": PDF, "xml": XML, "sender": SENDER}
    return compose_invoice_mail(**(values | changes))


def reparse(raw: bytes) -> EmailMessage:
    parsed = email.message_from_bytes(raw, policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    return parsed


def attachments(message: EmailMessage) -> dict[str, tuple[str, bytes]]:
    return {part.get_filename(): (part.get_content_type(), part.get_content())
            for part in message.iter_attachments()}


# --------------------------------------------------------------------------- composing


def test_inv_req_17_message_headers_body_and_attachments() -> None:
    message = mail()
    assert message["Subject"] == f"数电发票开具通知：发票号码 {NUMBER}，价税合计 ¥1234.56"
    assert message["From"].addresses[0].addr_spec == "invoice@cloud.example"
    assert message["From"].addresses[0].display_name == "发票中心"
    assert message["To"].addresses[0].addr_spec == "finance@buyer.example"
    assert message.get_content_type() == "multipart/mixed"
    body = message.get_body(preferencelist=("plain",))
    assert body is not None
    text = body.get_content()
    assert "尊敬的深圳某某科技有限公司" in text
    assert f"发票号码：{NUMBER}" in text
    assert "开票日期：2025年04月01日" in text  # the Shanghai date
    assert "价税合计：¥1234.56（壹仟贰佰叁拾肆圆伍角陆分）" in text
    assert attachments(message) == {f"{NUMBER}.pdf": ("application/pdf", PDF),
                                    f"{NUMBER}.xml": ("application/xml", XML)}


def test_the_message_is_7bit_clean_and_survives_a_round_trip() -> None:
    raw = mail().as_bytes()
    assert max(raw) < 128  # base64 body, RFC 2047 subject: no 8BITMIME needed
    again = reparse(raw)
    assert attachments(again)[f"{NUMBER}.pdf"] == ("application/pdf", PDF)
    assert again["Subject"].startswith("数电发票开具通知")


def test_compose_is_pure_date_and_message_id_are_optional() -> None:
    assert mail().as_bytes() == mail().as_bytes()  # the MIME boundary too
    assert mail()["Date"] is None and mail()["Message-ID"] is None
    stamped = mail(date=ISSUED_AT, message_id="<inv-1@cloud.example>")
    assert parsedate_to_datetime(stamped["Date"]) == ISSUED_AT
    assert stamped["Message-ID"] == "<inv-1@cloud.example>"


def test_utf8_file_names_would_be_encoded() -> None:
    message = mail()
    message.add_attachment(b"x", maintype="application", subtype="octet-stream",
                           filename="发票说明.txt")
    assert "发票说明.txt" in attachments(reparse(message.as_bytes()))


@pytest.mark.parametrize("to", ["not-an-address", "a@b", "finance@buyer.example\r\nBcc: x@y.cn",
                                ""])
def test_bad_recipient_addresses_are_refused(to: str) -> None:
    with pytest.raises(MailAddressInvalid) as caught:
        mail(to=to)
    assert caught.value.code == "InvalidParameterValue.Email"


def test_bad_arguments_are_refused() -> None:
    with pytest.raises(ValueError):
        mail(invoice_number="../../etc/passwd")
    with pytest.raises(ValueError):
        mail(issued_at=datetime(2025, 3, 31, 17, 5))
    with pytest.raises(ValueError):
        mail(pdf=b"")
    with pytest.raises(ValueError):
        mail(amount_fen=12.5)


# --------------------------------------------------------------------------- SMTP


class Sink:
    """Accepts everything and keeps the envelopes."""

    def __init__(self) -> None:
        self.envelopes: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.envelopes.append(envelope)
        return "250 2.0.0 OK: queued as 4F2A"


class RefusingSink(Sink):
    """Answers RCPT TO for the listed addresses with a given reply."""

    def __init__(self, refuse: dict[str, str], data_reply: str | None = None) -> None:
        super().__init__()
        self.refuse = refuse
        self.data_reply = data_reply

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.data_reply is not None:
            return self.data_reply
        return await super().handle_DATA(server, session, envelope)


def start(handler: Any, **kwargs: Any) -> Controller:
    controller = Controller(handler, hostname="127.0.0.1", port=free_port(), **kwargs)
    controller.start()  # returns once the server answers
    return controller


@pytest.fixture
def sink() -> Iterator[tuple[Sink, int]]:
    handler = Sink()
    controller = start(handler)
    yield handler, controller.port
    controller.stop()


@pytest.fixture
def server_factory() -> Iterator[Any]:
    controllers: list[Controller] = []

    def make(handler: Any, **kwargs: Any) -> int:
        controller = start(handler, **kwargs)
        controllers.append(controller)
        return int(controller.port)

    yield make
    for controller in controllers:
        controller.stop()


async def test_inv_req_17_the_invoice_mail_arrives_with_both_attachments(
        sink: tuple[Sink, int]) -> None:
    handler, port = sink
    clock = FrozenClock(datetime(2025, 4, 1, 2, 0, tzinfo=UTC))
    mailer = SmtpMailer("127.0.0.1", port, SENDER, clock=clock)
    result = await mailer.send(mail())
    assert isinstance(result, SendResult)
    assert result.refused == {}
    assert "queued as 4F2A" in result.reply
    assert len(handler.envelopes) == 1
    envelope = handler.envelopes[0]
    assert envelope.mail_from == "invoice@cloud.example"
    assert envelope.rcpt_tos == ["finance@buyer.example"]
    received = reparse(envelope.original_content)
    assert attachments(received) == {f"{NUMBER}.pdf": ("application/pdf", PDF),
                                     f"{NUMBER}.xml": ("application/xml", XML)}
    assert received["Subject"] == f"数电发票开具通知：发票号码 {NUMBER}，价税合计 ¥1234.56"
    # The mailer stamped Date (from its clock) and a Message-ID in the sender's domain.
    assert received["Date"] == format_datetime(clock.now())
    assert received["Message-ID"] == result.message_id
    assert result.message_id.endswith("@cloud.example>")


async def test_a_retry_of_the_same_message_keeps_its_message_id(
        sink: tuple[Sink, int]) -> None:
    handler, port = sink
    mailer = SmtpMailer("127.0.0.1", port, "invoice@cloud.example")
    message = mail()
    first = await mailer.send(message)
    second = await mailer.send(message)
    assert first.message_id == second.message_id
    assert [reparse(e.original_content)["Message-ID"] for e in handler.envelopes] == [
        first.message_id, first.message_id]


async def test_an_unreachable_server_is_mail_unavailable() -> None:
    mailer = SmtpMailer("127.0.0.1", free_port(), SENDER, timeout=2)
    with pytest.raises(MailUnavailable) as caught:
        await mailer.send(mail())
    assert caught.value.code == "ResourceUnavailable.MailServer"
    assert caught.value.status == 503


async def test_a_server_that_never_greets_times_out_as_mail_unavailable() -> None:
    connected = asyncio.Event()

    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connected.set()
        await reader.read()  # until the client gives up and closes
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        mailer = SmtpMailer("127.0.0.1", port, SENDER, timeout=0.3)
        with pytest.raises(MailUnavailable):
            await mailer.send(mail())
        assert connected.is_set()
    finally:
        server.close()
        await server.wait_closed()


async def test_a_recipient_refused_with_550_is_mail_rejected(server_factory: Any) -> None:
    handler = RefusingSink({"finance@buyer.example": "550 5.1.1 No such user"})
    port = server_factory(handler)
    mailer = SmtpMailer("127.0.0.1", port, SENDER)
    with pytest.raises(MailRejected) as caught:
        await mailer.send(mail())
    error = caught.value
    assert error.code == "FailedOperation.MailRejected"
    assert error.details["smtp_codes"] == [550]
    assert error.details["recipients"] == {"finance@buyer.example": "550 5.1.1 No such user"}
    assert handler.envelopes == []


async def test_a_recipient_refused_with_450_is_only_unavailable(server_factory: Any) -> None:
    handler = RefusingSink({"finance@buyer.example": "450 4.2.1 Mailbox busy, try later"})
    port = server_factory(handler)
    with pytest.raises(MailUnavailable) as caught:
        await SmtpMailer("127.0.0.1", port, SENDER).send(mail())
    assert caught.value.details["smtp_codes"] == [450]


async def test_some_recipients_refused_is_still_delivered(server_factory: Any) -> None:
    handler = RefusingSink({"gone@buyer.example": "550 5.1.1 No such user"})
    port = server_factory(handler)
    message = mail()
    message["Cc"] = "gone@buyer.example"
    result = await SmtpMailer("127.0.0.1", port, SENDER).send(message)
    assert result.refused == {"gone@buyer.example": "550 5.1.1 No such user"}
    assert [e.rcpt_tos for e in handler.envelopes] == [["finance@buyer.example"]]


async def test_a_message_refused_after_data_with_554_is_mail_rejected(
        server_factory: Any) -> None:
    port = server_factory(RefusingSink({}, data_reply="554 5.7.1 Message rejected"))
    with pytest.raises(MailRejected) as caught:
        await SmtpMailer("127.0.0.1", port, SENDER).send(mail())
    assert caught.value.details["smtp_codes"] == [554]


async def test_a_temporary_failure_after_data_is_unavailable(server_factory: Any) -> None:
    port = server_factory(RefusingSink({}, data_reply="451 4.3.0 Try again later"))
    with pytest.raises(MailUnavailable):
        await SmtpMailer("127.0.0.1", port, SENDER).send(mail())


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str,
                  auth_data: Any) -> AuthResult:
    ok = isinstance(auth_data, LoginPassword) and auth_data == (b"mailer", b"s3cret")
    return AuthResult(success=ok, handled=False)  # unhandled: the server answers 535


async def test_login_with_credentials(server_factory: Any) -> None:
    handler = Sink()
    port = server_factory(handler, authenticator=authenticator, auth_require_tls=False)
    await SmtpMailer("127.0.0.1", port, SENDER, "mailer", "s3cret").send(mail())
    assert len(handler.envelopes) == 1
    # Refused credentials are our configuration: retry after an operator fixes it.
    with pytest.raises(MailUnavailable) as caught:
        await SmtpMailer("127.0.0.1", port, SENDER, "mailer", "wrong").send(mail())
    assert caught.value.details["smtp_codes"] == [535]
    assert len(handler.envelopes) == 1


async def test_required_starttls_that_the_server_lacks_is_unavailable(
        sink: tuple[Sink, int]) -> None:
    handler, port = sink
    with pytest.raises(MailUnavailable):
        await SmtpMailer("127.0.0.1", port, SENDER, starttls=True).send(mail())
    assert handler.envelopes == []


def test_mailer_configuration_checks() -> None:
    with pytest.raises(ValueError):
        SmtpMailer("127.0.0.1", 25, SENDER, starttls=True, use_tls=True)
    with pytest.raises(ValueError):
        SmtpMailer("127.0.0.1", 25, SENDER, username="only-a-name")
    with pytest.raises(MailAddressInvalid):
        SmtpMailer("127.0.0.1", 25, "nobody")
    assert SmtpMailer("127.0.0.1", 25, SENDER).sender == "invoice@cloud.example"
