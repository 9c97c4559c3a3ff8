"""Who may call what, and SecretKeys at rest."""

from __future__ import annotations

import base64

from kit.identity import AssertionSigner, Caller, generate_keypair
from sqlalchemy import text

INTERNAL = [
    ("GET", "/internal/v1/access-keys/AKIDxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", None),
    ("GET", "/internal/v1/principals/100000000001/policies", None),
    ("POST", "/internal/v1/decisions", {"owner_uin": "100000000001", "action": "a:B",
                                        "resource": "*"}),
]
MANAGEMENT = [
    ("GET", "/v1/account", None), ("GET", "/v1/users", None),
    ("POST", "/v1/users", {"name": "x"}), ("GET", "/v1/policies", None),
    ("POST", "/v1/access-keys", {}),
]


async def test_direct_call_without_assertion_is_refused(iam):
    before = await iam.snapshot()
    forged = AssertionSigner(generate_keypair()[0]).sign(Caller("service", None))
    for method, path, body in [*INTERNAL, *MANAGEMENT, ("POST", "/internal/v1/accounts", {})]:
        for headers in ({}, {"x-caller-assertion": forged},
                        {"x-caller-assertion": "not-a-jwt"}):
            answer = await iam.client.request(method, path, json=body, headers=headers)
            assert answer.status_code == 401, (method, path, headers)
            assert answer.json()["code"] == "AuthFailure.InvalidAuthorization"
    assert await iam.snapshot() == before


async def test_internal_endpoints_are_for_services_only(iam):
    for method, path, body in INTERNAL:
        for kind in ("customer", "operator"):
            answer = await iam.call(method, path, kind=kind, uin="100000000001", json_body=body)
            assert answer.status_code == 403, (method, path, kind)
            assert answer.json()["code"] == "UnauthorizedOperation.CallerKind"


async def test_account_bootstrap_is_for_services_and_operators(iam):
    refused = await iam.call("POST", "/internal/v1/accounts", kind="customer",
                             uin="100000000001", json_body={})
    assert refused.status_code == 403
    assert (await iam.call("POST", "/internal/v1/accounts", kind="operator",
                           json_body={})).status_code == 200


async def test_management_endpoints_are_for_customers(iam):
    before = await iam.snapshot()
    for method, path, body in MANAGEMENT:
        for kind in ("service", "operator"):
            answer = await iam.call(method, path, kind=kind, json_body=body)
            assert answer.status_code == 403, (method, path, kind)
            assert answer.json()["code"] == "UnauthorizedOperation.CallerKind"
    assert await iam.snapshot() == before


async def test_secret_key_is_stored_encrypted(iam):
    owner = await iam.account()
    created = (await iam.ok("POST", "/v1/access-keys", uin=owner,
                            json_body={}))["access_key"]
    secret = created["secret_access_key"]
    [row] = await iam.rows("SELECT * FROM access_keys")
    values = [str(v) for v in row]
    assert all(secret not in value for value in values)
    assert all(base64.b64encode(secret.encode()).decode() not in value for value in values)
    assert row.secret_key_encrypted.startswith("v1:")
    # and the events never carry it
    assert all(secret not in str(e) for e in await iam.events())
    looked_up = await iam.ok("GET", f"/internal/v1/access-keys/{created['access_key_id']}")
    assert looked_up["secret_key"] == secret


async def test_ciphertext_is_bound_to_its_secret_id(iam):
    """A ciphertext copied onto another key's row does not decrypt (associated data)."""
    owner = await iam.account()
    first = (await iam.ok("POST", "/v1/access-keys", uin=owner, json_body={}))["access_key"]
    second = (await iam.ok("POST", "/v1/access-keys", uin=owner, json_body={}))["access_key"]
    async with iam.app.state.runtime.db.transaction() as session:
        await session.execute(text(
            "UPDATE access_keys SET secret_key_encrypted = (SELECT secret_key_encrypted FROM "
            "access_keys WHERE secret_id = :a) WHERE secret_id = :b"),
            {"a": first["access_key_id"], "b": second["access_key_id"]})
    answer = await iam.call("GET", f"/internal/v1/access-keys/{second['access_key_id']}")
    assert answer.status_code == 500
    assert answer.json()["code"] == "InternalError.AccessKey"
