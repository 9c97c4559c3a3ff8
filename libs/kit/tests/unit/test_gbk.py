"""kit.gbk: GBK byte counting and invoice text validation (remarks: INV-REQ-15)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kit.gbk import CHARSET_CODE, TOO_LONG_CODE, GbkError, gbk_length, validate_gbk_text

REMARK_LIMIT = 230


def _encodable(ch: str) -> bool:
    try:
        ch.encode("gbk")
    except UnicodeEncodeError:
        return False
    return True


# Characters the invoice platform can print: GBK-encodable and not control characters.
printable_gbk = st.characters(
    codec="gbk", exclude_categories=("Cc", "Cs"), exclude_characters=" \u3000"
)


@pytest.mark.parametrize(
    ("text", "length"),
    [
        # einvoice.md §5 table, verified there with CPython 3.11
        ("云服务器ECS包年包月", 19),
        ("（全角括号）", 12),
        ("·", 2),
        ("—", 2),
        ("…", 2),
        ("é", 2),
        ("￥", 2),
        ("\u3000", 2),
        ("", 0),
        ("abc 123", 7),
        # the auto-filled red-invoice remark with 20-digit numbers is 89 bytes
        ("被红冲蓝字数电发票号码：" + "2" * 20 + " 红字发票信息确认单编号：" + "3" * 20, 89),
    ],
)
def test_gbk_length_reference_vectors(text: str, length: int) -> None:
    assert gbk_length(text) == length


@pytest.mark.parametrize(
    "ch",
    ["😀", "€", "\u00a5", "\u00a0", "\u200b", "ß", "䶮", "𠀀", "鿿", "\ue000", "\ud800", "•"],
)
def test_gbk_length_refuses_unencodable(ch: str) -> None:
    with pytest.raises(GbkError) as info:
        gbk_length("账期" + ch)
    assert info.value.code == CHARSET_CODE
    assert info.value.position == 3
    assert info.value.char == ch


def test_codec_is_gbk_not_gb18030() -> None:
    """GB18030 encodes ¥ (U+00A5) and emoji; the platform's GBK does not, so we refuse them."""
    assert len("\u00a5".encode("gb18030")) == 4
    with pytest.raises(GbkError):
        validate_gbk_text("金额\u00a5100", REMARK_LIMIT, "备注")


def test_inv_req_15_remark_of_115_chinese_characters_is_230_bytes_and_accepted() -> None:
    remark = "云" * 115
    assert validate_gbk_text(remark, REMARK_LIMIT, "备注") == remark


def test_inv_req_15_remark_of_230_ascii_characters_is_accepted() -> None:
    remark = "a" * 230
    assert validate_gbk_text(remark, REMARK_LIMIT, "备注") == remark


@pytest.mark.parametrize(
    ("remark", "length"), [("云" * 116, 232), ("a" * 231, 231), ("云" * 115 + "a", 231)]
)
def test_inv_req_15_remark_over_230_bytes_is_refused_with_counts(remark: str, length: int) -> None:
    with pytest.raises(GbkError) as info:
        validate_gbk_text(remark, REMARK_LIMIT, "备注")
    err = info.value
    assert err.code == "InvalidParameterValue.RemarkTooLong" == TOO_LONG_CODE
    assert err.byte_length == length
    assert str(length) in err.message and "230" in err.message and "备注" in err.message


def test_inv_req_15_chinese_counts_two_bytes() -> None:
    """115 characters fit only when they are all ASCII or the mix stays within 230 bytes."""
    assert validate_gbk_text("账号1234567890 账期2026-08", REMARK_LIMIT, "备注")
    with pytest.raises(GbkError):
        validate_gbk_text("云" * 100 + "x" * 31, REMARK_LIMIT, "备注")  # 231 bytes, 131 chars


@pytest.mark.parametrize(
    ("remark", "position", "ch"),
    [
        ("项目😀备注", 3, "😀"),
        ("价格 \u00a5100", 4, "\u00a5"),
        ("a\u00a0b", 2, "\u00a0"),
        ("第一行\t第二行", 4, "\t"),
        ("回车\r\n换行", 3, "\r"),
        ("零宽\u200b空格", 3, "\u200b"),
        ("€ first, then 😀", 1, "€"),
        ("tab\tthen 😀", 4, "\t"),  # the first offending one, whatever its kind
        ("😀 then \x00", 1, "😀"),
        ("  \u3000前导空白后😀", 9, "😀"),  # positions count in the text as typed
    ],
)
def test_inv_req_15_remark_charset_refused_naming_first_offender(
    remark: str, position: int, ch: str
) -> None:
    with pytest.raises(GbkError) as info:
        validate_gbk_text(remark, REMARK_LIMIT, "备注")
    err = info.value
    assert err.code == "InvalidParameterValue.RemarkCharset" == CHARSET_CODE
    assert (err.position, err.char) == (position, ch)
    assert f"第 {position} 个字符" in err.message
    assert f"U+{ord(ch):04X}" in err.message


def test_charset_checked_before_length() -> None:
    with pytest.raises(GbkError) as info:
        validate_gbk_text("云" * 200 + "😀", REMARK_LIMIT, "备注")
    assert info.value.code == CHARSET_CODE


def test_suggests_a_visible_replacement_for_half_width_yen() -> None:
    with pytest.raises(GbkError) as info:
        validate_gbk_text("¥100", REMARK_LIMIT, "备注")
    assert "￥" in info.value.message


def test_newlines_allowed_in_remarks_but_not_in_single_line_fields() -> None:
    assert validate_gbk_text("第一行\n第二行", REMARK_LIMIT, "备注") == "第一行\n第二行"
    with pytest.raises(GbkError) as info:
        validate_gbk_text(
            "某某\n公司", 100, "购买方名称", allow_newline=False, code_stem="BuyerName"
        )
    assert info.value.code == "InvalidParameterValue.BuyerNameCharset"
    assert info.value.position == 3


def test_code_stem_names_other_fields() -> None:
    with pytest.raises(GbkError) as info:
        validate_gbk_text("地" * 51, 100, "地址", code_stem="Address")
    assert info.value.code == "InvalidParameterValue.AddressTooLong"


def test_surrounding_blanks_are_trimmed_but_never_unencodable_ones() -> None:
    assert validate_gbk_text("  账期2026-08\n\u3000", REMARK_LIMIT, "备注") == "账期2026-08"
    assert validate_gbk_text("a" * 230 + "   ", REMARK_LIMIT, "备注") == "a" * 230
    with pytest.raises(GbkError) as info:  # str.strip() would have dropped this NBSP silently
        validate_gbk_text("账期\u00a0", REMARK_LIMIT, "备注")
    assert info.value.char == "\u00a0"


def test_empty_remark_is_fine() -> None:
    assert validate_gbk_text("", REMARK_LIMIT, "备注") == ""
    assert validate_gbk_text("   ", REMARK_LIMIT, "备注") == ""


def test_non_string_is_a_programming_error() -> None:
    with pytest.raises(TypeError):
        validate_gbk_text(None, REMARK_LIMIT, "备注")  # type: ignore[arg-type]


@given(st.text(printable_gbk, max_size=300))
def test_gbk_length_is_ascii_one_other_two_for_encodable_text(text: str) -> None:
    assert gbk_length(text) == sum(1 if ord(c) < 128 else 2 for c in text)


@given(st.text(printable_gbk, max_size=200))
def test_inv_req_15_validate_returns_text_unchanged_or_refuses(text: str) -> None:
    try:
        result = validate_gbk_text(text, REMARK_LIMIT, "备注")
    except GbkError as err:
        assert err.code == TOO_LONG_CODE
        assert gbk_length(text) > REMARK_LIMIT
    else:
        assert result == text.strip(" \t\r\n\u3000")
        assert gbk_length(result) <= REMARK_LIMIT


@given(st.text(max_size=80))
def test_nothing_is_ever_dropped(text: str) -> None:
    """Whatever the input, the result keeps every character it had between the trimmed ends."""
    try:
        result = validate_gbk_text(text, 10_000, "备注")
    except GbkError as err:
        assert err.code == CHARSET_CODE
        assert err.position is not None and err.char == text[err.position - 1]
        assert not _encodable(err.char) or err.char in "\x7f" or ord(err.char) < 32
    else:
        assert result == text.strip(" \t\r\n\u3000")
        result.encode("gbk")
