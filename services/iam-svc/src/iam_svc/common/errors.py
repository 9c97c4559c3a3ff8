"""Errors shared by several domain packages (codes in the project's Tencent style)."""

from __future__ import annotations

from kit.errors import AppError, FailedOperation, Forbidden, ResourceNotFound


class AccountNotFound(ResourceNotFound):
    code = "ResourceNotFound.Account"


class UserNotFound(ResourceNotFound):
    code = "ResourceNotFound.User"


class ConcurrentModification(FailedOperation):
    """Another transaction changed the same rows first; retrying is safe."""

    code = "FailedOperation.ConcurrentModification"


class IdempotencyKeyReused(AppError):
    status = 409
    code = "InvalidParameter.IdempotencyKeyReused"


class CallerKindRefused(Forbidden):
    code = "UnauthorizedOperation.CallerKind"


class LimitExceeded(AppError):
    status = 409
    code = "LimitExceeded"


class UnsupportedParameter(AppError):
    code = "UnsupportedOperation"
