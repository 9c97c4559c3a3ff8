"""Identity assertions: verifiable by services, reused per caller for a bounded time."""

from __future__ import annotations

import jwt
from gateway.assertions import Assertions
from gateway.iam_client import AccessKey
from kit.identity import AssertionSigner, AssertionVerifier, generate_keypair

SUB = AccessKey("AKIDsub", "k", True, "100001", "200001", "customer")
ROOT = AccessKey("AKIDroot", "k", True, "100001", None, "customer")
OPERATOR = AccessKey("AKIDop", "k", True, "900001", None, "operator")


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_assertions_carry_the_callers_identity():
    private, public = generate_keypair()
    assertions = Assertions(AssertionSigner(private))
    verifier = AssertionVerifier(public)
    for key in (SUB, ROOT, OPERATOR):
        caller = verifier.verify(assertions.for_key(key, "rid").decode())
        assert (caller.kind, caller.uin, caller.sub_uin, caller.key_id) == (
            key.principal_kind, key.owner_uin, key.sub_uin, key.secret_id)


def test_an_assertion_is_reused_within_the_window_only():
    clock = Clock()
    assertions = Assertions(AssertionSigner(generate_keypair()[0]), reuse_seconds=30,
                            clock=clock)
    first = assertions.for_key(SUB, "a")
    assert assertions.for_key(SUB, "b") is first
    assert assertions.for_key(ROOT, "c") != first  # per caller
    clock.now += 31
    assert assertions.for_key(SUB, "d") != first


def test_a_reused_assertion_is_still_valid_when_it_is_last_handed_out():
    private, public = generate_keypair()
    assertions = Assertions(AssertionSigner(private), reuse_seconds=30)
    token = assertions.for_key(SUB, "a").decode()
    verifier = AssertionVerifier(public)
    claims = jwt.decode(token, options={"verify_signature": False})
    assert claims["exp"] - claims["iat"] >= 30 + 25  # 30 s of reuse, then >= 25 s to travel
    assert verifier.verify(token).uin == "100001"


def test_without_reuse_every_request_gets_its_own_assertion_with_its_request_id():
    private, public = generate_keypair()
    assertions = Assertions(AssertionSigner(private), reuse_seconds=0)
    verifier = AssertionVerifier(public)
    assert verifier.verify(assertions.for_key(SUB, "rid-1").decode()).request_id == "rid-1"
    assert verifier.verify(assertions.for_key(SUB, "rid-2").decode()).request_id == "rid-2"
