"""Errors shared by several domain packages (codes in the project's Tencent style)."""

from __future__ import annotations

from kit.errors import Forbidden, InvalidParameterValue


class CallerKindRefused(Forbidden):
    code = "UnauthorizedOperation.CallerKind"


class AmountInvalid(InvalidParameterValue):
    code = "InvalidParameterValue.Amount"


class CursorInvalid(InvalidParameterValue):
    code = "InvalidParameterValue.Cursor"
