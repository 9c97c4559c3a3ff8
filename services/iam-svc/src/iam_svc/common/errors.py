"""Errors shared by several domain packages (codes in the project's Tencent style)."""

from __future__ import annotations

from kit.errors import AppError, Forbidden, ResourceNotFound


class AccountNotFound(ResourceNotFound):
    code = "ResourceNotFound.Account"


class UserNotFound(ResourceNotFound):
    code = "ResourceNotFound.User"


class CallerKindRefused(Forbidden):
    code = "UnauthorizedOperation.CallerKind"


class LimitExceeded(AppError):
    status = 409
    code = "LimitExceeded"


class UnsupportedParameter(AppError):
    code = "UnsupportedOperation"
