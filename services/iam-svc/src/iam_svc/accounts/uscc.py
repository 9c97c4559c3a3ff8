"""Unified social credit code (统一社会信用代码, GB 32100-2015) validation.

18 characters from a 31-symbol alphabet (digits and capitals without I, O, S, V, Z):
registration authority (1), entity kind (1), administrative division (6 digits), organisation
code (9), check character (1). Check: ``C18 = ALPHABET[(31 - sum(v_i * 3**(i-1) mod 31)) % 31]``
over the first 17. Codes led by letters (``Y1…``, ``N2…``, ``A1…``) are valid; python-stdnum
wrongly rejects them (reference: einvoice.md §1).
"""

from __future__ import annotations

import re
import unicodedata
from typing import Final

USCC_ERROR_CODE: Final = "InvalidParameterValue.UnifiedSocialCreditCode"
USCC_LENGTH: Final = 18
ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
WEIGHTS: Final = tuple(pow(3, i, 31) for i in range(17))

_VALUES: Final = {char: value for value, char in enumerate(ALPHABET)}
_FORMAT_RE: Final = re.compile(r"[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10}")
_SEPARATORS_RE: Final = re.compile(r"[\s\-]+")


class UsccError(ValueError):
    """An invalid unified social credit code; ``reason`` is length, format or checksum."""

    code: str = USCC_ERROR_CODE

    def __init__(self, reason: str, message: str) -> None:
        self.reason = reason
        self.message = message
        super().__init__(message)


def normalize_uscc(code: str) -> str:
    """Full-width to ASCII, drop spaces and hyphens, upper-case."""
    return _SEPARATORS_RE.sub("", unicodedata.normalize("NFKC", code)).upper()


def uscc_check_character(first17: str) -> str:
    """The check character for the first 17 characters of a code (already valid symbols)."""
    total = sum(_VALUES[char] * weight for char, weight in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def validate_uscc(code: str) -> str:
    """Return the normalised code, or raise ``UsccError`` (code
    ``InvalidParameterValue.UnifiedSocialCreditCode``) saying what is wrong."""
    if not isinstance(code, str):
        raise UsccError("format", "unified social credit code must be a string")
    normalized = normalize_uscc(code)
    if len(normalized) != USCC_LENGTH:
        raise UsccError(
            "length",
            f"unified social credit code must be 18 characters, got {len(normalized)}",
        )
    if not _FORMAT_RE.fullmatch(normalized):
        raise UsccError("format", _format_problem(normalized))
    if uscc_check_character(normalized[:17]) != normalized[17]:
        raise UsccError(
            "checksum",
            f"unified social credit code {normalized} has a wrong check character "
            "(the last one); check for a mistyped character",
        )
    return normalized


def is_valid_uscc(code: object) -> bool:
    try:
        validate_uscc(code)  # type: ignore[arg-type]
    except UsccError:
        return False
    return True


def _format_problem(code: str) -> str:
    for position, char in enumerate(code, start=1):
        if 3 <= position <= 8 and not ("0" <= char <= "9"):
            return (
                f"unified social credit code: character {position} ({char!r}) must be a digit "
                "(characters 3-8 are the administrative division code)"
            )
        if char not in _VALUES:
            return (
                f"unified social credit code: character {position} ({char!r}) is not allowed; "
                "use digits and capital letters except I, O, S, V, Z"
            )
    return "unified social credit code has an invalid format"  # pragma: no cover
