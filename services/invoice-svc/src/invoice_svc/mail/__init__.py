"""Invoice delivery by email: the message (Chinese text, PDF and XML attached) and an SMTP
mailer that tells "try again later" (MailUnavailable) from "this address refuses it"
(MailRejected)."""

from invoice_svc.mail.compose import compose_invoice_mail
from invoice_svc.mail.errors import MailError, MailRejected, MailUnavailable
from invoice_svc.mail.smtp import SendResult, SmtpMailer

__all__ = ["MailError", "MailRejected", "MailUnavailable", "SendResult", "SmtpMailer",
           "compose_invoice_mail"]
