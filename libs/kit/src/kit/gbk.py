"""GBK byte limits for invoice text fields (备注, buyer name, address, bank).

The invoice platform counts remark length in GBK bytes (ASCII 1, every other encodable character
2) and cannot print what GBK cannot encode; reference/einvoice.md §5. We use CPython's ``gbk``
codec, not ``gb18030``: GB18030 encodes every Unicode character (emoji, ``¥`` U+00A5, NBSP,
rare CJK) and would let through exactly the characters the platform cannot take. Such characters
and control characters are refused with a message naming the first one; they are never dropped
or replaced.
"""

from __future__ import annotations

import re

__all__ = [
    "CHARSET_CODE",
    "TOO_LONG_CODE",
    "GbkError",
    "gbk_length",
    "validate_gbk_text",
]

CODEC = "gbk"
TOO_LONG_CODE = "InvalidParameterValue.RemarkTooLong"
CHARSET_CODE = "InvalidParameterValue.RemarkCharset"

# C0 controls and DEL; LF is allowed where the field permits several lines.
_CONTROL = re.compile(r"[\x00-\x09\x0b-\x1f\x7f]")
_CONTROL_OR_LF = re.compile(r"[\x00-\x1f\x7f]")
# Only ASCII blanks and the ideographic space are trimmed at the ends: str.strip() would also
# remove NBSP and other characters GBK cannot encode, i.e. silently drop them.
_TRIM = " \t\r\n\u3000"
# Visible replacements to suggest (never applied silently).
_SUGGEST = {
    "\u00a5": "全角“￥”",
    "\u00a0": "普通空格",
    "\u20ac": "“欧元”",
    "\u2022": "“·”",
    "\u30fb": "“·”",
}


class GbkError(ValueError):
    """Text refused for an invoice field; ``code`` is the API error code."""

    def __init__(
        self,
        code: str,
        message: str,
        *,
        position: int | None = None,
        char: str | None = None,
        byte_length: int | None = None,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.position = position  # 1-based, in the text as given (before trimming)
        self.char = char
        self.byte_length = byte_length


def _describe(ch: str) -> str:
    shown = repr(ch)[1:-1] if not ch.isprintable() else ch
    return f"“{shown}”（U+{ord(ch):04X}）"


def _charset_error(text: str, index: int, field: str, code: str, offset: int = 0) -> GbkError:
    """``offset`` maps an index in the trimmed text back to the text as the user typed it."""
    ch = text[index]
    position = offset + index + 1
    hint = f"，可改为{_SUGGEST[ch]}" if ch in _SUGGEST else "，请删除或替换"
    kind = "控制字符" if _CONTROL_OR_LF.match(ch) else "GBK 无法编码的字符"
    return GbkError(
        code,
        f"{field}第 {position} 个字符 {_describe(ch)} 是{kind}，发票无法开具{hint}",
        position=position,
        char=ch,
    )


def _first_unencodable(text: str) -> int | None:
    try:
        text.encode(CODEC)
    except UnicodeEncodeError as exc:
        return exc.start
    return None


def gbk_length(text: str) -> int:
    """Length of ``text`` in GBK bytes; raises GbkError if a character cannot be encoded."""
    try:
        return len(text.encode(CODEC))
    except UnicodeEncodeError as exc:
        raise _charset_error(text, exc.start, "文本", CHARSET_CODE) from None


def validate_gbk_text(
    text: str,
    max_bytes: int,
    field: str,
    *,
    allow_newline: bool = True,
    code_stem: str = "Remark",
) -> str:
    """Check an invoice text field and return it trimmed of surrounding blanks.

    ``field`` is the display name used in messages (e.g. ``"备注"``). Charset is checked first,
    then length (``InvalidParameterValue.<code_stem>Charset`` / ``...TooLong``; the default stem
    gives the remark codes). Pass ``allow_newline=False`` for single-line fields such as names.
    """
    if not isinstance(text, str):
        raise TypeError(f"{field} must be str, got {type(text).__name__}")
    charset_code = f"InvalidParameterValue.{code_stem}Charset"
    too_long_code = f"InvalidParameterValue.{code_stem}TooLong"
    offset = len(text) - len(text.lstrip(_TRIM))
    text = text.strip(_TRIM)
    control = (_CONTROL if allow_newline else _CONTROL_OR_LF).search(text)
    bad = _first_unencodable(text)
    if control is not None and (bad is None or control.start() < bad):
        bad = control.start()
    if bad is not None:
        raise _charset_error(text, bad, field, charset_code, offset)
    length = len(text.encode(CODEC))
    if length > max_bytes:
        raise GbkError(
            too_long_code,
            f"{field}长度为 {length} 字节，超过上限 {max_bytes} 字节（汉字按 2 字节计）",
            byte_length=length,
        )
    return text
