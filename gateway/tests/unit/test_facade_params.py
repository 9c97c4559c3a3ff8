"""API 3.0 <-> REST parameter translation: GET flattening (checked against the official SDK's
own ``_format_params`` + ``urlencode`` when ``tencentcloud-sdk-python-common`` is installed),
and PascalCase <-> snake_case keys."""

from __future__ import annotations

import random
import string
from typing import Any
from urllib.parse import urlencode

import pytest
from gateway.facade import (
    ParamError,
    flatten_params,
    parse_query,
    pascal_to_snake,
    snake_to_pascal,
    to_api3,
    to_query,
    to_rest,
    unflatten_query,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

# --------------------------------------------------------------------------- unflatten


def test_unflatten_reference_example():
    pairs = parse_query("Filters.0.Name=status&Filters.0.Values.0=a&Filters.0.Values.1=b")
    assert unflatten_query(pairs) == {"Filters": [{"Name": "status", "Values": ["a", "b"]}]}


def test_unflatten_mixed_example_keeps_strings():
    pairs = [("Filters.0.Name", "x"), ("Filters.0.Values.0", "y"), ("Limit", "10")]
    assert unflatten_query(pairs) == {"Filters": [{"Name": "x", "Values": ["y"]}], "Limit": "10"}


def test_unflatten_orders_lists_by_index_not_arrival():
    pairs = [("Ids.2", "c"), ("Ids.0", "a"), ("Ids.10", "k")] + [
        (f"Ids.{i}", str(i)) for i in (1, 3, 4, 5, 6, 7, 8, 9)
    ]
    assert unflatten_query(pairs)["Ids"] == ["a", "1", "c", "3", "4", "5", "6", "7", "8", "9", "k"]


def test_unflatten_keeps_first_appearance_order_of_names():
    result = unflatten_query([("B", "1"), ("A.Y", "2"), ("C", "3"), ("A.X", "4")])
    assert list(result) == ["B", "A", "C"]
    assert list(result["A"]) == ["Y", "X"]


def test_unflatten_nested_lists_and_empty_values():
    pairs = [("M.0.0", "a"), ("M.0.1", ""), ("M.1.0", "c"), ("Name", "")]
    assert unflatten_query(pairs) == {"M": [["a", ""], ["c"]], "Name": ""}


def test_unflatten_nothing():
    assert unflatten_query([]) == {}
    assert unflatten_query(parse_query("")) == {}


@pytest.mark.parametrize(
    ("pairs", "named"),
    [
        ([("Ids.0", "a"), ("Ids.2", "c")], "Ids.1"),  # gap
        ([("Ids.1", "b")], "Ids.0"),  # does not start at 0
        ([("F.0.V.0", "a"), ("F.0.V.2", "c")], "F.0.V.1"),  # nested gap
        ([("Limit", "1"), ("Limit", "2")], "Limit"),  # duplicate value
        ([("Ids.0", "a"), ("Ids.0", "b")], "Ids.0"),  # duplicate index
        ([("F.0", "a"), ("F.Name", "b")], "F"),  # list index and name mixed
        ([("F.Name", "b"), ("F.0", "a")], "F"),  # ... in either order
        ([("F", "a"), ("F.Name", "b")], "F"),  # value, then container
        ([("F.Name", "b"), ("F", "a")], "F"),  # container, then value
        ([("F.0.N", "b"), ("F.0", "a")], "F.0"),
        ([("F..N", "a")], "F..N"),  # empty segment
        ([(".F", "a")], ".F"),
        ([("F.", "a")], "F."),
        ([("", "a")], "``"),
        ([("Ids.01", "a")], "Ids.01"),  # leading zero
        ([("Ids.0", "a"), ("Ids.00", "b")], "Ids.00"),
        ([("Ids.1234567", "a")], "Ids.1234567"),  # absurd index
        ([("0", "a")], "0"),  # top level must be a name
        ([("0.Name", "a")], "0.Name"),
        ([(".".join(["A"] * 17), "x")], "A.A.A"),  # too deep
    ],
)
def test_unflatten_refusals_name_the_parameter(pairs, named):
    with pytest.raises(ParamError) as info:
        unflatten_query(pairs)
    assert info.value.code == "InvalidParameter"
    assert named.strip("`") in info.value.message


@pytest.mark.parametrize(
    ("pairs", "says"),
    [
        ([("Limit", "1"), ("Limit", "2")], "more than once"),
        ([("F", "a"), ("F.Name", "b")], "both a value and a container"),
        ([("F.0", "a"), ("F.Name", "b")], "mixes list indices and names"),
        ([("Ids.0", "a"), ("Ids.2", "c")], "`Ids.1` is missing"),
    ],
)
def test_unflatten_refusals_say_what_is_wrong(pairs, says):
    with pytest.raises(ParamError, match=says):
        unflatten_query(pairs)


def test_non_ascii_digits_are_names_not_indices():
    assert unflatten_query([("F.\u0661", "a")]) == {"F": {"\u0661": "a"}}


def test_parse_query_decodes_like_the_sdk_encodes():
    assert parse_query("Name=%E5%90%88%E5%90%8C+A&Empty=&Bare&Amp=%26%3D") == [
        ("Name", "合同 A"),
        ("Empty", ""),
        ("Bare", ""),
        ("Amp", "&="),
    ]


def test_parse_query_refuses_invalid_utf8():
    with pytest.raises(ParamError) as info:
        parse_query("Name=%FF")
    assert info.value.code == "InvalidParameter"


# --------------------------------------------------------------------------- flatten


def test_flatten_reference_examples():
    params = {"Filters": [{"Name": "status", "Values": ["a", "b"]}]}
    assert to_query(params) == "Filters.0.Name=status&Filters.0.Values.0=a&Filters.0.Values.1=b"
    assert to_query({"Offset": 0, "Limit": 20, "Name": "合同 A"}) == (
        "Offset=0&Limit=20&Name=%E5%90%88%E5%90%8C+A"
    )


def test_flatten_spells_scalars_as_the_sdk_does():
    params = {"A": True, "B": None, "C": [], "D": {}, "E": 1.5, "F": ("x", None, "y"), "G": ""}
    assert flatten_params(params) == [
        ("A", "True"),
        ("E", "1.5"),
        ("F.0", "x"),
        ("F.2", "y"),
        ("G", ""),
    ]


@pytest.mark.parametrize(
    "params",
    [{"A.B": "x"}, {"A": {"0": "x"}}, {"": "x"}, {1: "x"}, {"A": b"raw"}, {"A": [{"B.C": 1}]}],
)
def test_flatten_refuses_what_would_read_back_differently(params):
    with pytest.raises(ParamError):
        flatten_params(params)


# Structures the GET style can carry: string leaves, Pascal names, no empty containers.


def _word(first: str, rest: str, max_rest: int, min_rest: int = 0) -> st.SearchStrategy[str]:
    """Like from_regex(f"[{first}][{rest}]{{min,max}}"), which is far slower to draw from."""
    tail = st.text(alphabet=rest, min_size=min_rest, max_size=max_rest)
    return st.tuples(st.sampled_from(first), tail).map("".join)


_NAME = _word(string.ascii_uppercase, string.ascii_letters + string.digits, 8)
_TREE = st.recursive(
    st.text(max_size=8),
    lambda inner: (
        st.lists(inner, min_size=1, max_size=3)
        | st.dictionaries(_NAME, inner, min_size=1, max_size=3)
    ),
    max_leaves=12,
)
_PARAMS = st.dictionaries(_NAME, _TREE, max_size=5)


@settings(max_examples=200, deadline=None)
@given(_PARAMS, st.randoms(use_true_random=False))
def test_flatten_and_unflatten_are_inverse(params, rnd: random.Random):
    pairs = flatten_params(params)
    assert unflatten_query(pairs) == params
    assert flatten_params(unflatten_query(pairs)) == pairs
    assert unflatten_query(parse_query(to_query(params))) == params
    shuffled = pairs[:]
    rnd.shuffle(shuffled)
    assert unflatten_query(shuffled) == params  # pairs may arrive in any order


@settings(max_examples=100, deadline=None)
@given(_PARAMS, st.data())
def test_dropping_or_repeating_a_pair_is_never_silently_accepted(params, data):
    pairs = flatten_params(params)
    if not pairs:
        return
    i = data.draw(st.integers(0, len(pairs) - 1))
    repeated = [*pairs, pairs[i]]
    with pytest.raises(ParamError):
        unflatten_query(repeated)
    dropped = pairs[:i] + pairs[i + 1 :]
    try:
        result = unflatten_query(dropped)
    except ParamError:
        return  # a list lost an index in the middle
    assert result != params


# The SDK's own flattening, for agreement tests (tencentcloud-sdk-python-common is a test dep).
_SCALAR = st.one_of(
    st.text(max_size=8),
    st.integers(-(2**40), 2**40),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
)
_SDK_PARAMS = st.dictionaries(
    _NAME,
    st.recursive(
        _SCALAR,
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_NAME, inner, max_size=3),
        max_leaves=12,
    ),
    max_size=5,
)


@pytest.fixture(scope="module")
def sdk_client() -> Any:
    from tencentcloud.common import credential
    from tencentcloud.common.common_client import CommonClient

    return CommonClient("svc", "2024-01-01", credential.Credential("id", "key"), "")


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(params=_SDK_PARAMS)
def test_flatten_agrees_with_the_sdk(sdk_client, params):
    sdk_flat = sdk_client._format_params(None, params)
    assert flatten_params(params) == [(k, str(v)) for k, v in sdk_flat.items()]
    assert to_query(params) == urlencode(sdk_flat)  # the SDK's GET query, byte for byte


# --------------------------------------------------------------------------- names

NAMES = [
    ("ContractId", "contract_id"),
    ("SubOrderId", "sub_order_id"),
    ("TaxRate", "tax_rate"),
    ("InvoiceId", "invoice_id"),
    ("RequestId", "request_id"),
    ("Uin", "uin"),
    ("OwnerUin", "owner_uin"),
    ("ClientToken", "client_token"),
    ("ConsumptionRecordIds", "consumption_record_ids"),
    ("Offset", "offset"),
    ("Ipv6Address", "ipv6_address"),
    ("Md5", "md5"),
    ("Sha256Sum", "sha256_sum"),
    ("Address2", "address2"),
    ("XAxis", "x_axis"),
]


@pytest.mark.parametrize(("pascal", "snake"), NAMES)
def test_names_round_trip(pascal, snake):
    assert pascal_to_snake(pascal) == snake
    assert snake_to_pascal(snake) == pascal


@pytest.mark.parametrize(
    ("pascal", "snake", "back"),
    [
        ("URL", "url", "Url"),
        ("DownloadURL", "download_url", "DownloadUrl"),
        ("URLList", "url_list", "UrlList"),
        ("GetBEIANList", "get_beian_list", "GetBeianList"),
        ("ContractID", "contract_id", "ContractId"),
        ("PDFData", "pdf_data", "PdfData"),
    ],
)
def test_acronyms_are_one_word_and_come_back_capitalised(pascal, snake, back):
    assert pascal_to_snake(pascal) == snake
    assert snake_to_pascal(snake) == back


def test_conversions_leave_the_target_style_alone():
    assert pascal_to_snake("contract_id") == "contract_id"
    assert snake_to_pascal("ContractId") == "ContractId"


_WORD = _word(string.ascii_lowercase, string.ascii_lowercase + string.digits, 7, min_rest=1)


@settings(max_examples=200, deadline=None)
@given(st.lists(_WORD, min_size=1, max_size=5))
def test_name_round_trip_property(words):
    snake = "_".join(words)
    pascal = "".join(w.capitalize() for w in words)
    assert snake_to_pascal(snake) == pascal
    assert pascal_to_snake(pascal) == snake


# --------------------------------------------------------------------------- bodies


API3 = {
    "ContractId": "QC-62FC945AA41",
    "Filters": [{"Name": "Status", "Values": ["signed"]}],
    "ConsumptionRecordIds": ["r1", "r2"],
    "Party": {"OwnerUin": "100001", "Contacts": [{"ContactName": "张三", "PhoneNumber": None}]},
    "Limit": 20,
    "Nested": [[{"TaxRate": "0.06"}]],
}
REST = {
    "contract_id": "QC-62FC945AA41",
    "filters": [{"name": "Status", "values": ["signed"]}],
    "consumption_record_ids": ["r1", "r2"],
    "party": {"owner_uin": "100001", "contacts": [{"contact_name": "张三", "phone_number": None}]},
    "limit": 20,
    "nested": [[{"tax_rate": "0.06"}]],
}


def test_to_rest_and_back_convert_keys_at_every_depth_and_leave_values():
    assert to_rest(API3) == REST
    assert to_api3(REST) == API3
    assert to_api3({"items": ({"invoice_id": "i"},)}) == {"Items": [{"InvoiceId": "i"}]}


def test_to_api3_passes_non_containers_through():
    assert to_api3(None) is None
    assert to_api3("x_y") == "x_y"
    assert to_api3([{"a_b": 1}, 2]) == [{"AB": 1}, 2]


def test_overrides_fix_acronym_names():
    body = {"download_url": "https://x", "items": [{"download_url": "y"}]}
    api3 = to_api3(body, overrides={"download_url": "DownloadURL"})
    assert api3 == {"DownloadURL": "https://x", "Items": [{"DownloadURL": "y"}]}
    assert to_rest(api3, overrides={"DownloadURL": "download_url"}) == body
    assert to_rest(api3) == body  # the rule gets this direction right anyway


@pytest.mark.parametrize(
    "params", [{"ContractId": 1, "ContractID": 2}, {"Items": [{"TaxRate": 1, "tax_rate": 2}]}]
)
def test_colliding_keys_are_refused(params):
    with pytest.raises(ParamError) as info:
        to_rest(params)
    assert info.value.code == "InvalidParameter"


@settings(max_examples=100, deadline=None)
@given(st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=5)),
    lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(
        st.lists(_WORD, min_size=1, max_size=3).map("_".join), inner, max_size=3
    ),
    max_leaves=15,
))  # fmt: skip
def test_body_round_trip_property(body):
    wrapped = {"body": body}
    assert to_rest(to_api3(wrapped)) == wrapped
