"""CAM policies and decisions through the service (CAM-REQ-1..5) and the gateway's internal
contract (principals' policies, decisions)."""

from __future__ import annotations

import json
from datetime import timedelta

CONTRACT = "qcs::contract::uin/{owner}:*"


def allow(actions, resource="*", condition=None, effect="allow"):
    statement = {"effect": effect, "action": actions, "resource": resource}
    if condition is not None:
        statement["condition"] = condition
    return {"version": "2.0", "statement": [statement]}


async def test_cam_req_1_custom_policy_stored_as_given_and_read_back(iam):
    owner = await iam.account()
    text = '{"version": "2.0", "statement": [{"effect": "allow", "action": ["contract:Get*"], ' \
           '"resource": "*"}]}'
    policy_id = await iam.policy(owner, "contract-readers", text)
    policy = await iam.ok("GET", f"/v1/policies/{policy_id}", uin=owner)
    assert policy["policy_document"] == text
    assert policy["type"] == 1 and policy["policy_name"] == "contract-readers"
    assert policy["preset_alias"] is None
    [created] = await iam.events("billing.iam.policy.changed.v1")
    assert created["data"] == {"owner_uin": owner, "policy_id": str(policy_id),
                               "change": "created", "sub_uin": None, "group_id": None,
                               "affected_sub_uins": []}


async def test_cam_req_1_malformed_policies_refused_with_the_parser_message(iam):
    owner = await iam.account()
    before = await iam.snapshot()
    cases = {
        "not json": "policy document is not valid JSON",
        json.dumps({"version": "1.0", "statement": [{"effect": "allow", "action": "*",
                                                     "resource": "*"}]}): "version must be",
        json.dumps(allow("*", effect="permit")): "statement[0].effect must be",
        json.dumps(allow("contract GetContractList")): "statement[0].action",
        json.dumps(allow("*", resource="qcs:contract")): "six-segment",
        json.dumps({"Version": "2.0", "statement": []}): "lowercase",
    }
    for document, fragment in cases.items():
        answer = await iam.call("POST", "/v1/policies", uin=owner, json_body={
            "policy_name": "bad", "policy_document": document})
        assert answer.status_code == 400, answer.text
        problem = answer.json()
        assert problem["code"] == "InvalidParameter.PolicyDocument"
        assert fragment in problem["detail"], (fragment, problem["detail"])
    not_text = await iam.call("POST", "/v1/policies", uin=owner, json_body={
        "policy_name": "bad", "policy_document": allow("*")})
    assert not_text.json()["code"] == "InvalidParameter.PolicyDocument"
    assert await iam.snapshot() == before


async def test_cam_req_1_wildcards_and_resource_segments(iam):
    owner = await iam.account()
    user = await iam.user(owner, "alice")
    policy_id = await iam.policy(owner, "p", allow(
        ["contract:Get*"], [f"qcs::contract::uin/{owner}:contract/QC-*"]))
    await iam.ok("POST", f"/v1/users/{user['uin']}/policies", uin=owner,
                 json_body={"policy_id": policy_id})
    yes = await iam.decide(owner, user["uin"], "contract:GetContractStatus",
                           f"qcs::contract:ap-guangzhou:uin/{owner}:contract/QC-62FC945AA41")
    assert yes["allowed"] is True and yes["reason"] == "explicit_allow"
    assert yes["matched_statement"] == {"policy_id": str(policy_id), "statement_index": 0,
                                        "effect": "allow"}
    no_action = await iam.decide(owner, user["uin"], "contract:CancelContract",
                                 f"qcs::contract::uin/{owner}:contract/QC-1")
    no_resource = await iam.decide(owner, user["uin"], "contract:GetContractStatus",
                                   f"qcs::contract::uin/{owner}:deal/1")
    assert not no_action["allowed"] and not no_resource["allowed"]
    assert no_action["reason"] == "no_matching_allow" and no_action["matched_statement"] is None


async def test_cam_req_2_explicit_deny_beats_allow_and_default_deny(iam):
    owner = await iam.account()
    user = await iam.user(owner, "alice")
    resource = CONTRACT.format(owner=owner)
    assert (await iam.decide(owner, user["uin"], "contract:GetContractList", resource)) == {
        "allowed": False, "reason": "no_matching_allow", "matched_statement": None}
    grant = await iam.policy(owner, "all-contract", allow(["contract:*"]))
    deny = await iam.policy(owner, "no-cancel", allow(["contract:CancelContract"],
                                                      effect="deny"))
    for policy_id in (grant, deny):
        await iam.ok("POST", f"/v1/users/{user['uin']}/policies", uin=owner,
                     json_body={"policy_id": policy_id})
    assert (await iam.decide(owner, user["uin"], "contract:GetContractList",
                             resource))["allowed"] is True
    denied = await iam.decide(owner, user["uin"], "contract:CancelContract", resource)
    assert denied["allowed"] is False and denied["reason"] == "explicit_deny"
    assert denied["matched_statement"]["policy_id"] == str(deny)


async def test_cam_req_2_root_everything_in_own_account_nobody_crosses(iam):
    owner, other = await iam.account(), await iam.account()
    user = await iam.user(owner, "alice")
    everything = await iam.policy(owner, "admin", allow("*"))
    await iam.ok("POST", f"/v1/users/{user['uin']}/policies", uin=owner,
                 json_body={"policy_id": everything})
    root = await iam.decide(owner, None, "invoice:ApplyInvoice",
                            f"qcs::invoice::uin/{owner}:invoice/1")
    assert root == {"allowed": True, "reason": "root_account", "matched_statement": None}
    for sub_uin in (None, user["uin"]):
        crossing = await iam.decide(owner, sub_uin, "invoice:ApplyInvoice",
                                    f"qcs::invoice::uin/{other}:invoice/1")
        assert crossing["allowed"] is False and crossing["reason"] == "cross_account"
    assert (await iam.decide(owner, user["uin"], "invoice:ApplyInvoice",
                             f"qcs::invoice::uin/{owner}:invoice/1"))["allowed"] is True


async def test_cam_req_3_operation_level_grants(iam):
    owner = await iam.account()
    user = await iam.user(owner, "alice")
    policy_id = await iam.policy(owner, "list-only", allow(["contract:GetContractList"]))
    await iam.ok("POST", f"/v1/users/{user['uin']}/policies", uin=owner,
                 json_body={"policy_id": policy_id})
    resource = CONTRACT.format(owner=owner)
    assert (await iam.decide(owner, user["uin"], "contract:GetContractList",
                             resource))["allowed"] is True
    for action in ("contract:GetPdfData", "contract:ApplyPactContract",
                   "contract:TerminateContract", "invoice:ApplyInvoice"):
        assert (await iam.decide(owner, user["uin"], action, resource))["allowed"] is False


async def test_cam_req_4_presets_present_read_only_and_not_deletable(iam):
    owner = await iam.account()
    listing = await iam.ok("GET", "/v1/policies", uin=owner, params={"scope": "QCS"})
    names = {p["policy_name"]: p for p in listing["list"]}
    assert {"QcloudContractFullAccess", "QcloudContractReadOnlyAccess",
            "QcloudInvoiceFullAccess", "QcloudInvoiceReadOnlyAccess"} <= set(names)
    assert all(p["type"] == 2 for p in listing["list"])
    read_only = names["QcloudContractReadOnlyAccess"]["policy_id"]
    preset = await iam.ok("GET", f"/v1/policies/{read_only}", uin=owner)
    assert preset["type"] == 2 and preset["preset_alias"] == "合同管理只读访问权限"
    assert "contract:GetContractList" in json.loads(preset["policy_document"])[
        "statement"][0]["action"]

    refused = await iam.call("DELETE", "/v1/policies", uin=owner,
                             json_body={"policy_id": [read_only]})
    assert refused.status_code == 409 and refused.json()["code"] == "OperationDenied.PresetPolicy"
    clash = await iam.call("POST", "/v1/policies", uin=owner, json_body={
        "policy_name": "QcloudContractReadOnlyAccess", "policy_document": json.dumps(allow("*"))})
    assert clash.json()["code"] == "FailedOperation.PolicyNameInUse"


async def test_cam_req_4_preset_grants_through_the_service(iam):
    owner = await iam.account()
    user = await iam.user(owner, "alice")
    read_only = await iam.preset_id(owner, "QcloudContractReadOnlyAccess")
    await iam.ok("POST", f"/v1/users/{user['uin']}/policies", uin=owner,
                 json_body={"policy_id": read_only})
    resource = CONTRACT.format(owner=owner)
    assert (await iam.decide(owner, user["uin"], "contract:GetContractList",
                             resource))["allowed"] is True
    assert (await iam.decide(owner, user["uin"], "contract:ApplyDealContract",
                             resource))["allowed"] is False
    full = await iam.preset_id(owner, "QcloudContractFullAccess")
    await iam.ok("POST", f"/v1/users/{user['uin']}/policies", uin=owner,
                 json_body={"policy_id": full})
    for action in ("contract:ApplyDealContract", "contract:GetDealList",
                   "contract:CheckContractRule", "contract:RefreshData"):
        assert (await iam.decide(owner, user["uin"], action, resource))["allowed"] is True
    invoice = await iam.decide(owner, user["uin"], "invoice:ApplyInvoice",
                               f"qcs::invoice::uin/{owner}:*")
    assert invoice["allowed"] is False


async def test_cam_req_5_ip_and_time_conditions(iam):
    owner = await iam.account()
    user = await iam.user(owner, "alice")
    office = await iam.policy(owner, "office-only", allow(
        ["contract:*"], condition={"ip_equal": {"qcs:ip": ["10.1.0.0/16"]},
                                   "date_less_than": {"qcs:current_time":
                                                      "2025-03-10T00:00:00Z"}}))
    await iam.ok("POST", f"/v1/users/{user['uin']}/policies", uin=owner,
                 json_body={"policy_id": office})
    resource = CONTRACT.format(owner=owner)
    inside = await iam.decide(owner, user["uin"], "contract:GetContractList", resource,
                              {"qcs:ip": "10.1.2.3"})
    outside = await iam.decide(owner, user["uin"], "contract:GetContractList", resource,
                               {"qcs:ip": "192.168.1.1"})
    assert inside["allowed"] is True and outside["allowed"] is False
    # No qcs:current_time in the context: the service's clock supplies it.
    iam.clock.advance(timedelta(days=7))
    late = await iam.decide(owner, user["uin"], "contract:GetContractList", resource,
                            {"qcs:ip": "10.1.2.3"})
    assert late["allowed"] is False
    explicit = await iam.decide(owner, user["uin"], "contract:GetContractList", resource,
                                {"qcs:ip": "10.1.2.3", "qcs:current_time": "2025-03-09 23:00:00"})
    assert explicit["allowed"] is True

    block = await iam.policy(owner, "block-lan", allow(
        ["contract:*"], effect="deny", condition={"ip_not_equal": {"qcs:ip": "10.1.0.0/16"}}))
    await iam.ok("POST", f"/v1/users/{user['uin']}/policies", uin=owner,
                 json_body={"policy_id": block})
    outside = await iam.decide(owner, user["uin"], "contract:GetContractList", resource,
                               {"qcs:ip": "8.8.8.8", "qcs:current_time": "2025-03-01T00:00:00Z"})
    assert outside["reason"] == "explicit_deny"


async def test_attach_and_detach_change_decisions_and_publish(iam):
    owner = await iam.account()
    user = await iam.user(owner, "alice")
    resource = CONTRACT.format(owner=owner)
    policy_id = await iam.policy(owner, "contracts", allow(["contract:*"]))
    await iam.ok("POST", f"/v1/users/{user['uin']}/policies", uin=owner,
                 json_body={"policy_id": policy_id})
    assert (await iam.decide(owner, user["uin"], "contract:GetContractList",
                             resource))["allowed"] is True
    await iam.ok("DELETE", f"/v1/users/{user['uin']}/policies/{policy_id}", uin=owner)
    assert (await iam.decide(owner, user["uin"], "contract:GetContractList",
                             resource))["allowed"] is False
    changes = [(e["data"]["change"], e["data"]["policy_id"], e["data"]["sub_uin"])
               for e in await iam.events("billing.iam.policy.changed.v1")]
    assert changes == [("created", str(policy_id), None),
                       ("attached", str(policy_id), user["uin"]),
                       ("detached", str(policy_id), user["uin"])]


async def test_group_policies_and_membership_change_decisions(iam):
    owner = await iam.account()
    alice, bob = await iam.user(owner, "alice"), await iam.user(owner, "bob")
    group = (await iam.ok("POST", "/v1/groups", uin=owner,
                          json_body={"group_name": "finance"}))["group_id"]
    invoices = await iam.preset_id(owner, "QcloudInvoiceFullAccess")
    resource = f"qcs::invoice::uin/{owner}:*"
    await iam.ok("POST", "/v1/group-memberships", uin=owner,
                 json_body={"info": [{"group_id": group, "uin": alice["uin"]}]})
    await iam.ok("POST", f"/v1/groups/{group}/policies", uin=owner,
                 json_body={"policy_id": invoices})
    assert (await iam.decide(owner, alice["uin"], "invoice:ApplyInvoice",
                             resource))["allowed"] is True
    assert (await iam.decide(owner, bob["uin"], "invoice:ApplyInvoice",
                             resource))["allowed"] is False
    [attached] = [e for e in await iam.events("billing.iam.policy.changed.v1")
                  if e["data"]["change"] == "attached"]
    assert attached["data"]["group_id"] == str(group)
    assert attached["data"]["affected_sub_uins"] == [alice["uin"]]

    await iam.ok("POST", "/v1/group-memberships", uin=owner,
                 json_body={"info": [{"group_id": group, "uin": bob["uin"]}]})
    assert (await iam.decide(owner, bob["uin"], "invoice:ApplyInvoice",
                             resource))["allowed"] is True
    await iam.ok("DELETE", "/v1/group-memberships", uin=owner,
                 json_body={"info": [{"group_id": group, "uin": alice["uin"]}]})
    assert (await iam.decide(owner, alice["uin"], "invoice:ApplyInvoice",
                             resource))["allowed"] is False
    await iam.ok("DELETE", f"/v1/groups/{group}/policies/{invoices}", uin=owner)
    assert (await iam.decide(owner, bob["uin"], "invoice:ApplyInvoice",
                             resource))["allowed"] is False
    [detached] = [e for e in await iam.events("billing.iam.policy.changed.v1")
                  if e["data"]["change"] == "detached"]
    assert detached["data"]["affected_sub_uins"] == [bob["uin"]]


async def test_principal_policies_direct_and_inherited_deduplicated(iam):
    owner = await iam.account()
    alice = await iam.user(owner, "alice")
    text = json.dumps(allow(["contract:GetContractList"]))
    direct = await iam.policy(owner, "direct", text)
    shared = await iam.policy(owner, "shared", allow(["invoice:Describe*"]))
    group = (await iam.ok("POST", "/v1/groups", uin=owner,
                          json_body={"group_name": "g"}))["group_id"]
    await iam.ok("POST", "/v1/group-memberships", uin=owner,
                 json_body={"info": [{"group_id": group, "uin": alice["uin"]}]})
    for path in (f"/v1/users/{alice['uin']}/policies", f"/v1/groups/{group}/policies"):
        await iam.ok("POST", path, uin=owner, json_body={"policy_id": shared})
    await iam.ok("POST", f"/v1/users/{alice['uin']}/policies", uin=owner,
                 json_body={"policy_id": direct})
    answer = await iam.ok("GET", f"/internal/v1/principals/{owner}/policies",
                          params={"sub_uin": alice["uin"]})
    assert answer["owner_uin"] == owner and answer["sub_uin"] == alice["uin"]
    assert answer["is_root"] is False
    assert answer["policies"] == [
        {"policy_id": str(direct), "document": text},
        {"policy_id": str(shared), "document": json.dumps(allow(["invoice:Describe*"]))}]
    root = await iam.ok("GET", f"/internal/v1/principals/{owner}/policies")
    assert root == {"owner_uin": owner, "sub_uin": None, "is_root": True, "policies": []}
    for params, path_owner in (({"sub_uin": "123456789"}, owner), ({}, "999999999999")):
        missing = await iam.call("GET", f"/internal/v1/principals/{path_owner}/policies",
                                 params=params)
        assert missing.status_code == 404 and missing.json()["code"] == "ResourceNotFound.User"


async def test_list_attached_user_all_policies(iam):
    owner = await iam.account()
    alice = await iam.user(owner, "alice")
    direct = await iam.policy(owner, "direct", allow(["contract:GetContractList"]))
    preset = await iam.preset_id(owner, "QcloudInvoiceReadOnlyAccess")
    group = (await iam.ok("POST", "/v1/groups", uin=owner,
                          json_body={"group_name": "readers"}))["group_id"]
    await iam.ok("POST", "/v1/group-memberships", uin=owner,
                 json_body={"info": [{"group_id": group, "uin": alice["uin"]}]})
    await iam.ok("POST", f"/v1/groups/{group}/policies", uin=owner,
                 json_body={"policy_id": preset})
    await iam.ok("POST", f"/v1/users/{alice['uin']}/policies", uin=owner,
                 json_body={"policy_id": direct})
    path = f"/v1/users/{alice['uin']}/policies"
    every = await iam.ok("GET", path, uin=owner)
    assert every["total_num"] == 2
    by_id = {p["policy_id"]: p for p in every["policy_list"]}
    assert by_id[str(direct)]["groups"] == [] and by_id[str(direct)]["strategy_type"] == "1"
    assert by_id[str(preset)]["groups"] == [{"group_id": group, "group_name": "readers"}]
    assert by_id[str(preset)]["strategy_type"] == "2"
    only_direct = await iam.ok("GET", path, uin=owner, params={"attach_type": 1})
    assert [p["policy_id"] for p in only_direct["policy_list"]] == [str(direct)]
    only_group = await iam.ok("GET", path, uin=owner, params={"attach_type": 2})
    assert [p["policy_id"] for p in only_group["policy_list"]] == [str(preset)]
    presets = await iam.ok("GET", path, uin=owner, params={"strategy_type": 2})
    assert [p["policy_id"] for p in presets["policy_list"]] == [str(preset)]
    paged = await iam.ok("GET", path, uin=owner, params={"rp": 1, "page": 2})
    assert paged["total_num"] == 2 and len(paged["policy_list"]) == 1


async def test_delete_policy_detaches_and_names_affected_users(iam):
    owner = await iam.account()
    alice, bob = await iam.user(owner, "alice"), await iam.user(owner, "bob")
    policy_id = await iam.policy(owner, "temp", allow(["contract:*"]))
    group = (await iam.ok("POST", "/v1/groups", uin=owner,
                          json_body={"group_name": "g"}))["group_id"]
    await iam.ok("POST", "/v1/group-memberships", uin=owner,
                 json_body={"info": [{"group_id": group, "uin": bob["uin"]}]})
    await iam.ok("POST", f"/v1/users/{alice['uin']}/policies", uin=owner,
                 json_body={"policy_id": policy_id})
    await iam.ok("POST", f"/v1/groups/{group}/policies", uin=owner,
                 json_body={"policy_id": policy_id})
    listing = await iam.ok("GET", "/v1/policies", uin=owner, params={"scope": "Local"})
    assert [(p["policy_id"], p["attachments"]) for p in listing["list"]] == [(policy_id, 2)]
    await iam.ok("DELETE", "/v1/policies", uin=owner, json_body={"policy_id": [policy_id]})
    assert (await iam.call("GET", f"/v1/policies/{policy_id}", uin=owner)).status_code == 404
    assert (await iam.ok("GET", f"/internal/v1/principals/{owner}/policies",
                         params={"sub_uin": alice["uin"]}))["policies"] == []
    [deleted] = [e for e in await iam.events("billing.iam.policy.changed.v1")
                 if e["data"]["change"] == "deleted"]
    assert deleted["data"]["affected_sub_uins"] == sorted([alice["uin"], bob["uin"]])


async def test_policies_of_another_account_are_invisible(iam):
    first, second = await iam.account(), await iam.account()
    policy_id = await iam.policy(first, "mine", allow(["contract:*"]))
    user = await iam.user(second, "mallory")
    assert (await iam.call("GET", f"/v1/policies/{policy_id}", uin=second)).status_code == 404
    attach = await iam.call("POST", f"/v1/users/{user['uin']}/policies", uin=second,
                            json_body={"policy_id": policy_id})
    assert attach.status_code == 404 and attach.json()["code"] == "ResourceNotFound.Policy"
    delete = await iam.call("DELETE", "/v1/policies", uin=second,
                            json_body={"policy_id": [policy_id]})
    assert delete.status_code == 404
    listing = await iam.ok("GET", "/v1/policies", uin=second, params={"scope": "Local"})
    assert listing["list"] == []
