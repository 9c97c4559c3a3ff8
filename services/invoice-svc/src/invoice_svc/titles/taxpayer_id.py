"""Taxpayer ids of invoice buyers (纳税人识别号), reference/einvoice.md §1.

Accepted, after removing spaces and hyphens and upper-casing:

- 18 characters: a unified social credit code (统一社会信用代码, GB 32100-2015) whose check
  character is right, or an 18-character resident identity number (GB 11643, the old taxpayer
  id of individual businesses) whose check character is right. Nothing else of 18 characters:
  otherwise a mistyped USCC would pass.
- 15, 17 or 20 characters of `[0-9A-Z]`: legacy taxpayer ids (old 税务登记证号 and the like),
  which have no check character we can verify.

The USCC alphabet has 31 symbols (no I, O, S, V, Z); position i (1..17) weighs 3^(i-1) mod 31;
the check character is ALPHABET[(31 - sum mod 31) mod 31]. Letter-led codes (Y1..., N2...) are
valid, unlike in python-stdnum.
"""

from __future__ import annotations

import re

from kit.errors import InvalidParameterValue

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}$")
RESIDENT_ID_RE = re.compile(r"^[1-9][0-9]{16}[0-9X]$")
RESIDENT_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
RESIDENT_CHECK = "10X98765432"
LEGACY_RE = re.compile(r"^(?:[0-9A-Z]{15}|[0-9A-Z]{17}|[0-9A-Z]{20})$")

CODE = "InvalidParameterValue.TaxpayerId"


class TaxpayerIdInvalid(InvalidParameterValue):
    code = CODE


def uscc_check_char(first17: str) -> str:
    total = sum(ALPHABET.index(c) * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def is_valid_uscc(code: str) -> bool:
    return bool(USCC_RE.match(code)) and code[17] == uscc_check_char(code[:17])


def is_valid_resident_id(code: str) -> bool:
    if not RESIDENT_ID_RE.match(code):
        return False
    total = sum(int(c) * w for c, w in zip(code[:17], RESIDENT_WEIGHTS, strict=True))
    return code[17] == RESIDENT_CHECK[total % 11]


def compact(value: str) -> str:
    return re.sub(r"[\s-]", "", value).upper()


def validate_taxpayer_id(value: str, field: str = "taxpayer_id") -> str:
    """The compacted id, or TaxpayerIdInvalid saying what is wrong."""
    code = compact(value)
    details = {"field": field}
    if len(code) == 18:
        if is_valid_uscc(code) or is_valid_resident_id(code):
            return code
        if USCC_RE.match(code):
            raise TaxpayerIdInvalid(
                f"统一社会信用代码 {code} 的校验位不正确（应为 {uscc_check_char(code[:17])}）",
                details=details)
        raise TaxpayerIdInvalid(
            f"统一社会信用代码 {code} 格式不正确：18 位，"
            "由数字和除 I、O、S、V、Z 以外的大写字母组成，第 3-8 位为数字", details=details)
    if LEGACY_RE.match(code):
        return code
    raise TaxpayerIdInvalid(
        f"纳税人识别号 {value!r} 不合法：应为 18 位统一社会信用代码，"
        "或 15、17、20 位的数字与大写字母",
        details=details)
