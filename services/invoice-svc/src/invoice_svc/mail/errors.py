"""Mail delivery errors (codes in the project's Tencent style)."""

from __future__ import annotations

from kit.errors import AppError, FailedOperation, InvalidParameterValue, ResourceUnavailable


class MailError(AppError):
    """Base of what the mailer raises."""


class MailUnavailable(MailError, ResourceUnavailable):
    """The message could not be handed over (server unreachable, timeout, temporary 4xx
    answer, or a server-side configuration problem such as refused credentials): send the same
    message again later. Nothing was delivered."""

    code = "ResourceUnavailable.MailServer"


class MailRejected(MailError, FailedOperation):
    """The server permanently refused the recipient(s) or the message (5xx): sending it again
    will not help; the address (or the message) must change."""

    code = "FailedOperation.MailRejected"


class MailAddressInvalid(InvalidParameterValue):
    code = "InvalidParameterValue.Email"
