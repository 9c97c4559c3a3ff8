"""Money at the API edge: yuan strings in, integer fen inside, yuan strings out."""

from __future__ import annotations

from kit.money import MAX_CAPITALS_FEN, MoneyError, format_yuan, parse_yuan

from invoice_svc.common.errors import AmountInvalid


def to_fen(value: str, field: str, *, positive: bool = False) -> int:
    """Parse a yuan string of the request (at most two decimals) or refuse it naming `field`.
    Amounts beyond what an invoice can print in capitals (a trillion yuan) are refused too, and
    so is a negative zero."""
    try:
        fen = parse_yuan(value)
    except MoneyError as exc:
        raise AmountInvalid(f"{field}: {exc.message}", code=exc.code,
                            details={"field": field}) from None
    if fen == 0 and value.startswith("-"):  # "-0", "-0.00": not an amount anyone writes
        raise AmountInvalid(f"{field}: 金额格式不正确：{value!r}", details={"field": field})
    if abs(fen) > MAX_CAPITALS_FEN:
        raise AmountInvalid(f"{field}: 金额超出范围：{value}", details={"field": field})
    if positive and fen <= 0:
        raise AmountInvalid(f"{field}: 金额必须大于 0，收到 {value}", details={"field": field})
    return fen


def yuan(fen: int) -> str:
    return format_yuan(fen)
