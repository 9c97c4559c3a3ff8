"""Errors of the account rules."""

from kit.errors import FailedOperation


class AccountExists(FailedOperation):
    code = "FailedOperation.AccountExists"


class AccountAlreadyVerified(FailedOperation):
    code = "FailedOperation.AccountAlreadyVerified"


class AccountNotVerified(FailedOperation):
    code = "FailedOperation.AccountNotVerified"


class RenameTooSoon(FailedOperation):
    code = "FailedOperation.RenameIntervalNotReached"
