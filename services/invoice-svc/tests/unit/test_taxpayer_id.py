"""Taxpayer ids of buyers (reference/einvoice.md §1): USCC check character, legacy lengths."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st
from invoice_svc.titles.taxpayer_id import (
    ALPHABET,
    TaxpayerIdInvalid,
    is_valid_resident_id,
    is_valid_uscc,
    uscc_check_char,
    validate_taxpayer_id,
)

VALID = ["91110000600037341L", "9144030071526726XG", "91440300708461136T",
         "914403001922038216", "91110000802100433B", "91330000142942095H",
         "913205830880018839", "91440101MA5APD8X8J",
         # letter-led codes (python-stdnum wrongly refuses these)
         "N2330102MA2B123436", "Y1110000500001237W"]


@pytest.mark.parametrize("code", VALID)
def test_known_usccs_are_valid(code: str) -> None:
    assert is_valid_uscc(code)
    assert validate_taxpayer_id(code) == code


@pytest.mark.parametrize("code", ["9144030071526726XH", "9144030071526726IG", "12345",
                                  "91440300-7152672-6XH", "ABCDEFGHJKLMNPQRTU"])
def test_bad_usccs_are_refused(code: str) -> None:
    with pytest.raises(TaxpayerIdInvalid):
        validate_taxpayer_id(code)


def test_the_message_names_the_expected_check_character() -> None:
    with pytest.raises(TaxpayerIdInvalid, match="应为 G"):
        validate_taxpayer_id("9144030071526726XH")


def test_spaces_hyphens_and_case_are_compacted() -> None:
    assert validate_taxpayer_id(" 9144 0300-7152 6726xg ") == "9144030071526726XG"


@pytest.mark.parametrize("code", ["440300708461136", "44030070846113612", "44030019800101123412"])
def test_legacy_lengths_are_accepted_without_a_checksum(code: str) -> None:
    assert validate_taxpayer_id(code) == code


@pytest.mark.parametrize("code", ["4403007084611", "4403007084611361", "4403007084611361234",
                                  "44030070846113612345X", "44030070846113!"])
def test_other_lengths_and_characters_are_refused(code: str) -> None:
    with pytest.raises(TaxpayerIdInvalid):
        validate_taxpayer_id(code)


def test_an_eighteen_character_resident_id_is_a_legacy_taxpayer_id() -> None:
    assert is_valid_resident_id("11010519491231002X")
    assert validate_taxpayer_id("11010519491231002X") == "11010519491231002X"
    assert not is_valid_resident_id("110105194912310021")


first17 = st.tuples(st.text(ALPHABET, min_size=2, max_size=2),
                    st.text("0123456789", min_size=6, max_size=6),
                    st.text(ALPHABET, min_size=9, max_size=9)).map("".join)


@given(first17)
def test_property_the_computed_check_character_always_validates(prefix: str) -> None:
    assert is_valid_uscc(prefix + uscc_check_char(prefix))


@given(first17, st.integers(0, 16), st.integers(1, 30))
def test_property_any_single_character_change_is_caught(prefix: str, where: int,
                                                        shift: int) -> None:
    code = prefix + uscc_check_char(prefix)
    alphabet = "0123456789" if 2 <= where <= 7 else ALPHABET
    old = code[where]
    new = alphabet[(alphabet.index(old) + shift) % len(alphabet)]
    if new == old:
        return
    changed = code[:where] + new + code[where + 1:]
    assert not is_valid_uscc(changed)
