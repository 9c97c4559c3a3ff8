"""TC3-HMAC-SHA256: golden vectors, agreement with the official SDK, and the verifier's refusals.

Golden vectors: reference/tencent-api-cam.md section 1.4 (produced by tencentcloud-sdk-python-common
3.1.195). The SDK cross-checks use ``tencentcloud-sdk-python-common``, a dev dependency.
"""

from __future__ import annotations

import hmac
import json
import string
from collections.abc import Mapping
from typing import Any
from unittest import mock
from urllib.parse import urlencode

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from kit import tc3
from kit.tc3 import (
    INVALID_AUTHORIZATION,
    INVALID_PARAMETER,
    MISSING_PARAMETER,
    SIGNATURE_EXPIRE,
    SIGNATURE_FAILURE,
    ParsedAuthorization,
    Tc3Error,
)

# --------------------------------------------------------------------------- golden vectors

SECRET_ID = "AKIDEXAMPLE"
SECRET_KEY = "EXAMPLEKEY"
SERVICE = "xxx"
HOST = "127.0.0.1:8000"
TS = 1700000000
DATE = "2023-11-14"
PARAMS = {"Offset": 0, "Limit": 20, "Name": "合同 A"}

POST_BODY = b'{"Offset": 0, "Limit": 20, "Name": "\\u5408\\u540c A"}'
POST_CANONICAL = (
    "POST\n/\n\ncontent-type:application/json\nhost:127.0.0.1:8000\n\ncontent-type;host\n"
    "6ccc9bc08ff3ace20b9e8b2f0c4aff5a4dc8ab249f5450b09eac5e3d195168d9"
)
POST_STS = (
    "TC3-HMAC-SHA256\n1700000000\n2023-11-14/xxx/tc3_request\n"
    "fd919d2cf6331f47c3eabdfc4e09b50fe84f148c1e670b79b43598eceef06284"
)
POST_SIGNATURE = "6f4c0375aa700c9c1eeabf3518fcee5bbb86bb714922f919227d1087915f8033"

GET_QUERY = "Offset=0&Limit=20&Name=%E5%90%88%E5%90%8C+A"
GET_CANONICAL = (
    "GET\n/\nOffset=0&Limit=20&Name=%E5%90%88%E5%90%8C+A\n"
    "content-type:application/x-www-form-urlencoded\nhost:127.0.0.1:8000\n\ncontent-type;host\n"
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
)
GET_STS = (
    "TC3-HMAC-SHA256\n1700000000\n2023-11-14/xxx/tc3_request\n"
    "d62e4a3387dc1335c8abf362a0e043076ab785a3c4c6009f2c9626aa5f617f55"
)
GET_SIGNATURE = "1ad60d744d94873d5f9d1d966ba3da8b64f5097a3e9dcd0395c8858cff21586a"

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"


def authorization(signature: str, signed: str = "content-type;host", date: str = DATE) -> str:
    return (
        f"TC3-HMAC-SHA256 Credential={SECRET_ID}/{date}/{SERVICE}/tc3_request, "
        f"SignedHeaders={signed}, Signature={signature}"
    )


@pytest.mark.parametrize(
    ("method", "content_type", "query", "body", "canonical", "sts", "sig"),
    [
        ("POST", JSON, "", POST_BODY, POST_CANONICAL, POST_STS, POST_SIGNATURE),
        ("GET", FORM, GET_QUERY, b"", GET_CANONICAL, GET_STS, GET_SIGNATURE),
    ],
    ids=["POST", "GET"],
)
def test_golden_vector_byte_for_byte(method, content_type, query, body, canonical, sts, sig):
    headers = {"content-type": content_type, "host": HOST}
    canon_headers = tc3.canonical_headers(headers, tc3.DEFAULT_SIGNED_HEADERS)
    canon = tc3.canonical_request(
        method, "/", query, canon_headers, "content-type;host", tc3.payload_hash(body)
    )
    assert canon == canonical
    assert tc3.scope_date(TS) == DATE
    string_to_sign = tc3.string_to_sign(TS, tc3.credential_scope(DATE, SERVICE), canon)
    assert string_to_sign == sts
    assert tc3.signature(SECRET_KEY, DATE, SERVICE, string_to_sign) == sig

    value = tc3.sign_request(
        SECRET_ID, SECRET_KEY, SERVICE, HOST, method, "/", query,
        {"Content-Type": content_type}, body, TS,
    )  # fmt: skip
    assert value == authorization(sig)


def test_golden_inputs_are_what_the_sdk_serialises():
    assert json.dumps(PARAMS).encode() == POST_BODY
    assert urlencode(PARAMS) == GET_QUERY


@pytest.mark.parametrize(
    ("method", "content_type", "query", "body", "sig"),
    [("POST", JSON, "", POST_BODY, POST_SIGNATURE), ("GET", FORM, GET_QUERY, b"", GET_SIGNATURE)],
    ids=["POST", "GET"],
)
def test_golden_vector_verifies(method, content_type, query, body, sig):
    parsed = tc3.parse_authorization(authorization(sig), timestamp=TS)
    assert parsed == ParsedAuthorization(SECRET_ID, DATE, SERVICE, ("content-type", "host"), sig)
    headers = {"content-type": content_type, "host": HOST}
    tc3.verify(parsed, SECRET_KEY, method, "/", query, headers, body, TS, now=TS)


def test_build_signed_headers_reproduces_the_golden_get_request():
    headers = tc3.build_signed_headers(
        SECRET_ID, SECRET_KEY, SERVICE, HOST, "getContractList", "2024-01-01",
        method="GET", query=GET_QUERY, timestamp=TS, region="ap-guangzhou",
    )  # fmt: skip
    assert headers == {
        "Host": HOST,
        "Content-Type": FORM,
        "X-TC-Action": "GetContractList",
        "X-TC-Timestamp": "1700000000",
        "X-TC-Version": "2024-01-01",
        "X-TC-Region": "ap-guangzhou",
        "X-TC-Language": "zh-CN",
        "Authorization": authorization(GET_SIGNATURE),
    }


# --------------------------------------------------------------------------- a request helper


def signed_request(
    *,
    method: str = "POST",
    body: bytes = POST_BODY,
    query: str = "",
    host: str = HOST,
    ts: int = TS,
    secret_key: str = SECRET_KEY,
    signed_headers: tuple[str, ...] = tc3.DEFAULT_SIGNED_HEADERS,
    **kwargs: Any,
) -> tuple[ParsedAuthorization, dict[str, str]]:
    """Sign with build_signed_headers; return the parsed Authorization and lower-cased headers."""
    headers = tc3.build_signed_headers(
        SECRET_ID, secret_key, SERVICE, host, "GetContractList", "2024-01-01",
        method=method, body=body, query=query, timestamp=ts, signed_headers=signed_headers,
        **kwargs,
    )  # fmt: skip
    lowered = {k.lower(): v for k, v in headers.items()}
    return tc3.parse_authorization(lowered["authorization"]), lowered


def check(
    parsed: ParsedAuthorization,
    headers: Mapping[str, str],
    *,
    method: str = "POST",
    body: bytes = POST_BODY,
    query: str = "",
    ts: int = TS,
    now: int = TS,
    secret_key: str = SECRET_KEY,
    **kwargs: Any,
) -> None:
    tc3.verify(parsed, secret_key, method, "/", query, headers, body, ts, now, **kwargs)


def failure(code: str, fn: Any, *args: Any, **kwargs: Any) -> Tc3Error:
    with pytest.raises(Tc3Error) as info:
        fn(*args, **kwargs)
    assert info.value.code == code, info.value
    return info.value


# --------------------------------------------------------------------------- verifier refusals


def test_wrong_key_fails():
    parsed, headers = signed_request()
    check(parsed, headers)
    failure(SIGNATURE_FAILURE, check, parsed, headers, secret_key="EXAMPLEKEY2")


@pytest.mark.parametrize("position", [0, 10, len(POST_BODY) - 1])
def test_tampered_body_fails(position):
    parsed, headers = signed_request()
    tampered = bytearray(POST_BODY)
    tampered[position] ^= 0x01
    failure(SIGNATURE_FAILURE, check, parsed, headers, body=bytes(tampered))
    failure(SIGNATURE_FAILURE, check, parsed, headers, body=POST_BODY + b" ")


@pytest.mark.parametrize(
    "tampered",
    [
        "Offset=0&Limit=21&Name=%E5%90%88%E5%90%8C+A",  # value changed
        "Limit=20&Offset=0&Name=%E5%90%88%E5%90%8C+A",  # same pairs, other order
        "Offset=0&Limit=20&Name=%E5%90%88%E5%90%8C%20A",  # same decoded value, other encoding
        "Offset=0&Limit=20&Name=%e5%90%88%e5%90%8c+A",  # lower-case escapes
        "Offset=0&Limit=20",  # parameter dropped
        GET_QUERY + "&Extra=1",  # parameter added
        "",
    ],
)
def test_tampered_query_fails(tampered):
    """The raw query string is signed: no re-encoding, no re-ordering."""
    parsed, headers = signed_request(method="GET", body=b"", query=GET_QUERY)
    check(parsed, headers, method="GET", body=b"", query=GET_QUERY)
    failure(SIGNATURE_FAILURE, check, parsed, headers, method="GET", body=b"", query=tampered)


def test_query_on_post_and_body_on_get_are_signed_too():
    """Not an SDK case: nothing the verifier accepts leaves the query or body unsigned."""
    parsed, headers = signed_request(query="DryRun=1")
    check(parsed, headers, query="DryRun=1")
    failure(SIGNATURE_FAILURE, check, parsed, headers, query="")
    parsed, headers = signed_request(method="GET", body=b"", query=GET_QUERY)
    failure(SIGNATURE_FAILURE, check, parsed, headers, method="GET", body=b"x", query=GET_QUERY)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("host", "127.0.0.1:8001"),
        ("host", "evil.example"),
        ("content-type", "application/json; charset=utf-8"),
        ("content-type", FORM),
    ],
)
def test_tampered_signed_header_fails(name, value):
    parsed, headers = signed_request()
    failure(SIGNATURE_FAILURE, check, parsed, {**headers, name: value})


@pytest.mark.parametrize("name", ["host", "content-type"])
def test_signed_header_missing_from_request_fails(name):
    parsed, headers = signed_request()
    del headers[name]
    error = failure(SIGNATURE_FAILURE, check, parsed, headers)
    assert name in error.message


def test_extra_signed_header_is_covered_and_unsigned_ones_are_not():
    parsed, headers = signed_request(signed_headers=("host", "x-tc-action", "content-type"))
    assert parsed.signed_headers == ("content-type", "host", "x-tc-action")  # sorted by signer
    check(parsed, headers)
    failure(SIGNATURE_FAILURE, check, parsed, {**headers, "x-tc-action": "CancelContract"})
    del headers["x-tc-action"]
    failure(SIGNATURE_FAILURE, check, parsed, headers)

    # What the SDK signs (content-type;host) does not cover X-TC-Action: TLS must protect it.
    parsed, headers = signed_request()
    check(parsed, {**headers, "x-tc-action": "CancelContract", "x-tc-version": "1999-01-01"})


def test_signed_headers_are_used_in_the_order_the_request_lists():
    order = ("host", "content-type")
    headers = {"content-type": JSON, "host": HOST}
    canon = tc3.canonical_request(
        "POST", "/", "", tc3.canonical_headers(headers, order), "host;content-type",
        tc3.payload_hash(POST_BODY),
    )  # fmt: skip
    sig = tc3.signature(
        SECRET_KEY, DATE, SERVICE, tc3.string_to_sign(TS, f"{DATE}/{SERVICE}/tc3_request", canon)
    )
    parsed = tc3.parse_authorization(authorization(sig, "host;content-type"))
    check(parsed, headers)
    reordered = tc3.parse_authorization(authorization(sig, "content-type;host"))
    failure(SIGNATURE_FAILURE, check, reordered, headers)


# --------------------------------------------------------------------------- header value forms


def test_upper_case_host_verifies_as_the_sdk_signs_it():
    """The SDK signs Host verbatim (``LOCALHOST:8000`` stays upper case)."""
    parsed, headers = signed_request(host="Contract.Example.COM:8000")
    assert tc3.canonical_headers(headers, ("host",)) == "host:Contract.Example.COM:8000\n"
    check(parsed, headers)


def test_lower_cased_values_as_documented_also_verify():
    """Tencent's documentation lower-cases values; a client that does so is accepted too."""
    received = {"content-type": JSON, "host": "Contract.Example.COM:8000"}
    canon = tc3.canonical_request(
        "POST", "/", "", tc3.canonical_headers(received, ("content-type", "host"), normalise=True),
        "content-type;host", tc3.payload_hash(POST_BODY),
    )  # fmt: skip
    assert "host:contract.example.com:8000\n" in canon
    sig = tc3.signature(
        SECRET_KEY, DATE, SERVICE, tc3.string_to_sign(TS, f"{DATE}/xxx/tc3_request", canon)
    )
    check(tc3.parse_authorization(authorization(sig)), received)


def test_other_case_variants_of_a_value_fail():
    parsed, headers = signed_request(host="Contract.Example.COM:8000")
    failure(SIGNATURE_FAILURE, check, parsed, {**headers, "host": "contract.Example.COM:8000"})
    failure(SIGNATURE_FAILURE, check, parsed, {**headers, "host": "CONTRACT.EXAMPLE.COM:8000"})


def test_received_values_are_trimmed():
    parsed, headers = signed_request()
    check(parsed, {**headers, "host": f"  {HOST}\t", "content-type": f" {JSON} "})


# --------------------------------------------------------------------------- clock window


@pytest.mark.parametrize(
    ("skew", "ok"),
    [(-301, False), (-300, True), (-299, True), (0, True), (299, True), (300, True), (301, False)],
)
def test_clock_window_edges(skew, ok):
    """``skew`` = server clock minus timestamp; negative means a timestamp from the future."""
    parsed, headers = signed_request()
    if ok:
        check(parsed, headers, now=TS + skew)
    else:
        error = failure(SIGNATURE_EXPIRE, check, parsed, headers, now=TS + skew)
        assert "300" in error.message


def test_expiry_is_checked_before_the_signature():
    parsed, headers = signed_request()
    failure(SIGNATURE_EXPIRE, check, parsed, headers, now=TS + 301, secret_key="wrong")


@pytest.mark.parametrize(("skew", "ok"), [(10, True), (11, False), (-10, True), (-11, False)])
def test_custom_window(skew, ok):
    parsed, headers = signed_request()
    if ok:
        check(parsed, headers, now=TS + skew, window=10)
    else:
        failure(SIGNATURE_EXPIRE, check, parsed, headers, now=TS + skew, window=10)


def test_scope_date_is_the_timestamps_utc_date_not_the_servers():
    just_before_midnight = 1700006399  # 2023-11-14T23:59:59Z
    parsed, headers = signed_request(ts=just_before_midnight)
    assert parsed.date == "2023-11-14"
    check(parsed, headers, ts=just_before_midnight, now=just_before_midnight + 120)
    parsed, _ = signed_request(ts=just_before_midnight + 1)
    assert parsed.date == "2023-11-15"


def test_scope_date_mismatch_is_invalid_authorization():
    parsed, headers = signed_request()
    other_day = ParsedAuthorization(
        parsed.secret_id, "2023-11-15", parsed.service, parsed.signed_headers, parsed.signature
    )
    failure(INVALID_AUTHORIZATION, check, other_day, headers)
    failure(
        INVALID_AUTHORIZATION,
        tc3.parse_authorization,
        authorization("a" * 64, date="2023-11-15"),
        TS,
    )
    assert tc3.parse_authorization(authorization("a" * 64), TS).date == DATE


# --------------------------------------------------------------------------- unsigned payload


def test_unsigned_payload_is_refused_unless_allowed():
    parsed, headers = signed_request(unsigned_payload=True)
    assert headers["x-tc-content-sha256"] == "UNSIGNED-PAYLOAD"
    failure(SIGNATURE_FAILURE, check, parsed, headers)
    check(parsed, headers, allow_unsigned_payload=True)
    check(parsed, headers, body=b"anything", allow_unsigned_payload=True)
    # The header is not signed, but adding or removing it changes the payload hash.
    signed_parsed, signed_headers = signed_request()
    marked = {**signed_headers, "x-tc-content-sha256": "UNSIGNED-PAYLOAD"}
    failure(SIGNATURE_FAILURE, check, signed_parsed, marked, allow_unsigned_payload=True)
    del headers["x-tc-content-sha256"]
    failure(SIGNATURE_FAILURE, check, parsed, headers)


# --------------------------------------------------------------------------- mechanics


def test_signing_key_is_cached_and_used_by_verify():
    tc3.signing_key.cache_clear()
    parsed, headers = signed_request()
    assert tc3.signing_key.cache_info().misses == 1
    check(parsed, headers)
    check(parsed, headers)
    info = tc3.signing_key.cache_info()
    assert (info.misses, info.hits) == (1, 2)
    assert tc3.signing_key.cache_info().maxsize is not None  # bounded (LRU)


def test_signature_is_compared_in_constant_time(monkeypatch):
    calls = []
    original = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return original(a, b)

    parsed, headers = signed_request()
    monkeypatch.setattr(tc3.hmac, "compare_digest", spy)
    check(parsed, headers)
    assert calls == [(parsed.signature.encode(), parsed.signature.encode())]


def test_upper_case_signature_hex_is_accepted():
    parsed, headers = signed_request()
    value = authorization(parsed.signature.upper())
    check(tc3.parse_authorization(value), headers)


def test_sign_request_needs_every_signed_header():
    with pytest.raises(ValueError, match="content-type"):
        tc3.sign_request(SECRET_ID, SECRET_KEY, SERVICE, HOST, "POST", "/", "", {}, b"", TS)


@pytest.mark.parametrize(
    ("value", "expected"), [("1700000000", 1700000000), ("0", 0), ("999999999999", 999999999999)]
)
def test_parse_timestamp(value, expected):
    assert tc3.parse_timestamp(value) == expected


@pytest.mark.parametrize("value", [None, ""])
def test_parse_timestamp_missing(value):
    failure(MISSING_PARAMETER, tc3.parse_timestamp, value)


@pytest.mark.parametrize(
    "value", ["+1700000000", "01700000000", "1700000000.0", " 1700000000", "1e9", "-1", "abc",
              "1700000000\n", "١٧٠٠", "1" * 13]
)  # fmt: skip
def test_parse_timestamp_refuses_non_canonical_forms(value):
    failure(INVALID_PARAMETER, tc3.parse_timestamp, value)


# --------------------------------------------------------------------------- malformed headers

VALID = authorization(POST_SIGNATURE)
SIG = POST_SIGNATURE
MANY_NAMES = ";".join(f"x-h{i}" for i in range(40))


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        " ",
        "TC3-HMAC-SHA256",
        "TC3-HMAC-SHA256 ",
        "SKIP",
        "Bearer abc",
        "tc3-hmac-sha256 " + VALID.split(" ", 1)[1],
        "HMAC-SHA256 " + VALID.split(" ", 1)[1],
        "TC3-HMAC-SHA1 " + VALID.split(" ", 1)[1],
        " " + VALID,
        VALID.replace(" ", "\t", 1),
        VALID.replace("Credential=", "Credential:"),
        VALID.replace("Credential=", "credential="),
        VALID.replace("SignedHeaders=", "Signedheaders="),
        VALID + ",",
        VALID + ", Signature=" + SIG,
        VALID + ", Extra=1",
        f"TC3-HMAC-SHA256 SignedHeaders=content-type;host, Signature={SIG}",
        f"TC3-HMAC-SHA256 Credential=AKIDEXAMPLE/2023-11-14/xxx/tc3_request, Signature={SIG}",
        "TC3-HMAC-SHA256 Credential=AKIDEXAMPLE/2023-11-14/xxx/tc3_request, SignedHeaders=host",
        VALID.replace("/tc3_request", "/tc3_requests"),
        VALID.replace("/tc3_request", "/aws4_request"),
        VALID.replace("/tc3_request", ""),
        VALID.replace("/tc3_request", "/tc3_request/x"),
        VALID.replace("AKIDEXAMPLE/", "/"),
        VALID.replace("AKIDEXAMPLE/", "AK ID/"),
        VALID.replace("AKIDEXAMPLE/", "AKID\u00e9/"),
        VALID.replace("/xxx/", "//"),
        VALID.replace("/xxx/", "/x x/"),
        VALID.replace("2023-11-14", "2023-13-01"),
        VALID.replace("2023-11-14", "2023-11-1"),
        VALID.replace("2023-11-14", "2023-02-30"),
        VALID.replace("2023-11-14", "20231114"),
        VALID.replace("2023-11-14", "２０２３-11-14"),
        VALID.replace("content-type;host", "host"),
        VALID.replace("content-type;host", "content-type"),
        VALID.replace("content-type;host", ""),
        VALID.replace("content-type;host", "content-type;;host"),
        VALID.replace("content-type;host", "content-type;host;"),
        VALID.replace("content-type;host", "content-type;host;host"),
        VALID.replace("content-type;host", "Content-Type;Host"),
        VALID.replace("content-type;host", "content-type; host"),
        VALID.replace("content-type;host", "content-type;host;" + MANY_NAMES),
        VALID.replace(SIG, SIG[:-1]),
        VALID.replace(SIG, SIG + "0"),
        VALID.replace(SIG, "g" * 64),
        VALID.replace(SIG, ""),
        VALID + " " * 5000,
    ],
)  # fmt: skip
def test_malformed_authorization_is_invalid_authorization(value):
    failure(INVALID_AUTHORIZATION, tc3.parse_authorization, value)


@pytest.mark.parametrize(
    "value",
    [
        VALID,
        VALID.replace(", ", ","),
        VALID.replace(", ", ",   "),
        VALID.replace("TC3-HMAC-SHA256 ", "TC3-HMAC-SHA256   "),
        f"TC3-HMAC-SHA256 Signature={SIG}, SignedHeaders=content-type;host, "
        f"Credential={SECRET_ID}/{DATE}/{SERVICE}/tc3_request",
        VALID + " ",
    ],
)
def test_tolerated_spellings_parse_the_same(value):
    assert tc3.parse_authorization(value) == tc3.parse_authorization(VALID)


def _mutate(data: st.DataObject, value: str) -> str:
    ops = data.draw(
        st.lists(st.sampled_from(["insert", "delete", "replace"]), min_size=1, max_size=4)
    )
    for op in ops:
        i = data.draw(st.integers(0, len(value)))
        char = data.draw(st.characters(exclude_categories=()))
        if op == "insert":
            value = value[:i] + char + value[i:]
        elif op == "delete":
            value = value[:i] + value[i + 1 :]
        else:
            value = value[:i] + char + value[i + 1 :]
    return value


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet=st.characters(exclude_categories=())))
def test_fuzz_arbitrary_text_only_raises_tc3_error(value):
    try:
        tc3.parse_authorization(value)
    except Tc3Error as exc:
        assert exc.code == INVALID_AUTHORIZATION


_FIELD = st.one_of(
    st.sampled_from(["Credential", "SignedHeaders", "Signature", "", "credential", " "]),
    st.text(max_size=12),
)
_VALUE = st.one_of(
    st.sampled_from([f"{SECRET_ID}/{DATE}/{SERVICE}/tc3_request", "content-type;host", SIG, ""]),
    st.text(alphabet=string.printable + "/;=,\u00e9\u4e2d", max_size=40),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_fuzz_mutated_and_recombined_headers_only_raise_tc3_error(data):
    if data.draw(st.booleans()):
        value = _mutate(data, VALID)
    else:
        pairs = data.draw(st.lists(st.tuples(_FIELD, _VALUE), max_size=5))
        sep = data.draw(st.sampled_from([", ", ",", " ,", ";"]))
        value = data.draw(st.sampled_from(["TC3-HMAC-SHA256 ", "TC3-HMAC-SHA256", ""])) + sep.join(
            f"{k}={v}" for k, v in pairs
        )
    ts = data.draw(st.one_of(st.none(), st.integers(-(2**70), 2**70)))
    try:
        parsed = tc3.parse_authorization(value, ts)
    except Tc3Error as exc:
        assert exc.code == INVALID_AUTHORIZATION
        return
    assert isinstance(parsed, ParsedAuthorization)
    assert {"content-type", "host"} <= set(parsed.signed_headers)
    assert len(parsed.signature) == 64


@settings(max_examples=200, deadline=None)
@given(
    data=st.data(),
    method=st.sampled_from(["GET", "POST", "PUT", "", "get"]),
    path=st.text(max_size=10),
    query=st.text(alphabet=st.characters(exclude_categories=()), max_size=30),
    body=st.binary(max_size=40),
    header_values=st.dictionaries(
        st.sampled_from(["content-type", "host", "x-tc-action", "x-tc-content-sha256", "other"]),
        st.text(alphabet=st.characters(exclude_categories=()), max_size=20),
    ),
    ts=st.integers(-(2**70), 2**70),
    now=st.integers(-(2**70), 2**70),
    key=st.text(alphabet=st.characters(exclude_categories=()), max_size=10),
)
def test_fuzz_verify_only_raises_tc3_error(
    data, method, path, query, body, header_values, ts, now, key
):
    value = _mutate(data, VALID) if data.draw(st.booleans()) else VALID
    try:
        parsed = tc3.parse_authorization(value)
    except Tc3Error:
        parsed = tc3.parse_authorization(VALID)
    if data.draw(st.booleans()):
        now = ts + data.draw(st.integers(-300, 300))
    try:
        tc3.verify(parsed, key, method, path, query, header_values, body, ts, now)
    except Tc3Error as exc:
        assert exc.code in (INVALID_AUTHORIZATION, SIGNATURE_EXPIRE, SIGNATURE_FAILURE)


# --------------------------------------------------------------------------- the official SDK


def sdk_build(
    *,
    method: str,
    secret_id: str,
    secret_key: str,
    service: str,
    host: str,
    action: str,
    params: Any,
    ts: int,
    region: str = "",
    token: str | None = None,
    language: str = "zh-CN",
    unsigned_payload: bool = False,
) -> tuple[dict[str, str], str | bytes]:
    """The request the SDK would send: headers and ``req.data`` (GET: query, POST: body)."""
    from tencentcloud.common import credential
    from tencentcloud.common.common_client import CommonClient
    from tencentcloud.common.http.request import RequestInternal
    from tencentcloud.common.profile.client_profile import ClientProfile
    from tencentcloud.common.profile.http_profile import HttpProfile

    profile = ClientProfile(
        httpProfile=HttpProfile(protocol="http", endpoint=host, reqMethod=method),
        language=language,
    )
    profile.unsignedPayload = unsigned_payload
    client = CommonClient(
        service, "2024-01-01", credential.Credential(secret_id, secret_key, token), region, profile
    )
    req = RequestInternal(host, method, "/", header={})
    with mock.patch("tencentcloud.common.abstract_client.time.time", return_value=ts + 0.75):
        client._build_req_inter(action, params, req)
    return dict(req.header), req.data


def _word(first: str, rest: str, max_rest: int) -> st.SearchStrategy[str]:
    """Like from_regex(f"[{first}][{rest}]{{0,max}}"), which is far slower to draw from."""
    return st.tuples(st.sampled_from(first), st.text(alphabet=rest, max_size=max_rest)).map("".join)


_ALNUM = string.ascii_letters + string.digits
_KEY_TEXT = st.text(min_size=1, max_size=30).filter(lambda s: s.strip() == s and s.strip() != "")
_SCALAR = st.one_of(
    st.integers(-(2**40), 2**40), st.text(max_size=12), st.booleans(), st.none(),
    st.floats(allow_nan=False, allow_infinity=False),
)  # fmt: skip
_PARAMS = st.dictionaries(
    _word(string.ascii_uppercase, _ALNUM, 10),
    st.recursive(
        _SCALAR,
        lambda inner: (
            st.lists(inner, max_size=3)
            | st.dictionaries(
                _word(string.ascii_uppercase, string.ascii_lowercase, 6), inner, max_size=3
            )
        ),
        max_leaves=8,
    ),
    max_size=4,
)
_REQUEST = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["POST", "GET"]),
        "secret_id": st.text(alphabet=_ALNUM, min_size=1, max_size=36),
        "secret_key": _KEY_TEXT,
        "service": _word(string.ascii_lowercase, string.ascii_lowercase + string.digits, 11),
        "host": st.tuples(
            _word(_ALNUM, _ALNUM + ".-", 30),
            st.sampled_from(["", ":80", ":8000", ":65535"]),
        ).map("".join),
        "action": _word(string.ascii_letters, _ALNUM, 20),
        "params": _PARAMS,
        "ts": st.integers(0, 2**33),
        "region": st.sampled_from(["", "ap-guangzhou"]),
        "token": st.one_of(st.none(), st.text(alphabet=_ALNUM, min_size=1, max_size=20)),
        "language": st.sampled_from(["zh-CN", "en-US"]),
        "unsigned_payload": st.booleans(),
    }
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_REQUEST)
def test_sdk_agreement_for_random_requests(req):
    sdk_headers, data = sdk_build(**req)
    method = req["method"]
    query = data if method == "GET" else ""
    body = b"" if method == "GET" else data.encode()

    ours = tc3.sign_request(
        req["secret_id"], req["secret_key"], req["service"], req["host"], method, "/", query,
        sdk_headers, body, req["ts"],
    )  # fmt: skip
    assert ours == sdk_headers["Authorization"]

    received = {k.lower(): v for k, v in sdk_headers.items()}
    parsed = tc3.parse_authorization(received["authorization"], timestamp=req["ts"])
    ts = tc3.parse_timestamp(received["x-tc-timestamp"])
    assert ts == req["ts"]
    tc3.verify(
        parsed, req["secret_key"], method, "/", query, received, body, ts, now=ts,
        allow_unsigned_payload=req["unsigned_payload"],
    )  # fmt: skip
    failure(
        SIGNATURE_FAILURE, tc3.verify, parsed, req["secret_key"] + "x", method, "/", query,
        received, body, ts, ts, allow_unsigned_payload=req["unsigned_payload"],
    )  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_REQUEST)
def test_build_signed_headers_matches_the_sdks_request(req):
    sdk_headers, data = sdk_build(**req)
    method = req["method"]
    ours = tc3.build_signed_headers(
        req["secret_id"], req["secret_key"], req["service"], req["host"], req["action"],
        "2024-01-01", method=method, timestamp=req["ts"],
        query=data if method == "GET" else "", body=b"" if method == "GET" else data.encode(),
        region=req["region"], token=req["token"], language=req["language"],
        unsigned_payload=req["unsigned_payload"],
    )  # fmt: skip
    sdk_headers.pop("X-TC-RequestClient")  # SDK_PYTHON_<version>: identifies the client only
    assert ours == sdk_headers


def test_sdk_golden_vectors_are_still_what_the_sdk_produces():
    """Guards the test oracle itself against a changed SDK."""
    for method, expected in (("POST", POST_SIGNATURE), ("GET", GET_SIGNATURE)):
        headers, data = sdk_build(
            method=method, secret_id=SECRET_ID, secret_key=SECRET_KEY, service=SERVICE,
            host=HOST, action="GetContractList", params=PARAMS, ts=TS, region="ap-guangzhou",
        )  # fmt: skip
        assert headers["Authorization"] == authorization(expected)
        assert data == (GET_QUERY if method == "GET" else POST_BODY.decode())


def test_sdk_signature_depends_on_the_key():
    """A different key really changes the SDK's signature (so agreement above is meaningful)."""
    a, _ = sdk_build(
        method="POST", secret_id="A", secret_key="k1", service="s", host="h", action="X",
        params={}, ts=TS,
    )  # fmt: skip
    b, _ = sdk_build(
        method="POST", secret_id="A", secret_key="k2", service="s", host="h", action="X",
        params={}, ts=TS,
    )  # fmt: skip
    assert a["Authorization"] != b["Authorization"]
