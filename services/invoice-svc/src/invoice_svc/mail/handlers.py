"""Consumer that mails issued invoices (queue `invoice-svc.mailer`, binding
`invoice.issued`): the delivery email with the PDF and XML as issued.

At least once: the inbox makes a handled event a no-op, and a send that fails for a reason
that may pass (MailUnavailable) raises, so the consumer retries with backoff and finally
dead-letters it. A mail that was sent just before a crash may be sent again; its Message-ID
is derived from the invoice, so a receiving system can tell. A permanent refusal of the
address (MailRejected) is logged and recorded in the invoice's progress, not retried.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from kit.clock import Clock
from kit.messaging import CloudEvent, Subscription
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from invoice_svc.applications.models import invoices as INV
from invoice_svc.config import Settings
from invoice_svc.issuing.events import INVOICE_ISSUED, InvoiceIssued
from invoice_svc.issuing.models import invoice_documents as DOCS
from invoice_svc.issuing.service import add_progress
from invoice_svc.mail import MailRejected, SmtpMailer, compose_invoice_mail

log = logging.getLogger("invoice_svc.mail")

QUEUE = "invoice-svc.mailer"
BINDINGS = ("invoice.issued",)
Handler = Callable[[AsyncSession, CloudEvent], Awaitable[None]]


def mailer_for(settings: Settings, clock: Clock) -> SmtpMailer | None:
    if not settings.smtp_host:
        return None
    return SmtpMailer(settings.smtp_host, settings.smtp_port, settings.mail_sender,
                      settings.smtp_username, settings.smtp_password,
                      starttls=settings.smtp_starttls, clock=clock)


def handler(settings: Settings, clock: Clock) -> Handler:
    mailer = mailer_for(settings, clock)

    async def handle(session: AsyncSession, event: CloudEvent) -> None:
        if event.type != INVOICE_ISSUED:
            return
        issued = InvoiceIssued.model_validate(event.data)
        if mailer is None:
            log.info("mail is off (no INVOICE_SMTP_HOST); not sending",
                     extra={"invoice_id": issued.invoice_id})
            return
        docs = {fmt: content for fmt, content in (await session.execute(
            select(DOCS.c.format, DOCS.c.content)
            .where(DOCS.c.invoice_id == issued.invoice_id))).all()}
        amount = (await session.execute(select(INV.c.amount_fen).where(
            INV.c.invoice_id == issued.invoice_id))).scalar_one()
        domain = settings.mail_sender.rpartition("@")[2] or "invoice.local"
        message = compose_invoice_mail(
            issued.email, issued.number, issued.buyer_name, amount, issued.issued_at,
            docs["pdf"], docs["xml"], settings.mail_sender,
            message_id=f"<invoice-{issued.number}@{domain}>")
        try:
            await mailer.send(message)
        except MailRejected as exc:
            log.warning("delivery email refused", extra={"invoice_id": issued.invoice_id,
                                                         "error": str(exc)})
            await add_progress(session, issued.invoice_id, "issued",
                               f"邮件发送失败（收件地址被拒收）：{issued.email}", clock.now())
            return
        await add_progress(session, issued.invoice_id, "issued", f"已发送至邮箱 {issued.email}",
                           clock.now())

    return handle


def subscription(settings: Settings, clock: Clock) -> Subscription:
    return Subscription(QUEUE, BINDINGS, handler(settings, clock))
