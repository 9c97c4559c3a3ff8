"""Money in integer fen: parsing, formatting, rounding, tax split and amounts in Chinese capitals.

Conventions (DESIGN.md §3, reference/einvoice.md §3): amounts are stored and passed as integer
fen, shown as strings with exactly two decimals, never floats; rounding is ROUND_HALF_UP to the
fen (ties away from zero, so negative amounts of red invoices round symmetrically).

All arithmetic here is exact integer arithmetic on the rational value of a ``Decimal``; no
``Decimal`` context precision is involved, so results do not depend on the caller's context.
"""

from __future__ import annotations

import re
from decimal import Decimal

__all__ = [
    "MAX_CAPITALS_FEN",
    "MAX_FEN",
    "MoneyError",
    "amount_in_capitals",
    "format_yuan",
    "parse_yuan",
    "round_half_up",
    "split_tax_inclusive",
    "to_decimal",
]

#: Largest amount a PostgreSQL BIGINT column of fen can hold.
MAX_FEN = 2**63 - 1
#: amount_in_capitals handles |amount| < 1 000 000 000 000 yuan (units up to 亿).
MAX_CAPITALS_FEN = 10**14 - 1

AMOUNT_CODE = "InvalidParameterValue.Amount"
TAX_RATE_CODE = "InvalidParameterValue.TaxRate"

# [0-9], not \d or str.isdigit(): those accept full-width and other Unicode digits.
_YUAN_RE = re.compile(r"-?(?:0|[1-9][0-9]{0,16})(?:\.[0-9]{1,2})?")


class MoneyError(ValueError):
    """A money value was refused; ``code`` is the API error code, ``message`` the reason."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _require_int(value: object, what: str) -> int:
    # bool is an int subclass; True must not silently mean 1 fen.
    if type(value) is not int:
        raise MoneyError(AMOUNT_CODE, f"{what}必须是整数（分），收到 {type(value).__name__}")
    return value


def _div_round_half_up(num: int, den: int) -> int:
    """num / den rounded to an integer, ties away from zero (den > 0)."""
    q, r = divmod(abs(num), den)
    if 2 * r >= den:
        q += 1
    return q if num >= 0 else -q


def parse_yuan(s: str) -> int:
    """Parse a yuan string such as ``"12"``, ``"12.3"``, ``"-0.81"`` into fen.

    Refused: more than two decimals, exponents, NaN/Infinity, signs other than a leading ``-``,
    any whitespace, thousands separators, non-ASCII digits, leading zeros (``"012"``), a bare
    ``"."`` part (``".5"``, ``"5."``), non-string input (floats are lossy) and values beyond
    a BIGINT of fen.
    """
    if not isinstance(s, str):
        raise MoneyError(AMOUNT_CODE, f'金额必须以字符串传入，如 "12.34"，收到 {type(s).__name__}')
    if _YUAN_RE.fullmatch(s) is None:
        shown = s if len(s) <= 40 else s[:40] + "…"
        raise MoneyError(
            AMOUNT_CODE, f'金额格式不正确：{shown!r}，应为最多两位小数的十进制数，如 "12.34"'
        )
    negative = s.startswith("-")
    digits = s[1:] if negative else s
    whole, _, frac = digits.partition(".")
    fen = int(whole) * 100 + int(frac.ljust(2, "0") or "0")
    if fen > MAX_FEN:
        raise MoneyError(AMOUNT_CODE, f"金额超出范围：{s}")
    return -fen if negative else fen


def format_yuan(fen: int) -> str:
    """Format fen as a yuan string with exactly two decimals: ``1234 -> "12.34"``."""
    fen = _require_int(fen, "金额")
    sign = "-" if fen < 0 else ""
    whole, frac = divmod(abs(fen), 100)
    return f"{sign}{whole}.{frac:02d}"


def to_decimal(fen: int) -> Decimal:
    """Fen as a yuan ``Decimal`` with exponent -2 (``1234 -> Decimal("12.34")``)."""
    return Decimal(format_yuan(fen))


def round_half_up(value: Decimal) -> int:
    """Round a yuan ``Decimal`` to the fen, ROUND_HALF_UP, and return integer fen."""
    if not isinstance(value, Decimal):
        raise MoneyError(AMOUNT_CODE, f"金额必须是 Decimal，收到 {type(value).__name__}")
    if not value.is_finite():
        raise MoneyError(AMOUNT_CODE, f"金额不是有限数：{value}")
    num, den = value.as_integer_ratio()
    return _div_round_half_up(num * 100, den)


def _check_rate(rate: Decimal) -> tuple[int, int]:
    if not isinstance(rate, Decimal) or not rate.is_finite() or rate < 0 or rate >= 1:
        raise MoneyError(
            TAX_RATE_CODE, f'税率必须是 0 到 1 之间的 Decimal，如 Decimal("0.06")：{rate!r}'
        )
    return rate.as_integer_ratio()


def split_tax_inclusive(amount_fen: int, rate: Decimal) -> tuple[int, int]:
    """Split a tax-inclusive amount into ``(net_fen, tax_fen)`` for one invoice line.

    ``tax = round_half_up(amount * r / (1 + r))`` and ``net = amount - tax``, so that
    net + tax == amount exactly (reference/einvoice.md §3.2). Negative (red) amounts split
    symmetrically: ``split(-a) == (-net, -tax)``.
    """
    amount_fen = _require_int(amount_fen, "金额")
    n, d = _check_rate(rate)
    # amount * (n/d) / (1 + n/d) == amount * n / (d + n), computed exactly.
    tax = _div_round_half_up(amount_fen * n, d + n)
    return amount_fen - tax, tax


_DIGITS = "零壹贰叁肆伍陆柒捌玖"
_PLACES = ("", "拾", "佰", "仟")
_SECTIONS = ("", "万", "亿")
NEGATIVE_PREFIX = "（负数）"


def _section_words(section: int) -> str:
    """A 4-digit group (1..9999) without leading 零: 1005 -> 壹仟零伍, 10 -> 壹拾."""
    out: list[str] = []
    pending_zero = False
    for place in (3, 2, 1, 0):
        digit = section // 10**place % 10
        if digit == 0:
            pending_zero = bool(out)
            continue
        if pending_zero:
            out.append("零")
            pending_zero = False
        out.append(_DIGITS[digit] + _PLACES[place])
    return "".join(out)


def _yuan_words(yuan: int) -> str:
    """Whole yuan (>= 1) in capitals, without the 圆 unit.

    A 零 joins two groups when the lower group has fewer than four digits (10005 ->
    壹万零伍) or a whole group of zeros was skipped (100001000 -> 壹亿零壹仟). No 零 when only
    the trailing digits of the higher group are zero and the lower group starts at 仟
    (101000 -> 壹拾万壹仟); 会计基础工作规范 第52条 allows either form there.
    """
    groups: list[int] = []
    while yuan:
        yuan, group = divmod(yuan, 10000)
        groups.append(group)
    out: list[str] = []
    skipped = False
    for index in range(len(groups) - 1, -1, -1):
        group = groups[index]
        if group == 0:
            skipped = bool(out)
            continue
        if out and (skipped or group < 1000):
            out.append("零")
        out.append(_section_words(group) + _SECTIONS[index])
        skipped = False
    return "".join(out)


def amount_in_capitals(fen: int, *, yuan_char: str = "圆", zheng_after_jiao: bool = True) -> str:
    """Amount in Chinese capitals as a fully-digital invoice prints 价税合计（大写）.

    ``12345 -> 壹佰贰拾叁圆肆角伍分``, ``100000 -> 壹仟圆整``, ``1000500 -> 壹万零伍圆整``,
    ``10505 -> 壹佰零伍圆零伍分``, ``1050 -> 壹拾圆伍角整``, ``5 -> 伍分``, ``0 -> 零圆整``,
    ``-50000 -> （负数）伍佰圆整`` (red invoice). Rules as reference/einvoice.md §3.4: 整 after
    圆 or 角 when there is no 分; never after 分; 零 for inner zeros; a 零 between 圆 and 分 when
    角 is zero. Contracts may pass ``yuan_char="元"``; ``zheng_after_jiao=False`` drops 整
    after 角 (what the platform prints there is unverified).
    """
    fen = _require_int(fen, "金额")
    if yuan_char not in ("圆", "元"):
        raise ValueError(f"yuan_char must be 圆 or 元, got {yuan_char!r}")
    if abs(fen) > MAX_CAPITALS_FEN:
        raise MoneyError(AMOUNT_CODE, f"金额超出大写金额支持范围：{format_yuan(fen)}")
    yuan, rest = divmod(abs(fen), 100)
    jiao, fen_digit = divmod(rest, 10)
    out = _yuan_words(yuan) + yuan_char if yuan else ""
    if jiao == 0 and fen_digit == 0:
        out = (out or "零" + yuan_char) + "整"
    else:
        if jiao:
            out += _DIGITS[jiao] + "角"
        elif yuan:
            out += "零"
        if fen_digit:
            out += _DIGITS[fen_digit] + "分"
        elif zheng_after_jiao:
            out += "整"
    return NEGATIVE_PREFIX + out if fen < 0 else out
