"""iam-svc's public operations, for the gateway's route table (kit.routes).

Management operations carry CAM's action names and API 3.0 names (`cam`, `2019-01-16`); the
REST bodies and answers use the snake_case forms of CAM's parameter names, so the gateway's
facade translates them mechanically. Account operations are REST only, in the `account` CAM
namespace (no public API 3.0 counterpart).

CAM resources (six segments, `{uin}` = the caller's account):

- `qcs::cam::uin/{uin}:uin/<sub_uin>`  a sub-user;  `qcs::cam::uin/{uin}:groupid/<id>`  a group;
  `qcs::cam::uin/{uin}:policyid/<id>`  a policy.
- Operations that address no single resource (create, list, batches, users addressed by name,
  API keys whose owner may be implicit) use `*` in the id position (`...:uin/*`): like CAM's
  operation-level APIs, only statements covering every resource of the type (`uin/*`, `*`)
  grant them, never a statement naming one sub-user.
- Account operations: `qcs::account::uin/{uin}:*`.

Internal endpoints (`/internal/v1/...`, for services and operators) are not public routes.
"""

from __future__ import annotations

from kit.routes import Api3Action, Method, Route

CAM_VERSION = "2019-01-16"

USERS = "qcs::cam::uin/{uin}:uin/*"
GROUPS = "qcs::cam::uin/{uin}:groupid/*"
POLICIES = "qcs::cam::uin/{uin}:policyid/*"
ACCOUNT = "qcs::account::uin/{uin}:*"


def _cam(method: Method, path: str, action: str, resource: str, summary: str) -> Route:
    return Route(method=method, path=path, service="iam", action=f"cam:{action}",
                 resource=resource, api3=Api3Action("cam", CAM_VERSION, action),
                 summary=summary)


def _account(method: Method, path: str, action: str, summary: str) -> Route:
    return Route(method=method, path=path, service="iam", action=f"account:{action}",
                 resource=ACCOUNT, summary=summary)


ROUTES: list[Route] = [
    # sub-users
    _cam("POST", "/v1/users", "AddUser", USERS, "Create a sub-user"),
    _cam("GET", "/v1/users", "ListUsers", USERS, "List the sub-users"),
    _cam("GET", "/v1/users/{name}", "GetUser", USERS, "One sub-user, by name"),
    _cam("DELETE", "/v1/users/{name}", "DeleteUser", USERS, "Delete a sub-user, by name"),
    # user groups
    _cam("POST", "/v1/groups", "CreateGroup", GROUPS, "Create a user group"),
    _cam("GET", "/v1/groups", "ListGroups", GROUPS, "List the user groups"),
    _cam("DELETE", "/v1/groups/{group_id}", "DeleteGroup",
         "qcs::cam::uin/{uin}:groupid/{group_id}", "Delete a user group"),
    _cam("POST", "/v1/group-memberships", "AddUserToGroup", GROUPS,
         "Add sub-users to user groups"),
    _cam("DELETE", "/v1/group-memberships", "RemoveUserFromGroup", GROUPS,
         "Remove sub-users from user groups"),
    # policies
    _cam("POST", "/v1/policies", "CreatePolicy", POLICIES, "Create a custom policy"),
    _cam("GET", "/v1/policies", "ListPolicies", POLICIES, "List custom and preset policies"),
    _cam("GET", "/v1/policies/{policy_id}", "GetPolicy",
         "qcs::cam::uin/{uin}:policyid/{policy_id}", "One policy, with its document"),
    _cam("DELETE", "/v1/policies", "DeletePolicy", POLICIES, "Delete custom policies"),
    _cam("POST", "/v1/users/{attach_uin}/policies", "AttachUserPolicy",
         "qcs::cam::uin/{uin}:uin/{attach_uin}", "Attach a policy to a sub-user"),
    _cam("DELETE", "/v1/users/{detach_uin}/policies/{policy_id}", "DetachUserPolicy",
         "qcs::cam::uin/{uin}:uin/{detach_uin}", "Detach a policy from a sub-user"),
    _cam("GET", "/v1/users/{target_uin}/policies", "ListAttachedUserAllPolicies",
         "qcs::cam::uin/{uin}:uin/{target_uin}",
         "A sub-user's policies, direct and through groups"),
    _cam("POST", "/v1/groups/{attach_group_id}/policies", "AttachGroupPolicy",
         "qcs::cam::uin/{uin}:groupid/{attach_group_id}", "Attach a policy to a user group"),
    _cam("DELETE", "/v1/groups/{detach_group_id}/policies/{policy_id}", "DetachGroupPolicy",
         "qcs::cam::uin/{uin}:groupid/{detach_group_id}", "Detach a policy from a user group"),
    # API keys
    _cam("POST", "/v1/access-keys", "CreateAccessKey", USERS, "Create an API key"),
    _cam("GET", "/v1/access-keys", "ListAccessKeys", USERS, "List a user's API keys"),
    _cam("PATCH", "/v1/access-keys/{access_key_id}", "UpdateAccessKey", USERS,
         "Enable or disable an API key"),
    _cam("DELETE", "/v1/access-keys/{access_key_id}", "DeleteAccessKey", USERS,
         "Delete an API key"),
    # the account itself
    _account("GET", "/v1/account", "DescribeAccount", "The account: site and real-name state"),
    _account("POST", "/v1/account/verification", "VerifyAccount",
             "Real-name verification (personal, enterprise, organization)"),
    _account("POST", "/v1/account/rename", "RenameAccount",
             "Change the real-name information (once per 30 days)"),
]
