"""Errors of the sub-user rules (CAM's codes where CAM has one)."""

from kit.errors import AppError, FailedOperation


class UserNameInUse(FailedOperation):
    code = "InvalidParameter.SubUserNameInUse"


class UserHasKeys(AppError):
    status = 409
    code = "OperationDenied.HaveKeys"
