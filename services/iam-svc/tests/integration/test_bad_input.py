"""Bad input on every management and internal endpoint: a clear 4xx naming the problem,
never a 500, and nothing changes (row counts of every table, the outbox included)."""

from __future__ import annotations

import json

from kit.testing import fill_placeholders

POLICY = json.dumps({"version": "2.0", "statement": [
    {"effect": "allow", "action": "contract:*", "resource": "*"}]})
IPV = "InvalidParameterValue"
MISSING = "MissingParameter"

# (label, method, path, json body or ("raw", text), query params, headers, status, code)
CASES = [
    # AddUser
    ("AddUser no body", "POST", "/v1/users", None, None, None, 400, MISSING),
    ("AddUser not json", "POST", "/v1/users", ("raw", "{name"), None, None, 400,
     "InvalidParameter"),
    ("AddUser array", "POST", "/v1/users", [1, 2], None, None, 400, "InvalidParameter"),
    ("AddUser missing name", "POST", "/v1/users", {"remark": "x"}, None, None, 400, MISSING),
    ("AddUser empty name", "POST", "/v1/users", {"name": ""}, None, None, 400, IPV),
    ("AddUser long name", "POST", "/v1/users", {"name": "a" * 65}, None, None, 400, IPV),
    ("AddUser bad chars", "POST", "/v1/users", {"name": "bad name"}, None, None, 400, IPV),
    ("AddUser number name", "POST", "/v1/users", {"name": 123}, None, None, 400, IPV),
    ("AddUser NUL", "POST", "/v1/users", {"name": "ok", "remark": "a\u0000b"}, None, None,
     400, IPV),
    ("AddUser long remark", "POST", "/v1/users", {"name": "ok", "remark": "r" * 256}, None,
     None, 400, IPV),
    ("AddUser console_login", "POST", "/v1/users", {"name": "ok", "console_login": 2}, None,
     None, 400, IPV),
    ("AddUser email", "POST", "/v1/users", {"name": "ok", "email": "nobody"}, None, None,
     400, IPV),
    ("AddUser unknown field", "POST", "/v1/users", {"name": "ok", "colour": "red"}, None,
     None, 400, "UnknownParameter"),
    ("AddUser password", "POST", "/v1/users", {"name": "ok", "password": "Pa55word!"}, None,
     None, 400, "UnsupportedOperation.ConsolePassword"),
    ("AddUser taken", "POST", "/v1/users", {"name": "alice"}, None, None, 409,
     "InvalidParameter.SubUserNameInUse"),
    ("AddUser bad idempotency key", "POST", "/v1/users", {"name": "ok"}, None,
     {"Idempotency-Key": "has space"}, 400, IPV),
    ("AddUser long idempotency key", "POST", "/v1/users", {"name": "ok"}, None,
     {"Idempotency-Key": "k" * 129}, 400, IPV),
    ("AddUser long client_token", "POST", "/v1/users", {"name": "ok", "client_token": "k" * 129},
     None, None, 400, IPV),
    ("AddUser surrogate remark", "POST", "/v1/users",
     ("raw", '{"name": "ok", "remark": "a\\ud800b"}'), None, None, 400, IPV),
    ("AddUser console_login true", "POST", "/v1/users", {"name": "ok", "console_login": True},
     None, None, 400, IPV),
    ("AddUser deeply nested body", "POST", "/v1/users", ("raw", "[" * 5000 + "]" * 5000), None,
     None, 400, "InvalidParameter"),
    ("AddUser huge integer", "POST", "/v1/users",
     ("raw", '{"name": "ok", "console_login": ' + "9" * 5000 + "}"), None, None, 400,
     "InvalidParameter"),
    # GetUser / DeleteUser
    ("GetUser long name", "GET", "/v1/users/" + "x" * 65, None, None, None, 400, IPV),
    ("GetUser bad chars", "GET", "/v1/users/bad%20name", None, None, None, 400, IPV),
    ("DeleteUser bad chars", "DELETE", "/v1/users/a%2Fb", None, None, None, 404,
     "ResourceNotFound"),
    ("DeleteUser long name", "DELETE", "/v1/users/" + "x" * 65, None, None, None, 400, IPV),
    ("GetUser unknown", "GET", "/v1/users/nobody", None, None, None, 404,
     "ResourceNotFound.User"),
    ("DeleteUser unknown", "DELETE", "/v1/users/nobody", None, None, None, 404,
     "ResourceNotFound.User"),
    ("DeleteUser force", "DELETE", "/v1/users/alice", {"force": 5}, None, None, 400, IPV),
    ("DeleteUser with keys", "DELETE", "/v1/users/alice", None, None, None, 409,
     "OperationDenied.HaveKeys"),
    # CreateGroup / ListGroups / DeleteGroup
    ("CreateGroup missing", "POST", "/v1/groups", {}, None, None, 400, MISSING),
    ("CreateGroup long", "POST", "/v1/groups", {"group_name": "g" * 65}, None, None, 400, IPV),
    ("CreateGroup remark type", "POST", "/v1/groups", {"group_name": "x", "remark": 1}, None,
     None, 400, IPV),
    ("CreateGroup surrogate remark", "POST", "/v1/groups",
     ("raw", '{"group_name": "x", "remark": "\\udfff"}'), None, None, 400, IPV),
    ("CreateGroup taken", "POST", "/v1/groups", {"group_name": "finance"}, None, None, 409,
     "InvalidParameter.GroupNameInUse"),
    ("ListGroups page 0", "GET", "/v1/groups", None, {"page": 0}, None, 400, IPV),
    ("ListGroups rp 201", "GET", "/v1/groups", None, {"rp": 201}, None, 400, IPV),
    ("ListGroups page text", "GET", "/v1/groups", None, {"page": "two"}, None, 400, IPV),
    ("ListGroups long keyword", "GET", "/v1/groups", None, {"keyword": "k" * 129}, None, 400,
     IPV),
    ("DeleteGroup id 0", "DELETE", "/v1/groups/0", None, None, None, 400, IPV),
    ("DeleteGroup unknown", "DELETE", "/v1/groups/987654321", None, None, None, 404,
     "ResourceNotFound.Group"),
    # AddUserToGroup / RemoveUserFromGroup
    ("AddUserToGroup empty", "POST", "/v1/group-memberships", {"info": []}, None, None, 400,
     IPV),
    ("AddUserToGroup no user", "POST", "/v1/group-memberships", {"info": [{"group_id": 1}]},
     None, None, 400, MISSING),
    ("AddUserToGroup bad uin", "POST", "/v1/group-memberships",
     {"info": [{"group_id": "{group}", "uin": "abc"}]}, None, None, 400, IPV),
    ("AddUserToGroup unknown user", "POST", "/v1/group-memberships",
     {"info": [{"group_id": "{group}", "uin": "123456"}]}, None, None, 404,
     "ResourceNotFound.User"),
    ("AddUserToGroup unknown group", "POST", "/v1/group-memberships",
     {"info": [{"group_id": 987654321, "uin": "{alice}"}]}, None, None, 404,
     "ResourceNotFound.Group"),
    ("AddUserToGroup too many", "POST", "/v1/group-memberships",
     {"info": [{"group_id": 1, "uin": "1"}] * 51}, None, None, 400, IPV),
    ("RemoveUserFromGroup unknown group", "DELETE", "/v1/group-memberships",
     {"info": [{"group_id": 987654321, "uin": "{alice}"}]}, None, None, 404,
     "ResourceNotFound.Group"),
    ("RemoveUserFromGroup missing info", "DELETE", "/v1/group-memberships", {}, None, None,
     400, MISSING),
    ("RemoveUserFromGroup empty", "DELETE", "/v1/group-memberships", {"info": []}, None, None,
     400, IPV),
    ("RemoveUserFromGroup bad uin", "DELETE", "/v1/group-memberships",
     {"info": [{"group_id": "{group}", "uin": "1e3"}]}, None, None, 400, IPV),
    ("RemoveUserFromGroup group true", "DELETE", "/v1/group-memberships",
     {"info": [{"group_id": True, "uin": "{alice}"}]}, None, None, 400, IPV),
    ("RemoveUserFromGroup too many", "DELETE", "/v1/group-memberships",
     {"info": [{"group_id": 1, "uin": "1"}] * 51}, None, None, 400, IPV),
    # CreatePolicy / GetPolicy / ListPolicies / DeletePolicy
    ("CreatePolicy missing document", "POST", "/v1/policies", {"policy_name": "p"}, None, None,
     400, MISSING),
    ("CreatePolicy bad document", "POST", "/v1/policies",
     {"policy_name": "p", "policy_document": "{}"}, None, None, 400,
     "InvalidParameter.PolicyDocument"),
    ("CreatePolicy huge document", "POST", "/v1/policies",
     {"policy_name": "p", "policy_document": " " * 7000 + POLICY}, None, None, 400,
     "InvalidParameter.PolicyDocument"),
    ("CreatePolicy long name", "POST", "/v1/policies",
     {"policy_name": "p" * 129, "policy_document": POLICY}, None, None, 400, IPV),
    ("CreatePolicy name chars", "POST", "/v1/policies",
     {"policy_name": "策略", "policy_document": POLICY}, None, None, 400, IPV),
    ("CreatePolicy long description", "POST", "/v1/policies",
     {"policy_name": "p", "policy_document": POLICY, "description": "d" * 256}, None, None,
     400, IPV),
    ("CreatePolicy taken", "POST", "/v1/policies",
     {"policy_name": "mine", "policy_document": POLICY}, None, None, 409,
     "FailedOperation.PolicyNameInUse"),
    ("CreatePolicy nested document", "POST", "/v1/policies",
     {"policy_name": "p", "policy_document": '{"version": "2.0", "statement": '
      + "[" * 2500 + "]" * 2500 + "}"}, None, None, 400, "InvalidParameter.PolicyDocument"),
    ("CreatePolicy huge integer in document", "POST", "/v1/policies",
     {"policy_name": "p", "policy_document": '{"version": "2.0", "statement": [{"n": '
      + "9" * 4400 + "}]}"}, None, None, 400, "InvalidParameter.PolicyDocument"),
    ("CreatePolicy surrogate description", "POST", "/v1/policies",
     ("raw", json.dumps({"policy_name": "p", "policy_document": POLICY,
                         "description": "x"}).replace('"x"', '"\\ud800"')), None, None, 400,
     IPV),
    ("CreatePolicy document type", "POST", "/v1/policies",
     {"policy_name": "p", "policy_document": 5}, None, None, 400,
     "InvalidParameter.PolicyDocument"),
    ("GetPolicy text id", "GET", "/v1/policies/abc", None, None, None, 400, IPV),
    ("GetPolicy huge id", "GET", "/v1/policies/99999999999999999999999", None, None, None,
     400, IPV),
    ("GetPolicy unknown", "GET", "/v1/policies/987654321", None, None, None, 404,
     "ResourceNotFound.Policy"),
    ("ListPolicies scope", "GET", "/v1/policies", None, {"scope": "Mine"}, None, 400, IPV),
    ("ListPolicies keyword", "GET", "/v1/policies", None, {"keyword": "k" * 129}, None, 400,
     IPV),
    ("DeletePolicy empty", "DELETE", "/v1/policies", {"policy_id": []}, None, None, 400, IPV),
    ("DeletePolicy not a list", "DELETE", "/v1/policies", {"policy_id": "x"}, None, None,
     400, IPV),
    ("DeletePolicy too many", "DELETE", "/v1/policies", {"policy_id": list(range(1, 52))},
     None, None, 400, IPV),
    ("DeletePolicy true", "DELETE", "/v1/policies", {"policy_id": [True]}, None, None, 400,
     IPV),
    ("DeletePolicy one unknown", "DELETE", "/v1/policies",
     {"policy_id": ["{policy}", 987654321]}, None, None, 404, "ResourceNotFound.Policy"),
    ("DeletePolicy preset", "DELETE", "/v1/policies", {"policy_id": ["{policy}", "{preset}"]}, None,
     None, 409, "OperationDenied.PresetPolicy"),
    # Attach / Detach / ListAttachedUserAllPolicies
    ("AttachUserPolicy bad uin", "POST", "/v1/users/abc/policies", {"policy_id": 1}, None,
     None, 400, IPV),
    ("AttachUserPolicy missing", "POST", "/v1/users/{alice}/policies", {}, None, None, 400,
     MISSING),
    ("AttachUserPolicy negative", "POST", "/v1/users/{alice}/policies", {"policy_id": -1},
     None, None, 400, IPV),
    ("AttachUserPolicy true", "POST", "/v1/users/{alice}/policies", {"policy_id": True},
     None, None, 400, IPV),
    ("AttachUserPolicy huge", "POST", "/v1/users/{alice}/policies", {"policy_id": 2**63},
     None, None, 400, IPV),
    ("AttachUserPolicy unknown user", "POST", "/v1/users/123456/policies",
     {"policy_id": "{policy}"}, None, None, 404, "ResourceNotFound.User"),
    ("AttachUserPolicy unknown policy", "POST", "/v1/users/{alice}/policies",
     {"policy_id": 987654321}, None, None, 404, "ResourceNotFound.Policy"),
    ("DetachUserPolicy text id", "DELETE", "/v1/users/{alice}/policies/abc", None, None, None,
     400, IPV),
    ("DetachUserPolicy unknown user", "DELETE", "/v1/users/123456/policies/{policy}", None,
     None, None, 404, "ResourceNotFound.User"),
    ("DetachUserPolicy bad uin", "DELETE", "/v1/users/abc/policies/{policy}", None, None,
     None, 400, IPV),
    ("DetachUserPolicy huge id", "DELETE", "/v1/users/{alice}/policies/9223372036854775808",
     None, None, None, 400, IPV),
    ("AttachGroupPolicy id 0", "POST", "/v1/groups/0/policies", {"policy_id": 1}, None, None,
     400, IPV),
    ("AttachGroupPolicy unknown group", "POST", "/v1/groups/987654321/policies",
     {"policy_id": "{policy}"}, None, None, 404, "ResourceNotFound.Group"),
    ("AttachGroupPolicy missing", "POST", "/v1/groups/{group}/policies", {}, None, None, 400,
     MISSING),
    ("AttachGroupPolicy true", "POST", "/v1/groups/{group}/policies", {"policy_id": True},
     None, None, 400, IPV),
    ("DetachGroupPolicy unknown policy", "DELETE", "/v1/groups/{group}/policies/987654321",
     None, None, None, 404, "ResourceNotFound.Policy"),
    ("DetachGroupPolicy text id", "DELETE", "/v1/groups/{group}/policies/abc", None, None,
     None, 400, IPV),
    ("DetachGroupPolicy group 0", "DELETE", "/v1/groups/0/policies/{policy}", None, None,
     None, 400, IPV),
    ("ListAttached attach_type", "GET", "/v1/users/{alice}/policies", None,
     {"attach_type": 3}, None, 400, IPV),
    ("ListAttached unknown user", "GET", "/v1/users/123456/policies", None, None, None, 404,
     "ResourceNotFound.User"),
    ("ListAttached page 0", "GET", "/v1/users/{alice}/policies", None, {"page": 0}, None, 400,
     IPV),
    ("ListAttached rp 201", "GET", "/v1/users/{alice}/policies", None, {"rp": 201}, None, 400,
     IPV),
    # API keys
    ("CreateAccessKey bad target", "POST", "/v1/access-keys", {"target_uin": "abc"}, None,
     None, 400, IPV),
    ("CreateAccessKey float target", "POST", "/v1/access-keys", {"target_uin": 1.5}, None,
     None, 400, IPV),
    ("CreateAccessKey description", "POST", "/v1/access-keys", {"description": "has space"},
     None, None, 400, IPV),
    ("CreateAccessKey long description", "POST", "/v1/access-keys",
     {"description": "d" * 1025}, None, None, 400, IPV),
    ("CreateAccessKey unknown target", "POST", "/v1/access-keys", {"target_uin": "123456"},
     None, None, 404, "ResourceNotFound.User"),
    ("CreateAccessKey over limit", "POST", "/v1/access-keys", {"target_uin": "{alice}"}, None,
     None, 409, "OperationDenied.AccessKeyOverLimit"),
    ("ListAccessKeys bad target", "GET", "/v1/access-keys", None, {"target_uin": "x1"}, None,
     400, IPV),
    ("UpdateAccessKey status", "PATCH", "/v1/access-keys/{key}", {"status": "On"}, None, None,
     400, IPV),
    ("UpdateAccessKey missing", "PATCH", "/v1/access-keys/{key}", {}, None, None, 400,
     MISSING),
    ("UpdateAccessKey bad id", "PATCH", "/v1/access-keys/AKID-1", {"status": "Inactive"},
     None, None, 400, IPV),
    ("UpdateAccessKey unknown", "PATCH", "/v1/access-keys/AKIDnope", {"status": "Inactive"},
     None, None, 404, "ResourceNotFound.AccessKey"),
    ("DeleteAccessKey unknown", "DELETE", "/v1/access-keys/AKIDnope", None, None, None, 404,
     "ResourceNotFound.AccessKey"),
    ("DeleteAccessKey bad target", "DELETE", "/v1/access-keys/{key}", {"target_uin": "-1"},
     None, None, 400, IPV),
    ("DeleteAccessKey bad id", "DELETE", "/v1/access-keys/AKID-1", None, None, None, 400,
     IPV),
    ("DeleteAccessKey long id", "DELETE", "/v1/access-keys/AKID" + "x" * 200, None, None,
     None, 400, IPV),
    # account
    ("Verify type", "POST", "/v1/account/verification",
     {"verification_type": "company", "legal_name": "x"}, None, None, 400, IPV),
    ("Verify missing", "POST", "/v1/account/verification", {}, None, None, 400, MISSING),
    ("Verify again", "POST", "/v1/account/verification",
     {"verification_type": "personal", "legal_name": "张三"}, None, None, 409,
     "FailedOperation.AccountAlreadyVerified"),
    ("Rename missing", "POST", "/v1/account/rename", {}, None, None, 400, MISSING),
    ("Rename blank", "POST", "/v1/account/rename", {"legal_name": "   "}, None, None, 400,
     "InvalidParameterValue.LegalName"),
    ("Rename control", "POST", "/v1/account/rename", {"legal_name": "a\nb"}, None, None, 400,
     IPV),
    ("Rename long", "POST", "/v1/account/rename", {"legal_name": "名" * 201}, None, None, 400,
     IPV),
    ("Rename emoji", "POST", "/v1/account/rename", {"legal_name": "公司🙂"}, None, None, 400,
     "InvalidParameterValue.LegalNameCharset"),
]

INTERNAL_CASES = [
    ("CreateAccount site", "POST", "/internal/v1/accounts", {"site": "moon"}, None, 400, IPV),
    ("CreateAccount uin", "POST", "/internal/v1/accounts", {"uin": "0123"}, None, 400, IPV),
    ("CreateAccount kind", "POST", "/internal/v1/accounts", {"kind": "vendor"}, None, 400, IPV),
    ("CreateAccount bad uscc", "POST", "/internal/v1/accounts", {"verification": {
        "verification_type": "enterprise", "legal_name": "某公司", "uscc": "123"}}, None, 400,
     "InvalidParameterValue.UnifiedSocialCreditCode"),
    ("CreateAccount taken", "POST", "/internal/v1/accounts", {"uin": "{owner}"}, None, 409,
     "FailedOperation.AccountExists"),
    ("Decision missing", "POST", "/internal/v1/decisions", {"owner_uin": "{owner}"}, None,
     400, MISSING),
    ("Decision bad owner", "POST", "/internal/v1/decisions",
     {"owner_uin": "x", "action": "a:B", "resource": "*"}, None, 400, IPV),
    ("Decision context type", "POST", "/internal/v1/decisions",
     {"owner_uin": "{owner}", "action": "a:B", "resource": "*", "context": []}, None, 400, IPV),
    ("Decision unknown user", "POST", "/internal/v1/decisions",
     {"owner_uin": "{owner}", "sub_uin": "123456", "action": "a:B", "resource": "*"}, None,
     404, "ResourceNotFound.User"),
    ("Principal bad owner", "GET", "/internal/v1/principals/abc/policies", None, None, 400,
     IPV),
    ("Principal bad sub", "GET", "/internal/v1/principals/{owner}/policies", None,
     {"sub_uin": "x"}, 400, IPV),
    ("AccessKey bad id", "GET", "/internal/v1/access-keys/a.b", None, None, 400, IPV),
]


async def _setup(iam):
    owner = await iam.account(verification={"verification_type": "personal",
                                            "legal_name": "王五"})
    alice = await iam.user(owner, "alice")
    group = (await iam.ok("POST", "/v1/groups", uin=owner,
                          json_body={"group_name": "finance"}))["group_id"]
    policy = await iam.policy(owner, "mine", POLICY)
    keys = [(await iam.ok("POST", "/v1/access-keys", uin=owner,
                          json_body={"target_uin": alice["uin"]}))["access_key"]
            for _ in range(2)]
    return {"owner": owner, "alice": alice["uin"], "group": int(group), "policy": int(policy),
            "key": keys[0]["access_key_id"],
            "preset": int(await iam.preset_id(owner, "QcloudContractReadOnlyAccess"))}


async def _send(iam, names, method, path, body, params, headers, caller):
    path = fill_placeholders(path, names)
    all_headers = iam.headers(*caller) | (headers or {})
    if isinstance(body, tuple):
        all_headers["content-type"] = "application/json"
        return await iam.client.request(method, path, content=body[1], params=params,
                                        headers=all_headers)
    return await iam.client.request(method, path, json=fill_placeholders(body, names),
                                    params=params, headers=all_headers)


async def test_bad_input_on_every_management_endpoint_changes_nothing(iam):
    names = await _setup(iam)
    before = await iam.snapshot()
    failures = []
    for label, method, path, body, params, headers, status, code in CASES:
        answer = await _send(iam, names, method, path, body, params, headers,
                             ("customer", names["owner"]))
        problem = answer.json()
        if answer.status_code != status or problem.get("code") != code or not problem.get(
                "detail"):
            failures.append((label, answer.status_code, problem))
    assert failures == []
    assert await iam.snapshot() == before


async def test_bad_input_on_internal_endpoints_changes_nothing(iam):
    names = await _setup(iam)
    before = await iam.snapshot()
    failures = []
    for label, method, path, body, params, status, code in INTERNAL_CASES:
        answer = await _send(iam, names, method, path, body, params, None, ("service",))
        problem = answer.json()
        if answer.status_code != status or problem.get("code") != code:
            failures.append((label, answer.status_code, problem))
    assert failures == []
    assert await iam.snapshot() == before


async def test_every_management_route_has_a_bad_input_case():
    from iam_svc.routes import ROUTES

    covered = {(method, path.split("?")[0]) for _, method, path, *_ in CASES}
    templates = {(r.method, r.path) for r in ROUTES}

    def matches(template: str, path: str) -> bool:
        a, b = template.strip("/").split("/"), path.strip("/").split("/")
        return len(a) == len(b) and all(x == y or x.startswith("{") for x, y in zip(a, b,
                                                                                      strict=True))

    no_input = {("GET", "/v1/users"), ("GET", "/v1/account")}
    uncovered = [(method, template) for method, template in templates - no_input
                 if not any(m == method and matches(template, p) for m, p in covered)]
    assert uncovered == []
