"""Invoice text fields: GBK-encodable, limited in GBK bytes (reference/einvoice.md §5)."""

from __future__ import annotations

from kit.errors import InvalidParameterValue
from kit.gbk import GbkError, validate_gbk_text


def gbk_text(value: str, max_bytes: int, field: str, *, stem: str, multiline: bool = False,
             param: str | None = None) -> str:
    """The trimmed text, or InvalidParameterValue.<stem>Charset / <stem>TooLong. Characters
    GBK cannot encode are refused by name, never dropped."""
    try:
        return validate_gbk_text(value, max_bytes, field, allow_newline=multiline,
                                 code_stem=stem)
    except GbkError as exc:
        details: dict[str, object] = {"field": param or stem.lower()}
        if exc.position is not None:
            details["position"] = exc.position
        if exc.byte_length is not None:
            details["byte_length"] = exc.byte_length
            details["max_bytes"] = max_bytes
        raise InvalidParameterValue(exc.message, code=exc.code, details=details) from None


def blank_to_none(value: str | None) -> str | None:
    if value is None:
        return None
    return value if value.strip(" \t\r\n\u3000") else None
