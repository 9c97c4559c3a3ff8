"""Tolerant field types for the payloads of events this service consumes.

The producers' contracts are strict (money as `"12.34"`, aware RFC 3339 times, rates as
`"0.06"`); consumers accept a little more so a harmless variation never dead-letters money:
integer uins, rates written `6%` or `0.060000`, naive times (read as Asia/Shanghai, where the
billing core lives), amounts as numbers with at most two decimals. Anything that would change
a value's meaning is still refused.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from kit.clock import SHANGHAI
from kit.money import MoneyError, parse_yuan
from pydantic import AfterValidator, BeforeValidator, StringConstraints


def _uin(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return value


def _fen(value: Any) -> int:
    """Yuan (string, or a number with at most two decimals) -> integer fen."""
    if isinstance(value, bool):
        raise ValueError("an amount cannot be a boolean")
    if isinstance(value, int | float | Decimal):
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ValueError(f"not an amount: {value!r}") from None
        if not number.is_finite():
            raise ValueError(f"not an amount: {value!r}")
        value = format(number, "f")
        if "." in value:
            whole, frac = value.split(".")
            frac = frac.rstrip("0")
            value = f"{whole}.{frac}" if frac else whole
    if not isinstance(value, str):
        raise ValueError(f"an amount must be a string like \"12.34\", got {type(value).__name__}")
    try:
        return parse_yuan(value.strip())
    except MoneyError as exc:
        raise ValueError(exc.message) from None


def normalize_tax_rate(value: Any) -> str:
    """`"0.06"`, `0.06`, `"6%"`, `"0.060000"` -> `"0.06"`; a rate in [0, 1)."""
    if isinstance(value, bool):
        raise ValueError("a tax rate cannot be a boolean")
    text = str(value).strip()
    try:
        rate = Decimal(text[:-1]) / 100 if text.endswith("%") else Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not a tax rate: {value!r}") from None
    if not rate.is_finite() or rate < 0 or rate >= 1:
        raise ValueError(f"tax rate out of range: {value!r}")
    if rate != rate.quantize(Decimal("0.0001")):
        raise ValueError(f"tax rate has more than four decimals: {value!r}")
    two = rate.quantize(Decimal("0.01"))
    return f"{two:.2f}" if two == rate else f"{rate.normalize():f}"


def _time(value: datetime) -> datetime:
    return value.replace(tzinfo=SHANGHAI) if value.tzinfo is None else value


Uin = Annotated[str, BeforeValidator(_uin), StringConstraints(pattern=r"^[1-9][0-9]{0,19}$")]
Fen = Annotated[int, BeforeValidator(_fen)]
TaxRate = Annotated[str, BeforeValidator(normalize_tax_rate)]
Instant = Annotated[datetime, AfterValidator(_time)]
Id = Annotated[str, BeforeValidator(_uin), StringConstraints(min_length=1, max_length=64)]
Name = Annotated[str, StringConstraints(min_length=1, max_length=128)]
