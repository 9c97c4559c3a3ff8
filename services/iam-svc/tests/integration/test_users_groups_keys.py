"""ACC-REQ-3: sub-users, user groups, API keys (several per user, disabled, deleted)."""

from __future__ import annotations

import re


async def test_acc_req_3_sub_users_add_get_list_delete(iam):
    owner = await iam.account()
    added = await iam.ok("POST", "/v1/users", uin=owner, json_body={
        "name": "finance.alice", "remark": "财务", "console_login": 1,
        "phone_num": "13800000000", "country_code": "86", "email": "alice@example.com"})
    assert added["name"] == "finance.alice" and re.fullmatch(r"[1-9][0-9]{11}", added["uin"])
    assert added["secret_id"] is None and added["secret_key"] is None
    user = await iam.ok("GET", "/v1/users/finance.alice", uin=owner)
    assert user | {"create_time": None} == {
        "uin": added["uin"], "name": "finance.alice", "uid": added["uid"], "remark": "财务",
        "console_login": 1, "phone_num": "13800000000", "country_code": "86",
        "email": "alice@example.com", "create_time": None}
    await iam.user(owner, "bob")
    listing = await iam.ok("GET", "/v1/users", uin=owner)
    assert [u["name"] for u in listing["data"]] == ["finance.alice", "bob"]

    duplicate = await iam.call("POST", "/v1/users", uin=owner, json_body={"name": "bob"})
    assert duplicate.status_code == 409
    assert duplicate.json()["code"] == "InvalidParameter.SubUserNameInUse"

    await iam.ok("DELETE", "/v1/users/bob", uin=owner)
    gone = await iam.call("GET", "/v1/users/bob", uin=owner)
    assert gone.status_code == 404 and gone.json()["code"] == "ResourceNotFound.User"


async def test_acc_req_3_sub_users_stay_in_their_account(iam):
    first, second = await iam.account(), await iam.account()
    await iam.user(first, "alice")
    assert (await iam.ok("GET", "/v1/users", uin=second))["data"] == []
    other = await iam.call("GET", "/v1/users/alice", uin=second)
    assert other.status_code == 404
    await iam.user(second, "alice")  # the same name in another account is fine


async def test_acc_req_3_add_user_with_api_key(iam):
    owner = await iam.account()
    added = await iam.ok("POST", "/v1/users", uin=owner, json_body={"name": "ci", "use_api": 1})
    assert re.fullmatch(r"AKID[A-Za-z0-9]{32}", added["secret_id"])
    assert re.fullmatch(r"[A-Za-z0-9]{32}", added["secret_key"])
    key = await iam.ok("GET", f"/internal/v1/access-keys/{added['secret_id']}")
    assert key == {"secret_id": added["secret_id"], "secret_key": added["secret_key"],
                   "status": "enabled", "owner_uin": owner, "sub_uin": added["uin"],
                   "principal_kind": "customer"}


async def test_acc_req_3_several_keys_per_user_disable_enable_delete(iam):
    owner = await iam.account()
    user = await iam.user(owner, "alice")
    first = (await iam.ok("POST", "/v1/access-keys", uin=owner, json_body={
        "target_uin": user["uin"], "description": "build-server"}))["access_key"]
    second = (await iam.ok("POST", "/v1/access-keys", uin=owner, json_body={
        "target_uin": user["uin"]}))["access_key"]
    assert first["status"] == "Active" and first["description"] == "build-server"
    assert first["access_key_id"] != second["access_key_id"]
    assert first["secret_access_key"] != second["secret_access_key"]

    third = await iam.call("POST", "/v1/access-keys", uin=owner,
                           json_body={"target_uin": user["uin"]})
    assert third.status_code == 409
    assert third.json()["code"] == "OperationDenied.AccessKeyOverLimit"

    listing = await iam.ok("GET", "/v1/access-keys", uin=owner,
                           params={"target_uin": user["uin"]})
    assert {k["access_key_id"] for k in listing["access_keys"]} == {
        first["access_key_id"], second["access_key_id"]}
    assert all("secret_access_key" not in k for k in listing["access_keys"])

    key_id = first["access_key_id"]
    await iam.ok("PATCH", f"/v1/access-keys/{key_id}", uin=owner,
                 json_body={"status": "Inactive", "target_uin": user["uin"]})
    assert (await iam.ok("GET", f"/internal/v1/access-keys/{key_id}"))["status"] == "disabled"
    await iam.ok("PATCH", f"/v1/access-keys/{key_id}", uin=owner, json_body={"status": "Active"})
    assert (await iam.ok("GET", f"/internal/v1/access-keys/{key_id}"))["status"] == "enabled"
    await iam.ok("DELETE", f"/v1/access-keys/{key_id}", uin=owner)
    missing = await iam.call("GET", f"/internal/v1/access-keys/{key_id}", )
    assert missing.status_code == 404 and missing.json()["code"] == "ResourceNotFound.AccessKey"

    changes = [(e["data"]["secret_id"], e["data"]["change"], e["data"]["sub_uin"])
               for e in await iam.events("billing.iam.key.changed.v1")]
    assert changes == [
        (key_id, "created", user["uin"]), (second["access_key_id"], "created", user["uin"]),
        (key_id, "disabled", user["uin"]), (key_id, "enabled", user["uin"]),
        (key_id, "deleted", user["uin"])]
    assert all(e["data"]["owner_uin"] == owner
               for e in await iam.events("billing.iam.key.changed.v1"))


async def test_acc_req_3_key_defaults_to_the_caller_and_root_keys(iam):
    owner = await iam.account()
    user = await iam.user(owner, "alice")
    own = (await iam.ok("POST", "/v1/access-keys", uin=owner, sub_uin=user["uin"],
                        json_body={}))["access_key"]
    assert (await iam.ok("GET", f"/internal/v1/access-keys/{own['access_key_id']}"))[
        "sub_uin"] == user["uin"]
    root = (await iam.ok("POST", "/v1/access-keys", uin=owner, json_body={}))["access_key"]
    looked_up = await iam.ok("GET", f"/internal/v1/access-keys/{root['access_key_id']}")
    assert looked_up["sub_uin"] is None and looked_up["owner_uin"] == owner
    listing = await iam.ok("GET", "/v1/access-keys", uin=owner)
    assert [k["access_key_id"] for k in listing["access_keys"]] == [root["access_key_id"]]
    listing = await iam.ok("GET", "/v1/access-keys", uin=owner, params={"target_uin": owner})
    assert [k["access_key_id"] for k in listing["access_keys"]] == [root["access_key_id"]]


async def test_acc_req_3_keys_of_another_account_are_invisible(iam):
    first, second = await iam.account(), await iam.account()
    key = (await iam.ok("POST", "/v1/access-keys", uin=first, json_body={}))["access_key"]
    for method, body in (("PATCH", {"status": "Inactive"}), ("DELETE", None)):
        answer = await iam.call(method, f"/v1/access-keys/{key['access_key_id']}", uin=second,
                                json_body=body)
        assert answer.status_code == 404
        assert answer.json()["code"] == "ResourceNotFound.AccessKey"
    assert (await iam.ok("GET", f"/internal/v1/access-keys/{key['access_key_id']}"))[
        "status"] == "enabled"
    stranger = await iam.call("POST", "/v1/access-keys", uin=second,
                              json_body={"target_uin": first})
    assert stranger.status_code == 404 and stranger.json()["code"] == "ResourceNotFound.User"


async def test_acc_req_3_key_with_wrong_target_is_not_found(iam):
    owner = await iam.account()
    alice, bob = await iam.user(owner, "alice"), await iam.user(owner, "bob")
    key = (await iam.ok("POST", "/v1/access-keys", uin=owner,
                        json_body={"target_uin": alice["uin"]}))["access_key"]
    answer = await iam.call("PATCH", f"/v1/access-keys/{key['access_key_id']}", uin=owner,
                            json_body={"status": "Inactive", "target_uin": bob["uin"]})
    assert answer.status_code == 404


async def test_acc_req_3_delete_user_with_keys_needs_force(iam):
    owner = await iam.account()
    added = await iam.ok("POST", "/v1/users", uin=owner, json_body={"name": "ci", "use_api": 1})
    refused = await iam.call("DELETE", "/v1/users/ci", uin=owner)
    assert refused.status_code == 409 and refused.json()["code"] == "OperationDenied.HaveKeys"
    await iam.ok("GET", "/v1/users/ci", uin=owner)
    await iam.ok("DELETE", "/v1/users/ci", uin=owner, json_body={"force": 1})
    assert (await iam.call("GET", f"/internal/v1/access-keys/{added['secret_id']}")
            ).status_code == 404
    [deleted] = [e for e in await iam.events("billing.iam.key.changed.v1")
                 if e["data"]["change"] == "deleted"]
    assert deleted["data"]["secret_id"] == added["secret_id"]
    [gone] = [e for e in await iam.events("billing.iam.policy.changed.v1")
              if e["data"]["change"] == "user_deleted"]
    assert gone["data"]["sub_uin"] == added["uin"]


async def test_acc_req_3_groups_and_membership_events(iam):
    owner = await iam.account()
    alice, bob = await iam.user(owner, "alice"), await iam.user(owner, "bob")
    finance = (await iam.ok("POST", "/v1/groups", uin=owner, json_body={
        "group_name": "finance", "remark": "财务组"}))["group_id"]
    auditors = (await iam.ok("POST", "/v1/groups", uin=owner,
                             json_body={"group_name": "auditors"}))["group_id"]
    listing = await iam.ok("GET", "/v1/groups", uin=owner)
    assert listing["total_num"] == 2
    assert [(g["group_id"], g["group_name"], g["remark"]) for g in listing["group_info"]] == [
        (finance, "finance", "财务组"), (auditors, "auditors", None)]
    searched = await iam.ok("GET", "/v1/groups", uin=owner, params={"keyword": "audit"})
    assert [g["group_name"] for g in searched["group_info"]] == ["auditors"]
    duplicate = await iam.call("POST", "/v1/groups", uin=owner,
                               json_body={"group_name": "finance"})
    assert duplicate.json()["code"] == "InvalidParameter.GroupNameInUse"

    await iam.ok("POST", "/v1/group-memberships", uin=owner, json_body={"info": [
        {"group_id": finance, "uin": alice["uin"]}, {"group_id": finance, "uid": bob["uid"]}]})
    await iam.ok("POST", "/v1/group-memberships", uin=owner, json_body={"info": [
        {"group_id": finance, "uin": alice["uin"]}]})  # already a member: no change
    await iam.ok("DELETE", "/v1/group-memberships", uin=owner, json_body={"info": [
        {"group_id": finance, "uid": bob["uid"]}]})
    changes = [(e["data"]["change"], e["data"]["group_id"], e["data"]["sub_uin"],
                e["data"]["affected_sub_uins"])
               for e in await iam.events("billing.iam.policy.changed.v1")]
    assert changes == [
        ("member_added", str(finance), alice["uin"], [alice["uin"]]),
        ("member_added", str(finance), bob["uin"], [bob["uin"]]),
        ("member_removed", str(finance), bob["uin"], [bob["uin"]])]

    await iam.ok("DELETE", f"/v1/groups/{auditors}", uin=owner)
    listing = await iam.ok("GET", "/v1/groups", uin=owner)
    assert [g["group_id"] for g in listing["group_info"]] == [finance]


async def test_acc_req_3_group_batch_is_all_or_nothing(iam):
    owner = await iam.account()
    alice = await iam.user(owner, "alice")
    group = (await iam.ok("POST", "/v1/groups", uin=owner,
                          json_body={"group_name": "g"}))["group_id"]
    before = await iam.snapshot()
    answer = await iam.call("POST", "/v1/group-memberships", uin=owner, json_body={"info": [
        {"group_id": group, "uin": alice["uin"]}, {"group_id": group + 999, "uin": alice["uin"]}]})
    assert answer.status_code == 404 and answer.json()["code"] == "ResourceNotFound.Group"
    assert await iam.snapshot() == before
