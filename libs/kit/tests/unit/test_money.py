"""kit.money: fen parsing and formatting, rounding, tax split, amounts in Chinese capitals."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal

import cn2an  # a test-only cross-check (dev dependency); production code never imports it
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from kit.money import (
    MAX_CAPITALS_FEN,
    MAX_FEN,
    MoneyError,
    amount_in_capitals,
    format_yuan,
    parse_yuan,
    round_half_up,
    split_tax_inclusive,
    to_decimal,
)

STANDARD_RATES = [Decimal(r) for r in ("0.13", "0.09", "0.06", "0.05", "0.03", "0.01", "0")]
EXACT = Context(prec=200)  # wide enough that the oracle below never rounds before quantize

fens = st.integers(min_value=-MAX_FEN, max_value=MAX_FEN)
capital_fens = st.integers(min_value=-MAX_CAPITALS_FEN, max_value=MAX_CAPITALS_FEN)
# Amounts that look like real invoices: mostly small, sometimes with many zeros inside.
zeroish_fens = st.builds(
    lambda digits, scale, cents: (digits * 10**scale) * 100 + cents,
    st.integers(min_value=0, max_value=99_999),
    st.integers(min_value=0, max_value=7),
    st.sampled_from([0, 1, 5, 10, 50, 99]),
).filter(lambda f: f <= MAX_CAPITALS_FEN)


# ---------------------------------------------------------------------------------------------
# parse_yuan / format_yuan / to_decimal


@pytest.mark.parametrize(
    ("text", "fen"),
    [
        ("12", 1200),
        ("12.3", 1230),
        ("12.34", 1234),
        ("0", 0),
        ("0.5", 50),
        ("0.05", 5),
        ("-0.81", -81),
        ("-0", 0),
        ("402.99", 40299),
        ("9999999999.99", 999_999_999_999),
        ("92233720368547758.07", MAX_FEN),
    ],
)
def test_parse_yuan_accepts_up_to_two_decimals(text: str, fen: int) -> None:
    assert parse_yuan(text) == fen


@pytest.mark.parametrize(
    "text",
    [
        "12.345",  # three decimals
        "0.001",
        "1e3",  # exponents
        "1E3",
        "1.2e1",
        "NaN",
        "nan",
        "sNaN",
        "Infinity",
        "-inf",
        "",
        " 12",  # whitespace tricks
        "12 ",
        "12\n",
        "\t12",
        "1 2",
        "12\u00a0",
        "\u300012",
        "+12",
        "--12",
        "-",
        ".5",
        "5.",
        "1,000",
        "1_000",
        "012",
        "00.5",
        "0x10",
        "１２",  # full-width digits pass str.isdigit()
        "١٢",  # Arabic-Indic digits
        "12.3.4",
        "¥12",
        "12元",
        "92233720368547758.08",  # one fen past BIGINT
        "1" * 18,
        "1" * 5000,
    ],
)
def test_parse_yuan_refuses_malformed_text(text: str) -> None:
    with pytest.raises(MoneyError) as info:
        parse_yuan(text)
    assert info.value.code == "InvalidParameterValue.Amount"
    assert info.value.message


@pytest.mark.parametrize("value", [12.34, 12, Decimal("12.34"), None, b"12", True])
def test_parse_yuan_refuses_non_strings(value: object) -> None:
    with pytest.raises(MoneyError) as info:
        parse_yuan(value)  # type: ignore[arg-type]
    assert info.value.code == "InvalidParameterValue.Amount"


@pytest.mark.parametrize(
    ("fen", "text"),
    [(1234, "12.34"), (-81, "-0.81"), (0, "0.00"), (5, "0.05"), (-5, "-0.05"), (100, "1.00")],
)
def test_format_yuan_two_decimals(fen: int, text: str) -> None:
    assert format_yuan(fen) == text


@pytest.mark.parametrize("value", [12.5, "12", Decimal(1), True, None])
def test_format_yuan_refuses_non_int(value: object) -> None:
    with pytest.raises(MoneyError):
        format_yuan(value)  # type: ignore[arg-type]


@given(fens)
def test_format_then_parse_round_trips(fen: int) -> None:
    text = format_yuan(fen)
    assert parse_yuan(text) == fen
    assert text.rsplit(".", 1)[1].isascii() and len(text.rsplit(".", 1)[1]) == 2


@given(
    st.booleans(),
    st.integers(min_value=0, max_value=10**15),
    st.integers(min_value=0, max_value=2),
    st.integers(min_value=0, max_value=99),
)
def test_parse_yuan_matches_decimal_value(
    negative: bool, whole: int, places: int, frac: int
) -> None:
    text = ("-" if negative else "") + str(whole)
    if places:
        text += "." + str(frac % 10**places).zfill(places)
    assert parse_yuan(text) == int(Decimal(text) * 100)


@given(fens)
def test_to_decimal_is_exact_with_two_places(fen: int) -> None:
    value = to_decimal(fen)
    assert value.as_tuple().exponent == -2
    assert value * 100 == fen


# ---------------------------------------------------------------------------------------------
# round_half_up


@pytest.mark.parametrize(
    ("value", "fen"),
    [
        ("0.005", 1),
        ("-0.005", -1),  # ties away from zero: red amounts mirror blue ones
        ("0.0049999999", 0),
        ("1.234999", 123),
        ("1.235", 124),
        ("2.675", 268),  # the classic float trap: 2.675 is 2.67499999... as a float
        ("12", 1200),
        ("-402.985", -40299),
    ],
)
def test_round_half_up_to_fen(value: str, fen: int) -> None:
    assert round_half_up(Decimal(value)) == fen


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), 1.5, "1.5"])
def test_round_half_up_refuses_non_finite_or_non_decimal(value: object) -> None:
    with pytest.raises(MoneyError):
        round_half_up(value)  # type: ignore[arg-type]


@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=-(10**12), max_value=10**12))
def test_round_half_up_matches_decimal_quantize(value: Decimal) -> None:
    expected = value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP, context=EXACT)
    assert round_half_up(value) == int(expected * 100)


# ---------------------------------------------------------------------------------------------
# split_tax_inclusive


def reference_tax(amount_fen: int, rate: Decimal) -> int:
    """einvoice.md §3.2 written the way the reference writes it, in yuan with Decimal."""
    g = Decimal(amount_fen).scaleb(-2)
    tax = EXACT.divide(EXACT.multiply(g, rate), EXACT.add(1, rate))
    return int(tax.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP, context=EXACT) * 100)


@pytest.mark.parametrize(
    ("amount", "rate", "net", "tax"),
    [
        (106000, "0.06", 100000, 6000),  # the XML skeleton: 1060.00 = 1000.00 + 60.00
        (-106000, "0.06", -100000, -6000),  # its red invoice
        (11300, "0.13", 10000, 1300),
        (10, "0.06", 9, 1),  # 0.0057 -> 0.01
        (5, "0.06", 5, 0),
        (1001, "0.06", 944, 57),
        (12345, "0", 12345, 0),
    ],
)
def test_split_tax_inclusive_examples(amount: int, rate: str, net: int, tax: int) -> None:
    assert split_tax_inclusive(amount, Decimal(rate)) == (net, tax)


def test_split_per_line_then_sum_differs_from_aggregate_as_reference_says() -> None:
    """einvoice.md §3.2: 7 x 0.05 + 3 x 10.01 at 6% give 1.71 per line but 1.72 in aggregate."""
    rate = Decimal("0.06")
    lines = [5] * 7 + [1001] * 3
    per_line = sum(split_tax_inclusive(g, rate)[1] for g in lines)
    aggregate = split_tax_inclusive(sum(lines), rate)[1]
    assert (per_line, aggregate) == (171, 172)


@given(st.integers(min_value=-(10**15), max_value=10**15), st.sampled_from(STANDARD_RATES))
@example(1, Decimal("0.06"))
def test_split_follows_reference_rule(amount: int, rate: Decimal) -> None:
    net, tax = split_tax_inclusive(amount, rate)
    assert net + tax == amount
    assert tax == reference_tax(amount, rate)
    assert split_tax_inclusive(-amount, rate) == (-net, -tax)


@given(st.integers(min_value=0, max_value=10**12), st.sampled_from(STANDARD_RATES))
def test_split_tax_first_equals_net_first_and_meets_tolerance(amount: int, rate: Decimal) -> None:
    """The reference found no difference between the two methods for the standard rates."""
    net, tax = split_tax_inclusive(amount, rate)
    net_first = round_half_up(EXACT.divide(Decimal(amount).scaleb(-2), 1 + rate))
    assert net == net_first
    # legacy 税控 tolerance |金额 x 税率 - 税额| <= 0.06 (6 fen) always holds per line
    assert abs(Decimal(net) * rate - tax) <= 6


@given(
    st.integers(min_value=-(10**12), max_value=10**12),
    st.decimals(min_value=0, max_value=1, allow_nan=False, allow_infinity=False, places=6).filter(
        lambda r: r < 1
    ),
)
def test_split_any_rate_sums_exactly(amount: int, rate: Decimal) -> None:
    net, tax = split_tax_inclusive(amount, rate)
    assert net + tax == amount
    assert tax == reference_tax(amount, rate)
    assert abs(tax) <= abs(amount)


@pytest.mark.parametrize(("amount", "tax"), [(12, 5), (-12, -5), (4, 2), (-4, -2), (20, 8)])
def test_split_ties_round_half_up_away_from_zero(amount: int, tax: int) -> None:
    """Standard rates never land on half a fen; 0.6 does (12 x 3/8 = 4.5), so pin the tie rule."""
    assert split_tax_inclusive(amount, Decimal("0.6")) == (amount - tax, tax)


@pytest.mark.parametrize(
    "rate", [0.06, "0.06", Decimal("NaN"), Decimal("-0.01"), Decimal("1"), Decimal("Infinity")]
)
def test_split_refuses_bad_rates(rate: object) -> None:
    with pytest.raises(MoneyError) as info:
        split_tax_inclusive(100, rate)  # type: ignore[arg-type]
    assert info.value.code == "InvalidParameterValue.TaxRate"


# ---------------------------------------------------------------------------------------------
# amount_in_capitals


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        # the brief
        (12345, "壹佰贰拾叁圆肆角伍分"),
        (100000, "壹仟圆整"),
        (1000500, "壹万零伍圆整"),
        (10505, "壹佰零伍圆零伍分"),
        # einvoice.md §2.2 / §2.3 / §3.4: observed on real invoices
        (113000, "壹仟壹佰叁拾圆整"),
        (10000, "壹佰圆整"),
        (-50000, "（负数）伍佰圆整"),
        (106000, "壹仟零陆拾圆整"),
        (-106000, "（负数）壹仟零陆拾圆整"),
        # einvoice.md §3.4: the tested wrapper's outputs
        (123456, "壹仟贰佰叁拾肆圆伍角陆分"),
        (1050, "壹拾圆伍角整"),
        (100005, "壹仟圆零伍分"),
        (4000040, "肆万圆肆角整"),
        (-15000, "（负数）壹佰伍拾圆整"),
        (0, "零圆整"),
        # einvoice.md §3.4 cn2an table inputs, in the invoice form
        (123400, "壹仟贰佰叁拾肆圆整"),
        (5, "伍分"),
        (101, "壹圆零壹分"),  # 1.005 quantized half-up first (esign.md §5)
        # esign.md §5 inputs, in the invoice form
        (10, "壹角整"),
        (1000, "壹拾圆整"),
        (100100, "壹仟零壹圆整"),
        (101000, "壹仟零壹拾圆整"),
        (1000000001, "壹仟万圆零壹分"),
        (10000050, "壹拾万圆伍角整"),
        (-500, "（负数）伍圆整"),
        # zeros between and across 4-digit groups
        (10100000, "壹拾万壹仟圆整"),
        (10001000, "壹拾万零壹拾圆整"),
        (10000100000, "壹亿零壹仟圆整"),  # a whole zero group skipped: 零 (cn2an omits it)
        (10000000100, "壹亿零壹圆整"),
        (100010000000, "壹拾亿零壹拾万圆整"),
        (10000000001, "壹亿圆零壹分"),
        (100000000000, "壹拾亿圆整"),
        (999_999_999_999, "玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖圆玖角玖分"),
        (MAX_CAPITALS_FEN, "玖仟玖佰玖拾玖亿玖仟玖佰玖拾玖万玖仟玖佰玖拾玖圆玖角玖分"),
    ],
)
def test_inv_req_16_amount_in_capitals_vectors(fen: int, text: str) -> None:
    assert amount_in_capitals(fen) == text


@pytest.mark.parametrize(
    ("fen", "text"),
    [
        # esign.md §5: cn2an's contract wording, reproduced with 元 and no 整 after 角
        (123456, "壹仟贰佰叁拾肆元伍角陆分"),
        (10, "壹角"),
        (10000, "壹佰元整"),
        (1000, "壹拾元整"),
        (100100, "壹仟零壹元整"),
        (101000, "壹仟零壹拾元整"),
        (1000000001, "壹仟万元零壹分"),
        (10000050, "壹拾万元伍角"),
        (0, "零元整"),
        (101, "壹元零壹分"),
    ],
)
def test_amount_in_capitals_contract_style(fen: int, text: str) -> None:
    assert amount_in_capitals(fen, yuan_char="元", zheng_after_jiao=False) == text


def test_amount_in_capitals_source_preview_amount() -> None:
    """The source's preview shows ¥0.10 with 壹角 (OCR); the reference rule adds 整 after 角."""
    assert amount_in_capitals(10) == "壹角整"
    assert amount_in_capitals(10, zheng_after_jiao=False) == "壹角"


@pytest.mark.parametrize("fen", [MAX_CAPITALS_FEN + 1, -(MAX_CAPITALS_FEN + 1), MAX_FEN])
def test_amount_in_capitals_refuses_out_of_range(fen: int) -> None:
    with pytest.raises(MoneyError) as info:
        amount_in_capitals(fen)
    assert info.value.code == "InvalidParameterValue.Amount"


@pytest.mark.parametrize("value", [1.5, "12", Decimal("1.00"), True])
def test_amount_in_capitals_refuses_non_int(value: object) -> None:
    with pytest.raises(MoneyError):
        amount_in_capitals(value)  # type: ignore[arg-type]


def test_amount_in_capitals_refuses_unknown_unit() -> None:
    with pytest.raises(ValueError):
        amount_in_capitals(100, yuan_char="块")


# A small independent reader of capitals, strict enough to catch malformed output.
_DIGIT = {c: i for i, c in enumerate("零壹贰叁肆伍陆柒捌玖")}
_PLACE = {"拾": 10, "佰": 100, "仟": 1000}


def _read_group(text: str) -> int:
    value, i = 0, 0
    while i < len(text):
        ch = text[i]
        if ch == "零":
            assert i + 1 < len(text) and text[i + 1] != "零", f"bad 零 in {text!r}"
            i += 1
            continue
        digit = _DIGIT[ch]
        assert digit, f"bad digit in {text!r}"
        place = _PLACE.get(text[i + 1], 1) if i + 1 < len(text) else 1
        value += digit * place
        i += 2 if place > 1 else 1
    return value


def _read_yuan(text: str) -> int:
    total = 0
    for unit, factor in (("亿", 10**8), ("万", 10**4)):
        if unit in text:
            head, text = text.split(unit, 1)
            total += _read_group(head) * factor
    return total + _read_group(text)


def read_capitals(text: str, yuan_char: str = "圆") -> int:
    negative = text.startswith("（负数）")
    if negative:
        text = text[len("（负数）") :]
    fen = 0
    if yuan_char in text:
        head, text = text.split(yuan_char, 1)
        fen = 0 if head == "零" else _read_yuan(head) * 100
        assert (head and not head.startswith("零")) or head == "零", head
    if text.startswith("零"):
        text = text[1:]
    if "角" in text:
        head, text = text.split("角", 1)
        fen += _DIGIT[head] * 10
    if "分" in text:
        head, text = text.split("分", 1)
        fen += _DIGIT[head]
    assert text in ("", "整"), f"trailing {text!r}"
    return -fen if negative else fen


@given(st.one_of(capital_fens, zeroish_fens, zeroish_fens.map(lambda f: -f)))
@example(0)
@example(10000100000)
@example(-MAX_CAPITALS_FEN)
def test_inv_req_16_capitals_round_trip(fen: int) -> None:
    assert read_capitals(amount_in_capitals(fen)) == fen
    contract = amount_in_capitals(fen, yuan_char="元", zheng_after_jiao=False)
    assert read_capitals(contract, yuan_char="元") == fen


@given(st.one_of(capital_fens, zeroish_fens, zeroish_fens.map(lambda f: -f)))
def test_capitals_follow_the_writing_rules(fen: int) -> None:
    text = amount_in_capitals(fen)
    body = text.removeprefix("（负数）")
    assert text.startswith("（负数）") == (fen < 0)
    assert (abs(fen) % 10 == 0) == body.endswith("整")  # 整 iff no 分
    assert not body.endswith("分整")  # never 整 after 分
    assert "零零" not in body
    assert not body.startswith("零") or body == "零圆整"
    assert "零圆" not in body or body == "零圆整"
    assert set(body) <= set("零壹贰叁肆伍陆柒捌玖拾佰仟万亿圆角分整")


def _cn2an_invoice_form(fen: int) -> str:
    """cn2an's rmb mode turned into the invoice form, per einvoice.md §3.4's list of fixes."""
    text = cn2an.an2cn(format_yuan(fen), "rmb").replace("元", "圆")
    if text.startswith("负"):
        text = "（负数）" + text[1:]
    if text.endswith("角"):
        text += "整"
    return text


def _skips_a_whole_group(fen: int) -> bool:
    """1,0000,1000 yuan: cn2an writes 壹亿壹仟, we write 壹亿零壹仟 (both allowed by 第52条)."""
    yuan = abs(fen) // 100
    return yuan >= 10**8 and yuan // 10**4 % 10**4 == 0 and yuan % 10**4 >= 1000


@settings(deadline=None)  # cn2an builds its tables lazily on the first call
@given(st.one_of(capital_fens, zeroish_fens, zeroish_fens.map(lambda f: -f)))
@example(10000100000)
@example(-123456)
def test_capitals_agree_with_cn2an_where_the_reference_says_so(fen: int) -> None:
    ours = amount_in_capitals(fen)
    if _skips_a_whole_group(fen):
        assert ours.replace("亿零", "亿") == _cn2an_invoice_form(fen)
    else:
        assert ours == _cn2an_invoice_form(fen)


@pytest.mark.parametrize("fen", [123456, 10, 10000, 100100, 1000000001, 10000050, 0])
def test_contract_style_is_exactly_cn2an(fen: int) -> None:
    """esign.md §5: contracts may keep cn2an's wording; ours reproduces it without the library."""
    expected = cn2an.an2cn(format_yuan(fen), "rmb")
    assert amount_in_capitals(fen, yuan_char="元", zheng_after_jiao=False) == expected
