"""Errors shared by several domain packages (codes in the project's Tencent style)."""

from __future__ import annotations

from kit.errors import AppError, FailedOperation, Forbidden, InvalidParameterValue


class IdempotencyKeyReused(AppError):
    status = 409
    code = "InvalidParameter.IdempotencyKeyReused"


class ConcurrentModification(FailedOperation):
    """Another transaction changed the same rows first; retrying is safe."""

    code = "FailedOperation.ConcurrentModification"


class CallerKindRefused(Forbidden):
    code = "UnauthorizedOperation.CallerKind"


class AmountInvalid(InvalidParameterValue):
    code = "InvalidParameterValue.Amount"


class CursorInvalid(InvalidParameterValue):
    code = "InvalidParameterValue.Cursor"
