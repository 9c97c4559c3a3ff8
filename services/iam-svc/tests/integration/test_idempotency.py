"""Idempotent creation: `Idempotency-Key` header and `client_token` (API 3.0 ClientToken)."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest

POLICY = json.dumps({"version": "2.0", "statement": [
    {"effect": "allow", "action": "contract:*", "resource": "*"}]})

CREATES = {
    "AddUser": ("/v1/users", {"name": "alice"}, {"name": "bob"}, "sub_users"),
    "CreateGroup": ("/v1/groups", {"group_name": "g1"}, {"group_name": "g2"}, "user_groups"),
    "CreatePolicy": ("/v1/policies", {"policy_name": "p1", "policy_document": POLICY},
                     {"policy_name": "p2", "policy_document": POLICY}, "policies"),
    "CreateAccessKey": ("/v1/access-keys", {"description": "one"}, {"description": "two"},
                        "access_keys"),
    "CreateAccount": ("/internal/v1/accounts", {"site": "mainland"},
                      {"site": "international"}, "accounts"),
}


async def _post(iam, path, owner, body, headers=None):
    kind = "service" if path.startswith("/internal") else None
    return await iam.call("POST", path, uin=None if kind else owner, kind=kind,
                          json_body=body, headers=headers)


@pytest.mark.parametrize("action", sorted(CREATES))
async def test_replay_returns_the_first_answer_and_creates_once(iam, action):
    path, body, other, table = CREATES[action]
    owner = await iam.account()
    key = {"Idempotency-Key": f"req-{action}-1"}
    before = await iam.counts()
    first = await _post(iam, path, owner, body, key)
    assert first.status_code == 200, first.text
    assert "idempotent-replayed" not in first.headers
    after_first = await iam.counts()
    assert after_first[table] == before[table] + 1

    replay = await _post(iam, path, owner, body, key)
    assert replay.status_code == 200 and replay.json() == first.json()
    assert replay.headers["idempotent-replayed"] == "true"
    assert await iam.counts() == after_first

    reused = await _post(iam, path, owner, other, key)
    assert reused.status_code == 409
    assert reused.json()["code"] == "InvalidParameter.IdempotencyKeyReused"
    assert await iam.counts() == after_first


async def test_client_token_is_the_same_key(iam):
    owner = await iam.account()
    first = await iam.ok("POST", "/v1/groups", uin=owner,
                         json_body={"group_name": "g", "client_token": "tok-1"})
    replay = await iam.call("POST", "/v1/groups", uin=owner, json_body={"group_name": "g"},
                            headers={"Idempotency-Key": "tok-1"})
    assert replay.json() == first and replay.headers["idempotent-replayed"] == "true"
    conflict = await iam.call("POST", "/v1/groups", uin=owner,
                              json_body={"group_name": "h", "client_token": "tok-2"},
                              headers={"Idempotency-Key": "tok-3"})
    assert conflict.status_code == 400
    assert conflict.json()["code"] == "InvalidParameterValue.IdempotencyKey"


async def test_keys_are_scoped_per_account(iam):
    first, second = await iam.account(), await iam.account()
    key = {"Idempotency-Key": "same"}
    one = await iam.call("POST", "/v1/groups", uin=first, json_body={"group_name": "g"},
                         headers=key)
    two = await iam.call("POST", "/v1/groups", uin=second, json_body={"group_name": "g"},
                         headers=key)
    assert one.status_code == two.status_code == 200
    assert one.json()["group_id"] != two.json()["group_id"]


async def test_a_failed_request_does_not_use_up_its_key(iam):
    owner = await iam.account()
    taken = await iam.ok("POST", "/v1/groups", uin=owner, json_body={"group_name": "finance"})
    key = {"Idempotency-Key": "retry-me"}
    failed = await iam.call("POST", "/v1/groups", uin=owner,
                            json_body={"group_name": "finance"}, headers=key)
    assert failed.status_code == 409
    await iam.ok("DELETE", f"/v1/groups/{taken['group_id']}", uin=owner)
    retried = await iam.call("POST", "/v1/groups", uin=owner,
                             json_body={"group_name": "finance"}, headers=key)
    assert retried.status_code == 200 and "idempotent-replayed" not in retried.headers


async def test_concurrent_first_requests_create_once(iam):
    owner = await iam.account()
    key = {"Idempotency-Key": "race"}
    answers = await asyncio.gather(*(
        iam.call("POST", "/v1/users", uin=owner, json_body={"name": "racer", "use_api": 1},
                 headers=key) for _ in range(5)))
    assert {a.status_code for a in answers} == {200}
    assert len({a.text for a in answers}) == 1
    assert (await iam.counts())["sub_users"] == 1
    assert len(await iam.events("billing.iam.key.changed.v1")) == 1


async def test_keys_expire_after_a_day(iam):
    owner = await iam.account()
    key = {"Idempotency-Key": "daily"}
    await iam.call("POST", "/v1/groups", uin=owner, json_body={"group_name": "a"}, headers=key)
    iam.clock.advance(timedelta(hours=24, seconds=1))
    later = await iam.call("POST", "/v1/groups", uin=owner, json_body={"group_name": "b"},
                           headers=key)
    assert later.status_code == 200 and "idempotent-replayed" not in later.headers
    iam.clock.advance(timedelta(hours=25))
    await iam.ok("POST", "/v1/groups", uin=owner, json_body={"group_name": "c"},
                 headers={"Idempotency-Key": "another"})
    remembered = await iam.rows("SELECT key FROM idempotency_keys WHERE owner_uin = :o", o=owner)
    assert [k for (k,) in remembered] == ["another"]  # expired keys are forgotten


async def test_replayed_secret_key_is_not_stored_in_plaintext(iam):
    owner = await iam.account()
    key = {"Idempotency-Key": "key-once"}
    created = (await iam.call("POST", "/v1/access-keys", uin=owner, json_body={},
                              headers=key)).json()["access_key"]
    replay = (await iam.call("POST", "/v1/access-keys", uin=owner, json_body={},
                             headers=key)).json()["access_key"]
    assert replay["secret_access_key"] == created["secret_access_key"]
    stored = await iam.rows("SELECT response FROM idempotency_keys")
    assert stored and all(created["secret_access_key"] not in row.response for row in stored)
    assert all(row.response.startswith("v1:") for row in stored)
