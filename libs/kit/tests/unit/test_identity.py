"""Caller assertions: only what the gateway signed, unexpired, for this audience, is believed."""

from __future__ import annotations

import time

import jwt
import pytest
from kit.identity import (
    AssertionSigner,
    AssertionVerifier,
    Caller,
    InvalidAssertion,
    generate_keypair,
)

PRIVATE, PUBLIC = generate_keypair()
OTHER_PRIVATE, _ = generate_keypair()
CUSTOMER = Caller(kind="customer", uin="100001", sub_uin="200002", key_id="AKIDx", request_id="r1")


def test_signed_assertion_round_trips():
    token = AssertionSigner(PRIVATE).sign(CUSTOMER)
    assert AssertionVerifier(PUBLIC).verify(token) == CUSTOMER


@pytest.mark.parametrize("token", [None, "", "not-a-jwt", "a.b.c"])
def test_missing_or_garbage_assertion_is_refused(token):
    with pytest.raises(InvalidAssertion) as exc:
        AssertionVerifier(PUBLIC).verify(token)
    assert exc.value.code == "AuthFailure.InvalidAuthorization" and exc.value.status == 401


def test_assertion_signed_by_another_key_is_refused():
    token = AssertionSigner(OTHER_PRIVATE).sign(CUSTOMER)
    with pytest.raises(InvalidAssertion, match="Signature"):
        AssertionVerifier(PUBLIC).verify(token)


def test_expired_assertion_is_refused():
    token = AssertionSigner(PRIVATE).sign(CUSTOMER, now=time.time() - 120)
    with pytest.raises(InvalidAssertion, match="expired"):
        AssertionVerifier(PUBLIC).verify(token)


def test_unsigned_token_with_alg_none_is_refused():
    forged = jwt.encode({"iss": "gateway", "aud": "billing-services", "kind": "customer",
                         "uin": "100001", "iat": int(time.time()),
                         "exp": int(time.time()) + 60}, key=None, algorithm="none")
    with pytest.raises(InvalidAssertion):
        AssertionVerifier(PUBLIC).verify(forged)


def test_service_without_gateway_key_refuses_everything():
    token = AssertionSigner(PRIVATE).sign(CUSTOMER)
    with pytest.raises(InvalidAssertion, match="no gateway key"):
        AssertionVerifier(None).verify(token)


def test_customer_assertion_needs_a_numeric_account():
    token = AssertionSigner(PRIVATE).sign(Caller(kind="customer", uin="root"))
    with pytest.raises(InvalidAssertion, match="customer without an account"):
        AssertionVerifier(PUBLIC).verify(token)
