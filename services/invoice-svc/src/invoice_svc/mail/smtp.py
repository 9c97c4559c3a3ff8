"""SMTP delivery with aiosmtplib: one connection per message.

How failures are told apart (what the caller does next):

- MailUnavailable (send the same message again later; nothing was delivered): connection
  refused, DNS or TLS failure, timeout, connection lost; any 4xx answer (greylisting, mailbox
  busy, 421); and refusals of *our* configuration (sender refused, authentication refused,
  EHLO refused, STARTTLS not offered), which an operator fixes and which are logged as errors.
- MailRejected (do not retry; the address or the message must change): every recipient
  refused with 5xx (550 no such user ...), or the message refused after DATA with 5xx (552 too
  big, 554 policy).

When some recipients are refused and others accepted, the message was delivered: `send`
returns normally and lists the refused ones (raising would make the caller send it twice).
Once the server accepted the DATA, errors while saying QUIT are ignored for the same reason.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

import aiosmtplib
from kit.clock import Clock, SystemClock

from invoice_svc.mail.compose import address_of
from invoice_svc.mail.errors import MailRejected, MailUnavailable

log = logging.getLogger("invoice_svc.mail")


@dataclass(frozen=True, slots=True)
class SendResult:
    message_id: str
    refused: dict[str, str] = field(default_factory=dict)  # recipient -> "code message"
    reply: str = ""  # the server's answer to DATA (often carries its queue id)


def _permanent(code: int) -> bool:
    return 500 <= code < 600


class SmtpMailer:
    """Sends messages through one SMTP relay. `sender` is the envelope sender (MAIL FROM) and
    the domain of generated Message-IDs; `starttls=True` requires STARTTLS (False never
    upgrades, for a relay on a trusted network or a local sink); `use_tls` is implicit TLS
    (port 465). `timeout` (seconds) applies to connecting and to each command."""

    def __init__(self, host: str, port: int, sender: str, username: str | None = None,
                 password: str | None = None, starttls: bool = False, timeout: float = 10,
                 *, use_tls: bool = False, clock: Clock | None = None) -> None:
        if starttls and use_tls:
            raise ValueError("starttls and use_tls are exclusive")
        if (username is None) != (password is None):
            raise ValueError("username and password go together")
        self.host = host
        self.port = port
        self.sender = address_of(sender, "sender")
        self.username = username
        self.password = password
        self.starttls = starttls
        self.use_tls = use_tls
        self.timeout = timeout
        self.clock = clock or SystemClock()

    def _stamp(self, message: EmailMessage) -> str:
        """Adds Date and Message-ID when the message has none; returns the Message-ID."""
        if message["Date"] is None:
            message["Date"] = format_datetime(self.clock.now())
        if message["Message-ID"] is None:
            message["Message-ID"] = make_msgid(domain=self.sender.rsplit("@", 1)[1])
        return str(message["Message-ID"])

    async def send(self, message: EmailMessage) -> SendResult:
        """Hand the message to the relay; recipients come from its To/Cc/Bcc headers."""
        message_id = self._stamp(message)
        smtp = aiosmtplib.SMTP(hostname=self.host, port=self.port, timeout=self.timeout,
                               start_tls=self.starttls, use_tls=self.use_tls,
                               username=self.username, password=self.password)
        try:
            await smtp.connect()
            refused, reply = await smtp.send_message(message, sender=self.sender)
        except BaseException as exc:
            smtp.close()
            translated = self._translate(exc, message_id) if isinstance(exc, Exception) else exc
            if translated is exc:
                raise
            raise translated from exc
        try:
            await smtp.quit()
        except (aiosmtplib.SMTPException, OSError) as exc:  # delivered already
            log.info("mail %s: QUIT failed after delivery: %s", message_id, exc)
        finally:
            smtp.close()
        if refused:
            log.warning("mail %s: some recipients refused: %s", message_id, refused)
        return SendResult(message_id,
                          {rcpt: f"{r.code} {r.message}" for rcpt, r in refused.items()},
                          reply)

    def _translate(self, exc: Exception, message_id: str) -> Exception:
        where = f"{self.host}:{self.port}"
        if isinstance(exc, aiosmtplib.SMTPRecipientsRefused | aiosmtplib.SMTPRecipientRefused):
            errors = (exc.recipients if isinstance(exc, aiosmtplib.SMTPRecipientsRefused)
                      else [exc])
            answers = {e.recipient: f"{e.code} {e.message}" for e in errors}
            details = {"recipients": answers, "smtp_codes": sorted({e.code for e in errors})}
            if errors and all(_permanent(e.code) for e in errors):
                return MailRejected(f"收件邮箱拒收：{answers} (recipient refused)",
                                    details=details)
            return MailUnavailable(f"收件邮箱暂时无法接收，请稍后重试：{answers}"
                                   " (recipient temporarily refused)", details=details)
        if isinstance(exc, aiosmtplib.SMTPDataError) and _permanent(exc.code):
            return MailRejected(f"邮件被拒收：{exc.code} {exc.message} (message refused)",
                                details={"smtp_codes": [exc.code]})
        if isinstance(exc, aiosmtplib.SMTPSenderRefused | aiosmtplib.SMTPAuthenticationError
                      | aiosmtplib.SMTPHeloError | aiosmtplib.SMTPNotSupported):
            log.error("mail %s: relay %s refuses our configuration: %r", message_id, where, exc)
        if isinstance(exc, aiosmtplib.SMTPResponseException):
            return MailUnavailable(f"邮件服务器暂不可用，请稍后重试：{exc.code} {exc.message}"
                                   f" (mail server {where} answered {exc.code})",
                                   details={"smtp_codes": [exc.code]})
        if isinstance(exc, aiosmtplib.SMTPException | OSError | TimeoutError):
            return MailUnavailable(f"无法连接邮件服务器，请稍后重试 (mail server {where}"
                                   f" unavailable: {exc.__class__.__name__})")
        return exc
