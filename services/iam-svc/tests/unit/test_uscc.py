"""Unified social credit code validation (ACC-REQ-1, GB 32100-2015)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from iam_svc.accounts import (
    USCC_ERROR_CODE,
    UsccError,
    is_valid_uscc,
    normalize_uscc,
    uscc_check_character,
    validate_uscc,
)
from iam_svc.accounts.uscc import ALPHABET, WEIGHTS

# reference/einvoice.md §1.2: real codes, plus two synthetic letter-led ones that
# python-stdnum wrongly rejects.
VALID = [
    "91110000600037341L",
    "9144030071526726XG",
    "91440300708461136T",
    "914403001922038216",
    "91110000802100433B",
    "91330000142942095H",
    "913205830880018839",
    "91440101MA5APD8X8J",
    "N2330102MA2B123436",
    "Y1110000500001237W",
]

UPPER_AND_DIGITS = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def test_acc_req_1_weights_and_alphabet_follow_the_standard() -> None:
    assert WEIGHTS == (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)
    assert len(ALPHABET) == 31
    assert not set("IOSVZ") & set(ALPHABET)


@pytest.mark.parametrize("code", VALID)
def test_acc_req_1_uscc_accepts_every_reference_vector(code: str) -> None:
    assert validate_uscc(code) == code
    assert is_valid_uscc(code)
    assert uscc_check_character(code[:17]) == code[17]


def test_acc_req_1_uscc_accepts_letter_led_codes_that_stdnum_rejects() -> None:
    assert validate_uscc("N2330102MA2B123436") == "N2330102MA2B123436"
    assert validate_uscc("Y1110000500001237W") == "Y1110000500001237W"
    assert validate_uscc(
        "A1" + "110000" + "MA5APD8X8" + uscc_check_character("A1110000MA5APD8X8")
    ).startswith("A1")


@pytest.mark.parametrize(
    ("raw", "normalized"),
    [
        ("9144030071526726xg", "9144030071526726XG"),
        ("  9144030071526726XG\n", "9144030071526726XG"),
        ("914403-007152-6726XG", "9144030071526726XG"),
        ("9144 0300 7152 6726 XG", "9144030071526726XG"),
        ("９１４４０３００７１５２６７２６ＸＧ", "9144030071526726XG"),  # full-width input
    ],
)
def test_acc_req_1_uscc_normalises_harmless_input_variations(raw: str, normalized: str) -> None:
    assert normalize_uscc(raw) == normalized
    assert validate_uscc(raw) == normalized


@pytest.mark.parametrize(
    ("code", "reason", "message"),
    [
        ("9144030071526726XH", "checksum", "wrong check character"),
        ("9144030071526726IG", "format", "character 17 ('I') is not allowed"),
        ("12345", "length", "must be 18 characters, got 5"),
        ("", "length", "must be 18 characters, got 0"),
        ("9144030071526726XG0", "length", "got 19"),
        ("91A4030071526726XG", "format", "character 3 ('A') must be a digit"),
        ("O144030071526726XG", "format", "character 1 ('O') is not allowed"),
        ("9144030071526726X!", "format", "character 18 ('!') is not allowed"),
    ],
)
def test_acc_req_1_uscc_rejects_invalid_codes_with_a_clear_error(
    code: str, reason: str, message: str
) -> None:
    with pytest.raises(UsccError) as caught:
        validate_uscc(code)
    assert caught.value.code == USCC_ERROR_CODE == "InvalidParameterValue.UnifiedSocialCreditCode"
    assert caught.value.reason == reason
    assert message in caught.value.message
    assert not is_valid_uscc(code)


def test_acc_req_1_uscc_rejects_non_strings() -> None:
    with pytest.raises(UsccError, match="must be a string"):
        validate_uscc(9144030071526726)  # type: ignore[arg-type]
    assert not is_valid_uscc(None)


@pytest.mark.parametrize("code", VALID)
def test_acc_req_1_uscc_rejects_corrupted_code(code: str) -> None:
    """Every single-character change of a valid code is rejected."""
    corrupted = 0
    for position in range(18):
        for replacement in UPPER_AND_DIGITS:
            if replacement == code[position]:
                continue
            changed = code[:position] + replacement + code[position + 1 :]
            assert not is_valid_uscc(changed), changed
            corrupted += 1
    assert corrupted == 18 * 35


@pytest.mark.parametrize("code", VALID)
def test_acc_req_1_uscc_rejects_adjacent_swaps_in_the_body(code: str) -> None:
    for position in range(16):
        a, b = code[position], code[position + 1]
        if a == b:
            continue
        swapped = code[:position] + b + a + code[position + 2 :]
        assert not is_valid_uscc(swapped), swapped


body_char = st.sampled_from(ALPHABET)
digit = st.sampled_from("0123456789")


@st.composite
def generated_codes(draw: st.DrawFn) -> str:
    first17 = (
        draw(st.text(body_char, min_size=2, max_size=2))
        + draw(st.text(digit, min_size=6, max_size=6))
        + draw(st.text(body_char, min_size=9, max_size=9))
    )
    return first17 + uscc_check_character(first17)


@settings(max_examples=300, deadline=None)
@given(code=generated_codes(), position=st.integers(0, 17), replacement=body_char)
def test_acc_req_1_uscc_any_well_formed_code_validates_and_any_one_change_is_caught(
    code: str, position: int, replacement: str
) -> None:
    assert validate_uscc(code) == code
    assert validate_uscc(code.lower()) == code
    if replacement != code[position]:
        assert not is_valid_uscc(code[:position] + replacement + code[position + 1 :])
